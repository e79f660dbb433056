"""Working days and deadlines counted in them (pure).

A hall works on its weekdays (ISO 1-7) except the public holidays of [calendar] holidays, and also on
the make-up working days (调休上班) of [calendar] workdays, which fall on weekends. A deadline of N
working days from a moment is the last instant of the N-th working day after that moment's local day:
a complaint received on Friday at 16:00 with one working day to answer is due on Monday at 23:59:59
(Tuesday if Monday is a holiday), and something done at 23:59 on that day is on time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: The last instant of a day: deadlines are inclusive, `done <= due` is on time.
END_OF_DAY = time(23, 59, 59, 999999)

#: A calendar whose configuration leaves no working day would loop forever; nobody configures
#: a hall with a whole year of holidays, so this bounds the search.
_MAX_SEARCH_DAYS = 366 * 2


@dataclass(frozen=True)
class WorkCalendar:
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # make-up working days

    @classmethod
    def of(cls, weekdays: Iterable[int], holidays: Iterable[date] = (),
           workdays: Iterable[date] = ()) -> WorkCalendar:
        return cls(frozenset(weekdays), frozenset(holidays), frozenset(workdays))

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.isoweekday() in self.weekdays and day not in self.holidays

    def working_day_after(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n ≥ 1); `day` itself never counts."""
        if n < 1:
            raise ValueError("n must be at least 1")
        found = 0
        for offset in range(1, _MAX_SEARCH_DAYS * n + 1):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                found += 1
                if found == n:
                    return candidate
        raise ValueError("the calendar has no working days")

    def deadline(self, start: datetime, n: int, tz: ZoneInfo) -> datetime:
        """The end (23:59:59.999999 local) of the n-th working day after `start`'s local day."""
        day = self.working_day_after(start.astimezone(tz).date(), n)
        return datetime.combine(day, END_OF_DAY, tzinfo=tz)

    def working_days_between(self, first: date, last: date) -> int:
        """Working days in (first, last]: how many of a deadline's days have gone by on `last`."""
        return sum(
            1 for offset in range(1, (last - first).days + 1)
            if self.is_working_day(first + timedelta(days=offset))
        )
