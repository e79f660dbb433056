"""满意度调查 (/manage/surveys) in Chromium: a manager starts a campaign for everyone, visits are
answered, the results show as ECharts charts with the choice counts and the texts, the exports
download, 发起整改 leads to an improvement action with the campaign as its source, and the campaign
is ended early; a double press starts one campaign."""

from __future__ import annotations

from tests.api.checks import fetch

from .conftest import base_url, screenshot

ANSWERS = [
    {"overall": 5, "guidance": 4, "visits": "1 次", "advice": "大厅环境整洁，指引清楚"},
    {"overall": 2, "guidance": 2, "visits": "3 次及以上", "advice": "材料清单前后说法不一，跑了三次"},
]


async def _finish_and_answer(hall, answers):
    for body in answers:
        ticket = await hall.issue("A")
        await hall.act(1, "call-next", by="1001")
        await hall.act(1, "start", by="1001")
        await hall.act(1, "finish", by="1001")
        resp = await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/survey", json={"answers": body})
        assert resp.status == 201, await resp.text()


async def test_a_manager_runs_a_campaign_reads_its_charts_exports_and_ends_it(hall, new_page):
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage/surveys")
    await page.locator("#no-campaigns").wait_for()
    assert await page.locator("#console-nav a[aria-current='page']").inner_text() == "满意度调查"
    await page.click("#new")
    assert await page.locator("#f-starts").input_value() == "2026-11-30"
    await page.fill("#f-ends", "2026-12-06")
    await page.select_option("#f-rule", "all")
    await page.dblclick("#new-submit")  # pressed twice: one campaign
    row = page.locator("#campaign-rows tr", has_text="政务服务满意度调查")
    await row.wait_for()
    assert "全部办结群众" in await row.inner_text() and "进行中" in await row.inner_text()
    [campaign] = await fetch(hall, "SELECT id, every, created_by FROM survey_campaigns")
    assert (campaign["every"], campaign["created_by"]) == (1, "9001")

    await _finish_and_answer(hall, ANSWERS)
    await page.reload()
    await page.locator("#n-answered", has_text="2").wait_for()
    assert await page.text_content("#n-mean") == "3.25"
    assert await page.text_content("#n-rate") == "100.0%"
    for chart in ("chart-scale", "chart-service", "chart-day"):
        assert await page.locator(f"#{chart} canvas").count() == 1, chart
    assert await page.evaluate("window.echarts.getInstanceByDom(document.getElementById('chart-scale'))"
                               ".getOption().series.length") == 5
    assert "3 次及以上" in await page.text_content("#choices")
    assert "跑了三次" in await page.text_content("#texts")
    improve = await page.get_attribute("#improve", "href")
    assert improve == f"/manage/improvements?hall=gongshu&source_kind=survey&source_id={campaign['id']}"
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366
    await screenshot(page, "surveys-results")

    async with page.expect_download() as got:
        await page.click("#export-xlsx")
    download = await got.value
    assert download.suggested_filename.startswith("满意度调查_") and download.suggested_filename.endswith(".xlsx")

    page.on("dialog", lambda dialog: dialog.accept())
    await row.locator("button.end").click()
    await row.locator(".status", has_text="已提前结束").wait_for()
    assert await row.locator("button.end").count() == 0
    ledger = await fetch(hall, "SELECT kind, actor->>'id' AS who FROM ledger WHERE kind LIKE 'survey_campaign%' ORDER BY seq")
    assert [(r["kind"], r["who"]) for r in ledger] == [("survey_campaign_started", "9001"),
                                                      ("survey_campaign_ended", "9001")]

    await page.click("#improve")
    await page.locator("#new-form").wait_for()
    assert await page.locator("#f-source-kind").input_value() == "survey"
    assert await page.locator("#f-source-id").input_value() == campaign["id"]
    await screenshot(page, "surveys-improvement")
