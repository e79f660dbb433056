"""The hall's ledger through GET /api/v1/halls/{hall}/events: staff only, paged, complete."""

from __future__ import annotations

import asyncio

from tests.api.checks import expect_problem, fetch, ledger, ok, post

EVENTS = "/api/v1/halls/gongshu/events"


async def test_every_state_change_is_in_the_ledger_with_the_staff_number(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    hall.clock.advance(30)
    await hall.act(1, "recall")
    await hall.act(1, "start")
    await hall.act(1, "finish")
    await hall.act(1, "pause", reason="午休")
    await hall.act(1, "resume")
    await hall.act(1, "close")
    await ok(await post(hall, "/api/v1/auth/logout"))
    await hall.add_staff("1002", name="李四")

    events = await ledger(hall, by="1002")

    kinds = [e["kind"] for e in events]
    assert kinds == [
        "staff_signed_in",
        "ticket_issued",
        "window_opened",
        "ticket_called",
        "ticket_recalled",
        "service_started",
        "ticket_finished",
        "window_paused",
        "window_resumed",
        "window_closed",
        "staff_signed_out",
        "staff_signed_in",
    ]
    by_staff = [e for e in events if e["kind"] != "ticket_issued"]
    assert [e["actor"]["id"] for e in by_staff] == ["1001"] * 10 + ["1002"]
    assert all(e["actor"]["kind"] == "staff" for e in by_staff)
    issued = events[1]
    assert issued["actor"] == {"kind": "device", "id": "K01", "name": "K01", "role": "kiosk"}
    assert issued["ticket"] == "A001"
    assert events[3]["window"] == 1 and events[3]["ticket"] == "A001"
    assert events[7]["payload"]["reason"] == "午休"


async def test_ledger_rows_are_numbered_without_gaps_and_hash_chained(hall):
    await hall.issue("A")
    await hall.issue("B")
    await hall.act(1, "open")
    events = await ledger(hall)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    for prev, row in zip(events, events[1:], strict=False):
        assert row["prev_hash"] == prev["hash"]
    assert len({e["hash"] for e in events}) == len(events)


async def test_a_refused_command_leaves_no_row_and_no_gap(hall):
    await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    seq = (await ledger(hall))[-1]["seq"]
    await hall.act(1, "finish", expect=409)
    await hall.act(1, "open", expect=409)
    await hall.act(1, "recall", expect=409)
    await expect_problem(
        await post(hall, "/api/v1/halls/gongshu/tickets", by="K01", json_body={"service": "Z"}), 404
    )
    assert (await ledger(hall))[-1]["seq"] == seq
    await hall.act(1, "start")
    events = await ledger(hall)
    assert events[-1]["seq"] == seq + 1 and events[-1]["kind"] == "service_started"


async def test_concurrent_commands_form_one_sequence(hall):
    """Ten kiosks at once: ten distinct numbers and ten consecutive ledger rows."""
    responses = await asyncio.gather(
        *(
            post(hall, "/api/v1/halls/gongshu/tickets", by="K01", json_body={"service": "A"})
            for _ in range(10)
        )
    )
    numbers = sorted([(await ok(r, 201))["number"] for r in responses])
    assert numbers == [f"A{n:03d}" for n in range(1, 11)]
    events = await ledger(hall)
    assert [e["seq"] for e in events] == list(range(1, 12))
    rows = await fetch(hall, "SELECT seq, head_hash FROM halls WHERE id = 'gongshu'")
    assert rows[0]["seq"] == 11 and rows[0]["head_hash"].hex() == events[-1]["hash"]


async def test_events_are_paged_with_after_and_limit(hall):
    for service in ("A", "B", "C", "D"):
        await hall.issue(service)
    page = await ok(
        await hall.client.get(EVENTS, params={"after": 0, "limit": 2}, headers=hall.auth("1001"))
    )
    assert [e["seq"] for e in page["events"]] == [1, 2] and page["next_after"] == 2
    page = await ok(
        await hall.client.get(EVENTS, params={"after": 2, "limit": 2}, headers=hall.auth("1001"))
    )
    assert [e["seq"] for e in page["events"]] == [3, 4] and page["next_after"] == 4
    page = await ok(await hall.client.get(EVENTS, params={"after": 5}, headers=hall.auth("1001")))
    assert page["events"] == [] and page["next_after"] == 5


async def test_events_after_a_malformed_seq_is_400_naming_the_parameter(hall):
    resp = await hall.client.get(EVENTS, params={"after": "yesterday"}, headers=hall.auth("1001"))
    await expect_problem(resp, 400, field="after")
    resp = await hall.client.get(EVENTS, params={"after": "-1"}, headers=hall.auth("1001"))
    await expect_problem(resp, 400, field="after")


async def test_events_limit_out_of_range_is_400_naming_the_parameter(hall):
    for limit in ("0", "1001", "many"):
        resp = await hall.client.get(EVENTS, params={"limit": limit}, headers=hall.auth("1001"))
        await expect_problem(resp, 400, field="limit")


async def test_events_need_a_token(hall):
    await expect_problem(await hall.client.get(EVENTS), 401)


async def test_events_refuse_a_device(hall):
    await expect_problem(await hall.client.get(EVENTS, headers=hall.auth("K01")), 403)


async def test_events_refuse_staff_of_another_hall(hall):
    await hall.add_staff("2001", hall="hushu", name="李四")
    await expect_problem(await hall.client.get(EVENTS, headers=hall.auth("2001")), 403)
    await ok(await hall.client.get("/api/v1/halls/hushu/events", headers=hall.auth("2001")))


async def test_events_of_an_unknown_hall_are_404(hall):
    resp = await hall.client.get("/api/v1/halls/nowhere/events", headers=hall.auth("1001"))
    await expect_problem(resp, 404)


async def test_halls_keep_separate_ledgers(hall):
    await hall.add_device("HK1", hall="hushu", role="kiosk")
    await hall.issue("A", by="HK1", hall="hushu")
    await hall.add_staff("2001", hall="hushu", name="李四")
    hushu = await ledger(hall, by="2001", hall="hushu")
    assert [e["kind"] for e in hushu] == ["ticket_issued", "staff_signed_in"]
    assert [e["seq"] for e in hushu] == [1, 2]
    assert all(e["kind"] != "ticket_issued" for e in await ledger(hall))
