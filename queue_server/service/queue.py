"""Use cases of a hall: lock the hall → apply domain commands → save → commit → announce.

Commands for one hall are queued per process and applied in small batches: one transaction
takes the hall's row lock, applies each command to the pure domain state in order, writes
what changed and the ledger rows, and commits once. Across processes the row lock
serialises the batches, so a hall's state and its ledger are always a single sequence.
A refused command changes nothing (the domain validates before it mutates) and is simply
not part of what the batch writes.

A few lanes (LANES) run batches at once. Halls whose commands wait while every lane is busy
share the next transaction: each keeps its own row lock (the locks are taken in the order of
the hall ids, so two processes never wait on each other in a circle), its own state and its
own ledger chain; only the round trips and the commit are shared. A shared transaction that
fails is run again hall by hall, so one hall's fault never fails another's command.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..config import Config
from ..domain import clock as hall_clock
from ..domain.errors import InvalidInput, NotFound, QueueError, Refused, Unavailable
from ..domain.hall import HallState
from ..domain.layout import Hall
from ..domain.ledger import LedgerRow, canonical_json
from ..domain.model import (
    STATUS_ZH,
    SYSTEM,
    Actor,
    Event,
    Ticket,
    TicketNumber,
    TicketStatus,
)
from . import views
from .commands import CancelTicket, Command, IssueTicket, RestoreTicket
from .handlers import HANDLERS, Context, handle_window_command, new_job_id, window_actions
from .ledger_rows import ledger_row
from .lifetimes import cancel_and_wait
from .ports import Announcer, Connection, Database, HallHead, HallSave, HallStore
from .principal import Principal
from .results import Outcome, Result, from_stored, stored_kind
from .writes import Write

__all__ = ["Outcome", "QueueService", "Result", "new_job_id"]

log = logging.getLogger(__name__)

MAX_BATCH = 64  # commands of one hall in one batch
MAX_HALLS = 16  # halls in one batch
# Batches in flight at once, each on its own connection: while one waits for its commit, the
# next is being applied. Commands of halls that arrive while every lane is busy wait and then
# share one transaction (one commit) — under load, the batches of many halls merge.
LANES = 4
IDEMPOTENCY_TTL = timedelta(hours=24)  # a retry comes within seconds; a day is generous


class NullAnnouncer:
    async def announce(self, hall: str, events: list[dict[str, Any]]) -> None:
        return None


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
    future: asyncio.Future[Result]
    prepare: Prepare | None = None


class _KeyTaken(Exception):
    """A key the batch stored for a success was already taken (a retry raced its original):
    roll back and run the batch again, looking its keys up first."""


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
        lanes: int = LANES,
    ) -> None:
        self.config = config
        self.pool = pool
        self.store = store
        self.clock = clock
        self.announcer: Announcer = announcer or NullAnnouncer()
        self.ignore_hours = ignore_hours
        self.tz = config.timezone
        self._queues: dict[str, deque[_Pending]] = {}
        #: halls with commands waiting and in no lane's batch, oldest first (a dict as ordered set)
        self._ready: dict[str, None] = {}
        self._busy: set[str] = set()  # halls in a lane's batch now
        self._lanes: set[asyncio.Task[None]] = set()
        self.lanes = lanes
        self._cache: dict[str, tuple[int, date, HallState]] = {}
        self._closed = False
        self.batches = 0  # transactions run for batches of commands (tests count them)
        #: told each batch's size as it is taken from a hall's queue (the /metrics histogram)
        self.observe_batch: Callable[[float], None] | None = None
        #: Writes a finished visit adds to its finish's transaction (e.g. a survey's sampling).
        self.on_finish: list[Callable[[Ticket, datetime], list[Write]]] = []

    async def close(self) -> None:
        """Stop the per-hall workers and wait for them, before the pool they use closes.

        A batch in flight is rolled back and its commands answer Unavailable, as do the
        commands still queued; commands that come after are refused the same way."""
        self._closed = True
        while self._lanes:
            await cancel_and_wait(self._lanes.pop())
        for queue in self._queues.values():
            _fail(list(queue), Unavailable("unavailable.stopping"))
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
            raise NotFound("hall.unknown", hall=hall_id, known=known) from None

    # ---- the per-hall command pipeline ----------------------------------------------

    async def execute(
        self, hall_id: str, apply: Apply, actor: Actor, *, key: str | None = None, fingerprint: str = "",
        prepare: Prepare | None = None,
    ) -> Result:
        self.hall(hall_id)
        if self._closed:
            raise Unavailable("unavailable.stopping")
        loop = asyncio.get_running_loop()
        if key is not None:
            # A key is the client's own: two kiosks may both count 1, 2, 3 … without colliding.
            key = f"{actor.kind}:{actor.id}|{key}"
        pending = _Pending(apply, actor, key, fingerprint, loop.create_future(), prepare)
        queue = self._queues.get(hall_id)
        if queue is None:
            queue = self._queues[hall_id] = deque()
        queue.append(pending)
        if hall_id not in self._busy:
            self._ready[hall_id] = None
        if len(self._lanes) < self.lanes:
            self._lanes.add(asyncio.create_task(self._lane(), name="hall-batches"))
        return await pending.future

    async def _lane(self) -> None:
        """Run batches while halls have commands waiting that no other lane is running.

        A batch takes the waiting commands of up to MAX_HALLS halls (MAX_BATCH each) into one
        transaction; a hall is in one lane's batch at a time, so its commands stay in order."""
        try:
            await self._run_lane()
        finally:
            # In the same step as the last look at _ready: a command queued after it starts a lane.
            me = asyncio.current_task()
            if me is not None:
                self._lanes.discard(me)

    async def _run_lane(self) -> None:
        while self._ready:
            halls = []
            for hall_id in self._ready:
                halls.append(hall_id)
                if len(halls) == MAX_HALLS:
                    break
            groups: list[tuple[str, list[_Pending]]] = []
            for hall_id in halls:
                del self._ready[hall_id]
                self._busy.add(hall_id)
                queue = self._queues[hall_id]
                groups.append((hall_id, [queue.popleft() for _ in range(min(MAX_BATCH, len(queue)))]))
            if self.observe_batch is not None:
                self.observe_batch(sum(len(batch) for _, batch in groups))
            try:
                await self._settle_halls(groups)
            finally:
                for hall_id, _ in groups:
                    self._busy.discard(hall_id)
                    if self._queues[hall_id]:
                        self._ready[hall_id] = None

    async def _settle_halls(self, groups: list[tuple[str, list[_Pending]]]) -> None:
        """Run several halls' batches in one transaction, and answer each command.

        If that transaction fails, whatever the cause, each hall's batch runs again on its own
        (`_settle`), so one hall's fault never fails another hall's command."""
        if len(groups) == 1:
            await self._settle(*groups[0])
            return
        try:
            announcements = await self._run_batch(groups, look_up_keys=False)
        except BaseException as exc:
            for hall_id, _ in groups:
                self._cache.pop(hall_id, None)
            if not isinstance(exc, Exception):
                for _, batch in groups:
                    _fail(batch, Unavailable("unavailable.stopping"))
                raise
            if not isinstance(exc, _KeyTaken):
                log.info("a batch of %d halls failed (%s); running each hall on its own", len(groups), exc)
            for hall_id, batch in groups:
                await self._settle(hall_id, batch)
            return
        await self._announce(announcements)

    async def _settle(self, hall_id: str, batch: list[_Pending]) -> None:
        """Run one hall's batch and answer each of its commands.

        A batch never fails a command that would have succeeded alone: when the database refuses
        what the batch wrote (not a lost connection: the data of one command), the halves run
        apart, down to the one command at fault, which alone gets the error."""
        groups = [(hall_id, batch)]
        try:
            try:
                announcements = await self._run_batch(groups, look_up_keys=False)
            except _KeyTaken:
                # A retry met its original: run the batch again, answering it from the store.
                self._cache.pop(hall_id, None)
                announcements = await self._run_batch(groups, look_up_keys=True)
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
                _fail(batch, InvalidInput("input.refused_by_database", reason=str(exc)))
                return
            log.warning("hall %s: batch of %d failed: %s", hall_id, len(batch), exc)
            _fail(batch, Unavailable("unavailable.not_committed", reason=str(exc), retry_after=1))
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
            _fail(batch, Unavailable("unavailable.stopping"))
            raise
        await self._announce(announcements)

    async def _announce(self, announcements: dict[str, list[dict[str, Any]]]) -> None:
        for hall_id, events in announcements.items():
            try:
                await self.announcer.announce(hall_id, events)
            except Exception:  # screens resynchronise from the ledger; the commit stands
                log.exception("hall %s: announcing %d events failed", hall_id, len(events))

    async def _run_batch(
        self, groups: list[tuple[str, list[_Pending]]], *, look_up_keys: bool
    ) -> dict[str, list[dict[str, Any]]]:
        """One transaction for batches of one or more halls' commands.

        Each hall keeps its own row lock (taken in the order of the hall ids), its own state and
        its own ledger chain; only the transaction, its round trips and its commit are shared.

        Idempotency keys are not looked up first (a round trip each batch for what is almost
        never there). A refused keyed command may be the retry of a success, so its key alone
        is looked up then, in this same transaction: a refusal costs one query, never a second
        run of the batch. Only when the save finds a key of a success already taken (a retry
        that raced its original and succeeded again) is the batch rolled back and run again
        with `look_up_keys`."""
        self.batches += 1
        results: list[tuple[_Pending, Result | QueueError]] = []
        parts: list[HallSave] = []
        writes: list[Write] = []
        async with self.pool.acquire() as conn, conn.transaction():
            now = self.clock()
            day = self.today(now)
            heads = await self.store.lock_halls(conn, sorted(hall_id for hall_id, _ in groups))
            for hall_id, batch in groups:
                parts.append(await self._apply_batch(
                    conn, hall_id, batch, heads[hall_id], now, day, look_up_keys, results, writes))
            if not await self.store.save_halls(conn, parts, now, now - IDEMPOTENCY_TTL,
                                               self.tz, self.config.business_day_starts):
                raise _KeyTaken()
            if writes:  # after: they may refer to what save_halls wrote
                await self.store.apply_writes(conn, writes)
        for part in parts:
            self._cache[part.state.hall.id] = (part.head.seq, day, part.state)
        for p, res in results:
            if p.future.done():
                continue
            if isinstance(res, QueueError):
                p.future.set_exception(res)
            else:
                p.future.set_result(res)
        return {part.state.hall.id: [dict(r.public) for r in part.rows] for part in parts if part.rows}

    async def _apply_batch(
        self, conn: Connection, hall_id: str, batch: list[_Pending], head: HallHead, now: datetime,
        day: date, look_up_keys: bool, results: list[tuple[_Pending, Result | QueueError]],
        writes: list[Write],
    ) -> HallSave:
        """Apply one hall's commands in order to its state, under its lock; what they write."""
        hall = self.config.halls[hall_id]
        rows: list[LedgerRow] = []
        idem_rows: list[tuple[str, str, int, Any]] = []
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
        fresh: dict[str, tuple[str, Result | QueueError]] = {}
        for p in batch:
            if p.key:
                seen = stored.get(p.key)
                if seen is not None:
                    results.append((p, self._replay(p, seen[0], from_stored(seen[1], seen[2]))))
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
                    # A refusal may be the retry of a success: answer from the store if so.
                    found = await self.store.idempotent_results(conn, hall_id, [p.key], now - IDEMPOTENCY_TTL)
                    seen = found.get(p.key)
                    if seen is not None:
                        stored[p.key] = seen
                        results.append((p, self._replay(p, seen[0], from_stored(seen[1], seen[2]))))
                        continue
                results.append((p, exc))
                if p.key:
                    fresh[p.key] = (p.fingerprint, exc)
                continue
            writes.extend(outcome.writes)
            for event, ticket in outcome.events:
                rows.append(self._ledger_row(state, head, now, p.actor, event, ticket))
            res = Result(outcome.created, outcome.body)
            if p.key:
                fresh[p.key] = (p.fingerprint, res)
                idem_rows.append((p.key, p.fingerprint, stored_kind(res), outcome.body))
            results.append((p, res))
        return HallSave(state, head, rows, idem_rows)

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
    def _replay(p: _Pending, fingerprint: str, res: Result | QueueError) -> Result | QueueError:
        if fingerprint != p.fingerprint:
            return InvalidInput("input.idempotency_key_reused", field="Idempotency-Key")
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
            ticket = state.tickets.get(event.ticket) if event.ticket is not None else None
            rows.append(self._ledger_row(state, head, now, SYSTEM, event, ticket))
        for ws in list(state.windows.values()):
            if ws.status.value != "closed":
                for event in state.close_window(ws.number, now):
                    rows.append(self._ledger_row(state, head, now, SYSTEM, event, None))

    def _ledger_row(
        self, state: HallState, head: HallHead, now: datetime, actor: Actor,
        event: Event, ticket: Ticket | None,
    ) -> LedgerRow:
        return ledger_row(state, head, now, self.tz, actor, event, ticket)

    # ---- commands -------------------------------------------------------------------

    def _context(self, principal: Principal | None) -> Context:
        return Context(principal, self.tz, self.config.public_url, self.ignore_hours)

    async def run(self, hall_id: str, cmd: Command, principal: Principal, *, key: str | None = None) -> Result:
        """Apply one command by its handler (service/handlers.py) in the hall's next batch."""
        hall = self.hall(hall_id)
        ctx = self._context(principal)
        assert not isinstance(cmd, IssueTicket | RestoreTicket | CancelTicket), "these have their own method"
        if cmd.window not in hall.windows:
            known = ", ".join(str(n) for n in hall.windows)
            raise NotFound("window.unknown", hall=hall_id, window=cmd.window, known=known)
        handler = handle_window_command

        def apply(state: HallState, now: datetime) -> Outcome:
            outcome = handler(state, now, cmd, ctx)
            for event, ticket in outcome.events if self.on_finish else ():
                if event.kind == "ticket_finished" and ticket is not None:
                    for more in self.on_finish:
                        outcome.writes.extend(more(ticket, now))
            return outcome

        return await self.execute(hall_id, apply, principal.actor, key=key, fingerprint=_command_fingerprint(principal, cmd))

    async def issue(
        self, hall_id: str, principal: Principal, *, service: str, priority: str | None,
        priority_reason: str | None, channel: str, key: str | None,
        print_kiosk: str | None = None,
        prepare: Prepare | None = None,
        also: Callable[[Ticket, datetime], list[Write]] | None = None,
        event_payload: dict[str, Any] | None = None,
    ) -> Result:
        """Issue a ticket; with `print_kiosk`, its print job is created in the same transaction.

        `prepare` reads and checks under the hall's lock (e.g. an appointment being checked
        in), `also` adds writes of the same transaction, `event_payload` adds to the event."""
        cmd = IssueTicket(service, channel, priority, priority_reason, print_kiosk)
        self.hall(hall_id)
        ctx = self._context(principal)

        def apply(state: HallState, now: datetime) -> Outcome:
            outcome = HANDLERS[IssueTicket](state, now, cmd, ctx)
            ticket = outcome.events[0][1]
            assert ticket is not None
            if also is not None:
                outcome.writes.extend(also(ticket, now))
            if event_payload:
                for e, _ in outcome.events:
                    e.payload.update(event_payload)
            return outcome

        fp = _fingerprint(principal, "issue", service, priority, priority_reason, channel, print_kiosk,
                          canonical_json(event_payload or {}))
        return await self.execute(hall_id, apply, principal.actor, key=key, fingerprint=fp, prepare=prepare)

    async def ticket_command(
        self, hall_id: str, cmd: RestoreTicket | CancelTicket, principal: Principal | None, key: str | None,
    ) -> Result:
        """restore / cancel a ticket by its number (staff), or cancel by its id (its citizen)."""
        self.hall(hall_id)
        ctx = self._context(principal)
        handler = HANDLERS[type(cmd)]
        number = cmd.number

        def apply(state: HallState, now: datetime) -> Outcome:
            return handler(state, now, cmd, ctx)

        ticket_id = cmd.ticket_id if isinstance(cmd, CancelTicket) else None
        actor = principal.actor if principal else Actor("citizen", ticket_id or "?", "", "citizen")
        try:
            return await self.execute(hall_id, apply, actor, key=key, fingerprint=_command_fingerprint(principal, cmd))
        except NotFound:
            if number is not None:
                await self._explain_final_ticket(hall_id, TicketNumber.parse(number))
            raise

    async def _explain_final_ticket(self, hall_id: str, number: TicketNumber) -> None:
        async with self.pool.acquire() as conn:
            t = await self.store.ticket_by_number(conn, hall_id, self.today(), number)
        if t is not None:
            raise Refused("ticket.final", ticket=t.number_text, state=t.status.value, state_zh=STATUS_ZH[t.status])

    async def record(self, hall_id: str, actor: Actor, kind: str, payload: dict[str, Any]) -> None:
        """Log a fact that changes no queue state (e.g. staff signed in) in the hall's ledger."""

        def apply(state: HallState, now: datetime) -> Outcome:
            return Outcome({}, [(Event(kind, None, None, payload), None)])

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
            _version, notices = await self.store.notices(conn, hall_id)
            devices = await self.store.device_statuses(conn, hall_id)
        return views.snapshot(
            state, seq=head.seq if head else 0, at=now, tz=self.tz, recent_calls=calls,
            notices=notices, civility=self.config.civility, printers=devices, training=self.ignore_hours,
        )

    async def window_queue(self, hall_id: str, window: int, principal: Principal | None = None) -> dict[str, Any]:
        """The clerk's view: the window's waiting tickets in call order, missed and suspended,
        and the actions the console offers, each allowed or refused with its code and reason."""
        hall = self.hall(hall_id)
        cfg = hall.windows.get(window)
        if cfg is None:
            known = ", ".join(str(n) for n in hall.windows)
            raise NotFound("window.unknown", hall=hall_id, window=window, known=known)
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
            "actions": window_actions(state, window, now, principal),
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

    async def desk_ticket(self, hall_id: str, number: str) -> dict[str, Any]:
        """One of today's tickets by its number, as the guide desk (导服台) sees it: its status,
        priority and reason, and which desk actions its state allows. Never the holder's secret."""
        self.hall(hall_id)
        parsed = TicketNumber.parse(number)
        async with self.pool.acquire() as conn:
            t = await self.store.ticket_by_number(conn, hall_id, self.today(), parsed)
        if t is None:
            raise NotFound("ticket.unknown", hall=hall_id, number=str(parsed))
        view = await self._status(t, holder=False)
        view.pop("id", None)
        view.pop("status_url", None)
        status = t.status
        view.update({
            "status_zh": STATUS_ZH[status], "priority_reason": t.priority_reason, "channel": t.channel,
            "misses": t.misses, "note": t.note, "last_window": t.window,
            "may": {
                "restore": status in (TicketStatus.MISSED, TicketStatus.SUSPENDED),
                "cancel": status in (TicketStatus.WAITING, TicketStatus.SUSPENDED, TicketStatus.MISSED),
                "reprint": status is TicketStatus.WAITING,
            },
        })
        return view

    async def holder_ticket(self, secret: str) -> Ticket:
        """The ticket whose holder has `secret`: the only key for acting as the citizen."""
        async with self.pool.acquire() as conn:
            t = await self.store.ticket_by_holder_secret(conn, secret)
        if t is None or t.hall not in self.config.halls:
            raise NotFound("ticket.no_such")
        return t

    async def holder_status(self, secret: str) -> dict[str, Any]:
        """The holder's view of their ticket (phone page, QR code), found by the secret."""
        return await self._status(await self.holder_ticket(secret), holder=True)

    async def _status(self, t: Ticket | None, *, holder: bool) -> dict[str, Any]:
        if t is None or t.hall not in self.config.halls:
            raise NotFound("ticket.no_such")
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


def _fingerprint(principal: Principal | None, *parts: object) -> str:
    who = f"{principal.kind}:{principal.id}" if principal else "citizen"
    return hashlib.sha256(canonical_json([who, *[str(p) for p in parts]]).encode()).hexdigest()


def _command_fingerprint(principal: Principal | None, cmd: Any) -> str:
    """The same command from the same caller has the same fingerprint (an idempotent retry);
    `cmd` is a command dataclass (service/commands.py)."""
    return _fingerprint(principal, type(cmd).__name__, canonical_json(asdict(cmd)))


command_fingerprint = _command_fingerprint
