"""PostgreSQL storage of print jobs and device states."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from .rows import fetch_dict, fetch_dicts

INSERT_JOB = (
    "INSERT INTO print_jobs (id, hall, kiosk, ticket_id, content, created_at, reprint_of)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)


async def printer_of_kiosk(conn: asyncpg.Connection, hall: str, kiosk: str) -> str | None:
    return await conn.fetchval(
        "SELECT name FROM devices WHERE hall = $1 AND role = 'printer' AND kiosk = $2"
        " AND revoked_at IS NULL ORDER BY id LIMIT 1",
        hall, kiosk,
    )


async def printable_jobs(
    conn: asyncpg.Connection, hall: str, kiosk: str, since: datetime, now: datetime, limit: int = 50,
) -> list[dict[str, Any]]:
    """The kiosk's jobs to print now: pending, created at or after `since` (older ones are
    left to expire), and their ticket still waiting. A pending job whose ticket no longer
    waits (called, served, cancelled, missed...) is cancelled in the same statement: it is
    never printed. A reprint is a new job, made by staff on purpose."""
    return await fetch_dicts(
        conn,
        "WITH gone AS (UPDATE print_jobs j SET status = 'cancelled', finished_at = $4,"
        " error = '票号已不在等候中，不再打印' FROM tickets t"
        " WHERE t.id = j.ticket_id AND j.hall = $1 AND j.kiosk = $2 AND j.status = 'pending'"
        " AND t.status <> 'waiting' RETURNING j.id)"
        " SELECT j.id, j.content, j.attempts, j.created_at FROM print_jobs j"
        " JOIN tickets t ON t.id = j.ticket_id"
        " WHERE j.hall = $1 AND j.kiosk = $2 AND j.status = 'pending' AND j.created_at >= $3"
        " AND t.status = 'waiting' ORDER BY j.created_at, j.id LIMIT $5",
        hall, kiosk, since, now, limit,
    )


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
        # The paper is out: that is recorded even if the job expired or its ticket was called
        # meanwhile (it was sent before); nothing is sent again either way.
        return await conn.fetchval(
            "UPDATE print_jobs SET status = 'printed', finished_at = $4, error = NULL,"
            " attempts = attempts + 1 WHERE id = $1 AND hall = $2 AND kiosk = $3"
            " RETURNING status",
            job_id, hall, kiosk, now,
        )
    # A failure keeps the job pending: it is printed when the printer is back.
    return await conn.fetchval(
        "UPDATE print_jobs SET attempts = attempts + 1, error = $4"
        " WHERE id = $1 AND hall = $2 AND kiosk = $3 AND status = 'pending' RETURNING status",
        job_id, hall, kiosk, error,
    )


async def job(conn: asyncpg.Connection, job_id: str) -> dict[str, Any] | None:
    return await fetch_dict(
        conn,
        "SELECT id, hall, kiosk, ticket_id, status, attempts, error, created_at, finished_at,"
        " reprint_of FROM print_jobs WHERE id = $1",
        job_id,
    )


async def halls_with_stale_jobs(conn: asyncpg.Connection, before: datetime) -> list[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT hall FROM print_jobs WHERE status = 'pending' AND created_at < $1", before
    )
    return [r["hall"] for r in rows]


async def expire_jobs(
    conn: asyncpg.Connection, hall: str, before: datetime, now: datetime, limit: int,
) -> list[dict[str, Any]]:
    """Expire up to `limit` of a hall's pending jobs created before `before`; the jobs
    expired, oldest first. Run inside the hall's command transaction: whoever comes next
    (another command of the batch, another process) finds them expired already."""
    rows = await fetch_dicts(
        conn,
        "UPDATE print_jobs SET status = 'expired', finished_at = $3 WHERE id IN ("
        " SELECT id FROM print_jobs WHERE hall = $1 AND status = 'pending' AND created_at < $2"
        " ORDER BY created_at, id LIMIT $4 FOR UPDATE)"
        " RETURNING id, kiosk, ticket_id, content->>'number' AS number, attempts, error, created_at",
        hall, before, now, limit,
    )
    return sorted(rows, key=lambda r: (r["created_at"], r["id"]))


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
    return await fetch_dicts(
        conn,
        "SELECT name, role, kiosk, status, updated_at FROM device_status WHERE hall = $1 ORDER BY name",
        hall,
    )


class PostgresPrintStore:
    """The service's PrintStore port (service/ports.py) on PostgreSQL: this module's queries."""

    printer_of_kiosk = staticmethod(printer_of_kiosk)
    printable_jobs = staticmethod(printable_jobs)
    mark_delivered = staticmethod(mark_delivered)
    record_result = staticmethod(record_result)
    job = staticmethod(job)
    halls_with_stale_jobs = staticmethod(halls_with_stale_jobs)
    expire_jobs = staticmethod(expire_jobs)
    save_device_status = staticmethod(save_device_status)
    device_statuses = staticmethod(device_statuses)
