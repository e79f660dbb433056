"""Query helpers that hand the service plain dicts rather than asyncpg records."""

from __future__ import annotations

from typing import Any

import asyncpg


async def fetch_dicts(conn: asyncpg.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Every row of `sql` as a dict, in the query's order."""
    return [dict(r) for r in await conn.fetch(sql, *args)]


async def fetch_dict(conn: asyncpg.Connection, sql: str, *args: Any) -> dict[str, Any] | None:
    """The first row of `sql` as a dict; None when there is none."""
    r = await conn.fetchrow(sql, *args)
    return dict(r) if r is not None else None
