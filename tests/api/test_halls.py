"""Public reads: health, the list of halls and a hall's live queue snapshot."""

from __future__ import annotations

import json
import math

from tests.api.checks import expect_problem, fetch, ledger, ok

SECRET_KEYS = {"token", "token_hash", "password", "password_hash", "staff", "sessions", "devices"}


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_healthz_answers_ok_without_a_token(hall):
    body = await ok(await hall.client.get("/healthz"))
    assert body == {"status": "ok"}


async def test_readyz_answers_ready_on_a_migrated_database(hall):
    body = await ok(await hall.client.get("/readyz"))
    assert body == {"status": "ready"}


async def test_readyz_answers_503_with_retry_after_when_the_schema_falls_behind(hall):
    await fetch(hall, "DELETE FROM schema_migrations")
    resp = await hall.client.get("/readyz")
    body = await expect_problem(resp, 503, detail_has="schema")
    assert resp.headers["Retry-After"] == str(body["retry_after"])


async def test_halls_lists_every_configured_hall_with_services_and_windows(hall):
    body = await ok(await hall.client.get("/api/v1/halls"))
    halls = {h["id"]: h for h in body["halls"]}
    assert list(halls) == ["gongshu", "hushu", "xiangfu"]
    gongshu = halls["gongshu"]
    assert gongshu["name"] == "拱墅区行政服务中心"
    assert [s["code"] for s in gongshu["services"]][:3] == ["A", "B", "C"]
    assert gongshu["services"][0]["daily_quota"] == 120
    assert gongshu["windows"][0] == {
        "number": 1,
        "name": "1 号窗口",
        "area": "business",
        "services": ["A", "M", "B"],
        "comprehensive": False,
    }
    assert gongshu["hours"] == "周一、二、三、四、五 08:30-17:00"
    assert halls["xiangfu"]["voice"] is False and halls["xiangfu"]["has_kiosk"] is False


async def test_halls_shows_no_staff_and_no_secrets(hall):
    await hall.act(1, "open")
    resp = await hall.client.get("/api/v1/halls")
    body = await ok(resp)
    text = await resp.text()
    assert not _keys(body) & SECRET_KEYS
    assert "张三" not in text and "1001" not in text
    for token in hall.tokens.values():
        assert token not in text


async def test_queue_snapshot_is_public_and_shows_waiting_counts_windows_and_calls(hall):
    for _ in range(3):
        await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")

    snap = await ok(await hall.client.get("/api/v1/halls/gongshu/queue"))

    services = {s["code"]: s for s in snap["services"]}
    assert services["A"]["waiting"] == 2
    # Two people ahead, 20 minutes each, one open window offering A.
    assert services["A"]["estimated_wait_minutes"] == math.ceil(2 * 20 / 1)
    assert services["B"]["waiting"] == 0 and services["B"]["estimated_wait_minutes"] == 0
    windows = {w["number"]: w for w in snap["windows"]}
    assert windows[1]["state"] == "open"
    assert windows[1]["staff"]["id"] == "1001" and windows[1]["staff"]["name"] == "张三"
    assert windows[1]["current"]["number"] == "A001"
    assert windows[1]["current"]["status"] == "called"
    assert windows[2]["state"] == "closed" and windows[2]["staff"] is None
    assert windows[2]["current"] is None
    latest = snap["recent_calls"][0]
    assert latest["number"] == "A001" and latest["window"] == 1 and latest["calls"] == 1
    assert set(latest) == {"number", "service", "window", "calls", "at"}
    assert snap["seq"] == (await ledger(hall))[-1]["seq"]


async def test_queue_snapshot_seq_grows_with_every_change(hall):
    before = (await ok(await hall.client.get("/api/v1/halls/gongshu/queue")))["seq"]
    await hall.issue("B")
    after = (await ok(await hall.client.get("/api/v1/halls/gongshu/queue")))["seq"]
    assert after == before + 1


async def test_queue_snapshot_does_not_reveal_ticket_ids(hall):
    """Screens never show a ticket's id, nor its holder's secret (the key to its own page)."""
    ticket = await hall.issue("A")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    text = await (await hall.client.get("/api/v1/halls/gongshu/queue")).text()
    assert ticket["id"] not in text and ticket["holder_secret"] not in text
    for token in hall.tokens.values():
        assert token not in text


async def test_queue_snapshot_of_an_unknown_hall_is_404(hall):
    resp = await hall.client.get("/api/v1/halls/nowhere/queue")
    await expect_problem(resp, 404, detail_has="nowhere")


async def test_unknown_api_path_is_a_404_problem(hall):
    resp = await hall.client.get("/api/v1/nothing-here")
    await expect_problem(resp, 404)


async def test_wrong_method_is_a_405_problem(hall):
    resp = await hall.client.delete("/api/v1/halls")
    await expect_problem(resp, 405)


async def test_problem_bodies_are_utf8_json(hall):
    resp = await hall.client.get("/api/v1/halls/nowhere/queue")
    assert resp.charset == "utf-8"
    assert json.loads(await resp.read())["status"] == 404
