"""The printer client against the real server (real PostgreSQL) and a fake network printer."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from printer_client.jobs import PrintedJobs
from tests.printer.escpos_decoder import Qr, decode, printed_lines
from tests.printer.fake_printer import FakePrinter

from .harness import (
    Choke,
    eventually,
    kiosk_hall,
    print_job,
    printer_status,
    running_printer,
    server_url,
)


@pytest.fixture
async def hall(fresh_db):
    async with kiosk_hall(fresh_db) as h:
        yield h


@pytest.fixture
async def fake():
    printer = FakePrinter()
    await printer.start()
    try:
        yield printer
    finally:
        await printer.go_offline()


@pytest.fixture
async def choke(hall):
    proxy = Choke("127.0.0.1", hall.client.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def _printed(hall, job_id):
    return (await print_job(hall, job_id))["status"] == "printed"


def _lines(job: bytes) -> list[str]:
    return [line.text for line in printed_lines(decode(job))]


async def test_queue_printer_prints_a_kiosk_ticket_on_the_network_printer(hall, fake, tmp_path):
    """The command as a kiosk runs it: the ticket's bytes reach the printer, the job is printed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "printer_client.cli", "--server", server_url(hall),
        "--token", hall.tokens["P01"], "--printer", fake.url, "--state-dir", str(tmp_path),
        "--status-interval", "0.3", stderr=asyncio.subprocess.PIPE)
    try:
        status = await eventually(lambda: printer_status(hall), within=10,
                                  what="queue-printer reporting its printer")
        assert status["online"] is True and status["paper_out"] is False
        ticket = await hall.issue("A", by="K01")
        [job] = await fake.wait_for_jobs(1)
        assert ticket["number"] in _lines(job)
        assert "企业开办" in _lines(job)
        assert [e.payload for e in decode(job) if isinstance(e, Qr)] == [ticket["status_url"]]
        await eventually(lambda: _printed(hall, ticket["print_job"]["id"]), what="the job printed")
        assert len(list(tmp_path.glob("printed-*.txt"))) == 1
    finally:
        proc.terminate()
        _, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    assert "printed" in stderr.decode()


async def test_queue_printer_with_a_wrong_token_stops_and_says_why(hall, fake, tmp_path):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "printer_client.cli", "--server", server_url(hall),
        "--token", "not-a-token", "--printer", fake.url, "--state-dir", str(tmp_path),
        stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(15):
        _, stderr = await proc.communicate()
    assert proc.returncode == 1
    assert "（HTTP 401）。本设备未配对或已被停用" in stderr.decode()


async def test_a_job_is_printed_once_when_its_result_is_lost_with_the_connection(
        hall, fake, choke, tmp_path):
    """Printed, then the connection drops before the result arrives: the server sends the job
    again after the reconnect and the client answers from its record, without paper."""
    async with running_printer(choke.url, hall.tokens["P01"], fake.url, tmp_path) as client:
        choke.swallow = True  # nothing the client sends reaches the server from now on
        ticket = await hall.issue("A", by="K01")
        job_id = ticket["print_job"]["id"]
        await fake.wait_for_jobs(1)
        await eventually(lambda: _async(job_id in client.printed), what="the job recorded")
        await asyncio.sleep(0.2)
        assert (await print_job(hall, job_id))["status"] == "pending", "the result was lost"
        choke.swallow = False
        choke.cut()
        await eventually(lambda: _printed(hall, job_id), what="the re-sent job answered")
    assert len(fake.jobs) == 1, "printed exactly once"


async def test_a_job_is_printed_once_across_a_printer_client_restart(hall, fake, choke, tmp_path):
    async with running_printer(choke.url, hall.tokens["P01"], fake.url, tmp_path) as client:
        choke.swallow = True
        ticket = await hall.issue("A", by="K01")
        job_id = ticket["print_job"]["id"]
        await fake.wait_for_jobs(1)
        await eventually(lambda: _async(job_id in client.printed), what="the job recorded")
        choke.refuse = True
        choke.cut()  # the result is lost, and the client stops while the server is away
    choke.swallow = choke.refuse = False
    assert (await print_job(hall, job_id))["status"] == "pending"
    assert job_id in PrintedJobs(tmp_path / "printed.txt"), "the record is on disk"
    async with running_printer(choke.url, hall.tokens["P01"], fake.url, tmp_path):
        await eventually(lambda: _printed(hall, job_id), what="the restarted client answering")
        second = await hall.issue("A", by="K01")
        await fake.wait_for_jobs(2)
        await eventually(lambda: _printed(hall, second["print_job"]["id"]))
    assert len(fake.jobs) == 2
    assert second["number"] in _lines(fake.jobs[1]) and ticket["number"] in _lines(fake.jobs[0])


async def test_jobs_are_kept_while_the_printer_is_off_and_printed_when_it_returns(
        hall, fake, tmp_path):
    async with running_printer(server_url(hall), hall.tokens["P01"], fake.url, tmp_path):
        await fake.go_offline()
        status = await eventually(
            lambda: _when(printer_status(hall), lambda s: s and not s["online"]),
            what="the printer reported offline")
        assert "打印机未连接" in status["detail"] and fake.url in status["detail"]
        first = await hall.issue("A", by="K01")
        second = await hall.issue("B", by="K01")
        job = await eventually(
            lambda: _when(print_job(hall, first["print_job"]["id"]), lambda j: j["error"]),
            what="a failed attempt")
        assert job["status"] == "pending" and "打印机未连接" in job["error"]
        await fake.come_back()
        jobs = await fake.wait_for_jobs(2)
        await eventually(lambda: _printed(hall, second["print_job"]["id"]))
        await eventually(lambda: _printed(hall, first["print_job"]["id"]))
    # Each once; their order is the order the server re-sent them in, not the issue order.
    numbers = sorted(n for job in jobs for n in _lines(job) if n in (first["number"], second["number"]))
    assert numbers == sorted([first["number"], second["number"]])
    assert len(fake.jobs) == 2


async def test_paper_out_reaches_the_server_and_the_ticket_prints_after_a_new_roll(
        hall, fake, tmp_path):
    async with running_printer(server_url(hall), hall.tokens["P01"], fake.url, tmp_path):
        await eventually(lambda: printer_status(hall), what="the first report")
        fake.set_paper_out()
        status = await eventually(
            lambda: _when(printer_status(hall), lambda s: s["paper_out"]),
            what="paper out reported")
        assert status["detail"] == "打印机缺纸"
        ticket = await hall.issue("A", by="K01")
        await asyncio.sleep(0.5)
        assert fake.jobs == [], "nothing is sent to a printer without paper"
        assert (await print_job(hall, ticket["print_job"]["id"]))["error"] == "打印机缺纸"
        fake.set_online()
        await fake.wait_for_jobs(1)
        await eventually(lambda: _printed(hall, ticket["print_job"]["id"]))
        assert (await printer_status(hall))["paper_out"] is False


async def test_a_printer_that_stops_answering_is_reported_within_seconds_without_stalling_the_loop(
        hall, fake, tmp_path):
    lag = _LoopLag()
    async with running_printer(server_url(hall), hall.tokens["P01"], fake.url, tmp_path), lag:
        await eventually(lambda: printer_status(hall), what="the first report")
        fake.answer_status = False  # the port accepts, then silence: a hung printer
        started = time.monotonic()
        status = await eventually(
            lambda: _when(printer_status(hall), lambda s: not s["online"]),
            what="the silent printer reported")
        assert time.monotonic() - started < 3.0
        assert "未应答" in status["detail"]
    assert lag.worst < 0.25, f"the event loop stalled for {lag.worst:.2f} s"


class _LoopLag:
    """The longest the event loop was late to wake a 20 ms sleeper."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.02)
            self.worst = max(self.worst, time.monotonic() - before - 0.02)

    async def __aenter__(self) -> _LoopLag:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _async(value):
    return value


async def _when(answer, accept):
    value = await answer
    return value if value and accept(value) else None


async def test_a_printer_revoked_in_device_management_stops_at_once_and_says_to_pair_again(
        hall, fake, tmp_path):
    from printer_client.connection import PrinterClient, PrinterRefused
    from printer_client.transport import open_printer

    await hall.add_staff("9001", role="manager", name="王经理")
    client = PrinterClient(server_url(hall), hall.tokens["P01"], open_printer(fake.url, timeout=1.0),
                           PrintedJobs(tmp_path / "printed.txt"), status_interval=0.3,
                           backoff_first=0.05, backoff_max=0.3)
    task = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(5):
            await client.connected.wait()
        devices = await hall.client.get("/api/v1/halls/gongshu/devices", headers=hall.auth("9001"))
        [p01] = [d for d in (await devices.json())["devices"] if d["name"] == "P01"]
        revoked = await hall.client.post(f"/api/v1/halls/gongshu/devices/{p01['id']}/revoke",
                                         headers=hall.auth("9001"))
        assert revoked.status == 200, await revoked.text()
        with pytest.raises(PrinterRefused) as refused:
            async with asyncio.timeout(5):
                await task
        assert "被停用（关闭码 4003）" in str(refused.value) and "--pair" in str(refused.value)
    finally:
        task.cancel()
