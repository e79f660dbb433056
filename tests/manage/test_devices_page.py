"""Pairing a real kiosk end to end in Chromium (issue 11): the kiosk page opened without a
token shows a 6-digit code; a manager enters it on 设备管理 (/manage/devices); the kiosk starts
by itself and a ticket is taken on it; revoked on the same page, the kiosk is back on the
pairing screen at once. The start page lists the hall's pages and the way to pair."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.api.checks import fetch
from tests.support.hall import start_hall

from .conftest import base_url, screenshot

KIOSK = {"width": 1080, "height": 1920}


async def _code_shown(page) -> str:
    """The pairing code once the page shows one (polled: the page's CSP forbids evaluating a
    string, which wait_for_function does)."""
    for _ in range(100):
        if await page.locator("#code-card").is_visible():
            text = await page.locator("#code").inner_text()
            if re.fullmatch(r"[0-9]{6}", text):
                return text
        await asyncio.sleep(0.1)
    raise AssertionError("the pairing page shows no code")


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_staff("9001", name="王经理", role="manager")
        yield h


async def test_a_kiosk_opened_without_a_token_is_paired_by_code_takes_a_ticket_and_is_revoked(hall, browser, new_page):
    context = await browser.new_context(viewport=KIOSK, locale="zh-CN", timezone_id="Asia/Shanghai", has_touch=True)
    errors: list[str] = []
    try:
        kiosk = await context.new_page()
        kiosk.on("pageerror", lambda error: errors.append(str(error)))
        await kiosk.goto(f"{base_url(hall)}/kiosk/gongshu")
        await kiosk.wait_for_url(re.compile(r"/pair\?kind=kiosk$"))
        code = await _code_shown(kiosk)
        assert "取号机" in await kiosk.locator("#kind-name").inner_text()
        assert "/manage/devices" in await kiosk.locator("#manage-url").inner_text()
        await screenshot(kiosk, "pair-kiosk-code")

        manager = await new_page(hall, "9001", csp=True)
        await manager.goto(f"{base_url(hall)}/manage/devices")
        await manager.locator("#pair-form").wait_for()
        assert await manager.locator("#console-nav a[aria-current='page']").inner_text() == "设备管理"
        await manager.fill("#f-code", "12345")
        await manager.fill("#f-name", "一楼取号机")
        await manager.click("#pair-submit")
        assert "6 位数字" in await manager.locator("#pair-error").inner_text()
        await manager.fill("#f-code", code)
        await manager.dblclick("#pair-submit")  # pressed twice: paired once
        row = manager.locator("#rows tr", has_text="一楼取号机")
        await row.wait_for()
        assert "取号机" in await row.inner_text() and "在用" in await row.inner_text()
        assert await manager.evaluate("document.documentElement.scrollWidth") <= 1366
        await screenshot(manager, "devices-paired")

        # The kiosk received its token and opened its page by itself; a ticket is taken on it.
        await kiosk.wait_for_url(re.compile(r"/kiosk/gongshu$"), timeout=10000)
        await kiosk.locator("#areas [data-area='business']").tap()
        await kiosk.locator("#services [data-service='A']").tap()
        await kiosk.locator("#ticket-screen:not([hidden])").wait_for()
        assert await kiosk.locator("#ticket-number").inner_text() == "A001"
        await screenshot(kiosk, "pair-kiosk-ticket")
        tickets = await fetch(hall, "SELECT channel FROM tickets")
        assert [t["channel"] for t in tickets] == ["kiosk"]
        paired = await fetch(hall, "SELECT actor->>'id' AS who FROM ledger WHERE kind = 'device_paired'")
        assert [r["who"] for r in paired] == ["9001"]

        # Revoked on the page: the kiosk goes back to the pairing screen with a new code.
        await row.locator("button.danger").click()
        assert "立即断开" in await manager.locator("#edit-text").inner_text()
        await manager.click("#edit-submit")
        await row.locator(".state.revoked").wait_for()
        await kiosk.wait_for_url(re.compile(r"/pair\?kind=kiosk$"), timeout=5000)
        assert await _code_shown(kiosk) != code
        assert await kiosk.evaluate("localStorage.getItem('hallQueue.device')") is None
        await screenshot(manager, "devices-revoked")

        # The start page: the hall's pages with their addresses, sign-in, and pairing.
        start = await new_page(hall)
        await start.goto(base_url(hall) + "/")
        text = await start.locator("body").inner_text()
        assert "拱墅区行政服务中心" in text and "设备配对" in text and "窗口工作台" in text
        assert "培训模式" not in text  # served without --ignore-hours
        assert await start.locator("a[href='/pair']").count() >= 1
        assert await start.locator("a[href='/kiosk/gongshu']").count() == 1
        assert await start.evaluate("document.documentElement.scrollWidth") <= 1366
        await screenshot(start, "start-page")
    finally:
        await context.close()
    assert not errors, f"the kiosk raised: {errors}"
