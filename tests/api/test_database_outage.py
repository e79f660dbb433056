"""PostgreSQL cut or hung behind a real TCP proxy: every route answers 503 problem+json with
Retry-After within a bounded time, a token that cannot be checked is 503 (never 401), and
the same requests succeed again once the database is back, without restarting the app."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from queue_server.main import create_app
from queue_server.protocol import SUBPROTOCOL
from tests.support.hall import FAST_HASHER, FakeClock, Hall, prepare_database, sample_config
from tests.support.tcp_proxy import TcpProxy

COMMAND_TIMEOUT = 1.0
# What a request may take while the database is cut (it fails at once) or hung (it waits
# for the command timeout, plus the cancel and the rollback that the hold guard cuts short).
CUT_BOUND = COMMAND_TIMEOUT + 3.0
STALL_BOUND = 2 * COMMAND_TIMEOUT + 3.0


@dataclasses.dataclass
class Outage:
    hall: Hall
    proxy: TcpProxy


@pytest.fixture
async def outage(fresh_db: str) -> AsyncIterator[Outage]:
    """The app talking to PostgreSQL through a proxy the test controls; a 1 s command
    timeout; /healthz unhealthy after 1 s without the database."""
    config = dataclasses.replace(sample_config(), db_command_timeout=COMMAND_TIMEOUT)
    await prepare_database(fresh_db, config)
    proxy = TcpProxy.for_dsn(fresh_db)
    await proxy.start()
    clock = FakeClock()
    app = create_app(config, dsn=proxy.dsn_through(fresh_db), clock=clock, redis_url="",
                     password_hasher=FAST_HASHER, unhealthy_after=1.0, probe_interval=0.3)
    client = TestClient(TestServer(app))
    await client.start_server()
    hall = Hall(client, config, clock, fresh_db)  # the helpers' own writes go around the proxy
    try:
        yield Outage(hall, proxy)
    finally:
        proxy.restore()
        await client.close()
        await proxy.close()


async def _fresh_tokens(hall: Hall) -> dict[str, str]:
    """Tokens the app has never seen (so not in its token cache): each request must ask
    the database whether the token is valid."""
    await hall.add_device("K01", role="kiosk")
    await hall.add_device("D01", role="display")
    await hall.add_device("P01", role="printer", kiosk="K01")
    await hall.add_staff("1001", name="张三")  # signs in through the app: used for login later
    await hall.add_staff("9001", name="王经理", role="manager")
    return {"kiosk": hall.tokens["K01"], "display": hall.tokens["D01"], "clerk": hall.tokens["1001"],
            "printer": hall.tokens["P01"], "manager": hall.tokens["9001"]}


async def _sample(hall: Hall, tokens: dict[str, str]) -> dict[str, tuple[int, dict[str, str], Any, float]]:
    """One request per kind of route, concurrently: (status, headers, body, seconds)."""
    client = hall.client

    async def timed(name: str, method: str, path: str, **kw: Any) -> tuple[str, tuple[int, dict[str, str], Any, float]]:
        started = time.monotonic()
        async with client.request(method, path, **kw) as resp:
            body = await resp.json(content_type=None) if resp.content_type.endswith("json") else await resp.text()
            return name, (resp.status, dict(resp.headers), body, time.monotonic() - started)

    async def screen() -> tuple[str, tuple[int, dict[str, str], Any, float]]:
        started = time.monotonic()
        try:
            ws = await client.ws_connect(f"/ws/v1/halls/gongshu?token={tokens['display']}",
                                         protocols=(SUBPROTOCOL,))
        except aiohttp.WSServerHandshakeError as exc:
            return "screen", (exc.status, dict(exc.headers or {}), None, time.monotonic() - started)
        first = await ws.receive_json(timeout=10)
        await ws.close()
        return "screen", (101, {}, first, time.monotonic() - started)

    async def printer() -> tuple[str, tuple[int, dict[str, str], Any, float]]:
        started = time.monotonic()
        try:
            ws = await client.ws_connect(f"/ws/v1/printer?token={tokens['printer']}",
                                         protocols=(SUBPROTOCOL,))
        except aiohttp.WSServerHandshakeError as exc:
            return "printer", (exc.status, dict(exc.headers or {}), None, time.monotonic() - started)
        await ws.close()
        return "printer", (101, {}, None, time.monotonic() - started)

    bearer = lambda who: {"Authorization": f"Bearer {tokens[who]}"}  # noqa: E731
    results = await asyncio.gather(
        timed("queue", "GET", "/api/v1/halls/gongshu/queue"),
        timed("issue", "POST", "/api/v1/halls/gongshu/tickets", json={"service": "A"}, headers=bearer("kiosk")),
        timed("window", "POST", "/api/v1/halls/gongshu/windows/1/open", json={}, headers=bearer("clerk")),
        timed("login", "POST", "/api/v1/auth/login", json={"staff_id": "1001", "password": "secret-pass-1"}),
        timed("me", "GET", "/api/v1/auth/me", headers=bearer("clerk")),
        timed("stats", "GET", "/api/v1/stats?scope=hall:gongshu&by=window", headers=bearer("clerk")),
        timed("quality", "GET", "/api/v1/stats/quality?scope=hall:gongshu", headers=bearer("manager")),
        # what a screen asks when its socket will not open: "cannot check", never "pair again"
        timed("device-check", "GET", "/api/v1/halls/gongshu/device-check", headers=bearer("display")),
        timed("live", "GET", "/t/no-such-ticket-0000/live"),  # the phone's live feed
        screen(),
        printer(),
    )
    return dict(results)


def _assert_all_unavailable(results: dict[str, tuple[int, dict[str, str], Any, float]], bound: float) -> None:
    for name, (status, headers, body, seconds) in results.items():
        assert status == 503, (name, status, body)
        assert int(headers["Retry-After"]) >= 1, (name, headers)
        assert headers["Content-Type"].startswith("application/problem+json"), (name, headers)
        assert seconds < bound, f"{name} took {seconds:.1f} s with the database away (bound {bound} s)"


async def _assert_all_served(hall: Hall, tokens: dict[str, str]) -> None:
    results = await _sample(hall, tokens)
    statuses = {name: r[0] for name, r in results.items()}
    assert statuses == {"queue": 200, "issue": 201, "window": statuses["window"], "login": 200,
                        "me": 200, "stats": 200, "quality": 200, "device-check": 200, "live": 404,
                        "screen": 101, "printer": 101}, results
    assert statuses["window"] in (200, 409), results  # opened now, or already open
    assert results["screen"][2]["type"] == "snapshot"


async def _wait_for(check: Any, *, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.2)


async def test_a_cut_database_answers_503_with_retry_after_on_every_route_and_recovers(outage):
    hall, proxy = outage.hall, outage.proxy
    tokens = await _fresh_tokens(hall)
    kiosk_before = tokens["kiosk"]
    proxy.cut()
    # The clerk's token was cached at sign-in time? No: sign-in does not fill the cache, and
    # the cache lasts 5 s; wait it out so every token must be checked against the database.
    await asyncio.sleep(5.2)
    results = await _sample(hall, tokens)
    _assert_all_unavailable(results, CUT_BOUND)
    assert "Display token required" not in str(results["screen"])

    resp = await hall.client.get("/readyz")
    assert resp.status == 503 and resp.headers["Retry-After"]
    resp = await hall.client.get("/healthz")
    assert resp.status == 503, "the database has been away for longer than unhealthy_after"

    proxy.restore()
    await _wait_for(lambda: _ok(hall, "/healthz"), within=10)
    await _assert_all_served(hall, tokens)
    assert tokens["kiosk"] == kiosk_before
    assert (await hall.client.get("/readyz")).status == 200


async def test_a_hung_database_answers_503_within_the_command_timeout_and_recovers(outage):
    hall, proxy = outage.hall, outage.proxy
    tokens = await _fresh_tokens(hall)
    proxy.stall()
    await asyncio.sleep(5.2)  # the token cache (5 s) forgets: every token is checked again
    results = await _sample(hall, tokens)
    _assert_all_unavailable(results, STALL_BOUND)

    proxy.restore()
    await _wait_for(lambda: _ok(hall, "/readyz"), within=15)
    await _assert_all_served(hall, tokens)


async def _ok(hall: Hall, path: str) -> bool:
    async with hall.client.get(path) as resp:
        return resp.status == 200
