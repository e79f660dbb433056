"""Lifetimes (issue 9, point 6): the services own their workers and close them before the
pool; cancellation is never swallowed."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer

from queue_server.domain.errors import Unavailable
from queue_server.domain.model import Actor
from queue_server.main import create_app
from queue_server.service.lifetimes import cancel_and_wait
from queue_server.service.queue import Outcome
from queue_server.web.keys import QUEUE
from tests.support.hall import FAST_HASHER, FakeClock, prepare_database, sample_config

SYSTEM = Actor("system", "test", "test", "system")


async def test_closing_the_app_while_a_hall_worker_is_busy_leaves_no_task_and_no_closed_pool(
    fresh_db: str, caplog: pytest.LogCaptureFixture,
) -> None:
    config = sample_config()
    await prepare_database(fresh_db, config)
    client = TestClient(TestServer(create_app(config, dsn=fresh_db, clock=FakeClock(), redis_url="",
                                              password_hasher=FAST_HASHER)))
    await client.start_server()
    queue = client.server.app[QUEUE]
    inside = asyncio.Event()

    async def busy(conn: object, now: object) -> None:  # holds the hall's lock and a connection
        inside.set()
        await asyncio.Event().wait()

    def apply(state: object, now: object) -> Outcome:
        return Outcome({})

    command = asyncio.create_task(queue.execute("gongshu", apply, SYSTEM, prepare=busy))
    await asyncio.wait_for(inside.wait(), 5)
    before = asyncio.all_tasks()
    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(config.db_command_timeout):  # not the pool's close timeout
            await client.close()
        with pytest.raises(Unavailable):
            await command
    assert not [t for t in before if t is not asyncio.current_task() and not t.done()]
    assert "pool is closed" not in caplog.text
    assert "closing the database pool timed out" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    with pytest.raises(Unavailable):  # closed: later commands are refused, not queued
        await queue.execute("gongshu", apply, SYSTEM)


async def test_cancel_and_wait_reraises_the_callers_own_cancellation() -> None:
    child_started = asyncio.Event()

    async def stubborn_child() -> None:
        child_started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0.05)  # takes a moment to clean up

    child = asyncio.create_task(stubborn_child())
    await child_started.wait()

    async def owner() -> None:
        await cancel_and_wait(child)

    owning = asyncio.create_task(owner())
    await asyncio.sleep(0.01)
    owning.cancel()  # the owner is cancelled while it waits for its child
    with pytest.raises(asyncio.CancelledError):
        await owning
    assert owning.cancelled()
    assert child.done()


async def test_cancel_and_wait_stops_children_in_a_cleanup_after_an_earlier_cancellation() -> None:
    """aiohttp runs the app's cleanup in its main task after cancelling it: stopping the
    children there must work (their cancellation is not the caller's new one)."""
    children = [asyncio.create_task(asyncio.Event().wait()) for _ in range(3)]
    cleaned: list[bool] = []

    async def main_task() -> None:
        try:
            await asyncio.Event().wait()
        finally:  # the cleanup, in a task whose cancellation is still counted
            for child in children:
                await cancel_and_wait(child)
                cleaned.append(child.cancelled())

    running = asyncio.create_task(main_task())
    await asyncio.sleep(0)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert cleaned == [True, True, True]


async def test_cancel_and_wait_ends_the_childs_cancellation_only() -> None:
    child = asyncio.create_task(asyncio.Event().wait())
    await asyncio.sleep(0)
    await cancel_and_wait(child)  # returns: the cancellation was the child's
    assert child.cancelled()
