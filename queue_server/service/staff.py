"""Staff accounts managed from the manager's console (人员管理, issue 11 point 3).

Who may: an admin of every hall manages everyone; a hall's manager the accounts of their hall;
a street or district office's manager the accounts of the halls under their region and the
managers of it (and of its streets). Nobody grants or manages a role above their own; a clerk
manages nothing. An account outside one's scope is answered as unknown (nothing says it exists).

Every change is a row of the staff ledger (domain/staff_ledger.py) with who did it and when,
written in the same transaction as the change, one change at a time under one lock. A command
with an Idempotency-Key is answered once: a repeat gets the stored answer, without the one-time
password (that is shown once, and never stored in clear).

A new account and a reset password get a one-time password; until its holder sets their own
(POST /api/v1/auth/password) every other authenticated call is refused (service/auth.py)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..config import Config
from ..domain.errors import Forbidden, InvalidInput, NotFound, Refused, Unauthenticated
from ..domain.ledger import canonical_json
from ..domain.staff import ROLE_RANK, ROLE_ZH, check_new_password, one_time_password
from ..domain.staff_ledger import StaffLedgerRow, first_break
from .auth import LOCK_AFTER_FAILURES, LOCK_MINUTES, Auth
from .ports import AlreadyExists, Connection, Database, StaffRecord, StaffStore
from .principal import STAFF_ROLES, Principal
from .results import Result, from_stored, stored_kind
from .views import iso

IDEMPOTENCY_TTL = timedelta(hours=24)
STAFF_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
MANAGERS = ("manager", "admin")
ACTIONS = ("disable", "enable", "unlock", "reset-password")
LEDGER_ZH = {
    "staff_added": "新增账号", "staff_edited": "修改资料", "staff_disabled": "停用", "staff_enabled": "启用",
    "staff_unlocked": "解锁", "password_reset": "重置密码", "password_changed": "本人设置新密码",
    "photo_set": "更换照片",
}


@dataclass(frozen=True)
class NewStaff:
    staff_id: str
    name: str
    role: str
    hall: str | None
    region: str | None


class StaffService:
    def __init__(self, config: Config, pool: Database, auth: Auth, store: StaffStore,
                 clock: Callable[[], datetime]) -> None:
        self.config = config
        self.pool = pool
        self.auth = auth
        self.store = store
        self.clock = clock

    # ---- scope -------------------------------------------------------------------------

    def _halls_under(self, region: str) -> set[str]:
        found = set()
        for hall in self.config.halls.values():
            node = hall.region
            while node is not None:
                if node == region:
                    found.add(hall.id)
                    break
                node = self.config.regions[node].parent if node in self.config.regions else None
        return found

    def _regions_under(self, region: str) -> set[str]:
        return {region} | {r.id for r in self.config.regions.values() if r.parent == region}

    @staticmethod
    def _everywhere(who: Principal) -> bool:
        return who.role == "admin" and who.hall is None and who.region is None

    def _covers(self, who: Principal, hall: str | None, region: str | None) -> bool:
        """Whether an account of `hall` / `region` is within `who`'s scope."""
        if self._everywhere(who):
            return True
        if who.region is not None:
            return (hall is not None and hall in self._halls_under(who.region)) or (
                region is not None and region in self._regions_under(who.region))
        return who.hall is not None and hall == who.hall and region is None

    @staticmethod
    def require_manager(who: Principal) -> None:
        if who.kind != "staff" or who.role not in MANAGERS:
            raise Forbidden("auth.role", who=f"{who.kind} {who.id}", role=who.role, roles=", ".join(MANAGERS))

    def _target(self, who: Principal, rec: StaffRecord | None, staff_id: str) -> StaffRecord:
        """The account `who` may manage, else unknown (outside the scope) or refused (above)."""
        if rec is None or not self._covers(who, rec.hall, rec.region):
            raise NotFound("staff.unknown", staff=staff_id[:40])
        self._no_higher(who, rec.role)
        return rec

    @staticmethod
    def _no_higher(who: Principal, role: str) -> None:
        if ROLE_RANK[role] > ROLE_RANK[who.role]:
            raise Forbidden("auth.role_above", who=f"{who.role} {who.id}", role_zh=ROLE_ZH[who.role],
                            granted_zh=ROLE_ZH[role])

    def _shape(self, who: Principal, role: str, hall: str | None, region: str | None) -> None:
        """An account `who` may give: a known role no higher than theirs, a known hall or region
        within their scope, a region only for a manager of no hall."""
        if role not in STAFF_ROLES:
            raise InvalidInput("input.unknown_role", field="role", role=role[:40], known=", ".join(STAFF_ROLES))
        self._no_higher(who, role)
        if hall is not None and hall not in self.config.halls:
            raise InvalidInput("input.staff_hall_unknown", field="hall", hall=hall[:40],
                               known=", ".join(self.config.halls))
        if region is not None and region not in self.config.regions:
            raise InvalidInput("input.staff_region_unknown", field="region", region=region[:40],
                               known=", ".join(self.config.regions) or "—")
        if region is not None and (role != "manager" or hall is not None):
            raise InvalidInput("input.region_manager_only", field="region", role=role)
        if role != "admin" and hall is None and region is None:
            raise InvalidInput("input.hall_required", field="hall", role=role)
        if not self._covers(who, hall, region):
            raise Forbidden("auth.staff_scope", who=f"{who.role} {who.id}",
                            own=who.hall or who.region or "全部", target=hall or region or "全部大厅")

    # ---- views -------------------------------------------------------------------------

    def view(self, s: StaffRecord, now: datetime) -> dict[str, Any]:
        tz = self.config.timezone
        hall = self.config.halls.get(s.hall) if s.hall else None
        region = self.config.regions.get(s.region) if s.region else None
        locked = s.locked_until is not None and s.locked_until > now
        return {
            "id": s.id, "name": s.name, "role": s.role, "role_zh": ROLE_ZH.get(s.role, s.role),
            "hall": s.hall, "hall_name": hall.name if hall else None,
            "region": s.region, "region_name": region.name if region else None,
            "active": s.active, "locked": locked, "locked_until": iso(s.locked_until, tz) if locked else None,
            "failed_logins": s.failed_logins, "must_change_password": s.must_change_password,
            "photo_url": s.photo_url,
        }

    def _choices(self, who: Principal) -> dict[str, Any]:
        """What the console offers `who` when adding or editing: halls, regions, roles."""
        halls = [{"id": h.id, "name": h.name} for h in self.config.halls.values() if self._covers(who, h.id, None)]
        regions = [{"id": r.id, "name": r.name, "level": r.level} for r in self.config.regions.values()
                   if self._covers(who, None, r.id)]
        roles = [{"role": r, "role_zh": ROLE_ZH[r]} for r in STAFF_ROLES if ROLE_RANK[r] <= ROLE_RANK[who.role]]
        return {"halls": halls, "regions": regions, "roles": roles}

    def _entry(self, row: StaffLedgerRow) -> dict[str, Any]:
        return {"seq": row.seq, "at": iso(row.at, self.config.timezone), "kind": row.kind,
                "kind_zh": LEDGER_ZH.get(row.kind, row.kind), "by": row.actor.get("id"),
                "by_name": row.actor.get("name"), "payload": dict(row.payload)}

    # ---- reading -----------------------------------------------------------------------

    async def list(self, who: Principal) -> dict[str, Any]:
        self.require_manager(who)
        now = self.clock()
        async with self.pool.acquire() as conn:
            everyone = await self.store.all_staff(conn)
        mine = [s for s in everyone if self._covers(who, s.hall, s.region)]
        return {"staff": [self.view(s, now) for s in mine], "me": who.id, **self._choices(who)}

    async def get(self, who: Principal, staff_id: str) -> dict[str, Any]:
        self.require_manager(who)
        async with self.pool.acquire() as conn:
            rec = self._target(who, await self.store.staff(conn, staff_id), staff_id)
            history = await self.store.ledger(conn, staff_id)
        return {**self.view(rec, self.clock()), "history": [self._entry(r) for r in history]}

    async def verify_ledger(self) -> str | None:
        """None when the staff ledger's chain is unbroken; else the first break."""
        async with self.pool.acquire() as conn:
            return first_break(await self.store.ledger(conn))

    # ---- changes -----------------------------------------------------------------------

    async def _run(
        self, who: Principal, key: str | None, what: str, body: Any,
        work: Callable[[Connection, datetime], Awaitable[tuple[Result, dict[str, Any]]]],
    ) -> Result:
        """`work` in one transaction under the staff lock; with `key`, answered once. `work`
        returns the result and what the answer adds that is never stored (a password, a token)."""
        fingerprint = hashlib.sha256(canonical_json({"by": who.id, "what": what, "body": body}).encode()).hexdigest()
        scoped = f"{who.kind}:{who.id}|{key}" if key else None
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                await self.store.lock(conn)
                now = self.clock()
                if scoped is not None:
                    stored = await self.store.stored_answer(conn, scoped, now - IDEMPOTENCY_TTL)
                    if stored is not None:
                        if stored[0] != fingerprint:
                            raise InvalidInput("input.idempotency_key_reused", field="Idempotency-Key")
                        return from_stored(stored[1], {**stored[2], "repeated": True})
                result, secret = await work(conn, now)
                if scoped is not None:
                    await self.store.store_answer(conn, scoped, fingerprint, stored_kind(result), result.body, now)
        return Result(result.created, {**result.body, **secret, "repeated": False})

    async def _ledger(self, conn: Connection, now: datetime, kind: str, who: Principal, staff_id: str,
                      payload: dict[str, Any]) -> None:
        seq, prev = await self.store.ledger_head(conn)
        actor = {"kind": who.kind, "id": who.id, "name": who.name, "role": who.role}
        await self.store.append(conn, StaffLedgerRow(seq + 1, now, kind, actor, staff_id, payload, prev).sealed())

    async def record(self, kind: str, actor: str, staff_id: str, payload: dict[str, Any]) -> None:
        """Ledger a change made outside this service: `queue-server staff add` on the server
        ("cli") or the first start's admin ("system")."""
        who = Principal("system", actor, {"cli": "服务器命令行", "system": "系统"}.get(actor, actor), actor, None)

        async def work(conn: Connection, now: datetime) -> tuple[Result, dict[str, Any]]:
            await self._ledger(conn, now, kind, who, staff_id, payload)
            return Result(False, {}), {}

        await self._run(who, None, kind, payload, work)

    async def add(self, who: Principal, new: NewStaff, key: str | None) -> Result:
        self.require_manager(who)
        if not STAFF_ID.fullmatch(new.staff_id):
            raise InvalidInput("input.bad_staff_id", field="id", got=new.staff_id[:40])
        self._shape(who, new.role, new.hall, new.region)
        password = one_time_password()
        digest = await self.auth.hash(password)

        async def work(conn: Connection, now: datetime) -> tuple[Result, dict[str, Any]]:
            rec = StaffRecord(new.staff_id, new.hall, new.name, new.role, digest, None, True, 0, None, new.region,
                              must_change_password=True)
            try:
                await self.store.insert(conn, rec)
            except AlreadyExists:
                raise InvalidInput("input.staff_exists", field="id", staff_id=new.staff_id) from None
            await self._ledger(conn, now, "staff_added", who, new.staff_id, {
                "name": new.name, "role": new.role, "hall": new.hall, "region": new.region})
            return Result(True, {"staff": self.view(rec, now)}), {"one_time_password": password}

        return await self._run(who, key, "add", vars(new), work)

    async def edit(self, who: Principal, staff_id: str, changes: dict[str, str | None], key: str | None) -> Result:
        """Change the name, role, hall or region (only the fields given)."""
        self.require_manager(who)

        async def work(conn: Connection, now: datetime) -> tuple[Result, dict[str, Any]]:
            rec = self._target(who, await self.store.staff(conn, staff_id), staff_id)
            after = replace(
                rec, name=changes.get("name") or rec.name, role=changes.get("role") or rec.role,
                hall=changes["hall"] if "hall" in changes else rec.hall,
                region=changes["region"] if "region" in changes else rec.region)
            if changes.get("hall") is not None and "region" not in changes:
                after = replace(after, region=None)  # moved from a region to a hall
            if changes.get("region") is not None and "hall" not in changes:
                after = replace(after, hall=None)  # moved from a hall to a region
            self._shape(who, after.role, after.hall, after.region)
            diff = {f: {"from": getattr(rec, f), "to": getattr(after, f)}
                    for f in ("name", "role", "hall", "region") if getattr(rec, f) != getattr(after, f)}
            if not diff:
                raise InvalidInput("input.staff_no_change", field="body")
            if rec.role == "admin" and after.role != "admin" and rec.active and await self.store.active_admins(conn) <= 1:
                raise Refused("staff.last_admin", staff=rec.id)
            await self.store.update(conn, after)
            await self._ledger(conn, now, "staff_edited", who, staff_id, {"changes": diff})
            return Result(False, {"staff": self.view(after, now)}), {}

        result = await self._run(who, key, f"edit {staff_id}", changes, work)
        self.auth.forget_staff(staff_id)
        return result

    async def act(self, who: Principal, staff_id: str, action: str, key: str | None) -> Result:
        """disable, enable, unlock (after the sign-in lock) or reset-password."""
        self.require_manager(who)
        if action not in ACTIONS:
            raise InvalidInput("input.bad_choice", field="action", known=", ".join(ACTIONS), got=action[:40])
        password = one_time_password() if action == "reset-password" else None
        digest = await self.auth.hash(password) if password is not None else None

        async def work(conn: Connection, now: datetime) -> tuple[Result, dict[str, Any]]:
            rec = self._target(who, await self.store.staff(conn, staff_id), staff_id)
            secret: dict[str, Any] = {}
            if action == "disable":
                if rec.id == who.id:
                    raise Refused("staff.self_disable")
                if not rec.active:
                    raise Refused("staff.already", staff=rec.id, state_zh="停用")
                if rec.role == "admin" and await self.store.active_admins(conn) <= 1:
                    raise Refused("staff.last_admin", staff=rec.id)
                after, kind = replace(rec, active=False), "staff_disabled"
                await self.store.revoke_sessions(conn, rec.id, now)
            elif action == "enable":
                if rec.active:
                    raise Refused("staff.already", staff=rec.id, state_zh="启用")
                after, kind = replace(rec, active=True, failed_logins=0, locked_until=None), "staff_enabled"
            elif action == "unlock":
                if rec.locked_until is None or rec.locked_until <= now:
                    raise Refused("staff.not_locked", staff=rec.id)
                after, kind = replace(rec, failed_logins=0, locked_until=None), "staff_unlocked"
            else:
                if rec.id == who.id:
                    raise Refused("staff.self_reset")
                assert digest is not None and password is not None
                after = replace(rec, password_hash=digest, must_change_password=True, failed_logins=0,
                                locked_until=None)
                kind = "password_reset"
                await self.store.revoke_sessions(conn, rec.id, now)
                secret = {"one_time_password": password}
            await self.store.update(conn, after)
            await self._ledger(conn, now, kind, who, staff_id, {})
            return Result(False, {"staff": self.view(after, now)}), secret

        result = await self._run(who, key, f"{action} {staff_id}", {}, work)
        self.auth.forget_staff(staff_id)
        return result

    async def change_password(self, who: Principal, old: str, new: str, key: str | None) -> Result:
        """The signed-in staff member sets their own password (the old one proves it is them).
        Every session of theirs ends; the answer carries a new one."""
        if who.kind != "staff":
            raise Forbidden("auth.device_not_staff", who=who.id, role=who.role)
        # Each try of the old password counts like a sign-in (a borrowed session cannot guess
        # it): five wrong ones lock the account, as at the sign-in form.
        now = self.clock()
        async with self.pool.acquire() as conn:
            rec = await self.auth.accounts.reserve_login_attempt(
                conn, who.id, now=now, lock_after=LOCK_AFTER_FAILURES, lock_until=now + timedelta(minutes=LOCK_MINUTES))
        if rec is None:  # locked (or disabled) meanwhile
            raise Unauthenticated("auth.wrong_credentials", failures=LOCK_AFTER_FAILURES, minutes=LOCK_MINUTES)
        if not await self.auth.verify(rec.password_hash, old):
            raise InvalidInput("input.old_password_wrong", field="old_password")
        async with self.pool.acquire() as conn:  # the right one: the count starts again
            await self.auth.accounts.record_login_success(conn, who.id)
        check_new_password(new, staff_id=who.id, old=old)
        digest = await self.auth.hash(new)
        token, token_hash, _, expires = self.auth.new_session()

        async def work(conn: Connection, now: datetime) -> tuple[Result, dict[str, Any]]:
            current = await self.store.staff(conn, who.id)
            if current is None or current.password_hash != rec.password_hash:  # reset meanwhile
                raise InvalidInput("input.old_password_wrong", field="old_password")
            after = replace(current, password_hash=digest, must_change_password=False, failed_logins=0,
                            locked_until=None)
            await self.store.update(conn, after)
            await self.store.revoke_sessions(conn, who.id, now)
            await self.store.add_session(conn, token_hash, who.id, now, expires)
            await self._ledger(conn, now, "password_changed", who, who.id, {})
            body = {"changed": True, "staff": {"id": after.id, "name": after.name, "role": after.role,
                                                "hall": after.hall, "must_change_password": False}}
            return Result(False, body), {"token": token, "expires_at": expires.isoformat(timespec="seconds")}

        # The fingerprint holds a hash of the new password's hash input, never the password.
        body = {"new": hashlib.sha256(new.encode()).hexdigest()}
        result = await self._run(who, key, "password", body, work)
        self.auth.forget_staff(who.id)
        return result

    # ---- photos ------------------------------------------------------------------------

    async def set_photo(self, who: Principal, staff_id: str, content_type: str, data: bytes) -> dict[str, Any]:
        self.require_manager(who)
        digest = hashlib.sha256(data).hexdigest()

        async def work(conn: Connection, now: datetime) -> tuple[Result, dict[str, Any]]:
            rec = self._target(who, await self.store.staff(conn, staff_id), staff_id)
            await self.store.set_photo(conn, staff_id, content_type, data, now)
            after = replace(rec, photo_url=f"/api/v1/staff/{staff_id}/photo?v={digest[:12]}")
            await self.store.update(conn, after)
            await self._ledger(conn, now, "photo_set", who, staff_id,
                               {"content_type": content_type, "bytes": len(data), "sha256": digest})
            return Result(False, {"staff": self.view(after, now)}), {}

        result = await self._run(who, None, "photo", {}, work)
        self.auth.forget_staff(staff_id)
        return result.body

    async def photo(self, staff_id: str) -> tuple[str, bytes]:
        async with self.pool.acquire() as conn:
            found = await self.store.photo(conn, staff_id)
        if found is None:
            raise NotFound("staff.no_photo", staff=staff_id[:40])
        return found
