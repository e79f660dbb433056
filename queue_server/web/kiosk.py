"""The kiosk page (取号机): its route, its static files, and a ticket's QR code as SVG."""

from __future__ import annotations

from pathlib import Path

import qrcode
import qrcode.constants
from aiohttp import web

from .keys import CONFIG, QUEUE
from .missing import hall_missing, known_halls

STATIC_DIR = Path(__file__).parent / "static" / "kiosk"

# The page's own files only; the QR code is an <img> from this server.
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; "
        "style-src 'self'; script-src 'self'"),
    "X-Content-Type-Options": "nosniff",
}


async def kiosk_page(request: web.Request) -> web.StreamResponse:
    hall = request.match_info["hall"]
    config = request.app[CONFIG]
    if hall not in config.halls:
        return hall_missing(request, hall, known_halls(config), "/kiosk/{hall}", "取号机")
    # The page reads ?token= itself and sends it as a bearer token with every call.
    return web.FileResponse(STATIC_DIR / "kiosk.html", headers=_PAGE_HEADERS)


async def ticket_qr(request: web.Request) -> web.Response:
    """The holder's link as a QR code, for a citizen whose ticket was not printed; the path
    carries the holder's secret (the issuing answer gave it to the kiosk), not the ticket's id."""
    status = await request.app[QUEUE].holder_status(request.match_info["id"])
    return web.Response(
        text=qr_svg(status["status_url"]), content_type="image/svg+xml",
        headers={"Cache-Control": "private, max-age=86400"},
    )


def qr_svg(payload: str) -> str:
    """`payload` as a QR code (level M, with its quiet zone) in one SVG path."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    path = "".join(
        f"M{x} {y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )


def add_kiosk_routes(app: web.Application) -> None:
    app.router.add_get("/kiosk/{hall}", kiosk_page)
    app.router.add_static("/kiosk/static/", STATIC_DIR)
    app.router.add_get("/api/v1/tickets/{id}/qr.svg", ticket_qr)
