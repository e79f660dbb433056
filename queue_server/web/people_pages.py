"""The pages people use at and around a window: the staff console (/staff), the counter rating
tablet (/evaluate/{hall}/{window}) and the citizen's phone ticket page (/t/{id}), with their
static files and the phone page's live channel (/t/{id}/live, server-sent events)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from ..domain.errors import QueueError
from .api import public_ticket_status
from .hub import Hub, Subscription, SubscriptionClosed
from .keys import CONFIG
from .missing import hall_missing, known_halls, window_missing
from .problem import from_error

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

# The pages load their own files and the shared screen modules (/display/static/); they
# talk to this server only. 'self' covers ws: for same-origin sockets only in newer
# browsers, hence the explicit ws:/wss:.
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: https: http:; connect-src 'self' ws: wss:; "
        "style-src 'self'; script-src 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the phone page's URL is the ticket's key
}

#: The path's key is the ticket holder's secret (`secrets.token_urlsafe(24)`: 32 URL-safe
#: characters), never the ticket's id: only the holder has it.
TICKET_ID = r"[A-Za-z0-9_-]{8,64}"

#: A comment line this often keeps proxies and phones from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0
#: At most one status computation per phone this often, however busy the hall: a status of a
#: waiting ticket reads the hall's whole queue.
MIN_RECOMPUTE_SECONDS = 0.5

_LIVE: web.AppKey[set[Subscription]] = web.AppKey("people_live", set)
_HUB: web.AppKey[Hub] = web.AppKey("people_hub", Hub)


def _page(name: str) -> web.FileResponse:
    return web.FileResponse(STATIC / name, headers=_PAGE_HEADERS)


#: the citizens' pages elsewhere (web/complaints.py) are served with the same headers
page_response = _page


async def staff_page(request: web.Request) -> web.StreamResponse:
    return _page("staff/index.html")


async def evaluate_page(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    hall_id = request.match_info["hall"]
    halls = known_halls(config)
    known = next((h for h in halls if h.id == hall_id), None)
    if known is None:
        return hall_missing(request, hall_id, halls, "/evaluate/{hall}/1", "评价器")
    window = int(request.match_info["window"])
    if window not in known.windows:
        return window_missing(request, known, window, "/evaluate/{hall}/{window}", "评价器")
    # The page reads ?token= (the evaluator device's token) itself.
    return _page("evaluate/evaluate.html")


async def ticket_page(request: web.Request) -> web.StreamResponse:
    # No lookup here: the page asks the API and says so plainly when the ticket is unknown.
    return _page("ticket/ticket.html")


async def ticket_live(request: web.Request) -> web.StreamResponse:
    """The ticket's public status, sent again whenever an event of its hall may change it.

    Events of the ticket's service (its people-ahead count) or of the ticket itself trigger
    a fresh status; the stream ends when the hub drops it, and the browser's EventSource
    reconnects by itself."""
    secret = request.match_info["id"]  # the holder's secret
    try:
        status = await public_ticket_status(request.app, secret)
    except QueueError as exc:
        return from_error(exc)  # 503 keeps its Retry-After
    subscription = request.app[_HUB].subscribe(status["hall"])
    live = request.app[_LIVE]
    live.add(subscription)
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache, no-store",
        "X-Accel-Buffering": "no",  # nginx: pass each event on at once
        "Referrer-Policy": "no-referrer",
    })
    try:
        await response.prepare(request)
        await response.write(b"retry: 3000\n\n")
        sent = await _send_status(response, status, None)
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            try:
                frame = await asyncio.wait_for(subscription.next(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if not _concerns(frame, status):
                continue
            # Coalesce a burst (a batch of calls) into one status: the frames that came
            # meanwhile are covered by the status computed now.
            wait = MIN_RECOMPUTE_SECONDS - (loop.time() - last)
            if wait > 0:
                await asyncio.sleep(wait)
            while subscription.qsize():
                await subscription.next()
            last = loop.time()
            try:
                status = await public_ticket_status(request.app, secret)
            except QueueError as exc:
                log.info("live status of a ticket of hall %s: %s", status["hall"], exc)
                break
            sent = await _send_status(response, status, sent)
    except (SubscriptionClosed, ConnectionResetError):
        pass
    finally:
        subscription.close()
        live.discard(subscription)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response


def _concerns(frame: str, status: dict[str, Any]) -> bool:
    try:
        message = orjson.loads(frame)
    except ValueError:
        return False
    kind = message.get("type")
    if kind == "snapshot":
        return True
    if kind != "event":
        return False
    event = message.get("event") or {}
    ticket = event.get("ticket") or {}
    if ticket.get("number") == status["number"]:
        return True
    return any(isinstance(s, dict) and s.get("code") == status["service"]
               for s in event.get("services") or ())


async def _send_status(response: web.StreamResponse, status: dict[str, Any],
                       sent: str | None) -> str:
    text = orjson.dumps(status, option=orjson.OPT_SORT_KEYS).decode()
    if text != sent:
        await response.write(f"event: status\ndata: {text}\n\n".encode())
    return text


def add_people_pages(app: web.Application, hub: Hub | None = None) -> None:
    """Add the three pages and their static files; with `hub`, the phone page's live channel
    (without it the phone page polls)."""
    app.router.add_get("/staff", staff_page)
    app.router.add_static("/staff/static/", STATIC / "staff")
    app.router.add_get(r"/evaluate/{hall}/{window:[0-9]{1,4}}", evaluate_page)
    app.router.add_static("/evaluate/static/", STATIC / "evaluate")
    app.router.add_get("/t/{id:" + TICKET_ID + "}", ticket_page)
    app.router.add_static("/ticket/static/", STATIC / "ticket")
    if hub is None:
        return
    app[_HUB] = hub
    app[_LIVE] = set()

    async def close_live(app: web.Application) -> None:
        for subscription in tuple(app[_LIVE]):
            subscription.close()

    app.router.add_get("/t/{id:" + TICKET_ID + "}/live", ticket_live)
    app.on_shutdown.append(close_live)
