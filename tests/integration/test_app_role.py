"""The server's database role (migration 0008): it appends to the ledger and reads it, and
PostgreSQL refuses it everything that could erase or rewrite the ledger."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from queue_server.adapters import roles, store
from queue_server.adapters.embedded import EmbeddedPostgres
from queue_server.main import _prepare, _serving_dsn, create_app, verify_hall
from tests.support.hall import FAST_HASHER, FakeClock, Hall, prepare_database, sample_config


async def start_hall(dsn: str):
    """tests.support.hall.start_hall without its migration step: the app role may not migrate."""
    config = sample_config()
    clock = FakeClock()
    app = create_app(config, dsn=dsn, clock=clock, redis_url="", password_hasher=FAST_HASHER)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Hall(client, config, clock, dsn)
    finally:
        await client.close()


@pytest.fixture
async def app_dsn(fresh_db: str) -> str:
    """A migrated database, and the DSN of the app role on it (migrated as the superuser)."""
    await prepare_database(fresh_db, sample_config())
    conn = await asyncpg.connect(fresh_db)
    try:
        await roles.allow_login(conn)  # the tests' cluster trusts 127.0.0.1, like a private socket
    finally:
        await conn.close()
    return roles.dsn_as(fresh_db, roles.APP_ROLE)


async def _refusal(dsn: str, sql: str) -> asyncpg.PostgresError | None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    except asyncpg.PostgresError as exc:
        return exc
    finally:
        await conn.close()
    return None


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM ledger",
        "UPDATE ledger SET kind = 'x'",
        "TRUNCATE ledger",
        "ALTER TABLE ledger DISABLE TRIGGER USER",
        "ALTER TABLE ledger DISABLE TRIGGER ledger_no_update_or_delete",
        "SET session_replication_role = replica",
        "DROP TRIGGER ledger_no_update_or_delete ON ledger",
        "DROP TABLE ledger CASCADE",
        "UPDATE schema_migrations SET name = 'x'",
    ],
)
async def test_postgresql_refuses_the_app_role_whatever_could_erase_the_ledger(app_dsn, sql):
    # A ledger row to erase: appended by the app role itself, which it may.
    async for h in start_hall(app_dsn):
        await h.add_device("K01", role="kiosk")
        await h.issue("A")
    exc = await _refusal(app_dsn, sql)
    assert isinstance(exc, asyncpg.InsufficientPrivilegeError), (sql, exc)
    conn = await asyncpg.connect(app_dsn)
    try:
        assert await conn.fetchval("SELECT current_user") == roles.APP_ROLE
        assert await conn.fetchval("SELECT count(*) FROM ledger") == 1
        assert await roles.ledger_rights(conn) == []
    finally:
        await conn.close()


async def test_the_whole_app_works_connected_as_the_app_role(app_dsn):
    async for h in start_hall(app_dsn):
        await h.add_device("K01", role="kiosk")
        await h.add_staff("1001", name="张三")
        ticket = await h.issue("A")
        await h.act(1, "open")
        called = await h.act(1, "call-next")
        assert called["ticket"]["number"] == ticket["number"]
        await h.act(1, "start")
        await h.act(1, "finish")
        await h.act(1, "close")
    pool = await store.create_pool(app_dsn, min_size=1, max_size=1)
    try:
        result = await verify_hall(pool, "gongshu")
        assert result.ok and result.rows >= 6, result.line
        async with pool.acquire() as conn:
            kinds = [r["kind"] for r in await conn.fetch("SELECT kind FROM ledger ORDER BY seq")]
            assert "ticket_finished" in kinds
    finally:
        await pool.close()


async def test_the_owner_is_reported_as_able_to_erase_the_ledger(fresh_db):
    await prepare_database(fresh_db, sample_config())
    conn = await asyncpg.connect(fresh_db)  # the tests' superuser, who ran the migrations
    try:
        rights = await roles.ledger_rights(conn)
    finally:
        await conn.close()
    assert "superuser" in rights and "owner of the ledger" in rights and "DELETE" in rights


async def test_the_migration_tolerates_the_role_existing_and_migrating_concurrently(pg_dsn):
    from tests.support import services

    with services.temporary_database(pg_dsn) as one, services.temporary_database(pg_dsn) as two:
        await asyncio.gather(prepare_database(one, sample_config()), prepare_database(two, sample_config()))
        for dsn in (one, two):
            conn = await asyncpg.connect(dsn)
            try:
                assert await conn.fetchval(
                    "SELECT has_table_privilege($1, 'ledger', 'INSERT')"
                    " AND NOT has_table_privilege($1, 'ledger', 'DELETE')",
                    roles.APP_ROLE,
                )
            finally:
                await conn.close()


def test_dsn_as_replaces_the_user_and_drops_the_password():
    assert (
        roles.dsn_as("postgresql://queue:secret@db.example:5432/hall_queue?sslmode=require", "hall_queue_app")
        == "postgresql://hall_queue_app@db.example:5432/hall_queue?sslmode=require"
    )
    assert (
        roles.dsn_as("postgresql://postgres@/hall_queue?host=/srv/pg&port=5432", "hall_queue_app")
        == "postgresql://hall_queue_app@/hall_queue?host=/srv/pg&port=5432"
    )


async def test_embedded_serve_migrates_as_the_owner_and_serves_as_the_app_role():
    import shutil
    import tempfile
    from pathlib import Path

    workdir = Path(tempfile.mkdtemp(prefix="hq-test-pg-"))  # outside pytest's tmp (see test_embedded)
    server = EmbeddedPostgres(durable=False)
    try:
        owner_dsn = await server.start_async(workdir / "pgdata")
        config = sample_config()
        assert await _prepare(owner_dsn, config, migrate_now=True) is None
        dsn = await _serving_dsn(owner_dsn, config, embedded=True)
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT current_user") == roles.APP_ROLE
            assert await roles.ledger_rights(conn) == []
        finally:
            await conn.close()
        for sql in ("DELETE FROM ledger", "TRUNCATE ledger", "ALTER TABLE ledger DISABLE TRIGGER USER"):
            assert isinstance(await _refusal(dsn, sql), asyncpg.InsufficientPrivilegeError), sql
        async for h in start_hall(dsn):  # the app runs on it (migrations are already current)
            await h.add_device("K01", role="kiosk")
            await h.issue("A")
    finally:
        await server.stop_async()
        shutil.rmtree(workdir, ignore_errors=True)


async def test_serve_uses_app_url_and_warns_only_when_its_role_could_erase_the_ledger(fresh_db, app_dsn, caplog):
    import dataclasses
    import logging

    config = sample_config()
    with caplog.at_level(logging.WARNING, logger="queue_server.main"):
        served = await _serving_dsn(fresh_db, dataclasses.replace(config, app_database_url=app_dsn), embedded=False)
    assert served == app_dsn
    assert not [r for r in caplog.records if "could erase the ledger" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="queue_server.main"):
        served = await _serving_dsn(fresh_db, config, embedded=False)  # no app_url: the owner's
    assert served == fresh_db
    [warning] = [r.getMessage() for r in caplog.records if "could erase the ledger" in r.getMessage()]
    assert "superuser" in warning and "app_url" in warning and "QUEUE_APP_DATABASE_URL" in warning
