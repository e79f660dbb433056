"""The counter rating tablet (/evaluate/{hall}/{window}) in headless Chromium.
Screenshots go to /tmp/people-tablet-*.png."""

from __future__ import annotations

import pytest

from tests.people.conftest import TABLET, base_url, ledger
from tests.support.hall import Hall

pytestmark = pytest.mark.browser


async def open_tablet(page, hall: Hall, window: int = 1, token: str | None = None) -> None:
    token = token if token is not None else hall.tokens["E01"]
    await page.goto(f"{base_url(hall)}/evaluate/gongshu/{window}?token={token}")


async def serve_one(hall: Hall, window: int = 1) -> dict:
    ticket = await hall.issue("A")
    await hall.act(window, "call-next")
    await hall.act(window, "start")
    await hall.act(window, "finish")
    return ticket


async def test_the_tablet_asks_for_a_rating_when_its_window_finishes_and_never_defaults(
        hall, new_page):
    await hall.act(1, "open")
    page = await new_page(TABLET)
    await open_tablet(page, hall)
    await page.wait_for_selector("#idle:not([hidden])")
    await page.wait_for_function("document.querySelector('.staff-name')?.textContent === '张三'")
    assert await page.text_content(".staff-id") == "工号 1001"
    await page.screenshot(path="/tmp/people-tablet-idle.png")

    ticket = await serve_one(hall)
    await page.wait_for_selector("#prompt:not([hidden])")
    assert await page.text_content("#prompt-number") == f"{ticket['number']} 号"
    assert await page.text_content("#prompt-service") == "企业开办"
    assert await page.text_content("#prompt-title") == "请您对本次服务进行评价"
    levels = await page.locator(".rate-level").all_text_contents()
    assert levels == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    dimensions = await page.locator(".rate-dimension-name").all_text_contents()
    assert dimensions == ["整体满意度", "服务效率", "服务水平", "服务态度"]
    assert await page.locator("[aria-pressed='true']").count() == 0  # nothing chosen for them
    assert await page.is_hidden(".rate-reasons")
    await page.screenshot(path="/tmp/people-tablet-prompt.png")

    await page.click(".rate-submit")
    assert await page.text_content(".rate-error") == "请先选择满意程度"
    await page.click(".rate-level[data-level='very_dissatisfied']")
    assert await page.is_visible(".rate-reasons")
    await page.click(".rate-submit")
    assert await page.text_content(".rate-error") == "请至少选择一项不满意的原因"
    assert await page.evaluate("window.hallQueue.state.ratings") == 0  # nothing was sent
    await page.click(".rate-level[data-level='dissatisfied']")
    await page.click(".rate-label[data-label='等候时间过长']")
    await page.click(".rate-dim-level[data-dimension='attitude'][data-level='satisfied']")
    await page.screenshot(path="/tmp/people-tablet-bad.png")
    await page.click(".rate-submit")
    await page.wait_for_selector("#thanks:not([hidden])")
    assert await page.text_content("#thanks-text") == "感谢您的评价！"
    await page.screenshot(path="/tmp/people-tablet-thanks.png")

    rated = [e for e in await ledger(hall) if e["kind"] == "ticket_rated"]
    assert len(rated) == 1
    assert rated[0]["ticket"] == ticket["number"] and rated[0]["actor"]["id"] == "E01"
    assert rated[0]["payload"]["level"] == "dissatisfied"
    assert rated[0]["payload"]["labels"] == ["等候时间过长"]
    assert rated[0]["payload"]["staff_id"] == "1001"


async def test_a_ticket_rated_on_the_phone_first_is_not_asked_again_on_the_tablet(
        hall, new_page):
    await hall.act(1, "open")
    page = await new_page(TABLET)
    await open_tablet(page, hall)
    await page.wait_for_selector("#idle:not([hidden])")
    ticket = await serve_one(hall)
    await page.wait_for_selector("#prompt:not([hidden])")
    resp = await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/rating", json={"level": "satisfied"})
    assert resp.status == 201, await resp.text()
    await page.wait_for_selector("#idle:not([hidden])")  # one rating per ticket

    # And a rating too late is refused plainly: the prompt ends with the time to rate.
    hall.clock.advance(60)  # the next citizen
    second = await serve_one(hall)
    await page.wait_for_selector("#prompt:not([hidden])")
    assert await page.text_content("#prompt-number") == f"{second['number']} 号"
    hall.clock.advance(11 * 60)
    await page.click(".rate-level[data-level='satisfied']")
    await page.click(".rate-submit")
    await page.wait_for_selector("#thanks:not([hidden])")
    assert await page.text_content("#thanks-text") == "已超过评价时限，感谢您的参与"
    assert [e["ticket"] for e in await ledger(hall) if e["kind"] == "ticket_rated"] == [ticket["number"]]


async def test_a_tablet_without_a_valid_token_or_of_another_window_shows_the_pairing_screen(hall, new_page):
    page = await new_page(TABLET)
    await open_tablet(page, hall, token="not-a-token")
    await page.wait_for_url("**/pair?kind=tablet")
    await page.wait_for_function(SHOWS_A_PAIRING_CODE)
    await open_tablet(page, hall, window=2)  # E01 belongs to window 1
    await page.wait_for_url("**/pair?kind=tablet")
    await page.wait_for_function(SHOWS_A_PAIRING_CODE)


SHOWS_A_PAIRING_CODE = r"/^\d{3} ?\d{3}$/.test(document.getElementById('code').textContent.trim())"
