"""Headless Chromium for the page tests: Debian's /usr/bin/chromium driven by Playwright.

Playwright cannot download browsers here, so the Debian build is launched by path. A
machine without it fails the tests that need it (.ci/run installs it); none is skipped."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
    # as a hall TV without the README's flag (headless Chromium lets sound play regardless; the
    # screens' tests hold it back until a gesture, tests/screens/conftest.py)
    "--autoplay-policy=user-gesture-required",
]


# A hall TV as the README starts it: sound without a click (kiosk mode is irrelevant headless).
TV_ARGS = [a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy=")] + [
    "--autoplay-policy=no-user-gesture-required"]


@contextlib.asynccontextmanager
async def chromium(args: list[str] | None = None) -> AsyncIterator[Any]:
    if shutil.which(CHROMIUM) is None:
        raise AssertionError(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args or CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
