"""Sign-in throttling that cannot lock a hall out (issue 8, point 7).

The account lock holds at exactly five attempts however many arrive at once (in one server
process or two), a locked account answers like an unknown staff number, and failures from a
shared address never keep another account's correct password out.
"""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from queue_server.config import Limits
from queue_server.main import create_app
from queue_server.service import auth as auth_module
from tests.api.checks import expect_problem, ok
from tests.support.hall import FAST_HASHER, sample_config

LOGIN = "/api/v1/auth/login"


class CountingVerify:
    """Counts password checks, separately for one account's real hash and for the rest."""

    def __init__(self, real_hash: str) -> None:
        self.real_hash = real_hash
        self.of_account = 0
        self.others = 0
        self._verify = auth_module._verify

    def __call__(self, digest: str, password: str) -> bool:
        if digest == self.real_hash:
            self.of_account += 1
        else:
            self.others += 1
        return self._verify(digest, password)


async def _staff_row(dsn: str, staff_id: str) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(
            "SELECT password_hash, failed_logins, locked_until FROM staff WHERE id = $1", staff_id
        )
    finally:
        await conn.close()


async def test_concurrent_wrong_passwords_on_two_servers_are_checked_exactly_five_times(
    hall, monkeypatch
):
    counting = CountingVerify((await _staff_row(hall.dsn, "1001"))["password_hash"])
    monkeypatch.setattr(auth_module, "_verify", counting)
    # A second server process on the same database (its own pool, throttle and cache).
    other = TestClient(TestServer(create_app(
        hall.config, dsn=hall.dsn, clock=hall.clock, redis_url="", password_hasher=FAST_HASHER
    )))
    await other.start_server()
    try:
        clients = (hall.client, other)
        answers = await asyncio.gather(*(
            clients[i % 2].post(LOGIN, json={"staff_id": "1001", "password": f"wrong-{i}"})
            for i in range(19)
        ))
        assert [a.status for a in answers] == [401] * 19
        assert counting.of_account == 5
        row = await _staff_row(hall.dsn, "1001")
        assert row["failed_logins"] == 5 and row["locked_until"] is not None
        # The lock holds: the right password is no longer even checked.
        for client in clients:
            await expect_problem(
                await client.post(LOGIN, json={"staff_id": "1001", "password": "secret-pass-1"}), 401
            )
        assert counting.of_account == 5
    finally:
        await other.close()


async def test_a_locked_account_answers_exactly_like_an_unknown_staff_number(hall, monkeypatch):
    for _ in range(5):
        await expect_problem(
            await hall.client.post(LOGIN, json={"staff_id": "1001", "password": "wrong-pass"}), 401
        )
    counting = CountingVerify((await _staff_row(hall.dsn, "1001"))["password_hash"])
    monkeypatch.setattr(auth_module, "_verify", counting)

    locked = await hall.client.post(LOGIN, json={"staff_id": "1001", "password": "secret-pass-1"})
    unknown = await hall.client.post(LOGIN, json={"staff_id": "9999", "password": "secret-pass-1"})
    assert (locked.status, locked.content_type, await locked.json()) == (
        unknown.status, unknown.content_type, await unknown.json()
    )
    assert locked.status == 401
    assert ("Retry-After" in locked.headers) == ("Retry-After" in unknown.headers)
    # Both cost one password check (against a dummy hash): no timing tells them apart.
    assert counting.of_account == 0 and counting.others == 2


async def test_failures_of_one_account_never_keep_another_accounts_correct_password_out(make_hall):
    config = dataclasses.replace(sample_config(), limits=Limits(login_failure_delay_seconds=0.05))
    hall = await make_hall(config=config)
    await hall.add_staff("1002", name="李四")
    # 25 failures of one account from this address: past the address's limit of 20.
    for _ in range(25):
        resp = await hall.client.post(LOGIN, json={"staff_id": "1001", "password": "wrong-pass"})
        assert resp.status in (401, 429), await resp.text()
    slowed = await hall.client.post(LOGIN, json={"staff_id": "1001", "password": "wrong-pass"})
    await expect_problem(slowed, 429)
    assert slowed.headers["Retry-After"] == "1"
    # Another account's correct password from the same address signs in at once.
    body = await ok(await hall.client.post(LOGIN, json={"staff_id": "1002", "password": "secret-pass-1"}))
    assert body["staff"]["id"] == "1002"


async def test_a_slowed_address_still_signs_in_an_account_with_earlier_typos(make_hall):
    config = dataclasses.replace(sample_config(), limits=Limits(login_failure_delay_seconds=0.05))
    hall = await make_hall(config=config)
    for i in range(20):
        await hall.client.post(LOGIN, json={"staff_id": f"x{i}", "password": "wrong-pass"})
    await expect_problem(
        await hall.client.post(LOGIN, json={"staff_id": "1001", "password": "typo-pass"}), 429
    )
    await ok(await hall.client.post(LOGIN, json={"staff_id": "1001", "password": "secret-pass-1"}))
