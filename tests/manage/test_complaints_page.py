"""投诉管理 (/manage/complaints) in Chromium: a manager records a complaint taken by phone, accepts
it (and then sees the contact whole), assigns it; the investigator sees it without the contact and
records findings and measures; the manager answers, and 发起整改 leads to the improvement form; the
district office reads the hall's complaints without acting on them."""

from __future__ import annotations

from tests.api.checks import fetch

from .conftest import base_url, screenshot


async def test_a_phone_complaint_is_taken_accepted_assigned_resolved_and_answered(hall, new_page):
    manager = await new_page(hall, "9001")
    await manager.goto(f"{base_url(hall)}/manage/complaints")
    await manager.locator("#new:not([hidden])").wait_for()
    assert await manager.locator("#console-nav a[aria-current='page']").inner_text() == "投诉管理"
    assert "我的绩效" in await manager.locator("#console-nav a").all_inner_texts()  # a hall's manager
    await manager.click("#new")
    await manager.click("#new-submit")
    assert await manager.locator("#new-error").inner_text() == "请填写投诉内容"
    await manager.select_option("#f-category", "efficiency")
    await manager.fill("#f-window", "2")
    await manager.fill("#f-staff", "1002")
    await manager.fill("#f-content", "来电反映：上午在 2 号窗口办理社保转移，来回跑了三趟。")
    await manager.fill("#f-phone", "13912345678")
    await manager.click("#new-submit")
    await manager.locator("#new-error", has_text="同意").wait_for()  # the server's Chinese answer
    await manager.check("#f-consent")
    await manager.dblclick("#new-submit")  # pressed twice: one complaint
    row = manager.locator("#rows tr", has_text="来回跑了三趟")
    await row.wait_for()
    assert "待受理" in await row.locator(".state").inner_text()
    assert await row.locator(".contact").inner_text() == "139****5678", "no owner yet: masked"
    assert await manager.locator("#rows tr").count() == 1
    await screenshot(manager, "complaints-received")

    await row.locator("button.step-accept").click()
    await manager.click("#step-submit")
    await row.locator(".state", has_text="已受理").wait_for()
    assert await row.locator(".contact").inner_text() == "13912345678", "the owner sees it whole"
    improve = await row.locator("a.improve").get_attribute("href")
    (cid,) = [r["id"] for r in await fetch(hall, "SELECT id FROM complaints")]
    assert improve == f"/manage/improvements?hall=gongshu&source_kind=complaint&source_id={cid}"
    await row.locator("button.step-assign").click()
    await manager.click("#step-submit")
    assert await manager.locator("#step-error").inner_text() == "请填写调查人工号"
    await manager.fill("#s-assignee", "1002")
    await manager.click("#step-submit")
    await row.locator(".state", has_text="调查中").wait_for()

    clerk = await new_page(hall, "1002")
    await clerk.goto(f"{base_url(hall)}/manage/complaints")
    mine = clerk.locator("#rows tr", has_text="来回跑了三趟")
    await mine.wait_for()
    assert await mine.locator(".contact").inner_text() == "仅负责人可见"
    assert await clerk.locator("#new").is_hidden() and await mine.locator("a.improve").count() == 0
    await mine.locator("button.step-resolve").click()
    await clerk.fill("#s-findings", "窗口未执行一次性告知，材料清单未给全")
    await clerk.fill("#s-measures", "补发材料清单；对当事人批评教育")
    await clerk.click("#step-submit")
    await mine.locator(".state", has_text="已处理").wait_for()
    await screenshot(clerk, "complaints-investigator")

    await manager.reload()
    await row.locator("button.step-reply").click()
    await manager.select_option("#s-how", "phone")
    await manager.fill("#s-answer", "已电话告知处理结果并致歉")
    await manager.click("#step-submit")
    await row.locator(".state", has_text="已答复").wait_for()
    assert "电话答复" in await row.inner_text()
    assert await manager.evaluate("document.documentElement.scrollWidth") <= 1366
    await screenshot(manager, "complaints-replied")

    await manager.click("#rows tr a.improve")
    await manager.locator("#new-form:not([hidden])").wait_for()
    assert await manager.locator("#f-source-kind").input_value() == "complaint"
    assert await manager.locator("#f-source-id").input_value() == cid
    ledger = await fetch(hall, "SELECT kind FROM ledger WHERE kind LIKE 'complaint%' ORDER BY seq")
    assert [r["kind"] for r in ledger] == [
        "complaint_received", "complaint_accepted", "complaint_investigating", "complaint_resolved",
        "complaint_replied"]

    office = await new_page(hall, "d01")
    await office.goto(f"{base_url(hall)}/manage/complaints?hall=gongshu")
    seen = office.locator("#rows tr", has_text="来回跑了三趟")
    await seen.wait_for()
    assert await seen.locator(".contact").inner_text() == "139****5678"
    assert await seen.locator("button, a").count() == 0 and await office.locator("#new").is_hidden()
    assert "区、街道管理人员可查看" in await office.locator("#banner").inner_text()
    await screenshot(office, "complaints-district-office")
