"""The staff ledger: every change to a staff account, one hash chain for the whole server
(migration 0015 says why it is not the hall ledger). Each row's hash covers its content and
the previous row's hash, as the hall ledger's do (domain/ledger.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .ledger import canonical_json

GENESIS = hashlib.sha256(b"hall-queue staff ledger genesis").digest()


@dataclass(frozen=True)
class StaffLedgerRow:
    seq: int
    at: datetime
    kind: str  # staff_added, staff_edited, staff_disabled, staff_enabled, staff_unlocked, ...
    actor: Mapping[str, Any]
    staff_id: str
    payload: Mapping[str, Any]
    prev_hash: bytes
    hash: bytes = b""

    def content(self) -> str:
        return canonical_json({
            "seq": self.seq, "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "kind": self.kind, "actor": self.actor, "staff_id": self.staff_id, "payload": self.payload,
        })

    def computed_hash(self) -> bytes:
        return hashlib.sha256(self.prev_hash + self.content().encode("utf-8")).digest()

    def sealed(self) -> StaffLedgerRow:
        return StaffLedgerRow(self.seq, self.at, self.kind, self.actor, self.staff_id, self.payload,
                              self.prev_hash, self.computed_hash())


def first_break(rows: Iterable[StaffLedgerRow]) -> str | None:
    """None when `rows` (in order, from the first) form an unbroken chain; else what is wrong."""
    prev, expected = GENESIS, 1
    for row in rows:
        if row.seq != expected:
            return f"staff ledger row {row.seq}: sequence gap: expected {expected}"
        if row.prev_hash != prev:
            return f"staff ledger row {row.seq}: prev_hash does not match the previous row's hash"
        if row.computed_hash() != row.hash:
            return f"staff ledger row {row.seq}: hash does not match its content"
        prev, expected = row.hash, expected + 1
    return None
