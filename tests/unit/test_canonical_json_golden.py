"""The ledger's canonical JSON is frozen: these bytes and hashes were produced before the server
moved to orjson (issue 9) and must never change, or every stored ledger row and signed anchor
would stop verifying. canonical_json stays on the standard library with its exact arguments."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from queue_server.domain.anchor import Anchor, SignedAnchor
from queue_server.domain.ledger import LedgerRow, canonical_json, genesis_hash

SHANGHAI = timezone(timedelta(hours=8))

VALUE = {
    "名称": "拱墅区行政服务中心",
    "emoji": "👍🏻满意🎉",
    "escapes": "quote \" backslash \\ slash / newline \n tab \t nul \u0000 bell \u0007 del \u007f"
               " ls \u2028 nbsp \u00a0",
    "nested": {"b": [1, 2.5, 0.1, -7, True, False, None, "A001"], "a": {"z": 1, "y": {}, "x": []}},
    "ints": [0, -42, 9999, 2**53 + 1, 2**62],
    "floats": [12.0, 1e16, 1e-7, 0.30000000000000004, -1.5],
    "B": "upper sorts before lower",
    "a": "lower",
}

# Sorted keys (by code point: "B" < "a" < "名"), no spaces, CJK and emoji as UTF-8, only " \ and
# C0 controls escaped (DEL, U+2028 and NBSP verbatim), floats as Python's repr (1e+16, 1e-07).
VALUE_JSON = (
    '{"B":"upper sorts before lower","a":"lower","emoji":"👍🏻满意🎉",'
    '"escapes":"quote \\" backslash \\\\ slash / newline \\n tab \\t nul \\u0000 bell \\u0007'
    ' del \x7f ls \u2028 nbsp \xa0",'
    '"floats":[12.0,1e+16,1e-07,0.30000000000000004,-1.5],'
    '"ints":[0,-42,9999,9007199254740993,4611686018427387904],'
    '"nested":{"a":{"x":[],"y":{},"z":1},"b":[1,2.5,0.1,-7,true,false,null,"A001"]},'
    '"名称":"拱墅区行政服务中心"}'
)
VALUE_SHA256 = "07833c9a7912ccb5705fe75c65afa84a1a15bea9763f10cb0681c873ade766ee"

PAUSED = LedgerRow(
    hall="gongshu", seq=3, at=datetime(2026, 11, 30, 9, 1, 2, 345678, tzinfo=SHANGHAI),
    kind="window_paused", actor={"kind": "staff", "id": "1001", "name": "张三", "role": "staff"},
    ticket_id=None, ticket_number=None, window=5, payload={"reason": '午休 🍵 "稍候"'},
    public={"hall": "gongshu", "kind": "window_paused", "window": {"number": 5, "state": "paused"},
            "payload": {"reason": '午休 🍵 "稍候"'}},
    prev_hash=genesis_hash("gongshu"),
)
PAUSED_CONTENT = (
    '{"actor":{"id":"1001","kind":"staff","name":"张三","role":"staff"},'
    '"at":"2026-11-30T01:01:02.345678+00:00","hall":"gongshu","kind":"window_paused",'
    '"payload":{"reason":"午休 🍵 \\"稍候\\""},'
    '"public":{"hall":"gongshu","kind":"window_paused","payload":{"reason":"午休 🍵 \\"稍候\\""},'
    '"window":{"number":5,"state":"paused"}},'
    '"seq":3,"ticket_id":null,"ticket_number":null,"window":5}'
)
PAUSED_HASH = "dc6f299c341aa4b6b1a11ba92f04414042ce4af5e6cda5dbd8b7c8509da9e3fd"

ANCHOR = Anchor("gongshu", 3, bytes.fromhex(PAUSED_HASH), datetime(2026, 11, 30, 17, 30, tzinfo=SHANGHAI),
                "day-close 2026-11-30")


def test_canonical_json_of_chinese_emoji_escapes_nesting_and_numbers_is_byte_identical() -> None:
    text = canonical_json(VALUE)
    assert text == VALUE_JSON
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == VALUE_SHA256


def test_a_ledger_rows_content_and_hash_are_byte_identical() -> None:
    assert PAUSED.content() == PAUSED_CONTENT
    assert PAUSED.computed_hash().hex() == PAUSED_HASH
    assert hashlib.sha256(genesis_hash("gongshu") + PAUSED_CONTENT.encode("utf-8")).hexdigest() == PAUSED_HASH


def test_an_anchors_signed_bytes_and_log_line_are_byte_identical() -> None:
    assert ANCHOR.signed_bytes() == (
        b'hall-queue ledger anchor v1\n{"at":"2026-11-30T09:30:00.000000+00:00","hall":"gongshu",'
        b'"hash":"dc6f299c341aa4b6b1a11ba92f04414042ce4af5e6cda5dbd8b7c8509da9e3fd",'
        b'"reason":"day-close 2026-11-30","seq":3,"v":1}'
    )
    line = SignedAnchor(ANCHOR, "k1", b"\x01" * 64).to_line()
    assert line == (
        '{"at":"2026-11-30T09:30:00.000000+00:00","hall":"gongshu",'
        '"hash":"dc6f299c341aa4b6b1a11ba92f04414042ce4af5e6cda5dbd8b7c8509da9e3fd","key":"k1",'
        '"reason":"day-close 2026-11-30","seq":3,'
        '"sig":"' + "AQEB" * 21 + 'AQ==","v":1}'
    )
    assert SignedAnchor.from_line(line).anchor == ANCHOR
