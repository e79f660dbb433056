"""Print jobs on the server: created with the ticket, delivered to the kiosk's printer, kept until printed."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.support.hall import start_hall


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_device("P01", role="printer", kiosk="K01")
        await h.add_staff("1001", name="张三")
        yield h


async def _printer(hall):
    return await hall.client.ws_connect(f"/ws/v1/printer?token={hall.tokens['P01']}", protocols=("queue.v1",))


async def _next_job(ws, within=3.0):
    while True:
        msg = await asyncio.wait_for(ws.receive(), within)
        data = json.loads(msg.data)
        if data["type"] == "print_job":
            return data["job"]


async def test_a_kiosk_ticket_is_delivered_to_its_printer_and_marked_printed(hall):
    ws = await _printer(hall)
    ticket = await hall.issue("A", by="K01")
    assert ticket["print_job"]["status"] == "pending"
    job = await _next_job(ws)
    assert job["id"] == ticket["print_job"]["id"]
    assert job["ticket"]["number"] == ticket["number"] and job["ticket"]["status_url"] == ticket["status_url"]
    assert job["profile"] == {"paper_mm": 80, "chinese": "native", "qr": "native"}
    await ws.send_json({"type": "job_result", "id": job["id"], "result": "printed"})
    for _ in range(50):
        resp = await hall.client.get(f"/api/v1/print-jobs/{job['id']}", headers=hall.auth("K01"))
        if (await resp.json())["status"] == "printed":
            break
        await asyncio.sleep(0.05)
    assert (await resp.json())["status"] == "printed"
    await ws.close()


async def test_a_job_issued_while_the_printer_is_away_is_delivered_when_it_connects(hall):
    ticket = await hall.issue("A", by="K01")
    ws = await _printer(hall)
    job = await _next_job(ws)
    assert job["id"] == ticket["print_job"]["id"]
    await ws.send_json({"type": "job_result", "id": job["id"], "result": "failed", "error": "缺纸"})
    await ws.close()
    ws = await _printer(hall)
    again = await _next_job(ws)
    assert again["id"] == job["id"], "a failed job stays pending and is delivered after a reconnect"
    await ws.close()


async def test_tickets_issued_by_staff_make_no_print_job(hall):
    ticket = await hall.issue("A", by="1001")
    assert "print_job" not in ticket


async def test_a_printer_state_change_reaches_the_kiosk_view_and_the_ledger(hall):
    ws = await _printer(hall)
    await ws.send_json({"type": "printer_status", "status": {"online": True, "paper_out": True}})
    for _ in range(50):
        view = await (await hall.client.get("/api/v1/halls/gongshu/kiosk", headers=hall.auth("K01"))).json()
        if view["printer"] and view["printer"]["status"]:
            break
        await asyncio.sleep(0.05)
    assert view["printer"]["status"]["paper_out"] is True
    events = await (await hall.client.get("/api/v1/halls/gongshu/events", headers=hall.auth("1001"))).json()
    assert "printer_status_changed" in [e["kind"] for e in events["events"]]
    await ws.close()


async def test_staff_reprint_a_ticket_on_the_kiosk_printer(hall):
    ticket = await hall.issue("A", by="K01")
    resp = await hall.client.post(f"/api/v1/halls/gongshu/tickets/{ticket['number']}/reprint",
                                  json={"kiosk": "K01"}, headers=hall.auth("1001"))
    assert resp.status == 201, await resp.text()
    reprint = await resp.json()
    ws = await _printer(hall)
    ids = {(await _next_job(ws))["id"], (await _next_job(ws))["id"]}
    assert ids == {ticket["print_job"]["id"], reprint["id"]}
    await ws.close()


async def test_the_preview_is_a_png_of_the_ticket(hall):
    ticket = await hall.issue("A", by="K01")
    resp = await hall.client.get(f"/api/v1/tickets/{ticket['holder_secret']}/preview.png")
    assert resp.status == 200 and resp.content_type == "image/png"
    assert (await resp.read())[:8] == b"\x89PNG\r\n\x1a\n"


async def test_a_printer_socket_needs_a_printer_token(hall):
    resp = await hall.client.get(f"/ws/v1/printer?token={hall.tokens['K01']}",
                                 headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                          "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                          "Sec-WebSocket-Protocol": "queue.v1"})
    assert resp.status == 403


async def test_a_printer_that_disconnects_is_shown_offline_to_the_kiosk(hall):
    ws = await _printer(hall)
    await ws.send_json({"type": "printer_status", "status": {"online": True}})
    await ws.close()
    for _ in range(100):
        view = await (await hall.client.get("/api/v1/halls/gongshu/kiosk", headers=hall.auth("K01"))).json()
        status = view["printer"]["status"] if view["printer"] else None
        if status and status["online"] is False:
            break
        await asyncio.sleep(0.05)
    assert status["online"] is False and status["detail"] == "打印客户端已断开"


async def test_a_failed_job_waits_for_the_printer_to_be_ready_before_it_is_sent_again(hall):
    ws = await _printer(hall)
    ticket = await hall.issue("A", by="K01")
    job = await _next_job(ws)
    await ws.send_json({"type": "job_result", "id": job["id"], "result": "failed", "error": "缺纸"})
    await hall.issue("B", by="K01")  # a hall event wakes the channel: the failed job must stay put
    second = await _next_job(ws)
    assert second["id"] != job["id"]
    await ws.send_json({"type": "printer_status", "status": {"online": True}})
    again = await _next_job(ws)
    assert again["id"] == ticket["print_job"]["id"]
    await ws.close()


async def test_a_job_not_printed_in_time_expires_once_in_the_ledger_and_is_not_kept(hall):
    from queue_server.web.keys import PRINTS

    ticket = await hall.issue("A", by="K01")  # no printer connected: the job waits
    prints = hall.client.server.app[PRINTS]
    assert await prints.expire_stale() == 0, "not late yet"
    hall.clock.advance(hall.config.printing.job_ttl_seconds + 1)
    assert await prints.expire_stale() == 1
    assert await prints.expire_stale() == 0, "expired once, not on every check"
    events = (await (await hall.client.get("/api/v1/halls/gongshu/events", headers=hall.auth("1001"))).json())["events"]
    expired = [e for e in events if e["kind"] == "print_job_expired"]
    assert [e["payload"]["number"] for e in expired] == [ticket["number"]]
    assert expired[0]["ticket"] == ticket["number"] and expired[0]["payload"]["kiosk"] == "K01"
    job = await (await hall.client.get(f"/api/v1/print-jobs/{ticket['print_job']['id']}", headers=hall.auth("K01"))).json()
    assert (job["status"], job["status_text"]) == ("expired", "已过期")
