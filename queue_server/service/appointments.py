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
from .writes import AppointmentCheckIn, Write

EARLY = timedelta(minutes=30)  # check-in opens this long before the slot
LATE = timedelta(minutes=15)  # and closes this long after the slot's end
CODE_DIGITS = 6


class AppointmentService:
    def __init__(self, config: Config, pool: Database, queue: QueueService, bookings: AppointmentStore) -> None:
        self.config = config
        self.pool = pool
        self.bookings = bookings
        self.queue = queue

    async def book(self, hall_id: str, service: str, slot_start: datetime, slot_end: datetime) -> dict[str, Any]:
        hall = self.queue.hall(hall_id)
        if service not in hall.services:
            raise NotFound(f"hall {hall_id} has no service {service!r} (services: {', '.join(hall.services)})")
        if slot_end <= slot_start:
            raise InvalidInput("slot_end must be after slot_start", field="slot_end")
        now = self.queue.clock()
        if slot_end < now:
            raise InvalidInput("the slot is already over", field="slot_end")
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
                raise Refused("no free appointment code; try again")
        tz = self.config.timezone
        return {"id": appointment_id, "code": code, "service": service,
                "slot_start": views.iso(slot_start, tz), "slot_end": views.iso(slot_end, tz), "status": "booked"}

    async def check_in(
        self, hall_id: str, code: str, principal: Principal, *, key: str | None, print_kiosk: str | None,
    ) -> tuple[int, dict[str, Any]]:
        """Turn a booking into a priority ticket; refused outside the slot or when already used."""
        self.queue.hall(hall_id)
        code = code.strip()
        if not code.isdigit() or len(code) != CODE_DIGITS:
            raise InvalidInput(f"an appointment code is {CODE_DIGITS} digits", field="code")
        async with self.pool.acquire() as conn:
            booked = await self.bookings.booking_by_code(conn, hall_id, code)
        # A used code is unknown, unless this is a retry of its check-in (the key answers it).
        if booked is None or (booked["status"] != "booked" and key is None):
            raise NotFound(f"no booking with code {code} in hall {hall_id} (预约码无效或已签到)")
        hall = self.config.halls[hall_id]
        priority = "appointment" if "appointment" in hall.priority_classes else None

        async def prepare(conn: Connection, now: datetime) -> None:
            row = await self.bookings.appointment(conn, booked["id"])
            if row is None or row["status"] != "booked":
                raise Refused(f"appointment {code} is already {row['status'] if row else 'gone'}",
                              state=row["status"] if row else "gone")
            if now < row["slot_start"] - EARLY:
                opens = views.iso(row["slot_start"] - EARLY, self.config.timezone)
                raise Refused(f"check-in for this appointment opens at {opens} (预约签到时间未到)",
                              state="too_early", opens_at=opens)
            if now > row["slot_end"] + LATE:
                raise Refused("the appointment's slot is over; please take an ordinary ticket (预约已过期)",
                              state="expired")

        def also(ticket: Ticket, now: datetime) -> list[Write]:
            return [AppointmentCheckIn(booked["id"], ticket.id, now)]

        return await self.queue.issue(
            hall_id, principal, service=booked["service"], priority=priority, priority_reason=None,
            channel="kiosk" if principal.role == "kiosk" else "staff", key=key, print_kiosk=print_kiosk,
            prepare=prepare, also=also, event_payload={"appointment": booked["id"]},
        )
