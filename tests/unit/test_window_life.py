"""A window's life through HallState commands: open, pause, resume, close, and who is on duty."""

from __future__ import annotations

import pytest

from queue_server.domain.errors import InvalidInput, NotFound
from queue_server.domain.model import StaffId, StaffOnDuty, WindowStatus
from tests.unit.small_hall import assert_refused_unchanged, at, new_state, open_windows, staff


def test_every_configured_window_starts_closed() -> None:
    state = new_state()

    assert sorted(state.windows) == [1, 2, 3, 4]
    assert all(
        ws.status is WindowStatus.CLOSED and ws.staff is None for ws in state.windows.values()
    )


def test_open_window_puts_the_staff_member_on_duty() -> None:
    state = new_state()

    events = state.open_window(1, staff(1), at(0))

    ws = state.windows[1]
    assert (ws.status, ws.staff, ws.since) == (WindowStatus.OPEN, staff(1), at(0))
    assert [(e.kind, e.window, e.payload) for e in events] == [
        ("window_opened", 1, {"staff_id": "1001", "staff_name": "工作人员1"})
    ]


def test_open_window_with_a_stand_in_names_who_is_replaced() -> None:
    state = new_state()
    stand_in = StaffOnDuty(StaffId("2001"), "李四", stand_in_for=StaffId("1001"))

    events = state.open_window(1, stand_in, at(0))

    assert events[0].payload["stand_in_for"] == "1001"


def test_open_window_that_is_already_open_is_refused() -> None:
    state = new_state()
    open_windows(state, 1)

    assert_refused_unchanged(state, state.open_window, 1, staff(9), at(1), code="window.already_open")


def test_a_staff_member_cannot_open_two_windows() -> None:
    state = new_state()
    state.open_window(1, staff(1), at(0))

    error = assert_refused_unchanged(
        state, state.open_window, 2, staff(1), at(1), code="window.staff_elsewhere", match="已在 1 号窗口在岗"
    )
    assert error.extra["state"] == "open"

    state.pause_window(1, "午休", at(2))
    assert_refused_unchanged(state, state.open_window, 2, staff(1), at(3), match="1 号窗口")

    state.resume_window(1, at(4))
    state.close_window(1, at(5))
    state.open_window(2, staff(1), at(6))
    assert state.windows[2].staff == staff(1)


def test_unknown_window_is_not_found() -> None:
    state = new_state()

    assert_refused_unchanged(
        state,
        state.open_window,
        99,
        staff(1),
        at(),
        error=NotFound,
        code="window.unknown", match=r"没有 99 号窗口（窗口：1, 2, 3, 4）",
    )
    assert_refused_unchanged(state, state.call_next, 99, at(), error=NotFound)


def test_closed_window_cannot_call() -> None:
    state = new_state()
    state.issue("A", at(0))

    assert_refused_unchanged(state, state.call_next, 1, at(1), code="window.not_open")
    assert_refused_unchanged(state, state.call_number, 1, "A001", "急", at(1), code="window.not_open")


def test_paused_window_cannot_call() -> None:
    state = new_state()
    open_windows(state, 1)
    state.issue("A", at(0))
    state.pause_window(1, "材料核验", at(1))

    error = assert_refused_unchanged(
        state, state.call_next, 1, at(2), code="window.paused", match="暂停中（材料核验）"
    )
    assert error.extra["state"] == "paused"
    assert_refused_unchanged(state, state.call_number, 1, "A001", "急", at(2), code="window.paused")


@pytest.mark.parametrize("reason", ["", "  "])
def test_pause_needs_a_reason(reason: str) -> None:
    state = new_state()
    open_windows(state, 1)

    error = assert_refused_unchanged(
        state, state.pause_window, 1, reason, at(1), error=InvalidInput, code="input.reason_required"
    )
    assert error.field == "reason"


def test_pause_needs_an_idle_window() -> None:
    state = new_state()
    open_windows(state, 1)
    state.issue("A", at(0))
    state.call_next(1, at(1))

    assert_refused_unchanged(state, state.pause_window, 1, "临时离开", at(2), code="window.busy", match="已叫号 A001")


def test_pause_needs_an_open_window() -> None:
    state = new_state()

    assert_refused_unchanged(state, state.pause_window, 1, "午休", at(), code="window.not_open")
    open_windows(state, 1)
    state.pause_window(1, "午休", at(1))
    assert_refused_unchanged(state, state.pause_window, 1, "咨询", at(2), code="window.already_paused")


def test_pause_and_resume_keep_the_reason_and_the_paused_time() -> None:
    state = new_state()
    open_windows(state, 1)

    paused = state.pause_window(1, "业务培训", at(10))
    ws = state.windows[1]
    assert (ws.status, ws.pause_reason, ws.since) == (WindowStatus.PAUSED, "业务培训", at(10))

    resumed = state.resume_window(1, at(25))
    assert (ws.status, ws.pause_reason, ws.since) == (WindowStatus.OPEN, None, at(25))
    assert [(e.kind, e.payload) for e in paused + resumed] == [
        ("window_paused", {"reason": "业务培训"}),
        ("window_resumed", {"reason": "业务培训", "paused_seconds": 900}),
    ]


def test_resume_of_a_window_that_is_not_paused_is_refused() -> None:
    state = new_state()
    assert_refused_unchanged(state, state.resume_window, 1, at(), code="window.not_open")
    open_windows(state, 1)
    assert_refused_unchanged(state, state.resume_window, 1, at(), code="window.not_paused")


def test_close_window_needs_an_idle_window_and_signs_the_staff_out() -> None:
    state = new_state()
    open_windows(state, 1)
    state.issue("A", at(0))
    state.call_next(1, at(1))
    state.start(1, at(2))

    assert_refused_unchanged(state, state.close_window, 1, at(3), code="window.busy", match="办理中 A001")

    state.finish(1, at(4))
    events = state.close_window(1, at(5))
    ws = state.windows[1]
    assert (ws.status, ws.staff, ws.since) == (WindowStatus.CLOSED, None, at(5))
    assert [(e.kind, e.payload) for e in events] == [("window_closed", {"staff_id": "1001"})]
    assert_refused_unchanged(state, state.close_window, 1, at(6), code="window.already_closed")


def test_a_paused_window_can_be_closed() -> None:
    state = new_state()
    open_windows(state, 1)
    state.pause_window(1, "午休", at(1))

    state.close_window(1, at(2))

    assert (state.windows[1].status, state.windows[1].pause_reason) == (WindowStatus.CLOSED, None)


def test_windows_serving_counts_open_and_paused_windows_offering_the_service() -> None:
    state = new_state()  # C is offered by windows 3 and 4
    assert state.windows_serving("C") == 2  # none open yet: every offering window

    open_windows(state, 3)
    assert state.windows_serving("C") == 1
    state.pause_window(3, "午休", at(1))
    open_windows(state, 4)
    assert state.windows_serving("C") == 2
