"""Fixtures of the full-stack screen tests: real `queue-server serve` processes, Chromium,
an HTTP session. PostgreSQL (`fresh_db`) and Redis (`restartable_redis`) come from
tests/conftest.py; Redis is always a server of the test's own, since the processes use the
sample configuration's relay channel ("hall-queue:events"), which would mix halls of tests
running at the same time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.e2e_support import SAMPLE_CONFIG
from tests.support.hall import prepare_database, sample_config
from tests.support.servers import ServerProcess

StartServer = Callable[..., Awaitable[ServerProcess]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        yield session


@pytest.fixture
async def migrated_db(fresh_db: str) -> str:
    """A fresh database with the schema and the sample configuration's halls."""
    await prepare_database(fresh_db, sample_config())
    return fresh_db


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[StartServer]:
    """Start a `queue-server serve --ignore-hours` process on the sample configuration;
    every process started is stopped at the end of the test."""
    started: list[ServerProcess] = []

    async def start(database_url: str, *, redis_url: str | None = None,
                    port: int | None = None) -> ServerProcess:
        server = ServerProcess(SAMPLE_CONFIG, database_url=database_url, redis_url=redis_url,
                               port=port, log_dir=tmp_path)
        started.append(server)
        await asyncio.to_thread(server.start)
        return server

    yield start
    await asyncio.gather(*(asyncio.to_thread(s.stop) for s in started))


@pytest.fixture
async def page(browser):
    # bypass_csp: wait_for_function evaluates strings, which the pages' CSP forbids
    # (tests/screens/test_browser.py checks the pages under their CSP).
    context = await browser.new_context(viewport={"width": 1920, "height": 1080},
                                        locale="zh-CN", timezone_id="Asia/Shanghai",
                                        bypass_csp=True)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"the page raised: {errors}"
