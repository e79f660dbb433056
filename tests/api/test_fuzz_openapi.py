"""A bounded schemathesis run against the live app, as a clerk and as a manager: no answer is a
5xx, and every answer is one the OpenAPI document lists (status, media type, schema)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest

from tests.api.checks import ok

CHECKS = ",".join((
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
))
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def _fuzz(base: str, token: str, report: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS), "run", f"{base}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", "12", "--seed", "20261205", "--generation-database", "none",
        "--max-time", "35", "--request-timeout", "10", "--workers", "1",
        # Signing out would revoke the token under test and make the rest of the run a 401 run.
        "--exclude-path", "/api/v1/auth/logout",
        "--no-color", "--report", "junit", "--report-junit-path", str(report),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        cwd=report.parent,  # schemathesis keeps its own files in the working directory
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=300)
    return proc.returncode or 0, out.decode("utf-8", "replace")


@pytest.mark.parametrize("who", ["clerk", "manager"])
async def test_a_bounded_fuzz_run_finds_no_5xx_and_no_undocumented_answer(hall, tmp_path, who):
    await hall.add_staff("9001", role="manager", name="王经理")
    await hall.act(1, "open")
    for service in ("A", "A", "B"):
        await hall.issue(service)
    await ok(await hall.client.post("/api/v1/halls/gongshu/windows/1/call-next",
                                    headers=hall.auth("1001")))
    base = str(hall.client.make_url("")).rstrip("/")
    token = hall.tokens["1001" if who == "clerk" else "9001"]
    status, output = await _fuzz(base, token, tmp_path / "junit.xml")
    assert status == 0, output[-8000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated is not None, output[-3000:]
    # Enough cases to mean something within the time budget (35 s: the whole suite must stay
    # well under 15 minutes), and every one of them passed.
    assert int(generated[1]) >= 500 and generated[1] == generated[2], generated[0]
