"""`queue-server anchor`, `anchor-key` and `verify-ledger --anchors`: tamper evidence that a
superuser of the database cannot erase, because the anchors and their key live outside it."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

from queue_server.adapters import store
from queue_server.domain.ledger import LedgerRow
from tests.cli.cli_support import execute, fetch, output_lines, run, with_config
from tests.support.hall import start_hall
from tests.support.services import run_async


def anchor(db: str, tmp: Path, *extra: str, key: str = "anchor-key.pem") -> None:
    done = run(*with_config("anchor", "--key", str(tmp / key), "--log", str(tmp / "anchors.jsonl"), *extra), db=db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "anchored hall gongshu at seq" in done.stdout


def verify(db: str, tmp: Path | None = None, *extra: str):
    args = ["verify-ledger", "--hall", "gongshu"]
    if tmp is not None:
        args += ["--anchors", str(tmp / "anchors.jsonl"), "--public-key", str(tmp / "public.pem")]
    return run(*with_config(*args, *extra), db=db)


def export_public_key(tmp: Path, key: str = "anchor-key.pem") -> None:
    done = run(*with_config("anchor-key", "--key", str(tmp / key), "--public"))
    assert done.returncode == 0, done.stderr
    (tmp / "public.pem").write_text(done.stdout)


def gongshu_rows(db: str) -> list[LedgerRow]:
    async def go() -> list[LedgerRow]:
        pool = await store.create_pool(db, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                return [r async for r in store.iter_ledger(conn, "gongshu")]
        finally:
            await pool.close()

    return run_async(go())


def more_rows(db: str) -> None:
    """The hall goes on working after the anchor (the app, not the CLI, writes these)."""

    async def go() -> None:
        async for h in start_hall(db):
            await h.add_device("K02", role="kiosk")
            await h.issue("A", by="K02")
            await h.issue("A", by="K02")

    run_async(go())


# ---- the key -----------------------------------------------------------------------------


def test_anchor_key_is_created_once_with_mode_0600_and_exports_its_public_key(tmp_path):
    key = tmp_path / "var" / "anchor-key.pem"
    first = run(*with_config("anchor-key", "--key", str(key), "--public"))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in first.stdout
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key.read_bytes()
    again = run(*with_config("anchor-key", "--key", str(key), "--public"))
    assert again.stdout == first.stdout, "a second start must keep the key, not make a new one"


# ---- intact ledger -----------------------------------------------------------------------


def test_verify_with_anchors_passes_an_intact_ledger_that_grew_after_the_anchor(ledger_db, tmp_path):
    anchor(ledger_db, tmp_path)
    export_public_key(tmp_path)
    more_rows(ledger_db)
    anchor(ledger_db, tmp_path)
    done = verify(ledger_db, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = output_lines(done.stdout)
    assert line.startswith("OK hall gongshu:") and "2 anchor(s) agree" in line
    entries = [json.loads(x) for x in (tmp_path / "anchors.jsonl").read_text().splitlines()]
    assert {e["hall"] for e in entries} == {"gongshu", "hushu", "xiangfu"}
    assert len(entries) == 6 and all(e["reason"] == "on-demand" for e in entries)


# ---- attack 1: cut the tail, reset the head ----------------------------------------------


def test_a_cut_tail_with_a_reset_head_passes_plain_verify_but_not_the_anchors(ledger_db, tmp_path):
    anchor(ledger_db, tmp_path)
    export_public_key(tmp_path)
    rows = gongshu_rows(ledger_db)
    last = rows[-1].seq
    keep = rows[1]  # keep rows 1-2, remove the rest
    assert last >= 4
    execute(
        ledger_db,
        [  # as a superuser would: around the triggers, and the head moved back to the kept row
            "ALTER TABLE ledger DISABLE TRIGGER USER",
            f"DELETE FROM ledger WHERE hall = 'gongshu' AND seq > {keep.seq}",
            "ALTER TABLE ledger ENABLE TRIGGER USER",
            f"UPDATE halls SET seq = {keep.seq}, head_hash = '\\x{keep.hash.hex()}' WHERE id = 'gongshu'",
        ],
    )
    plain = verify(ledger_db)
    assert plain.returncode == 0, "the hash chain alone cannot see this attack: " + plain.stdout
    assert "OK hall gongshu: 2 ledger rows" in plain.stdout

    done = verify(ledger_db, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = output_lines(done.stdout)
    assert line.startswith(f"FAIL hall gongshu: ledger row {last}: missing")
    assert f"the ledger ends at seq {keep.seq}" in line and "truncated" in line


# ---- attack 2: rewrite a row and every hash after it ---------------------------------------


def test_a_rewritten_row_with_recomputed_hashes_passes_plain_verify_but_not_the_anchors(ledger_db, tmp_path):
    anchor(ledger_db, tmp_path)
    export_public_key(tmp_path)
    rows = gongshu_rows(ledger_db)
    anchored = rows[-1].seq
    # Row 2 was issued at the kiosk; say it came by phone, then recompute the chain from there.
    forged: list[LedgerRow] = list(rows[:1])
    for row in rows[1:]:
        payload = {**row.payload, "channel": "phone"} if row.seq == 2 else row.payload
        new = dataclasses.replace(row, payload=payload, prev_hash=forged[-1].hash, hash=b"")
        forged.append(dataclasses.replace(new, hash=new.computed_hash()))

    async def rewrite() -> None:
        pool = await store.create_pool(ledger_db, min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
                for row in forged[1:]:
                    await conn.execute(
                        "UPDATE ledger SET payload = $3, prev_hash = $4, hash = $5 WHERE hall = $1 AND seq = $2",
                        "gongshu", row.seq, row.payload, row.prev_hash, row.hash,
                    )
                await conn.execute(
                    "UPDATE halls SET head_hash = $2 WHERE id = $1", "gongshu", forged[-1].hash
                )
        finally:
            await pool.close()

    run_async(rewrite())
    assert gongshu_rows(ledger_db)[1].payload["channel"] == "phone"
    plain = verify(ledger_db)
    assert plain.returncode == 0, "the hash chain alone cannot see this attack: " + plain.stdout

    done = verify(ledger_db, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    [line] = output_lines(done.stdout)
    assert line.startswith(f"FAIL hall gongshu: ledger row {anchored}: hash differs")
    assert f"rewritten at or before seq {anchored}" in line


# ---- the anchors themselves --------------------------------------------------------------


def test_an_altered_anchor_fails_its_signature(ledger_db, tmp_path):
    anchor(ledger_db, tmp_path, "--hall", "gongshu")
    export_public_key(tmp_path)
    log = tmp_path / "anchors.jsonl"
    entry = json.loads(log.read_text())
    assert entry["seq"] >= 2
    # An attacker who cut the ledger back to seq 2 would need the anchor to say seq 2.
    row2 = gongshu_rows(ledger_db)[1]
    entry.update(seq=2, hash=row2.hash.hex())
    log.write_text(json.dumps(entry) + "\n")
    done = verify(ledger_db, tmp_path)
    assert done.returncode == 1, done.stdout
    failures = [x for x in output_lines(done.stdout) if x.startswith("FAIL")]
    assert len(failures) == 1
    assert failures[0].startswith("FAIL anchors line 1 (hall gongshu, seq 2): the signature does not verify")


def test_an_anchor_made_with_another_key_is_rejected(ledger_db, tmp_path):
    anchor(ledger_db, tmp_path, "--hall", "gongshu")
    export_public_key(tmp_path)
    # Someone with their own key appends an anchor of a ledger they forged.
    anchor(ledger_db, tmp_path, "--hall", "gongshu", key="forger-key.pem")
    done = verify(ledger_db, tmp_path)
    assert done.returncode == 1, done.stdout
    failures = [x for x in output_lines(done.stdout) if x.startswith("FAIL")]
    assert len(failures) == 1, failures
    assert failures[0].startswith("FAIL anchors line 2 (hall gongshu, seq ")
    assert "made with key ed25519:" in failures[0] and "signed by another key" in failures[0]


def test_a_line_that_is_not_an_anchor_fails_and_names_its_line(ledger_db, tmp_path):
    anchor(ledger_db, tmp_path, "--hall", "gongshu")
    export_public_key(tmp_path)
    with (tmp_path / "anchors.jsonl").open("a") as log:
        log.write('{"v": 1, "hall": "gongshu"}\n')
    done = verify(ledger_db, tmp_path)
    assert done.returncode == 1
    assert "FAIL anchors line 2: not an anchor: field 'seq' missing" in done.stdout


def test_verify_takes_the_public_key_from_a_private_key_file_and_names_a_missing_key_file(ledger_db, tmp_path):
    anchor(ledger_db, tmp_path, "--hall", "gongshu")
    done = run(
        *with_config("verify-ledger", "--hall", "gongshu", "--anchors", str(tmp_path / "anchors.jsonl"),
                     "--public-key", str(tmp_path / "anchor-key.pem")),
        db=ledger_db,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    missing = run(
        *with_config("verify-ledger", "--anchors", str(tmp_path / "anchors.jsonl"),
                     "--public-key", str(tmp_path / "nowhere.pem")),
        db=ledger_db,
    )
    assert missing.returncode == 1 and "nowhere.pem" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert fetch(ledger_db, "SELECT count(*) AS n FROM ledger WHERE hall = 'gongshu'")[0]["n"] >= 4
