"""`queue-server serve` as a real process: starts, answers, shows the first admin once, stops."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.cli.cli_support import COMMAND, cli_env, fetch, run, with_config
from tests.support.services import free_port

START_TIMEOUT = 30.0
PASSWORD_LINE = re.compile(r"(?:密码 )?password:\s+(\S+)")


class Served:
    """One `serve` process with its output in files, stopped with SIGTERM."""

    def __init__(self, dsn: str, tmp: Path, name: str, *extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out = tmp / f"{name}.out"
        self.err = tmp / f"{name}.err"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [*COMMAND, *with_config("serve", "--port", str(self.port), *extra)],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=cli_env(dsn),
                cwd=tmp,
            )

    def wait_healthy(self) -> dict:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (
                f"serve exited with {self.proc.returncode}: {self.err.read_text()}"
            )
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as resp:
                    return json.loads(resp.read())
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise AssertionError(
            f"serve did not answer /healthz within {START_TIMEOUT} s: {self.err.read_text()}"
        )

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
                raise AssertionError("serve did not stop within 15 s of SIGTERM") from None
        return self.proc.returncode

    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8")

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8")


def post_json(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_starts_on_a_migrated_database_and_prints_the_first_admin_once(migrated_db, tmp_path):
    first = Served(migrated_db, tmp_path, "first")
    try:
        assert first.wait_healthy() == {"status": "ok"}
        with urllib.request.urlopen(f"{first.base}/readyz", timeout=5) as resp:
            assert json.loads(resp.read()) == {"status": "ready"}
        out = first.stdout()
        assert f"serving on {first.base}" in out
        passwords = PASSWORD_LINE.findall(out)
        assert len(passwords) == 1, out
        assert "admin" in out
        status, body = post_json(
            f"{first.base}/api/v1/auth/login", {"staff_id": "admin", "password": passwords[0]}
        )
        assert status == 200, body
        assert body["token"] and body["staff"]["role"] == "admin"
    finally:
        first.stop()
    assert "Traceback" not in first.stderr()
    assert passwords[0] not in first.stderr()
    admins = fetch(migrated_db, "SELECT id, password_hash, must_change_password FROM staff")
    assert [(r["id"], r["must_change_password"]) for r in admins] == [("admin", True)]
    ledgered = fetch(migrated_db, "SELECT kind, actor->>'id' AS by, staff_id FROM staff_ledger")
    assert [(r["kind"], r["by"], r["staff_id"]) for r in ledgered] == [("staff_added", "system", "admin")]
    assert passwords[0] not in admins[0]["password_hash"]

    second = Served(migrated_db, tmp_path, "second")
    try:
        second.wait_healthy()
        out = second.stdout()
        assert f"serving on {second.base}" in out
        assert not PASSWORD_LINE.search(out) and passwords[0] not in out
    finally:
        second.stop()
    assert len(fetch(migrated_db, "SELECT 1 FROM staff")) == 1


def test_serve_stops_cleanly_on_sigterm(migrated_db, tmp_path):
    served = Served(migrated_db, tmp_path, "stop")
    try:
        served.wait_healthy()
    finally:
        code = served.stop()
    assert code == 0, served.stderr()
    assert "Traceback" not in served.stderr()


def test_a_kiosk_registered_with_the_cli_issues_tickets_from_a_served_hall(migrated_db, tmp_path):
    """--ignore-hours: the real clock may be outside business hours when the tests run."""
    added = run(
        *with_config("device", "add", "--hall", "gongshu", "--role", "kiosk", "--name", "K01"),
        db=migrated_db,
    )
    token = added.stdout.splitlines()[-1]
    served = Served(migrated_db, tmp_path, "kiosk", "--ignore-hours")
    try:
        served.wait_healthy()
        url = f"{served.base}/api/v1/halls/gongshu/tickets"
        status, ticket = post_json(
            url, {"service": "A", "priority": None, "channel": "kiosk"}, token
        )
        assert status == 201, ticket
        assert ticket["number"] == "A001"
        status, problem = post_json(url, {"service": "A"}, token + "x")
        assert status == 401, problem
        # The banner says first and plainly that this is training mode, and so does the start page.
        banner = served.out.read_text()
        assert "!!! 培训模式 TRAINING MODE (--ignore-hours)" in banner.split("人员 / staff")[0]
        with urllib.request.urlopen(f"{served.base}/", timeout=5) as resp:
            assert "<p id='training' class='training'>培训模式 TRAINING MODE" in resp.read().decode()
    finally:
        served.stop()
    assert [r["status"] for r in fetch(migrated_db, "SELECT status FROM tickets")] == ["waiting"]
