"""Complaints (投诉) over HTTP: intake from the phone page of a visit, the hall's poster page and
the manager's console; the flow's steps; the complainant's private status link and rating; and
the two citizen pages (/complaint/{hall}, /complaint/status/{secret})."""

from __future__ import annotations

from aiohttp import web

from ..domain.complaints import ACTIONS
from ..domain.errors import Forbidden, NotFound
from ..service.auth import require_staff
from .api import (
    answer,
    bearer,
    idempotency_key,
    json_response,
    principal_of,
    read_json,
    staff_of_hall,
)
from .commands import complaint_command, complaint_rating_command, complaint_step_command
from .keys import COMPLAINTS, CONFIG, MONITOR, QUEUE
from .people_pages import STATIC, TICKET_ID, page_response
from .problem import from_error

routes = web.RouteTableDef()


async def _refuse_tokens(request: web.Request, what: str) -> None:
    """Citizens' routes: a request with a token is staff or a device (403; 401 if the token is
    expired or revoked) — staff take complaints on the console, where the channel is recorded."""
    if bearer(request):
        principal = await principal_of(request)
        raise Forbidden("auth.citizen_complaint", who=f"{principal.role} {principal.id}", what=what)


@routes.post("/api/v1/tickets/{id}/complaint")
async def complain_about_a_visit(request: web.Request) -> web.Response:
    """From the phone page of a visit: linked to the ticket, its window and staff member; the
    holder's secret (`id`) is the key."""
    await _refuse_tokens(request, "提交投诉")
    ticket = await request.app[QUEUE].holder_ticket(request.match_info["id"])
    cmd = complaint_command(await read_json(request), "ticket")
    return answer(await request.app[COMPLAINTS].submit(ticket.hall, cmd, ticket=ticket, key=idempotency_key(request)))


@routes.post("/api/v1/complaint-box/{hall}")
async def complain_from_the_poster(request: web.Request) -> web.Response:
    """From the hall's poster page (QR code): no ticket needed."""
    await _refuse_tokens(request, "提交投诉")
    hall = request.match_info["hall"]
    request.app[QUEUE].hall(hall)
    cmd = complaint_command(await read_json(request), "poster")
    return answer(await request.app[COMPLAINTS].submit(hall, cmd, key=idempotency_key(request)))


@routes.get("/api/v1/complaints/{id}")
async def complaint_status(request: web.Request) -> web.Response:
    """The complainant's view by the private link's secret (`id`)."""
    return json_response(await request.app[COMPLAINTS].status(request.match_info["id"]))


@routes.post("/api/v1/complaints/{id}/rating")
async def rate_complaint(request: web.Request) -> web.Response:
    await _refuse_tokens(request, "评价投诉处理")
    cmd = complaint_rating_command(await read_json(request))
    return answer(await request.app[COMPLAINTS].rate(request.match_info["id"], cmd, idempotency_key(request)))


@routes.get("/api/v1/halls/{hall}/complaints")
async def list_complaints(request: web.Request) -> web.Response:
    """The hall's staff as the service allows; a street or district office's manager, the halls
    of their region to read (the office an overdue complaint is reported to)."""
    hall = request.match_info["hall"]
    request.app[QUEUE].hall(hall)
    principal = await principal_of(request)
    office = principal.kind == "staff" and principal.region is not None
    if office:
        request.app[MONITOR].require_watch(principal, hall)
    else:
        require_staff(principal, hall)
    items = await request.app[COMPLAINTS].worklist(
        hall, principal, request.query.get("state"), request.query.get("overdue") in ("1", "true"),
        region_office=office)
    return json_response({"hall": hall, "complaints": items, "read_only": office})


@routes.post("/api/v1/halls/{hall}/complaints")
async def take_complaint(request: web.Request) -> web.Response:
    """A manager records a complaint taken by phone or in person."""
    hall, principal = await staff_of_hall(request, "manager", "admin")
    cmd = complaint_command(await read_json(request))
    return answer(await request.app[COMPLAINTS].submit(hall, cmd, manager=principal, key=idempotency_key(request)))


def _step_handler(action: str):  # noqa: ANN202 - an aiohttp handler
    async def handler(request: web.Request) -> web.Response:
        hall, principal = await staff_of_hall(request)
        cmd = complaint_step_command(request.match_info["id"], action, await read_json(request))
        return answer(await request.app[COMPLAINTS].step(hall, principal, cmd, idempotency_key(request)))

    return handler


for _action in ACTIONS:
    routes.post(f"/api/v1/halls/{{hall}}/complaints/{{id}}/{_action}")(_step_handler(_action))


async def box_page(request: web.Request) -> web.StreamResponse:
    hall = request.match_info["hall"]
    if hall not in request.app[CONFIG].halls:
        return from_error(NotFound("hall.unknown", hall=hall, known=", ".join(request.app[CONFIG].halls)))
    return page_response("complaint/box.html")


async def status_page(request: web.Request) -> web.StreamResponse:
    # No lookup here: the page asks the API and says so plainly when the link is unknown.
    return page_response("complaint/status.html")


def add_complaint_pages(app: web.Application) -> None:
    app.router.add_get("/complaint/status/{id:" + TICKET_ID + "}", status_page)
    app.router.add_get("/complaint/{hall}", box_page)
    app.router.add_static("/complaint/static/", STATIC / "complaint")
