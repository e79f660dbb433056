"""The aiohttp application factory: routes, middleware, and the start-up/shutdown pairs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from aiohttp import web

from ..config import Config
from ..domain.alerts import PRESENCE_SECONDS
from ..domain.errors import QueueError, Unavailable
from ..protocol import MAX_RESYNC_EVENTS
from ..service.bundle import DatabaseHealth, Services
from ..service.lifetimes import cancel_and_wait
from ..service.ports import SpeechEngine
from . import api, exports, openapi, pages, review
from .appointments import routes as appointment_routes
from .complaints import add_complaint_pages
from .complaints import routes as complaint_routes
from .guard import add_guards, input_guard
from .hub import Hub
from .improvements import routes as improvement_routes
from .keys import (
    ALERTS,
    APPOINTMENTS,
    AUTH,
    COMPLAINTS,
    CONFIG,
    HEALTH,
    IMPROVEMENTS,
    MONITOR,
    PAIRING,
    PRINTS,
    QUEUE,
    RATINGS,
    READY,
    REPORTS,
    REVIEW,
    STAFF,
    SURVEYS,
)
from .kiosk import add_kiosk_routes
from .limits import RATE_LIMITS, RateLimits, limits_middleware
from .manage import add_manage_pages
from .missing import known_halls
from .monitor import FEEDS, ScreenPresence, add_monitor_routes
from .observe import add_observability, observe_middleware
from .pairing import DEVICE_SOCKETS, add_pairing_routes
from .people_pages import add_people_pages
from .printers import PRINTERS, add_printer_routes
from .problem import problem_middleware
from .proxies import proxies_middleware
from .ratings import routes as ratings_routes
from .screens import DisplayAccess, add_screen_routes
from .staff import routes as staff_routes
from .surveys import routes as survey_routes

log = logging.getLogger(__name__)

HUB = web.AppKey("hub", Hub)
_DATABASE = web.AppKey("database-health", DatabaseHealth)
#: Builds the services when the app starts and closes them (then the relay, then the pool)
#: when it stops: the composition root's (queue_server.main) side of the app's lifetime.
ServicesLifetime = Callable[[], contextlib.AbstractAsyncContextManager[Services]]

#: /healthz says unhealthy once the database has been unreachable this long.
UNHEALTHY_AFTER_SECONDS = 30.0
PROBE_INTERVAL_SECONDS = 2.0


def _health(pool: DatabaseHealth, unhealthy_after: float) -> str | None:
    down = pool.unavailable_for()
    if down > unhealthy_after:
        return f"the database has been unreachable for {down:.0f} s"
    return None


async def _probe_forever(pool: DatabaseHealth, interval: float) -> None:
    failing = False
    while True:
        await asyncio.sleep(interval)
        problem = await pool.probe()
        if problem and not failing:
            log.warning("the database does not answer: %s", problem)
        elif failing and not problem:
            log.warning("the database answers again")
        failing = problem is not None


def create_app(
    config: Config,
    services: ServicesLifetime,
    *,
    hub: Hub,
    clock: Callable[[], datetime],
    speech: SpeechEngine | None = None,
    unhealthy_after: float = UNHEALTHY_AFTER_SECONDS,
    probe_interval: float = PROBE_INTERVAL_SECONDS,
) -> web.Application:
    """The web side of the server: routes, middleware, and the services' lifetime.

    `services` is entered when the app starts (nothing connects before) and exited after the
    app has stopped accepting and closed its sockets; the composition root (main.create_app)
    builds it, the hub the relay delivers into, and the speech engine.

    /healthz answers 503 once the database has been unreachable for `unhealthy_after`
    seconds (it is probed every `probe_interval` seconds): a supervisor then restarts the
    process instead of it answering 503 forever while saying it is fine."""
    # First: every later middleware and handler sees the real client behind a trusted proxy.
    app = web.Application(middlewares=[proxies_middleware(config.trusted_proxies), observe_middleware,
                                       problem_middleware, limits_middleware, input_guard],
                          client_max_size=64 * 1024)
    add_guards(app)
    app[CONFIG] = config
    app[HUB] = hub
    app[api.THROTTLE] = api.LoginThrottle(
        config.limits.login_failures_per_address, delay=config.limits.login_failure_delay_seconds
    )
    app[RATE_LIMITS] = RateLimits(config.limits)

    async def database(app: web.Application) -> AsyncIterator[None]:
        async with services() as built:
            app[QUEUE] = built.queue
            app[AUTH] = built.auth
            app[PRINTS] = built.prints
            app[RATINGS] = built.ratings
            app[APPOINTMENTS] = built.appointments
            app[REVIEW] = built.review
            app[REPORTS] = built.reports
            app[ALERTS] = built.alerts
            app[MONITOR] = built.monitor
            app[IMPROVEMENTS] = built.improvements
            app[COMPLAINTS] = built.complaints
            app[PAIRING] = built.pairing
            app[STAFF] = built.staff
            app[SURVEYS] = built.surveys
            app[READY] = built.ready
            app[HEALTH] = lambda: _health(built.database, unhealthy_after)
            app[_DATABASE] = built.database
            yield

    app.cleanup_ctx.append(database)

    async def watch_database(app: web.Application) -> AsyncIterator[None]:
        """Probe the database every few seconds, so that /healthz knows it is gone even when
        no request asks for it, and knows at once when it is back."""
        task = asyncio.create_task(_probe_forever(app[_DATABASE], probe_interval), name="database probe")
        yield
        await cancel_and_wait(task)

    app.cleanup_ctx.append(watch_database)

    async def snapshot(hall: str) -> dict:
        return await app[QUEUE].snapshot(hall)

    async def events_after(hall: str, after: int, limit: int) -> list[dict] | None:
        """Up to `limit` events after `after`; None when a screen is so far behind (more than
        MAX_RESYNC_EVENTS) that a snapshot serves it better."""
        latest = await app[QUEUE].latest_seq(hall)
        if latest - after > MAX_RESYNC_EVENTS:
            return None
        return await app[QUEUE].events_after(hall, after, limit)

    async def authenticate_display(hall: str, token: str) -> DisplayAccess:
        """"unknown" for a token that is no one's, "forbidden" for one that is not a screen's
        of this hall; a token that cannot be checked (the database is unavailable) raises, and
        the screen gets 503, never 401."""
        try:
            principal = await app[AUTH].authenticate(token)
        except Unavailable:
            raise
        except QueueError:
            return "unknown"
        screen = principal.kind == "staff" or principal.role in ("display", "kiosk", "evaluator")
        return "allowed" if principal.may_enter(hall) and screen else "forbidden"

    async def latest_seq(hall: str) -> int:
        return await app[QUEUE].latest_seq(hall)

    add_monitor_routes(app, hub)
    add_pairing_routes(app)
    presence: list[ScreenPresence] = []

    async def screen_presence(app: web.Application) -> AsyncIterator[None]:
        presence.append(ScreenPresence(app[MONITOR], app[FEEDS]))
        task = asyncio.create_task(presence[0].refresh_forever(PRESENCE_SECONDS), name="screen presence")
        yield
        await cancel_and_wait(task)

    app.cleanup_ctx.append(screen_presence)

    @contextlib.asynccontextmanager
    async def present(hall: str, token: str | None) -> AsyncIterator[None]:
        """A registered screen (a display device) is connected while its socket is open."""
        try:
            principal = await app[AUTH].authenticate(token)
        except QueueError:
            principal = None
        if principal is None or principal.kind != "device" or principal.role != "display" or not presence:
            yield
            return
        async with presence[0].connected(hall, principal.id):
            yield

    add_screen_routes(
        app,
        hub=hub,
        snapshot=snapshot,
        events_after=events_after,
        authenticate_display=authenticate_display,
        latest_seq=latest_seq,
        halls=known_halls(config),
        speech=speech,
        clock=lambda: clock().astimezone(config.timezone),
        time_zone=config.timezone.key,
        present=present,
        devices=app[DEVICE_SOCKETS],
    )
    app.add_routes(api.hot_routes)  # first: see api.hot_routes
    # Before the API's generic /windows/{window}/{action} route, which would shadow them.
    app.add_routes(ratings_routes)
    app.add_routes(improvement_routes)
    app.add_routes(complaint_routes)
    app.add_routes(staff_routes)
    app.add_routes(survey_routes)
    app.add_routes(appointment_routes)
    app.add_routes(api.routes)
    app.add_routes(review.routes)
    exports.add_export_routes(app)
    add_printer_routes(app, hub)
    add_people_pages(app, hub)
    add_complaint_pages(app)
    add_kiosk_routes(app)
    add_manage_pages(app)
    app.router.add_get("/api/v1/openapi.json", openapi.handler)

    def connections() -> tuple[dict[str, int], dict[str, int]]:
        printers: dict[str, int] = {}
        for hall, _ in app[PRINTERS].channels:
            printers[hall] = printers.get(hall, 0) + 1
        return {h: hub.subscriber_count(h) for h in config.halls}, printers

    add_observability(app, connections)
    pages.add_page_routes(app)
    return app
