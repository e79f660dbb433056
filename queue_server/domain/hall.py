"""The hall aggregate: one business day of one hall, its commands and the events they cause.

Every command validates first and changes state only when it is accepted, so a refused
command leaves the state exactly as it was. `now` is always passed in.
"""

from __future__ import annotations

import secrets
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import dispatch
from .errors import InvalidInput, NotFound, Refused
from .layout import Hall, Window
from .model import (
    STATUS_ZH,
    Event,
    HallId,
    StaffOnDuty,
    Ticket,
    TicketId,
    TicketNumber,
    TicketStatus,
    WindowState,
    WindowStatus,
)

FINAL_STATUSES = (
    TicketStatus.FINISHED,
    TicketStatus.CANCELLED,
    TicketStatus.VOID,
    TicketStatus.CLOSED,
)


def new_ticket_id() -> TicketId:
    """The ticket's identity for staff, devices and the ledger; it grants nothing."""
    return TicketId(secrets.token_urlsafe(16))


def new_holder_secret() -> str:
    """The ticket holder's key (the QR code / phone link): 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


@dataclass
class HallState:
    hall: Hall
    day: date
    tickets: dict[TicketId, Ticket] = field(default_factory=dict)
    windows: dict[int, WindowState] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)  # last sequence per service today
    dirty_tickets: set[TicketId] = field(default_factory=set)
    dirty_windows: set[int] = field(default_factory=set)
    dirty_counters: set[str] = field(default_factory=set)
    # Where a new ticket's id and holder secret come from: random (`secrets`) in service; the
    # demo history (service/demo.py) passes seeded sources so one seed gives one history.
    ticket_ids: Callable[[], TicketId] = field(default=new_ticket_id, repr=False, compare=False)
    holder_secrets: Callable[[], str] = field(default=new_holder_secret, repr=False, compare=False)
    _indexed: bool = field(default=False, repr=False, compare=False)
    _offering: dict[str, list[int]] = field(default_factory=dict, repr=False, compare=False)
    _queues: dict[tuple[str, str | None], list[tuple[int, int, TicketId]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _queued: dict[TicketId, tuple[tuple[str, str | None], tuple[int, int, TicketId]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _waiting_n: dict[str, int] = field(default_factory=dict, repr=False, compare=False)  # per service
    _numbers: dict[TicketNumber, TicketId] = field(default_factory=dict, repr=False, compare=False)  # issued here

    def __post_init__(self) -> None:
        for number in self.hall.windows:
            self.windows.setdefault(number, WindowState(number))

    # ---- look-ups -------------------------------------------------------------------

    def window_config(self, number: int) -> Window:
        try:
            return self.hall.windows[number]
        except KeyError:
            known = ", ".join(str(n) for n in self.hall.windows)
            raise NotFound("window.unknown", hall=self.hall.id, window=number, known=known) from None

    def window(self, number: int) -> WindowState:
        self.window_config(number)
        return self.windows[number]

    def ticket_by_number(self, number: TicketNumber | str) -> Ticket:
        if isinstance(number, str):
            number = TicketNumber.parse(number)
        issued = self.tickets.get(self._numbers.get(number, TicketId("")))
        if issued is not None and issued.number == number and issued.business_day == self.day:
            return issued
        for t in self.tickets.values():  # tickets put in whole (loaded, taken in)
            if t.number == number and t.business_day == self.day:
                return t
        raise NotFound("ticket.unknown", hall=self.hall.id, number=str(number))

    def waiting(self, service: str | None = None) -> list[Ticket]:
        """Waiting tickets (of one service), each queue in dispatch order."""
        self._ensure_index()
        return [
            self.tickets[key[2]]
            for (code, _cls), queue in self._queues.items()
            if service is None or code == service
            for key in queue
        ]

    def waiting_count(self, service: str) -> int:
        self._ensure_index()
        return self._waiting_n.get(service, 0)

    # The waiting index: per (service, priority class) a list of (rank, seq, id), kept sorted
    # as tickets change (`_touch`), so counts, "people ahead" and call-next never scan the
    # whole hall. Within one list the first eligible ticket is always the best of that list.

    def _ensure_index(self) -> None:
        if not self._indexed:
            self._queues = {}
            self._queued = {}
            self._waiting_n = {}
            for t in self.tickets.values():
                self._place(t)
            self._indexed = True

    def _place(self, t: Ticket) -> None:
        old = self._queued.pop(t.id, None)
        if old is not None:
            queue = self._queues[old[0]]
            i = bisect_left(queue, old[1])
            if i < len(queue) and queue[i] == old[1]:
                del queue[i]
                self._waiting_n[old[0][0]] -= 1
        if t.status is TicketStatus.WAITING:
            cls = t.priority if t.priority in self.hall.priority_classes else None
            where = (t.service, cls)
            key = (t.rank, t.number.seq, t.id)
            insort(self._queues.setdefault(where, []), key)
            self._waiting_n[t.service] = self._waiting_n.get(t.service, 0) + 1
            self._queued[t.id] = (where, key)

    def _is_absolute(self, cls: str | None) -> bool:
        pc = self.hall.priority_classes.get(cls) if cls else None
        return pc is not None and pc.mode == "absolute"

    def _front_candidates(self, window: Window) -> list[Ticket]:
        """The first eligible ticket of each queue the window serves: call-next picks among these."""
        self._ensure_index()
        found = []
        for (code, _cls), queue in self._queues.items():
            if code not in window.services:
                continue
            for key in queue:
                t = self.tickets[key[2]]
                if t.target_window is None or t.target_window == window.number:
                    found.append(t)
                    break
        return found

    def windows_serving(self, service: str) -> int:
        """Open windows that offer `service`; all configured ones when none is open yet."""
        offering = self._offering.get(service)
        if offering is None:
            offering = [w.number for w in self.hall.windows.values() if service in w.services]
            self._offering[service] = offering
        open_ = sum(1 for n in offering if self.windows[n].status is not WindowStatus.CLOSED)
        return open_ or len(offering)

    def ahead_of(self, ticket: Ticket) -> int:
        """People before `ticket` in its service's queue (absolute priority first, then by rank)."""
        self._ensure_index()
        mine_absolute = self._is_absolute(ticket.priority)
        key = (ticket.rank, ticket.number.seq, ticket.id)
        ahead = 0
        for (code, cls), queue in self._queues.items():
            if code != ticket.service:
                continue
            absolute = self._is_absolute(cls)
            if absolute and not mine_absolute:
                ahead += len(queue)
            elif absolute == mine_absolute:
                ahead += bisect_left(queue, key)
        return ahead

    def estimated_wait(self, ticket: Ticket) -> int:
        service = self.hall.services[ticket.service]
        return dispatch.estimated_wait_minutes(
            self.ahead_of(ticket), service.handling_minutes, self.windows_serving(ticket.service)
        )

    def service_wait(self, service_code: str) -> int:
        """Estimated minutes for a ticket issued now in this service."""
        service = self.hall.services[service_code]
        return dispatch.estimated_wait_minutes(
            self.waiting_count(service_code),
            service.handling_minutes,
            self.windows_serving(service_code),
        )

    def put_ticket(self, ticket: Ticket) -> None:
        """Take in a ticket as another process left it: kept while live today, else let go."""
        if ticket.business_day == self.day and ticket.status not in FINAL_STATUSES:
            self.tickets[ticket.id] = ticket
        else:
            self.tickets.pop(ticket.id, None)
        if self._indexed:
            self._place(ticket)

    def _touch(self, ticket: Ticket) -> None:
        """Record a change of `ticket`; call after its status, service and rank are final."""
        self.dirty_tickets.add(ticket.id)
        if self._indexed:
            self._place(ticket)

    def _touch_window(self, ws: WindowState) -> None:
        self.dirty_windows.add(ws.number)

    # ---- tickets --------------------------------------------------------------------

    def issue(
        self,
        service: str,
        now: datetime,
        *,
        channel: str = "kiosk",
        priority: str | None = None,
        priority_reason: str | None = None,
    ) -> tuple[Ticket, list[Event]]:
        if service not in self.hall.services:
            raise NotFound("service.unknown", hall=self.hall.id, service=service,
                           known=", ".join(self.hall.services))
        cls = None
        if priority is not None:
            cls = self.hall.priority_classes.get(priority)
            if cls is None:
                raise InvalidInput("input.priority_unknown", field="priority", priority=priority,
                                   known=", ".join(self.hall.priority_classes))
            if cls.reason_required and not (priority_reason or "").strip():
                raise InvalidInput("input.priority_reason_required", field="priority_reason", name=cls.name)
        svc = self.hall.services[service]
        last = self.counters.get(service, 0)
        if last >= svc.daily_quota:
            raise Refused("service.quota_full", service=service, quota=svc.daily_quota)
        seq = last + 1
        rank = dispatch.rank_of(now)
        latest = next(reversed(self.tickets.values()), None)
        if latest is not None and latest.issued_at == now:
            # One batch of commands shares `now`: keep its tickets' ranks distinct and in
            # issue order, so a restored ticket can still be placed between two of them.
            rank = max(rank, latest.rank + 1)
        ticket = Ticket(
            id=self.ticket_ids(),
            hall=HallId(self.hall.id),
            business_day=self.day,
            number=TicketNumber(service, seq),
            service=service,
            issued_at=now,
            rank=rank,
            channel=channel,
            priority=priority,
            priority_reason=(priority_reason or None) if cls else None,
            holder_secret=self.holder_secrets(),
        )
        self.counters[service] = seq
        self.dirty_counters.add(service)
        self.tickets[ticket.id] = ticket
        self._numbers[ticket.number] = ticket.id
        self._touch(ticket)
        payload = {"channel": channel, "priority": priority}
        if cls is not None and priority_reason:
            payload["priority_reason"] = priority_reason
        return ticket, [Event("ticket_issued", ticket.id, None, payload)]

    # ---- guards ---------------------------------------------------------------------
    # Each command checks with these before it changes anything; `actions` runs the same
    # checks to tell the clerk's console what the server would answer now.

    def _current_of(self, ws: WindowState) -> Ticket:
        if ws.current is None:
            raise Refused("window.no_current", window=ws.number, state="idle")
        return self.tickets[ws.current]

    def _require_open(self, ws: WindowState) -> None:
        if ws.status is WindowStatus.CLOSED:
            raise Refused("window.not_open", window=ws.number, state=ws.status.value)
        if ws.status is WindowStatus.PAUSED:
            raise Refused("window.paused", window=ws.number, reason=ws.pause_reason or "",
                          state=ws.status.value)

    def _require_idle(self, ws: WindowState) -> None:
        if ws.current is not None:
            cur = self.tickets[ws.current]
            raise Refused("window.busy", window=ws.number, ticket=cur.number_text,
                          state=cur.status.value, state_zh=STATUS_ZH[cur.status])

    def _current_in(self, ws: WindowState, allowed: tuple[TicketStatus, ...], code: str,
                    **params: Any) -> Ticket:
        """The window's current ticket, refused with `code` unless its status is in `allowed`."""
        ticket = self._current_of(ws)
        require_status(ticket, allowed, code, **params)
        return ticket

    def _check_open(self, ws: WindowState, staff_id: str | None) -> None:
        if ws.status is not WindowStatus.CLOSED:
            raise Refused("window.already_open", window=ws.number,
                          staff=ws.staff.name if ws.staff else "?", state=ws.status.value)
        for other in self.windows.values():
            if other.status is not WindowStatus.CLOSED and other.staff and other.staff.id == staff_id:
                raise Refused("window.staff_elsewhere", staff=staff_id, other=other.number,
                              state=other.status.value)

    def _check_pause(self, ws: WindowState) -> None:
        if ws.status is WindowStatus.CLOSED:
            raise Refused("window.not_open", window=ws.number, state=ws.status.value)
        if ws.status is WindowStatus.PAUSED:
            raise Refused("window.already_paused", window=ws.number, state=ws.status.value)
        self._require_idle(ws)

    def _check_resume(self, ws: WindowState) -> None:
        if ws.status is WindowStatus.CLOSED:
            raise Refused("window.not_open", window=ws.number, state=ws.status.value)
        if ws.status is not WindowStatus.PAUSED:
            raise Refused("window.not_paused", window=ws.number, state=ws.status.value)

    def _check_close(self, ws: WindowState) -> None:
        if ws.status is WindowStatus.CLOSED:
            raise Refused("window.already_closed", window=ws.number, state=ws.status.value)
        self._require_idle(ws)

    def _check_message(self, ws: WindowState) -> None:
        if ws.status is WindowStatus.CLOSED:
            raise Refused("window.not_open", window=ws.number, state=ws.status.value)

    def _check_call(self, ws: WindowState) -> None:
        self._require_open(ws)
        self._require_idle(ws)

    def _check_recall(self, ws: WindowState, now: datetime) -> Ticket:
        ticket = self._current_in(ws, (TicketStatus.CALLED,), "ticket.not_called", action="重呼")
        policy = self.hall.call_policy
        if ticket.calls >= policy.max_calls:
            raise Refused("ticket.recall_limit", ticket=ticket.number_text, calls=ticket.calls,
                          max_calls=policy.max_calls, state=ticket.status.value)
        assert ticket.last_called_at is not None
        elapsed = (now - ticket.last_called_at).total_seconds()
        if elapsed < policy.recall_min_seconds:
            wait = int(policy.recall_min_seconds - elapsed + 0.999)
            raise Refused("ticket.recall_too_soon", ticket=ticket.number_text, elapsed=int(elapsed),
                          minimum=policy.recall_min_seconds, retry_in_seconds=wait,
                          state=ticket.status.value)
        return ticket

    def _check_miss(self, ws: WindowState) -> Ticket:
        ticket = self._current_in(ws, (TicketStatus.CALLED,), "ticket.not_called", action="按过号处理")
        policy = self.hall.call_policy
        if ticket.calls < policy.max_calls:
            raise Refused("ticket.miss_too_early", ticket=ticket.number_text, calls=ticket.calls,
                          max_calls=policy.max_calls, state=ticket.status.value)
        return ticket

    def check(self, action: str, window: int, now: datetime, *, staff_id: str | None = None) -> None:
        """Raise what `action` at `window` would be refused with now (its state, not its input)."""
        ws = self.window(window)
        match action:
            case "open":
                self._check_open(ws, staff_id)
            case "pause":
                self._check_pause(ws)
            case "resume":
                self._check_resume(ws)
            case "close":
                self._check_close(ws)
            case "message":
                self._check_message(ws)
            case "call_next" | "call":
                self._check_call(ws)
            case "recall":
                self._check_recall(ws, now)
            case "start":
                self._current_in(ws, (TicketStatus.CALLED,), "ticket.not_called", action="开始办理")
            case "finish":
                self._current_in(ws, (TicketStatus.SERVING,), "ticket.not_serving")
            case "miss":
                self._check_miss(ws)
            case "transfer":
                self._current_in(ws, (TicketStatus.CALLED, TicketStatus.SERVING), "ticket.not_transferable")
            case "suspend":
                self._current_of(ws)
            case _:
                raise ValueError(f"no guard for window action {action!r}")

    def _call(self, ws: WindowState, ticket: Ticket, now: datetime) -> None:
        ticket.status = TicketStatus.CALLED
        ticket.window = ws.number
        ticket.calls = 1
        ticket.first_called_at = ticket.first_called_at or now
        ticket.last_called_at = now
        ticket.target_window = None
        ws.current = ticket.id
        self._touch(ticket)
        self._touch_window(ws)

    # ---- window commands on tickets -------------------------------------------------

    def call_next(self, window: int, now: datetime) -> tuple[Ticket | None, list[Event]]:
        cfg = self.window_config(window)
        ws = self.windows[window]
        self._check_call(ws)
        chosen = dispatch.choose_next(self._front_candidates(cfg), self.hall, cfg, ws, now)
        if chosen is None:
            return None, []
        ticket, group = chosen
        ws.normal_streak = dispatch.streak_after_call(ticket, group, self.hall, ws.normal_streak)
        self._call(ws, ticket, now)
        payload = {"calls": 1, "group": group}
        return ticket, [Event("ticket_called", ticket.id, window, payload)]

    def call_number(
        self, window: int, number: str, reason: str, now: datetime
    ) -> tuple[Ticket, list[Event]]:
        """指定叫号: call one waiting ticket out of order; the reason is kept in the ledger."""
        cfg = self.window_config(window)
        ws = self.windows[window]
        if not (reason or "").strip():
            raise InvalidInput("input.reason_required", field="reason", action="指定叫号")
        self._check_call(ws)
        ticket = self.ticket_by_number(number)
        require_status(ticket, (TicketStatus.WAITING,), "ticket.not_waiting")
        if ticket.service not in cfg.services:
            raise Refused("window.service_not_offered", window=window, service=ticket.service,
                          service_name=self.hall.services[ticket.service].name,
                          state=ticket.status.value)
        self._call(ws, ticket, now)
        ticket.note = reason
        return ticket, [
            Event("ticket_called", ticket.id, window, {"calls": 1, "specific": True, "reason": reason})
        ]

    def recall(self, window: int, now: datetime) -> tuple[Ticket, list[Event]]:
        ticket = self._check_recall(self.window(window), now)
        ticket.calls += 1
        ticket.last_called_at = now
        self._touch(ticket)
        return ticket, [Event("ticket_recalled", ticket.id, window, {"calls": ticket.calls})]

    def start(self, window: int, now: datetime, staff: StaffOnDuty | None = None) -> tuple[Ticket, list[Event]]:
        ws = self.window(window)
        ticket = self._current_in(ws, (TicketStatus.CALLED,), "ticket.not_called", action="开始办理")
        ticket.status = TicketStatus.SERVING
        ticket.started_at = now
        ticket.staff_id = ws.staff.id if ws.staff else (staff.id if staff else None)
        self._touch(ticket)
        return ticket, [Event("service_started", ticket.id, window, {})]

    def finish(self, window: int, now: datetime) -> tuple[Ticket, list[Event]]:
        ws = self.window(window)
        ticket = self._current_in(ws, (TicketStatus.SERVING,), "ticket.not_serving")
        ticket.status = TicketStatus.FINISHED
        ticket.finished_at = now
        ws.current = None
        self._touch(ticket)
        self._touch_window(ws)
        return ticket, [Event("ticket_finished", ticket.id, window, {})]

    def miss(self, window: int, now: datetime) -> tuple[Ticket, list[Event]]:
        ws = self.window(window)
        ticket = self._check_miss(ws)
        policy = self.hall.call_policy
        ticket.misses += 1
        ws.current = None
        events = [Event("ticket_missed", ticket.id, window, {"misses": ticket.misses})]
        if ticket.misses >= policy.void_after_misses:
            ticket.status = TicketStatus.VOID
            events.append(Event("ticket_voided", ticket.id, window, {"misses": ticket.misses}))
        else:
            ticket.status = TicketStatus.MISSED
        self._touch(ticket)
        self._touch_window(ws)
        return ticket, events

    def transfer(
        self,
        window: int,
        now: datetime,
        *,
        reason: str,
        to_service: str | None = None,
        to_window: int | None = None,
    ) -> tuple[Ticket, list[Event]]:
        ws = self.window(window)
        if (to_service is None) == (to_window is None):
            raise InvalidInput("input.transfer_target", field="service")
        if not (reason or "").strip():
            raise InvalidInput("input.reason_required", field="reason", action="转移")
        ticket = self._current_in(ws, (TicketStatus.CALLED, TicketStatus.SERVING), "ticket.not_transferable")
        service = ticket.service
        if to_service is not None:
            if to_service not in self.hall.services:
                raise NotFound("service.unknown", hall=self.hall.id, service=to_service,
                               known=", ".join(self.hall.services))
            service = to_service
        target = None
        if to_window is not None:
            target_cfg = self.window_config(to_window)
            if to_window == window:
                raise Refused("ticket.same_window", ticket=ticket.number_text, window=window,
                              state=ticket.status.value)
            if service not in target_cfg.services:
                service = target_cfg.services[0]
            target = to_window
        from_service = ticket.service
        ticket.status = TicketStatus.WAITING
        ticket.service = service
        ticket.target_window = target
        ticket.calls = 0
        ticket.note = reason
        # The original issue time is kept: the citizen does not queue twice.
        ticket.rank = dispatch.rank_of(ticket.issued_at)
        ws.current = None
        self._touch(ticket)
        self._touch_window(ws)
        payload = {"from_service": from_service, "to_service": service, "to_window": target, "reason": reason}
        return ticket, [Event("ticket_transferred", ticket.id, window, payload)]

    def suspend(self, window: int, now: datetime, reason: str) -> tuple[Ticket, list[Event]]:
        ws = self.window(window)
        if not (reason or "").strip():
            raise InvalidInput("input.reason_required", field="reason", action="挂起")
        ticket = self._current_of(ws)
        ticket.status = TicketStatus.SUSPENDED
        ticket.note = reason
        ws.current = None
        self._touch(ticket)
        self._touch_window(ws)
        return ticket, [Event("ticket_suspended", ticket.id, window, {"reason": reason})]

    # ---- tickets by number ----------------------------------------------------------

    def restore(self, number: str, now: datetime) -> tuple[Ticket, list[Event]]:
        ticket = self.ticket_by_number(number)
        require_status(ticket, (TicketStatus.MISSED, TicketStatus.SUSPENDED), "ticket.not_restorable")
        was = ticket.status
        others = [t for t in self.waiting(ticket.service) if t.id != ticket.id]
        ticket.rank, moved = dispatch.restore_rank(
            others,
            self.hall,
            self.hall.call_policy.restore_offset,
            dispatch.rank_of(now),
            seq=ticket.number.seq,
        )
        for behind, rank in moved:
            behind.rank = rank
            self._touch(behind)
        ticket.status = TicketStatus.WAITING
        ticket.calls = 0
        self._touch(ticket)
        payload = {"from": was.value, "ahead": self.ahead_of(ticket)}
        return ticket, [Event("ticket_restored", ticket.id, None, payload)]

    def cancel(self, ticket: Ticket, now: datetime, reason: str | None = None) -> list[Event]:
        require_status(ticket, (TicketStatus.WAITING, TicketStatus.SUSPENDED, TicketStatus.MISSED),
                       "ticket.not_cancellable")
        ticket.status = TicketStatus.CANCELLED
        self._touch(ticket)
        return [Event("ticket_cancelled", ticket.id, None, {"reason": reason} if reason else {})]

    def close_tickets(self, tickets: Iterable[Ticket]) -> list[Event]:
        """End of a business day: unserved tickets are closed as 'hall closed', never deleted."""
        events = []
        for t in tickets:
            if t.status in FINAL_STATUSES:
                continue
            was = t.status
            t.status = TicketStatus.CLOSED
            self._touch(t)
            events.append(Event("ticket_closed", t.id, t.window, {"from": was.value}))
        for ws in self.windows.values():
            if ws.current is not None and self.tickets.get(ws.current) is not None:
                if self.tickets[ws.current].status is TicketStatus.CLOSED:
                    ws.current = None
                    self._touch_window(ws)
        return events

    # ---- windows --------------------------------------------------------------------

    def open_window(self, window: int, staff: StaffOnDuty, now: datetime) -> list[Event]:
        ws = self.window(window)
        self._check_open(ws, staff.id)
        ws.status = WindowStatus.OPEN
        ws.staff = staff
        ws.pause_reason = None
        ws.since = now
        ws.normal_streak = 1_000_000
        self._touch_window(ws)
        payload: dict[str, object] = {"staff_id": staff.id, "staff_name": staff.name}
        if staff.stand_in_for:
            payload["stand_in_for"] = staff.stand_in_for
        return [Event("window_opened", None, window, payload)]

    def pause_window(self, window: int, reason: str, now: datetime) -> list[Event]:
        ws = self.window(window)
        if not (reason or "").strip():
            raise InvalidInput("input.reason_required", field="reason", action="暂停（如 午休、临时离开）")
        self._check_pause(ws)
        ws.status = WindowStatus.PAUSED
        ws.pause_reason = reason
        ws.since = now
        self._touch_window(ws)
        return [Event("window_paused", None, window, {"reason": reason})]

    def resume_window(self, window: int, now: datetime) -> list[Event]:
        ws = self.window(window)
        self._check_resume(ws)
        reason = ws.pause_reason
        paused_seconds = int((now - ws.since).total_seconds()) if ws.since else 0
        ws.status = WindowStatus.OPEN
        ws.pause_reason = None
        ws.since = now
        self._touch_window(ws)
        return [Event("window_resumed", None, window, {"reason": reason, "paused_seconds": paused_seconds})]

    def set_message(self, window: int, text: str | None, now: datetime) -> list[Event]:
        """The clerk's message on the window screen; None clears it."""
        ws = self.window(window)
        self._check_message(ws)
        if text is not None and len(text) > 60:
            raise InvalidInput("input.too_long", field="text", length=len(text), limit=60)
        ws.message = text
        self._touch_window(ws)
        return [Event("window_message_set", None, window, {"message": text})]

    def close_window(self, window: int, now: datetime) -> list[Event]:
        ws = self.window(window)
        self._check_close(ws)
        staff = ws.staff
        ws.status = WindowStatus.CLOSED
        ws.staff = None
        ws.pause_reason = None
        ws.message = None
        ws.since = now
        self._touch_window(ws)
        return [Event("window_closed", None, window, {"staff_id": staff.id if staff else None})]


def require_status(ticket: Ticket, allowed: tuple[TicketStatus, ...], code: str, **params: Any) -> None:
    """The one ticket-status guard: refuse with `code` unless the ticket's status is `allowed`."""
    if ticket.status not in allowed:
        raise Refused(code, ticket=ticket.number_text, state=ticket.status.value,
                      state_zh=STATUS_ZH[ticket.status], **params)
