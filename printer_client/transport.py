"""Getting bytes to the printer and its status back, without ever blocking the event loop.

TCP printers (port 9100) are driven with asyncio streams; USB and serial printers through
python-escpos' blocking classes, each call run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from escpos.exceptions import Error as EscposError

from .status import STATUS_QUERIES, PrinterStatus, StatusDecodeError, decode_status

if TYPE_CHECKING:
    from escpos.escpos import Escpos

DEFAULT_TIMEOUT = 3.0
DEFAULT_TCP_PORT = 9100

URL_FORMS = (
    "tcp://HOST:9100, usb://VID:PID (hex), serial:///dev/ttyUSB0?baudrate=9600, "
    "file:///path or dummy"
)


class PrinterError(Exception):
    """The printer could not do what was asked."""


class PrinterOffline(PrinterError):
    """The printer cannot be reached; the message (zh-CN) names it and says why."""


class PrinterSetupError(PrinterError):
    """This machine cannot drive the printer at all (a missing library, not a cable)."""


# --- where the printer is ---------------------------------------------------------------------


@dataclass(frozen=True)
class TcpTarget:
    host: str
    port: int = DEFAULT_TCP_PORT

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


@dataclass(frozen=True)
class UsbTarget:
    vendor_id: int
    product_id: int

    def __str__(self) -> str:
        return f"usb://{self.vendor_id:04x}:{self.product_id:04x}"


@dataclass(frozen=True)
class SerialTarget:
    device: str
    baudrate: int = 9600

    def __str__(self) -> str:
        return f"serial://{self.device}?baudrate={self.baudrate}"


@dataclass(frozen=True)
class FileTarget:
    path: str

    def __str__(self) -> str:
        return f"file://{self.path}"


@dataclass(frozen=True)
class DummyTarget:
    def __str__(self) -> str:
        return "dummy"


PrinterTarget = TcpTarget | UsbTarget | SerialTarget | FileTarget | DummyTarget


def _bad(url: str, why: str) -> ValueError:
    return ValueError(f"printer URL {url!r} {why}; expected {URL_FORMS}")


def _hex_id(url: str, text: str, name: str) -> int:
    digits = text[2:] if text.lower().startswith("0x") else text
    if not 1 <= len(digits) <= 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise _bad(url, f"has {name} {text!r}, not 1-4 hex digits")
    value = int(digits, 16)
    if value == 0:
        raise _bad(url, f"has {name} 0")
    return value


def parse_printer_url(url: str) -> PrinterTarget:
    """Where the printer is, from the --printer argument; a ValueError says what is wrong."""
    text = url.strip()
    if text in ("dummy", "dummy:", "dummy://"):
        return DummyTarget()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "tcp":
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise _bad(url, "has a path or query; a TCP printer is only HOST:PORT")
        try:
            port = parts.port
        except ValueError:
            raise _bad(url, "has a port that is not a number in 1-65535") from None
        if not parts.hostname:
            raise _bad(url, "has no host")
        if port == 0:
            raise _bad(url, "has port 0")
        return TcpTarget(parts.hostname, port or DEFAULT_TCP_PORT)
    if scheme == "usb":
        # Not via .port: "0202" is hex, and urlsplit would read it as decimal 202.
        vendor, sep, product = parts.netloc.partition(":")
        if not sep or parts.path not in ("", "/") or parts.query:
            raise _bad(url, "is not usb://VID:PID")
        return UsbTarget(_hex_id(url, vendor, "vendor id"), _hex_id(url, product, "product id"))
    if scheme == "serial":
        device = unquote(parts.path) if not parts.netloc else parts.netloc + unquote(parts.path)
        if not device or device == "/":
            raise _bad(url, "names no serial device")
        baudrate = 9600
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key != "baudrate":
                raise _bad(url, f"has unknown option {key!r}")
            if not value.isdigit() or int(value) <= 0:
                raise _bad(url, f"has baudrate {value!r}, not a positive whole number")
            baudrate = int(value)
        return SerialTarget(device, baudrate)
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query:
            raise _bad(url, "is not file:///absolute/path")
        path = unquote(parts.path)
        if not path.startswith("/") or path.endswith("/"):
            raise _bad(url, "does not name a file by its absolute path")
        return FileTarget(path)
    if not text:
        raise _bad(url, "is empty")
    if not scheme:
        raise _bad(url, f"has no scheme (for a network printer: tcp://{text})")
    raise _bad(url, f"has an unsupported scheme {scheme!r}")


# --- printers ---------------------------------------------------------------------------------


class Printer(Protocol):
    """A ticket printer: one job is one send()."""

    @property
    def url(self) -> str: ...

    async def send(self, data: bytes) -> None:
        """Deliver a whole ticket, or raise PrinterOffline."""

    async def status(self) -> PrinterStatus:
        """What the printer says about itself; never raises for an unreachable printer."""


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"{timeout:g} 秒内无响应"
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝 (端口未开放或打印机未开机)"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | asyncio.IncompleteReadError):
        return "连接被打印机断开"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"网络不可达 ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _offline(url: str, exc: BaseException, timeout: float) -> PrinterOffline:
    return PrinterOffline(f"打印机未连接: {url}: {_reason(exc, timeout)}")


class TcpPrinter:
    """A network printer on a raw TCP port (usually 9100), one connection per job or query."""

    def __init__(
        self, host: str, port: int = DEFAULT_TCP_PORT, *, timeout: float = DEFAULT_TIMEOUT
    ):
        self.target = TcpTarget(host, port)
        self.timeout = timeout

    @property
    def url(self) -> str:
        return str(self.target)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.open_connection(self.target.host, self.target.port)
        except (TimeoutError, OSError) as exc:
            raise _offline(self.url, exc, self.timeout) from exc

    async def _close(self, writer: asyncio.StreamWriter) -> None:
        writer.close()
        # The bytes are already drained; a printer slow to acknowledge the close is not an error.
        with contextlib.suppress(TimeoutError, OSError):
            async with asyncio.timeout(self.timeout):
                await writer.wait_closed()

    async def send(self, data: bytes) -> None:
        _, writer = await self._connect()
        try:
            async with asyncio.timeout(self.timeout):
                writer.write(data)
                await writer.drain()
        except (TimeoutError, OSError) as exc:
            writer.transport.abort()
            raise _offline(self.url, exc, self.timeout) from exc
        await self._close(writer)

    async def status(self) -> PrinterStatus:
        try:
            reader, writer = await self._connect()
        except PrinterOffline as exc:
            return PrinterStatus.unreachable(str(exc))
        try:
            answers = []
            async with asyncio.timeout(self.timeout):
                for query in STATUS_QUERIES:
                    writer.write(query)
                    await writer.drain()
                    answers.append((await reader.readexactly(1))[0])
        except TimeoutError:
            writer.transport.abort()
            return PrinterStatus.unreachable(
                f"打印机未应答状态查询: {self.url}: {self.timeout:g} 秒内无应答"
            )
        except (asyncio.IncompleteReadError, OSError) as exc:
            writer.transport.abort()
            return PrinterStatus.unreachable(str(_offline(self.url, exc, self.timeout)))
        await self._close(writer)
        try:
            return decode_status(*answers)
        except StatusDecodeError as exc:
            # Some cheap printers answer garbage; they can still print, so do not stop them.
            return PrinterStatus.unknown(f"{self.url}: {exc}")


class FilePrinter:
    """Appends each ticket to a file: a device node such as /dev/usb/lp0, or a log for tests."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def _append(self, data: bytes) -> None:
        with open(self.path, "ab") as file:
            file.write(data)

    async def send(self, data: bytes) -> None:
        try:
            await asyncio.to_thread(self._append, data)
        except OSError as exc:
            raise _offline(self.url, exc, 0) from exc

    async def status(self) -> PrinterStatus:
        return PrinterStatus.unknown()


class DummyPrinter:
    """Keeps what it is sent in memory; reports whatever status it is given."""

    def __init__(self, status: PrinterStatus | None = None):
        self.jobs: list[bytes] = []
        self.reported_status = status or PrinterStatus.unknown()

    @property
    def url(self) -> str:
        return "dummy"

    @property
    def data(self) -> bytes:
        return b"".join(self.jobs)

    async def send(self, data: bytes) -> None:
        self.jobs.append(bytes(data))

    async def status(self) -> PrinterStatus:
        return self.reported_status


class BlockingDevicePrinter:
    """A python-escpos device (USB, serial) whose blocking calls run in a worker thread.

    The device stays open between jobs (opening a USB printer resets it); after any error
    it is closed, and `open_device` makes a fresh one for the next call, so a cable pulled
    and plugged back in is picked up again.
    """

    def __init__(
        self,
        url: str,
        open_device: Callable[[], Escpos],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        bytes_per_second: float | None = None,
        read_answer: Callable[[Escpos], bytes] | None = None,
    ):
        self._url = url
        self._open_device = open_device
        self._read_answer = read_answer or (lambda device: bytes(device._read()))
        self.timeout = timeout
        self._bytes_per_second = bytes_per_second
        # A thread that outlives its asyncio timeout still holds this, so the next job waits
        # for the device instead of talking over it.
        self._device_lock = threading.Lock()
        self._device: Escpos | None = None

    @property
    def url(self) -> str:
        return self._url

    def _with_device(self, use: Callable[[Escpos], bytes | None]) -> bytes | None:
        with self._device_lock:
            if self._device is None:
                device = self._open_device()
                device.open()
                self._device = device
            try:
                return use(self._device)
            except BaseException:
                device, self._device = self._device, None
                with contextlib.suppress(EscposError, OSError):
                    device.close()
                raise

    def _send_timeout(self, size: int) -> float:
        # A slow serial line needs the time the bytes take to cross it (an image ticket at
        # 9600 baud takes about a minute).
        if self._bytes_per_second:
            return self.timeout + 2 * size / self._bytes_per_second
        return self.timeout

    async def send(self, data: bytes) -> None:
        timeout = self._send_timeout(len(data))
        try:
            async with asyncio.timeout(timeout):
                await asyncio.to_thread(self._with_device, lambda d: d._raw(data))
        except (TimeoutError, EscposError, OSError) as exc:
            raise _offline(self.url, exc, timeout) from exc

    def _query(self, device: Escpos) -> bytes:
        answers = b""
        for query in STATUS_QUERIES:
            device._raw(query)
            answer = self._read_answer(device)
            if not answer:
                raise TimeoutError
            answers += answer[:1]
        return answers

    async def status(self) -> PrinterStatus:
        try:
            async with asyncio.timeout(self.timeout):
                answers = await asyncio.to_thread(self._with_device, self._query)
        except (TimeoutError, EscposError, OSError) as exc:
            return PrinterStatus.unreachable(str(_offline(self.url, exc, self.timeout)))
        except NotImplementedError:
            return PrinterStatus.unknown()  # a device that cannot read back
        assert answers is not None
        try:
            return decode_status(*answers)
        except StatusDecodeError as exc:
            return PrinterStatus.unknown(f"{self.url}: {exc}")


def _usb_printer(target: UsbTarget, timeout: float) -> BlockingDevicePrinter:
    from escpos.printer import Usb

    if not Usb.is_usable():
        raise PrinterSetupError(f"{target} needs pyusb and libusb: pip install pyusb")
    return BlockingDevicePrinter(
        str(target),
        lambda: Usb(target.vendor_id, target.product_id, timeout=int(timeout * 1000)),
        timeout=timeout,
    )


def _serial_printer(target: SerialTarget, timeout: float) -> BlockingDevicePrinter:
    from escpos.printer import Serial

    if not Serial.is_usable():
        raise PrinterSetupError(f"{target} needs pyserial: pip install pyserial")
    return BlockingDevicePrinter(
        str(target),
        lambda: Serial(target.device, baudrate=target.baudrate, timeout=timeout),
        timeout=timeout,
        bytes_per_second=target.baudrate / 10,  # 8N1: ten bits a byte
        # Escpos.Serial reads 16 bytes and so waits out its whole timeout for a 1-byte answer.
        read_answer=lambda device: device.device.read(1),
    )


def open_printer(where: str | PrinterTarget, *, timeout: float = DEFAULT_TIMEOUT) -> Printer:
    """A printer for a URL or target; nothing is connected until the first send or status."""
    target = parse_printer_url(where) if isinstance(where, str) else where
    match target:
        case TcpTarget(host=host, port=port):
            return TcpPrinter(host, port, timeout=timeout)
        case UsbTarget():
            return _usb_printer(target, timeout)
        case SerialTarget():
            return _serial_printer(target, timeout)
        case FileTarget(path=path):
            return FilePrinter(path)
        case DummyTarget():
            return DummyPrinter()
    raise TypeError(f"not a printer target: {target!r}")
