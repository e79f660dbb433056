"""A printer socket's handler that is cancelled (the client dropped, the server stops)
propagates its cancellation; the kiosk is still told its printer left (issue 9, point 6)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from queue_server.protocol.printing import PrinterState
from queue_server.service.principal import Principal
from queue_server.web.hub import Hub
from queue_server.web.keys import PRINTS
from queue_server.web.printers import PRINTERS, Printers, _PrinterChannel

PRINTER = Principal("device", "P01", "P01", "printer", "gongshu", kiosk="K01")


class _SilentSocket:
    """A websocket whose client never says anything."""

    closed = False

    def __aiter__(self) -> _SilentSocket:
        return self

    async def __anext__(self) -> Any:
        await asyncio.Event().wait()

    async def send_str(self, data: str) -> None:
        return None


class _Prints:
    def __init__(self) -> None:
        self.states: list[PrinterState] = []

    async def pending(self, printer: Principal) -> list[dict[str, Any]]:
        return []

    async def status(self, printer: Principal, state: PrinterState) -> None:
        self.states.append(state)


async def test_cancelling_a_printer_socket_handler_propagates_cancellation() -> None:
    app = web.Application()
    prints = _Prints()
    app[PRINTS] = prints  # type: ignore[assignment]  # a fake with the two methods the channel uses
    app[PRINTERS] = Printers(Hub())
    channel = _PrinterChannel(app, _SilentSocket(), PRINTER)  # type: ignore[arg-type]  # fake socket
    handler = asyncio.create_task(channel.run())
    await asyncio.sleep(0.05)
    assert app[PRINTERS].channels == {("gongshu", "P01"): channel}

    handler.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handler
    assert handler.cancelled()
    await app[PRINTERS].wait_leaving()
    assert app[PRINTERS].channels == {}
    assert [s.ready for s in prints.states] == [False]  # the kiosk was told all the same


def test_each_app_has_its_own_printer_registry() -> None:
    from queue_server.web.printers import add_printer_routes

    first, second = web.Application(), web.Application()
    add_printer_routes(first, Hub())
    add_printer_routes(second, Hub())
    assert first[PRINTERS] is not second[PRINTERS]
