"""Pairing devices with a one-time code, and the hall's devices: list, rename, move, revoke.

A device without a token asks for a code (`start`) and waits (`wait`, a long poll). It holds a
secret only it knows; its future token is made of that secret, and the server keeps only the
token's hash, in the pairing row and then in the device's row. A manager enters the code
(`pair`) under the hall's lock: the device row and the ledger event are written in one
transaction with the code marked used, so a code pairs once, whatever the number of managers
and processes entering it at the same moment. Rename, move and revoke go the same way; a
revoked device's open sockets are closed at once by whoever listens (`on_revoked`)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..config import Config
from ..domain import pairing as rules
from ..domain.civility import check_free_text
from ..domain.errors import InvalidInput, NotFound, RateLimited, Refused
from ..domain.hall import HallState
from ..domain.model import Event
from . import views
from .auth import Auth
from .commands import ChangeDevice, PairDevice
from .ports import Connection, Database, PairingStore
from .principal import Principal
from .queue import Outcome, QueueService, Result, command_fingerprint
from .writes import DeviceInsert, DeviceRevoke, DeviceUpdate, PairingDone, Write

MANAGERS = ("manager", "admin")
TOKEN_PREFIX = "hqd_"
#: A long poll holds at most this long, and checks the store this often for a pairing made by
#: another server process (one made in this process wakes it at once).
WAIT_MAX_SECONDS = 30.0
WAIT_CHECK_SECONDS = 2.0
#: last_seen_at moves at most this often per device.
SEEN_EVERY = timedelta(minutes=1)
ACTIONS = ("rename", "move", "revoke")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_CODE = re.compile(r"^[0-9]{6}$")


def device_token(secret: str) -> str:
    return TOKEN_PREFIX + secret


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def parse_code(code: Any) -> str:
    text = str(code).strip().replace(" ", "") if isinstance(code, str | int) and not isinstance(code, bool) else ""
    if not _CODE.match(text):
        raise InvalidInput("pairing.bad_code", field="code")
    return text


def parse_secret(secret: str | None) -> str:
    if not secret:
        raise InvalidInput("input.missing_field", field="secret")
    if not _SECRET.match(secret):
        raise InvalidInput("pairing.bad_secret", field="secret")
    return secret


class PairingService:
    def __init__(
        self, config: Config, pool: Database, queue: QueueService, store: PairingStore, auth: Auth,
    ) -> None:
        self.config = config
        self.pool = pool
        self.queue = queue
        self.store = store
        self.auth = auth
        self._paired: dict[bytes, asyncio.Event] = {}
        #: Called with a revoked device's token hash, after the revocation committed.
        self.on_revoked: list[Callable[[bytes], None]] = []

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.queue.clock

    # ---- the device's side ------------------------------------------------------------

    async def start(self, kind: str | None, address: str | None) -> dict[str, Any]:
        """A new code for a device of `kind`: {code, secret, expires_at}. The secret is the
        device's alone; it is never stored, only the hash of the token made of it."""
        kind = kind or "kiosk"
        if kind not in rules.KINDS:
            raise InvalidInput("input.bad_choice", field="kind", known=", ".join(rules.KINDS), got=kind[:40])
        now = self.clock()
        expires = rules.expires_at(now)
        secret = secrets.token_urlsafe(32)
        h = token_hash(device_token(secret))
        async with self.pool.acquire() as conn:
            for _ in range(20):
                code = f"{secrets.randbelow(10 ** rules.CODE_DIGITS):0{rules.CODE_DIGITS}d}"
                if await self.store.start_pairing(conn, token_hash=h, code=code, kind=kind,
                                                  address=(address or "")[:64] or None, now=now, expires_at=expires):
                    break
            else:  # a million codes, twenty draws: only when nearly all are live
                raise RateLimited("rate.limited", group="配对", seconds=60, retry_after=60)
        return {"code": code, "secret": secret, "kind": kind, "kind_zh": rules.KINDS[kind].zh,
                "expires_at": views.iso(expires, self.config.timezone),
                "expires_in": int((expires - now).total_seconds())}

    async def wait(self, secret: str, seconds: float) -> dict[str, Any]:
        """The pairing's state, once it is paired or expired or `seconds` have passed:
        waiting, paired (with the token and where to go), expired, or revoked."""
        h = token_hash(device_token(secret))
        deadline = asyncio.get_running_loop().time() + max(0.0, min(seconds, WAIT_MAX_SECONDS))
        event = self._paired.setdefault(h, asyncio.Event())
        try:
            while True:
                answer = await self._state(secret, h)
                left = deadline - asyncio.get_running_loop().time()
                if answer["state"] != "waiting" or left <= 0:
                    return answer
                try:
                    await asyncio.wait_for(event.wait(), min(left, WAIT_CHECK_SECONDS))
                except TimeoutError:
                    pass
        finally:
            # Forgotten once answered (a waiter that came meanwhile falls back to checking
            # the store every WAIT_CHECK_SECONDS): the map holds only pairings being waited for.
            if self._paired.get(h) is event:
                self._paired.pop(h, None)

    async def _state(self, secret: str, h: bytes) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            row = await self.store.pairing_by_token(conn, h)
        if row is None:
            raise NotFound("pairing.no_secret", field="secret")
        tz = self.config.timezone
        if row["device_id"] is not None:
            if row["revoked_at"] is not None:
                return {"state": "revoked", "message": f"设备 {row['name']} 已停用，请重新配对"}
            return {
                "state": "paired", "token": device_token(secret),
                "device": {"id": row["device_id"], "hall": row["hall"], "role": row["role"], "name": row["name"],
                           "window": row["window_no"], "kiosk": row["kiosk"], "kind": row["kind"],
                           "page": rules.page_of(row["hall"], row["role"], row["window_no"])},
            }
        if row["expires_at"] <= self.clock():
            return {"state": "expired", "message": "配对码已过期，请重新获取"}
        return {"state": "waiting", "code": row["code"], "expires_at": views.iso(row["expires_at"], tz)}

    # ---- the manager's side -----------------------------------------------------------

    async def pair(self, hall_id: str, manager: Principal, cmd: PairDevice, key: str | None) -> Result:
        hall = self.queue.hall(hall_id)
        manager.require_role(hall_id, *MANAGERS)
        self._check_name(cmd.name)
        now = self.clock()
        async with self.pool.acquire() as conn:
            failures = await self.store.count_failures(conn, manager.id, rules.failures_since(now))
        if failures >= rules.FAILURES_ALLOWED:
            raise RateLimited("pairing.too_many_attempts", minutes=rules.FAILURE_WINDOW_MINUTES,
                              failures=rules.FAILURES_ALLOWED, retry_after=60)
        found: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            pairing = await self.store.claim_code(conn, cmd.code, now)
            if pairing is None:
                raise NotFound("pairing.unknown", field="code", given=cmd.code)
            found["binding"] = rules.binding(pairing["kind"], cmd.role, cmd.window, cmd.kiosk,
                                             tuple(hall.windows), tuple(await self.store.kiosks(conn, hall_id)))
            if await self.store.device_name_taken(conn, hall_id, cmd.name):
                raise InvalidInput("input.device_exists", field="name", hall=hall_id, name=cmd.name)
            found["token_hash"] = bytes(pairing["token_hash"])
            found["id"] = await self.store.next_device_id(conn)

        def apply(state: HallState, now: datetime) -> Outcome:
            b: rules.Binding = found["binding"]
            device_id = found["id"]
            event = Event("device_paired", None, None, {
                "device": device_id, "name": cmd.name, "role": b.role, "device_kind": b.kind,
                "device_window": b.window, "device_kiosk": b.kiosk, "code": cmd.code})
            writes: list[Write] = [
                DeviceInsert(device_id, hall_id, b.role, b.kind, cmd.name, found["token_hash"], b.window, b.kiosk,
                             now, manager.id),
                PairingDone(found["token_hash"], device_id, now),
            ]
            body = self._view({"id": device_id, "hall": hall_id, "role": b.role, "kind": b.kind, "name": cmd.name,
                               "window_no": b.window, "kiosk": b.kiosk, "created_at": now, "created_by": manager.id,
                               "last_seen_at": None, "revoked_at": None, "revoked_by": None})
            return Outcome(body, [(event, None)], writes=writes, created=True)

        try:
            result = await self.queue.execute(hall_id, apply, manager.actor, key=key,
                                              fingerprint=command_fingerprint(manager, cmd), prepare=prepare)
        except NotFound as exc:
            if exc.code == "pairing.unknown":
                async with self.pool.acquire() as conn:
                    await self.store.add_failure(conn, manager.id, self.clock())
            raise
        if "token_hash" in found:
            event = self._paired.get(found["token_hash"])
            if event is not None:
                event.set()
        return result

    async def devices(self, hall_id: str, who: Principal) -> list[dict[str, Any]]:
        self.queue.hall(hall_id)
        who.require_role(hall_id, *MANAGERS)
        async with self.pool.acquire() as conn:
            rows = await self.store.devices(conn, hall_id)
        return [self._view(r) for r in rows]

    async def change(self, hall_id: str, manager: Principal, cmd: ChangeDevice, key: str | None) -> Result:
        hall = self.queue.hall(hall_id)
        manager.require_role(hall_id, *MANAGERS)
        if cmd.action not in ACTIONS:
            raise InvalidInput("input.bad_choice", field="action", known=", ".join(ACTIONS), got=cmd.action[:40])
        if cmd.action == "rename":
            if cmd.name is None:
                raise InvalidInput("input.missing_field", field="name")
            self._check_name(cmd.name)
        found: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            row = await self.store.device(conn, cmd.device)
            if row is None or row["hall"] != hall_id:
                raise NotFound("device.no_such", hall=hall_id, device=cmd.device)
            if row["revoked_at"] is not None:
                raise Refused("device.revoked", name=row["name"])
            row = dict(row)
            if cmd.action == "rename":
                if cmd.name != row["name"] and await self.store.device_name_taken(conn, hall_id, cmd.name or "", row["id"]):
                    raise InvalidInput("input.device_exists", field="name", hall=hall_id, name=cmd.name)
                row["name"] = cmd.name
            elif cmd.action == "move":
                kind = row["kind"] or rules.kind_of(row["role"], row["window_no"])
                b = rules.binding(kind, row["role"], cmd.window, cmd.kiosk, tuple(hall.windows),
                                  tuple(k for k in await self.store.kiosks(conn, hall_id) if k != row["name"]))
                row.update(window_no=b.window, kiosk=b.kiosk)
            found["row"] = row

        def apply(state: HallState, now: datetime) -> Outcome:
            row = found["row"]
            payload: dict[str, Any] = {"device": row["id"], "name": row["name"], "role": row["role"]}
            if cmd.action == "revoke":
                row.update(revoked_at=now, revoked_by=manager.id)
                write: Any = DeviceRevoke(row["id"], now, manager.id)
            else:
                payload.update(device_window=row["window_no"], device_kiosk=row["kiosk"])
                write = DeviceUpdate(row["id"], row["name"], row["window_no"], row["kiosk"])
            kind = {"rename": "device_renamed", "move": "device_moved", "revoke": "device_revoked"}[cmd.action]
            return Outcome(self._view(row), [(Event(kind, None, None, payload), None)], writes=[write])

        result = await self.queue.execute(hall_id, apply, manager.actor, key=key,
                                          fingerprint=command_fingerprint(manager, cmd), prepare=prepare)
        if cmd.action == "revoke" and "row" in found:
            revoked = bytes(found["row"]["token_hash"])
            self.auth.forget(revoked)
            for listener in self.on_revoked:
                listener(revoked)
        return result

    async def seen(self, token_hashes: list[bytes]) -> None:
        """Devices with an open connection: their last_seen_at moves (at most once a minute)."""
        if not token_hashes:
            return
        async with self.pool.acquire() as conn:
            await self.store.touch_devices(conn, token_hashes, self.clock(), SEEN_EVERY)

    async def revoked_among(self, token_hashes: list[bytes]) -> list[bytes]:
        """Those of `token_hashes` whose device was revoked (by any server process)."""
        if not token_hashes:
            return []
        async with self.pool.acquire() as conn:
            found = await self.store.revoked_among(conn, token_hashes)
        for h in found:
            self.auth.forget(h)
        return found

    # ---- views ------------------------------------------------------------------------

    def _check_name(self, name: str) -> None:
        taboo = check_free_text(name, self.config.civility.taboo)
        if taboo is not None:
            raise InvalidInput("device.taboo_name", field="name", taboo=taboo)

    def _view(self, r: dict[str, Any]) -> dict[str, Any]:
        tz = self.config.timezone
        kind = r.get("kind") or rules.kind_of(r["role"], r["window_no"])
        return {
            "id": r["id"], "hall": r["hall"], "kind": kind,
            "kind_zh": rules.KINDS[kind].zh if kind in rules.KINDS else kind,
            "role": r["role"], "role_zh": rules.ROLES_ZH.get(r["role"], r["role"]), "name": r["name"],
            "window": r["window_no"], "kiosk": r["kiosk"],
            "created": views.iso(r["created_at"], tz), "created_by": r.get("created_by"),
            "last_seen_at": views.iso(r["last_seen_at"], tz),
            "revoked_at": views.iso(r["revoked_at"], tz), "revoked_by": r.get("revoked_by"),
            "active": r["revoked_at"] is None,
            "page": rules.page_of(r["hall"], r["role"], r["window_no"]),
        }

