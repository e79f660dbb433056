"""PostgreSQL storage of halls: load a hall's live state under its lock, save what changed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from datetime import time as day_time
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson

from ..domain import review
from ..domain.errors import Unavailable
from ..domain.hall import HallState
from ..domain.layout import Hall
from ..domain.ledger import LedgerRow, genesis_hash
from ..domain.model import (
    ACTIVE_STATUSES,
    HallId,
    StaffId,
    StaffOnDuty,
    Ticket,
    TicketId,
    TicketNumber,
    TicketStatus,
    WindowState,
    WindowStatus,
)
from ..domain.notices import Notice
from ..domain.notices import from_stored as notice_from_stored
from ..service.ports import HallHead, HallSave
from . import stats
from .printing import device_statuses
from .writes import apply_writes

_ACTIVE = [s.value for s in ACTIVE_STATUSES]

log = logging.getLogger(__name__)

# What the service layer may name without importing the driver.
Pool = asyncpg.Pool
Connection = asyncpg.Connection
UniqueViolation = asyncpg.UniqueViolationError
#: Failures of the database itself (not of a rule): the batch is retried by the caller.
DatabaseError: tuple[type[BaseException], ...] = (OSError, asyncpg.PostgresError, asyncio.TimeoutError)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary codecs: row types holding jsonb (the ledger, idempotency) are sent as arrays of
    # composite values, which asyncpg encodes only in binary. jsonb's binary form is a
    # version byte (1) and the JSON text. orjson reads and writes UTF-8 bytes directly.
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", format="binary",
        encoder=_jsonb_encode, decoder=_jsonb_decode,
    )
    await conn.set_type_codec(
        "json", schema="pg_catalog", format="binary",
        encoder=orjson.dumps, decoder=orjson.loads,
    )


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)


def _jsonb_decode(data: bytes) -> Any:
    if data[:1] != b"\x01":
        raise ValueError(f"unsupported jsonb binary format version {data[:1]!r}")
    return orjson.loads(memoryview(data)[1:])


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without the default reset query (a round trip per release): the server sets no
    session state, and asyncpg still rolls back a transaction left open."""


#: How long a database command, a connection attempt or the wait for a pooled connection
#: may take by default ([database] command_timeout_seconds overrides it).
DEFAULT_COMMAND_TIMEOUT = 5.0

#: SQLSTATE classes and codes that say "the database cannot serve now", not "this command is
#: wrong": connection exceptions, insufficient resources, operator intervention (shutdown,
#: cannot connect now, a cancelled statement), system errors, serialization and deadlock.
_UNAVAILABLE_CLASSES = ("08", "53", "57", "58")
_UNAVAILABLE_CODES = ("40001", "40P01")


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` is a failure of the database itself (down, unreachable, hung, shutting
    down) rather than a refusal of one command's data: the first is 503 and retried by the
    client, the second is the command's own error."""
    if isinstance(exc, (OSError, TimeoutError, asyncpg.exceptions.ConnectionDoesNotExistError)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        code = getattr(exc, "sqlstate", None) or ""
        return code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_CODES
    if isinstance(exc, asyncpg.InterfaceError) and not isinstance(exc, asyncpg.exceptions.DataError):
        return "connection" in str(exc) and ("closed" in str(exc) or "lost" in str(exc))
    return False


def unavailable(exc: BaseException, what: str = "the database") -> Unavailable:
    """The domain error for a failure of the database (see `is_unavailable`)."""
    detail = str(exc).strip() or type(exc).__name__
    return Unavailable("unavailable.database", reason=f"{what}: {type(exc).__name__}: {detail}",
                       retry_after=2)


class GuardedPool(asyncpg.Pool):
    """An asyncpg pool whose `acquire()` is bounded in time and speaks the domain's errors.

    - waiting for a connection (including connecting) takes at most `acquire_timeout`;
    - with `hold_timeout`, a connection held longer than that is terminated (a database
      that accepts and never answers would otherwise keep the request, its transaction's
      rollback and the cancel request waiting one command timeout each);
    - failures of the database itself, raised while acquiring or inside the `async with`
      block, leave it as `Unavailable` (503 with Retry-After); every other error (a rule, a
      refused row) passes through unchanged.

    It also remembers since when the database has been failing (`unavailable_for()`), for
    an honest /healthz.
    """

    def __init__(self, *args: Any, acquire_timeout: float | None = None,
                 hold_timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout
        self.hold_timeout = hold_timeout
        self._failing_since: float | None = None

    def acquire(self, *, timeout: float | None = None) -> _GuardedAcquire:  # type: ignore[override]  # keyword-only timeout; the guard wraps asyncpg's own acquire
        return _GuardedAcquire(self, timeout if timeout is not None else self.acquire_timeout)

    def unavailable_for(self) -> float:
        """Seconds since the database last failed without a success since; 0 when it works."""
        since = self._failing_since
        return 0.0 if since is None else time.monotonic() - since

    def _failed(self) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()

    def _succeeded(self) -> None:
        self._failing_since = None

    async def probe(self) -> str | None:
        """None when the database answers SELECT 1 in time, else why not."""
        try:
            async with self.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except Unavailable as exc:
            return exc.detail
        return None


class _GuardedAcquire:
    __slots__ = ("pool", "timeout", "conn", "expired", "_watchdog")

    def __init__(self, pool: GuardedPool, timeout: float | None) -> None:
        self.pool = pool
        self.timeout = timeout
        self.conn: Any = None
        self.expired = False
        self._watchdog: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        try:
            self.conn = await asyncpg.Pool.acquire(self.pool, timeout=self.timeout)
        except Exception as exc:
            if is_unavailable(exc):
                self.pool._failed()
                raise unavailable(exc) from exc
            raise
        if self.pool.hold_timeout is not None:
            self._watchdog = asyncio.get_running_loop().call_later(
                self.pool.hold_timeout, self._expire)
        return self.conn

    def _expire(self) -> None:
        self.expired = True
        log.warning("terminating a database connection held for more than %.1f s "
                    "(the database does not answer)", self.pool.hold_timeout)
        try:
            self.conn.terminate()
        except Exception:  # already gone
            log.debug("terminating an expired connection", exc_info=True)

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        try:
            await self.pool.release(self.conn)
        except Exception as release_error:
            if exc is None:
                if is_unavailable(release_error) or self.expired:
                    self.pool._failed()
                    raise unavailable(release_error) from release_error
                raise
            log.debug("releasing a connection after %r failed", exc, exc_info=True)
        if exc is None:
            self.pool._succeeded()
            return
        if isinstance(exc, Exception) and (self.expired or is_unavailable(exc)):
            self.pool._failed()
            if self.expired:
                raise Unavailable("unavailable.timeout", seconds=f"{self.pool.hold_timeout:g}",
                                  retry_after=2) from exc
            raise unavailable(exc) from exc


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT, guard_holds: bool = False,
) -> GuardedPool:
    """A pool whose connections, commands and waits are bounded by `command_timeout`; with
    `guard_holds` (the server) a connection held longer than that is cut too. Raises
    `Unavailable` when the database cannot be reached."""
    pool = GuardedPool(
        dsn, min_size=min_size, max_size=max_size, max_queries=50000,
        max_inactive_connection_lifetime=300.0, init=_init_connection, reset=_keep_session,
        loop=None, connection_class=asyncpg.Connection, record_class=asyncpg.Record,
        command_timeout=command_timeout, timeout=command_timeout,
        acquire_timeout=command_timeout,
        hold_timeout=command_timeout if guard_holds else None,
    )
    try:
        return await pool
    except Exception as exc:
        if is_unavailable(exc) or isinstance(exc, asyncpg.PostgresError):
            raise Unavailable("unavailable.database", reason=f"cannot connect to PostgreSQL: {exc}") from exc
        raise


def _ticket_from_row(r: asyncpg.Record) -> Ticket:
    return Ticket(
        id=TicketId(r["id"]),
        hall=HallId(r["hall"]),
        business_day=r["business_day"],
        number=TicketNumber(r["prefix"], r["seq"]),
        service=r["service"],
        issued_at=r["issued_at"],
        rank=r["rank"],
        channel=r["channel"],
        priority=r["priority"],
        priority_reason=r["priority_reason"],
        status=TicketStatus(r["status"]),
        window=r["window_no"],
        target_window=r["target_window"],
        calls=r["calls"],
        first_called_at=r["first_called_at"],
        last_called_at=r["last_called_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        misses=r["misses"],
        staff_id=StaffId(r["staff_id"]) if r["staff_id"] else None,
        note=r["note"],
        holder_secret=r["holder_secret"],
    )


def _ticket_args(t: Ticket) -> tuple[Any, ...]:
    return (
        t.id, t.hall, t.business_day, t.number.prefix, t.number.seq, t.service, t.issued_at,
        t.rank, t.channel, t.priority, t.priority_reason, t.status.value, t.window,
        t.target_window, t.calls, t.first_called_at, t.last_called_at, t.started_at,
        t.finished_at, t.misses, t.staff_id, t.note,
    )






def _window_args(hall: str, w: WindowState) -> tuple[Any, ...]:
    s = w.staff
    return (
        hall, w.number, w.status.value, s.id if s else None, s.name if s else None,
        s.photo_url if s else None, s.stand_in_for if s else None, w.pause_reason, w.current,
        w.since, w.normal_streak, w.message,
    )


def _window_from_row(r: asyncpg.Record) -> WindowState:
    staff = None
    if r["staff_id"]:
        staff = StaffOnDuty(
            StaffId(r["staff_id"]), r["staff_name"] or "", r["photo_url"],
            StaffId(r["stand_in_for"]) if r["stand_in_for"] else None,
        )
    return WindowState(
        number=r["number"],
        status=WindowStatus(r["status"]),
        staff=staff,
        pause_reason=r["pause_reason"],
        current=TicketId(r["current_ticket"]) if r["current_ticket"] else None,
        since=r["since"],
        normal_streak=r["normal_streak"],
        message=r["message"],
    )


async def ensure_halls(conn: asyncpg.Connection, halls: Iterable[Hall]) -> None:
    """Give every configured hall its row (the lock and the ledger head); idempotent."""
    rows = [(h.id, genesis_hash(h.id)) for h in halls]
    await conn.executemany(
        "INSERT INTO halls (id, head_hash) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", rows
    )


async def lock_halls(conn: asyncpg.Connection, halls: Sequence[str]) -> dict[str, HallHead]:
    """Lock the rows of these halls, in the order of their ids (two transactions locking the
    same halls never wait for each other in a circle), and read their ledger heads."""
    rows = await conn.fetch(
        "SELECT id, seq, head_hash, business_day FROM halls WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
        list(halls),
    )
    heads = {r["id"]: HallHead(r["id"], r["seq"], r["head_hash"], r["business_day"]) for r in rows}
    for hall in halls:
        if hall not in heads:
            raise Unavailable("unavailable.hall_row", hall=hall)
    return heads


async def read_head(conn: asyncpg.Connection, hall: str) -> HallHead | None:
    r = await conn.fetchrow("SELECT seq, head_hash, business_day FROM halls WHERE id = $1", hall)
    return HallHead(hall, r["seq"], r["head_hash"], r["business_day"]) if r else None


async def load_state(conn: asyncpg.Connection, hall: Hall, day: date) -> HallState:
    """The live state of one hall's business day: active tickets, windows, counters."""
    ticket_rows = await conn.fetch(
        "SELECT * FROM tickets WHERE hall = $1 AND business_day = $2 AND status = ANY($3::text[])",
        hall.id, day, _ACTIVE,
    )
    window_rows = await conn.fetch("SELECT * FROM windows WHERE hall = $1", hall.id)
    counter_rows = await conn.fetch(
        "SELECT service, last_seq FROM service_counters WHERE hall = $1 AND business_day = $2",
        hall.id, day,
    )
    state = HallState(hall, day)
    for r in ticket_rows:
        t = _ticket_from_row(r)
        state.tickets[t.id] = t
    for r in window_rows:
        if r["number"] in hall.windows:
            state.windows[r["number"]] = _window_from_row(r)
    # A window's current ticket may be from an earlier day (left open overnight): load it too.
    missing = [w.current for w in state.windows.values() if w.current and w.current not in state.tickets]
    if missing:
        for r in await conn.fetch("SELECT * FROM tickets WHERE id = ANY($1::text[])", missing):
            t = _ticket_from_row(r)
            state.tickets[t.id] = t
    state.counters = {r["service"]: r["last_seq"] for r in counter_rows}
    return state


async def refresh_state(conn: asyncpg.Connection, state: HallState, since: int) -> None:
    """Bring a cached state from hall seq `since` up to date with what other processes wrote."""
    hall = state.hall
    for r in await conn.fetch(
        "SELECT * FROM tickets WHERE hall = $1 AND changed_seq > $2", hall.id, since
    ):
        state.put_ticket(_ticket_from_row(r))
    for r in await conn.fetch(
        "SELECT * FROM windows WHERE hall = $1 AND changed_seq > $2", hall.id, since
    ):
        if r["number"] in hall.windows:
            state.windows[r["number"]] = _window_from_row(r)
    missing = [w.current for w in state.windows.values() if w.current and w.current not in state.tickets]
    if missing:
        for r in await conn.fetch("SELECT * FROM tickets WHERE id = ANY($1::text[])", missing):
            state.tickets[TicketId(r["id"])] = _ticket_from_row(r)
    counter_rows = await conn.fetch(
        "SELECT service, last_seq FROM service_counters WHERE hall = $1 AND business_day = $2",
        hall.id, state.day,
    )
    state.counters = {r["service"]: r["last_seq"] for r in counter_rows}


async def load_stale_tickets(conn: asyncpg.Connection, hall: str, before: date) -> list[Ticket]:
    rows = await conn.fetch(
        "SELECT * FROM tickets WHERE hall = $1 AND business_day < $2 AND status = ANY($3::text[])",
        hall, before, _ACTIVE,
    )
    return [_ticket_from_row(r) for r in rows]


# Everything a batch writes goes in one statement (one round trip): arrays of table row
# types, unnested. The tuples follow the tables' column order (see _ticket_args etc.): a
# migration that adds a column must add it there too.
_SAVE = """
WITH t AS (
    INSERT INTO tickets SELECT * FROM unnest($1::tickets[])
    ON CONFLICT (id) DO UPDATE SET service = EXCLUDED.service, rank = EXCLUDED.rank,
        status = EXCLUDED.status, window_no = EXCLUDED.window_no,
        target_window = EXCLUDED.target_window, calls = EXCLUDED.calls,
        first_called_at = EXCLUDED.first_called_at, last_called_at = EXCLUDED.last_called_at,
        started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
        misses = EXCLUDED.misses, staff_id = EXCLUDED.staff_id, note = EXCLUDED.note,
        changed_seq = EXCLUDED.changed_seq
), w AS (
    INSERT INTO windows SELECT * FROM unnest($2::windows[])
    ON CONFLICT (hall, number) DO UPDATE SET status = EXCLUDED.status,
        staff_id = EXCLUDED.staff_id, staff_name = EXCLUDED.staff_name,
        photo_url = EXCLUDED.photo_url, stand_in_for = EXCLUDED.stand_in_for,
        pause_reason = EXCLUDED.pause_reason, current_ticket = EXCLUDED.current_ticket,
        since = EXCLUDED.since, normal_streak = EXCLUDED.normal_streak, message = EXCLUDED.message,
        changed_seq = EXCLUDED.changed_seq
), c AS (
    INSERT INTO service_counters SELECT * FROM unnest($3::service_counters[])
    ON CONFLICT (hall, business_day, service) DO UPDATE SET last_seq = EXCLUDED.last_seq
), l AS (
    INSERT INTO ledger SELECT * FROM unnest($4::ledger[])
), i AS (
    INSERT INTO idempotency SELECT * FROM unnest($5::idempotency[])
    ON CONFLICT (hall, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
        status = EXCLUDED.status, body = EXCLUDED.body, created_at = EXCLUDED.created_at
        WHERE idempotency.created_at < $10
    RETURNING key
), h AS (
    UPDATE halls SET seq = u.seq, head_hash = u.head_hash, business_day = u.business_day
    FROM unnest($6::text[], $7::bigint[], $8::bytea[], $9::date[]) AS u(id, seq, head_hash, business_day)
    WHERE halls.id = u.id
), v AS (""" + stats.visits_upsert(11) + """
)
SELECT count(*) FROM i
"""


async def save_halls(
    conn: asyncpg.Connection,
    parts: Sequence[HallSave],
    now: datetime,
    keys_expire_before: datetime,
    tz: ZoneInfo,
    day_starts: day_time,
) -> bool:
    """Write what changed in these halls, their new ledger rows and their new chain heads, in
    the caller's transaction: one statement however many halls (each keeps its own head).

    False when an idempotency key turned out to be taken (a retry raced its original): the
    caller rolls back and runs the batch again, looking the keys up first.

    The performance-review projection of the rows (adapters/stats.py) goes in the same
    statement; `tz` and `day_starts` give a ticket its business day."""
    parts = [p for p in parts if p.changes()]
    if not parts:
        return True
    all_rows = [r for p in parts for r in p.rows]
    projection = review.fold_rows(all_rows, tz, day_starts)
    tickets = []
    windows = []
    counters = []
    idempotent = []
    for p in parts:
        state, seq, hall = p.state, p.head.seq, p.state.hall.id
        for t in state.dirty_tickets:
            ticket = state.tickets[t]
            tickets.append((*_ticket_args(ticket), seq, ticket.holder_secret))
        windows.extend((*_window_args(hall, state.windows[n]), seq) for n in state.dirty_windows)
        counters.extend((hall, state.day, s, state.counters[s]) for s in state.dirty_counters)
        idempotent.extend((hall, key, fp, status, body, now) for key, fp, status, body in p.idempotent)
    stored = await conn.fetchval(
        _SAVE,
        tickets,
        windows,
        counters,
        [
            (
                r.hall, r.seq, r.at, r.kind, dict(r.actor), r.ticket_id, r.ticket_number,
                r.window, dict(r.payload), dict(r.public), r.prev_hash, r.hash,
            )
            for r in all_rows
        ],
        idempotent,
        [p.state.hall.id for p in parts], [p.head.seq for p in parts],
        [p.head.head_hash for p in parts], [p.state.day for p in parts],
        keys_expire_before,
        stats.visit_records(projection.visits.values()),
    )
    if projection.follow_ups or projection.window_rows:
        await stats.project_rest(conn, projection, tz, day_starts)
    return stored == len(idempotent)


async def idempotent_results(
    conn: asyncpg.Connection, hall: str, keys: Sequence[str], since: datetime
) -> dict[str, tuple[str, int, Any]]:
    """Stored answers to these keys, if given after `since` (older keys are free again)."""
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT key, fingerprint, status, body FROM idempotency"
        " WHERE hall = $1 AND key = ANY($2::text[]) AND created_at >= $3",
        hall, list(keys), since,
    )
    return {r["key"]: (r["fingerprint"], r["status"], r["body"]) for r in rows}


def _ledger_from_row(r: asyncpg.Record) -> LedgerRow:
    return LedgerRow(
        hall=r["hall"], seq=r["seq"], at=r["at"], kind=r["kind"], actor=r["actor"],
        ticket_id=r["ticket_id"], ticket_number=r["ticket_number"], window=r["window_no"],
        payload=r["payload"], public=r["public"], prev_hash=bytes(r["prev_hash"]),
        hash=bytes(r["hash"]),
    )


async def ledger_rows(
    conn: asyncpg.Connection, hall: str, after: int = 0, limit: int | None = None
) -> list[LedgerRow]:
    rows = await conn.fetch(
        "SELECT * FROM ledger WHERE hall = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        hall, after, limit,
    )
    return [_ledger_from_row(r) for r in rows]


async def iter_ledger(conn: asyncpg.Connection, hall: str, batch: int = 5000):
    after = 0
    while True:
        rows = await ledger_rows(conn, hall, after, batch)
        if not rows:
            return
        for r in rows:
            yield r
        after = rows[-1].seq


async def recent_calls(conn: asyncpg.Connection, hall: str, since: datetime, limit: int = 10) -> list[dict]:
    """The latest calls of the day, newest first, one per ticket (a recall moves it up)."""
    rows = await conn.fetch(
        "SELECT public FROM ledger WHERE hall = $1 AND kind IN ('ticket_called', 'ticket_recalled')"
        " AND at >= $2 ORDER BY seq DESC LIMIT $3",
        hall, since, limit * 4,
    )
    calls: list[dict] = []
    seen: set[str] = set()
    for r in rows:
        event = r["public"]
        ticket = event.get("ticket") or {}
        number = ticket.get("number")
        if not number or number in seen:
            continue
        seen.add(number)
        calls.append({
            "number": number,
            "service": ticket.get("service"),
            "window": ticket.get("window"),
            "calls": ticket.get("calls"),
            "at": event.get("at"),
        })
        if len(calls) == limit:
            break
    return calls


async def ticket_by_id(conn: asyncpg.Connection, ticket_id: str) -> Ticket | None:
    r = await conn.fetchrow("SELECT * FROM tickets WHERE id = $1", ticket_id)
    return _ticket_from_row(r) if r else None


async def ticket_by_holder_secret(conn: asyncpg.Connection, secret: str) -> Ticket | None:
    """The ticket whose holder has `secret` (an exact match on a unique index)."""
    r = await conn.fetchrow("SELECT * FROM tickets WHERE holder_secret = $1", secret)
    return _ticket_from_row(r) if r else None


async def ticket_by_number(
    conn: asyncpg.Connection, hall: str, day: date, number: TicketNumber
) -> Ticket | None:
    r = await conn.fetchrow(
        "SELECT * FROM tickets WHERE hall = $1 AND business_day = $2 AND prefix = $3 AND seq = $4",
        hall, day, number.prefix, number.seq,
    )
    return _ticket_from_row(r) if r else None


async def notices(conn: asyncpg.Connection, hall: str) -> tuple[int, list[Notice]]:
    """The hall's notices and their version (0 before any was posted)."""
    row = await conn.fetchrow("SELECT notices, notices_version FROM halls WHERE id = $1", hall)
    if row is None:
        return 0, []
    return row["notices_version"], [notice_from_stored(v) for v in row["notices"] or []]


async def replace_notices(
    conn: asyncpg.Connection, hall: str, notices: list[Notice], expected: int | None,
) -> int | None:
    """Replace the hall's notices if their version is still `expected` (None: whatever it is);
    the new version, or None when someone replaced them since."""
    return await conn.fetchval(
        "UPDATE halls SET notices = $2, notices_version = notices_version + 1"
        " WHERE id = $1 AND ($3::integer IS NULL OR notices_version = $3) RETURNING notices_version",
        hall, [n.stored() for n in notices], expected,
    )


def refused_data(exc: BaseException) -> bool:
    """Whether PostgreSQL refused what was written (bad data, a broken constraint) rather than
    the connection or the server failing: SQLSTATE classes 22 (data exception) and 23
    (integrity constraint violation). Such a failure belongs to one command, not the batch."""
    state = getattr(exc, "sqlstate", None)
    return isinstance(exc, asyncpg.PostgresError) and isinstance(state, str) and state[:2] in ("22", "23")


class PostgresHallStore:
    """The service's HallStore port (service/ports.py) on PostgreSQL: this module's queries."""

    failures = DatabaseError
    refused_data = staticmethod(refused_data)
    lock_halls = staticmethod(lock_halls)
    read_head = staticmethod(read_head)
    load_state = staticmethod(load_state)
    refresh_state = staticmethod(refresh_state)
    load_stale_tickets = staticmethod(load_stale_tickets)
    save_halls = staticmethod(save_halls)
    apply_writes = staticmethod(apply_writes)
    idempotent_results = staticmethod(idempotent_results)
    ledger_rows = staticmethod(ledger_rows)
    iter_ledger = staticmethod(iter_ledger)
    recent_calls = staticmethod(recent_calls)
    ticket_by_id = staticmethod(ticket_by_id)
    ticket_by_holder_secret = staticmethod(ticket_by_holder_secret)
    ticket_by_number = staticmethod(ticket_by_number)
    notices = staticmethod(notices)
    replace_notices = staticmethod(replace_notices)
    device_statuses = staticmethod(device_statuses)
