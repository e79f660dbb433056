"""Improvement actions (整改): opened by a manager from a source, reported done by the owner with
evidence, verified by another manager; overdue after the due day; every step in the ledger; a
second press answers once; bad input changes nothing."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.api.checks import fetch
from tests.support.hall import start_hall

BASE = "/api/v1/halls/gongshu/improvements"


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_device("E01", role="evaluator", window=1)
        await h.add_staff("1001", name="张三")
        await h.add_staff("1002", name="李四")
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("9002", name="赵主任", role="manager")
        await h.add_staff("hs01", name="湖墅员", hall="hushu")
        await h.add_staff("hs09", name="湖墅经理", role="manager", hall="hushu")
        yield h


def _action(**changes):
    return {"source_kind": "inspection", "problem": "等候区座位不足，高峰时段有人站立等候",
            "cause": "座椅布置按平峰设计", "measure": "增加 20 个座位，高峰时段开放备用等候区",
            "owner": "1001", "due": "2026-12-04", **changes}


async def _open(hall, by="9001", key=None, **changes):
    headers = hall.auth(by, **({"Idempotency-Key": key} if key else {}))
    return await hall.client.post(BASE, json=_action(**changes), headers=headers)


async def _step(hall, improvement, action, by, key=None, **body):
    headers = hall.auth(by, **({"Idempotency-Key": key} if key else {}))
    return await hall.client.post(f"{BASE}/{improvement}/{action}", json=body, headers=headers)


async def _sign_in_again(hall, staff_id):
    """Sessions last a working day; a test that moves the clock days ahead signs in again."""
    resp = await hall.client.post("/api/v1/auth/login", json={"staff_id": staff_id, "password": "secret-pass-1"})
    assert resp.status == 200, await resp.text()
    hall.tokens[staff_id] = (await resp.json())["token"]


async def _ledger(hall):
    rows = await fetch(hall, "SELECT kind, actor, payload FROM ledger WHERE kind LIKE 'improvement%' ORDER BY seq")

    def load(value):
        return json.loads(value) if isinstance(value, str) else value

    return [(r["kind"], load(r["actor"])["id"], load(r["payload"])) for r in rows]


async def test_an_action_goes_open_done_verified_with_who_and_when_in_the_ledger(hall):
    opened = await _open(hall)
    body = await opened.json()
    assert opened.status == 201, body
    assert body["state"] == "open" and body["state_zh"] == "整改中" and body["owner_name"] == "张三"
    assert body["due"] == "2026-12-04" and body["overdue"] is False and body["source_zh"] == "日常检查"
    hall.clock.advance(3600)
    done = await _step(hall, body["id"], "done", "1001", evidence="已增加 20 个座位，见照片记录")
    assert done.status == 200, await done.text()
    assert (await done.json())["state"] == "done"
    verified = await _step(hall, body["id"], "verify", "9002", note="现场查看属实")
    after = await verified.json()
    assert verified.status == 200, after
    assert after["state"] == "verified" and after["verified_by"] == "9002"
    assert [s["action"] for s in after["steps"]] == ["open", "done", "verify"]
    assert [s["by"] for s in after["steps"]] == ["9001", "1001", "9002"]
    ledger = await _ledger(hall)
    assert [(k, who) for k, who, _ in ledger] == [
        ("improvement_opened", "9001"), ("improvement_done", "1001"), ("improvement_verified", "9002")]
    assert ledger[0][2]["measure"].startswith("增加 20 个座位") and ledger[0][2]["owner"] == "1001"
    assert ledger[1][2]["text"] == "已增加 20 个座位，见照片记录"


async def test_the_owner_may_not_verify_their_own_action_and_a_clerk_may_not_verify_at_all(hall):
    body = await (await _open(hall, owner="9001")).json()
    await _step(hall, body["id"], "done", "9001", evidence="已整改")
    own = await _step(hall, body["id"], "verify", "9001")
    assert own.status == 409 and (await own.json())["code"] == "improvement.self_verify"
    clerk = await _step(hall, body["id"], "verify", "1001")
    assert clerk.status == 403
    rows = await fetch(hall, "SELECT state FROM improvements")
    assert [r["state"] for r in rows] == ["done"]


async def test_only_the_owner_or_a_manager_reports_done(hall):
    body = await (await _open(hall)).json()
    other = await _step(hall, body["id"], "done", "1002", evidence="我做了")
    assert other.status == 403 and (await other.json())["code"] == "improvement.not_owner"
    assert "张三" not in (await other.json())["detail"] and "1001" in (await other.json())["detail"]
    by_manager = await _step(hall, body["id"], "done", "9002", evidence="经理代为报告")
    assert by_manager.status == 200


async def test_reopen_sends_it_back_with_the_reason_and_it_can_be_done_again(hall):
    body = await (await _open(hall)).json()
    await _step(hall, body["id"], "done", "1001", evidence="已加座")
    no_reason = await _step(hall, body["id"], "reopen", "9002")
    assert no_reason.status == 400 and (await no_reason.json())["field"] == "reason"
    back = await (await _step(hall, body["id"], "reopen", "9002", reason="备用等候区未开放")).json()
    assert back["state"] == "open" and back["done_at"] is None and back["evidence"] == "已加座"
    again = await _step(hall, body["id"], "done", "1001", evidence="备用等候区已于高峰开放")
    assert (await again.json())["state"] == "done"
    assert [s["action"] for s in (await again.json())["steps"]] == ["open", "done", "reopen", "done"]


async def test_steps_out_of_order_are_refused_in_chinese_and_change_nothing(hall):
    body = await (await _open(hall)).json()
    early = await _step(hall, body["id"], "verify", "9002")
    problem = await early.json()
    assert early.status == 409 and problem["code"] == "improvement.bad_step"
    assert "整改中" in problem["detail"] and "验证通过" in problem["detail"]
    assert len(await _ledger(hall)) == 1


async def test_overdue_after_the_end_of_the_due_day_and_listed_first(hall):
    late = await (await _open(hall, due="2026-12-01")).json()  # Tuesday
    later = await (await _open(hall, due="2026-12-20", problem="指引牌不清")).json()
    hall.clock.advance(86400 + 13 * 3600)  # Tuesday 23:00 in Hangzhou
    await _sign_in_again(hall, "9001")
    await _sign_in_again(hall, "1001")
    listed = (await (await hall.client.get(BASE, headers=hall.auth("9001"))).json())["improvements"]
    assert [i["overdue"] for i in listed] == [False, False]
    hall.clock.advance(2 * 3600)  # Wednesday 01:00
    listed = (await (await hall.client.get(BASE, headers=hall.auth("9001"))).json())["improvements"]
    assert [(i["id"], i["overdue"]) for i in listed] == [(late["id"], True), (later["id"], False)]
    only = (await (await hall.client.get(BASE + "?overdue=1", headers=hall.auth("9001"))).json())["improvements"]
    assert [i["id"] for i in only] == [late["id"]]
    await _step(hall, late["id"], "done", "1001", evidence="已整改")
    only = (await (await hall.client.get(BASE + "?overdue=1", headers=hall.auth("9001"))).json())["improvements"]
    assert only == []


async def test_a_clerk_lists_only_the_actions_they_own(hall):
    await _open(hall, owner="1001")
    await _open(hall, owner="1002", problem="窗口叫号声音太小")
    mine = (await (await hall.client.get(BASE, headers=hall.auth("1002"))).json())["improvements"]
    assert [i["problem"] for i in mine] == ["窗口叫号声音太小"]


async def test_pressing_open_twice_with_one_key_opens_one_action(hall):
    first = await _open(hall, key="open-1")
    second = await _open(hall, key="open-1")
    assert first.status == second.status == 201
    assert (await first.json())["id"] == (await second.json())["id"]
    assert len(await fetch(hall, "SELECT id FROM improvements")) == 1
    body = await first.json()
    d1 = await _step(hall, body["id"], "done", "1001", key="done-1", evidence="已整改")
    d2 = await _step(hall, body["id"], "done", "1001", key="done-1", evidence="已整改")
    assert d1.status == d2.status == 200
    assert [k for k, _, _ in await _ledger(hall)] == ["improvement_opened", "improvement_done"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"problem": "座位\x00不足"}, "problem"),
    ({"measure": None}, "measure"),
    ({"measure": "加" * 1001}, "measure"),
    ({"owner": "nobody"}, "owner"),
    ({"owner": "hs01"}, "owner"),  # another hall's clerk cannot own a gongshu action
    ({"due": "2026-11-29"}, "due"),  # before today
    ({"due": "2026-02-30"}, "due"),
    ({"due": "12/31/2026"}, "due"),
    ({"source_kind": "gossip"}, "source_kind"),
    ({"source_kind": "follow_up"}, "source_id"),
    ({"source_kind": "follow_up", "source_id": "fu_nonexistent"}, "source_id"),
    ({"cause": ["不", "是", "文字"]}, "cause"),
])
async def test_bad_input_is_refused_with_the_field_and_changes_nothing(hall, changes, field):
    resp = await _open(hall, **changes)
    problem = await resp.json()
    assert resp.status == 400, problem
    assert problem["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"]), problem["detail"]
    assert await fetch(hall, "SELECT id FROM improvements") == []
    assert await _ledger(hall) == []


async def test_an_action_opened_from_a_follow_up_names_it(hall):
    ticket = await hall.issue("A")
    for action in ("open", "call-next", "start", "finish"):
        await hall.act(1, action, by="1001")
    rated = await hall.client.post("/api/v1/halls/gongshu/windows/1/rating", headers=hall.auth("E01"),
                                   json={"number": ticket["number"], "level": "dissatisfied", "labels": ["服务态度不好"]})
    follow_up = (await rated.json())["follow_up"]["id"]
    resp = await _open(hall, source_kind="follow_up", source_id=follow_up, problem="服务态度生硬",
                       measure="开展文明用语培训")
    body = await resp.json()
    assert resp.status == 201, body
    assert body["source_kind"] == "follow_up" and body["source_id"] == follow_up and body["source_zh"] == "差评回访"


async def test_another_halls_manager_cannot_see_or_touch_the_action(hall):
    body = await (await _open(hall)).json()
    listed = await hall.client.get(BASE, headers=hall.auth("hs09"))
    assert listed.status == 403
    step = await _step(hall, body["id"], "done", "hs09", evidence="x")
    assert step.status == 403
    theirs = await hall.client.post(f"/api/v1/halls/hushu/improvements/{body['id']}/done",
                                    json={"evidence": "x"}, headers=hall.auth("hs09"))
    assert theirs.status == 404


def _pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
                          ).stdout.decode("utf-8")


async def test_the_monthly_report_lists_the_months_actions_as_the_month_ended(hall):
    seats = await (await _open(hall, due="2026-11-30")).json()
    await (await _open(hall, problem="叫号声音太小", measure="调高音量", owner="1002", due="2026-12-10")).json()
    await _step(hall, seats["id"], "done", "1001", evidence="已加座")
    hall.clock.advance(2 * 86400)  # December: verified after the month ended
    await _sign_in_again(hall, "9002")
    await _step(hall, seats["id"], "verify", "9002")
    await _sign_in_again(hall, "9001")
    pdf = await hall.client.get("/api/v1/reports/monthly.pdf?scope=hall:gongshu&month=2026-11",
                                headers=hall.auth("9001"))
    assert pdf.status == 200, await pdf.text()
    text = _pdf_text(await pdf.read())
    section = text[text.index("六、整改事项"):text.index("七、账本锚定")]
    assert "等候区座位不足" in section and "叫号声音太小" in section
    assert "待验证" in section, "verified in December: at the end of November it awaited verification"
    assert "已验证" not in section
    assert "共 2 项，其中未验证 2 项，逾期 0 项" in section.replace("\n", "")
