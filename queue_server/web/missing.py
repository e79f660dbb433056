"""A device page for a hall or window this server does not have (a mistyped address, a hall
renamed in config.toml): a Chinese page for the browser — a hall TV or kiosk shows it full
screen, says what is wrong and what to do, lists the pages that do exist, and retries by
itself, so the device recovers once the hall is configured — and the usual problem+json
answer for a program."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import NamedTuple

from aiohttp import web

from ..config import Config
from ..domain.errors import NotFound
from .problem import from_error

#: The page reloads itself this often: a hall added to the configuration (and the server
#: restarted) brings the device back without anyone touching it.
RETRY_SECONDS = 30


class KnownHall(NamedTuple):
    id: str
    name: str
    windows: tuple[int, ...]


def known_halls(config: Config) -> list[KnownHall]:
    return [KnownHall(h.id, h.name, tuple(sorted(h.windows))) for h in config.halls.values()]


def wants_html(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "")


def device_page_missing(
    request: web.Request, error: NotFound, *, title: str, choices: Sequence[tuple[str, str]] = (),
) -> web.Response:
    """404: for a browser, a page saying `title` and the error's detail with links to `choices`
    ((label, path) of the pages that exist, the address's query kept); else problem+json."""
    if not wants_html(request):
        return from_error(error)
    esc = html.escape
    query = f"?{request.query_string}" if request.query_string else ""
    links = "".join(f"<li><a href='{esc(path + query)}'>{esc(label)}</a></li>" for label, path in choices)
    listed = f"<p>本服务器上可用的页面：</p><ul>{links}</ul>" if links else ""
    body = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<meta http-equiv='refresh' content='{RETRY_SECONDS}'>"
        f"<title>{esc(title)}</title><link rel='icon' href='data:,'><style>"
        "html,body{height:100%;margin:0}"
        "body{font-family:'WenQuanYi Micro Hei','Noto Sans CJK SC','Microsoft YaHei',sans-serif;"
        "background:#0d2c54;color:#fff;display:flex;align-items:center;justify-content:center}"
        "main{max-width:70vw;text-align:center}h1{font-size:5vmin;margin:0 0 3vmin;color:#f2c14e}"
        "p{font-size:2.8vmin;line-height:1.6;margin:1.5vmin 0}code{font-size:2.4vmin;color:#cfe0f5}"
        "ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1.5vmin;justify-content:center}"
        "a{color:#fff;font-size:2.6vmin;background:rgba(255,255,255,.15);padding:.6vmin 2vmin;"
        "border-radius:1vmin;text-decoration:none}.muted{color:#9fb6d4;font-size:2.2vmin}"
        "</style></head><body><main>"
        f"<h1 id='missing-title'>{esc(title)}</h1>"
        f"<p id='missing-detail'>{esc(error.detail)}</p>"
        f"<p>本设备的地址：<code>{esc(request.path)}</code></p>"
        "<p>请检查设备地址，或请大厅管理人员在「设备管理」中重新配对本设备。</p>"
        f"{listed}"
        f"<p class='muted'>本页每 {RETRY_SECONDS} 秒自动重试；大厅配置好后自动恢复。</p>"
        "</main></body></html>"
    )
    return web.Response(
        status=404, text=body, content_type="text/html",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


def hall_missing(
    request: web.Request, hall: str, halls: Sequence[KnownHall], page: str, what: str,
) -> web.Response:
    """No hall `hall`: the page offers the same kind of page (`page`, a format with {hall}) of
    every hall there is."""
    choices = [(h.name, page.format(hall=h.id)) for h in halls]
    return device_page_missing(request, NotFound("hall.unknown", hall=hall),
                               title=f"找不到这个大厅（{what}）", choices=choices)


def window_missing(
    request: web.Request, hall: KnownHall, window: int, page: str, what: str,
) -> web.Response:
    """No window `window` in `hall`: the page offers the hall's windows (`page`, a format with
    {hall} and {window})."""
    choices = [(f"{n} 号窗口", page.format(hall=hall.id, window=n)) for n in hall.windows]
    known = ", ".join(str(n) for n in hall.windows)
    return device_page_missing(
        request, NotFound("window.unknown", hall=hall.id, window=window, known=known),
        title=f"找不到这个窗口（{what}）", choices=choices)
