"""Satisfaction surveys (满意度调查) over HTTP: a hall manager's campaigns and results (JSON, CSV,
XLSX), and the sampled citizen's questionnaire on the phone page or the counter tablet."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date
from typing import Any

from aiohttp import web

from ..domain.errors import InvalidInput
from ..domain.text import clean_text
from ..service.commands import AnswerSurvey, StartSurvey
from .api import answer, idempotency_key, json_response, read_json, staff_of_hall
from .exports import attachment, plain, safe_text
from .keys import SURVEYS
from .ratings import _citizens_ticket, _tablet_of_window

routes = web.RouteTableDef()

_RESULT_PARAMS = ("campaign", "service", "from", "to")


# ---- managers -------------------------------------------------------------------------


@routes.get("/api/v1/halls/{hall}/survey-campaigns")
async def list_campaigns(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    return json_response(await request.app[SURVEYS].campaigns(hall, principal))


@routes.post("/api/v1/halls/{hall}/survey-campaigns")
async def start_campaign(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    cmd = _start_command(await read_json(request))
    return answer(await request.app[SURVEYS].start(hall, principal, cmd, idempotency_key(request)))


@routes.post("/api/v1/halls/{hall}/survey-campaigns/{id}/end")
async def end_campaign(request: web.Request) -> web.Response:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    await read_json(request)
    campaign = clean_text(request.match_info["id"], "id", required=True)
    assert campaign is not None
    return answer(await request.app[SURVEYS].end(hall, principal, campaign, idempotency_key(request)))


@routes.get("/api/v1/halls/{hall}/survey-results")
async def results(request: web.Request) -> web.Response:
    return json_response(await _results(request))


@routes.get("/api/v1/halls/{hall}/survey-results.csv")
async def results_csv(request: web.Request) -> web.Response:
    report = await _results(request)
    name, fallback = _file_names(report, "csv")
    return web.Response(body=survey_csv(report), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": attachment(name, fallback)})


@routes.get("/api/v1/halls/{hall}/survey-results.xlsx")
async def results_xlsx(request: web.Request) -> web.Response:
    report = await _results(request)
    body = await asyncio.to_thread(survey_xlsx, report)
    name, fallback = _file_names(report, "xlsx")
    return web.Response(body=body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": attachment(name, fallback)})


# ---- the citizen ----------------------------------------------------------------------


@routes.get("/api/v1/tickets/{id}/survey")
async def citizen_survey(request: web.Request) -> web.Response:
    """The questionnaire of a sampled visit, by the holder's secret ({"survey": null} if none)."""
    ticket = await _citizens_ticket(request, "see the satisfaction survey")
    return json_response(await request.app[SURVEYS].invitation(ticket))


@routes.post("/api/v1/tickets/{id}/survey")
async def citizen_answer(request: web.Request) -> web.Response:
    ticket = await _citizens_ticket(request, "answer the satisfaction survey")
    body = await read_json(request)
    cmd = AnswerSurvey(body.get("answers"), "phone")
    return answer(await request.app[SURVEYS].answer(ticket.id, ticket.hall, cmd, idempotency_key(request)))


@routes.get("/api/v1/halls/{hall}/windows/{window}/survey")
async def tablet_survey(request: web.Request) -> web.Response:
    """The counter tablet asks for the survey of the visit it just rated (?number=A001)."""
    hall, window, _principal = await _tablet_of_window(request)
    number = clean_text(request.query.get("number"), "number", required=True)
    assert number is not None
    surveys = request.app[SURVEYS]
    return json_response(await surveys.invitation(await surveys.window_visit(hall, window, number)))


@routes.post("/api/v1/halls/{hall}/windows/{window}/survey")
async def tablet_answer(request: web.Request) -> web.Response:
    hall, window, _principal = await _tablet_of_window(request)
    body = await read_json(request)
    number = clean_text(body.get("number"), "number", required=True)
    assert number is not None
    surveys = request.app[SURVEYS]
    ticket = await surveys.window_visit(hall, window, number)
    cmd = AnswerSurvey(body.get("answers"), "tablet")
    return answer(await surveys.answer(ticket.id, hall, cmd, idempotency_key(request)))


# ---- parameters -------------------------------------------------------------------------


def _day(value: Any, field: str) -> date:
    text = clean_text(value, field, required=True)
    assert text is not None
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("input.bad_date", field=field, got=text[:40]) from None


def _start_command(body: dict[str, Any]) -> StartSurvey:
    questionnaire = clean_text(body.get("questionnaire"), "questionnaire", required=True)
    assert questionnaire is not None
    starts, ends = _day(body.get("starts"), "starts"), _day(body.get("ends"), "ends")
    every = body.get("every", 1)
    if isinstance(every, bool) or not isinstance(every, int):
        raise InvalidInput("input.bad_number", field="every", low=1, high=1000, got=str(every)[:40])
    return StartSurvey(questionnaire, starts.isoformat(), ends.isoformat(), every)


async def _results(request: web.Request) -> dict[str, Any]:
    hall, principal = await staff_of_hall(request, "manager", "admin")
    found: dict[str, str] = {}
    for name in _RESULT_PARAMS:
        values = request.query.getall(name, [])
        if len(values) > 1:
            raise InvalidInput("input.bad_choice", field=name, known="一个值", got=",".join(values)[:40])
        if values and values[0] != "":
            text = clean_text(values[0], name, required=True)
            assert text is not None
            found[name] = text[:60]
    first = _day(found["from"], "from") if "from" in found else None
    last = _day(found["to"], "to") if "to" in found else None
    return await request.app[SURVEYS].results(hall, principal, found.get("campaign"), found.get("service"),
                                              first, last)


def _file_names(report: dict[str, Any], ext: str) -> tuple[str, str]:
    campaign = report["campaign"]
    period = f"{report['from'] or campaign['starts']}_{report['to'] or campaign['ends']}"
    service = f"_{report['service_name']}" if report["service"] else ""
    return (f"满意度调查_{report['hall_name']}_{campaign['title']}{service}_{period}.{ext}",
            f"survey_{report['hall']}_{campaign['id']}{'_' + report['service'] if report['service'] else ''}"
            f"_{period}.{ext}")


# ---- exports ----------------------------------------------------------------------------


def _question_rows(report: dict[str, Any]) -> list[list[Any]]:
    """One row per question and answer choice: 题目, 题型, 选项, 人数, 占比, 平均分."""
    rows: list[list[Any]] = []
    for q in report["questions"]:
        if q["kind"] == "scale":
            for level, (label, count) in enumerate(zip(q["labels"], q["counts"], strict=True), start=1):
                share = round(count / q["answered"], 4) if q["answered"] else None
                rows.append([q["text"], q["kind_zh"], f"{level} {label}", count, share, q["mean"]])
        elif q["kind"] == "choice":
            for option, count in zip(q["options"], q["counts"], strict=True):
                share = round(count / q["answered"], 4) if q["answered"] else None
                rows.append([q["text"], q["kind_zh"], option, count, share, None])
        else:
            rows.append([q["text"], q["kind_zh"], "（文字回答）", q["answered"], None, None])
    return rows


_HEAD = ["题目", "题型", "选项", "人数", "占比", "平均分"]
_TEXT_HEAD = ["日期", "事项", "题目", "回答"]


def survey_csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    campaign = report["campaign"]
    writer.writerow(["调查", safe_text(campaign["title"]), "大厅", safe_text(report["hall_name"])])
    writer.writerow(["抽样", report["sampled"], "回答", report["answered"], "回答率", plain(report["response_rate"]),
                     "平均分", plain(report["mean_score"])])
    writer.writerow(_HEAD)
    for row in _question_rows(report):
        writer.writerow([safe_text(row[0]), row[1], safe_text(row[2]), plain(row[3]), plain(row[4]), plain(row[5])])
    writer.writerow([])
    writer.writerow(["事项", "回答", "平均分"])
    for s in report["by_service"]:
        writer.writerow([safe_text(s["service_name"]), s["answered"], plain(s["mean_score"])])
    writer.writerow([])
    writer.writerow(_TEXT_HEAD)
    texts = {q["id"]: q["text"] for q in report["questions"]}
    for t in report["texts"]:
        writer.writerow([t["day"], safe_text(t["service_name"]), safe_text(texts.get(t["question"], t["question"])),
                         safe_text(t["text"])])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def survey_xlsx(report: dict[str, Any]) -> bytes:
    import xlsxwriter  # imported when used: most processes never write a workbook

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False})
    font = {"font_name": "Microsoft YaHei", "font_size": 10}
    title = book.add_format({**font, "bold": True, "font_size": 14})
    head = book.add_format({**font, "bold": True, "bg_color": "#DDE4EE", "border": 1})
    text = book.add_format({**font, "text_wrap": True, "valign": "top"})
    count = book.add_format({**font, "num_format": "0"})
    rate = book.add_format({**font, "num_format": "0.0%"})
    score = book.add_format({**font, "num_format": "0.00"})
    campaign = report["campaign"]
    sheet = book.add_worksheet("题目统计")
    sheet.write(0, 0, f"{report['hall_name']} · {campaign['title']}", title)
    period = f"{report['from'] or campaign['starts']} 至 {report['to'] or campaign['ends']}"
    sheet.write(1, 0, f"{period}  抽样 {report['sampled']}  回答 {report['answered']}"
                + (f"  事项 {report['service_name']}" if report["service"] else ""), text)
    for col, name in enumerate(_HEAD):
        sheet.write(3, col, name, head)
    for r, row in enumerate(_question_rows(report), start=4):
        sheet.write_string(r, 0, row[0], text)
        sheet.write_string(r, 1, row[1], text)
        sheet.write_string(r, 2, row[2], text)
        sheet.write_number(r, 3, row[3], count)
        if row[4] is not None:
            sheet.write_number(r, 4, row[4], rate)
        if row[5] is not None:
            sheet.write_number(r, 5, row[5], score)
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 2, 14)
    sheet.set_column(3, 5, 10)
    by_service = book.add_worksheet("按事项")
    for col, name in enumerate(["事项", "回答", "平均分"]):
        by_service.write(0, col, name, head)
    for r, s in enumerate(report["by_service"], start=1):
        by_service.write_string(r, 0, s["service_name"], text)
        by_service.write_number(r, 1, s["answered"], count)
        if s["mean_score"] is not None:
            by_service.write_number(r, 2, s["mean_score"], score)
    by_service.set_column(0, 0, 24)
    texts_sheet = book.add_worksheet("文字意见")
    for col, name in enumerate(_TEXT_HEAD):
        texts_sheet.write(0, col, name, head)
    names = {q["id"]: q["text"] for q in report["questions"]}
    for r, t in enumerate(report["texts"], start=1):
        for col, value in enumerate([t["day"], t["service_name"], names.get(t["question"], t["question"]), t["text"]]):
            texts_sheet.write_string(r, col, value, text)
    texts_sheet.set_column(0, 1, 14)
    texts_sheet.set_column(2, 2, 28)
    texts_sheet.set_column(3, 3, 60)
    book.close()
    return out.getvalue()
