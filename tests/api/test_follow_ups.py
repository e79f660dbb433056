"""差评回访 as a worklist (GET/POST /api/v1/halls/{hall}/follow-ups): every bad rating's follow-up
with its call-back (1 working day) and rectification (15) deadlines, overdue flagged by the hall's
calendar; the call recorded with method and result, the rectification with its measures; each step
once, in order, ledgered with who did it; the citizen's follow-up rating shown."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.api.checks import expect_problem, fetch, ledger, ok, post, tables
from tests.support.hall import start_hall

LIST = "/api/v1/halls/gongshu/follow-ups"
CALL = {"action": "call_back", "method": "phone", "result": "已致歉，群众表示理解"}
RECTIFY = {"action": "rectify", "measures": "高峰时段增开 2 号窗口"}


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_staff("1001", name="张三")
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("9003", name="钱经理", role="manager")
        await h.add_staff("hs9", name="湖墅经理", role="manager", hall="hushu")
        yield h


async def _bad_rating(hall) -> tuple[dict, str]:
    """A ticket served at window 1 and rated 不满意 from the phone; (ticket, follow-up id)."""
    ticket = await hall.issue("A")
    for action in ("open", "call-next", "start", "finish"):
        await hall.act(1, action, by="1001")
    rated = await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/rating",
                                   json={"level": "dissatisfied", "labels": ["等候时间过长"]})
    return ticket, (await ok(rated, 201))["follow_up"]["id"]


async def _listed(hall, query: str = "", who: str = "9001") -> list[dict]:
    return (await ok(await hall.client.get(LIST + query, headers=hall.auth(who))))["follow_ups"]


async def _sign_in_again(hall, who: str) -> None:
    """A sign-in lasts a working day: the tests that move the clock on by days sign in anew."""
    login = await hall.client.post("/api/v1/auth/login", json={"staff_id": who, "password": "secret-pass-1"})
    hall.tokens[who] = (await ok(login))["token"]


async def test_the_call_back_is_overdue_after_the_next_working_day_and_the_worklist_filters_it(hall):
    """Rated Monday 10:00: the call-back is due by the end of Tuesday, the rectification 15 working
    days on (2026-12-21); Wednesday 00:01 it is overdue."""
    _, follow_up = await _bad_rating(hall)
    [item] = await _listed(hall)
    assert item["id"] == follow_up and item["status_zh"] == "待回访" and item["level_zh"] == "不满意"
    assert item["callback_due"].startswith("2026-12-01T23:59") and item["rectify_due"].startswith("2026-12-21")
    assert not item["overdue"] and item["call"] is None and item["number"] == "A001"
    hall.clock.advance((24 + 13) * 3600 + 59 * 60)  # Tuesday 23:59
    await _sign_in_again(hall, "9001")
    assert not (await _listed(hall))[0]["callback_overdue"]
    assert await _listed(hall, "?overdue=1") == []
    hall.clock.advance(2 * 60)  # Wednesday 00:01
    [late] = await _listed(hall, "?overdue=1")
    assert late["callback_overdue"] and not late["rectify_overdue"]
    assert [i["id"] for i in await _listed(hall, "?status=open")] == [follow_up]
    assert await _listed(hall, "?status=called_back") == []
    await expect_problem(await hall.client.get(LIST + "?status=lost", headers=hall.auth("9001")), 400,
                         field="status")


async def test_a_call_needs_method_and_result_and_a_rectification_its_measures(hall):
    _, follow_up = await _bad_rating(hall)
    path = f"{LIST}/{follow_up}"
    before = await tables(hall)
    for body, field in (({"action": "call_back", "result": "已回访"}, "method"),
                        ({"action": "call_back", "method": "phone"}, "result"),
                        ({"action": "call_back", "method": "phone", "result": "  "}, "result"),
                        ({"action": "call_back", "method": "fax", "result": "已回访"}, "method"),
                        ({"action": "call_back", "method": ["phone"], "result": "已回访"}, "method")):
        await expect_problem(await post(hall, path, by="9001", json_body=body), 400, field=field)
    # Steps go in order: no rectification, no closing before the call.
    await expect_problem(await post(hall, path, by="9001", json_body=RECTIFY), 409, detail_has="顺序")
    await expect_problem(await post(hall, path, by="9001", json_body={"action": "close"}), 409)
    assert await tables(hall) == before
    called = await ok(await post(hall, path, by="9001", json_body={**CALL, "note": "下午 3 点回访"}))
    assert called["status"] == "called_back"
    assert called["call"]["method_zh"] == "电话" and called["call"]["result"] == CALL["result"]
    assert called["call"]["by"] == "9001" and called["call"]["remark"] == "下午 3 点回访"
    await expect_problem(await post(hall, path, by="9001", json_body={"action": "rectify"}), 400, field="measures")
    rectified = await ok(await post(hall, path, by="9003", json_body=RECTIFY))
    assert rectified["rectification"]["measures"] == RECTIFY["measures"]
    assert rectified["rectification"]["by_name"] == "钱经理"
    await ok(await post(hall, path, by="9001", json_body={"action": "close"}))
    steps = [(e["payload"].get("action"), e["actor"]["id"]) for e in await ledger(hall, by="9001")
             if e["kind"] == "follow_up_updated"]
    assert steps == [("call_back", "9001"), ("rectify", "9003"), ("close", "9001")]


async def test_a_double_press_records_the_call_once(hall):
    _, follow_up = await _bad_rating(hall)
    path = f"{LIST}/{follow_up}"
    same_key = await asyncio.gather(*(post(hall, path, by="9001", key="fu-1", json_body=CALL) for _ in range(2)))
    assert (await ok(same_key[0])) == (await ok(same_key[1]))
    # Two managers at once, each with their own key: one records the rectification, one is told.
    both = await asyncio.gather(post(hall, path, by="9001", key="fu-2", json_body=RECTIFY),
                                post(hall, path, by="9003", key="fu-3", json_body=RECTIFY))
    assert sorted(r.status for r in both) == [200, 409]
    rows = await fetch(hall, "SELECT notes FROM follow_ups WHERE id = $1", follow_up)
    assert [n["action"] for n in json.loads(rows[0]["notes"])] == ["call_back", "rectify"]
    kinds = [e["kind"] for e in await ledger(hall, by="9001")]
    assert kinds.count("follow_up_updated") == 2


async def test_the_citizens_follow_up_rating_shows_on_the_worklist(hall):
    ticket, follow_up = await _bad_rating(hall)
    await ok(await post(hall, f"{LIST}/{follow_up}", by="9001", json_body=CALL))
    rated = await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/follow-up-rating",
                                   json={"level": "satisfied"})
    await ok(rated, 201)
    [item] = await _listed(hall)
    assert item["citizen_level"] == "satisfied" and item["citizen_level_zh"] == "满意"


async def test_another_halls_manager_neither_lists_nor_records(hall):
    _, follow_up = await _bad_rating(hall)
    await expect_problem(await hall.client.get(LIST, headers=hall.auth("hs9")), 403)
    await expect_problem(await post(hall, f"{LIST}/{follow_up}", by="hs9", json_body=CALL), 403)
    await expect_problem(await post(hall, f"{LIST}/{follow_up}", by="1001", json_body=CALL), 403)
    await expect_problem(await post(hall, f"{LIST}/fu_nothing", by="9001", json_body=CALL), 404)
