"""The index page: what this server offers, so a new user finds the screens and the API."""

from __future__ import annotations

import html

from aiohttp import web

from .keys import CONFIG


async def index(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    items = []
    for hall in config.halls.values():
        name = html.escape(hall.name)
        hid = html.escape(hall.id)
        items.append(
            f"<li><b>{name}</b> ({hid}) — "
            f"<a href='/display/hall/{hid}'>大厅屏</a> · "
            f"<a href='/api/v1/halls/{hid}/queue'>排队快照 JSON</a></li>"
        )
    body = (
        "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>hall-queue 排队叫号</title>"
        "<body style='font-family:sans-serif;max-width:52em;margin:2em auto'>"
        "<h1>政务服务大厅排队叫号系统</h1><ul>" + "".join(items) + "</ul>"
        "<p>API: <a href='/api/v1/openapi.json'>/api/v1/openapi.json</a> · "
        "<a href='/api/v1/halls'>/api/v1/halls</a> · <a href='/healthz'>/healthz</a></p>"
        "<p>大厅屏、窗口屏需在地址后加设备令牌 <code>?token=…</code>"
        "（<code>queue-server device add --hall H --role display --name D01</code>）。</p>"
        "</body></html>"
    )
    return web.Response(text=body, content_type="text/html")


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
