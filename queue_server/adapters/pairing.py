"""PostgreSQL storage of pairing codes, wrong-code attempts and the devices list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from .rows import fetch_dict, fetch_dicts


async def start_pairing(
    conn: asyncpg.Connection, *, token_hash: bytes, code: str, kind: str, address: str | None,
    now: datetime, expires_at: datetime,
) -> bool:
    """Store a waiting pairing; False when `code` is already live (the caller draws again).
    Expired codes are released first, and pairings a day old are forgotten."""
    await conn.execute("UPDATE pairings SET live = false WHERE live AND expires_at <= $1", now)
    await conn.execute("DELETE FROM pairings WHERE expires_at < $1", now - timedelta(days=1))
    await conn.execute("DELETE FROM pairing_failures WHERE at < $1", now - timedelta(days=1))
    try:
        await conn.execute(
            "INSERT INTO pairings (token_hash, code, kind, address, created_at, expires_at)"
            " VALUES ($1,$2,$3,$4,$5,$6)",
            token_hash, code, kind, address, now, expires_at,
        )
    except asyncpg.UniqueViolationError:
        return False
    return True


async def pairing_by_token(conn: asyncpg.Connection, token_hash: bytes) -> dict[str, Any] | None:
    """The pairing of the device holding this token's secret, with its device if paired."""
    return await fetch_dict(
        conn,
        "SELECT p.code, p.kind, p.created_at, p.expires_at, p.paired_at, p.device_id,"
        " d.hall, d.role, d.name, d.window_no, d.kiosk, d.revoked_at"
        " FROM pairings p LEFT JOIN devices d ON d.id = p.device_id WHERE p.token_hash = $1",
        token_hash,
    )


async def claim_code(conn: asyncpg.Connection, code: str, now: datetime) -> dict[str, Any] | None:
    """The live, unexpired pairing showing `code`, locked until the transaction ends (a second
    manager entering the same code waits, then finds it used)."""
    return await fetch_dict(
        conn,
        "SELECT token_hash, code, kind FROM pairings WHERE code = $1 AND live AND expires_at > $2"
        " FOR UPDATE",
        code, now,
    )


async def next_device_id(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT nextval(pg_get_serial_sequence('devices', 'id'))")


async def device_name_taken(conn: asyncpg.Connection, hall: str, name: str, other_than: int | None = None) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM devices WHERE hall = $1 AND name = $2 AND id IS DISTINCT FROM $3)",
        hall, name, other_than,
    )


async def kiosks(conn: asyncpg.Connection, hall: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT name FROM devices WHERE hall = $1 AND role = 'kiosk' AND revoked_at IS NULL ORDER BY name", hall
    )
    return [r["name"] for r in rows]


async def device(conn: asyncpg.Connection, device_id: int) -> dict[str, Any] | None:
    return await fetch_dict(conn, "SELECT * FROM devices WHERE id = $1 FOR UPDATE", device_id)


async def devices(conn: asyncpg.Connection, hall: str) -> list[dict[str, Any]]:
    return await fetch_dicts(
        conn,
        "SELECT id, hall, role, kind, name, window_no, kiosk, created_at, created_by, last_seen_at,"
        " revoked_at, revoked_by FROM devices WHERE hall = $1"
        " ORDER BY revoked_at IS NOT NULL, role, name",
        hall,
    )


async def count_failures(conn: asyncpg.Connection, staff_id: str, since: datetime) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM pairing_failures WHERE staff_id = $1 AND at > $2", staff_id, since
    )


async def add_failure(conn: asyncpg.Connection, staff_id: str, at: datetime) -> None:
    await conn.execute("INSERT INTO pairing_failures (staff_id, at) VALUES ($1, $2)", staff_id, at)


async def touch_devices(conn: asyncpg.Connection, token_hashes: list[bytes], now: datetime, every: timedelta) -> None:
    """Devices seen now: last_seen_at moves only when older than `every` (no write per request)."""
    await conn.execute(
        "UPDATE devices SET last_seen_at = $2 WHERE token_hash = ANY($1::bytea[]) AND revoked_at IS NULL"
        " AND (last_seen_at IS NULL OR last_seen_at < $3)",
        token_hashes, now, now - every,
    )


async def revoked_among(conn: asyncpg.Connection, token_hashes: list[bytes]) -> list[bytes]:
    rows = await conn.fetch(
        "SELECT token_hash FROM devices WHERE token_hash = ANY($1::bytea[]) AND revoked_at IS NOT NULL",
        token_hashes,
    )
    return [bytes(r["token_hash"]) for r in rows]


class PostgresPairingStore:
    """The service's PairingStore port (service/ports.py) on PostgreSQL: this module's queries."""

    start_pairing = staticmethod(start_pairing)
    pairing_by_token = staticmethod(pairing_by_token)
    claim_code = staticmethod(claim_code)
    next_device_id = staticmethod(next_device_id)
    device_name_taken = staticmethod(device_name_taken)
    kiosks = staticmethod(kiosks)
    device = staticmethod(device)
    devices = staticmethod(devices)
    count_failures = staticmethod(count_failures)
    add_failure = staticmethod(add_failure)
    touch_devices = staticmethod(touch_devices)
    revoked_among = staticmethod(revoked_among)
