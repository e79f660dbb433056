"""Alerts (现场告警) through the whole app on PostgreSQL: each raised once, ledgered, escalated,
acknowledged by a manager (who and when), and cleared when its cause ends — also with two server
processes sweeping the same hall at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from queue_server.protocol.printing import PrinterState
from queue_server.service.principal import Principal
from queue_server.web.keys import ALERTS, PRINTS
from tests.api.checks import fetch, ledger, ok
from tests.support.hall import FakeClock, Hall, start_hall

pytestmark = pytest.mark.asyncio


async def sweep(h: Hall, hall: str = "gongshu") -> list[tuple[str, str, str]]:
    changes = await h.client.server.app[ALERTS].sweep(hall)
    return [(c.action, c.alert.key, c.alert.severity) for c in changes]


def alert_steps(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["kind"], e["payload"]["key"]) for e in events if e["kind"].startswith("alert_")]


async def open_alerts(h: Hall, by: str = "9001") -> list[dict[str, Any]]:
    body = await ok(await h.client.get("/api/v1/halls/gongshu/alerts", headers=h.auth(by)))
    return [a for a in body["alerts"] if a["cleared_at"] is None]


@pytest.fixture
async def hall(fresh_db: str):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_device("E01", role="evaluator", window=1)
        await h.add_staff("1001", name="张三")
        await h.add_staff("9001", name="王经理", role="manager")
        yield h


async def test_a_long_wait_warns_once_escalates_to_an_alarm_and_clears_when_the_ticket_is_called(hall: Hall):
    await hall.issue("A")
    assert await sweep(hall) == []
    hall.clock.advance(15 * 60)
    assert await sweep(hall) == [("raised", "wait:A", "warning")]
    assert await sweep(hall) == []  # raised once
    hall.clock.advance(15 * 60)
    assert await sweep(hall) == [("escalated", "wait:A", "alarm")]
    [alert] = await open_alerts(hall)
    assert (alert["kind"], alert["severity"], alert["service"]) == ("wait", "alarm", "A")
    assert alert["detail"]["minutes"] == 30 and alert["title"] == "等候超时"
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    assert await sweep(hall) == [("cleared", "wait:A", "alarm")]
    assert await open_alerts(hall) == []
    assert alert_steps(await ledger(hall)) == [
        ("alert_raised", "wait:A"), ("alert_escalated", "wait:A"), ("alert_cleared", "wait:A")]


async def test_a_window_paused_too_long_and_a_window_idle_with_people_waiting_raise_alerts(hall: Hall):
    await hall.act(1, "open")
    await hall.act(1, "pause", reason="培训")
    hall.clock.advance(14 * 60)
    assert await sweep(hall) == []
    hall.clock.advance(60)
    assert await sweep(hall) == [("raised", "window_paused:1", "warning")]
    [paused] = await open_alerts(hall)
    assert paused["window"] == 1 and paused["detail"]["reason"] == "培训" and paused["detail"]["staff"] == "张三"
    await hall.act(1, "resume")
    await hall.issue("A")
    assert await sweep(hall) == [("cleared", "window_paused:1", "warning")]
    hall.clock.advance(5 * 60)  # open, idle, and A (one of its services) waiting for 5 minutes
    assert await sweep(hall) == [("raised", "window_idle:1", "warning")]
    await hall.act(1, "call-next")
    assert await sweep(hall) == [("cleared", "window_idle:1", "warning")]


async def test_a_bad_rating_raises_an_alert_that_a_managers_acknowledgement_ends_and_ledgers(hall: Hall):
    ticket = await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    await hall.act(1, "start")
    await hall.act(1, "finish")
    resp = await hall.client.post("/api/v1/halls/gongshu/windows/1/rating", headers=hall.auth("E01"),
                                  json={"number": ticket["number"], "level": "very_dissatisfied",
                                        "labels": ["服务态度不好"]})
    assert resp.status == 201, await resp.text()
    [alert] = await open_alerts(hall)
    assert (alert["kind"], alert["subject"], alert["window"]) == ("bad_rating", ticket["number"], 1)
    assert alert["detail"]["labels"] == ["服务态度不好"] and alert["detail"]["staff_id"] == "1001"
    assert await sweep(hall) == []  # a sweep never clears it: a manager does
    url = f"/api/v1/halls/gongshu/alerts/{alert['id']}/acknowledge"
    first = await ok(await hall.client.post(url, headers=hall.auth("9001")))
    again = await ok(await hall.client.post(url, headers=hall.auth("9001")))  # the same button twice
    assert first == again
    assert first["acked_by"] == "9001" and first["acked_by_name"] == "王经理" and first["cleared_at"]
    assert await open_alerts(hall) == []
    events = await ledger(hall)
    assert alert_steps(events) == [("alert_raised", f"bad_rating:{ticket['id']}"),
                                   ("alert_acknowledged", f"bad_rating:{ticket['id']}"),
                                   ("alert_cleared", f"bad_rating:{ticket['id']}")]
    acked = next(e for e in events if e["kind"] == "alert_acknowledged")
    assert acked["actor"]["id"] == "9001" and acked["payload"]["by_name"] == "王经理"


async def test_only_the_halls_managers_may_acknowledge_and_bad_ids_change_nothing(hall: Hall):
    await hall.add_staff("hs9", name="湖墅经理", role="manager", hall="hushu")
    await hall.add_staff("d01", name="区级管理员", role="manager", hall=None, region="gongshu")
    await hall.act(1, "open")
    await hall.act(1, "pause", reason="会议")
    hall.clock.advance(16 * 60)
    await sweep(hall)
    [alert] = await open_alerts(hall)
    url = f"/api/v1/halls/gongshu/alerts/{alert['id']}/acknowledge"
    for who in ("1001", "hs9", "d01", "E01"):
        resp = await hall.client.post(url, headers=hall.auth(who))
        assert resp.status == 403, (who, await resp.text())
    resp = await hall.client.post(url)
    assert resp.status == 401
    for bad in ("al_nope", "al_%00x", "x" * 41):
        resp = await hall.client.post(f"/api/v1/halls/gongshu/alerts/{bad}/acknowledge", headers=hall.auth("9001"))
        assert resp.status in (400, 404), await resp.text()
        assert "告警" in (await resp.json())["detail"] or resp.status == 400
    resp = await hall.client.post(f"/api/v1/halls/hushu/alerts/{alert['id']}/acknowledge", headers=hall.auth("hs9"))
    assert resp.status == 404  # another hall's alert is no alert of this one
    [still] = await open_alerts(hall)
    assert still["acked_at"] is None
    await hall.act(1, "resume")
    await sweep(hall)
    resp = await hall.client.post(url, headers=hall.auth("9001"))
    assert resp.status == 409 and "已于" in (await resp.json())["detail"]


async def test_printers_offline_or_out_of_paper_raise_alerts_that_clear_when_it_is_ready_again(hall: Hall):
    await hall.add_device("P01", role="printer", kiosk="K01")
    printer = Principal("device", "P01", "P01", "printer", "gongshu", kiosk="K01")
    prints = hall.client.server.app[PRINTS]
    await prints.status(printer, PrinterState(online=True, paper_near_end=True))
    assert await sweep(hall) == [("raised", "printer_paper:P01", "warning")]
    await prints.status(printer, PrinterState(online=True, paper_out=True))
    assert await sweep(hall) == [("escalated", "printer_paper:P01", "alarm")]
    await prints.status(printer, PrinterState(online=False))
    assert sorted(await sweep(hall)) == [("cleared", "printer_paper:P01", "alarm"),
                                         ("raised", "printer_offline:P01", "alarm")]
    await prints.status(printer, PrinterState(online=True))
    assert await sweep(hall) == [("cleared", "printer_offline:P01", "alarm")]


async def test_a_registered_screen_disconnected_in_opening_hours_raises_an_alert_and_reconnecting_clears_it(hall: Hall):
    token = await hall.add_device("D01", role="display")
    ws = await hall.client.ws_connect(f"/ws/v1/halls/gongshu?token={token}", protocols=("queue.v1",))
    await ws.receive()  # the snapshot: the screen is in

    async def connected() -> bool | None:
        rows = await fetch(hall, "SELECT (status->>'connected')::boolean AS connected FROM device_status"
                                 " WHERE hall = 'gongshu' AND name = 'D01'")
        return rows[0]["connected"] if rows else None

    for _ in range(100):
        if await connected():
            break
        await asyncio.sleep(0.02)
    assert await connected() is True
    await ws.close()
    for _ in range(100):
        if await connected() is False:
            break
        await asyncio.sleep(0.02)
    assert await connected() is False
    hall.clock.advance(60)
    assert await sweep(hall) == []  # a reload, a short blip: not yet
    hall.clock.advance(60)
    assert await sweep(hall) == [("raised", "screen_offline:D01", "warning")]
    ws = await hall.client.ws_connect(f"/ws/v1/halls/gongshu?token={token}", protocols=("queue.v1",))
    await ws.receive()
    for _ in range(100):
        if await connected():
            break
        await asyncio.sleep(0.02)
    assert await sweep(hall) == [("cleared", "screen_offline:D01", "warning")]
    await ws.close()


async def test_two_server_processes_sweeping_one_hall_at_once_raise_each_alert_once(fresh_db: str):
    clock = FakeClock()
    async for one in start_hall(fresh_db, clock=clock):
        async for two in start_hall(fresh_db, clock=clock):
            await one.add_device("K01", role="kiosk")
            await one.add_staff("9001", name="王经理", role="manager")
            two.tokens.update(one.tokens)
            for service in ("A", "B", "C"):
                await one.issue(service)
            clock.advance(16 * 60)
            results = await asyncio.gather(*(sweep(h) for h in (one, two) for _ in range(4)))
            raised = Counter(key for changes in results for action, key, _ in changes if action == "raised")
            assert raised == {"wait:A": 1, "wait:B": 1, "wait:C": 1}
            rows = await fetch(one, "SELECT key FROM alerts WHERE cleared_at IS NULL ORDER BY key")
            assert [r["key"] for r in rows] == ["wait:A", "wait:B", "wait:C"]
            steps = alert_steps(await ledger(one, by="9001"))
            assert sorted(steps) == [("alert_raised", "wait:A"), ("alert_raised", "wait:B"), ("alert_raised", "wait:C")]
