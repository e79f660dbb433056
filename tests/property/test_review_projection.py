"""Rebuild == incremental: random histories driven through the real queue service on PostgreSQL;
after each, the projection the server wrote batch by batch equals the one `stats.rebuild` folds
from the ledger alone, and the one the domain folds in memory (review.project)."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queue_server.adapters import stats, store
from queue_server.domain import review
from queue_server.domain.errors import QueueError
from queue_server.domain.hall import HallState
from queue_server.domain.model import Actor, StaffId, StaffOnDuty
from queue_server.main import queue_service
from queue_server.service.results import Outcome
from tests.support.hall import FakeClock, prepare_database, sample_config

HALL = "gongshu"
WINDOWS = (1, 4)  # few windows: commands meet the same window often enough to finish, miss, pause
SERVICES = ("A", "B", "C", "D")
CLERK = Actor("staff", "p1", "测试", "staff")

steps = st.lists(
    st.tuples(
        st.sampled_from(["issue", "issue", "issue", "issue", "serve", "serve", "call", "start", "finish",
                         "recall", "miss", "transfer", "cancel", "restore", "pause", "resume", "break",
                         "open", "close", "wait", "night"]),
        st.sampled_from(WINDOWS),
        st.sampled_from(SERVICES),
        st.integers(min_value=1, max_value=900),
    ),
    min_size=10, max_size=80,
)


def command(state: HallState, step: tuple[str, int, str, int], now: Any) -> list[Any]:
    action, window, service, _ = step
    staff = StaffOnDuty(StaffId(f"s{window}"), f"工作人员{window}")
    match action:
        case "issue":
            return state.issue(service, now)[1]
        case "call":
            return state.call_next(window, now)[1]
        case "start":
            return state.start(window, now)[1]
        case "finish":
            return state.finish(window, now)[1]
        case "recall":
            return state.recall(window, now)[1]
        case "miss":
            return state.miss(window, now)[1]
        case "transfer":
            return state.transfer(window, now, reason="转办", to_service=service)[1]
        case "cancel":
            waiting = [t for t in state.tickets.values() if t.status.value == "waiting"]
            return state.cancel(waiting[0], now) if waiting else []
        case "restore":
            missed = [t for t in state.tickets.values() if t.status.value == "missed"]
            return state.restore(missed[0].number_text, now)[1] if missed else []
        case "pause":
            return state.pause_window(window, "临时离开", now)
        case "resume":
            return state.resume_window(window, now)
        case "open":
            return state.open_window(window, staff, now)
        case "close":
            return state.close_window(window, now)
    return []


async def drive(svc: Any, clock: FakeClock, history: list[tuple[str, int, str, int]]) -> None:
    for step in _expanded(history):
        if step[0] == "wait":
            clock.advance(step[3])
            continue
        if step[0] == "night":  # into the next business day: the roll-over closes what is left
            clock.advance(step[3] * 60)
            continue
        clock.advance(31)  # past the recall interval: a ticket can be called three times and missed

        def apply(state: HallState, now: Any, step: tuple[str, int, str, int] = step) -> Outcome:
            events = command(state, step, now)
            return Outcome({}, [(e, state.tickets.get(e.ticket) if e.ticket else None) for e in events])

        try:
            await svc.execute(HALL, apply, CLERK)
        except QueueError:
            pass  # a refused command changes nothing: fine, the history goes on


def _expanded(history: list[tuple[str, int, str, int]]) -> list[tuple[str, int, str, int]]:
    """Macro steps as the commands a clerk gives: serve = open, call, start, finish; a miss comes
    after the ticket was called max_calls times; a break is a pause and a resume."""
    macros = {"serve": ("open", "call", "start", "finish"), "miss": ("call", "recall", "recall", "miss"),
              "break": ("pause", "wait", "resume")}
    return [(action, *step[1:]) for step in history for action in macros.get(step[0], (step[0],))]


async def projection(conn: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    visits = [dict(r) for r in await conn.fetch("SELECT * FROM stat_visits ORDER BY ticket_id")]
    sessions = [dict(r) for r in await conn.fetch("SELECT * FROM stat_sessions ORDER BY hall, window_no, opened_at")]
    return visits, sessions


async def check(dsn: str, clock: FakeClock, history: list[tuple[str, int, str, int]]) -> None:
    config = sample_config()
    pool = await store.create_pool(dsn, min_size=1, max_size=2)
    svc = queue_service(config, pool, clock=clock, ignore_hours=True)
    try:
        await drive(svc, clock, history)
    finally:
        await svc.close()
    try:
        async with pool.acquire() as conn:
            written = await projection(conn)
            async with conn.transaction():
                await stats.rebuild(conn, HALL, config.timezone, config.business_day_starts, chunk=7)
                rebuilt = await projection(conn)
                assert rebuilt == written
            ledger = [r async for r in store.iter_ledger(conn, HALL)]
    finally:
        await pool.close()
    visits, sessions = review.project(ledger, config.timezone, config.business_day_starts)
    in_memory = sorted(({c: v.get(c) for c in review.VISIT_COLUMNS} for v in visits.values()),
                       key=lambda v: v["ticket_id"])
    assert in_memory == [{c: v[c] for c in review.VISIT_COLUMNS} for v in written[0]]
    assert len(sessions) == len(written[1])


def test_rebuild_from_the_ledger_equals_the_projection_written_batch_by_batch(fresh_db):
    asyncio.run(prepare_database(fresh_db, sample_config()))
    clock = FakeClock()  # one hall's history grows over the examples, across business days

    @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(steps)
    def one_history(history: list[tuple[str, int, str, int]]) -> None:
        asyncio.run(check(fresh_db, clock, history))

    one_history()

    async def kinds() -> set[str]:
        conn = await store.asyncpg.connect(fresh_db)
        try:
            return {r["kind"] for r in await conn.fetch("SELECT DISTINCT kind FROM ledger")}
        finally:
            await conn.close()

    # the histories reached every kind of row the projection folds (else the property is weak)
    assert {"ticket_issued", "ticket_called", "service_started", "ticket_finished", "ticket_missed",
            "ticket_transferred", "ticket_cancelled", "ticket_closed", "window_opened", "window_paused",
            "window_resumed", "window_closed"} <= asyncio.run(kinds())
