"""Bulk writes of a generated history (service/demo.py) with COPY, and the projection's rebuild."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import asyncpg

from ..service.demo import Chunk
from ..service.ports import HallHead
from . import stats
from .store import _ticket_args, _window_args

_TICKET_COLUMNS = [
    "id", "hall", "business_day", "prefix", "seq", "service", "issued_at", "rank", "channel", "priority",
    "priority_reason", "status", "window_no", "target_window", "calls", "first_called_at", "last_called_at",
    "started_at", "finished_at", "misses", "staff_id", "note", "changed_seq", "holder_secret",
]
_WINDOW_COLUMNS = [
    "hall", "number", "status", "staff_id", "staff_name", "photo_url", "stand_in_for", "pause_reason",
    "current_ticket", "since", "normal_streak", "message", "changed_seq",
]
_LEDGER_COLUMNS = [
    "hall", "seq", "at", "kind", "actor", "ticket_id", "ticket_number", "window_no", "payload", "public",
    "prev_hash", "hash",
]
_RATING_COLUMNS = [
    "id", "ticket_id", "hall", "window_no", "staff_id", "level", "dimensions", "labels", "channel", "device",
    "rated_at",
]
_FOLLOW_UP_COLUMNS = [
    "id", "hall", "ticket_id", "rating_id", "owner", "status", "callback_due", "rectify_due", "called_back_at",
    "rectified_at", "closed_at", "notes", "created_at",
]


class PostgresHistoryStore:
    """service/demo.HistoryStore on PostgreSQL: COPY in the caller's transaction."""

    def __init__(self) -> None:
        self._rating_ids: dict[str, int] = {}  # ticket -> rating id, of ratings with a follow-up

    async def lock_and_count(self, conn: asyncpg.Connection, hall: str) -> int:
        await conn.execute("SELECT 1 FROM halls WHERE id = $1 FOR UPDATE", hall)
        return int(await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM ledger WHERE hall = $1 LIMIT 1) AS any_row", hall))

    async def write(self, conn: asyncpg.Connection, chunk: Chunk) -> None:
        if chunk.tickets:
            await conn.copy_records_to_table(
                "tickets", columns=_TICKET_COLUMNS,
                records=[(*_ticket_args(t), seq, t.holder_secret) for t, seq in chunk.tickets])
        if chunk.ledger:
            await conn.copy_records_to_table(
                "ledger", columns=_LEDGER_COLUMNS,
                records=[(r.hall, r.seq, r.at, r.kind, r.actor, r.ticket_id, r.ticket_number, r.window,
                          r.payload, r.public, r.prev_hash, r.hash) for r in chunk.ledger])
        if chunk.ratings:
            ids = [r[0] for r in await conn.fetch(
                "SELECT nextval('ratings_id_seq') FROM generate_series(1, $1)", len(chunk.ratings))]
            for rating_id, r in zip(ids, chunk.ratings, strict=True):
                if r.level <= 2:
                    self._rating_ids[r.ticket_id] = rating_id
            await conn.copy_records_to_table(
                "ratings", columns=_RATING_COLUMNS,
                records=[(i, r.ticket_id, r.hall, r.window, r.staff_id, r.level, r.dimensions, r.labels,
                          r.channel, r.device, r.rated_at) for i, r in zip(ids, chunk.ratings, strict=True)])
        if chunk.follow_ups:
            await conn.copy_records_to_table(
                "follow_ups", columns=_FOLLOW_UP_COLUMNS,
                records=[(f.insert.follow_up_id, f.insert.hall, f.insert.ticket_id,
                          self._rating_ids[f.insert.ticket_id], f.insert.owner, f.status, f.insert.callback_due,
                          f.insert.rectify_due, f.called_back_at, f.rectified_at, f.closed_at, f.notes,
                          f.insert.created_at) for f in chunk.follow_ups])
        if chunk.counters:
            await conn.copy_records_to_table(
                "service_counters", columns=["hall", "business_day", "service", "last_seq"], records=chunk.counters)
        if chunk.windows:
            await conn.copy_records_to_table(
                "windows", columns=_WINDOW_COLUMNS,
                records=[(*_window_args(chunk.hall, w), seq) for w, seq in chunk.windows])

    async def set_head(self, conn: asyncpg.Connection, head: HallHead) -> None:
        await conn.execute("UPDATE halls SET seq = $2, head_hash = $3, business_day = $4 WHERE id = $1",
                           head.hall, head.seq, head.head_hash, head.business_day)

    async def rebuild_stats(self, conn: asyncpg.Connection, hall: str, tz: ZoneInfo,
                            day_starts: time) -> tuple[int, int, int]:
        return await rebuild_counted(conn, hall, tz, day_starts)


async def rebuild_counted(conn: asyncpg.Connection, hall: str, tz: ZoneInfo, day_starts: time) -> tuple[int, int, int]:
    """stats.rebuild of one hall: (ledger rows read, visits and sessions written)."""
    read = await stats.rebuild(conn, hall, tz, day_starts)
    visits = await conn.fetchval("SELECT count(*) FROM stat_visits WHERE hall = $1", hall)
    sessions = await conn.fetchval("SELECT count(*) FROM stat_sessions WHERE hall = $1", hall)
    return read, int(visits), int(sessions)
