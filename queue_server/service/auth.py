"""Sign-in, bearer tokens and device tokens. Only hashes of secrets are ever stored."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time as monotime
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from .ports import AccountStore, AlreadyExists, Database, StaffRecord
from .principal import DEVICE_ROLES, STAFF_ROLES, Principal

LOCK_AFTER_FAILURES = 5
LOCK_MINUTES = 15
#: The one answer to a failed sign-in: wrong password, unknown or inactive staff number, and
#: locked account alike.
CACHE_SECONDS = 5.0
SEEN_SECONDS = 60.0  # a device's last_seen_at is moved at most this often  # a revoked token stops working in other processes within this time

_hasher = PasswordHasher()


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class Auth:
    def __init__(
        self, pool: Database, accounts: AccountStore, *, ttl_minutes: int, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.pool = pool
        self.accounts = accounts
        # The argon2 parameters of new hashes (verification reads them from the hash itself).
        self.hasher = hasher or _hasher
        self.ttl = timedelta(minutes=ttl_minutes)
        self.clock = clock
        # token hash -> (cache deadline, principal, token expiry); a hit past the token's own
        # expiry is a miss, so an expired token never outlives its time through the cache.
        self._cache: dict[bytes, tuple[float, Principal | None, datetime | None]] = {}
        self._dummy: str | None = None
        # device token hash -> when its last_seen_at was last moved (monotonic seconds)
        self._seen: dict[bytes, float] = {}

    def forget(self, h: bytes) -> None:
        """Drop a token from this process's cache (a device revoked here stops at once)."""
        self._cache.pop(h, None)

    async def login(self, staff_id: str, password: str) -> tuple[str, datetime, Principal]:
        """A new session token for a correct password of an active, unlocked account.

        The attempt is counted in the database before the password is checked, so the lock
        holds at exactly LOCK_AFTER_FAILURES under any concurrency. Unknown, inactive and
        locked accounts and a wrong password all get the same answer after one password
        check each (against a dummy hash when there is no account to check): nothing tells
        which staff numbers exist or are locked."""
        now = self.clock()
        async with self.pool.acquire() as conn:
            staff = await self.accounts.reserve_login_attempt(
                conn, staff_id, now=now, lock_after=LOCK_AFTER_FAILURES,
                lock_until=now + timedelta(minutes=LOCK_MINUTES),
            )
            digest = staff.password_hash if staff is not None else await self._dummy_hash()
            ok = await asyncio.to_thread(_verify, digest, password)
            if staff is None or not ok:
                raise Unauthenticated("auth.wrong_credentials", failures=LOCK_AFTER_FAILURES, minutes=LOCK_MINUTES)
            await self.accounts.record_login_success(conn, staff_id)
            token = new_token("hqs")
            expires = now + self.ttl
            await self.accounts.add_session(conn, token_hash(token), staff_id, now, expires)
        return token, expires, _staff_principal(staff)

    async def hash(self, password: str) -> str:
        """A new hash of `password` with this server's parameters (in a thread: it is slow)."""
        return await asyncio.to_thread(self.hasher.hash, password)

    @staticmethod
    async def verify(digest: str, password: str) -> bool:
        return await asyncio.to_thread(_verify, digest, password)

    def new_session(self) -> tuple[str, bytes, datetime, datetime]:
        """A new sign-in token, its stored hash, now and its expiry."""
        token = new_token("hqs")
        now = self.clock()
        return token, token_hash(token), now, now + self.ttl

    async def _dummy_hash(self) -> str:
        """A hash with this server's parameters, for checking a password that has no account."""
        if self._dummy is None:
            self._dummy = await asyncio.to_thread(self.hasher.hash, secrets.token_urlsafe(16))
        return self._dummy

    async def logout(self, token: str) -> str | None:
        h = token_hash(token)
        self._cache.pop(h, None)
        async with self.pool.acquire() as conn:
            return await self.accounts.revoke_session(conn, h, self.clock())

    async def authenticate(self, token: str | None, *, password_pending: bool = False) -> Principal:
        """The token's principal. A staff member still on a one-time password is refused
        (403 auth.password_change_required) unless the caller is one of the few routes that
        serve setting a password (`password_pending`): who am I, sign out, set my password."""
        principal = await self._principal(token)
        if principal.must_change_password and not password_pending:
            raise Forbidden("auth.password_change_required")
        return principal

    def forget_staff(self, staff_id: str) -> None:
        """Drop this process's cached sign-ins of `staff_id` (their account just changed)."""
        for h, hit in list(self._cache.items()):
            if hit[1] is not None and hit[1].kind == "staff" and hit[1].id == staff_id:
                self._cache.pop(h, None)

    async def _principal(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated("auth.required")
        h = token_hash(token)
        hit = self._cache.get(h)
        if hit is not None and hit[0] > monotime.monotonic() and (hit[2] is None or hit[2] > self.clock()):
            principal = hit[1]
        else:
            principal, expires = await self._lookup(h)
            self._cache[h] = (monotime.monotonic() + CACHE_SECONDS, principal, expires)
            if len(self._cache) > 10_000:
                self._cache.clear()
        if principal is None:
            raise Unauthenticated("auth.token_invalid")
        return principal

    async def _lookup(self, h: bytes) -> tuple[Principal | None, datetime | None]:
        async with self.pool.acquire() as conn:
            found = await self.accounts.session_staff(conn, h, self.clock())
            if found is not None:
                return _staff_principal(found[0]), found[1]
            device = await self.accounts.device_by_token(conn, h)
            if device is not None and monotime.monotonic() - self._seen.get(h, -SEEN_SECONDS) >= SEEN_SECONDS:
                # last_seen_at: at most once a minute per device and process, never per request.
                self._seen[h] = monotime.monotonic()
                if len(self._seen) > 10_000:
                    self._seen.clear()
                await self.accounts.touch_device(conn, h, self.clock())
        if device is None:
            return None, None
        principal = Principal(
            "device", device.name, device.name, device.role, device.hall, device.window, device.kiosk
        )
        return principal, None

    # ---- administration (CLI and first start) --------------------------------------

    async def add_staff(
        self, *, staff_id: str, hall: str | None, name: str, role: str, password: str,
        photo_url: str | None = None, region: str | None = None, must_change_password: bool = False,
    ) -> None:
        if role not in STAFF_ROLES:
            raise InvalidInput("input.unknown_role", field="role", role=role, known=", ".join(STAFF_ROLES))
        if region is not None and (role != "manager" or hall is not None):
            raise InvalidInput("input.region_manager_only", field="region", role=role)
        if role != "admin" and hall is None and region is None:
            raise InvalidInput("input.hall_required", field="hall", role=role)
        if len(password) < 8:
            raise InvalidInput("input.password_too_short", field="password", minimum=8)
        digest = await asyncio.to_thread(self.hasher.hash, password)
        async with self.pool.acquire() as conn:
            try:
                await self.accounts.add_staff(
                    conn, staff_id=staff_id, hall=hall, name=name, role=role,
                    password_hash=digest, photo_url=photo_url, region=region,
                    must_change_password=must_change_password,
                )
            except AlreadyExists:
                raise InvalidInput("input.staff_exists", field="id", staff_id=staff_id) from None

    async def add_device(
        self, *, hall: str, role: str, name: str, window: int | None = None, kiosk: str | None = None
    ) -> str:
        if role not in DEVICE_ROLES:
            raise InvalidInput("input.unknown_role", field="role", role=role, known=", ".join(DEVICE_ROLES))
        if role == "evaluator" and window is None:
            raise InvalidInput("input.window_required", field="window")
        if role == "printer" and not kiosk:
            raise InvalidInput("input.kiosk_required", field="kiosk")
        token = new_token("hqd")
        async with self.pool.acquire() as conn:
            try:
                await self.accounts.add_device(
                    conn, hall=hall, role=role, name=name, token_hash=token_hash(token),
                    window=window, kiosk=kiosk,
                )
            except AlreadyExists:
                raise InvalidInput("input.device_exists", field="name", hall=hall, name=name) from None
        return token

    async def revoke_device(self, hall: str, name: str) -> None:
        async with self.pool.acquire() as conn:
            if not await self.accounts.revoke_device(conn, hall, name, self.clock()):
                raise NotFound("device.unknown", hall=hall, name=name)

    async def ensure_first_admin(self) -> tuple[str, str] | None:
        """On an empty database, create one admin with a random password (shown once)."""
        async with self.pool.acquire() as conn:
            if await self.accounts.count_staff(conn):
                return None
        password = secrets.token_urlsafe(12)
        try:
            # Printed once at the first start: the admin sets their own at the first sign-in.
            await self.add_staff(staff_id="admin", hall=None, name="系统管理员", role="admin", password=password,
                                 must_change_password=True)
        except InvalidInput:  # another process created it first
            return None
        return "admin", password


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False


def _staff_principal(s: StaffRecord) -> Principal:
    return Principal("staff", s.id, s.name, s.role, s.hall, photo_url=s.photo_url, region=s.region,
                     must_change_password=s.must_change_password)


def require_staff(principal: Principal, hall: str) -> None:
    if principal.kind != "staff":
        raise Forbidden("auth.device_not_staff", who=principal.id, role=principal.role)
    principal.require_role(hall, *STAFF_ROLES)
