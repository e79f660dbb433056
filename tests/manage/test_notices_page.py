"""公告 (/manage/notices) in Chromium: a manager adds a timed notice and a plain one, the screens'
snapshot shows each only within its times, a taboo phrase is refused with the server's Chinese
message, and a save over someone else's newer list is refused (409) without overwriting it."""

from __future__ import annotations

from tests.api.checks import fetch

from .conftest import base_url, screenshot


async def test_a_manager_publishes_timed_notices_and_a_stale_save_is_refused(hall, new_page):
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage/notices")
    await page.locator("#empty").wait_for()
    assert await page.locator("#console-nav a[aria-current='page']").inner_text() == "公告"
    await page.click("#add")
    await page.get_by_label("第 1 条公告内容").fill("今日 11:00–12:00 社保系统升级，社保业务暂停办理")
    await page.get_by_label("第 1 条开始时间").fill("2026-11-30T11:00")
    await page.get_by_label("第 1 条结束时间").fill("2026-11-30T12:00")
    await page.click("#add")
    await page.get_by_label("第 2 条公告内容").fill("你去投诉好了。")
    await page.click("#save")
    await page.locator("#save-error", has_text="忌语").wait_for()
    assert (await fetch(hall, "SELECT notices_version FROM halls WHERE id = 'gongshu'"))[0][0] == 0
    await page.get_by_label("第 2 条公告内容").fill("请保管好随身物品")
    await page.dblclick("#save")  # pressed twice: one save
    await page.locator("#summary", has_text="版本 1").wait_for()
    assert await page.locator("#rows .state").all_inner_texts() == ["未开始", "显示中"]
    assert await page.locator("#shown").inner_text() == "请保管好随身物品"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366
    await screenshot(page, "notices-published")
    posted = await fetch(hall, "SELECT actor->>'id' AS who FROM ledger WHERE kind = 'notice_posted'")
    assert [r["who"] for r in posted] == ["9001"]

    hall.clock.advance(3600)  # 11:00: the timed notice is on the screens now
    snap = await (await hall.client.get("/api/v1/halls/gongshu/queue")).json()
    assert snap["notices"] == ["今日 11:00–12:00 社保系统升级，社保业务暂停办理", "请保管好随身物品"]

    # Someone else saves meanwhile; this page still holds version 1.
    other = await hall.client.post("/api/v1/halls/gongshu/notices", headers=hall.auth("9001"),
                                   json={"notices": ["另一位管理人员的公告"], "version": 1})
    assert other.status == 200, await other.text()
    await page.get_by_label("第 2 条公告内容").fill("请保管好随身物品，谨防诈骗")
    await page.click("#save")
    await page.locator("#save-error", has_text="已被他人修改").wait_for()
    await screenshot(page, "notices-stale")
    snap = await (await hall.client.get("/api/v1/halls/gongshu/queue")).json()
    assert snap["notices"] == ["另一位管理人员的公告"]
    await page.locator("#save-error button").click()
    await page.locator("#summary", has_text="版本 2").wait_for()
    assert await page.get_by_label("第 1 条公告内容").input_value() == "另一位管理人员的公告"
