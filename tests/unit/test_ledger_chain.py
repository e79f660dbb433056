"""The hash-chained ledger: verify_chain names the first row whose hash, link or sequence is wrong."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from queue_server.domain.ledger import ChainBreak, LedgerRow, genesis_hash, verify_chain
from tests.unit.small_hall import MONDAY_10AM

HALL = "small"


def chain(length: int, hall: str = HALL) -> list[LedgerRow]:
    """A whole chain of `length` rows, each hashed over its content and the previous hash."""
    rows: list[LedgerRow] = []
    prev = genesis_hash(hall)
    for seq in range(1, length + 1):
        row = LedgerRow(
            hall=hall,
            seq=seq,
            at=MONDAY_10AM + timedelta(seconds=seq),
            kind="ticket_issued",
            actor={"kind": "device", "id": "K01", "name": "1 号取号机", "role": "kiosk"},
            ticket_id=f"t{seq}",
            ticket_number=f"A{seq:03d}",
            window=None,
            payload={"channel": "kiosk", "priority": None},
            public={"number": f"A{seq:03d}"},
            prev_hash=prev,
        )
        row = dataclasses.replace(row, hash=row.computed_hash())
        rows.append(row)
        prev = row.hash
    return rows


def rehashed(row: LedgerRow, **changes: object) -> LedgerRow:
    """The row changed and given a hash that matches its new content, as a forger would."""
    changed = dataclasses.replace(row, **changes)
    return dataclasses.replace(changed, hash=changed.computed_hash())


def test_an_intact_chain_verifies() -> None:
    assert verify_chain(HALL, chain(6)) is None
    assert verify_chain(HALL, []) is None


def test_a_changed_payload_is_reported_at_its_row() -> None:
    rows = chain(6)
    rows[2] = dataclasses.replace(rows[2], payload={"channel": "kiosk", "priority": "green"})

    broken = verify_chain(HALL, rows)

    assert broken == ChainBreak(HALL, 3, "content does not match its hash (row altered)")
    assert str(broken) == "hall small: ledger row 3: content does not match its hash (row altered)"


def test_each_covered_field_is_protected_by_the_hash() -> None:
    changes: dict[str, object] = {
        "at": MONDAY_10AM, "kind": "ticket_cancelled", "actor": {"kind": "staff", "id": "x"},
        "ticket_id": "other", "ticket_number": "A999", "window": 7, "public": {},
    }  # fmt: skip
    for field, value in changes.items():
        rows = chain(4)
        rows[1] = dataclasses.replace(rows[1], **{field: value})

        broken = verify_chain(HALL, rows)

        assert broken is not None and broken.seq == 2, field


def test_a_rehashed_altered_row_breaks_the_link_of_the_next_row() -> None:
    rows = chain(6)
    rows[2] = rehashed(rows[2], payload={"channel": "kiosk", "priority": "green"})

    broken = verify_chain(HALL, rows)

    assert broken is not None
    assert (broken.seq, broken.reason) == (4, "prev_hash does not match the previous row's hash")


def test_a_swapped_prev_hash_is_reported_at_its_row() -> None:
    rows = chain(6)
    rows[3] = rehashed(rows[3], prev_hash=rows[1].hash)  # row 4 now claims to follow row 2

    broken = verify_chain(HALL, rows)

    assert broken is not None
    assert (broken.seq, broken.reason) == (4, "prev_hash does not match the previous row's hash")


def test_a_first_row_not_linked_to_the_halls_genesis_is_reported() -> None:
    rows = chain(3, hall="other")

    broken = verify_chain(HALL, rows)

    assert broken is not None and broken.seq == 1


def test_a_sequence_gap_is_reported_at_the_row_after_the_gap() -> None:
    rows = chain(6)
    del rows[2]  # row 3 removed

    broken = verify_chain(HALL, rows)

    assert broken == ChainBreak(HALL, 4, "sequence gap: expected 3")


def test_a_chain_not_starting_at_one_is_reported() -> None:
    broken = verify_chain(HALL, chain(4)[1:])

    assert broken == ChainBreak(HALL, 2, "sequence gap: expected 1")


def test_the_first_break_is_reported_when_there_are_several() -> None:
    rows = chain(8)
    rows[5] = dataclasses.replace(rows[5], kind="forged")
    rows[2] = dataclasses.replace(rows[2], kind="forged")

    broken = verify_chain(HALL, rows)

    assert broken is not None and broken.seq == 3
