"""PostgreSQL side of managing staff accounts (service/staff.py): the accounts, their photos,
the staff ledger (migration 0015) and the idempotency keys of its commands.

Every change runs in one transaction under one advisory lock: changes to accounts are rare,
and one at a time the staff ledger's chain, the "last admin" rule and a repeated
Idempotency-Key all hold without further care."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from ..domain.staff_ledger import GENESIS, StaffLedgerRow
from ..service.ports import AlreadyExists, StaffRecord
from .accounts import _staff

#: pg_advisory_xact_lock key of staff changes ("hq-staff" as a number).
_LOCK = 0x68712D7374616666
#: The idempotency table's `hall` of the staff commands (no hall is named so: ids are config
#: keys of letters, digits and "_").
IDEMPOTENCY_SCOPE = "~staff"


async def lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)


async def stored_answer(conn: asyncpg.Connection, key: str, since: datetime) -> tuple[str, int, Any] | None:
    r = await conn.fetchrow(
        "SELECT fingerprint, status, body FROM idempotency WHERE hall = $1 AND key = $2 AND created_at >= $3",
        IDEMPOTENCY_SCOPE, key, since)
    return (r["fingerprint"], r["status"], r["body"]) if r else None


async def store_answer(conn: asyncpg.Connection, key: str, fingerprint: str, status: int, body: Any,
                       now: datetime) -> None:
    await conn.execute(
        "INSERT INTO idempotency (hall, key, fingerprint, status, body, created_at) VALUES ($1,$2,$3,$4,$5,$6)"
        " ON CONFLICT (hall, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status,"
        " body = EXCLUDED.body, created_at = EXCLUDED.created_at",
        IDEMPOTENCY_SCOPE, key, fingerprint, status, body, now)


async def staff(conn: asyncpg.Connection, staff_id: str) -> StaffRecord | None:
    r = await conn.fetchrow("SELECT * FROM staff WHERE id = $1", staff_id)
    return _staff(r) if r else None


async def all_staff(conn: asyncpg.Connection) -> list[StaffRecord]:
    rows = await conn.fetch("SELECT * FROM staff ORDER BY hall NULLS FIRST, id")
    return [_staff(r) for r in rows]


async def active_admins(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM staff WHERE role = 'admin' AND active")


async def insert(conn: asyncpg.Connection, s: StaffRecord) -> None:
    try:
        await conn.execute(
            "INSERT INTO staff (id, hall, name, role, password_hash, region, must_change_password)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7)",
            s.id, s.hall, s.name, s.role, s.password_hash, s.region, s.must_change_password)
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists(str(exc)) from exc


async def update(conn: asyncpg.Connection, s: StaffRecord) -> None:
    await conn.execute(
        "UPDATE staff SET hall = $2, name = $3, role = $4, password_hash = $5, photo_url = $6, active = $7,"
        " failed_logins = $8, locked_until = $9, region = $10, must_change_password = $11 WHERE id = $1",
        s.id, s.hall, s.name, s.role, s.password_hash, s.photo_url, s.active, s.failed_logins, s.locked_until,
        s.region, s.must_change_password)


async def revoke_sessions(conn: asyncpg.Connection, staff_id: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL AND expires_at > $2",
        staff_id, now)


async def add_session(conn: asyncpg.Connection, token_hash: bytes, staff_id: str, now: datetime,
                      expires: datetime) -> None:
    await conn.execute(
        "INSERT INTO sessions (token_hash, staff_id, created_at, expires_at) VALUES ($1,$2,$3,$4)",
        token_hash, staff_id, now, expires)


async def ledger_head(conn: asyncpg.Connection) -> tuple[int, bytes]:
    r = await conn.fetchrow("SELECT seq, hash FROM staff_ledger ORDER BY seq DESC LIMIT 1")
    return (r["seq"], bytes(r["hash"])) if r else (0, GENESIS)


async def append(conn: asyncpg.Connection, row: StaffLedgerRow) -> None:
    await conn.execute(
        "INSERT INTO staff_ledger (seq, at, kind, actor, staff_id, payload, prev_hash, hash)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        row.seq, row.at, row.kind, dict(row.actor), row.staff_id, dict(row.payload), row.prev_hash, row.hash)


def _row(r: asyncpg.Record) -> StaffLedgerRow:
    return StaffLedgerRow(r["seq"], r["at"], r["kind"], r["actor"], r["staff_id"], r["payload"],
                          bytes(r["prev_hash"]), bytes(r["hash"]))


async def ledger(conn: asyncpg.Connection, staff_id: str | None = None) -> list[StaffLedgerRow]:
    rows = await conn.fetch(
        "SELECT * FROM staff_ledger WHERE $1::text IS NULL OR staff_id = $1 ORDER BY seq", staff_id)
    return [_row(r) for r in rows]


async def set_photo(conn: asyncpg.Connection, staff_id: str, content_type: str, data: bytes, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO staff_photos (staff_id, content_type, data, updated_at) VALUES ($1,$2,$3,$4)"
        " ON CONFLICT (staff_id) DO UPDATE SET content_type = EXCLUDED.content_type, data = EXCLUDED.data,"
        " updated_at = EXCLUDED.updated_at",
        staff_id, content_type, data, now)


async def photo(conn: asyncpg.Connection, staff_id: str) -> tuple[str, bytes] | None:
    r = await conn.fetchrow("SELECT content_type, data FROM staff_photos WHERE staff_id = $1", staff_id)
    return (r["content_type"], bytes(r["data"])) if r else None


class PostgresStaffStore:
    """The service's StaffStore port (service/ports.py): this module's queries."""

    lock = staticmethod(lock)
    stored_answer = staticmethod(stored_answer)
    store_answer = staticmethod(store_answer)
    staff = staticmethod(staff)
    all_staff = staticmethod(all_staff)
    active_admins = staticmethod(active_admins)
    insert = staticmethod(insert)
    update = staticmethod(update)
    revoke_sessions = staticmethod(revoke_sessions)
    add_session = staticmethod(add_session)
    ledger_head = staticmethod(ledger_head)
    append = staticmethod(append)
    ledger = staticmethod(ledger)
    set_photo = staticmethod(set_photo)
    photo = staticmethod(photo)
