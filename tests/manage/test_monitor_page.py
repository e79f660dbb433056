"""大厅监控 (/manage/monitor) in Chromium: the hall's windows, waits, devices and today's figures,
changed live by events; an alert arriving with its sound queued; a manager acknowledging it."""

from __future__ import annotations

from typing import Any

from queue_server.web.keys import ALERTS

from .conftest import base_url, screenshot


async def _until(page: Any, script: str) -> Any:
    handle = await page.wait_for_function(script, timeout=10000)
    return await handle.json_value()


async def test_a_manager_watches_the_hall_live_hears_a_new_alert_and_acknowledges_it(hall, new_page):
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage/monitor")
    await page.locator("#windows .window-card").first.wait_for()
    assert await page.locator("#windows .window-card").count() == len(hall.config.halls["gongshu"].windows)
    today = await page.locator("#today").inner_text()
    assert "今日取号\n3" in today and "已办结\n3" in today and "差评\n1" in today
    assert await page.locator("#console-nav a[aria-current='page']").inner_text() == "大厅监控"
    # The fixture's bad rating is an open alert; a manager of the hall may acknowledge it.
    bad = page.locator("#alerts .alert", has_text="收到差评")
    await bad.wait_for()
    assert await bad.locator("button.ack").count() == 1

    # An event anywhere in the hall redraws the page without asking.
    await hall.issue("A")
    await _until(page, "window.monitor.views.gongshu && window.monitor.views.gongshu.waiting === 1")
    row = page.locator("#services tr[data-service='A']")
    assert "A004" in await row.inner_text()
    await hall.act(1, "call-next", by="1001")
    card = page.locator("#windows .window-card[data-window='1']")
    await card.locator(".ticket", has_text="A004").wait_for()
    assert "张三" in await card.inner_text() and "叫号中" in await card.inner_text()

    # A long wait becomes an alert, and window 2 (open, idle, serving B) another: shown at
    # once, each with its sound queued (headless Chromium has no speakers).
    await hall.issue("B")
    hall.clock.advance(16 * 60)
    await hall.client.server.app[ALERTS].sweep("gongshu")
    await page.locator("#alerts .alert", has_text="等候超时").wait_for()
    sounds = await page.evaluate("window.monitor.sounds")
    assert sorted((s["kind"], s["severity"]) for s in sounds) == [("wait", "warning"), ("window_idle", "warning")]
    assert await page.locator("#alerts .alert", has_text="2号窗口（李四）空闲 16 分钟").count() == 1
    assert "level-warning" in (await page.locator("#services tr[data-service='B']").get_attribute("class"))
    await screenshot(page, "monitor-hall")

    await bad.locator("button.ack").click()
    await page.locator("#alerts .alert.acked", has_text="王经理 已确认").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366
    await screenshot(page, "monitor-acknowledged")


async def test_a_region_manager_sees_every_hall_of_the_district_and_acknowledges_nothing(hall, new_page):
    page = await new_page(hall, "d01")
    await page.goto(f"{base_url(hall)}/manage/monitor")
    await page.locator("#halls .hall-tab").first.wait_for()
    names = await page.locator("#halls .hall-tab .hall-tab-name").all_inner_texts()
    assert names == [h.name for h in hall.config.halls.values()]
    await page.locator("#alerts .alert", has_text="收到差评").wait_for()
    assert await page.locator("#alerts button.ack").count() == 0
    await page.locator("#halls .hall-tab", has_text=hall.config.halls["hushu"].name).click()
    await _until(page, "document.getElementById('scope-title').textContent.length > 0")
    assert await page.locator("#scope-title").inner_text() == hall.config.halls["hushu"].name
    assert "hall=hushu" in page.url
    await screenshot(page, "monitor-region")


async def test_a_clerk_opening_the_monitor_is_sent_to_their_own_figures(hall, new_page):
    page = await new_page(hall, "1001")
    await page.goto(f"{base_url(hall)}/manage/monitor")
    await page.wait_for_url("**/manage/mine**")
