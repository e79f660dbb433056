"""The layer boundaries of STYLE.md hold: checked with import-linter's contracts (.importlinter)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_layer_contracts_are_kept():
    """domain/protocol pure; only adapters import asyncpg/redis; only web imports aiohttp;
    the clients import only the protocol from the server."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_the_domain_may_not_import_the_configuration():
    """The hall's layout lives in domain/layout.py; config.py builds it, never the reverse."""
    import configparser

    contracts = configparser.ConfigParser()
    contracts.read(ROOT / ".importlinter", encoding="utf-8")
    pure = contracts["importlinter:contract:domain-is-pure"]
    assert "queue_server.domain" in pure["source_modules"].split()
    forbidden = set(pure["forbidden_modules"].split())
    assert {"queue_server.config", "queue_server.config_rules"} <= forbidden
