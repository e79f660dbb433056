"""Composition root for `queue-server serve`: configuration → database → app → run."""

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
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from .adapters import migrate, store
from .config import Config


def serve(config: Config, *, host: str | None, port: int | None, ignore_hours: bool) -> int:
    host = host or config.host
    port = port or config.port
    from .cli import database_url

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
        from .service.anchors import Anchorer

        anchorer = Anchorer(load_or_create_key(config.anchor_key), config.anchor_log)
        from .web.app import create_app

        base = f"http://{host}:{port}"

        def first_admin(staff_id: str, password: str) -> None:
            print(
                "\n首次启动：已创建管理员账号 / first start: an admin account was created\n"
                f"  工号 staff number: {staff_id}\n  密码 password:     {password}\n"
                "  (shown once; sign in with POST /api/v1/auth/login)\n",
                flush=True,
            )

        app = create_app(config, dsn=dsn, ignore_hours=ignore_hours, on_first_admin=first_admin,
                         anchorer=anchorer)
        pages = "\n".join(
            f"  {h.name}: {base}/display/hall/{h.id}?token=…  (queue: {base}/api/v1/halls/{h.id}/queue)"
            for h in config.halls.values()
        )
        print(
            f"hall-queue serving on {base}  ({'embedded PostgreSQL in ' + str(config.pgdata) if embedded else 'PostgreSQL'})\n"
            f"{pages}\n  API: {base}/api/v1/openapi.json",
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
        web.run_app(app, sock=listener, print=None, access_log=access_log,
                    shutdown_timeout=SHUTDOWN_TIMEOUT, **handler_args(config.limits))
        if lost:
            print(f"queue-server serve: {lost[0]}", file=sys.stderr)
            return 1
    return 0


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
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

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


async def _prepare(dsn: str, config: Config, *, migrate_now: bool) -> str | None:
    # Migrations may take longer than a request's command timeout.
    pool = await store.create_pool(dsn, min_size=1, max_size=1, command_timeout=MIGRATION_TIMEOUT)
    try:
        async with pool.acquire() as conn:
            if migrate_now:
                await migrate.migrate(conn)
            elif await migrate.pending(conn):
                return "queue-server: the database schema is out of date; run `queue-server migrate --config " + config.source + "` first"
            await store.ensure_halls(conn, config.halls.values())
    finally:
        await pool.close()
    return None
