"""The citizen's phone ticket page (/t/{secret}) in headless Chromium, and its live channel.
Screenshots go to /tmp/people-phone-*.png."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.people.conftest import PHONE, base_url, kinds, ledger
from tests.support.hall import Hall

pytestmark = pytest.mark.browser


async def open_ticket(page, hall: Hall, secret: str) -> None:
    await page.goto(f"{base_url(hall)}/t/{secret}")
    await page.wait_for_selector("#ticket:not([hidden])")


async def test_the_phone_page_follows_a_ticket_until_it_is_called_then_rates_it(hall, new_page):
    await hall.issue("A")
    mine = await hall.issue("A")
    page = await new_page(PHONE, mobile=True)
    await open_ticket(page, hall, mine["holder_secret"])
    assert await page.text_content("#number") == mine["number"]
    assert await page.text_content("#service") == "企业开办"
    assert await page.text_content("#status") == "等候中"
    assert await page.text_content("#ahead") == "1"
    await page.screenshot(path="/tmp/people-phone-waiting.png", full_page=True)
    await page.tap("#vibrate")  # the touch that lets a page vibrate
    assert await page.is_hidden("#vibrate")

    await hall.act(1, "open")
    await hall.act(1, "call-next")
    await page.wait_for_function("document.getElementById('ahead').textContent === '0'")
    await hall.act(1, "start")
    await hall.act(1, "finish")
    await hall.act(1, "call-next")
    await page.wait_for_selector("#called:not([hidden])")
    assert await page.text_content("#called-window") == "1"
    assert await page.text_content(".called-window") == "1 号窗口"
    assert await page.is_hidden("#cancel")
    assert await page.evaluate("window.hallQueue.state.vibrations.length") == 1
    await page.screenshot(path="/tmp/people-phone-called.png", full_page=True)

    hall.clock.advance(31)
    await hall.act(1, "recall")
    await page.wait_for_function("window.hallQueue.state.vibrations.length === 2")  # again
    assert "第 2 次呼叫" in await page.text_content("#called-note")

    await hall.act(1, "start")
    await hall.act(1, "finish")
    await page.wait_for_selector("#rating:not([hidden]) .rate-level")
    assert await page.locator("[aria-pressed='true']").count() == 0
    await page.screenshot(path="/tmp/people-phone-rating.png", full_page=True)
    await page.click(".rate-level[data-level='very_satisfied']")
    await page.click(".rate-submit")
    await page.wait_for_selector("#rated:not([hidden])")
    assert await page.text_content("#rated-text") == "感谢您的评价！"
    assert await page.is_hidden("#rating")
    await page.screenshot(path="/tmp/people-phone-rated.png", full_page=True)

    # One rating per ticket, whichever comes first: the tablet has nothing left to ask.
    prompt = await hall.client.get("/api/v1/halls/gongshu/windows/1/rating-prompt", headers=hall.auth("E01"))
    assert (await prompt.json())["ticket"] is None
    rated = [e for e in await ledger(hall) if e["kind"] == "ticket_rated"]
    assert [(e["ticket"], e["payload"]["channel"]) for e in rated] == [(mine["number"], "phone")]


async def test_a_citizen_cancels_their_own_waiting_ticket_and_an_unknown_one_is_said_so(
        hall, new_page):
    mine = await hall.issue("A")
    page = await new_page(PHONE, mobile=True)
    await page.goto(f"{base_url(hall)}/t/AAAAAAAAAAAAAAAAAAAAAA")
    await page.wait_for_selector("#missing:not([hidden])")
    assert await page.text_content(".message-title") == "未找到该号码"

    await open_ticket(page, hall, mine["holder_secret"])
    await page.click("#cancel")
    await page.wait_for_selector("#confirm[open]")
    assert mine["number"] in await page.text_content("#confirm-text")
    await page.screenshot(path="/tmp/people-phone-cancel.png")
    await page.dblclick("#confirm-yes")
    await page.wait_for_function("document.getElementById('status').textContent === '已取消'")
    assert await page.is_hidden("#cancel")
    cancelled = [e for e in await ledger(hall) if e["kind"] == "ticket_cancelled"]
    assert len(cancelled) == 1 and cancelled[0]["actor"]["kind"] == "citizen"


async def read_status(stream) -> dict:
    """The next `status` event of a server-sent event stream."""
    event = None
    while True:
        line = (await stream.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "status":
            return json.loads(line[6:])


async def test_the_live_channel_sends_the_status_again_when_the_queue_moves(hall):
    await hall.issue("A")
    mine = await hall.issue("A")
    resp = await hall.client.get(f"/t/{mine['holder_secret']}/live")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    async with asyncio.timeout(10):
        first = await read_status(resp.content)
        assert (first["number"], first["status"], first["ahead"]) == (mine["number"], "waiting", 1)
        assert "rating" in first
        await hall.issue("B")  # another service: no new status
        await hall.act(1, "open")
        await hall.act(1, "call-next")
        moved = await read_status(resp.content)
        assert (moved["status"], moved["ahead"]) == ("waiting", 0)
    resp.close()
    missing = await hall.client.get("/t/AAAAAAAAAAAAAAAAAAAAAA/live")
    assert missing.status == 404
    assert kinds(await ledger(hall), "ticket_called") == ["ticket_called"]
