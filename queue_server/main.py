"""The composition root: configuration → pool → stores → relay → speech → services → web app.

The only module that imports both the adapters and the web layer. `create_app` builds the
server (the tests build it through here too); `serve` runs it. Shutdown runs in the reverse
order of construction: the web app stops accepting and closes its sockets, then the services
close (their hall workers and background tasks are cancelled and awaited), then the relay,
then the pool. The CLI imports this module; this module never imports the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .adapters import migrate, stats, store
from .adapters.accounts import PostgresAccountStore
from .adapters.alerts import PostgresAlertStore
from .adapters.anchors import AnchorFiles
from .adapters.appointments import PostgresAppointmentStore
from .adapters.complaints import PostgresComplaintStore
from .adapters.improvements import PostgresImprovementStore
from .adapters.layout import PrinterTicketLayout
from .adapters.pairing import PostgresPairingStore
from .adapters.printing import PostgresPrintStore
from .adapters.quality_queries import PostgresQualityStore
from .adapters.ratings import PostgresRatingStore
from .adapters.relay import LocalAnnouncer, RedisRelay
from .adapters.review_queries import PostgresReviewStore
from .adapters.review_reports import AnchorLogReader, PostgresReviewReportStore
from .adapters.speech import Speech
from .adapters.staff_admin import PostgresStaffStore
from .adapters.surveys import PostgresSurveyStore
from .config import Config
from .domain.anchor import SignedAnchor
from .service.alerts import AlertService
from .service.anchors import DAY_CLOSE_POLL_SECONDS, Anchorer, anchor_at_day_close
from .service.appointments import AppointmentService
from .service.auth import Auth
from .service.bundle import Services
from .service.complaints import ComplaintService
from .service.improvements import ImprovementService
from .service.lifetimes import cancel_and_wait
from .service.monitor import MonitorService
from .service.pairing import PairingService
from .service.ports import Announcer, Database
from .service.printing import PrintService
from .service.quality import QualityService
from .service.queue import LANES, QueueService
from .service.ratings import RatingService
from .service.review import ReviewService
from .service.review_reports import ReviewReportService
from .service.staff import StaffService
from .service.surveys import SurveyService
from .service.verify import AnchorCheck, Verification
from .service.verify import check_anchor_log as _check_anchor_log
from .service.verify import verify_hall as _verify_hall
from .web.app import PROBE_INTERVAL_SECONDS, UNHEALTHY_AFTER_SECONDS
from .web.app import create_app as create_web_app
from .web.hub import Hub

log = logging.getLogger(__name__)

HALL_STORE = store.PostgresHallStore()
ACCOUNTS = PostgresAccountStore()
ANCHOR_FILES = AnchorFiles()


class SchemaOutOfDate(RuntimeError):
    pass


# ---- the services on PostgreSQL -------------------------------------------------------


def queue_service(
    config: Config, pool: Database, *, clock: Callable[[], datetime] | None = None,
    announcer: Announcer | None = None, ignore_hours: bool = False, lanes: int | None = None,
) -> QueueService:
    """The queue service on PostgreSQL. `lanes` (else QUEUE_BATCH_LANES, else 4): batches in
    flight at once, each on its own pooled connection (see service/queue.py)."""
    if lanes is None:
        lanes = _positive_env("QUEUE_BATCH_LANES", LANES)
    return QueueService(config, pool, HALL_STORE, clock=clock or (lambda: datetime.now(UTC)),
                        announcer=announcer, ignore_hours=ignore_hours, lanes=lanes)


def _positive_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number ≥ 1, not {raw!r}")
    return int(raw)


def auth_service(
    pool: Database, *, ttl_minutes: int, clock: Callable[[], datetime] | None = None,
    hasher: PasswordHasher | None = None,
) -> Auth:
    return Auth(pool, ACCOUNTS, ttl_minutes=ttl_minutes, clock=clock or (lambda: datetime.now(UTC)),
                hasher=hasher)


def review_service(config: Config, pool: Database, clock: Callable[[], datetime] | None = None) -> ReviewService:
    """Performance review over the projection (adapters/stats.py) in `pool`."""
    return ReviewService(config, pool, PostgresReviewStore(), clock or (lambda: datetime.now(UTC)))


def anchorer(key: Ed25519PrivateKey, log_path: Path) -> Anchorer:
    return Anchorer(key, log_path, files=ANCHOR_FILES, store=HALL_STORE)


async def verify_hall(pool: Database, hall: str, anchors: Sequence[AnchorCheck] | None = None) -> Verification:
    return await _verify_hall(pool, HALL_STORE, hall, anchors)


def check_anchor_log(
    entries: Sequence[tuple[int, SignedAnchor | str]], public: Ed25519PublicKey, halls: Sequence[str],
) -> tuple[dict[str, list[AnchorCheck]], list[str]]:
    return _check_anchor_log(entries, public, halls, ANCHOR_FILES)


def build_services(
    config: Config, pool: store.GuardedPool, announcer: Announcer, *, clock: Callable[[], datetime],
    ignore_hours: bool = False, password_hasher: PasswordHasher | None = None,
) -> Services:
    queue = queue_service(config, pool, clock=clock, announcer=announcer, ignore_hours=ignore_hours)

    async def ready() -> str | None:
        try:
            async with pool.acquire(timeout=2) as conn:
                if await migrate.pending(conn):
                    return "the database schema is out of date"
        except Exception as exc:  # readiness reports, it does not raise
            return f"database unavailable: {exc}"
        return None

    review = review_service(config, pool, clock)
    alert_store = PostgresAlertStore()
    improvements = ImprovementService(config, pool, queue, PostgresImprovementStore())
    auth = auth_service(pool, ttl_minutes=config.token_ttl_minutes, clock=clock, hasher=password_hasher)
    surveys = SurveyService(config, pool, queue, PostgresSurveyStore())
    queue.on_finish.append(surveys.draw)
    return Services(
        config=config,
        queue=queue,
        auth=auth,
        prints=PrintService(config, pool, queue, clock, jobs=PostgresPrintStore(), layout=PrinterTicketLayout()),
        ratings=RatingService(config, pool, queue, PostgresRatingStore()),
        appointments=AppointmentService(config, pool, queue, PostgresAppointmentStore()),
        review=review,
        reports=ReviewReportService(review, PostgresReviewReportStore(),
                                    AnchorLogReader(config.anchor_log, config.anchor_key), improvements,
                                    QualityService(review, PostgresQualityStore())),
        alerts=AlertService(config, queue, pool, alert_store, clock=clock),
        monitor=MonitorService(queue, review, pool, HALL_STORE, alert_store, clock=clock),
        improvements=improvements,
        complaints=ComplaintService(config, pool, queue, PostgresComplaintStore()),
        pairing=PairingService(config, pool, queue, PostgresPairingStore(), auth),
        staff=StaffService(config, pool, auth, PostgresStaffStore(), clock),
        surveys=surveys,
        database=pool,
        ready=ready,
    )


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
    alert_sweep_seconds: float | None = None,
    unhealthy_after: float = UNHEALTHY_AFTER_SECONDS,
    probe_interval: float = PROBE_INTERVAL_SECONDS,
) -> web.Application:
    """The whole server as an aiohttp app. Nothing connects until the app starts."""
    clock = clock or (lambda: datetime.now(UTC))
    redis_url = redis_url if redis_url is not None else config.redis_url
    hub = Hub()

    @contextlib.asynccontextmanager
    async def lifetime() -> AsyncIterator[Services]:
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
            relay: LocalAnnouncer | RedisRelay = (
                RedisRelay(redis_url, hub, config.redis_channel, on_resync=hub.request_resync)
                if redis_url else LocalAnnouncer(hub))
            await relay.start()
            try:
                services = build_services(config, pool, relay, clock=clock, ignore_hours=ignore_hours,
                                          password_hasher=password_hasher)
                try:
                    first = await services.auth.ensure_first_admin()
                    if first:
                        await services.staff.record("staff_added", "system", first[0], {
                            "name": "系统管理员", "role": "admin", "hall": None, "region": None})
                    if first and on_first_admin:
                        on_first_admin(*first)
                    services.run(services.prints.run_expiry(), "expire stale print jobs")
                    if alert_sweep_seconds is not None:
                        services.run(services.alerts.sweep_forever(alert_sweep_seconds), "sweep alerts")
                    if anchorer is not None:
                        services.run(anchor_at_day_close(
                            anchorer, pool, config.halls, clock=clock, business_day=services.queue.today,
                            poll_seconds=anchor_poll_seconds,
                        ), "anchor-at-day-close")
                    yield services
                finally:
                    await services.close()
            finally:
                await relay.stop()
        finally:
            # Bounded: a connection still held (a database that does not answer) must not
            # keep the process from stopping.
            try:
                async with asyncio.timeout(config.db_command_timeout):
                    await pool.close()
            except TimeoutError:
                log.warning("closing the database pool timed out; connections terminated")
                pool.terminate()

    return create_web_app(
        config, lifetime, hub=hub, clock=clock,
        speech=Speech(speech_cache) if speech_cache is not None else Speech(),
        unhealthy_after=unhealthy_after, probe_interval=probe_interval,
    )


# ---- serve ------------------------------------------------------------------------------


@contextlib.contextmanager
def database_url(config: Config, *, share: bool = True) -> Iterator[str]:
    """The configured database, or the embedded one in config.pgdata for the command's duration.

    With `share` (the admin commands) an embedded server that another queue-server process
    owns is used while it runs. `serve` does not share: a data directory has one serving
    owner at a time, and a second server would be left with a database that goes away when
    the first one stops."""
    if config.database_url:
        yield config.database_url
        return
    from .adapters.embedded import (
        DataDirectoryInUse,
        EmbeddedPostgres,
        EmbeddedPostgresError,
        running_dsn,
    )

    server = EmbeddedPostgres()
    try:
        dsn = server.start(config.pgdata)
    except EmbeddedPostgresError as exc:
        if not share and isinstance(exc, DataDirectoryInUse):
            raise DataDirectoryInUse(
                f"数据目录 {server.pgdata or config.pgdata} 正由另一个 queue-server 进程使用 / the data "
                f"directory {server.pgdata or config.pgdata} is in use by another queue-server process "
                "(running or still stopping); stop it first or give this server another [database] pgdata"
            ) from None
        # Another queue-server process owns the embedded server: use it while it runs.
        shared = running_dsn(config.pgdata)
        if shared is None:
            raise
        yield shared
        return
    try:
        yield dsn
    finally:
        server.stop()




def serve(config: Config, *, host: str | None, port: int | None, ignore_hours: bool) -> int:
    host = host or config.host
    port = port or config.port

    embedded = not config.database_url
    # The port first: a port in use is one clear line before anything starts (and before
    # the banner), not a traceback after it.
    try:
        listener = _listen(host, port)
    except OSError as exc:
        print(_cannot_listen(host, port, exc), file=sys.stderr)
        return 2
    with listener, database_url(config, share=False) as dsn:
        problem = asyncio.run(_prepare(dsn, config, migrate_now=embedded))
        if problem:
            print(problem, file=sys.stderr)
            return 1
        # Migrated as the owner; served as the role that may only append to the ledger.
        dsn = asyncio.run(_serving_dsn(dsn, config, embedded=embedded))
        from .adapters.anchors import load_or_create_key

        signer = anchorer(load_or_create_key(config.anchor_key), config.anchor_log)
        base = f"http://{host}:{port}"

        def first_admin(staff_id: str, password: str) -> None:
            print(
                "\n首次启动：已创建管理员账号 / first start: an admin account was created\n"
                f"  工号 staff number: {staff_id}\n  密码 password:     {password}\n"
                "  (shown once, and for one sign-in only: sign in at /manage and set your own;\n"
                "   一次性密码：在 /manage 登录后须先设置自己的密码)\n",
                flush=True,
            )

        app = create_app(config, dsn=dsn, ignore_hours=ignore_hours, on_first_admin=first_admin,
                         anchorer=signer, alert_sweep_seconds=config.alerts.sweep_seconds)
        from .web.pages import banner

        print(
            f"hall-queue serving on {base}  ({'embedded PostgreSQL in ' + str(config.pgdata) if embedded else 'PostgreSQL'})\n"
            f"  start page: {base}/\n{banner(config, base, training=ignore_hours)}\n  API: {base}/api/v1/openapi.json",
            flush=True,
        )
        # The access log costs a tenth of the CPU under load; QUEUE_ACCESS_LOG=1 turns it on.
        access_log = logging.getLogger("aiohttp.access") if os.environ.get("QUEUE_ACCESS_LOG") else None
        # What is loaded by now lives as long as the process: never scan it again. Full
        # collections scan every connected screen (100-150 ms at 5,000 screens), so make them
        # rarer; unreachable objects are reclaimed a little later.
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 10, 100)
        lost: list[str] = []
        if embedded:
            app.cleanup_ctx.append(_watch_embedded(config.pgdata, lost))
        from .web.limits import handler_args

        # shutdown_timeout: what in-flight requests get to finish after Ctrl-C, before they
        # are cancelled (websockets are closed with 1001 first, see on_shutdown).
        _fast_event_loop()
        web.run_app(app, sock=listener, print=None, access_log=access_log,
                    shutdown_timeout=SHUTDOWN_TIMEOUT, **handler_args(config.limits))
        if lost:
            print(f"queue-server serve: {lost[0]}", file=sys.stderr)
            return 1
    return 0


def _fast_event_loop() -> None:
    """Serve on uvloop when it is installed (the `fast` extra), unless QUEUE_EVENT_LOOP=asyncio.

    The same aiohttp and asyncpg code on libuv's loop costs less CPU per command (socket reads
    and writes, callbacks and timers in C): see the README's benchmarks (issue 14)."""
    if os.environ.get("QUEUE_EVENT_LOOP", "").strip().lower() == "asyncio":
        return
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]  # optional: the `fast` extra
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


#: Seconds a migration (or an admin command) may run one statement.
MIGRATION_TIMEOUT = 300.0
#: Seconds in-flight requests get to finish when the server stops.
SHUTDOWN_TIMEOUT = 2.0
#: How often `serve` checks that the embedded PostgreSQL it owns is alive.
EMBEDDED_CHECK_SECONDS = 1.0


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on (host, port), as aiohttp would open it."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    return sock


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"queue-server serve: 端口 {port}（{host}）已被占用 / port {port} on {host} is already "
                "in use (another server?); stop it or choose another with --port")
    reason = exc.strerror or str(exc)
    return f"queue-server serve: 无法监听端口 {port}（{host}）/ cannot listen on {host} port {port}: {reason}"


def _watch_embedded(pgdata: Path, lost: list[str]):  # noqa: ANN202 - an aiohttp cleanup context
    """Stop the server when the embedded PostgreSQL it owns has died: it would otherwise
    answer 503 forever. The exit code is 1, for the supervisor to start it again."""
    from .adapters.embedded import server_running

    async def watch() -> None:
        while True:
            await asyncio.sleep(EMBEDDED_CHECK_SECONDS)
            if not await asyncio.to_thread(server_running, pgdata):
                lost.append(f"嵌入式数据库已停止，服务退出 / the embedded PostgreSQL in {pgdata} has "
                            "died; stopping (start queue-server again)")
                logging.getLogger(__name__).error("%s", lost[0])
                signal.raise_signal(signal.SIGTERM)  # the graceful stop of Ctrl-C
                return

    async def context(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(watch(), name="embedded PostgreSQL watch")
        yield
        await cancel_and_wait(task)

    return context


async def _serving_dsn(owner_dsn: str, config: Config, *, embedded: bool) -> str:
    """The DSN `serve` connects with: the app role of migration 0008 (INSERT and SELECT on the
    ledger, owner of nothing). Embedded: that role on the private socket. Otherwise
    [database] app_url (QUEUE_APP_DATABASE_URL); without it the owner's URL, with a warning."""
    from .adapters import roles

    if embedded:
        pool = await store.create_pool(owner_dsn, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                await roles.allow_login(conn)
        finally:
            await pool.close()
        dsn = roles.dsn_as(owner_dsn, roles.APP_ROLE)
    else:
        dsn = config.app_database_url or owner_dsn
    pool = await store.create_pool(dsn, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            rights = await roles.ledger_rights(conn)
    finally:
        await pool.close()
    if rights:
        logging.getLogger(__name__).warning(
            "serving as a database role that could erase the ledger (%s): set [database] app_url "
            "or QUEUE_APP_DATABASE_URL to the %s role (README: production database roles)",
            ", ".join(rights), roles.APP_ROLE,
        )
    return dsn


#: The migration that creates the performance-review projection: applied to a database with
#: history, it is filled from the ledger at once (adapters/stats.rebuild).
PROJECTION_MIGRATION = 10


async def migrate_database(conn: store.Connection, config: Config) -> list[migrate.Migration]:
    """Apply pending migrations, create the configured halls' rows, and fill a projection that
    a migration just created from the ledger (an upgrade keeps every past figure)."""
    applied = await migrate.migrate(conn)
    await store.ensure_halls(conn, config.halls.values())
    if any(m.version == PROJECTION_MIGRATION for m in applied):
        for hall in config.halls:
            async with conn.transaction():
                await stats.rebuild(conn, hall, config.timezone, config.business_day_starts)
    return applied


async def _prepare(dsn: str, config: Config, *, migrate_now: bool) -> str | None:
    # Migrations may take longer than a request's command timeout.
    pool = await store.create_pool(dsn, min_size=1, max_size=1, command_timeout=MIGRATION_TIMEOUT)
    try:
        async with pool.acquire() as conn:
            if migrate_now:
                await migrate_database(conn, config)
            elif await migrate.pending(conn):
                return "queue-server: the database schema is out of date; run `queue-server migrate --config " + config.source + "` first"
            await store.ensure_halls(conn, config.halls.values())
    finally:
        await pool.close()
    return None
