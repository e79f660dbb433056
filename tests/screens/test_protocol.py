"""queue.v1 messages: encode/decode round trips, and decode failing only with ProtocolError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from screens_fakes import FakeHall

from queue_server.protocol import (
    SUBPROTOCOL,
    Error,
    Event,
    Heartbeat,
    Ping,
    ProtocolError,
    Resync,
    Snapshot,
    announcement,
    announcement_for_event,
    call_sentence,
    decode,
    encode,
)


def test_subprotocol_is_versioned() -> None:
    assert SUBPROTOCOL == "queue.v1"


def _messages() -> list:
    hall = FakeHall()
    snapshot = hall.snapshot
    called = hall.call("A023", 1)
    return [
        Snapshot(0, snapshot),
        Event(called["seq"], called),
        Event(hall.post_notices(["今日 12:00-13:30 午休"])["seq"], hall.ledger[-1]),
        Heartbeat(17, "2026-11-30T09:01:02+08:00"),
        Error("too_slow", "this screen fell behind"),
        Resync(0),
        Resync(12345),
        Ping(),
    ]


@pytest.mark.parametrize("message", _messages(), ids=lambda m: type(m).__name__)
def test_every_message_survives_encode_and_decode(message) -> None:
    assert decode(encode(message)) == message
    assert decode(encode(message).encode()) == message


def test_encode_keeps_chinese_readable() -> None:
    assert "拱墅区行政服务中心" in encode(Snapshot(0, FakeHall().snapshot))


@pytest.mark.parametrize("frame, complaint", [
    ("", "not valid JSON"),
    ("[]", "must be a JSON object"),
    ('{"seq": 1}', "no 'type'"),
    ('{"type": "snapshots"}', "unknown message type"),
    ('{"type": "resync"}', "'after' must be a non-negative integer"),
    ('{"type": "resync", "after": -1}', "'after' must be a non-negative integer"),
    ('{"type": "resync", "after": true}', "'after' must be a non-negative integer"),
    ('{"type": "resync", "after": 1.5}', "'after' must be a non-negative integer"),
    ('{"type": "resync", "after": 4611686018427387905}', "no greater than 4611686018427387904"),
    ('{"type": "heartbeat", "seq": NaN, "at": ""}', "NaN"),
    ('{"type": "event", "seq": 2, "event": {"seq": 3, "kind": "x", "hall": "h"}}',
     "differs from the frame's seq"),
    ('{"type": "event", "seq": 2, "event": {"seq": 2, "kind": "ticket_called", "hall": "h",'
     ' "ticket": {"number": "A1", "calls": 1}}}', "event.ticket.window must be an integer"),
    ('{"type": "snapshot", "seq": 0, "snapshot": {"seq": 0, "hall": "h", "services": [],'
     ' "windows": {}, "recent_calls": []}}', "snapshot.windows must be a list"),
    ("[" * 100_000, "nested too deeply"),
    (b"\xff\xfe{", "not valid JSON"),
])
def test_decode_says_what_is_wrong(frame, complaint) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        decode(frame)


def test_decode_refuses_oversized_frames() -> None:
    with pytest.raises(ProtocolError, match="at most"):
        decode(b" " * (5 * 1024 * 1024))


@given(st.binary(max_size=512))
def test_decode_of_any_bytes_raises_only_protocol_error(data: bytes) -> None:
    try:
        decode(data)
    except ProtocolError:
        pass


@given(st.text(max_size=512))
def test_decode_of_any_text_raises_only_protocol_error(text: str) -> None:
    try:
        decode(text)
    except ProtocolError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)
keys = st.sampled_from(["type", "seq", "after", "at", "code", "detail", "snapshot", "event",
                        "hall", "kind", "ticket", "window", "windows", "services",
                        "recent_calls", "number", "calls", "payload"])
types = st.sampled_from(["snapshot", "event", "heartbeat", "error", "resync", "ping"])


@st.composite
def near_messages(draw) -> dict:
    """JSON objects shaped almost like messages, so the field checks get exercised."""
    body = draw(st.dictionaries(keys, json_values | st.integers(0, 5), max_size=6))
    body["type"] = draw(types)
    if draw(st.booleans()):
        inner = draw(st.dictionaries(keys, json_values | st.integers(0, 5), max_size=8))
        body[draw(st.sampled_from(["snapshot", "event"]))] = inner
    return body


@given(near_messages())
def test_decode_of_near_messages_raises_only_protocol_error(body: dict) -> None:
    try:
        decode(json.dumps(body))
    except ProtocolError:
        pass


def test_call_sentence_reads_the_ticket_one_character_at_a_time() -> None:
    assert call_sentence("A023", 5) == "请 A 0 2 3 号 到 5 号窗口 办理"
    assert call_sentence("B101", 12, calls=2) == "请 B 1 0 1 号 到 12 号窗口 办理，第 2 次呼叫"


def test_announcement_says_the_sentence_twice() -> None:
    assert announcement("A023", 5) == "请 A 0 2 3 号 到 5 号窗口 办理。" * 2


def test_only_calls_and_recalls_are_announced() -> None:
    hall = FakeHall()
    assert announcement_for_event(hall.call("C105", 5)) == announcement("C105", 5)
    assert announcement_for_event(hall.call("C105", 5, calls=3)) == announcement("C105", 5, 3)
    assert announcement_for_event(hall.start_service(5)) is None
    assert announcement_for_event(hall.issue("A")) is None
