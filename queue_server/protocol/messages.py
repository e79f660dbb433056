"""The `queue.v1` websocket messages: typed values, `encode` and a `decode` that fails only
with `ProtocolError`.

Pure (no I/O; JSON through orjson, the project's one fast JSON library): the server, the
pages' Python mirror and the terminal client share it.
The snapshot and event bodies stay JSON-shaped dicts (docs/protocol.md is their contract);
`decode` checks the envelope and the fields a screen relies on before anything reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import orjson

SUBPROTOCOL: Final = "queue.v1"

#: A client asking for more than this many events gets a snapshot instead.
MAX_RESYNC_EVENTS: Final = 500

#: Frames larger than this are refused by `decode` (a snapshot of a large hall is ~100 KiB).
MAX_FRAME_BYTES: Final = 4 * 1024 * 1024

# Close codes (RFC 6455 section 7.4; 4000-4999 are ours).
CLOSE_GOING_AWAY: Final = 1001  # server shutting down: reconnect with backoff
CLOSE_UNSUPPORTED_DATA: Final = 1003  # a binary frame
CLOSE_BAD_MESSAGE: Final = 1008  # a frame that is not a valid queue.v1 client message
CLOSE_TRY_AGAIN: Final = 1013  # snapshot or ledger unavailable: reconnect with backoff
MAX_SEQ: Final = 2**62  # a ledger sequence number fits PostgreSQL's bigint with room to spare
CLOSE_TOO_SLOW: Final = 4000  # the screen fell behind and was dropped: reconnect with after=SEQ
CLOSE_REVOKED: Final = 4003  # the device's token was revoked: do not reconnect; pair again


class ProtocolError(ValueError):
    """A frame that is not a valid `queue.v1` message; the message says what and why."""


JSONObject: TypeAlias = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole board of one hall at `seq` (server → client)."""

    seq: int
    snapshot: JSONObject


@dataclass(frozen=True, slots=True)
class Event:
    """One ledger row announced after its commit (server → client)."""

    seq: int
    event: JSONObject


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The hall's current seq; a client behind it asks for a resync (server → client)."""

    seq: int
    at: str


@dataclass(frozen=True, slots=True)
class Error:
    """Why the server is about to close the connection (server → client)."""

    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Resync:
    """"I last applied `after`; send what follows" (client → server)."""

    after: int


@dataclass(frozen=True, slots=True)
class Ping:
    """Asks for a heartbeat (client → server)."""


ServerMessage: TypeAlias = Snapshot | Event | Heartbeat | Error
ClientMessage: TypeAlias = Resync | Ping
Message: TypeAlias = ServerMessage | ClientMessage


def encode(message: Message) -> str:
    """The text frame for `message`: compact JSON, CJK left unescaped (orjson)."""
    match message:
        case Snapshot(seq, snapshot):
            body: JSONObject = {"type": "snapshot", "seq": seq, "snapshot": snapshot}
        case Event(seq, event):
            body = {"type": "event", "seq": seq, "event": event}
        case Heartbeat(seq, at):
            body = {"type": "heartbeat", "seq": seq, "at": at}
        case Error(code, detail):
            body = {"type": "error", "code": code, "detail": detail}
        case Resync(after):
            body = {"type": "resync", "after": after}
        case Ping():
            body = {"type": "ping"}
        case _:
            raise TypeError(f"cannot encode {type(message).__name__}; expected a queue.v1 message")
    return orjson.dumps(body).decode()


def decode(data: bytes | str) -> Message:
    """Parse one frame; raises `ProtocolError` (and nothing else) for any invalid input."""
    try:
        return _decode(data)
    except ProtocolError:
        raise
    except RecursionError:  # json nests deeper than the interpreter allows
        raise ProtocolError("frame is nested too deeply") from None
    except (ValueError, TypeError, UnicodeError, OverflowError, MemoryError) as exc:
        raise ProtocolError(f"frame is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"frame contains {name}, which JSON does not allow")


def _decode(data: bytes | str) -> Message:
    if isinstance(data, bytes | bytearray | memoryview):
        if len(data) > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame is {len(data)} bytes; at most {MAX_FRAME_BYTES} allowed")
    elif isinstance(data, str):
        if len(data) > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame is {len(data)} characters; at most {MAX_FRAME_BYTES}")
    else:
        raise ProtocolError(f"frame must be bytes or str, not {type(data).__name__}")
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        # What orjson refuses, the standard library parses again: the error says what is wrong
        # as before (NaN named, "nested too deeply"), and what json accepts is still accepted.
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
        body = json.loads(text, parse_constant=_reject_constant)
    if not isinstance(body, dict):
        raise ProtocolError(f"frame must be a JSON object, not {type(body).__name__}")
    kind = body.get("type")
    match kind:
        case "snapshot":
            seq = _seq(body, "seq")
            snapshot = _object(body, "snapshot")
            _check_snapshot(snapshot, seq)
            return Snapshot(seq, snapshot)
        case "event":
            seq = _seq(body, "seq")
            event = _object(body, "event")
            _check_event(event, seq)
            return Event(seq, event)
        case "heartbeat":
            return Heartbeat(_seq(body, "seq"), _text(body, "at"))
        case "error":
            return Error(_text(body, "code"), _text(body, "detail"))
        case "resync":
            return Resync(_seq(body, "after"))
        case "ping":
            return Ping()
        case None:
            raise ProtocolError("frame has no 'type'")
        case _:
            raise ProtocolError(f"unknown message type {_show(kind)}; expected one of "
                                "snapshot, event, heartbeat, error, resync, ping")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _seq(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    # bool is an int in Python; a seq of `true` is a bug on the other side.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEQ:
        raise ProtocolError(f"'{key}' must be a non-negative integer no greater than {MAX_SEQ}, got {_show(value)}")
    return value


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"'{key}' must be a string, got {_show(value)}")
    return value


def _object(body: Mapping[str, Any], key: str) -> JSONObject:
    value = body.get(key)
    if not isinstance(value, dict):
        raise ProtocolError(f"'{key}' must be an object, got {_show(value)}")
    return value


def _list_of_objects(body: Mapping[str, Any], key: str, where: str) -> None:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ProtocolError(f"{where}.{key} must be a list of objects, got {_show(value)}")


def _optional_object(body: Mapping[str, Any], key: str, where: str) -> None:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise ProtocolError(f"{where}.{key} must be an object or null, got {_show(value)}")


def _check_snapshot(snapshot: Mapping[str, Any], seq: int) -> None:
    if _seq(snapshot, "seq") != seq:
        raise ProtocolError(f"snapshot.seq {snapshot['seq']} differs from the frame's seq {seq}")
    if not isinstance(snapshot.get("hall"), str):
        raise ProtocolError(f"snapshot.hall must be a string, got {_show(snapshot.get('hall'))}")
    for key in ("services", "windows", "recent_calls"):
        _list_of_objects(snapshot, key, "snapshot")
    for window in snapshot["windows"]:
        _window(window, "snapshot.windows[]")
    for call in snapshot["recent_calls"]:
        _call(call, "snapshot.recent_calls[]")
    for service in snapshot["services"]:
        if not isinstance(service.get("code"), str):
            raise ProtocolError("snapshot.services[].code must be a string")


def _check_event(event: Mapping[str, Any], seq: int) -> None:
    if _seq(event, "seq") != seq:
        raise ProtocolError(f"event.seq {event['seq']} differs from the frame's seq {seq}")
    for key in ("kind", "hall"):
        if not isinstance(event.get(key), str):
            raise ProtocolError(f"event.{key} must be a string, got {_show(event.get(key))}")
    _optional_object(event, "ticket", "event")
    _optional_object(event, "window", "event")
    if event.get("window") is not None:
        _window(event["window"], "event.window")
    if event.get("services") is not None:
        _list_of_objects(event, "services", "event")
        for service in event["services"]:
            if not isinstance(service.get("code"), str):
                raise ProtocolError("event.services[].code must be a string")
    if event.get("payload") is not None and not isinstance(event["payload"], dict):
        raise ProtocolError(f"event.payload must be an object, got {_show(event['payload'])}")
    if event["kind"] in ("ticket_called", "ticket_recalled"):
        ticket = event.get("ticket")
        if not isinstance(ticket, dict):
            raise ProtocolError(f"event.ticket of a {event['kind']} must be an object")
        _call(ticket, "event.ticket")


def _window(window: Mapping[str, Any], where: str) -> None:
    number = window.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise ProtocolError(f"{where}.number must be an integer, got {_show(number)}")


def _call(call: Mapping[str, Any], where: str) -> None:
    """A call as a screen reads it: a ticket number, a window and a call count."""
    if not isinstance(call.get("number"), str):
        raise ProtocolError(f"{where}.number must be a string, got {_show(call.get('number'))}")
    for key in ("window", "calls"):
        value = call.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ProtocolError(f"{where}.{key} must be an integer, got {_show(value)}")
