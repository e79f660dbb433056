"""大厅监控 live: the monitor websocket, its per-hall feeds, the alert routes, and the presence of
the hall's screens.

One feed per watched hall and process: it listens to the hall's events on the hub (the relay
delivers every process's events there), and after each it reads one fresh view of the hall
(service/monitor.py) — at most one read in flight and one queued, so a burst of events costs two
reads, not one per event — and hands the encoded view to every page watching the hall. A page
keeps only the latest view per hall: one that does not read holds one view per hall, never a
growing queue. A feed also refreshes every REFRESH_SECONDS (a screen's presence, a printer's
state reported to another process) and ends when its last page leaves.

The page signs in like the other console pages; its token goes in the first message on the
socket, never in the URL (which proxies and logs keep):
    → {"token": "...", "halls": ["gongshu"]}     ← {"type": "view", "hall": ..., "view": {...}}
    ← {"type": "error", "status": 403, "detail": "..."} and the socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import orjson
from aiohttp import WSMsgType, web

from ..domain.errors import Forbidden, InvalidInput, QueueError, Unavailable
from ..service.lifetimes import cancel_and_wait
from ..service.monitor import MonitorService
from .api import json_response, principal_of, staff_of_hall
from .hub import Hub, SubscriptionClosed
from .keys import ALERTS, AUTH, MONITOR
from .problem import status_of

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

REFRESH_SECONDS = 10.0
#: How long a page has to send its first message (token and halls).
HELLO_SECONDS = 10.0
MAX_HALLS = 50
#: How often a watching page's token and rights are checked again.
RECHECK_SECONDS = 30.0


class _Page:
    """One watching page: the latest view of each hall it watches, written by one task."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.latest: dict[str, str] = {}
        self.ready = asyncio.Event()

    def offer(self, hall: str, frame: str) -> None:
        self.latest[hall] = frame
        self.ready.set()

    async def write_forever(self) -> None:
        while True:
            await self.ready.wait()
            self.ready.clear()
            frames, self.latest = self.latest, {}
            for frame in frames.values():
                await self.ws.send_str(frame)


class _Feed:
    def __init__(self, feeds: MonitorFeeds, hall: str) -> None:
        self.feeds = feeds
        self.hall = hall
        self.pages: set[_Page] = set()
        self.dirty = asyncio.Event()
        self.frame: str | None = None
        self.task = asyncio.create_task(self._run(), name=f"monitor-{hall}")

    async def _run(self) -> None:
        listener = asyncio.create_task(self._listen(), name=f"monitor-listen-{self.hall}")
        try:
            self.dirty.set()
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.dirty.wait(), REFRESH_SECONDS)
                self.dirty.clear()
                try:
                    view = await self.feeds.monitor.view(self.hall)
                except Exception as exc:  # the database is away: try again on the next event or tick
                    log.warning("monitor view of hall %s failed: %s", self.hall, exc)
                    await asyncio.sleep(1.0)
                    continue
                self.frame = orjson.dumps({"type": "view", "hall": self.hall, "view": view}).decode()
                for page in tuple(self.pages):
                    page.offer(self.hall, self.frame)
        finally:
            await cancel_and_wait(listener)

    async def _listen(self) -> None:
        while True:
            subscription = self.feeds.hub.subscribe(self.hall)
            try:
                while True:
                    await subscription.next()
                    self.dirty.set()
            except SubscriptionClosed:
                self.dirty.set()  # frames were lost: read the hall afresh
            finally:
                subscription.close()

    def poke(self) -> None:
        self.dirty.set()


class MonitorFeeds:
    def __init__(self, hub: Hub, monitor: MonitorService) -> None:
        self.hub = hub
        self.monitor = monitor
        self.feeds: dict[str, _Feed] = {}

    def watch(self, hall: str, page: _Page) -> None:
        feed = self.feeds.get(hall)
        if feed is None:
            feed = self.feeds[hall] = _Feed(self, hall)
        feed.pages.add(page)
        if feed.frame is not None:
            page.offer(hall, feed.frame)

    async def leave(self, page: _Page) -> None:
        for hall, feed in list(self.feeds.items()):
            feed.pages.discard(page)
            if not feed.pages:
                del self.feeds[hall]
                await cancel_and_wait(feed.task)

    def poke(self, hall: str) -> None:
        feed = self.feeds.get(hall)
        if feed is not None:
            feed.poke()

    async def close(self) -> None:
        while self.feeds:
            _, feed = self.feeds.popitem()
            await cancel_and_wait(feed.task)


FEEDS = web.AppKey("monitor-feeds", MonitorFeeds)


async def _refuse(ws: web.WebSocketResponse, error: QueueError) -> web.WebSocketResponse:
    await ws.send_str(orjson.dumps({"type": "error", "status": status_of(error), "code": error.code,
                                    "detail": error.detail}).decode())
    await ws.close()
    return ws


@routes.get("/ws/v1/monitor")
async def monitor_socket(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=16 * 1024, compress=False)
    await ws.prepare(request)
    try:
        msg = await asyncio.wait_for(ws.receive(), HELLO_SECONDS)
    except TimeoutError:
        return await _refuse(ws, InvalidInput("input.bad_query", field="hello", reason="no first message"))
    if msg.type is not WSMsgType.TEXT:
        await ws.close()
        return ws
    try:
        hello = orjson.loads(msg.data)
        token, halls = hello.get("token"), hello.get("halls")
        if not isinstance(token, str) or not isinstance(halls, list) or not halls or len(halls) > MAX_HALLS \
                or not all(isinstance(h, str) for h in halls):
            raise ValueError("须为 {\"token\": 令牌, \"halls\": [大厅, …]}")
    except (ValueError, AttributeError) as exc:
        return await _refuse(ws, InvalidInput("input.bad_query", field="hello", reason=str(exc)))
    monitor = request.app[MONITOR]
    try:
        principal = await request.app[AUTH].authenticate(token)
        for hall in halls:
            monitor.require_watch(principal, hall)
    except QueueError as exc:
        return await _refuse(ws, exc)
    page = _Page(ws)
    feeds = request.app[FEEDS]
    writer = asyncio.create_task(page.write_forever(), name="monitor page writer")
    reader = asyncio.create_task(_read_until_gone(ws), name="monitor page reader")
    try:
        for hall in dict.fromkeys(halls):
            feeds.watch(hall, page)
        while not (writer.done() or reader.done()):
            await asyncio.wait((writer, reader), timeout=RECHECK_SECONDS)
            try:  # a manager disabled, signed out or moved stops watching within this time
                principal = await request.app[AUTH].authenticate(token)
                for hall in halls:
                    monitor.require_watch(principal, hall)
            except Unavailable:
                continue
            except QueueError as exc:
                await feeds.leave(page)
                await cancel_and_wait(writer)
                return await _refuse(ws, exc)
    finally:
        await feeds.leave(page)
        await cancel_and_wait(writer)
        await cancel_and_wait(reader)
    return ws


async def _read_until_gone(ws: web.WebSocketResponse) -> None:
    async for incoming in ws:  # the page sends nothing more; read until it goes
        if incoming.type is WSMsgType.ERROR:
            return


@routes.get("/api/v1/halls/{hall}/monitor")
async def monitor_view(request: web.Request) -> web.Response:
    """The same view as the websocket sends, once (for scripts, and a page's first paint)."""
    hall = request.match_info["hall"]
    principal = await principal_of(request)
    request.app[MONITOR].require_watch(principal, hall)
    return json_response(await request.app[MONITOR].view(hall))


@routes.get("/api/v1/monitor/halls")
async def watchable_halls(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    monitor = request.app[MONITOR]
    halls = monitor.watchable(principal)
    if not halls:
        raise Forbidden("auth.monitor", who=f"{principal.role} {principal.id}", hall="任何")
    config = monitor.queue.config
    return json_response({
        "staff_id": principal.id, "name": principal.name, "role": principal.role,
        "hall": principal.hall, "region": principal.region,
        "may_acknowledge": [h for h in halls if principal.may_enter(h)],
        "halls": [{"id": h, "name": config.halls[h].name} for h in halls],
    })


@routes.get("/api/v1/halls/{hall}/alerts")
async def list_alerts(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    return json_response({"hall": hall, "alerts": await request.app[ALERTS].recent(hall, principal)})


@routes.post("/api/v1/halls/{hall}/alerts/{id}/acknowledge")
async def acknowledge_alert(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    alert_id = request.match_info["id"]
    if len(alert_id) > 40:
        raise InvalidInput("input.too_long", field="id", length=len(alert_id), limit=40)
    return json_response(await request.app[ALERTS].acknowledge(hall, alert_id, principal))


class ScreenPresence:
    """Which registered screens have a socket open in this process; the database learns when
    the first opens and the last closes, and every PRESENCE_SECONDS while one is open."""

    def __init__(self, monitor: MonitorService, feeds: MonitorFeeds) -> None:
        self.monitor = monitor
        self.feeds = feeds
        self.open: dict[tuple[str, str], int] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def _save(self, hall: str, name: str, connected: bool) -> None:
        async def save() -> None:
            try:
                await self.monitor.presence(hall, name, connected)
            except Exception as exc:
                log.warning("cannot record screen %s of hall %s as %s: %s", name, hall,
                            "connected" if connected else "gone", exc)
            self.feeds.poke(hall)

        task = asyncio.create_task(save())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @contextlib.asynccontextmanager
    async def connected(self, hall: str, name: str) -> AsyncIterator[None]:
        key = (hall, name)
        self.open[key] = self.open.get(key, 0) + 1
        if self.open[key] == 1:
            self._save(hall, name, True)
        try:
            yield
        finally:
            self.open[key] -= 1
            if not self.open[key]:
                del self.open[key]
                self._save(hall, name, False)

    async def refresh_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            for hall, name in list(self.open):
                self._save(hall, name, True)


def add_monitor_routes(app: web.Application, hub: Hub) -> None:
    app.add_routes(routes)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        app[FEEDS] = MonitorFeeds(hub, app[MONITOR])
        yield
        await app[FEEDS].close()

    app.cleanup_ctx.append(lifetime)


