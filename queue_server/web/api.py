"""HTTP API v1: JSON in, JSON out; each handler parses, authorises and calls one use case."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from aiohttp import web

from ..domain.civility import check_free_text
from ..domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)
from ..domain.text import MAX_JSON_DEPTH, clean_json, clean_text
from ..service.auth import Auth, require_staff
from ..service.commands import WINDOW_ACTIONS, CancelTicket, RestoreTicket
from ..service.notices import current_notices, replace_notices
from ..service.principal import Principal
from ..service.results import Result
from . import commands
from .keys import AUTH, CONFIG, HEALTH, PRINTS, QUEUE, RATINGS, READY

routes = web.RouteTableDef()

_IDEM_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")
CHANNELS = ("kiosk", "staff", "phone", "guide", "online")


def answer(result: Result) -> web.Response:
    """A command's result: 201 when it created something, else 200."""
    return json_response(result.body, 201 if result.created else 200)


def json_response(body: Any, status: int = 200) -> web.Response:
    """`body` as compact UTF-8 JSON bytes (orjson; CJK unescaped), `application/json; charset=utf-8`."""
    return web.Response(
        status=status, body=orjson.dumps(body), content_type="application/json", charset="utf-8"
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, parsed strictly: application/json only (415), valid JSON (400),
    nested at most MAX_JSON_DEPTH, every string free of control characters and NFC-normalised."""
    if not request.body_exists:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    if not _is_json_type(request.content_type):
        raise UnsupportedMediaType("input.unsupported_media_type", field="Content-Type", got=request.content_type)
    try:
        body = _parse_json(raw)
    except RecursionError:
        raise InvalidInput("input.too_deep", field="body", depth=MAX_JSON_DEPTH) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("input.not_json", field="body", reason=str(exc)) from None
    if not isinstance(body, dict):
        raise InvalidInput("input.not_object", field="body", got=type(body).__name__)
    return clean_json(body)


def _parse_json(raw: bytes) -> Any:
    """orjson first (fast). What it refuses the standard library parses again, so the answer to
    malformed input stays what it was: json's own error text, a RecursionError for deep nesting,
    and what json accepts but orjson does not (a lone surrogate such as \\ud800, NaN) goes on to
    `clean_json`, which names the field."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _is_json_type(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json"))


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


async def principal_of(request: web.Request, *, password_pending: bool = False) -> Principal:
    """The caller; one still on a one-time password only where `password_pending` (403 else)."""
    return await request.app[AUTH].authenticate(bearer(request), password_pending=password_pending)


async def staff_of_hall(request: web.Request, *roles: str) -> tuple[str, Principal]:
    """The route's hall (404 if unknown) and the signed-in staff member acting in it (401/403);
    with `roles`, only those roles may."""
    hall = request.match_info["hall"]
    request.app[QUEUE].hall(hall)
    principal = await principal_of(request)
    require_staff(principal, hall)
    if roles:
        principal.require_role(hall, *roles)
    return hall, principal


def idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEM_KEY.match(key):
        raise InvalidInput("input.bad_idempotency_key", field="Idempotency-Key")
    return key


def window_number(request: web.Request) -> int:
    return path_int(request, "window", high=9999)


def path_int(request: web.Request, name: str, *, high: int) -> int:
    """A number in the path: ASCII digits only ("²" and "١" are not numbers here), at most `high`."""
    text = request.match_info[name]
    if not _ASCII_DIGITS.fullmatch(text) or int(text) > high:
        raise InvalidInput("input.bad_number", field=name, low=0, high=high, got=text[:40])
    return int(text)


def _text_field(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    return clean_text(body.get(name), name, required=required)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    health = request.app.get(HEALTH)
    problem = health() if health is not None else None
    if problem:
        raise Unavailable("unavailable.not_ready", reason=problem, retry_after=5)
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    ready = request.app[READY]
    problem = await ready()
    if problem:
        raise Unavailable("unavailable.not_ready", reason=problem, retry_after=5)
    return json_response({"status": "ready"})


@routes.get("/api/v1/halls")
async def list_halls(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    halls = []
    for hall in config.halls.values():
        halls.append(
            {
                "id": hall.id,
                "name": hall.name,
                "name_en": hall.name_en,
                "level": hall.level,
                "has_kiosk": hall.has_kiosk,
                "voice": hall.voice,
                "hours": hall.hours.describe(),
                "areas": [{"code": a.code, "name": a.name, "name_en": a.name_en} for a in hall.areas.values()],
                "services": [
                    {"code": s.code, "name": s.name, "name_en": s.name_en, "area": s.area,
                     "daily_quota": s.daily_quota, "handling_minutes": s.handling_minutes}
                    for s in hall.services.values()
                ],
                "windows": [
                    {"number": w.number, "name": w.name, "area": w.area, "services": list(w.services),
                     "comprehensive": w.comprehensive}
                    for w in hall.windows.values()
                ],
                "priority_classes": [
                    {"code": p.code, "name": p.name, "mode": p.mode, "reason_required": p.reason_required}
                    for p in hall.priority_classes.values()
                ],
            }
        )
    return json_response({"halls": halls})


@routes.get("/api/v1/halls/{hall}/queue")
async def queue_snapshot(request: web.Request) -> web.Response:
    return json_response(await request.app[QUEUE].snapshot(request.match_info["hall"]))


async def issue_ticket(request: web.Request) -> web.Response:
    svc = request.app[QUEUE]
    hall_id = request.match_info["hall"]
    hall = svc.hall(hall_id)
    principal = await principal_of(request)
    principal.require_role(hall_id, "kiosk", "staff", "manager", "admin")
    body = await read_json(request)
    service = _text_field(body, "service", required=True)
    priority = _text_field(body, "priority", required=False) or None
    reason = _text_field(body, "priority_reason", required=False) or None
    channel = _text_field(body, "channel", required=False) or ("kiosk" if principal.role == "kiosk" else "staff")
    if channel not in CHANNELS:
        raise InvalidInput("input.bad_choice", field="channel", known=", ".join(CHANNELS), got=str(channel)[:40])
    if principal.kind != "staff" and channel != principal.role:
        # A kiosk's tickets are kiosk tickets: "guide" (导服台) and the others are staff's to say.
        raise Forbidden("auth.channel", field="channel", role=principal.role, channel=channel)
    if priority and priority in hall.priority_classes and hall.priority_classes[priority].reason_required:
        if principal.kind != "staff":
            raise Forbidden("auth.priority_staff_only", field="priority", name=hall.priority_classes[priority].name)
    if reason and principal.kind != "staff":
        raise Forbidden("auth.priority_reason_staff_only", field="priority_reason")
    print_kiosk = None
    if principal.role == "kiosk":
        # The kiosk's own printer prints the ticket (when one is registered).
        if await request.app[PRINTS].printer_for_kiosk(hall_id, principal.id) is not None:
            print_kiosk = principal.id
    result = await svc.issue(
        hall_id, principal, service=service.upper() if service else "", priority=priority,
        priority_reason=reason, channel=channel, key=idempotency_key(request), print_kiosk=print_kiosk,
    )
    return answer(result)


async def public_ticket_status(app: web.Application, secret: str) -> dict[str, Any]:
    """The holder's view of their ticket with its rating part: the API and the phone's live
    feed. `secret` is the holder's secret (the QR code's link), never the ticket's id."""
    status = await app[QUEUE].holder_status(secret)
    status["rating"] = await app[RATINGS].ticket_rating(status)
    return status


# In /api/v1/tickets/{id}/… and /t/{id}, `id` is the holder's secret: only the ticket's
# holder has it. The ticket's id (what staff, devices and the ledger see) answers 404 there.
@routes.get("/api/v1/tickets/{id}")
async def ticket_status(request: web.Request) -> web.Response:
    return json_response(await public_ticket_status(request.app, request.match_info["id"]))


@routes.post("/api/v1/tickets/{id}/cancel")
async def citizen_cancel(request: web.Request) -> web.Response:
    """A citizen cancels their own waiting ticket; the holder's secret is the key."""
    svc = request.app[QUEUE]
    ticket = await svc.holder_ticket(request.match_info["id"])
    result = await svc.ticket_command(
        ticket.hall, CancelTicket(ticket_id=ticket.id, reason="本人取消"), None, idempotency_key(request))
    return answer(result)


@routes.post("/api/v1/halls/{hall}/windows/{window}/{action}")
async def window_action(request: web.Request) -> web.Response:
    svc = request.app[QUEUE]
    hall_id = request.match_info["hall"]
    hall = svc.hall(hall_id)
    action = request.match_info["action"]
    if action not in WINDOW_ACTIONS:
        raise NotFound("window.unknown_action", action=action, known=", ".join(WINDOW_ACTIONS))
    window = window_number(request)
    principal = await principal_of(request)
    require_staff(principal, hall_id)
    body = await read_json(request)
    # Free text that reaches a citizen-facing screen must not contain a taboo phrase (忌语).
    shown = {"message": "text", "pause": "reason"}.get(action)
    if shown and isinstance(body.get(shown), str):
        taboo = check_free_text(body[shown], request.app[CONFIG].civility.taboo)
        if taboo:
            raise InvalidInput("input.taboo_on_screen", field=shown, taboo=taboo)
    if window not in hall.windows:
        raise NotFound("window.unknown", hall=hall_id, window=window, known=", ".join(str(n) for n in hall.windows))
    cmd = commands.window_command(action, window, body)
    return answer(await svc.run(hall_id, cmd, principal, key=idempotency_key(request)))


#: The busiest commands, added to the router before every other route: aiohttp tries the
#: resources under /api/v1/halls in the order they were added (≈35 regular expressions before
#: the generic window route: 46 → 13 µs to route a call-next, ≈8 % of the server's CPU per
#: command). Each matches only paths whose first match among the other routes has the same
#: handler, so every request goes where it went before (tests/api/test_hot_routes.py); the
#: generic window route stays behind them for the unknown actions (404 window.unknown_action).
hot_routes = web.RouteTableDef()
_KNOWN_ACTIONS = "|".join(re.escape(a) for a in WINDOW_ACTIONS)
hot_routes.post("/api/v1/halls/{hall}/windows/{window}/{action:" + _KNOWN_ACTIONS + "}")(window_action)
hot_routes.post("/api/v1/halls/{hall}/tickets")(issue_ticket)


@routes.get("/api/v1/halls/{hall}/tickets/{number}")
async def desk_ticket(request: web.Request) -> web.Response:
    """导服台: one of today's tickets by number (A023), with the actions its state allows."""
    hall_id, _principal = await staff_of_hall(request)
    number = commands.ticket_number(request.match_info["number"])
    return json_response(await request.app[QUEUE].desk_ticket(hall_id, number))


@routes.post("/api/v1/halls/{hall}/tickets/{number}/{action:restore|cancel}")
async def ticket_action(request: web.Request) -> web.Response:
    svc = request.app[QUEUE]
    hall_id, principal = await staff_of_hall(request)
    body = await read_json(request)
    number = commands.ticket_number(request.match_info["number"])
    reason = commands.optional_text(body, "reason")
    cmd: RestoreTicket | CancelTicket = (
        RestoreTicket(number, reason) if request.match_info["action"] == "restore"
        else CancelTicket(number=number, reason=reason)
    )
    return answer(await svc.ticket_command(hall_id, cmd, principal, idempotency_key(request)))


@routes.get("/api/v1/halls/{hall}/events")
async def ledger_events(request: web.Request) -> web.Response:
    svc = request.app[QUEUE]
    hall_id, principal = await staff_of_hall(request)
    after = _query_int(request, "after", 0, 0, 2**62)
    limit = _query_int(request, "limit", 100, 1, 1000)
    events = await svc.ledger(hall_id, after, limit, personal=principal.role in ("manager", "admin"))
    return json_response({"hall": hall_id, "events": events, "next_after": events[-1]["seq"] if events else after})


@routes.get("/api/v1/halls/{hall}/notices")
async def get_notices(request: web.Request) -> web.Response:
    hall_id, _principal = await staff_of_hall(request)
    return json_response(await current_notices(request.app[QUEUE], hall_id))


@routes.post("/api/v1/halls/{hall}/notices")
async def post_notices(request: web.Request) -> web.Response:
    svc = request.app[QUEUE]
    hall_id, principal = await staff_of_hall(request, "manager", "admin")
    cmd = commands.notices_command(await read_json(request), svc.tz, request.app[CONFIG].civility.taboo)
    return answer(await replace_notices(svc, hall_id, cmd, principal, idempotency_key(request)))


class LoginThrottle:
    """Failed sign-ins per client address: past `limit` failures within `window_seconds`
    the address is slowed down, never shut out.

    A hall's staff share one NAT address, so one account's failures must not keep another
    from signing in: a slowed address still has every password checked (one at a time, so
    it costs at most one hashing thread), and a correct password of an unlocked account
    signs in; a failure from it is answered only after `delay` seconds, with 429 and
    Retry-After. Guessing one account's password is stopped by the account lock (5 failures,
    counted in the database). In-process and bounded: at most `max_addresses` addresses."""

    def __init__(self, limit: int = 20, window_seconds: float = 600.0, *, delay: float = 1.0,
                 max_addresses: int = 10_000) -> None:
        self.limit = limit
        self.window = window_seconds
        self.delay = delay
        self.max_addresses = max_addresses
        self.failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._gates: dict[str, list[Any]] = {}  # address -> [lock, requests using it]

    def _recent(self, address: str) -> deque[float] | None:
        times = self.failures.get(address)
        if times is None:
            return None
        now = time.monotonic()
        while times and now - times[0] > self.window:
            times.popleft()
        if not times:
            del self.failures[address]
            return None
        return times

    def slowed(self, address: str) -> bool:
        times = self._recent(address)
        return times is not None and len(times) >= self.limit

    def failed(self, address: str) -> None:
        times = self._recent(address)
        if times is None:
            times = self.failures[address] = deque(maxlen=self.limit)
            while len(self.failures) > self.max_addresses:
                self.failures.popitem(last=False)
        self.failures.move_to_end(address)
        times.append(time.monotonic())

    @asynccontextmanager
    async def gate(self, address: str, slowed: bool) -> AsyncIterator[None]:
        """One password check at a time from a slowed address; no wait otherwise."""
        if not slowed:
            yield
            return
        gate = self._gates.setdefault(address, [asyncio.Lock(), 0])
        gate[1] += 1  # requests using this gate; the last one out removes it
        try:
            async with gate[0]:
                yield
        finally:
            gate[1] -= 1
            if not gate[1]:
                del self._gates[address]


THROTTLE = web.AppKey("login-throttle", LoginThrottle)


@routes.post("/api/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    address = request.remote or "?"
    throttle = request.app[THROTTLE]
    body = await read_json(request)
    staff_id = _text_field(body, "staff_id", required=True)
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise InvalidInput("input.missing_field", field="password")
    auth: Auth = request.app[AUTH]
    slowed = throttle.slowed(address)
    try:
        async with throttle.gate(address, slowed):
            token, expires, principal = await auth.login(staff_id or "", password)
    except Unauthenticated as exc:
        throttle.failed(address)
        if not slowed:
            raise
        await asyncio.sleep(throttle.delay)
        wait = max(1, math.ceil(throttle.delay))
        raise RateLimited("auth.login_throttled", seconds=wait, retry_after=wait) from exc
    if principal.hall:
        await request.app[QUEUE].record(principal.hall, principal.actor, "staff_signed_in", {"staff_id": principal.id})
    return json_response(
        {"token": token, "expires_at": expires.isoformat(timespec="seconds"),
         "staff": {"id": principal.id, "name": principal.name, "role": principal.role, "hall": principal.hall,
                   "must_change_password": principal.must_change_password}}
    )


@routes.post("/api/v1/auth/logout")
async def logout(request: web.Request) -> web.Response:
    principal = await principal_of(request, password_pending=True)
    token = bearer(request)
    assert token is not None
    if principal.kind != "staff":
        raise InvalidInput("input.device_token_logout", field="Authorization")
    await request.app[AUTH].logout(token)
    if principal.hall:
        await request.app[QUEUE].record(principal.hall, principal.actor, "staff_signed_out", {"staff_id": principal.id})
    return json_response({"signed_out": True})


@routes.get("/api/v1/auth/me")
async def whoami(request: web.Request) -> web.Response:
    p = await principal_of(request, password_pending=True)
    return json_response({"kind": p.kind, "id": p.id, "name": p.name, "role": p.role, "hall": p.hall,
                          "region": p.region, "window": p.window, "kiosk": p.kiosk,
                          "must_change_password": p.must_change_password})


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not _ASCII_DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise InvalidInput("input.bad_number", field=name, low=low, high=high, got=text[:40])
    return int(text)
