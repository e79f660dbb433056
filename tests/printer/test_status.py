"""Decoding the DLE EOT real-time status bytes."""

from __future__ import annotations

import pytest

from printer_client.status import PrinterStatus, StatusDecodeError, decode_status

from . import fake_printer as fp


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ((fp.ONLINE, fp.NO_CAUSE, fp.PAPER_OK), PrinterStatus(online=True)),
        (
            (fp.OFFLINE, fp.PAPER_END_CAUSE, fp.PAPER_OUT),
            PrinterStatus(online=False, paper_out=True),
        ),
        (
            (fp.OFFLINE, fp.COVER_OPEN_CAUSE, fp.PAPER_OK),
            PrinterStatus(online=False, cover_open=True),
        ),
        (
            (fp.ONLINE, fp.NO_CAUSE, fp.PAPER_NEAR_END),
            PrinterStatus(online=True, paper_near_end=True),
        ),
        # Printers that set only one bit of each sensor pair.
        ((fp.ONLINE, fp.NO_CAUSE, 0x12 | 0x04), PrinterStatus(online=True, paper_near_end=True)),
        ((fp.OFFLINE, fp.NO_CAUSE, 0x12 | 0x20), PrinterStatus(online=False, paper_out=True)),
    ],
)
def test_status_bytes_decode_to_the_printer_state(answers, expected):
    assert decode_status(*answers) == expected


@pytest.mark.parametrize("bad", [0x00, 0xFF, 0x13, 0x92, 0x10, 0x02])
def test_a_byte_without_the_fixed_bits_is_not_a_status(bad):
    with pytest.raises(StatusDecodeError, match=f"0x{bad:02x}"):
        decode_status(fp.ONLINE, bad, fp.PAPER_OK)


@pytest.mark.parametrize(
    ("status", "problem"),
    [
        (PrinterStatus(online=True), None),
        (PrinterStatus(online=False, paper_out=True, cover_open=True), "打印机缺纸"),
        (PrinterStatus(online=False, cover_open=True), "打印机上盖未关好"),
        (PrinterStatus(online=False), "打印机离线"),
        (
            PrinterStatus.unreachable("打印机未连接: tcp://a:9100: 连接被拒绝"),
            "打印机未连接: tcp://a:9100: 连接被拒绝",
        ),
        (PrinterStatus.unknown("answered garbage"), None),
    ],
)
def test_the_problem_says_in_chinese_why_a_ticket_cannot_be_printed(status, problem):
    assert status.problem == problem


def test_paper_near_end_is_a_warning_not_a_problem():
    status = PrinterStatus(online=True, paper_near_end=True)
    assert status.problem is None
    assert status.warning == "打印纸即将用完"
