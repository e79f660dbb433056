"""The kiosk page in headless Chromium against the real server, database and printer client."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import pytest

from tests.printer.escpos_decoder import decode, printed_lines
from tests.printer.fake_printer import FakePrinter
from tests.printer_e2e.harness import (
    eventually,
    issued_count,
    kiosk_hall,
    printer_status,
    running_printer,
    server_url,
)
from tests.support.hall import FakeClock, sample_config

from .conftest import LANDSCAPE, PORTRAIT

pytestmark = pytest.mark.browser

SUNDAY_10AM = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
MONDAY_4_59PM = datetime(2026, 11, 30, 8, 59, tzinfo=UTC)


def kiosk_url(hall) -> str:
    return f"{server_url(hall)}kiosk/gongshu?token={hall.tokens['K01']}"


@pytest.fixture
async def fake():
    printer = FakePrinter()
    await printer.start()
    try:
        yield printer
    finally:
        await printer.go_offline()


async def _service_card(page, code: str):
    return page.locator(f"#services [data-service='{code}']")


async def _choose_area(page, code: str) -> None:
    await page.tap(f"#areas [data-area='{code}']")
    await page.wait_for_selector("#services-screen:not([hidden])")


async def test_the_kiosk_shows_areas_then_services_with_live_waiting_counts(fresh_db, open_kiosk):
    async with kiosk_hall(fresh_db, printer=False) as hall:
        await hall.issue("A", by="1001")
        await hall.issue("A", by="1001")
        page = await open_kiosk(kiosk_url(hall))
        assert await page.text_content("#hall-name") == "拱墅区行政服务中心"
        areas = await page.locator("#areas .card-name").all_text_contents()
        assert areas == ["商事登记区", "社保医保区", "不动产登记区", "公安服务区", "税务服务区", "综合受理区"]
        business = page.locator("#areas [data-area='business']")
        assert "等候 2 人" in (await business.text_content()).replace("\xa0", " ")
        appointment = page.locator("#appointment")
        assert await appointment.is_enabled() and "预约签到" in await appointment.text_content()
        await page.screenshot(path="/tmp/kiosk-areas-portrait.png")

        await _choose_area(page, "business")
        names = await page.locator("#services .card-name").all_text_contents()
        assert names == ["企业开办", "企业变更注销", "个体工商户登记"]
        card = await _service_card(page, "A")
        assert await card.locator(".waiting").text_content() == "2"
        # Another ticket taken at the guide desk shows up without a reload (queue.v1 socket).
        await hall.issue("A", by="1001")
        await page.wait_for_function(
            "() => document.querySelector(\"[data-service='A'] .waiting\").textContent === '3'",
            timeout=3000)
        await page.set_viewport_size(LANDSCAPE)
        await page.screenshot(path="/tmp/kiosk-services-landscape.png")
        await page.tap("#back")
        await page.wait_for_selector("#areas-screen:not([hidden])")
        await page.screenshot(path="/tmp/kiosk-areas-landscape.png")


async def test_a_tap_issues_a_ticket_shown_on_screen_and_printed_by_the_kiosk_printer(
        fresh_db, open_kiosk, fake, tmp_path):
    async with kiosk_hall(fresh_db) as hall, \
            running_printer(server_url(hall), hall.tokens["P01"], fake.url, tmp_path):
        await eventually(lambda: printer_status(hall), what="the printer's first report")
        page = await open_kiosk(kiosk_url(hall))
        assert await page.is_hidden("#printer-banner")
        await _choose_area(page, "social")
        await page.tap("[data-service='C']")
        await page.wait_for_selector("#ticket-screen:not([hidden])")
        assert await page.text_content("#ticket-number") == "C001"
        assert await page.text_content("#ticket-service") == "社保参保登记"
        assert await page.text_content("#ticket-ahead") == "0"
        await page.wait_for_selector("#print-status[data-state='printed']", timeout=5000)
        assert "票据已打印" in await page.text_content("#print-status")
        assert await page.is_hidden("#ticket-qr"), "a printed ticket carries its own QR code"
        [job] = await fake.wait_for_jobs(1)
        assert "C001" in [line.text for line in printed_lines(decode(job))]
        await page.screenshot(path="/tmp/kiosk-ticket-portrait.png")
        await page.tap("#done")
        await page.wait_for_selector("#ticket-screen", state="hidden")
        assert await page.is_visible("#areas-screen")


async def test_a_double_tap_issues_one_ticket(fresh_db, open_kiosk):
    async with kiosk_hall(fresh_db) as hall:
        page = await open_kiosk(kiosk_url(hall), viewport=LANDSCAPE)
        await _choose_area(page, "business")
        box = await (await _service_card(page, "A")).bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        await page.touchscreen.tap(x, y)
        await page.touchscreen.tap(x, y)
        await page.wait_for_selector("#ticket-screen:not([hidden])")
        await asyncio.sleep(0.5)
        assert await page.evaluate("window.hallQueue.state.issued") == 1
        assert await issued_count(hall) == 1
        # Two clicks in the same task, before the page could redraw anything.
        await page.tap("#done")
        await _choose_area(page, "business")
        await page.locator("[data-service='B']").evaluate("card => { card.click(); card.click(); }")
        await page.wait_for_selector("#ticket-screen:not([hidden])")
        await asyncio.sleep(0.5)
        assert await issued_count(hall) == 2
        assert await page.text_content("#ticket-number") == "B001"


async def test_a_printer_out_of_paper_is_announced_before_a_tap_and_the_ticket_shows_its_qr_code(
        fresh_db, open_kiosk, fake, tmp_path):
    async with kiosk_hall(fresh_db) as hall, \
            running_printer(server_url(hall), hall.tokens["P01"], fake.url, tmp_path):
        await eventually(lambda: printer_status(hall), what="the printer's first report")
        page = await open_kiosk(kiosk_url(hall), viewport=LANDSCAPE)
        assert await page.is_hidden("#printer-banner")
        fake.set_paper_out()
        await page.wait_for_selector("#printer-banner:not([hidden])", timeout=5000)
        assert "打印机缺纸" in await page.text_content("#printer-banner")
        await page.screenshot(path="/tmp/kiosk-paper-out-landscape.png")

        await _choose_area(page, "business")
        await page.tap("[data-service='A']")
        await page.wait_for_selector("#ticket-qr:not([hidden])")
        assert "打印机缺纸" in await page.text_content("#print-status")
        qr = page.locator("#ticket-qr-image")
        await page.wait_for_function(
            "() => document.getElementById('ticket-qr-image').naturalWidth > 0")
        assert (await qr.bounding_box())["width"] >= 300, "big enough to scan from a phone"
        await page.screenshot(path="/tmp/kiosk-ticket-qr-landscape.png")
        await page.set_viewport_size(PORTRAIT)
        await page.screenshot(path="/tmp/kiosk-ticket-qr-portrait.png")
        assert fake.jobs == []

        fake.set_online()  # a new roll: the kept job prints and the page says so
        await page.wait_for_selector("#print-status[data-state='printed']", timeout=5000)
        await page.wait_for_selector("#printer-banner", state="hidden", timeout=5000)
        assert len(await fake.wait_for_jobs(1)) == 1


async def test_the_kiosk_is_locked_outside_business_hours_with_the_hours_shown(
        fresh_db, open_kiosk):
    async with kiosk_hall(fresh_db, clock=FakeClock(SUNDAY_10AM)) as hall:
        page = await open_kiosk(kiosk_url(hall))
        assert await page.is_visible("#closed-screen")
        assert await page.text_content("#closed-reason") == "今日不办公"
        assert await page.text_content("#closed-hours") == "周一、二、三、四、五 08:30-17:00"
        await page.screenshot(path="/tmp/kiosk-closed-portrait.png")
        assert await issued_count(hall) == 0


async def test_the_kiosk_locks_itself_when_a_tap_comes_after_closing_time(fresh_db, open_kiosk):
    clock = FakeClock(MONDAY_4_59PM)
    async with kiosk_hall(fresh_db, clock=clock) as hall:
        page = await open_kiosk(kiosk_url(hall), viewport=LANDSCAPE)
        assert await page.is_hidden("#closed-screen")
        await _choose_area(page, "business")
        clock.advance(120)  # 17:01
        await page.tap("[data-service='A']")
        await page.wait_for_selector("#closed-screen:not([hidden])")
        assert await page.text_content("#closed-reason") == "当前不在取号时间"
        await page.screenshot(path="/tmp/kiosk-closed-landscape.png")
        assert await issued_count(hall) == 0


async def test_a_service_whose_daily_quota_is_used_up_says_so(fresh_db, open_kiosk):
    config = sample_config()
    gongshu = config.halls["gongshu"]
    services = {**gongshu.services, "A": dataclasses.replace(gongshu.services["A"], daily_quota=1)}
    config = dataclasses.replace(
        config, halls={**config.halls, "gongshu": dataclasses.replace(gongshu, services=services)})
    async with kiosk_hall(fresh_db, config=config) as hall:
        page = await open_kiosk(kiosk_url(hall))
        await _choose_area(page, "business")
        card = await _service_card(page, "A")
        assert await card.is_enabled()
        await hall.issue("A", by="1001")  # the last one, taken at the guide desk
        await card.locator(".card-full").wait_for(state="visible", timeout=3000)
        assert await card.locator(".card-full").text_content() == "今日号源已满"
        assert await card.is_disabled()
        assert await (await _service_card(page, "B")).is_enabled()
        await page.screenshot(path="/tmp/kiosk-quota-portrait.png")


async def test_a_ticket_from_a_kiosk_without_a_printer_is_shown_with_its_qr_code(fresh_db, open_kiosk):
    async with kiosk_hall(fresh_db, printer=False) as hall:
        page = await open_kiosk(kiosk_url(hall))
        assert await page.is_hidden("#printer-banner")
        await _choose_area(page, "estate")
        await page.tap("[data-service='E']")
        await page.wait_for_selector("#ticket-qr:not([hidden])")
        assert await page.get_attribute("#print-status", "data-state") == "none"
        assert await page.text_content("#ticket-number") == "E001"


async def test_a_ticket_whose_print_job_expires_tells_the_citizen_to_ask_the_guide_desk(fresh_db, open_kiosk):
    from queue_server.web.keys import PRINTS

    async with kiosk_hall(fresh_db) as hall:  # a printer is registered but never connects
        page = await open_kiosk(kiosk_url(hall))
        await _choose_area(page, "business")
        await page.tap("[data-service='A']")
        await page.wait_for_selector("#ticket-qr:not([hidden])")
        hall.clock.advance(hall.config.printing.job_ttl_seconds + 1)
        assert await hall.client.server.app[PRINTS].expire_stale() == 1
        await page.wait_for_selector("#print-status[data-state='expired']", timeout=5000)
        assert "打印超时，请到导服台补打" in await page.text_content("#print-status")
        assert await page.is_visible("#ticket-qr"), "the QR code stays on screen"
