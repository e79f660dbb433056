"""Slow clients and floods (issue 8, point 9): read timeouts on a real server socket, and
per-address token buckets on the public routes."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from queue_server.config import Limits
from queue_server.main import create_app
from queue_server.web.limits import TokenBuckets, handler_args
from tests.api.checks import expect_problem
from tests.support.hall import FAST_HASHER, FakeClock, prepare_database, sample_config

SHORT = Limits(header_timeout_seconds=1.0, body_timeout_seconds=1.0)


@pytest.fixture
async def real_server(fresh_db: str) -> AsyncIterator[tuple[str, int]]:
    """The app behind aiohttp's own runner with the server's handler arguments, on a real
    port (what `queue-server serve` runs), with 1 s header and body timeouts."""
    config = dataclasses.replace(sample_config(), limits=SHORT)
    await prepare_database(fresh_db, config)
    app = create_app(config, dsn=fresh_db, clock=FakeClock(), redis_url="", password_hasher=FAST_HASHER)
    runner = web.AppRunner(app, **handler_args(config.limits))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield "127.0.0.1", port
    finally:
        await runner.cleanup()


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> tuple[bytes, float]:
    """What the server sent before closing, and after how long; fails if it stays open."""
    start = time.monotonic()
    async with asyncio.timeout(seconds):
        data = await reader.read()  # until EOF
    return data, time.monotonic() - start


async def test_a_client_that_sends_half_a_header_line_is_disconnected(real_server):
    reader, writer = await asyncio.open_connection(*real_server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Half: abc")
    await writer.drain()
    data, elapsed = await _closed_within(reader, 10)
    writer.close()
    assert data == b""
    assert elapsed >= 0.5, "closed for the timeout, not at once"


async def test_a_client_trickling_its_headers_is_disconnected_all_the_same(real_server):
    reader, writer = await asyncio.open_connection(*real_server)
    start = time.monotonic()
    request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200
    closed = False
    for byte in request:  # a byte every 0.1 s: never idle, never finished
        try:
            writer.write(bytes((byte,)))
            await writer.drain()
        except ConnectionError:
            closed = True
            break
        if reader.at_eof():
            closed = True
            break
        await asyncio.sleep(0.1)
        if time.monotonic() - start > 10:
            break
    if not closed:
        data, _ = await _closed_within(reader, 1)
        closed = data == b""
    writer.close()
    assert closed and time.monotonic() - start < 10


async def test_a_connection_that_sends_nothing_is_disconnected(real_server):
    reader, writer = await asyncio.open_connection(*real_server)
    data, _ = await _closed_within(reader, 10)
    writer.close()
    assert data == b""


async def test_a_body_that_never_finishes_is_answered_408_and_the_connection_closed(real_server):
    reader, writer = await asyncio.open_connection(*real_server)
    writer.write(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{\"staff_id\": "
    )
    await writer.drain()
    data, _ = await _closed_within(reader, 10)
    writer.close()
    assert data.startswith(b"HTTP/1.1 408 "), data[:200]
    assert b"application/problem+json" in data


async def test_a_complete_request_is_still_answered_on_the_guarded_server(real_server):
    host, port = real_server
    async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}/healthz") as resp:
        assert resp.status == 200


def _limited(**limits: int) -> object:
    return dataclasses.replace(sample_config(), limits=Limits(**limits))


async def _from_second_address(hall, method: str, path: str, **kwargs) -> aiohttp.ClientResponse:
    """The same request from 127.0.0.2 (the server trusts no proxy header)."""
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.request(method, str(hall.client.make_url(path)), **kwargs) as resp:
            await resp.read()
            return resp


async def test_a_burst_of_ticket_status_requests_is_429_for_that_address_only(make_hall):
    hall = await make_hall(config=_limited(ticket_status_per_minute=5))
    ticket = await hall.issue("A")
    path = f"/api/v1/tickets/{ticket.get('holder_secret') or ticket['id']}"
    for _ in range(5):
        resp = await hall.client.get(path)
        assert resp.status == 200, await resp.text()
    over = await hall.client.get(path)
    body = await expect_problem(over, 429)
    assert int(over.headers["Retry-After"]) >= 1
    assert "频繁" in body["detail"]
    other = await _from_second_address(hall, "GET", path)
    assert other.status == 200
    # Routes outside the public groups are not limited.
    assert (await hall.client.get("/api/v1/halls")).status == 200


async def test_a_burst_of_sign_ins_is_429_for_that_address_only(make_hall):
    hall = await make_hall(config=_limited(login_per_minute=3))
    for _ in range(2):  # the fixture's own sign-in took the first token
        await hall.client.post("/api/v1/auth/login", json={"staff_id": "1001", "password": "secret-pass-1"})
    over = await hall.client.post("/api/v1/auth/login", json={"staff_id": "1001", "password": "secret-pass-1"})
    await expect_problem(over, 429)
    assert "Retry-After" in over.headers
    other = await _from_second_address(
        hall, "POST", "/api/v1/auth/login", json={"staff_id": "1001", "password": "secret-pass-1"}
    )
    assert other.status == 200


async def test_a_burst_of_citizen_ratings_is_429(make_hall):
    hall = await make_hall(config=_limited(rating_per_minute=2))
    for _ in range(2):
        resp = await hall.client.post("/api/v1/tickets/no-such-ticket/rating", json={"level": "satisfied"})
        assert resp.status != 429
    over = await hall.client.post("/api/v1/tickets/no-such-ticket/rating", json={"level": "satisfied"})
    await expect_problem(over, 429)
    assert "Retry-After" in over.headers


async def test_a_burst_of_live_feed_connections_is_429_for_that_address_only(make_hall):
    hall = await make_hall(config=_limited(live_feed_per_minute=2))
    path = "/t/no-such-ticket-0000/live"
    for _ in range(2):
        resp = await hall.client.get(path)
        assert resp.status != 429
        resp.close()
    over = await hall.client.get(path)
    await expect_problem(over, 429)
    assert "Retry-After" in over.headers
    other = await _from_second_address(hall, "GET", path)
    assert other.status != 429


def test_a_bucket_refills_at_its_rate_and_memory_stays_bounded():
    now = [0.0]
    buckets = TokenBuckets(60, max_keys=100, clock=lambda: now[0])
    assert all(buckets.take("a") == 0 for _ in range(60))
    assert buckets.take("a") == pytest.approx(1.0)
    now[0] += 1.0
    assert buckets.take("a") == 0
    for i in range(1000):
        buckets.take(f"10.0.{i // 256}.{i % 256}")
    assert len(buckets) == 100
