"""Ratings, follow-ups and the clerk's view of a window's queue over HTTP."""

from __future__ import annotations

from aiohttp import web

from ..domain.errors import Forbidden
from ..domain.text import clean_text
from ..service.ratings import form
from .api import bearer, json_response, principal_of, read_json, staff_of_hall, window_number
from .keys import CONFIG, QUEUE, RATINGS

routes = web.RouteTableDef()


@routes.get("/api/v1/ratings/form")
async def rating_form(request: web.Request) -> web.Response:
    return json_response(form(request.app[CONFIG]))


@routes.post("/api/v1/tickets/{id}/rating")
async def rate_from_phone(request: web.Request) -> web.Response:
    """The citizen rates from the ticket's page; the holder's secret (`id` in the path) is the
    key, never the ticket's id that staff see."""
    if bearer(request):
        principal = await principal_of(request)
        raise Forbidden(f"{principal.role} {principal.id} cannot rate a service; only the citizen can")
    ticket = await request.app[QUEUE].holder_ticket(request.match_info["id"])
    body = await read_json(request)
    status, result = await request.app[RATINGS].rate(
        ticket_id=ticket.id, hall_id=ticket.hall, number=None, channel="phone", device=None, body=body)
    return json_response(result, status)


@routes.post("/api/v1/halls/{hall}/windows/{window}/rating")
async def rate_from_tablet(request: web.Request) -> web.Response:
    hall, window = request.match_info["hall"], window_number(request)
    request.app[QUEUE].hall(hall)
    principal = await principal_of(request)
    _require_evaluator(principal, hall, window)
    body = await read_json(request)
    number = clean_text(body.get("number"), "number", required=True)
    status, result = await request.app[RATINGS].rate(
        ticket_id=None, hall_id=hall, number=number, channel="tablet", device=principal, body=body)
    return json_response(result, status)


@routes.get("/api/v1/halls/{hall}/windows/{window}/rating-prompt")
async def rating_prompt(request: web.Request) -> web.Response:
    hall, window = request.match_info["hall"], window_number(request)
    request.app[QUEUE].hall(hall)
    principal = await principal_of(request)
    _require_evaluator(principal, hall, window)
    return json_response(await request.app[RATINGS].prompt(hall, window, principal))


@routes.post("/api/v1/tickets/{id}/follow-up-rating")
async def follow_up_rating(request: web.Request) -> web.Response:
    if bearer(request):
        principal = await principal_of(request)  # an expired or revoked token is 401, as for rating
        raise Forbidden(f"{principal.role} {principal.id} cannot add the follow-up rating; only the citizen can")
    ticket = await request.app[QUEUE].holder_ticket(request.match_info["id"])  # the holder's secret
    body = await read_json(request)
    return json_response(await request.app[RATINGS].follow_up_rating(ticket.id, body), 201)


@routes.get("/api/v1/halls/{hall}/follow-ups")
async def list_follow_ups(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    items = await request.app[RATINGS].list_follow_ups(
        hall, request.query.get("status"), request.query.get("overdue") in ("1", "true"))
    return json_response({"hall": hall, "follow_ups": items})


@routes.post("/api/v1/halls/{hall}/follow-ups/{id}")
async def update_follow_up(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    body = await read_json(request)
    action = clean_text(body.get("action"), "action")
    note = clean_text(body.get("note"), "note")
    return json_response(await request.app[RATINGS].update_follow_up(
        hall, request.match_info["id"], principal, action or "", note))


@routes.get("/api/v1/halls/{hall}/windows/{window}/queue")
async def window_queue(request: web.Request) -> web.Response:
    hall, _principal = await staff_of_hall(request)
    return json_response(await request.app[QUEUE].window_queue(hall, window_number(request)))


def _require_evaluator(principal, hall: str, window: int) -> None:
    if principal.kind != "device" or principal.role != "evaluator":
        raise Forbidden(f"{principal.kind} {principal.id} is not a rating tablet; staff cannot submit ratings")
    principal.require_hall(hall)
    if principal.window != window:
        raise Forbidden(f"tablet {principal.id} belongs to window {principal.window}, not {window}")

