"""The hall and window pages in real headless Chromium against the real endpoint."""

from __future__ import annotations

import asyncio
import copy
import json
import random
import shutil

import pytest
from screens_fakes import TOKEN, FakeHall, ScreenServer

from display_client.state import Board, SendResync, apply
from queue_server.adapters.speech import Speech
from queue_server.protocol import (
    Event,
    Heartbeat,
    ProtocolError,
    Snapshot,
    announcement,
    call_sentence,
    decode,
    encode,
)
from queue_server.web.hub import Hub

pytestmark = pytest.mark.browser


@pytest.fixture
async def server(fake: FakeHall, hub: Hub):
    speech = Speech() if shutil.which("espeak-ng") else None
    server = ScreenServer(fake, hub, speech=speech)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _open(page, server: ScreenServer, path: str, query: str = "") -> None:
    await page.goto(f"{server.url}{path}?token={TOKEN}{query}")
    await page.wait_for_function("window.hallQueue && window.hallQueue.board.seq !== null")


async def _announcements(page) -> list[dict]:
    return await page.evaluate("JSON.parse(JSON.stringify(window.hallQueue.announcements))")


async def test_the_hall_page_shows_a_published_call_within_a_second(page, server, fake, hub):
    await _open(page, server, "/display/hall/gongshu")
    assert await page.text_content("#hall-name") == "拱墅区行政服务中心"
    started = asyncio.get_running_loop().time()
    hub.publish("gongshu", [fake.call("A023", 1)])
    await page.wait_for_function(
        "document.getElementById('latest-number')?.textContent === 'A023'", timeout=1000)
    assert asyncio.get_running_loop().time() - started < 1.0
    assert await page.text_content("#latest-window") == "1"
    assert "企业开办" in await page.text_content("#services")


async def test_a_recall_shows_its_count_and_is_announced_twice(page, server, fake, hub):
    await _open(page, server, "/display/hall/gongshu")
    await page.click("#sound")  # the one-time gesture that allows sound
    assert await page.is_hidden("#sound")
    hub.publish("gongshu", [fake.call("A023", 1)])
    hub.publish("gongshu", [fake.call("A023", 1, calls=2)])
    await page.wait_for_selector("#latest-recall")
    assert await page.text_content("#latest-recall") == "第 2 次呼叫"
    entries = await _announcements(page)
    assert [e["text"] for e in entries] == [announcement("A023", 1),
                                            announcement("A023", 1, 2)]
    recall = entries[1]["text"]
    sentence = call_sentence("A023", 1, 2)
    assert sentence == "请 A 0 2 3 号 到 1 号窗口 办理，第 2 次呼叫"
    assert recall == f"{sentence}。{sentence}。"  # said twice
    # One at a time: never two speaking at once.
    for _ in range(20):
        states = [e["state"] for e in await _announcements(page)]
        assert states.count("speaking") <= 1
        await asyncio.sleep(0.05)


async def test_without_a_chinese_voice_the_page_plays_the_servers_wav(page, server, fake, hub):
    assert server.options.get("speech") is not None, "espeak-ng is not installed (apt-get install espeak-ng)"
    wav_requested = asyncio.Event()
    wav = f"/announcements/{fake.snapshot['seq'] + 1}.wav"  # of the call published below
    page.on("request", lambda request: wav_requested.set() if wav in request.url else None)
    await _open(page, server, "/display/hall/gongshu")
    assert await page.evaluate("speechSynthesis.getVoices().length") == 0  # headless
    await page.click("#sound")
    call = fake.call("C105", 5)
    hub.publish("gongshu", [call])
    await page.wait_for_function(
        "window.hallQueue.announcements.some(e => e.state !== 'queued')", timeout=5000)
    async with asyncio.timeout(5):
        await wav_requested.wait()


async def test_calls_are_recorded_but_not_spoken_until_sound_is_enabled(page, server, fake, hub):
    await _open(page, server, "/display/hall/gongshu")
    # shown once the page has found that sound cannot start by itself (~0.3 s)
    await page.wait_for_selector("#sound", state="visible")
    hub.publish("gongshu", [fake.call("A023", 1)])
    await page.wait_for_function("window.hallQueue.announcements.length === 1")
    assert [e["state"] for e in await _announcements(page)] == ["muted"]


async def test_an_area_screen_shows_and_announces_only_its_area(page, server, fake, hub):
    await _open(page, server, "/display/hall/gongshu", "&area=social")
    assert await page.text_content("#area-name") == "社保医保区"
    services = await page.text_content("#services")
    assert "社保参保" in services and "企业开办" not in services
    hub.publish("gongshu", [fake.call("A023", 1), fake.call("C105", 5)])
    await page.wait_for_function(
        "document.getElementById('latest-number')?.textContent === 'C105'")
    assert "A023" not in await page.text_content("#recent")
    assert [e["text"] for e in await _announcements(page)] == [announcement("C105", 5)]


async def test_silent_mode_announces_nothing(page, server, fake, hub):
    await _open(page, server, "/display/hall/gongshu", "&silent=1")
    assert await page.is_hidden("#sound")
    assert await page.is_visible("#silent-mark")
    hub.publish("gongshu", [fake.call("A023", 1)])
    await page.wait_for_function(
        "document.getElementById('latest-number')?.textContent === 'A023'")
    assert await _announcements(page) == []


async def test_a_hall_without_voice_is_silent(page, hub):
    fake = FakeHall(voice=False)
    server = ScreenServer(fake, hub)
    await server.start()
    try:
        await _open(page, server, "/display/hall/gongshu")
        hub.publish("gongshu", [fake.call("A023", 1)])
        await page.wait_for_function(
            "document.getElementById('latest-number')?.textContent === 'A023'")
        assert await _announcements(page) == []
        assert await page.is_hidden("#sound")
    finally:
        await server.stop()


async def test_the_offline_mark_shows_while_the_server_is_down_and_the_page_recovers(
        page, server, fake, hub):
    await _open(page, server, "/display/hall/gongshu")
    hub.publish("gongshu", [fake.call("A023", 1)])
    await page.wait_for_function(
        "document.getElementById('latest-number')?.textContent === 'A023'")
    assert await page.is_hidden("#offline")
    await server.stop()
    await page.wait_for_selector("#offline", state="visible", timeout=3000)
    # It says since when it has not heard from the server, and counts on.
    assert (await page.text_content("#offline")).startswith("与服务器的连接中断，正在重连… 最后联系 ")
    await page.wait_for_function(
        r"/最后联系 \d\d:\d\d:\d\d（[2-9] 秒前）/.test(document.getElementById('offline').textContent)",
        timeout=6000)
    fake.call("B011", 2)  # committed while the screen could not hear
    await page.screenshot(path="/tmp/screens_hall_offline.png")
    await server.start()
    await page.wait_for_selector("#offline", state="hidden", timeout=10000)
    await page.wait_for_function(
        "document.getElementById('latest-number')?.textContent === 'B011'", timeout=3000)
    assert await page.evaluate("window.hallQueue.board.seq") == fake.snapshot["seq"]


async def test_the_page_resyncs_after_a_gap(page, server, fake, hub):
    await _open(page, server, "/display/hall/gongshu")
    fake.call("A023", 1)  # lost on the way
    hub.publish("gongshu", [fake.call("B011", 2)])
    await page.wait_for_function("window.hallQueue.board.seq === 2")
    assert "A023" in await page.text_content("#recent")


async def test_the_hall_page_at_1920x1080(page, server, fake, hub):
    for number, window_number in (("A021", 1), ("A022", 2), ("C103", 5), ("B011", 1)):
        fake.call(number, window_number)
    fake.call("C105", 5)
    fake.call("C105", 5, calls=2)
    await _open(page, server, "/display/hall/gongshu")
    await page.wait_for_timeout(300)
    await page.screenshot(path="/tmp/screens_hall.png")
    overflowing = await page.evaluate("""() => [...document.querySelectorAll(
        '.latest, .recent, .waiting, .service-card, .bar')].filter(
        e => e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1)
        .map(e => e.className)""")
    assert overflowing == []


async def test_the_window_page_shows_the_staff_on_duty(page, server, fake, hub):
    await _open(page, server, "/display/window/gongshu/5")
    assert await page.text_content("#window-number") == "5 号窗口"
    assert await page.text_content("#window-services") == "社保参保、医保报销"
    staff = await page.text_content("#staff")
    assert "赵敏" in staff and "工号 1005" in staff and "顶岗人员" in staff
    assert await page.text_content("#window-state") == "顶岗：赵敏"
    hub.publish("gongshu", [fake.call("C105", 5)])
    await page.wait_for_function(
        "document.getElementById('serving-number')?.textContent === 'C105'")
    assert await page.text_content("#civility") in ("您好，请坐。", "您好，请问您要办理什么业务？")
    await page.wait_for_timeout(200)
    await page.screenshot(path="/tmp/screens_window.png")
    hub.publish("gongshu", [fake.start_service(5)])
    await page.wait_for_function(
        "document.getElementById('civility').textContent === '请稍候，我马上为您办理。'")
    hub.publish("gongshu", [fake.finish(5)])
    await page.wait_for_function(
        "document.getElementById('civility').textContent === '您的手续已办好，请核对。'")


async def test_the_window_page_shows_a_pause_and_its_reason(page, server, fake, hub):
    await _open(page, server, "/display/window/gongshu/3")
    assert await page.text_content("#window-state") == "暂停服务（午休）"
    assert await page.text_content("#civility") == ""
    await page.screenshot(path="/tmp/screens_window_paused.png")
    await _open(page, server, "/display/window/gongshu/1")
    assert await page.text_content("#window-state") == "在岗"
    hub.publish("gongshu", [fake.pause(1, "材料核验")])
    await page.wait_for_function(
        "document.getElementById('window-state').textContent === '暂停服务（材料核验）'")


async def test_the_pages_show_only_the_fields_they_know(page, server, fake, hub):
    """Even if a citizen's name or ID number slipped into an event, no page would show it."""
    event = fake.call("A023", 1)
    for ticket in (event["ticket"], event["window"]["current"]):
        ticket.update(citizen_name="张三丰", id_number="330105199001011234", phone="13800001111")
    for path in ("/display/hall/gongshu", "/display/window/gongshu/1"):
        await _open(page, server, path)
        hub.publish("gongshu", [event])
        await page.wait_for_function("window.hallQueue.board.seq === 1")
        await page.wait_for_timeout(100)
        text = await page.text_content("body")
        assert "A023" in text
        assert "张三丰" not in text and "330105" not in text and "13800001111" not in text


async def test_the_pages_run_under_their_content_security_policy(browser, server, fake, hub):
    context = await browser.new_context(viewport={"width": 1920, "height": 1080})
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        fake.call("A023", 1)
        await page.goto(f"{server.url}/display/hall/gongshu?token={TOKEN}")
        await page.wait_for_selector("#latest-number:text('A023')")
        await page.goto(f"{server.url}/display/window/gongshu/1?token={TOKEN}")
        await page.wait_for_selector("#serving-number:text('A023')")
    finally:
        await context.close()
    assert problems == []


async def test_the_javascript_reducer_mirrors_the_python_one(page, server):
    """The same random message streams (gaps, duplicates, heartbeats, snapshots) through
    reducer.js and display_client/state.py end in the same board and the same actions."""
    await page.goto(f"{server.url}/display/static/reducer.js")
    rng = random.Random(20261130)
    cases = []
    for _ in range(60):
        hall = FakeHall()
        for _ in range(rng.randint(0, 25)):
            number = rng.choice([1, 2, 5])
            current = hall.window(number)["current"]
            roll = rng.random()
            if current and current["status"] == "called" and roll < 0.3:
                hall.call(current["number"], number, calls=current["calls"] + 1)
            elif current and current["status"] == "called" and roll < 0.5:
                hall.start_service(number)
            elif current and current["status"] == "serving" and roll < 0.7:
                hall.finish(number)
            elif roll < 0.8:
                hall.issue(rng.choice("ABCDE"))
            elif roll < 0.85:
                hall.post_notices(["午休"])
            else:
                hall.call(f"{hall.window(number)['services'][0]}{rng.randint(1, 99):03d}", number)
        messages = [Snapshot(0, copy.deepcopy(FakeHall().snapshot))]
        for _ in range(rng.randint(0, 40)):
            roll = rng.random()
            if hall.ledger and roll < 0.8:
                event = rng.choice(hall.ledger)
                messages.append(Event(event["seq"], event))
            elif roll < 0.95:
                messages.append(Heartbeat(rng.randint(0, 30), "x"))
            else:
                messages.append(Snapshot(hall.snapshot["seq"], copy.deepcopy(hall.snapshot)))
        area = rng.choice([None, "social", "business"])
        cases.append((area, messages))

    python_results = []
    for area, messages in cases:
        board, actions = Board(hall="gongshu", area=area), []
        for message in messages:
            board, more = apply(board, message)
            actions += [{"type": "resync", "after": a.after} if isinstance(a, SendResync) else
                        {"type": "announce", "seq": a.seq, "text": a.text, "number": a.number}
                        for a in more]
        python_results.append({"seq": board.seq, "snapshot": board.snapshot,
                               "resyncAfter": board.resync_after, "actions": actions})

    payload = [{"area": area, "messages": [json.loads(encode(m)) for m in messages]}
               for area, messages in cases]
    js_results = await page.evaluate("""async (cases) => {
        const r = await import('/display/static/reducer.js');
        return cases.map(({area, messages}) => {
            let board = r.emptyBoard({hall: 'gongshu', area});
            const actions = [];
            for (const m of messages) {
                const out = r.applyMessage(board, r.decode(JSON.stringify(m)));
                board = out.board;
                actions.push(...out.actions);
            }
            return {seq: board.seq, snapshot: board.snapshot, resyncAfter: board.resyncAfter,
                    actions};
        });
    }""", payload)
    assert js_results == python_results


async def test_the_javascript_decoder_refuses_what_the_python_one_refuses(page, server):
    frames = [
        "", "[]", '{"seq": 1}', '{"type": "snapshots"}', "[" * 10_000,
        '{"type": "heartbeat", "seq": -1, "at": ""}',
        '{"type": "event", "seq": 2, "event": {"seq": 3, "kind": "x", "hall": "h"}}',
        '{"type": "event", "seq": 2, "event": {"seq": 2, "kind": "ticket_called", "hall": "h",'
        ' "ticket": {"number": "A1", "calls": 1}}}',
        '{"type": "event", "seq": 2, "event": {"seq": 2, "kind": "window_paused", "hall": "h",'
        ' "window": {"number": "5"}}}',
        '{"type": "snapshot", "seq": 0, "snapshot": {"seq": 0, "hall": "h", "services": [],'
        ' "windows": {}, "recent_calls": []}}',
    ]
    for frame in frames:
        with pytest.raises(ProtocolError):
            decode(frame)
    await page.goto(f"{server.url}/display/static/reducer.js")
    decoded = await page.evaluate("""async (frames) => {
        const r = await import('/display/static/reducer.js');
        return frames.map((f) => r.decode(f));
    }""", frames)
    assert decoded == [None] * len(frames)


async def test_a_call_leaves_the_calling_panel_once_its_ticket_is_served_or_finished(page, server, fake, hub):
    await _open(page, server, "/display/hall/gongshu")
    hub.publish("gongshu", [fake.call("A023", 1)])
    await page.wait_for_selector("#latest-number:text('A023')")
    hub.publish("gongshu", [fake.call("B011", 2)])
    await page.wait_for_selector("#latest-number:text('B011')")
    hub.publish("gongshu", [fake.start_service(2)])  # B011 is being served: no longer called
    await page.wait_for_selector("#latest-number:text('A023')")
    assert "B011" in await page.text_content("#recent")
    hub.publish("gongshu", [fake.start_service(1), fake.finish(1)])
    await page.wait_for_selector("#latest-idle")
    assert await page.locator("#latest-number").count() == 0
    recent = await page.text_content("#recent")
    assert "A023" in recent and "B011" in recent, "both stay in 最近呼叫"


async def test_a_hall_tv_started_as_the_readme_says_speaks_a_call_without_any_click(server, fake, hub):
    from tests.support.browser import TV_ARGS, chromium

    async with chromium(TV_ARGS) as tv:
        context = await tv.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN", bypass_csp=True)
        page = await context.new_page()
        await _open(page, server, "/display/hall/gongshu")
        await page.wait_for_function("window.hallQueue && window.hallQueue.announcements !== undefined")
        hub.publish("gongshu", [fake.call("A023", 1)])
        await page.wait_for_function("window.hallQueue.announcements.length === 1")
        await page.wait_for_function("window.hallQueue.announcements[0].state !== 'queued'", timeout=8000)
        [entry] = await _announcements(page)
        assert entry["state"] in ("speaking", "done", "failed"), "played, never held back as muted"
        assert entry["text"].startswith("请") and "A023" not in entry["text"] or entry["number"] == "A023"
        assert await page.is_hidden("#sound"), "no prompt when sound is on"
        await page.screenshot(path="/tmp/screens_hall_tv.png")


async def test_where_sound_waits_for_a_click_the_prompt_sits_in_the_header_and_any_key_turns_it_on(
        page, server, fake, hub):
    await _open(page, server, "/display/hall/gongshu")
    await page.wait_for_selector("#sound", state="visible")
    sound = await page.locator("#sound").bounding_box()
    bar = await page.locator(".bar").bounding_box()
    assert sound["y"] >= bar["y"] and sound["y"] + sound["height"] <= bar["y"] + bar["height"], "inside the bar"
    for panel in (".latest", ".recent", ".waiting"):
        box = await page.locator(panel).bounding_box()
        assert sound["y"] + sound["height"] <= box["y"], f"the prompt never covers {panel}"
    hub.publish("gongshu", [fake.call("A023", 1)])
    await page.wait_for_function("window.hallQueue.announcements.length === 1")
    assert [e["state"] for e in await _announcements(page)] == ["muted"]
    await page.keyboard.press("Enter")  # a remote's OK key
    await page.wait_for_selector("#sound", state="hidden")
    hub.publish("gongshu", [fake.call("B011", 2)])
    await page.wait_for_function("window.hallQueue.announcements.length === 2")
    await page.wait_for_function("window.hallQueue.announcements[1].state !== 'muted'")


