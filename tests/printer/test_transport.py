"""Printer URLs, and getting bytes to printers and status back without blocking the loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError

from printer_client.status import PrinterStatus
from printer_client.transport import (
    BlockingDevicePrinter,
    DummyPrinter,
    DummyTarget,
    FilePrinter,
    FileTarget,
    PrinterOffline,
    PrinterSetupError,
    SerialTarget,
    TcpPrinter,
    TcpTarget,
    UsbTarget,
    open_printer,
    parse_printer_url,
)

# --- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("tcp://192.168.1.50:9100", TcpTarget("192.168.1.50", 9100)),
        ("tcp://printer-kiosk-1", TcpTarget("printer-kiosk-1", 9100)),
        ("tcp://[fe80::1]:9101", TcpTarget("fe80::1", 9101)),
        ("usb://04b8:0202", UsbTarget(0x04B8, 0x0202)),
        ("usb://0x0416:0x5011", UsbTarget(0x0416, 0x5011)),
        ("serial:///dev/ttyUSB0?baudrate=115200", SerialTarget("/dev/ttyUSB0", 115200)),
        ("serial:///dev/ttyS1", SerialTarget("/dev/ttyS1", 9600)),
        ("serial://COM3", SerialTarget("COM3", 9600)),
        ("file:///dev/usb/lp0", FileTarget("/dev/usb/lp0")),
        ("dummy", DummyTarget()),
    ],
)
def test_printer_urls_parse_to_typed_targets(url, target):
    assert parse_printer_url(url) == target


@pytest.mark.parametrize(
    "target",
    [
        TcpTarget("10.0.0.9", 9100),
        UsbTarget(0x04B8, 0x0202),
        SerialTarget("/dev/ttyUSB0", 19200),
        FileTarget("/tmp/t.bin"),
    ],
)
def test_a_target_prints_as_the_url_it_came_from(target):
    assert parse_printer_url(str(target)) == target


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://10.0.0.9:9100", "unsupported scheme 'http'"),
        ("10.0.0.9:9100", "has no scheme \\(for a network printer: tcp://10.0.0.9:9100\\)"),
        ("tcp://:9100", "has no host"),
        ("tcp://10.0.0.9:99999", "port"),
        ("tcp://10.0.0.9:9100/print", "path or query"),
        ("usb://04b8", "usb://VID:PID"),
        ("usb://04b8:zz02", "not 1-4 hex digits"),
        ("serial://", "names no serial device"),
        ("serial:///dev/ttyUSB0?baud=9600", "unknown option 'baud'"),
        ("serial:///dev/ttyUSB0?baudrate=fast", "baudrate 'fast'"),
        ("file://relative/path", "file:///absolute/path"),
        ("", "is empty"),
    ],
)
def test_a_bad_printer_url_says_what_is_wrong_and_what_is_expected(url, complaint):
    with pytest.raises(ValueError, match=complaint) as error:
        parse_printer_url(url)
    assert "expected tcp://HOST:9100" in str(error.value)


# --- TCP --------------------------------------------------------------------------------------


async def test_tcp_printer_delivers_the_bytes_in_one_connection(fake_printer):
    printer = open_printer(fake_printer.url)
    data = bytes(range(256)) * 200  # includes DLE EOT sequences, as raster data can
    await printer.send(data)
    assert await fake_printer.wait_for_jobs(1) == [data]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("set_online", PrinterStatus(online=True)),
        ("set_paper_out", PrinterStatus(online=False, paper_out=True)),
        ("set_cover_open", PrinterStatus(online=False, cover_open=True)),
        ("set_paper_near_end", PrinterStatus(online=True, paper_near_end=True)),
    ],
)
async def test_tcp_printer_reads_its_status_with_dle_eot(fake_printer, state, expected):
    getattr(fake_printer, state)()
    status = await TcpPrinter("127.0.0.1", fake_printer.port).status()
    assert status == expected
    assert fake_printer.queries == [1, 2, 4]
    assert fake_printer.jobs == []  # a status query is not a print job


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_dead_address_raises_printer_offline_within_the_timeout():
    port = _closed_port()
    printer = TcpPrinter("127.0.0.1", port)
    started = time.monotonic()
    with pytest.raises(PrinterOffline) as error:
        await printer.send(b"\x1b@")
    assert time.monotonic() - started < 4
    assert str(error.value).startswith(f"打印机未连接: tcp://127.0.0.1:{port}: ")
    assert "连接被拒绝" in str(error.value)


async def test_an_unreachable_printer_reports_offline_status_instead_of_raising():
    port = _closed_port()
    status = await TcpPrinter("127.0.0.1", port).status()
    assert not status.online
    assert (
        status.problem
        == f"打印机未连接: tcp://127.0.0.1:{port}: 连接被拒绝 (端口未开放或打印机未开机)"
    )


async def test_a_printer_that_never_answers_status_is_offline_after_the_timeout(fake_printer):
    fake_printer.answer_status = False
    started = time.monotonic()
    status = await TcpPrinter("127.0.0.1", fake_printer.port, timeout=0.5).status()
    assert 0.4 < time.monotonic() - started < 2
    assert not status.online
    assert "0.5 秒内无应答" in (status.problem or "")


async def test_a_printer_that_stops_reading_times_out_the_send(fake_printer):
    fake_printer.reading = False
    printer = TcpPrinter("127.0.0.1", fake_printer.port, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(PrinterOffline, match="0.5 秒内无响应"):
        await printer.send(b"\x00" * 64 * 1024 * 1024)  # more than any socket buffer holds
    assert time.monotonic() - started < 3


async def test_a_printer_switched_off_and_on_again_takes_jobs_again(fake_printer):
    printer = TcpPrinter("127.0.0.1", fake_printer.port, timeout=1)
    await fake_printer.go_offline()
    with pytest.raises(PrinterOffline):
        await printer.send(b"lost")
    assert not (await printer.status()).online
    await fake_printer.come_back()
    await printer.send(b"after")
    assert await fake_printer.wait_for_jobs(1) == [b"after"]
    assert (await printer.status()).online


async def test_the_loop_keeps_running_while_a_printer_is_unreachable():
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        await TcpPrinter("127.0.0.1", _closed_port(), timeout=0.3).status()
        await asyncio.sleep(0.1)
    finally:
        ticker.cancel()
    assert ticks >= 5


# --- file and dummy ---------------------------------------------------------------------------


async def test_file_printer_appends_each_job(tmp_path):
    path = tmp_path / "lp0"
    printer = open_printer(f"file://{path}")
    await printer.send(b"one")
    await printer.send(b"two")
    assert path.read_bytes() == b"onetwo"
    assert not (await printer.status()).reported


async def test_file_printer_in_a_missing_directory_is_offline(tmp_path):
    printer = FilePrinter(tmp_path / "no-such-dir" / "lp0")
    with pytest.raises(PrinterOffline, match="打印机未连接: file://.*No such file"):
        await printer.send(b"x")


async def test_dummy_printer_keeps_jobs_in_memory():
    printer = open_printer("dummy")
    assert isinstance(printer, DummyPrinter)
    await printer.send(b"a")
    await printer.send(b"b")
    assert printer.jobs == [b"a", b"b"]
    assert printer.data == b"ab"


# --- USB / serial through python-escpos in a worker thread ------------------------------------


class SlowDevice(Escpos):
    """A blocking python-escpos device: writes take a while, status answers come from a list."""

    def __init__(self, answers: list[bytes], delay: float = 0.0, missing: bool = False):
        super().__init__()
        self.answers = answers
        self.delay = delay
        self.missing = missing
        self.written = bytearray()
        self.threads: set[str] = set()

    def open(self):
        if self.missing:
            raise DeviceNotFoundError("Unable to open USB printer on (1208, 514)")

    def _raw(self, msg: bytes) -> None:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        self.written += msg

    def _read(self) -> bytes:
        return self.answers.pop(0) if self.answers else b""


async def test_a_blocking_device_writes_in_a_worker_thread_while_the_loop_runs():
    device = SlowDevice([], delay=0.3)
    printer = BlockingDevicePrinter("usb://04b8:0202", lambda: device)
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        await printer.send(b"ticket")
    finally:
        ticker.cancel()
    assert device.written == b"ticket"
    assert threading.main_thread().name not in device.threads
    assert ticks >= 10


async def test_a_blocking_device_reports_status_from_its_answers():
    device = SlowDevice([b"\x1a", b"\x16", b"\x12"])
    status = await BlockingDevicePrinter("usb://04b8:0202", lambda: device).status()
    assert status == PrinterStatus(online=False, cover_open=True)
    assert device.written == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"


async def test_a_blocking_device_that_does_not_answer_is_offline():
    status = await BlockingDevicePrinter(
        "serial:///dev/ttyUSB0?baudrate=9600", lambda: SlowDevice([])
    ).status()
    assert not status.online
    assert status.problem and status.problem.startswith("打印机未连接: serial:///dev/ttyUSB0")


async def test_an_unplugged_device_is_offline():
    printer = BlockingDevicePrinter("usb://04b8:0202", lambda: SlowDevice([], missing=True))
    with pytest.raises(PrinterOffline, match="打印机未连接: usb://04b8:0202: .*Unable to open USB"):
        await printer.send(b"x")


async def test_a_device_slower_than_the_timeout_is_offline():
    printer = BlockingDevicePrinter(
        "usb://04b8:0202", lambda: SlowDevice([], delay=1.0), timeout=0.2
    )
    with pytest.raises(PrinterOffline, match="0.2 秒内无响应"):
        await printer.send(b"x")


def test_usb_without_pyusb_says_what_to_install(monkeypatch):
    from escpos.printer import Usb

    monkeypatch.setattr(Usb, "is_usable", staticmethod(lambda: False))  # as where pyusb is absent
    with pytest.raises(PrinterSetupError, match="pip install pyusb"):
        open_printer("usb://04b8:0202")


def test_serial_without_pyserial_says_what_to_install(monkeypatch):
    from escpos.printer import Serial

    monkeypatch.setattr(Serial, "is_usable", staticmethod(lambda: False))  # as where pyserial is absent
    with pytest.raises(PrinterSetupError, match="pip install pyserial"):
        open_printer("serial:///dev/ttyUSB0")


async def test_a_blocking_device_is_opened_again_after_an_error():
    opened: list[SlowDevice] = []

    def open_device() -> SlowDevice:
        opened.append(SlowDevice([b"\x12"] * 3))
        return opened[-1]

    printer = BlockingDevicePrinter("usb://04b8:0202", open_device)
    await printer.send(b"one")
    await printer.send(b"two")
    assert len(opened) == 1  # kept open between jobs
    opened[0].answers = []  # stops answering: status fails and the device is dropped
    assert not (await printer.status()).online
    assert (await printer.status()).online
    assert len(opened) == 2
