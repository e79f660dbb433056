"""Staff accounts from the manager's console (人员管理, issue 11 point 3): managers manage the
accounts of their scope and never a role above their own; a one-time password must be replaced
before anything else; every change is in the staff ledger with who and when; a second press
acts once; bad input gets a Chinese problem and changes nothing."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from queue_server.domain.staff_ledger import StaffLedgerRow, first_break
from queue_server.web.keys import STAFF as STAFF_SERVICE
from tests.api.checks import expect_problem, fetch, ok
from tests.support.hall import start_hall

STAFF = "/api/v1/staff"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0" + bytes(100) + b"\xff\xd9"


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_staff("1001", name="张三")
        await h.add_staff("1002", name="李四")
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("0001", name="管理员", role="admin", hall=None)
        await h.add_staff("hs01", name="湖墅员", hall="hushu")
        await h.add_staff("hs09", name="湖墅街道经理", role="manager", hall=None, region="hushu")
        await h.add_staff("d01", name="区级经理", role="manager", hall=None, region="gongshu")
        await h.add_device("K01", role="kiosk")
        yield h


def _load(value):
    return json.loads(value) if isinstance(value, str) else value


async def _ledger(hall, staff_id=None):
    rows = await fetch(hall, "SELECT * FROM staff_ledger ORDER BY seq")
    chain = [StaffLedgerRow(r["seq"], r["at"], r["kind"], _load(r["actor"]), r["staff_id"], _load(r["payload"]),
                            bytes(r["prev_hash"]), bytes(r["hash"])) for r in rows]
    assert first_break(chain) is None
    assert (chain[0].kind, chain[0].actor["kind"], chain[0].staff_id) == ("staff_added", "system", "admin")
    # Row 1 is the first start's admin; the rest are what the test did.
    return [(r.kind, r.actor["id"], r.staff_id, r.payload) for r in chain[1:] if staff_id in (None, r.staff_id)]


async def _post(hall, path, by, body=None, key=None):
    headers = hall.auth(by, **({"Idempotency-Key": key} if key else {}))
    return await hall.client.post(path, json=body if body is not None else {}, headers=headers)


async def _login(hall, staff_id, password):
    return await hall.client.post("/api/v1/auth/login", json={"staff_id": staff_id, "password": password})


async def test_a_new_clerk_must_set_their_own_password_before_anything_else(hall):
    added = await ok(await _post(hall, STAFF, "9001", {"id": "1100", "name": "新同事", "hall": "gongshu"}, "k1"), 201)
    otp = added["one_time_password"]
    assert len(otp) == 10 and added["staff"]["must_change_password"] is True and added["staff"]["role"] == "staff"
    signed_in = await ok(await _login(hall, "1100", otp))
    assert signed_in["staff"]["must_change_password"] is True
    token = {"Authorization": f"Bearer {signed_in['token']}"}
    refused = await hall.client.get("/api/v1/halls/gongshu/windows/1/queue", headers=token)
    await expect_problem(refused, 403, code="auth.password_change_required", detail_has="一次性密码")
    me = await ok(await hall.client.get("/api/v1/auth/me", headers=token))
    assert me["must_change_password"] is True

    async def change(old, new):
        return await hall.client.post("/api/v1/auth/password", json={"old_password": old, "new_password": new},
                                      headers=token)

    await expect_problem(await change(otp, "onlyletters"), 400, code="input.password_weak", detail_has="字母和数字")
    await expect_problem(await change(otp, "short1"), 400, code="input.password_too_short", detail_has="至少 8")
    await expect_problem(await change(otp, "x1100abcd9"), 400, code="input.password_has_staff_id")
    await expect_problem(await change("wrong-otp-9", "good-pass-2026"), 400, code="input.old_password_wrong",
                         detail_has="原密码不正确")
    await expect_problem(await change(otp, otp), 400, code="input.password_unchanged")
    changed = await ok(await change(otp, "good-pass-2026"))
    assert changed["changed"] is True and changed["staff"]["must_change_password"] is False
    old_token = await hall.client.get("/api/v1/auth/me", headers=token)
    await expect_problem(old_token, 401)
    fresh = {"Authorization": f"Bearer {changed['token']}"}
    await ok(await hall.client.get("/api/v1/halls/gongshu/windows/1/queue", headers=fresh))
    await expect_problem(await _login(hall, "1100", otp), 401)
    await ok(await _login(hall, "1100", "good-pass-2026"))
    assert await _ledger(hall, "1100") == [
        ("staff_added", "9001", "1100", {"name": "新同事", "role": "staff", "hall": "gongshu", "region": None}),
        ("password_changed", "1100", "1100", {}),
    ]


async def test_guessing_the_old_password_locks_the_account_like_the_sign_in_form(hall):
    async def change(old):
        return await _post(hall, "/api/v1/auth/password", "1002", {"old_password": old, "new_password": "good-pass-2026"})

    for _ in range(6):  # the right old password with a weak new one does not count as a guess
        await expect_problem(await _post(hall, "/api/v1/auth/password", "1002", {
            "old_password": "secret-pass-1", "new_password": "weakweak"}), 400, code="input.password_weak")
    for _ in range(5):
        await expect_problem(await change("guess-pass-0"), 400, code="input.old_password_wrong")
    await expect_problem(await change("secret-pass-1"), 401, code="auth.wrong_credentials")
    await expect_problem(await _login(hall, "1002", "secret-pass-1"), 401)
    assert await _ledger(hall) == []


async def test_an_altered_staff_ledger_row_breaks_the_chain(hall):
    await ok(await _post(hall, f"{STAFF}/1002/disable", "9001"))
    await ok(await _post(hall, f"{STAFF}/1002/enable", "9001"))
    service = hall.client.app[STAFF_SERVICE]
    assert await service.verify_ledger() is None
    conn = await asyncpg.connect(hall.dsn)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")  # past the append-only trigger
            await conn.execute("""UPDATE staff_ledger SET actor = '{"kind":"staff","id":"1001"}' WHERE seq = 2""")
    finally:
        await conn.close()
    assert "staff ledger row 2: hash does not match" in (await service.verify_ledger() or "")


async def test_the_first_admins_printed_password_also_forces_a_change(hall):
    rows = await fetch(hall, "SELECT must_change_password FROM staff WHERE id = 'admin'")
    assert [r["must_change_password"] for r in rows] == [True]


async def test_a_double_press_adds_once_and_shows_the_password_once(hall):
    body = {"id": "1200", "name": "双击", "hall": "gongshu"}
    answers = await asyncio.gather(*[_post(hall, STAFF, "9001", body, "same-key") for _ in range(5)])
    bodies = [await ok(r, 201) for r in answers]
    shown = [b["one_time_password"] for b in bodies if b.get("one_time_password")]
    assert len(shown) == 1 and sum(1 for b in bodies if b["repeated"]) == 4
    assert len(await fetch(hall, "SELECT 1 FROM staff WHERE id = '1200'")) == 1
    assert [k for k, *_ in await _ledger(hall, "1200")] == ["staff_added"]
    reused = await _post(hall, STAFF, "9001", {**body, "name": "别的"}, "same-key")
    await expect_problem(reused, 400, code="input.idempotency_key_reused")
    # Different accounts added at once: the chain stays whole (checked in _ledger).
    await asyncio.gather(*[_post(hall, STAFF, "0001", {"id": f"13{i}", "name": "并发", "hall": "hushu"})
                           for i in range(6)])
    assert len(await _ledger(hall)) == 7


async def test_each_manager_sees_and_manages_only_their_scope_and_never_a_higher_role(hall):
    async def ids(by):
        return {s["id"] for s in (await ok(await hall.client.get(STAFF, headers=hall.auth(by))))["staff"]}

    assert await ids("9001") == {"1001", "1002", "9001"}
    assert await ids("hs09") == {"hs01", "hs09"}
    assert await ids("d01") == {"1001", "1002", "9001", "hs01", "hs09", "d01"}
    assert await ids("0001") >= {"1001", "hs01", "hs09", "d01", "0001", "admin"}
    await expect_problem(await hall.client.get(STAFF, headers=hall.auth("1001")), 403, code="auth.role")
    await expect_problem(await hall.client.get(STAFF, headers=hall.auth("K01")), 403)
    # Out of scope reads as unknown; giving a hall, region or role beyond one's own is refused.
    await expect_problem(await hall.client.get(f"{STAFF}/hs01", headers=hall.auth("9001")), 404,
                         code="staff.unknown")
    await expect_problem(await _post(hall, f"{STAFF}/0001/disable", "9001"), 404)
    await expect_problem(await _post(hall, STAFF, "9001", {"id": "x1", "name": "甲", "hall": "hushu"}), 403,
                         code="auth.staff_scope")
    await expect_problem(await _post(hall, STAFF, "9001", {"id": "x2", "name": "乙", "role": "admin"}), 403,
                         code="auth.role_above")
    await expect_problem(await _post(hall, STAFF, "hs09", {"id": "x3", "name": "丙", "hall": "gongshu"}), 403)
    await expect_problem(await _post(hall, f"{STAFF}/1001/edit", "9001", {"role": "admin"}), 403,
                         code="auth.role_above")
    await expect_problem(await _post(hall, f"{STAFF}/1001/edit", "9001", {"hall": "hushu"}), 403)
    await expect_problem(await _post(hall, f"{STAFF}/1001/edit", "1002", {"name": "改名"}), 403)
    # Within scope: the district's manager moves a clerk to another hall of the district.
    moved = await ok(await _post(hall, f"{STAFF}/1001/edit", "d01", {"hall": "hushu", "name": "张三丰"}))
    assert moved["staff"]["hall"] == "hushu" and moved["staff"]["name"] == "张三丰"
    assert await ids("9001") == {"1002", "9001"}
    promoted = await ok(await _post(hall, f"{STAFF}/1002/edit", "9001", {"role": "manager"}))
    assert promoted["staff"]["role_zh"] == "管理人员"
    detail = await ok(await hall.client.get(f"{STAFF}/1001", headers=hall.auth("d01")))
    assert [(h["kind"], h["by"]) for h in detail["history"]] == [("staff_edited", "d01")]
    assert detail["history"][0]["payload"]["changes"]["hall"] == {"from": "gongshu", "to": "hushu"}
    await expect_problem(await hall.client.get(f"{STAFF}/1001", headers=hall.auth("9001")), 404)


async def test_disabling_yourself_or_the_last_admin_is_refused_and_a_disabled_account_is_out_at_once(hall):
    await expect_problem(await _post(hall, f"{STAFF}/9001/disable", "9001"), 409, code="staff.self_disable",
                         detail_has="自己")
    await ok(await _post(hall, f"{STAFF}/admin/disable", "0001"))
    await expect_problem(await _post(hall, f"{STAFF}/0001/edit", "0001", {"role": "manager", "hall": "gongshu"}),
                         409, code="staff.last_admin", detail_has="最后一个")
    await ok(await _post(hall, f"{STAFF}/1002/disable", "9001"))
    await expect_problem(await hall.client.get("/api/v1/auth/me", headers=hall.auth("1002")), 401)
    await expect_problem(await _login(hall, "1002", "secret-pass-1"), 401)
    await expect_problem(await _post(hall, f"{STAFF}/1002/disable", "9001"), 409, code="staff.already")
    listed = await ok(await hall.client.get(STAFF, headers=hall.auth("9001")))
    assert {s["id"]: s["active"] for s in listed["staff"]}["1002"] is False
    await ok(await _post(hall, f"{STAFF}/1002/enable", "9001"))
    await ok(await _login(hall, "1002", "secret-pass-1"))
    assert [k for k, *_ in await _ledger(hall, "1002")] == ["staff_disabled", "staff_enabled"]


async def test_a_locked_account_is_unlocked_by_its_manager(hall):
    for _ in range(5):
        await expect_problem(await _login(hall, "1002", "wrong-pass-0"), 401)
    await expect_problem(await _login(hall, "1002", "secret-pass-1"), 401)
    listed = await ok(await hall.client.get(STAFF, headers=hall.auth("9001")))
    assert {s["id"]: s["locked"] for s in listed["staff"]}["1002"] is True
    await expect_problem(await _post(hall, f"{STAFF}/1001/unlock", "9001"), 409, code="staff.not_locked")
    unlocked = await ok(await _post(hall, f"{STAFF}/1002/unlock", "9001", key="u1"))
    assert unlocked["staff"]["locked"] is False
    assert (await ok(await _post(hall, f"{STAFF}/1002/unlock", "9001", key="u1")))["repeated"] is True
    await ok(await _login(hall, "1002", "secret-pass-1"))
    assert await _ledger(hall, "1002") == [("staff_unlocked", "9001", "1002", {})]


async def test_a_reset_password_ends_the_clerks_sessions_and_is_shown_once(hall):
    reset = await ok(await _post(hall, f"{STAFF}/1001/reset-password", "9001", key="r1"))
    otp = reset["one_time_password"]
    again = await ok(await _post(hall, f"{STAFF}/1001/reset-password", "9001", key="r1"))
    assert again["repeated"] is True and "one_time_password" not in again
    await expect_problem(await hall.client.get("/api/v1/auth/me", headers=hall.auth("1001")), 401)
    await expect_problem(await _login(hall, "1001", "secret-pass-1"), 401)
    signed_in = await ok(await _login(hall, "1001", otp))
    assert signed_in["staff"]["must_change_password"] is True
    await expect_problem(await _post(hall, f"{STAFF}/9001/reset-password", "9001"), 409, code="staff.self_reset")
    stored = await fetch(hall, "SELECT body::text AS body FROM idempotency WHERE hall = '~staff'")
    assert stored and all(otp not in r["body"] for r in stored)
    assert [k for k, *_ in await _ledger(hall, "1001")] == ["password_reset"]


@pytest.mark.parametrize(("path", "body", "code"), [
    (STAFF, {"id": "a\u0000b", "name": "甲", "hall": "gongshu"}, "input.control_character"),
    (STAFF, {"id": "a b/c", "name": "甲", "hall": "gongshu"}, "input.bad_staff_id"),
    (STAFF, {"id": "1300", "name": "长" * 65, "hall": "gongshu"}, "input.too_long"),
    (STAFF, {"id": "1300", "name": "甲", "hall": "gongshu", "role": "boss"}, "input.unknown_role"),
    (STAFF, {"id": "1300", "name": "甲", "hall": "nowhere"}, "input.staff_hall_unknown"),
    (STAFF, {"id": "1300", "name": "甲"}, "input.hall_required"),
    (STAFF, {"id": "1001", "name": "甲", "hall": "gongshu"}, "input.staff_exists"),
    (STAFF, {"id": ["1300"], "name": "甲", "hall": "gongshu"}, "input.not_string"),
    (f"{STAFF}/1001/edit", {"salary": "1"}, "input.bad_choice"),
    (f"{STAFF}/1001/edit", {}, "input.staff_no_change"),
    (f"{STAFF}/1001/edit", {"name": "张三"}, "input.staff_no_change"),
    (f"{STAFF}/1001/edit", {"role": "staff", "region": "hushu"}, "input.region_manager_only"),
])
async def test_bad_input_is_refused_in_chinese_and_changes_nothing(hall, path, body, code):
    before = await fetch(hall, "SELECT * FROM staff ORDER BY id")
    problem = await expect_problem(await _post(hall, path, "9001", body), 400, code=code)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"]), problem
    assert await fetch(hall, "SELECT * FROM staff ORDER BY id") == before
    assert await _ledger(hall) == []


async def test_malformed_bodies_and_paths_are_refused(hall):
    headers = hall.auth("9001", **{"Content-Type": "application/json"})
    await expect_problem(await hall.client.post(STAFF, data=b'{"id": ', headers=headers), 400, code="input.not_json")
    await expect_problem(await hall.client.post(STAFF, data=b"[1]", headers=headers), 400, code="input.not_object")
    await expect_problem(await hall.client.post(STAFF, data=b"id=1", headers=hall.auth(
        "9001", **{"Content-Type": "application/x-www-form-urlencoded"})), 415)
    await expect_problem(await hall.client.get(f"{STAFF}/10%0001", headers=hall.auth("9001")), 400)
    await expect_problem(await _post(hall, "/api/v1/auth/password", "1001", {"old_password": 1, "new_password": "x"}),
                         400, code="input.not_string")
    await expect_problem(await _post(hall, "/api/v1/auth/password", "1001", {"old_password": "secret-pass-1"}),
                         400, code="input.missing_field")
    assert await _ledger(hall) == []


async def test_a_photo_is_checked_by_its_bytes_and_served_to_the_screens(hall):
    url = f"{STAFF}/1001/photo"

    async def put(data, by="9001", kind="image/png"):
        return await hall.client.put(url, data=data, headers=hall.auth(by, **{"Content-Type": kind}))

    await expect_problem(await put(b"GIF89a" + bytes(50)), 400, code="input.photo_type", detail_has="JPEG 或 PNG")
    await expect_problem(await put(b"<svg onload=alert(1)>", kind="image/jpeg"), 400, code="input.photo_type")
    await expect_problem(await put(b""), 400, code="input.photo_empty")
    await expect_problem(await put(b"\xff\xd8\xff" + bytes(61 * 1024)), 400, code="input.photo_too_large")
    await expect_problem(await put(b"\xff\xd8\xff" + bytes(70 * 1024)), 413)
    await expect_problem(await put(PNG, by="1002"), 403)
    await expect_problem(await hall.client.get(url), 404, code="staff.no_photo")
    assert await _ledger(hall) == []
    done = await ok(await put(JPEG, kind="image/png"))
    assert done["staff"]["photo_url"].startswith(url + "?v=")
    got = await hall.client.get(done["staff"]["photo_url"])
    assert got.status == 200 and got.content_type == "image/jpeg" and await got.read() == JPEG
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert [(k, p["content_type"], p["bytes"]) for k, _, _, p in await _ledger(hall, "1001")] == [
        ("photo_set", "image/jpeg", len(JPEG))]
