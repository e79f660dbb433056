"""Correct under concurrency: one hall's commands serialise across pools and processes."""

from __future__ import annotations

import asyncio
import collections
import secrets
from pathlib import Path

import aiohttp
import asyncpg

from queue_server.adapters import accounts, store
from queue_server.config import load_config
from queue_server.main import queue_service
from queue_server.service.principal import Principal
from queue_server.web.commands import window_command
from tests.support.configs import load_toml
from tests.support.hall import FAST_HASHER, FakeClock, prepare_database
from tests.support.servers import ServerProcess

WINDOWS = 50


def _write_config(tmp_path: Path, halls: int = 1, windows: int = WINDOWS) -> Path:
    path = tmp_path / "load.toml"
    path.write_text(load_toml(halls=halls, windows=windows), encoding="utf-8")
    return path


async def _add_staff(dsn: str, count: int, hall: str = "h00") -> None:
    digest = FAST_HASHER.hash("secret-pass-1")  # cheap parameters: sign-in is not under test
    conn = await asyncpg.connect(dsn)
    try:
        for i in range(count):
            await accounts.add_staff(conn, staff_id=f"s{i:03d}", hall=hall, name=f"窗口员{i}",
                                     role="staff", password_hash=digest)
    finally:
        await conn.close()


def _staff(i: int) -> Principal:
    return Principal("staff", f"s{i:03d}", f"窗口员{i}", "staff", "h00")


async def test_fifty_windows_through_two_pools_never_share_a_ticket(fresh_db, tmp_path):
    config = load_config(_write_config(tmp_path), env={})
    await prepare_database(fresh_db, config)
    clock = FakeClock()
    pools = [await store.create_pool(fresh_db, min_size=5, max_size=10) for _ in range(2)]
    services = [queue_service(config, p, clock=clock, ignore_hours=True) for p in pools]
    try:
        kiosk = Principal("device", "K01", "K01", "kiosk", "h00")
        issued = await asyncio.gather(*[
            services[i % 2].issue("h00", kiosk, service="ABCD"[i % 4], priority=None,
                                  priority_reason=None, channel="kiosk", key=None)
            for i in range(120)
        ])
        numbers = [body["number"] for _, body in issued]
        assert len(set(numbers)) == 120, "a number was issued twice"
        for w in range(1, WINDOWS + 1):
            await services[w % 2].run("h00", window_command("open", w, {}), _staff(w), key=None)
        calls = await asyncio.gather(*[
            services[w % 2].run("h00", window_command("call-next", w, {}), _staff(w), key=None)
            for w in range(1, WINDOWS + 1)
        ])
        called = [body["ticket"]["number"] for _, body in calls]
        assert len(called) == WINDOWS and None not in called
        assert len(set(called)) == WINDOWS, f"a ticket went to two windows: {collections.Counter(called).most_common(3)}"
        # Each called ticket is the longest-waiting at the time: the first 50 issued per service order.
        conn = await asyncpg.connect(fresh_db)
        try:
            rows = await conn.fetch("SELECT ticket_id, window_no FROM ledger WHERE kind = 'ticket_called'")
            assert len(rows) == WINDOWS
            assert len({r["ticket_id"] for r in rows}) == WINDOWS
            current = await conn.fetch("SELECT current_ticket FROM windows WHERE hall = 'h00' AND current_ticket IS NOT NULL")
            assert len({r["current_ticket"] for r in current}) == WINDOWS
        finally:
            await conn.close()
    finally:
        for p in pools:
            await p.close()


async def test_two_server_processes_serialise_issuing_and_calling(fresh_db, tmp_path):
    config_path = _write_config(tmp_path)
    config = load_config(config_path, env={})
    await prepare_database(fresh_db, config)
    await _add_staff(fresh_db, WINDOWS + 1)
    servers = [ServerProcess(config_path, database_url=fresh_db, log_dir=tmp_path).start() for _ in range(2)]
    try:
        async with aiohttp.ClientSession() as http:
            async def login(i: int) -> str:
                url = servers[i % 2].url + "/api/v1/auth/login"
                async with http.post(url, json={"staff_id": f"s{i:03d}", "password": "secret-pass-1"}) as r:
                    assert r.status == 200, await r.text()
                    return (await r.json())["token"]

            logins = await asyncio.gather(*(login(w) for w in range(1, WINDOWS + 1)))
            tokens = dict(zip(range(1, WINDOWS + 1), logins, strict=True))

            async def post(server: int, path: str, token: str, body: dict | None = None, key: str | None = None):
                headers = {"Authorization": f"Bearer {token}"}
                if key:
                    headers["Idempotency-Key"] = key
                async with http.post(servers[server].url + path, json=body or {}, headers=headers) as r:
                    return r.status, await r.json()

            for w in range(1, WINDOWS + 1):
                status, body = await post(w % 2, f"/api/v1/halls/h00/windows/{w}/open", tokens[w])
                assert status == 200, body
            issued = await asyncio.gather(*[
                post(i % 2, "/api/v1/halls/h00/tickets", tokens[1 + i % WINDOWS], {"service": "ABCD"[i % 4]})
                for i in range(200)
            ])
            assert all(s == 201 for s, _ in issued), [b for s, b in issued if s != 201][:3]
            numbers = [b["number"] for _, b in issued]
            assert len(set(numbers)) == 200
            for prefix in "ABCD":
                seqs = sorted(int(n[1:]) for n in numbers if n[0] == prefix)
                assert seqs == list(range(1, 51)), f"numbers of {prefix} are not dense: {seqs}"

            seen: list[str] = []
            for _round in range(3):
                results = await asyncio.gather(*[
                    post(w % 2, f"/api/v1/halls/h00/windows/{w}/call-next", tokens[w], key=secrets.token_hex(8))
                    for w in range(1, WINDOWS + 1)
                ])
                assert all(s == 200 for s, _ in results), [b for s, b in results if s != 200][:3]
                called = [b["ticket"]["number"] for _, b in results if b["ticket"]]
                seen.extend(called)
                await asyncio.gather(*[
                    post(w % 2, f"/api/v1/halls/h00/windows/{w}/start", tokens[w]) for w in range(1, WINDOWS + 1)
                    if results[w - 1][1]["ticket"]
                ])
                await asyncio.gather(*[
                    post(w % 2, f"/api/v1/halls/h00/windows/{w}/finish", tokens[w]) for w in range(1, WINDOWS + 1)
                    if results[w - 1][1]["ticket"]
                ])
            assert len(seen) == 150
            assert len(set(seen)) == 150, "a ticket was called by two windows"
            conn = await asyncpg.connect(fresh_db)
            try:
                finished = await conn.fetchval("SELECT count(*) FROM tickets WHERE status = 'finished'")
                seqs = [r["seq"] for r in await conn.fetch("SELECT seq FROM ledger WHERE hall = 'h00' ORDER BY seq")]
            finally:
                await conn.close()
            assert finished == 150
            assert seqs == list(range(1, len(seqs) + 1)), "the hall's ledger has a gap or a duplicate"
    finally:
        for s in servers:
            s.stop()


def _live_view(state) -> tuple:
    tickets = sorted((t.id, t.status.value, t.service, t.rank, t.calls, t.window)
                     for t in state.tickets.values() if t.status.value in ("waiting", "called", "serving", "missed", "suspended"))
    windows = sorted((w.number, w.status.value, w.current, w.staff.id if w.staff else None)
                     for w in state.windows.values())
    return tickets, windows, dict(state.counters)


async def test_a_process_catches_up_with_what_another_process_changed(fresh_db, tmp_path):
    """Commands alternating between two processes: each brings its cached hall up to date with
    the rows the other changed, and ends equal to a fresh read of the whole hall."""
    config = load_config(_write_config(tmp_path, windows=4), env={})
    await prepare_database(fresh_db, config)
    clock = FakeClock()
    pools = [await store.create_pool(fresh_db, min_size=1, max_size=2) for _ in range(2)]
    services = [queue_service(config, p, clock=clock, ignore_hours=True) for p in pools]
    kiosk = Principal("device", "K01", "K01", "kiosk", "h00")
    try:
        step = 0

        async def run(coro_factory):
            nonlocal step
            await coro_factory(services[step % 2])
            step += 1

        for i in range(6):
            await run(lambda s, i=i: s.issue("h00", kiosk, service="AB"[i % 2], priority=None,
                                             priority_reason=None, channel="kiosk", key=None))
        for w in (1, 2):
            await run(lambda s, w=w: s.run("h00", window_command("open", w, {}), _staff(w), key=None))
        for action in ("call-next", "start", "finish", "call-next"):
            for w in (1, 2):
                await run(lambda s, w=w, a=action: s.run("h00", window_command(a, w, {}), _staff(w)))
        await run(lambda s: s.issue("h00", kiosk, service="C", priority=None, priority_reason=None,
                                    channel="kiosk", key=None))
        # One more command through each, so both caches are brought up to date.
        await services[0].run("h00", window_command("open", 3, {}), _staff(3), key=None)
        await services[1].run("h00", window_command("pause", 3, {"reason": "午休"}), _staff(3), key=None)
        async with pools[0].acquire() as conn:
            head = await store.read_head(conn, "h00")
            fresh = await store.load_state(conn, config.halls["h00"], services[0].today())
        for s in services:
            seq, _day, cached = s._cache["h00"]
            if seq < head.seq:
                async with pools[0].acquire() as conn:
                    await store.refresh_state(conn, cached, seq)
            assert _live_view(cached) == _live_view(fresh)
            assert [t.id for t in cached.waiting()] == [t.id for t in fresh.waiting()]
    finally:
        for p in pools:
            await p.close()
