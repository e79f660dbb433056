"""Complaints (投诉): intake from the phone page of a visit, the poster page and the console; the
flow received → accepted/declined → investigating → resolved → replied → archived with owners and
deadlines in working days; the complainant's private link and one rating; who sees what (the
contact whole only for the owner); floods, double presses and illegal steps."""

from __future__ import annotations

import json

import pytest

from queue_server.domain.errors import CODES
from tests.api.checks import expect_problem, fetch
from tests.support.hall import start_hall

BASE = "/api/v1/halls/gongshu/complaints"
PHONE = "13812345678"


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_staff("1001", name="张三")
        await h.add_staff("1002", name="李四")
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("9002", name="赵主任", role="manager")
        await h.add_staff("hs09", name="湖墅经理", role="manager", hall="hushu")
        yield h


async def _served_ticket(hall) -> dict:
    """A ticket served by 张三 (1001) at window 1."""
    ticket = await hall.issue("A")
    for action in ("open", "call-next", "start", "finish"):
        await hall.act(1, action, by="1001")
    return ticket


def _fields(**changes):
    return {"category": "attitude", "content": "窗口工作人员态度生硬，问了两遍就不耐烦。",
            "contact_phone": PHONE, "consent": True, **changes}


async def _from_ticket(hall, secret, key=None, **changes):
    headers = {"Idempotency-Key": key} if key else {}
    return await hall.client.post(f"/api/v1/tickets/{secret}/complaint", json=_fields(**changes), headers=headers)


async def _taken(hall, by="9001", **changes):
    body = {"channel": "phone", **_fields(**changes)}
    resp = await hall.client.post(BASE, json=body, headers=hall.auth(by))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _step(hall, complaint, action, by, key=None, **body):
    headers = hall.auth(by, **({"Idempotency-Key": key} if key else {}))
    return await hall.client.post(f"{BASE}/{complaint}/{action}", json=body, headers=headers)


async def _listed(hall, who, query=""):
    resp = await hall.client.get(BASE + query, headers=hall.auth(who))
    assert resp.status == 200, await resp.text()
    return {c["id"]: c for c in (await resp.json())["complaints"]}


async def _ledger(hall):
    rows = await fetch(hall, "SELECT kind, actor, payload FROM ledger WHERE kind LIKE 'complaint%' ORDER BY seq")

    def load(value):
        return json.loads(value) if isinstance(value, str) else value

    return [(r["kind"], load(r["actor"])["id"], load(r["payload"])) for r in rows]


async def test_a_complaint_from_the_phone_page_names_the_ticket_window_and_staff_and_runs_the_whole_flow(hall):
    ticket = await _served_ticket(hall)
    resp = await _from_ticket(hall, ticket["holder_secret"])
    body = await resp.json()
    assert resp.status == 201, body
    assert body["window"] == 1 and body["staff_id"] == "1001" and body["channel"] == "ticket"
    assert body["state"] == "received" and body["state_zh"] == "待受理"
    assert body["contact"] == "138****5678", "the complainant's own answer shows the contact masked"
    assert body["due"] == "2026-12-01T23:59:59+08:00", "accept within 1 working day: Tuesday's end"
    cid, secret = body["id"], body["secret"]
    assert body["status_link"] == f"/complaint/status/{secret}"

    steps = [
        ("accept", "9001", {}),
        ("assign", "9001", {"assignee": "1002"}),
        ("resolve", "1002", {"findings": "调看录像，张三答复时语气生硬", "measures": "批评教育，文明用语培训"}),
        ("reply", "9001", {"how": "phone", "answer": "已核实并整改，感谢监督"}),
        ("archive", "9002", {}),
    ]
    for action, by, fields in steps:
        hall.clock.advance(600)
        done = await _step(hall, cid, action, by, **fields)
        assert done.status == 200, (action, await done.text())
    after = await done.json()
    assert after["state"] == "archived" and after["owner"] == "9001" and after["assignee"] == "1002"
    assert after["due"] is None and after["closed_at"] is not None
    assert [s["action"] for s in after["steps"]] == ["receive", "accept", "assign", "resolve", "reply", "archive"]
    assert [s["by"] for s in after["steps"]] == [None, "9001", "9001", "1002", "9001", "9002"]
    assert all(s["on_time"] for s in after["steps"][1:])

    ledger = await _ledger(hall)
    assert [(k, who) for k, who, _ in ledger] == [
        ("complaint_received", ticket["id"]), ("complaint_accepted", "9001"), ("complaint_investigating", "9001"),
        ("complaint_resolved", "1002"), ("complaint_replied", "9001"), ("complaint_archived", "9002")]
    text = json.dumps([p for _, _, p in ledger], ensure_ascii=False)
    assert PHONE not in text and "5678" not in text, "the contact never reaches the ledger"
    assert "态度生硬" not in text, "nor the complainant's words: the ledger gets the id and the steps"
    assert all(p["complaint"] == cid for _, _, p in ledger)

    status = await hall.client.get(f"/api/v1/complaints/{secret}")
    public = await status.json()
    assert public["state_zh"] == "已归档" and public["contact"] == "138****5678" and public["rateable"] is True
    assert "1001" not in json.dumps(public) and "张三" not in json.dumps(public, ensure_ascii=False)
    rated = await hall.client.post(f"/api/v1/complaints/{secret}/rating", json={"rating": "satisfied"})
    assert rated.status == 201 and (await rated.json())["rating_zh"] == "满意"
    again = await hall.client.post(f"/api/v1/complaints/{secret}/rating", json={"rating": "dissatisfied"})
    await expect_problem(again, 409, code="complaint.already_rated", detail_has="只能评价一次")
    assert [k for k, _, _ in await _ledger(hall)][-1] == "complaint_rated"


async def test_the_contact_is_whole_for_the_owner_masked_for_other_managers_and_hidden_from_staff(hall):
    ticket = await _served_ticket(hall)
    cid = (await (await _from_ticket(hall, ticket["holder_secret"])).json())["id"]
    assert cid not in await _listed(hall, "1001"), "the named staff member sees it only once accepted"
    assert (await _listed(hall, "9001"))[cid]["contact"] == "138****5678", "no owner yet: masked for all"
    await _step(hall, cid, "accept", "9001")
    assert (await _listed(hall, "9001"))[cid]["contact"] == PHONE
    assert (await _listed(hall, "9002"))[cid]["contact"] == "138****5678"
    named = (await _listed(hall, "1001"))[cid]
    assert named["contact"] is None and named["content"].startswith("窗口工作人员")
    assert cid not in await _listed(hall, "1002")
    await _step(hall, cid, "assign", "9001", assignee="1002")
    investigator = (await _listed(hall, "1002"))[cid]
    assert investigator["contact"] is None and investigator["has_contact"] is True


async def test_a_declined_complaint_is_never_shown_to_the_staff_member_it_names(hall):
    ticket = await _served_ticket(hall)
    cid = (await (await _from_ticket(hall, ticket["holder_secret"])).json())["id"]
    no_reason = await _step(hall, cid, "decline", "9001")
    await expect_problem(no_reason, 400, field="reason")
    declined = await _step(hall, cid, "decline", "9001", reason="不属于本中心受理范围，已告知向 12345 反映")
    assert (await declined.json())["state"] == "declined"
    assert cid not in await _listed(hall, "1001")


async def test_illegal_steps_are_refused_in_chinese_with_409_and_change_nothing(hall):
    cid = (await _taken(hall))["id"]
    early = await _step(hall, cid, "resolve", "9001", findings="x", measures="y")
    problem = await expect_problem(early, 409, code="complaint.bad_step", detail_has=("待受理", "处理完毕"))
    assert problem["state"] == "received"
    await _step(hall, cid, "accept", "9001")
    twice = await _step(hall, cid, "accept", "9002")
    await expect_problem(twice, 409, code="complaint.bad_step")
    clerk = await _step(hall, cid, "assign", "1001", assignee="1002")
    assert clerk.status == 403
    await _step(hall, cid, "assign", "9001", assignee="1002")
    other = await _step(hall, cid, "resolve", "1001", findings="x", measures="y")
    await expect_problem(other, 403, code="complaint.not_investigator")
    rows = await fetch(hall, "SELECT state, owner FROM complaints")
    assert [(r["state"], r["owner"]) for r in rows] == [("investigating", "9001")]
    assert [k for k, _, _ in await _ledger(hall)] == [
        "complaint_received", "complaint_accepted", "complaint_investigating"]
    rate_early = await hall.client.post(f"/api/v1/complaints/{(await fetch(hall, 'SELECT secret FROM complaints'))[0]['secret']}/rating",
                                        json={"rating": "satisfied"})
    await expect_problem(rate_early, 409, code="complaint.not_answered")


async def test_a_double_press_acts_once_with_a_key_and_once_without_one_when_sent_together(hall):
    ticket = await _served_ticket(hall)
    first = await _from_ticket(hall, ticket["holder_secret"], key="phone-abc")
    second = await _from_ticket(hall, ticket["holder_secret"], key="phone-abc")
    assert first.status == second.status == 201
    assert (await first.json())["id"] == (await second.json())["id"]
    assert len(await fetch(hall, "SELECT id FROM complaints")) == 1
    cid = (await first.json())["id"]
    a1 = await _step(hall, cid, "accept", "9001", key="acc-1")
    a2 = await _step(hall, cid, "accept", "9001", key="acc-1")
    assert a1.status == a2.status == 200
    import asyncio

    # Two managers press 交办 at the same moment, without keys: one assignment, one refusal.
    r1, r2 = await asyncio.gather(_step(hall, cid, "assign", "9001", assignee="1001"),
                                  _step(hall, cid, "assign", "9002", assignee="1002"))
    assert sorted([r1.status, r2.status]) == [200, 409], (await r1.text(), await r2.text())
    assert [k for k, _, _ in await _ledger(hall)] == [
        "complaint_received", "complaint_accepted", "complaint_investigating"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"category": "gossip"}, "category"),
    ({"category": None}, "category"),
    ({"content": "   "}, "content"),
    ({"content": "态度\x00差"}, "content"),
    ({"content": "态度\x07差"}, "content"),
    ({"content": "差" * 1001}, "content"),
    ({"contact_phone": "12345"}, "contact_phone"),
    ({"consent": False}, "consent"),
    ({"consent": "yes"}, "consent"),
])
async def test_bad_input_is_refused_in_chinese_naming_the_field_and_stores_nothing(hall, changes, field):
    resp = await hall.client.post("/api/v1/complaint-box/gongshu", json=_fields(**changes))
    problem = await expect_problem(resp, 400, field=field)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"]), problem["detail"]
    assert await fetch(hall, "SELECT id FROM complaints") == []
    assert await _ledger(hall) == []


async def test_a_flood_of_complaints_from_one_address_is_told_to_wait_in_chinese(hall):
    for _ in range(hall.config.limits.complaint_per_minute):
        ok = await hall.client.post("/api/v1/complaint-box/gongshu", json=_fields(contact_phone=None, consent=None))
        assert ok.status == 201, await ok.text()
    flood = await hall.client.post("/api/v1/complaint-box/gongshu", json=_fields())
    problem = await expect_problem(flood, 429, code="rate.limited", detail_has="投诉与建议请求过于频繁")
    assert int(flood.headers["Retry-After"]) >= 1 and problem["detail"] == CODES["rate.limited"].format(
        group="投诉与建议", seconds=flood.headers["Retry-After"])
    assert len(await fetch(hall, "SELECT id FROM complaints")) == hall.config.limits.complaint_per_minute


async def test_staff_may_not_pose_as_a_citizen_and_the_console_records_the_channel(hall):
    posing = await hall.client.post("/api/v1/complaint-box/gongshu", json=_fields(), headers=hall.auth("1001"))
    await expect_problem(posing, 403, code="auth.citizen_complaint")
    taken = await _taken(hall, channel="in_person", window=2, staff_id="1002", contact_phone=None, consent=None)
    assert taken["channel_zh"] == "当面" and taken["window"] == 2 and taken["staff_id"] == "1002"
    assert taken["steps"][0]["by"] == "9001"
    unknown = await hall.client.post(BASE, json={"channel": "phone", **_fields(staff_id="nobody")},
                                     headers=hall.auth("9001"))
    await expect_problem(unknown, 400, field="staff_id", detail_has="没有在用的工作人员账号")
    other_hall = await hall.client.get(BASE, headers=hall.auth("hs09"))
    assert other_hall.status == 403


async def test_an_overdue_step_is_flagged_raises_the_alert_for_the_region_and_clears_with_the_next_step(hall):
    from queue_server.web.keys import ALERTS

    cid = (await _taken(hall))["id"]  # Monday 10:00: accept due Tuesday 23:59:59
    hall.clock.advance(37 * 3600 + 59 * 60)  # Tuesday 23:59
    await hall.add_staff("9003", name="值班经理", role="manager")
    listed = await _listed(hall, "9003")
    assert listed[cid]["overdue"] is False
    assert await hall.client.server.app[ALERTS].sweep("gongshu") == []
    hall.clock.advance(61)  # Wednesday 00:00:01
    assert (await _listed(hall, "9003", "?overdue=1"))[cid]["overdue"] is True
    changes = await hall.client.server.app[ALERTS].sweep("gongshu")
    assert [(c.action, c.alert.kind) for c in changes] == [("raised", "complaint_overdue")]
    alert = changes[0].alert
    assert alert.subject == cid and alert.detail["region"] == "gongshu" and alert.detail["step_zh"] == "受理"
    assert alert.detail["due"] == "2026-12-01T23:59:59.999999+08:00"
    # The district office above the hall sees it on 大厅监控.
    await hall.add_staff("d01", name="区级管理员", role="manager", hall=None, region="gongshu")
    watched = await hall.client.get("/api/v1/halls/gongshu/monitor", headers=hall.auth("d01"))
    assert watched.status == 200, await watched.text()
    seen = [a for a in (await watched.json())["alerts"] if a["kind"] == "complaint_overdue"]
    assert [(a["subject"], a["title"]) for a in seen] == [(cid, "投诉处理逾期")]
    accepted = await _step(hall, cid, "accept", "9003")
    assert (await accepted.json())["steps"][-1]["on_time"] is False
    changes = await hall.client.server.app[ALERTS].sweep("gongshu")
    assert [(c.action, c.alert.kind) for c in changes] == [("cleared", "complaint_overdue")]


async def test_an_improvement_action_may_be_opened_from_a_complaint_of_the_hall_only(hall):
    cid = (await _taken(hall))["id"]
    action = {"source_kind": "complaint", "problem": "窗口服务态度生硬", "measure": "文明用语培训",
              "owner": "1001", "due": "2026-12-18"}
    unknown = await hall.client.post("/api/v1/halls/gongshu/improvements", headers=hall.auth("9001"),
                                     json={**action, "source_id": "cp_nonexistent"})
    await expect_problem(unknown, 400, field="source_id", detail_has="没有投诉 cp_nonexistent")
    other_hall = await hall.client.post("/api/v1/halls/hushu/improvements", headers=hall.auth("hs09"),
                                        json={**action, "source_id": cid, "owner": "hs09"})
    await expect_problem(other_hall, 400, field="source_id")
    opened = await hall.client.post("/api/v1/halls/gongshu/improvements", headers=hall.auth("9001"),
                                    json={**action, "source_id": cid})
    body = await opened.json()
    assert opened.status == 201, body
    assert body["source_kind"] == "complaint" and body["source_id"] == cid and body["source_zh"] == "投诉"


async def test_the_region_office_reads_its_halls_complaints_with_the_contact_masked_and_takes_no_step(hall):
    cid = (await _taken(hall))["id"]
    await _step(hall, cid, "accept", "9001")
    await hall.add_staff("d01", name="区级管理员", role="manager", hall=None, region="gongshu")
    await hall.add_staff("x01", name="祥符街道管理员", role="manager", hall=None, region="xiangfu")
    resp = await hall.client.get(BASE, headers=hall.auth("d01"))
    body = await resp.json()
    assert resp.status == 200 and body["read_only"] is True, body
    (seen,) = body["complaints"]
    assert seen["id"] == cid and seen["contact"] == "138****5678" and seen["content"].startswith("窗口")
    step = await _step(hall, cid, "assign", "d01", assignee="1001")
    assert step.status == 403
    other_street = await hall.client.get(BASE, headers=hall.auth("x01"))
    assert other_street.status == 403
    assert (await _listed(hall, "9001"))[cid]["state"] == "accepted"


async def test_the_reply_time_may_be_given_but_not_in_the_future_nor_before_the_findings(hall):
    cid = (await _taken(hall))["id"]
    for action, by, body in (("accept", "9001", {}), ("assign", "9001", {"assignee": "1001"}),
                             ("resolve", "1001", {"findings": "属实", "measures": "培训"})):
        assert (await _step(hall, cid, action, by, **body)).status == 200
    hall.clock.advance(3600)  # 11:00
    future = await _step(hall, cid, "reply", "9001", how="sms", replied_at="2026-11-30T12:00:00+08:00")
    await expect_problem(future, 400, field="replied_at", detail_has="须在处理完毕")
    before = await _step(hall, cid, "reply", "9001", how="sms", replied_at="2026-11-30T09:00")
    await expect_problem(before, 400, field="replied_at")
    bad_how = await _step(hall, cid, "reply", "9001", how="pigeon")
    await expect_problem(bad_how, 400, field="how")
    done = await _step(hall, cid, "reply", "9001", how="sms", replied_at="2026-11-30T10:30")
    body = await done.json()
    assert done.status == 200, body
    assert body["replied_at"] == "2026-11-30T10:30:00+08:00" and body["reply_how_zh"] == "短信"
