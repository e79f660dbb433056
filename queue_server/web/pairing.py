"""Pairing and the devices list over HTTP, the pairing page (/pair) and 设备管理
(/manage/devices), and the open device sockets a revocation closes.

- POST /api/v1/pairing (no token; rate limited per address): a code and the device's secret.
- GET /api/v1/pairing/wait?secret=… (no token; the secret is the credential): a long poll
  that answers once the code is paired (with the token), expired, or after `timeout` seconds.
- POST /api/v1/halls/{hall}/devices: a manager pairs the device showing the code.
- GET /api/v1/halls/{hall}/devices; POST …/devices/{id}/rename | move | revoke.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from ..domain.errors import InvalidInput, Unavailable
from ..protocol import CLOSE_REVOKED
from ..service.commands import ChangeDevice, PairDevice
from ..service.lifetimes import cancel_and_wait
from ..service.pairing import (
    SEEN_EVERY,
    WAIT_MAX_SECONDS,
    PairingService,
    parse_code,
    parse_secret,
    token_hash,
)
from .api import answer, idempotency_key, json_response, read_json, staff_of_hall
from .commands import optional_int, optional_text, required_text
from .keys import PAIRING

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

routes = web.RouteTableDef()

#: How often each process looks for devices revoked by another process among its open sockets.
REVOKED_CHECK_SECONDS = 2.0


class DeviceSockets:
    """The open websockets of devices, by their token's hash: a revoked device's sockets are
    closed at once with CLOSE_REVOKED (its page then shows the pairing screen), and the
    devices with an open socket are marked seen once a minute."""

    def __init__(self) -> None:
        self._open: dict[bytes, set[web.WebSocketResponse]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def open(self, token: str | None, ws: web.WebSocketResponse) -> AsyncIterator[None]:
        if not token:
            yield
            return
        h = token_hash(token)
        self._open.setdefault(h, set()).add(ws)
        try:
            yield
        finally:
            sockets = self._open.get(h)
            if sockets is not None:
                sockets.discard(ws)
                if not sockets:
                    del self._open[h]

    def revoked(self, h: bytes) -> None:
        for ws in list(self._open.get(h, ())):
            task = asyncio.create_task(self._close(ws), name="close a revoked device")
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(ws: web.WebSocketResponse) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await ws.close(code=CLOSE_REVOKED, message=b"device.revoked")

    def hashes(self) -> list[bytes]:
        return list(self._open)

    async def watch_forever(self, pairing: PairingService, *, check_every: float, seen_every: float) -> None:
        """Close the sockets of devices revoked by another server process (this process's own
        revocations close at once), and mark the connected devices seen once a minute."""
        since_seen = 0.0
        while True:
            await asyncio.sleep(check_every)
            since_seen += check_every
            try:
                for h in await pairing.revoked_among(self.hashes()):
                    self.revoked(h)
                if since_seen >= seen_every:
                    since_seen = 0.0
                    await pairing.seen(self.hashes())
            except Unavailable as exc:  # the database is away: one line, the next round tries again
                log.warning("cannot check the connected devices: %s", exc)
            except Exception:
                log.warning("cannot check the connected devices", exc_info=True)


DEVICE_SOCKETS = web.AppKey("device-sockets", DeviceSockets)


# ---- the device's side -------------------------------------------------------------------


@routes.post("/api/v1/pairing")
async def start_pairing(request: web.Request) -> web.Response:
    body = await read_json(request)
    kind = optional_text(body, "kind")
    return json_response(await request.app[PAIRING].start(kind, request.remote), 201)


@routes.get("/api/v1/pairing/wait")
async def wait_pairing(request: web.Request) -> web.Response:
    secret = parse_secret(request.query.get("secret"))
    raw = request.query.get("timeout", "25")
    try:
        timeout = float(raw)
        if not 0 <= timeout <= WAIT_MAX_SECONDS:
            raise ValueError(raw)
    except ValueError:
        raise InvalidInput("input.bad_number", field="timeout", low=0, high=int(WAIT_MAX_SECONDS),
                           got=raw[:40]) from None
    response = json_response(await request.app[PAIRING].wait(secret, timeout))
    response.headers["Cache-Control"] = "no-store"  # it may carry the device's token
    return response


# ---- the manager's side ------------------------------------------------------------------


@routes.get("/api/v1/halls/{hall}/devices")
async def list_devices(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request)
    return json_response({"hall": hall, "devices": await request.app[PAIRING].devices(hall, principal)})


@routes.post("/api/v1/halls/{hall}/devices")
async def pair_device(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    body = await read_json(request)
    cmd = PairDevice(parse_code(body.get("code")), required_text(body, "name"), optional_text(body, "role"),
                     optional_int(body, "window"), optional_text(body, "kiosk"))
    return answer(await request.app[PAIRING].pair(hall, principal, cmd, idempotency_key(request)))


async def _change(request: web.Request, action: str) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise InvalidInput("input.bad_number", field="id", low=1, high=10**18, got=raw[:40])
    body = await read_json(request)
    cmd = ChangeDevice(int(raw), action, optional_text(body, "name"), optional_int(body, "window"),
                       optional_text(body, "kiosk"))
    return answer(await request.app[PAIRING].change(hall, principal, cmd, idempotency_key(request)))


@routes.post("/api/v1/halls/{hall}/devices/{id}/rename")
async def rename_device(request: web.Request) -> web.Response:
    return await _change(request, "rename")


@routes.post("/api/v1/halls/{hall}/devices/{id}/move")
async def move_device(request: web.Request) -> web.Response:
    return await _change(request, "move")


@routes.post("/api/v1/halls/{hall}/devices/{id}/revoke")
async def revoke_device(request: web.Request) -> web.Response:
    return await _change(request, "revoke")


# ---- pages -------------------------------------------------------------------------------

_PAGE_HEADERS = {"Cache-Control": "no-cache"}


@routes.get("/pair")
async def pair_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "pair" / "pair.html", headers=_PAGE_HEADERS)


def add_pairing_routes(app: web.Application) -> None:
    sockets = DeviceSockets()
    app[DEVICE_SOCKETS] = sockets
    app.add_routes(routes)
    app.router.add_static("/pair/static/", STATIC / "pair")

    async def seen(app: web.Application) -> AsyncIterator[None]:
        pairing = app[PAIRING]
        pairing.on_revoked.append(sockets.revoked)
        task = asyncio.create_task(
            sockets.watch_forever(pairing, check_every=REVOKED_CHECK_SECONDS, seen_every=SEEN_EVERY.total_seconds()),
            name="connected devices")
        yield
        await cancel_and_wait(task)

    app.cleanup_ctx.append(seen)
