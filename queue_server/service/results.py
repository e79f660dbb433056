"""What a command answers, as the service knows it (no HTTP here: the web maps `created`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..domain.model import Event, Ticket
from .writes import Write


@dataclass
class Outcome:
    """A command's answer body and what it did; events are already applied to the state."""

    body: dict[str, Any]
    events: list[tuple[Event, Ticket | None]] = field(default_factory=list)
    # Extra writes that belong to the same transaction (e.g. the hall's notices).
    writes: list[Write] = field(default_factory=list)
    created: bool = False  # the command made a new thing (a ticket, a rating)


class Result(NamedTuple):
    """What the caller gets back (also when an idempotent retry is answered from the store)."""

    created: bool
    body: dict[str, Any]


# How a result is kept with its idempotency key (the `status` column). Rows written before
# issue 9 hold the HTTP status the answer had then; they read back the same.
_STORED_KIND = {False: 0, True: 1}
_LEGACY_KIND = {200: False, 201: True}


def stored_kind(result: Result) -> int:
    return _STORED_KIND[result.created]


def from_stored(kind: int, body: dict[str, Any]) -> Result:
    return Result(_LEGACY_KIND.get(kind, kind == 1), body)
