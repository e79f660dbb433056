"""Service quality figures (投诉、调查与整改) of the performance review: per hall, per street of a
district and in total, from the same records the halls keep; for the offices, not for clerks."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.hall import start_hall

QUALITY = "/api/v1/stats/quality"


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_device("K02", role="kiosk", hall="hushu")
        await h.add_staff("1001", name="张三")
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("9002", name="赵主任", role="manager")
        await h.add_staff("hs01", name="湖墅员", hall="hushu")
        await h.add_staff("hs09", name="湖墅经理", role="manager", hall="hushu")
        await h.add_staff("admin1", name="管理员", role="admin", hall=None)
        yield h


async def _serve(h, count, *, hall="gongshu", kiosk="K01", clerk="1001"):
    for _ in range(count):
        await h.issue("A", by=kiosk, hall=hall)
    await h.act(1, "open", by=clerk, hall=hall)
    for _ in range(count):
        h.clock.advance(60)
        await h.act(1, "call-next", by=clerk, hall=hall)
        await h.act(1, "start", by=clerk, hall=hall)
        h.clock.advance(120)
        await h.act(1, "finish", by=clerk, hall=hall)


async def _improvement(h, due, **body):
    resp = await h.client.post("/api/v1/halls/gongshu/improvements", headers=h.auth("9001"), json={
        "source_kind": "inspection", "problem": "等候区座位不足", "measure": "增加座椅", "owner": "1001",
        "due": due, **body})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


async def _sign_in_again(h, staff_id):
    """Sessions last a working day: a test that moves the clock a day ahead signs in again."""
    resp = await h.client.post("/api/v1/auth/login", json={"staff_id": staff_id, "password": "secret-pass-1"})
    assert resp.status == 200, await resp.text()
    h.tokens[staff_id] = (await resp.json())["token"]


async def _quality(h, who, query):
    resp = await h.client.get(f"{QUALITY}?{query}", headers=h.auth(who))
    return resp.status, await resp.json()


async def test_served_visits_and_improvement_actions_add_up_by_hall_street_and_district(hall):
    await _serve(hall, 4)
    await _serve(hall, 1, hall="hushu", kiosk="K02", clerk="hs01")
    late = await _improvement(hall, "2026-11-30")
    await _improvement(hall, "2026-12-31", problem="叫号声音太小", measure="调高音量")
    verified = await _improvement(hall, "2026-12-31", problem="指引牌不清", measure="更换指引牌")
    for action, who, body in (("done", "1001", {"evidence": "已更换"}), ("verify", "9002", {})):
        resp = await hall.client.post(f"/api/v1/halls/gongshu/improvements/{verified}/{action}",
                                      headers=hall.auth(who), json=body)
        assert resp.status == 200, await resp.text()
    hall.clock.advance(86400)  # Tuesday: the first action was due by the end of Monday
    await _sign_in_again(hall, "admin1")
    status, body = await _quality(hall, "admin1", "scope=district:gongshu&from=2026-11-30&to=2026-12-01")
    assert status == 200, body
    rows = {r["key"]: r for r in body["rows"]}
    assert list(rows) == ["gongshu", "hushu", "xiangfu"]
    assert rows["gongshu"]["served"] == 4 and rows["hushu"]["served"] == 1 and rows["xiangfu"]["served"] == 0
    gongshu = rows["gongshu"]
    assert (gongshu["improvements"], gongshu["improvements_open"], gongshu["improvements_overdue"]) == (3, 2, 1)
    assert rows["hushu"]["improvements"] == 0
    assert gongshu["complaints_per_1000"] == 0.0, "no complaint over 4 visits is a rate of 0, not unknown"
    assert rows["xiangfu"]["complaints_per_1000"] is None, "no visits: no rate"
    streets = {r["key"]: r for r in body["regions"]}
    assert set(streets) == {"hushu", "xiangfu"} and streets["hushu"]["served"] == 1
    assert body["total"]["served"] == 5 and body["total"]["improvements_overdue"] == 1
    assert late  # the overdue one is the action due on Monday
    # a period that ends before the actions were opened counts none of them
    status, before = await _quality(hall, "admin1", "scope=hall:gongshu&from=2026-11-01&to=2026-11-29")
    assert status == 200 and before["total"]["improvements"] == 0 and before["total"]["served"] == 0


async def test_a_clerk_is_refused_and_a_hall_manager_sees_only_their_hall(hall):
    status, body = await _quality(hall, "1001", "scope=hall:gongshu")
    assert status == 403 and "admin, manager" in body["detail"], body
    status, body = await _quality(hall, "hs09", "scope=district:gongshu")
    assert status == 403, body
    status, body = await _quality(hall, "hs09", "scope=hall:hushu")
    assert status == 200 and [r["key"] for r in body["rows"]] == ["hushu"] and body["regions"] == []


@pytest.mark.parametrize("query, field", [
    ("scope=hall:gongshu&from=2026-12-01&to=2026-11-01", "from"),
    ("scope=hall:gongshu&from=2026-13-01", "from"),
    ("scope=hall:gongshu&from=2024-01-01&to=2026-11-30", "to"),
    ("scope=hall:gong%00shu", "scope"),
    ("scope=street:nowhere", None),
])
async def test_a_bad_scope_or_period_is_refused_in_chinese(hall, query, field):
    status, body = await _quality(hall, "9001", query)
    assert status in (400, 404), body
    assert any("\u4e00" <= c <= "\u9fff" for c in body["detail"]), body
    if field is not None:
        assert body.get("field") == field or field in body["detail"], body


def _pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
                          ).stdout.decode("utf-8")


async def test_the_monthly_report_of_a_manager_has_the_quality_table_and_a_clerks_has_not(hall):
    await _serve(hall, 2)
    await _improvement(hall, "2026-11-30")
    pdf = await hall.client.get("/api/v1/reports/monthly.pdf?scope=hall:gongshu&month=2026-11",
                                headers=hall.auth("9001"))
    assert pdf.status == 200, await pdf.text()
    text = _pdf_text(await pdf.read())
    section = text[text.index("五、投诉、调查与整改"):text.index("六、整改事项")]
    total = next(line for line in section.splitlines() if line.strip().startswith("合计")).split()
    # 合计 served complaints per-1000 accepted replied satisfied responses score opened open overdue
    assert total[1:4] == ["2", "0", "0.00"] and total[-3:] == ["1", "1", "0"], total
    assert "七、账本锚定" in text and "八、审核签字" in text
    own = await hall.client.get("/api/v1/reports/monthly.pdf?scope=hall:gongshu&month=2026-11",
                                headers=hall.auth("1001"))
    assert own.status == 200, await own.text()
    mine = _pdf_text(await own.read())
    assert "投诉、调查与整改" not in mine and "五、整改事项" in mine


async def _complaint(h, by="9001"):
    resp = await h.client.post("/api/v1/halls/gongshu/complaints", headers=h.auth(by), json={
        "channel": "phone", "category": "efficiency", "content": "等了很久才叫到号。"})
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _complaint_step(h, complaint, action, by="9001", **body):
    resp = await h.client.post(f"/api/v1/halls/gongshu/complaints/{complaint['id']}/{action}",
                               headers=h.auth(by), json=body)
    assert resp.status == 200, await resp.text()


async def test_complaints_count_per_thousand_visits_on_time_steps_and_the_complainants_satisfaction(hall):
    await _serve(hall, 4)
    handled = await _complaint(hall)
    await _complaint_step(hall, handled, "accept")
    await _complaint_step(hall, handled, "assign", assignee="9002")
    await _complaint_step(hall, handled, "resolve", by="9002", findings="高峰窗口不足", measures="增开窗口")
    await _complaint_step(hall, handled, "reply", how="phone", answer="已增开窗口，感谢监督")
    rated = await hall.client.post(f"/api/v1/complaints/{handled['secret']}/rating", json={"rating": "satisfied"})
    assert rated.status == 201, await rated.text()
    await _complaint(hall)  # never accepted: overdue after Tuesday
    late = await _complaint(hall)
    hall.clock.advance(2 * 86400)  # Wednesday 10:00: both accept deadlines (end of Tuesday) passed
    for who in ("9001", "admin1"):
        await _sign_in_again(hall, who)
    await _complaint_step(hall, late, "accept")  # accepted, but a day late
    status, body = await _quality(hall, "admin1", "scope=hall:gongshu&from=2026-11-30&to=2026-12-02")
    assert status == 200, body
    total = body["total"]
    assert total["served"] == 4 and total["complaints"] == 3
    assert total["complaints_per_1000"] == 750.0
    assert total["accept_due"] == 3 and total["accepted_on_time_rate"] == 0.3333
    assert total["reply_due"] == 1 and total["replied_on_time_rate"] == 1.0
    assert total["handling_rated"] == 1 and total["complainant_satisfied_rate"] == 1.0
    assert body["rows"][0]["complaints"] == 3
    # another hall's period and scope hold none of them
    status, other = await _quality(hall, "admin1", "scope=hall:hushu&from=2026-11-30&to=2026-12-02")
    assert status == 200 and other["total"]["complaints"] == 0 and other["total"]["accepted_on_time_rate"] is None


async def test_survey_answers_give_the_responses_and_a_score_out_of_100_from_the_scale_questions(hall):
    resp = await hall.client.post("/api/v1/halls/gongshu/survey-campaigns", headers=hall.auth("9001"), json={
        "questionnaire": "hall-service", "starts": "2026-11-30", "ends": "2026-12-06", "every": 1})
    assert resp.status == 201, await resp.text()
    tickets = [await hall.issue("A") for _ in range(3)]
    await _serve(hall, 0)  # window 1 opened
    for _ in tickets:
        await hall.act(1, "call-next")
        await hall.act(1, "start")
        await hall.act(1, "finish")
    # overall 5 and guidance 4 → (1 + 0.75); overall 1, guidance 3 → (0 + 0.5); the third not answered
    for ticket, answers in zip(tickets, ({"overall": 5, "guidance": 4, "visits": "1 次"},
                                         {"overall": 1, "guidance": 3, "visits": "3 次及以上"}), strict=False):
        done = await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/survey", json={"answers": answers})
        assert done.status == 201, await done.text()
    status, body = await _quality(hall, "9001", "scope=hall:gongshu&from=2026-11-30&to=2026-11-30")
    assert status == 200, body
    total = body["total"]
    assert total["survey_responses"] == 2 and total["survey_answers"] == 4
    assert total["survey_score"] in (56.2, 56.3), "(100 + 75 + 0 + 50) / 4 = 56.25, to one decimal"
