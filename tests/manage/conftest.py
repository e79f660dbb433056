"""Fixtures of the review pages (/manage, /manage/mine): the whole app on a fresh database
with a small served morning in 拱墅区行政服务中心 — three tickets served at windows 1 and 2
by 张三 (1001) and 李四 (1002), two tablet ratings at window 1 — and the people who review
it: the hall's manager 9001, the district's manager d01 (region gongshu), the 湖墅 hall's
manager hs9; Chromium pages at 1366×768 signed in as any of them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.hall import Hall, start_hall

OFFICE = {"width": 1366, "height": 768}
SCREENSHOTS = Path(__file__).parent / "screenshots"
SESSION_KEY = "hall-queue.manage"  # queue_server/web/static/manage/common.js

NewPage = Callable[..., Awaitable[Any]]


async def _serve(hall: Hall, window: int, by: str, handle_s: float, wait_s: float) -> dict:
    hall.clock.advance(wait_s)
    called = await hall.act(window, "call-next", by=by)
    hall.clock.advance(30)
    await hall.act(window, "start", by=by)
    hall.clock.advance(handle_s)
    await hall.act(window, "finish", by=by)
    return called


async def _rate(hall: Hall, number: str, level: str, **extra: Any) -> None:
    resp = await hall.client.post("/api/v1/halls/gongshu/windows/1/rating",
                                  json={"number": number, "level": level, **extra}, headers=hall.auth("E01"))
    assert resp.status == 201, await resp.text()


@pytest.fixture
async def hall(fresh_db: str) -> AsyncIterator[Hall]:
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_device("E01", role="evaluator", window=1)
        await h.add_staff("1001", name="张三")
        await h.add_staff("1002", name="李四")
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("d01", name="区级管理员", role="manager", hall=None, region="gongshu")
        await h.add_staff("hs9", name="湖墅经理", role="manager", hall="hushu")
        first = await h.issue("A")
        second = await h.issue("A")
        await h.issue("A")
        await h.act(1, "open", by="1001")
        await h.act(2, "open", by="1002")
        await _serve(h, 1, "1001", handle_s=300, wait_s=120)
        await _rate(h, first["number"], "very_satisfied")
        await _serve(h, 1, "1001", handle_s=200, wait_s=60)
        await _rate(h, second["number"], "dissatisfied", labels=["等候时间过长"])
        await _serve(h, 2, "1002", handle_s=400, wait_s=30)
        yield h


def base_url(hall: Hall) -> str:
    return f"http://127.0.0.1:{hall.client.port}"


async def stats(hall: Hall, who: str, **query: Any) -> dict:
    resp = await hall.client.get("/api/v1/stats", params={k: str(v) for k, v in query.items()},
                                 headers=hall.auth(who))
    assert resp.status == 200, await resp.text()
    return await resp.json()


@pytest.fixture
async def new_page(browser) -> AsyncIterator[NewPage]:
    """new_page(hall, who=None, csp=False): a 1366×768 page in a context of its own, signed in
    as `who` (the token in sessionStorage, as the sign-in form leaves it); every page must
    finish without a script error."""
    contexts = []
    errors: list[str] = []

    async def make(hall: Hall | None = None, who: str | None = None, *, csp: bool = False):
        context = await browser.new_context(
            viewport=OFFICE, locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=not csp,
            accept_downloads=True)
        contexts.append(context)
        if who is not None:
            assert hall is not None
            saved = json.dumps({"token": hall.tokens[who], "staffId": who, "name": who})
            await context.add_init_script(
                f"if (!sessionStorage.getItem({json.dumps(SESSION_KEY)})) "
                f"sessionStorage.setItem({json.dumps(SESSION_KEY)}, {json.dumps(saved)});")
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        await context.close()
    assert not errors, f"a page raised: {errors}"


async def ready(page: Any, after: int = 0) -> None:
    """Wait until the page has drawn an answer after its answer number `after` (0: its first).

    A selector, not wait_for_function: that evaluates a string, which the pages' CSP forbids."""
    await page.locator(f"body[data-ready]:not([data-ready='{after}'])").wait_for(state="attached", timeout=15000)


async def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
