"""The paper ticket: content → layout blocks → ESC/POS bytes, or a PNG preview of the same blocks.

Nothing here does I/O; the bytes are sent by `transport`. Paper and preview are both drawn
from `layout_ticket()`, so what the preview shows is what the printer prints.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy
from PIL import Image
from qrcode.exceptions import DataOverflowError

from . import bitmap
from .grid import DOTS_PER_COLUMN, LINE_PITCH_DOTS, char_columns, text_columns

PaperWidth = Literal[58, 80]
RenderMode = Literal["native", "image"]
Align = Literal["left", "center", "right"]

DEFAULT_FOOTER = "号码当日有效，过号请到导服台"

# FS & / FS .: enter and leave the printer's Chinese (GBK double-byte) character mode.
# python-escpos never sends them, and its text() re-encodes Chinese punctuation through
# single-byte code pages, so Chinese text is written here directly.
CHINESE_ON = b"\x1c\x26"
CHINESE_OFF = b"\x1c\x2e"

# Characters that may not start a line (closing punctuation) or end one (opening punctuation).
_NO_LINE_START = frozenset("，。、；：？！）】》」』〕〉”’…—～％,.;:?!)]}%")
_NO_LINE_END = frozenset("（【《「『〔〈“‘([{")
_UNPRINTABLE = "？"  # stands in for characters outside GBK; full width, like what it replaces


@dataclass(frozen=True)
class PrinterProfile:
    """What the kiosk's printer can do.

    `chinese="image"` draws Chinese lines as raster images, for printers without a GBK font;
    `qr="image"` draws the QR code, for printers without GS ( k.
    """

    paper_mm: PaperWidth = 80
    chinese: RenderMode = "native"
    qr: RenderMode = "native"
    font_path: str | None = None  # a CJK font for image mode; found automatically when None

    def __post_init__(self) -> None:
        if self.paper_mm not in (58, 80):
            raise ValueError(f"paper width must be 58 or 80 mm, got {self.paper_mm!r}")
        for name in ("chinese", "qr"):
            value = getattr(self, name)
            if value not in ("native", "image"):
                raise ValueError(f"{name} must be 'native' or 'image', got {value!r}")

    @property
    def columns(self) -> int:
        """Single-width (ASCII) columns across the paper: 32 on 58 mm, 48 on 80 mm."""
        return 48 if self.paper_mm == 80 else 32

    @property
    def dots(self) -> int:
        """Printable dots across the paper: 384 on 58 mm, 576 on 80 mm."""
        return self.columns * DOTS_PER_COLUMN


@dataclass(frozen=True)
class TicketContent:
    """What one paper ticket says. Never a citizen's name or ID number."""

    hall_name: str
    service_name: str
    number: str
    ahead: int
    estimated_wait_minutes: int
    issued_at: datetime
    status_url: str
    footer: str = DEFAULT_FOOTER
    window_hint: str | None = None

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise ValueError("ticket number is empty")
        for name in ("ahead", "estimated_wait_minutes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number ≥ 0, got {value!r}")
        if not self.status_url:
            raise ValueError("status_url is empty; the ticket's QR code needs it")


# --- layout blocks: what goes on the paper, top to bottom -----------------------------------


@dataclass(frozen=True)
class TextLine:
    """One printed line; `width`/`height` are the GS ! multipliers (1-8)."""

    text: str
    width: int = 1
    height: int = 1
    bold: bool = False
    align: Align = "center"


@dataclass(frozen=True)
class QrCode:
    payload: str
    module_dots: int


@dataclass(frozen=True)
class Feed:
    lines: int


Block = TextLine | QrCode | Feed


@dataclass(frozen=True)
class _Style:
    hall: tuple[int, int]  # (width, height) multipliers
    service: tuple[int, int]
    number: int  # the big number's multiplier, reduced if the number would not fit
    qr_module_dots: int  # reduced if a long URL would not fit


_STYLES: dict[int, _Style] = {
    80: _Style(hall=(2, 2), service=(2, 2), number=4, qr_module_dots=6),
    58: _Style(hall=(1, 2), service=(1, 2), number=3, qr_module_dots=5),
}


def printable(text: str) -> str:
    """`text` as the printer can print it: one line, no control bytes, GBK only."""
    out: list[str] = []
    for ch in text:
        if ch.isspace() and ch != "\u3000":
            out.append(" ")
        elif unicodedata.category(ch).startswith("C"):
            continue  # control and format characters: an ESC here would be a printer command
        elif ch < "\x80":
            out.append(ch)
        else:
            try:
                encoded = ch.encode("gbk")
            except UnicodeEncodeError:
                encoded = b""
            # GBK's one-byte oddities (0x80 for €) would desynchronise the double-byte mode.
            out.append(ch if len(encoded) == 2 else _UNPRINTABLE)
    return " ".join("".join(out).split())


def _units(text: str) -> list[str]:
    """Pieces a line may not break inside: ASCII words, CJK characters with their punctuation."""
    units: list[str] = []
    for ch in text:
        prev = units[-1] if units else ""
        ascii_word = ch.isascii() and not ch.isspace()
        if prev and (
            (ascii_word and prev.isascii() and not prev.isspace())
            or (ch in _NO_LINE_START and not prev.isspace())
            or (prev[-1] in _NO_LINE_END and not ch.isspace())
        ):
            units[-1] = prev + ch
        else:
            units.append(ch)
    return units


def wrap(text: str, columns: int) -> list[str]:
    """Break `text` into lines of at most `columns` columns (a CJK character counts two).

    Breaks between CJK characters or at spaces, keeps ASCII words and closing punctuation
    together when they fit, and cuts a word only when it is longer than a line.
    """
    if columns < 2:
        raise ValueError(f"cannot wrap text into {columns} column(s); a CJK character needs 2")
    lines: list[str] = []
    line = ""
    for unit in _units(printable(text)):
        if text_columns(line + unit) <= columns:
            line += unit
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = ""
        if unit.isspace():
            continue
        for ch in unit:  # a unit wider than a line is cut where it must be
            if text_columns(line) + char_columns(ch) > columns:
                lines.append(line)
                line = ""
            line += ch
    if line.strip():
        lines.append(line.rstrip())
    return [ln.lstrip() for ln in lines]


def _paragraph(
    text: str, columns: int, width: int = 1, height: int = 1, *, bold: bool = False
) -> list[Block]:
    return [
        TextLine(line, width=width, height=height, bold=bold)
        for line in wrap(text, columns // width)
    ]


def _big_number(number: str, columns: int, scale: int) -> list[Block]:
    text = printable(number)
    while scale > 1 and text_columns(text) * scale > columns:
        scale -= 1
    return _paragraph(text, columns, scale, scale, bold=True)


def _qr(payload: str, profile: PrinterProfile, preferred: int) -> QrCode:
    try:
        modules = len(bitmap.qr_matrix(payload)) + 2 * bitmap.QR_QUIET_MODULES
    except (DataOverflowError, ValueError):  # qrcode says "Invalid version (was 41 …)"
        raise ValueError(
            f"status_url is too long for any QR code ({len(payload)} characters)"
        ) from None
    module_dots = min(preferred, profile.dots // modules)
    if module_dots < 2:  # one-dot modules do not scan
        raise ValueError(
            f"status_url is too long for a scannable QR code on {profile.paper_mm} mm paper "
            f"({len(payload)} characters, {modules} modules)"
        )
    return QrCode(payload, module_dots)


def layout_ticket(content: TicketContent, profile: PrinterProfile) -> list[Block]:
    """The ticket, top to bottom, wrapped to the paper."""
    style = _STYLES[profile.paper_mm]
    columns = profile.columns
    rule = TextLine("-" * columns)
    blocks: list[Block] = [
        *_paragraph(content.hall_name, columns, *style.hall, bold=True),
        rule,
        *_paragraph(content.service_name, columns, *style.service),
        *_big_number(content.number, columns, style.number),
        *_paragraph(f"前面还有 {content.ahead} 人", columns),
        *_paragraph(f"预计等候约 {content.estimated_wait_minutes} 分钟", columns),
    ]
    if content.window_hint:
        blocks += _paragraph(content.window_hint, columns)
    blocks += [
        *_paragraph(f"取号时间 {content.issued_at:%Y-%m-%d %H:%M}", columns),
        rule,
        _qr(content.status_url, profile, style.qr_module_dots),
        Feed(1),
        *_paragraph("扫码查看排队进度并评价", columns),
        *_paragraph(content.footer, columns),
    ]
    return blocks


# --- paper and preview ------------------------------------------------------------------------


class _Strips:
    """Blocks drawn as bitmaps: what image mode prints and what the preview shows."""

    def __init__(self, profile: PrinterProfile) -> None:
        self._profile = profile
        self._font: bitmap.FontFile | None = None

    def _cjk_font(self) -> bitmap.FontFile:
        # Looked up on first use: a printer with native Chinese and QR never needs a font.
        if self._font is None:
            self._font = bitmap.find_cjk_font(self._profile.font_path)
        return self._font

    def text(self, line: TextLine) -> Image.Image:
        return bitmap.text_bitmap(
            line.text,
            dots=self._profile.dots,
            font=self._cjk_font(),
            width=line.width,
            height=line.height,
            bold=line.bold,
            align=line.align,
        )

    def qr(self, qr: QrCode) -> Image.Image:
        return bitmap.qr_bitmap(qr.payload, dots=self._profile.dots, module_dots=qr.module_dots)

    def block(self, block: Block) -> Image.Image:
        match block:
            case TextLine():
                return self.text(block)
            case QrCode():
                return self.qr(block)
            case Feed(lines=lines):
                return bitmap.blank(dots=self._profile.dots, height=lines * LINE_PITCH_DOTS)


class _TicketWriter:
    """Turns blocks into ESC/POS, sending alignment, size and bold only when they change."""

    def __init__(self, profile: PrinterProfile) -> None:
        self._profile = profile
        self._strips = _Strips(profile)
        self._escpos = Dummy()
        # A known media width stops python-escpos from printing a warning for every image.
        self._escpos.profile.profile_data = {
            **self._escpos.profile.profile_data,
            "media": {"dpi": 203, "width": {"mm": profile.paper_mm, "pixels": profile.dots}},
        }
        self._align: Align | None = None
        self._size: tuple[int, int] | None = None
        self._bold: bool | None = None
        self._escpos.hw("INIT")

    def block(self, block: Block) -> None:
        match block:
            case TextLine():
                self._text(block)
            case QrCode():
                self._qr(block)
            case Feed(lines=lines):
                self._escpos.print_and_feed(lines)

    def _style(self, line: TextLine) -> None:
        self._set_align(line.align)
        if (line.width, line.height) != self._size:
            self._escpos.set(custom_size=True, width=line.width, height=line.height)
            self._size = (line.width, line.height)
        if line.bold != self._bold:
            self._escpos.set(bold=line.bold)
            self._bold = line.bold

    def _set_align(self, align: Align) -> None:
        if align != self._align:
            self._escpos.set(align=align)
            self._align = align

    def _text(self, line: TextLine) -> None:
        # Escpos has no public raw write; _raw is what its own commands go through.
        if line.text.isascii():
            self._style(line)
            self._escpos._raw(line.text.encode("ascii") + b"\n")
        elif self._profile.chinese == "native":
            self._style(line)
            self._escpos._raw(CHINESE_ON + line.text.encode("gbk") + CHINESE_OFF + b"\n")
        else:
            # The bitmap is as wide as the paper, so alignment is already drawn into it.
            self._escpos.image(self._strips.text(line))

    def _qr(self, qr: QrCode) -> None:
        if self._profile.qr == "native":
            self._set_align("center")
            self._escpos.qr(qr.payload, ec=QR_ECLEVEL_M, size=qr.module_dots, native=True)
        else:
            self._escpos.image(self._strips.qr(qr))

    def finish(self) -> bytes:
        self._escpos.cut()  # feeds the ticket past the cutter first
        return self._escpos.output


def render_ticket(content: TicketContent, profile: PrinterProfile) -> bytes:
    """ESC/POS bytes for one ticket, ending with feed and cut; same input, same bytes."""
    writer = _TicketWriter(profile)
    for block in layout_ticket(content, profile):
        writer.block(block)
    return writer.finish()


def render_preview_png(content: TicketContent, profile: PrinterProfile) -> bytes:
    """A PNG of the ticket at printer resolution (1 px = 1 dot), drawn from the same blocks."""
    strips = _Strips(profile)
    margin = bitmap.blank(dots=profile.dots, height=LINE_PITCH_DOTS)
    image = bitmap.stack(
        [margin, *(strips.block(b) for b in layout_ticket(content, profile)), margin],
        dots=profile.dots,
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
