"""Ticket numbers as values: A023 is prefix A, sequence 23."""

from __future__ import annotations

from typing import Any

import pytest

from queue_server.domain.errors import InvalidInput
from queue_server.domain.model import TicketNumber


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A023", TicketNumber("A", 23)),
        ("A1", TicketNumber("A", 1)),
        ("b007", TicketNumber("B", 7)),
        (" C100 ", TicketNumber("C", 100)),
        ("M12345", TicketNumber("M", 12345)),
    ],
)
def test_parse_reads_a_prefix_letter_and_digits(text: str, expected: TicketNumber) -> None:
    assert TicketNumber.parse(text) == expected


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (TicketNumber("A", 23), "A023"),
        (TicketNumber("B", 1), "B001"),
        (TicketNumber("K", 1234), "K1234"),
    ],
)
def test_str_pads_the_sequence_to_three_digits(number: TicketNumber, text: str) -> None:
    assert str(number) == text
    assert TicketNumber.parse(text) == number


@pytest.mark.parametrize(
    "bad", ["", "   ", "023", "AA23", "A", "A-1", "A 23", "A123456", "Ａ023", "23A", None, 23]
)
def test_parse_refuses_anything_else_as_invalid_input(bad: Any) -> None:
    with pytest.raises(InvalidInput, match="不是字母加数字的形式") as info:
        TicketNumber.parse(bad)

    assert info.value.field == "number"


def test_numbers_order_by_prefix_then_sequence() -> None:
    numbers = [TicketNumber.parse(t) for t in ("B002", "A010", "A002", "B001")]

    assert [str(n) for n in sorted(numbers)] == ["A002", "A010", "B001", "B002"]
