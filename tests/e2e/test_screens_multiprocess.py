"""Live screens across two real `queue-server serve` processes sharing one PostgreSQL
database and one Redis relay: a call through process A reaches a screen on process B; a call
made while Redis is down is not lost; the handshake refuses foreign tokens and clients that
do not speak `queue.v1`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from queue_server.protocol import Heartbeat, Resync, Snapshot
from tests.e2e.e2e_support import (
    CALL_KEYS,
    SAMPLE_CONFIG,
    Api,
    Screen,
    add_device_cli,
    add_staff_cli,
    comparable,
    dumps,
    ws_url,
)
from tests.support import services
from tests.support.hall import prepare_database, sample_config
from tests.support.servers import ServerProcess
from tests.support.services import RedisServer

UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


@dataclass
class Cluster:
    dsn: str
    redis: RedisServer
    a: ServerProcess
    b: ServerProcess
    display: str  # display D01 of gongshu
    kiosk: str  # kiosk K01 of gongshu
    foreign_display: str  # display D01 of hushu


@contextlib.contextmanager
def running_cluster(pg_dsn: str, log_dir: Path) -> Iterator[Cluster]:
    """A fresh database, a redis-server of our own (the relay's channel name is fixed, so a
    shared Redis would mix in other tests' halls) and two server processes A and B on them;
    clerks 1001 张三 and 1002 李四, a display and a kiosk of gongshu and a display of hushu,
    all added with the `queue-server` CLI."""
    with services.temporary_database(pg_dsn) as dsn:
        services.run_async(prepare_database(dsn, sample_config()))
        redis = RedisServer()
        redis.start()
        servers = [ServerProcess(SAMPLE_CONFIG, database_url=dsn, redis_url=redis.url,
                                 log_dir=log_dir) for _ in range(2)]
        try:
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                accounts = [
                    pool.submit(add_staff_cli, dsn, "1001", "张三"),
                    pool.submit(add_staff_cli, dsn, "1002", "李四"),
                    pool.submit(add_device_cli, dsn, "D01", "display"),
                    pool.submit(add_device_cli, dsn, "K01", "kiosk"),
                    pool.submit(add_device_cli, dsn, "D01", "display", "hushu"),
                ]
                started = [pool.submit(server.start) for server in servers]
                _, _, display, kiosk, foreign = (f.result() for f in accounts)
                for f in started:
                    f.result()
            yield Cluster(dsn, redis, servers[0], servers[1], display, kiosk, foreign)
        finally:
            for server in servers:
                server.stop()
            redis.close()


@pytest.fixture(scope="module")
def shared_cluster(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """For the tests that leave Redis alone."""
    with running_cluster(pg_dsn, tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def own_cluster(pg_dsn: str, tmp_path: Path) -> Iterator[Cluster]:
    """For a test that kills Redis."""
    with running_cluster(pg_dsn, tmp_path) as cluster:
        yield cluster


async def _synced(screen: Screen, api: Api, within: float = 3.0) -> int:
    """Wait until the screen has applied everything committed so far; that seq."""
    seq = (await api.queue())["seq"]
    await screen.until(lambda s: s.board.seq is not None and s.board.seq >= seq, within)
    return seq


async def _log_says(server: ServerProcess, text: str, within: float) -> None:
    """Wait until the server's log has `text` (it logs at INFO)."""
    for _ in range(int(within / 0.05)):
        if text in server.log():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the log of {server.url} does not say {text!r}:\n{server.log()}")


async def test_a_call_through_process_a_reaches_a_screen_on_process_b_within_a_second(
        shared_cluster: Cluster, http: aiohttp.ClientSession) -> None:
    cluster = shared_cluster
    loop = asyncio.get_running_loop()
    api_a, api_b = Api(http, cluster.a.url), Api(http, cluster.b.url)
    clerk = await api_a.login("1001")
    screen = await Screen.connect(http, cluster.b.url, cluster.display)
    try:
        await screen.until(lambda s: s.board.seq is not None, 5)
        first = screen.heard[0].message
        assert isinstance(first, Snapshot), first
        assert first.snapshot["hall"] == "gongshu"
        assert first.snapshot["name"] == "拱墅区行政服务中心"

        await api_a.issue("A", cluster.kiosk)
        await api_a.issue("A", cluster.kiosk)
        await api_a.act(1, "open", clerk)
        await _synced(screen, api_b)

        answer = await api_a.act(1, "call-next", clerk)
        answered = loop.time()
        assert answer["ticket"]["number"] == "A001"
        heard = await screen.until(lambda s: bool(s.events("ticket_called")), 1.0)
        assert heard - answered < 1.0

        called = screen.events("ticket_called")[0].message.event
        assert called["ticket"]["number"] == "A001"
        assert called["ticket"]["window"] == 1
        assert called["ticket"]["calls"] == 1
        assert called["window"]["number"] == 1
        assert called["window"]["current"]["number"] == "A001"
        assert called["window"]["staff"]["id"] == "1001"
        assert screen.board.snapshot["recent_calls"][0]["number"] == "A001"
        assert screen.board.snapshot["recent_calls"][0]["window"] == 1

        # Every event came live, in order: no resync was ever needed, and the board folded
        # from them is the server's snapshot (read through either process).
        assert screen.sent == []
        # An event the snapshot already covers may still come (it reached this process through
        # Redis after the snapshot was read); the screen ignores it, as screens.py says.
        applied = [h.message.seq for h in screen.events() if h.message.seq > first.seq]
        assert applied == list(range(first.seq + 1, first.seq + 1 + len(applied)))
        assert len(applied) >= 4  # issued, issued, opened, called: all after the snapshot
        snapshots = [await api.queue() for api in (api_a, api_b)]
        for snapshot in snapshots:
            assert snapshot["seq"] == screen.board.seq
            assert comparable(screen.board.snapshot, without=("recent_calls",)) == \
                comparable(snapshot, without=("recent_calls",)), dumps(
                {"board": screen.board.snapshot, "server": snapshot})
        # Last, on their own: the server's recent_calls must have the shape docs/protocol.md
        # gives them, one {number, service, window, calls, at} per ticket.
        for snapshot in snapshots:
            assert [set(c) for c in snapshot["recent_calls"]] == [CALL_KEYS], \
                dumps(snapshot["recent_calls"])
            assert snapshot["recent_calls"] == screen.board.snapshot["recent_calls"]
    finally:
        await screen.close()


async def test_a_call_made_while_redis_is_down_reaches_the_other_process_after_it_returns(
        own_cluster: Cluster, http: aiohttp.ClientSession) -> None:
    cluster = own_cluster
    loop = asyncio.get_running_loop()
    api_a, api_b = Api(http, cluster.a.url), Api(http, cluster.b.url)
    clerk = await api_a.login("1001")
    for _ in range(3):
        await api_a.issue("A", cluster.kiosk)
    await api_a.act(1, "open", clerk)
    on_a = await Screen.connect(http, cluster.a.url, cluster.display)
    on_b = await Screen.connect(http, cluster.b.url, cluster.display)
    try:
        before = await _synced(on_a, api_a)
        await _synced(on_b, api_b)

        await asyncio.to_thread(cluster.redis.kill)  # a crash: connections reset
        started = loop.time()
        answer = await api_a.act(1, "call-next", clerk)
        call_seconds = loop.time() - started
        assert answer["ticket"]["number"] == "A001"
        # Committed: the ledger has it, whatever happens to the announcement.
        committed = (await api_a.queue())["seq"]
        assert committed > before
        # A's own screens hear it at once (the relay falls back to the local hub) ...
        await on_a.until(lambda s: s.board.seq == committed, 4.0)
        await _log_says(cluster.a, "cannot publish", 5.0)
        # ... B's cannot yet: nothing carries it there while Redis is down.
        b_behind_while_down = on_b.board.seq < committed
        await asyncio.sleep(0.5)

        await asyncio.to_thread(cluster.redis.start)
        restarted = loop.time()
        # B's relay resubscribes and asks its screens to check their seq at once: a
        # heartbeat ahead of the board, a resync, the missed events, a confirming heartbeat.
        converged = await on_b.until(lambda s: s.board.seq == committed and s.board.synced,
                                     12.0)
        await _log_says(cluster.b, "is back; asking every screen to check its seq", 5.0)

        resyncs = [(t, m) for t, m in on_b.sent if isinstance(m, Resync)]
        assert resyncs, "the screen on B never asked for a resync"
        sent_at, resync = resyncs[0]
        ahead = [h for h in on_b.heartbeats()
                 if h.at <= sent_at and isinstance(h.message, Heartbeat)
                 and h.message.seq >= committed]
        assert ahead, f"no heartbeat ahead of the board before the resync: {on_b.heard}"
        assert resync.after < committed
        called = [h.message.event for h in on_b.events("ticket_called")]
        assert [c["ticket"]["number"] for c in called] == ["A001"]
        assert called[0]["ticket"]["window"] == 1
        assert on_b.board.snapshot["recent_calls"][0]["number"] == "A001"
        if b_behind_while_down:  # B's 10 s heartbeat may have fixed it earlier: fine too
            assert converged >= restarted

        fresh = await api_b.queue()
        assert fresh["seq"] == on_b.board.seq
        # recent_calls are compared last, on their own: the server's entries must have the
        # shape docs/protocol.md gives them.
        assert comparable(on_b.board.snapshot, without=("recent_calls",)) == \
            comparable(fresh, without=("recent_calls",)), dumps(
            {"board": on_b.board.snapshot, "server": fresh})
        assert on_a.board.snapshot == on_b.board.snapshot

        # The relay carries live calls again.
        await api_a.act(1, "start", clerk)
        await api_a.act(1, "finish", clerk)
        answer = await api_a.act(1, "call-next", clerk)
        answered = loop.time()
        assert answer["ticket"]["number"] == "A002"
        heard = await on_b.until(lambda s: len(s.events("ticket_called")) == 2, 2.0)
        assert heard - answered < 1.0
        assert on_b.events("ticket_called")[-1].message.event["ticket"]["number"] == "A002"
        # The call made while Redis was down took at most the relay's 2 s publish timeout.
        assert call_seconds < 3.0, call_seconds
        fresh = await api_b.queue()
        assert fresh["seq"] == on_b.board.seq
        assert on_b.board.snapshot["recent_calls"] == fresh["recent_calls"], dumps(
            {"board": on_b.board.snapshot["recent_calls"], "server": fresh["recent_calls"]})
    finally:
        await on_a.close()
        await on_b.close()


async def test_right_after_redis_restarts_calls_reach_screens_on_both_processes_at_once(
        own_cluster: Cluster, http: aiohttp.ClientSession) -> None:
    """Issue 8, point 8: a process's own screens never wait for Redis; after a restart the
    other process resubscribes promptly and fills its gap from the ledger."""
    cluster = own_cluster
    loop = asyncio.get_running_loop()
    api_a, api_b = Api(http, cluster.a.url), Api(http, cluster.b.url)
    clerk = await api_a.login("1001")
    for _ in range(3):
        await api_a.issue("A", cluster.kiosk)
    await api_a.act(1, "open", clerk)
    on_a = await Screen.connect(http, cluster.a.url, cluster.display)
    on_b = await Screen.connect(http, cluster.b.url, cluster.display)
    try:
        await _synced(on_a, api_a)
        await _synced(on_b, api_b)

        await asyncio.to_thread(cluster.redis.stop)
        # Redis stopped: a call through A reaches A's screen at once.
        answer = await api_a.act(1, "call-next", clerk)
        answered = loop.time()
        assert answer["ticket"]["number"] == "A001"
        heard = await on_a.until(lambda s: len(s.events("ticket_called")) == 1, 1.0)
        assert heard - answered < 1.0
        await asyncio.sleep(3.0)  # long enough for a reconnection backoff to grow

        await asyncio.to_thread(cluster.redis.start)
        await api_a.act(1, "start", clerk)
        await api_a.act(1, "finish", clerk)
        answer = await api_a.act(1, "call-next", clerk)
        answered = loop.time()
        assert answer["ticket"]["number"] == "A002"
        # Right after the restart: A's screen hears it at once ...
        heard = await on_a.until(lambda s: len(s.events("ticket_called")) == 2, 1.0)
        assert heard - answered < 1.0
        # ... and B's screens get both calls promptly, the first from the ledger.
        committed = (await api_a.queue())["seq"]
        await on_b.until(lambda s: s.board.seq == committed, 3.0)
        called_b = [h.message.event["ticket"]["number"] for h in on_b.events("ticket_called")]
        assert sorted(set(called_b)) == ["A001", "A002"]
        # A's screen heard every event live, in order: it never had to ask for a resync
        # (a call published to Redis before anyone resubscribed would leave it a gap).
        assert [m for _, m in on_a.sent if isinstance(m, Resync)] == []
        # Nothing reached A's screen twice: each seq was heard once.
        seqs_a = [h.message.seq for h in on_a.events()]
        assert len(seqs_a) == len(set(seqs_a)), seqs_a
        assert on_a.board.snapshot == on_b.board.snapshot
    finally:
        await on_a.close()
        await on_b.close()


async def test_a_display_token_of_another_hall_is_refused_at_the_handshake(
        shared_cluster: Cluster, http: aiohttp.ClientSession) -> None:
    cluster = shared_cluster
    for base in (cluster.a.url, cluster.b.url):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(ws_url(base, token=cluster.foreign_display),
                                  protocols=("queue.v1",))
        assert refused.value.status in (401, 403)
        async with http.get(ws_url(base, token=cluster.foreign_display).replace("ws://", "http://"),
                            headers={**UPGRADE, "Sec-WebSocket-Protocol": "queue.v1"}) as r:
            assert r.status in (401, 403)
            assert r.content_type == "application/problem+json"
            assert cluster.foreign_display not in await r.text()
        # The same token is good in its own hall.
        ws = await http.ws_connect(ws_url(base, "hushu", token=cluster.foreign_display),
                                   protocols=("queue.v1",))
        first = await ws.receive_json(timeout=5)
        assert first["type"] == "snapshot" and first["snapshot"]["hall"] == "hushu"
        await ws.close()
    # A kiosk token of gongshu is a device of the hall; a made-up token is not.
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(ws_url(cluster.b.url, token="hqd_not-a-real-token"),
                              protocols=("queue.v1",))
    assert refused.value.status == 401


async def test_a_client_offering_no_subprotocol_is_refused(
        shared_cluster: Cluster, http: aiohttp.ClientSession) -> None:
    cluster = shared_cluster
    url = ws_url(cluster.b.url, token=cluster.display)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url)
    assert refused.value.status == 400
    for offered in ({}, {"Sec-WebSocket-Protocol": "chat, superchat"}):
        async with http.get(url.replace("ws://", "http://"), headers={**UPGRADE, **offered}) as r:
            assert r.status == 400
            assert r.content_type == "application/problem+json"
            assert "queue.v1" in (await r.json())["detail"]
    # The same client offering queue.v1 is accepted.
    ws = await http.ws_connect(url, protocols=("queue.v1",))
    assert ws.protocol == "queue.v1"
    assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
    await ws.close()
