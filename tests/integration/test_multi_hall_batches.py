"""Issue 14: halls whose commands wait for a lane share one transaction, and nothing else.

Each hall keeps its own row lock, state and ledger chain inside the shared transaction; a hall
whose command fails the transaction is run again on its own, so it never fails another hall."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from queue_server.adapters import store
from queue_server.config import load_config
from queue_server.domain.errors import InvalidInput, Unavailable
from queue_server.domain.ledger import verify_chain
from queue_server.domain.model import SYSTEM, Event
from queue_server.main import queue_service
from queue_server.service.principal import Principal
from queue_server.service.queue import Outcome
from queue_server.web.commands import window_command
from tests.support.configs import load_toml
from tests.support.hall import FakeClock, prepare_database

HALLS = [f"h{h:02d}" for h in range(6)]


def _kiosk(hall: str) -> Principal:
    return Principal("device", f"K-{hall}", "K01", "kiosk", hall)


def _clerk(hall: str) -> Principal:
    return Principal("staff", f"s-{hall}", "窗口员", "staff", hall)


def _issue(svc, hall: str, service: str = "A"):
    return svc.issue(hall, _kiosk(hall), service=service, priority=None, priority_reason=None,
                     channel="kiosk", key=None)


@pytest.fixture
async def config(fresh_db, tmp_path: Path):
    path = tmp_path / "halls.toml"
    path.write_text(load_toml(halls=len(HALLS), windows=2), encoding="utf-8")
    cfg = load_config(path, env={})
    await prepare_database(fresh_db, cfg)
    return cfg


async def _ledgers(pool) -> dict[str, list]:
    async with pool.acquire() as conn:  # the pool's connections decode jsonb as the verifier does
        return {hall: await store.ledger_rows(conn, hall, 0, 10_000) for hall in HALLS}


def _assert_each_chain_whole(ledgers: dict[str, list]) -> None:
    for hall, rows in ledgers.items():
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1)), f"{hall}: a gap or a duplicate"
        assert verify_chain(hall, rows) is None, f"{hall}: the chain does not verify"


async def test_halls_waiting_for_the_one_lane_share_a_transaction_and_keep_their_own_chains(fresh_db, config):
    pool = await store.create_pool(fresh_db, min_size=1, max_size=4)
    svc = queue_service(config, pool, clock=FakeClock(), ignore_hours=True, lanes=1)
    try:
        before = svc.batches
        results = await asyncio.gather(*[_issue(svc, hall) for _ in range(3) for hall in HALLS])
        transactions = svc.batches - before
        # The first command takes the lane alone; everything queued behind it goes together.
        assert transactions < len(HALLS), f"{transactions} transactions for {len(HALLS)} halls: no merging"
        by_hall: dict[str, list[str]] = {}
        for i, res in enumerate(results):
            by_hall.setdefault(HALLS[i % len(HALLS)], []).append(res.body["number"])
        assert by_hall == {hall: ["A001", "A002", "A003"] for hall in HALLS}
        ledgers = await _ledgers(pool)
        assert {hall: len(rows) for hall, rows in ledgers.items()} == {hall: 3 for hall in HALLS}
        _assert_each_chain_whole(ledgers)
        # Each hall's head is its own last row, not another hall's.
        conn = await asyncpg.connect(fresh_db)
        try:
            heads = {r["id"]: (r["seq"], bytes(r["head_hash"])) for r in await conn.fetch("SELECT id, seq, head_hash FROM halls")}
        finally:
            await conn.close()
        assert heads == {hall: (3, ledgers[hall][-1].hash) for hall in HALLS}
    finally:
        await svc.close()
        await pool.close()


async def test_a_command_the_database_refuses_fails_alone_and_the_other_halls_commit(fresh_db, config):
    pool = await store.create_pool(fresh_db, min_size=1, max_size=4)
    svc = queue_service(config, pool, clock=FakeClock(), ignore_hours=True, lanes=1)
    try:
        async def division_by_zero(conn, now):  # a read under the lock the database refuses
            await conn.fetchval("SELECT 1 / 0")

        def note(state, now):
            return Outcome({}, [(Event("note_recorded", None, None, {"text": "备注"}), None)])

        blocker = _issue(svc, "h00")  # holds the lane, so the rest queue up and merge
        bad = svc.execute("h03", note, SYSTEM, prepare=division_by_zero)
        good = [_issue(svc, hall) for hall in HALLS]
        before = svc.batches
        results = await asyncio.gather(blocker, bad, *good, return_exceptions=True)
        assert isinstance(results[1], InvalidInput) and results[1].code == "input.refused_by_database"
        assert [r.body["number"] for r in results[2:]] == ["A002"] + ["A001"] * (len(HALLS) - 1)
        assert svc.batches - before > 2, "the shared transaction was not run again hall by hall"
        ledgers = await _ledgers(pool)
        assert all(r.kind != "note_recorded" for rows in ledgers.values() for r in rows)
        assert {hall: len(rows) for hall, rows in ledgers.items()} == {
            hall: 2 if hall == "h00" else 1 for hall in HALLS}
        _assert_each_chain_whole(ledgers)
    finally:
        await svc.close()
        await pool.close()


async def test_two_processes_merging_the_same_halls_in_different_batches_neither_deadlock_nor_break_a_chain(
    fresh_db, config,
):
    pools = [await store.create_pool(fresh_db, min_size=2, max_size=4) for _ in range(2)]
    clock = FakeClock()
    services = [queue_service(config, p, clock=clock, ignore_hours=True, lanes=2) for p in pools]
    try:
        for hall in HALLS:
            await services[0].run(hall, window_command("open", 1, {}), _clerk(hall))
        for round_ in range(4):
            commands = []
            for i in range(10):
                for n, hall in enumerate(reversed(HALLS) if round_ % 2 else HALLS):
                    commands.append(_issue(services[(i + n) % 2], hall, "ABCD"[i % 4]))
            results = await asyncio.gather(*commands)
            assert all(r.created for r in results)
            calls = await asyncio.gather(*[
                services[(n + round_) % 2].run(hall, window_command("call-next", 1, {}), _clerk(hall))
                for n, hall in enumerate(HALLS)
            ])
            assert all(c.body["ticket"] for c in calls)
            await asyncio.gather(*[
                services[(n + round_ + 1) % 2].run(hall, window_command(action, 1, {}), _clerk(hall))
                for n, hall in enumerate(HALLS) for action in ("start",)
            ])
            await asyncio.gather(*[
                services[n % 2].run(hall, window_command("finish", 1, {}), _clerk(hall))
                for n, hall in enumerate(HALLS)
            ])
        ledgers = await _ledgers(pools[0])
        _assert_each_chain_whole(ledgers)
        for hall, rows in ledgers.items():
            numbers = sorted(r.ticket_number for r in rows if r.kind == "ticket_issued")
            assert len(numbers) == 40 and len(set(numbers)) == 40, f"{hall}: a number issued twice"
            assert sum(r.kind == "ticket_finished" for r in rows) == 4
        assert sum(s.batches for s in services) < 2 * len(HALLS) * 7, "no batch was ever shared"
    finally:
        for s in services:
            await s.close()
        for p in pools:
            await p.close()


async def test_a_database_cut_during_a_shared_batch_fails_every_hall_cleanly_and_nothing_half_written(
    fresh_db, config,
):
    from tests.support.tcp_proxy import TcpProxy

    proxy = TcpProxy.for_dsn(fresh_db)
    await proxy.start()
    pool = await store.create_pool(proxy.dsn_through(fresh_db), min_size=1, max_size=4, command_timeout=1.0)
    svc = queue_service(config, pool, clock=FakeClock(), ignore_hours=True, lanes=1)
    reader = await store.create_pool(fresh_db, min_size=1, max_size=1)  # around the proxy
    try:
        await asyncio.gather(*[_issue(svc, hall) for hall in HALLS])  # every hall's state cached

        async def cut_now(conn, now):  # the batch holding the lane: the network goes here
            proxy.cut()

        def note(state, now):
            return Outcome({}, [(Event("note_recorded", None, None, {"text": "备注"}), None)])

        blocker = svc.execute("h00", note, SYSTEM, prepare=cut_now)
        merged = [_issue(svc, hall) for hall in HALLS]  # wait for the lane, then go together
        started = asyncio.get_running_loop().time()
        results = await asyncio.gather(blocker, *merged, return_exceptions=True)
        assert all(isinstance(r, Unavailable) for r in results), results
        assert asyncio.get_running_loop().time() - started < 15, "a cut database failed them slowly"
        ledgers = await _ledgers(reader)
        assert {hall: len(rows) for hall, rows in ledgers.items()} == {hall: 1 for hall in HALLS}
        proxy.restore()
        again = await asyncio.gather(*[_issue(svc, hall) for hall in HALLS])
        assert [r.body["number"] for r in again] == ["A002"] * len(HALLS), "a number was used by the cut batch"
        ledgers = await _ledgers(reader)
        _assert_each_chain_whole(ledgers)
        assert {hall: len(rows) for hall, rows in ledgers.items()} == {hall: 2 for hall in HALLS}
    finally:
        proxy.restore()
        await svc.close()
        await pool.close()
        await reader.close()
        await proxy.close()
