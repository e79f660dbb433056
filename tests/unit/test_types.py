"""The strictly typed packages type-check: mypy in strict mode over the list in pyproject.toml."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _mypy_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]


def test_the_strict_list_names_the_domain_the_protocol_and_the_service_and_is_strict() -> None:
    config = _mypy_config()
    assert config["strict"] is True
    assert {"queue_server/domain", "queue_server/protocol", "queue_server/service"} <= set(config["files"])
    assert all((ROOT / path).is_dir() for path in config["files"]), config["files"]


def test_mypy_strict_passes_over_the_strict_list() -> None:
    # No arguments: mypy takes `files` and every option from [tool.mypy], the one list.
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout, result.stdout


def test_every_type_ignore_names_its_error_code_and_gives_a_reason() -> None:
    bare = []
    for package in ("queue_server", "display_client", "printer_client", "ticket_layout"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "type: ignore" not in line:
                    continue
                # `# type: ignore[code]  # why` — the code and a reason after it
                if not re.search(r"#\s*type:\s*ignore\[[a-z-, ]+\]\s+#\s*\S", line):
                    bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bare, "\n".join(bare)
