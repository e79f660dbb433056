"""Fan-out of a hall's announced events to its connected screens, in one process.

Each event is encoded once per broadcast; every subscriber gets the same `str` frame pushed
without awaiting. A subscriber whose buffer is full is dropped (it will reconnect and
resync), so one stalled screen never delays the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from queue_server.protocol import Event, Heartbeat, Snapshot, encode

log = logging.getLogger(__name__)


class SubscriptionClosed(Exception):
    """The subscription ended: closed by its owner, or dropped for falling behind."""

    def __init__(self, subscription: Subscription) -> None:
        self.dropped = subscription.dropped
        why = "dropped: its buffer of frames was full" if self.dropped else "closed"
        super().__init__(f"subscription to hall {subscription.hall!r} is {why}")


class Subscription:
    """One screen's bounded buffer of encoded frames for one hall."""

    __slots__ = ("hall", "area", "window", "dropped", "_hub", "_frames", "_size", "_waiter",
                 "_closed")

    def __init__(self, hub: Hub, hall: str, size: int, *, area: str | None,
                 window: int | None) -> None:
        self.hall = hall
        self.area = area
        self.window = window
        self.dropped = False
        self._hub = hub
        self._frames: deque[str] = deque()
        self._size = size
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def qsize(self) -> int:
        return len(self._frames)

    def push(self, frame: str) -> bool:
        """Buffer `frame` without waiting; a full buffer drops this subscriber."""
        if self._closed:
            return False
        if len(self._frames) >= self._size:
            self.dropped = True
            log.info("dropping a screen of hall %s: %d frames unread", self.hall, self._size)
            self.close()
            return False
        self._frames.append(frame)
        self._wake()
        return True

    async def next(self) -> str:
        """The next frame; raises `SubscriptionClosed` once closed or dropped."""
        while not self._frames:
            if self._closed:
                raise SubscriptionClosed(self)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self.dropped:  # what is left is stale: the screen resyncs after reconnecting
            raise SubscriptionClosed(self)
        return self._frames.popleft()

    def close(self) -> None:
        """Stop receiving; a pending or later `next()` raises `SubscriptionClosed`."""
        if self._closed:
            return
        self._closed = True
        if self.dropped:
            self._frames.clear()
        self._hub._remove(self)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Hub:
    """Subscribers per hall; `publish` is called on the event loop after a commit."""

    def __init__(self, queue_size: int = 256) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        self.queue_size = queue_size
        self._halls: dict[str, set[Subscription]] = {}
        self._resync = asyncio.Event()

    def subscribe(self, hall: str, *, area: str | None = None,
                  window: int | None = None) -> Subscription:
        """A new subscription to every frame of `hall`; `area` and `window` are recorded
        for the screen's own filtering (frames are never re-encoded per subscriber)."""
        subscription = Subscription(self, hall, self.queue_size, area=area, window=window)
        self._halls.setdefault(hall, set()).add(subscription)
        return subscription

    def publish(self, hall: str, events: Iterable[dict[str, Any]]) -> None:
        """Send each event, encoded once, to every subscriber of `hall`."""
        for event in events:
            self.publish_frame(hall, encode(Event(event["seq"], event)))

    def publish_snapshot(self, hall: str, snapshot: dict[str, Any]) -> None:
        """Replace every screen's board of `hall`, e.g. after its configuration or business
        day changed (things no event carries)."""
        self.publish_frame(hall, encode(Snapshot(snapshot["seq"], snapshot)))

    def heartbeat(self, hall: str, seq: int, at: str) -> None:
        """Tell the hall's screens its current seq; a screen behind it asks for a resync."""
        self.publish_frame(hall, encode(Heartbeat(seq, at)))

    def publish_frame(self, hall: str, frame: str) -> None:
        subscribers = self._halls.get(hall)
        if not subscribers:
            return
        # push() may drop and remove a subscriber: iterate over a copy.
        for subscription in tuple(subscribers):
            subscription.push(frame)

    def halls(self) -> list[str]:
        """Halls that have at least one subscriber."""
        return [hall for hall, subscribers in self._halls.items() if subscribers]

    def subscriber_count(self, hall: str | None = None) -> int:
        if hall is not None:
            return len(self._halls.get(hall, ()))
        return sum(len(subscribers) for subscribers in self._halls.values())

    def request_resync(self) -> None:
        """Screens may have missed events (e.g. the relay lost Redis): the heartbeat task
        answers by sending every hall's current seq at once, and behind screens resync."""
        self._resync.set()

    @property
    def resync_requested(self) -> bool:
        return self._resync.is_set()

    async def wait_resync_request(self) -> None:
        """Wait for `request_resync()`, and clear the request."""
        await self._resync.wait()
        self._resync.clear()

    def close_all(self) -> None:
        for subscribers in list(self._halls.values()):
            for subscription in tuple(subscribers):
                subscription.close()

    def _remove(self, subscription: Subscription) -> None:
        subscribers = self._halls.get(subscription.hall)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._halls[subscription.hall]


class Heartbeats:
    """Every `interval` seconds, and at once on `hub.request_resync()`, sends each hall
    with screens its current seq (one `latest_seq` call per hall, not per screen)."""

    def __init__(self, hub: Hub, latest_seq: Callable[[str], Awaitable[int]],
                 clock: Callable[[], datetime], *, interval: float = 10.0) -> None:
        self.hub = hub
        self.latest_seq = latest_seq
        self.clock = clock
        self.interval = interval

    async def run(self) -> None:
        """Beat forever; cancel to stop."""
        while True:
            try:
                async with asyncio.timeout(self.interval):
                    await self.hub.wait_resync_request()
            except TimeoutError:
                pass
            await self.beat_all()

    async def beat_all(self) -> None:
        for hall in self.hub.halls():
            try:
                async with asyncio.timeout(self.interval):
                    seq = await self.latest_seq(hall)
            except asyncio.CancelledError:
                raise
            except Exception:  # the store is down: screens keep their board and we retry
                log.warning("no heartbeat for hall %s: latest seq unavailable", hall,
                            exc_info=True)
                continue
            self.hub.heartbeat(hall, seq, self.clock().isoformat(timespec="seconds"))
