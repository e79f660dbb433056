"""Helpers for the full-stack screen tests: accounts in a real database, the HTTP API of a
real server, and a websocket screen that folds what it hears with the screens' own reducer.

Nothing here is a fake: the servers are `queue-server serve` processes (or the in-process
app of tests/support/hall.py), the database is PostgreSQL and the relay is Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from display_client.state import Board, SendResync, apply
from queue_server.protocol import (
    SUBPROTOCOL,
    Event,
    Heartbeat,
    Message,
    ProtocolError,
    Resync,
    Snapshot,
    decode,
    encode,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = ROOT / "config.toml"
PASSWORD = "secret-pass-1"


# -- accounts through the real admin CLI ----------------------------------------------------


def cli(database_url: str, *args: str, stdin: str | None = None) -> str:
    """Run `queue-server ARGS --config config.toml` against `database_url`; its stdout."""
    env = {**os.environ, "QUEUE_DATABASE_URL": database_url}
    env.pop("QUEUE_REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", *args, "--config", str(SAMPLE_CONFIG)],
        input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, f"queue-server {' '.join(args)}: {done.stderr}{done.stdout}"
    return done.stdout


def add_staff_cli(database_url: str, staff_id: str, name: str, hall: str = "gongshu") -> None:
    cli(database_url, "staff", "add", "--hall", hall, "--id", staff_id, "--name", name,
        "--password-stdin", stdin=PASSWORD + "\n")


def add_device_cli(database_url: str, name: str, role: str, hall: str = "gongshu") -> str:
    """Register a device with `queue-server device add`; its token (the last line printed)."""
    out = cli(database_url, "device", "add", "--hall", hall, "--role", role, "--name", name)
    token = out.strip().splitlines()[-1].strip()
    assert token and " " not in token, out
    return token


# -- the HTTP API of a running server -------------------------------------------------------


@dataclass
class Api:
    """The JSON API of one server at `base` (http://127.0.0.1:PORT)."""

    http: aiohttp.ClientSession
    base: str
    tokens: dict[str, str] = field(default_factory=dict)

    async def login(self, staff_id: str, password: str = PASSWORD) -> str:
        async with self.http.post(f"{self.base}/api/v1/auth/login",
                                  json={"staff_id": staff_id, "password": password}) as r:
            body = await r.json()
            assert r.status == 200, body
        self.tokens[staff_id] = body["token"]
        return body["token"]

    async def issue(self, service: str, token: str, hall: str = "gongshu") -> dict[str, Any]:
        async with self.http.post(f"{self.base}/api/v1/halls/{hall}/tickets",
                                  json={"service": service},
                                  headers={"Authorization": f"Bearer {token}"}) as r:
            body = await r.json()
            assert r.status == 201, body
            return body

    async def act(self, window: int, action: str, token: str, *, hall: str = "gongshu",
                  expect: int = 200, **body: Any) -> dict[str, Any]:
        async with self.http.post(f"{self.base}/api/v1/halls/{hall}/windows/{window}/{action}",
                                  json=body, headers={"Authorization": f"Bearer {token}"}) as r:
            data = await r.json()
            assert r.status == expect, data
            return data

    async def queue(self, hall: str = "gongshu") -> dict[str, Any]:
        async with self.http.get(f"{self.base}/api/v1/halls/{hall}/queue") as r:
            body = await r.json()
            assert r.status == 200, body
            return body


# -- a websocket screen ---------------------------------------------------------------------


def ws_url(base: str, hall: str = "gongshu", **query: Any) -> str:
    url = base.replace("http://", "ws://", 1) + f"/ws/v1/halls/{hall}"
    params = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
    return url + (f"?{params}" if params else "")


@dataclass
class Heard:
    at: float  # loop time of arrival
    message: Message


class Screen:
    """One `queue.v1` websocket screen: records every frame with its arrival time, folds it
    into a `display_client.state.Board` (the same rules as the pages) and sends the resyncs
    the board asks for, like a real screen."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, hall: str = "gongshu") -> None:
        self.ws = ws
        self.board = Board(hall=hall)
        self.heard: list[Heard] = []
        self.sent: list[tuple[float, Message]] = []
        self.closed: int | None = None
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, http: aiohttp.ClientSession, base: str, token: str,
                      hall: str = "gongshu", **query: Any) -> Screen:
        ws = await http.ws_connect(ws_url(base, hall, token=token, **query),
                                   protocols=(SUBPROTOCOL,), autoclose=True)
        assert ws.protocol == SUBPROTOCOL
        return cls(ws, hall)

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for frame in self.ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    message = decode(frame.data)
                except ProtocolError as exc:  # a server bug: make it visible in the test
                    raise AssertionError(f"invalid frame from the server: {exc}") from exc
                self.heard.append(Heard(loop.time(), message))
                self.board, actions = apply(self.board, message)
                for action in actions:
                    if isinstance(action, SendResync):
                        await self.ws.send_str(encode(Resync(action.after)))
                        self.sent.append((loop.time(), Resync(action.after)))
                self._changed.set()
        finally:
            self.closed = self.ws.close_code
            self._changed.set()

    async def until(self, predicate: Callable[[Screen], bool], within: float) -> float:
        """Wait until `predicate(self)`, at most `within` seconds; the loop time at which
        it became true."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(within):
            while not predicate(self):
                if self._reader.done():
                    self._reader.result()  # raise what ended the reader
                    raise AssertionError(f"the screen was closed ({self.closed}) before: "
                                         f"{[type(h.message).__name__ for h in self.heard]}")
                self._changed.clear()
                await self._changed.wait()
        return loop.time()

    def events(self, kind: str | None = None) -> list[Heard]:
        return [h for h in self.heard if isinstance(h.message, Event)
                and (kind is None or h.message.event["kind"] == kind)]

    def heartbeats(self) -> list[Heard]:
        return [h for h in self.heard if isinstance(h.message, Heartbeat)]

    def snapshots(self) -> list[Heard]:
        return [h for h in self.heard if isinstance(h.message, Snapshot)]

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


def comparable(snapshot: Any, *, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """A snapshot without `at` (a snapshot read over HTTP carries the time it was read, a
    folded board the time of its last event) and without the keys in `without`."""
    out = copy.deepcopy(dict(snapshot))
    for key in ("at", *without):
        out.pop(key, None)
    return out


#: The keys of a `recent_calls` entry (docs/protocol.md, "Snapshot").
CALL_KEYS = {"number", "service", "window", "calls", "at"}


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
