"""A screen recovers by itself when the cause goes away (issue 13 point 2), in Chromium against
the screen routes: its hall disappears from the configuration → the Chinese not-found page,
which retries; the hall comes back → the hall screen again, with no one touching the TV."""

from __future__ import annotations

import pytest
from screens_fakes import TOKEN, FakeHall, ScreenServer

from queue_server.web import missing
from queue_server.web.hub import Hub

pytestmark = pytest.mark.browser

SHOWS_THE_BOARD = "window.hallQueue && window.hallQueue.board.seq !== null"


async def test_a_screen_whose_hall_goes_away_says_so_in_chinese_and_comes_back_by_itself(
        page, fake: FakeHall, hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(missing, "RETRY_SECONDS", 2)
    server = ScreenServer(fake, hub)
    await server.start()
    try:
        await page.goto(f"{server.url}/display/hall/gongshu?token={TOKEN}")
        await page.wait_for_function(SHOWS_THE_BOARD)

        # The server restarts with a configuration that no longer has the hall.
        await server.stop()
        monkeypatch.setattr(fake, "halls", lambda: [])
        await server.start()
        await page.wait_for_selector("#missing-title", timeout=20000)
        assert await page.text_content("#missing-title") == "找不到这个大厅（大厅屏）"
        assert await page.text_content("#missing-detail") == "没有大厅 'gongshu'"

        # And again with the hall: the page finds its way back on its own.
        await server.stop()
        monkeypatch.undo()
        monkeypatch.setattr(missing, "RETRY_SECONDS", 2)
        await server.start()
        await page.wait_for_function(SHOWS_THE_BOARD, timeout=15000)
        assert await page.is_hidden("#offline")
    finally:
        await server.stop()


async def test_the_reconnecting_mark_says_since_when_and_whether_the_server_answered(
        page, fake: FakeHall, hub: Hub) -> None:
    server = ScreenServer(fake, hub)
    await server.start()
    try:
        await page.goto(f"{server.url}/display/hall/gongshu?token={TOKEN}")
        await page.wait_for_function(SHOWS_THE_BOARD)
        texts = await page.evaluate("""import('/display/static/device.js').then((m) => {
          const now = Date.now();
          return [
            m.offlineText('connecting', null, now),
            m.offlineText('offline', null, now - 65000),
            m.offlineText('offline', now - 3 * 3600000 - 120000, now - 4 * 3600000, 'unavailable'),
          ];
        })""")
    finally:
        await server.stop()
    assert texts[0] == "正在连接服务器…"
    assert texts[1] == "与服务器的连接中断，正在重连… 已尝试 1 分钟"
    assert texts[2].startswith("服务器暂时无法服务，正在重连… 最后联系 ")
    assert texts[2].endswith("（3 小时 2 分钟前）")
