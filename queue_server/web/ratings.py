"""Ratings, follow-ups and the clerk's view of a window's queue over HTTP."""

from __future__ import annotations

from aiohttp import web

from ..domain.errors import Forbidden
from ..domain.model import Ticket
from ..domain.text import clean_text
from ..service.principal import Principal
from ..service.ratings import form
from .api import (
    answer,
    bearer,
    idempotency_key,
    json_response,
    principal_of,
    read_json,
    staff_of_hall,
    window_number,
)
from .commands import follow_up_command, follow_up_rating_command, rating_command
from .keys import CONFIG, QUEUE, RATINGS

routes = web.RouteTableDef()


@routes.get("/api/v1/ratings/form")
async def rating_form(request: web.Request) -> web.Response:
    return json_response(form(request.app[CONFIG]))


@routes.post("/api/v1/tickets/{id}/rating")
async def rate_from_phone(request: web.Request) -> web.Response:
    """The citizen rates from the ticket's page; the holder's secret (`id` in the path) is the
    key, never the ticket's id that staff see."""
    ticket = await _citizens_ticket(request, "rate a service")
    cmd = rating_command(await read_json(request), request.app[CONFIG], "phone")
    return answer(await request.app[RATINGS].rate(cmd, ticket_id=ticket.id, hall_id=ticket.hall, device=None))


@routes.post("/api/v1/halls/{hall}/windows/{window}/rating")
async def rate_from_tablet(request: web.Request) -> web.Response:
    hall, window, principal = await _tablet_of_window(request)
    body = await read_json(request)
    number = clean_text(body.get("number"), "number", required=True)
    cmd = rating_command(body, request.app[CONFIG], "tablet", number)
    return answer(await request.app[RATINGS].rate(cmd, ticket_id=None, hall_id=hall, device=principal))


@routes.get("/api/v1/halls/{hall}/windows/{window}/rating-prompt")
async def rating_prompt(request: web.Request) -> web.Response:
    hall, window, principal = await _tablet_of_window(request)
    return json_response(await request.app[RATINGS].prompt(hall, window, principal))


@routes.post("/api/v1/tickets/{id}/follow-up-rating")
async def follow_up_rating(request: web.Request) -> web.Response:
    ticket = await _citizens_ticket(request, "add the follow-up rating")
    cmd = follow_up_rating_command(await read_json(request))
    return json_response(await request.app[RATINGS].follow_up_rating(ticket.id, cmd), 201)


@routes.get("/api/v1/halls/{hall}/follow-ups")
async def list_follow_ups(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    items = await request.app[RATINGS].list_follow_ups(
        hall, request.query.get("status"), request.query.get("overdue") in ("1", "true"))
    return json_response({"hall": hall, "follow_ups": items})


@routes.post("/api/v1/halls/{hall}/follow-ups/{id}")
async def update_follow_up(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    cmd = follow_up_command(request.match_info["id"], await read_json(request))
    return json_response(await request.app[RATINGS].update_follow_up(hall, principal, cmd, idempotency_key(request)))


@routes.get("/api/v1/halls/{hall}/windows/{window}/queue")
async def window_queue(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request)
    return json_response(await request.app[QUEUE].window_queue(hall, window_number(request), principal))


async def _citizens_ticket(request: web.Request, what: str) -> Ticket:
    """The ticket whose holder's secret is `id` in the path: only the citizen holding it may
    `what`. A request with a token is staff or a device: 403, or 401 if the token is expired or
    revoked."""
    if bearer(request):
        principal = await principal_of(request)
        raise Forbidden("auth.citizen_only", who=f"{principal.role} {principal.id}", what=what)
    return await request.app[QUEUE].holder_ticket(request.match_info["id"])


async def _tablet_of_window(request: web.Request) -> tuple[str, int, Principal]:
    """The route's hall (404 if unknown) and window, and the rating tablet of that window
    making the request (401/403 for anyone else)."""
    hall, window = request.match_info["hall"], window_number(request)
    request.app[QUEUE].hall(hall)
    principal = await principal_of(request)
    _require_evaluator(principal, hall, window)
    return hall, window, principal


def _require_evaluator(principal: Principal, hall: str, window: int) -> None:
    if principal.kind != "device" or principal.role != "evaluator":
        raise Forbidden("auth.not_tablet", who=f"{principal.kind} {principal.id}")
    principal.require_hall(hall)
    if principal.window != window:
        raise Forbidden("auth.tablet_window", who=principal.id, own=principal.window, window=window)

