"""Fixtures of the people's pages: the whole app on a fresh database (tests/support/hall.py)
with the clerk 1001 张三, the manager 9001, the rating tablet E01 of window 1, the display
D01 and the kiosk K01; Chromium with one context per device size."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.screens.conftest import CHROMIUM, CHROMIUM_ARGS  # the screen tests' launch settings
from tests.support.hall import Hall, start_hall

CONSOLE = {"width": 1366, "height": 768}
TABLET = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}

PASSWORD = "secret-pass-1"

NewPage = Callable[..., Awaitable[object]]


@pytest.fixture
async def hall(fresh_db: str) -> AsyncIterator[Hall]:
    async for h in start_hall(fresh_db):
        await h.add_staff("1001", name="张三", password=PASSWORD)
        await h.add_staff("9001", name="王经理", role="manager", password=PASSWORD)
        await h.add_device("E01", role="evaluator", window=1)
        await h.add_device("D01", role="display")
        await h.add_device("K01", role="kiosk")
        yield h


def base_url(hall: Hall) -> str:
    return f"http://127.0.0.1:{hall.client.port}"


def _chromium_installed() -> bool:
    return Path(CHROMIUM).exists()


@pytest.fixture
async def browser():
    if not _chromium_installed():  # .ci/run installs it: a test that cannot run fails
        pytest.fail(f"{CHROMIUM} is not installed")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def new_page(browser) -> AsyncIterator[NewPage]:
    """new_page(viewport, mobile=False, csp=False): a page in a context of its own (its own
    storage); every page must finish without a script error."""
    contexts = []
    errors: list[str] = []

    async def make(viewport: dict[str, int], *, mobile: bool = False, csp: bool = False):
        # Without `csp` the pages' Content-Security-Policy is bypassed: wait_for_function
        # evaluates strings, which it forbids (test_the_pages_run_under_their_csp keeps it).
        context = await browser.new_context(
            viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=not csp,
            is_mobile=mobile, has_touch=mobile, device_scale_factor=2 if mobile else 1)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        await context.close()
    assert not errors, f"a page raised: {errors}"


async def ledger(hall: Hall, *, by: str = "9001") -> list[dict]:
    """Every ledger row of gongshu, oldest first."""
    resp = await hall.client.get("/api/v1/halls/gongshu/events?limit=1000", headers=hall.auth(by))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["events"]


def kinds(events: list[dict], *wanted: str) -> list[str]:
    return [e["kind"] for e in events if not wanted or e["kind"] in wanted]
