"""GET /api/v1/stats over a live day: its figures equal an independent recomputation from the
hall's /events, the SQL equals the domain's sums, a rebuild from the ledger equals what the
server wrote, and each person sees exactly the scopes they may."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from queue_server.adapters import stats, store
from queue_server.domain import review
from queue_server.main import auth_service, migrate_database
from tests.support.hall import FAST_HASHER, start_hall

SCOPE = "/api/v1/stats?scope=hall:gongshu&from=2026-11-30&to=2026-11-30"


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_device("E01", role="evaluator", window=1)
        await h.add_device("E02", role="evaluator", window=2)
        await h.add_staff("1001", name="张三")
        await h.add_staff("1002", name="李四")
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("hs01", name="湖墅员", hall="hushu")
        await h.add_staff("admin1", name="管理员", role="admin", hall=None)
        yield h


async def add_region_manager(h, staff_id: str, region: str) -> None:
    pool = await store.create_pool(h.dsn, min_size=1, max_size=1)
    try:
        await auth_service(pool, ttl_minutes=60, hasher=FAST_HASHER).add_staff(
            staff_id=staff_id, hall=None, name="街道经理", role="manager", password="secret-pass-1", region=region)
    finally:
        await pool.close()
    resp = await h.client.post("/api/v1/auth/login", json={"staff_id": staff_id, "password": "secret-pass-1"})
    h.tokens[staff_id] = (await resp.json())["token"]


async def live_day(h) -> None:
    """Two clerks, ten tickets: served, missed, voided-free, transferred, cancelled, paused,
    rated (one badly, followed up) and one left waiting."""
    tickets = [await h.issue("A") for _ in range(6)] + [await h.issue("B") for _ in range(2)]
    h.clock.advance(30)
    tickets.append(await h.issue("A"))
    await h.act(1, "open", by="1001")
    await h.act(2, "open", by="1002")
    spans = [240, 420, 60, 900]
    for i, span in enumerate(spans):
        window, who = (1, "1001") if i % 2 == 0 else (2, "1002")
        h.clock.advance(70 + 40 * i)
        number = (await h.act(window, "call-next", by=who))["ticket"]["number"]
        h.clock.advance(20)
        await h.act(window, "start", by=who)
        h.clock.advance(span)
        await h.act(window, "finish", by=who)
        level = ["very_satisfied", "dissatisfied", "satisfied", "basically_satisfied"][i]
        body = await h.client.post(f"/api/v1/halls/gongshu/windows/{window}/rating", headers=h.auth(f"E0{window}"),
                                   json={"number": number, "level": level,
                                         **({"labels": ["等候时间过长"]} if level == "dissatisfied" else {})})
        assert body.status == 201, await body.text()
    # a no-show at window 1: called three times, then missed
    await h.act(1, "call-next", by="1001")
    h.clock.advance(31)
    await h.act(1, "recall", by="1001")
    h.clock.advance(31)
    await h.act(1, "recall", by="1001")
    h.clock.advance(31)
    await h.act(1, "miss", by="1001")
    # a transfer from window 2 to service M, served later at window 1
    await h.act(2, "call-next", by="1002")
    await h.act(2, "transfer", by="1002", service="M", reason="业务不符")
    h.clock.advance(60)
    await h.act(2, "pause", by="1002", reason="午休")
    h.clock.advance(600)
    await h.act(2, "resume", by="1002")
    await h.act(1, "call-next", by="1001")
    await h.act(1, "start", by="1001")
    h.clock.advance(1200)
    await h.act(1, "finish", by="1001")
    # a citizen cancels the last ticket
    resp = await h.client.post(f"/api/v1/tickets/{tickets[-1]['holder_secret']}/cancel", json={})
    assert resp.status == 200, await resp.text()
    # the bad rating's follow-up: called back
    fus = await (await h.client.get("/api/v1/halls/gongshu/follow-ups", headers=h.auth("9001"))).json()
    (fu,) = fus["follow_ups"]
    h.clock.advance(3600)
    resp = await h.client.post(f"/api/v1/halls/gongshu/follow-ups/{fu['id']}", headers=h.auth("9001"),
                               json={"action": "call_back", "method": "phone", "result": "已电话回访"})
    assert resp.status == 200, await resp.text()


async def events(h) -> list[dict[str, Any]]:
    out, after = [], 0
    while True:
        page = await (await h.client.get(f"/api/v1/halls/gongshu/events?after={after}&limit=1000",
                                         headers=h.auth("9001"))).json()
        out += page["events"]
        if not page["events"]:
            return out
        after = page["next_after"]


def recompute_by_window(evs: list[dict[str, Any]], warn_s: float, now: datetime) -> dict[Any, dict[str, Any]]:
    """The figures per window, worked out from the events alone (no projection, no domain code)."""
    tickets: dict[str, dict[str, Any]] = {}
    for e in evs:
        t = tickets.setdefault(e["ticket"], {}) if e["ticket"] else None
        at = datetime.fromisoformat(e["at"])
        kind = e["kind"]
        if kind == "ticket_issued":
            t.update(issued=at, status="waiting")
        elif kind == "ticket_called":
            t.setdefault("first_call", at)
            t.setdefault("call_window", e["window"])
            t["status"] = "called"
        elif kind == "service_started":
            t["start"] = at
        elif kind == "ticket_finished":
            t.update(finish=at, finish_window=e["window"], status="finished")
        elif kind in ("ticket_missed", "ticket_voided", "ticket_cancelled", "ticket_closed"):
            t["status"] = kind.removeprefix("ticket_").replace("voided", "void")
        elif kind == "ticket_transferred":
            t["status"] = "waiting"
        elif kind == "ticket_rated":
            t["level"] = review.LEVELS_BY_CODE[e["payload"]["level"]]
    groups: dict[Any, list[dict[str, Any]]] = {}
    waits: dict[Any, list[float]] = {}
    for t in tickets.values():
        window = t.get("finish_window", t.get("call_window"))
        groups.setdefault(window, []).append(t)
        if "first_call" in t:
            waits.setdefault(t["call_window"], []).append((t["first_call"] - t["issued"]).total_seconds())
    out = {}
    for window, ts in groups.items():
        w = sorted(waits.get(window, []))
        handles = [(t["finish"] - t["start"]).total_seconds() for t in ts if "finish" in t]
        levels = [t["level"] for t in ts if "level" in t]
        called = len(w)
        out[None if window is None else f"gongshu/{window}"] = {
            "issued": len(ts), "served": len(handles), "called": called,
            "wait_avg_s": round(sum(w) / called, 1) if called else None,
            "wait_p90_s": w[math.ceil(0.9 * called) - 1] if called else None,
            "wait_max_s": w[-1] if called else None,
            "over_threshold_rate": round(sum(x > warn_s for x in w) / called, 4) if called else None,
            "handle_avg_s": round(sum(handles) / len(handles), 1) if handles else None,
            "no_show_rate": round(sum(t["status"] in ("missed", "void") for t in ts) / called, 4) if called else None,
            "abandon_rate": round(sum(t["status"] in ("cancelled", "void", "closed") for t in ts) / len(ts), 4),
            "ratings": len(levels),
            "score": round(sum(lv * 20 for lv in levels) / len(levels), 2) if levels else None,
        }
    return out


async def test_the_api_figures_equal_an_independent_recomputation_from_the_events(hall):
    await live_day(hall)
    resp = await hall.client.get(SCOPE + "&by=window", headers=hall.auth("9001"))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    expected = recompute_by_window(await events(hall), 15 * 60, hall.clock.now)
    got = {r["key"]: {k: r[k] for k in next(iter(expected.values()))} for r in body["rows"]}
    assert got == expected
    assert body["total"]["issued"] == 9 and body["total"]["served"] == 5
    assert body["total"]["ratings"] == 4 and body["total"]["bad_rate"] == 0.25
    assert body["total"]["follow_ups"] == 1 and body["total"]["callback_on_time_rate"] == 1.0
    one = next(r for r in body["rows"] if r["key"] == "gongshu/2")
    assert one["pause_count"] == 1 and one["pause_s"] == 600.0


async def test_the_sql_sums_equal_the_domain_sums_over_the_stored_projection(hall):
    await live_day(hall)
    svc_conn = await asyncpg.connect(hall.dsn)
    try:
        visits = [dict(r) for r in await svc_conn.fetch("SELECT * FROM stat_visits")]
        sessions = [review.Session(**{k: r[k] for k in (
            "hall", "window_no", "opened_at", "business_day", "day_end", "staff_id", "closed_at", "pause_s",
            "pause_count", "paused_since")}) for r in await svc_conn.fetch("SELECT * FROM stat_sessions")]
    finally:
        await svc_conn.close()
    review_service = hall.client.app[_review_key()]
    scope = review_service.scope("hall:gongshu")
    for by in review.CUTS:
        q = review_service.query(scope, hall.clock.now.date(), hall.clock.now.date(), by)
        api = await review_service.report(scope, q)
        sums = review.aggregate(visits, sessions, q)
        windows = by in review.WINDOW_CUTS
        expect_total = review.indicators(sums.pop(review.TOTAL), windows=windows, outliers=api["total"]["handle_outliers"])
        assert api["total"] == expect_total, by
        by_key = {r["key"]: {k: v for k, v in r.items() if k not in ("key", "label")} for r in api["rows"]}
        assert by_key == {k: review.indicators(s, windows=windows, outliers=by_key.get(k, {}).get("handle_outliers", 0))
                          for k, s in sums.items()}, by


def _review_key():
    from queue_server.web.keys import REVIEW
    return REVIEW


async def snapshot(dsn: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    conn = await asyncpg.connect(dsn)
    try:
        v = [dict(r) for r in await conn.fetch("SELECT * FROM stat_visits ORDER BY ticket_id")]
        s = [dict(r) for r in await conn.fetch("SELECT * FROM stat_sessions ORDER BY hall, window_no, opened_at")]
        return v, s
    finally:
        await conn.close()


async def test_rebuilding_from_the_ledger_gives_the_projection_the_server_wrote(hall):
    await live_day(hall)
    before = await snapshot(hall.dsn)
    assert len(before[0]) == 9 and len(before[1]) == 2
    conn = await asyncpg.connect(hall.dsn)
    try:
        await conn.execute("SELECT 1")
        cfg = hall.config
        for small_chunk in (3, 20000):  # chunks cut batches differently: the same rows
            async with conn.transaction():
                await stats.rebuild(conn, "gongshu", cfg.timezone, cfg.business_day_starts, chunk=small_chunk)
            assert await snapshot(hall.dsn) == before
    finally:
        await conn.close()


async def test_an_upgrade_fills_the_new_projection_from_the_ledger(hall):
    await live_day(hall)
    before = await snapshot(hall.dsn)
    conn = await asyncpg.connect(hall.dsn)
    try:
        # back to the schema before migration 0010, history kept; then upgrade
        await conn.execute("DROP TABLE stat_visits, stat_sessions; DROP TYPE stat_visit_patch;"
                           " DELETE FROM schema_migrations WHERE version = 10")
        await store._init_connection(conn)
        applied = await migrate_database(conn, hall.config)
        assert [m.version for m in applied] == [10]
    finally:
        await conn.close()
    assert await snapshot(hall.dsn) == before


async def test_each_person_sees_the_scopes_they_may_and_no_other(hall):
    await live_day(hall)
    await add_region_manager(hall, "st01", "hushu")
    await add_region_manager(hall, "qu01", "gongshu")

    async def status(who: str, scope: str, by: str = "hall") -> int:
        resp = await hall.client.get(f"/api/v1/stats?scope={scope}&from=2026-11-30&to=2026-11-30&by={by}",
                                     headers=hall.auth(who))
        body = await resp.json()
        if resp.status != 200:
            assert body["code"] and body["detail"], body
        return resp.status

    assert await status("9001", "hall:gongshu") == 200
    assert await status("9001", "hall:hushu") == 403
    assert await status("9001", "district:gongshu") == 403
    assert await status("st01", "street:hushu") == 200
    assert await status("st01", "hall:hushu") == 200
    assert await status("st01", "hall:gongshu") == 403
    assert await status("st01", "district:gongshu") == 403
    assert await status("qu01", "district:gongshu") == 200
    assert await status("qu01", "street:xiangfu") == 200
    assert await status("admin1", "district:gongshu") == 200
    assert await status("hs01", "hall:gongshu") == 403
    # a street office's manager operates no hall
    resp = await hall.client.post("/api/v1/halls/hushu/windows/1/open", json={}, headers=hall.auth("st01"))
    assert resp.status == 403
    # a clerk sees only their own figures, whatever they ask for
    mine = await (await hall.client.get(SCOPE + "&by=staff", headers=hall.auth("1002"))).json()
    assert [r["key"] for r in mine["rows"]] == ["1002"] and mine["staff"] == "1002"
    other = await (await hall.client.get(SCOPE + "&by=staff&staff=1001", headers=hall.auth("1002"))).json()
    assert [r["key"] for r in other["rows"]] == ["1002"]
    resp = await hall.client.get(SCOPE)
    assert resp.status == 401


async def test_a_district_rolls_its_halls_up_exactly(hall):
    await hall.add_staff("hs02", name="湖墅二", hall="hushu")
    await hall.add_device("K02", role="kiosk", hall="hushu")
    for _ in range(3):
        await hall.issue("A", by="K02", hall="hushu")
    await hall.act(1, "open", by="hs02", hall="hushu")
    for _ in range(2):
        hall.clock.advance(100)
        await hall.act(1, "call-next", by="hs02", hall="hushu")
        await hall.act(1, "start", by="hs02", hall="hushu")
        hall.clock.advance(50)
        await hall.act(1, "finish", by="hs02", hall="hushu")
    await live_day(hall)
    body = await (await hall.client.get("/api/v1/stats?scope=district:gongshu&from=2026-11-30&to=2026-11-30&by=hall",
                                        headers=hall.auth("admin1"))).json()
    rows = {r["key"]: r for r in body["rows"]}
    assert set(rows) == {"gongshu", "hushu"}
    total = body["total"]
    for name in ("issued", "served", "called", "ratings", "follow_ups", "pause_count"):
        assert total[name] == sum(r[name] for r in rows.values()), name
    called = total["called"]
    weighted = sum(r["wait_avg_s"] * r["called"] for r in rows.values()) / called
    assert total["wait_avg_s"] == pytest.approx(weighted, abs=0.1)  # recomputed, not an average of averages
    assert total["wait_max_s"] == max(r["wait_max_s"] for r in rows.values())


@pytest.mark.parametrize("query, status, code", [
    ("scope=hall:gongshu%00&by=hall", 400, "input.control_character"),
    ("scope=hall:gongshu&by=hall&from=2026-11-31", 400, "input.bad_date"),
    ("scope=hall:gongshu&by=hall&from=2026-12-02&to=2026-12-01", 400, "input.period_order"),
    ("scope=hall:gongshu&by=hall&from=2024-01-01&to=2026-01-01", 400, "input.period_too_long"),
    ("scope=hall:gongshu&by=nonsense", 400, "input.bad_choice"),
    ("scope=gongshu&by=hall", 400, "input.bad_scope"),
    ("scope=street:nowhere&by=hall", 404, "region.unknown"),
    ("scope=hall:nowhere&by=hall", 404, "hall.unknown"),
    ("scope=hall:gongshu&by=staff&window=99", 404, "window.unknown"),
    ("scope=hall:gongshu&by=staff&window=%EF%BC%91", 400, "input.bad_number"),
    ("scope=hall:gongshu&scope=hall:hushu", 400, "input.bad_choice"),
])
async def test_bad_report_parameters_get_a_clear_error(hall, query, status, code):
    resp = await hall.client.get(f"/api/v1/stats?{query}", headers=hall.auth("admin1"))
    body = await resp.json()
    assert (resp.status, body["code"]) == (status, code), body


async def test_a_rebuild_and_the_running_server_take_turns_and_lose_nothing(hall):
    await hall.issue("A")
    conn = await asyncpg.connect(hall.dsn)
    try:
        await store._init_connection(conn)
        rebuilding = conn.transaction()
        await rebuilding.start()
        await stats.rebuild(conn, "gongshu", hall.config.timezone, hall.config.business_day_starts)
        issuing = asyncio.create_task(hall.issue("A"))  # the hall's next batch waits for the lock
        await asyncio.sleep(0.5)
        assert not issuing.done()
        await rebuilding.commit()
        second = await asyncio.wait_for(issuing, 10)
    finally:
        await conn.close()
    visits, _ = await snapshot(hall.dsn)
    assert sorted(v["number"] for v in visits) == ["A001", second["number"]] == ["A001", "A002"]
    assert all(v["issued_at"] is not None and v["hall"] == "gongshu" for v in visits)
