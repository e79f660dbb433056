"""The kiosk's routes over HTTP: the page, its static files, a ticket's QR code."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from queue_server.web.kiosk import qr_svg
from tests.printer_e2e.harness import kiosk_hall
from ticket_layout.bitmap import qr_matrix


async def test_the_page_is_served_for_a_known_hall_under_a_strict_policy(fresh_db):
    async with kiosk_hall(fresh_db, printer=False) as hall:
        resp = await hall.client.get("/kiosk/gongshu")
        assert resp.status == 200 and resp.content_type == "text/html"
        policy = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy
        assert "/kiosk/static/kiosk.js" in await resp.text()
        script = await hall.client.get("/kiosk/static/kiosk.js")
        assert script.status == 200


async def test_an_unknown_hall_is_a_404_problem(fresh_db):
    async with kiosk_hall(fresh_db, printer=False) as hall:
        resp = await hall.client.get("/kiosk/nowhere?token=x")
        assert resp.status == 404
        assert resp.content_type == "application/problem+json"
        assert "nowhere" in (await resp.json())["detail"]


async def test_a_tickets_qr_code_is_an_svg_of_its_status_link(fresh_db):
    async with kiosk_hall(fresh_db, printer=False) as hall:
        ticket = await hall.issue("A", by="K01")
        resp = await hall.client.get(f"/api/v1/tickets/{ticket['holder_secret']}/qr.svg")
        assert resp.status == 200 and resp.content_type == "image/svg+xml"
        svg = await resp.text()
        assert svg == qr_svg(ticket["status_url"])
        missing = await hall.client.get("/api/v1/tickets/no-such-ticket/qr.svg")
        assert missing.status == 404


def test_the_svg_draws_exactly_the_dark_modules_of_the_qr_code_inside_its_quiet_zone():
    url = "http://127.0.0.1:8080/t/7f3c9a2e5b1d"
    svg = qr_svg(url)
    root = ET.fromstring(svg)
    side = int(root.get("viewBox").split()[2])
    matrix = qr_matrix(url)  # without quiet zone
    assert side == len(matrix) + 8
    drawn = {(int(x), int(y)) for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", svg)}
    expected = {(x + 4, y + 4) for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark}
    assert drawn == expected
