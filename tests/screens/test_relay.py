"""The Redis relay against a real Redis: fan-out across processes (here, two hubs) and
recovery after Redis itself goes away."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from screens_fakes import free_port

from queue_server.adapters.relay import LocalAnnouncer, RedisRelay, decode_payload, encode_payload
from queue_server.web.hub import Hub


def _events(*seqs: int) -> list[dict]:
    return [{"seq": seq, "kind": "ticket_issued", "hall": "gongshu", "ticket": None,
             "window": None, "services": [], "payload": {}} for seq in seqs]


async def _frames(subscription, count: int) -> list[dict]:
    async with asyncio.timeout(3):
        return [json.loads(await subscription.next()) for _ in range(count)]


@pytest.fixture
def prefix() -> str:
    return f"hall-queue-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def reachable_redis(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as exc:  # the fixture starts one when none answers
        pytest.fail(f"no Redis at {redis_url}: {exc}")
    finally:
        await client.aclose()
    return redis_url


async def test_an_announcement_through_one_relay_reaches_the_other_processes_screens(
        reachable_redis: str, prefix: str) -> None:
    hub_a, hub_b = Hub(), Hub()
    relay_a, relay_b = RedisRelay(reachable_redis, hub_a, prefix), \
        RedisRelay(reachable_redis, hub_b, prefix)
    await relay_a.start()
    await relay_b.start()
    try:
        assert relay_a.subscribed and relay_b.subscribed
        here, there = hub_a.subscribe("gongshu"), hub_b.subscribe("gongshu")
        elsewhere = hub_b.subscribe("xiaohe")
        await relay_a.announce("gongshu", _events(1, 2))
        assert [f["seq"] for f in await _frames(there, 2)] == [1, 2]
        # The announcing process hears its own announcement through Redis, exactly once.
        assert [f["seq"] for f in await _frames(here, 2)] == [1, 2]
        await asyncio.sleep(0.1)
        assert here.qsize() == 0 and elsewhere.qsize() == 0
    finally:
        await relay_a.stop()
        await relay_b.stop()


async def test_relays_with_different_prefixes_do_not_hear_each_other(
        reachable_redis: str, prefix: str) -> None:
    hub_a, hub_b = Hub(), Hub()
    relay_a = RedisRelay(reachable_redis, hub_a, prefix + "-a")
    relay_b = RedisRelay(reachable_redis, hub_b, prefix + "-b")
    await relay_a.start()
    await relay_b.start()
    try:
        there = hub_b.subscribe("gongshu")
        await relay_a.announce("gongshu", _events(1))
        await asyncio.sleep(0.2)
        assert there.qsize() == 0
    finally:
        await relay_a.stop()
        await relay_b.stop()


async def test_a_malformed_relay_message_is_ignored(reachable_redis: str, prefix: str) -> None:
    hub = Hub()
    relay = RedisRelay(reachable_redis, hub, prefix)
    await relay.start()
    client = redis.Redis.from_url(reachable_redis)
    try:
        screen = hub.subscribe("gongshu")
        await client.publish(f"{prefix}:events", b"\xff not json")
        await client.publish(f"{prefix}:events", json.dumps({"hall": "gongshu", "events": [{}]}))
        await relay.announce("gongshu", _events(7))
        assert [f["seq"] for f in await _frames(screen, 1)] == [7]
    finally:
        await client.aclose()
        await relay.stop()


def test_relay_payloads_are_parsed_at_the_boundary() -> None:
    assert decode_payload('{"hall": "gongshu", "events": []}') == ("gongshu", [])
    for bad in ('[]', '{"hall": "", "events": []}', '{"hall": "g", "events": [{"seq": true}]}',
                '{"hall": "g"}', "{"):
        with pytest.raises(ValueError, match="relay"):
            decode_payload(bad)


class RedisProcess:
    """A redis-server of our own, so the test can kill it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        try:
            async with asyncio.timeout(5):
                while True:
                    try:
                        await client.ping()
                        return
                    except (redis.RedisError, OSError):
                        await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            await self.process.wait()
            self.process = None


@pytest.fixture
async def own_redis() -> AsyncIterator[RedisProcess]:
    # .ci/run installs redis-server; a test that cannot run must fail, not skip.
    assert shutil.which("redis-server"), "redis-server is not installed (apt-get install redis-server)"
    server = RedisProcess()
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


async def test_a_relay_reconnects_after_redis_restarts_and_asks_screens_to_resync(
        own_redis: RedisProcess, prefix: str) -> None:
    hub = Hub()
    signalled = asyncio.Event()
    relay = RedisRelay(own_redis.url, hub, prefix, on_resync=signalled.set, max_backoff=0.5)
    await relay.start()
    try:
        screen = hub.subscribe("gongshu")
        await relay.announce("gongshu", _events(1))
        assert [f["seq"] for f in await _frames(screen, 1)] == [1]

        await own_redis.kill()
        # While Redis is down, an announcement still reaches this process's screens.
        await relay.announce("gongshu", _events(2))
        assert [f["seq"] for f in await _frames(screen, 1)] == [2]
        assert not signalled.is_set()

        await own_redis.start()
        async with asyncio.timeout(10):
            await signalled.wait()
        assert relay.reconnects == 1
        assert hub.resync_requested  # the hub's heartbeat task is told
        await relay.announce("gongshu", _events(3))
        assert [f["seq"] for f in await _frames(screen, 1)] == [3]
    finally:
        await relay.stop()


async def test_a_relay_started_while_redis_is_down_subscribes_once_it_is_up(
        prefix: str) -> None:
    server = RedisProcess()
    hub = Hub()
    relay = RedisRelay(server.url, hub, prefix, timeout=0.3, max_backoff=0.3)
    await relay.start()  # does not raise: the server must start without Redis
    try:
        assert not relay.subscribed
        await server.start()
        screen = hub.subscribe("gongshu")
        async with asyncio.timeout(10):
            await relay.wait_subscribed()
        await relay.announce("gongshu", _events(1))
        assert [f["seq"] for f in await _frames(screen, 1)] == [1]
    finally:
        await relay.stop()
        await server.kill()


async def test_the_local_announcer_publishes_straight_to_the_hub() -> None:
    hub = Hub()
    screen = hub.subscribe("gongshu")
    await LocalAnnouncer(hub).announce("gongshu", _events(1))
    assert [f["seq"] for f in await _frames(screen, 1)] == [1]


async def test_right_after_redis_restarts_a_call_reaches_this_process_at_once_and_the_other_promptly(
        own_redis: RedisProcess, prefix: str) -> None:
    """Issue 8, point 8: local delivery never waits for Redis, and the relays resubscribe
    as soon as Redis is back (the other process's screens then resync from the ledger)."""
    hub_a, hub_b = Hub(), Hub()
    relay_a = RedisRelay(own_redis.url, hub_a, prefix)
    relay_b = RedisRelay(own_redis.url, hub_b, prefix)
    await relay_a.start()
    await relay_b.start()
    try:
        here, there = hub_a.subscribe("gongshu"), hub_b.subscribe("gongshu")
        await own_redis.kill()
        # While Redis is down: this process's screens hear the call at once.
        await relay_a.announce("gongshu", _events(1))
        assert [f["seq"] for f in await _frames(here, 1)] == [1]
        await asyncio.sleep(2.5)  # long enough for any reconnection backoff to grow

        await own_redis.start()
        # Right after the restart: still at once here, and exactly once.
        await relay_a.announce("gongshu", _events(2))
        async with asyncio.timeout(0.5):
            assert json.loads(await here.next())["seq"] == 2
        # Both relays are subscribed again within a second of Redis answering; the other
        # process's hub is asked to resync (its screens fetch seq 1 and 2 from the ledger).
        async with asyncio.timeout(1.5):
            await relay_a.wait_subscribed()
            await relay_b.wait_subscribed()
        assert hub_b.resync_requested
        await relay_a.announce("gongshu", _events(3))
        # The other process hears 3 promptly. It hears 2 first when it had resubscribed before
        # 2 was published (on a loaded machine the restart can take that long); never 1.
        heard = [f["seq"] for f in await _frames(there, 1)]
        if heard == [2]:
            heard += [f["seq"] for f in await _frames(there, 1)]
        assert heard in ([3], [2, 3]), heard
        assert [f["seq"] for f in await _frames(here, 1)] == [3]
        await asyncio.sleep(0.2)
        assert here.qsize() == 0, "this process's own announcement came back through Redis"
    finally:
        await relay_a.stop()
        await relay_b.stop()


async def test_a_relay_drops_its_own_announcements_coming_back_from_redis(
        reachable_redis: str, prefix: str) -> None:
    hub = Hub()
    relay = RedisRelay(reachable_redis, hub, prefix)
    await relay.start()
    client = redis.Redis.from_url(reachable_redis)
    try:
        screen = hub.subscribe("gongshu")
        await relay.announce("gongshu", _events(1))
        assert [f["seq"] for f in await _frames(screen, 1)] == [1]
        # Another process's message with the same seq is delivered (screens dedupe by seq) ...
        await client.publish(f"{prefix}:events", encode_payload("gongshu", _events(2), "other"))
        assert [f["seq"] for f in await _frames(screen, 1)] == [2]
        await asyncio.sleep(0.2)
        assert screen.qsize() == 0
    finally:
        await client.aclose()
        await relay.stop()
