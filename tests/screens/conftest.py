"""Fixtures for the live-screen tests: an in-memory hall, the hub, Chromium.

`redis_url` comes from tests/conftest.py (QUEUE_TEST_REDIS_URL, the local Redis, or one of
our own)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The screen tests import their fakes by module name, wherever pytest is started from.
sys.path.insert(0, str(Path(__file__).parent))
_root = str(Path(__file__).parents[2])
if _root not in sys.path:
    sys.path.insert(0, _root)

from screens_fakes import FakeHall  # noqa: E402

from queue_server.web.hub import Hub  # noqa: E402
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402,F401  (re-exported)


@pytest.fixture
def fake() -> FakeHall:
    return FakeHall()


@pytest.fixture
def hub() -> Hub:
    return Hub()


# Headless Chromium plays sound without a gesture whatever --autoplay-policy says; a hall TV's
# browser started without the README's flag does not. This makes the page's browser behave like
# the TV's: audio stays suspended (resume() never settles) until the first click or key.
HOLD_SOUND_UNTIL_A_GESTURE = """(() => {
  const Real = window.AudioContext;
  if (!Real) return;
  let allowed = false;
  const allow = () => { allowed = true; };
  addEventListener("pointerdown", allow, true);
  addEventListener("keydown", allow, true);
  window.AudioContext = class extends Real {
    get state() { return allowed ? super.state : "suspended"; }
    resume() { return allowed ? super.resume() : new Promise(() => {}); }
  };
})();"""


@pytest.fixture
async def page(browser):
    # bypass_csp: wait_for_function evaluates strings, which the pages' CSP forbids;
    # test_the_pages_run_under_their_content_security_policy covers the CSP itself.
    context = await browser.new_context(viewport={"width": 1920, "height": 1080},
                                        locale="zh-CN", timezone_id="Asia/Shanghai",
                                        bypass_csp=True)
    await context.add_init_script(HOLD_SOUND_UNTIL_A_GESTURE)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"the page raised: {errors}"
