"""Appointments over HTTP: book a slot (staff), check in by code (kiosk or desk)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from ..domain.errors import InvalidInput
from ..domain.text import clean_text
from .api import answer, idempotency_key, json_response, principal_of, read_json, staff_of_hall
from .keys import APPOINTMENTS, PRINTS, QUEUE

routes = web.RouteTableDef()


def _instant(body: dict, name: str) -> datetime:
    value = clean_text(body.get(name), name)
    try:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None or not 2000 <= instant.year <= 2099:
        raise InvalidInput("input.bad_time", field=name)
    return instant


@routes.post("/api/v1/halls/{hall}/appointments")
async def book(request: web.Request) -> web.Response:
    hall, _principal = await staff_of_hall(request)
    body = await read_json(request)
    service = clean_text(body.get("service"), "service", required=True)
    assert service is not None
    booked = await request.app[APPOINTMENTS].book(
        hall, service.upper(), _instant(body, "slot_start"), _instant(body, "slot_end"))
    return json_response(booked, 201)


@routes.post("/api/v1/halls/{hall}/appointments/{code}/check-in")
async def check_in(request: web.Request) -> web.Response:
    hall = request.match_info["hall"]
    request.app[QUEUE].hall(hall)
    principal = await principal_of(request)
    principal.require_role(hall, "kiosk", "staff", "manager", "admin")
    print_kiosk = None
    if principal.role == "kiosk" and await request.app[PRINTS].printer_for_kiosk(hall, principal.id):
        print_kiosk = principal.id
    result = await request.app[APPOINTMENTS].check_in(
        hall, request.match_info["code"], principal, key=idempotency_key(request), print_kiosk=print_kiosk)
    return answer(result)
