"""Errors as application/problem+json (RFC 9457), mapped once for the whole HTTP API."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from ..domain.errors import QueueError, Unavailable

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"


def problem_response(status: int, title: str, detail: str, *, slug: str, **extra: Any) -> web.Response:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {}
    if "retry_after" in extra and extra["retry_after"] is not None:
        headers["Retry-After"] = str(extra["retry_after"])
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        content_type=PROBLEM_TYPE,
        charset="utf-8",
        headers=headers,
    )


def from_error(exc: QueueError) -> web.Response:
    extra: dict[str, Any] = dict(exc.extra)
    if exc.field:
        extra["field"] = exc.field
    if isinstance(exc, Unavailable):
        extra["retry_after"] = exc.retry_after
    return problem_response(exc.status, exc.title, exc.detail, slug=exc.type_slug, **extra)


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except QueueError as exc:
        return from_error(exc)
    except web.HTTPException as exc:
        if exc.status < 400 or request.path.startswith(("/display", "/static", "/kiosk", "/staff", "/t/")):
            raise
        response = problem_response(
            exc.status, exc.reason, exc.text or exc.reason, slug="http-" + str(exc.status)
        )
        if "Allow" in exc.headers:  # a 405 names the methods the resource takes
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, "内部错误", "an unexpected server error; the server log has the details", slug="internal")
