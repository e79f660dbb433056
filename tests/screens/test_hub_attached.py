"""The hub's attached path: after its catch-up a screen's socket is written to directly,
with websocket frame bytes built once per broadcast and shared by every screen of the hall.

First against fake transports (what `FrameTransport` asks for, nothing more), then against
real sockets: the screen endpoint, healthy `queue.v1` clients, and a raw client with a tiny
receive buffer that stops reading."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from screens_fakes import TOKEN, FakeHall, ScreenServer, screen_app

import queue_server.web.hub as hub_module
import queue_server.web.screens as screens_module
from queue_server.protocol import CLOSE_TOO_SLOW, Error, Event, Snapshot, decode
from queue_server.web.hub import MAX_BUFFERED_BYTES, Hub, SubscriptionClosed

PATH = "/ws/v1/halls/gongshu"


# -- websocket frames, read the way a client reads them (RFC 6455 §5.2) ---------------------

def split_frames(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The complete server frames at the start of `data` as (first byte, payload), and the
    bytes of an incomplete frame after them. Server frames are never masked."""
    frames: list[tuple[int, bytes]] = []
    at = 0
    while len(data) - at >= 2:
        first, second = data[at], data[at + 1]
        assert not second & 0x80, "a server frame must not be masked"
        size, header = second & 0x7F, 2
        if size == 126:
            if len(data) - at < 4:
                break
            (size,) = struct.unpack_from("!H", data, at + 2)
            assert size >= 126, "a 16-bit length must not encode a length below 126"
            header = 4
        elif size == 127:
            if len(data) - at < 10:
                break
            (size,) = struct.unpack_from("!Q", data, at + 2)
            assert 65536 <= size < 2**63, "a 64-bit length must not encode a 16-bit one"
            header = 10
        if len(data) - at < header + size:
            break
        frames.append((first, data[at + header:at + header + size]))
        at += header + size
    return frames, data[at:]


def text_frames(data: bytes) -> list[str]:
    """`data` must be exactly a run of final, unfragmented text frames (FIN + opcode 1)."""
    frames, rest = split_frames(data)
    assert rest == b"", f"{len(rest)} bytes after the last complete frame"
    for first, _ in frames:
        assert first == 0x81, f"frame starts with {first:#04x}, not 0x81 (FIN, text)"
    return [payload.decode("utf-8") for _, payload in frames]


# -- fake transports -----------------------------------------------------------------------

class FakeTransport:
    """What `FrameTransport` asks for. `stalled`: the peer reads nothing, so everything
    written stays in the write buffer; otherwise the buffer reports `buffered`."""

    def __init__(self, *, stalled: bool = False, buffered: int = 0) -> None:
        self.writes: list[bytes] = []
        self.stalled = stalled
        self.buffered = buffered
        self.closing = False
        self.fail_writes = False

    def write(self, data: bytes) -> None:
        if self.fail_writes:
            raise ConnectionResetError("peer went away")
        self.writes.append(data)
        if self.stalled:
            self.buffered += len(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing

    @property
    def received(self) -> bytes:
        return b"".join(self.writes)

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in text_frames(self.received)]

    def seqs(self) -> list[int]:
        return [message["seq"] for message in self.messages()]


def _event(seq: int, notice_bytes: int = 0) -> dict[str, Any]:
    """An event whose encoded frame is at least `notice_bytes` long (3-byte characters)."""
    notices = ["号" * (notice_bytes // 3)] if notice_bytes else []
    return {"seq": seq, "kind": "notice_posted", "hall": "gongshu", "ticket": None,
            "window": None, "services": [], "payload": {"notices": notices}}


def _events(first: int, count: int, notice_bytes: int = 0) -> list[dict[str, Any]]:
    return [_event(seq, notice_bytes) for seq in range(first, first + count)]


async def _until(condition: Callable[[], Any], within: float, step: float = 0.005) -> None:
    """Poll state of the hub or of a transport: there is nothing to await on."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(step)


async def _written(hub: Hub) -> None:
    """Wait for the hub's pending write rounds (one loop callback per hall) to run."""
    await asyncio.sleep(0)
    await _until(lambda: not hub._pending, 1, 0.001)


def _attached(hub: Hub, transport: FakeTransport, drops: list[Any] | None = None):
    subscription = hub.subscribe("gongshu")
    on_drop = None if drops is None else (lambda: drops.append(subscription))
    subscription.attach(transport, on_drop=on_drop)
    assert subscription.attached
    return subscription


# -- one frame for everyone ----------------------------------------------------------------

async def test_a_broadcast_to_attached_screens_encodes_and_frames_each_event_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[Any] = []
    framed: list[str] = []
    real_encode, real_frame = hub_module.encode, hub_module.websocket_text_frame

    def counting_encode(message: Any) -> str:
        encoded.append(message)
        return real_encode(message)

    def counting_frame(text: str) -> bytes:
        framed.append(text)
        return real_frame(text)

    monkeypatch.setattr(hub_module, "encode", counting_encode)
    monkeypatch.setattr(hub_module, "websocket_text_frame", counting_frame)
    hub = Hub()
    transports = [FakeTransport() for _ in range(25)]
    for transport in transports:
        _attached(hub, transport)

    # Three sizes of frame: 7-bit, 16-bit and 64-bit payload lengths.
    events = [_event(1), _event(2, 1_000), _event(3, 100_000)]
    hub.publish("gongshu", events)
    await _written(hub)
    assert len(encoded) == 3 and len(framed) == 3
    first = transports[0].writes
    assert len(first) == 1  # one write round: the three frames go out in one send
    for transport in transports:
        assert transport.writes == first
        assert transport.writes[0] is first[0]  # the same bytes object, not a copy per screen
    assert transports[0].messages() == [
        {"type": "event", "seq": event["seq"], "event": event} for event in events]

    hub.publish("gongshu", [_event(4, 200)])
    await _written(hub)
    assert len(encoded) == 4 and len(framed) == 4
    for transport in transports:
        assert transport.seqs() == [1, 2, 3, 4]
        assert transport.writes[1] is transports[0].writes[1]


@pytest.mark.parametrize("payload_bytes", [0, 1, 125, 126, 127, 65535, 65536, 70_000])
def test_a_frame_carries_its_utf8_payload_with_the_shortest_length_field(
        payload_bytes: int) -> None:
    # Mostly 3-byte characters: a length taken from the str instead of its UTF-8 bytes,
    # or the wrong length field at a boundary, makes the frame unreadable.
    text = "号" * (payload_bytes // 3) + "a" * (payload_bytes % 3)
    frame = hub_module.websocket_text_frame(text)
    header = 2 if payload_bytes < 126 else 4 if payload_bytes < 65536 else 10
    assert len(frame) == header + payload_bytes
    assert text_frames(frame) == [text]


# -- a screen that cannot keep up ----------------------------------------------------------

async def test_an_attached_screen_left_over_max_buffered_bytes_is_dropped_and_others_get_every_event(
        ) -> None:
    hub = Hub()
    drops: list[Any] = []
    healthy = [FakeTransport() for _ in range(4)]
    for transport in healthy[:2]:
        _attached(hub, transport, drops)
    stuck = FakeTransport(stalled=True)
    slow = _attached(hub, stuck, drops)
    for transport in healthy[2:]:
        _attached(hub, transport, drops)

    frame_size = len(hub_module.websocket_text_frame(
        hub_module.encode(Event(1, _event(1, 40_000)))))
    rounds_to_overflow = MAX_BUFFERED_BYTES // frame_size + 1  # 7 rounds of ~40 KB
    for seq in range(1, 31):
        hub.publish("gongshu", [_event(seq, 40_000)])
        await _written(hub)
        if seq < rounds_to_overflow:
            assert not slow.dropped, f"dropped at {stuck.buffered} bytes buffered"
        else:
            assert slow.dropped, f"kept with {stuck.buffered} bytes buffered"

    assert drops == [slow]  # told once
    assert slow.closed and not slow.attached
    assert hub.subscriber_count("gongshu") == 4
    assert stuck.seqs() == list(range(1, rounds_to_overflow + 1))  # nothing after the drop
    for transport in healthy:
        assert transport.seqs() == list(range(1, 31))
    with pytest.raises(SubscriptionClosed) as closed:
        await asyncio.wait_for(slow.next(), 1)
    assert closed.value.dropped


async def test_a_screen_at_exactly_max_buffered_bytes_is_kept_and_one_byte_more_is_dropped(
        ) -> None:
    hub = Hub()
    full, fuller, reader = FakeTransport(), FakeTransport(), FakeTransport()
    at_limit, over = _attached(hub, full), _attached(hub, fuller)
    _attached(hub, reader)
    full.buffered, fuller.buffered = MAX_BUFFERED_BYTES, MAX_BUFFERED_BYTES + 1
    hub.publish("gongshu", _events(1, 1))
    await _written(hub)
    assert not at_limit.dropped and at_limit.attached
    assert over.dropped and not over.attached
    hub.publish("gongshu", _events(2, 1))
    await _written(hub)
    assert reader.seqs() == [1, 2]
    assert hub.subscriber_count("gongshu") == 2


async def test_a_screen_whose_write_buffer_is_already_over_the_limit_at_attach_is_dropped(
        ) -> None:
    hub = Hub()
    drops: list[Any] = []
    subscription = hub.subscribe("gongshu")
    hub.publish("gongshu", _events(1, 3))
    subscription.attach(FakeTransport(buffered=MAX_BUFFERED_BYTES + 1),
                        on_drop=lambda: drops.append(subscription))
    assert subscription.dropped and drops == [subscription]
    assert hub.subscriber_count("gongshu") == 0


async def test_a_screen_whose_socket_is_going_away_is_removed_but_not_called_too_slow() -> None:
    hub = Hub()
    drops: list[Any] = []
    closing, failing, reader = FakeTransport(), FakeTransport(), FakeTransport()
    gone = [_attached(hub, closing, drops), _attached(hub, failing, drops)]
    _attached(hub, reader, drops)
    closing.closing = True
    failing.fail_writes = True
    hub.publish("gongshu", _events(1, 2))
    await _written(hub)
    for subscription in gone:
        assert subscription.closed and not subscription.dropped
    assert drops == []
    assert closing.writes == [] and failing.writes == []
    hub.publish("gongshu", _events(3, 1))
    await _written(hub)
    assert reader.seqs() == [1, 2, 3]


# -- from buffered to attached -------------------------------------------------------------

async def test_frames_buffered_before_attach_are_written_first_in_order_when_alone() -> None:
    hub = Hub()
    subscription = hub.subscribe("gongshu")
    hub.publish("gongshu", _events(1, 3))
    transport = FakeTransport()
    subscription.attach(transport)
    assert transport.seqs() == [1, 2, 3]  # written at once, not at the next broadcast
    hub.publish("gongshu", _events(4, 2))
    await _written(hub)
    assert transport.seqs() == [1, 2, 3, 4, 5]
    assert subscription.qsize() == 0


async def test_frames_buffered_before_attach_are_written_once_in_order_while_others_have_frames_pending(
        ) -> None:
    """Some of the newcomer's buffered frames are also waiting in the hall's pending write
    round for the screens already attached: the round goes out to those at once, and the
    newcomer gets its own buffer, each frame once."""
    hub = Hub()
    early = FakeTransport()
    _attached(hub, early)
    newcomer = hub.subscribe("gongshu")
    hub.publish("gongshu", _events(1, 2))
    await _written(hub)  # 1, 2 written to `early`; still buffered for the newcomer
    hub.publish("gongshu", _events(3, 2))  # 3, 4 pending for `early`, buffered here too
    assert hub._pending
    transport = FakeTransport()
    newcomer.attach(transport)
    assert transport.seqs() == [1, 2, 3, 4]  # its whole buffer, in order
    assert early.seqs() == [1, 2, 3, 4]  # the pending round, written before the newcomer joined
    await _written(hub)
    hub.publish("gongshu", _events(5, 1))
    await _written(hub)
    assert transport.seqs() == [1, 2, 3, 4, 5]
    assert early.seqs() == [1, 2, 3, 4, 5]


class SlowRounds:
    """Stands in for the `time` module in hub.py: every write round seems to take `cpu`
    seconds of CPU time, so the hall's next round waits that long (at most MAX_QUIET)."""

    def __init__(self, cpu: float) -> None:
        self.cpu = cpu
        self.calls = 0
        self.monotonic = time.monotonic

    def thread_time(self) -> float:
        self.calls += 1
        return self.cpu * (self.calls // 2)


async def test_attaching_inside_the_halls_quiet_time_loses_and_repeats_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A write round that took CPU time makes the next one wait (`call_later`); a screen
    attaching while frames wait there gets each frame once."""
    hub = Hub()
    early = FakeTransport()
    _attached(hub, early)
    monkeypatch.setattr(hub_module, "time", SlowRounds(0.03))
    hub.publish("gongshu", _events(1, 1))
    await _written(hub)
    newcomer = hub.subscribe("gongshu")
    hub.publish("gongshu", _events(2, 2))
    await asyncio.sleep(0)
    assert hub._pending  # the round waits for the quiet time
    transport = FakeTransport()
    newcomer.attach(transport)
    await _written(hub)
    assert transport.seqs() == [2, 3]
    assert early.seqs() == [1, 2, 3]


# Both below: `Hub._attach` works out which of the subscription's buffered frames the
# hall's pending write round will bring by count alone (`len(frames) - len(pending)`),
# assuming the round's frames are exactly the tail of the subscription's deque.

async def test_a_screen_attaching_during_a_deferred_round_gets_no_frame_from_before_it_subscribed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In screens.py a screen subscribes, reads its snapshot, then attaches: a frame from
    before it subscribed is older than that snapshot. A stale `snapshot` frame replaces a
    screen's whole board (the reducers take any snapshot)."""
    hub = Hub()
    early = FakeTransport()
    _attached(hub, early)
    monkeypatch.setattr(hub_module, "time", SlowRounds(0.03))  # a busy hall: rounds wait
    hub.publish("gongshu", _events(1, 1))
    await _written(hub)
    hub.publish_snapshot("gongshu", {"seq": 1, "hall": "gongshu"})  # pending, deferred
    newcomer = hub.subscribe("gongshu")  # ...then reads a snapshot of seq 1 or later
    transport = FakeTransport()
    newcomer.attach(transport)
    hub.publish("gongshu", _events(2, 1))
    await _written(hub)
    assert early.seqs() == [1, 1, 2]
    assert [(m["type"], m["seq"]) for m in transport.messages()] == [("event", 2)]


async def test_a_frame_taken_with_next_before_attach_is_not_written_again() -> None:
    hub = Hub()
    _attached(hub, FakeTransport())
    subscription = hub.subscribe("gongshu")
    hub.publish("gongshu", _events(1, 2))  # pending for the attached screen
    taken = json.loads(await subscription.next())["seq"]
    assert taken == 1
    transport = FakeTransport()
    subscription.attach(transport)
    await _written(hub)
    assert transport.seqs() == [2]


# -- real sockets --------------------------------------------------------------------------

def _handshake(host: str, port: int) -> bytes:
    return (f"GET {PATH}?token={TOKEN} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Protocol: queue.v1\r\n\r\n").encode()


async def _open_raw_screen(host: str, port: int) -> socket.socket:
    """A screen on a socket with a tiny receive buffer, handshaken by hand; it reads the
    101 response byte by byte, so not one byte of a frame."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (host, port))
        await loop.sock_sendall(sock, _handshake(host, port))
        head = b""
        async with asyncio.timeout(3):
            while not head.endswith(b"\r\n\r\n"):
                byte = await loop.sock_recv(sock, 1)
                assert byte, f"connection closed during the handshake: {head!r}"
                head += byte
        assert head.startswith(b"HTTP/1.1 101 "), head
    except BaseException:
        sock.close()
        raise
    return sock


@pytest.fixture
async def server(aiohttp_server, fake: FakeHall, hub: Hub):
    return await aiohttp_server(screen_app(fake, hub))


@pytest.fixture
async def raw_screen(server):
    """Opens raw screens on `server`, and closes them before the server stops: a socket
    left unread would otherwise keep the server's shutdown waiting (see the shutdown test below)."""
    opened: list[socket.socket] = []

    async def open_one() -> socket.socket:
        sock = await _open_raw_screen(server.host, server.port)
        opened.append(sock)
        return sock

    yield open_one
    for sock in opened:
        sock.close()


class HealthyScreen:
    """A `queue.v1` client reading every frame as it comes, noting when each event came."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.arrived: dict[int, float] = {}
        self.order: list[int] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            decoded = decode(message.data)
            if isinstance(decoded, Event):
                self.arrived[decoded.seq] = loop.time()
                self.order.append(decoded.seq)

    async def until(self, seq: int, wait: float = 5.0) -> None:
        async with asyncio.timeout(wait):
            while seq not in self.arrived:
                assert not self.task.done(), f"connection ended: {self.ws.close_code}"
                await asyncio.sleep(0.005)


async def _healthy_screen(session: aiohttp.ClientSession, url: str) -> HealthyScreen:
    ws = await session.ws_connect(url + f"?token={TOKEN}", protocols=("queue.v1",))
    first = decode((await ws.receive(timeout=3)).data)
    assert isinstance(first, Snapshot)
    return HealthyScreen(ws)


async def _until_attached(hub: Hub, count: int) -> list[Any]:
    await _until(lambda: len(hub._attached.get("gongshu", ())) >= count, 3)
    attached = list(hub._attached["gongshu"])
    assert len(attached) == count and not hub._buffered.get("gongshu")
    return attached


async def _publish_until_dropped(hub: Hub, fake: FakeHall, slow: Any, *, after: int,
                                 published: dict[int, float]) -> float:
    """Publish ~65 KB events every 5 ms until `slow` is dropped, then `after` more; return
    when it was dropped. Each commit is published on its own, as the store does."""
    loop = asyncio.get_running_loop()
    big = ["请保管好随身物品" * 2700]  # ~65 KB a frame: 64-bit length headers
    dropped_at = None
    remaining = after
    async with asyncio.timeout(8):
        while remaining:
            event = fake.post_notices(big)
            hub.publish("gongshu", [event])
            published[event["seq"]] = loop.time()
            await asyncio.sleep(0.005)
            if dropped_at is None and slow.dropped:
                dropped_at = loop.time()
            if dropped_at is not None:
                remaining -= 1
    assert dropped_at is not None
    return dropped_at


def _assert_every_event_promptly(screens: list[HealthyScreen],
                                 published: dict[int, float]) -> None:
    seqs = sorted(published)
    assert seqs == list(range(1, len(seqs) + 1))
    last = seqs[-1]
    for screen in screens:
        assert screen.order == seqs  # every event, in order, once
        late = {seq: round(screen.arrived[seq] - published[seq], 3) for seq in seqs
                if screen.arrived[seq] - published[seq] > 1.0}
        assert not late, f"events arrived more than 1 s after publishing: {late}"
        assert screen.arrived[last] - published[last] < 1.0


async def test_a_screen_that_never_reads_is_dropped_and_cut_while_readers_get_every_event_promptly(
        server, raw_screen, fake: FakeHall, hub: Hub) -> None:
    loop = asyncio.get_running_loop()
    stalled = await raw_screen()  # ...and never read again
    (slow,) = await _until_attached(hub, 1)
    slow_transport = slow._transport
    async with aiohttp.ClientSession() as session:
        screens = [await _healthy_screen(session, str(server.make_url(PATH)))
                   for _ in range(3)]
        attached = await _until_attached(hub, 4)  # the attached path, not send_str
        assert all(subscription.attached for subscription in attached)

        published: dict[int, float] = {}
        dropped_at = await _publish_until_dropped(hub, fake, slow, after=20,
                                                  published=published)
        assert len(published) > 20 + MAX_BUFFERED_BYTES // 65_000
        assert hub.subscriber_count("gongshu") == 3
        last = max(published)
        for screen in screens:
            await screen.until(last, wait=2)
        _assert_every_event_promptly(screens, published)

        # The stuck socket is cut, freeing what was buffered for it, once its close frame
        # could not go out in time; the client has read nothing meanwhile.
        await _until(lambda: slow_transport.is_closing()
                     and not slow_transport.get_write_buffer_size(),
                     screens_module.DROP_CLOSE_TIMEOUT + 2, 0.01)
        assert loop.time() - dropped_at < screens_module.DROP_CLOSE_TIMEOUT + 1.5
        # The client sees its connection end (reset, or EOF after what the kernel held).
        async with asyncio.timeout(3):
            with contextlib.suppress(ConnectionResetError):
                while await loop.sock_recv(stalled, 1 << 20):
                    pass
        # The readers were not disturbed by the cut.
        event = fake.post_notices(["叫号"])
        hub.publish("gongshu", [event])
        for screen in screens:
            await screen.until(event["seq"], wait=1)
            await screen.ws.close()


async def test_a_screen_that_pauses_reading_is_told_too_slow_then_closed_with_4000(
        server, raw_screen, fake: FakeHall, hub: Hub) -> None:
    loop = asyncio.get_running_loop()
    paused = await raw_screen()
    (slow,) = await _until_attached(hub, 1)
    async with aiohttp.ClientSession() as session:
        screens = [await _healthy_screen(session, str(server.make_url(PATH)))
                   for _ in range(2)]
        await _until_attached(hub, 3)
        published: dict[int, float] = {}
        dropped_at = await _publish_until_dropped(hub, fake, slow, after=5,
                                                  published=published)

        # Read again, well within DROP_CLOSE_TIMEOUT: what was written, then why, then close.
        data, frames = b"", []
        async with asyncio.timeout(screens_module.DROP_CLOSE_TIMEOUT - 1):
            while not frames or frames[-1][0] != 0x88:
                chunk = await loop.sock_recv(paused, 1 << 20)
                assert chunk, "connection ended before the close frame"
                parsed, data = split_frames(data + chunk)
                frames += parsed
        assert loop.time() - dropped_at < screens_module.DROP_CLOSE_TIMEOUT
        # Answer the close, masked as a client must (mask 0: payload unchanged).
        await loop.sock_sendall(paused, bytes((0x88, 0x82, 0, 0, 0, 0)) + frames[-1][1][:2])

        *texts, (_, close) = frames
        assert all(first == 0x81 for first, _ in texts)
        messages = [decode(payload) for _, payload in texts]
        assert isinstance(messages[0], Snapshot)
        error = messages[-1]
        assert isinstance(error, Error) and error.code == "too_slow"
        seqs = [message.seq for message in messages[1:-1]]
        assert all(isinstance(message, Event) for message in messages[1:-1])
        assert seqs == list(range(1, len(seqs) + 1))  # in order, none twice, no gap
        assert len(seqs) < len(published)  # nothing after the drop
        assert struct.unpack("!H", close[:2])[0] == CLOSE_TOO_SLOW == 4000
        assert data == b""

        for screen in screens:
            await screen.until(max(published), wait=2)
        _assert_every_event_promptly(screens, published)
        for screen in screens:
            await screen.ws.close()


async def test_shutting_down_does_not_wait_forever_for_an_attached_screen_that_stopped_reading(
        fake: FakeHall, hub: Hub) -> None:
    server = ScreenServer(fake, hub)
    await server.start()
    stalled = await _open_raw_screen("127.0.0.1", server.port)
    stopping: asyncio.Task[None] | None = None
    try:
        (slow,) = await _until_attached(hub, 1)
        transport = slow._transport
        async with asyncio.timeout(5):
            while transport.get_write_buffer_size() < 96 * 1024:  # past aiohttp's pause
                hub.publish("gongshu", [fake.post_notices(["号" * 3000])])  # ~9 KB
                await asyncio.sleep(0.005)
        assert not slow.dropped  # under MAX_BUFFERED_BYTES: nothing will drop it
        stopping = asyncio.create_task(server.stop())
        done, _ = await asyncio.wait({stopping}, timeout=screens_module.DROP_CLOSE_TIMEOUT + 1)
        assert stopping in done, "server.stop() still waiting on the stalled screen"
    finally:
        stalled.close()  # a reset: lets a stuck shutdown finish
        async with asyncio.timeout(5):
            await (stopping if stopping is not None else server.stop())
