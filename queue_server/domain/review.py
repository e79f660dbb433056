"""Performance review (服务绩效): the projection of the ledger that reports read, and the indicators.

Pure: no I/O, time injected. Two halves.

1. The projection. Every ledger row of a ticket becomes a *patch* of that ticket's visit row
   (`visit_patch`); patches merge column by column (`merge_visit`): the first value wins for
   what happens once (issue, first call, rating, follow-up due dates), the last value wins for
   what may happen again (start, finish, status). The server writes the patches of each batch
   in the batch's own transaction; `queue-server rebuild-stats` folds the whole ledger through
   the same two functions. Window sessions (opened → closed, with their pauses) fold the same
   way (`fold_session`).
2. The indicators. `Sums` are additive (counts, totals, maxima) plus the sorted waits for the
   P90, so any cut rolls up exactly — by summing and recomputing, never by averaging averages;
   `indicators` turns one `Sums` into the figures a report shows.

Definitions (README "Performance review" repeats them):
- wait = first call − issue; handle = finish − last start; both in seconds.
- over_threshold_rate = called tickets whose wait exceeded the service's warn minutes ÷ called.
- no_show_rate = tickets that ended missed or void (a missed ticket closed at the day's end
  counts) ÷ tickets called; abandon_rate = tickets cancelled, void or closed unserved ÷ issued.
- window time: a session is capped at the end of the business day it opened on (a window left
  open overnight is closed by the next morning's first command); utilisation = busy ÷ (open −
  pause), busy = the handle time of the tickets the window finished.
- ratings: satisfied = levels 5–3, good = 5–4, bad = 2–1 (each ÷ ratings); score = mean of
  level × 20; participation = ratings ÷ served.
- follow-ups: on time = done at or before the due time ÷ those due by `now` or done.
Attribution: a ticket counts on its business day, for the service it was finished under (else
the one it was issued for), for the window and staff member that finished it (else that first
called it); waits count for the window and staff member that first called it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .clock import business_day

#: The visit row, in the order of the stat_visits table's input type (migration 0010).
VISIT_COLUMNS = (
    "ticket_id", "hall", "business_day", "number", "issued_at", "issued_service", "channel",
    "priority", "first_called_at", "call_window", "call_staff", "started_at", "finished_at",
    "window_no", "staff_id", "finish_service", "status", "closed_from", "rating", "rated_at",
    "follow_up", "callback_due", "rectify_due", "called_back_at", "rectified_at", "last_seq",
)
#: Columns set once: the earliest value stays.
FIRST = frozenset({
    "hall", "business_day", "number", "issued_at", "issued_service", "channel", "priority",
    "first_called_at", "call_window", "call_staff", "rating", "rated_at", "follow_up",
    "callback_due", "rectify_due", "called_back_at", "rectified_at",
})
#: Columns that may change again: the latest non-null value wins.
LAST = frozenset({"started_at", "finished_at", "window_no", "staff_id", "finish_service", "closed_from"})
#: Columns every patch sets (the latest wins even when null-free by construction).
ALWAYS = frozenset({"status", "last_seq"})

LEVELS_BY_CODE = {
    "very_satisfied": 5, "satisfied": 4, "basically_satisfied": 3, "dissatisfied": 2,
    "very_dissatisfied": 1,
}
NO_SHOW_ENDS = ("missed", "void")
ABANDONED_ENDS = ("cancelled", "void", "closed")
FOLLOW_UP_DONE = {"call_back": "called_back_at", "rectify": "rectified_at"}


def _staff_of(public: Mapping[str, Any]) -> str | None:
    window = public.get("window") or {}
    staff = window.get("staff") or {}
    return staff.get("id")


def _parse_time(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def visit_patch(row: Any, tz: ZoneInfo, day_starts: time) -> dict[str, Any] | None:
    """What one ledger row says about its ticket's visit; None for rows about no ticket.

    `row` is a domain.ledger.LedgerRow (or anything with its attributes). A follow-up update
    names no ticket: its patch carries `follow_up` as the key instead of `ticket_id`."""
    kind = row.kind
    public = row.public or {}
    brief = public.get("ticket") or {}
    if kind == "follow_up_updated":
        done = FOLLOW_UP_DONE.get(str((row.payload or {}).get("action")))
        if done is None:
            return None
        return {"follow_up": row.payload.get("follow_up"), done: row.at, "last_seq": row.seq}
    if row.ticket_id is None:
        return None
    patch: dict[str, Any] = {"ticket_id": row.ticket_id, "last_seq": row.seq}
    if brief.get("status"):
        patch["status"] = brief["status"]
    payload = row.payload or {}
    if kind == "ticket_issued":
        patch.update(
            hall=row.hall, business_day=business_day(row.at, tz, day_starts),
            number=row.ticket_number, issued_at=row.at, issued_service=brief.get("service"),
            channel=payload.get("channel"), priority=payload.get("priority"),
        )
    elif kind == "ticket_called":
        patch.update(first_called_at=row.at, call_window=row.window, call_staff=_staff_of(public))
    elif kind == "service_started":
        patch["started_at"] = row.at
    elif kind == "ticket_finished":
        patch.update(finished_at=row.at, window_no=row.window, staff_id=_staff_of(public),
                     finish_service=brief.get("service"))
    elif kind == "ticket_closed":
        patch["closed_from"] = payload.get("from")
    elif kind == "ticket_rated":
        patch.update(rating=LEVELS_BY_CODE.get(str(payload.get("level"))), rated_at=row.at)
    elif kind == "follow_up_opened":
        patch.update(follow_up=payload.get("follow_up"),
                     callback_due=_parse_time(payload.get("callback_due")),
                     rectify_due=_parse_time(payload.get("rectify_due")))
    return patch


def merge_visit(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """`old` then `new` (a later patch): the same rule the database's upsert applies."""
    if old is None:
        return dict(new)
    merged = dict(old)
    for column, value in new.items():
        if column in FIRST:
            if merged.get(column) is None:
                merged[column] = value
        elif value is not None or column in ALWAYS:
            if column == "status" and value is None:
                continue
            merged[column] = value
    return merged


# ---- window sessions ------------------------------------------------------------------------

WINDOW_KINDS = frozenset({"window_opened", "window_paused", "window_resumed", "window_closed"})


@dataclass
class Session:
    """One window's opening: who, when, how long paused; capped at its business day's end."""

    hall: str
    window_no: int
    opened_at: datetime
    business_day: date
    day_end: datetime
    staff_id: str | None
    closed_at: datetime | None = None
    pause_s: float = 0.0
    pause_count: int = 0
    paused_since: datetime | None = None

    def open_seconds(self, now: datetime) -> float:
        end = min(self.closed_at or now, self.day_end)
        return max(0.0, (end - self.opened_at).total_seconds())

    def pause_seconds(self, now: datetime) -> float:
        extra = 0.0
        if self.paused_since is not None:
            end = min(self.closed_at or now, self.day_end)
            extra = max(0.0, (end - self.paused_since).total_seconds())
        return self.pause_s + extra


def day_end(day: date, tz: ZoneInfo, day_starts: time) -> datetime:
    return datetime.combine(day + timedelta(days=1), day_starts, tz)


def fold_session(open_session: Session | None, row: Any, tz: ZoneInfo, day_starts: time) -> tuple[Session | None, Session | None]:
    """Apply one window row to the window's open session: (the session now open, one just closed)."""
    kind = row.kind
    if kind == "window_opened":
        day = business_day(row.at, tz, day_starts)
        closed = None
        if open_session is not None:  # cannot happen in a sound ledger; end the old one here
            closed = _close(open_session, row.at)
        staff = (row.payload or {}).get("staff_id")
        return Session(row.hall, row.window, row.at, day, day_end(day, tz, day_starts), staff), closed
    if open_session is None:
        return None, None
    s = open_session
    if kind == "window_paused" and s.paused_since is None:
        s.paused_since = row.at
        s.pause_count += 1
    elif kind == "window_resumed" and s.paused_since is not None:
        s.pause_s += _span(s.paused_since, row.at, s.day_end)
        s.paused_since = None
    elif kind == "window_closed":
        return None, _close(s, row.at)
    return s, None


def _span(start: datetime, end: datetime, cap: datetime) -> float:
    return max(0.0, (min(end, cap) - start).total_seconds())


def _close(s: Session, at: datetime) -> Session:
    if s.paused_since is not None:
        s.pause_s += _span(s.paused_since, at, s.day_end)
        s.paused_since = None
    s.closed_at = at
    return s


# ---- the indicators -------------------------------------------------------------------------

@dataclass
class Sums:
    """Additive figures of a set of visits and window sessions (sums, counts, the max, the waits)."""

    issued: int = 0
    served: int = 0
    called: int = 0
    waits: list[float] = field(default_factory=list)
    over_threshold: int = 0
    handle_n: int = 0
    handle_sum: float = 0.0
    no_show: int = 0
    abandoned: int = 0
    levels: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0, 0])  # index = level
    follow_ups: int = 0
    callback_due: int = 0
    callback_on_time: int = 0
    rectify_due: int = 0
    rectify_on_time: int = 0
    sessions: int = 0
    open_s: float = 0.0
    pause_s: float = 0.0
    pause_count: int = 0

    def add_visit(self, v: Mapping[str, Any], warn_s: float | None, now: datetime, *, counts: bool = True,
                  waits: bool = True) -> None:
        """Count `v`: its own figures when `counts`, its wait when `waits` (the two may belong
        to different keys: the finishing window and the window that first called)."""
        if waits and v.get("first_called_at") is not None:
            wait = (v["first_called_at"] - v["issued_at"]).total_seconds()
            self.called += 1
            self.waits.append(wait)
            if warn_s is not None and wait > warn_s:
                self.over_threshold += 1
        if not counts:
            return
        self.issued += 1
        status = v.get("status")
        if v.get("finished_at") is not None:
            self.served += 1
            if v.get("started_at") is not None:
                self.handle_n += 1
                self.handle_sum += (v["finished_at"] - v["started_at"]).total_seconds()
        if status in NO_SHOW_ENDS or (status == "closed" and v.get("closed_from") == "missed"):
            self.no_show += 1
        if status in ABANDONED_ENDS:
            self.abandoned += 1
        if v.get("rating"):
            self.levels[v["rating"]] += 1
        if v.get("callback_due") is not None:
            self.follow_ups += 1
            for due_col, done_col, attr in (("callback_due", "called_back_at", "callback"),
                                            ("rectify_due", "rectified_at", "rectify")):
                due, done = v.get(due_col), v.get(done_col)
                if due is None:
                    continue
                if done is not None or due <= now:
                    setattr(self, f"{attr}_due", getattr(self, f"{attr}_due") + 1)
                    if done is not None and done <= due:
                        setattr(self, f"{attr}_on_time", getattr(self, f"{attr}_on_time") + 1)

    def add_session(self, s: Session, now: datetime) -> None:
        self.sessions += 1
        self.open_s += s.open_seconds(now)
        self.pause_s += s.pause_seconds(now)
        self.pause_count += s.pause_count


INDICATORS = (
    "issued", "served", "called", "wait_avg_s", "wait_p90_s", "wait_max_s", "over_threshold_rate",
    "handle_avg_s", "handle_outliers", "no_show_rate", "abandon_rate", "open_s", "pause_s",
    "pause_count", "busy_s", "utilisation", "ratings", "rating_participation", "satisfied_rate",
    "good_rate", "bad_rate", "score", "follow_ups", "callback_on_time_rate", "rectify_on_time_rate",
)


def p90(sorted_values: list[float]) -> float | None:
    """The nearest-rank 90th percentile (PostgreSQL's percentile_disc(0.9)): the smallest value
    with at least 90 % of the values at or below it."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(0.9 * len(sorted_values)) - 1)]


def _rate(part: float, whole: float) -> float | None:
    return None if not whole else round(part / whole, 4)


def _secs(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def indicators(s: Sums, *, windows: bool, outliers: int = 0) -> dict[str, Any]:
    """The report's figures of one cut; window time only where it means something (`windows`)."""
    waits = sorted(s.waits)
    ratings = sum(s.levels[1:])
    busy = s.handle_sum
    worked = s.open_s - s.pause_s
    return {
        "issued": s.issued,
        "served": s.served,
        "called": s.called,
        "wait_avg_s": _secs(sum(waits) / len(waits)) if waits else None,
        "wait_p90_s": _secs(p90(waits)),
        "wait_max_s": _secs(waits[-1]) if waits else None,
        "over_threshold_rate": _rate(s.over_threshold, s.called),
        "handle_avg_s": _secs(s.handle_sum / s.handle_n) if s.handle_n else None,
        "handle_outliers": outliers,
        "no_show_rate": _rate(s.no_show, s.called),
        "abandon_rate": _rate(s.abandoned, s.issued),
        "open_s": _secs(s.open_s) if windows else None,
        "pause_s": _secs(s.pause_s) if windows else None,
        "pause_count": s.pause_count if windows else None,
        "busy_s": _secs(busy),
        "utilisation": (_rate(busy, worked) if worked > 0 else None) if windows else None,
        "ratings": ratings,
        "rating_participation": _rate(ratings, s.served),
        "satisfied_rate": _rate(s.levels[5] + s.levels[4] + s.levels[3], ratings),
        "good_rate": _rate(s.levels[5] + s.levels[4], ratings),
        "bad_rate": _rate(s.levels[2] + s.levels[1], ratings),
        "score": round(sum(level * 20 * n for level, n in enumerate(s.levels)) / ratings, 2) if ratings else None,
        "rating_levels": {code: s.levels[level] for code, level in LEVELS_BY_CODE.items()},
        "follow_ups": s.follow_ups,
        "callback_on_time_rate": _rate(s.callback_on_time, s.callback_due),
        "rectify_on_time_rate": _rate(s.rectify_on_time, s.rectify_due),
    }


def median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def handle_outliers(visits: Iterable[Mapping[str, Any]], service_of: Any) -> list[tuple[Mapping[str, Any], float, float]]:
    """Visits whose handling took more than 3 × their service's median in the same set:
    (visit, handle seconds, the median), longest ratio first. `service_of(v)` keys the median."""
    by_service: dict[Any, list[tuple[Mapping[str, Any], float]]] = {}
    for v in visits:
        if v.get("finished_at") is not None and v.get("started_at") is not None:
            handle = (v["finished_at"] - v["started_at"]).total_seconds()
            by_service.setdefault(service_of(v), []).append((v, handle))
    found: list[tuple[Mapping[str, Any], float, float]] = []
    for items in by_service.values():
        mid = median(h for _, h in items)
        if not mid:
            continue
        found.extend((v, h, mid) for v, h in items if h > 3 * mid)
    found.sort(key=lambda item: -item[1] / item[2])
    return found


# ---- a report's question --------------------------------------------------------------------

CUTS = ("hall", "area", "service", "window", "staff", "day", "hour")
#: Cuts whose keys own window time (open, pause, utilisation); a service or an hour does not.
WINDOW_CUTS = frozenset({"hall", "area", "window", "staff", "day"})


@dataclass(frozen=True)
class StatsQuery:
    """Which visits a report counts: halls, business days (inclusive), the cut, and filters."""

    halls: tuple[str, ...]
    date_from: date
    date_to: date
    by: str  # one of CUTS
    now: datetime  # follow-ups due and windows still open are judged at this instant
    tz: ZoneInfo
    window: int | None = None  # only this window (with one hall)
    staff: str | None = None  # only this staff member's figures
    # (hall, service code) -> warn seconds / area code; (hall, window) -> area code
    warn_s: Mapping[tuple[str, str], float] = field(default_factory=dict)
    service_area: Mapping[tuple[str, str], str] = field(default_factory=dict)
    window_area: Mapping[tuple[str, int], str] = field(default_factory=dict)


def attribution(v: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """The service, window and staff member a visit counts for (the stat_visits generated
    columns service, win and staff): finished under / at / by, else issued for / first called."""
    finished_at_window = v.get("window_no") is not None
    return (v.get("finish_service") or v.get("issued_service"),
            v.get("window_no") if finished_at_window else v.get("call_window"),
            v.get("staff_id") if finished_at_window else v.get("call_staff"))


def visit_keys(v: Mapping[str, Any], q: StatsQuery) -> tuple[Any, Any]:
    """The key `v` counts under in cut `q.by`, and the key its wait counts under."""
    hall = v.get("hall")
    service, win, staff = attribution(v)
    match q.by:
        case "hall":
            return hall, hall
        case "area":
            area = q.service_area.get((str(hall), str(service)))
            key = None if area is None else f"{hall}/{area}"
            return key, key
        case "service":
            return f"{hall}/{service}", f"{hall}/{service}"
        case "window":
            call = v.get("call_window")
            return (None if win is None else f"{hall}/{win}"), (None if call is None else f"{hall}/{call}")
        case "staff":
            return staff, v.get("call_staff")
        case "day":
            return v["business_day"].isoformat(), v["business_day"].isoformat()
        case "hour":
            hour = v["issued_at"].astimezone(q.tz).strftime("%H")
            return hour, hour
    raise ValueError(f"unknown cut {q.by!r}")


def session_key(s: Session, q: StatsQuery) -> Any:
    match q.by:
        case "hall":
            return s.hall
        case "area":
            area = q.window_area.get((s.hall, s.window_no))
            return None if area is None else f"{s.hall}/{area}"
        case "window":
            return f"{s.hall}/{s.window_no}"
        case "staff":
            return s.staff_id
        case "day":
            return s.business_day.isoformat()
    return None


TOTAL = "__total__"


def aggregate(visits: Iterable[Mapping[str, Any]], sessions: Iterable[Session], q: StatsQuery) -> dict[Any, Sums]:
    """The sums per key of cut `q.by` (and under TOTAL, all of them) — what the SQL computes,
    in Python: for tests and small sets."""
    out: dict[Any, Sums] = {}

    def at(key: Any) -> Sums:
        return out.setdefault(key, Sums())

    for v in visits:
        if v.get("hall") not in q.halls or v.get("business_day") is None:
            continue
        if not q.date_from <= v["business_day"] <= q.date_to:
            continue
        key, wait_key = visit_keys(v, q)
        service, win, staff = attribution(v)
        warn = q.warn_s.get((v["hall"], str(service)))
        counts = (q.window is None or win == q.window) and (q.staff is None or staff == q.staff)
        waits = (q.window is None or v.get("call_window") == q.window) and (
            q.staff is None or v.get("call_staff") == q.staff)
        if counts:
            at(key).add_visit(v, warn, q.now, counts=True, waits=False)
            at(TOTAL).add_visit(v, warn, q.now, counts=True, waits=False)
        if waits and v.get("first_called_at") is not None:
            at(wait_key).add_visit(v, warn, q.now, counts=False, waits=True)
            at(TOTAL).add_visit(v, warn, q.now, counts=False, waits=True)
    if q.by in WINDOW_CUTS:
        for s in sessions:
            if s.hall not in q.halls or not q.date_from <= s.business_day <= q.date_to:
                continue
            if (q.window is not None and s.window_no != q.window) or (q.staff is not None and s.staff_id != q.staff):
                continue
            at(session_key(s, q)).add_session(s, q.now)
            at(TOTAL).add_session(s, q.now)
    return out


@dataclass
class Folded:
    """Ledger rows folded into visit patches: merged per ticket, follow-up updates whose ticket
    the rows did not name (the store applies them by follow-up id), and the window rows."""

    visits: dict[str, dict[str, Any]] = field(default_factory=dict)
    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    window_rows: list[Any] = field(default_factory=list)


def fold_rows(rows: Iterable[Any], tz: ZoneInfo, day_starts: time) -> Folded:
    """Fold ledger rows (in sequence order) into per-ticket patches by `visit_patch` and
    `merge_visit`: one batch's rows for the server, a whole ledger for `project`."""
    out = Folded()
    by_follow_up: dict[str, str] = {}
    for row in rows:
        if row.kind in WINDOW_KINDS:
            out.window_rows.append(row)
            continue
        patch = visit_patch(row, tz, day_starts)
        if patch is None:
            continue
        ticket = patch.get("ticket_id")
        if ticket is None:
            ticket = by_follow_up.get(patch["follow_up"])
            if ticket is None:
                out.follow_ups.append(patch)
                continue
            patch = {k: v for k, v in patch.items() if k != "follow_up"}
            patch["ticket_id"] = ticket
        elif patch.get("follow_up"):
            by_follow_up[patch["follow_up"]] = ticket
        out.visits[ticket] = merge_visit(out.visits.get(ticket), patch)
    return out


def project(rows: Iterable[Any], tz: ZoneInfo, day_starts: time) -> tuple[dict[str, dict[str, Any]], list[Session]]:
    """The whole projection of a ledger, in memory: the visits by ticket id and every window
    session (for tests and small ledgers; the database folds the same patches by batch)."""
    folded = fold_rows(rows, tz, day_starts)
    open_sessions: dict[tuple[str, int], Session | None] = {}
    sessions: list[Session] = []
    for row in folded.window_rows:
        key = (row.hall, row.window)
        now_open, closed = fold_session(open_sessions.get(key), row, tz, day_starts)
        if closed is not None:
            sessions.append(closed)
        open_sessions[key] = now_open
    sessions.extend(s for s in open_sessions.values() if s is not None)
    return folded.visits, sessions
