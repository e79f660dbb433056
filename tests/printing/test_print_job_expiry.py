"""Stale print jobs: a job not printed within [printing] job_ttl_seconds expires (once, in the
ledger, whoever sweeps), a job whose ticket no longer waits is never printed, and a print
job's state is readable only by its kiosk, its printer and the hall's staff."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from queue_server.main import create_app, verify_hall
from queue_server.web.keys import PRINTS
from tests.support.hall import FAST_HASHER, start_hall


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_device("P01", role="printer", kiosk="K01")
        await h.add_staff("1001", name="张三")
        yield h


async def _printer(hall):
    return await hall.client.ws_connect("/ws/v1/printer", headers=hall.auth("P01"), protocols=("queue.v1",))


async def _next_job(ws, within=5.0):
    while True:
        msg = await asyncio.wait_for(ws.receive(), within)
        data = json.loads(msg.data)
        if data["type"] == "print_job":
            return data["job"]


async def _job(hall, job_id, who="K01"):
    resp = await hall.client.get(f"/api/v1/print-jobs/{job_id}", headers=hall.auth(who))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _events(hall, kind):
    resp = await hall.client.get("/api/v1/halls/gongshu/events?limit=1000", headers=hall.auth("1001"))
    return [e for e in (await resp.json())["events"] if e["kind"] == kind]


async def _first_job_sent_after_connecting(hall):
    """Connect the printer and issue a fresh ticket: jobs go oldest first, so the first job the
    printer gets is a stale one if any stale job were still sent, else the fresh ticket's."""
    ws = await _printer(hall)
    try:
        fresh = await hall.issue("A", by="K01")
        first = await _next_job(ws)
        return first["id"], fresh["print_job"]["id"]
    finally:
        await ws.close()


async def test_a_stale_job_expires_once_even_when_two_server_processes_sweep_at_once(hall):
    second = TestClient(TestServer(create_app(
        hall.config, dsn=hall.dsn, clock=hall.clock, redis_url="", password_hasher=FAST_HASHER)))
    await second.start_server()
    try:
        tickets = [await hall.issue(s, by="K01") for s in ("A", "B", "A")]
        hall.clock.advance(hall.config.printing.job_ttl_seconds + 1)
        one, two = hall.client.server.app[PRINTS], second.server.app[PRINTS]
        # Two processes, and two sweeps of the same process (they may share one batch).
        await asyncio.gather(one.expire_stale(), two.expire_stale(), one.expire_stale(), two.expire_stale())
        assert await one.expire_stale() == 0 and await two.expire_stale() == 0
    finally:
        await second.close()
    expired = await _events(hall, "print_job_expired")
    assert sorted(e["payload"]["job"] for e in expired) == sorted(t["print_job"]["id"] for t in tickets)
    assert {e["actor"]["id"] for e in expired} == {"printing"}
    for t in tickets:
        job = await _job(hall, t["print_job"]["id"])
        assert (job["status"], job["status_text"]) == ("expired", "已过期")
    sent, fresh = await _first_job_sent_after_connecting(hall)
    assert sent == fresh, "an expired job is never sent to a printer that connects afterwards"
    verified = await verify_hall(hall.client.server.app[PRINTS].pool, "gongshu")
    assert verified.ok, verified.line


async def test_a_job_past_its_ttl_is_not_sent_even_before_a_sweep_expires_it(hall):
    stale = await hall.issue("A", by="K01")
    hall.clock.advance(hall.config.printing.job_ttl_seconds + 1)
    sent, fresh = await _first_job_sent_after_connecting(hall)
    assert sent == fresh and sent != stale["print_job"]["id"]
    assert await hall.client.server.app[PRINTS].expire_stale() == 1
    assert [e["payload"]["job"] for e in await _events(hall, "print_job_expired")] == [stale["print_job"]["id"]]


async def test_a_job_whose_ticket_was_called_or_cancelled_before_printing_is_never_sent(hall):
    called = await hall.issue("A", by="K01")
    cancelled = await hall.issue("A", by="K01")
    await hall.act(1, "open")
    assert (await hall.act(1, "call-next"))["ticket"]["number"] == called["number"]
    resp = await hall.client.post(f"/api/v1/halls/gongshu/tickets/{cancelled['number']}/cancel",
                                  json={}, headers=hall.auth("1001"))
    assert resp.status == 200, await resp.text()
    sent, fresh = await _first_job_sent_after_connecting(hall)
    assert sent == fresh, "the jobs of tickets no longer waiting are not printed"
    for t in (called, cancelled):
        job = await _job(hall, t["print_job"]["id"])
        assert job["status"] == "cancelled" and job["error"] == "票号已不在等候中，不再打印"


async def test_a_job_sent_while_waiting_is_not_sent_again_once_its_ticket_is_called(hall):
    ws = await _printer(hall)
    try:
        ticket = await hall.issue("A", by="K01")
        job = await _next_job(ws)
        assert job["id"] == ticket["print_job"]["id"]
        await ws.send_json({"type": "job_result", "id": job["id"], "result": "failed", "error": "缺纸"})
        await hall.act(1, "open")
        await hall.act(1, "call-next")
        await ws.send_json({"type": "printer_status", "status": {"online": True}})  # ready: resend failed jobs
        for _ in range(100):
            view = await (await hall.client.get("/api/v1/halls/gongshu/kiosk", headers=hall.auth("K01"))).json()
            if view["printer"]["status"]:
                break
            await asyncio.sleep(0.05)
        fresh = await hall.issue("B", by="K01")
        assert (await _next_job(ws))["id"] == fresh["print_job"]["id"]
    finally:
        await ws.close()
    assert (await _job(hall, ticket["print_job"]["id"]))["status"] == "cancelled"


async def test_reprint_is_refused_for_a_ticket_no_longer_waiting_and_makes_a_new_job_for_a_waiting_one(hall):
    called = await hall.issue("A", by="K01")
    waiting = await hall.issue("A", by="K01")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    refused = await hall.client.post(f"/api/v1/halls/gongshu/tickets/{called['number']}/reprint",
                                     json={"kiosk": "K01"}, headers=hall.auth("1001"))
    assert refused.status == 409 and (await refused.json())["state"] == "called"
    hall.clock.advance(hall.config.printing.job_ttl_seconds + 1)
    await hall.client.server.app[PRINTS].expire_stale()
    resp = await hall.client.post(f"/api/v1/halls/gongshu/tickets/{waiting['number']}/reprint",
                                  json={"kiosk": "K01"}, headers=hall.auth("1001"))
    assert resp.status == 201, await resp.text()
    reprint = await resp.json()
    assert reprint["id"] != waiting["print_job"]["id"]
    ws = await _printer(hall)
    try:
        assert (await _next_job(ws))["id"] == reprint["id"], "the expired job stays expired; the reprint is new"
    finally:
        await ws.close()


async def test_a_print_job_is_readable_only_by_its_kiosk_its_printer_and_staff_of_its_hall(hall):
    await hall.add_device("K02", role="kiosk")
    await hall.add_device("D01", role="display")
    await hall.add_staff("9001", role="manager", name="王经理")
    await hall.add_staff("2001", hall="hushu", name="赵六")
    ticket = await hall.issue("A", by="K01")
    path = f"/api/v1/print-jobs/{ticket['print_job']['id']}"
    expected = {None: 401, "K02": 403, "D01": 403, "2001": 404,
                "K01": 200, "P01": 200, "1001": 200, "9001": 200}
    answers = {}
    for who in expected:
        resp = await hall.client.get(path, headers=hall.auth(who) if who else {})
        answers[who] = (resp.status, await resp.text())
    assert {who: status for who, (status, _) in answers.items()} == expected
    for who, (status, text) in answers.items():
        assert "status_url" not in text, who
        for secret in (ticket["status_url"], ticket.get("holder_secret")):
            assert not secret or secret not in text, f"{who} read the ticket holder's link"
        if status == 200:
            assert set(json.loads(text)) == {"id", "kiosk", "status", "status_text", "attempts", "error",
                                             "created_at", "finished_at", "reprint_of"}
