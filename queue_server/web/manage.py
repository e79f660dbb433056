"""The managers' pages: 绩效报表 (/manage) for managers, region managers and admins, 我的绩效
(/manage/mine) for a clerk, their static files, and the vendored Apache ECharts they draw with
(/vendor/echarts/, served by this server: halls run on intranets, never a CDN).

The pages hold no data of their own: they sign in like the staff console (a bearer token kept in
sessionStorage) and read GET /api/v1/stats and /api/v1/stats/scopes; which figures someone may
see is decided there, the pages only show it (a clerk on /manage is sent on to /manage/mine)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"

#: Apache ECharts as vendored by scripts/vendor-echarts.sh (README.md beside it says the same).
ECHARTS_VERSION = "6.1.0"
ECHARTS_SHA256 = "b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0"

# Only this server's files. style-src allows inline styles because ECharts writes its tooltips
# as HTML with style attributes; scripts stay 'self' only (ECharts needs no eval).
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
        "style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

#: The vendored files one may fetch, and their types; the pages ask for ?v=<version>, so a
#: new version is a new URL and the old one may be cached for long.
_VENDOR_FILES = {
    ("echarts", "echarts.min.js"): "text/javascript",
    ("echarts", "LICENSE"): "text/plain",
    ("echarts", "NOTICE"): "text/plain",
    ("echarts", "LICENSE-d3"): "text/plain",
}
_VENDOR_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}


def _page(name: str) -> web.FileResponse:
    return web.FileResponse(STATIC / "manage" / name, headers=_PAGE_HEADERS)


#: The manager's console (现场管理): URL path -> its page under static/manage/. Every page
#: shows the same navigation (CONSOLE_PAGES in static/manage/common.js) and reads its own query.
CONSOLE_PAGES: dict[str, str] = {
    "/manage": "index.html",  # 绩效报表 (scope, from, to, by, window, staff in the query)
    "/manage/": "index.html",
    "/manage/mine": "mine.html",  # 我的绩效, a clerk's own figures
    "/manage/monitor": "monitor.html",  # 大厅监控 (hall in the query), pushed over /ws/v1/monitor
    "/manage/improvements": "improvements.html",  # 整改 (hall, state, source_kind, source_id in the query)
    "/manage/people": "people.html",  # 人员管理: staff accounts in the manager's scope
    "/manage/complaints": "complaints.html",  # 投诉管理 (hall, state in the query)
    "/manage/notices": "notices.html",  # 公告 (hall in the query)
    "/manage/surveys": "surveys.html",  # 满意度调查 (hall, campaign in the query)
    "/manage/devices": "devices.html",  # 设备管理: pair by code, rename, move, revoke (hall in the query)
    "/manage/follow-ups": "follow-ups.html",  # 差评回访 (hall, state in the query)
    "/manage/desk": "desk.html",  # 导服台: issue for someone, look up, restore, cancel, reprint (hall in the query)
}


def _console_page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return _page(name)

    return handler


async def vendor_file(request: web.Request) -> web.StreamResponse:
    key = (request.match_info["package"], request.match_info["name"])
    kind = _VENDOR_FILES.get(key)
    if kind is None:
        raise web.HTTPNotFound()
    response = web.FileResponse(VENDOR.joinpath(*key), headers=_VENDOR_HEADERS)
    response.content_type = kind
    if kind.startswith("text/"):
        response.charset = "utf-8"
    return response


def add_manage_pages(app: web.Application) -> None:
    for path, name in CONSOLE_PAGES.items():
        app.router.add_get(path, _console_page(name))
    app.router.add_static("/manage/static/", STATIC / "manage")
    app.router.add_get("/vendor/{package}/{name}", vendor_file)
