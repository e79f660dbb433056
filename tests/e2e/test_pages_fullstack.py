"""The hall and window pages in headless Chromium against the real server: the whole app on
PostgreSQL (tests/support/hall.py, with a Redis of the test's own as the relay), and real
`queue-server serve` processes for a restart on the same port. Screenshots go to
/tmp/e2e-*.png."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from queue_server.adapters import store
from queue_server.main import auth_service
from queue_server.protocol import announcement
from tests.e2e.e2e_support import PASSWORD, Api
from tests.support.hall import Hall, start_hall
from tests.support.servers import free_port

pytestmark = pytest.mark.browser

LATEST_IS = "document.getElementById('latest-number')?.textContent === {!r}"


@pytest.fixture
async def hall(fresh_db: str, restartable_redis) -> AsyncIterator[Hall]:
    """The app on a fresh database, relaying through Redis; display D01, kiosk K01 and the
    clerk 1001 张三 of gongshu. The clock stands still unless the test advances it."""
    async for h in start_hall(fresh_db, redis_url=restartable_redis.url):
        await h.add_device("D01", role="display")
        await h.add_device("K01", role="kiosk")
        await h.add_staff("1001", name="张三")
        yield h


def base_url(hall: Hall) -> str:
    return f"http://127.0.0.1:{hall.client.port}"


async def open_page(page, url: str) -> None:
    await page.goto(url)
    await page.wait_for_function("window.hallQueue && window.hallQueue.board.seq !== null")


async def announcements(page) -> list[dict]:
    return await page.evaluate("JSON.parse(JSON.stringify(window.hallQueue.announcements))")


async def test_a_call_shows_on_the_hall_page_within_a_second_and_a_recall_is_said_twice(
        page, hall: Hall) -> None:
    loop = asyncio.get_running_loop()
    await hall.issue("A")
    await hall.issue("A")
    await hall.act(1, "open")
    await open_page(page, f"{base_url(hall)}/display/hall/gongshu?token={hall.tokens['D01']}")
    assert await page.text_content("#hall-name") == "拱墅区行政服务中心"
    assert "欢迎光临" in await page.text_content("#latest-body")
    # headless Chromium lets a page play sound, like a hall TV started as the README says: the
    # page turns sound on by itself, with no click
    await page.wait_for_function("window.hallQueue.soundOn")

    answer = await hall.act(1, "call-next")
    answered = loop.time()
    assert answer["ticket"]["number"] == "A001"
    await page.wait_for_function(LATEST_IS.format("A001"), timeout=1000)
    assert loop.time() - answered < 1.0
    assert await page.text_content("#latest-window") == "1"
    assert await page.is_hidden("#latest-recall")
    waiting = await page.text_content("#services")
    assert "企业开办" in waiting and "等候 1 人" in waiting
    await page.screenshot(path="/tmp/e2e-hall-called.png")

    hall.clock.advance(31)  # recalls are at least 30 s apart
    await hall.act(1, "recall")
    await page.wait_for_selector("#latest-recall", timeout=1000)
    assert await page.text_content("#latest-recall") == "第 2 次呼叫"
    assert await page.text_content("#latest-number") == "A001"
    entries = await announcements(page)
    first = "请 A 0 0 1 号 到 1 号窗口 办理"
    second = "请 A 0 0 1 号 到 1 号窗口 办理，第 2 次呼叫"
    assert [e["text"] for e in entries] == [f"{first}。{first}。", f"{second}。{second}。"]
    assert [e["text"] for e in entries] == [announcement("A001", 1),
                                            announcement("A001", 1, 2)]
    await page.screenshot(path="/tmp/e2e-hall-recalled.png")

    # Sound is on: the page takes them off the muted list and speaks them one at a time.
    states = [e["state"] for e in await announcements(page)]
    assert "muted" not in states and states.count("speaking") <= 1, states


async def test_the_page_gets_the_wav_of_a_call_followed_by_another_event(
        page, hall: Hall) -> None:
    """Headless Chromium has no Chinese voice, like many hall PCs: the page plays the
    server's espeak-ng WAV of the call. In a busy hall more events follow a call before the
    page asks for its WAV (here a ticket is issued during the 1.5 s chime)."""
    wavs: list[tuple[str, int, str]] = []
    asked = asyncio.Event()

    def response(r) -> None:
        if ".wav" in r.url:
            wavs.append((r.url, r.status, r.headers.get("content-type")))
            asked.set()

    page.on("response", response)
    await hall.issue("A")
    await hall.act(1, "open")
    token = hall.tokens["D01"]
    await open_page(page, f"{base_url(hall)}/display/hall/gongshu?token={token}")
    assert await page.evaluate("speechSynthesis.getVoices().length") == 0
    await page.wait_for_function("window.hallQueue.soundOn")  # on by itself (headless plays sound)
    await hall.act(1, "call-next")
    await page.wait_for_function(LATEST_IS.format("A001"), timeout=1000)
    call_seq = await page.evaluate("window.hallQueue.board.seq")
    await hall.issue("B")  # the next event of the hall, committed before the chime ends
    await page.wait_for_function(f"window.hallQueue.board.seq === {call_seq + 1}")
    async with asyncio.timeout(6):  # after the 1.5 s chime
        await asked.wait()
    url, status, content_type = wavs[0]
    assert f"/announcements/{call_seq}.wav" in url
    direct = await hall.client.get(
        f"/api/v1/halls/gongshu/announcements/{call_seq}.wav?token={token}")
    direct_body = await direct.read()
    assert (status, content_type) == (200, "audio/wav"), (
        f"the page's WAV of call {call_seq}: HTTP {status} {content_type}; "
        f"the same URL now: HTTP {direct.status} {direct_body[:200]!r}")
    entries = await announcements(page)
    assert entries[0]["state"] in ("speaking", "done"), entries


async def test_a_hall_page_opened_after_calls_shows_the_latest_call(page, hall: Hall) -> None:
    """A screen switched on (or reloaded) mid-morning starts from the server's snapshot."""
    await hall.issue("A")
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    hall.clock.advance(31)
    await hall.act(1, "recall")
    await open_page(page, f"{base_url(hall)}/display/hall/gongshu?token={hall.tokens['D01']}")
    await page.wait_for_timeout(200)
    await page.screenshot(path="/tmp/e2e-hall-opened-after-calls.png")
    assert await page.text_content("#latest-body") != "欢迎光临，请取号等候"
    assert await page.text_content("#latest-number") == "A001"
    assert await page.text_content("#latest-window") == "1"
    assert await page.text_content("#latest-recall") == "第 2 次呼叫"


async def test_the_window_page_shows_the_staff_on_duty_and_a_pause(page, hall: Hall) -> None:
    await hall.issue("A")
    await open_page(page, f"{base_url(hall)}/display/window/gongshu/1"
                          f"?token={hall.tokens['D01']}")
    assert await page.text_content("#window-number") == "1 号窗口"
    assert await page.text_content("#window-services") == "企业开办、个体工商户登记、企业变更注销"
    assert await page.text_content("#staff") == "暂无工作人员在岗"

    await hall.act(1, "open")
    await page.wait_for_function(
        "document.getElementById('window-state').textContent === '在岗'", timeout=2000)
    staff = await page.text_content("#staff")
    assert "张三" in staff and "工号 1001" in staff and "顶岗" not in staff
    await page.screenshot(path="/tmp/e2e-window-open.png")

    await hall.act(1, "pause", reason="午休")
    await page.wait_for_function(
        "document.getElementById('window-state').textContent === '暂停服务（午休）'",
        timeout=2000)
    assert "午休" in await page.text_content("#serving")
    assert await page.text_content("#civility") == ""
    await page.screenshot(path="/tmp/e2e-window-paused.png")

    await hall.act(1, "resume")
    await hall.act(1, "call-next")
    await page.wait_for_function(
        "document.getElementById('serving-number')?.textContent === 'A001'", timeout=2000)
    assert await page.text_content("#window-state") == "在岗"
    assert await page.text_content("#civility") in ("您好，请坐。", "您好，请问您要办理什么业务？")
    await page.screenshot(path="/tmp/e2e-window-called.png")


async def _accounts(dsn: str) -> tuple[str, str]:
    """Clerk 1001 张三 (password PASSWORD); the tokens of display D01 and kiosk K01."""
    pool = await store.create_pool(dsn, min_size=1, max_size=1)
    try:
        auth = auth_service(pool, ttl_minutes=60)
        await auth.add_staff(staff_id="1001", hall="gongshu", name="张三", role="staff",
                             password=PASSWORD)
        display = await auth.add_device(hall="gongshu", role="display", name="D01")
        kiosk = await auth.add_device(hall="gongshu", role="kiosk", name="K01")
    finally:
        await pool.close()
    return display, kiosk


async def test_the_hall_page_marks_a_server_restart_and_catches_up(
        page, migrated_db: str, restartable_redis, start_server,
        http: aiohttp.ClientSession) -> None:
    """The page's server B stops; a call is made through server A meanwhile; B comes back on
    the same port and the page shows that call."""
    display, kiosk = await _accounts(migrated_db)
    a, b = await asyncio.gather(
        start_server(migrated_db, redis_url=restartable_redis.url),
        start_server(migrated_db, redis_url=restartable_redis.url, port=free_port()))
    api = Api(http, a.url)
    clerk = await api.login("1001")
    await api.issue("A", kiosk)
    await api.issue("A", kiosk)
    await api.act(1, "open", clerk)
    await open_page(page, f"{b.url}/display/hall/gongshu?token={display}")
    await api.act(1, "call-next", clerk)
    await page.wait_for_function(LATEST_IS.format("A001"), timeout=1000)
    assert await page.is_hidden("#offline")

    await asyncio.to_thread(b.stop)
    await page.wait_for_selector("#offline", state="visible", timeout=3000)
    assert (await page.text_content("#offline")).startswith("与服务器的连接中断，正在重连… 最后联系 ")
    await api.act(1, "start", clerk)
    await api.act(1, "finish", clerk)
    answer = await api.act(1, "call-next", clerk)  # while the page cannot hear
    assert answer["ticket"]["number"] == "A002"
    await page.screenshot(path="/tmp/e2e-hall-offline.png")
    assert await page.text_content("#latest-number") == "A001"

    await asyncio.to_thread(b.start)
    await page.wait_for_selector("#offline", state="hidden", timeout=15000)
    await page.wait_for_function(LATEST_IS.format("A002"), timeout=3000)
    assert await page.text_content("#latest-window") == "1"
    seq = (await api.queue())["seq"]
    assert await page.evaluate("window.hallQueue.board.seq") == seq
    recent = await page.text_content("#recent")
    assert "A001" in recent
    await page.screenshot(path="/tmp/e2e-hall-recovered.png")


async def test_screens_of_a_server_in_training_mode_say_so_and_others_do_not(page, hall: Hall, fresh_db) -> None:
    await open_page(page, f"{base_url(hall)}/display/hall/gongshu?token={hall.tokens['D01']}")
    assert await page.is_hidden("#training-mark"), "a server in business hours is no training"
    async for training in start_hall(fresh_db, ignore_hours=True):
        url = f"http://127.0.0.1:{training.client.port}"
        await open_page(page, f"{url}/display/hall/gongshu?token={hall.tokens['D01']}")
        assert await page.text_content("#training-mark") == "培训模式"
        assert await page.is_visible("#training-mark")
        await page.goto(f"{url}/display/window/gongshu/1?token={hall.tokens['D01']}")
        await page.wait_for_selector("#training-mark", state="visible")
        await page.screenshot(path="/tmp/e2e-window-training.png")
