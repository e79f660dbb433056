"""Hall time: the business day boundary and when tickets may be issued."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from queue_server.config import load_config
from queue_server.domain.clock import business_day, issuing_refusal
from tests.unit.small_hall import SHANGHAI, small_hall

FOUR_AM = time(4, 0)
HOURS = small_hall().hours  # Mon-Fri 08:30-17:00, lunch 12:00-13:30, issuing through lunch
NO_LUNCH_ISSUING = dataclasses.replace(HOURS, issue_during_lunch=False)


def shanghai(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant in November 2026, Shanghai time; the 30th is a Monday."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI)


# --- business day ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (shanghai(30, 0, 0), date(2026, 11, 29)),
        (shanghai(30, 3, 59, 59), date(2026, 11, 29)),
        (shanghai(30, 4, 0), date(2026, 11, 30)),
        (shanghai(30, 23, 59, 59), date(2026, 11, 30)),
    ],
)
def test_business_day_changes_at_four_in_the_morning(instant: datetime, expected: date) -> None:
    assert business_day(instant, SHANGHAI, FOUR_AM) == expected


def test_business_day_is_judged_in_hall_time_not_in_the_instants_zone() -> None:
    # 20:00 UTC on the 29th is 04:00 on the 30th in Shanghai; 19:59 UTC is still the 29th.
    assert business_day(datetime(2026, 11, 29, 20, 0, tzinfo=UTC), SHANGHAI, FOUR_AM) == date(
        2026, 11, 30
    )
    assert business_day(datetime(2026, 11, 29, 19, 59, tzinfo=UTC), SHANGHAI, FOUR_AM) == date(
        2026, 11, 29
    )


def test_business_day_boundary_comes_from_the_configuration() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "config.toml", env={})

    assert config.business_day_starts == FOUR_AM
    assert business_day(shanghai(30, 5, 0), config.timezone, time(6, 0)) == date(2026, 11, 29)


def test_business_day_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_day(datetime(2026, 11, 30, 10, 0), SHANGHAI, FOUR_AM)


# --- issuing hours --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "instant",
    [
        shanghai(30, 8, 30),
        shanghai(30, 10, 0),
        shanghai(30, 12, 30),
        shanghai(30, 16, 59, 59),
        shanghai(27, 9, 0),
    ],  # fmt: skip
)
def test_tickets_are_issued_inside_opening_hours_on_weekdays(instant: datetime) -> None:
    assert issuing_refusal(instant, SHANGHAI, HOURS) is None


@pytest.mark.parametrize("instant", [shanghai(30, 8, 29, 59), shanghai(30, 17, 0), shanghai(30, 3)])
def test_no_tickets_outside_opening_hours(instant: datetime) -> None:
    refusal = issuing_refusal(instant, SHANGHAI, HOURS)

    assert refusal is not None
    assert refusal.startswith("当前不在取号时间")
    assert "周一、二、三、四、五 08:30-17:00" in refusal


@pytest.mark.parametrize("day", [28, 29])  # Saturday, Sunday
def test_no_tickets_on_days_the_hall_is_closed(day: int) -> None:
    refusal = issuing_refusal(shanghai(day, 10), SHANGHAI, HOURS)

    assert refusal is not None and refusal.startswith("今日不办公")


def test_saturday_opening_is_configurable() -> None:
    with_saturday = dataclasses.replace(HOURS, weekdays=(1, 2, 3, 4, 5, 6))

    assert issuing_refusal(shanghai(28, 10), SHANGHAI, with_saturday) is None


@pytest.mark.parametrize(
    ("instant", "refused"),
    [
        (shanghai(30, 11, 59, 59), False),
        (shanghai(30, 12, 0), True),
        (shanghai(30, 13, 29, 59), True),
        (shanghai(30, 13, 30), False),
    ],
)
def test_lunch_stops_issuing_only_when_the_hall_says_so(instant: datetime, refused: bool) -> None:
    refusal = issuing_refusal(instant, SHANGHAI, NO_LUNCH_ISSUING)

    assert (refusal is not None) == refused
    if refusal is not None:
        assert refusal.startswith("午休时间暂停取号")
        assert "（午休 12:00-13:30 暂停取号）" in refusal
    assert issuing_refusal(instant, SHANGHAI, HOURS) is None


def test_issuing_hours_are_judged_in_hall_time() -> None:
    # 04:00 UTC is noon in Shanghai; 00:00 UTC is 08:00 there, before opening.
    assert issuing_refusal(datetime(2026, 11, 30, 4, 0, tzinfo=UTC), SHANGHAI, NO_LUNCH_ISSUING)
    assert issuing_refusal(datetime(2026, 11, 30, 0, 0, tzinfo=UTC), SHANGHAI, HOURS)
    assert issuing_refusal(datetime(2026, 11, 30, 2, 0, tzinfo=UTC), SHANGHAI, HOURS) is None


def test_sample_street_hall_stops_issuing_over_lunch() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "config.toml", env={})
    hushu = config.halls["hushu"].hours
    gongshu = config.halls["gongshu"].hours

    assert issuing_refusal(shanghai(30, 12, 15), config.timezone, hushu) is not None
    assert issuing_refusal(shanghai(30, 12, 15), config.timezone, gongshu) is None
