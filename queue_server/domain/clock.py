"""Business days and business hours: the only place that turns an instant into hall time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .errors import CODES
from .layout import Hours


def business_day(now: datetime, tz: ZoneInfo, starts: time) -> date:
    """The business day an instant belongs to: before `starts` it is still the previous day."""
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: the clock must be timezone-aware")
    local = now.astimezone(tz)
    day = local.date()
    if local.time() < starts:
        day -= timedelta(days=1)
    return day


def issuing_refusal(now: datetime, tz: ZoneInfo, hours: Hours) -> str | None:
    """Why tickets cannot be issued at `now`, in the citizen's words; None when they can."""
    code = issuing_refusal_code(now, tz, hours)
    return None if code is None else CODES[code].format(hours=hours.describe())


def issuing_refusal_code(now: datetime, tz: ZoneInfo, hours: Hours) -> str | None:
    """The error code (domain/errors.py) of why tickets cannot be issued at `now`; None when they can."""
    local = now.astimezone(tz)
    if local.isoweekday() not in hours.weekdays:
        return "hours.closed_today"
    t = local.time()
    if t < hours.open or t >= hours.close:
        return "hours.outside"
    if (
        not hours.issue_during_lunch
        and hours.lunch_start is not None
        and hours.lunch_end is not None
        and hours.lunch_start <= t < hours.lunch_end
    ):
        return "hours.lunch"
    return None


def within_hours(now: datetime, tz: ZoneInfo, hours: Hours) -> bool:
    """Whether the hall is open at `now` (a working day, between opening and closing; the lunch
    break counts as open: screens and printers are expected to be on)."""
    local = now.astimezone(tz)
    return local.isoweekday() in hours.weekdays and hours.open <= local.time() < hours.close
