"""Errors as application/problem+json (RFC 9457), mapped once for the whole HTTP API."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from ..domain.errors import (
    CODES,
    Forbidden,
    InvalidInput,
    NotFound,
    QueueError,
    RateLimited,
    Refused,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"

#: The one place a domain error becomes an HTTP status code.
STATUS: dict[type[QueueError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Refused: 409,
    UnsupportedMediaType: 415,
    RateLimited: 429,
    Unavailable: 503,
}

#: Codes of what aiohttp itself refuses (no route, wrong method, body too large …).
HTTP_CODES = {404: "http.not_found", 405: "http.method_not_allowed", 413: "http.too_large"}


def status_of(exc: QueueError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem_response(status: int, title: str, detail: str, *, slug: str, code: str, **extra: Any) -> web.Response:
    body = {k: v for k, v in extra.items() if v is not None}
    body.update({"type": f"/problems/{slug}", "title": title, "status": status, "code": code, "detail": detail})
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
    if exc.retry_after is not None:
        extra["retry_after"] = exc.retry_after
    return problem_response(status_of(exc), exc.title, exc.detail, slug=exc.type_slug, code=exc.code, **extra)


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except QueueError as exc:
        return from_error(exc)
    except web.HTTPException as exc:
        if exc.status < 400 or request.path.startswith(("/display", "/static", "/kiosk", "/staff", "/t/")):
            raise
        code = HTTP_CODES.get(exc.status, "http.error")
        detail = CODES[code].format(method=request.method, reason=f"{exc.status} {exc.reason}")
        response = problem_response(exc.status, exc.reason, detail, slug="http-" + str(exc.status), code=code)
        if "Allow" in exc.headers:  # a 405 names the methods the resource takes
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(500, "内部错误", CODES["internal.error"], slug="internal", code="internal.error")
