"""Ticket lines and QR codes drawn as 1-bit bitmaps at the printer's dot pitch (Pillow)."""

from __future__ import annotations

import functools
import math
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

from .grid import DOTS_PER_COLUMN, LINE_DOTS, LINE_GAP_DOTS, char_columns, text_columns

Align = Literal["left", "center", "right"]

# A QR code needs four modules of white around it to scan reliably.
QR_QUIET_MODULES = 4

# Where distributions put WenQuanYi Micro Hei; index 1 of the collection is its Mono face,
# whose glyphs sit best in the printer's fixed grid.
_KNOWN_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 1),  # Debian, Ubuntu: fonts-wqy-microhei
    ("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", 1),  # Fedora, Arch
    ("/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc", 1),
    ("/usr/local/share/fonts/wqy-microhei.ttc", 1),
)


class FontNotFound(LookupError):
    """No font with Chinese glyphs to draw ticket text with."""


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int = 0


def find_cjk_font(explicit: str | None = None) -> FontFile:
    """The font to draw Chinese with: `explicit` if given, else WenQuanYi or any zh font."""
    if explicit is not None:
        if not os.path.isfile(explicit):
            raise FontNotFound(f"CJK font file {explicit!r} does not exist")
        return FontFile(explicit, 0)
    return _find_installed_font()


@functools.cache
def _find_installed_font() -> FontFile:
    for path, index in _KNOWN_FONTS:
        if os.path.isfile(path):
            return FontFile(path, index)
    found = _fontconfig_zh_fonts()
    if found:
        # Prefer WenQuanYi, then whatever fontconfig lists first, so the pick is stable.
        found.sort(key=lambda f: (0 if "wqy" in f.path.lower() else 1, f.path, f.index))
        return found[0]
    tried = ", ".join(path for path, _ in _KNOWN_FONTS)
    raise FontNotFound(
        "no font with Chinese glyphs found to print ticket text as an image: "
        "install fonts-wqy-microhei (apt) / wqy-microhei-fonts (dnf), or pass a font file "
        f"path (PrinterProfile.font_path); looked in {tried} and asked fontconfig for :lang=zh-cn"
    )


def _fontconfig_zh_fonts() -> list[FontFile]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        result = subprocess.run(
            [fc_list, ":lang=zh-cn", "file", "index"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    fonts = []
    for row in result.stdout.splitlines():
        # "path: :index=1"
        path, _, rest = row.partition(":")
        _, _, index = rest.partition("index=")
        if path and os.path.isfile(path.strip()):
            fonts.append(FontFile(path.strip(), int(index) if index.strip().isdigit() else 0))
    return fonts


@functools.lru_cache(maxsize=16)
def _font(font: FontFile, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font.path, size, index=font.index)


@functools.lru_cache(maxsize=4096)
def _glyph(
    font: FontFile, ch: str, size: int, cell_width: int, hscale: float, bold: bool
) -> Image.Image:
    """One character, black on white ("L"), centred in a cell of the printer's grid."""
    face = _font(font, size)
    ascent, descent = face.getmetrics()
    top = (size - (ascent + descent)) // 2
    embolden = max(1, size // LINE_DOTS) if bold else 0
    natural = max(1, math.ceil(face.getlength(ch))) + embolden
    glyph = Image.new("L", (natural, size), 255)
    draw = ImageDraw.Draw(glyph)
    draw.text((0, top), ch, font=face, fill=0)
    if bold:
        # Thermal printers embolden by striking each dot twice, shifted right; do the same.
        draw.text((embolden, top), ch, font=face, fill=0)
    width = min(cell_width, max(1, round(natural * hscale)))
    if width != natural:
        glyph = glyph.resize((width, size), Image.Resampling.LANCZOS)
    cell = Image.new("L", (cell_width, size), 255)
    cell.paste(glyph, ((cell_width - width) // 2, 0))
    return cell


def text_bitmap(
    text: str,
    *,
    dots: int,
    font: FontFile,
    width: int = 1,
    height: int = 1,
    bold: bool = False,
    align: Align = "center",
) -> Image.Image:
    """A line of text as the printer would lay it out: `dots` wide, one line pitch high.

    `width`/`height` are the GS ! multipliers; each character fills its grid cells exactly,
    so wrapping computed in columns holds for the bitmap too.
    """
    column = DOTS_PER_COLUMN * width
    used = text_columns(text) * column
    if used > dots:
        raise ValueError(f"line {text!r} is {used} dots wide; the paper has {dots}")
    size = LINE_DOTS * height
    canvas = Image.new("L", (dots, size + LINE_GAP_DOTS), 255)
    x = {"left": 0, "center": (dots - used) // 2, "right": dots - used}[align]
    for ch in text:
        cell_width = char_columns(ch) * column
        if not ch.isspace():
            canvas.paste(_glyph(font, ch, size, cell_width, width / height, bold), (x, 0))
        x += cell_width
    return canvas.convert("1", dither=Image.Dither.NONE)


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR symbol for `payload` (model 2, level M, smallest version), without quiet zone."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


def qr_bitmap(payload: str, *, dots: int, module_dots: int) -> Image.Image:
    """The QR code centred on a `dots`-wide strip, with its quiet zone above and below."""
    matrix = qr_matrix(payload)
    side = len(matrix) * module_dots
    quiet = QR_QUIET_MODULES * module_dots
    if side + 2 * quiet > dots:
        raise ValueError(f"QR code is {side + 2 * quiet} dots wide; the paper has {dots}")
    image = Image.new("1", (dots, side + 2 * quiet), 1)
    draw = ImageDraw.Draw(image)
    left = (dots - side) // 2
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = left + x * module_dots, quiet + y * module_dots
                draw.rectangle((x0, y0, x0 + module_dots - 1, y0 + module_dots - 1), fill=0)
    return image


def blank(*, dots: int, height: int) -> Image.Image:
    return Image.new("1", (dots, height), 1)


def stack(strips: Sequence[Image.Image], *, dots: int) -> Image.Image:
    """Strips one under another, as they come off the paper roll."""
    image = Image.new("1", (dots, sum(s.height for s in strips)), 1)
    y = 0
    for strip in strips:
        image.paste(strip, (0, y))
        y += strip.height
    return image
