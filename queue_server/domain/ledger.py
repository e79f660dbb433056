"""The tamper-evident ledger: each row's hash covers its content and the previous row's hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def genesis_hash(hall: str) -> bytes:
    return hashlib.sha256(f"hall-queue ledger genesis {hall}".encode()).digest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class LedgerRow:
    hall: str
    seq: int
    at: datetime
    kind: str
    actor: Mapping[str, Any]
    ticket_id: str | None
    ticket_number: str | None
    window: int | None
    payload: Mapping[str, Any]
    public: Mapping[str, Any]
    prev_hash: bytes
    hash: bytes = b""

    def content(self) -> str:
        return canonical_json(
            {
                "hall": self.hall,
                "seq": self.seq,
                "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
                "kind": self.kind,
                "actor": self.actor,
                "ticket_id": self.ticket_id,
                "ticket_number": self.ticket_number,
                "window": self.window,
                "payload": self.payload,
                "public": self.public,
            }
        )

    def computed_hash(self) -> bytes:
        return hashlib.sha256(self.prev_hash + self.content().encode("utf-8")).digest()


@dataclass(frozen=True)
class ChainBreak:
    hall: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"hall {self.hall}: ledger row {self.seq}: {self.reason}"


class ChainCheck:
    """`verify_chain` one row at a time, so a long ledger is checked without holding it."""

    def __init__(self, hall: str) -> None:
        self.hall = hall
        self.prev = genesis_hash(hall)
        self.expected_seq = 1

    def add(self, row: LedgerRow) -> ChainBreak | None:
        """None when `row` extends the chain; else what is wrong with it (and the chain stops)."""
        if row.seq != self.expected_seq:
            return ChainBreak(self.hall, row.seq, f"sequence gap: expected {self.expected_seq}")
        if row.prev_hash != self.prev:
            return ChainBreak(self.hall, row.seq, "prev_hash does not match the previous row's hash")
        if row.computed_hash() != row.hash:
            return ChainBreak(self.hall, row.seq, "content does not match its hash (row altered)")
        self.prev = row.hash
        self.expected_seq += 1
        return None


def verify_chain(hall: str, rows: Iterable[LedgerRow]) -> ChainBreak | None:
    """The first row whose hash, link or sequence is wrong; None when the chain is whole."""
    check = ChainCheck(hall)
    for row in rows:
        broken = check.add(row)
        if broken is not None:
            return broken
    return None
