"""Performance review (服务绩效): who may see which halls' figures, and the figures themselves.

Scopes: `hall:<id>`, `street:<region>`, `district:<region>` (config.toml [regions]). A hall's
manager sees their hall; a street or district office's manager their region's halls; an admin
every hall; a clerk (role staff) only their own figures in their own hall.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from ..domain import review
from ..domain.clock import business_day
from ..domain.errors import Forbidden, InvalidInput, NotFound
from ..domain.layout import Hall, Region
from ..domain.review import StatsQuery, Sums
from .ports import Connection, Database
from .principal import Principal

MAX_DAYS = 400  # a year and some: the longest period one report may cover
_SCOPE = re.compile(r"^(hall|street|district):([a-z][a-z0-9_]{0,39})$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
LEVEL_ZH = {"hall": "大厅", "street": "街道", "district": "区"}
CUT_ZH = {"hall": "大厅", "area": "区域", "service": "业务", "window": "窗口", "staff": "工作人员",
          "day": "日期", "hour": "时段"}
OUTLIERS_LISTED = 200


class ReviewStore(Protocol):
    async def visit_sums(self, conn: Connection, q: StatsQuery) -> list[Any]: ...
    async def wait_sums(self, conn: Connection, q: StatsQuery) -> list[Any]: ...
    async def session_sums(self, conn: Connection, q: StatsQuery) -> list[Any]: ...
    async def outliers(self, conn: Connection, q: StatsQuery) -> list[Any]: ...
    async def staff_names(self, conn: Connection, ids: list[str]) -> dict[str, str]: ...
    async def tune(self, conn: Connection) -> None: ...


@dataclass(frozen=True)
class Scope:
    text: str  # "hall:gongshu"
    level: str  # hall | street | district
    id: str
    name: str
    halls: tuple[str, ...]


def parse_date(text: str | None, field: str, default: date) -> date:
    if text is None or text == "":
        return default
    if not _DATE.match(text):
        raise InvalidInput("input.bad_date", field=field, got=text[:40])
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("input.bad_date", field=field, got=text[:40]) from None


def parse_month(text: str | None, field: str = "month") -> tuple[date, date]:
    """The first and last day of a YYYY-MM month."""
    m = _MONTH.match(text or "")
    if m is None or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2099:
        raise InvalidInput("input.bad_month", field=field, got=(text or "")[:40])
    first = date(int(m.group(1)), int(m.group(2)), 1)
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first, last


class ReviewService:
    def __init__(self, config: Any, pool: Database, store: ReviewStore, clock: Any) -> None:
        self.config = config
        self.pool = pool
        self.store = store
        self.clock = clock

    # ---- scopes ---------------------------------------------------------------------------

    @property
    def halls(self) -> dict[str, Hall]:
        return dict(self.config.halls)

    @property
    def regions(self) -> dict[str, Region]:
        return dict(self.config.regions)

    def halls_under(self, region_id: str) -> tuple[str, ...]:
        """The halls whose region is `region_id` or a street under it, in configuration order."""
        regions = self.regions
        found = []
        for hall in self.halls.values():
            node = hall.region
            while node is not None:
                if node == region_id:
                    found.append(hall.id)
                    break
                node = regions[node].parent if node in regions else None
        return tuple(found)

    def scope(self, text: str | None) -> Scope:
        m = _SCOPE.match(text or "")
        if m is None:
            raise InvalidInput("input.bad_scope", field="scope", got=(text or "")[:60])
        level, ident = m.group(1), m.group(2)
        if level == "hall":
            hall = self.halls.get(ident)
            if hall is None:
                raise NotFound("hall.unknown", hall=ident)
            return Scope(text or "", level, ident, hall.name, (ident,))
        region = self.regions.get(ident)
        if region is None or region.level != level:
            known = ", ".join(f"{level}:{r.id}" for r in self.regions.values() if r.level == level) or "—"
            raise NotFound("region.unknown", level_zh=LEVEL_ZH[level], region=ident, known=known)
        return Scope(text or "", level, ident, region.name, self.halls_under(ident))

    def scopes_of(self, principal: Principal) -> list[Scope]:
        """Every scope `principal` may review, widest first (the manager's console offers these)."""
        if principal.kind != "staff":
            return []
        if principal.region is not None:
            region = self.regions.get(principal.region)
            if region is None:
                return []
            tops = [self.scope(f"{region.level}:{region.id}")]
            if region.level == "district":
                tops += [self.scope(f"street:{r.id}") for r in self.regions.values() if r.parent == region.id]
            tops += [self.scope(f"hall:{h}") for h in self.halls_under(region.id)]
            return tops
        if principal.hall is None and principal.role == "admin":
            tops = [self.scope(f"{r.level}:{r.id}") for r in self.regions.values() if r.level == "district"]
            tops += [self.scope(f"street:{r.id}") for r in self.regions.values() if r.level == "street"]
            return tops + [self.scope(f"hall:{h}") for h in self.halls]
        if principal.hall is not None and principal.hall in self.halls:
            return [self.scope(f"hall:{principal.hall}")]
        return []

    @staticmethod
    def require_staff(principal: Principal) -> None:
        """Figures are for people: a device (kiosk, screen, printer, tablet) is refused."""
        if principal.kind != "staff":
            raise Forbidden("auth.role", who=f"{principal.kind} {principal.id}", role=principal.role,
                            roles="admin, manager, staff")

    def authorise(self, principal: Principal, scope: Scope) -> str | None:
        """Raise unless `principal` may see `scope`; the staff filter a clerk is held to."""
        self.require_staff(principal)
        allowed = {s.text for s in self.scopes_of(principal)}
        if scope.text not in allowed:
            own = principal.hall or principal.region or "—"
            raise Forbidden("auth.scope", who=f"{principal.role} {principal.id}", own=own, scope=scope.text)
        return principal.id if principal.role == "staff" else None

    # ---- figures --------------------------------------------------------------------------

    def today(self) -> date:
        return business_day(self.clock(), self.config.timezone, self.config.business_day_starts)

    def query(self, scope: Scope, date_from: date, date_to: date, by: str, *, window: int | None = None,
              staff: str | None = None) -> StatsQuery:
        if by not in review.CUTS:
            raise InvalidInput("input.bad_choice", field="by", known=", ".join(review.CUTS), got=str(by)[:40])
        if date_from > date_to:
            raise InvalidInput("input.period_order", field="from", start=date_from.isoformat(), end=date_to.isoformat())
        days = (date_to - date_from).days + 1
        if days > MAX_DAYS:
            raise InvalidInput("input.period_too_long", field="to", limit=MAX_DAYS, days=days)
        if window is not None:
            if len(scope.halls) != 1 or window not in self.halls[scope.halls[0]].windows:
                known = ", ".join(str(n) for n in self.halls[scope.halls[0]].windows) if len(scope.halls) == 1 else "—"
                raise NotFound("window.unknown", hall=scope.text, window=window, known=known)
        halls = [self.halls[h] for h in scope.halls]
        return StatsQuery(
            halls=scope.halls, date_from=date_from, date_to=date_to, by=by, now=self.clock(),
            tz=self.config.timezone, window=window, staff=staff,
            warn_s={(h.id, s.code): s.warn_minutes * 60.0 for h in halls for s in h.services.values()},
            service_area={(h.id, s.code): s.area for h in halls for s in h.services.values()},
            window_area={(h.id, w.number): w.area for h in halls for w in h.windows.values()},
        )

    async def stats(self, principal: Principal, scope_text: str | None, date_from: str | None,
                    date_to: str | None, by: str | None, *, window: int | None = None,
                    staff: str | None = None) -> dict[str, Any]:
        """The contract of GET /api/v1/stats: {"scope","from","to","by","rows","total",...}."""
        self.require_staff(principal)
        scope = self.scope(scope_text)
        own = self.authorise(principal, scope)
        today = self.today()
        start = parse_date(date_from, "from", today)
        end = parse_date(date_to, "to", start if date_from else today)
        q = self.query(scope, start, end, by or "hall", window=window, staff=own or staff)
        return await self.report(scope, q)

    async def report(self, scope: Scope, q: StatsQuery) -> dict[str, Any]:
        # one snapshot for every query of the report: its rows and total agree even while the
        # hall keeps writing
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            await self.store.tune(conn)
            visits = await self.store.visit_sums(conn, q)
            waits = await self.store.wait_sums(conn, q)
            sessions = await self.store.session_sums(conn, q)
            slow = await self.store.outliers(conn, q)
            names = await self.store.staff_names(conn, sorted({
                str(r["key"]) for r in [*visits, *waits, *sessions] if q.by == "staff" and r["key"] is not None
            } | ({q.staff} if q.staff else set())))
        sums: dict[Any, Sums] = {}

        def at(record: Any) -> Sums:
            key = "__total__" if record["total"] else record["key"]
            return sums.setdefault(key, Sums())

        for r in visits:
            s = at(r)
            s.issued, s.served, s.handle_n, s.handle_sum = r["issued"], r["served"], r["handle_n"], r["handle_sum"]
            s.no_show, s.abandoned = r["no_show"], r["abandoned"]
            s.levels = [0, r["r1"], r["r2"], r["r3"], r["r4"], r["r5"]]
            s.follow_ups = r["follow_ups"]
            s.callback_due, s.callback_on_time = r["callback_due"], r["callback_on_time"]
            s.rectify_due, s.rectify_on_time = r["rectify_due"], r["rectify_on_time"]
        wait_stats: dict[Any, tuple[float, float, float]] = {}
        for r in waits:
            s = at(r)
            s.called, s.over_threshold = r["called"], r["over_threshold"]
            wait_stats["__total__" if r["total"] else r["key"]] = (r["wait_sum"], r["wait_p90"], r["wait_max"])
        for r in sessions:
            s = at(r)
            s.sessions, s.open_s = r["sessions"], r["open_s"] or 0.0
            s.pause_s, s.pause_count = r["pause_s"] or 0.0, r["pause_count"] or 0
        outlier_counts: dict[Any, int] = {}
        for r in slow:
            outlier_counts[r["key"]] = outlier_counts.get(r["key"], 0) + 1
        windows = q.by in review.WINDOW_CUTS
        rows = []
        for key, s in sums.items():
            if key == "__total__":
                continue
            rows.append(self._row(q, key, s, wait_stats.get(key), outlier_counts.get(key, 0), windows, names))
        hall_order = {h: i for i, h in enumerate(self.halls)}
        rows.sort(key=lambda row: _order(q.by, row["key"], hall_order))
        total = sums.get("__total__", Sums())
        total_row = self._figures(total, wait_stats.get("__total__"), len(slow), windows)
        return {
            "scope": scope.text, "scope_name": scope.name, "halls": list(scope.halls),
            "from": q.date_from.isoformat(), "to": q.date_to.isoformat(), "by": q.by,
            "window": q.window, "staff": q.staff,
            "staff_name": names.get(q.staff) if q.staff else None,
            "rows": rows, "total": total_row,
            "outliers": [self._outlier(r) for r in slow[:OUTLIERS_LISTED]],
            "outliers_total": len(slow),
            "generated_at": q.now.astimezone(q.tz).isoformat(timespec="seconds"),
        }

    @staticmethod
    def _figures(s: Sums, waits: tuple[float, float, float] | None, outliers: int, windows: bool) -> dict[str, Any]:
        figures = review.indicators(s, windows=windows, outliers=outliers)
        if waits is not None and s.called:  # the SQL's own sum / P90 / max (Sums.waits stays empty)
            wait_sum, p90, worst = waits
            figures.update(wait_avg_s=round(wait_sum / s.called, 1), wait_p90_s=round(p90, 1),
                           wait_max_s=round(worst, 1))
        return figures

    def _row(self, q: StatsQuery, key: Any, s: Sums, waits: Any, outliers: int, windows: bool,
             names: dict[str, str]) -> dict[str, Any]:
        label = self.label(q.by, key, names, with_hall=len(q.halls) > 1)
        return {"key": key, "label": label, **self._figures(s, waits, outliers, windows)}

    def label(self, by: str, key: Any, names: dict[str, str], *, with_hall: bool = False) -> str:
        if key is None:
            return {"window": "未叫号", "staff": "未叫号", "area": "—", "service": "—"}.get(by, "—")
        text = str(key)
        if by == "hall":
            hall = self.halls.get(text)
            return hall.name if hall else text
        if by in ("area", "service", "window"):
            hall_id, _, code = text.partition("/")
            hall = self.halls.get(hall_id)
            prefix = f"{hall.name} " if hall is not None and with_hall else ""
            if hall is None:
                return text
            if by == "area":
                area = hall.areas.get(code)
                return prefix + (area.name if area else code)
            if by == "service":
                svc = hall.services.get(code)
                return prefix + (svc.name if svc else code)
            return prefix + f"{code} 号窗口"
        if by == "staff":
            return f"{names.get(text, text)}（{text}）"
        if by == "hour":
            return f"{text}:00–{int(text) + 1:02d}:00"
        return text

    def _outlier(self, r: Any) -> dict[str, Any]:
        return {
            "hall": r["hall"], "business_day": r["business_day"].isoformat(), "number": r["number"],
            "service": r["service"], "window": r["window_no"], "staff_id": r["staff_id"],
            "handle_s": round(r["handle_s"], 1), "median_s": round(r["median_s"], 1),
        }


def _order(by: str, key: Any, hall_order: dict[str, int]) -> tuple[Any, ...]:
    """Halls in configuration order, windows by number, the rest by key; "none" last."""
    if key is None:
        return (1, 0, "", 0)
    hall, _, rest = str(key).partition("/")
    if by == "hall":
        return (0, hall_order.get(hall, 99), "", 0)
    if by in ("area", "service", "window"):
        return (0, hall_order.get(hall, 99), "" if by == "window" else rest, int(rest) if rest.isdigit() else 0)
    return (0, 0, str(key), 0)
