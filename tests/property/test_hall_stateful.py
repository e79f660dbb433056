"""One hall driven by random commands: numbering, windows and dispatch keep their invariants."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from queue_server.domain import dispatch
from queue_server.domain.errors import QueueError
from queue_server.domain.hall import FINAL_STATUSES, HallState
from queue_server.domain.layout import DispatchOrder, Hall
from queue_server.domain.model import (
    Ticket,
    TicketId,
    TicketNumber,
    TicketStatus,
    WindowState,
    WindowStatus,
)
from tests.unit.small_hall import MONDAY_10AM, at, new_state, small_hall, staff

SERVICES = ("A", "B", "C")
WINDOWS = (1, 2, 3, 4)
UNKNOWN_WINDOW = 9
PRIORITIES = (None, None, None, "military", "elderly", "pregnant", "green")
REASONS = ("材料核验", "转办", "补正材料", "")
REFUSED = object()  # what `attempt` returns when the command raised a QueueError

picks = st.integers(min_value=0, max_value=10_000)
# A window pick below len(WINDOWS) is that window; above, a window in the state the command
# needs (busy for recall/start/finish, idle and open for calling, paused for resuming), so
# most commands are accepted and the queue moves, while refusals still get tried.
windows = st.integers(min_value=0, max_value=2 * len(WINDOWS) - 1)


def busy(ws: WindowState) -> bool:
    return ws.current is not None


def idle(ws: WindowState) -> bool:
    return ws.status is WindowStatus.OPEN and ws.current is None


def paused(ws: WindowState) -> bool:
    return ws.status is WindowStatus.PAUSED


def staffed(ws: WindowState) -> bool:
    return ws.status is not WindowStatus.CLOSED


def closable(ws: WindowState) -> bool:
    return ws.status is not WindowStatus.CLOSED and ws.current is None


def expected_group(ticket: Ticket, hall: Hall, streak: int, now_rank: int) -> int:
    """The dispatch groups as the hall's rules state them, written independently of dispatch.py."""
    cls = hall.priority_classes.get(ticket.priority) if ticket.priority else None
    if cls is not None and cls.mode == "absolute":
        return dispatch.ABSOLUTE
    if cls is not None and cls.mode == "interleaved" and streak >= cls.every:
        return dispatch.INTERLEAVED_DUE
    if now_rank - ticket.rank >= hall.services[ticket.service].alarm_minutes * 60_000_000:
        return dispatch.OVERDUE
    return dispatch.NORMAL


class HallMachine(RuleBasedStateMachine):
    """Random staff and citizens at one small hall; a refused command must change nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.state: HallState = new_state()
        self.now = MONDAY_10AM
        self.numbers: dict[TicketId, TicketNumber] = {}  # every ticket ever issued
        self.finished: set[TicketId] = set()
        self.final: dict[TicketId, TicketStatus] = {}  # finished, cancelled, void, closed

    @initialize(
        order=st.sampled_from(["service_order", "longest_wait"]),
        quota=st.integers(min_value=2, max_value=40),
        opened=st.sets(st.sampled_from(WINDOWS)),
        waiting=st.lists(st.sampled_from(SERVICES), max_size=8),
    )
    def choose_hall(
        self, order: DispatchOrder, quota: int, opened: set[int], waiting: list[str]
    ) -> None:
        """A hall already under way: some windows open, some tickets waiting."""
        self.state = new_state(small_hall(dispatch=order, quota=quota))
        for window in sorted(opened):
            self.state.open_window(window, staff(window), self.now)
        for service in waiting:
            self.issue(service, None, False)

    # --- helpers ----------------------------------------------------------------------------

    def attempt(self, command: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        before = copy.deepcopy(self.state)
        try:
            result = command(*args, **kwargs)
        except QueueError:
            assert self.state == before, f"refused {command.__name__} changed the hall state"
            event(f"{command.__name__}: refused")
            return REFUSED
        event(f"{command.__name__}: done")
        return result

    def pick_number(self, pick: int, *wanted: TicketStatus) -> str:
        """Any issued number for an even pick; for an odd one, one in a wanted status if any."""
        if not self.numbers:
            return "A001"
        numbers = sorted(self.numbers.values())
        if pick % 2:
            by_number = {t.number: t for t in self.state.tickets.values()}
            numbers = [n for n in numbers if by_number[n].status in wanted] or numbers
        return str(numbers[pick // 2 % len(numbers)])

    def window_where(self, pick: int, wanted: Callable[[WindowState], bool]) -> int:
        """Window `pick` itself, or for a higher pick one of the windows in the wanted state."""
        matching = [n for n, ws in self.state.windows.items() if wanted(ws)]
        if pick < len(WINDOWS) or not matching:
            return WINDOWS[pick % len(WINDOWS)]
        return matching[pick % len(matching)]

    def eligible(self, window: int) -> list[Ticket]:
        cfg = self.state.hall.windows[window]
        return [
            t
            for t in self.state.tickets.values()
            if t.status is TicketStatus.WAITING
            and t.service in cfg.services
            and t.target_window in (None, window)
        ]

    # --- time, citizens, the guide desk ----------------------------------------------------

    @rule(seconds=st.integers(min_value=0, max_value=1200))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(
        service=st.sampled_from(SERVICES),
        priority=st.sampled_from(PRIORITIES),
        reason=st.booleans(),
    )
    def issue(self, service: str, priority: str | None, reason: bool) -> None:
        last = self.state.counters.get(service, 0)
        result = self.attempt(
            self.state.issue, service, self.now, priority=priority,
            priority_reason="导服台核准" if reason else None,
        )  # fmt: skip
        should_refuse = last >= self.state.hall.services[service].daily_quota or (
            priority == "green" and not reason
        )
        assert (result is REFUSED) == should_refuse
        if result is not REFUSED:
            ticket, _ = result
            assert ticket.number == TicketNumber(service, last + 1)
            assert ticket.id not in self.numbers
            self.numbers[ticket.id] = ticket.number

    @rule(action=st.sampled_from(("restore", "cancel")), pick=picks)
    def guide_desk(self, action: str, pick: int) -> None:
        if action == "restore":
            self.restore(self.pick_number(pick, TicketStatus.MISSED, TicketStatus.SUSPENDED))
        elif self.numbers:
            ticket = self.state.ticket_by_number(self.pick_number(pick, TicketStatus.WAITING))
            self.attempt(self.state.cancel, ticket, self.now, "群众离开")

    @rule(roll=st.integers(min_value=0, max_value=9))
    def hall_closes(self, roll: int) -> None:
        if roll != 0:  # rarely, so most runs keep a live queue
            return
        count = len(self.state.tickets)
        self.state.close_tickets(list(self.state.tickets.values()))
        assert len(self.state.tickets) == count
        assert all(
            t.status in (TicketStatus.FINISHED, TicketStatus.CANCELLED, TicketStatus.VOID,
                         TicketStatus.CLOSED)
            for t in self.state.tickets.values()
        )  # fmt: skip

    # --- windows ----------------------------------------------------------------------------

    @rule(
        action=st.sampled_from(("open", "pause", "resume", "close")),
        at_window=windows,
        who=st.integers(min_value=1, max_value=5),
        reason=st.sampled_from(("午休", "咨询", "", " ")),
    )
    def window_life(self, action: str, at_window: int, who: int, reason: str) -> None:
        if action == "open":
            last_pick = 2 * len(WINDOWS) - 1
            window = UNKNOWN_WINDOW if at_window == last_pick else WINDOWS[at_window % len(WINDOWS)]
            if self.attempt(self.state.open_window, window, staff(who), self.now) is not REFUSED:
                assert self.state.windows[window].normal_streak >= 3  # interleaving starts due
        elif action == "pause":
            window = self.window_where(at_window, idle)
            self.attempt(self.state.pause_window, window, reason, self.now)
        elif action == "resume":
            window = self.window_where(at_window, paused)
            self.attempt(self.state.resume_window, window, self.now)
        else:
            window = self.window_where(at_window, closable)
            self.attempt(self.state.close_window, window, self.now)

    # --- calling and serving ----------------------------------------------------------------

    @rule(at_window=windows)
    def call_next(self, at_window: int) -> None:
        self.call_next_at(self.window_where(at_window, idle))

    @rule(at_window=windows, pick=picks, reason=st.sampled_from(("预约到场", "")))
    def call_number(self, at_window: int, pick: int, reason: str) -> None:
        window = self.window_where(at_window, idle)
        number = self.pick_number(pick, TicketStatus.WAITING)
        self.attempt(self.state.call_number, window, number, reason, self.now)

    @rule(
        action=st.sampled_from(("recall", "start", "finish", "miss", "suspend")),
        at_window=windows,
        seconds=st.integers(min_value=0, max_value=90),
        reason=st.sampled_from(REASONS),
    )
    def at_the_counter(self, action: str, at_window: int, seconds: int, reason: str) -> None:
        window = self.window_where(at_window, busy)
        if action == "recall":
            self.now += timedelta(seconds=seconds)
            self.attempt(self.state.recall, window, self.now)
        elif action == "start":
            self.attempt(self.state.start, window, self.now)
        elif action == "finish":
            self.finish_at(window)
        elif action == "miss":
            self.attempt(self.state.miss, window, self.now)
        else:
            self.attempt(self.state.suspend, window, self.now, reason)

    @rule(
        at_window=windows,
        to_service=st.sampled_from((None, *SERVICES, "Z")),
        to_window=st.sampled_from((*WINDOWS, UNKNOWN_WINDOW)),
        both=st.integers(min_value=0, max_value=9),
        reason=st.sampled_from(REASONS),
    )
    def transfer(
        self, at_window: int, to_service: str | None, to_window: int, both: int, reason: str
    ) -> None:
        """To a service, or else to a window; now and then to both, which must be refused."""
        result = self.attempt(
            self.state.transfer, self.window_where(at_window, busy), self.now, reason=reason,
            to_service=to_service, to_window=to_window if to_service is None or both == 0 else None,
        )  # fmt: skip
        if result is not REFUSED:
            ticket, _ = result
            assert ticket.rank == dispatch.rank_of(ticket.issued_at)  # original issue time

    @rule(choices=st.lists(st.integers(min_value=0, max_value=9), min_size=4, max_size=4))
    def hall_at_work(self, choices: list[int]) -> None:
        """Every window takes its usual next step, so tickets go all the way through their life."""
        for window, choice in zip(WINDOWS, choices, strict=True):
            ws = self.state.windows[window]
            ticket = self.state.tickets[ws.current] if ws.current else None
            max_calls = self.state.hall.call_policy.max_calls
            if ws.status is WindowStatus.CLOSED:
                if choice < 3:
                    self.attempt(self.state.open_window, window, staff(window), self.now)
            elif ws.status is WindowStatus.PAUSED:
                if choice < 3:
                    self.attempt(self.state.resume_window, window, self.now)
            elif ticket is None:
                self.call_next_at(window)
            elif ticket.status is TicketStatus.SERVING:
                if choice < 6:
                    self.finish_at(window)
            elif choice < 7 and ticket.calls < max_calls:
                self.now += timedelta(seconds=self.state.hall.call_policy.recall_min_seconds)
                self.attempt(self.state.recall, window, self.now)
            elif choice < 7:
                self.attempt(self.state.miss, window, self.now)
            else:
                self.attempt(self.state.start, window, self.now)
        # and the guide desk sends a citizen who came back after a miss to the queue again
        away = [t for t in self.state.tickets.values() if t.status is TicketStatus.MISSED]
        if away and choices[0] < 5:
            self.restore(away[0].number_text)

    def restore(self, number: str) -> None:
        """Restore a ticket and check it went `restore_offset` places back, not to the end."""
        if not self.numbers:
            self.attempt(self.state.restore, number, self.now)
            return
        ticket = self.state.ticket_by_number(number)
        others = [
            t
            for t in self.state.tickets.values()
            if t.status is TicketStatus.WAITING and t.service == ticket.service
        ]
        if self.attempt(self.state.restore, number, self.now) is REFUSED:
            return
        classes = self.state.hall.priority_classes
        absolute = sum(1 for t in others if t.priority and classes[t.priority].mode == "absolute")
        if ticket.priority and classes[ticket.priority].mode == "absolute":
            return
        offset = self.state.hall.call_policy.restore_offset
        expected = max(min(offset, len(others)), absolute)
        # Exactly there, also when the neighbours at the place share a rank and this number does
        # not fit between them (the tickets behind then move back a microsecond to make room).
        ahead = self.state.ahead_of(ticket)
        assert ahead == expected, (ticket.number_text, expected, ahead)

    def call_next_at(self, window: int) -> None:
        ws = self.state.windows[window]
        streak = ws.normal_streak
        open_and_idle = ws.status is WindowStatus.OPEN and ws.current is None
        candidates = self.eligible(window)
        result = self.attempt(self.state.call_next, window, self.now)
        assert (result is REFUSED) == (not open_and_idle)
        if result is REFUSED:
            return
        chosen, events = result
        if chosen is None:
            assert candidates == [] and events == []
            return
        group = events[0].payload["group"]
        self.check_dispatch_order(window, chosen, candidates, streak, group)
        self.check_streak(chosen, group, streak, ws.normal_streak)

    def finish_at(self, window: int) -> None:
        result = self.attempt(self.state.finish, window, self.now)
        if result is not REFUSED:
            ticket, _ = result
            assert ticket.id not in self.finished, f"{ticket.number_text} finished twice"
            self.finished.add(ticket.id)

    def check_dispatch_order(
        self, window: int, chosen: Ticket, candidates: list[Ticket], streak: int, group: int
    ) -> None:
        hall = self.state.hall
        services = hall.windows[window].services
        now_rank = dispatch.rank_of(self.now)
        groups = {t.id: expected_group(t, hall, streak, now_rank) for t in candidates}
        assert chosen.id in groups, "called a ticket that was not waiting for this window"
        assert group == groups[chosen.id] == min(groups.values())

        def place(t: Ticket) -> tuple[int, int]:
            by_service = group == dispatch.NORMAL and hall.dispatch == "service_order"
            return (services.index(t.service) if by_service else 0, t.rank)

        for other in candidates:
            if groups[other.id] != group or other.id == chosen.id:
                continue
            # first come, first served within the group (and the window's skill order)
            assert place(other) >= place(chosen), (other.number_text, chosen.number_text)
            if place(other) == place(chosen) and other.number.prefix == chosen.number.prefix:
                assert other.number.seq > chosen.number.seq

    def check_streak(self, chosen: Ticket, group: int, before: int, after: int) -> None:
        """A due priority call resets the count of normal calls; an absolute one leaves it."""
        cls = self.state.hall.priority_classes.get(chosen.priority) if chosen.priority else None
        if group == dispatch.INTERLEAVED_DUE:
            assert after == 0
        elif cls is not None and cls.mode == "absolute":
            assert after == before
        else:
            assert after == min(before + 1, 1_000_000)

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def numbers_are_dense_unique_and_never_lost(self) -> None:
        tickets = self.state.tickets
        assert set(tickets) == set(self.numbers), "a ticket appeared or disappeared"
        for ticket_id, number in self.numbers.items():
            assert tickets[ticket_id].number == number, "a ticket was renumbered"
            assert tickets[ticket_id].business_day == self.state.day
        for service, svc in self.state.hall.services.items():
            seqs = sorted(n.seq for n in self.numbers.values() if n.prefix == service)
            last = self.state.counters.get(service, 0)
            assert seqs == list(range(1, last + 1))
            assert last <= svc.daily_quota

    @invariant()
    def a_ticket_is_finished_at_most_once(self) -> None:
        finished = {t.id for t in self.state.tickets.values() if t.status is TicketStatus.FINISHED}
        assert finished == self.finished

    @invariant()
    def final_statuses_never_change(self) -> None:
        for ticket_id, status in self.final.items():
            assert self.state.tickets[ticket_id].status is status
        for t in self.state.tickets.values():
            if t.status in FINAL_STATUSES:
                self.final.setdefault(t.id, t.status)

    @invariant()
    def each_window_holds_at_most_one_ticket_called_or_served_there(self) -> None:
        current = [ws.current for ws in self.state.windows.values() if ws.current is not None]
        assert len(current) == len(set(current)), "a ticket is current at two windows"
        for ws in self.state.windows.values():
            if ws.current is None:
                continue
            ticket = self.state.tickets[ws.current]
            assert ticket.status in (TicketStatus.CALLED, TicketStatus.SERVING)
            assert ticket.window == ws.number
            assert ws.status is WindowStatus.OPEN
        at_windows = {
            t.id
            for t in self.state.tickets.values()
            if t.status in (TicketStatus.CALLED, TicketStatus.SERVING)
        }
        assert at_windows == set(current), "a called or serving ticket is at no window"

    @invariant()
    def windows_are_staffed_when_open_and_staff_hold_one_window(self) -> None:
        on_duty = []
        for ws in self.state.windows.values():
            if ws.status is WindowStatus.CLOSED:
                assert ws.staff is None and ws.pause_reason is None
            else:
                assert ws.staff is not None
                on_duty.append(ws.staff.id)
            assert (ws.status is WindowStatus.PAUSED) == bool(ws.pause_reason)
        assert len(on_duty) == len(set(on_duty))

    @invariant()
    def each_service_queue_is_a_strict_order(self) -> None:
        """People ahead of the waiting tickets of a service are 0, 1, 2 … with no ties."""
        for service in SERVICES:
            waiting = [
                t
                for t in self.state.tickets.values()
                if t.status is TicketStatus.WAITING and t.service == service
            ]
            assert sorted(t.id for t in self.state.waiting(service)) == sorted(
                t.id for t in waiting
            )
            assert sorted(self.state.ahead_of(t) for t in waiting) == list(range(len(waiting)))
            hall = self.state.hall
            for t in waiting:  # the hall's index agrees with the plain count over the queue
                assert self.state.ahead_of(t) == dispatch.people_ahead(t, waiting, hall)

    @invariant()
    def call_and_miss_counts_stay_within_the_policy(self) -> None:
        policy = self.state.hall.call_policy
        for t in self.state.tickets.values():
            if t.status is TicketStatus.WAITING:
                assert t.calls == 0
            if t.target_window is not None:  # a transfer to a window lasts until called there
                assert t.status in (
                    TicketStatus.WAITING,
                    TicketStatus.CANCELLED,
                    TicketStatus.CLOSED,
                )
            if t.status is TicketStatus.CALLED:
                assert 1 <= t.calls <= policy.max_calls
            if t.status is TicketStatus.MISSED:
                assert 1 <= t.misses < policy.void_after_misses
            if t.status is TicketStatus.VOID:
                assert t.misses == policy.void_after_misses
            if t.status is TicketStatus.FINISHED:
                assert t.started_at is not None and t.finished_at is not None
                assert t.issued_at <= t.started_at <= t.finished_at


HallMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)
TestHall = HallMachine.TestCase


# --- no starvation --------------------------------------------------------------------------


def hall_with_interleaved_every(every: int, order: DispatchOrder) -> Hall:
    hall = small_hall(dispatch=order)
    classes = dict(hall.priority_classes)
    classes["elderly"] = dataclasses.replace(classes["elderly"], every=every)
    return dataclasses.replace(hall, priority_classes=classes)


@settings(max_examples=150, deadline=None)
@given(
    every=st.integers(min_value=1, max_value=4),
    earlier=st.integers(min_value=0, max_value=6),
    arrivals=st.lists(st.integers(min_value=1, max_value=3), min_size=40, max_size=40),
    order=st.sampled_from(["service_order", "longest_wait"]),
)
def test_normal_ticket_is_called_within_bounded_calls_despite_continuous_priority_arrivals(
    every: int, earlier: int, arrivals: list[int], order: DispatchOrder
) -> None:
    """With one interleaved priority every `every` normal calls, the k-th normal ticket in line
    is call k + 1 + (k - 1) // every, however many priority tickets keep arriving: the priority
    turns come exactly as often as allowed, no more, no less."""
    state = new_state(hall_with_interleaved_every(every, order))
    state.open_window(1, staff(1), at(0))
    for i in range(earlier):
        state.issue("A", at(seconds=i))
    watched, _ = state.issue("A", at(seconds=earlier))
    now = at(1)
    calls = 0
    for count in arrivals:
        for _ in range(count):
            state.issue("A", now, priority="elderly")
        called, _ = state.call_next(1, now)
        assert called is not None
        calls += 1
        if called is watched:
            break
        state.start(1, now)
        state.finish(1, now)
        now += timedelta(seconds=10)

    k = earlier + 1
    assert watched.status is TicketStatus.CALLED
    assert calls == k + 1 + (k - 1) // every


@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=3)),
        min_size=40,
        max_size=40,
    )
)
def test_ticket_of_a_second_skill_is_called_once_it_passes_the_alarm(
    steps: list[tuple[int, int]],
) -> None:
    """Window 1 prefers A; a steady stream of A tickets holds B001 back only until its alarm."""
    state = new_state()  # service_order; B's alarm is 30 minutes
    state.open_window(1, staff(1), at(0))
    watched, _ = state.issue("B", at(0))
    now = at(0)
    for minutes, count in steps:
        now += timedelta(minutes=minutes)
        for _ in range(count):
            state.issue("A", now)
        called, _ = state.call_next(1, now)
        assert called is not None
        overdue = now - watched.issued_at >= timedelta(minutes=30)
        assert (called is watched) == overdue
        if overdue:
            return
        state.start(1, now)
        state.finish(1, now)
    raise AssertionError("B001 was never called")
