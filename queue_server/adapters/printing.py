"""PostgreSQL storage of print jobs and device states."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

INSERT_JOB = (
    "INSERT INTO print_jobs (id, hall, kiosk, ticket_id, content, created_at, reprint_of)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)


def job_insert(
    job_id: str, hall: str, kiosk: str, ticket_id: str, content: dict[str, Any], now: datetime,
    reprint_of: str | None = None,
) -> tuple[str, tuple[Any, ...]]:
    return INSERT_JOB, (job_id, hall, kiosk, ticket_id, content, now, reprint_of)


async def printer_of_kiosk(conn: asyncpg.Connection, hall: str, kiosk: str) -> str | None:
    return await conn.fetchval(
        "SELECT name FROM devices WHERE hall = $1 AND role = 'printer' AND kiosk = $2"
        " AND revoked_at IS NULL ORDER BY id LIMIT 1",
        hall, kiosk,
    )


async def pending_jobs(conn: asyncpg.Connection, hall: str, kiosk: str, limit: int = 50) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT id, content, attempts, created_at FROM print_jobs"
        " WHERE hall = $1 AND kiosk = $2 AND status = 'pending' ORDER BY created_at, id LIMIT $3",
        hall, kiosk, limit,
    )
    return [dict(r) for r in rows]


async def mark_delivered(conn: asyncpg.Connection, ids: list[str], now: datetime) -> None:
    await conn.execute(
        "UPDATE print_jobs SET delivered_at = $2 WHERE id = ANY($1::text[]) AND delivered_at IS NULL",
        ids, now,
    )


async def record_result(
    conn: asyncpg.Connection, hall: str, kiosk: str, job_id: str, printed: bool, error: str | None,
    now: datetime,
) -> str | None:
    """Apply a printer's report; returns the job's status after it, None for an unknown job."""
    if printed:
        return await conn.fetchval(
            "UPDATE print_jobs SET status = 'printed', finished_at = $4, error = NULL,"
            " attempts = attempts + 1 WHERE id = $1 AND hall = $2 AND kiosk = $3"
            " AND status <> 'cancelled' RETURNING status",
            job_id, hall, kiosk, now,
        )
    # A failure keeps the job pending: it is printed when the printer is back.
    return await conn.fetchval(
        "UPDATE print_jobs SET attempts = attempts + 1, error = $4"
        " WHERE id = $1 AND hall = $2 AND kiosk = $3 AND status = 'pending' RETURNING status",
        job_id, hall, kiosk, error,
    )


async def job(conn: asyncpg.Connection, job_id: str) -> dict[str, Any] | None:
    r = await conn.fetchrow(
        "SELECT id, hall, kiosk, ticket_id, status, attempts, error, created_at, finished_at,"
        " reprint_of FROM print_jobs WHERE id = $1",
        job_id,
    )
    return dict(r) if r else None


async def overdue_jobs(conn: asyncpg.Connection, before: datetime, now: datetime) -> list[dict[str, Any]]:
    """Pending jobs older than `before` not reported yet; marks them reported (once, any process)."""
    rows = await conn.fetch(
        "UPDATE print_jobs SET overdue_reported_at = $2 WHERE status = 'pending'"
        " AND created_at < $1 AND overdue_reported_at IS NULL"
        " RETURNING id, hall, kiosk, ticket_id, content->>'number' AS number, attempts, error",
        before, now,
    )
    return [dict(r) for r in rows]


async def save_device_status(
    conn: asyncpg.Connection, hall: str, name: str, role: str, kiosk: str | None,
    status: dict[str, Any], now: datetime,
) -> dict[str, Any] | None:
    """Store a device's state; returns the previous state (None when it had none)."""
    previous = await conn.fetchval(
        "SELECT status FROM device_status WHERE hall = $1 AND name = $2", hall, name
    )
    await conn.execute(
        "INSERT INTO device_status (hall, name, role, kiosk, status, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hall, name) DO UPDATE SET"
        " status = EXCLUDED.status, updated_at = EXCLUDED.updated_at, kiosk = EXCLUDED.kiosk",
        hall, name, role, kiosk, status, now,
    )
    return previous


async def device_statuses(conn: asyncpg.Connection, hall: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT name, role, kiosk, status, updated_at FROM device_status WHERE hall = $1 ORDER BY name",
        hall,
    )
    return [dict(r) for r in rows]
