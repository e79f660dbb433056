"""Fixtures for the kiosk page: headless Chromium on a touch screen, in both orientations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}


@pytest.fixture
async def open_kiosk(browser) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """open_kiosk(url, viewport=PORTRAIT) → a page of the kiosk, loaded and showing its view.

    The page runs under its own content security policy; an error it raises fails the test.
    """
    contexts = []
    errors: list[str] = []

    async def open_page(url: str, *, viewport: dict[str, int] = PORTRAIT) -> Any:
        context = await browser.new_context(viewport=viewport, locale="zh-CN",
                                            timezone_id="Asia/Shanghai", has_touch=True)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(url)
        await page.wait_for_function("() => window.hallQueue && window.hallQueue.state.view")
        return page

    yield open_page
    for context in contexts:
        await context.close()
    assert not errors, f"the kiosk page raised: {errors}"
