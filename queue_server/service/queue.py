"""Use cases of a hall: lock the hall → apply domain commands → save → commit → announce.

Commands for one hall are queued per process and applied in small batches: one transaction
takes the hall's row lock, applies each command to the pure domain state in order, writes
what changed and the ledger rows, and commits once. Across processes the row lock
serialises the batches, so a hall's state and its ledger are always a single sequence.
A refused command changes nothing (the domain validates before it mutates) and is simply
not part of what the batch writes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..config import Config
from ..domain import clock as hall_clock
from ..domain.errors import Forbidden, InvalidInput, NotFound, QueueError, Refused, Unavailable
from ..domain.hall import HallState
from ..domain.layout import Hall
from ..domain.ledger import LedgerRow, canonical_json
from ..domain.model import (
    SYSTEM,
    Actor,
    Event,
    StaffId,
    StaffOnDuty,
    Ticket,
    TicketNumber,
    TicketStatus,
)
from ..domain.text import clean_text
from . import views
from .lifetimes import cancel_and_wait
from .ports import Announcer, Connection, Database, HallHead, HallStore
from .principal import Principal
from .writes import NoticesUpdate, PrintJobInsert, Write

log = logging.getLogger(__name__)

MAX_BATCH = 64
IDEMPOTENCY_TTL = timedelta(hours=24)  # a retry comes within seconds; a day is generous


class NullAnnouncer:
    async def announce(self, hall: str, events: list[dict[str, Any]]) -> None:
        return None


@dataclass
class Outcome:
    """What a command answers: HTTP status and body; events are already applied to the state."""

    status: int
    body: dict[str, Any]
    events: list[tuple[Event, Ticket | None]] = field(default_factory=list)
    # Extra writes that belong to the same transaction (e.g. the hall's notices).
    writes: list[Write] = field(default_factory=list)


Apply = Callable[[HallState, datetime], Outcome]


# Reads a command needs from the store, under the hall's lock, before it applies (e.g. a
# finished ticket and its rating); it may refuse by raising a QueueError.
Prepare = Callable[[Connection, datetime], Awaitable[None]]


@dataclass
class _Pending:
    apply: Apply
    actor: Actor
    key: str | None
    fingerprint: str
    future: asyncio.Future[tuple[int, dict[str, Any]]]
    prepare: Prepare | None = None


class _KeyTaken(Exception):
    """An idempotency key of the batch was already stored: roll back and look the keys up."""


class QueueService:
    def __init__(
        self,
        config: Config,
        pool: Database,
        store: HallStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        announcer: Announcer | None = None,
        ignore_hours: bool = False,
    ) -> None:
        self.config = config
        self.pool = pool
        self.store = store
        self.clock = clock
        self.announcer: Announcer = announcer or NullAnnouncer()
        self.ignore_hours = ignore_hours
        self.tz = config.timezone
        self._queues: dict[str, deque[_Pending]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._cache: dict[str, tuple[int, date, HallState]] = {}
        self._closed = False

    async def close(self) -> None:
        """Stop the per-hall workers and wait for them, before the pool they use closes.

        A batch in flight is rolled back and its commands answer Unavailable, as do the
        commands still queued; commands that come after are refused the same way."""
        self._closed = True
        while self._workers:
            _, worker = self._workers.popitem()
            await cancel_and_wait(worker)
        for queue in self._queues.values():
            _fail(list(queue), Unavailable("the server is stopping; retry"))
            queue.clear()

    # ---- time and halls -------------------------------------------------------------

    def today(self, now: datetime | None = None) -> date:
        return hall_clock.business_day(now or self.clock(), self.tz, self.config.business_day_starts)

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, self.config.business_day_starts, self.tz)

    def hall(self, hall_id: str) -> Hall:
        try:
            return self.config.halls[hall_id]
        except KeyError:
            known = ", ".join(self.config.halls)
            raise NotFound(f"no hall {hall_id!r} (halls: {known})") from None

    # ---- the per-hall command pipeline ----------------------------------------------

    async def execute(
        self, hall_id: str, apply: Apply, actor: Actor, *, key: str | None = None, fingerprint: str = "",
        prepare: Prepare | None = None,
    ) -> tuple[int, dict[str, Any]]:
        self.hall(hall_id)
        if self._closed:
            raise Unavailable("the server is stopping; retry")
        loop = asyncio.get_running_loop()
        if key is not None:
            # A key is the client's own: two kiosks may both count 1, 2, 3 … without colliding.
            key = f"{actor.kind}:{actor.id}|{key}"
        pending = _Pending(apply, actor, key, fingerprint, loop.create_future(), prepare)
        self._queues.setdefault(hall_id, deque()).append(pending)
        worker = self._workers.get(hall_id)
        if worker is None or worker.done():
            self._workers[hall_id] = asyncio.create_task(self._drain(hall_id), name=f"hall-{hall_id}")
        return await pending.future

    async def _drain(self, hall_id: str) -> None:
        queue = self._queues[hall_id]
        while queue:
            batch = [queue.popleft() for _ in range(min(MAX_BATCH, len(queue)))]
            await self._settle(hall_id, batch)

    async def _settle(self, hall_id: str, batch: list[_Pending]) -> None:
        """Run a batch and answer each of its commands.

        A batch never fails a command that would have succeeded alone: when the database refuses
        what the batch wrote (not a lost connection: the data of one command), the halves run
        apart, down to the one command at fault, which alone gets the error."""
        try:
            try:
                announcements = await self._run_batch(hall_id, batch, look_up_keys=False)
            except _KeyTaken:
                # A retry met its original: run the batch again, answering it from the store.
                self._cache.pop(hall_id, None)
                announcements = await self._run_batch(hall_id, batch, look_up_keys=True)
        except QueueError as exc:
            self._cache.pop(hall_id, None)
            _fail(batch, exc)
            return
        except self.store.failures as exc:
            self._cache.pop(hall_id, None)
            if self.store.refused_data(exc):
                if len(batch) > 1:
                    middle = len(batch) // 2
                    await self._settle(hall_id, batch[:middle])
                    await self._settle(hall_id, batch[middle:])
                    return
                log.warning("hall %s: the database refused a command's data: %s", hall_id, exc)
                _fail(batch, InvalidInput(
                    f"the database refused this request's data: {exc} (数据库拒绝了请求中的内容)"))
                return
            log.warning("hall %s: batch of %d failed: %s", hall_id, len(batch), exc)
            _fail(batch, Unavailable(f"the database did not accept the change: {exc}", retry_after=1))
            return
        except Exception as exc:  # a bug: isolate the command at fault, keep serving the hall
            self._cache.pop(hall_id, None)
            if len(batch) > 1:
                middle = len(batch) // 2
                await self._settle(hall_id, batch[:middle])
                await self._settle(hall_id, batch[middle:])
                return
            log.exception("hall %s: a command failed", hall_id)
            _fail(batch, exc)
            return
        except BaseException:
            self._cache.pop(hall_id, None)
            _fail(batch, Unavailable("the server is stopping; retry"))
            raise
        if announcements:
            try:
                await self.announcer.announce(hall_id, announcements)
            except Exception:  # screens resynchronise from the ledger; the commit stands
                log.exception("hall %s: announcing %d events failed", hall_id, len(announcements))

    async def _run_batch(
        self, hall_id: str, batch: list[_Pending], *, look_up_keys: bool
    ) -> list[dict[str, Any]]:
        """One transaction for a batch of one hall's commands.

        Idempotency keys are not looked up first (a round trip each batch for what is almost
        never there): the save stores them and reports a key already taken, and then the
        batch is rolled back and run again with `look_up_keys`."""
        hall = self.config.halls[hall_id]
        results: list[tuple[_Pending, tuple[int, dict[str, Any]] | QueueError]] = []
        rows: list[LedgerRow] = []
        idem_rows: list[tuple[str, str, int, Any]] = []
        writes: list[Write] = []
        async with self.pool.acquire() as conn, conn.transaction():
            now = self.clock()
            day = self.today(now)
            head = await self.store.lock_hall(conn, hall_id)
            state = await self._state(conn, hall, head, day)
            state.dirty_tickets.clear()
            state.dirty_windows.clear()
            state.dirty_counters.clear()
            if head.business_day is not None and head.business_day < day:
                await self._roll_over(conn, state, head, day, now, rows)
            keys = [p.key for p in batch if p.key]
            stored = (
                await self.store.idempotent_results(conn, hall_id, keys, now - IDEMPOTENCY_TTL)
                if look_up_keys else {}
            )
            fresh: dict[str, tuple[str, tuple[int, dict[str, Any]] | QueueError]] = {}
            for p in batch:
                if p.key:
                    seen = stored.get(p.key)
                    if seen is not None:
                        results.append((p, self._replay(p, seen[0], (seen[1], seen[2]))))
                        continue
                    if p.key in fresh:
                        fp, res = fresh[p.key]
                        results.append((p, self._replay(p, fp, res)))
                        continue
                try:
                    if p.prepare is not None:
                        await p.prepare(conn, now)
                    outcome = p.apply(state, now)
                except QueueError as exc:
                    if p.key and not look_up_keys:
                        raise _KeyTaken() from exc  # a refusal may be a retry of a success
                    results.append((p, exc))
                    if p.key:
                        fresh[p.key] = (p.fingerprint, exc)
                    continue
                writes.extend(outcome.writes)
                for event, ticket in outcome.events:
                    rows.append(self._ledger_row(state, head, now, p.actor, event, ticket))
                res = (outcome.status, outcome.body)
                if p.key:
                    fresh[p.key] = (p.fingerprint, res)
                    idem_rows.append((p.key, p.fingerprint, outcome.status, outcome.body))
                results.append((p, res))
            if not await self.store.save_state(conn, state, head, rows, idem_rows, now, now - IDEMPOTENCY_TTL):
                raise _KeyTaken()
            if writes:  # after: they may refer to what save_state wrote
                await self.store.apply_writes(conn, writes)
        self._cache[hall_id] = (head.seq, day, state)
        for p, res in results:
            if p.future.done():
                continue
            if isinstance(res, QueueError):
                p.future.set_exception(res)
            else:
                p.future.set_result(res)
        return [dict(r.public) for r in rows]

    async def _state(self, conn: Connection, hall: Hall, head: HallHead, day: date) -> HallState:
        """The hall's live state: this process's copy when current, brought up to date with
        what other processes changed since, or read whole from the store."""
        cached = self._cache.get(hall.id)
        if cached is not None and cached[1] == day == head.business_day and cached[0] <= head.seq:
            state = cached[2]
            if cached[0] < head.seq:
                await self.store.refresh_state(conn, state, cached[0])
            return state
        return await self.store.load_state(conn, hall, day)

    @staticmethod
    def _replay(p: _Pending, fingerprint: str, res: tuple[int, dict[str, Any]] | QueueError) -> Any:
        if fingerprint != p.fingerprint:
            return InvalidInput(
                "this Idempotency-Key was already used for a different request",
                field="Idempotency-Key",
            )
        return res

    async def _roll_over(
        self, conn: Connection, state: HallState, head: HallHead, day: date,
        now: datetime, rows: list[LedgerRow],
    ) -> None:
        """A new business day: close yesterday's unserved tickets and any window left open."""
        stale = await self.store.load_stale_tickets(conn, state.hall.id, day)
        for t in stale:
            state.tickets[t.id] = t
        for event in state.close_tickets(stale):
            rows.append(self._ledger_row(state, head, now, SYSTEM, event, state.tickets.get(event.ticket)))
        for ws in list(state.windows.values()):
            if ws.status.value != "closed":
                for event in state.close_window(ws.number, now):
                    rows.append(self._ledger_row(state, head, now, SYSTEM, event, None))

    def _ledger_row(
        self, state: HallState, head: HallHead, now: datetime, actor: Actor,
        event: Event, ticket: Ticket | None,
    ) -> LedgerRow:
        head.seq += 1
        services: list[str] = []
        if ticket is not None:
            services.append(ticket.service)
            origin = event.payload.get("from_service")
            if origin and origin not in services:
                services.append(origin)
        public = views.public_event(
            state, seq=head.seq, at=now, tz=self.tz, kind=event.kind, ticket=ticket,
            window=event.window, services=services, payload=event.payload,
        )
        row = LedgerRow(
            hall=state.hall.id, seq=head.seq, at=now, kind=event.kind, actor=actor.as_json(),
            ticket_id=ticket.id if ticket else None,
            ticket_number=ticket.number_text if ticket else None,
            window=event.window, payload=event.payload, public=public, prev_hash=head.head_hash,
        )
        row = LedgerRow(**{**row.__dict__, "hash": row.computed_hash()})
        head.head_hash = row.hash
        return row

    # ---- commands -------------------------------------------------------------------

    async def issue(
        self, hall_id: str, principal: Principal, *, service: str, priority: str | None,
        priority_reason: str | None, channel: str, key: str | None,
        print_kiosk: str | None = None,
        prepare: Prepare | None = None,
        also: Callable[[Ticket, datetime], list[Write]] | None = None,
        event_payload: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Issue a ticket; with `print_kiosk`, its print job is created in the same transaction.

        `prepare` reads and checks under the hall's lock (e.g. an appointment being checked
        in), `also` adds writes of the same transaction, `event_payload` adds to the event."""
        hall = self.hall(hall_id)
        base = self.config.public_url

        def apply(state: HallState, now: datetime) -> Outcome:
            if not self.ignore_hours:
                refusal = hall_clock.issuing_refusal(now, self.tz, hall.hours)
                if refusal:
                    raise Refused(refusal, hours=hall.hours.describe())
            ticket, events = state.issue(
                service, now, channel=channel, priority=priority, priority_reason=priority_reason
            )
            body = views.ticket_status(state, ticket, hall, self.tz, base, holder=True)
            writes: list[Write] = []
            if print_kiosk is not None:
                job_id = new_job_id()
                writes.append(PrintJobInsert(
                    job_id, hall_id, print_kiosk, ticket.id, views.print_content(body), now))
                body["print_job"] = {"id": job_id, "status": "pending"}
            if also is not None:
                writes.extend(also(ticket, now))
            if event_payload:
                for e in events:
                    e.payload.update(event_payload)
            return Outcome(201, body, [(e, ticket) for e in events], writes=writes)

        fp = _fingerprint(principal, "issue", service, priority, priority_reason, channel, print_kiosk,
                          canonical_json(event_payload or {}))
        return await self.execute(hall_id, apply, principal.actor, key=key, fingerprint=fp, prepare=prepare)

    async def window_action(
        self, hall_id: str, window: int, action: str, principal: Principal, body: dict[str, Any],
        key: str | None,
    ) -> tuple[int, dict[str, Any]]:
        hall = self.hall(hall_id)
        if window not in hall.windows:
            known = ", ".join(str(n) for n in hall.windows)
            raise NotFound(f"hall {hall_id} has no window {window} (windows: {known})")
        handler = _WINDOW_ACTIONS.get(action)
        if handler is None:
            raise NotFound(f"unknown window action {action!r} (actions: {', '.join(_WINDOW_ACTIONS)})")
        args = handler.parse(body)

        def apply(state: HallState, now: datetime) -> Outcome:
            if principal.role == "staff" and action != "open":
                # A closed window answers with its state (409: open it first); an open one
                # belongs to the clerk on duty there.
                on_duty = state.windows[window].staff
                if on_duty is not None and on_duty.id != principal.id:
                    raise Forbidden(
                        f"staff {principal.id} is not signed in to window {window} "
                        f"(您未在 {window} 号窗口签到)"
                    )
            return handler.run(self, state, now, window, principal, args)

        fp = _fingerprint(principal, action, window, canonical_json(args))
        return await self.execute(hall_id, apply, principal.actor, key=key, fingerprint=fp)

    async def ticket_action(
        self, hall_id: str, number: str, action: str, principal: Principal | None,
        body: dict[str, Any], key: str | None, *, ticket_id: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """restore / cancel a ticket by its number (staff), or cancel by its id (its citizen)."""
        hall = self.hall(hall_id)
        parsed = TicketNumber.parse(number) if ticket_id is None else None
        reason = _optional_text(body, "reason")

        def apply(state: HallState, now: datetime) -> Outcome:
            if ticket_id is not None:
                ticket = next((t for t in state.tickets.values() if t.id == ticket_id), None)
                if ticket is None:
                    raise Refused("this ticket can no longer be cancelled", state="final")
            else:
                assert parsed is not None
                ticket = state.ticket_by_number(parsed)
            if action == "restore":
                ticket, events = state.restore(ticket.number_text, now)
            else:
                events = state.cancel(ticket, now, reason)
            # The citizen (who proved the secret) gets their own view back; staff never see it.
            view = views.ticket_status(state, ticket, hall, self.tz, self.config.public_url,
                                       holder=ticket_id is not None)
            return Outcome(200, {"ticket": view},
                           [(e, ticket) for e in events])

        actor = principal.actor if principal else Actor("citizen", ticket_id or "?", "", "citizen")
        fp = _fingerprint(principal, action, number, ticket_id, reason)
        try:
            return await self.execute(hall_id, apply, actor, key=key, fingerprint=fp)
        except NotFound:
            if parsed is not None:
                await self._explain_final_ticket(hall_id, parsed)
            raise

    async def _explain_final_ticket(self, hall_id: str, number: TicketNumber) -> None:
        async with self.pool.acquire() as conn:
            t = await self.store.ticket_by_number(conn, hall_id, self.today(), number)
        if t is not None:
            raise Refused(f"ticket {t.number_text} is {t.status.value}", state=t.status.value)

    async def post_notices(self, hall_id: str, principal: Principal, notices: list[str]) -> tuple[int, dict[str, Any]]:
        """Hall notices on every screen; the text is checked by the caller against the taboo list."""

        def apply(state: HallState, now: datetime) -> Outcome:
            event = Event("notice_posted", None, None, {"notices": notices})
            return Outcome(200, {"notices": notices}, [(event, None)],
                           writes=[NoticesUpdate(hall_id, notices)])

        return await self.execute(hall_id, apply, principal.actor)

    async def record(self, hall_id: str, actor: Actor, kind: str, payload: dict[str, Any]) -> None:
        """Log a fact that changes no queue state (e.g. staff signed in) in the hall's ledger."""

        def apply(state: HallState, now: datetime) -> Outcome:
            return Outcome(200, {}, [(Event(kind, None, None, payload), None)])

        await self.execute(hall_id, apply, actor)

    # ---- reads ----------------------------------------------------------------------

    async def snapshot(self, hall_id: str) -> dict[str, Any]:
        hall = self.hall(hall_id)
        now = self.clock()
        day = self.today(now)
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            head = await self.store.read_head(conn, hall_id)
            state = await self.store.load_state(conn, hall, day)
            calls = await self.store.recent_calls(conn, hall_id, self.day_start(day))
            notices = await self.store.notices(conn, hall_id)
            devices = await self.store.device_statuses(conn, hall_id)
        return views.snapshot(
            state, seq=head.seq if head else 0, at=now, tz=self.tz, recent_calls=calls,
            notices=notices, civility=self.config.civility, printers=devices,
        )

    async def window_queue(self, hall_id: str, window: int) -> dict[str, Any]:
        """The clerk's view: the window's waiting tickets in call order, missed and suspended."""
        hall = self.hall(hall_id)
        cfg = hall.windows.get(window)
        if cfg is None:
            raise NotFound(f"hall {hall_id} has no window {window}")
        now = self.clock()
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            state = await self.store.load_state(conn, hall, self.today(now))
        ws = state.windows[window]
        from ..domain import dispatch

        waiting = sorted(
            (t for t in state.tickets.values() if dispatch.eligible(t, cfg)),
            key=lambda t: dispatch.order_key(t, hall, cfg, ws, now),
        )

        def item(t: Ticket) -> dict[str, Any]:
            cls = hall.priority_classes.get(t.priority) if t.priority else None
            return {
                "number": t.number_text, "service": t.service, "status": t.status.value,
                "priority": t.priority, "priority_name": cls.name if cls else None,
                "appointment": t.priority == "appointment",
                "issued_at": views.iso(t.issued_at, self.tz),
                "waited_minutes": int((now - t.issued_at).total_seconds() // 60),
                "note": t.note, "misses": t.misses,
            }

        def of(status: TicketStatus) -> list[dict[str, Any]]:
            found = [t for t in state.tickets.values() if t.status is status and t.service in cfg.services]
            return [item(t) for t in sorted(found, key=lambda t: t.rank)]

        current = state.tickets.get(ws.current) if ws.current else None
        recall_at = None
        if current is not None and current.status is TicketStatus.CALLED and current.last_called_at:
            if current.calls < hall.call_policy.max_calls:
                recall_at = views.iso(
                    current.last_called_at + timedelta(seconds=hall.call_policy.recall_min_seconds), self.tz)
        return {
            "window": views.window_view(hall, state, ws),
            "current": None if current is None else {
                **item(current), "calls": current.calls,
                "called_at": views.iso(current.first_called_at, self.tz),
                "last_called_at": views.iso(current.last_called_at, self.tz),
                "started_at": views.iso(current.started_at, self.tz),
            },
            "recall_available_at": recall_at,
            "max_calls": hall.call_policy.max_calls,
            "waiting": [item(t) for t in waiting],
            "missed": of(TicketStatus.MISSED),
            "suspended": of(TicketStatus.SUSPENDED),
        }

    async def latest_seq(self, hall_id: str) -> int:
        async with self.pool.acquire() as conn:
            head = await self.store.read_head(conn, hall_id)
        return head.seq if head else 0

    async def events_after(self, hall_id: str, after: int, limit: int) -> list[dict[str, Any]]:
        async with self.pool.acquire() as conn:
            rows = await self.store.ledger_rows(conn, hall_id, after, limit)
        return [dict(r.public) for r in rows]

    async def ledger(self, hall_id: str, after: int, limit: int, *, personal: bool = False) -> list[dict[str, Any]]:
        """Ledger rows as staff read them; free text that may carry a citizen's personal data
        (views.PERSONAL_FIELDS) only with `personal` (managers), else masked."""
        self.hall(hall_id)
        async with self.pool.acquire() as conn:
            rows = await self.store.ledger_rows(conn, hall_id, after, limit)
        return [
            {
                "seq": r.seq, "at": views.iso(r.at, self.tz), "kind": r.kind, "actor": dict(r.actor),
                "ticket_id": r.ticket_id, "ticket": r.ticket_number, "window": r.window,
                "payload": dict(r.payload) if personal else views.without_personal(r.payload),
                "hash": r.hash.hex(), "prev_hash": r.prev_hash.hex(),
            }
            for r in rows
        ]

    async def ticket_status(self, ticket_id: str, *, holder: bool = False) -> dict[str, Any]:
        """A ticket's status by its id (staff and devices know it); `holder` adds the holder's
        secret and link, for printing the ticket — never answer a request with that."""
        async with self.pool.acquire() as conn:
            t = await self.store.ticket_by_id(conn, ticket_id)
        return await self._status(t, holder=holder)

    async def holder_ticket(self, secret: str) -> Ticket:
        """The ticket whose holder has `secret`: the only key for acting as the citizen."""
        async with self.pool.acquire() as conn:
            t = await self.store.ticket_by_holder_secret(conn, secret)
        if t is None or t.hall not in self.config.halls:
            raise NotFound("no such ticket (没有这张号票)")
        return t

    async def holder_status(self, secret: str) -> dict[str, Any]:
        """The holder's view of their ticket (phone page, QR code), found by the secret."""
        return await self._status(await self.holder_ticket(secret), holder=True)

    async def _status(self, t: Ticket | None, *, holder: bool) -> dict[str, Any]:
        if t is None or t.hall not in self.config.halls:
            raise NotFound("no such ticket (没有这张号票)")
        async with self.pool.acquire() as conn:
            hall = self.config.halls[t.hall]
            state = None
            if t.status is TicketStatus.WAITING:
                state = await self.store.load_state(conn, hall, t.business_day)
                t = state.tickets.get(t.id, t)
        return views.ticket_status(state, t, hall, self.tz, self.config.public_url, holder=holder)


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    for p in batch:
        if not p.future.done():
            p.future.set_exception(exc)


def new_job_id() -> str:
    return "pj_" + secrets.token_urlsafe(12)


def _fingerprint(principal: Principal | None, *parts: object) -> str:
    who = f"{principal.kind}:{principal.id}" if principal else "citizen"
    return hashlib.sha256(canonical_json([who, *[str(p) for p in parts]]).encode()).hexdigest()


def _optional_text(body: dict[str, Any], name: str) -> str | None:
    return clean_text(body.get(name), name)


def _required_text(body: dict[str, Any], name: str) -> str:
    value = clean_text(body.get(name), name, required=True)
    assert value is not None
    return value


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9999:
        raise InvalidInput(f"{name} must be a whole number from 0 to 9999, got {str(value)[:40]!r}",
                           field=name)
    return value


@dataclass(frozen=True)
class _WindowAction:
    parse: Callable[[dict[str, Any]], dict[str, Any]]
    run: Callable[[QueueService, HallState, datetime, int, Principal, dict[str, Any]], Outcome]


def _ticket_outcome(svc: QueueService, state: HallState, window: int, ticket: Ticket | None,
                    events: list[Event]) -> Outcome:
    body: dict[str, Any] = {
        "ticket": _staff_ticket_view(svc, state, ticket) if ticket else None,
        "window": views.window_view(state.hall, state, state.windows[window]),
    }
    return Outcome(200, body, [(e, ticket) for e in events])


def _window_outcome(state: HallState, window: int, events: list[Event]) -> Outcome:
    return Outcome(200, {"window": views.window_view(state.hall, state, state.windows[window])},
                   [(e, None) for e in events])


def _staff_ticket_view(svc: QueueService, state: HallState, t: Ticket) -> dict[str, Any]:
    view = views.ticket_status(state, t, state.hall, svc.tz, svc.config.public_url)
    view.pop("id", None)
    view.pop("status_url", None)
    return view


def _open(svc: QueueService, state: HallState, now: datetime, window: int, p: Principal,
          args: dict[str, Any]) -> Outcome:
    staff = StaffOnDuty(StaffId(p.id), p.name, p.photo_url,
                        StaffId(args["stand_in_for"]) if args.get("stand_in_for") else None)
    return _window_outcome(state, window, state.open_window(window, staff, now))


def _simple_ticket(method: str) -> Callable[..., Outcome]:
    def run(svc: QueueService, state: HallState, now: datetime, window: int, p: Principal,
            args: dict[str, Any]) -> Outcome:
        ticket, events = getattr(state, method)(window, now)
        return _ticket_outcome(svc, state, window, ticket, events)

    return run


def _call_next(svc: QueueService, state: HallState, now: datetime, window: int, p: Principal,
               args: dict[str, Any]) -> Outcome:
    ticket, events = state.call_next(window, now)
    return _ticket_outcome(svc, state, window, ticket, events)


_NO_ARGS: Callable[[dict[str, Any]], dict[str, Any]] = lambda body: {}  # noqa: E731

_WINDOW_ACTIONS: dict[str, _WindowAction] = {
    "open": _WindowAction(
        lambda b: {"stand_in_for": _optional_text(b, "stand_in_for")}, _open,
    ),
    "close": _WindowAction(
        _NO_ARGS, lambda s, st, now, w, p, a: _window_outcome(st, w, st.close_window(w, now)),
    ),
    "pause": _WindowAction(
        lambda b: {"reason": _required_text(b, "reason")},
        lambda s, st, now, w, p, a: _window_outcome(st, w, st.pause_window(w, a["reason"], now)),
    ),
    "resume": _WindowAction(
        _NO_ARGS, lambda s, st, now, w, p, a: _window_outcome(st, w, st.resume_window(w, now)),
    ),
    "call-next": _WindowAction(_NO_ARGS, _call_next),
    "call": _WindowAction(
        lambda b: {"number": str(TicketNumber.parse(_required_text(b, "number"))),
                   "reason": _required_text(b, "reason")},
        lambda s, st, now, w, p, a: _ticket_outcome(
            s, st, w, *st.call_number(w, a["number"], a["reason"], now)),
    ),
    "recall": _WindowAction(_NO_ARGS, _simple_ticket("recall")),
    "start": _WindowAction(_NO_ARGS, _simple_ticket("start")),
    "finish": _WindowAction(_NO_ARGS, _simple_ticket("finish")),
    "miss": _WindowAction(_NO_ARGS, _simple_ticket("miss")),
    "transfer": _WindowAction(
        lambda b: {"service": _optional_text(b, "service"), "window": _optional_int(b, "window"),
                   "reason": _required_text(b, "reason")},
        lambda s, st, now, w, p, a: _ticket_outcome(
            s, st, w, *st.transfer(w, now, reason=a["reason"], to_service=a["service"],
                                   to_window=a["window"])),
    ),
    "message": _WindowAction(
        lambda b: {"text": _optional_text(b, "text")},
        lambda s, st, now, w, p, a: _window_outcome(st, w, st.set_message(w, a["text"], now)),
    ),
    "suspend": _WindowAction(
        lambda b: {"reason": _required_text(b, "reason")},
        lambda s, st, now, w, p, a: _ticket_outcome(s, st, w, *st.suspend(w, now, a["reason"])),
    ),
}

WINDOW_ACTIONS = tuple(_WINDOW_ACTIONS)
