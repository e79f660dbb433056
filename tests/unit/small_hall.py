"""A small hall, a fixed clock and a refusal check shared by the pure domain tests."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from queue_server.domain.errors import QueueError, Refused
from queue_server.domain.hall import HallState
from queue_server.domain.layout import (
    Area,
    CallPolicy,
    DispatchOrder,
    Hall,
    Hours,
    PriorityClass,
    Service,
    Window,
)
from queue_server.domain.model import StaffId, StaffOnDuty, Ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")
STANDARD_POLICY = CallPolicy(
    max_calls=3, recall_min_seconds=30, restore_offset=2, void_after_misses=3
)
# Monday 2026-11-30, 10:00 in Shanghai: inside business hours, before lunch.
MONDAY_10AM = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    """An instant `minutes` and `seconds` after Monday 10:00."""
    return MONDAY_10AM + timedelta(minutes=minutes, seconds=seconds)


def small_hall(
    *,
    dispatch: DispatchOrder = "service_order",
    call_policy: CallPolicy | None = None,
    quota: int = 500,
) -> Hall:
    """Three services and four windows.

    Window 1 offers A then B, window 2 B then A, window 3 only C, and window 4 is a
    comprehensive window offering C, A, B. Priority classes: military and green
    (absolute), elderly (interleaved, one every 3 normal calls) and pregnant (every 2).
    """
    areas = {"general": Area("general", "综合受理区", name_en="")}
    services = {
        "A": Service("A", "企业开办", "general", quota, 20, 15, 30, name_en=""),
        "B": Service("B", "企业变更注销", "general", quota, 10, 15, 30, name_en=""),
        "C": Service("C", "社保业务", "general", quota, 6, 10, 20, name_en=""),
    }
    windows = {
        1: Window(1, "1 号窗口", "general", ("A", "B"), comprehensive=False),
        2: Window(2, "2 号窗口", "general", ("B", "A"), comprehensive=False),
        3: Window(3, "3 号窗口", "general", ("C",), comprehensive=False),
        4: Window(4, "4 号窗口", "general", ("C", "A", "B"), comprehensive=True),
    }
    priority_classes = {
        "military": PriorityClass("military", "军人依法优先", "absolute", every=0, reason_required=False),
        "green": PriorityClass("green", "绿色通道", "absolute", every=0, reason_required=True),
        "elderly": PriorityClass("elderly", "老年人", "interleaved", every=3, reason_required=False),
        "pregnant": PriorityClass("pregnant", "孕妇", "interleaved", every=2, reason_required=False),
    }
    hours = Hours(
        open=time(8, 30),
        close=time(17, 0),
        lunch_start=time(12, 0),
        lunch_end=time(13, 30),
        issue_during_lunch=True,
        weekdays=(1, 2, 3, 4, 5),
    )
    return Hall(
        id="small",
        name="测试便民服务中心",
        level="street",
        areas=areas,
        services=services,
        windows=windows,
        hours=hours,
        call_policy=call_policy or STANDARD_POLICY,
        priority_classes=priority_classes,
        dispatch=dispatch,
        has_kiosk=True,
        voice=True,
        name_en="",
        region=None,
    )


def new_state(hall: Hall | None = None) -> HallState:
    return HallState(hall or small_hall(), MONDAY_10AM.date())


def staff(n: int) -> StaffOnDuty:
    """A distinct staff member per window number, e.g. staff 1001 for window 1."""
    return StaffOnDuty(StaffId(f"{1000 + n}"), f"工作人员{n}")


def open_windows(state: HallState, *numbers: int, now: datetime = MONDAY_10AM) -> None:
    for number in numbers:
        state.open_window(number, staff(number), now)


def issue_many(state: HallState, service: str, count: int, start: float = 0) -> list[Ticket]:
    """`count` tickets of `service`, one a minute from `start` minutes after 10:00."""
    return [state.issue(service, at(start + i))[0] for i in range(count)]


def called_number(state: HallState, window: int, now: datetime) -> str | None:
    """Call the next ticket at `window`; its number, or None when nobody waits for it."""
    ticket, _ = state.call_next(window, now)
    return None if ticket is None else ticket.number_text


def serve_next(state: HallState, window: int, now: datetime) -> str | None:
    """Call, start and finish the next ticket at `window`; its number, or None."""
    number = called_number(state, window, now)
    if number is not None:
        state.start(window, now)
        state.finish(window, now)
    return number


def call_order(state: HallState, window: int, now: datetime) -> list[str]:
    """Numbers `window` serves, in order, until nobody waits for it."""
    served = []
    while (number := serve_next(state, window, now)) is not None:
        served.append(number)
    return served


def miss_current(state: HallState, window: int, called_at: datetime) -> Ticket:
    """Recall the window's called ticket up to the call limit, then mark it missed."""
    policy = state.hall.call_policy
    now = called_at
    for _ in range(policy.max_calls - 1):
        now += timedelta(seconds=policy.recall_min_seconds)
        state.recall(window, now)
    ticket, _ = state.miss(window, now)
    return ticket


def assert_refused_unchanged(
    state: HallState,
    command: Callable[..., Any],
    *args: Any,
    error: type[QueueError] = Refused,
    match: str | None = None,
    code: str | None = None,
    **kwargs: Any,
) -> QueueError:
    """Run a command that must be refused; the hall state must equal a copy taken before."""
    before = copy.deepcopy(state)
    with pytest.raises(error, match=match) as info:
        command(*args, **kwargs)
    assert state == before, f"refused {getattr(command, '__name__', command)} changed the state"
    if code is not None:
        assert info.value.code == code, (info.value.code, info.value.detail)
    return info.value
