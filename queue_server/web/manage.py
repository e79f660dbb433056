"""The managers' pages: 绩效报表 (/manage) for managers, region managers and admins, 我的绩效
(/manage/mine) for a clerk, their static files, and the vendored Apache ECharts they draw with
(/vendor/echarts/, served by this server: halls run on intranets, never a CDN).

The pages hold no data of their own: they sign in like the staff console (a bearer token kept in
sessionStorage) and read GET /api/v1/stats and /api/v1/stats/scopes; which figures someone may
see is decided there, the pages only show it (a clerk on /manage is sent on to /manage/mine)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from string import Template

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


#: The bar, banner and sign-in form every console page shares (templates/console-shell.html). A page
#: holds it as two lines, with the lines of its own bar buttons between them if it has any:
#:   <!--#shell app="投诉管理" login="现场管理 · 登录" hint="…"-->
#:   <!--#/shell-->
_SHELL = Template((Path(__file__).parent / "templates" / "console-shell.html").read_text(encoding="utf-8"))
_SHELL_BLOCK = re.compile(r'^  <!--#shell((?: [a-z]+="[^"]*")*)-->\n(.*?)^  <!--#/shell-->\n', re.M | re.S)
_ATTRIBUTE = re.compile(r' ([a-z]+)="([^"]*)"')


def render_console_page(text: str) -> str:
    """A console page's file with its shell block written out (what the browser gets)."""

    def shell(match: re.Match[str]) -> str:
        given = dict(_ATTRIBUTE.findall(match.group(1)))
        unknown = set(given) - {"app", "login", "hint"}
        if unknown or "app" not in given or "login" not in given:
            raise ValueError(f"a console page's shell needs app and login (and may have hint), got {sorted(given)}")
        hint = f'      <p class="hint">{given["hint"]}</p>\n' if "hint" in given else ""
        return _SHELL.substitute(app=given["app"], login=given["login"], hint=hint, bar=match.group(2))

    return _SHELL_BLOCK.sub(shell, text)


class _Rendered:
    """A console page as sent: rendered once, with an ETag for the browsers' revalidation
    (the pages are `no-cache`: asked again each time, answered 304 when unchanged)."""

    def __init__(self, name: str) -> None:
        self.body = render_console_page((STATIC / "manage" / name).read_text(encoding="utf-8")).encode()
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'

    def response(self, request: web.Request) -> web.Response:
        headers = {**_PAGE_HEADERS, "ETag": self.etag}
        if self.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(body=self.body, content_type="text/html", charset="utf-8", headers=headers)


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
    page = _Rendered(name)  # at start-up: a page that does not render stops the server there

    async def handler(request: web.Request) -> web.StreamResponse:
        return page.response(request)

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
    handlers: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {}
    for path, name in CONSOLE_PAGES.items():
        if name not in handlers:  # /manage and /manage/ are one page, rendered once
            handlers[name] = _console_page(name)
        app.router.add_get(path, handlers[name])
    app.router.add_static("/manage/static/", STATIC / "manage")
    app.router.add_get("/vendor/{package}/{name}", vendor_file)
