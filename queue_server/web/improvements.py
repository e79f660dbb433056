"""Improvement actions (整改) over HTTP: open, list, and each step (done, verify, reopen)."""

from __future__ import annotations

from aiohttp import web

from .api import answer, idempotency_key, json_response, read_json, staff_of_hall
from .commands import improvement_command, improvement_step_command
from .keys import IMPROVEMENTS

routes = web.RouteTableDef()


@routes.get("/api/v1/halls/{hall}/improvements")
async def list_improvements(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request)
    items = await request.app[IMPROVEMENTS].worklist(
        hall, principal, request.query.get("state"), request.query.get("overdue") in ("1", "true"))
    return json_response({"hall": hall, "improvements": items})


@routes.post("/api/v1/halls/{hall}/improvements")
async def open_improvement(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    cmd = improvement_command(await read_json(request))
    return answer(await request.app[IMPROVEMENTS].open(hall, principal, cmd, idempotency_key(request)))


@routes.post("/api/v1/halls/{hall}/improvements/{id}/done")
async def improvement_done(request: web.Request) -> web.Response:
    """The owner (or a manager) reports the measure carried out, with the evidence."""
    return await _step(request, "done")


@routes.post("/api/v1/halls/{hall}/improvements/{id}/verify")
async def verify_improvement(request: web.Request) -> web.Response:
    return await _step(request, "verify")


@routes.post("/api/v1/halls/{hall}/improvements/{id}/reopen")
async def reopen_improvement(request: web.Request) -> web.Response:
    return await _step(request, "reopen")


async def _step(request: web.Request, action: str) -> web.Response:
    hall, principal = await staff_of_hall(request)
    cmd = improvement_step_command(request.match_info["id"], action, await read_json(request))
    return answer(await request.app[IMPROVEMENTS].step(hall, principal, cmd, idempotency_key(request)))
