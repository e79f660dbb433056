"""The hall's alerts (现场告警): swept from the hall's state, raised once, acknowledged by a
manager, cleared when their cause ends — each step a ledger event of the hall.

A sweep is a command of the hall like any other: it runs under the hall's lock in the hall's
transaction, reading the open alerts there (`prepare`), so however many server processes sweep
the same hall, each change happens once (the unique index on open alerts says the same). A bad
rating raises its alert in the rating's own transaction (service/ratings.py: `bad_rating`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..domain import alerts as domain
from ..domain import complaints
from ..domain.clock import within_hours
from ..domain.errors import Forbidden, NotFound, Refused
from ..domain.hall import HallState
from ..domain.model import SYSTEM, Event, Ticket
from . import views
from .ports import AlertStore, Connection, Database
from .principal import Principal
from .queue import QueueService
from .results import Outcome
from .writes import AlertInsert, AlertUpdate, Write

log = logging.getLogger(__name__)

MANAGERS = ("manager", "admin")


def new_alert_id() -> str:
    return "al_" + secrets.token_urlsafe(9)


def _payload(alert_id: str, a: domain.Alert) -> dict[str, Any]:
    return {"alert": alert_id, "key": a.key, "kind": a.kind, "title": a.title, "severity": a.severity,
            "service": a.service, "subject": a.subject, "detail": dict(a.detail)}


def raise_alert(hall: str, a: domain.Alert, now: datetime, ticket: Ticket | None = None
                ) -> tuple[tuple[Event, Ticket | None], Write]:
    """The ledger event and the write of a newly raised alert (for a command's Outcome)."""
    alert_id = new_alert_id()
    event = Event("alert_raised", ticket.id if ticket else None, a.window, _payload(alert_id, a))
    write = AlertInsert(alert_id, hall, a.key, a.kind, a.severity, a.since, now, a.window, a.service,
                        a.subject, dict(a.detail))
    return (event, ticket), write


def bad_rating(ticket: Ticket, level_code: str, labels: list[str]) -> domain.Alert:
    """The alert of a bad rating of `ticket` (raised with the rating, ended by acknowledgement)."""
    assert ticket.finished_at is not None
    return domain.Alert(f"bad_rating:{ticket.id}", "bad_rating", "warning", ticket.finished_at,
                        window=ticket.window, subject=ticket.number_text,
                        detail={"level": level_code, "labels": labels, "staff_id": ticket.staff_id})


class AlertService:
    def __init__(self, config: Any, queue: QueueService, pool: Database, store: AlertStore, *,
                 clock: Callable[[], datetime]) -> None:
        self.config = config
        self.queue = queue
        self.pool = pool
        self.store = store
        self.clock = clock
        a = config.alerts
        self.limits = domain.Thresholds(a.pause_minutes, a.idle_minutes, a.screen_minutes)

    async def sweep(self, hall_id: str) -> list[domain.Change]:
        """Raise what holds and is not open, escalate, clear what ended; the changes made."""
        hall = self.queue.hall(hall_id)
        seen: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            rows = await self.store.open_alerts(conn, hall_id)
            seen["open"] = {r["key"]: (r["id"], r["kind"], r["severity"]) for r in rows}
            seen["devices"] = await self.store.devices(conn, hall_id)
            seen["complaints"] = await self.store.overdue_complaints(conn, hall_id, now)

        def apply(state: HallState, now: datetime) -> Outcome:
            holding = domain.conditions(state, now, self.limits, seen["devices"],
                                        open_hours=within_hours(now, self.config.timezone, hall.hours))
            holding.update(self._overdue_complaints(hall_id, seen["complaints"], now))
            changes = domain.diff(seen["open"], holding)
            events: list[tuple[Event, Ticket | None]] = []
            writes: list[Write] = []
            for c in changes:
                if c.action == "raised":
                    event, write = raise_alert(hall_id, c.alert, now)
                    events.append(event)
                    writes.append(write)
                    continue
                assert c.alert_id is not None
                events.append((Event(f"alert_{c.action}", None, c.alert.window, _payload(c.alert_id, c.alert)), None))
                writes.append(AlertUpdate(c.alert_id, c.action, now, severity=c.alert.severity,
                                          detail=dict(c.alert.detail)))
            seen["changes"] = changes
            return Outcome({"changes": len(changes)}, events, writes=writes)

        await self.queue.execute(hall_id, apply, SYSTEM, prepare=prepare)
        changes: list[domain.Change] = seen.get("changes", [])
        return changes

    def _overdue_complaints(self, hall_id: str, rows: list[dict[str, Any]], now: datetime) -> dict[str, domain.Alert]:
        """complaint_overdue alerts: raised in the hall, for its managers and (through the
        monitor, which a region manager watches) the office of the hall's region."""
        region_id = self.config.halls[hall_id].region
        region = self.config.regions.get(region_id) if region_id else None
        found: dict[str, domain.Alert] = {}
        for r in rows:
            if not complaints.overdue(r["state"], r["due"], now):
                continue
            a = domain.overdue_complaint(
                r["id"], r["state"], r["due"].astimezone(self.config.timezone), step_zh=complaints.STEP_ZH.get(r["state"], r["state"]),
                state_zh=complaints.STATES[r["state"]], region=region_id,
                region_name=region.name if region else None, window=r["window_no"])
            found[a.key] = a
        return found

    async def acknowledge(self, hall_id: str, alert_id: str, principal: Principal) -> dict[str, Any]:
        """A manager has seen the alert (who and when are ledgered). Pressing twice answers the
        first acknowledgement again and ledgers nothing more; a cleared alert is refused."""
        self.queue.hall(hall_id)
        require_manager(principal, hall_id)
        seen: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            row = await self.store.alert(conn, alert_id)
            if row is None or row["hall"] != hall_id:
                raise NotFound("alert.unknown", hall=hall_id, alert=alert_id)
            if row["acked_at"] is None and row["cleared_at"] is not None:
                raise Refused("alert.cleared", alert=alert_id,
                              at=views.iso(row["cleared_at"], self.config.timezone), state="cleared")
            seen["row"] = row

        def apply(state: HallState, now: datetime) -> Outcome:
            row = seen["row"]
            tz = self.config.timezone
            if row["acked_at"] is not None:
                return Outcome(alert_view(row, tz))
            payload = {"alert": alert_id, "key": row["key"], "kind": row["kind"],
                       "by": principal.id, "by_name": principal.name}
            events: list[tuple[Event, Ticket | None]] = [(Event("alert_acknowledged", None, row["window"], payload), None)]
            writes: list[Write] = [AlertUpdate(alert_id, "acknowledged", now, by=principal.id, by_name=principal.name)]
            cleared = None
            if row["kind"] in domain.ACK_CLEARS and row["cleared_at"] is None:
                events.append((Event("alert_cleared", None, row["window"], payload), None))
                writes.append(AlertUpdate(alert_id, "cleared", now))
                cleared = now
            done = {**row, "acked_at": now, "acked_by": principal.id, "acked_by_name": principal.name,
                    "cleared_at": cleared or row["cleared_at"]}
            return Outcome(alert_view(done, tz), events, writes=writes)

        return (await self.queue.execute(hall_id, apply, principal.actor, prepare=prepare)).body

    async def recent(self, hall_id: str, principal: Principal) -> list[dict[str, Any]]:
        """Open alerts and those cleared today, newest first."""
        self.queue.hall(hall_id)
        require_manager(principal, hall_id)
        since = self.queue.day_start(self.queue.today())
        async with self.pool.acquire() as conn:
            rows = await self.store.recent_alerts(conn, hall_id, since)
        return [alert_view(r, self.config.timezone) for r in rows]

    async def sweep_forever(self, interval: float) -> None:
        """Sweep every hall every `interval` seconds (with a little jitter, so that several
        processes do not sweep in step); a failed sweep is logged and the next one tried."""
        while True:
            await asyncio.sleep(interval * random.uniform(0.8, 1.2))
            for hall_id in self.config.halls:
                try:
                    await self.sweep(hall_id)
                except Exception as exc:  # the database is away, the process stops …
                    log.warning("alert sweep of hall %s failed: %s", hall_id, exc)


def require_manager(principal: Principal, hall_id: str) -> None:
    if principal.kind != "staff":
        raise Forbidden("auth.device_not_staff", who=principal.id, role=principal.role)
    principal.require_role(hall_id, *MANAGERS)


def alert_view(row: dict[str, Any], tz: Any) -> dict[str, Any]:
    return {
        "id": row["id"], "key": row["key"], "kind": row["kind"], "title": domain.TITLES.get(row["kind"], row["kind"]),
        "severity": row["severity"], "since": views.iso(row["since"], tz),
        "raised_at": views.iso(row["raised_at"], tz), "window": row["window"], "service": row["service"],
        "subject": row["subject"], "detail": row["detail"],
        "acked_at": views.iso(row["acked_at"], tz), "acked_by": row["acked_by"],
        "acked_by_name": row["acked_by_name"], "cleared_at": views.iso(row["cleared_at"], tz),
    }


