"""`queue-display`, the terminal screen, against the real server: its connection loop
(`display_client.connection.follow`) folding real frames, its rendering of the board it
builds, and the command itself run as a process next to a `queue-server serve`."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from display_client.connection import follow
from display_client.render import render_hall, render_window
from display_client.state import Announce, Board
from queue_server.adapters import store
from queue_server.main import auth_service
from queue_server.protocol import announcement
from tests.e2e.e2e_support import PASSWORD, ROOT, Api
from tests.support.hall import Hall, start_hall


@pytest.fixture
async def hall(fresh_db: str) -> AsyncIterator[Hall]:
    async for h in start_hall(fresh_db):
        await h.add_device("D01", role="display")
        await h.add_device("K01", role="kiosk")
        await h.add_staff("1001", name="张三")
        yield h


class Follower:
    """`follow` in the background, recording every board and announcement."""

    def __init__(self, server: str, token: str, **options) -> None:
        self.boards: list[tuple[Board, bool]] = []
        self.announced: list[Announce] = []
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(follow(server, "gongshu", token, on_board=self._board,
                                               on_announce=self.announced.append, **options))

    def _board(self, board: Board, online: bool) -> None:
        self.boards.append((board, online))
        self._changed.set()

    async def until(self, predicate, within: float = 5.0) -> Board:
        async with asyncio.timeout(within):
            while not (self.boards and predicate(*self.boards[-1])):
                if self.task.done():
                    self.task.result()
                self._changed.clear()
                await self._changed.wait()
        return self.boards[-1][0]

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def _latest(board: Board) -> str | None:
    calls = (board.snapshot or {}).get("recent_calls") or []
    return calls[0].get("number") if calls else None


async def test_the_terminal_screen_follows_and_renders_a_call_made_through_the_api(
        hall: Hall) -> None:
    await hall.issue("A")
    follower = Follower(f"http://127.0.0.1:{hall.client.port}", hall.tokens["D01"])
    try:
        await follower.until(lambda board, online: online and board.seq is not None)
        await hall.act(1, "open")
        answer = await hall.act(1, "call-next")
        assert answer["ticket"]["number"] == "A001"
        board = await follower.until(lambda board, online: _latest(board) == "A001", 2.0)
        assert board.synced
        assert [(a.text, a.number) for a in follower.announced] == [
            (announcement("A001", 1), "A001")]

        text = render_hall(board, columns=80)
        assert "拱墅区行政服务中心" in text
        assert "请 A001 号 到 1 号窗口 办理" in text
        assert "连接中断" not in text
        window = render_window(board, 1, columns=80)
        assert "1 号窗口" in window and "在岗" in window
        assert "工作人员：张三  工号 1001" in window
        assert "请 A001 号到本窗口办理" in window
        print(text, window, sep="\n\n")
    finally:
        await follower.stop()


async def _accounts(dsn: str) -> tuple[str, str]:
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


async def test_the_queue_display_command_started_mid_morning_shows_the_calls(
        migrated_db: str, start_server, http: aiohttp.ClientSession) -> None:
    """`queue-display` switched on after calls were made starts from the server's snapshot,
    then follows the next call live."""
    display, kiosk = await _accounts(migrated_db)
    server = await start_server(migrated_db)
    api = Api(http, server.url)
    clerk = await api.login("1001")
    await api.issue("A", kiosk)
    await api.issue("A", kiosk)
    await api.act(1, "open", clerk)
    await api.act(1, "call-next", clerk)

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "display_client.cli", "--server", server.url, "--hall", "gongshu",
        "--token", display, "--no-colour", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    output = ""

    async def read_until(text: str, within: float) -> None:
        nonlocal output
        assert process.stdout is not None and process.stderr is not None
        try:
            async with asyncio.timeout(within):
                while text not in output:
                    chunk = await process.stdout.read(4096)
                    if not chunk:
                        break
                    output += chunk.decode(errors="replace")
        except TimeoutError:
            pass
        if text not in output:
            if process.returncode is None:
                process.terminate()
            code = await process.wait()
            err = (await process.stderr.read()).decode(errors="replace")
            raise AssertionError(f"queue-display (exit {code}) did not show {text!r}; it "
                                 f"printed:\n{output[-1500:]}\nstderr:\n{err[-3000:]}")

    try:
        await read_until("请 A001 号 到 1 号窗口 办理", 6)
        await api.act(1, "start", clerk)
        await api.act(1, "finish", clerk)
        await api.act(1, "call-next", clerk)
        await read_until("请 A002 号 到 1 号窗口 办理", 3)
        assert "A001" in output.rsplit("请 A002 号", 1)[1]  # now among the recent calls
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
