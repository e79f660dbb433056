"""Issuing tickets (取号), a ticket's public status, and restoring or cancelling a ticket."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from queue_server.config import Config
from tests.api.checks import expect_problem, fetch, ledger, ok, post, tables
from tests.support.hall import MONDAY_10AM, FakeClock, sample_config

ISSUE = "/api/v1/halls/gongshu/tickets"
SUNDAY_10AM = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
HOURS = "周一、二、三、四、五 08:30-17:00"


def with_quota(config: Config, hall_id: str, service: str, quota: int) -> Config:
    hall = config.halls[hall_id]
    services = {**hall.services, service: replace(hall.services[service], daily_quota=quota)}
    return replace(config, halls={**config.halls, hall_id: replace(hall, services=services)})


async def ticket_count(h, service: str | None = None) -> int:
    if service is None:
        return len(await fetch(h, "SELECT 1 FROM tickets"))
    return len(await fetch(h, "SELECT 1 FROM tickets WHERE service = $1", service))


async def issued_events(h) -> list[dict]:
    return [e for e in await ledger(h) if e["kind"] == "ticket_issued"]


async def miss(h, window: int = 1) -> None:
    """Call the window's next ticket the allowed number of times, then mark it missed."""
    await h.act(window, "call-next")
    for _ in range(2):
        h.clock.advance(30)
        await h.act(window, "recall")
    await h.act(window, "miss")


async def sign_in_again(h, staff_id: str = "1001") -> None:
    resp = await h.client.post(
        "/api/v1/auth/login", json={"staff_id": staff_id, "password": "secret-pass-1"}
    )
    h.tokens[staff_id] = (await ok(resp))["token"]


# ---- issuing ----------------------------------------------------------------------------


async def test_issue_answers_201_with_number_wait_and_status_url(hall):
    resp = await post(
        hall, ISSUE, by="K01", json_body={"service": "A", "priority": None, "channel": "kiosk"}
    )
    ticket = await ok(resp, 201)
    assert ticket["number"] == "A001"
    assert ticket["service"] == "A"
    assert ticket["status"] == "waiting"
    assert ticket["issued_at"] == "2026-11-30T10:00:00+08:00"
    assert ticket["ahead"] == 0
    assert ticket["estimated_wait_minutes"] == 0
    assert ticket["status_url"].endswith(f"/t/{ticket['holder_secret']}")


async def test_issue_counts_people_ahead_and_estimates_the_wait(hall):
    await hall.issue("A")
    second = await hall.issue("A")
    assert second["number"] == "A002"
    assert second["ahead"] == 1
    # One person ahead, 20 minutes each, six windows offer A (none open yet).
    assert second["estimated_wait_minutes"] == 4


async def test_ticket_ids_and_holder_secrets_are_unguessable_and_distinct(hall):
    tickets = [await hall.issue("A") for _ in range(3)]
    ids = [t["id"] for t in tickets]
    secrets = [t["holder_secret"] for t in tickets]
    assert len(set(ids) | set(secrets)) == 6
    for key in ids + secrets:
        assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", key), key
        assert "A00" not in key
    assert all(len(s) >= 32 for s in secrets)


async def test_numbering_is_per_service(hall):
    numbers = [(await hall.issue(s))["number"] for s in ("A", "B", "A", "C")]
    assert numbers == ["A001", "B001", "A002", "C001"]


async def test_staff_of_the_hall_may_issue(hall):
    ticket = await hall.issue("C", by="1001", channel="guide")
    assert ticket["number"] == "C001"
    assert (await issued_events(hall))[0]["actor"]["id"] == "1001"


async def test_staff_grant_the_green_channel_with_a_reason(hall):
    ticket = await hall.issue("A", by="1001", priority="green", priority_reason="重病家属陪同")
    assert ticket["priority"] == "green"
    await hall.add_staff("9001", role="manager", name="王经理")
    event = [e for e in await ledger(hall, by="9001") if e["kind"] == "ticket_issued"][0]
    assert event["payload"]["priority_reason"] == "重病家属陪同"


async def test_a_clerk_reading_the_ledger_sees_the_priority_reason_masked(hall):
    """A priority reason may carry a citizen's personal data: only managers read it in /events."""
    await hall.issue("A", by="1001", priority="green", priority_reason="重病家属陪同")
    event = (await issued_events(hall))[0]
    assert event["payload"]["priority_reason"] == "（已隐去）"
    assert "重病家属陪同" not in json.dumps(await ledger(hall), ensure_ascii=False)


async def test_the_public_status_does_not_reveal_the_priority_reason(hall):
    ticket = await hall.issue("A", by="1001", priority="green", priority_reason="重病家属陪同")
    resp = await hall.client.get(f"/api/v1/tickets/{ticket['holder_secret']}")
    await ok(resp)
    assert "重病家属陪同" not in await resp.text()
    snapshot = await hall.client.get("/api/v1/halls/gongshu/queue")
    assert "重病家属陪同" not in await snapshot.text()


async def test_a_kiosk_cannot_grant_the_green_channel(hall):
    before = await tables(hall)
    resp = await post(
        hall,
        ISSUE,
        by="K01",
        json_body={"service": "A", "priority": "green", "priority_reason": "x"},
    )
    assert resp.status in (403, 409)
    await expect_problem(resp, resp.status, field="priority")
    assert await tables(hall) == before


async def test_issue_without_a_token_is_401(hall):
    resp = await post(hall, ISSUE, by=None, json_body={"service": "A"})
    await expect_problem(resp, 401)
    assert await ticket_count(hall) == 0


async def test_issue_with_an_unknown_token_is_401(hall):
    resp = await hall.client.post(
        ISSUE, json={"service": "A"}, headers={"Authorization": "Bearer hqd_not-a-real-token"}
    )
    await expect_problem(resp, 401)


async def test_issue_by_a_kiosk_of_another_hall_is_403(hall):
    await hall.add_device("HK1", hall="hushu", role="kiosk")
    resp = await post(hall, ISSUE, by="HK1", json_body={"service": "A"})
    await expect_problem(resp, 403, detail_has="hushu")
    assert await ticket_count(hall) == 0


async def test_issue_by_staff_of_another_hall_is_403(hall):
    await hall.add_staff("2001", hall="hushu", name="李四")
    resp = await post(hall, ISSUE, by="2001", json_body={"service": "A"})
    await expect_problem(resp, 403)


async def test_issue_by_a_display_device_is_403(hall):
    await hall.add_device("D01", role="display")
    resp = await post(hall, ISSUE, by="D01", json_body={"service": "A"})
    await expect_problem(resp, 403, detail_has="display")


async def test_issue_in_an_unknown_hall_is_404(hall):
    resp = await post(hall, "/api/v1/halls/nowhere/tickets", by="K01", json_body={"service": "A"})
    await expect_problem(resp, 404, detail_has="nowhere")


async def test_issue_of_an_unknown_service_is_404_and_writes_nothing(hall):
    before = await tables(hall)
    resp = await post(hall, ISSUE, by="K01", json_body={"service": "Z"})
    await expect_problem(resp, 404, detail_has="'Z'")
    assert await tables(hall) == before


async def test_issue_with_malformed_json_is_400(hall):
    resp = await post(hall, ISSUE, by="K01", data='{"service": "A"')
    await expect_problem(resp, 400, detail_has="JSON")
    assert await ticket_count(hall) == 0


async def test_issue_with_a_body_that_is_not_an_object_is_400(hall):
    resp = await post(hall, ISSUE, by="K01", json_body=["A"])
    await expect_problem(resp, 400)


async def test_issue_without_a_service_is_400_naming_the_field(hall):
    resp = await post(hall, ISSUE, by="K01", json_body={"channel": "kiosk"})
    await expect_problem(resp, 400, field="service")


async def test_issue_with_a_service_of_the_wrong_type_is_400_naming_the_field(hall):
    resp = await post(hall, ISSUE, by="K01", json_body={"service": 1})
    await expect_problem(resp, 400, field="service")


async def test_issue_with_an_unknown_channel_is_400_naming_the_field(hall):
    resp = await post(hall, ISSUE, by="K01", json_body={"service": "A", "channel": "fax"})
    await expect_problem(resp, 400, field="channel")


async def test_issue_with_an_unknown_priority_class_is_400_naming_the_field(hall):
    resp = await post(hall, ISSUE, by="K01", json_body={"service": "A", "priority": "vip"})
    await expect_problem(resp, 400, field="priority")


async def test_green_channel_without_a_reason_is_400(hall):
    resp = await post(hall, ISSUE, by="1001", json_body={"service": "A", "priority": "green"})
    await expect_problem(resp, 400, field="priority_reason")
    assert await ticket_count(hall) == 0


# ---- idempotency ------------------------------------------------------------------------


async def test_retried_issue_with_the_same_key_returns_the_same_ticket_once(hall):
    first = await ok(
        await post(hall, ISSUE, by="K01", key="kiosk-K01-0001", json_body={"service": "A"}), 201
    )
    again = await ok(
        await post(hall, ISSUE, by="K01", key="kiosk-K01-0001", json_body={"service": "A"}), 201
    )
    assert again == first
    assert await ticket_count(hall) == 1
    assert len(await issued_events(hall)) == 1
    nxt = await hall.issue("A")
    assert nxt["number"] == "A002"


async def test_a_double_click_with_one_key_issues_one_ticket(hall):
    """Two identical requests in flight at once: one ticket, the same answer to both."""
    responses = await asyncio.gather(
        *(
            post(hall, ISSUE, by="K01", key="double-click", json_body={"service": "B"})
            for _ in range(2)
        )
    )
    bodies = [await ok(r, 201) for r in responses]
    assert bodies[0] == bodies[1]
    assert bodies[0]["number"] == "B001"
    assert await ticket_count(hall) == 1


async def test_same_key_with_a_different_body_is_refused_and_changes_nothing(hall):
    await ok(await post(hall, ISSUE, by="K01", key="k-1", json_body={"service": "A"}), 201)
    before = await tables(hall)
    resp = await post(hall, ISSUE, by="K01", key="k-1", json_body={"service": "B"})
    assert 400 <= resp.status < 500
    await expect_problem(resp, resp.status, field="Idempotency-Key")
    assert await tables(hall) == before
    assert await ticket_count(hall, "B") == 0


async def test_an_idempotency_key_that_is_not_visible_ascii_is_400(hall):
    resp = await hall.client.post(
        ISSUE, json={"service": "A"}, headers=hall.auth("K01", **{"Idempotency-Key": "a" * 201})
    )
    await expect_problem(resp, 400, field="Idempotency-Key")
    assert await ticket_count(hall) == 0


# ---- quota and business hours -----------------------------------------------------------


async def test_issue_past_the_daily_quota_is_409_and_writes_nothing(make_hall):
    h = await make_hall(config=with_quota(sample_config(), "gongshu", "L", 2))
    assert [(await h.issue("L"))["number"] for _ in range(2)] == ["L001", "L002"]
    before = await tables(h)
    resp = await post(h, ISSUE, by="K01", json_body={"service": "L"})
    await expect_problem(resp, 409, detail_has="该业务今日号源已满")
    assert await tables(h) == before
    assert await ticket_count(h, "L") == 2
    # Other services keep their own quota.
    assert (await h.issue("A"))["number"] == "A001"


async def test_snapshot_shows_the_quota_left(make_hall):
    h = await make_hall(config=with_quota(sample_config(), "gongshu", "L", 2))
    await h.issue("L")
    snap = await ok(await h.client.get("/api/v1/halls/gongshu/queue"))
    assert {s["code"]: s["quota_left"] for s in snap["services"]}["L"] == 1


async def test_issue_on_a_sunday_is_409_with_the_opening_hours(make_hall):
    h = await make_hall(clock=FakeClock(SUNDAY_10AM))
    resp = await post(h, ISSUE, by="K01", json_body={"service": "A"})
    body = await expect_problem(resp, 409, detail_has=HOURS)
    assert body["hours"] == HOURS
    assert await ticket_count(h) == 0


async def test_issue_after_closing_time_is_409_with_the_opening_hours(hall):
    await hall.issue("A")
    hall.clock.advance(10 * 3600)  # Monday 20:00
    resp = await post(hall, ISSUE, by="K01", json_body={"service": "A"})
    await expect_problem(resp, 409, detail_has=("当前不在取号时间", HOURS))
    assert await ticket_count(hall) == 1


async def test_issue_during_lunch_is_409_where_the_hall_pauses_for_lunch(hall):
    await hall.add_device("HK1", hall="hushu", role="kiosk")
    hall.clock.advance(2.5 * 3600)  # Monday 12:30; hushu does not issue at lunch, gongshu does
    resp = await post(hall, "/api/v1/halls/hushu/tickets", by="HK1", json_body={"service": "A"})
    await expect_problem(resp, 409, detail_has="午休")
    assert (await hall.issue("A"))["number"] == "A001"


async def test_ignore_hours_issues_on_a_sunday(make_hall):
    h = await make_hall(clock=FakeClock(SUNDAY_10AM), ignore_hours=True)
    ticket = await h.issue("A")
    assert ticket["number"] == "A001"
    assert ticket["business_day"] == "2026-12-06"


# ---- a ticket's public status -----------------------------------------------------------


async def test_ticket_status_is_public_and_follows_the_ticket(hall):
    first = await hall.issue("A")
    second = await hall.issue("A")
    status = await ok(await hall.client.get(f"/api/v1/tickets/{second['holder_secret']}"))
    assert status["number"] == "A002" and status["status"] == "waiting" and status["ahead"] == 1
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    called = await ok(await hall.client.get(f"/api/v1/tickets/{first['holder_secret']}"))
    assert called["status"] == "called" and called["window"] == 1 and called["calls"] == 1
    assert (await ok(await hall.client.get(f"/api/v1/tickets/{second['holder_secret']}")))["ahead"] == 0
    await hall.act(1, "start")
    await hall.act(1, "finish")
    done = await ok(await hall.client.get(f"/api/v1/tickets/{first['holder_secret']}"))
    assert done["status"] == "finished" and done["finished_at"] == "2026-11-30T10:00:00+08:00"
    assert done["ahead"] is None


async def test_ticket_status_of_an_unknown_id_is_404(hall):
    resp = await hall.client.get("/api/v1/tickets/not-a-ticket")
    await expect_problem(resp, 404)


# ---- restore and cancel -----------------------------------------------------------------


async def test_restore_puts_a_missed_ticket_back_in_the_queue(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await miss(hall)
    resp = await post(
        hall, "/api/v1/halls/gongshu/tickets/A001/restore", json_body={"reason": "本人返回"}
    )
    body = await ok(resp)
    assert body["ticket"]["number"] == "A001" and body["ticket"]["status"] == "waiting"
    event = (await ledger(hall))[-1]
    assert event["kind"] == "ticket_restored" and event["actor"]["id"] == "1001"


async def test_restore_puts_a_suspended_ticket_back_in_the_queue(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    await hall.act(1, "suspend", reason="缺少营业执照副本")
    body = await ok(await post(hall, "/api/v1/halls/gongshu/tickets/A001/restore"))
    assert body["ticket"]["status"] == "waiting"


async def test_restore_of_a_waiting_ticket_is_409_naming_its_state(hall):
    await hall.issue("A")
    before = await tables(hall)
    resp = await post(hall, "/api/v1/halls/gongshu/tickets/A001/restore")
    body = await expect_problem(resp, 409, detail_has="等候中", code="ticket.not_restorable")
    assert body["state"] == "waiting"
    assert await tables(hall) == before


async def test_restore_of_an_unknown_number_is_404(hall):
    resp = await post(hall, "/api/v1/halls/gongshu/tickets/A999/restore")
    await expect_problem(resp, 404, detail_has="A999")


async def test_restore_of_a_malformed_number_is_400(hall):
    resp = await post(hall, "/api/v1/halls/gongshu/tickets/A-1/restore")
    await expect_problem(resp, 400, field="number")


async def test_restore_with_a_reason_of_the_wrong_type_is_400(hall):
    await hall.issue("A")
    resp = await post(hall, "/api/v1/halls/gongshu/tickets/A001/restore", json_body={"reason": 5})
    await expect_problem(resp, 400, field="reason")


async def test_restore_and_cancel_need_a_staff_token(hall):
    await hall.issue("A")
    for action in ("restore", "cancel"):
        path = f"/api/v1/halls/gongshu/tickets/A001/{action}"
        await expect_problem(await post(hall, path, by=None), 401)
        await expect_problem(await post(hall, path, by="K01"), 403)


async def test_restore_and_cancel_by_staff_of_another_hall_are_403(hall):
    await hall.issue("A")
    await hall.add_staff("2001", hall="hushu", name="李四")
    for action in ("restore", "cancel"):
        resp = await post(hall, f"/api/v1/halls/gongshu/tickets/A001/{action}", by="2001")
        await expect_problem(resp, 403)
    assert (await fetch(hall, "SELECT status FROM tickets"))[0]["status"] == "waiting"


async def test_restore_in_an_unknown_hall_is_404(hall):
    resp = await post(hall, "/api/v1/halls/nowhere/tickets/A001/restore")
    await expect_problem(resp, 404)


async def test_staff_cancel_a_waiting_ticket_with_a_reason(hall):
    await hall.issue("A")
    body = await ok(
        await post(
            hall, "/api/v1/halls/gongshu/tickets/A001/cancel", json_body={"reason": "重复取号"}
        )
    )
    assert body["ticket"]["status"] == "cancelled"
    assert (await fetch(hall, "SELECT status FROM tickets"))[0]["status"] == "cancelled"
    event = (await ledger(hall))[-1]
    assert event["kind"] == "ticket_cancelled" and event["payload"]["reason"] == "重复取号"
    assert event["actor"]["id"] == "1001"


async def test_cancel_of_a_called_ticket_is_409_naming_its_state(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    before = await tables(hall)
    resp = await post(hall, "/api/v1/halls/gongshu/tickets/A001/cancel")
    body = await expect_problem(resp, 409, detail_has="已叫号", code="ticket.not_cancellable")
    assert body["state"] == "called"
    assert await tables(hall) == before


async def test_cancel_of_a_finished_ticket_is_409_naming_its_state(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    await hall.act(1, "start")
    await hall.act(1, "finish")
    resp = await post(hall, "/api/v1/halls/gongshu/tickets/A001/cancel")
    body = await expect_problem(resp, 409, detail_has="已办结", code="ticket.not_cancellable")
    assert body["state"] == "finished"


async def test_a_citizen_cancels_their_own_ticket_by_its_id(hall):
    ticket = await hall.issue("A")
    body = await ok(await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/cancel"))
    assert body["ticket"]["status"] == "cancelled"
    event = (await ledger(hall))[-1]
    assert event["kind"] == "ticket_cancelled" and event["actor"]["kind"] == "citizen"
    again = await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/cancel")
    await expect_problem(again, 409)


async def test_a_citizen_cancel_of_an_unknown_id_is_404(hall):
    await expect_problem(await hall.client.post("/api/v1/tickets/nope/cancel"), 404)


async def test_issue_then_status_uses_shanghai_time(hall):
    hall.clock.now = MONDAY_10AM + timedelta(minutes=5, seconds=7)
    ticket = await hall.issue("A")
    assert ticket["issued_at"] == "2026-11-30T10:05:07+08:00"


async def test_a_restored_missed_ticket_goes_two_places_back_not_to_the_end(hall):
    for _ in range(4):
        await hall.issue("A")
    await hall.act(1, "open")
    await miss(hall)  # A001
    body = await ok(await post(hall, "/api/v1/halls/gongshu/tickets/A001/restore"))
    assert body["ticket"]["ahead"] == 2
    await hall.act(1, "close")
    await hall.act(1, "open")
    called = [(await hall.act(1, "call-next"))["ticket"]["number"]]
    for _ in range(3):
        await hall.act(1, "start")
        await hall.act(1, "finish")
        called.append((await hall.act(1, "call-next"))["ticket"]["number"])
    assert called == ["A002", "A003", "A001", "A004"]


# ---- the next business day --------------------------------------------------------------


async def test_numbering_restarts_on_the_next_business_day(hall):
    await hall.issue("A")
    await hall.issue("A")
    hall.clock.advance(24 * 3600)  # Tuesday 10:00
    ticket = await hall.issue("A")
    assert ticket["number"] == "A001" and ticket["business_day"] == "2026-12-01"
    rows = await fetch(
        hall, "SELECT business_day, prefix, seq FROM tickets ORDER BY business_day, seq"
    )
    assert [(str(r["business_day"]), r["seq"]) for r in rows] == [
        ("2026-11-30", 1),
        ("2026-11-30", 2),
        ("2026-12-01", 1),
    ]


async def test_yesterdays_unserved_tickets_are_closed_not_deleted(hall):
    waiting = await hall.issue("A")
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    hall.clock.advance(24 * 3600)
    await hall.issue("B")
    await sign_in_again(hall)  # yesterday's token has expired
    status = await ok(await hall.client.get(f"/api/v1/tickets/{waiting['holder_secret']}"))
    assert status["status"] == "closed"
    assert sorted(r["status"] for r in await fetch(hall, "SELECT status FROM tickets")) == [
        "closed",
        "closed",
        "waiting",
    ]
    closed = [e for e in await ledger(hall) if e["kind"] == "ticket_closed"]
    assert len(closed) == 2 and all(e["actor"]["kind"] == "system" for e in closed)
    snap = await ok(await hall.client.get("/api/v1/halls/gongshu/queue"))
    assert snap["business_day"] == "2026-12-01"
    assert {s["code"]: s["waiting"] for s in snap["services"]}["A"] == 0
    assert {w["number"]: w["state"] for w in snap["windows"]}[1] == "closed"


async def test_a_body_larger_than_the_limit_is_413_problem(hall):
    resp = await post(hall, ISSUE, by="K01", data='{"service": "A", "pad": "' + "x" * 70_000 + '"}')
    await expect_problem(resp, 413)
    assert await ticket_count(hall) == 0
