"""Service quality figures of the performance review (投诉、调查与整改): per hall of a scope, per
street of a district, and in total — for the offices that review the halls (managers and admins;
a clerk's own figures are on 我的绩效)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Protocol

from ..domain.errors import Forbidden
from ..domain.quality import QualitySums, indicators
from ..domain.review import day_end
from .ports import Connection
from .principal import Principal
from .review import ReviewService, Scope, parse_date


class QualityStore(Protocol):
    async def served(self, conn: Connection, halls: list[str], first: date, last: date) -> dict[str, dict[str, Any]]: ...
    async def improvements(self, conn: Connection, halls: list[str], start: datetime, end: datetime,
                           now: datetime) -> dict[str, dict[str, Any]]: ...
    async def complaints(self, conn: Connection, halls: list[str], start: datetime, end: datetime,
                         now: datetime) -> dict[str, dict[str, Any]]: ...
    async def surveys(self, conn: Connection, halls: list[str], first: date, last: date) -> dict[str, dict[str, Any]]: ...


class QualityService:
    def __init__(self, review: ReviewService, store: QualityStore) -> None:
        self.review = review
        self.store = store

    async def figures(self, principal: Principal, scope_text: str | None, date_from: str | None,
                      date_to: str | None) -> dict[str, Any]:
        """The contract of GET /api/v1/stats/quality: {"scope","from","to","rows","regions","total"}."""
        review = self.review
        review.require_staff(principal)
        scope = review.scope(scope_text)
        if review.authorise(principal, scope) is not None:
            raise Forbidden("auth.role", who=f"{principal.kind} {principal.id}", role=principal.role,
                            roles="admin, manager")
        today = review.today()
        first = parse_date(date_from, "from", today)
        last = parse_date(date_to, "to", first if date_from else today)
        review.query(scope, first, last, "hall")  # the period's checks: order, length
        return await self.report(scope, first, last)

    async def report(self, scope: Scope, first: date, last: date) -> dict[str, Any]:
        review = self.review
        config = review.config
        start = day_end(first - timedelta(days=1), config.timezone, config.business_day_starts)
        end = day_end(last, config.timezone, config.business_day_starts)
        now = review.clock()
        halls = list(scope.halls)
        async with review.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            parts = [
                await self.store.served(conn, halls, first, last),
                await self.store.improvements(conn, halls, start, end, now),
                await self.store.complaints(conn, halls, start, end, now),
                await self.store.surveys(conn, halls, first, last),
            ]
        sums = {h: QualitySums() for h in halls}
        for part in parts:
            for hall, counts in part.items():
                if hall in sums:
                    for name, value in counts.items():
                        setattr(sums[hall], name, getattr(sums[hall], name) + (value or 0))
        rows = [{"key": h, "label": review.halls[h].name, **indicators(s)} for h, s in sums.items()]
        regions = []
        if scope.level == "district":
            for region in review.regions.values():
                if region.parent != scope.id:
                    continue
                under = [h for h in review.halls_under(region.id) if h in sums]
                if not under:
                    continue
                street = QualitySums()
                for h in under:
                    street.add(sums[h])
                regions.append({"key": region.id, "label": region.name, "halls": under, **indicators(street)})
        total = QualitySums()
        for s in sums.values():
            total.add(s)
        return {
            "scope": scope.text, "scope_name": scope.name, "halls": halls,
            "from": first.isoformat(), "to": last.isoformat(),
            "rows": rows, "regions": regions, "total": indicators(total),
            "generated_at": now.astimezone(config.timezone).isoformat(timespec="seconds"),
        }
