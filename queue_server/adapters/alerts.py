"""PostgreSQL reads of the hall's alerts and of its devices' last known states (the writes are
typed writes of the hall's transaction: adapters/writes.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from ..domain.alerts import Device
from .complaints import overdue_complaints
from .rows import fetch_dicts

_ALERT_COLUMNS = (
    "id, key, kind, severity, since, raised_at, escalated_at, window_no AS window, service, subject, detail,"
    " acked_at, acked_by, acked_by_name, cleared_at"
)


async def open_alerts(conn: asyncpg.Connection, hall: str) -> list[dict[str, Any]]:
    return await fetch_dicts(
        conn, f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE hall = $1 AND cleared_at IS NULL ORDER BY raised_at, id",
        hall)


async def recent_alerts(conn: asyncpg.Connection, hall: str, since: datetime) -> list[dict[str, Any]]:
    """Open alerts and those cleared since `since`, newest first."""
    return await fetch_dicts(
        conn,
        f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE hall = $1 AND (cleared_at IS NULL OR cleared_at >= $2)"
        " ORDER BY raised_at DESC, id LIMIT 200",
        hall, since)


async def alert(conn: asyncpg.Connection, alert_id: str) -> dict[str, Any] | None:
    rows = await fetch_dicts(conn, f"SELECT hall, {_ALERT_COLUMNS} FROM alerts WHERE id = $1", alert_id)
    return rows[0] if rows else None


async def devices(conn: asyncpg.Connection, hall: str) -> list[Device]:
    """Printers as they last reported, and the hall's registered screens (display devices not
    revoked) that have connected at least once, with whether one is connected now."""
    rows = await conn.fetch(
        "SELECT s.name, s.role, s.kiosk, s.status, s.updated_at FROM device_status s"
        " LEFT JOIN devices d ON d.hall = s.hall AND d.name = s.name"
        " WHERE s.hall = $1 AND (s.role = 'printer' OR (s.role = 'display' AND d.revoked_at IS NULL"
        " AND d.id IS NOT NULL)) ORDER BY s.name",
        hall)
    return [Device(r["name"], r["role"], r["status"], r["updated_at"], r["kiosk"]) for r in rows]


async def save_presence(conn: asyncpg.Connection, hall: str, name: str, connected: bool, now: datetime) -> None:
    """A screen's connection came or went (or is still there: a heartbeat)."""
    await conn.execute(
        "INSERT INTO device_status (hall, name, role, kiosk, status, updated_at)"
        " VALUES ($1, $2, 'display', NULL, $3, $4) ON CONFLICT (hall, name) DO UPDATE SET"
        " status = EXCLUDED.status, updated_at = EXCLUDED.updated_at",
        hall, name, {"connected": connected}, now)


async def today_figures(conn: asyncpg.Connection, hall: str, day: Any) -> dict[str, Any]:
    """Today's running figures from the review projection (stat_visits)."""
    r = await conn.fetchrow(
        "SELECT count(*) AS issued, count(*) FILTER (WHERE status = 'finished') AS served,"
        " avg(wait_s) FILTER (WHERE wait_s IS NOT NULL) AS wait_mean,"
        " count(*) FILTER (WHERE rating <= 2) AS bad_ratings,"
        " count(*) FILTER (WHERE rating IS NOT NULL) AS ratings"
        " FROM stat_visits WHERE hall = $1 AND business_day = $2",
        hall, day)
    return {"issued": r["issued"], "served": r["served"],
            "wait_mean_s": None if r["wait_mean"] is None else round(float(r["wait_mean"])),
            "bad_ratings": r["bad_ratings"], "ratings": r["ratings"]}


class PostgresAlertStore:
    """The service's AlertStore port (service/ports.py) on PostgreSQL."""

    open_alerts = staticmethod(open_alerts)
    recent_alerts = staticmethod(recent_alerts)
    alert = staticmethod(alert)
    devices = staticmethod(devices)
    save_presence = staticmethod(save_presence)
    today_figures = staticmethod(today_figures)
    overdue_complaints = staticmethod(overdue_complaints)
