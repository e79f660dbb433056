"""预约签到 on the kiosk page: a code typed on the on-screen keypad checks in a booking and shows
its ticket; every refusal says why in Chinese; a double tap on 确认 checks in once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.printer_e2e.harness import HALL, issued_count, kiosk_hall, server_url
from tests.support.hall import FakeClock

from .conftest import LANDSCAPE, PORTRAIT

pytestmark = pytest.mark.browser

MONDAY_4_59PM = datetime(2026, 11, 30, 8, 59, tzinfo=UTC)


def kiosk_url(hall) -> str:
    return f"{server_url(hall)}kiosk/{HALL}?token={hall.tokens['K01']}"


def _slot_time(time: str) -> str:
    return f"{time if 'T' in time else '2026-11-30T' + time}:00+08:00"


async def book(hall, start: str = "10:00", end: str = "10:30", service: str = "A") -> str:
    """A booking made at the desk, by default on Monday 2026-11-30 (the test clock's day): its code."""
    resp = await hall.client.post(
        f"/api/v1/halls/{HALL}/appointments",
        json={"service": service, "slot_start": _slot_time(start), "slot_end": _slot_time(end)},
        headers=hall.auth("1001"))
    assert resp.status == 201, await resp.text()
    return (await resp.json())["code"]


async def open_keypad(page) -> None:
    await page.tap("#appointment")
    await page.wait_for_selector("#appointment-screen:not([hidden])")


async def type_code(page, code: str) -> None:
    for digit in code:
        await page.tap(f"#keypad [data-key='{digit}']")


async def entered(page) -> str:
    return "".join(await page.locator("#code .code-digit").all_text_contents())


async def error_after_confirm(page) -> str:
    await page.tap("#code-submit")
    await page.wait_for_selector("#code-error:not([hidden])")
    return await page.text_content("#code-error")


async def test_check_in_by_code_shows_the_appointment_ticket(fresh_db, open_kiosk):
    async with kiosk_hall(fresh_db, printer=False) as hall:
        await hall.issue("A")  # a walk-in already waiting
        code = await book(hall)
        page = await open_kiosk(kiosk_url(hall))
        appointment = page.locator("#appointment")
        assert await appointment.is_enabled() and "预约签到" in await appointment.text_content()
        await open_keypad(page)
        assert await page.is_hidden("#areas-screen")
        await type_code(page, "98")
        await page.tap("#keypad [data-key='delete']")
        assert await entered(page) == "9"
        await page.tap("#keypad [data-key='clear']")
        assert await entered(page) == ""
        await type_code(page, code[:4])
        await page.screenshot(path="/tmp/kiosk-appointment-portrait.png")
        await page.set_viewport_size(LANDSCAPE)
        await page.screenshot(path="/tmp/kiosk-appointment-landscape.png")
        await type_code(page, code[4:] + "7")  # a seventh digit is ignored
        assert await entered(page) == code

        await page.tap("#code-submit")
        await page.wait_for_selector("#ticket-screen:not([hidden])")
        assert await page.is_visible("#ticket-badge")
        assert await page.text_content("#ticket-badge") == "预约"
        assert await page.text_content("#ticket-title") == "签到成功"
        assert await page.text_content("#ticket-service") == "企业开办"
        assert (await page.text_content("#ticket-number")).startswith("A")
        # Same ticket view as a tap: no printer here, so the QR code is on screen.
        assert await page.get_attribute("#print-status", "data-state") == "none"
        await page.wait_for_function(
            "() => document.getElementById('ticket-qr-image').naturalWidth > 0")
        await page.screenshot(path="/tmp/kiosk-appointment-ticket-landscape.png")
        await page.set_viewport_size(PORTRAIT)
        await page.screenshot(path="/tmp/kiosk-appointment-ticket-portrait.png")
        assert await issued_count(hall) == 2

        await page.tap("#done")
        await page.wait_for_selector("#ticket-screen", state="hidden")
        assert await page.is_visible("#areas-screen")
        # A later ordinary ticket carries no badge.
        await page.tap("#areas [data-area='business']")
        await page.tap("[data-service='B']")
        await page.wait_for_selector("#ticket-screen:not([hidden])")
        assert await page.is_hidden("#ticket-badge")
        assert await page.text_content("#ticket-title") == "取号成功"


async def test_a_wrong_code_shows_the_error(fresh_db, open_kiosk):
    async with kiosk_hall(fresh_db, printer=False) as hall:
        early = await book(hall, "11:00", "11:30")
        late = await book(hall, "09:30", "10:00")
        used = await book(hall, "10:00", "10:30")
        resp = await hall.client.post(f"/api/v1/halls/{HALL}/appointments/{used}/check-in",
                                      headers=hall.auth("1001"))
        assert resp.status == 201
        tomorrow = await book(hall, "2026-12-01T09:00", "2026-12-01T09:30")
        wrong = next(c for c in ("000000", "111111", "222222") if c not in (early, late, used, tomorrow))
        page = await open_kiosk(kiosk_url(hall))
        await page.clock.set_system_time(hall.clock.now)  # the page's "today" is the server's
        await open_keypad(page)

        await type_code(page, "123")
        assert await error_after_confirm(page) == "预约码应为 6 位数字"
        await page.tap("#keypad [data-key='clear']")
        assert await page.is_hidden("#code-error"), "editing the code clears the error"

        await type_code(page, wrong)
        assert await error_after_confirm(page) == "预约码无效或已签到"
        assert await entered(page) == wrong, "the refused code stays for the citizen to check"
        await page.screenshot(path="/tmp/kiosk-appointment-error-portrait.png")

        await type_code(page, used)  # a digit after a refused code starts a new one
        assert await error_after_confirm(page) == "预约码无效或已签到"

        await type_code(page, early)
        assert await error_after_confirm(page) == "预约签到时间未到，请于 10:30 后签到"
        await page.set_viewport_size(LANDSCAPE)
        await page.screenshot(path="/tmp/kiosk-appointment-error-landscape.png")
        await type_code(page, tomorrow)
        assert await error_after_confirm(page) == "预约签到时间未到，请于 12月1日 08:30 后签到"
        await page.screenshot(path="/tmp/kiosk-appointment-error-tomorrow-landscape.png")

        hall.clock.advance(16 * 60)  # 10:16: check-in for the 09:30-10:00 slot closed at 10:15
        await type_code(page, late)
        assert await error_after_confirm(page) == "预约已过期，请取普通号"

        assert await page.is_hidden("#ticket-screen")
        assert await page.evaluate("window.hallQueue.state.issued") == 0
        assert await issued_count(hall) == 1  # the desk's check-in only
        await page.tap("#appointment-back")
        await page.wait_for_selector("#areas-screen:not([hidden])")


async def test_a_double_tap_on_confirm_gives_one_ticket(fresh_db, open_kiosk):
    async with kiosk_hall(fresh_db) as hall:
        first, second = await book(hall), await book(hall, service="C")
        page = await open_kiosk(kiosk_url(hall), viewport=LANDSCAPE)
        await open_keypad(page)
        await type_code(page, first)
        box = await page.locator("#code-submit").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        await page.touchscreen.tap(x, y)
        await page.touchscreen.tap(x, y)
        await page.wait_for_selector("#ticket-screen:not([hidden])")
        await asyncio.sleep(0.5)
        assert await page.is_visible("#ticket-badge")
        assert await page.evaluate("window.hallQueue.state.issued") == 1
        assert await issued_count(hall) == 1
        assert await page.is_hidden("#notice-screen")

        # Two clicks in the same task, before the page could redraw anything.
        await page.tap("#done")
        await open_keypad(page)
        assert await entered(page) == "", "a new check-in starts with an empty code"
        await type_code(page, second)
        await page.locator("#code-submit").evaluate("button => { button.click(); button.click(); }")
        await page.wait_for_selector("#ticket-screen:not([hidden])")
        await asyncio.sleep(0.5)
        assert await page.text_content("#ticket-number") == "C001"
        assert await page.evaluate("window.hallQueue.state.issued") == 2
        assert await issued_count(hall) == 2


async def test_check_in_after_closing_time_locks_the_kiosk(fresh_db, open_kiosk):
    clock = FakeClock(MONDAY_4_59PM)
    async with kiosk_hall(fresh_db, clock=clock, printer=False) as hall:
        code = await book(hall, "16:45", "17:15")
        page = await open_kiosk(kiosk_url(hall))
        await open_keypad(page)
        await type_code(page, code)
        clock.advance(120)  # 17:01
        await page.tap("#code-submit")
        await page.wait_for_selector("#closed-screen:not([hidden])")
        assert await page.text_content("#closed-reason") == "当前不在取号时间"
        assert await issued_count(hall) == 0
