"""Run `queue-server` as a subprocess, as an operator would, and look at the database it used."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from tests.support.services import run_async

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config.toml"
_SCRIPT = ROOT / ".venv" / "bin" / "queue-server"
# The installed entry point when there is one (pip install -e .), else the module itself.
COMMAND: list[str] = (
    [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "queue_server.cli"]
)


def cli_env(database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUE_")}
    env["PYTHONUNBUFFERED"] = "1"
    # Without the entry point, `python -m queue_server.cli` must find the package from any cwd.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    if database_url is not None:
        env["QUEUE_DATABASE_URL"] = database_url
    return env


def run(
    *args: str,
    db: str | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=cli_env(db),
        cwd=cwd or ROOT,
        timeout=timeout,
        check=False,
    )


def with_config(*args: str) -> tuple[str, ...]:
    """`args` with --config pointing at the sample configuration."""
    return (*args, "--config", str(CONFIG))


_LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")


def output_lines(text: str) -> list[str]:
    """Non-empty lines that are not log records (`<date> <time>,<ms> LEVEL name: ...`)."""
    return [line for line in text.splitlines() if line.strip() and not _LOG_RECORD.match(line)]


def fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return run_async(go())


def execute(dsn: str, statements: Sequence[str]) -> None:
    """Run statements one by one on one connection (e.g. to tamper as a superuser)."""

    async def go() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    run_async(go())


def refusal(dsn: str, sql: str) -> BaseException | None:
    """The exception the database raises for `sql`, or None when it is accepted."""

    async def go() -> BaseException | None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        except asyncpg.PostgresError as exc:
            return exc
        finally:
            await conn.close()
        return None

    return run_async(go())
