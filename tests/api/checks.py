"""Assertions shared by the API tests: problem+json answers, the ledger and the tables."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from aiohttp import ClientResponse

from tests.support.hall import Hall

PROBLEM = "application/problem+json"


async def expect_problem(
    resp: ClientResponse,
    status: int,
    *,
    field: str | None = None,
    detail_has: str | tuple[str, ...] = (),
    code: str | None = None,
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and `field`, when given)."""
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == PROBLEM, (resp.content_type, text)
    body = json.loads(text)
    assert body["status"] == status, body
    for member in ("type", "title", "detail", "code"):
        assert isinstance(body.get(member), str) and body[member], body
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert body.get("field") == field, body
    for part in (detail_has,) if isinstance(detail_has, str) else detail_has:
        assert part in body["detail"], body
    return body


async def ok(resp: ClientResponse, status: int = 200) -> dict[str, Any]:
    text = await resp.text()
    assert resp.status == status, text
    assert resp.content_type == "application/json", resp.content_type
    return json.loads(text)


async def ledger(h: Hall, *, by: str = "1001", hall: str = "gongshu") -> list[dict[str, Any]]:
    """Every ledger row of the hall, read through the events endpoint."""
    rows: list[dict[str, Any]] = []
    after = 0
    while True:
        resp = await h.client.get(
            f"/api/v1/halls/{hall}/events",
            params={"after": after, "limit": 1000},
            headers=h.auth(by),
        )
        page = await ok(resp)
        rows.extend(page["events"])
        if not page["events"]:
            return rows
        after = page["next_after"]


async def fetch(h: Hall, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(h.dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def tables(h: Hall) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a command may write, to compare before and after a refused one."""
    return {
        "tickets": [tuple(r) for r in await fetch(h, "SELECT * FROM tickets ORDER BY id")],
        "windows": [
            tuple(r) for r in await fetch(h, "SELECT * FROM windows ORDER BY hall, number")
        ],
        "counters": [
            tuple(r) for r in await fetch(h, "SELECT * FROM service_counters ORDER BY 1, 2, 3")
        ],
        "ledger": [
            tuple(r) for r in await fetch(h, "SELECT hall, seq, hash FROM ledger ORDER BY 1, 2")
        ],
        "halls": [tuple(r) for r in await fetch(h, "SELECT * FROM halls ORDER BY id")],
        "idempotency": [
            tuple(r) for r in await fetch(h, "SELECT hall, key FROM idempotency ORDER BY 1, 2")
        ],
    }


async def post(
    h: Hall,
    path: str,
    *,
    by: str | None = "1001",
    key: str | None = None,
    json_body: Any = None,
    data: str | bytes | None = None,
) -> ClientResponse:
    headers: dict[str, str] = h.auth(by) if by else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    if data is not None:
        headers["Content-Type"] = "application/json"
        return await h.client.post(path, data=data, headers=headers)
    return await h.client.post(path, json=json_body, headers=headers)
