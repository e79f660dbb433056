"""A running hall-queue app on a fresh database, with a clock the test controls."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from queue_server.adapters import migrate, store
from queue_server.config import Config, load_config
from queue_server.main import auth_service, create_app, queue_service
from queue_server.service.queue import QueueService

ROOT = Path(__file__).resolve().parents[2]
# Cheap argon2 parameters for tests' own accounts: the real ones cost ~0.1 s per hash and a
# test signs in several times. Verification reads the parameters from the hash itself.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# Monday 2026-11-30 10:00 in Shanghai: inside business hours of every sample hall.
MONDAY_10AM = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def sample_config() -> Config:
    return load_config(ROOT / "config.toml", env={})


class FakeClock:
    def __init__(self, start: datetime = MONDAY_10AM) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def prepare_database(dsn: str, config: Config) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await migrate.migrate(conn)
        await store.ensure_halls(conn, config.halls.values())
    finally:
        await conn.close()


async def queue_service_on(dsn: str, *, ignore_hours: bool = False) -> AsyncIterator[QueueService]:
    """A queue service over the sample hall on a prepared database `dsn`, its pool closed after
    (use as the body of a pytest fixture: `yield` through it)."""
    config = sample_config()
    await prepare_database(dsn, config)
    pool = await store.create_pool(dsn, min_size=1, max_size=4)
    try:
        yield queue_service(config, pool, clock=FakeClock(), ignore_hours=ignore_hours)
    finally:
        await pool.close()


@dataclass
class Hall:
    """Test handle: an HTTP client plus helpers to sign in and act."""

    client: TestClient
    config: Config
    clock: FakeClock
    dsn: str
    tokens: dict[str, str] = field(default_factory=dict)

    async def add_staff(
        self,
        staff_id: str,
        *,
        hall: str | None = "gongshu",
        role: str = "staff",
        name: str = "张三",
        password: str = "secret-pass-1",
        region: str | None = None,
    ) -> str:
        """Add a staff member and sign them in; `region` makes a region manager (hall=None)."""
        pool = await store.create_pool(self.dsn, min_size=1, max_size=1)
        try:
            await auth_service(pool, ttl_minutes=60, hasher=FAST_HASHER).add_staff(
                staff_id=staff_id, hall=hall, name=name, role=role, password=password, region=region,
            )
        finally:
            await pool.close()
        resp = await self.client.post(
            "/api/v1/auth/login", json={"staff_id": staff_id, "password": password}
        )
        assert resp.status == 200, await resp.text()
        token = (await resp.json())["token"]
        self.tokens[staff_id] = token
        return token

    async def add_device(
        self,
        name: str,
        *,
        hall: str = "gongshu",
        role: str = "kiosk",
        window: int | None = None,
        kiosk: str | None = None,
    ) -> str:
        pool = await store.create_pool(self.dsn, min_size=1, max_size=1)
        try:
            token = await auth_service(pool, ttl_minutes=60, hasher=FAST_HASHER).add_device(
                hall=hall, role=role, name=name, window=window, kiosk=kiosk
            )
        finally:
            await pool.close()
        self.tokens[name] = token
        return token

    def auth(self, who: str, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", **headers}

    async def issue(
        self, service: str = "A", *, by: str = "K01", hall: str = "gongshu", **body: Any
    ) -> dict[str, Any]:
        resp = await self.client.post(
            f"/api/v1/halls/{hall}/tickets",
            json={"service": service, **body},
            headers=self.auth(by),
        )
        assert resp.status == 201, await resp.text()
        return await resp.json()

    async def act(
        self,
        window: int,
        action: str,
        *,
        by: str = "1001",
        hall: str = "gongshu",
        expect: int = 200,
        **body: Any,
    ) -> dict[str, Any]:
        resp = await self.client.post(
            f"/api/v1/halls/{hall}/windows/{window}/{action}", json=body, headers=self.auth(by)
        )
        data = await resp.json()
        assert resp.status == expect, data
        return data


async def start_hall(
    dsn: str,
    *,
    ignore_hours: bool = False,
    clock: FakeClock | None = None,
    redis_url: str | None = None,
    redis_channel: str | None = None,
) -> AsyncIterator[Hall]:
    config = sample_config()
    if redis_channel is not None:  # tests sharing one Redis server keep to their own channel
        config = dataclasses.replace(config, redis_channel=redis_channel)
    await prepare_database(dsn, config)
    clock = clock or FakeClock()
    app = create_app(
        config, dsn=dsn, clock=clock, ignore_hours=ignore_hours, redis_url=redis_url or "",
        password_hasher=FAST_HASHER,
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Hall(client, config, clock, dsn)
    finally:
        await client.close()
        await asyncio.sleep(0)
