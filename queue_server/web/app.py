"""The aiohttp application factory: routes, middleware, and the start-up/shutdown pairs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from argon2 import PasswordHasher

from ..adapters import migrate, store
from ..adapters.relay import LocalAnnouncer, RedisRelay
from ..adapters.speech import Speech
from ..config import Config
from ..domain.errors import QueueError, Unavailable
from ..protocol import MAX_RESYNC_EVENTS
from ..service.anchors import DAY_CLOSE_POLL_SECONDS, Anchorer, anchor_at_day_close
from ..service.appointments import AppointmentService
from ..service.auth import Auth
from ..service.printing import PrintService
from ..service.queue import QueueService
from ..service.ratings import RatingService
from . import api, openapi, pages
from .appointments import routes as appointment_routes
from .guard import add_guards, input_guard
from .hub import Hub
from .keys import APPOINTMENTS, AUTH, CONFIG, HEALTH, PRINTS, QUEUE, RATINGS, READY
from .kiosk import add_kiosk_routes
from .limits import RATE_LIMITS, RateLimits, limits_middleware
from .people_pages import add_people_pages
from .printers import add_printer_routes
from .problem import problem_middleware
from .ratings import routes as ratings_routes
from .screens import DisplayAccess, add_screen_routes

log = logging.getLogger(__name__)

HUB = web.AppKey("hub", Hub)
_POOL = web.AppKey("database-pool", store.GuardedPool)

#: /healthz says unhealthy once the database has been unreachable this long.
UNHEALTHY_AFTER_SECONDS = 30.0
PROBE_INTERVAL_SECONDS = 2.0


def _health(pool: store.GuardedPool, unhealthy_after: float) -> str | None:
    down = pool.unavailable_for()
    if down > unhealthy_after:
        return f"the database has been unreachable for {down:.0f} s"
    return None


async def _probe_forever(pool: store.GuardedPool, interval: float) -> None:
    failing = False
    while True:
        await asyncio.sleep(interval)
        problem = await pool.probe()
        if problem and not failing:
            log.warning("the database does not answer: %s", problem)
        elif failing and not problem:
            log.warning("the database answers again")
        failing = problem is not None


class SchemaOutOfDate(RuntimeError):
    pass


def create_app(
    config: Config,
    *,
    dsn: str,
    clock: Callable[[], datetime] | None = None,
    ignore_hours: bool = False,
    redis_url: str | None = None,
    pool_size: int = 10,
    on_first_admin: Callable[[str, str], None] | None = None,
    speech_cache: Path | None = None,
    password_hasher: PasswordHasher | None = None,
    anchorer: Anchorer | None = None,
    anchor_poll_seconds: float = DAY_CLOSE_POLL_SECONDS,
    unhealthy_after: float = UNHEALTHY_AFTER_SECONDS,
    probe_interval: float = PROBE_INTERVAL_SECONDS,
) -> web.Application:
    """Build the server. Nothing connects until the app starts (cleanup_ctx).

    /healthz answers 503 once the database has been unreachable for `unhealthy_after`
    seconds (it is probed every `probe_interval` seconds): a supervisor then restarts the
    process instead of it answering 503 forever while saying it is fine."""
    clock = clock or (lambda: datetime.now(UTC))
    app = web.Application(middlewares=[problem_middleware, limits_middleware, input_guard], client_max_size=64 * 1024)
    add_guards(app)
    app[CONFIG] = config
    hub = Hub()
    app[HUB] = hub
    app[api.THROTTLE] = api.LoginThrottle(
        config.limits.login_failures_per_address, delay=config.limits.login_failure_delay_seconds
    )
    app[RATE_LIMITS] = RateLimits(config.limits)
    redis_url = redis_url if redis_url is not None else config.redis_url

    async def database(app: web.Application) -> AsyncIterator[None]:
        pool = await store.create_pool(dsn, min_size=2, max_size=pool_size,
                                       command_timeout=config.db_command_timeout, guard_holds=True)
        try:
            async with pool.acquire() as conn:
                behind = await migrate.pending(conn)
                if behind:
                    names = ", ".join(f"{m.version:04d}_{m.name}" for m in behind)
                    raise SchemaOutOfDate(
                        f"the database schema is out of date ({names} not applied); "
                        "run `queue-server migrate` first"
                    )
                await store.ensure_halls(conn, config.halls.values())
            announcer: LocalAnnouncer | RedisRelay
            if redis_url:
                announcer = RedisRelay(redis_url, hub, on_resync=hub.request_resync)
                await announcer.start()
            else:
                announcer = LocalAnnouncer(hub)
            queue = QueueService(config, pool, clock=clock, announcer=announcer, ignore_hours=ignore_hours)
            auth = Auth(pool, ttl_minutes=config.token_ttl_minutes, clock=clock, hasher=password_hasher)
            app[QUEUE] = queue
            app[AUTH] = auth
            app[PRINTS] = PrintService(config, pool, queue, clock)
            app[RATINGS] = RatingService(config, pool, queue)
            app[APPOINTMENTS] = AppointmentService(config, pool, queue)

            async def ready() -> str | None:
                try:
                    async with pool.acquire(timeout=2) as conn:
                        if await migrate.pending(conn):
                            return "the database schema is out of date"
                except Exception as exc:  # readiness reports, it does not raise
                    return f"database unavailable: {exc}"
                return None

            app[READY] = ready
            app[HEALTH] = lambda: _health(pool, unhealthy_after)
            app[_POOL] = pool
            first = await auth.ensure_first_admin()
            if first and on_first_admin:
                on_first_admin(*first)
            anchoring = (
                asyncio.create_task(anchor_at_day_close(
                    anchorer, pool, config.halls, clock=clock, business_day=queue.today,
                    poll_seconds=anchor_poll_seconds,
                ), name="anchor-at-day-close")
                if anchorer is not None else None
            )
            try:
                yield
            finally:
                if anchoring is not None:
                    anchoring.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await anchoring
                if isinstance(announcer, RedisRelay):
                    await announcer.stop()
        finally:
            # Bounded: a connection still held (a database that does not answer) must not
            # keep the process from stopping.
            try:
                async with asyncio.timeout(config.db_command_timeout):
                    await pool.close()
            except TimeoutError:
                log.warning("closing the database pool timed out; connections terminated")
                pool.terminate()

    app.cleanup_ctx.append(database)

    async def watch_database(app: web.Application) -> AsyncIterator[None]:
        """Probe the database every few seconds, so that /healthz knows it is gone even when
        no request asks for it, and knows at once when it is back."""
        task = asyncio.create_task(_probe_forever(app[_POOL], probe_interval), name="database probe")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

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

    add_screen_routes(
        app,
        hub=hub,
        snapshot=snapshot,
        events_after=events_after,
        authenticate_display=authenticate_display,
        latest_seq=latest_seq,
        hall_exists=lambda hall: hall in config.halls,
        speech=Speech(speech_cache) if speech_cache is not None else Speech(),
    )
    # Before the API's generic /windows/{window}/{action} route, which would shadow them.
    app.add_routes(ratings_routes)
    app.add_routes(appointment_routes)
    app.add_routes(api.routes)
    add_printer_routes(app, hub)
    add_people_pages(app, hub)
    add_kiosk_routes(app)
    app.router.add_get("/api/v1/openapi.json", openapi.handler)
    pages.add_page_routes(app)
    return app
