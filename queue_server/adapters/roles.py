"""The database role the server runs as (migration 0008): may append to the ledger, not erase it."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

APP_ROLE = "hall_queue_app"


def dsn_as(dsn: str, role: str) -> str:
    """`dsn` with its user replaced by `role` and its password dropped (trust/peer sockets)."""
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(role, safe='')}@{host}"))


async def allow_login(conn: asyncpg.Connection) -> None:
    """Let the app role sign in: for the embedded server, whose only door is a private socket."""
    await conn.execute(f'ALTER ROLE "{APP_ROLE}" LOGIN')


async def ledger_rights(conn: asyncpg.Connection) -> list[str]:
    """What the connected role could do to erase the ledger; empty for the app role."""
    row = await conn.fetchrow(
        """
        SELECT r.rolsuper,
               pg_has_role(current_user, c.relowner, 'USAGE') AS owner,
               has_table_privilege(current_user, 'ledger', 'UPDATE') AS upd,
               has_table_privilege(current_user, 'ledger', 'DELETE') AS del,
               has_table_privilege(current_user, 'ledger', 'TRUNCATE') AS trunc
        FROM pg_roles r, pg_class c
        WHERE r.rolname = current_user AND c.oid = 'ledger'::regclass
        """
    )
    if row is None:
        return []
    found = {"superuser": row["rolsuper"], "owner of the ledger": row["owner"],
             "UPDATE": row["upd"], "DELETE": row["del"], "TRUNCATE": row["trunc"]}
    return [name for name, present in found.items() if present]
