"""PostgreSQL storage of ratings (好差评) and their follow-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from .rows import fetch_dict, fetch_dicts

INSERT_RATING = (
    "INSERT INTO ratings (ticket_id, hall, window_no, staff_id, level, dimensions, labels, channel,"
    " device, rated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
INSERT_FOLLOW_UP = (
    "INSERT INTO follow_ups (id, hall, ticket_id, rating_id, owner, callback_due, rectify_due, created_at)"
    " SELECT $1, $2, $3, r.id, $4, $5, $6, $7 FROM ratings r WHERE r.ticket_id = $3"
)


async def rating_of(conn: asyncpg.Connection, ticket_id: str) -> dict[str, Any] | None:
    return await fetch_dict(conn, "SELECT * FROM ratings WHERE ticket_id = $1", ticket_id)


async def hall_manager(conn: asyncpg.Connection, hall: str) -> str | None:
    return await conn.fetchval(
        "SELECT id FROM staff WHERE hall = $1 AND role = 'manager' AND active ORDER BY created_at, id LIMIT 1",
        hall,
    )


async def last_finished_at_window(
    conn: asyncpg.Connection, hall: str, window: int, since: datetime
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT t.id, t.prefix, t.seq, t.service, t.finished_at, r.id IS NOT NULL AS rated"
        " FROM tickets t LEFT JOIN ratings r ON r.ticket_id = t.id"
        " WHERE t.hall = $1 AND t.window_no = $2 AND t.status = 'finished' AND t.finished_at >= $3"
        " ORDER BY t.finished_at DESC, t.seq DESC LIMIT 1",
        hall, window, since,
    )


async def follow_up(conn: asyncpg.Connection, follow_up_id: str) -> dict[str, Any] | None:
    return await fetch_dict(
        conn,
        "SELECT f.*, t.prefix, t.seq, r.window_no, r.staff_id, r.level, r.labels, r.rated_at"
        " FROM follow_ups f JOIN tickets t ON t.id = f.ticket_id JOIN ratings r ON r.id = f.rating_id"
        " WHERE f.id = $1",
        follow_up_id,
    )


async def follow_up_of_ticket(conn: asyncpg.Connection, ticket_id: str) -> dict[str, Any] | None:
    return await fetch_dict(conn, "SELECT * FROM follow_ups WHERE ticket_id = $1", ticket_id)


async def follow_ups(conn: asyncpg.Connection, hall: str, status: str | None) -> list[dict[str, Any]]:
    return await fetch_dicts(
        conn,
        "SELECT f.*, t.prefix, t.seq, r.window_no, r.staff_id, r.level, r.labels, r.rated_at"
        " FROM follow_ups f JOIN tickets t ON t.id = f.ticket_id JOIN ratings r ON r.id = f.rating_id"
        " WHERE f.hall = $1 AND ($2::text IS NULL OR f.status = $2) ORDER BY f.created_at DESC",
        hall, status,
    )


async def rate_follow_up(
    conn: asyncpg.Connection, ticket_id: str, level: int, now: datetime,
) -> dict[str, Any] | None:
    """Store the citizen's one follow-up rating; the follow-up's {id, hall}, None if not rateable."""
    return await fetch_dict(
        conn,
        "UPDATE follow_ups SET citizen_level = $2, citizen_rated_at = $3"
        " WHERE ticket_id = $1 AND citizen_level IS NULL AND status <> 'open' RETURNING id, hall",
        ticket_id, level, now,
    )


async def claim_follow_up_step(conn: asyncpg.Connection, follow_up_id: str, was: str, becomes: str) -> bool:
    row = await conn.fetchval(
        "UPDATE follow_ups SET status = $3 WHERE id = $1 AND status = $2 RETURNING id", follow_up_id, was, becomes)
    return row is not None


class PostgresRatingStore:
    """The service's RatingStore port (service/ports.py) on PostgreSQL: this module's queries."""

    rating_of = staticmethod(rating_of)
    hall_manager = staticmethod(hall_manager)
    last_finished_at_window = staticmethod(last_finished_at_window)
    follow_up = staticmethod(follow_up)
    follow_up_of_ticket = staticmethod(follow_up_of_ticket)
    follow_ups = staticmethod(follow_ups)
    claim_follow_up_step = staticmethod(claim_follow_up_step)
    rate_follow_up = staticmethod(rate_follow_up)
