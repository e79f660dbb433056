"""The printer's websocket loop: take print jobs from the server, print each once, report
results and the printer's state, reconnect with backoff.

The decisions are plain objects (`JobBook`, `StatusReporter`, `profile_for`) driven by plain
calls; `PrinterClient` is the asyncio shell around them and the only part doing I/O.
Printing outlives a connection: a ticket half-way through the printer is finished even if
the server goes away, and the server's re-sent job is then answered from `PrintedJobs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from queue_server.protocol import CLOSE_REVOKED, SUBPROTOCOL, Ping, ProtocolError
from queue_server.protocol.pairing import REVOKED_TEXT, refusal_text
from queue_server.protocol.printing import (
    JobResult,
    PrinterState,
    PrintJob,
    decode_printer,
    encode_printer,
)
from ticket_layout.layout import PrinterProfile

from .client import PRINTED, print_job
from .jobs import PrintedJobs
from .status import PrinterStatus
from .transport import Printer

log = logging.getLogger(__name__)

STATUS_INTERVAL = 5.0  # how often the printer is asked how it is
SEND_TIMEOUT = 10.0  # a frame the server does not take in this time means a dead connection
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0


class PrinterRefused(Exception):
    """The server refused this printer (wrong token, not a printer, wrong URL): retrying
    will not help until someone fixes the configuration."""


def printer_socket_url(server: str) -> str:
    """The printer channel on `server` (http(s)://, ws(s):// or a bare host:port)."""
    parts = urlsplit(server if "://" in server else f"http://{server}")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(f"server URL {server!r} is not http(s)://HOST[:PORT] or ws(s)://HOST[:PORT]")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws/v1/printer", "", ""))


def backoff_delay(attempt: int, *, first: float = BACKOFF_FIRST, maximum: float = BACKOFF_MAX) -> float:
    """Exponential backoff with ±20 % jitter, so a hall's kiosks do not reconnect in step."""
    return min(maximum, first * 2**attempt) * random.uniform(0.8, 1.2)


# --- the pure core ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileChoice:
    """What this machine says about its printer; None leaves it to the server's profile."""

    paper_mm: int | None = None
    chinese: str | None = None
    qr: str | None = None
    font_path: str | None = None


def profile_for(server_profile: object, choice: ProfileChoice) -> PrinterProfile:
    """The profile a job prints with: the command line first, then the server's, then defaults.

    Raises ValueError naming the bad setting.
    """
    given: Mapping[str, Any] = server_profile if isinstance(server_profile, Mapping) else {}
    defaults = PrinterProfile()
    return PrinterProfile(
        paper_mm=choice.paper_mm or given.get("paper_mm") or defaults.paper_mm,  # type: ignore[arg-type]  # the server's value is checked by PrinterProfile
        chinese=choice.chinese or given.get("chinese") or defaults.chinese,  # type: ignore[arg-type]  # the server's value is checked by PrinterProfile
        qr=choice.qr or given.get("qr") or defaults.qr,  # type: ignore[arg-type]  # the server's value is checked by PrinterProfile
        font_path=choice.font_path,
    )


def printer_state(status: PrinterStatus) -> PrinterState:
    """The state reported to the server for what the printer said about itself."""
    return PrinterState(
        online=status.online,
        paper_near_end=status.paper_near_end,
        paper_out=status.paper_out,
        cover_open=status.cover_open,
        detail=status.problem or status.warning or status.detail,
    )


class JobBook:
    """The jobs waiting for or on the printer, so a job the server sends again while it is
    still here is not queued twice (it is answered once, when it is done)."""

    def __init__(self) -> None:
        self._here: set[str] = set()

    def offer(self, job_id: str) -> bool:
        """True if the job is new here and should be queued."""
        if job_id in self._here:
            return False
        self._here.add(job_id)
        return True

    def done(self, job_id: str) -> None:
        self._here.discard(job_id)

    def __len__(self) -> int:
        return len(self._here)


class StatusReporter:
    """Which printer states to send: the first on each connection, then only changes."""

    def __init__(self) -> None:
        self._sent: PrinterState | None = None

    def connected(self) -> None:
        self._sent = None

    def report(self, state: PrinterState) -> PrinterState | None:
        """`state` if the server should hear it (and it now counts as sent), else None."""
        if state == self._sent:
            return None
        self._sent = state
        return state


# --- the asyncio shell --------------------------------------------------------------------


class PrinterClient:
    """One kiosk printer kept connected to the server until cancelled.

    `run()` raises `PrinterRefused` when the server refuses the handshake for good.
    """

    def __init__(
        self,
        server: str,
        token: str,
        printer: Printer,
        printed: PrintedJobs,
        *,
        choice: ProfileChoice = ProfileChoice(),
        status_interval: float = STATUS_INTERVAL,
        backoff_first: float = BACKOFF_FIRST,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:
        self.url = printer_socket_url(server)
        self.token = token
        self.printer = printer
        self.printed = printed
        self.choice = choice
        self.status_interval = status_interval
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.status: PrinterStatus | None = None  # the latest answer, for logs and tests
        self.connected = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._jobs: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._book = JobBook()
        self._reporter = StatusReporter()
        # Jobs and status queries take turns: a query in the middle of a ticket's bytes would
        # be printed on a device that does not answer queries.
        self._printer_lock = asyncio.Lock()
        self._ask_printer = asyncio.Event()

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._stay_connected(), name="printer connection"),
            asyncio.create_task(self._print_jobs(), name="print jobs"),
            asyncio.create_task(self._watch_printer(), name="watch printer"),
        ]
        try:
            # None of them ends on its own: the first to end failed, and so does the client.
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- the connection --

    async def _stay_connected(self) -> None:
        attempt = 0
        while True:
            try:
                async with connect(
                    self.url,
                    subprotocols=[Subprotocol(SUBPROTOCOL)],
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    open_timeout=10,
                    close_timeout=5,
                    max_size=256 * 1024,
                ) as ws:
                    attempt = 0
                    log.info("connected to %s", self.url)
                    await self._session(ws)
                    if ws.close_code == CLOSE_REVOKED:
                        raise PrinterRefused(REVOKED_TEXT)
                    log.warning("the server closed the connection (%s); reconnecting",
                                ws.close_reason or ws.close_code)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (400, 401, 403, 404):
                    raise PrinterRefused(refusal_text(status, exc.response.body)) from None
                body = exc.response.body.decode(errors="replace") if exc.response.body else ""
                log.warning("cannot connect to %s: HTTP %s %s", self.url, status, body[:200])
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
                if isinstance(exc, ConnectionClosed) and exc.rcvd is not None and exc.rcvd.code == CLOSE_REVOKED:
                    raise PrinterRefused(REVOKED_TEXT) from None
                log.warning("no connection to %s: %s", self.url, exc or type(exc).__name__)
            delay = backoff_delay(attempt, first=self.backoff_first, maximum=self.backoff_max)
            attempt += 1
            await asyncio.sleep(delay)

    async def _session(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._reporter.connected()
        self._ask_printer.set()  # the server hears the printer's state right after connecting
        self.connected.set()
        try:
            async for frame in ws:
                self._receive(frame)
        finally:
            self.connected.clear()
            self._ws = None

    def _receive(self, frame: str | bytes) -> None:
        try:
            message = decode_printer(frame)
        except ProtocolError as exc:
            log.warning("ignoring a frame from the server: %s", exc)
            return
        match message:
            case PrintJob(job=job):
                if self._book.offer(job["id"]):
                    self._jobs.put_nowait(job)
            case Ping():
                pass
            case _:
                log.warning("ignoring a %s frame the server should not send", type(message).__name__)

    async def _send(self, frame: str) -> bool:
        ws = self._ws
        if ws is None:
            return False
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await ws.send(frame)
        except (ConnectionClosed, TimeoutError) as exc:
            # Lost results are harmless: the server sends the job again and the record of
            # printed jobs answers for it.
            log.info("could not send to the server: %s", exc or type(exc).__name__)
            if isinstance(exc, TimeoutError):
                await ws.close(1011, "send timed out")
            return False
        return True

    # -- the printer --

    async def _print_jobs(self) -> None:
        while True:
            job = await self._jobs.get()
            job_id = job["id"]
            try:
                outcome = await self._print(job)
            finally:
                self._book.done(job_id)
            if outcome == PRINTED:
                log.info("job %s printed (ticket %s)", job_id, job.get("ticket", {}).get("number"))
                result = JobResult(job_id, True)
            else:
                error = outcome.removeprefix("failed:").strip()
                log.warning("job %s not printed: %s", job_id, error)
                result = JobResult(job_id, False, error)
                self._ask_printer.set()  # the server should learn why at once
            await self._send(encode_printer(result))

    async def _print(self, job: dict[str, Any]) -> str:
        try:
            profile = profile_for(job.get("profile"), self.choice)
        except ValueError as exc:
            return f"failed: 打印设置无效: {exc}"
        async with self._printer_lock:
            try:
                return await print_job(self.printer, job, self.printed, profile)
            except Exception as exc:  # a bug must not stop the kiosk's later tickets
                log.exception("job %s failed unexpectedly", job["id"])
                return f"failed: 打印程序出错: {type(exc).__name__}: {exc}"

    async def _watch_printer(self) -> None:
        while True:
            self._ask_printer.clear()
            try:
                async with self._printer_lock:
                    status = await self.printer.status()
            except Exception as exc:  # status() should not raise; if it does, say so and go on
                log.exception("cannot ask %s for its status", self.printer.url)
                status = PrinterStatus.unreachable(f"无法查询打印机状态: {exc}")
            self._note(status)
            if self._ws is not None:
                state = self._reporter.report(printer_state(status))
                if state is not None:
                    await self._send(encode_printer(state))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.status_interval):
                    await self._ask_printer.wait()

    def _note(self, status: PrinterStatus) -> None:
        before, self.status = self.status, status
        problem, earlier = status.problem or status.warning, before and (before.problem or before.warning)
        if problem and problem != earlier:
            where = "" if self.printer.url in problem else f"{self.printer.url}: "
            log.warning("%s%s", where, problem)
        elif earlier and not problem:
            log.info("%s: ready again", self.printer.url)
