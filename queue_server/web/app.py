"""The aiohttp application factory: routes, middleware, and the start-up/shutdown pairs."""

from __future__ import annotations

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
from ..protocol import MAX_RESYNC_EVENTS
from ..service.appointments import AppointmentService
from ..service.auth import Auth
from ..service.printing import PrintService
from ..service.queue import QueueService
from ..service.ratings import RatingService
from . import api, openapi, pages
from .appointments import routes as appointment_routes
from .hub import Hub
from .keys import APPOINTMENTS, AUTH, CONFIG, PRINTS, QUEUE, RATINGS, READY
from .kiosk import add_kiosk_routes
from .people_pages import add_people_pages
from .printers import add_printer_routes
from .problem import problem_middleware
from .ratings import routes as ratings_routes
from .screens import add_screen_routes

log = logging.getLogger(__name__)

HUB = web.AppKey("hub", Hub)


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
) -> web.Application:
    """Build the server. Nothing connects until the app starts (cleanup_ctx)."""
    clock = clock or (lambda: datetime.now(UTC))
    app = web.Application(middlewares=[problem_middleware], client_max_size=64 * 1024)
    app[CONFIG] = config
    hub = Hub()
    app[HUB] = hub
    app[api.THROTTLE] = api.LoginThrottle()
    redis_url = redis_url if redis_url is not None else config.redis_url

    async def database(app: web.Application) -> AsyncIterator[None]:
        pool = await store.create_pool(dsn, min_size=2, max_size=pool_size)
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
            first = await auth.ensure_first_admin()
            if first and on_first_admin:
                on_first_admin(*first)
            try:
                yield
            finally:
                if isinstance(announcer, RedisRelay):
                    await announcer.stop()
        finally:
            await pool.close()

    app.cleanup_ctx.append(database)

    async def snapshot(hall: str) -> dict:
        return await app[QUEUE].snapshot(hall)

    async def events_after(hall: str, after: int, limit: int) -> list[dict] | None:
        """Up to `limit` events after `after`; None when a screen is so far behind (more than
        MAX_RESYNC_EVENTS) that a snapshot serves it better."""
        latest = await app[QUEUE].latest_seq(hall)
        if latest - after > MAX_RESYNC_EVENTS:
            return None
        return await app[QUEUE].events_after(hall, after, limit)

    async def authenticate_display(hall: str, token: str) -> bool:
        try:
            principal = await app[AUTH].authenticate(token)
        except Exception:
            return False
        return principal.may_enter(hall) and (principal.kind == "staff" or principal.role in ("display", "kiosk", "evaluator"))

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
