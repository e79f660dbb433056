from __future__ import annotations

import pytest

from tests.cli.cli_support import run, with_config
from tests.support.hall import start_hall
from tests.support.services import run_async


@pytest.fixture
def migrated_db(fresh_db: str) -> str:
    """A fresh database that `queue-server migrate` has brought up to date."""
    done = run(*with_config("migrate"), db=fresh_db)
    assert done.returncode == 0, done.stderr
    return fresh_db


@pytest.fixture
def ledger_db(fresh_db: str) -> str:
    """A migrated database whose gongshu ledger holds a few rows written by the real server."""

    async def populate() -> None:
        async for h in start_hall(fresh_db):
            await h.add_device("K01", role="kiosk")
            await h.add_staff("1001", name="张三")
            await h.issue("A")
            await h.issue("B")
            await h.act(1, "open")
            await h.act(1, "call-next")

    run_async(populate())
    return fresh_db
