"""One ledger row from one domain event: the only place a LedgerRow is built.

Live operation (QueueService's batches) and the demo history (service/demo.py) both call
`ledger_row`, so a generated history is made of exactly the rows the server would write."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from ..domain.hall import HallState
from ..domain.ledger import LedgerRow
from ..domain.model import Actor, Event, Ticket
from . import views


class ChainHead(Protocol):
    """The hall's chain head the row extends (ports.HallHead): advanced by each row."""

    seq: int
    head_hash: bytes


def ledger_row(
    state: HallState, head: ChainHead, now: datetime, tz: ZoneInfo, actor: Actor,
    event: Event, ticket: Ticket | None,
) -> LedgerRow:
    """The next row of the hall's chain for `event` (about `ticket`, if any), as of `state`
    after the event: its public form for the screens, its hash over the previous row's."""
    head.seq += 1
    services: list[str] = []
    if ticket is not None:
        services.append(ticket.service)
        origin = event.payload.get("from_service")
        if origin and origin not in services:
            services.append(origin)
    public = views.public_event(
        state, seq=head.seq, at=now, tz=tz, kind=event.kind, ticket=ticket,
        window=event.window, services=services, payload=event.payload,
    )
    hall, actor_json = state.hall.id, actor.as_json()
    ticket_id, number = (ticket.id, ticket.number_text) if ticket else (None, None)
    unsigned = LedgerRow(hall, head.seq, now, event.kind, actor_json, ticket_id, number, event.window,
                         event.payload, public, head.head_hash)
    row = LedgerRow(hall, head.seq, now, event.kind, actor_json, ticket_id, number, event.window,
                    event.payload, public, head.head_hash, unsigned.computed_hash())
    head.head_hash = row.hash
    return row
