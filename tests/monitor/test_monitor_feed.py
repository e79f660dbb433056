"""大厅监控 over /ws/v1/monitor: the hall's view pushed after each event (also one committed by
another server process), who may watch, and a page that never reads."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType

from queue_server.web.monitor import _Page
from tests.api.checks import ok
from tests.support.hall import FakeClock, Hall, start_hall

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def hall(fresh_db: str):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_device("E01", role="evaluator", window=1)
        await h.add_staff("1001", name="张三")
        await h.add_staff("9001", name="王经理", role="manager")
        yield h


async def watch(h: Hall, who: str, halls: list[str]) -> ClientWebSocketResponse:
    ws = await h.client.ws_connect("/ws/v1/monitor")
    await ws.send_json({"token": h.tokens[who], "halls": halls})
    return ws


async def next_view(ws: ClientWebSocketResponse, until: Any = lambda v: True) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            msg = await ws.receive()
            assert msg.type is WSMsgType.TEXT, msg
            body = msg.json()
            assert body["type"] == "view", body
            if until(body["view"]):
                return body["view"]


async def test_a_managers_page_gets_the_hall_then_a_fresh_view_after_each_event(hall: Hall):
    ws = await watch(hall, "9001", ["gongshu"])
    first = await next_view(ws)
    assert first["hall"] == "gongshu" and first["waiting"] == 0
    assert [w["number"] for w in first["windows"]] == list(hall.config.halls["gongshu"].windows)
    assert {w["state"] for w in first["windows"]} == {"closed"}
    await hall.issue("A")
    view = await next_view(ws, lambda v: v["waiting"] == 1)
    assert view["seq"] > first["seq"]
    a = next(s for s in view["services"] if s["code"] == "A")
    assert (a["waiting"], a["oldest"], a["level"], a["warn_minutes"], a["alarm_minutes"]) == (1, "A001", "ok", 15, 30)
    assert view["longest_wait"]["number"] == "A001"
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    view = await next_view(ws, lambda v: v["windows"][0]["current"] is not None)
    one = view["windows"][0]
    assert one["state"] == "open" and one["staff"] == {"id": "1001", "name": "张三"}
    assert one["current"]["number"] == "A001" and one["current"]["status"] == "called"
    await ws.close()


async def test_the_view_carries_todays_figures_wait_levels_devices_and_alerts(hall: Hall):
    first = await hall.issue("A")
    await hall.issue("A")
    hall.clock.advance(16 * 60)
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    await hall.act(1, "start")
    await hall.act(1, "finish")
    resp = await hall.client.post("/api/v1/halls/gongshu/windows/1/rating", headers=hall.auth("E01"),
                                  json={"number": first["number"], "level": "dissatisfied", "labels": ["办事效率低"]})
    assert resp.status == 201
    view = await ok(await hall.client.get("/api/v1/halls/gongshu/monitor", headers=hall.auth("9001")))
    assert view["today"] == {"issued": 2, "served": 1, "wait_mean_s": 16 * 60, "bad_ratings": 1, "ratings": 1}
    a = next(s for s in view["services"] if s["code"] == "A")
    assert (a["waiting"], a["oldest"], a["level"]) == (1, "A002", "warning")
    assert [al["kind"] for al in view["alerts"]] == ["bad_rating"]


async def test_only_managers_of_the_hall_or_its_region_and_admins_may_watch(hall: Hall):
    await hall.add_staff("hs9", name="湖墅经理", role="manager", hall="hushu")
    await hall.add_staff("d01", name="区级管理员", role="manager", hall=None, region="gongshu")
    d01 = await ok(await hall.client.get("/api/v1/monitor/halls", headers=hall.auth("d01")))
    assert [h["id"] for h in d01["halls"]] == list(hall.config.halls) and d01["may_acknowledge"] == []
    mine = await ok(await hall.client.get("/api/v1/monitor/halls", headers=hall.auth("9001")))
    assert [h["id"] for h in mine["halls"]] == ["gongshu"] and mine["may_acknowledge"] == ["gongshu"]
    for who in ("1001", "K01"):
        resp = await hall.client.get("/api/v1/monitor/halls", headers=hall.auth(who))
        assert resp.status == 403 and "现场监控" in (await resp.json())["detail"]
    resp = await hall.client.get("/api/v1/halls/gongshu/monitor", headers=hall.auth("hs9"))
    assert resp.status == 403
    ws = await watch(hall, "d01", ["gongshu", "hushu"])
    seen = {(await next_view(ws))["hall"], (await next_view(ws))["hall"]}
    assert seen == {"gongshu", "hushu"}
    await ws.close()

    async def refused(hello: Any) -> dict[str, Any]:
        ws = await hall.client.ws_connect("/ws/v1/monitor")
        await ws.send_str(hello) if isinstance(hello, str) else await ws.send_json(hello)
        msg = await ws.receive()
        body = msg.json()
        assert body["type"] == "error"
        assert (await ws.receive()).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)
        return body

    assert (await refused({"token": hall.tokens["hs9"], "halls": ["gongshu"]}))["status"] == 403
    assert (await refused({"token": hall.tokens["1001"], "halls": ["gongshu"]}))["status"] == 403
    assert (await refused({"token": "hqs_nobody", "halls": ["gongshu"]}))["status"] == 401
    assert (await refused({"token": hall.tokens["9001"], "halls": ["nowhere"]}))["status"] == 404
    for bad in ("not json", "[]", {"token": hall.tokens["9001"]}, {"token": hall.tokens["9001"], "halls": []},
                {"token": hall.tokens["9001"], "halls": ["gongshu\x00"]}, {"token": 5, "halls": ["gongshu"]}):
        body = await refused(bad)
        assert body["status"] in (400, 404), bad
        assert body["detail"]


async def test_an_event_committed_by_another_server_process_reaches_the_page(fresh_db: str, redis_url: str):
    clock = FakeClock()
    channel = f"test-{secrets.token_hex(6)}"  # the Redis server is shared by tests running at once
    async for one in start_hall(fresh_db, clock=clock, redis_url=redis_url, redis_channel=channel):
        async for two in start_hall(fresh_db, clock=clock, redis_url=redis_url, redis_channel=channel):
            await one.add_device("K01", role="kiosk")
            await one.add_staff("9001", name="王经理", role="manager")
            two.tokens.update(one.tokens)
            ws = await watch(two, "9001", ["gongshu"])
            await next_view(ws)
            await one.issue("B")
            view = await next_view(ws, lambda v: v["waiting"] == 1)
            assert next(s for s in view["services"] if s["code"] == "B")["oldest"] == "B001"
            await ws.close()


async def test_a_page_that_never_reads_holds_only_the_latest_view_of_each_hall():
    class StuckSocket:
        def __init__(self) -> None:
            self.sent: list[str] = []
            self.release = asyncio.Event()

        async def send_str(self, frame: str) -> None:
            await self.release.wait()
            self.sent.append(frame)

    socket = StuckSocket()
    page = _Page(socket)  # type: ignore[arg-type]
    writer = asyncio.create_task(page.write_forever())
    page.offer("gongshu", "v0")
    await asyncio.sleep(0)  # the writer is now stuck sending v0
    for n in range(1, 1001):
        page.offer("gongshu", f"v{n}")
        page.offer("hushu", f"h{n}")
    assert page.latest == {"gongshu": "v1000", "hushu": "h1000"}
    socket.release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert socket.sent == ["v0", "v1000", "h1000"]
    writer.cancel()


async def test_a_manager_who_signs_out_stops_watching_within_the_recheck(hall: Hall, monkeypatch):
    monkeypatch.setattr("queue_server.web.monitor.RECHECK_SECONDS", 0.2)
    ws = await watch(hall, "9001", ["gongshu"])
    await next_view(ws)
    resp = await hall.client.post("/api/v1/auth/logout", headers=hall.auth("9001"))
    assert resp.status == 200
    async with asyncio.timeout(5):
        while True:
            msg = await ws.receive()
            if msg.type is WSMsgType.TEXT and msg.json()["type"] == "error":
                assert msg.json()["status"] == 401
                break
    assert (await ws.receive()).type in (WSMsgType.CLOSE, WSMsgType.CLOSED)


async def test_the_relay_publishes_on_the_configured_channel(fresh_db: str, redis_url: str):
    """[redis] channel: a training server beside the live one on the same Redis must not reach
    the live screens; each publishes on "<channel>:events" (a channel only this test uses)."""
    import redis.asyncio as aioredis

    channel = f"test-{secrets.token_hex(6)}"
    client = aioredis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(f"{channel}:events")
    try:
        async for hall in start_hall(fresh_db, redis_url=redis_url, redis_channel=channel):
            await hall.add_device("K01", role="kiosk")
            await hall.issue("A")
            got = []
            for _ in range(6):  # ≈ 3 s at most
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
                if message is not None:
                    got.append(message["data"])
                    if b"ticket_issued" in message["data"]:
                        break
            assert any(b"ticket_issued" in data and b"A001" in data for data in got), got
    finally:
        await pubsub.aclose()
        await client.aclose()
