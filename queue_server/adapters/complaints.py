"""PostgreSQL reads of complaints (投诉); the writes are typed writes of the hall's transaction
(adapters/writes.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from .improvements import active_staff, staff_names
from .rows import fetch_dict, fetch_dicts


async def complaint(conn: asyncpg.Connection, complaint_id: str) -> dict[str, Any] | None:
    return await fetch_dict(conn, "SELECT * FROM complaints WHERE id = $1", complaint_id)


async def complaint_by_secret(conn: asyncpg.Connection, secret: str) -> dict[str, Any] | None:
    return await fetch_dict(conn, "SELECT * FROM complaints WHERE secret = $1", secret)


async def complaints(conn: asyncpg.Connection, hall: str, state: str | None) -> list[dict[str, Any]]:
    """The hall's complaints, open ones first by due, then the closed newest first."""
    return await fetch_dicts(
        conn,
        "SELECT * FROM complaints WHERE hall = $1 AND ($2::text IS NULL OR state = $2)"
        " ORDER BY closed_at IS NOT NULL, due NULLS LAST, created_at DESC, id LIMIT 500",
        hall, state,
    )


async def erasable(conn: asyncpg.Connection, hall: str, closed_before: datetime) -> list[str]:
    """Complaints of the hall closed before `closed_before` that still hold a contact."""
    rows = await conn.fetch(
        "SELECT id FROM complaints WHERE hall = $1 AND contact IS NOT NULL AND closed_at < $2 ORDER BY id",
        hall, closed_before)
    return [r["id"] for r in rows]


async def overdue_complaints(conn: asyncpg.Connection, hall: str, now: datetime) -> list[dict[str, Any]]:
    """Open complaints of the hall whose current step is past its deadline."""
    return await fetch_dicts(
        conn,
        "SELECT id, state, due, category, window_no, staff_id FROM complaints"
        " WHERE hall = $1 AND closed_at IS NULL AND due < $2 ORDER BY due, id",
        hall, now)


class PostgresComplaintStore:
    """The service's ComplaintStore port (service/ports.py) on PostgreSQL."""

    complaint = staticmethod(complaint)
    complaint_by_secret = staticmethod(complaint_by_secret)
    complaints = staticmethod(complaints)
    erasable = staticmethod(erasable)
    active_staff = staticmethod(active_staff)
    staff_names = staticmethod(staff_names)
