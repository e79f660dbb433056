"""Kiosk printing over HTTP and websocket: the printer channel, the kiosk's view, reprints, previews."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time as monotime
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSMsgType, web

from ..domain.errors import InvalidInput, QueueError
from ..protocol import CLOSE_GOING_AWAY, SUBPROTOCOL, Ping, ProtocolError
from ..protocol.printing import JobResult, PrinterState, PrintJob, decode_printer, encode_printer
from ..service.principal import Principal
from ..service.printing import require_printer
from .api import bearer, idempotency_key, json_response, principal_of, read_json, staff_of_hall
from .hub import Hub, SubscriptionClosed
from .keys import AUTH, PRINTS
from .pairing import DEVICE_SOCKETS
from .problem import from_error

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0  # jobs are also looked for on every hall event; this is the safety net
RESEND_SECONDS = 30.0  # a job sent but not answered is sent again (the client dedups by id)

routes = web.RouteTableDef()


@routes.get("/ws/v1/printer")
async def printer_socket(request: web.Request) -> web.StreamResponse:
    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    if SUBPROTOCOL not in offered:
        return from_error(InvalidInput("input.subprotocol_required", subprotocol=SUBPROTOCOL))
    token = request.query.get("token") or bearer(request)
    try:
        principal = await request.app[AUTH].authenticate(token)
        require_printer(principal)
    except QueueError as exc:
        return from_error(exc)
    ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,), heartbeat=30.0, max_msg_size=64 * 1024)
    await ws.prepare(request)
    async with request.app[DEVICE_SOCKETS].open(token, ws):
        await _PrinterChannel(request.app, ws, principal).run()
    return ws


class _PrinterChannel:
    """One connected printer: send its pending jobs, take results and states."""

    def __init__(self, app: web.Application, ws: web.WebSocketResponse, printer: Principal) -> None:
        self.prints = app[PRINTS]
        registry = app[PRINTERS]
        self.hub: Hub = registry.hub
        self.channels = registry.channels
        self.leaving = registry.leaving
        self.ws = ws
        self.printer = printer
        self.sent: dict[str, float] = {}
        # Jobs the printer could not print: sent again once it reports itself ready (or
        # after a reconnect), not on every poll, which would make it query a dead printer.
        self.failed: set[str] = set()
        self.wake = asyncio.Event()

    async def run(self) -> None:
        assert self.printer.hall is not None
        key = (self.printer.hall, self.printer.id)
        self.channels[key] = self
        subscription = self.hub.subscribe(self.printer.hall)
        tasks = [
            asyncio.create_task(self._deliver(), name="printer deliver"),
            asyncio.create_task(self._watch(subscription), name="printer watch"),
        ]
        try:
            await self._receive()
        finally:
            subscription.close()
            for task in tasks:
                task.cancel()
            # The kiosk is told even when this handler is cancelled (the client dropped the
            # connection, or the server stops): in a task of its own, which the app waits
            # for before closing the database. Our own cancellation is not swallowed.
            gone = asyncio.create_task(self._gone(key, tasks), name="printer gone")
            self.leaving.add(gone)
            gone.add_done_callback(self.leaving.discard)
            await asyncio.shield(gone)

    async def _gone(self, key: tuple[str, str], tasks: list[asyncio.Task[None]]) -> None:
        await asyncio.gather(*tasks, return_exceptions=True)  # their errors are logged already
        if self.channels.get(key) is self:
            # Gone, and no newer connection of the same printer here: the kiosk must not keep
            # promising paper tickets.
            del self.channels[key]
            try:
                await self.prints.status(self.printer, PrinterState(False, detail="打印客户端已断开"))
            except Exception:  # the database is away; the kiosk view shows the last state
                log.warning("cannot record that printer %s is gone", self.printer.id, exc_info=True)

    async def _watch(self, subscription: Any) -> None:
        """Any event of the hall may be a new ticket for this kiosk: look for jobs."""
        with contextlib.suppress(SubscriptionClosed):
            while True:
                await subscription.next()
                self.wake.set()

    async def _deliver(self) -> None:
        while not self.ws.closed:
            try:
                jobs = await self.prints.pending(self.printer)
            except Exception:  # the database is away: the poll retries
                log.warning("cannot read print jobs of %s", self.printer.id, exc_info=True)
                jobs = []
            now = monotime.monotonic()
            for job in jobs:
                if job["id"] in self.failed:
                    continue
                last = self.sent.get(job["id"])
                if last is not None and now - last < RESEND_SECONDS:
                    continue
                self.sent[job["id"]] = now
                await self.ws.send_str(encode_printer(PrintJob(job)))
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await self.wake.wait()

    async def _receive(self) -> None:
        async for msg in self.ws:
            if msg.type is not WSMsgType.TEXT:
                if msg.type is WSMsgType.BINARY:
                    await self.ws.close(code=1003, message=b"text frames only")
                break
            try:
                message = decode_printer(msg.data)
            except ProtocolError as exc:
                await self.ws.close(code=1008, message=str(exc)[:120].encode())
                break
            match message:
                case JobResult(id=job_id, printed=printed, error=error):
                    await self.prints.result(self.printer, job_id, printed, error)
                    if not printed:
                        # Kept pending: sent again once the printer says it is ready.
                        self.sent.pop(job_id, None)
                        self.failed.add(job_id)
                case PrinterState():
                    await self.prints.status(self.printer, message)
                    if message.ready and self.failed:
                        self.failed.clear()
                        self.wake.set()
                case Ping():
                    await self.ws.send_str('{"type":"pong"}')
                case _:
                    await self.ws.close(code=1008, message=b"unexpected message")
                    break


@routes.get("/api/v1/halls/{hall}/kiosk")
async def kiosk_view(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    return json_response(await request.app[PRINTS].kiosk_view(request.match_info["hall"], principal))


@routes.get("/api/v1/print-jobs/{id}")
async def print_job(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    return json_response(await request.app[PRINTS].job(request.match_info["id"], principal))


@routes.post("/api/v1/halls/{hall}/tickets/{number}/reprint")
async def reprint(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request)
    body = await read_json(request)
    kiosk = body.get("kiosk")
    if not isinstance(kiosk, str) or not kiosk.strip():
        raise InvalidInput("input.missing_field", field="kiosk")
    job = await request.app[PRINTS].reprint(hall, request.match_info["number"], kiosk.strip(), principal,
                                            idempotency_key(request))
    return json_response(job, 201)


@routes.get("/api/v1/tickets/{id}/preview.png")
async def preview(request: web.Request) -> web.Response:
    paper = request.query.get("paper")
    if paper not in (None, "58", "80"):
        raise InvalidInput("input.paper_width", field="paper")
    png = await request.app[PRINTS].preview_png(request.match_info["id"], int(paper) if paper else None)
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})


class Printers:
    """The printers connected to one app: owned by the app (no module-level state), so two
    apps in one process (tests, or a future multi-tenant server) never share a registry."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        # The latest connection of each printer, by (hall, printer name).
        self.channels: dict[tuple[str, str], _PrinterChannel] = {}
        # The tasks telling kiosks that their printer left, still running.
        self.leaving: set[asyncio.Task[None]] = set()

    async def close_all(self) -> None:
        """Every printer told the server is going away (1001)."""
        channels = list(self.channels.values())
        await asyncio.gather(*(_close_going_away(c.ws) for c in channels), return_exceptions=True)

    async def wait_leaving(self) -> None:
        """Wait (bounded) for the kiosks to be told their printers left, before the database closes."""
        if self.leaving:
            await asyncio.wait(set(self.leaving), timeout=CLOSE_WITHIN)


PRINTERS = web.AppKey("printers", Printers)

#: Seconds a printer gets to take its close frame at shutdown before its socket is cut.
CLOSE_WITHIN = 2.0


async def _close_going_away(ws: web.WebSocketResponse) -> None:
    """Close with 1001 (going away), never waiting long on a client that does not answer."""
    try:
        async with asyncio.timeout(CLOSE_WITHIN):
            await ws.close(code=CLOSE_GOING_AWAY, message=b"server shutting down")
    except TimeoutError:
        transport = ws._writer.transport if getattr(ws, "_writer", None) is not None else None  # noqa: SLF001
        if transport is not None:
            transport.abort()


def add_printer_routes(app: web.Application, hub: Hub) -> None:
    printers = Printers(hub)
    app[PRINTERS] = printers
    app.add_routes(routes)

    async def close_printers(app: web.Application) -> None:
        """At shutdown: every printer told the server is going away, so the server stops
        within seconds instead of waiting for the printers' sockets (the printer client
        reconnects to the next server by itself)."""
        await printers.close_all()

    app.on_shutdown.append(close_printers)

    async def leaving(app: web.Application) -> AsyncIterator[None]:
        yield
        await printers.wait_leaving()  # before the services and the database close

    app.cleanup_ctx.append(leaving)
