"""大厅监控: the hall as a whole, as a manager watches it live.

`MonitorService.view` reads one consistent snapshot of a hall (its live state, devices, today's
running figures from the review projection, and its alerts) and shapes it for the console. The
web layer pushes a fresh view to every watching page after each of the hall's events (web/monitor.py);
durations are sent as the instants they began, and the page counts them up itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..domain.alerts import Device, screen_connected
from ..domain.errors import Forbidden
from ..domain.hall import HallState
from ..domain.model import TicketStatus
from .alerts import MANAGERS, alert_view
from .ports import AlertStore, Database, HallStore
from .principal import Principal
from .queue import QueueService
from .review import ReviewService
from .views import iso


class MonitorService:
    def __init__(self, queue: QueueService, review: ReviewService, pool: Database, halls: HallStore,
                 alerts: AlertStore, *, clock: Callable[[], datetime]) -> None:
        self.queue = queue
        self.review = review
        self.pool = pool
        self.halls = halls
        self.alerts = alerts
        self.clock = clock
        self.tz: ZoneInfo = queue.tz

    def watchable(self, principal: Principal) -> list[str]:
        """The halls `principal` may watch: a hall manager their hall, a region manager the
        halls of their region, an admin every hall; clerks and devices none."""
        if principal.kind != "staff" or principal.role not in MANAGERS:
            return []
        seen: dict[str, None] = {}
        for scope in self.review.scopes_of(principal):
            for hall in scope.halls:
                seen.setdefault(hall, None)
        return list(seen)

    def require_watch(self, principal: Principal, hall_id: str) -> None:
        self.queue.hall(hall_id)
        if hall_id not in self.watchable(principal):
            raise Forbidden("auth.monitor", who=f"{principal.role} {principal.id}", hall=hall_id)

    async def view(self, hall_id: str) -> dict[str, Any]:
        hall = self.queue.hall(hall_id)
        now = self.clock()
        day = self.queue.today(now)
        since = self.queue.day_start(day)
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            head = await self.halls.read_head(conn, hall_id)
            state = await self.halls.load_state(conn, hall, day)
            devices = await self.alerts.devices(conn, hall_id)
            today = await self.alerts.today_figures(conn, hall_id, day)
            alerts = await self.alerts.recent_alerts(conn, hall_id, since)
        return hall_view(state, seq=head.seq if head else 0, now=now, tz=self.tz, devices=devices,
                         today=today, alerts=[alert_view(a, self.tz) for a in alerts])

    async def presence(self, hall_id: str, device: str, connected: bool) -> None:
        """A registered screen connected, is still connected, or went away."""
        async with self.pool.acquire() as conn:
            await self.alerts.save_presence(conn, hall_id, device, connected, self.clock())


def _level(waited_s: float | None, warn_minutes: int, alarm_minutes: int) -> str:
    if waited_s is None:
        return "ok"
    if waited_s >= alarm_minutes * 60:
        return "alarm"
    if waited_s >= warn_minutes * 60:
        return "warning"
    return "ok"


def hall_view(state: HallState, *, seq: int, now: datetime, tz: ZoneInfo, devices: Iterable[Device],
              today: dict[str, Any], alerts: list[dict[str, Any]]) -> dict[str, Any]:
    hall = state.hall
    oldest: dict[str, Any] = {}
    for t in state.tickets.values():
        if t.status is TicketStatus.WAITING:
            best = oldest.get(t.service)
            if best is None or t.issued_at < best.issued_at:
                oldest[t.service] = t
    windows = []
    for number in hall.windows:
        ws = state.windows[number]
        cfg = hall.windows[number]
        current = state.tickets.get(ws.current) if ws.current else None
        windows.append({
            "number": number, "name": cfg.name, "services": list(cfg.services), "state": ws.status.value,
            "since": iso(ws.since, tz), "pause_reason": ws.pause_reason,
            "staff": None if ws.staff is None else {"id": ws.staff.id, "name": ws.staff.name},
            "current": None if current is None else {
                "number": current.number_text, "service": current.service, "status": current.status.value,
                "since": iso(current.started_at if current.status is TicketStatus.SERVING
                             else current.last_called_at, tz)},
        })
    services = []
    for code, svc in hall.services.items():
        first = oldest.get(code)
        waited = (now - first.issued_at).total_seconds() if first else None
        services.append({
            "code": code, "name": svc.name, "waiting": state.waiting_count(code),
            "oldest": first.number_text if first else None, "oldest_since": iso(first.issued_at, tz) if first else None,
            "warn_minutes": svc.warn_minutes, "alarm_minutes": svc.alarm_minutes,
            "level": _level(waited, svc.warn_minutes, svc.alarm_minutes),
            "windows_open": sum(1 for n in hall.windows if code in hall.windows[n].services
                                and state.windows[n].status.value != "closed"),
        })
    longest = min(oldest.values(), key=lambda t: t.issued_at, default=None)
    printers, screens = [], []
    for d in devices:
        if d.role == "printer":
            printers.append({"name": d.name, "kiosk": d.kiosk, "online": bool(d.status.get("online")),
                             "paper_out": bool(d.status.get("paper_out")),
                             "paper_near_end": bool(d.status.get("paper_near_end")),
                             "cover_open": bool(d.status.get("cover_open")), "updated_at": iso(d.updated_at, tz)})
        else:
            screens.append({"name": d.name, "connected": screen_connected(d, now),
                            "updated_at": iso(d.updated_at, tz)})
    return {
        "hall": hall.id, "name": hall.name, "seq": seq, "at": iso(now, tz), "business_day": state.day.isoformat(),
        "windows": windows,
        "services": services,
        "waiting": sum(s["waiting"] for s in services),
        "longest_wait": None if longest is None else {
            "number": longest.number_text, "service": longest.service, "since": iso(longest.issued_at, tz)},
        "printers": printers,
        "screens": screens,
        "today": today,
        "alerts": alerts,
    }
