"""JSON on the wire through orjson (issue 9): frames and payloads keep the documented compact form
they had with the standard library, the jsonb codec keeps PostgreSQL's binary layout, and what
orjson refuses is still refused the way it was."""

from __future__ import annotations

import json

import pytest

from queue_server.adapters.relay import decode_relayed, encode_payload
from queue_server.adapters.store import _jsonb_decode, _jsonb_encode
from queue_server.protocol import Event, Heartbeat, ProtocolError, Snapshot, decode, encode
from queue_server.protocol.printing import (
    JobResult,
    PrinterState,
    PrintJob,
    decode_printer,
    encode_printer,
)

SNAPSHOT = {
    "seq": 17, "hall": "gongshu", "name": "拱墅区行政服务中心", "voice": True,
    "services": [{"code": "A", "name": "企业开办", "waiting": 3, "estimated_wait_minutes": 12}],
    "windows": [{"number": 5, "name": "5 号窗口", "pause_reason": None, "message": '请稍候 "😊" \\ 谢谢'}],
    "recent_calls": [{"number": "A023", "window": 5, "calls": 1}],
}
EVENT = {"seq": 18, "kind": "ticket_called", "hall": "gongshu",
         "ticket": {"number": "A024", "window": 5, "calls": 1}, "payload": {"reason": "急\t办"}}


def _stdlib_compact(body: object) -> str:
    """What the frames were before orjson."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@pytest.mark.parametrize("message", [Snapshot(17, SNAPSHOT), Event(18, EVENT), Heartbeat(18, "2026-11-30T09:01:02+08:00")],
                         ids=["snapshot", "event", "heartbeat"])
def test_websocket_frames_are_the_same_text_as_before(message) -> None:
    frame = encode(message)
    body = {"snapshot": {"type": "snapshot", "seq": 17, "snapshot": SNAPSHOT},
            "event": {"type": "event", "seq": 18, "event": EVENT},
            "heartbeat": {"type": "heartbeat", "seq": 18, "at": "2026-11-30T09:01:02+08:00"}}
    assert frame == _stdlib_compact(body[json.loads(frame)["type"]])
    assert decode(frame) == message
    assert decode(frame.encode("utf-8")) == message


def test_printer_frames_are_the_same_text_as_before() -> None:
    job = {"id": "j1", "ticket": {"number": "A001", "hall_name": "拱墅"}, "profile": {"paper_mm": 80}}
    assert encode_printer(PrintJob(job)) == _stdlib_compact({"type": "print_job", "job": job})
    assert decode_printer(encode_printer(PrintJob(job))) == PrintJob(job)
    state = PrinterState(online=True, paper_near_end=True, detail="纸将尽")
    assert decode_printer(encode_printer(state).encode()) == state
    assert decode_printer(encode_printer(JobResult("j1", False, "卡纸"))) == JobResult("j1", False, "卡纸")


def test_relay_payloads_are_utf8_bytes_of_the_same_json_as_before() -> None:
    data = encode_payload("gongshu", [EVENT], "proc-1")
    assert isinstance(data, bytes)
    assert data.decode("utf-8") == _stdlib_compact({"hall": "gongshu", "events": [EVENT], "origin": "proc-1"})
    assert decode_relayed(data) == ("proc-1", "gongshu", [EVENT])


def test_the_jsonb_codec_writes_version_1_and_reads_back_ints_and_floats_as_they_were() -> None:
    value = {"n": 1, "f": 1.0, "r": 0.1, "big": 2**53 + 1, "名": ["拱墅", None, True], "e": "🍵"}
    data = _jsonb_encode(value)
    assert data[:1] == b"\x01"
    assert json.loads(data[1:]) == value
    back = _jsonb_decode(data)
    assert back == value and [type(back[k]) for k in ("n", "f", "big")] == [int, float, int]
    assert _jsonb_decode(b"\x01" + json.dumps(value).encode()) == value
    with pytest.raises(ValueError, match="version"):
        _jsonb_decode(b"\x02{}")


@pytest.mark.parametrize(("frame", "complaint"), [
    ('{"type": "resync", "after": NaN}', "NaN"),
    ("[" * 2000, "nested too deeply"),
    (b"\xff{", "not valid JSON"),
    ('{"type": "ping"', "not valid JSON"),
])
def test_a_frame_orjson_refuses_gets_the_same_precise_complaint(frame, complaint) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        decode(frame)


def test_a_lone_surrogate_escape_is_read_as_before() -> None:
    # json accepted "\ud800" and so does decode; orjson alone would refuse the whole frame
    assert decode('{"type": "heartbeat", "seq": 1, "at": "\\ud800"}') == Heartbeat(1, "\ud800")
