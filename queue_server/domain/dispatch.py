"""The dispatch policy: which waiting ticket a window calls next, and how far back a ticket is."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

from .layout import Hall, Window
from .model import Ticket, TicketStatus, WindowState

# Groups, best first.
ABSOLUTE = 0  # an absolute priority class: always first
INTERLEAVED_DUE = 1  # an interleaved priority class whose turn has come at this window
OVERDUE = 2  # waited past its service's alarm threshold: no one waits forever
NORMAL = 3


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rank_of(instant: datetime) -> int:
    """Microseconds since the epoch: the rank of a ticket queued at `instant`."""
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def group_of(ticket: Ticket, hall: Hall, window_state: WindowState, now: datetime) -> int:
    cls = hall.priority_classes.get(ticket.priority) if ticket.priority else None
    if cls is not None and cls.mode == "absolute":
        return ABSOLUTE
    if cls is not None and cls.mode == "interleaved" and window_state.normal_streak >= cls.every:
        return INTERLEAVED_DUE
    # The rank is the ticket's effective queue time, so a restored ticket is judged like its
    # neighbours and a transferred one by its original issue time.
    alarm_us = hall.services[ticket.service].alarm_minutes * 60_000_000
    if rank_of(now) - ticket.rank >= alarm_us:
        return OVERDUE
    return NORMAL


def eligible(ticket: Ticket, window: Window) -> bool:
    return (
        ticket.status is TicketStatus.WAITING
        and ticket.service in window.services
        and (ticket.target_window is None or ticket.target_window == window.number)
    )


def order_key(
    ticket: Ticket, hall: Hall, window: Window, window_state: WindowState, now: datetime
) -> tuple[int, int, int, int, str]:
    group = group_of(ticket, hall, window_state, now)
    if group == NORMAL and hall.dispatch == "service_order":
        service_rank = window.services.index(ticket.service)
    else:
        service_rank = 0
    # Equal ranks (same instant) fall back to the number: A001 before A002.
    return (group, service_rank, ticket.rank, ticket.number.seq, ticket.id)


def choose_next(
    tickets: Iterable[Ticket], hall: Hall, window: Window, window_state: WindowState, now: datetime
) -> tuple[Ticket, int] | None:
    """The ticket `window` calls next and its group, or None when nobody waits for it."""
    best: tuple[tuple[int, int, int, int, str], Ticket] | None = None
    for t in tickets:
        if not eligible(t, window):
            continue
        key = order_key(t, hall, window, window_state, now)
        if best is None or key < best[0]:
            best = (key, t)
    if best is None:
        return None
    return best[1], best[0][0]


def streak_after_call(ticket: Ticket, group: int, hall: Hall, streak: int) -> int:
    """Interleaving bookkeeping: a due priority call resets the window's count of normal calls."""
    if group == INTERLEAVED_DUE:
        return 0
    cls = hall.priority_classes.get(ticket.priority) if ticket.priority else None
    if cls is not None and cls.mode == "absolute":
        return streak
    return min(streak + 1, 1_000_000)


def queue_key(ticket: Ticket, hall: Hall) -> tuple[int, int, int, str]:
    """A window-independent order of one service's queue, for 'people ahead' estimates."""
    cls = hall.priority_classes.get(ticket.priority) if ticket.priority else None
    absolute = 0 if cls is not None and cls.mode == "absolute" else 1
    return (absolute, ticket.rank, ticket.number.seq, ticket.id)


def people_ahead(ticket: Ticket, waiting_same_service: Iterable[Ticket], hall: Hall) -> int:
    """What "people ahead" means, as a plain scan; HallState.ahead_of answers the same from its
    sorted queues (the stateful test holds the two equal)."""
    mine = queue_key(ticket, hall)
    return sum(
        1
        for t in waiting_same_service
        if t.id != ticket.id and t.status is TicketStatus.WAITING and queue_key(t, hall) < mine
    )


def estimated_wait_minutes(ahead: int, handling_minutes: float, windows_serving: int) -> int:
    """Minutes until a ticket with `ahead` people before it is likely called."""
    return math.ceil(ahead * handling_minutes / max(1, windows_serving))


def restore_rank(
    waiting_in_service: list[Ticket], hall: Hall, offset: int, fallback: int, *, seq: int
) -> tuple[int, list[tuple[Ticket, int]]]:
    """Rank that puts a restored ticket `offset` places back in its service's queue, not last,
    and the tickets behind that place whose rank must move up to make room.

    `seq` is the restored ticket's own sequence: queues are ordered by (rank, seq), and
    tickets issued in one batch are only one rank apart, so the seq may decide the place.
    When no (rank, seq) fits between the neighbours at the place (they share a rank, say,
    after earlier restores), the ticket takes the rank just behind the one before it, and
    the tickets from the place on that would now sort before it move back by a microsecond
    each, keeping their own order: the ticket lands exactly at its place.
    """
    queue = sorted(waiting_in_service, key=lambda t: queue_key(t, hall))
    if not queue:
        return fallback, []
    # Absolute-priority tickets go first whatever their rank, so a rank next to one of them
    # says nothing about the place among the others: they count as places ahead, and the
    # ticket is placed by the ranks of the rest.
    absolute = sum(1 for t in queue if queue_key(t, hall)[0] == 0)
    rest = queue[absolute:]
    place = max(0, offset - absolute)
    if len(rest) <= place:
        return queue[-1].rank + 1, []
    if place == 0:
        return rest[0].rank - 1, []
    before, after = rest[place - 1], rest[place]
    for rank in (before.rank, before.rank + 1):
        if (before.rank, before.number.seq) < (rank, seq) < (after.rank, after.number.seq):
            return rank, []
    mine = (before.rank + 1, seq)
    moved: list[tuple[Ticket, int]] = []
    last = mine
    for t in rest[place:]:
        if (t.rank, t.number.seq) > last:
            break
        last = (last[0] + 1, t.number.seq)
        moved.append((t, last[0]))
    return mine[0], moved
