"""Carries announced events between server processes through Redis pub/sub.

Every process subscribes once to one channel, `{prefix}:events`; a message names its hall
and the process it came from. A process hands its own announcements to its local `Hub`
first, whatever Redis does, and Redis carries them to the others; what comes back from Redis
with this process's own origin is dropped, so nothing is delivered twice.
Redis is a relay, not a store: a lost message is repaired by the screens' resync against
the hall's seq, so after any reconnection the relay asks the hub to send every screen the
current seq at once, and the screens fetch what they missed from the ledger. While it is
unsubscribed the relay retries every `max_backoff` seconds at most, and at once when a
publish shows that Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import orjson
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..service.lifetimes import cancel_and_wait

log = logging.getLogger(__name__)

_NETWORK_ERRORS = (RedisError, OSError, TimeoutError)


class Hub(Protocol):
    """What the relay needs of `queue_server.web.hub.Hub` (adapters do not import web)."""

    def publish(self, hall: str, events: list[dict[str, Any]]) -> None: ...

    def request_resync(self) -> None: ...


class RelayPayloadError(ValueError):
    """A relay message that is not `{"hall": str, "events": [event, ...]}`."""


def encode_payload(hall: str, events: list[dict[str, Any]], origin: str | None = None) -> bytes:
    body: dict[str, Any] = {"hall": hall, "events": events}
    if origin is not None:
        body["origin"] = origin
    return orjson.dumps(body)


def decode_payload(data: bytes | str) -> tuple[str, list[dict[str, Any]]]:
    """Parse one relay message; raises `RelayPayloadError` for anything else."""
    _origin, hall, events = decode_relayed(data)
    return hall, events


def decode_relayed(data: bytes | str) -> tuple[str | None, str, list[dict[str, Any]]]:
    """Parse one relay message into (origin process, hall, events)."""
    try:
        body = orjson.loads(data)
    except ValueError as exc:  # orjson.JSONDecodeError, nesting past 1024 included
        raise RelayPayloadError(f"relay message is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise RelayPayloadError(f"relay message must be an object, got {type(body).__name__}")
    hall, events = body.get("hall"), body.get("events")
    if not isinstance(hall, str) or not hall:
        raise RelayPayloadError(f"relay message 'hall' must be a non-empty string, got {hall!r}")
    if not isinstance(events, list):
        raise RelayPayloadError(f"relay message 'events' must be a list, got {events!r:.40}")
    for event in events:
        seq = event.get("seq") if isinstance(event, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise RelayPayloadError(f"relay event of hall {hall} has no integer seq: {event!r:.60}")
    origin = body.get("origin")
    if origin is not None and not isinstance(origin, str):
        raise RelayPayloadError(f"relay message 'origin' must be a string, got {origin!r:.40}")
    return origin, hall, events


class RedisRelay:
    """Deliver this process's announcements to `hub` and through Redis to the others;
    deliver what the others announce to `hub`."""

    def __init__(self, url: str, hub: Hub, channel_prefix: str = "hall-queue", *,
                 on_resync: Callable[[], None] | None = None,
                 timeout: float = 2.0, max_backoff: float = 0.5) -> None:
        self.url = url
        self.hub = hub
        self.channel = f"{channel_prefix}:events"
        self.on_resync = on_resync
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.reconnects = 0  # subscriptions re-established after a loss, for tests and metrics
        self.origin = uuid.uuid4().hex  # this process, in every message it publishes
        self._publisher: redis.Redis | None = None
        self._reader: asyncio.Task[None] | None = None
        self._failing = False  # the last publish failed (logged once)
        self._subscribed = asyncio.Event()
        self._retry_now = asyncio.Event()  # Redis answered a publish: resubscribe without waiting

    async def start(self) -> None:
        """Start the reader; waits up to `timeout` for the subscription, then carries on
        (the reader keeps retrying, and `announce` falls back to this process's hub)."""
        if self._reader is not None:
            raise RuntimeError(f"relay on {self.channel} is already started")
        self._publisher = redis.Redis.from_url(
            self.url, socket_connect_timeout=self.timeout, socket_timeout=self.timeout)
        self._reader = asyncio.create_task(self._read_forever(), name=f"relay {self.channel}")
        try:
            async with asyncio.timeout(self.timeout):
                await self._subscribed.wait()
        except TimeoutError:
            log.warning("relay: no subscription to %s yet; screens in other processes will "
                        "catch up at their next heartbeat", self.channel)

    async def stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            await cancel_and_wait(reader)  # re-raises if we are being cancelled ourselves
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            await publisher.aclose()

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    async def wait_subscribed(self) -> None:
        """Until the relay listens on its channel (after start, or after a reconnection)."""
        await self._subscribed.wait()

    async def announce(self, hall: str, events: list[dict[str, Any]]) -> None:
        """Deliver committed events of `hall` to this process's screens at once, then
        publish them to the other processes. Never raises for a Redis failure (waiting at
        most `timeout` for it): the others catch up from their heartbeat."""
        if not events:
            return
        if self._publisher is None:
            raise RuntimeError(f"relay on {self.channel} is not started; call start() first")
        self.hub.publish(hall, events)
        try:
            async with asyncio.timeout(self.timeout):
                await self._publisher.publish(self.channel, encode_payload(hall, events, self.origin))
        except _NETWORK_ERRORS as exc:
            if not self._failing:
                log.warning("relay: cannot publish %d events of hall %s (%s); this process's "
                            "screens have them, the others will resync", len(events), hall, exc)
            self._failing = True
            return
        if self._failing:
            log.info("relay: publishing to %s again", self.channel)
            self._failing = False
        if not self._subscribed.is_set():
            self._retry_now.set()  # Redis is back: the reader need not wait its backoff

    async def _read_forever(self) -> None:
        backoff = 0.1
        ever_subscribed = False
        quiet = False  # the loss is logged once, not at every retry
        while True:
            # No retries inside redis-py: a loss must reach this loop, which owns the backoff
            # and knows to ask for a resync once the subscription is back.
            client = redis.Redis.from_url(
                self.url, socket_connect_timeout=self.timeout, health_check_interval=10,
                retry=Retry(NoBackoff(), 0))
            pubsub = client.pubsub()
            try:
                async with asyncio.timeout(self.timeout):
                    await pubsub.subscribe(self.channel)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        backoff = 0.1
                        if ever_subscribed:
                            self._resubscribed()
                        ever_subscribed = True
                        quiet = False
                        self._subscribed.set()
                    elif message["type"] == "message":
                        self._deliver(message["data"])
            except _NETWORK_ERRORS as exc:
                self._subscribed.clear()
                log.log(logging.DEBUG if quiet else logging.WARNING,
                        "relay: lost %s (%s); reconnecting every %.1f s at most", self.channel,
                        exc, self.max_backoff)
                quiet = True
            finally:
                await _quietly(pubsub.aclose())
                await _quietly(client.aclose())
            self._retry_now.clear()
            try:
                async with asyncio.timeout(backoff * random.uniform(0.8, 1.2)):
                    await self._retry_now.wait()
            except TimeoutError:
                pass
            backoff = min(backoff * 2, self.max_backoff)

    def _deliver(self, data: bytes | str) -> None:
        try:
            origin, hall, events = decode_relayed(data)
        except RelayPayloadError as exc:
            log.error("relay: ignoring a message on %s: %s", self.channel, exc)
            return
        if origin == self.origin:
            return  # announced here: this process's screens had it first
        try:
            self.hub.publish(hall, events)
        except Exception:  # one bad event must not stop every screen of every hall
            log.exception("relay: cannot deliver %d events of hall %s", len(events), hall)

    def _resubscribed(self) -> None:
        self.reconnects += 1
        log.info("relay: %s is back; asking every screen to check its seq", self.channel)
        self.hub.request_resync()
        if self.on_resync is not None:
            self.on_resync()


async def _quietly(closing: Any) -> None:
    """Close a connection that may already be broken; its error is not news."""
    try:
        await closing
    except _NETWORK_ERRORS:
        pass


class LocalAnnouncer:
    """`announce` for a single process without Redis: straight to the hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def announce(self, hall: str, events: list[dict[str, Any]]) -> None:
        if events:
            self.hub.publish(hall, events)
