"""`queue-server check-config` and a broken configuration given to any command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.cli_support import CONFIG, run

# (sample line, replacement, the problem line's key path, the value it must show)
BREAKAGES = [
    ("port = 8080", 'port = "eighty"', "server.port", "'eighty'"),
    ("daily_quota = 120", "daily_quota = -5", "halls.gongshu.services[0].daily_quota", "-5"),
    (
        "recall_min_seconds = 60",
        'recall_min_seconds = "soon"',
        "halls.xiangfu.call_policy.recall_min_seconds",
        "'soon'",
    ),
    (
        'services = ["J", "L", "A", "M", "C", "D", "F"]',
        'services = ["J", "L", "A", "M", "C", "D", "Q"]',
        "halls.gongshu.windows[13].services[6]",
        "'Q'",
    ),
]


@pytest.fixture
def broken_config(tmp_path: Path) -> Path:
    text = CONFIG.read_text(encoding="utf-8")
    for old, new, _, _ in BREAKAGES:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_reports_every_breakage(stderr: str, path: Path) -> None:
    lines = problem_lines(stderr)
    assert "Traceback" not in stderr
    assert all(line.startswith(f"{path}: ") for line in lines), lines
    for _, _, key, value in BREAKAGES:
        matching = [line for line in lines if f": {key}: " in line]
        assert matching, (key, lines)
        assert value in matching[0], (value, matching[0])


def test_check_config_accepts_the_sample(tmp_path):
    done = run("check-config", str(CONFIG), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout and "gongshu" in done.stdout
    assert done.stderr == ""


def test_check_config_reports_every_problem_one_line_each_and_exits_2(broken_config):
    done = run("check-config", str(broken_config))
    assert done.returncode == 2
    assert done.stdout == ""
    assert_reports_every_breakage(done.stderr, broken_config)


def test_serve_with_a_broken_config_exits_2_with_the_same_lines(broken_config, fresh_db):
    checked = run("check-config", str(broken_config))
    served = run("serve", "--config", str(broken_config), db=fresh_db)
    assert served.returncode == 2
    assert_reports_every_breakage(served.stderr, broken_config)
    assert problem_lines(served.stderr) == problem_lines(checked.stderr)


@pytest.mark.parametrize("command", [("migrate",), ("verify-ledger",), ("device", "list")])
def test_other_commands_with_a_broken_config_exit_2(broken_config, fresh_db, command):
    done = run(*command, "--config", str(broken_config), db=fresh_db)
    assert done.returncode == 2
    assert_reports_every_breakage(done.stderr, broken_config)


def test_a_toml_syntax_error_is_one_line_with_its_position(tmp_path):
    path = tmp_path / "syntax.toml"
    path.write_text(
        CONFIG.read_text(encoding="utf-8").replace('level = "district"', "level = district", 1),
        encoding="utf-8",
    )
    done = run("check-config", str(path))
    assert done.returncode == 2
    lines = problem_lines(done.stderr)
    assert len(lines) == 1 and re.match(rf"{re.escape(str(path))}: line \d+: ", lines[0]), lines
    assert "Traceback" not in done.stderr


def test_a_missing_config_file_is_one_line(tmp_path):
    done = run("check-config", str(tmp_path / "nope.toml"))
    assert done.returncode == 2
    lines = problem_lines(done.stderr)
    assert len(lines) == 1 and "no such file" in lines[0]
    assert "Traceback" not in done.stderr


def test_a_gbk_config_file_is_reported_not_crashed_on(tmp_path):
    path = tmp_path / "gbk.toml"
    path.write_bytes(CONFIG.read_text(encoding="utf-8").encode("gbk", errors="replace"))
    done = run("check-config", str(path))
    assert done.returncode == 2
    assert "UTF-8" in done.stderr and "Traceback" not in done.stderr
