"""PostgreSQL storage of staff accounts, device registrations and sign-in sessions."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ..service.ports import AlreadyExists, DeviceRecord, StaffRecord


def _staff(r: asyncpg.Record) -> StaffRecord:
    return StaffRecord(
        r["id"], r["hall"], r["name"], r["role"], r["password_hash"], r["photo_url"], r["active"],
        r["failed_logins"], r["locked_until"], r["region"], r["must_change_password"],
    )


async def add_staff(
    conn: asyncpg.Connection, *, staff_id: str, hall: str | None, name: str, role: str,
    password_hash: str, photo_url: str | None = None, region: str | None = None,
    must_change_password: bool = False,
) -> None:
    try:
        await conn.execute(
            "INSERT INTO staff (id, hall, name, role, password_hash, photo_url, region, must_change_password)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
            staff_id, hall, name, role, password_hash, photo_url, region, must_change_password,
        )
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists(str(exc)) from exc


async def get_staff(conn: asyncpg.Connection, staff_id: str) -> StaffRecord | None:
    r = await conn.fetchrow("SELECT * FROM staff WHERE id = $1", staff_id)
    return _staff(r) if r else None


async def list_staff(conn: asyncpg.Connection, hall: str | None = None) -> list[StaffRecord]:
    rows = await conn.fetch(
        "SELECT * FROM staff WHERE $1::text IS NULL OR hall = $1 ORDER BY hall NULLS FIRST, id", hall
    )
    return [_staff(r) for r in rows]


async def count_staff(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM staff")


async def set_password(conn: asyncpg.Connection, staff_id: str, password_hash: str) -> bool:
    done = await conn.execute(
        "UPDATE staff SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE id = $1",
        staff_id, password_hash,
    )
    return done.endswith(" 1")


async def reserve_login_attempt(
    conn: asyncpg.Connection, staff_id: str, *, now: datetime, lock_after: int, lock_until: datetime
) -> StaffRecord | None:
    """Count one sign-in attempt of an active, unlocked account *before* its password is
    checked; the attempt that reaches `lock_after` also locks the account until `lock_until`.

    One UPDATE takes the row lock, and a concurrent attempt re-reads the row once the first
    commits (READ COMMITTED re-checks the WHERE clause), so however many attempts arrive at
    once, in one process or several, at most `lock_after` of them are let through to the
    password check. None: unknown, inactive or locked (the caller answers all three alike).
    A lock that has run out starts a fresh count. `record_login_success` clears the count."""
    # The SET expressions read the row as locked (the latest version), never a stale copy.
    attempt = "CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END"
    r = await conn.fetchrow(
        f"UPDATE staff SET failed_logins = {attempt},"
        f" locked_until = CASE WHEN {attempt} >= $3 THEN $4::timestamptz END"
        " WHERE id = $1 AND active AND (locked_until IS NULL OR locked_until <= $2) RETURNING *",
        staff_id, now, lock_after, lock_until,
    )
    return _staff(r) if r else None


async def record_login_success(conn: asyncpg.Connection, staff_id: str) -> None:
    await conn.execute("UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE id = $1", staff_id)


async def add_session(
    conn: asyncpg.Connection, token_hash: bytes, staff_id: str, created_at: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO sessions (token_hash, staff_id, created_at, expires_at) VALUES ($1,$2,$3,$4)",
        token_hash, staff_id, created_at, expires_at,
    )


async def session_staff(
    conn: asyncpg.Connection, token_hash: bytes, now: datetime
) -> tuple[StaffRecord, datetime] | None:
    r = await conn.fetchrow(
        "SELECT s.*, x.expires_at AS session_expires FROM sessions x JOIN staff s ON s.id = x.staff_id"
        " WHERE x.token_hash = $1 AND x.revoked_at IS NULL AND x.expires_at > $2 AND s.active",
        token_hash, now,
    )
    return (_staff(r), r["session_expires"]) if r else None


async def revoke_session(conn: asyncpg.Connection, token_hash: bytes, now: datetime) -> str | None:
    return await conn.fetchval(
        "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL"
        " RETURNING staff_id",
        token_hash, now,
    )


async def add_device(
    conn: asyncpg.Connection, *, hall: str, role: str, name: str, token_hash: bytes,
    window: int | None, kiosk: str | None,
) -> int:
    try:
        return await conn.fetchval(
            "INSERT INTO devices (hall, role, name, token_hash, window_no, kiosk)"
            " VALUES ($1,$2,$3,$4,$5,$6) RETURNING id",
            hall, role, name, token_hash, window, kiosk,
        )
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists(str(exc)) from exc


async def device_by_token(conn: asyncpg.Connection, token_hash: bytes) -> DeviceRecord | None:
    r = await conn.fetchrow(
        "SELECT * FROM devices WHERE token_hash = $1 AND revoked_at IS NULL", token_hash
    )
    return DeviceRecord(r["id"], r["hall"], r["role"], r["name"], r["window_no"], r["kiosk"], r["revoked_at"]) if r else None


async def list_devices(conn: asyncpg.Connection, hall: str | None = None) -> list[DeviceRecord]:
    rows = await conn.fetch(
        "SELECT * FROM devices WHERE $1::text IS NULL OR hall = $1 ORDER BY hall, name", hall
    )
    return [DeviceRecord(r["id"], r["hall"], r["role"], r["name"], r["window_no"], r["kiosk"], r["revoked_at"]) for r in rows]


async def revoke_device(conn: asyncpg.Connection, hall: str, name: str, now: datetime) -> bool:
    done = await conn.execute(
        "UPDATE devices SET revoked_at = $3 WHERE hall = $1 AND name = $2 AND revoked_at IS NULL",
        hall, name, now,
    )
    return done.endswith(" 1")


async def touch_device(conn: asyncpg.Connection, token_hash: bytes, now: datetime) -> None:
    await conn.execute(
        "UPDATE devices SET last_seen_at = $2 WHERE token_hash = $1"
        " AND (last_seen_at IS NULL OR last_seen_at < $2::timestamptz - interval '1 minute')",
        token_hash, now,
    )


class PostgresAccountStore:
    """The service's AccountStore port (service/ports.py) on PostgreSQL: this module's queries."""

    reserve_login_attempt = staticmethod(reserve_login_attempt)
    record_login_success = staticmethod(record_login_success)
    add_session = staticmethod(add_session)
    session_staff = staticmethod(session_staff)
    revoke_session = staticmethod(revoke_session)
    device_by_token = staticmethod(device_by_token)
    touch_device = staticmethod(touch_device)
    add_staff = staticmethod(add_staff)
    add_device = staticmethod(add_device)
    revoke_device = staticmethod(revoke_device)
    count_staff = staticmethod(count_staff)
