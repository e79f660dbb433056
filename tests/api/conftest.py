from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from queue_server.config import Config
from queue_server.main import create_app
from tests.support.hall import (
    FAST_HASHER,
    FakeClock,
    Hall,
    prepare_database,
    sample_config,
    start_hall,
)


@pytest.fixture
async def hall(fresh_db: str) -> AsyncIterator[Hall]:
    """The sample configuration on an empty database; a kiosk K01 and a clerk 1001 of gongshu."""
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_staff("1001", name="张三")
        yield h


@pytest.fixture
async def make_hall(fresh_db: str) -> AsyncIterator[Callable[..., Awaitable[Hall]]]:
    """Start the app on the empty database with a changed configuration, clock or
    --ignore-hours; like `hall`, with the kiosk K01 and the clerk 1001 of gongshu.
    Call it once per test: the hall lives in the test's one database."""
    clients: list[TestClient] = []

    async def make(
        *, config: Config | None = None, clock: FakeClock | None = None, ignore_hours: bool = False
    ) -> Hall:
        config = config or sample_config()
        await prepare_database(fresh_db, config)
        clock = clock or FakeClock()
        app = create_app(config, dsn=fresh_db, clock=clock, ignore_hours=ignore_hours, redis_url="",
                         password_hasher=FAST_HASHER)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        h = Hall(client, config, clock, fresh_db)
        await h.add_device("K01", role="kiosk")
        await h.add_staff("1001", name="张三")
        return h

    yield make
    for client in clients:
        await client.close()
