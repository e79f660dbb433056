"""Observability: /metrics in Prometheus' text format, a request id on every answer, and one
structured log line per request.

Metrics (a registry per app, never the process-global one: tests run many apps in a process):
  hallqueue_requests_total{method,route,status}   every answered request, by route pattern
  hallqueue_commands_total{kind,outcome}          state-changing requests (POST/PUT/DELETE) by kind
                                                  (the route, with a window action spelled out) and
                                                  outcome (ok, invalid, denied, not_found, refused,
                                                  limited, error)
  hallqueue_request_seconds{method,route}         latency histogram
  hallqueue_batch_commands                        commands per transaction (group commit, one or more halls)
  hallqueue_screens_connected{hall}               websocket screens on this process
  hallqueue_printers_connected{hall}              printers on this process
  hallqueue_queue_length{hall,service}            tickets waiting (read when scraped)
  hallqueue_longest_wait_seconds{hall,service}    the longest current wait (0 when none waits)
  hallqueue_alerts_open{hall,kind,severity}       alerts raised and not cleared
The route is aiohttp's pattern (/api/v1/tickets/{id}), never the path: a path can hold a ticket
holder's secret. /metrics answers the loopback (a Prometheus beside the server, or nginx, which
deploy/ keeps from proxying it) and admins' tokens; anyone else gets 403.

Request ids: a client's X-Request-Id is kept when it is short and plain, else one is made; it
is in the answer's X-Request-Id header and in the request's log line. The log line (logger
queue_server.requests, INFO) is JSON: request id, method, route, status, milliseconds — no
query, no header, no address, so no token and no citizen's data.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from ..domain.errors import QueueError
from ..logsafe import SAFE
from ..service.commands import WINDOW_ACTIONS
from .keys import AUTH, CONFIG, MONITOR, QUEUE
from .proxies import forwarded

SAFE_EXTRA = {SAFE: True}

log = logging.getLogger("queue_server.requests")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
REQUEST_ID_HEADER = "X-Request-Id"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Methods counted by name; any other token a client sends is counted as OTHER (a label per
# invented method would grow /metrics without end).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_ACTIONS = frozenset(WINDOW_ACTIONS) | {"restore", "cancel"}
_OUTCOMES = {400: "invalid", 401: "denied", 403: "denied", 404: "not_found", 409: "refused", 413: "invalid",
             415: "invalid", 422: "invalid", 429: "limited"}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("hallqueue_requests", "Answered requests", ["method", "route", "status"], registry=r)
        self.commands = Counter("hallqueue_commands", "State-changing requests by kind and outcome",
                                ["kind", "outcome"], registry=r)
        self.latency = Histogram("hallqueue_request_seconds", "Request latency", ["method", "route"], registry=r,
                                 buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.batch = Histogram("hallqueue_batch_commands", "Commands per transaction (group commit; one or more halls)",
                               registry=r, buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
        self.screens = Gauge("hallqueue_screens_connected", "Websocket screens connected to this process",
                             ["hall"], registry=r)
        self.printers = Gauge("hallqueue_printers_connected", "Printers connected to this process", ["hall"],
                              registry=r)
        self.queue = Gauge("hallqueue_queue_length", "Tickets waiting", ["hall", "service"], registry=r)
        self.longest = Gauge("hallqueue_longest_wait_seconds", "Longest current wait", ["hall", "service"],
                             registry=r)
        self.alerts = Gauge("hallqueue_alerts_open", "Alerts raised and not cleared", ["hall", "kind", "severity"],
                            registry=r)
        # Each request's metric children by (method, route, status, kind): `labels()` checks and
        # joins its arguments under a lock on every call, a few µs per request.
        self._children: dict[tuple[str, str, int, str | None], tuple[Any, Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, kind: str | None, seconds: float) -> None:
        """Count one answered request (its kind only for a state-changing one) and its latency."""
        key = (method, route, status, kind)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
                None if kind is None else self.commands.labels(kind, _outcome(status)),
            )
            self._children[key] = children
        requests, latency, commands = children
        requests.inc()
        latency.observe(seconds)
        if commands is not None:
            commands.inc()


METRICS = web.AppKey("metrics", Metrics)
#: The connections of this process the scrape counts: hall → screens, hall → printers.
CONNECTIONS = web.AppKey("metric-connections", Callable[[], tuple[dict[str, int], dict[str, int]]])


def route_of(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    return resource.canonical if resource is not None else "unmatched"


def command_kind(request: web.Request, route: str) -> str:
    action = request.match_info.get("action")
    # Only actions that exist: a label made of whatever a client typed would grow /metrics without end.
    return route.replace("{action}", action) if action in _ACTIONS else route


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    return _OUTCOMES.get(status, "error" if status >= 500 else "invalid")


@web.middleware
async def observe_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                             ) -> web.StreamResponse:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = given if _REQUEST_ID.match(given) else secrets.token_hex(8)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        if not response.prepared:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers[REQUEST_ID_HEADER] = request_id
        raise
    finally:
        elapsed = time.perf_counter() - started
        route = route_of(request)
        method = request.method if request.method in _METHODS else "OTHER"
        metrics = request.app.get(METRICS)
        if metrics is not None:
            kind = command_kind(request, route) if method in _WRITES else None
            metrics.observe_request(method, route, status, kind, elapsed)
        if log.isEnabledFor(logging.INFO):
            # Nothing in it can be a secret (a route pattern, a checked request id), so the
            # redacting formatter may pass it as it is (logsafe.SAFE).
            log.info(orjson.dumps({"request_id": request_id, "method": method, "route": route,
                                   "status": status, "ms": round(elapsed * 1000, 1)}).decode(),
                     extra=SAFE_EXTRA)


def _loopback(request: web.Request) -> bool:
    """A request from this machine itself: not one a proxy passed on (nginx on the same
    machine connects from 127.0.0.1, for whoever its client is)."""
    if forwarded(request):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


async def metrics_handler(request: web.Request) -> web.Response:
    if not _loopback(request):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        try:
            principal = await request.app[AUTH].authenticate(token or None)
        except QueueError:
            principal = None
        if principal is None or principal.kind != "staff" or principal.role != "admin":
            return web.Response(status=403, text="/metrics: loopback or an admin's token\n")
    metrics = request.app[METRICS]
    await _read_halls(request.app, metrics)
    screens, printers = request.app[CONNECTIONS]()
    metrics.screens.clear()
    metrics.printers.clear()
    for hall in request.app[CONFIG].halls:
        metrics.screens.labels(hall).set(screens.get(hall, 0))
        metrics.printers.labels(hall).set(printers.get(hall, 0))
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


async def _read_halls(app: web.Application, metrics: Metrics) -> None:
    """Each hall's queue and open alerts, read now (the hall monitor's own view)."""
    metrics.queue.clear()
    metrics.longest.clear()
    metrics.alerts.clear()
    monitor = app[MONITOR]
    for hall in app[CONFIG].halls:
        view = await monitor.view(hall)
        now = datetime.fromisoformat(view["at"])
        for s in view["services"]:
            metrics.queue.labels(hall, s["code"]).set(s["waiting"])
            since = s.get("oldest_since")
            metrics.longest.labels(hall, s["code"]).set(
                max(0.0, (now - datetime.fromisoformat(since)).total_seconds()) if since else 0.0)
        counts: dict[tuple[str, str], int] = {}
        for a in view["alerts"]:
            if a.get("cleared_at") is None:
                counts[(a["kind"], a["severity"])] = counts.get((a["kind"], a["severity"]), 0) + 1
        for (kind, severity), n in counts.items():
            metrics.alerts.labels(hall, kind, severity).set(n)


def add_observability(app: web.Application, connections: Callable[[], tuple[dict[str, int], dict[str, int]]]
                      ) -> None:
    metrics = Metrics()
    app[METRICS] = metrics
    app[CONNECTIONS] = connections
    app.router.add_get("/metrics", metrics_handler)

    async def count_batches(app: web.Application) -> Any:
        app[QUEUE].observe_batch = metrics.batch.observe
        yield

    app.cleanup_ctx.append(count_batches)
