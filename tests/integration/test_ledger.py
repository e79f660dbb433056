"""The ledger on real PostgreSQL: append-only, hash-chained, complete, and silent on refusals."""

from __future__ import annotations

import asyncpg
import pytest

from queue_server.adapters import migrate
from queue_server.domain.errors import Refused
from queue_server.main import verify_hall
from queue_server.service.principal import Principal
from queue_server.service.queue import QueueService
from queue_server.web.commands import window_command
from tests.support.hall import queue_service_on

CLERK = Principal("staff", "1001", "张三", "staff", "gongshu")
KIOSK = Principal("device", "K01", "K01", "kiosk", "gongshu")


@pytest.fixture
async def service(fresh_db):
    async for svc in queue_service_on(fresh_db):
        yield svc


async def _issue(svc: QueueService, service: str = "A", key: str | None = None) -> dict:
    return (await svc.issue("gongshu", KIOSK, service=service, priority=None, priority_reason=None,
                            channel="kiosk", key=key))[1]


async def _table_counts(pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                for t in ("tickets", "ledger", "idempotency", "service_counters", "windows")}


async def test_migrations_apply_from_an_empty_database_and_then_nothing_is_pending(fresh_db):
    conn = await asyncpg.connect(fresh_db)
    try:
        applied = await migrate.migrate(conn)
        assert [m.version for m in applied] == [m.version for m in migrate.available()]
        assert await migrate.pending(conn) == []
        assert await migrate.migrate(conn) == []
    finally:
        await conn.close()


async def test_every_step_of_a_ticket_is_in_the_ledger_in_order_with_its_actor(service):
    t = await _issue(service)
    await service.run("gongshu", window_command("open", 1, {}), CLERK, key=None)
    await service.run("gongshu", window_command("call-next", 1, {}), CLERK, key=None)
    await service.run("gongshu", window_command("start", 1, {}), CLERK, key=None)
    await service.run("gongshu", window_command("finish", 1, {}), CLERK, key=None)
    rows = await service.ledger("gongshu", 0, 100)
    assert [r["kind"] for r in rows] == [
        "ticket_issued", "window_opened", "ticket_called", "service_started", "ticket_finished"]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["actor"]["id"] == "K01" and rows[2]["actor"]["id"] == "1001"
    assert {r["ticket"] for r in rows if r["ticket"]} == {t["number"]}


async def test_the_database_refuses_update_delete_and_truncate_of_the_ledger(service):
    await _issue(service)
    async with service.pool.acquire() as conn:
        for sql in ("UPDATE ledger SET kind = 'x'", "DELETE FROM ledger", "TRUNCATE ledger CASCADE"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(sql)
        assert await conn.fetchval("SELECT count(*) FROM ledger") == 1


async def test_verify_finds_an_intact_chain_and_names_the_first_tampered_row(service):
    for _ in range(4):
        await _issue(service)
    assert (await verify_hall(service.pool, "gongshu")).ok
    async with service.pool.acquire() as conn:
        await conn.execute("SET session_replication_role = replica")  # a superuser bypassing triggers
        await conn.execute(
            "UPDATE ledger SET payload = '{\"channel\": \"staff\"}' WHERE hall = 'gongshu' AND seq = 3")
        await conn.execute("SET session_replication_role = DEFAULT")
    result = await verify_hall(service.pool, "gongshu")
    assert not result.ok
    assert "ledger row 3" in result.line


async def test_verify_notices_rows_deleted_from_the_end(service):
    for _ in range(3):
        await _issue(service)
    async with service.pool.acquire() as conn:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("DELETE FROM ledger WHERE hall = 'gongshu' AND seq = 3")
        await conn.execute("SET session_replication_role = DEFAULT")
    result = await verify_hall(service.pool, "gongshu")
    assert not result.ok and "ledger row 3" in result.line


async def test_a_refused_command_leaves_no_trace_in_tables_or_ledger(service):
    await _issue(service)
    await service.run("gongshu", window_command("open", 1, {}), CLERK, key=None)
    before = await _table_counts(service.pool)
    async with service.pool.acquire() as conn:
        tickets_before = [dict(r) for r in await conn.fetch("SELECT * FROM tickets ORDER BY id")]
    with pytest.raises(Refused):
        await service.run("gongshu", window_command("finish", 1, {}), CLERK, key="key-finish-1")
    with pytest.raises(Refused):
        await service.run("gongshu", window_command("recall", 1, {}), CLERK, key=None)
    assert await _table_counts(service.pool) == before
    async with service.pool.acquire() as conn:
        assert [dict(r) for r in await conn.fetch("SELECT * FROM tickets ORDER BY id")] == tickets_before


async def test_an_idempotent_retry_returns_the_first_result_and_changes_nothing(service):
    first = await _issue(service, key="tap-1")
    again = await _issue(service, key="tap-1")
    assert again == first
    counts = await _table_counts(service.pool)
    assert counts["tickets"] == 1 and counts["ledger"] == 1
    await _issue(service, "A")
    await service.run("gongshu", window_command("open", 1, {}), CLERK, key=None)
    call1 = await service.run("gongshu", window_command("call-next", 1, {}), CLERK, key="click-1")
    call2 = await service.run("gongshu", window_command("call-next", 1, {}), CLERK, key="click-1")
    assert call1 == call2 and call1[1]["ticket"]["number"] == "A001"
    async with service.pool.acquire() as conn:
        waiting = await conn.fetchval("SELECT count(*) FROM tickets WHERE status = 'waiting'")
    assert waiting == 1, "a double click on call-next skipped a ticket"


async def test_concurrent_retries_with_one_key_issue_one_ticket(service):
    import asyncio

    results = await asyncio.gather(*[_issue(service, key="double-tap") for _ in range(10)])
    assert len({r["number"] for r in results}) == 1
    assert (await _table_counts(service.pool))["tickets"] == 1


async def test_a_new_business_day_closes_yesterdays_unserved_tickets_without_deleting_them(service):
    await _issue(service)
    await _issue(service)
    await service.run("gongshu", window_command("open", 1, {}), CLERK, key=None)
    service.clock.advance(24 * 3600)
    fresh = await _issue(service)
    assert fresh["number"] == "A001", "numbering restarts each business day"
    async with service.pool.acquire() as conn:
        statuses = [r["status"] for r in await conn.fetch("SELECT status FROM tickets ORDER BY issued_at")]
        window = await conn.fetchval("SELECT status FROM windows WHERE hall = 'gongshu' AND number = 1")
    assert statuses == ["closed", "closed", "waiting"]
    assert window == "closed"
    kinds = [r["kind"] for r in await service.ledger("gongshu", 0, 100)]
    assert kinds.count("ticket_closed") == 2 and "window_closed" in kinds
    assert (await verify_hall(service.pool, "gongshu")).ok
