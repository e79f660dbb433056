from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.hall import Hall, start_hall


@pytest.fixture
async def hall(fresh_db: str) -> AsyncIterator[Hall]:
    """The sample configuration on an empty database; a kiosk K01 and a clerk 1001 of gongshu."""
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_staff("1001", name="张三")
        yield h
