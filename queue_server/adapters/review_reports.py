"""What the monthly report reads besides the figures: the month's bad ratings with their
follow-ups (the projection joined to follow_ups and ratings), and the anchor log's entries."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from ..domain.anchor import SignedAnchor
from .anchors import AnchorKeyError, load_public_key, read_log, signature_ok
from .rows import fetch_dicts

_BAD_RATINGS = (
    "SELECT v.hall, v.business_day, v.number, v.win AS window_no, v.staff AS staff_id, v.rating AS level,"
    " v.rated_at, v.callback_due, v.called_back_at, v.rectify_due, v.rectified_at,"
    " f.id AS follow_up, f.status, f.owner, f.closed_at, f.notes, r.labels"
    " FROM stat_visits v"
    " LEFT JOIN follow_ups f ON f.id = v.follow_up"
    " LEFT JOIN ratings r ON r.ticket_id = v.ticket_id"
    " WHERE v.hall = ANY($1::text[]) AND v.business_day BETWEEN $2 AND $3 AND v.rating BETWEEN 1 AND 2"
    " AND ($4::text IS NULL OR v.staff = $4)"
    " ORDER BY v.business_day, v.rated_at, v.hall, v.number"
)


async def bad_ratings(
    conn: asyncpg.Connection, halls: list[str], first: date, last: date, staff: str | None,
) -> list[dict[str, Any]]:
    """The bad ratings (levels 1–2) of tickets of `halls` whose business day is in [first, last],
    with their follow-up; only `staff`'s when given (a clerk's own)."""
    return await fetch_dicts(conn, _BAD_RATINGS, halls, first, last, staff)


class PostgresReviewReportStore:
    """The monthly report's store port (service/review_reports.py) on PostgreSQL."""

    bad_ratings = staticmethod(bad_ratings)


class AnchorLogReader:
    """The anchor log as (anchor, signature verified) pairs; lines that are not anchors are left
    out. `verified` is None when the public key cannot be read (no key file here)."""

    def __init__(self, log_path: Path, key_path: Path) -> None:
        self.log_path = Path(log_path)
        self.key_path = Path(key_path)

    def entries(self) -> list[tuple[SignedAnchor, bool | None]] | None:
        """None when there is no log (or it cannot be read)."""
        if not self.log_path.exists():
            return None
        try:
            public = load_public_key(self.key_path) if self.key_path.exists() else None
        except AnchorKeyError:
            public = None
        try:
            lines = read_log(self.log_path)
        except AnchorKeyError:
            return None
        found: list[tuple[SignedAnchor, bool | None]] = []
        for _, entry in lines:
            if isinstance(entry, SignedAnchor):
                found.append((entry, signature_ok(public, entry) if public is not None else None))
        return found
