"""Fixtures for the printer client: a sample ticket and a fake network printer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ticket_layout.layout import TicketContent

from .fake_printer import FakePrinter

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sample_ticket(**changes: object) -> TicketContent:
    fields: dict[str, object] = {
        "hall_name": "拱墅区行政服务中心",
        "service_name": "企业开办",
        "number": "A023",
        "ahead": 3,
        "estimated_wait_minutes": 12,
        "issued_at": datetime(2026, 11, 30, 9, 1, 2, tzinfo=SHANGHAI),
        "status_url": "https://queue.example.gov.cn/t/7f3c9a2e5b1d",
    }
    fields.update(changes)
    return TicketContent(**fields)  # type: ignore[arg-type]


@pytest.fixture
def ticket() -> TicketContent:
    return sample_ticket()


@pytest.fixture
async def fake_printer() -> AsyncIterator[FakePrinter]:
    printer = FakePrinter()
    await printer.start()
    try:
        yield printer
    finally:
        await printer.go_offline()
