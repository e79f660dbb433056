"""Performance review over HTTP: GET /api/v1/stats (JSON), for managers, offices and clerks."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..domain.errors import InvalidInput
from .api import json_response, principal_of
from .keys import REPORTS, REVIEW

routes = web.RouteTableDef()

_PARAMS = ("scope", "from", "to", "by", "window", "staff", "month")


def query_params(request: web.Request) -> dict[str, Any]:
    """The report's query parameters: each at most once, short, free of control characters."""
    found: dict[str, Any] = {}
    for name in _PARAMS:
        values = request.query.getall(name, [])
        if len(values) > 1:
            raise InvalidInput("input.bad_choice", field=name, known="一个值", got=",".join(values)[:40])
        if values:
            value = values[0]
            if len(value) > 60 or any(ord(c) < 32 or ord(c) == 127 for c in value):
                raise InvalidInput("input.bad_choice", field=name, known="短文字", got=value[:40])
            found[name] = value
    window = found.get("window")
    if window is not None:
        if not window.isascii() or not window.isdigit() or int(window) > 9999:
            raise InvalidInput("input.bad_number", field="window", low=1, high=9999, got=window[:40])
        found["window"] = int(window)
    return found


async def stats_of(request: web.Request, by: str | None = None) -> dict[str, Any]:
    """The figures GET /api/v1/stats answers, for the exports that format them otherwise."""
    params = query_params(request)
    principal = await principal_of(request)
    return await request.app[REVIEW].stats(
        principal, params.get("scope"), params.get("from"), params.get("to"), by or params.get("by"),
        window=params.get("window"), staff=params.get("staff"))


@routes.get("/api/v1/stats")
async def stats(request: web.Request) -> web.Response:
    return json_response(await stats_of(request))


@routes.get("/api/v1/stats/quality")
async def quality(request: web.Request) -> web.Response:
    """Complaints, surveys and improvement actions by hall, street and in total (managers)."""
    params = query_params(request)
    principal = await principal_of(request)
    figures = request.app[REPORTS].quality
    if figures is None:  # pragma: no cover - the composition root always gives one
        raise web.HTTPNotFound()
    return json_response(await figures.figures(principal, params.get("scope"), params.get("from"), params.get("to")))


@routes.get("/api/v1/stats/scopes")
async def scopes(request: web.Request) -> web.Response:
    """The scopes the signed-in staff member may review (the console's scope picker)."""
    principal = await principal_of(request)
    review = request.app[REVIEW]
    review.require_staff(principal)
    return json_response({
        "scopes": [{"scope": s.text, "level": s.level, "name": s.name, "halls": list(s.halls)}
                   for s in review.scopes_of(principal)],
        "today": review.today().isoformat(),
        "role": principal.role, "staff_id": principal.id, "name": principal.name,
        "hall": principal.hall, "region": principal.region,
    })
