"""Ledger rows written through the running server into PostgreSQL still hash to what is stored:
the jsonb codec (orjson since issue 9) round-trips every value exactly as the standard library
reads it, and the chain verifies with the same check `queue-server verify-ledger` runs."""

from __future__ import annotations

import hashlib
import json

import asyncpg

from queue_server.adapters import store
from queue_server.domain.ledger import canonical_json, genesis_hash
from queue_server.domain.model import Actor
from queue_server.main import verify_hall
from queue_server.web.keys import QUEUE

REASON = '重病家属陪同 👨‍👩‍👧 "急" \\ 号'
MESSAGE = '请稍候 😊 反斜杠 \\ 引号 " 结束'
NUMBERS = {"printer": "K01", "minutes": 12.0, "ratio": 0.1, "half": -0.5, "count": 3, "zero": 0,
           "big": 2**53 + 1, "flags": [True, False, None], "nested": {"名称": "拱墅", "list": [1, 1.0]}}


async def _write_a_day(hall) -> None:
    await hall.issue("A")
    await hall.issue("A", by="1001", priority="green", priority_reason=REASON)
    await hall.act(1, "open")
    await hall.act(1, "message", text=MESSAGE)
    await hall.act(1, "call-next")
    await hall.act(1, "start")
    await hall.act(1, "finish")
    await hall.act(1, "pause", reason="午休 🍵")
    await hall.client.app[QUEUE].record("gongshu", Actor("device", "K01", "K01", "kiosk"),
                                        "printer_status_changed", NUMBERS)


async def test_every_stored_row_hashes_to_its_canonical_json_and_the_chain_verifies(hall):
    await _write_a_day(hall)
    pool = await store.create_pool(hall.dsn, min_size=1, max_size=1)
    raw = await asyncpg.connect(hall.dsn)  # no codecs: jsonb comes back as the database's text
    try:
        async with pool.acquire() as conn:
            rows = await store.ledger_rows(conn, "gongshu")
        texts = await raw.fetch("SELECT seq, actor::text, payload::text, public::text FROM ledger"
                                " WHERE hall = 'gongshu' ORDER BY seq")
        verification = await verify_hall(pool, "gongshu")
    finally:
        await raw.close()
        await pool.close()

    assert len(rows) >= 10, [r.kind for r in rows]
    prev = genesis_hash("gongshu")
    for row, text in zip(rows, texts, strict=True):
        assert row.seq == text["seq"]
        assert row.prev_hash == prev, row.seq
        assert hashlib.sha256(prev + row.content().encode("utf-8")).digest() == row.hash, row.kind
        # orjson's decoding equals the standard library's, type for type (1 and 1.0 differ here)
        for column in ("actor", "payload", "public"):
            assert canonical_json(getattr(row, column)) == canonical_json(json.loads(text[column])), (
                row.kind, column)
        prev = row.hash
    assert verification.ok, verification.line
    assert verification.rows == len(rows)

    stored = "".join(row.content() for row in rows)
    for text in ("👨‍👩‍👧", "🍵", "😊", "午休", '\\"急\\"', "反斜杠 \\\\ 引号 \\\""):
        assert text in stored, text
    numbers = next(r.payload for r in rows if r.kind == "printer_status_changed" and "ratio" in r.payload)
    assert canonical_json(numbers) == canonical_json(NUMBERS)
    assert [type(numbers[k]) for k in ("minutes", "ratio", "count", "big")] == [float, float, int, int]
    assert [type(v) for v in numbers["nested"]["list"]] == [int, float]
