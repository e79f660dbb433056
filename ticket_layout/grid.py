"""The thermal printer's character grid: 12×24-dot columns, two columns for a GBK character."""

from __future__ import annotations

# Font A of ESC/POS printers is 12×24 dots; a GBK (Chinese) character is 24×24, two columns.
# 58 mm paper prints 384 dots (32 columns), 80 mm paper 576 dots (48 columns).
DOTS_PER_COLUMN = 12
LINE_DOTS = 24
# Default line spacing is about 30 dots: 24 for the glyph and the rest between lines.
LINE_GAP_DOTS = 6
LINE_PITCH_DOTS = LINE_DOTS + LINE_GAP_DOTS


def char_columns(ch: str) -> int:
    """Columns one character takes at 1× width: ASCII one, anything GBK-encoded two."""
    return 1 if ch < "\x80" else 2


def text_columns(text: str) -> int:
    return sum(char_columns(ch) for ch in text)
