"""The configured [time] timezone and the server's clock reach every page (issue 9, point 6):
nothing in the pages says "Asia/Shanghai"; a hall in Berlin shows Berlin time even on a
browser set to Shanghai."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from queue_server.config import load_config
from tests.printer_e2e.harness import kiosk_hall, server_url
from tests.support.hall import ROOT, FakeClock

STATIC = ROOT / "queue_server" / "web" / "static"
# Monday 2026-11-30 10:00 in Berlin (17:00 in Shanghai): inside the sample halls' hours.
MONDAY_10AM_BERLIN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def berlin_config(tmp_path: Path):
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert 'timezone = "Asia/Shanghai"' in text
    path = tmp_path / "berlin.toml"
    path.write_text(text.replace('timezone = "Asia/Shanghai"', 'timezone = "Europe/Berlin"', 1), encoding="utf-8")
    return load_config(path, env={})


def test_no_page_hard_codes_a_time_zone():
    for script in STATIC.rglob("*.js"):
        assert "Asia/Shanghai" not in script.read_text(encoding="utf-8"), script
    assert "Asia/Shanghai" not in (ROOT / "queue_server" / "web" / "screens.py").read_text(encoding="utf-8")


def test_every_page_loads_the_time_zone_script_before_its_modules():
    pages = sorted(STATIC.rglob("*.html"))
    assert {p.parent.name for p in pages} >= {"display", "kiosk", "ticket", "staff", "evaluate"}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert '<script src="/display/time-zone.js"></script>' in text, page
        assert text.index("/display/time-zone.js") < text.index('type="module"'), page


async def test_the_time_zone_script_carries_the_configured_zone_and_the_servers_clock(fresh_db, tmp_path):
    async with kiosk_hall(fresh_db, config=berlin_config(tmp_path), clock=FakeClock(MONDAY_10AM_BERLIN),
                          printer=False) as hall:
        resp = await hall.client.get("/display/time-zone.js")
        assert resp.status == 200 and resp.content_type == "text/javascript"
        assert resp.headers["Cache-Control"] == "no-store"
        body = await resp.text()
        assert 'window.HALL_TIME_ZONE = "Europe/Berlin";' in body
        assert 'Date.parse("2026-11-30T10:00:00+01:00")' in body  # the server's clock, in Berlin


@pytest.mark.parametrize("page", ["display", "kiosk"])
async def test_a_berlin_hall_shows_berlin_time_on_a_browser_set_to_shanghai(fresh_db, tmp_path, browser, page):
    async with kiosk_hall(fresh_db, config=berlin_config(tmp_path), clock=FakeClock(MONDAY_10AM_BERLIN),
                          printer=False) as hall:
        await hall.add_device("D01", role="display")
        context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
        errors: list[str] = []
        try:
            tab = await context.new_page()
            tab.on("pageerror", lambda error: errors.append(str(error)))
            base = server_url(hall)
            if page == "display":
                await tab.goto(f"{base}display/hall/gongshu?token={hall.tokens['D01']}")
            else:
                await tab.goto(f"{base}kiosk/gongshu?token={hall.tokens['K01']}")
            await tab.wait_for_function("() => document.getElementById('time').textContent.length > 0")
            assert await tab.evaluate("window.HALL_TIME_ZONE") == "Europe/Berlin"
            shown = await tab.text_content("#time")
            date = await tab.text_content("#date")
        finally:
            await context.close()
        assert not errors, errors
        # The server's (fake) clock in Berlin: 10:00, not the browser's zone (17:00 in Shanghai)
        # and not the browser's own clock.
        assert shown is not None and shown.startswith("10:0"), shown
        assert date is not None and "11月30日" in date and "星期一" in date, date
