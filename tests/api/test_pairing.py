"""Pairing a device with a one-time code, and the hall's devices: a code pairs once, within
10 minutes, only in the manager's own halls; wrong codes and new codes are rate limited; every
change is in the ledger with who made it; a revoked device's socket closes at once."""

from __future__ import annotations

import asyncio
import json
import re
import stat
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from queue_server import logsafe
from queue_server.main import create_app
from queue_server.protocol import CLOSE_REVOKED, pairing
from queue_server.web.pages import banner
from queue_server.web.pairing import REVOKED_CHECK_SECONDS
from tests.api.checks import fetch
from tests.support.hall import FAST_HASHER, sample_config, start_hall

DEVICES = "/api/v1/halls/gongshu/devices"


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_staff("1001", name="张三")
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("hs09", name="湖墅经理", role="manager", hall="hushu")
        yield h


async def _code(hall, kind="kiosk"):
    resp = await hall.client.post("/api/v1/pairing", json={"kind": kind})
    body = await resp.json()
    assert resp.status == 201, body
    return body


async def _pair(hall, code, by="9001", hall_id="gongshu", key=None, **fields):
    body = {"code": code, "name": "K02", **fields}
    headers = hall.auth(by, **({"Idempotency-Key": key} if key else {}))
    return await hall.client.post(f"/api/v1/halls/{hall_id}/devices", json=body, headers=headers)


async def _wait(hall, secret, seconds=0):
    resp = await hall.client.get("/api/v1/pairing/wait", params={"secret": secret, "timeout": str(seconds)})
    return resp.status, await resp.json()


async def _ledger(hall):
    rows = await fetch(hall, "SELECT kind, actor, payload FROM ledger WHERE kind LIKE 'device%' ORDER BY seq")

    def load(value):
        return json.loads(value) if isinstance(value, str) else value

    return [(r["kind"], load(r["actor"])["id"], load(r["payload"])) for r in rows]


async def test_a_paired_kiosk_receives_a_token_that_issues_tickets_and_the_pairing_is_in_the_ledger(hall):
    started = await _code(hall)
    assert len(started["code"]) == 6 and started["code"].isdigit() and started["expires_in"] == 600
    status, waiting = await _wait(hall, started["secret"])
    assert status == 200 and waiting["state"] == "waiting"
    # The device long-polls; the manager pairs meanwhile; the poll answers at once.
    poll = asyncio.create_task(_wait(hall, started["secret"], seconds=20))
    await asyncio.sleep(0.2)
    began = time.monotonic()
    resp = await _pair(hall, started["code"], name="二楼取号机")
    device = await resp.json()
    assert resp.status == 201, device
    assert device["name"] == "二楼取号机" and device["role"] == "kiosk" and device["kind"] == "kiosk"
    assert device["created_by"] == "9001" and device["page"] == "/kiosk/gongshu"
    status, paired = await poll
    assert time.monotonic() - began < 1.5
    assert status == 200 and paired["state"] == "paired", paired
    assert paired["device"]["page"] == "/kiosk/gongshu" and paired["device"]["hall"] == "gongshu"
    token = paired["token"]
    issued = await hall.client.post("/api/v1/halls/gongshu/tickets", json={"service": "A"},
                                    headers={"Authorization": f"Bearer {token}"})
    assert issued.status == 201, await issued.text()
    # Nothing stored lets anyone else act as the device: only hashes of its token.
    stored = await fetch(hall, "SELECT count(*) AS n FROM pairings WHERE token_hash::text LIKE $1",
                         "%" + started["secret"][:10] + "%")
    assert stored[0]["n"] == 0
    assert await _ledger(hall) == [("device_paired", "9001", {
        "device": device["id"], "name": "二楼取号机", "role": "kiosk", "device_kind": "kiosk",
        "device_window": None, "device_kiosk": None, "code": started["code"]})]


async def test_a_code_pairs_once_even_when_two_managers_enter_it_at_the_same_moment(hall):
    await hall.add_staff("9002", name="赵主任", role="manager")
    started = await _code(hall)
    first, second = await asyncio.gather(_pair(hall, started["code"], name="K02"),
                                         _pair(hall, started["code"], by="9002", name="K03"))
    assert sorted([first.status, second.status]) == [201, 404]
    loser = second if second.status == 404 else first
    problem = await loser.json()
    assert problem["code"] == "pairing.unknown" and "已使用或已过期" in problem["detail"]
    rows = await fetch(hall, "SELECT name FROM devices WHERE name IN ('K02', 'K03')")
    assert len(rows) == 1
    assert [k for k, _, _ in await _ledger(hall)] == ["device_paired"]


async def test_a_retry_with_the_same_key_answers_once_and_pairs_once(hall):
    started = await _code(hall)
    first = await _pair(hall, started["code"], key="pair-1")
    again = await _pair(hall, started["code"], key="pair-1")
    assert first.status == again.status == 201
    assert (await first.json()) == (await again.json())
    assert len(await _ledger(hall)) == 1


async def test_a_code_expires_after_ten_minutes_and_its_device_is_told(hall):
    started = await _code(hall)
    hall.clock.advance(10 * 60 + 1)
    resp = await _pair(hall, started["code"])
    assert resp.status == 404 and (await resp.json())["code"] == "pairing.unknown"
    status, body = await _wait(hall, started["secret"])
    assert status == 200 and body["state"] == "expired" and "过期" in body["message"]
    assert await fetch(hall, "SELECT id FROM devices WHERE name = 'K02'") == []


async def test_a_manager_pairs_only_in_their_own_halls(hall):
    started = await _code(hall)
    other = await _pair(hall, started["code"], by="hs09")  # gongshu's code, hushu's manager
    assert other.status == 403
    clerk = await _pair(hall, started["code"], by="1001")
    assert clerk.status == 403
    device = await _pair(hall, started["code"], by="K01")
    assert device.status == 403
    # The code is still good for gongshu's own manager.
    assert (await _pair(hall, started["code"])).status == 201


async def test_wrong_codes_are_limited_per_manager_so_codes_cannot_be_guessed(hall):
    started = await _code(hall)
    wrong = "000000" if started["code"] != "000000" else "111111"
    for _ in range(5):
        resp = await _pair(hall, wrong)
        assert resp.status == 404
    blocked = await _pair(hall, started["code"])  # even the right one, for now
    problem = await blocked.json()
    assert blocked.status == 429 and problem["code"] == "pairing.too_many_attempts", problem
    assert "Retry-After" in blocked.headers
    hall.clock.advance(10 * 60 + 1)  # the failures are older than ten minutes
    fresh = await _code(hall)
    assert (await _pair(hall, fresh["code"])).status == 201


async def test_new_codes_are_rate_limited_per_address(hall):
    statuses = [(await hall.client.post("/api/v1/pairing", json={"kind": "tablet"})).status for _ in range(11)]
    assert statuses[:10] == [201] * 10 and statuses[10] == 429


@pytest.mark.parametrize(("body", "code"), [
    ({"code": "12345", "name": "K02"}, "pairing.bad_code"),
    ({"code": "abcdef", "name": "K02"}, "pairing.bad_code"),
    ({"code": None, "name": "K02"}, "pairing.bad_code"),
    ({"name": "K02"}, "pairing.bad_code"),
    ({"code": "123456"}, "input.missing_field"),
    ({"code": "123456", "name": "你这人真笨"}, "device.taboo_name"),
    ({"code": "123456", "name": "K\x0002"}, "input.control_character"),
])
async def test_bad_pairing_input_is_refused_in_chinese_and_changes_nothing(hall, body, code):
    resp = await hall.client.post(DEVICES, json=body, headers=hall.auth("9001"))
    problem = await resp.json()
    assert resp.status == 400 and problem["code"] == code, problem
    assert await _ledger(hall) == []


async def test_a_tablet_needs_a_window_of_the_hall_and_a_printer_a_registered_kiosk(hall):
    tablet = await _code(hall, "tablet")
    for fields, code in (({}, "pairing.window_required"), ({"window": 999}, "pairing.no_window"),
                         ({"window": 1, "role": "kiosk"}, "pairing.role_for_kind")):
        resp = await _pair(hall, tablet["code"], name="E01", **fields)
        problem = await resp.json()
        assert resp.status == 400 and problem["code"] == code, problem
    assert (await _pair(hall, tablet["code"], name="E01", window=1)).status == 201
    printer = await _code(hall, "printer")
    resp = await _pair(hall, printer["code"], name="P01", kiosk="K99")
    assert resp.status == 400 and (await resp.json())["code"] == "pairing.no_kiosk"
    resp = await _pair(hall, printer["code"], name="K01", kiosk="K01")
    assert resp.status == 400 and (await resp.json())["code"] == "input.device_exists"
    resp = await _pair(hall, printer["code"], name="P01", kiosk="K01")
    assert resp.status == 201 and (await resp.json())["role"] == "printer"


async def test_devices_are_listed_renamed_moved_and_revoked_with_who_in_the_ledger(hall):
    tablet = await _code(hall, "tablet")
    created = await (await _pair(hall, tablet["code"], name="E01", window=1)).json()
    device = f"{DEVICES}/{created['id']}"
    renamed = await hall.client.post(f"{device}/rename", json={"name": "1号窗评价器"}, headers=hall.auth("9001"))
    assert renamed.status == 200 and (await renamed.json())["name"] == "1号窗评价器"
    taboo = await hall.client.post(f"{device}/rename", json={"name": "不知道。"}, headers=hall.auth("9001"))
    assert taboo.status == 400 and (await taboo.json())["code"] == "device.taboo_name"
    moved = await hall.client.post(f"{device}/move", json={"window": 2}, headers=hall.auth("9001"))
    assert moved.status == 200 and (await moved.json())["window"] == 2
    listed = await (await hall.client.get(DEVICES, headers=hall.auth("9001"))).json()
    mine = next(d for d in listed["devices"] if d["id"] == created["id"])
    assert mine["name"] == "1号窗评价器" and mine["window"] == 2 and mine["kind"] == "tablet"
    assert mine["created"] and mine["active"] is True and "last_seen_at" in mine
    kiosk = next(d for d in listed["devices"] if d["name"] == "K01")
    assert kiosk["kind"] == "kiosk" and kiosk["created_by"] is None  # registered on the command line
    revoked = await hall.client.post(f"{device}/revoke", headers=hall.auth("9001"))
    assert revoked.status == 200 and (await revoked.json())["active"] is False
    again = await hall.client.post(f"{device}/revoke", headers=hall.auth("9001"))
    assert again.status == 409 and (await again.json())["code"] == "device.revoked"
    unknown = await hall.client.post(f"{DEVICES}/999999/revoke", headers=hall.auth("9001"))
    assert unknown.status == 404
    other = await hall.client.post(f"{device}/rename", json={"name": "x"}, headers=hall.auth("hs09"))
    assert other.status == 403
    assert [(k, who) for k, who, _ in await _ledger(hall)] == [
        ("device_paired", "9001"), ("device_renamed", "9001"), ("device_moved", "9001"), ("device_revoked", "9001")]
    status, body = await _wait(hall, tablet["secret"])
    assert body["state"] == "revoked"


async def test_a_revoked_screen_socket_closes_within_a_second_with_its_own_code(hall):
    started = await _code(hall, "hall_screen")
    created = await (await _pair(hall, started["code"], name="D09")).json()
    _, paired = await _wait(hall, started["secret"])
    token = paired["token"]
    ws = await hall.client.ws_connect(f"/ws/v1/halls/gongshu?token={token}", protocols=("queue.v1",))
    await ws.receive(timeout=3)  # the snapshot
    seen = await fetch(hall, "SELECT last_seen_at FROM devices WHERE id = $1", created["id"])
    assert seen[0]["last_seen_at"] is not None  # marked seen when it connected
    began = time.monotonic()
    resp = await hall.client.post(f"{DEVICES}/{created['id']}/revoke", headers=hall.auth("9001"))
    assert resp.status == 200
    while True:
        msg = await ws.receive(timeout=1.0)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            break
    assert time.monotonic() - began < 1.0
    assert ws.close_code == CLOSE_REVOKED
    # …and the token no longer opens a socket nor calls the API.
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await hall.client.ws_connect(f"/ws/v1/halls/gongshu?token={token}", protocols=("queue.v1",))
    me = await hall.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status == 401


async def test_waiting_with_an_unknown_or_malformed_secret_is_refused(hall):
    status, body = await _wait(hall, "A" * 43)
    assert status == 404 and body["code"] == "pairing.no_secret"
    status, body = await _wait(hall, "short")
    assert status == 400 and body["code"] == "pairing.bad_secret"
    resp = await hall.client.get("/api/v1/pairing/wait")
    assert resp.status == 400
    resp = await hall.client.post("/api/v1/pairing", json={"kind": "toaster"})
    assert resp.status == 400 and (await resp.json())["code"] == "input.bad_choice"


async def test_a_command_line_screen_pairs_with_the_printed_code_and_keeps_its_token_private(hall, tmp_path):
    """queue-display --pair / queue-printer --pair: the code is printed, a manager enters it,
    the token lands in a file only its owner may read."""
    shown: list[str] = []
    base = str(hall.client.make_url("/"))
    waiting = asyncio.get_running_loop().run_in_executor(
        None, lambda: pairing.pair(base, "display_client", show=shown.append, wait_seconds=5))
    for _ in range(200):
        if shown:
            break
        await asyncio.sleep(0.05)
    code = re.search(r"\b(\d{6})\b", shown[0]).group(1)
    assert "/manage/devices" in shown[0]
    resp = await _pair(hall, code, name="终端屏", window=3)
    assert resp.status == 201, await resp.text()
    answer = await waiting
    assert answer["device"]["role"] == "display" and answer["device"]["window"] == 3
    path = tmp_path / "state" / "display.token"
    pairing.save_token(path, answer["token"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pairing.read_token(path) == answer["token"]
    me = await hall.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {answer['token']}"})
    assert me.status == 200 and (await me.json())["role"] == "display"


async def test_a_device_revoked_through_another_server_process_is_closed_within_seconds(hall):
    started = await _code(hall, "hall_screen")
    created = await (await _pair(hall, started["code"], name="D10")).json()
    _, paired = await _wait(hall, started["secret"])
    other = TestClient(TestServer(create_app(hall.config, dsn=hall.dsn, clock=hall.clock, redis_url="",
                                             password_hasher=FAST_HASHER)))
    await other.start_server()
    try:
        ws = await other.ws_connect(f"/ws/v1/halls/gongshu?token={paired['token']}", protocols=("queue.v1",))
        await ws.receive(timeout=3)  # the snapshot
        began = time.monotonic()
        resp = await hall.client.post(f"{DEVICES}/{created['id']}/revoke", headers=hall.auth("9001"))
        assert resp.status == 200
        while True:
            msg = await ws.receive(timeout=REVOKED_CHECK_SECONDS + 3)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                break
        assert time.monotonic() - began < REVOKED_CHECK_SECONDS + 1.5
        assert ws.close_code == CLOSE_REVOKED
    finally:
        await other.close()


def test_the_startup_banner_and_logs_show_every_page_and_never_a_pairing_secret():
    config = sample_config()
    text = banner(config, "http://10.0.0.5:8080")
    for hall in config.halls.values():
        assert f"http://10.0.0.5:8080/display/hall/{hall.id}" in text
        assert f"http://10.0.0.5:8080/display/window/{hall.id}/" in text
        assert f"http://10.0.0.5:8080/evaluate/{hall.id}/" in text
    assert "http://10.0.0.5:8080/manage/devices" in text and "6-digit code" in text and "--pair" in text
    assert "?token=" not in text  # nobody is told to type a token any more
    assert "培训模式" not in text
    assert banner(config, "http://10.0.0.5:8080", training=True).startswith("  !!! 培训模式 TRAINING MODE")
    line = 'GET /api/v1/pairing/wait?secret=AbCdEf0123456789AbCdEf0123456789AbCdEf01234&timeout=25 HTTP/1.1'
    assert "AbCdEf0123" not in logsafe.redact(line) and "timeout=25" in logsafe.redact(line)
