"""The pure ticket layout: wrapping, sizes and the order of what is printed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticket_layout.grid import text_columns
from ticket_layout.layout import (
    DEFAULT_FOOTER,
    Feed,
    PrinterProfile,
    QrCode,
    TextLine,
    layout_ticket,
    printable,
    wrap,
)

from .conftest import sample_ticket

PAPERS = [PrinterProfile(paper_mm=58), PrinterProfile(paper_mm=80)]

# Text as it arrives from hall configuration: Chinese, ASCII, punctuation, odd whitespace,
# control bytes and characters GBK has no code for.
ticket_text = st.text(
    alphabet=st.one_of(
        st.sampled_from("拱墅区行政服务中心不动产登记社保医保企业开办（）《》，。、：；！？“”"),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.sampled_from(["\n", "\t", "\x1b", "\x00", "\u3000", "\u200b", "😀", "€"]),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    ),
    max_size=120,
)


def test_profile_derives_columns_and_dots_from_the_paper_width():
    assert (PrinterProfile(paper_mm=58).columns, PrinterProfile(paper_mm=58).dots) == (32, 384)
    assert (PrinterProfile(paper_mm=80).columns, PrinterProfile(paper_mm=80).dots) == (48, 576)


@pytest.mark.parametrize("changes", [{"paper_mm": 76}, {"chinese": "bitmap"}, {"qr": "software"}])
def test_profile_rejects_what_no_printer_offers(changes):
    with pytest.raises(ValueError, match="must be"):
        PrinterProfile(**changes)


@pytest.mark.parametrize(
    "changes", [{"ahead": -1}, {"estimated_wait_minutes": 2.5}, {"number": " "}, {"status_url": ""}]
)
def test_ticket_content_rejects_impossible_values(changes):
    with pytest.raises(ValueError):
        sample_ticket(**changes)


def test_a_chinese_character_takes_two_columns():
    assert text_columns("A023") == 4
    assert text_columns("企业开办") == 8
    assert wrap("企业开办企业开办", 8) == ["企业开办", "企业开办"]
    assert wrap("企业开办企业开办", 7) == ["企业开", "办企业", "开办"]


def test_closing_punctuation_never_starts_a_line():
    lines = wrap("号码当日有效，过号请到导服台", 12)
    assert lines == ["号码当日有", "效，过号请到", "导服台"]
    assert not any(line.startswith("，") for line in lines)


def test_opening_punctuation_never_ends_a_line():
    assert wrap("请到不动产登记区（二楼）办理", 18) == ["请到不动产登记区", "（二楼）办理"]


def test_ascii_words_break_at_spaces_and_are_cut_only_when_longer_than_a_line():
    assert wrap("Gongshu District Service Center", 16) == ["Gongshu District", "Service Center"]
    assert wrap("ABCDEFGHIJKLMNOPQRST", 8) == ["ABCDEFGH", "IJKLMNOP", "QRST"]


def test_printable_removes_printer_commands_and_replaces_characters_gbk_lacks():
    assert printable("拱墅\x1b@区\n服务\t中心") == "拱墅@区 服务 中心"
    assert printable("窗口😀") == "窗口？"
    assert printable("  多余   空格  ") == "多余 空格"


@given(text=ticket_text, columns=st.integers(min_value=2, max_value=48))
def test_wrapped_lines_fit_the_columns_and_keep_every_character(text, columns):
    lines = wrap(text, columns)
    assert all(0 < text_columns(line) <= columns for line in lines)
    assert all(line == line.strip() for line in lines)
    assert "".join(lines).replace(" ", "") == printable(text).replace(" ", "")


@pytest.mark.parametrize("profile", PAPERS, ids=["58mm", "80mm"])
@given(hall_name=ticket_text, service_name=ticket_text, window_hint=ticket_text)
def test_no_line_of_any_ticket_runs_off_the_paper(profile, hall_name, service_name, window_hint):
    content = sample_ticket(hall_name=hall_name, service_name=service_name, window_hint=window_hint)
    for block in layout_ticket(content, profile):
        if isinstance(block, TextLine):
            assert text_columns(block.text) * block.width <= profile.columns, block


def test_a_long_hall_name_wraps_at_double_size_on_80mm():
    name = "杭州市拱墅区人民政府行政服务中心（原下城区市民之家）"
    blocks = layout_ticket(sample_ticket(hall_name=name), PrinterProfile(paper_mm=80))
    hall_lines = [b for b in blocks if isinstance(b, TextLine) and b.bold and b.width == 2]
    assert len(hall_lines) == 3
    assert "".join(line.text for line in hall_lines) == name
    assert all(text_columns(line.text) * 2 <= 48 for line in hall_lines)


@pytest.mark.parametrize(
    ("profile", "scale"), [(PAPERS[0], 3), (PAPERS[1], 4)], ids=["58mm", "80mm"]
)
def test_the_big_number_is_printed_at_the_papers_largest_size(profile, scale):
    blocks = layout_ticket(sample_ticket(), profile)
    assert TextLine("A023", width=scale, height=scale, bold=True) in blocks


def test_a_number_too_long_for_the_big_size_shrinks_until_it_fits():
    blocks = layout_ticket(sample_ticket(number="VIP-A0023"), PrinterProfile(paper_mm=58))
    number = next(b for b in blocks if isinstance(b, TextLine) and b.text == "VIP-A0023")
    assert (number.width, number.height) == (3, 3)  # 9 columns × 3 = 27 ≤ 32
    blocks = layout_ticket(sample_ticket(number="VIP-A00023"), PrinterProfile(paper_mm=58))
    number = next(b for b in blocks if isinstance(b, TextLine) and b.text == "VIP-A00023")
    assert (number.width, number.height) == (3, 3)  # 10 × 3 = 30 ≤ 32
    blocks = layout_ticket(sample_ticket(number="GREEN-A00023"), PrinterProfile(paper_mm=58))
    number = next(b for b in blocks if isinstance(b, TextLine) and b.text == "GREEN-A00023")
    assert (number.width, number.height) == (2, 2)  # 12 × 3 = 36 would not fit


def test_the_ticket_reads_top_to_bottom_in_the_agreed_order(ticket):
    blocks = layout_ticket(ticket, PrinterProfile(paper_mm=80))
    texts = [b.text for b in blocks if isinstance(b, TextLine) and not b.text.startswith("---")]
    assert texts == [
        "拱墅区行政服务中心",
        "企业开办",
        "A023",
        "前面还有 3 人",
        "预计等候约 12 分钟",
        "取号时间 2026-11-30 09:01",
        "扫码查看排队进度并评价",
        DEFAULT_FOOTER,
    ]
    qr = next(b for b in blocks if isinstance(b, QrCode))
    assert qr.payload == ticket.status_url
    assert blocks[blocks.index(qr) + 1] == Feed(1)


def test_a_window_hint_is_printed_after_the_wait_when_given():
    blocks = layout_ticket(sample_ticket(window_hint="请到二楼 5-8 号窗口等候"), PAPERS[1])
    texts = [b.text for b in blocks if isinstance(b, TextLine)]
    assert texts.index("请到二楼 5-8 号窗口等候") == texts.index("预计等候约 12 分钟") + 1


def test_the_qr_code_shrinks_its_modules_to_fit_a_long_url():
    short = next(b for b in layout_ticket(sample_ticket(), PAPERS[0]) if isinstance(b, QrCode))
    url = "https://queue.example.gov.cn/t/" + "x" * 600
    long = next(
        b for b in layout_ticket(sample_ticket(status_url=url), PAPERS[0]) if isinstance(b, QrCode)
    )
    assert short.module_dots == 5
    assert 2 <= long.module_dots < 5


def test_a_url_too_long_for_any_qr_code_is_refused_with_its_length():
    with pytest.raises(ValueError, match="too long for any QR code \\(5010 characters\\)"):
        layout_ticket(sample_ticket(status_url="https://x/" + "y" * 5000), PAPERS[0])
