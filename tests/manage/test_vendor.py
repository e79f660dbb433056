"""The vendored Apache ECharts is served by this server, byte for byte the pinned release, and
no review page reaches for anything outside this server (halls run on intranets)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from queue_server.web import manage

PINNED_VERSION = "6.1.0"
PINNED_SHA256 = "b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0"
ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "queue_server" / "web" / "static" / "manage"
EXTERNAL = re.compile(rb"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.I)


async def test_the_served_echarts_is_the_pinned_release(hall):
    resp = await hall.client.get("/vendor/echarts/echarts.min.js?v=6.1.0")
    assert resp.status == 200
    body = await resp.read()
    assert hashlib.sha256(body).hexdigest() == PINNED_SHA256
    assert resp.headers["Content-Type"].startswith("text/javascript")
    assert "max-age=31536000" in resp.headers["Cache-Control"]
    assert (manage.ECHARTS_VERSION, manage.ECHARTS_SHA256) == (PINNED_VERSION, PINNED_SHA256)
    script = (ROOT / "scripts" / "vendor-echarts.sh").read_text()
    assert f"VERSION={PINNED_VERSION}" in script and f"SHA256={PINNED_SHA256}" in script
    readme = (ROOT / "queue_server" / "web" / "static" / "vendor" / "echarts" / "README.md").read_text()
    assert PINNED_VERSION in readme and PINNED_SHA256 in readme
    for name in ("LICENSE", "NOTICE"):
        assert (await hall.client.get(f"/vendor/echarts/{name}")).status == 200
    assert (await hall.client.get("/vendor/echarts/package.json")).status == 404
    assert (await hall.client.get("/vendor/echarts/..%2F..%2Fmanage.py")).status == 404


async def test_no_review_page_references_an_external_url(hall):
    files = sorted(PAGES.iterdir())
    assert {f.name for f in files} >= {"index.html", "mine.html", "manage.js", "mine.js", "charts.js", "common.js"}
    for f in files:
        found = EXTERNAL.findall(f.read_bytes())
        assert not found, f"{f.name} references {found}"
    for path in ("/manage", "/manage/mine"):
        resp = await hall.client.get(path)
        assert resp.status == 200
        html = await resp.read()
        assert not EXTERNAL.findall(html)
        assert b"/vendor/echarts/echarts.min.js" in html
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "http" not in csp
