"""`queue-server migrate`, `staff`, `device` and `verify-ledger` against a real database."""

from __future__ import annotations

import hashlib
import re

import asyncpg
from argon2 import PasswordHasher

from queue_server.adapters import migrate
from tests.cli.cli_support import execute, fetch, output_lines, refusal, run, with_config

PASSWORD = "柜台-pass-2026"


# ---- migrate ----------------------------------------------------------------------------


def test_migrate_applies_the_migrations_to_a_fresh_database(fresh_db):
    done = run(*with_config("migrate"), db=fresh_db)
    assert done.returncode == 0, done.stderr
    assert "applied 0001_core" in done.stdout
    tables = {
        r["tablename"]
        for r in fetch(fresh_db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert {
        "halls",
        "tickets",
        "windows",
        "ledger",
        "idempotency",
        "staff",
        "devices",
        "sessions",
        "schema_migrations",
    } <= tables
    halls = [r["id"] for r in fetch(fresh_db, "SELECT id FROM halls ORDER BY id")]
    assert halls == ["gongshu", "hushu", "xiangfu"]


def test_migrate_twice_changes_nothing_the_second_time(migrated_db):
    done = run(*with_config("migrate"), db=migrated_db)
    assert done.returncode == 0, done.stderr
    assert "applied" not in done.stdout and "up to date" in done.stdout
    assert len(fetch(migrated_db, "SELECT * FROM schema_migrations")) == len(migrate.available())


def test_serve_refuses_an_unmigrated_database_with_a_one_line_hint(fresh_db):
    from tests.support.services import free_port

    done = run(*with_config("serve", "--port", str(free_port())), db=fresh_db, timeout=60)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = output_lines(done.stderr)
    assert len(lines) == 1, lines
    assert "queue-server migrate" in lines[0]
    assert fetch(fresh_db, "SELECT to_regclass('ledger') IS NULL AS absent")[0]["absent"]


def test_admin_commands_refuse_an_unmigrated_database_with_a_hint(fresh_db):
    done = run(
        *with_config("device", "add", "--hall", "gongshu", "--role", "kiosk", "--name", "K01"),
        db=fresh_db,
    )
    assert done.returncode == 1
    assert "queue-server migrate" in done.stderr and "Traceback" not in done.stderr


# ---- staff ------------------------------------------------------------------------------


def test_staff_add_reads_the_password_from_stdin_and_stores_only_its_hash(migrated_db):
    done = run(
        *with_config(
            "staff",
            "add",
            "--hall",
            "gongshu",
            "--id",
            "1001",
            "--name",
            "张三",
            "--role",
            "staff",
            "--password-stdin",
        ),
        db=migrated_db,
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "1001" in done.stdout and "张三" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    row = fetch(migrated_db, "SELECT * FROM staff WHERE id = '1001'")[0]
    assert (row["hall"], row["name"], row["role"], row["active"]) == (
        "gongshu",
        "张三",
        "staff",
        True,
    )
    assert PASSWORD not in row["password_hash"]
    assert PasswordHasher().verify(row["password_hash"], PASSWORD)
    # In the staff ledger, by the server's command line.
    ledgered = fetch(migrated_db, "SELECT kind, actor->>'kind' AS by, staff_id FROM staff_ledger")
    assert [(r["kind"], r["by"], r["staff_id"]) for r in ledgered] == [("staff_added", "system", "1001")]


def test_staff_add_twice_is_refused_without_a_traceback(migrated_db):
    args = with_config(
        "staff", "add", "--hall", "gongshu", "--id", "1001", "--name", "张三", "--password-stdin"
    )
    assert run(*args, db=migrated_db, stdin=PASSWORD + "\n").returncode == 0
    again = run(*args, db=migrated_db, stdin=PASSWORD + "\n")
    assert again.returncode == 1
    assert "工号 1001 已存在" in again.stderr and "Traceback" not in again.stderr


def test_staff_add_refuses_a_short_password(migrated_db):
    done = run(
        *with_config(
            "staff",
            "add",
            "--hall",
            "gongshu",
            "--id",
            "1001",
            "--name",
            "张三",
            "--password-stdin",
        ),
        db=migrated_db,
        stdin="short\n",
    )
    assert done.returncode == 1
    assert "密码至少 8 个字符" in done.stderr and "Traceback" not in done.stderr
    assert fetch(migrated_db, "SELECT * FROM staff") == []


def test_staff_add_refuses_an_unknown_hall(migrated_db):
    done = run(
        *with_config(
            "staff",
            "add",
            "--hall",
            "nowhere",
            "--id",
            "1001",
            "--name",
            "张三",
            "--password-stdin",
        ),
        db=migrated_db,
        stdin=PASSWORD + "\n",
    )
    assert done.returncode != 0
    assert "nowhere" in done.stderr and "Traceback" not in done.stderr


def test_staff_list_shows_the_account_without_its_password(migrated_db):
    run(
        *with_config(
            "staff",
            "add",
            "--hall",
            "gongshu",
            "--id",
            "1001",
            "--name",
            "张三",
            "--password-stdin",
        ),
        db=migrated_db,
        stdin=PASSWORD + "\n",
    )
    done = run(*with_config("staff", "list", "--hall", "gongshu"), db=migrated_db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["1001\t张三\tstaff\tgongshu\tactive"]


# ---- devices ----------------------------------------------------------------------------


def test_device_add_prints_the_token_alone_on_its_last_line_and_stores_only_its_hash(migrated_db):
    done = run(
        *with_config("device", "add", "--hall", "gongshu", "--role", "kiosk", "--name", "K01"),
        db=migrated_db,
    )
    assert done.returncode == 0, done.stderr
    token = done.stdout.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", token), token
    rows = fetch(migrated_db, "SELECT d.*, d::text AS whole FROM devices d")
    assert len(rows) == 1
    row = rows[0]
    assert (row["hall"], row["role"], row["name"]) == ("gongshu", "kiosk", "K01")
    assert token not in row["whole"]
    assert all(token not in str(value) for value in row.values())
    assert token.encode() not in bytes(row["token_hash"])
    assert bytes(row["token_hash"]) == hashlib.sha256(token.encode()).digest()


def test_device_list_and_revoke(migrated_db):
    run(
        *with_config("device", "add", "--hall", "gongshu", "--role", "display", "--name", "大屏1"),
        db=migrated_db,
    )
    listed = run(*with_config("device", "list", "--hall", "gongshu"), db=migrated_db)
    assert listed.stdout.splitlines() == ["gongshu\t大屏1\tdisplay\tactive"]
    revoked = run(
        *with_config("device", "revoke", "--hall", "gongshu", "--name", "大屏1"), db=migrated_db
    )
    assert revoked.returncode == 0, revoked.stderr
    listed = run(*with_config("device", "list", "--hall", "gongshu"), db=migrated_db)
    assert listed.stdout.splitlines() == ["gongshu\t大屏1\tdisplay\trevoked"]


def test_device_revoke_of_an_unknown_device_fails_cleanly(migrated_db):
    done = run(
        *with_config("device", "revoke", "--hall", "gongshu", "--name", "ghost"), db=migrated_db
    )
    assert done.returncode == 1
    assert "ghost" in done.stderr and "Traceback" not in done.stderr


def test_an_evaluator_needs_a_window(migrated_db):
    done = run(
        *with_config("device", "add", "--hall", "gongshu", "--role", "evaluator", "--name", "E1"),
        db=migrated_db,
    )
    assert done.returncode == 1
    assert "--window" in done.stderr and "Traceback" not in done.stderr
    assert fetch(migrated_db, "SELECT * FROM devices") == []


# ---- the ledger -------------------------------------------------------------------------


def test_verify_ledger_passes_an_intact_ledger(ledger_db):
    done = run(*with_config("verify-ledger"), db=ledger_db)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = output_lines(done.stdout)
    assert lines[0].startswith("OK hall gongshu: ") and "chain intact" in lines[0]
    assert len(lines) == 4 and lines[3].startswith("OK staff ledger: ")


def test_verify_ledger_names_the_first_altered_row(ledger_db):
    count = len(fetch(ledger_db, "SELECT 1 FROM ledger WHERE hall = 'gongshu'"))
    assert count >= 4
    execute(
        ledger_db,
        [
            "SET session_replication_role = replica",
            "UPDATE ledger SET payload = payload || '{\"channel\": \"phone\"}' WHERE hall = 'gongshu' AND seq = 2",
            "UPDATE ledger SET payload = payload || '{\"x\": 1}' WHERE hall = 'gongshu' AND seq = 4",
            "SET session_replication_role = DEFAULT",
        ],
    )
    done = run(*with_config("verify-ledger"), db=ledger_db)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = output_lines(done.stdout)
    gongshu = [line for line in lines if "hall gongshu" in line]
    assert len(gongshu) == 1 and gongshu[0].startswith("FAIL")
    assert "ledger row 2:" in gongshu[0] and "ledger row 4" not in gongshu[0]
    assert any(line.startswith("OK hall hushu") for line in lines)


def test_verify_ledger_notices_a_removed_last_row(ledger_db):
    last = fetch(ledger_db, "SELECT max(seq) AS seq FROM ledger WHERE hall = 'gongshu'")[0]["seq"]
    execute(
        ledger_db,
        [
            "ALTER TABLE ledger DISABLE TRIGGER USER",
            f"DELETE FROM ledger WHERE hall = 'gongshu' AND seq = {last}",
            "ALTER TABLE ledger ENABLE TRIGGER USER",
        ],
    )
    done = run(*with_config("verify-ledger", "--hall", "gongshu"), db=ledger_db)
    assert done.returncode == 1
    assert f"ledger row {last}" in done.stdout and "missing" in done.stdout


def test_the_database_refuses_to_update_the_ledger(ledger_db):
    exc = refusal(ledger_db, "UPDATE ledger SET kind = 'x' WHERE hall = 'gongshu' AND seq = 1")
    assert isinstance(exc, asyncpg.InsufficientPrivilegeError), exc
    assert "append-only" in str(exc) and "UPDATE" in str(exc)


def test_the_database_refuses_to_delete_from_the_ledger(ledger_db):
    exc = refusal(ledger_db, "DELETE FROM ledger WHERE hall = 'gongshu'")
    assert isinstance(exc, asyncpg.InsufficientPrivilegeError), exc
    assert "DELETE" in str(exc)
    exc = refusal(ledger_db, "TRUNCATE ledger")
    assert isinstance(exc, asyncpg.InsufficientPrivilegeError), exc
    assert len(fetch(ledger_db, "SELECT 1 FROM ledger WHERE hall = 'gongshu'")) >= 4
    assert run(*with_config("verify-ledger"), db=ledger_db).returncode == 0
