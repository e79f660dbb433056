"""Only the ticket's holder acts as the citizen (issue 8, point 4).

The holder's secret is in the link of the ticket's QR code and in the issuing answer; the
ticket's id is what staff, devices and the ledger see, and it opens nothing a citizen does."""

from __future__ import annotations

import asyncio
import json
import re

import asyncpg
import pytest

from queue_server.adapters import migrate
from queue_server.protocol import SUBPROTOCOL
from tests.support.hall import start_hall

EVENTS = "/api/v1/halls/gongshu/events?limit=1000"


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_device("P01", role="printer", kiosk="K01")
        await h.add_device("E01", role="evaluator", window=1)
        await h.add_device("E02", role="evaluator", window=2)
        await h.add_device("D01", role="display")
        await h.add_staff("1001", name="张三")
        await h.add_staff("1002", name="李四")
        await h.add_staff("9001", name="王经理", role="manager")
        yield h


async def _get(hall, path: str, by: str | None = None):
    resp = await hall.client.get(path, headers=hall.auth(by) if by else {})
    assert resp.status == 200, (path, await resp.text())
    return await resp.text()


async def _ticket_id_from_events(hall, number: str, by: str = "1001") -> str:
    """What a clerk can learn: the ticket's id, from the hall's ledger."""
    events = json.loads(await _get(hall, EVENTS, by))["events"]
    ids = {e["ticket_id"] for e in events if e["ticket"] == number}
    assert len(ids) == 1, events
    return ids.pop()


async def _transfer(hall, window: int, to_window: int, by: str = "1001") -> str:
    resp = await hall.client.post(f"/api/v1/halls/gongshu/windows/{window}/transfer",
                                  json={"window": to_window, "reason": "需到别的窗口"}, headers=hall.auth(by))
    assert resp.status == 200, await resp.text()
    return await resp.text()


async def _serve(hall, window: int = 1, by: str = "1001") -> None:
    await hall.act(window, "call-next", by=by)
    await hall.act(window, "start", by=by)
    await hall.act(window, "finish", by=by)


async def test_a_clerk_who_reads_a_finished_tickets_id_from_the_ledger_cannot_rate_it(hall):
    ticket = await hall.issue("A")
    await hall.act(1, "open")
    await _serve(hall)
    ticket_id = await _ticket_id_from_events(hall, ticket["number"])
    assert ticket_id == ticket["id"] and ticket_id != ticket["holder_secret"]

    for path, body in ((f"/api/v1/tickets/{ticket_id}/rating", {"level": "very_satisfied"}),
                       (f"/api/v1/tickets/{ticket_id}/follow-up-rating", {"level": "very_satisfied"})):
        resp = await hall.client.post(path, json=body)
        assert resp.status == 404, (path, await resp.text())
    for path in (f"/api/v1/tickets/{ticket_id}", f"/t/{ticket_id}/live",
                 f"/api/v1/tickets/{ticket_id}/qr.svg", f"/api/v1/tickets/{ticket_id}/preview.png"):
        resp = await hall.client.get(path)
        assert resp.status == 404, (path, resp.status)
    kinds = [e["kind"] for e in json.loads(await _get(hall, EVENTS, "1001"))["events"]]
    assert "ticket_rated" not in kinds, "the id rated nothing"

    secret = ticket["holder_secret"]
    first = await hall.client.post(f"/api/v1/tickets/{secret}/rating", json={"level": "satisfied"})
    assert first.status == 201, await first.text()
    second = await hall.client.post(f"/api/v1/tickets/{secret}/rating", json={"level": "very_satisfied"})
    assert second.status == 409 and (await second.json())["state"] == "rated"
    status = json.loads(await _get(hall, f"/api/v1/tickets/{secret}"))
    assert status["number"] == ticket["number"] and status["rating"]["level"] == "satisfied"
    rated = [e for e in json.loads(await _get(hall, EVENTS, "1001"))["events"] if e["kind"] == "ticket_rated"]
    assert len(rated) == 1 and rated[0]["actor"] == {
        "kind": "citizen", "id": ticket_id, "name": "", "role": "citizen"}, "the ledger names the id only"


async def test_a_clerk_who_reads_a_waiting_tickets_id_from_the_ledger_cannot_cancel_it(hall):
    ticket = await hall.issue("A")
    ticket_id = await _ticket_id_from_events(hall, ticket["number"])
    resp = await hall.client.post(f"/api/v1/tickets/{ticket_id}/cancel")
    assert resp.status == 404, await resp.text()
    still = json.loads(await _get(hall, f"/api/v1/tickets/{ticket['holder_secret']}"))
    assert still["status"] == "waiting"

    mine = await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/cancel")
    assert mine.status == 200, await mine.text()
    body = await mine.json()
    assert body["ticket"]["status"] == "cancelled"
    assert body["ticket"]["holder_secret"] == ticket["holder_secret"], "the holder sees their own view"


async def test_the_holders_link_opens_the_live_feed_and_the_ticket_id_does_not(hall):
    ticket = await hall.issue("A")
    assert ticket["status_url"].endswith("/t/" + ticket["holder_secret"])
    assert ticket["id"] not in ticket["status_url"]
    resp = await hall.client.get(f"/t/{ticket['holder_secret']}/live")
    assert resp.status == 200
    line = b""
    async with asyncio.timeout(10):
        while not line.startswith(b"data: "):
            line = await resp.content.readline()
    assert json.loads(line[6:])["number"] == ticket["number"]
    resp.close()
    refused = await hall.client.get(f"/t/{ticket['id']}/live")
    assert refused.status == 404


async def test_no_staff_or_device_view_carries_the_holder_secret(hall):
    printer = await hall.client.ws_connect(f"/ws/v1/printer?token={hall.tokens['P01']}",
                                           protocols=("queue.v1",))
    first = await hall.issue("A", by="K01")  # printed at K01's printer
    second = await hall.issue("A", by="K01")
    third = await hall.issue("A", by="K01")
    secrets = [t["holder_secret"] for t in (first, second, third)]
    assert all(t["print_job"] for t in (first, second, third))
    # The printer is the one device that gets the holder's link: it prints it as the QR code.
    job = None
    async with asyncio.timeout(10):
        while job is None:
            frame = json.loads((await printer.receive()).data)
            if frame["type"] == "print_job" and frame["job"]["id"] == first["print_job"]["id"]:
                job = frame["job"]
    assert job["ticket"]["status_url"] == first["status_url"]
    assert job["ticket"]["status_url"].endswith("/t/" + first["holder_secret"])
    seen: dict[str, str] = {}

    async def act(window, action, by="1001", **body):
        seen[f"{action}@{window}"] = json.dumps(await hall.act(window, action, by=by, **body),
                                                ensure_ascii=False)

    await act(1, "open")
    await act(1, "call-next")  # first
    await act(1, "start")
    await act(1, "finish")
    await act(1, "call-next")  # second
    seen["transfer@1"] = await _transfer(hall, 1, 2)
    await act(2, "open", by="1002")
    await act(2, "call-next", by="1002")  # second, at window 2
    rated = await hall.client.post(f"/api/v1/tickets/{first['holder_secret']}/rating",
                                   json={"level": "dissatisfied", "labels": ["其他"]})
    assert rated.status == 201
    cancel = await hall.client.post(f"/api/v1/halls/gongshu/tickets/{third['number']}/cancel",
                                    json={"reason": "代为取消"}, headers=hall.auth("1001"))
    seen["staff cancel"] = await cancel.text()
    restore_me = await hall.issue("A", by="1001", channel="guide")
    secrets.append(restore_me["holder_secret"])
    reprint = await hall.client.post(f"/api/v1/halls/gongshu/tickets/{restore_me['number']}/reprint",
                                     json={"kiosk": "K01"}, headers=hall.auth("1001"))
    assert reprint.status == 201, await reprint.text()
    seen["reprint"] = await reprint.text()
    seen["events (clerk)"] = await _get(hall, EVENTS, "1001")
    seen["events (manager)"] = await _get(hall, EVENTS, "9001")
    seen["window queue"] = await _get(hall, "/api/v1/halls/gongshu/windows/1/queue", "1001")
    seen["window queue 2"] = await _get(hall, "/api/v1/halls/gongshu/windows/2/queue", "1002")
    seen["snapshot"] = await _get(hall, "/api/v1/halls/gongshu/queue")
    seen["kiosk view"] = await _get(hall, "/api/v1/halls/gongshu/kiosk", "K01")
    for t in (first, second, third):
        seen[f"print job {t['number']} (kiosk)"] = await _get(hall, f"/api/v1/print-jobs/{t['print_job']['id']}", "K01")
        seen[f"print job {t['number']} (clerk)"] = await _get(hall, f"/api/v1/print-jobs/{t['print_job']['id']}", "1001")
    seen["follow-ups"] = await _get(hall, "/api/v1/halls/gongshu/follow-ups", "9001")
    seen["rating prompt"] = await _get(hall, "/api/v1/halls/gongshu/windows/1/rating-prompt", "E01")
    display = await hall.client.ws_connect(f"/ws/v1/halls/gongshu?token={hall.tokens['D01']}",
                                           protocols=(SUBPROTOCOL,))
    seen["display socket"] = (await display.receive(timeout=10)).data
    await display.close()
    await printer.close()
    conn = await asyncpg.connect(hall.dsn)
    try:
        seen["ledger table"] = json.dumps(
            [dict(r) for r in await conn.fetch("SELECT kind, actor, ticket_id, payload, public FROM ledger")],
            ensure_ascii=False, default=str)
    finally:
        await conn.close()

    assert len(seen) > 20
    assert "snapshot" in seen["display socket"] or "seq" in seen["display socket"]
    for what, text in seen.items():
        for secret in secrets:
            assert secret not in text, f"{what} carries a holder's secret"
    # The staff views do name the tickets, by number and (the ledger) by id.
    assert first["id"] in seen["events (clerk)"] and first["number"] in seen["window queue"] + seen["events (clerk)"]


async def test_every_issued_ticket_has_its_own_secret_in_the_database(hall):
    tickets = [await hall.issue("A") for _ in range(3)]
    conn = await asyncpg.connect(hall.dsn)
    try:
        rows = {r["id"]: r["holder_secret"] for r in await conn.fetch("SELECT id, holder_secret FROM tickets")}
    finally:
        await conn.close()
    assert rows == {t["id"]: t["holder_secret"] for t in tickets}


# ---- the counter tablet ---------------------------------------------------------------------


async def _rate_tablet(hall, number, *, by, window, level="very_satisfied"):
    return await hall.client.post(f"/api/v1/halls/gongshu/windows/{window}/rating",
                                  json={"number": number, "level": level}, headers=hall.auth(by))


async def test_a_tablet_of_another_window_cannot_rate_a_ticket_finished_at_window_1(hall):
    ticket = await hall.issue("A")
    await hall.act(1, "open")
    await _serve(hall)
    own_route = await _rate_tablet(hall, ticket["number"], by="E02", window=2)
    assert own_route.status == 403, await own_route.text()
    other_route = await _rate_tablet(hall, ticket["number"], by="E02", window=1)
    assert other_route.status == 403
    ok = await _rate_tablet(hall, ticket["number"], by="E01", window=1)
    assert ok.status == 201, await ok.text()


async def test_a_tablet_cannot_rate_a_ticket_its_window_did_not_finish(hall):
    moved = await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    await _transfer(hall, 1, 2)
    await hall.act(2, "open", by="1002")
    await _serve(hall, window=2, by="1002")  # called at 1, finished at 2
    refused = await _rate_tablet(hall, moved["number"], by="E01", window=1)
    assert refused.status == 403, await refused.text()

    serving = await hall.issue("A")
    await hall.act(1, "call-next")
    await hall.act(1, "start")  # at window 1, not finished yet
    not_yet = await _rate_tablet(hall, serving["number"], by="E01", window=1)
    assert not_yet.status == 409 and (await not_yet.json())["state"] == "serving"

    ok = await _rate_tablet(hall, moved["number"], by="E02", window=2)
    assert ok.status == 201, await ok.text()
    kinds = [e["kind"] for e in json.loads(await _get(hall, EVENTS, "1001"))["events"]]
    assert kinds.count("ticket_rated") == 1


# ---- tickets from before the migration ---------------------------------------------------------


async def test_the_migration_gives_existing_tickets_distinct_secrets(fresh_db):
    conn = await asyncpg.connect(fresh_db)
    try:
        await conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                           " applied_at timestamptz NOT NULL DEFAULT now())")
        for m in migrate.available():
            if m.version < 7:
                await conn.execute(m.sql)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                                   m.version, m.name)
        await conn.execute("INSERT INTO halls (id, head_hash) VALUES ('gongshu', '\\x00')")
        for seq in (1, 2, 3):
            await conn.execute(
                "INSERT INTO tickets (id, hall, business_day, prefix, seq, service, issued_at, rank,"
                " channel, status) VALUES ($1, 'gongshu', '2026-11-30', 'A', $2, 'A', now(), $3,"
                " 'kiosk', 'waiting')", f"old-ticket-{seq}", seq, seq)
        await migrate.migrate(conn)
        rows = await conn.fetch("SELECT id, holder_secret FROM tickets")
        with pytest.raises(asyncpg.UniqueViolationError):  # one secret, one ticket
            await conn.execute("UPDATE tickets SET holder_secret = $1 WHERE id = 'old-ticket-2'",
                               rows[0]["holder_secret"] if rows[0]["id"] != "old-ticket-2"
                               else rows[1]["holder_secret"])
    finally:
        await conn.close()
    secrets = [r["holder_secret"] for r in rows]
    assert len(rows) == 3 and len(set(secrets)) == 3
    for r in rows:
        assert re.fullmatch(r"[A-Za-z0-9_-]{40,64}", r["holder_secret"]), r["holder_secret"]
        assert r["id"] not in r["holder_secret"]
