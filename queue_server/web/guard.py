"""What every request and response passes: no control character in a path or query value, and
the security headers (a page may not be framed, scripts only from this server)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..domain.errors import InvalidInput
from ..domain.text import clean_json

# Pages load their scripts, styles, images, sounds and sockets from this server only; no page
# may be framed (click-jacking a clerk's console); the ticket holder's secret URL is never sent
# on as a Referer.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' data: blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@web.middleware
async def input_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """A NUL or another control character in the path or the query is a client's error (400
    naming the part), never something a handler or PostgreSQL has to meet."""
    clean_json(dict(request.match_info))
    for name, value in request.query.items():
        clean_json({name: value})
    if "\x00" in request.path:
        raise InvalidInput("input.nul_in_path", field="path")
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.content_type == "text/html":
        policy = response.headers.get("Content-Security-Policy")
        if policy is None:
            response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        elif "frame-ancestors" not in policy:  # a page's own policy, still never framed
            response.headers["Content-Security-Policy"] = (
                policy.rstrip("; ") + "; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
        response.headers.setdefault("X-Frame-Options", "DENY")


def add_guards(app: web.Application) -> None:
    app.on_response_prepare.append(security_headers)
