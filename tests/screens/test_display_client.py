"""The terminal screen: its websocket loop against the real endpoint, and its rendering."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta, timezone

import pytest
from screens_fakes import TOKEN, FakeHall, ScreenServer

from display_client.connection import ScreenRefused, backoff_delay, follow, screen_url
from display_client.render import fit, render_hall, render_window, since_text, width
from display_client.state import Announce, Board, apply
from queue_server.protocol import Snapshot, announcement
from queue_server.service.pairing import token_hash
from queue_server.web.hub import Hub
from queue_server.web.pairing import DeviceSockets


def test_screen_url_turns_http_into_ws_and_carries_the_filters() -> None:
    assert screen_url("http://hall.example:8080", "gongshu", window=5, after=17) == \
        "ws://hall.example:8080/ws/v1/halls/gongshu?window=5&after=17"
    assert screen_url("https://hall.example/queue/", "gongshu", area="social") == \
        "wss://hall.example/queue/ws/v1/halls/gongshu?area=social"


def test_backoff_doubles_up_to_fifteen_seconds() -> None:
    assert 0.4 <= backoff_delay(0) <= 0.6
    assert 3.2 <= backoff_delay(3) <= 4.8
    assert backoff_delay(30) <= 18


class Follower:
    """Runs `follow` in the background and records what it saw."""

    def __init__(self, server: ScreenServer, **options) -> None:
        self.boards: list[tuple[Board, bool]] = []
        self.announced: list[Announce] = []
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(follow(
            server.url, "gongshu", TOKEN, on_board=self._board,
            on_announce=self.announced.append, **options))

    def _board(self, board: Board, online: bool) -> None:
        self.boards.append((board, online))
        self.changed.set()

    async def until(self, predicate) -> Board:
        async with asyncio.timeout(10):
            while not (self.boards and predicate(*self.boards[-1])):
                self.changed.clear()
                await self.changed.wait()
        return self.boards[-1][0]

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def test_the_terminal_screen_follows_calls_and_recovers_after_a_restart(
        fake: FakeHall, hub: Hub) -> None:
    server = ScreenServer(fake, hub)
    await server.start()
    follower = Follower(server)
    try:
        await follower.until(lambda board, online: online and board.seq == 0)
        hub.publish("gongshu", [fake.call("A023", 1)])
        await follower.until(lambda board, online: board.seq == 1)
        assert follower.announced == [Announce(1, announcement("A023", 1), "A023")]

        await server.stop()
        await follower.until(lambda board, online: not online)
        fake.call("B011", 2)  # committed while the screen was away
        await server.start()
        board = await follower.until(lambda board, online: online and board.seq == 2)
        assert board.snapshot == fake.snapshot
        assert fake.snapshot_calls == 1  # the reconnection was served from the ledger
    finally:
        await follower.stop()
        await server.stop()


async def test_the_terminal_screen_resyncs_after_a_gap(fake: FakeHall, hub: Hub) -> None:
    server = ScreenServer(fake, hub)
    await server.start()
    follower = Follower(server)
    try:
        await follower.until(lambda board, online: board.seq == 0)
        fake.issue("A")  # never published: the relay lost it
        hub.publish("gongshu", [fake.call("A180", 1)])
        board = await follower.until(lambda board, online: board.seq == 2)
        assert board.snapshot == fake.snapshot
    finally:
        await follower.stop()
        await server.stop()


async def test_a_wrong_token_stops_the_terminal_screen(fake: FakeHall, hub: Hub) -> None:
    server = ScreenServer(fake, hub)
    await server.start()
    try:
        with pytest.raises(ScreenRefused) as refused:
            await asyncio.wait_for(follow(server.url, "gongshu", "wrong"), 5)
        # In Chinese, with the server's own detail and what to do about it.
        assert "（HTTP 401）" in str(refused.value) and "--pair --token-file" in str(refused.value)
        with pytest.raises(ScreenRefused) as refused:
            await asyncio.wait_for(follow(server.url, "nowhere", TOKEN), 5)
        assert str(refused.value).startswith("没有大厅 'nowhere'（HTTP 404）。请检查 --hall")
    finally:
        await server.stop()


async def test_a_terminal_screen_revoked_while_it_runs_stops_and_says_to_pair_again(
        fake: FakeHall, hub: Hub) -> None:
    devices = DeviceSockets()
    server = ScreenServer(fake, hub, devices=devices)
    await server.start()
    try:
        connected = asyncio.Event()
        follower = asyncio.create_task(follow(server.url, "gongshu", TOKEN,
                                              on_board=lambda board, online: connected.set()))
        await asyncio.wait_for(connected.wait(), 5)
        devices.revoked(token_hash(TOKEN))  # what 设备管理's revoke does in every process
        with pytest.raises(ScreenRefused) as refused:
            await asyncio.wait_for(follower, 5)
        assert "被停用（关闭码 4003）" in str(refused.value)
    finally:
        await server.stop()


def test_the_terminal_hall_board_shows_each_notice_only_between_its_start_and_end(fake: FakeHall) -> None:
    snapshot = {**fake.snapshot, "notices": ["午间不休", "系统维护", "旧公告"], "notice_items": [
        {"text": "午间不休", "starts_at": None, "ends_at": None},
        {"text": "系统维护", "starts_at": "2026-12-01T12:00:00+08:00", "ends_at": "2026-12-01T13:00:00+08:00"},
        {"text": "旧公告", "starts_at": None, "ends_at": "2026-12-01T09:00:00+08:00"},
    ], "civility": {}}
    board, _ = apply(Board(hall="gongshu"), Snapshot(fake.snapshot["seq"], snapshot))
    at = lambda hh, mm: datetime(2026, 12, 1, hh, mm, tzinfo=timezone(timedelta(hours=8)))  # noqa: E731
    assert "午间不休" in render_hall(board, columns=80, now=at(11, 0))
    assert "系统维护" not in render_hall(board, columns=80, now=at(11, 59))
    assert "系统维护" in render_hall(board, columns=80, now=at(12, 0))
    assert "系统维护" not in render_hall(board, columns=80, now=at(13, 0))
    assert "旧公告" not in render_hall(board, columns=80, now=at(9, 0))
    assert "旧公告" in render_hall(board, columns=80, now=at(8, 59))


def test_the_offline_banner_says_since_when_the_screen_has_not_heard_from_the_server(fake: FakeHall) -> None:
    board, _ = apply(Board(hall="gongshu"), Snapshot(fake.snapshot["seq"], fake.snapshot))
    start = datetime(2026, 12, 1, 9, 0, 0)
    heard = datetime(2026, 12, 1, 14, 2, 11)
    since = since_text(heard, start, heard + timedelta(minutes=3, seconds=5))
    assert since == "最后联系 14:02:11（3 分钟前）"
    assert since_text(None, start, start + timedelta(seconds=40)) == "已尝试 40 秒"
    assert since_text(heard, start, heard + timedelta(hours=2, minutes=7)) == "最后联系 14:02:11（2 小时 7 分钟前）"
    text = render_hall(board, columns=80, online=False, since=since)
    assert text.splitlines()[:2] == [fit("连接中断，正在重连…", 80, "^"), fit(since, 80, "^")]
    assert since not in render_hall(board, columns=80, online=True, since=since)


def test_width_counts_chinese_characters_as_two_columns() -> None:
    assert width("A023") == 4
    assert width("号窗口") == 6
    assert width("e\u0301") == 1, "a combining accent takes no column"
    assert width("Ａ１") == 4, "full-width letters and digits take two"
    assert width("\u200b") == 0
    assert width(fit("请 A023 号", 20, "^")) == 20


def test_a_name_too_long_for_its_column_is_cut_with_an_ellipsis_never_into_the_next() -> None:
    assert fit("拱墅区行政服务中心", 7) == "拱墅区…"
    assert width(fit("拱墅区行政服务中心", 7)) == 7
    assert fit("拱墅区行政服务中心", 8) == "拱墅区…" + " ", "a wide character never half-fits"
    assert fit("不动产登记", 10) == "不动产登记", "exactly fitting: no ellipsis"
    assert fit("不动产登记", 12) == "不动产登记  "
    assert fit("AB", 0) == ""
    long_name = "社会保障卡申领补换及信息变更业务"
    line = f"  {fit('A', 2)}{fit(long_name, 16)}等候 {fit('3', 4, '>')} 人"
    assert width(line) == 2 + 2 + 16 + 5 + 4 + 3 and "…" in line


def test_the_hall_board_renders_the_latest_call_and_waiting(fake: FakeHall) -> None:
    fake.call("A023", 1)
    fake.call("C105", 5, calls=2)
    board, _ = apply(Board(hall="gongshu"), Snapshot(fake.snapshot["seq"], fake.snapshot))
    text = render_hall(board, columns=80)
    assert "请 C105 号 到 5 号窗口 办理（第 2 次呼叫）" in text
    assert "A023" in text and "企业开办" in text and "请保管好随身物品" in text
    assert all(width(line) <= 80 for line in text.splitlines())
    offline = render_hall(board, columns=80, online=False)
    assert "连接中断，正在重连…" in offline


def test_an_area_board_shows_only_that_area(fake: FakeHall) -> None:
    fake.call("A023", 1)
    board, _ = apply(Board(hall="gongshu", area="social"),
                     Snapshot(fake.snapshot["seq"], fake.snapshot))
    text = render_hall(board)
    assert "社保医保区" in text and "A023" not in text and "企业开办" not in text


def test_the_window_board_shows_staff_state_and_civility(fake: FakeHall) -> None:
    fake.call("C105", 5)
    board, _ = apply(Board(hall="gongshu"), Snapshot(fake.snapshot["seq"], fake.snapshot))
    text = render_window(board, 5)
    assert "赵敏" in text and "工号 1005" in text and "顶岗：赵敏" in text
    assert "请 C105 号到本窗口办理" in text and "您好，请坐。" in text
    assert "暂停服务（午休）" in render_window(board, 3)


def test_the_terminal_board_shows_under_the_call_line_only_a_ticket_still_being_called(fake: FakeHall) -> None:
    fake.call("A023", 1)
    fake.call("B011", 2)
    fake.start_service(2)
    board, _ = apply(Board(hall="gongshu"), Snapshot(fake.snapshot["seq"], fake.snapshot))
    text = render_hall(board, columns=80)
    assert "请 A023 号 到 1 号窗口 办理" in text and "请 B011 号" not in text
    fake.start_service(1)
    board, _ = apply(Board(hall="gongshu"), Snapshot(fake.snapshot["seq"], fake.snapshot))
    text = render_hall(board, columns=80)
    assert "请 A023 号" not in text and "欢迎光临" in text
    assert "A023" in text and "B011" in text, "both remain under 最近呼叫"
