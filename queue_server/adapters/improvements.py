"""PostgreSQL storage of improvement actions (整改)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from .rows import fetch_dict, fetch_dicts

#: source kind → how to tell that the source exists in the hall (None: no source record)
_SOURCE_QUERIES: dict[str, str] = {
    "follow_up": "SELECT EXISTS (SELECT 1 FROM follow_ups WHERE id = $1 AND hall = $2)",
    "complaint": "SELECT EXISTS (SELECT 1 FROM complaints WHERE id = $1 AND hall = $2)",
    # a survey finding: the campaign (满意度调查) whose results showed it
    "survey": "SELECT EXISTS (SELECT 1 FROM survey_campaigns WHERE id = $1 AND hall = $2)",
}


async def improvement(conn: asyncpg.Connection, improvement_id: str) -> dict[str, Any] | None:
    return await fetch_dict(conn, "SELECT * FROM improvements WHERE id = $1", improvement_id)


async def improvements(
    conn: asyncpg.Connection, hall: str, state: str | None, since: datetime | None = None,
) -> list[dict[str, Any]]:
    return await fetch_dicts(
        conn,
        "SELECT * FROM improvements WHERE hall = $1 AND ($2::text IS NULL OR state = $2)"
        " AND ($3::timestamptz IS NULL OR created_at >= $3 OR state <> 'verified' OR verified_at >= $3)"
        " ORDER BY created_at DESC, id LIMIT 500",
        hall, state, since,
    )


async def source_exists(conn: asyncpg.Connection, kind: str, source_id: str, hall: str) -> bool | None:
    """Whether the source record exists in the hall; None when the kind has no table to look in."""
    query = _SOURCE_QUERIES.get(kind)
    if query is None:
        return None
    return bool(await conn.fetchval(query, source_id, hall))


async def active_staff(conn: asyncpg.Connection, staff_id: str, hall: str) -> dict[str, Any] | None:
    """A staff account that may own an action in the hall: active, of the hall (or an admin)."""
    return await fetch_dict(
        conn,
        "SELECT id, name, role, hall FROM staff WHERE id = $1 AND active AND (hall = $2 OR hall IS NULL)",
        staff_id, hall,
    )


async def staff_names(conn: asyncpg.Connection, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = await conn.fetch("SELECT id, name FROM staff WHERE id = ANY($1::text[])", sorted(ids))
    return {r["id"]: r["name"] for r in rows}


async def month_actions(conn: asyncpg.Connection, halls: list[str], first: datetime,
                        end: datetime) -> list[dict[str, Any]]:
    """Actions of the halls opened before `end` and not verified before `first`: what the month's
    report lists (opened, worked on or verified in the month, or still open)."""
    return await fetch_dicts(
        conn,
        "SELECT * FROM improvements WHERE hall = ANY($1::text[]) AND created_at < $3"
        " AND (verified_at IS NULL OR verified_at >= $2) ORDER BY hall, created_at, id",
        halls, first, end,
    )


class PostgresImprovementStore:
    """The service's ImprovementStore port (service/ports.py) on PostgreSQL."""

    improvement = staticmethod(improvement)
    improvements = staticmethod(improvements)
    source_exists = staticmethod(source_exists)
    active_staff = staticmethod(active_staff)
    month_actions = staticmethod(month_actions)
    staff_names = staticmethod(staff_names)
