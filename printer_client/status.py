"""What an ESC/POS printer says about itself: real-time status bytes → PrinterStatus (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

# DLE EOT n: the real-time status queries every ESC/POS printer answers with one byte each,
# even while it is offline or busy printing.
QUERY_PRINTER = b"\x10\x04\x01"
QUERY_OFFLINE_CAUSE = b"\x10\x04\x02"
QUERY_PAPER = b"\x10\x04\x04"
STATUS_QUERIES = (QUERY_PRINTER, QUERY_OFFLINE_CAUSE, QUERY_PAPER)

# Every answer has bits 1 and 4 set and bits 0 and 7 clear; anything else is not a status byte
# (a printer that echoes, or a byte from some other conversation).
_FIXED_MASK = 0b1001_0011
_FIXED_BITS = 0b0001_0010

_PRINTER_OFFLINE = 0x08  # n=1, bit 3
_CAUSE_COVER_OPEN = 0x04  # n=2, bit 2
_CAUSE_PAPER_END_STOP = 0x20  # n=2, bit 5: printing stopped because the paper ran out
_PAPER_NEAR_END = 0x0C  # n=4, bits 2-3
_PAPER_OUT = 0x60  # n=4, bits 5-6


class StatusDecodeError(ValueError):
    """A status answer that does not have the fixed bits of a DLE EOT reply."""


@dataclass(frozen=True)
class PrinterStatus:
    """A printer's state as far as it could be learnt.

    `reported` is False for printers that cannot answer (a file, a one-way link, a printer
    whose answer made no sense); such a printer is assumed able to print.
    `detail` says why the printer could not be asked, when it could not.
    """

    online: bool
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    reported: bool = True
    detail: str | None = None

    @classmethod
    def unknown(cls, detail: str | None = None) -> PrinterStatus:
        return cls(online=True, reported=False, detail=detail)

    @classmethod
    def unreachable(cls, detail: str) -> PrinterStatus:
        return cls(online=False, detail=detail)

    @property
    def problem(self) -> str | None:
        """Why a ticket cannot be printed now (zh-CN, shown to hall staff), or None."""
        if not self.reported:
            return None
        if self.paper_out:
            return "打印机缺纸"
        if self.cover_open:
            return "打印机上盖未关好"
        if not self.online:
            return self.detail or "打印机离线"
        return None

    @property
    def warning(self) -> str | None:
        """Something staff should fix soon that does not stop printing."""
        if self.reported and self.paper_near_end and not self.paper_out:
            return "打印纸即将用完"
        return None


def _check(name: str, value: int) -> int:
    if not 0 <= value <= 0xFF or value & _FIXED_MASK != _FIXED_BITS:
        raise StatusDecodeError(
            f"{name} answered 0x{value:02x}; a status byte has bits 1 and 4 set and 0 and 7 clear"
        )
    return value


def decode_status(printer: int, offline_cause: int, paper: int) -> PrinterStatus:
    """Combine the answers to DLE EOT 1, 2 and 4 into one status."""
    printer = _check("DLE EOT 1 (printer)", printer)
    offline_cause = _check("DLE EOT 2 (offline cause)", offline_cause)
    paper = _check("DLE EOT 4 (paper sensor)", paper)
    return PrinterStatus(
        online=not printer & _PRINTER_OFFLINE,
        cover_open=bool(offline_cause & _CAUSE_COVER_OPEN),
        # Either sensor bit is enough: cheaper printers set only one of each pair.
        paper_near_end=bool(paper & _PAPER_NEAR_END),
        paper_out=bool(paper & _PAPER_OUT) or bool(offline_cause & _CAUSE_PAPER_END_STOP),
    )
