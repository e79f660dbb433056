"""导服台 (guide desk) over the API: a ticket issued for someone with a priority and its reason,
any of today's tickets looked up by number (GET /api/v1/halls/{hall}/tickets/{number}) with the
actions its state allows, restore and cancel, and a reprint that a double press prints once."""

from __future__ import annotations

import asyncio

from tests.api.checks import expect_problem, fetch, ledger, ok, post

TICKETS = "/api/v1/halls/gongshu/tickets"


async def _look_up(hall, number: str, who: str = "1001") -> dict:
    return await ok(await hall.client.get(f"{TICKETS}/{number}", headers=hall.auth(who)))


async def test_the_desk_issues_a_green_channel_ticket_and_looks_it_up_by_number(hall):
    issued = await ok(await post(hall, TICKETS, by="1001", key="desk-1", json_body={
        "service": "A", "channel": "guide", "priority": "green", "priority_reason": "陪同重症家属"}), 201)
    found = await _look_up(hall, issued["number"].lower())  # a001 is A001
    assert found["number"] == issued["number"] and found["status_zh"] == "等候中"
    assert found["priority"] == "green" and found["priority_reason"] == "陪同重症家属" and found["channel"] == "guide"
    assert found["may"] == {"restore": False, "cancel": True, "reprint": True} and found["ahead"] == 0
    assert "holder_secret" not in found and "id" not in found
    # The green channel needs its reason, and only staff may grant it.
    resp = await post(hall, TICKETS, by="1001", json_body={"service": "A", "channel": "guide", "priority": "green"})
    await expect_problem(resp, 400, detail_has="优先理由")
    event = next(e for e in await ledger(hall) if e["kind"] == "ticket_issued")
    assert event["actor"]["id"] == "1001"


async def test_looking_up_a_bad_or_unknown_number_is_400_or_404_in_chinese(hall):
    await expect_problem(await hall.client.get(f"{TICKETS}/A0-1", headers=hall.auth("1001")), 400,
                         field="number", detail_has="不是字母加数字")
    await expect_problem(await hall.client.get(f"{TICKETS}/Z999", headers=hall.auth("1001")), 404,
                         detail_has="今日")
    await expect_problem(await hall.client.get(f"{TICKETS}/A001"), 401)
    await expect_problem(await hall.client.get(f"{TICKETS}/A001", headers=hall.auth("K01")), 403)


async def test_a_missed_ticket_is_restored_once_and_a_cancel_needs_its_state(hall):
    missed = await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    for _ in range(2):
        hall.clock.advance(31)
        await hall.act(1, "recall")
    hall.clock.advance(31)
    await hall.act(1, "miss")
    found = await _look_up(hall, missed["number"])
    assert found["status"] == "missed" and found["may"]["restore"] and not found["may"]["reprint"]
    path = f"{TICKETS}/{missed['number']}/restore"
    first, second = await asyncio.gather(*(post(hall, path, by="1001", key="r-1", json_body={}) for _ in range(2)))
    assert (await ok(first)) == (await ok(second))
    assert (await _look_up(hall, missed["number"]))["status"] == "waiting"
    kinds = [e["kind"] for e in await ledger(hall)]
    assert kinds.count("ticket_restored") == 1
    await ok(await post(hall, f"{TICKETS}/{missed['number']}/cancel", by="1001", json_body={"reason": "群众放弃办理"}))
    after = await _look_up(hall, missed["number"])
    assert after["status_zh"] == "已取消" and after["may"] == {"restore": False, "cancel": False, "reprint": False}
    await expect_problem(await post(hall, path, by="1001", json_body={}), 409)


async def test_a_reprint_pressed_twice_with_one_key_prints_once(hall):
    await hall.add_device("P01", role="printer", kiosk="K01")
    ticket = await hall.issue("A")
    path = f"{TICKETS}/{ticket['number']}/reprint"
    first, second = await asyncio.gather(*(post(hall, path, by="1001", key="rp-1", json_body={"kiosk": "K01"})
                                           for _ in range(2)))
    job = await ok(first, 201)
    assert job == await ok(second, 201)
    jobs = await fetch(hall, "SELECT id FROM print_jobs WHERE ticket_id = $1 ORDER BY created_at", ticket["id"])
    assert len(jobs) == 2 and jobs[1]["id"] == job["id"], "the kiosk's own print, then one reprint"
    reprinted = [e for e in await ledger(hall) if e["kind"] == "ticket_reprinted"]
    assert len(reprinted) == 1 and reprinted[0]["actor"]["id"] == "1001"
    await expect_problem(await post(hall, path, by="1001", json_body={"kiosk": "K09"}), 404)
    await expect_problem(await post(hall, path, by="1001", json_body={"kiosk": "K01"}, key="bad key"), 400,
                         field="Idempotency-Key")
