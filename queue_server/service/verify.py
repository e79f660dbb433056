"""Ledger verification: recompute a hall's hash chain and compare it with the hall's head."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapters import store
from ..domain.ledger import genesis_hash, verify_chain


@dataclass(frozen=True)
class Verification:
    hall: str
    ok: bool
    rows: int
    line: str


async def verify_hall(pool: store.Pool, hall: str) -> Verification:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        head = await store.read_head(conn, hall)
        rows = [r async for r in store.iter_ledger(conn, hall)]
    broken = verify_chain(hall, rows)
    if broken is not None:
        return Verification(hall, False, len(rows), f"FAIL {broken}")
    last_seq, last_hash = (rows[-1].seq, rows[-1].hash) if rows else (0, genesis_hash(hall))
    if head is not None and (head.seq != last_seq or bytes(head.head_hash) != last_hash):
        return Verification(
            hall, False, len(rows),
            f"FAIL hall {hall}: ledger row {last_seq + 1}: missing (the hall's head is at seq "
            f"{head.seq}, the ledger ends at {last_seq})",
        )
    return Verification(hall, True, len(rows), f"OK hall {hall}: {len(rows)} ledger rows, chain intact")
