"""The monthly window report (服务绩效月报) a supervisor signs: the month's figures by hall,
window and staff (the ReviewService's, unchanged), the bad ratings with their follow-ups, and
the ledger anchors signed in the month. The data only; web/monthly_pdf.py lays it out."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any, Protocol

from ..domain.anchor import SignedAnchor
from ..domain.clock import business_day
from .ports import Connection
from .principal import Principal
from .quality import QualityService
from .ratings import LEVELS
from .review import ReviewService, parse_month
from .views import iso

LEVEL_NAMES = {score: name for score, name in LEVELS.values()}
FOLLOW_UP_STATUS_ZH = {"open": "待回访", "called_back": "已回访", "rectified": "已整改", "closed": "已办结"}
CUTS = ("hall", "window", "staff")
DAY_CLOSE = "day-close "


class ReviewReportStore(Protocol):
    async def bad_ratings(self, conn: Connection, halls: list[str], first: date, last: date,
                          staff: str | None) -> list[dict[str, Any]]: ...


class MonthActions(Protocol):
    async def month(self, halls: list[str], first: date, last: date) -> list[dict[str, Any]]:
        """The improvement actions (整改) the month's report lists (service/improvements.py)."""
        ...


class AnchorLog(Protocol):
    def entries(self) -> list[tuple[SignedAnchor, bool | None]] | None:
        """Every anchor of the log and whether its signature verified (None: no key to check
        with); None when there is no log."""
        ...


class ReviewReportService:
    def __init__(self, review: ReviewService, store: ReviewReportStore, anchors: AnchorLog | None = None,
                 improvements: MonthActions | None = None, quality: QualityService | None = None) -> None:
        self.review = review
        self.store = store
        self.anchors = anchors
        self.improvements = improvements
        #: complaints, surveys and improvement actions by hall (GET /api/v1/stats/quality)
        self.quality = quality

    async def monthly(self, principal: Principal, scope_text: str | None, month: str | None) -> dict[str, Any]:
        """Everything the monthly report shows; raises before anything is read when the scope,
        the principal or the month is wrong."""
        scope = self.review.scope(scope_text)
        own = self.review.authorise(principal, scope)
        first, last = parse_month(month)
        cuts = {by: self.review.query(scope, first, last, by, staff=own) for by in CUTS}
        figures = {by: await self.review.report(scope, q) for by, q in cuts.items()}
        tz = self.review.config.timezone
        async with self.review.pool.acquire() as conn:
            bad = await self.store.bad_ratings(conn, list(scope.halls), first, last, own)
        hall_names = {h: self.review.halls[h].name for h in scope.halls}
        staff_names = {str(r["key"]): r["label"] for r in figures["staff"]["rows"] if r["key"] is not None}
        anchors = await asyncio.to_thread(self._anchors, scope.halls, first, last)
        actions = await self.improvements.month(list(scope.halls), first, last) if self.improvements else []
        if own is not None:  # a clerk's own report: the actions they own
            actions = [a for a in actions if a["owner"] == own]
        # the hall's service quality is the office's, not part of a clerk's own report
        quality = await self.quality.report(scope, first, last) if self.quality and own is None else None
        return {
            "scope": scope.text, "scope_name": scope.name, "halls": list(scope.halls),
            "month": f"{first.year:04d}-{first.month:02d}", "month_zh": f"{first.year}年{first.month}月",
            "from": first.isoformat(), "to": last.isoformat(),
            "staff": own, "staff_name": figures["hall"]["staff_name"],
            "by_hall": figures["hall"], "by_window": figures["window"], "by_staff": figures["staff"],
            "bad_ratings": [self._bad(r, tz, hall_names, staff_names, multi=len(scope.halls) > 1) for r in bad],
            "anchors": anchors,
            "improvements": [{**a, "hall_name": hall_names.get(a["hall"], a["hall"])} for a in actions],
            "quality": quality,
            "generated_at": figures["hall"]["generated_at"],
        }

    def _bad(self, r: dict[str, Any], tz: Any, hall_names: dict[str, str], staff_names: dict[str, str],
             *, multi: bool) -> dict[str, Any]:
        notes = r["notes"] or []
        return {
            "hall": r["hall"], "hall_name": hall_names.get(r["hall"], r["hall"]),
            "business_day": r["business_day"].isoformat(), "number": r["number"],
            "window": r["window_no"],
            "window_label": (f"{hall_names.get(r['hall'], r['hall'])} " if multi else "")
            + (f"{r['window_no']} 号窗口" if r["window_no"] is not None else "—"),
            "staff_id": r["staff_id"], "staff_label": staff_names.get(str(r["staff_id"]), r["staff_id"] or "—"),
            "level": r["level"], "level_name": LEVEL_NAMES.get(r["level"], str(r["level"])),
            "labels": list(r["labels"] or []),
            "rated_at": iso(r["rated_at"], tz),
            "callback_due": iso(r["callback_due"], tz), "called_back_at": iso(r["called_back_at"], tz),
            "rectify_due": iso(r["rectify_due"], tz), "rectified_at": iso(r["rectified_at"], tz),
            "follow_up": r["follow_up"], "status": r["status"],
            "status_name": FOLLOW_UP_STATUS_ZH.get(r["status"] or "", r["status"] or "—"),
            "notes": [{"at": _local(n.get("at"), tz), "by": n.get("by"), "action": n.get("action"),
                       "note": n.get("note")} for n in notes if isinstance(n, dict)],
        }

    def _anchors(self, halls: tuple[str, ...], first: date, last: date) -> list[dict[str, Any]] | None:
        """The month's anchors of `halls` by business day (a day-close anchor belongs to the day
        it closes, any other to the day it was made); None when there is no anchor log."""
        if self.anchors is None:
            return None
        entries = self.anchors.entries()
        if entries is None:
            return None
        config = self.review.config
        found: list[dict[str, Any]] = []
        for signed, verified in entries:
            a = signed.anchor
            if a.hall not in halls:
                continue
            day = _closed_day(a.reason) or business_day(a.at, config.timezone, config.business_day_starts)
            if not first <= day <= last:
                continue
            found.append({
                "day": day.isoformat(), "hall": a.hall, "seq": a.seq, "head": a.head_hash.hex()[:16],
                "at": iso(a.at, config.timezone), "reason": a.reason, "key": signed.key_id,
                "signed": verified,
            })
        order = {h: i for i, h in enumerate(halls)}
        found.sort(key=lambda x: (x["day"], order.get(x["hall"], 0), x["seq"]))
        return found


def _local(text: Any, tz: Any) -> str | None:
    """A note's time (stored in UTC) in the hall's time zone."""
    if not isinstance(text, str):
        return None
    try:
        return iso(datetime.fromisoformat(text), tz)
    except ValueError:
        return None


def _closed_day(reason: str) -> date | None:
    if not reason.startswith(DAY_CLOSE):
        return None
    try:
        return date.fromisoformat(reason[len(DAY_CLOSE):].strip())
    except ValueError:
        return None
