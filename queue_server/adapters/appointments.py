"""PostgreSQL storage of appointments (预约)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from ..service.ports import AlreadyExists
from .rows import fetch_dict


async def add_appointment(
    conn: asyncpg.Connection, *, appointment_id: str, hall: str, code: str, service: str,
    slot_start: datetime, slot_end: datetime, now: datetime,
) -> None:
    try:
        await conn.execute(
            "INSERT INTO appointments (id, hall, code, service, slot_start, slot_end, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            appointment_id, hall, code, service, slot_start, slot_end, now)
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists(str(exc)) from exc


async def booking_by_code(conn: asyncpg.Connection, hall: str, code: str) -> dict[str, Any] | None:
    """The booking with this code: a booked one first, else the latest."""
    return await fetch_dict(
        conn,
        "SELECT id, service, status FROM appointments WHERE hall = $1 AND code = $2"
        " ORDER BY status = 'booked' DESC, created_at DESC LIMIT 1",
        hall, code)


async def appointment(conn: asyncpg.Connection, appointment_id: str) -> dict[str, Any] | None:
    return await fetch_dict(
        conn, "SELECT status, slot_start, slot_end FROM appointments WHERE id = $1", appointment_id)


class PostgresAppointmentStore:
    """The service's AppointmentStore port (service/ports.py) on PostgreSQL."""

    add_appointment = staticmethod(add_appointment)
    booking_by_code = staticmethod(booking_by_code)
    appointment = staticmethod(appointment)
