"""导服台 (/manage/desk) in Chromium, as a clerk at the desk: a green-channel ticket issued for
someone (the reason asked for first; a double click issues one), printed on the chosen kiosk
printer, a missed ticket looked up, restored and then cancelled with a reason."""

from __future__ import annotations

import asyncpg

from tests.api.checks import fetch

from .conftest import base_url, screenshot


async def test_the_desk_issues_looks_up_restores_cancels_and_reprints(hall, new_page):
    # A second kiosk with its printer (K01's "no printer" is already cached from the morning).
    await hall.add_device("K02", role="kiosk")
    await hall.add_device("P02", role="printer", kiosk="K02")
    conn = await asyncpg.connect(hall.dsn)  # as K02's printer leaves it when it reports in
    try:
        await conn.execute("INSERT INTO device_status (hall, name, role, kiosk, status, updated_at)"
                           " VALUES ('gongshu', 'P02', 'printer', 'K02', '{\"online\": true}', now())")
    finally:
        await conn.close()
    # A001-A003 were served this morning; A004 is missed at window 1.
    missed = await hall.issue("A")
    for action in ("call-next", "recall", "recall", "miss"):
        hall.clock.advance(31)
        await hall.act(1, action, by="1001")
    page = await new_page(hall, "1002")
    await page.goto(f"{base_url(hall)}/manage/desk")
    await page.locator("#i-service option").first.wait_for(state="attached")
    assert await page.locator("#console-nav a[aria-current='page']").inner_text() == "导服台"
    await page.select_option("#i-priority", "green")
    await page.click("#issue-submit")
    assert await page.locator("#issue-error").inner_text() == "绿色通道须填写优先理由"
    await page.fill("#i-reason", "陪同重症家属")
    await page.dblclick("#issue-submit")  # pressed twice: one ticket
    await page.locator("#issued-number", has_text="A005").wait_for()
    await screenshot(page, "desk-issued")
    await page.click("#issued-print")
    await page.locator("#issued-note:not(:empty)").wait_for()
    assert await page.locator("#issued-note").inner_text() == "A005 已发送到取号机 K02 的打印机"
    issued = await fetch(hall, "SELECT priority, priority_reason, channel FROM tickets WHERE seq = 5")
    assert [tuple(r) for r in issued] == [("green", "陪同重症家属", "guide")]
    assert len(await fetch(hall, "SELECT id FROM tickets WHERE business_day = '2026-11-30'")) == 5

    await page.fill("#l-number", "z9")
    await page.click("#lookup-submit")
    await page.locator("#lookup-error", has_text="没有发出号码 Z009").wait_for()
    await page.fill("#l-number", missed["number"].lower())
    await page.click("#lookup-submit")
    await page.locator("#t-status", has_text="已过号").wait_for()
    assert await page.locator("#t-reprint").is_disabled() and await page.locator("#t-restore").is_enabled()
    await page.dblclick("#t-restore")
    await page.locator("#t-status", has_text="等候中").wait_for()
    assert await page.locator("#ticket-note").inner_text() == f"{missed['number']} 已恢复，重新排队"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366
    await screenshot(page, "desk-restored")
    await page.click("#t-cancel")
    assert await page.locator("#lookup-error").inner_text() == "取消须填写原因"
    await page.fill("#t-reason", "群众放弃办理")
    await page.click("#t-cancel")
    await page.locator("#t-status", has_text="已取消").wait_for()
    await screenshot(page, "desk-cancelled")
    kinds = await fetch(hall, "SELECT kind, actor->>'id' AS who FROM ledger WHERE kind IN"
                              " ('ticket_restored', 'ticket_cancelled', 'ticket_reprinted') ORDER BY seq")
    assert [(r["kind"], r["who"]) for r in kinds] == [
        ("ticket_reprinted", "1002"), ("ticket_restored", "1002"), ("ticket_cancelled", "1002")]
