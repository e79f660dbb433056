"""Composition root for `queue-server serve`: configuration → database → app → run."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys

from aiohttp import web

from .adapters import migrate, store
from .config import Config


def serve(config: Config, *, host: str | None, port: int | None, ignore_hours: bool) -> int:
    host = host or config.host
    port = port or config.port
    from .cli import database_url

    embedded = not config.database_url
    with database_url(config) as dsn:
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
        from .web.limits import handler_args

        web.run_app(app, host=host, port=port, print=None, access_log=access_log,
                    **handler_args(config.limits))
    return 0


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
    pool = await store.create_pool(dsn, min_size=1, max_size=1)
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
