"""A ticket's life through HallState commands: issue, call, recall, miss, serve, move, close."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from queue_server.domain.errors import InvalidInput, NotFound
from queue_server.domain.hall import HallState
from queue_server.domain.model import TicketStatus
from tests.unit.small_hall import (
    MONDAY_10AM,
    assert_refused_unchanged,
    at,
    call_order,
    called_number,
    issue_many,
    miss_current,
    new_state,
    open_windows,
    small_hall,
    staff,
)


@pytest.fixture
def state() -> HallState:
    hall_state = new_state()
    open_windows(hall_state, 1, 2, 3, 4)
    return hall_state


# --- issue ----------------------------------------------------------------------------------


def test_issue_numbers_each_service_independently_from_one(state: HallState) -> None:
    numbers = [state.issue(service, at(i))[0].number_text for i, service in enumerate("AABACB")]

    assert numbers == ["A001", "A002", "B001", "A003", "C001", "B002"]
    assert state.counters == {"A": 3, "B": 2, "C": 1}


def test_issue_records_the_ticket_as_waiting_with_its_issue_time_and_an_event(
    state: HallState,
) -> None:
    ticket, events = state.issue("A", at(1), channel="online")

    assert state.tickets[ticket.id] is ticket
    assert (ticket.status, ticket.service, ticket.issued_at, ticket.business_day) == (
        TicketStatus.WAITING, "A", at(1), MONDAY_10AM.date(),
    )  # fmt: skip
    assert [(e.kind, e.ticket, e.payload) for e in events] == [
        ("ticket_issued", ticket.id, {"channel": "online", "priority": None})
    ]


def test_ticket_ids_are_unguessable_and_distinct(state: HallState) -> None:
    ids = {state.issue("A", at())[0].id for _ in range(50)}

    assert len(ids) == 50
    assert all(len(i) >= 20 for i in ids)


def test_issue_refuses_once_the_daily_quota_is_reached() -> None:
    state = new_state(small_hall(quota=2))
    issue_many(state, "A", 2)

    error = assert_refused_unchanged(state, state.issue, "A", at(5), match="该业务今日号源已满")

    assert error.extra == {"service": "A", "quota": 2}
    assert state.issue("B", at(6))[0].number_text == "B001"  # the quota is per service


def test_issue_refuses_unknown_service_and_unknown_priority_class(state: HallState) -> None:
    assert_refused_unchanged(state, state.issue, "Z", at(), error=NotFound, code="service.unknown", match="'Z'")
    error = assert_refused_unchanged(
        state, state.issue, "A", at(), priority="vip", error=InvalidInput, match="'vip'"
    )
    assert error.field == "priority"


def test_green_channel_needs_a_logged_reason(state: HallState) -> None:
    for reason in (None, "", "   "):
        assert_refused_unchanged(
            state, state.issue, "A", at(), priority="green", priority_reason=reason,
            error=InvalidInput, code="input.priority_reason_required",
        )  # fmt: skip

    ticket, events = state.issue("A", at(), priority="green", priority_reason="危重病人")

    assert ticket.priority_reason == "危重病人"
    assert events[0].payload["priority_reason"] == "危重病人"


# --- call, recall, miss ---------------------------------------------------------------------


def test_call_next_on_an_empty_queue_returns_none_and_no_events(state: HallState) -> None:
    before = dataclasses.replace(state.windows[1])

    assert state.call_next(1, at()) == (None, [])
    assert state.windows[1] == before


def test_call_next_marks_the_ticket_called_at_the_window(state: HallState) -> None:
    ticket, _ = state.issue("A", at(0))

    called, events = state.call_next(1, at(3))

    assert called is ticket
    assert (ticket.status, ticket.window, ticket.calls) == (TicketStatus.CALLED, 1, 1)
    assert ticket.first_called_at == ticket.last_called_at == at(3)
    assert state.windows[1].current == ticket.id
    assert [(e.kind, e.window) for e in events] == [("ticket_called", 1)]


@pytest.mark.parametrize(
    ("serving", "state_name", "zh"), [(False, "called", "已叫号"), (True, "serving", "办理中")]
)
def test_call_while_a_ticket_is_current_is_refused_naming_its_state(
    state: HallState, serving: bool, state_name: str, zh: str
) -> None:
    issue_many(state, "A", 2)
    state.call_next(1, at(3))
    if serving:
        state.start(1, at(4))

    error = assert_refused_unchanged(state, state.call_next, 1, at(5), match=f"{zh} A001")
    assert error.extra["state"] == state_name
    assert error.extra["ticket"] == "A001"
    assert_refused_unchanged(state, state.call_number, 1, "A002", "急件", at(5), match=zh)


def test_recall_before_the_minimum_interval_is_refused_with_the_wait(state: HallState) -> None:
    state.issue("A", at(0))
    state.call_next(1, at(1))  # recall_min_seconds = 30

    error = assert_refused_unchanged(
        state, state.recall, 1, at(1, 20), code="ticket.recall_too_soon", match="距上次呼叫 20 秒"
    )

    assert error.extra["retry_in_seconds"] == 10
    ticket, events = state.recall(1, at(1, 30))
    assert (ticket.calls, ticket.last_called_at) == (2, at(1, 30))
    assert events[0].payload == {"calls": 2}


def test_recall_beyond_max_calls_is_refused(state: HallState) -> None:
    state.issue("A", at(0))
    state.call_next(1, at(1))
    state.recall(1, at(2))
    state.recall(1, at(3))  # three calls: the limit

    assert_refused_unchanged(state, state.recall, 1, at(4), code="ticket.recall_limit", match=r"已呼叫 3 次（上限 3 次）")


def test_recall_of_a_serving_ticket_or_at_an_idle_window_is_refused(state: HallState) -> None:
    assert_refused_unchanged(state, state.recall, 1, at(), code="window.no_current")
    state.issue("A", at(0))
    state.call_next(1, at(1))
    state.start(1, at(2))

    assert_refused_unchanged(state, state.recall, 1, at(3), code="ticket.not_called")


def test_miss_before_max_calls_is_refused(state: HallState) -> None:
    state.issue("A", at(0))
    state.call_next(1, at(1))
    state.recall(1, at(2))

    assert_refused_unchanged(state, state.miss, 1, at(3), code="ticket.miss_too_early", match="2/3")


def test_miss_after_max_calls_marks_the_ticket_missed_and_frees_the_window(
    state: HallState,
) -> None:
    state.issue("A", at(0))
    state.call_next(1, at(1))
    state.recall(1, at(2))
    state.recall(1, at(3))

    ticket, events = state.miss(1, at(4))

    assert (ticket.status, ticket.misses) == (TicketStatus.MISSED, 1)
    assert state.windows[1].current is None
    assert [(e.kind, e.payload) for e in events] == [("ticket_missed", {"misses": 1})]


def test_ticket_is_void_after_void_after_misses_misses_with_restores_between(
    state: HallState,
) -> None:
    state.issue("A", at(0))
    kinds = []
    for round_ in range(3):  # void_after_misses = 3
        if round_:
            state.restore("A001", at(10 * round_))
        state.call_next(1, at(10 * round_ + 1))
        ticket = miss_current(state, 1, at(10 * round_ + 1))
        kinds.append(ticket.status)

    assert kinds == [TicketStatus.MISSED, TicketStatus.MISSED, TicketStatus.VOID]
    assert ticket.misses == 3
    assert_refused_unchanged(state, state.restore, "A001", at(40), code="ticket.not_restorable", match="已作废")


def test_the_voiding_miss_emits_both_missed_and_voided_events() -> None:
    policy = dataclasses.replace(small_hall().call_policy, void_after_misses=1)
    state = new_state(small_hall(call_policy=policy))
    open_windows(state, 1)
    state.issue("A", at(0))
    state.call_next(1, at(1))
    state.recall(1, at(2))
    state.recall(1, at(3))

    ticket, events = state.miss(1, at(4))

    assert ticket.status is TicketStatus.VOID
    assert [e.kind for e in events] == ["ticket_missed", "ticket_voided"]


def test_restore_resets_the_call_count_so_the_ticket_gets_all_its_calls_again(
    state: HallState,
) -> None:
    state.issue("A", at(0))
    state.call_next(1, at(1))
    missed = miss_current(state, 1, at(1))
    state.restore("A001", at(5))
    state.call_next(1, at(6))

    assert missed.calls == 1
    assert missed.first_called_at == at(1)  # the first call is kept for the wait figures
    assert_refused_unchanged(state, state.miss, 1, at(7), code="ticket.miss_too_early", match="1/3")


# --- start, finish --------------------------------------------------------------------------


def test_finish_of_a_ticket_never_started_is_refused(state: HallState) -> None:
    assert_refused_unchanged(state, state.finish, 1, at(), code="window.no_current")
    state.issue("A", at(0))
    state.call_next(1, at(1))

    error = assert_refused_unchanged(state, state.finish, 1, at(2), code="ticket.not_serving")
    assert error.extra["state"] == "called"


def test_start_and_finish_record_times_staff_and_free_the_window(state: HallState) -> None:
    state.issue("A", at(0))
    state.call_next(1, at(1))

    ticket, started = state.start(1, at(2))
    assert (ticket.status, ticket.started_at, ticket.staff_id) == (
        TicketStatus.SERVING, at(2), staff(1).id,
    )  # fmt: skip
    assert_refused_unchanged(state, state.start, 1, at(3), code="ticket.not_called")

    ticket, finished = state.finish(1, at(12))
    assert (ticket.status, ticket.finished_at) == (TicketStatus.FINISHED, at(12))
    assert state.windows[1].current is None
    assert [e.kind for e in started + finished] == ["service_started", "ticket_finished"]
    assert_refused_unchanged(state, state.finish, 1, at(13), code="window.no_current")


# --- call a specific number -----------------------------------------------------------------


def test_call_number_calls_a_waiting_ticket_out_of_order_and_keeps_the_reason(
    state: HallState,
) -> None:
    issue_many(state, "A", 3)

    ticket, events = state.call_number(1, "a003", "预约人员到场", at(5))

    assert (ticket.number_text, ticket.status, ticket.note) == (
        "A003",
        TicketStatus.CALLED,
        "预约人员到场",
    )
    assert events[0].payload == {"calls": 1, "specific": True, "reason": "预约人员到场"}


def test_call_number_needs_a_reason_a_waiting_ticket_and_a_service_the_window_offers(
    state: HallState,
) -> None:
    state.issue("A", at(0))
    state.issue("C", at(1))
    state.call_next(2, at(2))  # A001 is now called at window 2

    assert_refused_unchanged(state, state.call_number, 1, "C001", " ", at(3), error=InvalidInput)
    assert_refused_unchanged(state, state.call_number, 1, "A009", "急", at(3), error=NotFound)
    assert_refused_unchanged(state, state.call_number, 1, "A-1", "急", at(3), error=InvalidInput)
    assert_refused_unchanged(state, state.call_number, 1, "A001", "急", at(3), match="已叫号")
    assert_refused_unchanged(
        state, state.call_number, 1, "C001", "急", at(3), code="window.service_not_offered", match="业务 C"
    )


# --- transfer, suspend, restore, cancel -----------------------------------------------------


def test_transfer_to_a_service_puts_the_ticket_back_to_waiting_there(state: HallState) -> None:
    state.issue("A", at(0))
    state.call_next(1, at(1))
    state.start(1, at(2))

    ticket, events = state.transfer(1, at(3), reason="需先办理社保登记", to_service="C")

    assert (ticket.status, ticket.service, ticket.calls, ticket.target_window) == (
        TicketStatus.WAITING, "C", 0, None,
    )  # fmt: skip
    assert ticket.number_text == "A001"  # the citizen keeps the paper ticket
    assert state.windows[1].current is None
    assert events[0].payload == {
        "from_service": "A", "to_service": "C", "to_window": None, "reason": "需先办理社保登记",
    }  # fmt: skip
    assert called_number(state, 3, at(4)) == "A001"


def test_transfer_to_a_window_keeps_the_service_when_that_window_offers_it(
    state: HallState,
) -> None:
    state.issue("A", at(0))
    state.issue("B", at(0))
    state.call_next(1, at(1))  # A001
    state.call_next(2, at(1))  # B001

    kept, _ = state.transfer(1, at(2), reason="转综合窗口", to_window=4)
    changed, _ = state.transfer(2, at(2), reason="转社保窗口", to_window=3)

    assert (kept.service, kept.target_window) == ("A", 4)
    assert (changed.service, changed.target_window) == ("C", 3)  # window 3 offers only C


def test_transfer_needs_one_target_a_reason_and_a_known_other_destination(
    state: HallState,
) -> None:
    state.issue("A", at(0))
    state.call_next(1, at(1))

    for kwargs in ({}, {"to_service": "B", "to_window": 2}):
        assert_refused_unchanged(
            state, state.transfer, 1, at(2), reason="r", error=InvalidInput, **kwargs
        )
    assert_refused_unchanged(
        state, state.transfer, 1, at(2), reason=" ", to_service="B", error=InvalidInput
    )
    assert_refused_unchanged(
        state, state.transfer, 1, at(2), reason="r", to_service="Z", error=NotFound
    )
    assert_refused_unchanged(
        state, state.transfer, 1, at(2), reason="r", to_window=99, error=NotFound
    )
    assert_refused_unchanged(
        state, state.transfer, 1, at(2), reason="r", to_window=1, code="ticket.same_window", match="已在 1 号窗口"
    )
    assert_refused_unchanged(
        state, state.transfer, 2, at(2), reason="r", to_service="B", code="window.no_current"
    )


def test_suspend_sets_the_ticket_aside_and_restore_puts_it_back_in_the_queue(
    state: HallState,
) -> None:
    issue_many(state, "A", 4)
    state.call_next(1, at(5))
    state.start(1, at(6))

    ticket, events = state.suspend(1, at(7), reason="缺少营业执照")

    assert (ticket.status, ticket.note) == (TicketStatus.SUSPENDED, "缺少营业执照")
    assert state.windows[1].current is None
    assert events[0].payload == {"reason": "缺少营业执照"}
    assert_refused_unchanged(state, state.suspend, 1, at(8), "缺材料", code="window.no_current")

    restored, events = state.restore("A001", at(30))
    assert restored.status is TicketStatus.WAITING
    assert events[0].payload == {"from": "suspended", "ahead": 2}
    assert call_order(state, 1, at(31)) == ["A002", "A003", "A001", "A004"]


def test_suspend_needs_a_reason(state: HallState) -> None:
    state.issue("A", at(0))
    state.call_next(1, at(1))

    assert_refused_unchanged(state, state.suspend, 1, at(2), "", error=InvalidInput)


def test_restore_refuses_tickets_that_are_neither_missed_nor_suspended(state: HallState) -> None:
    state.issue("A", at(0))
    assert_refused_unchanged(state, state.restore, "A001", at(1), match="等候中")
    state.call_next(1, at(1))
    assert_refused_unchanged(state, state.restore, "A001", at(2), match="已叫号")
    assert_refused_unchanged(state, state.restore, "A002", at(2), error=NotFound)


def test_cancel_a_waiting_ticket(state: HallState) -> None:
    ticket, _ = state.issue("A", at(0))

    events = state.cancel(ticket, at(1), "群众自行离开")

    assert ticket.status is TicketStatus.CANCELLED
    assert [(e.kind, e.payload) for e in events] == [
        ("ticket_cancelled", {"reason": "群众自行离开"})
    ]
    assert state.call_next(1, at(2)) == (None, [])


def test_cancel_refuses_called_serving_and_finished_tickets(state: HallState) -> None:
    ticket, _ = state.issue("A", at(0))
    state.call_next(1, at(1))
    assert_refused_unchanged(state, state.cancel, ticket, at(2), match="已叫号")
    state.start(1, at(2))
    assert_refused_unchanged(state, state.cancel, ticket, at(3), match="办理中")
    state.finish(1, at(4))

    assert_refused_unchanged(state, state.cancel, ticket, at(5), match="已办结")


# --- end of day -----------------------------------------------------------------------------


def test_close_tickets_closes_every_unserved_ticket_and_deletes_none(state: HallState) -> None:
    for service in "AAAAAABC":
        state.issue(service, at(0))
    state.call_next(1, at(1))  # A001 finished
    state.start(1, at(1))
    state.finish(1, at(2))
    state.call_next(1, at(3))  # A002 missed
    miss_current(state, 1, at(3))
    state.call_next(1, at(5))  # A003 suspended
    state.suspend(1, at(5), "缺材料")
    state.cancel(state.ticket_by_number("A004"), at(6))  # A004 cancelled
    state.call_next(1, at(7))  # A005 serving at window 1
    state.start(1, at(7))
    state.call_next(2, at(7))  # B001 called at window 2
    before = {t.id: t.status for t in state.tickets.values()}

    events = state.close_tickets(state.tickets.values())

    after = {t.number_text: t.status.value for t in state.tickets.values()}
    assert set(before) == set(state.tickets)
    assert after == {
        "A001": "finished", "A002": "closed", "A003": "closed", "A004": "cancelled",
        "A005": "closed", "A006": "closed", "B001": "closed", "C001": "closed",
    }  # fmt: skip
    assert sorted((state.tickets[e.ticket].number_text, e.payload["from"]) for e in events) == [
        ("A002", "missed"), ("A003", "suspended"), ("A005", "serving"),
        ("A006", "waiting"), ("B001", "called"), ("C001", "waiting"),
    ]  # fmt: skip
    assert state.windows[1].current is None
    assert state.windows[2].current is None
    assert state.counters == {"A": 6, "B": 1, "C": 1}  # numbers are never reused


def test_ticket_by_number_finds_only_todays_tickets(state: HallState) -> None:
    ticket, _ = state.issue("A", at(0))
    ticket.business_day -= timedelta(days=1)

    assert_refused_unchanged(state, state.ticket_by_number, "A001", error=NotFound)
