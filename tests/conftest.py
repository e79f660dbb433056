"""Fixtures for real services: PostgreSQL and Redis, configured, local, or started by the tests.

pg_dsn             session  DSN of a PostgreSQL server (see tests/support/services.py)
fresh_db           test     DSN of a new, empty database on that server, dropped afterwards
redis_url          session  URL of a Redis server
redis_prefix       test     a unique key/channel prefix; its keys are deleted afterwards
restartable_redis  test     a RedisServer of the test's own: stop(), kill(), start() again
"""

from __future__ import annotations

import os
import secrets
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# `python -m pytest` puts the repository root on sys.path; a bare `pytest` does not.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support import services  # noqa: E402
from tests.support.browser import chromium  # noqa: E402

# The summary's lines ("postgresql: local server (postgresql://…)"), each once. Under xdist each
# worker acquires its own services: the workers send their lines to the controller, which prints.
_CHOSEN = pytest.StashKey[dict[str, None]]()
_WORKER_OUTPUT_KEY = "hall_queue_services"


def _acquire(config: pytest.Config, kind: str, service: services.Service) -> None:
    for note in service.notes:
        warnings.warn(
            f"{note}; using {service.origin}", services.ServiceFallbackWarning, stacklevel=2
        )
    config.stash.setdefault(_CHOSEN, {})[f"{kind}: {service.origin} ({service.url})"] = None


@pytest.fixture(scope="session")
def pg_dsn(pytestconfig: pytest.Config) -> Iterator[str]:
    service = services.acquire_postgres(os.environ.get(services.DATABASE_URL_ENV))
    _acquire(pytestconfig, "postgresql", service)
    try:
        yield service.url
    finally:
        services.wait_for_drops()
        service.release()


@pytest.fixture
def fresh_db(pg_dsn: str) -> Iterator[str]:
    with services.temporary_database(pg_dsn, drop_in_background=True) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def redis_url(pytestconfig: pytest.Config) -> Iterator[str]:
    service = services.acquire_redis(os.environ.get(services.REDIS_URL_ENV))
    _acquire(pytestconfig, "redis", service)
    try:
        yield service.url
    finally:
        service.release()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"hq-test-{secrets.token_hex(6)}:"
    yield prefix
    services.delete_keys(redis_url, prefix)


@pytest.fixture
async def browser():
    """Headless Chromium (tests/support/browser.py)."""
    async with chromium() as launched:
        yield launched


@pytest.fixture
def restartable_redis() -> Iterator[services.RedisServer]:
    server = services.RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: tell the controller what it used
        workeroutput[_WORKER_OUTPUT_KEY] = list(session.config.stash.get(_CHOSEN, {}))


@pytest.hookimpl(optionalhook=True)  # an xdist hook: called on the controller as a worker ends
def pytest_testnodedown(node: Any, error: object) -> None:
    lines = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY, [])
    chosen = node.config.stash.setdefault(_CHOSEN, {})
    for line in lines:
        chosen[line] = None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in terminalreporter.config.stash.get(_CHOSEN, {}):
        terminalreporter.write_line(line)
