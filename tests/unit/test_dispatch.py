"""The dispatch policy: which waiting ticket a window calls next, and how far back a ticket is."""

from __future__ import annotations

import dataclasses

import pytest

from queue_server.domain import dispatch
from queue_server.domain.model import WindowState
from tests.unit.small_hall import (
    at,
    call_order,
    called_number,
    issue_many,
    miss_current,
    new_state,
    open_windows,
    serve_next,
    small_hall,
)

# --- priority classes ---------------------------------------------------------------------


def test_absolute_priority_is_called_before_tickets_issued_earlier() -> None:
    state = new_state()
    open_windows(state, 1)
    issue_many(state, "A", 3)
    military, _ = state.issue("A", at(3), priority="military")

    called, events = state.call_next(1, at(5))

    assert called is military
    assert events[0].payload["group"] == dispatch.ABSOLUTE


def test_interleaved_priority_is_due_as_soon_as_a_window_opens() -> None:
    state = new_state()
    open_windows(state, 1)
    issue_many(state, "A", 3)
    elderly, _ = state.issue("A", at(3), priority="elderly")

    called, events = state.call_next(1, at(5))

    assert called is elderly
    assert events[0].payload["group"] == dispatch.INTERLEAVED_DUE


@pytest.mark.parametrize(("priority", "every"), [("elderly", 3), ("pregnant", 2)])
def test_interleaved_priority_waits_for_every_normal_calls_between_turns(
    priority: str, every: int
) -> None:
    state = new_state()
    open_windows(state, 1)
    normal = [t.number_text for t in issue_many(state, "A", 6)]
    first, _ = state.issue("A", at(6), priority=priority)
    second, _ = state.issue("A", at(7), priority=priority)

    order = call_order(state, 1, at(10))

    expected = [first.number_text, *normal[:every], second.number_text, *normal[every:]]
    assert order == expected


def test_absolute_priority_call_does_not_count_as_a_normal_call() -> None:
    """Elderly (one every 3 normal calls) stays waiting while a military ticket cuts in."""
    state = new_state()
    open_windows(state, 1)
    issue_many(state, "A", 5)  # A001..A005
    state.issue("A", at(5), priority="elderly")  # A006
    state.issue("A", at(6), priority="elderly")  # A007
    # A006 (due), then A001 and A002: two normal calls since the elderly turn
    order = [serve_next(state, 1, at(10)) for _ in range(3)]
    state.issue("A", at(11), priority="military")  # A008
    order += call_order(state, 1, at(12))

    assert order == ["A006", "A001", "A002", "A008", "A003", "A007", "A004", "A005"]


def test_interleaving_is_counted_per_window() -> None:
    state = new_state()
    open_windows(state, 1, 2)
    issue_many(state, "A", 4)
    first, _ = state.issue("A", at(5), priority="elderly")
    second, _ = state.issue("A", at(6), priority="elderly")

    assert state.call_next(1, at(10))[0] is first
    assert state.call_next(2, at(10))[0] is second  # window 2 has had no priority call yet


def test_reopening_a_window_makes_the_interleaved_class_due_again() -> None:
    state = new_state()
    open_windows(state, 1)
    issue_many(state, "A", 4)
    state.issue("A", at(5), priority="elderly")
    second, _ = state.issue("A", at(6), priority="elderly")
    serve_next(state, 1, at(10))  # the first elderly ticket

    state.close_window(1, at(11))
    open_windows(state, 1, now=at(12))

    assert state.call_next(1, at(13))[0] is second


def test_streak_after_call_resets_on_a_due_priority_call_and_counts_normal_calls() -> None:
    state = new_state()
    hall = state.hall
    normal, _ = state.issue("A", at(0))
    elderly, _ = state.issue("A", at(1), priority="elderly")
    military, _ = state.issue("A", at(2), priority="military")

    assert dispatch.streak_after_call(elderly, dispatch.INTERLEAVED_DUE, hall, 7) == 0
    assert dispatch.streak_after_call(normal, dispatch.NORMAL, hall, 2) == 3
    assert dispatch.streak_after_call(normal, dispatch.OVERDUE, hall, 2) == 3
    # an elderly ticket called in its normal place (its turn had not come) is a normal call
    assert dispatch.streak_after_call(elderly, dispatch.NORMAL, hall, 1) == 2
    assert dispatch.streak_after_call(military, dispatch.ABSOLUTE, hall, 2) == 2
    assert dispatch.streak_after_call(normal, dispatch.NORMAL, hall, 1_000_000) == 1_000_000


def test_interleaved_group_depends_on_normal_calls_since_the_last_priority_call() -> None:
    state = new_state()
    elderly, _ = state.issue("A", at(0), priority="elderly")  # every 3
    hall = state.hall

    def group(streak: int) -> int:
        return dispatch.group_of(elderly, hall, WindowState(1, normal_streak=streak), at(1))

    assert WindowState(1).normal_streak >= 3  # a window starts with the turn due
    assert group(2) == dispatch.NORMAL
    assert group(3) == dispatch.INTERLEAVED_DUE


def test_interleaved_ticket_not_yet_due_keeps_its_place_among_normal_tickets() -> None:
    state = new_state()
    open_windows(state, 1)
    state.issue("A", at(0), priority="elderly")  # A001, due at once
    state.issue("A", at(1), priority="elderly")  # A002, older than the normal ones
    issue_many(state, "A", 2, start=2)  # A003, A004

    assert call_order(state, 1, at(10)) == ["A001", "A002", "A003", "A004"]


# --- groups: absolute, interleaved, overdue, normal -----------------------------------------


def test_groups_go_absolute_then_interleaved_due_then_overdue_then_normal() -> None:
    state = new_state()
    open_windows(state, 1)
    state.issue("B", at(0))  # B001: overdue by 10:40
    state.issue("A", at(35))  # A001: normal
    state.issue("A", at(36), priority="elderly")  # A002
    state.issue("A", at(37), priority="military")  # A003

    assert call_order(state, 1, at(40)) == ["A003", "A002", "B001", "A001"]


def test_ticket_past_its_service_alarm_goes_before_the_windows_primary_service() -> None:
    state = new_state()  # service_order; window 1 offers A then B; B's alarm is 30 minutes
    open_windows(state, 1)
    state.issue("B", at(0))
    issue_many(state, "A", 3, start=20)

    assert serve_next(state, 1, at(29, 59)) == "A001"
    called, events = state.call_next(1, at(30))
    assert called is not None and called.number_text == "B001"
    assert events[0].payload["group"] == dispatch.OVERDUE


def test_overdue_tickets_go_by_waiting_time_whatever_the_service_order() -> None:
    state = new_state()
    open_windows(state, 1)
    state.issue("B", at(0))
    state.issue("A", at(1))

    assert call_order(state, 1, at(40)) == ["B001", "A001"]


def test_overdue_is_judged_by_each_services_own_alarm() -> None:
    hall = small_hall()
    services = dict(hall.services)
    services["B"] = dataclasses.replace(services["B"], alarm_minutes=10)
    quick_alarm = new_state(dataclasses.replace(hall, services=services))
    default = new_state(hall)
    for state in (quick_alarm, default):
        open_windows(state, 1)
        state.issue("A", at(0))
        state.issue("B", at(5))

    assert call_order(quick_alarm, 1, at(16)) == ["B001", "A001"]  # B waited 11 of 10 min
    assert call_order(default, 1, at(16)) == ["A001", "B001"]


# --- service order, longest wait, first come first served -----------------------------------


def test_service_order_calls_the_windows_first_service_before_older_tickets() -> None:
    state = new_state()  # window 2 offers B then A
    open_windows(state, 2)
    state.issue("A", at(0))
    state.issue("B", at(5))

    assert call_order(state, 2, at(10)) == ["B001", "A001"]


def test_longest_wait_calls_the_oldest_ticket_whatever_the_service() -> None:
    state = new_state(small_hall(dispatch="longest_wait"))
    open_windows(state, 2)
    state.issue("A", at(0))
    state.issue("B", at(5))
    state.issue("A", at(6))

    assert call_order(state, 2, at(10)) == ["A001", "B001", "A002"]


def test_dispatch_setting_switches_by_replacing_the_hall() -> None:
    hall = small_hall()
    results = {}
    for setting in ("service_order", "longest_wait"):
        state = new_state(dataclasses.replace(hall, dispatch=setting))
        open_windows(state, 4)  # offers C, A, B
        state.issue("B", at(0))
        state.issue("A", at(1))
        state.issue("C", at(2))
        results[setting] = call_order(state, 4, at(10))

    assert results == {
        "service_order": ["C001", "A001", "B001"],
        "longest_wait": ["B001", "A001", "C001"],
    }


def test_tickets_of_one_service_are_called_in_issue_order() -> None:
    state = new_state()
    open_windows(state, 1)
    issue_many(state, "A", 5)

    assert call_order(state, 1, at(10)) == ["A001", "A002", "A003", "A004", "A005"]


def test_tickets_issued_at_the_same_instant_are_called_in_number_order() -> None:
    """One batch of commands shares one `now`, so equal issue times are normal, not rare."""
    state = new_state()
    open_windows(state, 1)
    tickets = [state.issue("A", at(0))[0] for _ in range(12)]

    assert [state.ahead_of(t) for t in tickets] == list(range(12))
    assert call_order(state, 1, at(10)) == [t.number_text for t in tickets]


# --- transfer, restore, target windows, skills ----------------------------------------------


def test_transferred_ticket_keeps_its_original_issue_time_in_the_target_service() -> None:
    state = new_state()
    open_windows(state, 1, 2)
    state.issue("A", at(0))
    state.issue("B", at(2))
    state.issue("B", at(3))
    assert called_number(state, 1, at(5)) == "A001"

    moved, _ = state.transfer(1, at(6), reason="需办理变更登记", to_service="B")

    assert moved.service == "B"
    assert state.ahead_of(moved) == 0
    assert call_order(state, 2, at(10)) == ["A001", "B001", "B002"]


def test_ticket_transferred_to_a_window_is_called_only_by_that_window() -> None:
    state = new_state()
    open_windows(state, 1, 2, 4)
    state.issue("A", at(0))
    state.issue("A", at(1))
    state.call_next(1, at(5))
    moved, _ = state.transfer(1, at(6), reason="转综合窗口", to_window=4)

    assert moved.target_window == 4
    assert called_number(state, 2, at(7)) == "A002"
    assert state.call_next(1, at(7)) == (None, [])
    assert state.call_next(4, at(7))[0] is moved


def test_window_target_ends_when_the_ticket_is_called_there() -> None:
    """Suspended at the target window and restored, the ticket is back in the common queue."""
    state = new_state()
    open_windows(state, 1, 2, 4)
    state.issue("A", at(0))
    state.call_next(1, at(1))
    state.transfer(1, at(2), reason="转综合窗口", to_window=4)
    called, _ = state.call_next(4, at(3))
    assert called is not None and called.target_window is None

    state.suspend(4, at(4), reason="缺材料")
    state.restore("A001", at(5))

    assert called_number(state, 2, at(6)) == "A001"


def test_restored_missed_ticket_goes_restore_offset_places_back() -> None:
    state = new_state()  # restore_offset = 2
    open_windows(state, 1)
    issue_many(state, "A", 5)
    state.call_next(1, at(5))
    missed = miss_current(state, 1, at(5))

    state.restore(missed.number_text, at(8))

    assert state.ahead_of(missed) == 2
    assert call_order(state, 1, at(9)) == ["A002", "A003", "A001", "A004", "A005"]


@pytest.mark.parametrize("offset", [1, 3])
def test_restore_offset_comes_from_the_call_policy(offset: int) -> None:
    policy = dataclasses.replace(small_hall().call_policy, restore_offset=offset)
    state = new_state(small_hall(call_policy=policy))
    open_windows(state, 1)
    issue_many(state, "A", 5)
    state.call_next(1, at(5))
    missed = miss_current(state, 1, at(5))

    state.restore(missed.number_text, at(8))

    assert state.ahead_of(missed) == offset


def test_restored_ticket_goes_restore_offset_places_back_among_tickets_of_one_instant() -> None:
    """Tickets issued in one batch share an instant; the restored one must not pass them all."""
    state = new_state()
    open_windows(state, 1)
    state.issue("A", at(0))
    state.call_next(1, at(1))
    missed = miss_current(state, 1, at(1))
    for _ in range(5):
        state.issue("A", at(3))  # A002..A006, one instant

    state.restore(missed.number_text, at(8))

    assert state.ahead_of(missed) == 2
    assert call_order(state, 1, at(9)) == ["A002", "A003", "A001", "A004", "A005", "A006"]


def test_restored_ticket_issued_after_a_batch_still_goes_restore_offset_places_back() -> None:
    """Found by the stateful test: ranks one microsecond apart leave room only through the seq."""
    state = new_state()
    open_windows(state, 1)
    for _ in range(5):
        state.issue("A", at(0))  # A001..A005, one instant
    state.call_number(1, "A005", "预约到场", at(1))
    missed = miss_current(state, 1, at(1))

    state.restore(missed.number_text, at(8))

    assert state.ahead_of(missed) == 2
    assert call_order(state, 1, at(9)) == ["A001", "A002", "A005", "A003", "A004"]


def test_restored_ticket_lands_exactly_at_its_place_when_its_neighbours_share_a_rank() -> None:
    """Found by the stateful test (seed 3014…070): neighbours of one rank (earlier restores put
    them there) and a number lower than both leave no (rank, seq) between them; the tickets
    behind move back a microsecond each, in their order, and the restored one is 2 back."""
    state = new_state()
    open_windows(state, 1)
    issue_many(state, "A", 5)
    state.call_next(1, at(5))
    missed = miss_current(state, 1, at(5))
    for t in state.tickets.values():
        if t.id != missed.id:
            t.rank = 100
    state._indexed = False  # the ranks were set by hand: index them again

    state.restore(missed.number_text, at(8))

    assert state.ahead_of(missed) == 2
    assert call_order(state, 1, at(9)) == ["A002", "A003", "A001", "A004", "A005"]
    moved = {t.number_text: t.rank for t in state.tickets.values() if t.number_text in ("A004", "A005")}
    assert moved == {"A004": 102, "A005": 103} and missed.rank == 101
    assert {t.id for t in state.tickets.values() if t.number_text in ("A004", "A005")} <= state.dirty_tickets


def test_restored_ticket_counts_waiting_absolute_priority_tickets_as_places_back() -> None:
    """Absolute tickets go first whatever their issue time: two of them are the two places."""
    state = new_state()
    open_windows(state, 1)
    state.issue("A", at(0))
    state.call_next(1, at(1))
    missed = miss_current(state, 1, at(1))
    issue_many(state, "A", 2, start=2)  # A002, A003
    state.issue("A", at(4), priority="military")  # A004
    state.issue("A", at(5), priority="military")  # A005

    state.restore(missed.number_text, at(8))

    assert state.ahead_of(missed) == 2
    assert call_order(state, 1, at(9)) == ["A004", "A005", "A001", "A002", "A003"]


def test_restored_ticket_behind_more_absolute_tickets_than_the_offset_is_first_after_them() -> None:
    state = new_state()
    open_windows(state, 1)
    state.issue("A", at(0))
    state.call_next(1, at(1))
    missed = miss_current(state, 1, at(1))
    issue_many(state, "A", 2, start=2)  # A002, A003
    for minute in (4, 5, 6):
        state.issue("A", at(minute), priority="military")  # A004..A006

    state.restore(missed.number_text, at(8))

    assert state.ahead_of(missed) == 3
    assert call_order(state, 1, at(9))[3:] == ["A001", "A002", "A003"]


def test_restored_ticket_goes_to_the_end_when_fewer_than_offset_wait() -> None:
    state = new_state()
    open_windows(state, 1)
    issue_many(state, "A", 2)
    state.call_next(1, at(5))
    missed = miss_current(state, 1, at(5))
    state.issue("B", at(6))  # another service does not count

    state.restore(missed.number_text, at(8))

    assert state.ahead_of(missed) == 1
    assert call_order(state, 1, at(9)) == ["A002", "A001", "B001"]


def test_restored_ticket_with_nobody_waiting_is_next() -> None:
    state = new_state()
    open_windows(state, 1)
    state.issue("A", at(0))
    state.call_next(1, at(5))
    missed = miss_current(state, 1, at(5))

    state.restore(missed.number_text, at(8))

    assert state.ahead_of(missed) == 0
    assert state.call_next(1, at(9))[0] is missed


def test_window_never_calls_services_it_does_not_offer() -> None:
    state = new_state()
    open_windows(state, 1, 3)
    state.issue("C", at(0))

    assert state.call_next(1, at(5)) == (None, [])
    assert called_number(state, 3, at(5)) == "C001"


def test_choose_next_skips_services_the_window_does_not_offer() -> None:
    state = new_state()
    state.issue("C", at(0))
    state.issue("B", at(1))
    hall = state.hall

    for number, services in ((1, ("A", "B")), (3, ("C",))):
        chosen = dispatch.choose_next(
            state.tickets.values(), hall, hall.windows[number], WindowState(number), at(5)
        )
        assert chosen is not None and chosen[0].service in services
    only_a = dataclasses.replace(hall.windows[1], services=("A",))
    assert dispatch.choose_next(state.tickets.values(), hall, only_a, WindowState(1), at(5)) is None


def test_choose_next_leaves_a_ticket_sent_to_another_window() -> None:
    state = new_state()
    sent, _ = state.issue("A", at(0))
    sent.target_window = 4
    later, _ = state.issue("A", at(1))
    hall = state.hall

    def chosen_at(number: int) -> object:
        window = hall.windows[number]
        found = dispatch.choose_next(
            state.tickets.values(), hall, window, WindowState(number), at(5)
        )
        return found and found[0]

    assert chosen_at(1) is later
    assert chosen_at(4) is sent


def test_choose_next_skips_tickets_that_are_not_waiting() -> None:
    state = new_state()
    open_windows(state, 1)
    first, _ = state.issue("A", at(0))
    second, _ = state.issue("A", at(1))
    state.call_next(1, at(2))
    state.suspend(1, at(3), reason="缺材料")

    chosen = dispatch.choose_next(
        state.tickets.values(), state.hall, state.hall.windows[1], state.windows[1], at(4)
    )

    assert chosen == (second, dispatch.NORMAL)
    assert first.status.value == "suspended"


# --- people ahead and estimated wait --------------------------------------------------------


def test_people_ahead_counts_earlier_waiting_tickets_of_the_same_service_absolute_first() -> None:
    state = new_state()
    a1, _ = state.issue("A", at(0))
    a2, _ = state.issue("A", at(1))
    state.issue("B", at(2))
    military, _ = state.issue("A", at(3), priority="military")
    a4, _ = state.issue("A", at(4))
    elderly, _ = state.issue("A", at(5), priority="elderly")

    assert [state.ahead_of(t) for t in (military, a1, a2, a4, elderly)] == [0, 1, 2, 3, 4]

    open_windows(state, 1)
    state.call_next(1, at(6))  # the military ticket, no longer waiting
    assert state.ahead_of(a4) == 2


def test_estimated_wait_divides_the_work_ahead_by_windows_serving_and_rounds_up() -> None:
    assert dispatch.estimated_wait_minutes(0, 20, 3) == 0
    assert dispatch.estimated_wait_minutes(3, 20, 3) == 20
    assert dispatch.estimated_wait_minutes(1, 10, 3) == 4
    assert dispatch.estimated_wait_minutes(5, 6, 0) == 30  # no window counts as one


def test_estimated_wait_counts_open_windows_or_all_offering_windows_before_opening() -> None:
    state = new_state()  # A (20 minutes each) is offered by windows 1, 2 and 4
    issue_many(state, "A", 3)
    last, _ = state.issue("A", at(3))

    assert state.windows_serving("A") == 3
    assert state.estimated_wait(last) == 20  # 3 ahead x 20 min / 3 windows

    open_windows(state, 1)
    assert state.windows_serving("A") == 1
    assert state.estimated_wait(last) == 60
    assert state.service_wait("A") == 80  # a new ticket would have 4 ahead
    assert state.service_wait("C") == 0
