"""The citizens' complaint pages in headless Chromium under their CSP: 投诉与建议 on the phone page
of a visit, the private status page with the one rating, and the hall's poster page.
Screenshots go to /tmp/complaint-*.png."""

from __future__ import annotations

import pytest

from tests.api.checks import fetch
from tests.people.conftest import PHONE, base_url
from tests.support.hall import Hall

pytestmark = pytest.mark.browser


async def _served(hall: Hall) -> dict:
    ticket = await hall.issue("A")
    for action in ("open", "call-next", "start", "finish"):
        await hall.act(1, action)
    return ticket


async def test_a_visit_is_complained_about_from_the_phone_page_followed_and_rated_once(hall, new_page):
    ticket = await _served(hall)
    page = await new_page(PHONE, mobile=True, csp=True)
    await page.goto(f"{base_url(hall)}/t/{ticket['holder_secret']}")
    await page.locator("#complain:not([hidden])").wait_for()
    await page.tap("#complain")
    await page.locator("#cp-send").wait_for()
    await page.tap("#cp-send")
    assert await page.text_content(".cp-error") == "请选择投诉类别"
    await page.tap(".cp-category:has-text('服务态度')")
    await page.fill("#cp-content", "窗口工作人员态度生硬，问了两遍就不耐烦。")
    await page.fill("#cp-phone", "13812345678")
    await page.tap("#cp-send")
    assert await page.text_content(".cp-error") == "留下电话须勾选同意联系"
    await page.check("#cp-consent")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await page.screenshot(path="/tmp/complaint-phone-form.png", full_page=True)
    await page.dblclick("#cp-send")  # a double tap: one complaint
    link = page.locator("#cp-link")
    await link.wait_for()
    await page.screenshot(path="/tmp/complaint-phone-sent.png", full_page=True)
    rows = await fetch(hall, "SELECT id, channel, window_no, staff_id, contact, secret FROM complaints")
    assert [(r["channel"], r["window_no"], r["staff_id"], r["contact"]) for r in rows] == [
        ("ticket", 1, "1001", "13812345678")]
    assert (await link.get_attribute("href")) == f"/complaint/status/{rows[0]['secret']}"

    await link.click()
    await page.locator("#complaint:not([hidden])").wait_for()
    assert await page.text_content("#state") == "待受理"
    assert await page.text_content("#contact") == "138****5678"
    assert await page.is_hidden("#rating")
    cid = rows[0]["id"]
    base = f"/api/v1/halls/gongshu/complaints/{cid}"
    for action, body in (("accept", {}), ("assign", {"assignee": "1001"}),
                         ("resolve", {"findings": "属实", "measures": "批评教育"}),
                         ("reply", {"how": "phone", "answer": "已核实并对当事人批评教育，感谢您的监督"})):
        resp = await hall.client.post(f"{base}/{action}", json=body, headers=hall.auth("9001"))
        assert resp.status == 200, await resp.text()
    await page.reload()
    await page.locator("#rating:not([hidden])").wait_for()
    assert await page.text_content("#state") == "已答复"
    assert "已核实并对当事人批评教育" in await page.text_content("#answer")
    steps = await page.locator("#steps li span").all_text_contents()
    assert steps == ["登记", "受理", "交办调查", "处理完毕", "答复投诉人"]
    assert "张三" not in await page.text_content("body") and "1001" not in await page.text_content("body")
    await page.screenshot(path="/tmp/complaint-status-replied.png", full_page=True)
    await page.dblclick("button[data-rating='satisfied']")
    await page.locator("#rated:not([hidden])").wait_for()
    assert await page.text_content("#rated-text") == "您已评价：满意。感谢您的监督！"
    assert await page.is_hidden("#rating")
    await page.screenshot(path="/tmp/complaint-status-rated.png", full_page=True)
    rated = await fetch(hall, "SELECT rating FROM complaints")
    assert [r["rating"] for r in rated] == ["satisfied"]
    assert len(await fetch(hall, "SELECT seq FROM ledger WHERE kind = 'complaint_rated'")) == 1

    poster = await new_page(PHONE, mobile=True, csp=True)
    await poster.goto(f"{base_url(hall)}/complaint/gongshu")
    await poster.locator(".hall-name", has_text="拱墅区行政服务中心").wait_for()
    await poster.tap(".cp-category:has-text('环境设施')")
    await poster.fill("#cp-content", "等候区空调太冷")
    await poster.tap("#cp-send")
    await poster.locator("#cp-link").wait_for()
    await poster.screenshot(path="/tmp/complaint-poster-sent.png", full_page=True)
    channels = await fetch(hall, "SELECT channel, contact FROM complaints ORDER BY created_at, channel")
    assert sorted((r["channel"], r["contact"]) for r in channels) == [
        ("poster", None), ("ticket", "13812345678")]
    unknown = await poster.goto(f"{base_url(hall)}/complaint/nowhere")
    assert unknown is not None and unknown.status == 404
