"""The board a screen shows, as a pure reducer: `apply(board, message) -> (board, actions)`.

No I/O: the connection loop performs the actions (send a resync, speak an announcement).
The pages' `reducer.js` mirrors this module rule for rule; docs/protocol.md states the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

from queue_server.protocol import (
    Error,
    Event,
    Heartbeat,
    Message,
    Snapshot,
    announcement_for_event,
)
from queue_server.protocol.voice import CALL_KINDS

#: How many calls a snapshot keeps in `recent_calls`.
RECENT_CALLS = 10

@dataclass(frozen=True, slots=True)
class SendResync:
    """Ask the server for what follows `after`."""

    after: int


@dataclass(frozen=True, slots=True)
class Announce:
    """Speak `text` (a call or recall of ticket `number`, said twice)."""

    seq: int
    text: str
    number: str = ""


Action: TypeAlias = SendResync | Announce


@dataclass(frozen=True, slots=True)
class Board:
    """What one screen knows of one hall. Treat the mappings as read-only."""

    hall: str
    area: str | None = None  # show and announce only this area's windows
    window: int | None = None  # a window screen: announce only this window's calls
    seq: int | None = None  # None until the first snapshot
    snapshot: Mapping[str, Any] | None = None
    resync_after: int | None = None  # a resync for what follows this seq is unanswered
    last_kinds: Mapping[int, str] = field(default_factory=dict)  # window → last event kind

    @property
    def synced(self) -> bool:
        return self.seq is not None and self.resync_after is None


def apply(board: Board, message: Message) -> tuple[Board, list[Action]]:
    """The board after `message`, and what the screen must do about it."""
    match message:
        case Snapshot(seq, snapshot):
            # A snapshot is the server's whole truth: it replaces everything, gaps included.
            return replace(board, seq=seq, snapshot=snapshot, resync_after=None,
                           last_kinds={}), []
        case Event(seq, event):
            return _apply_event(board, seq, event)
        case Heartbeat(seq):
            if board.seq is None:
                return board, []
            if seq > board.seq:
                # Always (re)ask: a heartbeat comes every 10 s, so this is also the retry
                # of a resync whose answer was lost.
                return replace(board, resync_after=board.seq), [SendResync(board.seq)]
            return replace(board, resync_after=None), []
        case Error():
            return board, []
        case _:  # resync and ping travel the other way
            return board, []


def _apply_event(board: Board, seq: int, event: Mapping[str, Any]) -> tuple[Board, list[Action]]:
    if board.seq is None or board.snapshot is None or seq <= board.seq:
        return board, []  # before the first snapshot, or already applied
    if seq > board.seq + 1:
        if board.resync_after == board.seq:
            return board, []  # asked already; the answer is on its way
        return replace(board, resync_after=board.seq), [SendResync(board.seq)]
    snapshot = apply_event(board.snapshot, event)
    last_kinds = board.last_kinds
    window = event.get("window")
    if isinstance(window, Mapping):
        last_kinds = {**last_kinds, window["number"]: event["kind"]}
    board = replace(board, seq=seq, snapshot=snapshot, resync_after=None,
                    last_kinds=last_kinds)
    actions: list[Action] = []
    text = announcement_for_event(event)
    if text is not None and _concerns(board, event["ticket"]):
        actions.append(Announce(seq, text, event["ticket"]["number"]))
    return board, actions


def apply_event(snapshot: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    """The snapshot after `event` (docs/protocol.md, "Applying an event")."""
    result = dict(snapshot)
    result["seq"] = event["seq"]
    if "at" in event:
        result["at"] = event["at"]
    window = event.get("window")
    if isinstance(window, Mapping):
        windows = [w for w in snapshot.get("windows", []) if w["number"] != window["number"]]
        windows.append(dict(window))
        result["windows"] = sorted(windows, key=lambda w: w["number"])
    services = event.get("services") or []
    if services:
        changed = {service["code"]: service for service in services}
        known = [changed.pop(s["code"], s) for s in snapshot.get("services", [])]
        result["services"] = known + list(changed.values())
    kind = event.get("kind")
    if kind in CALL_KINDS:
        ticket = event["ticket"]
        call = {"number": ticket["number"], "service": ticket.get("service"),
                "window": ticket["window"], "calls": ticket["calls"], "at": event.get("at")}
        earlier = [c for c in snapshot.get("recent_calls", []) if c["number"] != call["number"]]
        result["recent_calls"] = [call, *earlier][:RECENT_CALLS]
    elif kind == "notice_posted":
        payload = event.get("payload") or {}
        if isinstance(payload.get("notices"), list):
            result["notices"] = list(payload["notices"])
        if isinstance(payload.get("notice_items"), list):
            result["notice_items"] = list(payload["notice_items"])
    return result


def _concerns(board: Board, ticket: Mapping[str, Any]) -> bool:
    """Whether a call belongs on this screen: voice follows the area / window filter."""
    window = ticket.get("window")
    if board.window is not None and window != board.window:
        return False
    if board.area is None or board.snapshot is None:
        return True
    return window_area(board.snapshot, window, ticket.get("service")) == board.area


def window_area(snapshot: Mapping[str, Any], window: Any, service: Any = None) -> str | None:
    """The area of a window (or, failing that, of the service)."""
    for candidate in snapshot.get("windows", []):
        if candidate.get("number") == window:
            return candidate.get("area")
    for candidate in snapshot.get("services", []):
        if candidate.get("code") == service:
            return candidate.get("area")
    return None


def civility_moment(board: Board, window_number: int) -> str | None:
    """Which civility phrases fit window `window_number` now: greeting when a number is
    called, serving during service, finished after; None while paused or closed."""
    if board.snapshot is None:
        return None
    window = next((w for w in board.snapshot.get("windows", [])
                   if w.get("number") == window_number), None)
    if window is None or window.get("state") != "open":
        return None
    current = window.get("current") or {}
    if current.get("status") == "called":
        return "greeting"
    if current.get("status") == "serving":
        return "serving"
    return "finished" if board.last_kinds.get(window_number) == "ticket_finished" \
        else "greeting"
