"""Every device page says what is wrong in Chinese, one case each (issue 13 point 2): a token
that is no one's → the pairing screen; a hall or window this server does not have → a Chinese
page that retries by itself; the server unreachable → reconnecting, with the time since the
last contact (tests/screens/test_device_recovery.py). Programs still get problem+json."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.people.conftest import TABLET, base_url
from tests.support.hall import Hall

HALL_TV = {"width": 1920, "height": 1080}


async def _check(hall: Hall, path: str, token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = await hall.client.get(path, headers=headers)
    return resp.status, await resp.json(content_type=None)


async def test_the_device_check_tells_a_page_which_case_it_is_in(hall: Hall) -> None:
    await hall.add_staff("2001", hall="hushu", name="李四")
    check = "/api/v1/halls/gongshu/device-check"
    assert await _check(hall, check, hall.tokens["D01"]) == (200, {"access": "allowed"})
    assert (await _check(hall, f"{check}?window=2", hall.tokens["E01"]))[0] == 200
    status, body = await _check(hall, f"{check}?window=99", hall.tokens["D01"])
    assert (status, body["code"]) == (404, "window.unknown")
    assert body["detail"].startswith("gongshu 大厅没有 99 号窗口")
    status, body = await _check(hall, "/api/v1/halls/nowhere/device-check", hall.tokens["D01"])
    assert (status, body["code"], body["detail"]) == (404, "hall.unknown", "没有大厅 'nowhere'")
    for token in (None, "not-a-token"):
        status, body = await _check(hall, check, token)
        assert (status, body["code"]) == (401, "auth.display_token_required")
    status, body = await _check(hall, check, hall.tokens["2001"])  # a clerk of another hall
    assert (status, body["code"]) == (403, "auth.not_this_screen")
    status, body = await _check(hall, f"{check}?window=x\x00", hall.tokens["D01"])
    assert (status, body["field"]) == (400, "window")


async def test_a_screen_socket_for_a_window_the_hall_does_not_have_is_refused_as_unknown(hall: Hall) -> None:
    base = f"/ws/v1/halls/gongshu?token={hall.tokens['D01']}"
    async with hall.client.ws_connect(f"{base}&window=2", protocols=["queue.v1"]) as ws:
        assert (await ws.receive_json())["type"] == "snapshot"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await hall.client.ws_connect(f"{base}&window=99", protocols=["queue.v1"])
    assert refused.value.status == 404


@pytest.mark.parametrize(("path", "title", "offers"), [
    ("/display/hall/nowhere", "找不到这个大厅（大厅屏）", "/display/hall/gongshu"),
    ("/display/window/nowhere/1", "找不到这个大厅（窗口屏）", "/display/window/gongshu/1"),
    ("/display/window/gongshu/99", "找不到这个窗口（窗口屏）", "/display/window/gongshu/2"),
    ("/kiosk/nowhere", "找不到这个大厅（取号机）", "/kiosk/gongshu"),
    ("/evaluate/gongshu/99", "找不到这个窗口（评价器）", "/evaluate/gongshu/3"),
])
async def test_an_unknown_hall_or_window_is_a_chinese_page_for_a_browser_and_a_problem_for_a_program(
        hall: Hall, path: str, title: str, offers: str) -> None:
    resp = await hall.client.get(path + "?token=abc", headers={"Accept": "text/html,*/*;q=0.8"})
    page = await resp.text()
    assert (resp.status, resp.content_type) == (404, "text/html")
    assert f"<h1 id='missing-title'>{title}</h1>" in page
    assert f"href='{offers}?token=abc'" in page  # the pages that do exist, the address's token kept
    assert "<meta http-equiv='refresh' content='30'>" in page  # it retries by itself
    assert "请检查设备地址" in page and "{" not in page.split("<style>")[0]
    resp = await hall.client.get(path, headers={"Accept": "application/json"})
    assert (resp.status, resp.content_type) == (404, "application/problem+json")
    assert (await resp.json())["code"] in ("hall.unknown", "window.unknown")


async def test_a_hostile_unknown_hall_name_is_shown_escaped(hall: Hall) -> None:
    resp = await hall.client.get("/kiosk/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                                 headers={"Accept": "text/html"})
    page = await resp.text()
    assert resp.status == 404 and "<script>" not in page and "&lt;script&gt;" in page
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.browser
@pytest.mark.parametrize(("path", "kind"), [
    ("/display/hall/gongshu", "hall_screen"),
    ("/display/window/gongshu/1", "window_screen"),
    ("/kiosk/gongshu", "kiosk"),
    ("/evaluate/gongshu/1", "tablet"),
])
async def test_a_device_page_with_a_token_that_is_no_ones_shows_the_pairing_screen_not_a_network_fault(
        hall: Hall, new_page, path: str, kind: str) -> None:
    page = await new_page(HALL_TV if kind != "tablet" else TABLET)
    await page.goto(f"{base_url(hall)}{path}?token=not-a-token")
    await page.wait_for_url(f"**/pair?kind={kind}", timeout=15000)
    await page.wait_for_function(r"/^\d{3} ?\d{3}$/.test(document.getElementById('code').textContent.trim())")


@pytest.mark.browser
async def test_an_unknown_window_screen_reads_in_chinese_in_the_browser(hall: Hall, new_page) -> None:
    page = await new_page(HALL_TV)
    answer = await page.goto(f"{base_url(hall)}/display/window/gongshu/99?token={hall.tokens['D01']}")
    assert answer is not None and answer.status == 404
    assert await page.text_content("#missing-title") == "找不到这个窗口（窗口屏）"
    assert "gongshu 大厅没有 99 号窗口" in await page.text_content("#missing-detail")
    links = await page.eval_on_selector_all("a", "links => links.map(a => a.textContent)")
    assert links[:2] == ["1 号窗口", "2 号窗口"]
    await page.screenshot(path="/tmp/device-window-missing.png")


async def test_device_checks_are_rate_limited_per_address_and_the_page_keeps_retrying(hall: Hall) -> None:
    """Anyone may ask device-check, and an unknown token costs a database look-up: one address
    gets [limits] device_check_per_minute of them (60, refilled one a second), then 429."""
    check = "/api/v1/halls/gongshu/device-check"
    loop = asyncio.get_running_loop()
    started = loop.time()
    allowed = 0
    while (status := (await _check(hall, check, f"guess-{allowed}"))[0]) == 401 and allowed < 200:
        allowed += 1
    elapsed = loop.time() - started
    assert status == 429, status
    assert 60 <= allowed <= 60 + int(elapsed) + 1, (allowed, elapsed)
    resp = await hall.client.get(check, headers={"Authorization": f"Bearer {hall.tokens['D01']}"})
    problem = await resp.json()
    if resp.status != 200:  # unless a second went by and refilled a request
        assert resp.status == 429 and problem["code"] == "rate.limited", problem
        assert int(resp.headers["Retry-After"]) >= 1 and "设备连接自检" in problem["detail"]
