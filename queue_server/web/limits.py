"""Slow clients and floods: read timeouts, and per-address rate limits on the public routes.

- Headers: aiohttp closes a connection that has not completed a request's headers within
  its keep-alive timeout, counted from the connection (or the end of the previous answer),
  whatever it trickles meanwhile; `handler_args` sets that timeout to
  `[limits] header_timeout_seconds`. An idle keep-alive connection closes after the same time.
- Body: `limits_middleware` reads a request's body within `body_timeout_seconds` (else 408
  and the connection is closed); handlers then read it from memory.
- Floods: a token bucket per (route group, client address) on the routes anyone may call
  without a token; past it, 429 problem+json with Retry-After. In-process (each server
  process counts its own) and bounded: the least recently used buckets are forgotten.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..config import Limits
from ..domain.errors import CODES, RateLimited
from .problem import problem_response

#: Buckets kept per route group; past this, the least recently used are dropped (a dropped
#: bucket starts full again, which only ever favours the client).
MAX_BUCKETS = 50_000

# (method, path pattern, group); the patterns do not depend on how a route names its parts.
_PUBLIC_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"/api/v1/tickets/[^/]+"), "ticket_status"),
    ("GET", re.compile(r"/t/[^/]+/live"), "live_feed"),
    ("POST", re.compile(r"/api/v1/auth/login"), "login"),
    ("POST", re.compile(r"/api/v1/tickets/[^/]+/(?:rating|follow-up-rating|survey)"), "rating"),
    ("POST", re.compile(r"/api/v1/tickets/[^/]+/complaint"), "complaint"),
    ("POST", re.compile(r"/api/v1/complaint-box/[^/]+"), "complaint"),
    ("POST", re.compile(r"/api/v1/complaints/[^/]+/rating"), "complaint"),
    ("GET", re.compile(r"/api/v1/complaints/[^/]+"), "complaint_status"),
    ("POST", re.compile(r"/api/v1/pairing"), "pairing"),
    ("GET", re.compile(r"/api/v1/pairing/wait"), "pairing_wait"),
    # answered without a token too, and an unknown token is looked up in the database
    ("GET", re.compile(r"/api/v1/halls/[^/]+/device-check"), "device_check"),
)

_GROUP_NAMES = {
    "ticket_status": "取号状态查询", "live_feed": "手机实时页面", "login": "登录", "rating": "评价",
    "complaint": "投诉与建议", "complaint_status": "投诉进度查询",
    "pairing": "设备配对码", "pairing_wait": "设备配对等待", "device_check": "设备连接自检",
}


class TokenBuckets:
    """`per_minute` requests a minute per key, in bursts of up to `per_minute`."""

    def __init__(self, per_minute: int, *, max_keys: int = MAX_BUCKETS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens a second
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take one token for `key`: 0 when allowed, else the seconds until one is free."""
        now = self.clock()
        tokens, at = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


class RateLimits:
    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.groups = {
            "ticket_status": TokenBuckets(limits.ticket_status_per_minute, clock=clock),
            "live_feed": TokenBuckets(limits.live_feed_per_minute, clock=clock),
            "login": TokenBuckets(limits.login_per_minute, clock=clock),
            "rating": TokenBuckets(limits.rating_per_minute, clock=clock),
            "complaint": TokenBuckets(limits.complaint_per_minute, clock=clock),
            # the status page is read like a ticket's: often, and cheaply
            "complaint_status": TokenBuckets(limits.ticket_status_per_minute, clock=clock),
            "pairing": TokenBuckets(limits.pairing_per_minute, clock=clock),
            "pairing_wait": TokenBuckets(limits.pairing_wait_per_minute, clock=clock),
            "device_check": TokenBuckets(limits.device_check_per_minute, clock=clock),
        }

    @staticmethod
    def group_of(method: str, path: str) -> str | None:
        for route_method, pattern, group in _PUBLIC_ROUTES:
            if method == route_method and pattern.fullmatch(path):
                return group
        return None

    def check(self, request: web.Request) -> None:
        group = self.group_of(request.method, request.path)
        if group is None:
            return
        wait = self.groups[group].take(request.remote or "?")
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise RateLimited("rate.limited", group=_GROUP_NAMES[group], seconds=seconds, retry_after=seconds)


RATE_LIMITS = web.AppKey("rate-limits", RateLimits)

_BODY_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))


@web.middleware
async def limits_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    limits = request.app[RATE_LIMITS]
    limits.check(request)
    if request.method in _BODY_METHODS and request.body_exists:
        try:
            async with asyncio.timeout(limits.limits.body_timeout_seconds):
                await request.read()  # kept by the request: handlers read it from memory
        except TimeoutError:
            seconds = limits.limits.body_timeout_seconds
            response = problem_response(
                408, "请求超时", CODES["http.timeout"].format(seconds=f"{seconds:g}"),
                slug="request-timeout", code="http.timeout",
            )
            response.force_close()
            await response.prepare(request)
            await response.write_eof()
            # Close now (the answer is flushed first): no lingering for the rest of a body
            # that is not coming.
            request.protocol.force_close()
            return response
    return await handler(request)


def handler_args(limits: Limits) -> dict[str, Any]:
    """Keyword arguments for `web.run_app` / `web.AppRunner`: the header timeout."""
    return {"keepalive_timeout": limits.header_timeout_seconds}
