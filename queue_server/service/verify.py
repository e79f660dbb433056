"""Ledger verification: recompute a hall's hash chain and compare it with the hall's head and,
when given, with signed anchors kept outside the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..domain.anchor import SignedAnchor, compare_with_ledger
from ..domain.ledger import ChainCheck, genesis_hash
from .ports import AnchorSigner, Database, HallStore


@dataclass(frozen=True)
class Verification:
    hall: str
    ok: bool
    rows: int
    line: str


@dataclass(frozen=True)
class AnchorCheck:
    """Anchors (line number in the log, anchor) of one hall whose signature verified."""

    line: int
    signed: SignedAnchor


async def verify_hall(
    pool: Database, store: HallStore, hall: str, anchors: Sequence[AnchorCheck] | None = None
) -> Verification:
    # Streamed: a year of a busy hall is millions of rows; only the hashes anchors name are kept.
    wanted = {check.signed.anchor.seq for check in anchors or ()}
    hashes = {0: genesis_hash(hall)}
    chain = ChainCheck(hall)
    broken = None
    count, last_seq, last_hash = 0, 0, genesis_hash(hall)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        head = await store.read_head(conn, hall)
        async for r in store.iter_ledger(conn, hall):
            count += 1
            if broken is None:
                broken = chain.add(r)
            last_seq, last_hash = r.seq, r.hash
            if r.seq in wanted:
                hashes[r.seq] = r.hash
    if broken is not None:
        return Verification(hall, False, count, f"FAIL {broken}")
    if head is not None and (head.seq != last_seq or bytes(head.head_hash) != last_hash):
        return Verification(
            hall, False, count,
            f"FAIL hall {hall}: ledger row {last_seq + 1}: missing (the hall's head is at seq "
            f"{head.seq}, the ledger ends at {last_seq})",
        )
    if anchors:
        for check in anchors:
            a = check.signed.anchor
            wrong = compare_with_ledger(a, last_seq, hashes.get(a.seq))
            if wrong is not None:
                return Verification(
                    hall, False, count,
                    f"FAIL hall {hall}: ledger row {a.seq}: {wrong} (anchor of "
                    f"{a.at.isoformat(timespec='seconds')}, anchors line {check.line})",
                )
        latest = max(anchors, key=lambda c: c.signed.anchor.seq).signed.anchor
        return Verification(
            hall, True, count,
            f"OK hall {hall}: {count} ledger rows, chain intact, {len(anchors)} anchor(s) "
            f"agree (latest at seq {latest.seq})",
        )
    return Verification(hall, True, count, f"OK hall {hall}: {count} ledger rows, chain intact")


def check_anchor_log(
    entries: Sequence[tuple[int, SignedAnchor | str]], public: Ed25519PublicKey, halls: Sequence[str],
    files: AnchorSigner,
) -> tuple[dict[str, list[AnchorCheck]], list[str]]:
    """The anchors of `halls` whose signature verifies, and a FAIL line for every other line.

    A line that does not parse or whose signature does not verify with `public` (altered, or
    made with another key) is a failure: an anchor log is only worth what every line in it is."""
    by_hall: dict[str, list[AnchorCheck]] = {hall: [] for hall in halls}
    problems: list[str] = []
    expected_key = files.key_id(public)
    for number, entry in entries:
        if isinstance(entry, str):
            problems.append(f"FAIL anchors line {number}: not an anchor: {entry}")
            continue
        a = entry.anchor
        if not files.signature_ok(public, entry):
            other = "" if entry.key_id == expected_key else f", made with key {entry.key_id}"
            problems.append(
                f"FAIL anchors line {number} (hall {a.hall}, seq {a.seq}): the signature does not "
                f"verify with public key {expected_key}{other} — altered or signed by another key"
            )
            continue
        if a.hall in by_hall:
            by_hall[a.hall].append(AnchorCheck(number, entry))
    return by_hall, problems
