"""Complaint step deadlines in working days of the hall's calendar, with time passed in: a weekend
and a public holiday are skipped, a make-up working day counts, and a step done at 23:59 of the
last day is on time while one a second after midnight is overdue."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from queue_server.domain import complaints
from queue_server.domain.calendar import WorkCalendar
from queue_server.domain.errors import InvalidInput, Refused

TZ = ZoneInfo("Asia/Shanghai")
DAYS = {"accept_days": 1, "assign_days": 1, "resolve_days": 10, "reply_days": 2, "archive_days": 5}
WEEKDAYS = WorkCalendar.of({1, 2, 3, 4, 5})
# New Year 2027: Friday 1 January a holiday; a make-up working day on Sunday 3 January.
NEW_YEAR = WorkCalendar.of({1, 2, 3, 4, 5}, holidays=[date(2027, 1, 1)], workdays=[date(2027, 1, 3)])


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)


def test_a_complaint_received_on_friday_afternoon_is_due_to_be_accepted_at_the_end_of_monday():
    due = complaints.step_due(WEEKDAYS, "received", at(2026, 12, 4, 16, 0), DAYS, TZ)
    assert due == at(2026, 12, 7, 23, 59, 59, 999999)


def test_a_complaint_received_on_saturday_counts_from_monday_as_its_first_working_day():
    assert complaints.step_due(WEEKDAYS, "received", at(2026, 12, 5, 9, 0), DAYS, TZ) == at(2026, 12, 7, 23, 59, 59, 999999)


def test_a_public_holiday_is_skipped_and_a_make_up_working_day_counts():
    # Thursday 31 December: Friday is a holiday, Saturday a weekend day, Sunday a make-up day.
    assert complaints.step_due(NEW_YEAR, "received", at(2026, 12, 31, 10, 0), DAYS, TZ) == at(2027, 1, 3, 23, 59, 59, 999999)
    without_make_up = WorkCalendar.of({1, 2, 3, 4, 5}, holidays=[date(2027, 1, 1)])
    assert complaints.step_due(without_make_up, "received", at(2026, 12, 31, 10, 0), DAYS, TZ) == at(
        2027, 1, 4, 23, 59, 59, 999999)


def test_each_step_takes_its_own_number_of_working_days_and_a_closed_complaint_owes_none():
    since = at(2026, 11, 30, 10, 0)  # a Monday
    assert complaints.step_due(WEEKDAYS, "investigating", since, DAYS, TZ) == at(2026, 12, 14, 23, 59, 59, 999999)
    assert complaints.step_due(WEEKDAYS, "resolved", since, DAYS, TZ) == at(2026, 12, 2, 23, 59, 59, 999999)
    assert complaints.step_due(WEEKDAYS, "declined", since, DAYS, TZ) is None
    assert complaints.step_due(WEEKDAYS, "archived", since, DAYS, TZ) is None


def test_a_step_at_23_59_of_the_last_day_is_on_time_and_one_after_midnight_is_overdue():
    due = complaints.step_due(WEEKDAYS, "received", at(2026, 12, 4, 16, 0), DAYS, TZ)
    assert due is not None
    assert not complaints.overdue("received", due, at(2026, 12, 7, 23, 59, 0))
    assert not complaints.overdue("received", due, at(2026, 12, 7, 23, 59, 59))
    assert complaints.overdue("received", due, at(2026, 12, 8, 0, 0, 1))
    assert not complaints.overdue("archived", due, at(2027, 1, 1)), "a closed complaint is never overdue"


def test_the_flow_allows_only_its_own_next_step():
    assert complaints.next_state("accept", "received", "cp_1") == "accepted"
    assert complaints.next_state("decline", "received", "cp_1") == "declined"
    with pytest.raises(Refused) as refused:
        complaints.next_state("reply", "investigating", "cp_1")
    assert refused.value.code == "complaint.bad_step" and "调查中" in refused.value.detail
    for action in complaints.ACTIONS:
        for state in complaints.FINAL:
            with pytest.raises(Refused):
                complaints.next_state(action, state, "cp_1")


@pytest.mark.parametrize(("typed", "kept", "masked"), [
    ("13812345678", "13812345678", "138****5678"),
    ("+86 138 1234 5678", "13812345678", "138****5678"),
    ("0571-87654321", "0571-87654321", "057****4321"),
])
def test_phones_are_kept_whole_and_masked_to_the_first_three_and_last_four_digits(typed, kept, masked):
    assert complaints.clean_phone(typed) == kept
    assert complaints.mask_phone(kept) == masked


@pytest.mark.parametrize("typed", ["12345", "1381234567x", "23812345678", "138123456789"])
def test_a_number_that_is_no_phone_is_refused(typed):
    with pytest.raises(InvalidInput) as refused:
        complaints.clean_phone(typed)
    assert refused.value.field == "contact_phone"


def test_the_contact_is_whole_only_for_the_owner_masked_for_managers_and_the_complainant_hidden_from_staff():
    owner, other, clerk = (complaints.Viewer("9001", True), complaints.Viewer("9002", True),
                           complaints.Viewer("1001", False))
    assert complaints.contact_for(owner, "9001", "13812345678") == "13812345678"
    assert complaints.contact_for(other, "9001", "13812345678") == "138****5678"
    assert complaints.contact_for(None, "9001", "13812345678") == "138****5678"
    assert complaints.contact_for(clerk, "9001", "13812345678") is None
    assert complaints.contact_for(owner, "9001", None) is None
