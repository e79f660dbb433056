"""Staff sign-in and sign-out: bearer tokens that expire and can be revoked."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.api.checks import expect_problem, ledger, ok, post
from tests.support.hall import MONDAY_10AM

LOGIN = "/api/v1/auth/login"
TTL = timedelta(minutes=720)  # [auth] token_ttl_minutes of the sample configuration


async def login(h, staff_id: str = "1001", password: str = "secret-pass-1"):
    return await h.client.post(LOGIN, json={"staff_id": staff_id, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_answers_a_token_and_its_expiry(hall):
    body = await ok(await login(hall))
    assert body["token"] and body["token"] != hall.tokens["1001"]
    assert datetime.fromisoformat(body["expires_at"]) == MONDAY_10AM + TTL
    assert body["staff"] == {"id": "1001", "name": "张三", "role": "staff", "hall": "gongshu",
                             "must_change_password": False}


async def test_the_token_identifies_the_staff_member(hall):
    token = (await ok(await login(hall)))["token"]
    me = await ok(await hall.client.get("/api/v1/auth/me", headers=bearer(token)))
    assert me["kind"] == "staff" and me["id"] == "1001" and me["hall"] == "gongshu" and me["region"] is None


async def test_sign_in_is_in_the_ledger_with_the_staff_number(hall):
    await ok(await login(hall))
    signed_in = [e for e in await ledger(hall) if e["kind"] == "staff_signed_in"]
    assert len(signed_in) == 2  # the fixture's sign-in and this one
    assert all(e["actor"]["id"] == "1001" and e["actor"]["kind"] == "staff" for e in signed_in)
    assert signed_in[-1]["payload"] == {"staff_id": "1001"}


async def test_a_wrong_password_is_401(hall):
    await expect_problem(await login(hall, password="wrong-password"), 401)


async def test_an_unknown_staff_number_gets_the_same_answer_as_a_wrong_password(hall):
    unknown = await expect_problem(await login(hall, staff_id="9999"), 401)
    wrong = await expect_problem(await login(hall, password="wrong-password"), 401)
    assert unknown["detail"] == wrong["detail"]


async def test_five_failed_sign_ins_lock_the_account(hall):
    for _ in range(5):
        await expect_problem(await login(hall, password="wrong-password"), 401)
    # Locked: even the right password is refused, with the answer any failure gets.
    body = await expect_problem(await login(hall), 401)
    assert "locked_until" not in body
    hall.clock.advance(15 * 60 + 1)
    await ok(await login(hall))


async def test_login_without_a_staff_number_is_400_naming_the_field(hall):
    resp = await hall.client.post(LOGIN, json={"password": "secret-pass-1"})
    await expect_problem(resp, 400, field="staff_id")


async def test_login_with_a_staff_number_of_the_wrong_type_is_400(hall):
    resp = await hall.client.post(LOGIN, json={"staff_id": 1001, "password": "secret-pass-1"})
    await expect_problem(resp, 400, field="staff_id")


async def test_login_without_a_password_is_400_naming_the_field(hall):
    await expect_problem(
        await hall.client.post(LOGIN, json={"staff_id": "1001"}), 400, field="password"
    )
    resp = await hall.client.post(LOGIN, json={"staff_id": "1001", "password": 12345678})
    await expect_problem(resp, 400, field="password")


async def test_login_with_malformed_json_is_400(hall):
    resp = await hall.client.post(
        LOGIN, data="staff_id=1001", headers={"Content-Type": "application/json"}
    )
    await expect_problem(resp, 400)


async def test_a_token_stops_working_when_it_expires(hall):
    """A token never used before (so not in the 5 s lookup cache) is checked against the clock."""
    token = (await ok(await login(hall)))["token"]
    hall.clock.advance(TTL.total_seconds() + 1)
    await expect_problem(await hall.client.get("/api/v1/auth/me", headers=bearer(token)), 401)
    resp = await hall.client.post("/api/v1/halls/gongshu/windows/1/open", headers=bearer(token))
    await expect_problem(resp, 401)


async def test_a_token_in_use_expires_too(hall, monkeypatch):
    monkeypatch.setattr("queue_server.service.auth.CACHE_SECONDS", 0.0)
    token = (await ok(await login(hall)))["token"]
    hall.clock.advance(TTL.total_seconds() - 60)
    await ok(await hall.client.get("/api/v1/auth/me", headers=bearer(token)))
    hall.clock.advance(61)
    await expect_problem(await hall.client.get("/api/v1/auth/me", headers=bearer(token)), 401)


async def test_logout_revokes_the_token_at_once(hall):
    token = (await ok(await login(hall)))["token"]
    await ok(await hall.client.get("/api/v1/auth/me", headers=bearer(token)))  # now cached
    assert await ok(await hall.client.post("/api/v1/auth/logout", headers=bearer(token))) == {
        "signed_out": True
    }
    await expect_problem(await hall.client.get("/api/v1/auth/me", headers=bearer(token)), 401)
    resp = await hall.client.post("/api/v1/halls/gongshu/windows/1/open", headers=bearer(token))
    await expect_problem(resp, 401)
    # Other tokens of the same person are not affected.
    await ok(await hall.client.get("/api/v1/auth/me", headers=hall.auth("1001")))


async def test_sign_out_is_in_the_ledger_with_the_staff_number(hall):
    await ok(await post(hall, "/api/v1/auth/logout"))
    hall.tokens["again"] = (await ok(await login(hall)))["token"]
    events = await ledger(hall, by="again")
    signed_out = [e for e in events if e["kind"] == "staff_signed_out"]
    assert len(signed_out) == 1
    assert signed_out[0]["actor"]["id"] == "1001" and signed_out[0]["payload"] == {
        "staff_id": "1001"
    }


async def test_logout_without_a_token_is_401(hall):
    await expect_problem(await hall.client.post("/api/v1/auth/logout"), 401)


async def test_logout_with_a_device_token_is_400(hall):
    resp = await post(hall, "/api/v1/auth/logout", by="K01")
    await expect_problem(resp, 400, field="Authorization")


async def test_me_without_a_token_is_401(hall):
    await expect_problem(await hall.client.get("/api/v1/auth/me"), 401)


async def test_me_with_a_device_token_names_the_device(hall):
    me = await ok(await hall.client.get("/api/v1/auth/me", headers=hall.auth("K01")))
    assert me["kind"] == "device" and me["role"] == "kiosk" and me["hall"] == "gongshu"
