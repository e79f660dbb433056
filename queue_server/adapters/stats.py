"""The performance-review projection in PostgreSQL: written with each batch, rebuilt from the ledger.

The rules are domain/review.py's; this module is their SQL. The visit upsert merges column by
column exactly as `review.merge_visit` does (first value wins / last non-null wins), so a
batch's patches may be applied in any grouping — one batch at a time by the server, thousands
of ledger rows at a time by `rebuild` — and give the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson

from ..domain import review
from ..domain.ledger import LedgerRow

_MERGE = ",\n        ".join(
    f"{c} = coalesce(stat_visits.{c}, EXCLUDED.{c})" if c in review.FIRST
    else f"{c} = coalesce(EXCLUDED.{c}, stat_visits.{c})" if c in review.LAST or c == "status"
    else f"{c} = EXCLUDED.{c}"
    for c in review.VISIT_COLUMNS if c != "ticket_id"
)
_COLUMNS = ", ".join(review.VISIT_COLUMNS)

#: The upsert of visit patches ($n: an array of stat_visit_patch), as a statement or a CTE body.
VISITS_UPSERT = f"""
    INSERT INTO stat_visits ({_COLUMNS}) SELECT {_COLUMNS} FROM unnest(${{n}}::stat_visit_patch[])
    ON CONFLICT (ticket_id) DO UPDATE SET
        {_MERGE}"""


def visits_upsert(n: int) -> str:
    return VISITS_UPSERT.replace("${n}", f"${n}")


def visit_records(patches: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(p.get(c) for c in review.VISIT_COLUMNS) for p in patches]


_FOLLOW_UP_UPDATE = {
    column: f"UPDATE stat_visits SET {column} = coalesce({column}, $2), last_seq = $3 WHERE follow_up = $1"
    for column in review.FOLLOW_UP_DONE.values()
}


async def project_rest(conn: asyncpg.Connection, batch: review.Folded, tz: ZoneInfo, day_starts: time,
                       open_sessions: dict[tuple[str, int], review.Session | None] | None = None) -> None:
    """Follow-up updates and window sessions of a batch (the visits went with the save).

    `open_sessions`: the windows' open sessions when the caller keeps them (rebuild); else
    each concerned window's open session is read from the table."""
    for p in batch.follow_ups:
        for column in review.FOLLOW_UP_DONE.values():
            if p.get(column) is not None:
                await conn.execute(_FOLLOW_UP_UPDATE[column], p["follow_up"], p[column], p["last_seq"])
    if not batch.window_rows:
        return
    cache = open_sessions if open_sessions is not None else {}
    if open_sessions is None:
        keys = {(r.hall, r.window) for r in batch.window_rows}
        for hall, window in keys:
            row = await conn.fetchrow(
                "SELECT * FROM stat_sessions WHERE hall = $1 AND window_no = $2 AND closed_at IS NULL"
                " ORDER BY opened_at DESC LIMIT 1", hall, window)
            cache[(hall, window)] = _session_from_row(row) if row else None
    touched: list[review.Session] = []
    for r in batch.window_rows:
        key = (r.hall, r.window)
        now_open, closed = review.fold_session(cache.get(key), r, tz, day_starts)
        cache[key] = now_open
        touched.extend(s for s in (closed, now_open) if s is not None)
    await save_sessions(conn, touched)


def _session_from_row(r: Any) -> review.Session:
    return review.Session(
        hall=r["hall"], window_no=r["window_no"], opened_at=r["opened_at"], business_day=r["business_day"],
        day_end=r["day_end"], staff_id=r["staff_id"], closed_at=r["closed_at"], pause_s=r["pause_s"],
        pause_count=r["pause_count"], paused_since=r["paused_since"],
    )


_SESSION_COLUMNS = ("hall", "window_no", "opened_at", "business_day", "day_end", "staff_id", "closed_at",
                    "pause_s", "pause_count", "paused_since")
_SAVE_SESSIONS = f"""
    INSERT INTO stat_sessions SELECT * FROM unnest($1::stat_sessions[])
    ON CONFLICT (hall, window_no, opened_at) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _SESSION_COLUMNS[3:])}"""


async def save_sessions(conn: asyncpg.Connection, sessions: Sequence[review.Session]) -> None:
    if not sessions:
        return
    latest: dict[tuple[str, int, Any], review.Session] = {}
    for s in sessions:  # one row per session, its latest state
        latest[(s.hall, s.window_no, s.opened_at)] = s
    await conn.execute(_SAVE_SESSIONS, [tuple(getattr(s, c) for c in _SESSION_COLUMNS) for s in latest.values()])


def _json(value: Any) -> Any:
    """jsonb as the pool's codec gives it, or as text on a connection without the codec."""
    return orjson.loads(value) if isinstance(value, str) else value


async def rebuild(conn: asyncpg.Connection, hall: str, tz: ZoneInfo, day_starts: time, *,
                  chunk: int = 20000) -> int:
    """Replace the hall's projection by one folded from its ledger alone; returns the rows read.

    Runs in the caller's transaction; the ledger is read in sequence order, `chunk` rows at a
    time, each chunk applied with the statements the server uses for a batch.

    It holds the hall's lock (the row every batch locks first) until the caller commits: a
    server writing the hall meanwhile waits rather than interleave rows the rebuild would not
    see or would delete. Run it while the hall is closed: a year takes minutes."""
    await conn.execute("SELECT 1 FROM halls WHERE id = $1 FOR UPDATE", hall)
    await conn.execute("DELETE FROM stat_visits WHERE hall = $1", hall)
    await conn.execute("DELETE FROM stat_sessions WHERE hall = $1", hall)
    # Visits of this hall with no issue row (cannot happen in a sound ledger) have hall NULL.
    open_sessions: dict[tuple[str, int], review.Session | None] = {}
    after, read = 0, 0
    upsert = visits_upsert(1)
    while True:
        records = await conn.fetch(
            "SELECT hall, seq, at, kind, actor, ticket_id, ticket_number, window_no, payload, public"
            " FROM ledger WHERE hall = $1 AND seq > $2 ORDER BY seq LIMIT $3", hall, after, chunk)
        if not records:
            # fresh planner statistics: a report over a rebuilt year otherwise plans for 10 rows
            await conn.execute("ANALYZE stat_visits, stat_sessions")
            return read
        rows = [LedgerRow(hall=r["hall"], seq=r["seq"], at=r["at"], kind=r["kind"], actor=_json(r["actor"]),
                          ticket_id=r["ticket_id"], ticket_number=r["ticket_number"], window=r["window_no"],
                          payload=_json(r["payload"]), public=_json(r["public"]), prev_hash=b"") for r in records]
        batch = review.fold_rows(rows, tz, day_starts)
        if batch.visits:
            await conn.execute(upsert, visit_records(batch.visits.values()))
        await project_rest(conn, batch, tz, day_starts, open_sessions)
        read += len(rows)
        after = rows[-1].seq
