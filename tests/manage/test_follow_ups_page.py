"""差评回访 (/manage/follow-ups) in Chromium: the morning's bad rating is on the worklist with its
deadlines; the manager records the call (method and result required, a double click records once)
and the rectification, and 发起整改 opens the improvement form filled in from the follow-up."""

from __future__ import annotations

import json

from tests.api.checks import fetch

from .conftest import base_url, screenshot


async def test_a_manager_records_the_call_and_the_rectification_and_starts_an_improvement(hall, new_page):
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage/follow-ups")
    row = page.locator("#rows tr").first
    await row.wait_for()
    assert await page.locator("#console-nav a[aria-current='page']").inner_text() == "差评回访"
    text = await row.inner_text()
    assert "不满意：等候时间过长" in text and "待回访" in text and "12-01 23:59" in text and "12-21" in text
    await row.locator("button.step-call-back").click()
    await page.click("#step-submit")
    assert await page.locator("#step-error").inner_text() == "请填写回访方式、回访结果"
    await page.select_option("#f-method", "phone")
    await page.fill("#f-result", "已电话致歉，群众表示理解")
    await screenshot(page, "follow-ups-call-dialog")
    await page.dblclick("#step-submit")  # pressed twice: one record
    await row.locator(".state", has_text="待整改").wait_for()
    assert "电话：已电话致歉，群众表示理解" in await row.locator("td.call").inner_text()
    await row.locator("button.step-rectify").click()
    await page.click("#step-submit")
    assert await page.locator("#step-error").inner_text() == "请填写整改措施"
    await page.fill("#f-measures", "高峰时段增开 2 号窗口办理 A 类业务")
    await page.click("#step-submit")
    await row.locator(".state", has_text="已整改").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366
    await screenshot(page, "follow-ups-rectified")
    rows = await fetch(hall, "SELECT id, notes FROM follow_ups")
    assert [n["action"] for n in json.loads(rows[0]["notes"])] == ["call_back", "rectify"]
    steps = await fetch(hall, "SELECT actor->>'id' AS who FROM ledger WHERE kind = 'follow_up_updated'")
    assert [r["who"] for r in steps] == ["9001", "9001"]

    await page.click("#filters button[data-filter='open']")
    await page.locator("#empty").wait_for()
    await page.click("#filters button[data-filter='rectified']")
    await row.locator("a.start-improvement").click()
    await page.locator("#new-form").wait_for()
    assert await page.locator("#f-source-kind").input_value() == "follow_up"
    assert await page.locator("#f-source-id").input_value() == rows[0]["id"]
