"""Exports of the performance review: GET /api/v1/stats.csv, /api/v1/stats.xlsx and the monthly
report /api/v1/reports/monthly.pdf.

The same parameters and the same authorisation as GET /api/v1/stats (web/review.py): the figures
are the JSON's, formatted otherwise. Everything is parsed, authorised and read before a byte is
written, so a refused request answers problem+json and generates nothing.

CSV: UTF-8 with a BOM (Excel guesses GBK without it), numbers plain (rates as fractions), text
cells that a spreadsheet would take for a formula get a leading apostrophe. XLSX (xlsxwriter):
numbers are numeric cells with a number format, one sheet per cut asked for. PDF (WeasyPrint,
web/monthly_pdf.py): rendered in a worker thread, at most RENDER_SLOTS at a time.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from aiohttp import web

from ..domain import review as review_rules
from ..domain.errors import InvalidInput
from ..service.review import CUT_ZH
from . import monthly_pdf
from .api import principal_of
from .keys import REPORTS, REVIEW
from .review import query_params

routes = web.RouteTableDef()

#: WeasyPrint takes a CPU for a second or more per report: at most this many render at once,
#: the others wait their turn (the event loop never renders).
RENDER_SLOTS = 2
_RENDERING = web.AppKey("export-rendering", asyncio.Semaphore)

# (field of a stats row, header, kind): kind says how the number is shown.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("key", "编码", "text"),
    ("label", "名称", "text"),
    ("served", "办件量", "int"),
    ("issued", "取号量", "int"),
    ("called", "叫号量", "int"),
    ("wait_avg_s", "平均等候(秒)", "secs"),
    ("wait_p90_s", "P90等候(秒)", "secs"),
    ("wait_max_s", "最长等候(秒)", "secs"),
    ("over_threshold_rate", "超时率", "rate"),
    ("handle_avg_s", "平均办理(秒)", "secs"),
    ("handle_outliers", "办理异常", "int"),
    ("no_show_rate", "过号率", "rate"),
    ("abandon_rate", "弃号率", "rate"),
    ("open_s", "在岗(秒)", "secs"),
    ("pause_s", "暂停(秒)", "secs"),
    ("pause_count", "暂停次数", "int"),
    ("busy_s", "忙碌(秒)", "secs"),
    ("utilisation", "利用率", "rate"),
    ("ratings", "评价数", "int"),
    ("rating_participation", "参评率", "rate"),
    ("satisfied_rate", "满意率", "rate"),
    ("good_rate", "好评率", "rate"),
    ("bad_rate", "差评率", "rate"),
    ("score", "满意度得分", "score"),
    ("follow_ups", "回访数", "int"),
    ("callback_on_time_rate", "回访及时率", "rate"),
    ("rectify_on_time_rate", "整改及时率", "rate"),
)
TOTAL = "合计"
OUTLIER_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("hall", "大厅", "text"),
    ("business_day", "营业日", "text"),
    ("number", "号码", "text"),
    ("service", "业务", "text"),
    ("window", "窗口", "int"),
    ("staff_id", "工作人员", "text"),
    ("handle_s", "办理(秒)", "secs"),
    ("median_s", "同业务中位数(秒)", "secs"),
)
MAX_CUTS = len(review_rules.CUTS)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def add_export_routes(app: web.Application) -> None:
    app[_RENDERING] = asyncio.Semaphore(RENDER_SLOTS)
    app.add_routes(routes)


# ---- parameters -------------------------------------------------------------------------


def cuts_of(text: str | None) -> list[str]:
    """`by` as a comma list of cuts (hall,window,staff), each known, none twice; default hall."""
    if text is None or text.strip() == "":
        return ["hall"]
    cuts: list[str] = []
    for part in text.split(","):
        cut = part.strip()
        if cut not in review_rules.CUTS:
            raise InvalidInput("input.bad_choice", field="by", known=", ".join(review_rules.CUTS), got=cut[:40])
        if cut not in cuts:
            cuts.append(cut)
    return cuts


async def _figures(request: web.Request, cuts: Sequence[str | None]) -> list[dict[str, Any]]:
    """GET /api/v1/stats's answer for each cut (None: the `by` parameter itself), parsed,
    authenticated and authorised as it is."""
    params = query_params(request)
    principal = await principal_of(request)
    review = request.app[REVIEW]
    return [
        await review.stats(principal, params.get("scope"), params.get("from"), params.get("to"),
                           cut or params.get("by"),
                           window=params.get("window"), staff=params.get("staff"))
        for cut in cuts
    ]


def attachment(name: str, fallback: str) -> str:
    """Content-Disposition naming the file in Chinese (RFC 5987) with an ASCII fallback."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _file_names(report: dict[str, Any], cuts: Sequence[str], ext: str) -> tuple[str, str]:
    period = report["from"] if report["from"] == report["to"] else f"{report['from']}_{report['to']}"
    cut_zh = "_".join("按" + CUT_ZH[c] for c in cuts)
    scope_ascii = report["scope"].replace(":", "-")
    return (f"服务绩效_{report['scope_name']}_{cut_zh}_{period}.{ext}",
            f"stats_{scope_ascii}_{'-'.join(cuts)}_{period}.{ext}")


# ---- CSV --------------------------------------------------------------------------------


def safe_text(value: Any) -> str:
    """A text cell as a spreadsheet will not take it for a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def plain(value: Any) -> str:
    """A number as the JSON has it (a rate as a fraction); an empty cell for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def stats_csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for _, header, _ in COLUMNS])
    for row in [*report["rows"], {**report["total"], "key": TOTAL, "label": TOTAL}]:
        writer.writerow([safe_text(row.get(field)) if kind == "text" else plain(row.get(field))
                         for field, _, kind in COLUMNS])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


@routes.get("/api/v1/stats.csv")
async def stats_csv_route(request: web.Request) -> web.Response:
    [report] = await _figures(request, [None])
    name, fallback = _file_names(report, [report["by"]], "csv")
    return web.Response(body=stats_csv(report), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": attachment(name, fallback)})


# ---- XLSX -------------------------------------------------------------------------------


def _width(value: Any) -> int:
    """Columns of a cell's text: a CJK character is two."""
    text = "" if value is None else str(value)
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def stats_xlsx(reports: list[dict[str, Any]]) -> bytes:
    import xlsxwriter  # imported when used: most processes never write a workbook

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False})
    font = {"font_name": "Microsoft YaHei", "font_size": 10}
    fmt = {
        "title": book.add_format({**font, "bold": True, "font_size": 14}),
        "meta": book.add_format({**font, "font_color": "#555555"}),
        "head": book.add_format({**font, "bold": True, "bg_color": "#DDE4EE", "border": 1, "text_wrap": True,
                                 "valign": "vcenter", "align": "center"}),
        "text": book.add_format(font),
        "int": book.add_format({**font, "num_format": "0"}),
        "secs": book.add_format({**font, "num_format": "0.0"}),
        "rate": book.add_format({**font, "num_format": "0.00%"}),
        "score": book.add_format({**font, "num_format": "0.00"}),
    }
    for kind in ("text", "int", "secs", "rate", "score"):
        fmt["total_" + kind] = book.add_format({**font, "bold": True, "top": 1, "bg_color": "#F3F3F3",
                                                **({"num_format": fmt[kind].num_format} if kind != "text" else {})})
    first = reports[0]
    for report in reports:
        sheet = book.add_worksheet("按" + CUT_ZH[report["by"]])
        rows = [*report["rows"], {**report["total"], "key": TOTAL, "label": TOTAL}]
        top = _header_block(sheet, fmt, report)
        _table(sheet, fmt, top, COLUMNS, rows, total_last=True)
    sheet = book.add_worksheet("办理异常")
    top = _header_block(sheet, fmt, first, extra=(
        f"办理时长超过同业务中位数 3 倍的办件：共 {first['outliers_total']} 件"
        + (f"，列出前 {len(first['outliers'])} 件" if first["outliers_total"] > len(first["outliers"]) else "")))
    _table(sheet, fmt, top, OUTLIER_COLUMNS, first["outliers"], total_last=False)
    book.close()
    return out.getvalue()


def _header_block(sheet: Any, fmt: dict[str, Any], report: dict[str, Any], extra: str | None = None) -> int:
    """The scope, the period and when it was generated above the table; the table's first row."""
    lines = [f"统计期间：{report['from']} 至 {report['to']}", f"生成时间：{report['generated_at']}"]
    if report.get("staff"):
        lines.append(f"工作人员：{report.get('staff_name') or report['staff']}（{report['staff']}）")
    if report.get("window") is not None:
        lines.append(f"窗口：{report['window']} 号")
    if extra:
        lines.append(extra)
    sheet.write_string(0, 0, f"{report['scope_name']} 服务绩效（{report['scope']}）", fmt["title"])
    for i, line in enumerate(lines, start=1):
        sheet.write_string(i, 0, line, fmt["meta"])
    return len(lines) + 2


def _table(sheet: Any, fmt: dict[str, Any], top: int, columns: Sequence[tuple[str, str, str]],
           rows: list[dict[str, Any]], *, total_last: bool) -> None:
    widths = [_width(header) for _, header, _ in columns]
    for c, (_, header, _) in enumerate(columns):
        sheet.write_string(top, c, header, fmt["head"])
    for r, row in enumerate(rows, start=top + 1):
        total = total_last and r == top + len(rows)
        for c, (field, _, kind) in enumerate(columns):
            cell = fmt[("total_" if total else "") + kind]
            value = row.get(field)
            if value is None:
                sheet.write_blank(r, c, None, cell)
            elif kind == "text":
                sheet.write_string(r, c, str(value), cell)
                widths[c] = max(widths[c], _width(value))
            else:
                sheet.write_number(r, c, value, cell)
                widths[c] = max(widths[c], len(f"{value:.2f}") if kind != "int" else len(str(value)))
    for c, width in enumerate(widths):
        sheet.set_column(c, c, min(max(width + 2, 8), 40))
    sheet.set_row(top, 30)
    sheet.freeze_panes(top + 1, 2 if columns is COLUMNS else 0)


@routes.get("/api/v1/stats.xlsx")
async def stats_xlsx_route(request: web.Request) -> web.Response:
    cuts = cuts_of(request.query.get("by"))
    reports = await _figures(request, cuts)
    body = await asyncio.to_thread(stats_xlsx, reports)
    name, fallback = _file_names(reports[0], cuts, "xlsx")
    return web.Response(body=body, headers={
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Content-Disposition": attachment(name, fallback)})


# ---- the monthly PDF --------------------------------------------------------------------


@routes.get("/api/v1/reports/monthly.pdf")
async def monthly_pdf_route(request: web.Request) -> web.Response:
    params = query_params(request)
    principal = await principal_of(request)
    data = await request.app[REPORTS].monthly(principal, params.get("scope"), params.get("month"))
    async with request.app[_RENDERING]:
        body = await asyncio.to_thread(monthly_pdf.render, data)
    scope_ascii = data["scope"].replace(":", "-")
    name = f"{data['scope_name']}_{data['month_zh']}_服务绩效月报.pdf"
    return web.Response(body=body, content_type="application/pdf", headers={
        "Content-Disposition": attachment(name, f"monthly_{scope_ascii}_{data['month']}.pdf")})
