"""The satisfaction survey (满意度调查) in Chromium, on the citizen's phone page (/t/{secret}) and on
the counter tablet (/evaluate/{hall}/{window}): a sampled visit is asked after the rating; required
questions are named before sending; a double press answers once; the answer is stored without the
visit. Screenshots /tmp/people-phone-survey-*.png and /tmp/people-tablet-survey.png."""

from __future__ import annotations

import pytest

from tests.api.checks import fetch
from tests.people.conftest import PHONE, TABLET, base_url

pytestmark = pytest.mark.browser


async def _campaign_for_everyone(hall):
    start = await hall.client.post("/api/v1/halls/gongshu/survey-campaigns", headers=hall.auth("9001"), json={
        "questionnaire": "hall-service", "starts": "2026-11-30", "ends": "2026-12-06", "every": 1})
    assert start.status == 201, await start.text()


async def test_a_sampled_visit_answers_the_survey_after_rating_once_and_anonymously(hall, new_page):
    await _campaign_for_everyone(hall)
    mine = await hall.issue("A")
    for action in ("open", "call-next", "start", "finish"):
        await hall.act(1, action)
    page = await new_page(PHONE, mobile=True)
    await page.goto(f"{base_url(hall)}/t/{mine['holder_secret']}")
    await page.wait_for_selector("#rating:not([hidden]) .rate-level")
    assert await page.is_hidden("#survey"), "the rating comes first"
    await page.click(".rate-level[data-level='satisfied']")
    await page.click(".rate-submit")
    await page.wait_for_selector("#survey:not([hidden]) .sv-option")
    assert await page.text_content("#survey-title") == "政务服务满意度调查"
    assert await page.locator(".sv-block").count() == 4
    await page.click(".sv-submit")  # nothing chosen: the first required question is named
    assert await page.text_content(".sv-error") == "请回答第 1 题"
    await page.click(".sv-option[data-question='overall'][data-value='5']")
    await page.click(".sv-option[data-question='guidance'][data-value='4']")
    await page.click(".sv-submit")
    assert await page.text_content(".sv-error") == "请回答第 3 题"
    await page.click(".sv-option[data-question='visits'][data-value='1 次']")
    await page.fill(".sv-text", "取号指引清楚\n窗口人员耐心")
    assert await page.text_content(".sv-count") == "13/300"
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path="/tmp/people-phone-survey-form.png", full_page=True)
    await page.dblclick(".sv-submit")  # pressed twice: one answer
    await page.wait_for_selector("#survey-done:not([hidden])")
    assert await page.text_content("#survey-done-text") == "感谢您参与满意度调查！"
    assert await page.is_hidden("#survey")
    await page.screenshot(path="/tmp/people-phone-survey-done.png", full_page=True)
    rows = await fetch(hall, "SELECT service, channel, answers FROM survey_answers")
    assert len(rows) == 1 and rows[0]["channel"] == "phone" and rows[0]["service"] == "A"
    assert "窗口人员耐心" in str(rows[0]["answers"]) and mine["id"] not in str(rows[0])

    await page.reload()  # answered: not asked again
    await page.wait_for_selector("#rated:not([hidden])")
    assert await page.is_hidden("#survey")


async def test_the_counter_tablet_asks_a_sampled_visit_the_survey_after_its_rating(hall, new_page):
    await _campaign_for_everyone(hall)
    await hall.act(1, "open")
    page = await new_page(TABLET)
    await page.goto(f"{base_url(hall)}/evaluate/gongshu/1?token={hall.tokens['E01']}")
    await page.wait_for_selector("#idle:not([hidden])")
    mine = await hall.issue("A")
    for action in ("call-next", "start", "finish"):
        await hall.act(1, action)
    await page.wait_for_selector("#prompt:not([hidden]) .rate-level")
    await page.click(".rate-level[data-level='very_satisfied']")
    await page.click(".rate-submit")
    await page.wait_for_selector("#survey:not([hidden]) .sv-option")
    assert await page.text_content("#survey-title") == "政务服务满意度调查"
    await page.click(".sv-option[data-question='overall'][data-value='4']")
    await page.click(".sv-option[data-question='guidance'][data-value='5']")
    await page.click(".sv-option[data-question='visits'][data-value='2 次']")
    await page.screenshot(path="/tmp/people-tablet-survey.png")
    await page.click(".sv-submit")
    await page.wait_for_selector("#thanks:not([hidden])")
    assert await page.text_content("#thanks-text") == "感谢您参与满意度调查！"
    rows = await fetch(hall, "SELECT channel, answers FROM survey_answers")
    assert [r["channel"] for r in rows] == ["tablet"] and mine["id"] not in str(rows[0])
