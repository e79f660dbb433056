"""The websocket loop of a terminal screen: connect with `queue.v1`, fold every frame into
the board with the pure reducer, send the resyncs it asks for, reconnect with backoff."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from display_client.state import Announce, Board, SendResync, apply
from queue_server.protocol import CLOSE_REVOKED, SUBPROTOCOL, ProtocolError, Resync, decode, encode
from queue_server.protocol.pairing import REVOKED_TEXT, refusal_text

log = logging.getLogger(__name__)

#: A screen that hears nothing for this long (2.5 heartbeats) reconnects.
SILENCE_LIMIT = 25.0


class ScreenRefused(Exception):
    """The server refused this screen (bad token, unknown hall): retrying will not help."""


def screen_url(server: str, hall: str, *, window: int | None = None, area: str | None = None,
               after: int | None = None) -> str:
    """The websocket URL for `hall` on `server` (http(s):// or ws(s)://)."""
    parts = urlsplit(server if "://" in server else f"http://{server}")
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query = {key: value for key, value in
             (("window", window), ("area", area), ("after", after)) if value is not None}
    path = parts.path.rstrip("/") + f"/ws/v1/halls/{hall}"
    return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))


def backoff_delay(attempt: int, *, first: float = 0.5, maximum: float = 15.0) -> float:
    """Exponential backoff with ±20 % jitter, so a hall's screens do not reconnect in step."""
    return min(maximum, first * 2 ** attempt) * random.uniform(0.8, 1.2)


async def follow(server: str, hall: str, token: str, *, window: int | None = None,
                 area: str | None = None,
                 on_board: Callable[[Board, bool], None] = lambda board, online: None,
                 on_announce: Callable[[Announce], None] = lambda action: None,
                 silence_limit: float = SILENCE_LIMIT) -> None:
    """Follow one hall until cancelled; `on_board(board, online)` after every change.

    Raises `ScreenRefused` when the server refuses the handshake with 400/401/403/404.
    """
    board = Board(hall=hall, area=area, window=window)
    attempt = 0
    while True:
        url = screen_url(server, hall, window=window, area=area, after=board.seq)
        try:
            async with connect(url, subprotocols=[Subprotocol(SUBPROTOCOL)],
                               additional_headers={"Authorization": f"Bearer {token}"},
                               open_timeout=10, max_size=8 * 1024 * 1024,
                               compression=None) as ws:
                async for latest in _receive(ws, board, on_board, on_announce, silence_limit):
                    board, attempt = latest, 0
            if ws.close_code == CLOSE_REVOKED:
                raise ScreenRefused(REVOKED_TEXT)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (400, 401, 403, 404):
                raise ScreenRefused(refusal_text(status, exc.response.body)) from None
            log.warning("screen: %s", exc)
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
            if isinstance(exc, ConnectionClosed) and exc.rcvd is not None and exc.rcvd.code == CLOSE_REVOKED:
                raise ScreenRefused(REVOKED_TEXT) from None
            log.warning("screen: connection to %s lost: %s", server, exc or type(exc).__name__)
        on_board(board, False)
        await asyncio.sleep(backoff_delay(attempt))
        attempt += 1


async def _receive(ws: ClientConnection, board: Board,
                   on_board: Callable[[Board, bool], None],
                   on_announce: Callable[[Announce], None], silence_limit: float):
    """Yield the board after each frame; ends when the connection closes or goes silent."""
    while True:
        try:
            async with asyncio.timeout(silence_limit):
                frame = await ws.recv()
        except TimeoutError:
            log.warning("screen: nothing heard for %.0f s; reconnecting", silence_limit)
            return
        except ConnectionClosed as closed:
            log.info("screen: server closed the connection: %s", closed)
            return
        try:
            message = decode(frame)
        except ProtocolError as exc:
            log.warning("screen: ignoring an invalid frame: %s", exc)
            continue
        board, actions = apply(board, message)
        for action in actions:
            if isinstance(action, SendResync):
                await ws.send(encode(Resync(action.after)))
            elif isinstance(action, Announce):
                on_announce(action)
        on_board(board, True)
        yield board
