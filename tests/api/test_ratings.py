"""Ratings (好差评), their follow-ups, and who may act on which window."""

from __future__ import annotations

import pytest

from tests.support.hall import start_hall


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
        yield h


async def _served(hall, window=1, by="1001"):
    ticket = await hall.issue("A")
    await hall.act(window, "open", by=by)
    await hall.act(window, "call-next", by=by)
    await hall.act(window, "start", by=by)
    await hall.act(window, "finish", by=by)
    return ticket


async def _rate_tablet(hall, number, level="satisfied", by="E01", window=1, **extra):
    return await hall.client.post(f"/api/v1/halls/gongshu/windows/{window}/rating",
                                  json={"number": number, "level": level, **extra}, headers=hall.auth(by))


async def test_the_tablet_rates_the_finished_ticket_once(hall):
    t = await _served(hall)
    prompt = await (await hall.client.get("/api/v1/halls/gongshu/windows/1/rating-prompt", headers=hall.auth("E01"))).json()
    assert prompt["ticket"]["number"] == t["number"]
    resp = await _rate_tablet(hall, t["number"], dimensions={"attitude": "very_satisfied"})
    assert resp.status == 201, await resp.text()
    second = await _rate_tablet(hall, t["number"])
    assert second.status == 409
    phone = await hall.client.post(f"/api/v1/tickets/{t['holder_secret']}/rating", json={"level": "satisfied"})
    assert phone.status == 409, "one rating per ticket, whichever comes first"
    prompt = await (await hall.client.get("/api/v1/halls/gongshu/windows/1/rating-prompt", headers=hall.auth("E01"))).json()
    assert prompt["ticket"] is None


async def test_a_rating_after_the_time_window_is_refused(hall):
    t = await _served(hall)
    hall.clock.advance(11 * 60)
    resp = await hall.client.post(f"/api/v1/tickets/{t['holder_secret']}/rating", json={"level": "satisfied"})
    assert resp.status == 409
    assert "时限" in (await resp.json())["detail"]


async def test_a_ticket_not_finished_cannot_be_rated(hall):
    t = await hall.issue("A")
    resp = await hall.client.post(f"/api/v1/tickets/{t['holder_secret']}/rating", json={"level": "satisfied"})
    assert resp.status == 409


async def test_a_rating_is_never_defaulted(hall):
    t = await _served(hall)
    resp = await hall.client.post(f"/api/v1/tickets/{t['holder_secret']}/rating", json={})
    assert resp.status == 400 and (await resp.json())["field"] == "level"


async def test_staff_tokens_cannot_rate(hall):
    t = await _served(hall)
    resp = await hall.client.post(f"/api/v1/tickets/{t['holder_secret']}/rating", json={"level": "very_satisfied"},
                                  headers=hall.auth("1001"))
    assert resp.status == 403
    resp = await _rate_tablet(hall, t["number"], by="1001")
    assert resp.status == 403


async def test_a_tablet_rates_only_its_own_window(hall):
    t = await _served(hall)
    resp = await _rate_tablet(hall, t["number"], by="E02", window=1)
    assert resp.status == 403


async def test_a_bad_rating_needs_a_label_and_opens_a_follow_up_with_deadlines(hall):
    t = await _served(hall)
    missing = await _rate_tablet(hall, t["number"], level="dissatisfied")
    assert missing.status == 400 and (await missing.json())["field"] == "labels"
    resp = await _rate_tablet(hall, t["number"], level="dissatisfied", labels=["等候时间过长"])
    body = await resp.json()
    assert resp.status == 201, body
    assert body["follow_up"]["callback_due"].startswith("2026-12-01")
    assert body["follow_up"]["rectify_due"].startswith("2026-12-21")
    listed = await (await hall.client.get("/api/v1/halls/gongshu/follow-ups", headers=hall.auth("9001"))).json()
    [follow] = listed["follow_ups"]
    assert follow["owner"] == "9001" and follow["staff_id"] == "1001" and follow["labels"] == ["等候时间过长"]
    assert follow["status"] == "open" and not follow["overdue"]
    staff_list = await hall.client.get("/api/v1/halls/gongshu/follow-ups", headers=hall.auth("1001"))
    assert staff_list.status == 403


async def test_an_overdue_follow_up_is_flagged_and_managers_move_it_on(hall):
    t = await _served(hall)
    await _rate_tablet(hall, t["number"], level="very_dissatisfied", labels=["服务态度不好"])
    hall.clock.advance(2 * 24 * 3600)
    login = await hall.client.post("/api/v1/auth/login", json={"staff_id": "9001", "password": "secret-pass-1"})
    hall.tokens["9001"] = (await login.json())["token"]  # a sign-in lasts a working day
    overdue = await (await hall.client.get("/api/v1/halls/gongshu/follow-ups?overdue=1", headers=hall.auth("9001"))).json()
    [follow] = overdue["follow_ups"]
    assert follow["callback_overdue"]
    steps = (("call_back", "called_back", {"method": "phone", "result": "已致歉，群众表示理解"}),
             ("rectify", "rectified", {"measures": "窗口人员服务礼仪再培训"}), ("close", "closed", {}))
    for action, status, fields in steps:
        resp = await hall.client.post(f"/api/v1/halls/gongshu/follow-ups/{follow['id']}",
                                      json={"action": action, "note": "已处理", **fields}, headers=hall.auth("9001"))
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["status"] == status
    again = await hall.client.post(f"/api/v1/halls/gongshu/follow-ups/{follow['id']}",
                                   json={"action": "call_back", "method": "phone", "result": "再次回访"},
                                   headers=hall.auth("9001"))
    assert again.status == 409
    kinds = [e["kind"] for e in (await (await hall.client.get(
        "/api/v1/halls/gongshu/events?limit=1000", headers=hall.auth("9001"))).json())["events"]]
    assert kinds.count("follow_up_updated") == 3 and "follow_up_opened" in kinds and "ticket_rated" in kinds


async def test_the_citizen_adds_one_follow_up_rating(hall):
    t = await _served(hall)
    rated = await hall.client.post(f"/api/v1/tickets/{t['holder_secret']}/rating", json={"level": "dissatisfied", "labels": ["其他"]})
    follow_id = (await rated.json())["follow_up"]["id"]
    early = await hall.client.post(f"/api/v1/tickets/{t['holder_secret']}/follow-up-rating", json={"level": "satisfied"})
    assert early.status == 409, "the follow-up rating opens after the call-back"
    await hall.client.post(f"/api/v1/halls/gongshu/follow-ups/{follow_id}",
                           json={"action": "call_back", "method": "phone", "result": "已回访"},
                           headers=hall.auth("9001"))
    first = await hall.client.post(f"/api/v1/tickets/{t['holder_secret']}/follow-up-rating", json={"level": "satisfied"})
    assert first.status == 201
    second = await hall.client.post(f"/api/v1/tickets/{t['holder_secret']}/follow-up-rating", json={"level": "satisfied"})
    assert second.status == 409


async def test_the_rating_is_in_the_ledger_with_window_and_staff(hall):
    t = await _served(hall)
    await _rate_tablet(hall, t["number"], level="very_satisfied")
    events = (await (await hall.client.get("/api/v1/halls/gongshu/events", headers=hall.auth("1001"))).json())["events"]
    rated = [e for e in events if e["kind"] == "ticket_rated"]
    assert rated and rated[0]["ticket"] == t["number"] and rated[0]["window"] == 1
    assert rated[0]["payload"]["staff_id"] == "1001" and rated[0]["actor"]["id"] == "E01"
    status = await (await hall.client.get(f"/api/v1/tickets/{t['holder_secret']}")).json()
    assert status["rating"]["rated"] and status["rating"]["level"] == "very_satisfied"


async def test_staff_act_only_on_the_window_they_are_signed_in_to(hall):
    await hall.issue("A")
    await hall.act(1, "open", by="1001")
    await hall.act(1, "call-next", by="1002", expect=403)
    await hall.act(2, "open", by="1002")
    await hall.act(1, "call-next", by="1001")


async def test_a_manager_may_act_on_any_window_and_is_logged_as_manager(hall):
    await hall.issue("A")
    await hall.act(1, "open", by="1001")
    await hall.act(1, "call-next", by="9001")
    events = (await (await hall.client.get("/api/v1/halls/gongshu/events", headers=hall.auth("9001"))).json())["events"]
    called = [e for e in events if e["kind"] == "ticket_called"][0]
    assert called["actor"]["id"] == "9001" and called["actor"]["role"] == "manager"


async def test_staff_of_another_hall_are_refused(hall):
    resp = await hall.client.post("/api/v1/halls/gongshu/windows/1/open", json={}, headers=hall.auth("hs01"))
    assert resp.status == 403


async def test_the_window_queue_lists_waiting_tickets_in_call_order(hall):
    a = await hall.issue("A")
    b = await hall.issue("B")
    await hall.act(1, "open", by="1001")
    view = await (await hall.client.get("/api/v1/halls/gongshu/windows/1/queue", headers=hall.auth("1001"))).json()
    assert [t["number"] for t in view["waiting"]][:2] == [a["number"], b["number"]]
    await hall.act(1, "call-next", by="1001")
    view = await (await hall.client.get("/api/v1/halls/gongshu/windows/1/queue", headers=hall.auth("1001"))).json()
    assert view["current"]["number"] == a["number"] and view["recall_available_at"] is not None


async def test_many_failed_sign_ins_from_one_address_are_slowed_but_a_correct_password_gets_in(hall):
    for i in range(20):
        resp = await hall.client.post("/api/v1/auth/login", json={"staff_id": f"x{i}", "password": "wrong"})
        assert resp.status == 401
    resp = await hall.client.post("/api/v1/auth/login", json={"staff_id": "x99", "password": "wrong"})
    assert resp.status == 429 and "Retry-After" in resp.headers
    resp = await hall.client.post("/api/v1/auth/login", json={"staff_id": "1001", "password": "secret-pass-1"})
    assert resp.status == 200


@pytest.mark.parametrize("body, field, code", [
    ({"action": "call_back", "note": "已回访\u0000"}, "note", None),
    ({"action": {"nested": ["call_back"]}}, "action", None),
    ({"action": "delete"}, "action", "input.bad_choice"),
    ({"action": "call_back", "note": 10 ** 30}, "note", None),
    ({}, "action", None),
])
async def test_a_malformed_follow_up_step_is_a_400_naming_its_field_and_changes_nothing(hall, body, field, code):
    t = await _served(hall)
    rated = await hall.client.post(f"/api/v1/tickets/{t['holder_secret']}/rating",
                                   json={"level": "dissatisfied", "labels": ["其他"]})
    follow_id = (await rated.json())["follow_up"]["id"]
    resp = await hall.client.post(f"/api/v1/halls/gongshu/follow-ups/{follow_id}", json=body,
                                  headers=hall.auth("9001"))
    problem = await resp.json()
    assert resp.status == 400, problem
    assert problem["field"] == field and problem["code"].startswith("input.")
    if code is not None:
        assert problem["code"] == code
    listed = await (await hall.client.get("/api/v1/halls/gongshu/follow-ups", headers=hall.auth("9001"))).json()
    [follow] = listed["follow_ups"]
    assert follow["status"] == "open" and follow["notes"] == []
