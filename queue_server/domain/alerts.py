"""The hall's alerts (现场告警): which conditions hold now, decided from the hall's state alone.

An alert is known by its `key` (one per cause: a service's long wait, a window's long pause,
a printer out of paper …). The service raises the conditions that hold and are not open yet,
clears the open ones whose condition no longer holds, and raises a wait warning to an alarm
in place (the same key, a higher severity). Everything here is pure: time and device states
are passed in.

A bad rating is an event, not a lasting condition: it is raised when the rating arrives and
ends when a manager acknowledges it (the follow-up worklist carries it on), never by a sweep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .hall import HallState
from .model import TicketStatus, WindowStatus

SEVERITIES = ("warning", "alarm")

#: What each kind of alert is called on the console.
TITLES = {
    "wait": "等候超时",
    "window_paused": "窗口暂停过久",
    "window_idle": "窗口空闲但有人等候",
    "bad_rating": "收到差评",
    "printer_offline": "取号机打印机离线",
    "printer_paper": "取号机打印机缺纸",
    "screen_offline": "显示屏断开",
    "complaint_overdue": "投诉处理逾期",
}

#: A connected screen's presence is refreshed this often by the process holding its socket; a
#: presence not refreshed for PRESENCE_STALE is taken as gone (that process died silently).
PRESENCE_SECONDS = 60
PRESENCE_STALE = timedelta(seconds=3 * PRESENCE_SECONDS)

#: Kinds that a sweep never clears: they end when acknowledged.
ACK_CLEARS = frozenset({"bad_rating"})


@dataclass(frozen=True)
class Thresholds:
    """[alerts] in config.toml; the wait thresholds are each service's own warn/alarm minutes."""

    pause_minutes: int = 15
    idle_minutes: int = 5
    screen_minutes: int = 2


@dataclass(frozen=True)
class Device:
    """A device's last known state: a printer's reported status, or whether a screen is connected."""

    name: str
    role: str  # printer | display
    status: Mapping[str, Any]
    updated_at: datetime
    kiosk: str | None = None


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str
    severity: str  # warning | alarm
    since: datetime  # when its cause began (not when it was noticed)
    window: int | None = None
    service: str | None = None
    subject: str | None = None  # a device name, a ticket number
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLES[self.kind]


def screen_connected(d: Device, now: datetime) -> bool:
    return bool(d.status.get("connected")) and now - d.updated_at < PRESENCE_STALE


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def conditions(
    state: HallState, now: datetime, limits: Thresholds, devices: Iterable[Device], *, open_hours: bool
) -> dict[str, Alert]:
    """Every alert whose condition holds at `now`, by key."""
    found: dict[str, Alert] = {}
    hall = state.hall
    oldest: dict[str, datetime] = {}
    for t in state.tickets.values():
        if t.status is TicketStatus.WAITING and (t.service not in oldest or t.issued_at < oldest[t.service]):
            oldest[t.service] = t.issued_at
    for code, since in oldest.items():
        svc = hall.services.get(code)
        if svc is None:
            continue
        waited = _minutes(now - since)
        severity = "alarm" if waited >= svc.alarm_minutes else "warning" if waited >= svc.warn_minutes else None
        if severity:
            found[f"wait:{code}"] = Alert(
                f"wait:{code}", "wait", severity, since + timedelta(minutes=svc.warn_minutes), service=code,
                detail={"service_name": svc.name, "minutes": waited, "warn_minutes": svc.warn_minutes,
                        "alarm_minutes": svc.alarm_minutes},
            )
    for ws in state.windows.values():
        if ws.number not in hall.windows or ws.since is None:
            continue
        if ws.status is WindowStatus.PAUSED and now - ws.since >= timedelta(minutes=limits.pause_minutes):
            key = f"window_paused:{ws.number}"
            found[key] = Alert(key, "window_paused", "warning", ws.since, window=ws.number,
                               detail={"reason": ws.pause_reason, "minutes": _minutes(now - ws.since),
                                       "staff": ws.staff.name if ws.staff else None})
        elif ws.status is WindowStatus.OPEN and ws.current is None:
            idle_for = timedelta(minutes=limits.idle_minutes)
            services = hall.windows[ws.number].services
            waiting_since = min((oldest[s] for s in services if s in oldest), default=None)
            if waiting_since is None:
                continue
            # Idle with people waiting: since the later of the window's last change and the
            # oldest waiting ticket of its services.
            since = max(ws.since, waiting_since)
            if now - since >= idle_for:
                key = f"window_idle:{ws.number}"
                found[key] = Alert(key, "window_idle", "warning", since, window=ws.number,
                                   detail={"minutes": _minutes(now - since),
                                           "staff": ws.staff.name if ws.staff else None})
    for d in devices:
        if d.role == "printer":
            if not d.status.get("online", False):
                key = f"printer_offline:{d.name}"
                found[key] = Alert(key, "printer_offline", "alarm", d.updated_at, subject=d.name,
                                   detail={"kiosk": d.kiosk})
            elif d.status.get("paper_out") or d.status.get("paper_near_end"):
                key = f"printer_paper:{d.name}"
                out = bool(d.status.get("paper_out"))
                found[key] = Alert(key, "printer_paper", "alarm" if out else "warning", d.updated_at,
                                   subject=d.name, detail={"kiosk": d.kiosk, "paper_out": out})
        elif d.role == "display" and open_hours and not screen_connected(d, now):
            if now - d.updated_at >= timedelta(minutes=limits.screen_minutes):
                key = f"screen_offline:{d.name}"
                found[key] = Alert(key, "screen_offline", "warning", d.updated_at, subject=d.name,
                                   detail={"minutes": _minutes(now - d.updated_at)})
    return found


def overdue_complaint(complaint: str, state: str, due: datetime, *, step_zh: str, state_zh: str,
                      region: str | None, region_name: str | None, window: int | None) -> Alert:
    """A complaint's step past its deadline: held while the complaint stays in that state (the
    next step clears it); the hall's managers and its region's office see it."""
    key = f"complaint_overdue:{complaint}:{state}"
    return Alert(key, "complaint_overdue", "warning", due, window=window, subject=complaint,
                 detail={"state": state, "state_zh": state_zh, "step_zh": step_zh, "due": due.isoformat(),
                         "region": region, "region_name": region_name})


@dataclass(frozen=True)
class Change:
    """What a sweep does to one alert: raise it, raise its severity, or clear it."""

    action: str  # raised | escalated | cleared
    alert: Alert
    alert_id: str | None = None  # the open alert's id (escalated, cleared)


def diff(open_alerts: Mapping[str, tuple[str, str, str]], holding: Mapping[str, Alert]) -> list[Change]:
    """The changes from the open alerts (key -> (id, kind, severity)) to the conditions that hold.

    A condition already open at the same or a higher severity changes nothing (raised once); a
    wait warning that became an alarm is escalated; an open alert whose condition ended is
    cleared, except the kinds a manager's acknowledgement ends (ACK_CLEARS)."""
    changes: list[Change] = []
    for key, alert in holding.items():
        was = open_alerts.get(key)
        if was is None:
            changes.append(Change("raised", alert))
        elif SEVERITIES.index(alert.severity) > SEVERITIES.index(was[2]):
            changes.append(Change("escalated", alert, was[0]))
    for key, (alert_id, kind, severity) in open_alerts.items():
        if key not in holding and kind not in ACK_CLEARS:
            changes.append(Change("cleared", Alert(key, kind, severity, datetime.min), alert_id))
    return changes
