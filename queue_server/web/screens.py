"""The live screens: the `queue.v1` websocket endpoint, the hall and window pages, and the
server-rendered call announcements.

Wired by `add_screen_routes` against narrow callables, so this module knows nothing of the
store: a snapshot, the ledger after a seq, the latest seq, and display authentication.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import orjson
from aiohttp import WSMsgType, web
from yarl import URL

from queue_server.domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    QueueError,
    Unauthenticated,
    Unavailable,
)
from queue_server.protocol import (
    CLOSE_BAD_MESSAGE,
    CLOSE_GOING_AWAY,
    CLOSE_TOO_SLOW,
    CLOSE_TRY_AGAIN,
    CLOSE_UNSUPPORTED_DATA,
    MAX_RESYNC_EVENTS,
    MAX_SEQ,
    SUBPROTOCOL,
    Error,
    Event,
    Heartbeat,
    Ping,
    ProtocolError,
    Resync,
    Snapshot,
    announcement_for_event,
    decode,
    encode,
)
from queue_server.service.lifetimes import cancel_and_wait
from queue_server.web.hub import Heartbeats, Hub, Subscription, SubscriptionClosed
from queue_server.web.missing import KnownHall, hall_missing, window_missing
from queue_server.web.pairing import DeviceSockets
from queue_server.web.problem import from_error

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static" / "display"

#: Client → server frames are tiny; anything bigger is not a screen.
MAX_CLIENT_FRAME = 16 * 1024

#: How long a dropped (too slow) screen gets to take its error and close frames before its
#: socket is cut, and the bytes still buffered for it are freed.
DROP_CLOSE_TIMEOUT = 5.0

SnapshotSource = Callable[[str], Awaitable[dict[str, Any]]]
EventsAfter = Callable[[str, int, int], Awaitable[list[dict[str, Any]] | None]]
# What a token may do with a hall's screens: "allowed"; "forbidden" (a valid token that is not
# a screen's of this hall: 403); "unknown" (no such token, or expired: 401).
DisplayAccess = Literal["allowed", "forbidden", "unknown"]
AuthenticateDisplay = Callable[[str, str], Awaitable[DisplayAccess]]
LatestSeq = Callable[[str], Awaitable[int]]
#: (hall, token) -> a context held while the screen's socket is open (its presence, for the
#: managers' monitor); entered after the handshake was accepted.
Present = Callable[[str, str | None], contextlib.AbstractAsyncContextManager[None]]


@contextlib.asynccontextmanager
async def _absent(_hall: str, _token: str | None) -> AsyncIterator[None]:
    yield


class SpeechRenderer(Protocol):
    async def render(self, text: str) -> bytes: ...


def add_screen_routes(
    app: web.Application,
    *,
    hub: Hub,
    snapshot: SnapshotSource,
    events_after: EventsAfter,
    authenticate_display: AuthenticateDisplay,
    latest_seq: LatestSeq,
    halls: Iterable[KnownHall],
    allowed_origins: Callable[[], set[str]] | None = None,
    speech: SpeechRenderer | None = None,
    clock: Callable[[], datetime] | None = None,
    time_zone: str | None = None,
    heartbeat_interval: float = 10.0,
    present: Present | None = None,
    devices: DeviceSockets | None = None,
) -> None:
    """Add the websocket endpoint, the two pages, their static files and (with `speech`)
    the announcement WAVs; own the heartbeat task and close open screens on shutdown."""
    screens = _Screens(
        hub=hub, snapshot=snapshot, events_after=events_after,
        authenticate_display=authenticate_display, latest_seq=latest_seq,
        halls={h.id: h for h in halls}, allowed_origins=allowed_origins or (lambda: set()),
        speech=speech, clock=clock or _utc_now, present=present or _absent,
        devices=devices or DeviceSockets())
    heartbeats = Heartbeats(hub, latest_seq, screens.clock, interval=heartbeat_interval)
    app.router.add_get("/ws/v1/halls/{hall}", screens.websocket)
    app.router.add_get("/display/hall/{hall}", screens.hall_page)
    app.router.add_get(r"/display/window/{hall}/{window:[0-9]{1,4}}", screens.window_page)
    app.router.add_get("/api/v1/halls/{hall}/device-check", screens.device_check)
    app.router.add_static("/display/static/", STATIC_DIR)
    app.router.add_get(TIME_ZONE_SCRIPT, _time_zone_script(screens.clock, time_zone))
    if speech is not None:
        app.router.add_get(r"/api/v1/halls/{hall}/announcements/{seq}.wav",
                           screens.announcement)

    async def run_heartbeats(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(heartbeats.run(), name="screen heartbeats")
        yield
        await cancel_and_wait(task)

    app.cleanup_ctx.append(run_heartbeats)
    app.on_shutdown.append(screens.close_all)


#: Every page that shows times (screens, kiosk, ticket, staff, evaluate) loads this first: a
#: classic script, before the page's modules.
TIME_ZONE_SCRIPT = "/display/time-zone.js"


def _time_zone_script(
    clock: Callable[[], datetime], time_zone: str | None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The hall's time zone ([time] timezone) and the server's clock, as globals for the pages:
    window.HALL_TIME_ZONE (an IANA name, for Intl.DateTimeFormat) and
    window.HALL_CLOCK_OFFSET_MS (the server's clock minus the browser's, when the script ran)."""

    async def handler(_request: web.Request) -> web.Response:
        now = clock()
        zone = time_zone or getattr(now.tzinfo, "key", None) or "UTC"
        body = (
            "// The hall's time zone and the server's clock (queue_server/web/screens.py).\n"
            f"window.HALL_TIME_ZONE = {orjson.dumps(zone).decode()};\n"
            f"window.HALL_CLOCK_OFFSET_MS = Date.parse({orjson.dumps(now.isoformat()).decode()}) - Date.now();\n"
        )
        return web.Response(text=body, content_type="text/javascript", headers={"Cache-Control": "no-store"})

    return handler


def _utc_now() -> datetime:
    """The default clock; the app passes the services' clock in the hall's time zone."""
    return datetime.now(UTC)


def problem(error: QueueError, **headers: str) -> web.Response:
    """An `application/problem+json` answer (RFC 9457) with the error's code."""
    response = from_error(error)
    response.headers.update(headers)
    return response


@dataclass
class _Screens:
    hub: Hub
    snapshot: SnapshotSource
    events_after: EventsAfter
    authenticate_display: AuthenticateDisplay
    latest_seq: LatestSeq
    halls: dict[str, KnownHall]  # the configuration's, read once: every handshake looks here
    allowed_origins: Callable[[], set[str]]
    speech: SpeechRenderer | None
    clock: Callable[[], datetime]
    present: Present
    devices: DeviceSockets

    def __post_init__(self) -> None:
        # Open screens, to close on shutdown (their subscription first: no event may follow
        # the close frame).
        self.sockets: dict[web.WebSocketResponse, Subscription] = {}
        # Screens reconnecting together (a restart, a network blip) share one snapshot.
        self._snapshots: dict[str, asyncio.Task[tuple[int, str]]] = {}

    # -- websocket -------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        hall = request.match_info["hall"]
        refusal = await self._refusal(request, hall)
        if refusal is not None:
            return refusal
        try:
            field = "window"
            window = _optional_int(request.query, "window", minimum=1)
            field = "after"
            after = _optional_int(request.query, "after", minimum=0)
        except ValueError as exc:
            return problem(InvalidInput("input.bad_query", field=field, reason=str(exc)))
        area = request.query.get("area") or None

        ws = web.WebSocketResponse(
            protocols=(SUBPROTOCOL,), heartbeat=30.0, max_msg_size=MAX_CLIENT_FRAME,
            # One encoded frame goes to every screen: per-connection deflate would redo the
            # work 5000 times and hold a zlib context per screen.
            compress=False)
        # Subscribe before reading the snapshot so no event can fall between the two; the
        # screen ignores the frames the snapshot already covers.
        subscription = self.hub.subscribe(hall, area=area, window=window)
        try:
            await ws.prepare(request)
            self.sockets[ws] = subscription
            async with self.present(hall, _token(request)), self.devices.open(_token(request), ws):
                await _Connection(self, ws, hall, subscription).run(after)
        finally:
            subscription.close()
            self.sockets.pop(ws, None)
        return ws

    async def _refusal(self, request: web.Request, hall: str) -> web.Response | None:
        """The HTTP answer refusing this handshake, or None to accept it."""
        known = self.known(hall)
        if known is None:
            return problem(NotFound("hall.unknown", hall=hall))
        window = request.query.get("window", "")
        if window.isascii() and window.isdigit() and int(window) not in known.windows:
            # a window screen or tablet of a window that is gone: its page shows the Chinese
            # not-found page (the bad-number case is the handler's, with its 400)
            shown = ", ".join(str(n) for n in known.windows)
            return problem(NotFound("window.unknown", hall=hall, window=int(window), known=shown))
        offered = _offered_subprotocols(request)
        if SUBPROTOCOL not in offered:
            shown = ", ".join(offered) if offered else "none"
            return problem(InvalidInput("input.subprotocol_required", subprotocol=SUBPROTOCOL, offered=shown),
                           **{"Sec-WebSocket-Protocol": SUBPROTOCOL})
        origin = request.headers.get("Origin")
        if origin is not None and not self._origin_allowed(origin, request.host):
            return problem(Forbidden("auth.origin_not_allowed", origin=origin))
        return await self._unauthenticated(request, hall)

    async def _unauthenticated(self, request: web.Request, hall: str) -> web.Response | None:
        token = _token(request)
        try:
            access = await self.authenticate_display(hall, token) if token else "unknown"
        except Exception as exc:  # the store is down: say so rather than 500
            log.warning("cannot check a display token of hall %s: %s", hall, exc)
            return problem(Unavailable("unavailable.auth", hall=hall, retry_after=5))
        if access == "allowed":
            return None
        if access == "forbidden":
            return problem(Forbidden("auth.not_this_screen", hall=hall))
        return problem(Unauthenticated("auth.display_token_required", hall=hall),
                       **{"WWW-Authenticate": 'Bearer realm="display"'})

    def _origin_allowed(self, origin: str, host: str) -> bool:
        normal = _normal_origin(origin)
        if normal is None:  # "null" (a file: page, a sandbox) or garbage
            return False
        if normal in {_normal_origin(allowed) for allowed in self.allowed_origins()}:
            return True
        own = URL(f"http://{host}")
        theirs = URL(normal)
        return (theirs.host or "").lower() == (own.host or "").lower() and \
            theirs.explicit_port == own.explicit_port

    async def snapshot_frame(self, hall: str) -> tuple[int, str]:
        task = self._snapshots.get(hall)
        if task is None:
            task = asyncio.create_task(self._encode_snapshot(hall))
            self._snapshots[hall] = task
            task.add_done_callback(lambda done: self._forget_snapshot(hall, done))
        # shield: one screen leaving must not cancel the snapshot the others wait for.
        return await asyncio.shield(task)

    def _forget_snapshot(self, hall: str, task: asyncio.Task[tuple[int, str]]) -> None:
        if self._snapshots.get(hall) is task:
            del self._snapshots[hall]
        if not task.cancelled():
            task.exception()  # each waiter has its own copy; none left must not log it twice

    async def _encode_snapshot(self, hall: str) -> tuple[int, str]:
        body = await self.snapshot(hall)
        return body["seq"], encode(Snapshot(body["seq"], body))

    async def close_all(self, _app: web.Application) -> None:
        sockets = list(self.sockets)
        for subscription in self.sockets.values():
            subscription.close()
        await asyncio.gather(*(_close_within(ws, CLOSE_WITHIN) for ws in sockets),
                             return_exceptions=True)

    # -- pages -----------------------------------------------------------------------------

    def hall_exists(self, hall: str) -> bool:
        return self.known(hall) is not None

    def known(self, hall: str) -> KnownHall | None:
        return self.halls.get(hall)

    async def hall_page(self, request: web.Request) -> web.StreamResponse:
        hall = request.match_info["hall"]
        if not self.hall_exists(hall):
            return hall_missing(request, hall, list(self.halls.values()), "/display/hall/{hall}", "大厅屏")
        return _page(STATIC_DIR / "hall.html")

    async def window_page(self, request: web.Request) -> web.StreamResponse:
        hall = request.match_info["hall"]
        known = self.known(hall)
        if known is None:
            return hall_missing(request, hall, list(self.halls.values()), "/display/window/{hall}/1", "窗口屏")
        window = int(request.match_info["window"])
        if window not in known.windows:
            return window_missing(request, known, window, "/display/window/{hall}/{window}", "窗口屏")
        return _page(STATIC_DIR / "window.html")

    async def device_check(self, request: web.Request) -> web.Response:
        """What a device page asks when its socket will not open, to tell the cases apart: 200
        (the page may connect: the fault was the network's), 404 (no such hall or window: the
        page reloads into the Chinese not-found page), 401 (no valid token: it pairs again),
        403 (a token of another hall: it goes to its own page), 503 (the server cannot check)."""
        hall = request.match_info["hall"]
        known = self.known(hall)
        if known is None:
            return problem(NotFound("hall.unknown", hall=hall))
        try:
            window = _optional_int(request.query, "window", minimum=1)
        except ValueError as exc:
            return problem(InvalidInput("input.bad_query", field="window", reason=str(exc)))
        if window is not None and window not in known.windows:
            shown = ", ".join(str(n) for n in known.windows)
            return problem(NotFound("window.unknown", hall=hall, window=window, known=shown))
        refusal = await self._unauthenticated(request, hall)
        if refusal is not None:
            return refusal
        return web.Response(body=b'{"access":"allowed"}', content_type="application/json",
                            headers={"Cache-Control": "no-store"})

    async def announcement(self, request: web.Request) -> web.StreamResponse:
        assert self.speech is not None
        hall = request.match_info["hall"]
        try:
            seq = _optional_int(request.match_info, "seq", minimum=1)
        except ValueError as exc:
            return problem(InvalidInput("input.bad_query", field="seq", reason=str(exc)))
        assert seq is not None
        if not self.hall_exists(hall):
            return problem(NotFound("hall.unknown", hall=hall))
        refusal = await self._unauthenticated(request, hall)
        if refusal is not None:
            return refusal
        events = await self.events_after(hall, seq - 1, 1) if seq > 0 else None
        event = events[0] if events and events[0].get("seq") == seq else None
        text = announcement_for_event(event) if event is not None else None
        if text is None:
            return problem(NotFound("announcement.unknown", hall=hall, seq=seq))
        try:
            wav = await self.speech.render(text)
        except Exception as exc:  # the renderer's error is the detail; screens fall back
            log.warning("cannot render announcement %s of hall %s: %s", seq, hall, exc)
            return problem(Unavailable("unavailable.speech", reason=str(exc), retry_after=60))
        return web.Response(body=wav, content_type="audio/wav",
                            headers={"Cache-Control": "private, max-age=86400"})


class _Connection:
    """One screen: catch up, then take the hub's frames while answering resync and ping.

    After the catch-up the hub writes the hall's frames straight to the screen's socket
    (`Subscription.attach`): no task of this screen wakes up for them, and none waits for
    them (a task starts only to close a screen the hub dropped). Only when that socket is
    unavailable does `_forward` take the frames from the subscription and send them.
    """

    __slots__ = ("screens", "ws", "hall", "subscription", "_sending", "_closer")

    def __init__(self, screens: _Screens, ws: web.WebSocketResponse, hall: str,
                 subscription: Subscription) -> None:
        self.screens = screens
        self.ws = ws
        self.hall = hall
        self.subscription = subscription
        self._sending = asyncio.Lock()
        self._closer: asyncio.Task[None] | None = None

    async def run(self, after: int | None) -> None:
        forwarder: asyncio.Task[None] | None = None
        try:
            await self._catch_up(after)
            transport = _raw_transport(self.ws)
            if transport is not None:
                self.subscription.attach(transport, on_drop=self._dropped)
            else:
                forwarder = asyncio.create_task(self._forward())
            async for message in self.ws:
                if message.type == WSMsgType.TEXT:
                    await self._answer(message.data)
                elif message.type == WSMsgType.BINARY:
                    await self._refuse("binary_frame", "queue.v1 uses text frames only",
                                       CLOSE_UNSUPPORTED_DATA)
                elif message.type == WSMsgType.ERROR:
                    log.info("screen of hall %s: %s", self.hall, self.ws.exception())
        except _Unavailable as exc:
            log.warning("closing a screen: %s", exc, exc_info=exc.__cause__)
            await self._refuse("unavailable", str(exc), CLOSE_TRY_AGAIN)
        except ConnectionError:  # the screen went away mid-send
            pass
        finally:
            for task in (forwarder, self._closer):
                if task is not None:
                    await cancel_and_wait(task)

    async def _answer(self, data: str) -> None:
        try:
            message = decode(data)
        except ProtocolError as exc:
            await self._refuse("bad_message", str(exc), CLOSE_BAD_MESSAGE)
            return
        match message:
            case Resync(after):
                await self._catch_up(after)
            case Ping():
                try:
                    seq = await self.screens.latest_seq(self.hall)
                except Exception as exc:
                    raise _Unavailable(f"hall {self.hall}: latest seq unavailable") from exc
                await self._send(encode(Heartbeat(seq, self._now())))
            case _:
                await self._refuse("bad_message", f"a client may not send "
                                   f"{type(message).__name__.lower()} messages",
                                   CLOSE_BAD_MESSAGE)

    async def _catch_up(self, after: int | None) -> None:
        """The events after `after` if the ledger has them, else a snapshot."""
        try:
            events = None if after is None else await self.screens.events_after(
                self.hall, after, MAX_RESYNC_EVENTS + 1)
            if events is None or len(events) > MAX_RESYNC_EVENTS:
                frames = [(await self.screens.snapshot_frame(self.hall))[1]]
            else:
                frames = [encode(Event(event["seq"], event)) for event in events]
                # Confirms where the screen now stands, even when nothing was missed: the
                # screen clears its "resync pending" and its offline mark at once.
                last = events[-1]["seq"] if events else after
                frames.append(encode(Heartbeat(last, self._now())))
        except Exception as exc:
            raise _Unavailable(f"hall {self.hall}: snapshot or ledger unavailable") from exc
        for frame in frames:
            await self._send(frame)

    async def _forward(self) -> None:
        try:
            while True:
                frame = await self.subscription.next()
                await self._send(frame)
        except SubscriptionClosed as closed:
            if closed.dropped:
                await self._drop_too_slow()
        except ConnectionError:  # the screen went away mid-send; the reader notices too
            pass

    def _dropped(self) -> None:
        """The hub dropped this screen (called from its write round)."""
        if self._closer is None:
            self._closer = asyncio.create_task(self._drop_too_slow())

    async def _drop_too_slow(self) -> None:
        """Tell the screen and close; a peer that does not read gets its socket cut, which
        frees what is buffered for it."""
        transport = _raw_transport(self.ws)
        try:
            async with asyncio.timeout(DROP_CLOSE_TIMEOUT):
                await self._refuse("too_slow", "this screen fell behind and was dropped; "
                                   "reconnect with after=<last seq>", CLOSE_TOO_SLOW)
        except TimeoutError:
            log.info("screen of hall %s: dropped, and not reading its close frame", self.hall)
        finally:
            if transport is not None and transport.get_write_buffer_size():
                transport.abort()

    async def _send(self, frame: str) -> None:
        async with self._sending:
            await self.ws.send_str(frame)

    async def _refuse(self, code: str, detail: str, close_code: int) -> None:
        self.subscription.close()  # nothing from the hub after the error and close frames
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._send(encode(Error(code, detail)))
        await self.ws.close(code=close_code, message=code.encode())

    def _now(self) -> str:
        return self.screens.clock().isoformat(timespec="seconds")


class _Unavailable(Exception):
    """The store behind the screens failed; the screen should reconnect later."""


#: Seconds a screen gets to take its close frame at shutdown before its socket is cut.
CLOSE_WITHIN = 2.0


async def _close_within(ws: web.WebSocketResponse, seconds: float) -> None:
    """Close a screen, but never wait on it for long: a screen that stopped reading (whose
    socket the hub's raw writes left full) would keep aiohttp's close, and the shutdown,
    waiting for the buffer to drain."""
    transport = _raw_transport(ws)
    try:
        async with asyncio.timeout(seconds):
            await ws.close(code=CLOSE_GOING_AWAY, message=b"server shutting down")
    except TimeoutError:
        if transport is not None:
            transport.abort()


def _raw_transport(ws: web.WebSocketResponse) -> asyncio.WriteTransport | None:
    """The socket under a prepared `ws`, for the hub to write its pre-built frames to, or
    None to fall back to `send_str` (one task wake-up per frame and screen).

    aiohttp has no public handle on it: this reads private attributes (`ws._writer`, a
    `WebSocketWriter`, and its `transport`; aiohttp 3.9 to 3.14). Anything unexpected means
    the fallback. Raw frames are only valid on an unmasked writer without permessage-deflate:
    the endpoint never negotiates compression (`compress=False`), checked here again.
    """
    if ws.compress or ws.closed:
        return None
    writer = getattr(ws, "_writer", None)
    if writer is None or getattr(writer, "compress", True) or getattr(writer, "use_mask", True):
        return None
    transport = getattr(writer, "transport", None)
    if not all(callable(getattr(transport, name, None)) for name in _TRANSPORT_METHODS):
        return None
    if transport.is_closing():
        return None
    return transport


_TRANSPORT_METHODS = ("write", "get_write_buffer_size", "is_closing", "abort")


def _offered_subprotocols(request: web.Request) -> list[str]:
    return [name.strip() for header in request.headers.getall("Sec-WebSocket-Protocol", ())
            for name in header.split(",") if name.strip()]


def _token(request: web.Request) -> str | None:
    authorization = request.headers.get("Authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.query.get("token") or None


def _normal_origin(origin: str) -> str | None:
    try:
        url = URL(origin.strip().rstrip("/"))
    except ValueError:
        return None
    if not url.scheme or not url.host:
        return None
    port = f":{url.explicit_port}" if url.explicit_port is not None else ""
    return f"{url.scheme.lower()}://{url.host.lower()}{port}"


def _optional_int(query: Any, name: str, *, minimum: int) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    # ASCII digits only: int() would take "١" (Arabic-Indic one) and "1_000".
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not minimum <= int(raw) <= MAX_SEQ:
        raise ValueError(f"{name} 须为 {minimum} 到 {MAX_SEQ} 的整数，收到的是 {raw[:40]!r}")
    return int(raw)


def _page(path: Path) -> web.FileResponse:
    return web.FileResponse(path, headers={
        "Cache-Control": "no-cache",
        "Content-Security-Policy": (
            "default-src 'self'; img-src 'self' data: blob: https: http:; "
            "media-src 'self' blob: data:; connect-src 'self' ws: wss:; "
            "style-src 'self'; script-src 'self'"),
        "X-Content-Type-Options": "nosniff",
    })
