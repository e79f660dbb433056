"""What the service needs from the outside world, as interfaces the service owns.

Adapters (queue_server.adapters) implement these protocols and may import this module;
the service never imports an adapter, a driver (asyncpg, redis) or aiohttp. The composition
root (queue_server.main) builds the implementations and hands them to the services.

A `Connection` is opaque to the service: it only opens transactions on it and passes it back
to the store that gave it. Writes that must happen in a hall's command transaction travel as
typed objects (service/writes.py) that the storage adapter turns into SQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from ..domain.alerts import Device
    from ..domain.anchor import Anchor, SignedAnchor
    from ..domain.hall import HallState
    from ..domain.layout import Hall
    from ..domain.ledger import LedgerRow
    from ..domain.model import Ticket, TicketNumber
    from ..domain.notices import Notice
    from ..domain.staff_ledger import StaffLedgerRow
    from .writes import Write


# ---- the database -------------------------------------------------------------------


class Connection(Protocol):
    """A database connection, opaque to the service except for its transactions."""

    def transaction(self, *, isolation: str | None = None, readonly: bool = False) -> Any: ...


class Database(Protocol):
    """A pool of connections; `acquire()` is bounded in time and raises `Unavailable`."""

    def acquire(self) -> AbstractAsyncContextManager[Any]: ...


class AlreadyExists(Exception):
    """A row with the same unique key is already stored (raised by storage adapters)."""


class HallHead:
    """The hall's row, locked for the transaction: sequence, chain head and live day."""

    __slots__ = ("hall", "seq", "head_hash", "business_day")

    def __init__(self, hall: str, seq: int, head_hash: bytes, business_day: date | None) -> None:
        self.hall = hall
        self.seq = seq
        self.head_hash = head_hash
        self.business_day = business_day


@dataclass(frozen=True, slots=True)
class HallSave:
    """What one hall's part of a batch writes: its state's dirty rows, its new ledger rows
    (chained from `head`) and the idempotency answers of its keyed commands."""

    state: HallState
    head: HallHead
    rows: Sequence[LedgerRow]
    idempotent: Sequence[tuple[str, str, int, Any]]

    def changes(self) -> bool:
        s = self.state
        return bool(s.dirty_tickets or s.dirty_windows or s.dirty_counters or self.rows
                    or self.idempotent or self.head.business_day != s.day)


class HallStore(Protocol):
    """A hall's live state, its ledger and the writes of its command transactions."""

    #: Failures of the database itself (not of a rule): the batch fails with Unavailable.
    failures: tuple[type[BaseException], ...]

    def refused_data(self, exc: BaseException) -> bool:
        """Whether the database refused what one command wrote (bad data, a constraint)."""
        ...

    async def lock_halls(self, conn: Connection, halls: Sequence[str]) -> dict[str, HallHead]: ...
    async def read_head(self, conn: Connection, hall: str) -> HallHead | None: ...
    async def load_state(self, conn: Connection, hall: Hall, day: date) -> HallState: ...
    async def refresh_state(self, conn: Connection, state: HallState, since: int) -> None: ...
    async def load_stale_tickets(self, conn: Connection, hall: str, before: date) -> list[Ticket]: ...

    async def save_halls(
        self, conn: Connection, parts: Sequence[HallSave], now: datetime, keys_expire_before: datetime,
        tz: ZoneInfo, day_starts: time,
    ) -> bool: ...

    async def apply_writes(self, conn: Connection, writes: Sequence[Write]) -> None: ...

    async def idempotent_results(
        self, conn: Connection, hall: str, keys: Sequence[str], since: datetime,
    ) -> dict[str, tuple[str, int, Any]]: ...

    async def ledger_rows(
        self, conn: Connection, hall: str, after: int = 0, limit: int | None = None,
    ) -> list[LedgerRow]: ...

    def iter_ledger(self, conn: Connection, hall: str) -> AsyncIterator[LedgerRow]: ...
    async def recent_calls(self, conn: Connection, hall: str, since: datetime) -> list[dict[str, Any]]: ...
    async def ticket_by_id(self, conn: Connection, ticket_id: str) -> Ticket | None: ...
    async def ticket_by_holder_secret(self, conn: Connection, secret: str) -> Ticket | None: ...

    async def ticket_by_number(
        self, conn: Connection, hall: str, day: date, number: TicketNumber,
    ) -> Ticket | None: ...

    async def notices(self, conn: Connection, hall: str) -> tuple[int, list[Notice]]: ...

    async def replace_notices(
        self, conn: Connection, hall: str, notices: list[Notice], expected: int | None,
    ) -> int | None: ...
    async def device_statuses(self, conn: Connection, hall: str) -> list[dict[str, Any]]: ...


class PrintStore(Protocol):
    """Print jobs and the states printers report."""

    async def printer_of_kiosk(self, conn: Connection, hall: str, kiosk: str) -> str | None: ...

    async def printable_jobs(
        self, conn: Connection, hall: str, kiosk: str, since: datetime, now: datetime,
    ) -> list[dict[str, Any]]: ...

    async def mark_delivered(self, conn: Connection, ids: list[str], now: datetime) -> None: ...

    async def record_result(
        self, conn: Connection, hall: str, kiosk: str, job_id: str, printed: bool, error: str | None,
        now: datetime,
    ) -> str | None: ...

    async def job(self, conn: Connection, job_id: str) -> dict[str, Any] | None: ...
    async def halls_with_stale_jobs(self, conn: Connection, before: datetime) -> list[str]: ...

    async def expire_jobs(
        self, conn: Connection, hall: str, before: datetime, now: datetime, limit: int,
    ) -> list[dict[str, Any]]: ...

    async def save_device_status(
        self, conn: Connection, hall: str, name: str, role: str, kiosk: str | None,
        status: dict[str, Any], now: datetime,
    ) -> dict[str, Any] | None: ...

    async def device_statuses(self, conn: Connection, hall: str) -> list[dict[str, Any]]: ...


class RatingStore(Protocol):
    """Ratings (好差评) and their follow-ups."""

    async def rating_of(self, conn: Connection, ticket_id: str) -> dict[str, Any] | None: ...
    async def hall_manager(self, conn: Connection, hall: str) -> str | None: ...

    async def last_finished_at_window(
        self, conn: Connection, hall: str, window: int, since: datetime,
    ) -> dict[str, Any] | None: ...

    async def follow_up(self, conn: Connection, follow_up_id: str) -> dict[str, Any] | None: ...
    async def follow_up_of_ticket(self, conn: Connection, ticket_id: str) -> dict[str, Any] | None: ...
    async def follow_ups(self, conn: Connection, hall: str, status: str | None) -> list[dict[str, Any]]: ...

    async def claim_follow_up_step(self, conn: Connection, follow_up_id: str, was: str, becomes: str) -> bool:
        """Move the follow-up from status `was` to `becomes` in this transaction; False if it
        is no longer `was` (another step of the same batch came first)."""
        ...

    async def rate_follow_up(
        self, conn: Connection, ticket_id: str, level: int, now: datetime,
    ) -> dict[str, Any] | None:
        """Store the citizen's follow-up rating; its {id, hall}, or None if not rateable."""
        ...


class SurveyStore(Protocol):
    """Satisfaction survey campaigns, invitations and answers (adapters/surveys.py)."""

    async def campaign(self, conn: Connection, campaign_id: str) -> dict[str, Any] | None: ...
    async def campaigns(self, conn: Connection, hall: str) -> list[dict[str, Any]]: ...
    async def overlapping(self, conn: Connection, hall: str, starts: date, ends: date) -> dict[str, Any] | None: ...
    async def invitation(self, conn: Connection, ticket_id: str) -> dict[str, Any] | None: ...

    async def answers(
        self, conn: Connection, campaign_id: str, service: str | None, first: date | None, last: date | None,
    ) -> list[dict[str, Any]]: ...

    async def sampled(
        self, conn: Connection, campaign_id: str, service: str | None, first: date | None, last: date | None,
    ) -> int: ...

    async def window_invitation(
        self, conn: Connection, hall: str, window: int, ticket_number: tuple[str, int], day: date,
    ) -> dict[str, Any] | None: ...


class ImprovementStore(Protocol):
    """Improvement actions (整改, adapters/improvements.py)."""

    async def improvement(self, conn: Connection, improvement_id: str) -> dict[str, Any] | None: ...

    async def improvements(
        self, conn: Connection, hall: str, state: str | None, since: datetime | None = None,
    ) -> list[dict[str, Any]]: ...

    async def source_exists(self, conn: Connection, kind: str, source_id: str, hall: str) -> bool | None: ...
    async def active_staff(self, conn: Connection, staff_id: str, hall: str) -> dict[str, Any] | None: ...
    async def staff_names(self, conn: Connection, ids: set[str]) -> dict[str, str]: ...

    async def month_actions(
        self, conn: Connection, halls: list[str], first: datetime, end: datetime,
    ) -> list[dict[str, Any]]: ...


class ComplaintStore(Protocol):
    """Complaints (投诉, adapters/complaints.py)."""

    async def complaint(self, conn: Connection, complaint_id: str) -> dict[str, Any] | None: ...
    async def complaint_by_secret(self, conn: Connection, secret: str) -> dict[str, Any] | None: ...
    async def complaints(self, conn: Connection, hall: str, state: str | None) -> list[dict[str, Any]]: ...
    async def erasable(self, conn: Connection, hall: str, closed_before: datetime) -> list[str]: ...
    async def active_staff(self, conn: Connection, staff_id: str, hall: str) -> dict[str, Any] | None: ...
    async def staff_names(self, conn: Connection, ids: set[str]) -> dict[str, str]: ...
class PairingStore(Protocol):
    """Pairing codes, wrong-code attempts and the devices list (adapters/pairing.py)."""

    async def start_pairing(
        self, conn: Connection, *, token_hash: bytes, code: str, kind: str, address: str | None,
        now: datetime, expires_at: datetime,
    ) -> bool: ...
    async def pairing_by_token(self, conn: Connection, token_hash: bytes) -> dict[str, Any] | None: ...
    async def claim_code(self, conn: Connection, code: str, now: datetime) -> dict[str, Any] | None: ...
    async def next_device_id(self, conn: Connection) -> int: ...
    async def device_name_taken(
        self, conn: Connection, hall: str, name: str, other_than: int | None = None,
    ) -> bool: ...
    async def kiosks(self, conn: Connection, hall: str) -> list[str]: ...
    async def device(self, conn: Connection, device_id: int) -> dict[str, Any] | None: ...
    async def devices(self, conn: Connection, hall: str) -> list[dict[str, Any]]: ...
    async def count_failures(self, conn: Connection, staff_id: str, since: datetime) -> int: ...
    async def add_failure(self, conn: Connection, staff_id: str, at: datetime) -> None: ...
    async def touch_devices(
        self, conn: Connection, token_hashes: list[bytes], now: datetime, every: timedelta,
    ) -> None: ...
    async def revoked_among(self, conn: Connection, token_hashes: list[bytes]) -> list[bytes]: ...


class AlertStore(Protocol):
    """The hall's alerts and its devices' last known states (adapters/alerts.py)."""

    async def open_alerts(self, conn: Connection, hall: str) -> list[dict[str, Any]]: ...
    async def recent_alerts(self, conn: Connection, hall: str, since: datetime) -> list[dict[str, Any]]: ...
    async def alert(self, conn: Connection, alert_id: str) -> dict[str, Any] | None: ...
    async def devices(self, conn: Connection, hall: str) -> list[Device]: ...
    async def save_presence(self, conn: Connection, hall: str, name: str, connected: bool, now: datetime) -> None: ...
    async def today_figures(self, conn: Connection, hall: str, day: date) -> dict[str, Any]: ...
    async def overdue_complaints(self, conn: Connection, hall: str, now: datetime) -> list[dict[str, Any]]: ...


class AppointmentStore(Protocol):
    async def add_appointment(
        self, conn: Connection, *, appointment_id: str, hall: str, code: str, service: str,
        slot_start: datetime, slot_end: datetime, now: datetime,
    ) -> None:
        """Raises AlreadyExists when the code is in use."""
        ...

    async def booking_by_code(self, conn: Connection, hall: str, code: str) -> dict[str, Any] | None: ...
    async def appointment(self, conn: Connection, appointment_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class StaffRecord:
    id: str
    hall: str | None
    name: str
    role: str
    password_hash: str
    photo_url: str | None
    active: bool
    failed_logins: int
    locked_until: datetime | None
    region: str | None = None  # a street or district office's manager: no hall, this region
    must_change_password: bool = False  # a one-time password: set one's own before anything else


@dataclass(frozen=True)
class DeviceRecord:
    id: int
    hall: str
    role: str
    name: str
    window: int | None
    kiosk: str | None
    revoked_at: datetime | None


class AccountStore(Protocol):
    """Staff accounts, device registrations and sign-in sessions."""

    async def reserve_login_attempt(
        self, conn: Connection, staff_id: str, *, now: datetime, lock_after: int, lock_until: datetime,
    ) -> StaffRecord | None: ...

    async def record_login_success(self, conn: Connection, staff_id: str) -> None: ...

    async def add_session(
        self, conn: Connection, token_hash: bytes, staff_id: str, now: datetime, expires: datetime,
    ) -> None: ...

    async def session_staff(
        self, conn: Connection, token_hash: bytes, now: datetime,
    ) -> tuple[StaffRecord, datetime] | None:
        """The session's staff and the session's expiry, for a live session."""
        ...
    async def revoke_session(self, conn: Connection, token_hash: bytes, now: datetime) -> str | None: ...
    async def device_by_token(self, conn: Connection, token_hash: bytes) -> DeviceRecord | None: ...
    async def touch_device(self, conn: Connection, token_hash: bytes, now: datetime) -> None: ...

    async def add_staff(
        self, conn: Connection, *, staff_id: str, hall: str | None, name: str, role: str,
        password_hash: str, photo_url: str | None = None, region: str | None = None,
        must_change_password: bool = False,
    ) -> None:
        """Raises AlreadyExists for a staff number in use."""
        ...

    async def add_device(
        self, conn: Connection, *, hall: str, role: str, name: str, token_hash: bytes,
        window: int | None, kiosk: str | None,
    ) -> int:
        """The device's id; raises AlreadyExists for a device name in use in the hall."""
        ...

    async def revoke_device(self, conn: Connection, hall: str, name: str, now: datetime) -> bool: ...
    async def count_staff(self, conn: Connection) -> int: ...


class AnchorSigner(Protocol):
    """Signs ledger heads and keeps the anchor log (an append-only file)."""

    def sign(self, key: Ed25519PrivateKey, anchor: Anchor) -> SignedAnchor: ...
    def append(self, log_path: Path, anchors: list[SignedAnchor]) -> None: ...
    def key_id(self, key: Ed25519PrivateKey | Ed25519PublicKey) -> str: ...
    def signature_ok(self, public: Ed25519PublicKey, signed: SignedAnchor) -> bool: ...


# ---- fan-out, speech, ticket layout -------------------------------------------------


class Announcer(Protocol):
    """Delivers a hall's committed events to every screen (this process's and the others')."""

    async def announce(self, hall: str, events: list[dict[str, Any]]) -> None: ...


class Relay(Announcer, Protocol):
    """An announcer with a lifetime (e.g. over Redis)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class SpeechEngine(Protocol):
    """Renders Mandarin announcement text to WAV bytes."""

    def available(self) -> bool: ...
    async def render(self, text: str) -> bytes: ...


class TicketLayout(Protocol):
    """Renders a ticket's print content as the printer would (a PNG preview)."""

    def preview_png(self, content: dict[str, Any], paper_mm: int) -> bytes:
        """`content` is views.print_content(...) of a ticket; CPU-bound (run it in a thread)."""
        ...


class StaffStore(Protocol):
    """Managing staff accounts (adapters/staff_admin.py): accounts, photos, the staff ledger and
    the idempotency keys of its commands; every change under `lock`, in one transaction."""

    async def lock(self, conn: Connection) -> None: ...
    async def stored_answer(self, conn: Connection, key: str, since: datetime) -> tuple[str, int, Any] | None: ...

    async def store_answer(
        self, conn: Connection, key: str, fingerprint: str, status: int, body: Any, now: datetime,
    ) -> None: ...

    async def staff(self, conn: Connection, staff_id: str) -> StaffRecord | None: ...
    async def all_staff(self, conn: Connection) -> list[StaffRecord]: ...
    async def active_admins(self, conn: Connection) -> int: ...

    async def insert(self, conn: Connection, s: StaffRecord) -> None:
        """Raises AlreadyExists for a staff number in use."""
        ...

    async def update(self, conn: Connection, s: StaffRecord) -> None: ...
    async def revoke_sessions(self, conn: Connection, staff_id: str, now: datetime) -> None: ...

    async def add_session(
        self, conn: Connection, token_hash: bytes, staff_id: str, now: datetime, expires: datetime,
    ) -> None: ...

    async def ledger_head(self, conn: Connection) -> tuple[int, bytes]: ...
    async def append(self, conn: Connection, row: StaffLedgerRow) -> None: ...
    async def ledger(self, conn: Connection, staff_id: str | None = None) -> list[StaffLedgerRow]: ...
    async def set_photo(self, conn: Connection, staff_id: str, content_type: str, data: bytes, now: datetime) -> None: ...
    async def photo(self, conn: Connection, staff_id: str) -> tuple[str, bytes] | None: ...
