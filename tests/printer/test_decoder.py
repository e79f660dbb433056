"""The test decoder itself: a decoder that accepted anything would make every ticket test pass."""

from __future__ import annotations

import pytest
from escpos.printer import Dummy

from .escpos_decoder import (
    Align,
    Cut,
    DecodeError,
    Feed,
    Init,
    LineFeed,
    Qr,
    Raster,
    Size,
    Text,
    decode,
    printed_lines,
)


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"\x1b@\x1bt\x10", "unknown command ESC b't'"),  # a code-page switch
        (b"\xb9\xb0", "outside Chinese mode"),  # GBK without FS &
        (b"\x1c&\xb9\xb0", "ends in Chinese mode"),
        (b"\x1c.", "FS . outside Chinese mode"),
        (b"\x07", "unknown control byte 0x07"),
        (b"\x1dv0\x00\x02\x00\x02\x00\xff", "truncated"),
        (b"\x1c&\xff\xff\x1c.", "0xff is not a GBK lead byte"),
    ],
)
def test_decoder_fails_loudly_on_bytes_it_does_not_know(data, complaint):
    with pytest.raises(DecodeError, match=complaint):
        decode(data)


def test_decoder_reads_python_escpos_commands_back():
    printer = Dummy()
    printer.hw("INIT")
    printer.set(align="center")
    printer.set(custom_size=True, width=3, height=2)
    printer._raw(b"A023\n")
    printer._raw(b"\x1c&" + "前面还有 3 人".encode("gbk") + b"\x1c.\n")
    printer.qr("https://x.example/t/1", native=True, size=5, ec=1)
    printer.image(_checkerboard(), impl="bitImageRaster")
    printer.cut()
    assert decode(printer.output) == [
        Init(),
        Align("center"),
        Size(3, 2),
        Text("A023", chinese=False),
        LineFeed(),
        Text("前面还有 3 人", chinese=True),
        LineFeed(),
        Qr("https://x.example/t/1", module_size=5, ec="M", model=2),
        Raster(16, 2, b"\xaa\xaa\x55\x55"),
        Feed(6),
        Cut(partial=False),
    ]


def test_printed_lines_carry_the_size_they_were_printed_at():
    lines = printed_lines(decode(b"\x1b@\x1d!\x33A023\n\x1d!\x00\x1c&\xc8\xcb\x1c.\n"))
    assert [(line.text, line.width, line.height, line.chinese) for line in lines] == [
        ("A023", 4, 4, False),
        ("人", 1, 1, True),
    ]


def _checkerboard():
    from PIL import Image

    image = Image.new("1", (16, 2), 1)
    for x in range(16):
        image.putpixel((x, x % 2), 0)
    return image
