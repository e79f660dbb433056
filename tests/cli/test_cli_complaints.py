"""`queue-server complaints erase-contacts`: the contact phone of complaints closed longer than
[complaints] contact_retention_days ago is erased, each erasure a ledger event; the steps stay."""

from __future__ import annotations

from tests.cli.cli_support import execute, fetch, output_lines, run, with_config
from tests.support.hall import start_hall
from tests.support.services import run_async


def _complaints_closed_and_open(dsn: str) -> None:
    """Three complaints with a contact: one declined (to be backdated), one declined just now,
    one still open."""

    async def populate() -> None:
        async for h in start_hall(dsn):
            await h.add_staff("9001", name="王经理", role="manager")
            for text in (LONG_AGO, "刚处理完的投诉 13900001111", "尚未受理的投诉"):
                resp = await h.client.post(
                    "/api/v1/halls/gongshu/complaints", headers=h.auth("9001"),
                    json={"channel": "phone", "category": "other", "content": text,
                          "contact_phone": "13812345678", "consent": True})
                assert resp.status == 201, await resp.text()
            rows = await h.client.get("/api/v1/halls/gongshu/complaints", headers=h.auth("9001"))
            for c in (await rows.json())["complaints"]:
                if c["content"] != "尚未受理的投诉":  # the first two are closed
                    done = await h.client.post(f"/api/v1/halls/gongshu/complaints/{c['id']}/decline",
                                               json={"reason": "重复投诉"}, headers=h.auth("9001"))
                    assert done.status == 200, await done.text()

    run_async(populate())
    execute(dsn, [f"UPDATE complaints SET closed_at = now() - interval '181 days' WHERE content = '{LONG_AGO}'"])


#: A complainant who typed their numbers into the text as well as the contact field.
LONG_AGO = "很久以前的投诉，请回电 138 1234 5678 或 0571-85123456，身份证 33010219900101123X，受理编号 A0123456789012345678"
LONG_AGO_ERASED = "很久以前的投诉，请回电 [电话已清除] 或 [电话已清除]，身份证 [证件号已清除]，受理编号 A0123456789012345678"


def test_erase_contacts_erases_only_past_the_retention_keeps_the_steps_and_ledgers_each(fresh_db):
    _complaints_closed_and_open(fresh_db)
    before = {r["id"]: r["steps"] for r in fetch(fresh_db, "SELECT id, steps FROM complaints ORDER BY id")}
    done = run(*with_config("complaints", "erase-contacts"), db=fresh_db)
    assert done.returncode == 0, done.stderr
    assert "hall gongshu: 1 complaint contact(s) erased" in output_lines(done.stdout)
    rows = {r["content"]: r for r in fetch(fresh_db, "SELECT * FROM complaints ORDER BY id")}
    # The numbers typed into the erased complaint's text go with its contact; others keep theirs.
    assert set(rows) == {LONG_AGO_ERASED, "刚处理完的投诉 13900001111", "尚未受理的投诉"}
    erased = rows[LONG_AGO_ERASED]
    assert erased["contact"] is None and erased["contact_erased_at"] is not None
    assert rows["刚处理完的投诉 13900001111"]["contact"] == "13812345678"
    assert rows["尚未受理的投诉"]["contact"] == "13812345678"
    assert [r["steps"] for r in rows.values()] == list(before.values()), "the steps stay"
    assert erased["state"] == "declined" and erased["decline_reason"] == "重复投诉"
    ledger = fetch(fresh_db, "SELECT payload::text AS payload FROM ledger WHERE kind = 'complaint_contact_erased'")
    assert [r["payload"] for r in ledger] == [f'{{"complaint": "{erased["id"]}"}}']

    again = run(*with_config("complaints", "erase-contacts"), db=fresh_db)
    assert again.returncode == 0, again.stderr
    assert "hall gongshu: 0 complaint contact(s) erased" in output_lines(again.stdout)
    assert len(fetch(fresh_db, "SELECT seq FROM ledger WHERE kind = 'complaint_contact_erased'")) == 1
    verified = run(*with_config("verify-ledger"), db=fresh_db)
    assert verified.returncode == 0, verified.stdout + verified.stderr
