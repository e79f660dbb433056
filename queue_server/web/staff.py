"""Staff accounts over HTTP (人员管理, service/staff.py): list, add, edit, disable, enable,
unlock, reset a password, a photo; and a signed-in clerk setting their own password."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..domain.errors import InvalidInput
from ..domain.staff import PHOTO_MAX_BYTES, photo_type
from ..domain.text import clean_text
from ..service.staff import NewStaff
from .api import answer, idempotency_key, json_response, principal_of, read_json
from .keys import STAFF

routes = web.RouteTableDef()

_EDITABLE = ("name", "role", "hall", "region")


@routes.get("/api/v1/staff")
async def list_staff(request: web.Request) -> web.Response:
    return json_response(await request.app[STAFF].list(await principal_of(request)))


@routes.post("/api/v1/staff")
async def add_staff(request: web.Request) -> web.Response:
    who = await principal_of(request)
    request.app[STAFF].require_manager(who)
    body = await read_json(request)
    staff_id = clean_text(body.get("id"), "staff_id", required=True)
    name = clean_text(body.get("name"), "name", required=True)
    role = clean_text(body.get("role"), "role") or "staff"
    assert staff_id is not None and name is not None
    new = NewStaff(staff_id, name, role, clean_text(body.get("hall"), "hall"), clean_text(body.get("region"), "region"))
    return answer(await request.app[STAFF].add(who, new, idempotency_key(request)))


@routes.get("/api/v1/staff/{staff}")
async def get_staff(request: web.Request) -> web.Response:
    who = await principal_of(request)
    return json_response(await request.app[STAFF].get(who, request.match_info["staff"]))


@routes.post("/api/v1/staff/{staff}/edit")
async def edit_staff(request: web.Request) -> web.Response:
    who = await principal_of(request)
    request.app[STAFF].require_manager(who)
    body = await read_json(request)
    unknown = sorted(set(body) - set(_EDITABLE))
    if unknown:
        raise InvalidInput("input.bad_choice", field=unknown[0][:40], known=", ".join(_EDITABLE), got=unknown[0][:40])
    changes: dict[str, str | None] = {}
    for field in _EDITABLE:
        if field in body:
            value = clean_text(body[field], field, required=field in ("name", "role"))
            changes[field] = value
    if not changes:
        raise InvalidInput("input.staff_no_change", field="body")
    key = idempotency_key(request)
    return answer(await request.app[STAFF].edit(who, request.match_info["staff"], changes, key))


async def _act(request: web.Request, action: str) -> web.Response:
    who = await principal_of(request)
    request.app[STAFF].require_manager(who)
    await read_json(request)  # a body, if any, must still be JSON
    key = idempotency_key(request)
    return answer(await request.app[STAFF].act(who, request.match_info["staff"], action, key))


@routes.post("/api/v1/staff/{staff}/disable")
async def disable_staff(request: web.Request) -> web.Response:
    return await _act(request, "disable")


@routes.post("/api/v1/staff/{staff}/enable")
async def enable_staff(request: web.Request) -> web.Response:
    return await _act(request, "enable")


@routes.post("/api/v1/staff/{staff}/unlock")
async def unlock_staff(request: web.Request) -> web.Response:
    """Lift the lock five failed sign-ins put on an account (before its 15 minutes are up)."""
    return await _act(request, "unlock")


@routes.post("/api/v1/staff/{staff}/reset-password")
async def reset_password(request: web.Request) -> web.Response:
    """A new one-time password, shown once in the answer; the clerk sets their own at sign-in."""
    return await _act(request, "reset-password")


@routes.put("/api/v1/staff/{staff}/photo")
async def put_photo(request: web.Request) -> web.Response:
    """The raw JPEG or PNG as the body (recognised by its first bytes, at most PHOTO_MAX_BYTES)."""
    who = await principal_of(request)
    request.app[STAFF].require_manager(who)
    data = await request.read()
    if not data:
        raise InvalidInput("input.photo_empty", field="body")
    if len(data) > PHOTO_MAX_BYTES:
        raise InvalidInput("input.photo_too_large", field="body", size=len(data), limit=PHOTO_MAX_BYTES)
    kind = photo_type(data)
    if kind is None:
        raise InvalidInput("input.photo_type", field="body")
    return json_response(await request.app[STAFF].set_photo(who, request.match_info["staff"], kind, data))


@routes.get("/api/v1/staff/{staff}/photo")
async def get_photo(request: web.Request) -> web.Response:
    """Public like the window screens that show it (the clerk on duty is shown to citizens)."""
    kind, data = await request.app[STAFF].photo(request.match_info["staff"])
    return web.Response(body=data, content_type=kind,
                        headers={"Cache-Control": "public, max-age=300", "Content-Security-Policy": "default-src 'none'"})


@routes.post("/api/v1/auth/password")
async def change_password(request: web.Request) -> web.Response:
    """The signed-in clerk sets their own password: the old one (or the one-time password) and a
    new one. Every session of theirs ends; the answer carries a new token."""
    who = await principal_of(request, password_pending=True)
    body = await read_json(request)
    old = _password(body, "old_password")
    new = _password(body, "new_password")
    return answer(await request.app[STAFF].change_password(who, old, new, idempotency_key(request)))


def _password(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None or value == "":
        raise InvalidInput("input.missing_field", field=field)
    if not isinstance(value, str):
        raise InvalidInput("input.not_string", field=field, got=type(value).__name__)
    if len(value) > 256:
        raise InvalidInput("input.too_long", field=field, length=len(value), limit=256)
    return value
