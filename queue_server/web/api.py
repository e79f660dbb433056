"""HTTP API v1: JSON in, JSON out; each handler parses, authorises and calls one use case."""

from __future__ import annotations

import json
import re
import time
from collections import deque
from typing import Any

from aiohttp import web

from ..domain.civility import check_free_text
from ..domain.errors import Forbidden, InvalidInput, RateLimited, Unauthenticated, Unavailable
from ..service.auth import Auth, require_staff
from ..service.principal import Principal
from ..service.queue import WINDOW_ACTIONS
from .keys import AUTH, CONFIG, PRINTS, QUEUE, RATINGS, READY

routes = web.RouteTableDef()

_IDEM_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
CHANNELS = ("kiosk", "staff", "phone", "guide", "online")


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body, ensure_ascii=False), content_type="application/json"
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}", field="body") from None
    if not isinstance(body, dict):
        raise InvalidInput(f"the body must be a JSON object, got {type(body).__name__}", field="body")
    return body


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


async def principal_of(request: web.Request) -> Principal:
    return await request.app[AUTH].authenticate(bearer(request))


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
        raise InvalidInput("Idempotency-Key must be 1-200 visible ASCII characters", field="Idempotency-Key")
    return key


def window_number(request: web.Request) -> int:
    text = request.match_info["window"]
    if not text.isdigit():
        raise InvalidInput(f"window must be a number, got {text!r}", field="window")
    return int(text)


def _text_field(body: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"{name} is required", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, got {json.dumps(value, ensure_ascii=False)}", field=name)
    return value.strip()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    ready = request.app[READY]
    problem = await ready()
    if problem:
        raise Unavailable(problem, retry_after=5)
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


@routes.post("/api/v1/halls/{hall}/tickets")
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
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}", field="channel")
    if priority and priority in hall.priority_classes and hall.priority_classes[priority].reason_required:
        if principal.kind != "staff":
            raise Forbidden(
                f"{hall.priority_classes[priority].name} is granted by staff at the guide desk",
                field="priority",
            )
    print_kiosk = None
    if principal.role == "kiosk":
        # The kiosk's own printer prints the ticket (when one is registered).
        if await request.app[PRINTS].printer_for_kiosk(hall_id, principal.id) is not None:
            print_kiosk = principal.id
    status, result = await svc.issue(
        hall_id, principal, service=service.upper() if service else "", priority=priority,
        priority_reason=reason, channel=channel, key=idempotency_key(request), print_kiosk=print_kiosk,
    )
    return json_response(result, status)


async def public_ticket_status(app: web.Application, ticket_id: str) -> dict[str, Any]:
    """One ticket's public status with its rating part: the API and the phone's live feed."""
    status = await app[QUEUE].ticket_status(ticket_id)
    status["rating"] = await app[RATINGS].ticket_rating(status)
    return status


@routes.get("/api/v1/tickets/{id}")
async def ticket_status(request: web.Request) -> web.Response:
    return json_response(await public_ticket_status(request.app, request.match_info["id"]))


@routes.post("/api/v1/tickets/{id}/cancel")
async def citizen_cancel(request: web.Request) -> web.Response:
    """A citizen cancels their own waiting ticket; the unguessable id is the key."""
    svc = request.app[QUEUE]
    current = await svc.ticket_status(request.match_info["id"])
    status, result = await svc.ticket_action(
        current["hall"], current["number"], "cancel", None, {"reason": "本人取消"},
        idempotency_key(request), ticket_id=current["id"],
    )
    return json_response(result, status)


@routes.post("/api/v1/halls/{hall}/windows/{window}/{action}")
async def window_action(request: web.Request) -> web.Response:
    svc = request.app[QUEUE]
    hall_id = request.match_info["hall"]
    svc.hall(hall_id)
    action = request.match_info["action"]
    if action not in WINDOW_ACTIONS:
        raise web.HTTPNotFound(text=f"unknown window action {action!r} (actions: {', '.join(WINDOW_ACTIONS)})")
    window = window_number(request)
    principal = await principal_of(request)
    require_staff(principal, hall_id)
    body = await read_json(request)
    # Free text that reaches a citizen-facing screen must not contain a taboo phrase (忌语).
    shown = {"message": "text", "pause": "reason"}.get(action)
    if shown and isinstance(body.get(shown), str):
        taboo = check_free_text(body[shown], request.app[CONFIG].civility.taboo)
        if taboo:
            raise InvalidInput(f"内容含有服务忌语「{taboo}」，不能显示在屏幕上", field=shown, taboo=taboo)
    status, result = await svc.window_action(hall_id, window, action, principal, body, idempotency_key(request))
    return json_response(result, status)


@routes.post("/api/v1/halls/{hall}/tickets/{number}/{action:restore|cancel}")
async def ticket_action(request: web.Request) -> web.Response:
    svc = request.app[QUEUE]
    hall_id, principal = await staff_of_hall(request)
    body = await read_json(request)
    _text_field(body, "reason", required=False)
    status, result = await svc.ticket_action(
        hall_id, request.match_info["number"], request.match_info["action"], principal, body,
        idempotency_key(request),
    )
    return json_response(result, status)


@routes.get("/api/v1/halls/{hall}/events")
async def ledger_events(request: web.Request) -> web.Response:
    svc = request.app[QUEUE]
    hall_id, _principal = await staff_of_hall(request)
    after = _query_int(request, "after", 0, 0, 2**62)
    limit = _query_int(request, "limit", 100, 1, 1000)
    events = await svc.ledger(hall_id, after, limit)
    return json_response({"hall": hall_id, "events": events, "next_after": events[-1]["seq"] if events else after})


@routes.post("/api/v1/halls/{hall}/notices")
async def post_notices(request: web.Request) -> web.Response:
    svc = request.app[QUEUE]
    hall_id, principal = await staff_of_hall(request, "manager", "admin")
    body = await read_json(request)
    notices = body.get("notices")
    if not isinstance(notices, list) or not all(isinstance(n, str) for n in notices):
        raise InvalidInput("notices must be a list of strings", field="notices")
    cleaned = [n.strip() for n in notices if n.strip()]
    for i, text in enumerate(cleaned):
        if len(text) > 200:
            raise InvalidInput("a notice is at most 200 characters", field=f"notices[{i}]")
        taboo = check_free_text(text, request.app[CONFIG].civility.taboo)
        if taboo:
            raise InvalidInput(f"公告含有服务忌语「{taboo}」，不能发布", field=f"notices[{i}]", taboo=taboo)
    status, result = await svc.post_notices(hall_id, principal, cleaned)
    return json_response(result, status)


class LoginThrottle:
    """Failed sign-ins per client address: past the limit, that address waits (429).

    The per-account lock (5 failures → 15 minutes) stops guessing one password; this stops
    one address from trying many staff numbers. In-process: each server process counts its own."""

    def __init__(self, limit: int = 20, window_seconds: float = 600.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self.failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float]:
        now = time.monotonic()
        times = self.failures.setdefault(address, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def check(self, address: str) -> None:
        times = self._recent(address)
        if len(times) >= self.limit:
            wait = int(self.window - (time.monotonic() - times[0])) + 1
            raise RateLimited(f"too many failed sign-ins from this address; try again in {wait} s "
                              f"(登录失败次数过多，请 {wait} 秒后再试)", retry_after=wait)

    def failed(self, address: str) -> None:
        self._recent(address).append(time.monotonic())
        if len(self.failures) > 10_000:
            self.failures.clear()


THROTTLE = web.AppKey("login-throttle", LoginThrottle)


@routes.post("/api/v1/auth/login")
async def login(request: web.Request) -> web.Response:
    address = request.remote or "?"
    throttle = request.app[THROTTLE]
    throttle.check(address)
    body = await read_json(request)
    staff_id = _text_field(body, "staff_id", required=True)
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise InvalidInput("password is required", field="password")
    auth: Auth = request.app[AUTH]
    try:
        token, expires, principal = await auth.login(staff_id or "", password)
    except Unauthenticated:
        throttle.failed(address)
        raise
    if principal.hall:
        await request.app[QUEUE].record(principal.hall, principal.actor, "staff_signed_in", {"staff_id": principal.id})
    return json_response(
        {"token": token, "expires_at": expires.isoformat(timespec="seconds"),
         "staff": {"id": principal.id, "name": principal.name, "role": principal.role, "hall": principal.hall}}
    )


@routes.post("/api/v1/auth/logout")
async def logout(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    token = bearer(request)
    assert token is not None
    if principal.kind != "staff":
        raise InvalidInput("device tokens are revoked with `queue-server device revoke`", field="Authorization")
    await request.app[AUTH].logout(token)
    if principal.hall:
        await request.app[QUEUE].record(principal.hall, principal.actor, "staff_signed_out", {"staff_id": principal.id})
    return json_response({"signed_out": True})


@routes.get("/api/v1/auth/me")
async def whoami(request: web.Request) -> web.Response:
    p = await principal_of(request)
    return json_response({"kind": p.kind, "id": p.id, "name": p.name, "role": p.role, "hall": p.hall,
                          "window": p.window, "kiosk": p.kiosk})


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer, got {text!r}", field=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}, got {value}", field=name)
    return value
