"""整改 (/manage/improvements) in Chromium: a manager opens an action from a bad rating's
follow-up, its owner reports it done with evidence, the manager sends it back once and then
verifies it; a second click on a button acts once."""

from __future__ import annotations

from tests.api.checks import fetch

from .conftest import base_url, screenshot


async def _follow_up(hall) -> str:
    resp = await hall.client.get("/api/v1/halls/gongshu/follow-ups", headers=hall.auth("9001"))
    (follow_up,) = (await resp.json())["follow_ups"]
    return follow_up["id"]


async def test_an_action_from_a_follow_up_is_opened_done_sent_back_and_verified(hall, new_page):
    follow_up = await _follow_up(hall)
    manager = await new_page(hall, "9001")
    await manager.goto(f"{base_url(hall)}/manage/improvements?source_kind=follow_up&source_id={follow_up}")
    form = manager.locator("#new-form")
    await form.wait_for()
    assert await manager.locator("#f-source-kind").input_value() == "follow_up"
    assert await manager.locator("#f-source-id").input_value() == follow_up
    assert await manager.locator("#console-nav a[aria-current='page']").inner_text() == "整改"
    # Missing fields are named before anything is sent.
    await manager.click("#new-submit")
    assert "问题" in await manager.locator("#new-error").inner_text()
    await manager.fill("#f-problem", "高峰时段等候过长，群众不满")
    await manager.fill("#f-cause", "A 类业务只开一个窗口")
    await manager.fill("#f-measure", "高峰时段（9:00-11:00）增开 2 号窗口办理 A 类业务")
    await manager.fill("#f-owner", "1001")
    await manager.fill("#f-due", "2026-12-04")
    await manager.dblclick("#new-submit")  # pressed twice: one action
    row = manager.locator("#rows tr", has_text="高峰时段等候过长")
    await row.wait_for()
    assert "差评回访" in await row.inner_text() and "张三（1001）" in await row.inner_text()
    assert "整改中" in await row.locator(".state").inner_text()
    assert await manager.evaluate("document.documentElement.scrollWidth") <= 1366
    await screenshot(manager, "improvements-opened")
    rows = await fetch(hall, "SELECT id, source_kind, source_id FROM improvements")
    assert [(r["source_kind"], r["source_id"]) for r in rows] == [("follow_up", follow_up)]

    clerk = await new_page(hall, "1001")
    await clerk.goto(f"{base_url(hall)}/manage/improvements")
    mine = clerk.locator("#rows tr", has_text="高峰时段等候过长")
    await mine.wait_for()
    assert await clerk.locator("#new").is_hidden(), "a clerk opens no actions"
    await mine.locator("button.step-done").click()
    await clerk.click("#step-submit")
    assert "请填写" in await clerk.locator("#step-error").inner_text()
    await clerk.fill("#step-text", "12 月 1 日起高峰时段 2 号窗口已增开 A 类业务，排班表已更新")
    await clerk.click("#step-submit")
    await mine.locator(".state", has_text="待验证").wait_for()

    await manager.reload()
    await row.locator("button.step-reopen").click()
    await manager.fill("#step-text", "请附排班表")
    await manager.click("#step-submit")
    await row.locator(".state", has_text="整改中").wait_for()
    await clerk.reload()
    await mine.locator("button.step-done").click()
    await clerk.fill("#step-text", "排班表已上传至共享目录")
    await clerk.click("#step-submit")
    await mine.locator(".state", has_text="待验证").wait_for()
    await manager.reload()
    await row.locator("button.step-verify").click()
    await manager.fill("#step-text", "现场核实")
    await manager.click("#step-submit")
    await row.locator(".state", has_text="已验证").wait_for()
    await screenshot(manager, "improvements-verified")
    ledger = await fetch(hall, "SELECT kind FROM ledger WHERE kind LIKE 'improvement%' ORDER BY seq")
    assert [r["kind"] for r in ledger] == [
        "improvement_opened", "improvement_done", "improvement_reopened", "improvement_done", "improvement_verified"]


async def test_bad_input_shows_the_servers_chinese_message_and_saves_nothing(hall, new_page):
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage/improvements")
    await page.click("#new")
    await page.fill("#f-problem", "指引牌不清")
    await page.fill("#f-measure", "更换指引牌")
    await page.fill("#f-owner", "nobody")
    await page.fill("#f-due", "2026-12-04")
    await page.click("#new-submit")
    error = page.locator("#new-error")
    await error.filter(has_text="没有在用的工作人员账号").wait_for()
    await screenshot(page, "improvements-bad-owner")
    assert await fetch(hall, "SELECT id FROM improvements") == []
