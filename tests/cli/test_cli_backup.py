"""`queue-server backup` / `restore`: a day of activity → backup → restore into an empty database
→ verify-ledger passes and every ticket and rating is there; a damaged or partial backup, or a
database that is not empty, is refused before anything is written."""

from __future__ import annotations

import io
import json
import stat
import tarfile
from pathlib import Path

import pytest

from tests.cli.cli_support import CONFIG, fetch, output_lines, run
from tests.support.hall import start_hall
from tests.support.services import run_async, temporary_database


def _config(tmp: Path, name: str) -> Path:
    """The sample configuration with its anchor key and log in `tmp`/`name` (one per server)."""
    place = tmp / name
    place.mkdir()
    text = CONFIG.read_text(encoding="utf-8")
    text = text.replace('key_file = "./var/anchor-key.pem"', f'key_file = "{place / "anchor-key.pem"}"')
    text = text.replace('log_file = "./var/anchors.jsonl"', f'log_file = "{place / "anchors.jsonl"}"')
    path = place / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _a_day(db: str) -> None:
    """Tickets issued, served and rated in two halls (the app writes them, as in the hall)."""

    async def go() -> None:
        async for h in start_hall(db):
            await h.add_device("K01", role="kiosk")
            await h.add_device("K02", role="kiosk", hall="hushu")
            await h.add_device("E01", role="evaluator", window=1)
            await h.add_staff("1001", name="张三")
            await h.add_staff("hs01", name="湖墅员", hall="hushu")
            for _ in range(5):
                await h.issue("A")
            await h.issue("A", by="K02", hall="hushu")
            await h.act(1, "open")
            for level in ("very_satisfied", "dissatisfied"):
                number = (await h.act(1, "call-next"))["ticket"]["number"]
                await h.act(1, "start")
                h.clock.advance(120)
                await h.act(1, "finish")
                resp = await h.client.post("/api/v1/halls/gongshu/windows/1/rating", headers=h.auth("E01"), json={
                    "number": number, "level": level, **({"labels": ["等候时间过长"]} if level == "dissatisfied" else {})})
                assert resp.status == 201, await resp.text()

    run_async(go())


@pytest.fixture
def other_db(pg_dsn):
    with temporary_database(pg_dsn) as dsn:
        yield dsn


def test_a_day_backed_up_and_restored_into_an_empty_database_verifies_with_every_ticket_and_rating(
        fresh_db, other_db, tmp_path):
    _a_day(fresh_db)
    source = _config(tmp_path, "hall")
    anchored = run("anchor", "--config", str(source), db=fresh_db)
    assert anchored.returncode == 0, anchored.stderr
    out = tmp_path / "backup" / "hall-queue-2026-12-06.tar"
    done = run("backup", "--config", str(source), "--out", str(out), db=fresh_db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "backup written to" in done.stdout and "6 tickets, 2 ratings" in done.stdout, done.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600, "it holds the anchoring key"
    again = run("backup", "--config", str(source), "--out", str(out), db=fresh_db)
    assert again.returncode == 1 and "never overwrites" in again.stderr

    target = _config(tmp_path, "restored")
    restored = run("restore", "--config", str(target), "--from", str(out), db=other_db)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    lines = output_lines(restored.stdout)
    assert "OK hall gongshu: 17 ledger rows, chain intact" in lines and "OK hall hushu: 2 ledger rows, chain intact" in lines, lines
    for table in ("tickets", "ratings", "ledger", "staff", "devices", "stat_visits"):
        before = fetch(fresh_db, f"SELECT count(*) AS n FROM {table}")[0]["n"]
        after = fetch(other_db, f"SELECT count(*) AS n FROM {table}")[0]["n"]
        assert before == after and after > 0, table
    # the anchor log and key came back beside the new configuration, and verify against it
    place = target.parent
    assert (place / "anchors.jsonl").read_bytes() == (source.parent / "anchors.jsonl").read_bytes()
    assert stat.S_IMODE((place / "anchor-key.pem").stat().st_mode) == 0o600
    public = run("anchor-key", "--config", str(target), "--public")
    (place / "public.pem").write_text(public.stdout)
    verified = run("verify-ledger", "--config", str(target), "--anchors", str(place / "anchors.jsonl"),
                   "--public-key", str(place / "public.pem"), db=other_db)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_restore_into_a_database_that_is_not_empty_is_refused_and_changes_nothing(fresh_db, tmp_path):
    _a_day(fresh_db)
    config = _config(tmp_path, "hall")
    out = tmp_path / "b.tar"
    assert run("backup", "--config", str(config), "--out", str(out), db=fresh_db).returncode == 0
    before = fetch(fresh_db, "SELECT count(*) AS n FROM ledger")[0]["n"]
    refused = run("restore", "--config", str(config), "--from", str(out), db=fresh_db)
    assert refused.returncode == 1 and "not empty" in refused.stderr, refused.stderr
    assert fetch(fresh_db, "SELECT count(*) AS n FROM ledger")[0]["n"] == before


def test_a_damaged_or_foreign_backup_is_refused_before_the_database_is_touched(fresh_db, other_db, tmp_path):
    _a_day(fresh_db)
    config = _config(tmp_path, "hall")
    out = tmp_path / "b.tar"
    assert run("backup", "--config", str(config), "--out", str(out), db=fresh_db).returncode == 0
    # one byte of the dump changed inside the archive
    with tarfile.open(out) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    dump = bytearray(members["database.dump"])
    dump[len(dump) // 2] ^= 0xFF
    members["database.dump"] = bytes(dump)
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(damaged, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    refused = run("restore", "--config", str(_config(tmp_path, "x")), "--from", str(damaged), db=other_db)
    assert refused.returncode == 1 and "checksum" in refused.stderr, refused.stderr
    # a file that is no backup at all, and one that is cut short
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\0hello")
    cut = tmp_path / "cut.tar"
    cut.write_bytes(out.read_bytes()[:2048])
    for bad in (junk, cut, tmp_path / "missing.tar"):
        refused = run("restore", "--config", str(_config(tmp_path, bad.stem)), "--from", str(bad), db=other_db)
        assert refused.returncode == 1 and refused.stderr.strip(), bad
    tables = fetch(other_db, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")[0]["n"]
    assert tables == 0, "nothing was restored"
    manifest = json.loads(members["manifest.json"])
    assert manifest["counts"]["tickets"] == 6 and "database.dump" in manifest["files"]
