"""Anchoring the halls' ledger heads: on demand and at each business day's close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..domain.anchor import Anchor, SignedAnchor
from .ports import AnchorSigner, Database, HallStore

log = logging.getLogger(__name__)

DAY_CLOSE_POLL_SECONDS = 30.0


class Anchorer:
    """Signs each hall's current ledger head and appends it to the anchor log."""

    def __init__(self, key: Ed25519PrivateKey, log_path: Path, *, files: AnchorSigner, store: HallStore) -> None:
        self.key = key
        self.log_path = Path(log_path)
        self.files = files
        self.store = store

    async def anchor(
        self, pool: Database, halls: Iterable[str], *, now: datetime, reason: str
    ) -> list[SignedAnchor]:
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            heads = [(hall, await self.store.read_head(conn, hall)) for hall in halls]
        signed = [
            self.files.sign(self.key, Anchor(hall, head.seq, bytes(head.head_hash), now, reason))
            for hall, head in heads
            if head is not None
        ]
        await asyncio.to_thread(self.files.append, self.log_path, signed)
        return signed


async def anchor_at_day_close(
    anchorer: Anchorer,
    pool: Database,
    halls: Iterable[str],
    *,
    clock: Callable[[], datetime],
    business_day: Callable[[datetime], date],
    poll_seconds: float = DAY_CLOSE_POLL_SECONDS,
) -> None:
    """Run until cancelled: when the business day changes, anchor every hall's head.

    The head at that moment is the end of the day that closed (its last row). A failure is
    logged and retried at the next poll, so a database that is down at midnight delays the
    anchor, it does not lose it."""
    halls = list(halls)
    day = business_day(clock())
    while True:
        await asyncio.sleep(poll_seconds)
        now = clock()
        today = business_day(now)
        if today == day:
            continue
        try:
            done = await anchorer.anchor(pool, halls, now=now, reason=f"day-close {day.isoformat()}")
        except Exception:
            log.exception("anchoring the ledger heads at the close of %s failed; retrying", day)
            continue
        log.info("anchored %d hall(s) at the close of %s in %s", len(done), day, anchorer.log_path)
        day = today
