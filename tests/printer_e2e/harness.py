"""A kiosk hall, a printer client and the pieces between them, for end-to-end tests.

kiosk_hall          the app on a fresh database with kiosk K01, its printer P01 and clerk 1001
running_printer     a PrinterClient task (the real websocket loop) until the block ends
Choke               a TCP proxy that can swallow what the client sends and cut connections
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from printer_client.connection import PrinterClient
from printer_client.jobs import PrintedJobs
from printer_client.transport import Printer, open_printer
from queue_server.config import Config
from queue_server.main import create_app
from tests.support.hall import FAST_HASHER, FakeClock, Hall, prepare_database, sample_config

HALL = "gongshu"


@contextlib.asynccontextmanager
async def kiosk_hall(
    dsn: str, *, config: Config | None = None, clock: FakeClock | None = None,
    printer: bool = True,
) -> AsyncIterator[Hall]:
    config = config or sample_config()
    clock = clock or FakeClock()
    await prepare_database(dsn, config)
    app = create_app(config, dsn=dsn, clock=clock, redis_url="", password_hasher=FAST_HASHER)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        hall = Hall(client, config, clock, dsn)
        await hall.add_device("K01", role="kiosk")
        if printer:
            await hall.add_device("P01", role="printer", kiosk="K01")
        await hall.add_staff("1001", name="张三")
        yield hall
    finally:
        await client.close()


def server_url(hall: Hall) -> str:
    return str(hall.client.make_url("/"))


@contextlib.asynccontextmanager
async def running_printer(
    server: str, token: str, printer: Printer | str, state_dir: Path, **options: Any,
) -> AsyncIterator[PrinterClient]:
    """The printer client's loop as a task, connected before the block starts."""
    device = open_printer(printer, timeout=1.0) if isinstance(printer, str) else printer
    client = PrinterClient(
        server, token, device, PrintedJobs(state_dir / "printed.txt"),
        status_interval=options.pop("status_interval", 0.3),
        backoff_first=options.pop("backoff_first", 0.05),
        backoff_max=options.pop("backoff_max", 0.3),
        **options,
    )
    task = asyncio.create_task(client.run(), name="printer client under test")
    try:
        async with asyncio.timeout(5):
            await client.connected.wait()
        yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(check: Callable[[], Awaitable[Any]], *, within: float = 5.0,
                     what: str = "the condition") -> Any:
    """The first truthy answer of `check`, polled; fails the test after `within` s."""
    deadline = time.monotonic() + within
    while True:
        answer = await check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within:g} s (last: {answer!r})")
        await asyncio.sleep(0.05)


async def kiosk_view(hall: Hall) -> dict[str, Any]:
    resp = await hall.client.get(f"/api/v1/halls/{HALL}/kiosk", headers=hall.auth("K01"))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def printer_status(hall: Hall) -> dict[str, Any] | None:
    printer = (await kiosk_view(hall))["printer"]
    return printer and printer["status"]


async def print_job(hall: Hall, job_id: str) -> dict[str, Any]:
    resp = await hall.client.get(f"/api/v1/print-jobs/{job_id}", headers=hall.auth("K01"))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def issued_count(hall: Hall) -> int:
    resp = await hall.client.get(f"/api/v1/halls/{HALL}/events?limit=1000", headers=hall.auth("1001"))
    assert resp.status == 200, await resp.text()
    return sum(1 for e in (await resp.json())["events"] if e["kind"] == "ticket_issued")


class Choke:
    """A TCP proxy to the server: `swallow` drops what clients send (their frames never
    arrive), `cut()` drops every connection, `refuse` turns new ones away: a network that
    fails at the worst moment."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.swallow = False
        self.refuse = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer, upstream=True),
                             self._pipe(up_reader, writer, upstream=False),
                             return_exceptions=True)
        for w in (writer, up_writer):
            w.transport.abort()
            self._writers.discard(w)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                    upstream: bool) -> None:
        try:
            while chunk := await reader.read(65536):
                if upstream and self.swallow:
                    continue
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.transport.abort()
