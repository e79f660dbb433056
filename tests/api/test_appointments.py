"""Appointments: booked for a slot, checked in once by code, within the slot, as a priority ticket."""

from __future__ import annotations


async def _book(hall, start="2026-11-30T10:00:00+08:00", end="2026-11-30T10:30:00+08:00", service="A"):
    resp = await hall.client.post("/api/v1/halls/gongshu/appointments",
                                  json={"service": service, "slot_start": start, "slot_end": end},
                                  headers=hall.auth("1001"))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _check_in(hall, code, by="K01", key=None):
    headers = hall.auth(by, **({"Idempotency-Key": key} if key else {}))
    return await hall.client.post(f"/api/v1/halls/gongshu/appointments/{code}/check-in", headers=headers)


async def test_check_in_issues_an_appointment_priority_ticket_once(hall):
    booking = await _book(hall)
    assert len(booking["code"]) == 6
    resp = await _check_in(hall, booking["code"])
    ticket = await resp.json()
    assert resp.status == 201, ticket
    assert ticket["priority"] == "appointment" and ticket["service"] == "A"
    again = await _check_in(hall, booking["code"])
    assert again.status == 404  # the code is used up


async def test_a_checked_in_appointment_goes_before_walk_ins(hall):
    walk_in = await hall.issue("A")
    booking = await _book(hall)
    appointment = await (await _check_in(hall, booking["code"])).json()
    await hall.act(1, "open")
    called = await hall.act(1, "call-next")
    assert called["ticket"]["number"] == appointment["number"] != walk_in["number"]


async def test_check_in_too_early_or_too_late_is_refused(hall):
    early = await _book(hall, "2026-11-30T11:00:00+08:00", "2026-11-30T11:30:00+08:00")
    resp = await _check_in(hall, early["code"])
    body = await resp.json()
    assert resp.status == 409 and body["state"] == "too_early"
    assert body["opens_at"] == "2026-11-30T10:30:00+08:00"
    late = await _book(hall, "2026-11-30T10:00:00+08:00", "2026-11-30T10:20:00+08:00")
    hall.clock.advance(36 * 60)  # 10:36: the slot ended more than 15 minutes ago
    resp = await _check_in(hall, late["code"])
    assert resp.status == 409 and (await resp.json())["state"] == "expired"


async def test_a_double_tap_on_check_in_gives_one_ticket(hall):
    booking = await _book(hall)
    first = await (await _check_in(hall, booking["code"], key="tap-7")).json()
    second = await _check_in(hall, booking["code"], key="tap-7")
    assert second.status == 201 and (await second.json())["number"] == first["number"]
    other_tap = await _check_in(hall, booking["code"], key="tap-8")
    assert other_tap.status == 409, "a new tap on a used code is refused, not a second ticket"


async def test_bad_codes_and_bad_slots_are_clear_errors(hall):
    assert (await _check_in(hall, "12ab")).status == 400
    assert (await _check_in(hall, "000000")).status == 404
    resp = await hall.client.post("/api/v1/halls/gongshu/appointments",
                                  json={"service": "A", "slot_start": "tomorrow", "slot_end": "x"},
                                  headers=hall.auth("1001"))
    assert resp.status == 400 and (await resp.json())["field"] == "slot_start"
