"""Window actions: open, close, pause, resume, call-next, call, recall, start, finish, miss,
transfer, suspend; their refusals, authorisation and idempotent retries."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.checks import expect_problem, fetch, ledger, ok, post, tables

ACTIONS = (
    "open",
    "close",
    "pause",
    "resume",
    "call-next",
    "call",
    "recall",
    "start",
    "finish",
    "miss",
    "transfer",
    "suspend",
)


def path(window: int | str, action: str, hall: str = "gongshu") -> str:
    return f"/api/v1/halls/{hall}/windows/{window}/{action}"


async def serving(h, service: str = "A", window: int = 1) -> None:
    """A ticket of `service` is being served at `window`."""
    await h.issue(service)
    await h.act(window, "open")
    await h.act(window, "call-next")
    await h.act(window, "start")


async def ticket_statuses(h) -> dict[str, str]:
    rows = await fetch(h, "SELECT prefix, seq, status FROM tickets")
    return {f"{r['prefix']}{r['seq']:03d}": r["status"] for r in rows}


# ---- open, close, pause, resume ---------------------------------------------------------


async def test_open_signs_the_staff_member_in_at_the_window(hall):
    body = await hall.act(1, "open")
    window = body["window"]
    assert window["state"] == "open"
    assert window["staff"]["id"] == "1001" and window["staff"]["name"] == "张三"
    row = (
        await fetch(hall, "SELECT status, staff_id FROM windows WHERE hall='gongshu' AND number=1")
    )[0]
    assert tuple(row) == ("open", "1001")


async def test_open_of_an_open_window_is_409_naming_its_state(hall):
    await hall.act(1, "open")
    before = await tables(hall)
    body = await hall.act(1, "open", expect=409)
    assert body["state"] == "open"
    assert await tables(hall) == before


async def test_one_staff_member_cannot_open_two_windows(hall):
    await hall.act(1, "open")
    body = await hall.act(2, "open", expect=409)
    assert body["code"] == "window.staff_elsewhere" and "1 号窗口" in body["detail"]


async def test_open_as_a_stand_in(hall):
    body = await hall.act(1, "open", stand_in_for="1002")
    assert body["window"]["staff"]["stand_in"] is True
    assert body["window"]["staff"]["stand_in_for"] == "1002"


async def test_close_signs_out_of_the_window(hall):
    await hall.act(1, "open")
    body = await hall.act(1, "close")
    assert body["window"]["state"] == "closed" and body["window"]["staff"] is None


async def test_close_of_a_closed_window_is_409(hall):
    body = await hall.act(1, "close", expect=409)
    assert body["state"] == "closed"


async def test_close_while_serving_is_409_naming_the_ticket(hall):
    await serving(hall)
    body = await hall.act(1, "close", expect=409)
    assert body["state"] == "serving" and "A001" in body["detail"]


async def test_pause_with_a_reason_then_resume(hall):
    await hall.act(1, "open")
    paused = await hall.act(1, "pause", reason="午休")
    assert paused["window"]["state"] == "paused" and paused["window"]["pause_reason"] == "午休"
    resumed = await hall.act(1, "resume")
    assert resumed["window"]["state"] == "open" and resumed["window"]["pause_reason"] is None


async def test_pause_without_a_reason_is_400_naming_the_field(hall):
    await hall.act(1, "open")
    body = await hall.act(1, "pause", expect=400)
    assert body["field"] == "reason"


async def test_pause_with_a_reason_of_the_wrong_type_is_400_naming_the_field(hall):
    await hall.act(1, "open")
    body = await hall.act(1, "pause", expect=400, reason=["午休"])
    assert body["field"] == "reason"


async def test_pause_of_a_closed_window_is_409(hall):
    body = await hall.act(1, "pause", expect=409, reason="午休")
    assert body["state"] == "closed"


async def test_resume_of_an_open_window_is_409_naming_its_state(hall):
    await hall.act(1, "open")
    body = await hall.act(1, "resume", expect=409)
    assert body["state"] == "open"


# ---- calling ----------------------------------------------------------------------------


async def test_call_next_on_an_empty_queue_answers_200_with_no_ticket(hall):
    await hall.act(1, "open")
    seq_before = (await ledger(hall))[-1]["seq"]
    body = await hall.act(1, "call-next")
    assert body["ticket"] is None
    assert (await ledger(hall))[-1]["seq"] == seq_before


async def test_call_next_skips_services_the_window_does_not_offer(hall):
    await hall.issue("C")
    await hall.issue("A")
    await hall.act(1, "open")
    body = await hall.act(1, "call-next")
    assert body["ticket"]["number"] == "A001"
    assert body["window"]["current"]["number"] == "A001"


async def test_call_next_while_a_ticket_is_called_is_409_naming_its_state(hall):
    await hall.issue("A")
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    before = await tables(hall)
    body = await hall.act(1, "call-next", expect=409)
    assert body["state"] == "called" and body["ticket"] == "A001"
    assert await tables(hall) == before


async def test_call_next_while_serving_is_409_naming_its_state(hall):
    await serving(hall)
    await hall.issue("A")
    body = await hall.act(1, "call-next", expect=409)
    assert body["state"] == "serving"


async def test_call_next_at_a_closed_window_is_409(hall):
    await hall.issue("A")
    body = await hall.act(1, "call-next", expect=409)
    assert body["state"] == "closed"


async def test_call_next_at_a_paused_window_is_409_with_the_reason(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "pause", reason="业务培训")
    body = await hall.act(1, "call-next", expect=409)
    assert body["state"] == "paused" and "业务培训" in body["detail"]


async def test_call_a_specific_number_out_of_order_with_a_reason(hall):
    await hall.issue("A")
    await hall.issue("A")
    await hall.act(1, "open")
    body = await hall.act(1, "call", number="A002", reason="预约核验")
    assert body["ticket"]["number"] == "A002" and body["ticket"]["status"] == "called"
    event = (await ledger(hall))[-1]
    assert event["kind"] == "ticket_called" and event["payload"]["reason"] == "预约核验"


async def test_call_without_a_reason_is_400(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    body = await hall.act(1, "call", expect=400, number="A001")
    assert body["field"] == "reason"


async def test_call_with_a_malformed_number_is_400(hall):
    await hall.act(1, "open")
    body = await hall.act(1, "call", expect=400, number="first", reason="x")
    assert body["field"] == "number"


async def test_call_with_a_number_of_the_wrong_type_is_400(hall):
    await hall.act(1, "open")
    body = await hall.act(1, "call", expect=400, number=1, reason="x")
    assert body["field"] == "number"


async def test_call_of_an_unknown_number_is_404(hall):
    await hall.act(1, "open")
    body = await hall.act(1, "call", expect=404, number="A077", reason="x")
    assert "A077" in body["detail"]


async def test_call_while_serving_is_409(hall):
    await serving(hall)
    await hall.issue("A")
    body = await hall.act(1, "call", expect=409, number="A002", reason="x")
    assert body["state"] == "serving"
    assert (await ticket_statuses(hall))["A002"] == "waiting"


async def test_call_of_a_service_the_window_does_not_offer_is_409(hall):
    await hall.issue("C")
    await hall.act(1, "open")
    body = await hall.act(1, "call", expect=409, number="C001", reason="x")
    assert body["code"] == "window.service_not_offered" and "不办理业务 C" in body["detail"]


async def test_recall_after_the_minimum_interval_counts_the_call(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    hall.clock.advance(30)
    body = await hall.act(1, "recall")
    assert body["ticket"]["calls"] == 2
    assert (await ledger(hall))[-1]["kind"] == "ticket_recalled"


async def test_recall_before_the_minimum_interval_is_409_and_changes_nothing(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    hall.clock.advance(10)
    before = await tables(hall)
    body = await hall.act(1, "recall", expect=409)
    assert body["state"] == "called"
    assert body["code"] == "ticket.recall_too_soon" and "30 秒" in body["detail"] and body["retry_in_seconds"] == 20
    assert await tables(hall) == before


async def test_recall_beyond_the_call_limit_is_409(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    for _ in range(2):
        hall.clock.advance(30)
        await hall.act(1, "recall")
    hall.clock.advance(30)
    body = await hall.act(1, "recall", expect=409)
    assert body["code"] == "ticket.recall_limit" and "上限" in body["detail"]


async def test_recall_of_a_serving_ticket_is_409_naming_its_state(hall):
    await serving(hall)
    hall.clock.advance(60)
    body = await hall.act(1, "recall", expect=409)
    assert body["state"] == "serving"


async def test_recall_of_a_finished_ticket_is_409(hall):
    await serving(hall)
    await hall.act(1, "finish")
    hall.clock.advance(60)
    before = await tables(hall)
    body = await hall.act(1, "recall", expect=409)
    assert body["state"]
    assert await tables(hall) == before


# ---- serving ----------------------------------------------------------------------------


async def test_start_then_finish_completes_the_ticket(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    started = await hall.act(1, "start")
    assert started["ticket"]["status"] == "serving"
    finished = await hall.act(1, "finish")
    assert finished["ticket"]["status"] == "finished"
    assert finished["window"]["current"] is None
    row = (await fetch(hall, "SELECT status, staff_id, finished_at FROM tickets"))[0]
    assert (
        row["status"] == "finished" and row["staff_id"] == "1001" and row["finished_at"] is not None
    )


async def test_finish_of_a_ticket_never_started_is_409_naming_its_state(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    before = await tables(hall)
    resp = await post(hall, path(1, "finish"))
    body = await expect_problem(resp, 409, detail_has="已叫号", code="ticket.not_serving")
    assert body["state"] == "called"
    assert await tables(hall) == before


async def test_start_with_no_ticket_at_the_window_is_409(hall):
    await hall.act(1, "open")
    body = await hall.act(1, "start", expect=409)
    assert body["state"] == "idle"


async def test_miss_after_the_allowed_calls_marks_the_ticket_missed(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    for _ in range(2):
        hall.clock.advance(30)
        await hall.act(1, "recall")
    body = await hall.act(1, "miss")
    assert body["ticket"]["status"] == "missed"
    assert body["window"]["current"] is None


async def test_miss_before_the_allowed_calls_is_409(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    body = await hall.act(1, "miss", expect=409)
    assert body["state"] == "called" and body["code"] == "ticket.miss_too_early" and "重呼" in body["detail"]


async def test_transfer_to_another_service_keeps_the_ticket_waiting(hall):
    await serving(hall)
    body = await hall.act(1, "transfer", service="B", reason="需办理变更")
    assert body["ticket"]["status"] == "waiting" and body["ticket"]["service"] == "B"
    assert body["ticket"]["number"] == "A001"
    event = (await ledger(hall))[-1]
    assert event["kind"] == "ticket_transferred" and event["payload"]["to_service"] == "B"


async def test_transfer_to_another_window(hall):
    await serving(hall)
    body = await ok(
        await post(hall, path(1, "transfer"), json_body={"window": 3, "reason": "转专窗"})
    )
    assert body["ticket"]["status"] == "waiting"
    assert (await ledger(hall))[-1]["payload"]["to_window"] == 3


async def test_transfer_needs_exactly_one_destination(hall):
    await serving(hall)
    await hall.act(1, "transfer", expect=400, reason="x")
    resp = await post(
        hall, path(1, "transfer"), json_body={"service": "B", "window": 3, "reason": "x"}
    )
    await expect_problem(resp, 400)
    assert (await ticket_statuses(hall))["A001"] == "serving"


async def test_transfer_without_a_reason_is_400(hall):
    await serving(hall)
    body = await hall.act(1, "transfer", expect=400, service="B")
    assert body["field"] == "reason"


async def test_transfer_with_a_window_of_the_wrong_type_is_400(hall):
    await serving(hall)
    resp = await post(hall, path(1, "transfer"), json_body={"window": "3", "reason": "x"})
    await expect_problem(resp, 400, field="window")


async def test_transfer_to_an_unknown_service_is_404(hall):
    await serving(hall)
    body = await hall.act(1, "transfer", expect=404, service="Z", reason="x")
    assert "'Z'" in body["detail"]
    assert (await ticket_statuses(hall))["A001"] == "serving"


async def test_transfer_to_an_unknown_window_is_404(hall):
    await serving(hall)
    resp = await post(hall, path(1, "transfer"), json_body={"window": 99, "reason": "x"})
    await expect_problem(resp, 404, detail_has="99")
    assert (await ticket_statuses(hall))["A001"] == "serving"


async def test_transfer_with_no_ticket_is_409(hall):
    await hall.act(1, "open")
    await hall.act(1, "transfer", expect=409, service="B", reason="x")


async def test_suspend_sets_the_ticket_aside(hall):
    await serving(hall)
    body = await hall.act(1, "suspend", reason="缺少材料")
    assert body["ticket"]["status"] == "suspended"
    assert body["window"]["current"] is None


async def test_suspend_without_a_reason_is_400(hall):
    await serving(hall)
    body = await hall.act(1, "suspend", expect=400)
    assert body["field"] == "reason"


async def test_suspend_with_no_ticket_is_409(hall):
    await hall.act(1, "open")
    await hall.act(1, "suspend", expect=409, reason="x")


# ---- errors common to every action ------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
async def test_every_action_needs_a_token(hall, action):
    await expect_problem(await post(hall, path(1, action), by=None), 401)


@pytest.mark.parametrize("action", ACTIONS)
async def test_every_action_refuses_a_device_token(hall, action):
    await expect_problem(await post(hall, path(1, action), by="K01"), 403)


async def test_an_invalid_token_is_401(hall):
    resp = await hall.client.post(path(1, "open"), headers={"Authorization": "Bearer hqs_forged"})
    await expect_problem(resp, 401)
    resp = await hall.client.post(path(1, "open"), headers={"Authorization": "Basic dXNlcjpwdw=="})
    await expect_problem(resp, 401)


async def test_staff_of_another_hall_is_403_and_changes_nothing(hall):
    await hall.add_staff("2001", hall="hushu", name="李四")
    before = await tables(hall)
    resp = await post(hall, path(1, "open"), by="2001")
    await expect_problem(resp, 403, detail_has="hushu")
    assert await tables(hall) == before


async def test_a_manager_of_the_hall_may_act_at_a_window(hall):
    await hall.add_staff("9001", role="manager", name="王经理")
    assert (await hall.act(2, "open", by="9001"))["window"]["staff"]["id"] == "9001"


async def test_an_admin_of_every_hall_may_act_in_any_hall(hall):
    await hall.add_staff("admin2", hall=None, role="admin", name="管理员")
    assert (await hall.act(1, "open", by="admin2", hall="hushu"))["window"]["state"] == "open"


async def test_an_unknown_hall_is_404(hall):
    await expect_problem(
        await post(hall, path(1, "open", hall="nowhere")), 404, detail_has="nowhere"
    )


async def test_an_unknown_window_is_404(hall):
    await expect_problem(await post(hall, path(99, "open")), 404, detail_has="99")


async def test_a_window_that_is_not_a_number_is_400(hall):
    await expect_problem(await post(hall, path("first", "open")), 400, field="window")


async def test_an_unknown_action_is_404(hall):
    await expect_problem(await post(hall, path(1, "dance")), 404, detail_has="dance")


async def test_malformed_json_is_400(hall):
    await hall.act(1, "open")
    resp = await post(hall, path(1, "pause"), data="{reason: 午休}")
    await expect_problem(resp, 400, detail_has="JSON")


# ---- idempotent retries -----------------------------------------------------------------


async def test_a_retried_call_next_with_the_same_key_does_not_skip_a_ticket(hall):
    for _ in range(2):
        await hall.issue("A")
    await hall.act(1, "open")
    first = await ok(await post(hall, path(1, "call-next"), key="w1-click-1"))
    seq = (await ledger(hall))[-1]["seq"]
    again = await ok(await post(hall, path(1, "call-next"), key="w1-click-1"))
    assert again == first
    assert first["ticket"]["number"] == "A001"
    assert (await ledger(hall))[-1]["seq"] == seq
    assert await ticket_statuses(hall) == {"A001": "called", "A002": "waiting"}


async def test_a_double_clicked_call_next_calls_one_ticket(hall):
    """Both clicks in flight at once, one key: one call, the same answer to both."""
    for _ in range(3):
        await hall.issue("A")
    await hall.act(1, "open")
    responses = await asyncio.gather(
        *(post(hall, path(1, "call-next"), key="dbl") for _ in range(2))
    )
    bodies = [await ok(r) for r in responses]
    assert bodies[0] == bodies[1] and bodies[0]["ticket"]["number"] == "A001"
    assert await ticket_statuses(hall) == {"A001": "called", "A002": "waiting", "A003": "waiting"}
    calls = [e for e in await ledger(hall) if e["kind"] == "ticket_called"]
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("action", "body"),
    [("open", None), ("pause", {"reason": "午休"}), ("resume", None), ("close", None)],
)
async def test_retried_window_actions_with_a_key_change_nothing(hall, action, body):
    if action != "open":
        await hall.act(1, "open")
    if action == "resume":
        await hall.act(1, "pause", reason="午休")
    first = await ok(await post(hall, path(1, action), key=f"k-{action}", json_body=body))
    before = await tables(hall)
    again = await ok(await post(hall, path(1, action), key=f"k-{action}", json_body=body))
    assert again == first
    assert await tables(hall) == before


async def test_retried_finish_with_the_same_key_answers_the_first_result(hall):
    await serving(hall)
    first = await ok(await post(hall, path(1, "finish"), key="fin-1"))
    again = await ok(await post(hall, path(1, "finish"), key="fin-1"))
    assert again == first and first["ticket"]["status"] == "finished"


async def test_same_key_for_another_action_is_refused_and_changes_nothing(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await ok(await post(hall, path(1, "call-next"), key="k-7"))
    before = await tables(hall)
    resp = await post(hall, path(1, "recall"), key="k-7")
    assert 400 <= resp.status < 500
    await expect_problem(resp, resp.status, field="Idempotency-Key")
    assert await tables(hall) == before


async def test_same_key_with_another_body_is_refused(hall):
    await hall.act(1, "open")
    await ok(await post(hall, path(1, "pause"), key="k-p", json_body={"reason": "午休"}))
    resp = await post(hall, path(1, "pause"), key="k-p", json_body={"reason": "业务培训"})
    assert 400 <= resp.status < 500
    await expect_problem(resp, resp.status, field="Idempotency-Key")


async def test_a_refused_action_is_not_remembered_under_its_key(hall):
    """A key whose first use was refused may be used again once the action is possible."""
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    resp = await post(hall, path(1, "finish"), key="k-f")
    await expect_problem(resp, 409)
    assert await fetch(hall, "SELECT 1 FROM idempotency WHERE key = 'k-f'") == []
    await hall.act(1, "start")
    body = await ok(await post(hall, path(1, "finish"), key="k-f"))
    assert body["ticket"]["status"] == "finished"
