"""The server anchors every hall's ledger head when a business day closes."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer

from queue_server.adapters import anchors as anchor_files
from queue_server.adapters import store
from queue_server.main import anchorer, check_anchor_log, create_app, verify_hall
from tests.support.hall import FAST_HASHER, FakeClock, Hall, prepare_database, sample_config


async def _wait_for_lines(path, count: int, within: float = 10.0) -> list:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists():
            entries = anchor_files.read_log(path)
            if len(entries) >= count:
                return entries
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {count} anchors in {path} within {within} s")


async def test_the_close_of_a_business_day_anchors_every_halls_head(fresh_db, tmp_path):
    config = sample_config()
    await prepare_database(fresh_db, config)
    key = anchor_files.load_or_create_key(tmp_path / "anchor-key.pem")
    log = tmp_path / "anchors.jsonl"
    clock = FakeClock()
    app = create_app(
        config, dsn=fresh_db, clock=clock, redis_url="", password_hasher=FAST_HASHER,
        anchorer=anchorer(key, log), anchor_poll_seconds=0.05,
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        h = Hall(client, config, clock, fresh_db)
        await h.add_device("K01", role="kiosk")
        await h.issue("A")
        await h.issue("B")
        await asyncio.sleep(0.3)  # several polls within the same business day
        assert not log.exists(), "nothing is anchored while the day is open"

        clock.advance(timedelta(days=1).total_seconds())  # Monday closes, Tuesday begins
        entries = await _wait_for_lines(log, len(config.halls))
        anchors = [e for _, e in entries]
        assert {a.anchor.hall for a in anchors} == set(config.halls)
        assert {a.anchor.reason for a in anchors} == {"day-close 2026-11-30"}
        gongshu = next(a.anchor for a in anchors if a.anchor.hall == "gongshu")
        async with app_pool(fresh_db) as pool, pool.acquire() as conn:
            head = await store.read_head(conn, "gongshu")
        assert (gongshu.seq, gongshu.head_hash) == (2, bytes(head.head_hash))

        await asyncio.sleep(0.3)
        assert len(anchor_files.read_log(log)) == len(config.halls), "one anchor per hall per day"
        await h.issue("A")  # Tuesday goes on; Monday's anchor still agrees with the ledger
    finally:
        await client.close()

    by_hall, problems = check_anchor_log(anchor_files.read_log(log), key.public_key(), list(config.halls))
    assert problems == []
    async with app_pool(fresh_db) as pool:
        result = await verify_hall(pool, "gongshu", by_hall["gongshu"])
    assert result.ok and "1 anchor(s) agree" in result.line, result.line


class app_pool:  # noqa: N801 - used as a context manager
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def __aenter__(self):
        self.pool = await store.create_pool(self.dsn, min_size=1, max_size=1)
        return self.pool

    async def __aexit__(self, *exc) -> None:
        await self.pool.close()
