"""Deadlines in working days: weekends, holidays, make-up days, and the last minute of the last day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from queue_server.domain.calendar import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
WEEK = WorkCalendar.of([1, 2, 3, 4, 5])


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def test_one_working_day_from_a_friday_afternoon_is_due_at_the_end_of_monday() -> None:
    due = WEEK.deadline(local(2026, 12, 4, 16, 0), 1, TZ)  # Friday
    assert due.date() == date(2026, 12, 7) and due.isoweekday() == 1
    assert (due.hour, due.minute, due.second) == (23, 59, 59)


def test_a_step_done_at_2359_on_the_last_day_is_on_time_and_at_midnight_is_late() -> None:
    due = WEEK.deadline(local(2026, 12, 4, 16, 0), 1, TZ)
    assert local(2026, 12, 7, 23, 59) <= due
    assert local(2026, 12, 7, 23, 59, 59, 999999) <= due
    assert not local(2026, 12, 8, 0, 0) <= due


def test_a_holiday_on_the_monday_moves_the_deadline_to_tuesday() -> None:
    days = WorkCalendar.of([1, 2, 3, 4, 5], holidays=[date(2026, 12, 7)])
    assert days.deadline(local(2026, 12, 4, 9, 0), 1, TZ).date() == date(2026, 12, 8)


def test_a_make_up_saturday_counts_as_a_working_day() -> None:
    days = WorkCalendar.of([1, 2, 3, 4, 5], workdays=[date(2026, 12, 5)])
    assert days.is_working_day(date(2026, 12, 5)) and not days.is_working_day(date(2026, 12, 6))
    assert days.deadline(local(2026, 12, 4, 9, 0), 1, TZ).date() == date(2026, 12, 5)


def test_something_received_on_a_weekend_counts_from_the_next_working_day() -> None:
    assert WEEK.deadline(local(2026, 12, 5, 10, 0), 1, TZ).date() == date(2026, 12, 7)
    assert WEEK.deadline(local(2026, 12, 6, 23, 59), 1, TZ).date() == date(2026, 12, 7)


def test_the_local_day_decides_not_the_utc_day() -> None:
    # 17:30 UTC on Friday is 01:30 on Saturday in Hangzhou: the clock starts on Saturday.
    from datetime import UTC
    received = datetime(2026, 12, 4, 17, 30, tzinfo=UTC)
    due = WEEK.deadline(received, 1, TZ)
    assert due.date() == date(2026, 12, 7) and due.utcoffset() == timedelta(hours=8)


def test_fifteen_working_days_skip_three_weekends_and_a_holiday_week() -> None:
    assert WEEK.deadline(local(2026, 11, 30, 10, 0), 15, TZ).date() == date(2026, 12, 21)
    golden_week = [date(2026, 10, d) for d in range(1, 8)]
    days = WorkCalendar.of([1, 2, 3, 4, 5], holidays=golden_week, workdays=[date(2026, 10, 10)])
    # From Tue 29 Sep: Wed 30 Sep (1), Thu 8 and Fri 9 Oct (2, 3), Sat 10 Oct make-up (4),
    # Mon 12 - Wed 14 Oct (5-7).
    assert days.deadline(local(2026, 9, 29, 10, 0), 7, TZ).date() == date(2026, 10, 14)
    assert days.working_days_between(date(2026, 9, 29), date(2026, 10, 14)) == 7


def test_a_hall_open_on_saturdays_counts_them() -> None:
    six = WorkCalendar.of([1, 2, 3, 4, 5, 6])
    assert six.deadline(local(2026, 12, 4, 16, 0), 1, TZ).date() == date(2026, 12, 5)


def test_a_calendar_without_working_days_or_a_zero_count_is_refused() -> None:
    with pytest.raises(ValueError):
        WorkCalendar.of([]).deadline(local(2026, 12, 4, 16, 0), 1, TZ)
    with pytest.raises(ValueError):
        WEEK.deadline(local(2026, 12, 4, 16, 0), 0, TZ)
