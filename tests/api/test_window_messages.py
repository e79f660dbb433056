"""Free text on citizen-facing screens: window messages and pause reasons pass the taboo check."""

from __future__ import annotations


async def _window(hall, number=1):
    snap = await (await hall.client.get("/api/v1/halls/gongshu/queue")).json()
    return next(w for w in snap["windows"] if w["number"] == number)


async def test_the_clerk_shows_a_message_on_the_window_screen(hall):
    await hall.act(1, "open")
    await hall.act(1, "message", text="本窗口可办理企业开办一件事")
    assert (await _window(hall))["message"] == "本窗口可办理企业开办一件事"
    await hall.act(1, "message", text=None)
    assert (await _window(hall))["message"] is None


async def test_a_window_message_with_a_taboo_phrase_is_refused_and_changes_nothing(hall):
    await hall.act(1, "open")
    refused = await hall.act(1, "message", expect=400, text="急什么？马上就好")
    assert refused["taboo"] == "急什么？" and refused["field"] == "text"
    assert "急什么" in refused["detail"]
    assert (await _window(hall))["message"] is None


async def test_a_pause_reason_with_a_taboo_phrase_is_refused(hall):
    await hall.act(1, "open")
    refused = await hall.act(1, "pause", expect=400, reason="我下班了，明天再来！")
    assert refused["field"] == "reason"
    assert (await _window(hall))["state"] == "open"


async def test_closing_the_window_clears_its_message(hall):
    await hall.act(1, "open")
    await hall.act(1, "message", text="请提前准备身份证件")
    await hall.act(1, "close")
    assert (await _window(hall))["message"] is None


async def test_a_closed_window_shows_no_message(hall):
    refused = await hall.act(1, "message", expect=409, text="你好")
    assert refused["state"] == "closed"
