"""Public views of the hall: what screens, phones and the API may show (no citizen data)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..domain.civility import idle_line, ticker_phrases
from ..domain.hall import HallState
from ..domain.layout import Civility, Hall
from ..domain.model import Ticket, TicketStatus, WindowState
from ..domain.notices import Notice
from ..domain.notices import shown as shown_notices


def iso(instant: datetime | None, tz: ZoneInfo) -> str | None:
    return instant.astimezone(tz).isoformat(timespec="seconds") if instant else None


def notice_view(notice: Notice, tz: ZoneInfo) -> dict[str, Any]:
    return {"text": notice.text, "starts_at": iso(notice.starts_at, tz), "ends_at": iso(notice.ends_at, tz)}


def ticket_brief(t: Ticket) -> dict[str, Any]:
    return {
        "number": t.number_text,
        "service": t.service,
        "status": t.status.value,
        "calls": t.calls,
        "window": t.window,
    }


def window_view(hall: Hall, state: HallState, ws: WindowState) -> dict[str, Any]:
    cfg = hall.windows[ws.number]
    current = state.tickets.get(ws.current) if ws.current else None
    staff = None
    if ws.staff is not None:
        staff = {
            "id": ws.staff.id,
            "name": ws.staff.name,
            "photo_url": ws.staff.photo_url,
            "stand_in": ws.staff.stand_in_for is not None,
            "stand_in_for": ws.staff.stand_in_for,
        }
    return {
        "number": cfg.number,
        "name": cfg.name,
        "area": cfg.area,
        "services": list(cfg.services),
        "comprehensive": cfg.comprehensive,
        "state": ws.status.value,
        "pause_reason": ws.pause_reason,
        "message": ws.message,
        "staff": staff,
        "current": ticket_brief(current) if current else None,
    }


def service_view(state: HallState, code: str) -> dict[str, Any]:
    svc = state.hall.services[code]
    waiting = state.waiting_count(code)
    return {
        "code": code,
        "name": svc.name,
        "name_en": svc.name_en,
        "area": svc.area,
        "waiting": waiting,
        "estimated_wait_minutes": state.service_wait(code),
        "quota_left": max(0, svc.daily_quota - state.counters.get(code, 0)),
    }


def snapshot(
    state: HallState,
    *,
    seq: int,
    at: datetime,
    tz: ZoneInfo,
    recent_calls: list[dict[str, Any]],
    notices: list[Notice],
    civility: Civility,
    printers: list[dict[str, Any]] | None = None,
    training: bool = False,
) -> dict[str, Any]:
    hall = state.hall
    return {
        "hall": hall.id,
        "name": hall.name,
        "name_en": hall.name_en,
        "level": hall.level,
        "seq": seq,
        "business_day": state.day.isoformat(),
        "at": iso(at, tz),
        "voice": hall.voice,
        "has_kiosk": hall.has_kiosk,
        # served with --ignore-hours: training and demos (screens show 培训模式)
        "training": training,
        "idle_line": idle_line(has_kiosk=hall.has_kiosk),
        "areas": [{"code": a.code, "name": a.name, "name_en": a.name_en} for a in hall.areas.values()],
        "services": [service_view(state, code) for code in hall.services],
        "windows": [window_view(hall, state, state.windows[n]) for n in hall.windows],
        "recent_calls": recent_calls,
        # What the ticker shows now, and every item with its times: a screen switches an item
        # on and off by its own clock between two snapshots.
        "notices": shown_notices(notices, at),
        "notice_items": [notice_view(n, tz) for n in notices],
        "civility": {k: (ticker_phrases(v, voice=hall.voice, has_kiosk=hall.has_kiosk) if k == "hall" else list(v))
                     for k, v in civility.phrases.items()},
        "printers": [
            {"name": p["name"], "kiosk": p["kiosk"], "status": p["status"], "updated_at": iso(p["updated_at"], tz)}
            for p in printers or [] if p["role"] == "printer"
        ],
    }


def public_event(
    state: HallState,
    *,
    seq: int,
    at: datetime,
    tz: ZoneInfo,
    kind: str,
    ticket: Ticket | None,
    window: int | None,
    services: list[str],
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The event as screens receive it: the affected ticket, window and service counts after it."""
    public_payload = {k: v for k, v in payload.items() if k in ("reason", "notices", "notice_items", "calls", "to_window", "to_service", "printer", "kiosk", "status", "message")}
    return {
        "seq": seq,
        "at": iso(at, tz),
        "kind": kind,
        "hall": state.hall.id,
        "ticket": ticket_brief(ticket) if ticket else None,
        "window": window_view(state.hall, state, state.windows[window]) if window is not None else None,
        "services": [service_view(state, s) for s in services],
        "payload": public_payload,
    }


def ticket_status(
    state: HallState | None, t: Ticket, hall: Hall, tz: ZoneInfo, base_url: str, *, holder: bool = False,
) -> dict[str, Any]:
    """One ticket's status. With `holder`, the holder's view: it adds the holder's secret and the
    phone link built from it (the QR code) — only for whoever proved the secret or was just
    given the ticket (the issuing kiosk, phone or desk); staff and device views never carry it."""
    ahead = None
    wait = None
    if state is not None and t.status is TicketStatus.WAITING:
        ahead = state.ahead_of(t)
        wait = state.estimated_wait(t)
    svc = hall.services.get(t.service)
    view = {
        "id": t.id,
        "hall": hall.id,
        "hall_name": hall.name,
        "number": t.number_text,
        "service": t.service,
        "service_name": svc.name if svc else t.service,
        "status": t.status.value,
        "business_day": t.business_day.isoformat(),
        "issued_at": iso(t.issued_at, tz),
        "priority": t.priority,
        "ahead": ahead,
        "estimated_wait_minutes": wait,
        "window": t.window if t.status in (TicketStatus.CALLED, TicketStatus.SERVING) else None,
        "calls": t.calls,
        "called_at": iso(t.last_called_at, tz),
        "finished_at": iso(t.finished_at, tz),
    }
    if holder:
        view["holder_secret"] = t.holder_secret
        view["status_url"] = holder_url(base_url, t)
    return view


def holder_url(base_url: str, t: Ticket) -> str:
    """The ticket holder's phone page: the link in the QR code."""
    return f"{base_url.rstrip('/')}/t/{t.holder_secret}"


def print_content(status: dict[str, Any]) -> dict[str, Any]:
    """What the paper ticket shows, from the ticket's public status (never a citizen's data)."""
    return {
        "hall_name": status["hall_name"],
        "service_name": status["service_name"],
        "number": status["number"],
        "ahead": status["ahead"] or 0,
        "estimated_wait_minutes": status["estimated_wait_minutes"] or 0,
        "issued_at": status["issued_at"],
        "status_url": status["status_url"],
    }


# Free text in ledger payloads that may carry a citizen's personal data (e.g. "80岁，行动不便"
# as a priority reason): every staff member reads /events, only managers read these fields.
PERSONAL_FIELDS = frozenset({"priority_reason"})
MASK = "（已隐去）"


def without_personal(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (MASK if k in PERSONAL_FIELDS and v else v) for k, v in payload.items()}
