"""The ESC/POS bytes of a ticket, read back with the test decoder, and the PNG preview.

Golden files pin the exact bytes; regenerate them with `UPDATE_GOLDEN=1` after an intended
change (image-mode goldens also move with FreeType's rendering, so check them on upgrades).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ticket_layout import bitmap
from ticket_layout.grid import text_columns
from ticket_layout.layout import (
    DEFAULT_FOOTER,
    PrinterProfile,
    QrCode,
    TextLine,
    layout_ticket,
    render_preview_png,
    render_ticket,
)

from .conftest import sample_ticket
from .escpos_decoder import Cut, Init, Qr, Raster, Text, decode, printed_lines

GOLDEN = Path(__file__).parent / "golden"
LAYOUTS = [
    PrinterProfile(paper_mm=paper, chinese=mode, qr=mode)
    for paper in (58, 80)
    for mode in ("native", "image")
]
ALL_PROFILES = [
    PrinterProfile(paper_mm=paper, chinese=chinese, qr=qr)
    for paper in (58, 80)
    for chinese in ("native", "image")
    for qr in ("native", "image")
]
NUMBER_SCALE = {58: 3, 80: 4}


def name(profile: PrinterProfile) -> str:
    return f"{profile.paper_mm}mm-chinese_{profile.chinese}-qr_{profile.qr}"


@pytest.mark.parametrize("profile", LAYOUTS, ids=name)
def test_ticket_bytes_match_the_golden_file(ticket, profile):
    golden = GOLDEN / f"ticket-{name(profile)}.bin"
    data = render_ticket(ticket, profile)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_bytes(data)  # then compared like any other run: it matches
    assert golden.exists(), f"{golden} is missing; run with UPDATE_GOLDEN=1 to create it"
    assert data == golden.read_bytes()


@pytest.mark.parametrize("profile", LAYOUTS, ids=name)
def test_golden_files_decode_to_a_whole_ticket(ticket, profile):
    """The golden bytes themselves carry the ticket, so a regenerated file cannot be junk."""
    golden = GOLDEN / f"ticket-{name(profile)}.bin"
    assert golden.exists(), f"{golden} is missing; run with UPDATE_GOLDEN=1 to create it"
    elements = decode(golden.read_bytes())
    assert isinstance(elements[-1], Cut)
    number = [line for line in printed_lines(elements) if line.text == "A023"]
    scale = NUMBER_SCALE[profile.paper_mm]
    assert [(n.width, n.height) for n in number] == [(scale, scale)]


@pytest.mark.parametrize("paper", [58, 80])
def test_native_ticket_prints_every_line_in_chinese_mode_at_its_size(ticket, paper):
    profile = PrinterProfile(paper_mm=paper)
    elements = decode(render_ticket(ticket, profile))
    lines = {line.text: line for line in printed_lines(elements)}
    scale = NUMBER_SCALE[paper]

    hall = lines["拱墅区行政服务中心"]
    assert hall.chinese and hall.bold and hall.height == 2
    assert lines["企业开办"].chinese and lines["企业开办"].height == 2
    number = lines["A023"]
    assert (number.width, number.height, number.align) == (scale, scale, "center")
    assert not number.chinese  # plain ASCII, readable on any printer
    assert lines["前面还有 3 人"].chinese
    assert "预计等候约 12 分钟" in lines
    assert "取号时间 2026-11-30 09:01" in lines
    assert "扫码查看排队进度并评价" in lines
    assert lines[DEFAULT_FOOTER].chinese
    assert (lines[DEFAULT_FOOTER].width, lines[DEFAULT_FOOTER].height) == (1, 1)
    assert [e for e in elements if isinstance(e, Qr)] == [
        Qr(payload=ticket.status_url, module_size=6 if paper == 80 else 5, ec="M", model=2)
    ]
    assert elements[-1] == Cut(partial=False)
    assert not [e for e in elements if isinstance(e, Raster)]


@pytest.mark.parametrize("profile", ALL_PROFILES, ids=name)
def test_every_profile_decodes_cleanly_and_ends_with_a_cut(ticket, profile):
    elements = decode(render_ticket(ticket, profile))
    assert elements[0] == Init()
    assert isinstance(elements[-1], Cut)
    rasters = [e for e in elements if isinstance(e, Raster)]
    assert all(r.width == profile.dots for r in rasters)
    if profile.qr == "native":
        assert [e.payload for e in elements if isinstance(e, Qr)] == [ticket.status_url]
    else:
        assert not [e for e in elements if isinstance(e, Qr)]
    if profile.chinese == "image":
        assert not [e for e in elements if isinstance(e, Text) and e.chinese]


def _text_raster(profile: PrinterProfile, line: TextLine) -> bytes:
    image = bitmap.text_bitmap(
        line.text,
        dots=profile.dots,
        font=bitmap.find_cjk_font(),
        width=line.width,
        height=line.height,
        bold=line.bold,
        align=line.align,
    )
    # GS v 0 sets a bit for a black dot; a "1" image stores white as 1.
    return bytes(b ^ 0xFF for b in image.tobytes())


@pytest.mark.parametrize("paper", [58, 80])
def test_image_ticket_carries_a_raster_of_each_chinese_line(ticket, paper):
    profile = PrinterProfile(paper_mm=paper, chinese="image")
    elements = decode(render_ticket(ticket, profile))
    rasters = [e.data for e in elements if isinstance(e, Raster)]
    expected = [
        _text_raster(profile, block)
        for block in layout_ticket(ticket, profile)
        if isinstance(block, TextLine) and not block.text.isascii()
    ]
    assert rasters == expected
    assert len(expected) == 7  # hall, service, ahead, wait, issued, scan prompt, footer
    # ASCII lines stay text: the big number and the rules.
    number = next(line for line in printed_lines(elements) if line.text == "A023")
    assert (number.width, number.height) == (NUMBER_SCALE[paper],) * 2


@pytest.mark.parametrize("paper", [58, 80])
def test_image_qr_code_has_the_modules_of_the_status_url(ticket, paper):
    profile = PrinterProfile(paper_mm=paper, qr="image")
    elements = decode(render_ticket(ticket, profile))
    [raster] = [e for e in elements if isinstance(e, Raster)]
    [qr] = [b for b in layout_ticket(ticket, profile) if isinstance(b, QrCode)]
    matrix = bitmap.qr_matrix(ticket.status_url)
    side = len(matrix) * qr.module_dots
    left = (profile.dots - side) // 2
    top = bitmap.QR_QUIET_MODULES * qr.module_dots
    half = qr.module_dots // 2
    sampled = [
        [
            raster.dark(left + x * qr.module_dots + half, top + y * qr.module_dots + half)
            for x in range(len(matrix))
        ]
        for y in range(len(matrix))
    ]
    assert sampled == matrix
    assert raster.height == side + 2 * top
    assert not raster.dark(left - 1, top) and not raster.dark(left + side, top)  # quiet zone


@settings(max_examples=40, deadline=None)
@given(
    hall_name=st.text(
        alphabet=st.sampled_from("拱墅区行政服务中心不动产（）《》，。ABC xyz-0123"), max_size=80
    ),
    paper=st.sampled_from([58, 80]),
)
def test_no_printed_line_exceeds_the_columns(hall_name, paper):
    profile = PrinterProfile(paper_mm=paper)
    lines = printed_lines(decode(render_ticket(sample_ticket(hall_name=hall_name), profile)))
    assert all(text_columns(line.text) * line.width <= profile.columns for line in lines)


def test_control_bytes_in_the_content_never_reach_the_printer():
    data = render_ticket(sample_ticket(hall_name="拱墅\x1b\x40\x1d\x56\x00区"), PrinterProfile())
    # Decoding would fail on a GS V 0 cut or ESC @ reset coming from the hall name.
    lines = printed_lines(decode(data))
    assert lines[0].text == "拱墅@ V区"  # GS is whitespace to Python: a space, like a newline


def test_rendering_is_deterministic(ticket):
    profile = PrinterProfile(paper_mm=58, chinese="image", qr="image")
    assert render_ticket(ticket, profile) == render_ticket(ticket, profile)
    assert render_preview_png(ticket, profile) == render_preview_png(ticket, profile)


def test_native_printing_needs_no_font_file(ticket):
    profile = PrinterProfile(font_path="/nonexistent/font.ttc")
    decode(render_ticket(ticket, profile))


def test_image_mode_without_a_font_says_which_font_is_missing(ticket):
    profile = PrinterProfile(chinese="image", font_path="/nonexistent/font.ttc")
    with pytest.raises(bitmap.FontNotFound, match="/nonexistent/font.ttc"):
        render_ticket(ticket, profile)


@pytest.mark.parametrize("profile", ALL_PROFILES, ids=name)
def test_preview_is_a_png_as_wide_as_the_paper(ticket, profile):
    image = Image.open(io.BytesIO(render_preview_png(ticket, profile)))
    assert image.format == "PNG"
    assert image.width == profile.dots
    assert 600 < image.height < 1200


def test_preview_shows_exactly_what_image_mode_prints(ticket):
    """Each raster sent to the printer appears, in order, as rows of the preview."""
    profile = PrinterProfile(paper_mm=80, chinese="image", qr="image")
    rasters = [e for e in decode(render_ticket(ticket, profile)) if isinstance(e, Raster)]
    preview = Image.open(io.BytesIO(render_preview_png(ticket, profile))).convert("1")
    preview_rows = [bytes(b ^ 0xFF for b in row) for row in _rows(preview)]
    y = 0
    for raster in rasters:
        rows = raster.rows()
        while preview_rows[y : y + len(rows)] != rows:
            y += 1
            if y + len(rows) > len(preview_rows):
                pytest.fail(f"raster {raster} not found in the preview below row {y}")
        y += len(rows)


def _rows(image: Image.Image) -> list[bytes]:
    data, width = image.tobytes(), image.width // 8
    return [data[y * width : (y + 1) * width] for y in range(image.height)]
