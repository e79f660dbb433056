"""The start page (/): what this server serves — each hall with its pages and their addresses —
the sign-in for staff and managers, and for a device the way to pair it (/pair). The startup
banner (queue-server serve) prints the same list from `hall_pages`."""

from __future__ import annotations

import html

from aiohttp import web

from ..config import Config
from ..domain.layout import Hall
from .keys import CONFIG, QUEUE

#: The pages for people, the same for every hall: (title, path, what it is for).
PEOPLE_PAGES: tuple[tuple[str, str, str], ...] = (
    ("窗口工作台", "/staff", "窗口工作人员登录、叫号"),
    ("现场管理", "/manage/monitor", "大厅管理人员：大厅监控、绩效、投诉、整改"),
    ("设备管理", "/manage/devices", "大厅管理人员：输入配对码登记设备、停用设备"),
    ("设备配对", "/pair", "取号机、大厅屏、窗口屏、评价器在此显示配对码"),
)


def hall_pages(hall: Hall) -> list[tuple[str, list[str]]]:
    """A hall's device pages: (title, paths), windows' pages in window order."""
    windows = sorted(hall.windows)
    pages = [("大厅屏", [f"/display/hall/{hall.id}"])]
    if hall.has_kiosk:
        pages.append(("取号机", [f"/kiosk/{hall.id}"]))
    pages.append(("窗口屏", [f"/display/window/{hall.id}/{n}" for n in windows]))
    pages.append(("评价器", [f"/evaluate/{hall.id}/{n}" for n in windows]))
    return pages


#: Said first, by the banner and the start page, when the server runs with --ignore-hours.
TRAINING_NOTICE = ("培训模式 TRAINING MODE (--ignore-hours): 营业时间外也可取号，所有屏幕显示「培训模式」；"
                   "正式营业请不带 --ignore-hours 启动")


def banner(config: Config, base: str, *, training: bool = False) -> str:
    """The pages of the startup banner, with their addresses, and how devices are paired;
    with `training`, a line saying so above everything else."""
    lines = [f"  !!! {TRAINING_NOTICE} !!!"] if training else []
    lines.append("  人员 / staff:")
    lines += [f"    {title}: {base}{path}  ({note})" for title, path, note in PEOPLE_PAGES]
    for hall in config.halls.values():
        lines.append(f"  {hall.name} ({hall.id}):")
        for title, paths in hall_pages(hall):
            shown = f"{base}{paths[0]}" if len(paths) == 1 else f"{base}{paths[0]} … {paths[-1].rsplit('/', 1)[-1]}"
            lines.append(f"    {title}: {shown}" if paths else f"    {title}: —")
    lines.append(
        "  设备配对 / pairing: open a device page (or "
        f"{base}/pair) on the device; it shows a 6-digit code;\n"
        f"    a manager enters it at {base}/manage/devices. queue-printer and queue-display: --pair.")
    return "\n".join(lines)


async def index(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    training = request.app[QUEUE].ignore_hours
    base = f"{request.scheme}://{request.host}"
    esc = html.escape
    people = "".join(
        f"<li><a href='{path}'>{esc(title)}</a> <span class='muted'>{esc(note)}</span>"
        f" <code>{esc(base + path)}</code></li>"
        for title, path, note in PEOPLE_PAGES
    )
    halls = []
    for hall in config.halls.values():
        rows = []
        for title, paths in hall_pages(hall):
            if len(paths) == 1:
                links = f"<a href='{esc(paths[0])}'>{esc(base + paths[0])}</a>"
            else:
                links = " ".join(
                    f"<a href='{esc(p)}' title='{esc(base + p)}'>{esc(p.rsplit('/', 1)[-1])}</a>" for p in paths)
                links = f"<code>{esc(base + paths[0].rsplit('/', 1)[0])}/</code>窗口号：{links}" if paths else "—"
            rows.append(f"<tr><th>{esc(title)}</th><td>{links}</td></tr>")
        halls.append(
            f"<section class='hall'><h3>{esc(hall.name)} <small>{esc(hall.id)} · "
            f"{len(hall.windows)} 个窗口</small></h3><table>{''.join(rows)}</table></section>")
    body = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>政务服务大厅排队叫号系统</title><link rel='icon' href='data:,'>"
        "<style>"
        "body{font-family:'WenQuanYi Micro Hei','Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:0;"
        "background:#eaf0f7;color:#1c2a3a}"
        "header{background:linear-gradient(#c62828,#a11d1d);color:#fff;padding:12px 28px;"
        "border-bottom:4px solid #f2c14e}header h1{margin:0;font-size:24px}"
        "main{max-width:1300px;margin:0 auto;padding:14px 28px;display:grid;grid-template-columns:1fr 1fr;gap:14px}"
        ".card{background:#fff;border:1px solid #c9d6e8;border-radius:8px;padding:12px 18px}"
        ".wide{grid-column:1/-1}h2{font-size:18px;margin:0 0 8px}h3{font-size:16px;margin:8px 0 4px}"
        "small,.muted{color:#5a6b80;font-weight:normal}ul{margin:0;padding-left:20px;line-height:1.8}"
        "code{background:#f1f4f9;padding:0 4px;border-radius:3px;font-size:13px}"
        "table{border-collapse:collapse}th{text-align:left;padding:2px 12px 2px 0;white-space:nowrap;"
        "font-weight:normal;color:#5a6b80}td{padding:2px 0}td a{margin-right:6px}"
        ".pair{font-size:18px}.pair a{font-weight:bold}"
        ".training{margin:0;padding:10px 28px;background:#f2c14e;color:#5a2a00;font-weight:bold;font-size:18px}"
        ".halls{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:4px 24px}"
        "</style></head><body>"
        "<header><h1>政务服务大厅排队叫号系统</h1></header>"
        + (f"<p id='training' class='training'>{esc(TRAINING_NOTICE)}</p>" if training else "")
        + "<main>"
        "<section class='card'><h2>工作人员与管理人员</h2><ul>" + people + "</ul></section>"
        "<section class='card pair'><h2>设备配对</h2>"
        "<p>在取号机、大厅屏、窗口屏或评价器上打开 <a href='/pair'>" + esc(base) + "/pair</a>"
        "（或下面该设备的地址），屏幕显示 6 位配对码；</p>"
        "<p>大厅管理人员在 <a href='/manage/devices'>设备管理</a> 输入配对码，选择角色与窗口，设备即自动开始工作。</p>"
        "<p class='muted'>小票打印机、屏幕客户端：<code>queue-printer --pair</code>、<code>queue-display --pair</code>。</p>"
        "</section>"
        "<section class='card wide'><h2>各大厅的页面</h2><div class='halls'>" + "".join(halls) + "</div></section>"
        "<section class='card wide muted'>接口说明：<a href='/api/v1/openapi.json'>/api/v1/openapi.json</a> · "
        "<a href='/api/v1/halls'>/api/v1/halls</a> · <a href='/healthz'>/healthz</a></section>"
        "</main></body></html>"
    )
    return web.Response(text=body, content_type="text/html")


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
