"""Ledger anchors: a hall's (seq, head hash, time) signed with a key kept outside the database.

The hash chain proves that no row was changed *relative to the rows after it*; whoever can
write the database (a superuser) can still cut the tail and reset the hall's head, or rewrite
a row and recompute every later hash. An anchor fixes a point of the chain outside the
database: a later ledger that ends before an anchored seq was truncated, and one whose row at
an anchored seq has another hash was rewritten at or before that row.

Pure: what is signed (the canonical bytes) and how an anchor compares with the ledger. The
signature itself and the files are the adapter's (adapters/anchors.py).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from .ledger import canonical_json

ANCHOR_FORMAT = 1
_DOMAIN_TAG = b"hall-queue ledger anchor v1\n"  # the bytes can never be mistaken for other signed data


@dataclass(frozen=True)
class Anchor:
    hall: str
    seq: int
    head_hash: bytes
    at: datetime
    reason: str  # "on-demand", "day-close 2026-11-30"

    def signed_bytes(self) -> bytes:
        return _DOMAIN_TAG + canonical_json(
            {
                "v": ANCHOR_FORMAT,
                "hall": self.hall,
                "seq": self.seq,
                "hash": self.head_hash.hex(),
                "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
                "reason": self.reason,
            }
        ).encode("utf-8")


@dataclass(frozen=True)
class SignedAnchor:
    anchor: Anchor
    key_id: str  # which public key signed it (adapters.anchors.key_id)
    signature: bytes

    def to_line(self) -> str:
        a = self.anchor
        return canonical_json(
            {
                "v": ANCHOR_FORMAT,
                "hall": a.hall,
                "seq": a.seq,
                "hash": a.head_hash.hex(),
                "at": a.at.astimezone(UTC).isoformat(timespec="microseconds"),
                "reason": a.reason,
                "key": self.key_id,
                "sig": base64.b64encode(self.signature).decode("ascii"),
            }
        )

    @classmethod
    def from_line(cls, line: str) -> SignedAnchor:
        """Parse one line of the anchor log; ValueError says what is wrong with it."""
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if data.get("v") != ANCHOR_FORMAT:
            raise ValueError(f"unknown anchor format {data.get('v')!r}")
        try:
            hall, seq, reason, key = data["hall"], data["seq"], data["reason"], data["key"]
            head_hash = bytes.fromhex(data["hash"])
            at = datetime.fromisoformat(data["at"])
            signature = base64.b64decode(data["sig"], validate=True)
        except KeyError as exc:
            raise ValueError(f"field {exc.args[0]!r} missing") from None
        except (TypeError, ValueError, binascii.Error) as exc:
            raise ValueError(f"malformed field ({exc})") from None
        if not (isinstance(hall, str) and isinstance(reason, str) and isinstance(key, str)):
            raise ValueError("hall, reason and key must be strings")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ValueError("seq must be a non-negative integer")
        if at.tzinfo is None:
            raise ValueError("at must carry a time zone")
        return cls(Anchor(hall, seq, head_hash, at, reason), key, signature)


def compare_with_ledger(anchor: Anchor, ledger_last_seq: int, hash_at_seq: bytes | None) -> str | None:
    """What is wrong with a ledger given one (signature-checked) anchor; None when it agrees.

    `ledger_last_seq` is the highest seq the ledger holds for the hall; `hash_at_seq` is the
    hash of its row at the anchored seq (the genesis hash for seq 0), None when there is none.
    """
    if ledger_last_seq < anchor.seq or hash_at_seq is None:
        return (
            f"missing: the ledger ends at seq {ledger_last_seq} but was anchored at seq "
            f"{anchor.seq} — rows were removed (truncated)"
        )
    if hash_at_seq != anchor.head_hash:
        return (
            f"hash differs from the anchored hash — the ledger was rewritten at or before "
            f"seq {anchor.seq}"
        )
    return None
