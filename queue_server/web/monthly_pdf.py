"""The monthly report (服务绩效月报) as HTML, and as PDF through WeasyPrint.

`render` is blocking and CPU-heavy (a second or more): call it in a worker thread. The Chinese
font is embedded from the file fonts-wqy-microhei installs, named in an @font-face so that the
PDF does not depend on what fontconfig would pick. Every text from the data is escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

# (header, field, kind) of the figures tables: what a supervisor reads, not every column.
PDF_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("名称", "label", "text"),
    ("取号量", "issued", "int"),
    ("办件量", "served", "int"),
    ("平均等候", "wait_avg_s", "secs"),
    ("P90 等候", "wait_p90_s", "secs"),
    ("超时率", "over_threshold_rate", "rate"),
    ("平均办理", "handle_avg_s", "secs"),
    ("办理异常", "handle_outliers", "int"),
    ("过号率", "no_show_rate", "rate"),
    ("弃号率", "abandon_rate", "rate"),
    ("利用率", "utilisation", "rate"),
    ("暂停次数", "pause_count", "int"),
    ("评价数", "ratings", "int"),
    ("参评率", "rating_participation", "rate"),
    ("满意率", "satisfied_rate", "rate"),
    ("差评率", "bad_rate", "rate"),
    ("满意度得分", "score", "score"),
    ("回访及时率", "callback_on_time_rate", "rate"),
    ("整改及时率", "rectify_on_time_rate", "rate"),
)
# (header, field, kind) of the service quality table (domain/quality.py)
QUALITY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("名称", "label", "text"),
    ("办件量", "served", "int"),
    ("投诉件数", "complaints", "int"),
    ("千件投诉率", "complaints_per_1000", "fixed2"),
    ("按时受理率", "accepted_on_time_rate", "rate"),
    ("按时答复率", "replied_on_time_rate", "rate"),
    ("投诉人满意率", "complainant_satisfied_rate", "rate"),
    ("调查答卷", "survey_responses", "int"),
    ("调查得分", "survey_score", "fixed1"),
    ("整改立项", "improvements", "int"),
    ("整改未完成", "improvements_open", "int"),
    ("整改逾期", "improvements_overdue", "int"),
)
ACTION_ZH = {"call_back": "回访", "rectify": "整改", "close": "办结"}

CSS = f"""
@font-face {{ font-family: "WQY Micro Hei"; src: url("file://{FONT_FILE}"); }}
@page {{
  size: A4 landscape; margin: 14mm 10mm 14mm 10mm;
  @top-left {{ content: string(title); font-family: "WQY Micro Hei"; font-size: 7.5pt; color: #666; }}
  @bottom-center {{ content: "第 " counter(page) " 页 / 共 " counter(pages) " 页";
                   font-family: "WQY Micro Hei"; font-size: 7.5pt; color: #666; }}
}}
@page :first {{ @top-left {{ content: none; }} }}
html {{ font-family: "WQY Micro Hei", sans-serif; font-size: 8pt; color: #111; }}
h1 {{ font-size: 16pt; text-align: center; margin: 0 0 2mm; string-set: title content(); letter-spacing: 0.5pt; }}
.meta {{ text-align: center; color: #444; margin: 0 0 4mm; }}
h2 {{ font-size: 10.5pt; margin: 5mm 0 1.5mm; padding-left: 2mm; border-left: 2.5pt solid #2b4c7e;
      break-after: avoid; }}
p.none {{ color: #555; margin: 1mm 0 0 2mm; }}
table {{ width: 100%; border-collapse: collapse; table-layout: auto; }}
thead {{ display: table-header-group; }}
tr {{ break-inside: avoid; }}
th, td {{ border: 0.5pt solid #888; padding: 0.8mm 1.2mm; vertical-align: top; }}
th {{ background: #dde4ee; font-weight: bold; text-align: center; white-space: nowrap; }}
td.n {{ text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }}
td.t {{ text-align: left; }}
tr.total td {{ font-weight: bold; background: #f1f1f1; border-top: 1pt solid #333; }}
td.late {{ color: #b00020; }}
td.nw {{ white-space: nowrap; }}
td.notes {{ font-size: 7pt; width: 30%; }}
td.labels {{ width: 9%; }}
td.hash {{ font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; }}
.legend {{ color: #555; font-size: 7pt; margin-top: 1mm; }}
.signatures {{ break-inside: avoid; }}
.signatures table {{ margin-top: 5mm; }}
.signatures table td {{ border: none; padding: 0 4mm 0 2mm; font-size: 10pt; width: 33%; }}
.signatures .line {{ display: inline-block; border-bottom: 0.6pt solid #000; width: 38mm; height: 5mm; }}
.signatures .date {{ display: inline-block; border-bottom: 0.6pt solid #000; width: 30mm; height: 5mm; }}
"""


def render(data: dict[str, Any]) -> bytes:
    """The report as PDF bytes (blocking: run it in a thread)."""
    # Imported when used: it is slow to import and most processes never render.
    from weasyprint import HTML

    result: bytes = HTML(string=html(data), base_url="/").write_pdf()
    return result


def html(data: dict[str, Any]) -> str:
    title = f"{data['scope_name']} {data['month_zh']} 服务绩效月报"
    meta = [f"统计范围：{data['scope_name']}（{data['scope']}）", f"统计期间：{data['from']} 至 {data['to']}",
            f"生成时间：{_when(data['generated_at'], year=True)}"]
    if data.get("staff"):
        meta.insert(1, f"工作人员：{data.get('staff_name') or data['staff']}（{data['staff']}）")
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='meta'>{'　'.join(escape(m) for m in meta)}</p>",
        "<h2>一、大厅总体</h2>", _figures(data["by_hall"]),
        "<h2>二、各窗口</h2>", _figures(data["by_window"]),
        "<h2>三、工作人员</h2>", _figures(data["by_staff"]),
        "<p class='legend'>等候、办理时长为 分:秒；超时率为等候超过业务时限的叫号占比；利用率 = 忙碌 ÷（在岗 − 暂停）；"
        "满意率 = 非常满意 + 满意 + 基本满意；满意度得分 5 级 = 100 … 1 级 = 20。</p>",
        "<h2>四、差评及回访整改</h2>", _bad_ratings(data["bad_ratings"], data["generated_at"]),
        *(("<h2>五、投诉、调查与整改</h2>", _quality(data["quality"])) if data.get("quality") else ()),
        f"<h2>{_n(data, 5)}、整改事项</h2>", _improvements(data.get("improvements") or [], multi=len(data["halls"]) > 1),
        f"<h2>{_n(data, 6)}、账本锚定</h2>", _anchors(data["anchors"]),
        f"<section class='signatures'><h2>{_n(data, 7)}、审核签字</h2>",
        "<p class='none'>以上数据由系统根据排队叫号账本生成，经核对无误后签字。</p>", _signatures(), "</section>",
        "</body></html>",
    ]
    return "".join(parts)


_NUMERALS = "〇一二三四五六七八九十"


def _n(data: dict[str, Any], number: int) -> str:
    """A section's Chinese numeral: one later when the quality section (a manager's) is there."""
    return _NUMERALS[number + (1 if data.get("quality") else 0)]


def _quality(report: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h, _, _ in QUALITY_COLUMNS)
    rows = [_figure_row(r, "", QUALITY_COLUMNS) for r in report["rows"]]
    rows += [_figure_row({**r, "label": f"{r['label']}（小计）"}, "", QUALITY_COLUMNS) for r in report["regions"]]
    rows.append(_figure_row({**report["total"], "label": "合计"}, " class='total'", QUALITY_COLUMNS))
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "<p class='legend'>千件投诉率 = 投诉件数 ÷ 办件量 × 1000；按时受理、按时答复按各环节期限（工作日）计；"
            "调查得分为量表题平均分（百分制）；整改按立项日期计入本月，未完成与逾期为生成报表时的状态。</p>")


def _figures(report: dict[str, Any]) -> str:
    rows = report["rows"]
    if not rows and not report["total"].get("issued"):
        return "<p class='none'>本月无数据。</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h, _, _ in PDF_COLUMNS)
    body = [_figure_row(r, "") for r in rows]
    body.append(_figure_row({**report["total"], "label": "合计"}, " class='total'"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure_row(row: dict[str, Any], attrs: str,
                columns: tuple[tuple[str, str, str], ...] = PDF_COLUMNS) -> str:
    cells = []
    for _, field, kind in columns:
        value = row.get(field)
        cls = "t" if kind == "text" else "n"
        cells.append(f"<td class='{cls}'>{escape(shown(value, kind))}</td>")
    return f"<tr{attrs}>{''.join(cells)}</tr>"


def shown(value: Any, kind: str) -> str:
    """A figure as a person reads it: rates in %, seconds as m:ss, null as a dash."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "secs":
        seconds = int(round(value))
        hours, rest = divmod(seconds, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
    if kind in ("score", "fixed2"):
        return f"{value:.2f}"
    if kind == "fixed1":
        return f"{value:.1f}"
    return str(value)


def _when(text: str | None, *, year: bool = False) -> str:
    if not text:
        return "—"
    moment = datetime.fromisoformat(text)
    return moment.strftime("%Y-%m-%d %H:%M" if year else "%m-%d %H:%M")


def _late(done: str | None, due: str | None, now: str) -> bool:
    """Done after the deadline, or not done and the deadline past."""
    if due is None:
        return False
    deadline = datetime.fromisoformat(due)
    return datetime.fromisoformat(done or now) > deadline


def _bad_ratings(bad: list[dict[str, Any]], now: str) -> str:
    if not bad:
        return "<p class='none'>本月无差评（不满意、非常不满意）。</p>"
    head = "".join(f"<th>{h}</th>" for h in (
        "号码", "窗口", "工作人员", "评价", "原因", "评价时间", "回访期限", "回访时间", "整改期限", "整改时间",
        "状态", "处理记录"))
    rows = []
    for b in bad:
        notes = "<br>".join(
            escape(f"{_when(n.get('at'))} {n.get('by') or ''} {ACTION_ZH.get(n.get('action') or '', n.get('action') or '')}："
                   f"{n.get('note') or ''}")
            for n in b["notes"])
        callback_late = " late" if _late(b["called_back_at"], b["callback_due"], now) else ""
        rectify_late = " late" if _late(b["rectified_at"], b["rectify_due"], now) else ""
        rows.append(
            "<tr>"
            f"<td class='t nw'>{escape(b['number'] or '—')}</td>"
            f"<td class='t'>{escape(b['window_label'])}</td>"
            f"<td class='t'>{escape(b['staff_label'] or '—')}</td>"
            f"<td class='t nw'>{escape(b['level_name'])}</td>"
            f"<td class='t labels'>{escape('、'.join(str(x) for x in b['labels']) or '—')}</td>"
            f"<td class='n'>{escape(_when(b['rated_at']))}</td>"
            f"<td class='n'>{escape(_when(b['callback_due']))}</td>"
            f"<td class='n{callback_late}'>{escape(_when(b['called_back_at']) if b['called_back_at'] else '未回访')}</td>"
            f"<td class='n'>{escape(_when(b['rectify_due']))}</td>"
            f"<td class='n{rectify_late}'>{escape(_when(b['rectified_at']) if b['rectified_at'] else '未整改')}</td>"
            f"<td class='t nw'>{escape(b['status_name'])}</td>"
            f"<td class='t notes'>{notes or '—'}</td>"
            "</tr>")
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "<p class='legend'>红色：超过期限（回访、整改期限按工作日计算，至期限当日 24 时）。</p>")


def _improvements(actions: list[dict[str, Any]], *, multi: bool) -> str:
    if not actions:
        return "<p class='none'>本月无整改事项。</p>"
    head = "".join(f"<th>{h}</th>" for h in (
        *(("大厅",) if multi else ()), "来源", "问题", "原因", "措施", "责任人", "期限", "状态", "完成情况", "验证"))
    rows = []
    for a in actions:
        late = " late" if a["overdue"] else ""
        owner = f"{a.get('owner_name') or ''}（{a['owner']}）" if a.get("owner_name") else a["owner"]
        verified = f"{a['verified_by']} {_when(a['verified_at'])}" if a.get("verified_at") else "—"
        rows.append(
            "<tr>"
            + (f"<td class='t'>{escape(a['hall_name'])}</td>" if multi else "")
            + f"<td class='t nw'>{escape(a['source_zh'])}</td>"
            f"<td class='t notes'>{escape(a['problem'])}</td>"
            f"<td class='t notes'>{escape(a['cause'] or '—')}</td>"
            f"<td class='t notes'>{escape(a['measure'])}</td>"
            f"<td class='t'>{escape(owner)}</td>"
            f"<td class='n{late}'>{escape(a['due'])}</td>"
            f"<td class='t nw{late}'>{escape(a['state_zh'] + ('（逾期）' if a['overdue'] else ''))}</td>"
            f"<td class='t notes'>{escape(a['evidence'] or '—')}</td>"
            f"<td class='t'>{escape(verified)}</td>"
            "</tr>")
    opened = len(actions)
    still_open = sum(1 for a in actions if a["state"] != "verified")
    overdue = sum(1 for a in actions if a["overdue"])
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<p class='legend'>共 {opened} 项，其中未验证 {still_open} 项，逾期 {overdue} 项（状态为月末时的状态）。"
            "红色：逾期未完成。</p>")


def _anchors(anchors: list[dict[str, Any]] | None) -> str:
    if anchors is None:
        return "<p class='none'>本服务器没有锚定记录文件（anchor log），本月无法列出账本锚定。</p>"
    if not anchors:
        return "<p class='none'>本月没有账本锚定记录。</p>"
    head = "".join(f"<th>{h}</th>" for h in ("营业日", "大厅", "账本序号", "链头哈希（前 16 位）", "锚定时间", "签名"))
    signed = {True: "是（验证通过）", False: "否（验证失败）", None: "未验证（无公钥）"}
    rows = "".join(
        "<tr>"
        f"<td class='n'>{escape(a['day'])}</td><td class='t'>{escape(a['hall'])}</td>"
        f"<td class='n'>{a['seq']}</td><td class='t hash'>{escape(a['head'])}</td>"
        f"<td class='n'>{escape(_when(a['at']))}</td>"
        f"<td class='t{'' if a['signed'] is not False else ' late'}'>{signed[a['signed']]}</td>"
        "</tr>" for a in anchors)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _signatures() -> str:
    cells = "".join(
        f"<td>{who}签字：<span class='line'></span><br><br>日期：<span class='date'></span></td>"
        for who in ("填表人", "审核人", "负责人"))
    return f"<table><tr>{cells}</tr></table>"
