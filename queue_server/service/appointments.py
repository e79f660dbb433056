"""Appointments (预约): booked for a time slot, checked in by code at the kiosk or the desk.

Check-in issues a ticket of the hall's 'appointment' priority class (served first within its
slot, interleaved so walk-ins never starve) in the same transaction that marks the
appointment used, under the hall's lock, so a code checks in once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from ..config import Config
from ..domain.errors import InvalidInput, NotFound, Refused
from ..domain.model import Ticket
from . import views
from .ports import AlreadyExists, AppointmentStore, Connection, Database
from .principal import Principal
from .queue import QueueService
from .results import Result
from .writes import AppointmentCheckIn, Write

EARLY = timedelta(minutes=30)  # check-in opens this long before the slot
LATE = timedelta(minutes=15)  # and closes this long after the slot's end
CODE_DIGITS = 6
_APPOINTMENT_STATE_ZH = {"checked_in": "签到", "cancelled": "取消", "gone": "失效"}


class AppointmentService:
    def __init__(self, config: Config, pool: Database, queue: QueueService, bookings: AppointmentStore) -> None:
        self.config = config
        self.pool = pool
        self.bookings = bookings
        self.queue = queue

    async def book(self, hall_id: str, service: str, slot_start: datetime, slot_end: datetime) -> dict[str, Any]:
        hall = self.queue.hall(hall_id)
        if service not in hall.services:
            raise NotFound("service.unknown", hall=hall_id, service=service, known=", ".join(hall.services))
        if slot_end <= slot_start:
            raise InvalidInput("input.slot_order", field="slot_end")
        now = self.queue.clock()
        if slot_end < now:
            raise InvalidInput("input.slot_over", field="slot_end")
        async with self.pool.acquire() as conn:
            for _ in range(20):
                code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
                appointment_id = "ap_" + secrets.token_urlsafe(9)
                try:
                    await self.bookings.add_appointment(
                        conn, appointment_id=appointment_id, hall=hall_id, code=code, service=service,
                        slot_start=slot_start, slot_end=slot_end, now=now)
                    break
                except AlreadyExists:
                    continue
            else:  # pragma: no cover - a million codes per hall would have to be in use
                raise Refused("appointment.no_free_code")
        tz = self.config.timezone
        return {"id": appointment_id, "code": code, "service": service,
                "slot_start": views.iso(slot_start, tz), "slot_end": views.iso(slot_end, tz), "status": "booked"}

    async def check_in(
        self, hall_id: str, code: str, principal: Principal, *, key: str | None, print_kiosk: str | None,
    ) -> Result:
        """Turn a booking into a priority ticket; refused outside the slot or when already used."""
        self.queue.hall(hall_id)
        code = code.strip()
        if not code.isdigit() or len(code) != CODE_DIGITS:
            raise InvalidInput("input.appointment_code", field="code", digits=CODE_DIGITS)
        async with self.pool.acquire() as conn:
            booked = await self.bookings.booking_by_code(conn, hall_id, code)
        # A used code is unknown, unless this is a retry of its check-in (the key answers it).
        if booked is None or (booked["status"] != "booked" and key is None):
            raise NotFound("appointment.unknown", hall=hall_id, appointment=code)
        hall = self.config.halls[hall_id]
        priority = "appointment" if "appointment" in hall.priority_classes else None

        async def prepare(conn: Connection, now: datetime) -> None:
            row = await self.bookings.appointment(conn, booked["id"])
            if row is None or row["status"] != "booked":
                state = row["status"] if row else "gone"
                raise Refused("appointment.used", appointment=code, state=state,
                              state_zh=_APPOINTMENT_STATE_ZH.get(state, state))
            if now < row["slot_start"] - EARLY:
                opens = views.iso(row["slot_start"] - EARLY, self.config.timezone)
                raise Refused("appointment.too_early", state="too_early", opens_at=opens)
            if now > row["slot_end"] + LATE:
                raise Refused("appointment.expired", state="expired")

        def also(ticket: Ticket, now: datetime) -> list[Write]:
            return [AppointmentCheckIn(booked["id"], ticket.id, now)]

        return await self.queue.issue(
            hall_id, principal, service=booked["service"], priority=priority, priority_reason=None,
            channel="kiosk" if principal.role == "kiosk" else "staff", key=key, print_kiosk=print_kiosk,
            prepare=prepare, also=also, event_payload={"appointment": booked["id"]},
        )
