"""What the hall screen says fits what the hall has: a community station without a kiosk or a
loudspeaker never tells people to take a ticket at a machine or to listen for the voice call."""

from __future__ import annotations

import pytest

from queue_server.domain.civility import NO_KIOSK, SILENT_CALLS, idle_line, ticker_phrases
from tests.support.hall import start_hall

CONFIGURED = ["请留意大屏和语音叫号，过号请到导服台。", "请在取号机取号。", "请保管好随身物品。"]


def test_a_silent_station_without_a_kiosk_drops_the_phrases_it_cannot_keep_and_says_how_it_works():
    phrases = ticker_phrases(CONFIGURED, voice=False, has_kiosk=False)
    assert phrases == [SILENT_CALLS, NO_KIOSK, "请保管好随身物品。"]
    assert ticker_phrases(CONFIGURED, voice=True, has_kiosk=True) == CONFIGURED
    assert ticker_phrases(CONFIGURED, voice=True, has_kiosk=False) == [NO_KIOSK, CONFIGURED[0], CONFIGURED[2]]
    assert idle_line(has_kiosk=True) == "欢迎光临，请取号等候"
    assert "取号等候" not in idle_line(has_kiosk=False)


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        yield h


async def test_each_halls_screen_snapshot_speaks_of_what_that_hall_has(hall):
    station = await (await hall.client.get("/api/v1/halls/xiangfu/queue")).json()
    center = await (await hall.client.get("/api/v1/halls/gongshu/queue")).json()
    assert station["voice"] is False and station["has_kiosk"] is False
    assert station["idle_line"] == "欢迎光临，请到窗口或扫码取号"
    ticker = station["civility"]["hall"]
    assert ticker[:2] == [SILENT_CALLS, NO_KIOSK]
    assert not any("语音叫号" in p for p in ticker[2:]), "no configured phrase asks them to listen"
    assert center["idle_line"] == "欢迎光临，请取号等候"
    assert any("语音" in p for p in center["civility"]["hall"])
    assert SILENT_CALLS not in center["civility"]["hall"]
