"""One plain function per command: (hall state, now, command, context) → Outcome.

Each runs under the hall's lock inside a batch (service/queue.py); it applies the command to
the pure domain state, which validates before it changes anything, and answers with the body
and the events to write. HANDLERS maps each command class to its function.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..domain import clock as hall_clock
from ..domain.errors import Forbidden, Refused
from ..domain.hall import HallState
from ..domain.model import Event, StaffId, StaffOnDuty, Ticket
from . import views
from .commands import (
    CallNext,
    CallNumber,
    CancelTicket,
    CloseWindow,
    Command,
    Finish,
    IssueTicket,
    Miss,
    OpenWindow,
    PauseWindow,
    Recall,
    RestoreTicket,
    ResumeWindow,
    SetMessage,
    Start,
    Suspend,
    Transfer,
    WindowCommand,
)
from .principal import Principal
from .results import Outcome
from .writes import PrintJobInsert, Write


@dataclass(frozen=True)
class Context:
    """What a handler needs besides the state: who asks, and the hall's settings."""

    principal: Principal | None
    tz: ZoneInfo
    public_url: str
    ignore_hours: bool = False


def new_job_id() -> str:
    return "pj_" + secrets.token_urlsafe(12)


# ---- answers ------------------------------------------------------------------------------

def _staff_ticket_view(state: HallState, t: Ticket, ctx: Context) -> dict[str, Any]:
    view = views.ticket_status(state, t, state.hall, ctx.tz, ctx.public_url)
    view.pop("id", None)
    view.pop("status_url", None)
    return view


def _ticket_outcome(state: HallState, window: int, ticket: Ticket | None, events: list[Event],
                    ctx: Context) -> Outcome:
    body: dict[str, Any] = {
        "ticket": _staff_ticket_view(state, ticket, ctx) if ticket else None,
        "window": views.window_view(state.hall, state, state.windows[window]),
    }
    return Outcome(body, [(e, ticket) for e in events])


def _window_outcome(state: HallState, window: int, events: list[Event]) -> Outcome:
    return Outcome({"window": views.window_view(state.hall, state, state.windows[window])},
                   [(e, None) for e in events])


def check_on_duty(state: HallState, window: int, opening: bool, principal: Principal | None) -> None:
    """A closed window answers with its state (409: open it first); an open one belongs to the
    clerk on duty there."""
    if principal is None or principal.role != "staff" or opening:
        return
    on_duty = state.windows[window].staff
    if on_duty is not None and on_duty.id != principal.id:
        raise Forbidden("auth.not_on_window", staff=principal.id, window=window)


def handle_window_command(state: HallState, now: datetime, cmd: WindowCommand, ctx: Context) -> Outcome:
    """A window command as its clerk may give it: on duty there, then its own handler."""
    check_on_duty(state, cmd.window, isinstance(cmd, OpenWindow), ctx.principal)
    return HANDLERS[type(cmd)](state, now, cmd, ctx)


# ---- window commands ----------------------------------------------------------------------

def handle_open(state: HallState, now: datetime, cmd: OpenWindow, ctx: Context) -> Outcome:
    p = ctx.principal
    assert p is not None
    staff = StaffOnDuty(StaffId(p.id), p.name, p.photo_url,
                        StaffId(cmd.stand_in_for) if cmd.stand_in_for else None)
    return _window_outcome(state, cmd.window, state.open_window(cmd.window, staff, now))


def handle_close(state: HallState, now: datetime, cmd: CloseWindow, ctx: Context) -> Outcome:
    return _window_outcome(state, cmd.window, state.close_window(cmd.window, now))


def handle_pause(state: HallState, now: datetime, cmd: PauseWindow, ctx: Context) -> Outcome:
    return _window_outcome(state, cmd.window, state.pause_window(cmd.window, cmd.reason, now))


def handle_resume(state: HallState, now: datetime, cmd: ResumeWindow, ctx: Context) -> Outcome:
    return _window_outcome(state, cmd.window, state.resume_window(cmd.window, now))


def handle_message(state: HallState, now: datetime, cmd: SetMessage, ctx: Context) -> Outcome:
    return _window_outcome(state, cmd.window, state.set_message(cmd.window, cmd.text, now))


def handle_call_next(state: HallState, now: datetime, cmd: CallNext, ctx: Context) -> Outcome:
    return _ticket_outcome(state, cmd.window, *state.call_next(cmd.window, now), ctx)


def handle_call_number(state: HallState, now: datetime, cmd: CallNumber, ctx: Context) -> Outcome:
    return _ticket_outcome(state, cmd.window, *state.call_number(cmd.window, cmd.number, cmd.reason, now), ctx)


def handle_recall(state: HallState, now: datetime, cmd: Recall, ctx: Context) -> Outcome:
    return _ticket_outcome(state, cmd.window, *state.recall(cmd.window, now), ctx)


def handle_start(state: HallState, now: datetime, cmd: Start, ctx: Context) -> Outcome:
    return _ticket_outcome(state, cmd.window, *state.start(cmd.window, now), ctx)


def handle_finish(state: HallState, now: datetime, cmd: Finish, ctx: Context) -> Outcome:
    return _ticket_outcome(state, cmd.window, *state.finish(cmd.window, now), ctx)


def handle_miss(state: HallState, now: datetime, cmd: Miss, ctx: Context) -> Outcome:
    return _ticket_outcome(state, cmd.window, *state.miss(cmd.window, now), ctx)


def handle_transfer(state: HallState, now: datetime, cmd: Transfer, ctx: Context) -> Outcome:
    ticket, events = state.transfer(cmd.window, now, reason=cmd.reason, to_service=cmd.service,
                                    to_window=cmd.to_window)
    return _ticket_outcome(state, cmd.window, ticket, events, ctx)


def handle_suspend(state: HallState, now: datetime, cmd: Suspend, ctx: Context) -> Outcome:
    return _ticket_outcome(state, cmd.window, *state.suspend(cmd.window, now, cmd.reason), ctx)


# ---- tickets and the hall -----------------------------------------------------------------

def handle_issue(state: HallState, now: datetime, cmd: IssueTicket, ctx: Context) -> Outcome:
    hall = state.hall
    if not ctx.ignore_hours:
        refusal = hall_clock.issuing_refusal_code(now, ctx.tz, hall.hours)
        if refusal:
            raise Refused(refusal, hours=hall.hours.describe())
    ticket, events = state.issue(cmd.service, now, channel=cmd.channel, priority=cmd.priority,
                                 priority_reason=cmd.priority_reason)
    body = views.ticket_status(state, ticket, hall, ctx.tz, ctx.public_url, holder=True)
    writes: list[Write] = []
    if cmd.print_kiosk is not None:
        job_id = new_job_id()
        writes.append(PrintJobInsert(job_id, hall.id, cmd.print_kiosk, ticket.id,
                                     views.print_content(body), now))
        body["print_job"] = {"id": job_id, "status": "pending"}
    return Outcome(body, [(e, ticket) for e in events], writes=writes, created=True)


def _ticket_answer(state: HallState, ticket: Ticket, events: list[Event], ctx: Context, *,
                   holder: bool) -> Outcome:
    # The citizen (who proved the secret) gets their own view back; staff never see it.
    view = views.ticket_status(state, ticket, state.hall, ctx.tz, ctx.public_url, holder=holder)
    return Outcome({"ticket": view}, [(e, ticket) for e in events])


def handle_restore(state: HallState, now: datetime, cmd: RestoreTicket, ctx: Context) -> Outcome:
    ticket, events = state.restore(cmd.number, now)
    return _ticket_answer(state, ticket, events, ctx, holder=False)


def handle_cancel(state: HallState, now: datetime, cmd: CancelTicket, ctx: Context) -> Outcome:
    if cmd.ticket_id is not None:
        ticket = next((t for t in state.tickets.values() if t.id == cmd.ticket_id), None)
        if ticket is None:
            raise Refused("ticket.no_longer_cancellable", state="final")
    else:
        assert cmd.number is not None
        ticket = state.ticket_by_number(cmd.number)
    events = state.cancel(ticket, now, cmd.reason)
    return _ticket_answer(state, ticket, events, ctx, holder=cmd.ticket_id is not None)


Handler = Callable[[HallState, datetime, Any, Context], Outcome]

HANDLERS: dict[type[Command], Handler] = {
    OpenWindow: handle_open,
    CloseWindow: handle_close,
    PauseWindow: handle_pause,
    ResumeWindow: handle_resume,
    SetMessage: handle_message,
    CallNext: handle_call_next,
    CallNumber: handle_call_number,
    Recall: handle_recall,
    Start: handle_start,
    Finish: handle_finish,
    Miss: handle_miss,
    Transfer: handle_transfer,
    Suspend: handle_suspend,
    IssueTicket: handle_issue,
    RestoreTicket: handle_restore,
    CancelTicket: handle_cancel,
}

# The console's name for each window command, and the domain guard it shares with the command.
CONSOLE_ACTIONS: tuple[tuple[str, str], ...] = (
    ("open", "open"), ("pause", "pause"), ("resume", "resume"), ("close", "close"),
    ("call-next", "call_next"), ("call", "call"), ("recall", "recall"), ("start", "start"),
    ("finish", "finish"), ("miss", "miss"), ("transfer", "transfer"), ("suspend", "suspend"),
    ("message", "message"),
)


def window_actions(state: HallState, window: int, now: datetime, principal: Principal | None) -> list[dict[str, Any]]:
    """Every action the clerk's console offers at `window`, allowed or refused (with the code
    and Chinese reason) by the same domain guards the commands run."""
    out = []
    staff_id = principal.id if principal is not None else None
    for name, guard in CONSOLE_ACTIONS:
        try:
            check_on_duty(state, window, name == "open", principal)
            state.check(guard, window, now, staff_id=staff_id)
        except (Refused, Forbidden) as exc:
            out.append({**exc.extra, "action": name, "allowed": False, "code": exc.code, "reason": exc.detail})
        else:
            out.append({"action": name, "allowed": True})
    return out
