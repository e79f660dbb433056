"""Hostile and malformed input: one bad request never harms another, and every client's error is
a 400 (or 415) naming the field, never a 500 and never a traceback in the log."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import pytest

from queue_server.adapters import store
from queue_server.domain.errors import QueueError
from queue_server.domain.model import Event
from queue_server.main import verify_hall
from queue_server.service.principal import Principal
from queue_server.service.queue import Outcome
from queue_server.service.writes import PrintJobInsert
from queue_server.web.keys import QUEUE
from queue_server.web.problem import status_of
from tests.api.checks import expect_problem, fetch, ledger, ok, post, tables

ISSUE = "/api/v1/halls/gongshu/tickets"
NUL = "\u0000"


async def _verified(h) -> None:
    pool = await store.create_pool(h.dsn, min_size=1, max_size=1)
    try:
        result = await verify_hall(pool, "gongshu")
    finally:
        await pool.close()
    assert result.ok, result.line


async def test_poisoned_requests_fail_alone_and_every_valid_one_sent_with_them_succeeds(hall):
    """40 valid tickets and 2 with a NUL in the priority reason, all at once: 40 × 201, 2 × 400."""
    valid = [post(hall, ISSUE, by="K01", json_body={"service": "A"}) for _ in range(40)]
    poisoned = [
        post(hall, ISSUE, by="1001",
             json_body={"service": "A", "priority": "green", "priority_reason": f"陪同{NUL}家属"})
        for _ in range(2)
    ]
    answers = await asyncio.gather(*valid[:20], *poisoned[:1], *valid[20:], *poisoned[1:])
    statuses = [a.status for a in answers]
    assert statuses.count(201) == 40 and statuses.count(400) == 2, statuses
    for answer in answers:
        if answer.status == 400:
            await expect_problem(answer, 400, field="priority_reason", detail_has="U+0000")
    numbers = sorted([(await a.json())["number"] for a in answers if a.status == 201])
    assert numbers == [f"A{i:03d}" for i in range(1, 41)]
    await _verified(hall)


async def test_a_command_whose_write_the_database_refuses_fails_alone_in_its_batch(hall):
    """Defence behind the validator: a write PostgreSQL refuses is retried without the command
    that caused it, so the others of its group commit still succeed."""
    svc = hall.client.app[QUEUE]
    kiosk = Principal("device", "K01", "K01", "kiosk", "gongshu")

    def poisoned(state, now: datetime) -> Outcome:
        event = Event("notice_posted", None, None, {"notices": ["ok"]})
        # Text with a NUL (SQLSTATE class 22) for a ticket that does not exist (class 23):
        # PostgreSQL refuses it at write time.
        job = PrintJobInsert("pj_poisoned", "gongshu", "K01", "no-such-ticket", {"text": "a\x00b"}, now)
        return Outcome({}, [(event, None)], writes=[job])

    def issue() -> Any:
        return svc.issue("gongshu", kiosk, service="A", priority=None, priority_reason=None,
                         channel="kiosk", key=None)

    # All enqueued before the hall's worker runs: one batch with the poisoned command in the middle.
    results = await asyncio.gather(
        *[issue() for _ in range(10)], svc.execute("gongshu", poisoned, kiosk.actor),
        *[issue() for _ in range(10)], return_exceptions=True)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and results[10] is refused[0], results
    assert isinstance(refused[0], QueueError) and status_of(refused[0]) == 400
    assert all(r.created for r in results if not isinstance(r, BaseException))  # 201
    rows = await fetch(hall, "SELECT count(*) AS n FROM tickets WHERE hall = 'gongshu'")
    assert rows[0]["n"] == 20
    kinds = [e["kind"] for e in await ledger(hall)]
    assert kinds.count("ticket_issued") == 20 and "notice_posted" not in kinds
    await _verified(hall)


TEXT_FIELDS = [
    # (action path under windows/1, the body, the field named in the answer)
    ("pause", {"reason": "午休" + NUL}, "reason"),
    ("message", {"text": "请稍候" + NUL}, "text"),
    ("call", {"number": "A001", "reason": "急" + NUL}, "reason"),
    ("transfer", {"service": "B", "reason": "转" + NUL}, "reason"),
    ("suspend", {"reason": "缺材料\x07"}, "reason"),
    ("pause", {"reason": "午休\n吃饭"}, "reason"),  # a one-line field takes no line break
    ("message", {"text": "字" * 61}, "text"),  # over the table's limit
    ("pause", {"reason": "\ud800"}, "reason"),  # a lone surrogate is not text
]


@pytest.mark.parametrize(("action", "body", "field"), TEXT_FIELDS,
                         ids=[f"{a}-{f}-{i}" for i, (a, _b, f) in enumerate(TEXT_FIELDS)])
async def test_a_control_character_or_an_overlong_text_in_a_window_command_is_400_and_changes_nothing(
        hall, action, body, field):
    await hall.issue("A")
    await hall.act(1, "open")
    before = await tables(hall)
    resp = await post(hall, f"/api/v1/halls/gongshu/windows/1/{action}", json_body=body)
    await expect_problem(resp, 400, field=field)
    assert await tables(hall) == before


OTHER_TEXT_FIELDS = [
    ("/api/v1/halls/gongshu/tickets", "K01", {"service": "A" + NUL}, "service"),
    ("/api/v1/halls/gongshu/tickets", "K01", {"service": "A", "channel": "kiosk" + NUL}, "channel"),
    ("/api/v1/halls/gongshu/notices", "9001", {"notices": ["欢迎", "请排队" + NUL]}, "notices[1]"),
    ("/api/v1/halls/gongshu/notices", "9001", {"notices": ["字" * 201]}, "notices[0]"),
    ("/api/v1/auth/login", None, {"staff_id": "1001" + NUL, "password": "x"}, "staff_id"),
    ("/api/v1/auth/login", None, {"staff_id": "1001", "password": "x" + NUL}, "password"),
    ("/api/v1/halls/gongshu/appointments", "1001",
     {"service": "A", "slot_start": "2026-12-01T10:00:00+08:00" + NUL,
      "slot_end": "2026-12-01T10:30:00+08:00"}, "slot_start"),
    ("/api/v1/halls/gongshu/tickets/A001/cancel", "1001", {"reason": "x" + NUL}, "reason"),
    ("/api/v1/halls/gongshu/tickets", "K01", {"service": "A", "x\u0000": 1}, "body key"),
]


@pytest.mark.parametrize(("path", "by", "body", "field"), OTHER_TEXT_FIELDS,
                         ids=[f"{i}-{f}" for i, (_p, _b, _x, f) in enumerate(OTHER_TEXT_FIELDS)])
async def test_a_nul_in_any_text_field_is_400_naming_the_field_and_changes_nothing(
        hall, path, by, body, field):
    await hall.add_staff("9001", role="manager", name="王经理")
    await hall.issue("A")
    before = await tables(hall)
    resp = await post(hall, path, by=by, json_body=body)
    await expect_problem(resp, 400, field=field)
    assert await tables(hall) == before


async def test_text_is_stored_in_unicode_nfc(hall):
    await hall.act(1, "open")
    decomposed = "Cafe\u0301 午休"  # e + combining acute accent
    await hall.act(1, "pause", reason=decomposed)
    rows = await fetch(hall, "SELECT pause_reason FROM windows WHERE hall = 'gongshu' AND number = 1")
    assert rows[0]["pause_reason"] == "Caf\u00e9 午休"


async def test_a_deeply_nested_body_is_400_without_a_traceback(hall, caplog):
    nested = "[" * 1500 + "]" * 1500
    caplog.set_level(logging.INFO)
    for path in ("/api/v1/auth/login", "/api/v1/tickets/whatever/follow-up-rating", ISSUE):
        resp = await post(hall, path, by=None if "tickets/" in path or "auth" in path else "K01",
                          data='{"staff_id": ' + nested + "}")
        assert resp.status in (400, 404), await resp.text()
        if resp.status == 400:
            await expect_problem(resp, 400, field="body")
    body = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}
    await expect_problem(await post(hall, ISSUE, by="K01", json_body=body), 400)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_body_that_is_not_json_is_415(hall):
    resp = await hall.client.post(ISSUE, data="service=A", headers=hall.auth(
        "K01", **{"Content-Type": "application/x-www-form-urlencoded"}))
    await expect_problem(resp, 415, field="Content-Type")
    assert (await fetch(hall, "SELECT count(*) AS n FROM tickets"))[0]["n"] == 0


@pytest.mark.parametrize("level", [[], {}, 5, None, True, "x" * 500])
async def test_a_rating_level_of_the_wrong_type_is_400(hall, level):
    from queue_server.domain.errors import InvalidInput
    from queue_server.web.commands import rating_command

    with pytest.raises(InvalidInput) as refused:
        rating_command({"level": level}, hall.config, "phone")
    assert refused.value.field == "level"


@pytest.mark.parametrize("window", ["²", "١", "1_0", "+1", "99999999999999999999999", "-1"])
async def test_a_window_number_that_is_not_ascii_digits_is_400(hall, window):
    resp = await post(hall, f"/api/v1/halls/gongshu/windows/{window}/open", json_body={})
    await expect_problem(resp, 400, field="window")
    rows = await fetch(hall, "SELECT count(*) AS n FROM windows WHERE status <> 'closed'")
    assert rows[0]["n"] == 0


@pytest.mark.parametrize("instant", ["9999-12-31T23:59:59+08:00", "0001-01-01T00:00:00+08:00",
                                     "2026-12-01T10:00:00"])
async def test_an_appointment_slot_outside_the_years_this_system_books_is_400(hall, instant):
    resp = await post(hall, "/api/v1/halls/gongshu/appointments", json_body={
        "service": "A", "slot_start": instant, "slot_end": "2026-12-01T10:30:00+08:00"})
    await expect_problem(resp, 400, field="slot_start")


@pytest.mark.parametrize("seq", ["1" * 20, "١", "-3"])
async def test_an_announcement_number_beyond_the_ledger_is_400(hall, seq):
    token = await hall.add_device("D01", role="display")
    resp = await hall.client.get(f"/api/v1/halls/gongshu/announcements/{seq}.wav",
                                 headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["field"] == "seq"


@pytest.mark.parametrize("after", [str(2**63), str(2**70), "١", "1e3"])
async def test_a_screen_asking_after_a_sequence_beyond_bigint_is_400(hall, after):
    token = await hall.add_device("D01", role="display")
    resp = await hall.client.get("/ws/v1/halls/gongshu", params={"after": after, "token": token},
                                 headers={"Sec-WebSocket-Protocol": "queue.v1"})
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["field"] == "after"


@pytest.mark.parametrize("query", ["after=1%00", "after=" + str(2**64), "limit=%D9%A1"])
async def test_a_bad_query_value_is_400(hall, query):
    resp = await hall.client.get(f"/api/v1/halls/gongshu/events?{query}", headers=hall.auth("1001"))
    await expect_problem(resp, 400)


async def test_a_method_the_route_does_not_take_is_405_with_allow(hall):
    resp = await hall.client.put(ISSUE, json={"service": "A"}, headers=hall.auth("K01"))
    await expect_problem(resp, 405)
    assert "POST" in resp.headers["Allow"]


async def test_pages_forbid_framing_and_foreign_scripts(hall):
    for path in ("/", "/display/hall/gongshu", "/kiosk/gongshu", "/staff"):
        resp = await hall.client.get(path)
        if resp.status != 200:
            continue
        policy = resp.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, (path, policy)
        assert resp.headers["X-Frame-Options"] == "DENY"
    resp = await hall.client.get("/")
    assert resp.status == 200 and "Content-Security-Policy" in resp.headers


async def test_json_answers_carry_nosniff(hall):
    resp = await hall.client.get("/api/v1/halls")
    await ok(resp)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
