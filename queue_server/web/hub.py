"""Fan-out of a hall's announced events to its connected screens, in one process.

Each event is encoded once per broadcast. A subscription starts *buffered*: frames (the
same `str` for every subscriber) go to a bounded per-subscription deque that its owner
drains with `next()`. Once the owner has sent its catch-up it may `attach` the screen's
socket: from then on the hub builds the websocket frame bytes once per broadcast and writes
them straight to every attached socket from one loop callback per hall — no task wakes up
per screen and per frame, which is what made 5000 screens of one hall slow. What remains
is one send() per screen and write round; frames published during a round, or within that
round's CPU time after it, go out together in the next one (see `Hub._flush`).

Bounds (a screen that cannot keep up is dropped: it reconnects and resyncs, and the others
are never delayed):
- buffered: more than `queue_size` frames unread;
- attached: more than `queue_size` frames published before the hall's pending frames could
  be written (the loop never got round to it), or more than `max_buffered_bytes` left in the
  socket's write buffer after a write (the kernel's buffer is full: the peer is not reading).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from queue_server.protocol import Event, Heartbeat, Snapshot, encode

log = logging.getLogger(__name__)

#: Bytes an attached screen may leave unsent in its socket's user-space buffer (on top of
#: the kernel's send buffer) before it is dropped. Bounded memory per stuck screen.
MAX_BUFFERED_BYTES = 256 * 1024

#: The longest a hall's write round waits after the previous one (see `Hub._flush`).
MAX_QUIET = 0.05

_NO_FRAMES: deque[str] = deque(maxlen=0)

_LEN2 = struct.Struct("!BBH").pack
_LEN8 = struct.Struct("!BBQ").pack


def websocket_text_frame(text: str) -> bytes:
    """One unmasked, uncompressed, final websocket text frame (RFC 6455 §5.2) carrying
    `text`: what a server sends when no extension (permessage-deflate) was negotiated."""
    payload = text.encode("utf-8")
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = _LEN2(0x81, 126, size)
    else:
        header = _LEN8(0x81, 127, size)
    return header + payload


class FrameTransport(Protocol):
    """What an attached subscription writes to: an `asyncio.WriteTransport` does."""

    def write(self, data: bytes) -> None: ...

    def get_write_buffer_size(self) -> int: ...

    def is_closing(self) -> bool: ...


class SubscriptionClosed(Exception):
    """The subscription ended: closed by its owner, or dropped for falling behind."""

    def __init__(self, subscription: Subscription) -> None:
        self.dropped = subscription.dropped
        why = "dropped: it could not keep up" if self.dropped else "closed"
        super().__init__(f"subscription to hall {subscription.hall!r} is {why}")


class Subscription:
    """One screen of one hall: a bounded buffer of encoded frames until `attach`, then its
    socket, written to directly by the hub."""

    __slots__ = ("hall", "area", "window", "dropped", "_hub", "_frames", "_size", "_waiter",
                 "_closed", "_transport", "_on_drop")

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
        self._transport: FrameTransport | None = None
        self._on_drop: Callable[[], None] | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def attached(self) -> bool:
        return self._transport is not None

    def qsize(self) -> int:
        return len(self._frames)

    def push(self, frame: str) -> bool:
        """Buffer `frame` without waiting; a full buffer drops this subscriber."""
        if self._closed:
            return False
        if len(self._frames) >= self._size:
            log.info("dropping a screen of hall %s: %d frames unread", self.hall, self._size)
            self._drop()
            return False
        self._frames.append(frame)
        self._wake()
        return True

    def attach(self, transport: FrameTransport, *,
               on_drop: Callable[[], None] | None = None) -> None:
        """From now on, deliver by writing websocket text frames straight to `transport`
        (the screen's socket: uncompressed, nothing else may write partial frames to it).
        Frames buffered so far are written first, in order. `on_drop` is called (on the
        loop, once) if the hub drops this screen for not keeping up; `next()` then only
        waits for the end of the subscription."""
        self._on_drop = on_drop
        self._hub._attach(self, transport)

    async def next(self) -> str:
        """The next buffered frame; raises `SubscriptionClosed` once closed or dropped."""
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
        self._transport = None
        self._wake()

    def _drop(self) -> None:
        self.dropped = True
        self.close()
        on_drop, self._on_drop = self._on_drop, None
        if on_drop is not None:
            try:
                on_drop()
            except Exception:  # the owner's problem; the hub carries on with the others
                log.exception("a dropped screen of hall %s could not be told", self.hall)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Hub:
    """Subscribers per hall; `publish` is called on the event loop after a commit."""

    def __init__(self, queue_size: int = 256, *,
                 max_buffered_bytes: int = MAX_BUFFERED_BYTES) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, got {queue_size}")
        if max_buffered_bytes < 0:
            raise ValueError(f"max_buffered_bytes must not be negative, got {max_buffered_bytes}")
        self.queue_size = queue_size
        self.max_buffered_bytes = max_buffered_bytes
        self._buffered: dict[str, set[Subscription]] = {}
        self._attached: dict[str, set[Subscription]] = {}
        # Frames of a hall published since its attached screens were last written to: one
        # loop callback writes them all (joined) to every attached socket.
        self._pending: dict[str, list[bytes]] = {}
        # time.monotonic() before which a hall's next write round waits (see `_flush`).
        self._quiet_until: dict[str, float] = {}
        self._resync = asyncio.Event()

    def subscribe(self, hall: str, *, area: str | None = None,
                  window: int | None = None) -> Subscription:
        """A new subscription to every frame of `hall`; `area` and `window` are recorded
        for the screen's own filtering (frames are never re-encoded per subscriber)."""
        subscription = Subscription(self, hall, self.queue_size, area=area, window=window)
        self._buffered.setdefault(hall, set()).add(subscription)
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
        """Buffer `frame` for the hall's buffered subscribers and queue it, as websocket
        frame bytes built once, for its attached ones; never waits."""
        buffered = self._buffered.get(hall)
        if buffered:
            # push() may drop and remove a subscriber: iterate over a copy.
            for subscription in tuple(buffered):
                subscription.push(frame)
        attached = self._attached.get(hall)
        if not attached:
            return
        pending = self._pending.get(hall)
        if pending is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not on a loop (a script): write at once
                self._pending[hall] = [websocket_text_frame(frame)]
                self._flush(hall)
                return
            pending = self._pending[hall] = []
            wait = self._quiet_until.get(hall, 0.0) - time.monotonic()
            if wait > 0:
                loop.call_later(wait, self._flush, hall)
            else:
                loop.call_soon(self._flush, hall)
        pending.append(websocket_text_frame(frame))
        if len(pending) > self.queue_size:
            # The loop has not had a turn to write them: every attached screen is as far
            # behind as a buffered one whose owner had no turn to read.
            log.info("dropping %d screens of hall %s: %d frames not written", len(attached),
                     hall, len(pending))
            del self._pending[hall]
            for subscription in tuple(attached):
                subscription._drop()

    def _flush(self, hall: str) -> None:
        """Write the hall's pending frames to every attached socket; drop a socket whose
        peer has stopped reading (its write buffer keeps growing).

        A round costs a send() per screen (~5 µs: 25 ms for 5000 screens). The next round
        of the same hall starts no sooner than this one's CPU time after it ended: frames
        published meanwhile go out together, one send() per screen, so a hall's fan-out
        takes at most about half the process's CPU however fast events come, and a lone
        event (or a small hall's) is never delayed."""
        frames = self._pending.pop(hall, None)
        attached = self._attached.get(hall)
        if not frames or not attached:
            return
        cpu = time.thread_time()
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        limit = self.max_buffered_bytes
        gone: list[tuple[Subscription, bool]] | None = None
        slow = 0
        for subscription in attached:
            transport = subscription._transport
            try:
                if transport is None or transport.is_closing():
                    raise ConnectionResetError
                transport.write(data)
                if transport.get_write_buffer_size() <= limit:
                    continue
                slow += 1
                too_slow = True
            except Exception:  # a socket going away; its connection cleans up
                too_slow = False
            if gone is None:
                gone = []
            gone.append((subscription, too_slow))
        if gone:
            if slow:
                log.info("dropping %d screens of hall %s: more than %d bytes unsent", slow,
                         hall, limit)
            for subscription, too_slow in gone:
                if too_slow:
                    subscription._drop()
                else:
                    subscription.close()
        self._quiet_until[hall] = time.monotonic() + min(time.thread_time() - cpu, MAX_QUIET)

    def _attach(self, subscription: Subscription, transport: FrameTransport) -> None:
        if subscription._closed:
            return
        hall = subscription.hall
        if subscription._transport is not None:
            raise RuntimeError(f"a subscription to hall {hall!r} is already attached")
        # Write the hall's pending round now, to the screens attached before this one: this
        # screen then gets exactly what its own buffer holds — nothing published before it
        # subscribed, nothing it already took with next(), nothing twice.
        if self._pending.get(hall):
            self._flush(hall)
        frames = subscription._frames
        try:
            if frames:
                transport.write(b"".join(websocket_text_frame(frame) for frame in frames))
        except Exception:
            subscription.close()
            return
        subscription._frames = _NO_FRAMES  # attached: nothing is buffered any more
        self._discard(self._buffered, subscription)
        subscription._transport = transport
        self._attached.setdefault(hall, set()).add(subscription)
        if transport.get_write_buffer_size() > self.max_buffered_bytes:
            subscription._drop()

    def halls(self) -> list[str]:
        """Halls that have at least one subscriber."""
        return [hall for hall in {**self._buffered, **self._attached}
                if self._buffered.get(hall) or self._attached.get(hall)]

    def subscriber_count(self, hall: str | None = None) -> int:
        if hall is not None:
            return len(self._buffered.get(hall, ())) + len(self._attached.get(hall, ()))
        return sum(map(len, self._buffered.values())) + sum(map(len, self._attached.values()))

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
        for halls in (self._buffered, self._attached):
            for subscribers in list(halls.values()):
                for subscription in tuple(subscribers):
                    subscription.close()

    def _remove(self, subscription: Subscription) -> None:
        if subscription._transport is None:
            self._discard(self._buffered, subscription)
        elif self._discard(self._attached, subscription):
            self._pending.pop(subscription.hall, None)
            self._quiet_until.pop(subscription.hall, None)

    @staticmethod
    def _discard(halls: dict[str, set[Subscription]], subscription: Subscription) -> bool:
        """Remove `subscription`; True when its hall has no subscriber left there."""
        subscribers = halls.get(subscription.hall)
        if subscribers is None:
            return False
        subscribers.discard(subscription)
        if subscribers:
            return False
        del halls[subscription.hall]
        return True


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
