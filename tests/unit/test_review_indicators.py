"""Performance review indicators over hand-made days whose every figure is known in advance.

Pure: the real domain (HallState) makes the events, the rows are built as the server builds
them (service/views.public_event), time is injected; the expected figures are worked out by
hand in the comments."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from queue_server.domain import review
from queue_server.domain.hall import HallState
from queue_server.domain.ledger import LedgerRow
from queue_server.domain.model import Event
from queue_server.domain.review import StatsQuery, aggregate, indicators, project
from queue_server.service import views
from tests.unit.small_hall import SHANGHAI, at, new_state, staff

DAY = date(2026, 11, 30)
STARTS = time(4, 0)


class Day:
    """A hall's day: commands on the real HallState, each event recorded as a ledger row."""

    def __init__(self) -> None:
        self.state: HallState = new_state()
        self.rows: list[LedgerRow] = []

    def record(self, events: list[Event], now: datetime) -> None:
        for e in events:
            ticket = self.state.tickets.get(e.ticket) if e.ticket else None
            seq = len(self.rows) + 1
            public = views.public_event(self.state, seq=seq, at=now, tz=SHANGHAI, kind=e.kind, ticket=ticket,
                                        window=e.window, services=[], payload=e.payload)
            self.rows.append(LedgerRow(
                hall="small", seq=seq, at=now, kind=e.kind, actor={}, ticket_id=ticket.id if ticket else None,
                ticket_number=ticket.number_text if ticket else None, window=e.window, payload=e.payload,
                public=public, prev_hash=b""))

    def issue(self, service: str, now: datetime) -> str:
        ticket, events = self.state.issue(service, now)
        self.record(events, now)
        return ticket.id

    def do(self, method: str, window: int, now: datetime, *args: Any, **kwargs: Any) -> Any:
        command = getattr(self.state, method)
        # pause_window takes its reason before the time; every other command the time first
        result = command(window, *args, now) if method == "pause_window" else command(window, now, *args, **kwargs)
        events = result[1] if isinstance(result, tuple) else result
        self.record(events, now)
        return result

    def rate(self, ticket_id: str, level: str, now: datetime, follow_up: str | None = None) -> None:
        t = self.state.tickets[ticket_id]
        self.record([Event("ticket_rated", t.id, t.window, {"level": level, "channel": "tablet", "labels": [],
                                                               "staff_id": t.staff_id})], now)
        if follow_up:
            self.record([Event("follow_up_opened", t.id, t.window, {
                "follow_up": follow_up, "owner": None,
                "callback_due": (now + timedelta(days=1)).isoformat(),
                "rectify_due": (now + timedelta(days=15)).isoformat()})], now)

    def follow_up(self, follow_up: str, action: str, now: datetime) -> None:
        # As service/ratings.py writes it: about a ticket, but the row names none.
        self.record([Event("follow_up_updated", None, None, {"follow_up": follow_up, "action": action,
                                                             "note": "已回访"})], now)


def hand_made_day() -> Day:
    d = Day()
    s = d.state
    d.record(s.open_window(1, staff(1), at(0)), at(0))
    d.record(s.open_window(3, staff(3), at(0)), at(0))
    a1 = d.issue("A", at(0))
    d.issue("A", at(1))  # A002
    c1 = d.issue("C", at(2))
    d.issue("A", at(3))  # A003
    a4 = d.issue("A", at(4))
    d.do("call_next", 1, at(5))  # A001 waited 300 s
    d.do("call_next", 3, at(5))  # C001 waited 180 s
    d.do("start", 3, at(5))
    d.do("start", 1, at(6))
    d.do("finish", 3, at(8))  # C001 handled 180 s
    d.rate(c1, "very_dissatisfied", at(9), follow_up="fu_1")
    d.do("finish", 1, at(16))  # A001 handled 600 s
    d.rate(a1, "very_satisfied", at(17))
    d.do("call_next", 1, at(16))  # A002 waited 900 s: exactly the 15 warn minutes, not over
    d.do("recall", 1, at(17))
    d.do("recall", 1, at(18))
    d.do("miss", 1, at(19))  # A002 missed (once: not void)
    d.do("call_next", 1, at(19))  # A003 waited 960 s: over the 900 s threshold
    d.do("start", 1, at(20))
    d.do("finish", 1, at(50))  # A003 handled 1800 s
    d.record(s.cancel(s.tickets[a4], at(30)), at(30))  # A004 cancelled by the citizen
    d.do("pause_window", 1, at(50), "午休")
    d.do("resume_window", 1, at(110))  # paused 3600 s
    d.do("close_window", 3, at(60))  # window 3 open 3600 s
    d.do("close_window", 1, at(120))  # window 1 open 7200 s
    d.record(s.close_tickets(list(s.tickets.values())), at(600))  # A002 closed at day end (was missed)
    d.follow_up("fu_1", "call_back", at(60 * 23))  # within the day allowed
    return d


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=SHANGHAI)


def figures(d: Day, by: str, **filters: Any) -> dict[Any, dict[str, Any]]:
    visits, sessions = project(d.rows, SHANGHAI, STARTS)
    hall = d.state.hall
    q = StatsQuery(
        halls=("small",), date_from=DAY, date_to=DAY, by=by, now=NOW, tz=SHANGHAI,
        warn_s={("small", c): s.warn_minutes * 60.0 for c, s in hall.services.items()},
        service_area={("small", c): s.area for c, s in hall.services.items()},
        window_area={("small", n): w.area for n, w in hall.windows.items()}, **filters,
    )
    sums = aggregate(visits.values(), sessions, q)
    return {k: indicators(s, windows=by in review.WINDOW_CUTS) for k, s in sums.items()}


def test_a_hand_made_day_gives_every_hall_indicator_known_in_advance():
    total = figures(hand_made_day(), "hall")[review.TOTAL]
    assert total["issued"] == 5 and total["served"] == 3 and total["called"] == 4
    assert total["wait_avg_s"] == 585.0  # (300 + 180 + 900 + 960) / 4
    assert total["wait_p90_s"] == 960.0  # nearest rank: ceil(0.9 × 4) = the 4th
    assert total["wait_max_s"] == 960.0
    assert total["over_threshold_rate"] == 0.25  # A003 only: 900 s is not over 900 s
    assert total["handle_avg_s"] == 860.0  # (600 + 180 + 1800) / 3
    assert total["no_show_rate"] == 0.25  # A002, missed then closed at the day's end, of 4 called
    assert total["abandon_rate"] == 0.4  # A004 cancelled, A002 closed unserved, of 5 issued
    assert (total["open_s"], total["pause_s"], total["pause_count"]) == (10800.0, 3600.0, 1)
    assert total["busy_s"] == 2580.0
    assert total["utilisation"] == round(2580 / 7200, 4)
    assert total["ratings"] == 2
    assert total["rating_participation"] == round(2 / 3, 4)
    assert (total["satisfied_rate"], total["good_rate"], total["bad_rate"]) == (0.5, 0.5, 0.5)
    assert total["score"] == 60.0  # (100 + 20) / 2
    assert total["follow_ups"] == 1
    assert total["callback_on_time_rate"] == 1.0  # called back within its day
    assert total["rectify_on_time_rate"] is None  # not done and not yet due on NOW


def test_a_window_counts_what_it_finished_and_waits_of_what_it_first_called():
    rows = figures(hand_made_day(), "window")
    one, three, never = rows["small/1"], rows["small/3"], rows[None]
    assert (one["issued"], one["served"], one["called"]) == (3, 2, 3)  # A001, A003, and A002 it called
    assert one["wait_avg_s"] == 720.0 and one["wait_p90_s"] == 960.0  # 300, 900, 960
    assert (one["open_s"], one["pause_s"], one["busy_s"]) == (7200.0, 3600.0, 2400.0)
    assert one["utilisation"] == round(2400 / 3600, 4)
    assert one["no_show_rate"] == round(1 / 3, 4) and one["abandon_rate"] == round(1 / 3, 4)
    assert (three["served"], three["wait_avg_s"], three["busy_s"], three["utilisation"]) == (1, 180.0, 180.0, 0.05)
    assert (three["bad_rate"], three["score"]) == (1.0, 20.0)
    assert (never["issued"], never["called"], never["abandon_rate"]) == (1, 0, 1.0)


def test_rows_roll_up_exactly_to_the_total():
    for by in review.CUTS:
        rows = figures(hand_made_day(), by)
        total = rows.pop(review.TOTAL)
        for name in ("issued", "served", "ratings", "follow_ups"):
            assert sum(r[name] for r in rows.values()) == total[name], (by, name)
        assert sum(r["called"] for r in rows.values()) == total["called"], by


def test_a_staff_filter_keeps_only_that_clerks_figures():
    rows = figures(hand_made_day(), "day", staff="1003")
    assert rows["2026-11-30"]["served"] == 1 and rows["2026-11-30"]["open_s"] == 3600.0
    assert rows[review.TOTAL]["issued"] == 1


def test_hour_of_day_counts_arrivals_by_their_issue_hour():
    rows = figures(hand_made_day(), "hour")
    assert rows["10"]["issued"] == 5 and rows["10"]["open_s"] is None  # hours own no window time


def test_the_p90_is_the_nearest_rank_percentile():
    assert review.p90([1.0]) == 1.0
    assert review.p90([float(i) for i in range(1, 11)]) == 9.0
    assert review.p90([float(i) for i in range(1, 12)]) == 10.0  # ceil(9.9) = 10th
    assert review.p90([]) is None


def test_a_handling_longer_than_three_medians_is_an_outlier():
    d = Day()
    d.record(d.state.open_window(1, staff(1), at(0)), at(0))
    minutes = [5, 5, 6, 5, 16, 5]  # median 5 min; 16 > 15 is an outlier, 15 would not be
    t = 0.0
    for m in minutes:
        d.issue("A", at(t))
        d.do("call_next", 1, at(t))
        d.do("start", 1, at(t))
        t += m
        d.do("finish", 1, at(t))
    visits, _ = project(d.rows, SHANGHAI, STARTS)
    found = review.handle_outliers(visits.values(), lambda v: v["finish_service"])
    assert [(v["number"], h, med) for v, h, med in found] == [("A005", 960.0, 300.0)]


def test_a_window_left_open_overnight_counts_only_to_its_days_end():
    d = Day()
    d.record(d.state.open_window(1, staff(1), at(0)), at(0))  # Monday 10:00
    d.do("pause_window", 1, at(60), "临时离开")  # 11:00, never resumed
    next_morning = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
    d.do("close_window", 1, next_morning)  # closed by the roll-over
    _, sessions = project(d.rows, SHANGHAI, STARTS)
    (s,) = sessions
    assert s.day_end == datetime(2026, 12, 1, 4, 0, tzinfo=SHANGHAI)
    assert s.open_seconds(NOW) == 18 * 3600  # 10:00 → 04:00
    assert s.pause_seconds(NOW) == 17 * 3600  # 11:00 → 04:00
    assert s.pause_count == 1


def test_patches_merge_first_for_once_only_facts_and_last_for_repeatable_ones():
    first = {"ticket_id": "t", "first_called_at": at(1), "started_at": at(2), "status": "serving", "last_seq": 1}
    later = {"ticket_id": "t", "first_called_at": at(5), "started_at": at(6), "status": "finished", "last_seq": 2}
    merged = review.merge_visit(first, later)
    assert merged["first_called_at"] == at(1) and merged["started_at"] == at(6)
    assert merged["status"] == "finished" and merged["last_seq"] == 2
    assert review.merge_visit(merged, {"ticket_id": "t", "last_seq": 3})["status"] == "finished"
