"""Anchors: what is signed, the log line format, and how an anchor judges a ledger."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from queue_server.adapters import anchors as anchor_files
from queue_server.domain.anchor import Anchor, SignedAnchor, compare_with_ledger

ANCHOR = Anchor("gongshu", 7, bytes(range(32)), datetime(2026, 11, 30, 20, 0, tzinfo=UTC), "on-demand")


def test_a_log_line_reads_back_as_the_same_signed_anchor():
    key = anchor_files.Ed25519PrivateKey.generate()
    signed = anchor_files.sign(key, ANCHOR)
    again = SignedAnchor.from_line(signed.to_line())
    assert again == signed
    assert anchor_files.signature_ok(key.public_key(), again)


@pytest.mark.parametrize(
    "change",
    [
        {"hall": "hushu"},
        {"seq": 6},
        {"head_hash": bytes(32)},
        {"at": datetime(2026, 11, 30, 20, 0, 1, tzinfo=UTC)},
        {"reason": "day-close 2026-11-30"},
    ],
)
def test_every_field_is_covered_by_the_signature(change):
    key = anchor_files.Ed25519PrivateKey.generate()
    signed = anchor_files.sign(key, ANCHOR)
    altered = dataclasses.replace(signed, anchor=dataclasses.replace(ANCHOR, **change))
    assert not anchor_files.signature_ok(key.public_key(), altered)


def test_a_signature_of_another_key_does_not_verify():
    mine, theirs = anchor_files.Ed25519PrivateKey.generate(), anchor_files.Ed25519PrivateKey.generate()
    assert not anchor_files.signature_ok(mine.public_key(), anchor_files.sign(theirs, ANCHOR))
    assert anchor_files.key_id(mine) != anchor_files.key_id(theirs)


def test_the_ledger_is_judged_against_the_anchor():
    assert compare_with_ledger(ANCHOR, 7, ANCHOR.head_hash) is None
    assert compare_with_ledger(ANCHOR, 12, ANCHOR.head_hash) is None  # it grew since: fine
    assert "truncated" in compare_with_ledger(ANCHOR, 6, None)
    assert "rewritten at or before seq 7" in compare_with_ledger(ANCHOR, 9, bytes(32))


@pytest.mark.parametrize(
    "line, problem",
    [
        ("not json", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"v": 2}', "unknown anchor format"),
        ('{"v": 1, "hall": "gongshu"}', "field 'seq' missing"),
        ('{"v": 1, "hall": "g", "seq": -1, "hash": "00", "at": "2026-11-30T20:00:00+00:00", '
         '"reason": "r", "key": "k", "sig": ""}', "non-negative"),
        ('{"v": 1, "hall": "g", "seq": 1, "hash": "zz", "at": "2026-11-30T20:00:00+00:00", '
         '"reason": "r", "key": "k", "sig": ""}', "malformed"),
    ],
)
def test_a_malformed_line_says_what_is_wrong(line, problem):
    with pytest.raises(ValueError, match=problem):
        SignedAnchor.from_line(line)
