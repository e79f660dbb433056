"""Exports of the performance review: CSV and XLSX equal GET /api/v1/stats cell by cell, the
monthly PDF holds what a supervisor signs, and a refused request generates nothing."""

from __future__ import annotations

import csv
import dataclasses
import io
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
from aiohttp.test_utils import TestClient, TestServer

from queue_server.adapters.anchors import append, load_or_create_key, sign
from queue_server.domain.anchor import Anchor
from queue_server.main import create_app
from queue_server.web.exports import COLUMNS
from tests.support.hall import FAST_HASHER, FakeClock, Hall, prepare_database, sample_config

DAY = "from=2026-11-30&to=2026-11-30"
PROBLEM = "application/problem+json"


@pytest.fixture
async def hall(fresh_db: str, tmp_path: Path) -> AsyncIterator[Hall]:
    """The sample hall with its anchor log in tmp_path; a day at two windows: five tickets
    served, one rated satisfied, one rated dissatisfied (a follow-up, called back)."""
    config = dataclasses.replace(sample_config(), anchor_log=tmp_path / "anchors.jsonl",
                                 anchor_key=tmp_path / "anchor-key.pem")
    await prepare_database(fresh_db, config)
    clock = FakeClock()
    client = TestClient(TestServer(create_app(config, dsn=fresh_db, clock=clock, redis_url="",
                                              password_hasher=FAST_HASHER)))
    await client.start_server()
    h = Hall(client, config, clock, fresh_db)
    try:
        await h.add_device("K01", role="kiosk")
        await h.add_device("E01", role="evaluator", window=1)
        await h.add_staff("1001", name="张三")
        await h.add_staff("1002", name="=HYPERLINK(\"http://x\")")  # a hostile name: a formula in a sheet
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("hs01", name="湖墅员", hall="hushu")
        await h.act(1, "open", by="1001")
        await h.act(2, "open", by="1002")
        numbers = []
        for i, service in enumerate(("A", "A", "B", "A", "B")):
            await h.issue(service)
            window, by = (1, "1001") if i % 2 == 0 else (2, "1002")
            clock.advance(60 * (i + 1))
            called = await h.act(window, "call-next", by=by)
            numbers.append(called["ticket"]["number"])
            await h.act(window, "start", by=by)
            clock.advance(120 + 30 * i)
            await h.act(window, "finish", by=by)
            if i == 0:
                await _rate(h, numbers[-1], "satisfied")
            if i == 2:
                bad = await _rate(h, numbers[-1], "dissatisfied", labels=["等候时间过长"])
                h.bad_number = numbers[-1]  # type: ignore[attr-defined]  # the scenario's own mark
                clock.advance(3600)
                resp = await client.post(f"/api/v1/halls/gongshu/follow-ups/{bad['follow_up']['id']}",
                                         json={"action": "call_back", "method": "phone", "result": "已致歉"},
                                         headers=h.auth("9001"))
                assert resp.status == 200, await resp.text()
        await h.issue("A")  # still waiting: issued, never served
        yield h
    finally:
        await client.close()


async def _rate(h: Hall, number: str, level: str, **extra) -> dict:
    resp = await h.client.post("/api/v1/halls/gongshu/windows/1/rating",
                               json={"number": number, "level": level, **extra}, headers=h.auth("E01"))
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _json(h: Hall, query: str, who: str = "9001") -> dict:
    resp = await h.client.get(f"/api/v1/stats?{query}", headers=h.auth(who))
    assert resp.status == 200, await resp.text()
    return await resp.json()


def _csv_value(text: str, kind: str):
    if text == "":
        return None
    if kind == "text":
        return text[1:] if text.startswith("'") else text
    number = float(text)
    return int(number) if kind == "int" else number


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) < 1e-9
    return a == b


async def test_the_csv_is_the_json_row_by_row(hall):
    for by in ("hall", "window", "staff", "service"):
        query = f"scope=hall:gongshu&{DAY}&by={by}"
        figures = await _json(hall, query)
        resp = await hall.client.get(f"/api/v1/stats.csv?{query}", headers=hall.auth("9001"))
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "text/csv"
        raw = await resp.read()
        assert raw.startswith(b"\xef\xbb\xbf"), "a BOM, or Excel reads GBK"
        table = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
        assert table[0] == [header for _, header, _ in COLUMNS]
        assert table[0][:4] == ["编码", "名称", "办件量", "取号量"]
        expected = [*figures["rows"], {**figures["total"], "key": "合计", "label": "合计"}]
        assert len(table) - 1 == len(expected)
        for line, row in zip(table[1:], expected, strict=True):
            for cell, (field, header, kind) in zip(line, COLUMNS, strict=True):
                want = row[field]
                if kind == "text" and want is not None:
                    want = str(want)
                assert _same(_csv_value(cell, kind), want), (by, row["label"], header, cell, want)
        assert table[-1][0] == "合计"
        disposition = resp.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert 'filename="stats_hall-gongshu_' in disposition and "2026-11-30" in disposition
        assert "拱墅区行政服务中心" in unquote(disposition.split("filename*=UTF-8''")[1])
    rates = await _json(hall, f"scope=hall:gongshu&{DAY}&by=hall")
    assert 0 < rates["total"]["rating_participation"] < 1, "the scenario has fractions to compare"


async def test_a_formula_in_a_text_cell_is_defused(hall):
    resp = await hall.client.get(f"/api/v1/stats.csv?scope=hall:gongshu&{DAY}&by=staff", headers=hall.auth("9001"))
    labels = [line[1] for line in csv.reader(io.StringIO((await resp.read())[3:].decode("utf-8")))]
    hostile = [label for label in labels if "HYPERLINK" in label]
    assert hostile == ["'=HYPERLINK(\"http://x\")（1002）"]


async def test_the_workbook_has_a_sheet_per_cut_equal_to_the_json(hall):
    resp = await hall.client.get(f"/api/v1/stats.xlsx?scope=hall:gongshu&{DAY}&by=hall,window,staff",
                                 headers=hall.auth("9001"))
    assert resp.status == 200, await resp.text()
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    assert book.sheetnames == ["按大厅", "按窗口", "按工作人员", "办理异常"]
    for name, by in (("按大厅", "hall"), ("按窗口", "window"), ("按工作人员", "staff")):
        figures = await _json(hall, f"scope=hall:gongshu&{DAY}&by={by}")
        sheet = book[name]
        cells = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert "拱墅区行政服务中心" in cells[0][0]
        assert any("2026-11-30 至 2026-11-30" in str(r[0]) for r in cells[:5])
        assert any(figures["generated_at"] in str(r[0]) for r in cells[:5])
        top = next(i for i, r in enumerate(cells) if r[0] == "编码")
        assert cells[top] == [header for _, header, _ in COLUMNS]
        assert sheet.freeze_panes == f"C{top + 2}"
        expected = [*figures["rows"], {**figures["total"], "key": "合计", "label": "合计"}]
        body = cells[top + 1:]
        assert len(body) == len(expected)
        for line, row in zip(body, expected, strict=True):
            for c, (field, header, kind) in enumerate(COLUMNS):
                want, got = row[field], line[c]
                if kind == "text":
                    assert got == (None if want is None else str(want)), (name, header)
                    continue
                assert _same(got, want), (name, row["label"], header, got, want)
                assert want is None or isinstance(got, int | float), "numbers are numeric cells"
        rate_cell = sheet.cell(row=top + 2, column=[f for f, _, _ in COLUMNS].index("satisfied_rate") + 1)
        assert rate_cell.number_format == "0.00%"
        assert body[-1][0] == "合计"
    assert book["办理异常"]["A1"].value.startswith("拱墅区行政服务中心")


async def test_a_clerk_exports_only_their_own_figures(hall):
    resp = await hall.client.get(f"/api/v1/stats.csv?scope=hall:gongshu&{DAY}&by=staff", headers=hall.auth("1001"))
    assert resp.status == 200
    keys = [line[0] for line in csv.reader(io.StringIO((await resp.read())[3:].decode("utf-8")))][1:]
    assert keys == ["1001", "合计"]
    pdf = await hall.client.get("/api/v1/reports/monthly.pdf?scope=hall:gongshu&month=2026-11",
                                headers=hall.auth("1001"))
    assert pdf.status == 200
    text = _pdf_text(await pdf.read())
    assert "张三（1001）" in text and "（1002）" not in text
    assert hall.bad_number in text, "1001 served the badly rated ticket"
    other = _pdf_text(await (await hall.client.get("/api/v1/reports/monthly.pdf?scope=hall:gongshu&month=2026-11",
                                                   headers=hall.auth("1002"))).read())
    assert "（1002）" in other and hall.bad_number not in other and "本月无差评" in other


@pytest.mark.parametrize(("path", "who", "status", "code"), [
    ("/api/v1/stats.csv?scope=hall:gong%00shu", "9001", 400, "input.control_character"),
    ("/api/v1/stats.xlsx?scope=hall:gongshu&by=hall,nonsense", "9001", 400, "input.bad_choice"),
    ("/api/v1/stats.xlsx?scope=hall:gongshu&by=hall&by=window", "9001", 400, "input.bad_choice"),
    ("/api/v1/stats.csv?scope=hall:gongshu&by=hall,window", "9001", 400, "input.bad_choice"),
    ("/api/v1/reports/monthly.pdf?scope=hall:gongshu&month=2026-13", "9001", 400, "input.bad_month"),
    ("/api/v1/reports/monthly.pdf?scope=hall:gongshu", "9001", 400, "input.bad_month"),
    ("/api/v1/reports/monthly.pdf?scope=hall:hushu&month=2026-11", "9001", 403, "auth.scope"),
    ("/api/v1/stats.xlsx?scope=hall:hushu&by=hall", "1001", 403, "auth.scope"),
    ("/api/v1/stats.csv?scope=hall:gongshu", "hs01", 403, "auth.scope"),
    ("/api/v1/stats.csv?scope=hall:nowhere", "9001", 404, "hall.unknown"),
    ("/api/v1/reports/monthly.pdf?scope=hall:gongshu&month=2026-11", "E01", 403, "auth.role"),
    ("/api/v1/reports/monthly.pdf?scope=hall:gongshu&month=2026-11", None, 401, None),
    ("/api/v1/stats.xlsx?scope=hall:gongshu", None, 401, None),
])
async def test_a_refused_export_is_a_problem_and_generates_nothing(hall, path, who, status, code):
    resp = await hall.client.get(path, headers=hall.auth(who) if who else {})
    assert resp.status == status, await resp.text()
    assert resp.content_type == PROBLEM
    assert "Content-Disposition" not in resp.headers
    body = await resp.json()
    if code:
        assert body["code"] == code, body


def _pdffonts(path: Path) -> list[str]:
    return subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout.splitlines()[2:]


def _pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
                          ).stdout.decode("utf-8")


async def test_the_monthly_report_to_sign(hall, tmp_path):
    key = load_or_create_key(hall.config.anchor_key)
    at = datetime(2026, 11, 30, 16, 0, 5, tzinfo=UTC)  # just after midnight in Shanghai
    append(hall.config.anchor_log, [
        sign(key, Anchor("gongshu", 42, bytes.fromhex("ab" * 32), at, "day-close 2026-11-30")),
        sign(key, Anchor("hushu", 7, bytes.fromhex("cd" * 32), at, "day-close 2026-11-30")),  # another scope
        sign(key, Anchor("gongshu", 3, bytes.fromhex("ef" * 32), at, "day-close 2026-10-31")),  # another month
    ])
    resp = await hall.client.get("/api/v1/reports/monthly.pdf?scope=hall:gongshu&month=2026-11",
                                 headers=hall.auth("9001"))
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/pdf"
    assert "2026-11" in resp.headers["Content-Disposition"]
    pdf = await resp.read()
    assert pdf.startswith(b"%PDF")
    (tmp_path / "report.pdf").write_bytes(pdf)
    fonts = _pdffonts(tmp_path / "report.pdf")
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # the "emb" column
    assert any("WenQuanYi" in line or "WQY" in line for line in fonts), fonts
    text = _pdf_text(pdf)
    for wanted in ("拱墅区行政服务中心", "2026年11月", "服务绩效月报", "1 号窗口", "2 号窗口", "张三（1001）",
                   hall.bad_number, "不满意", "等候时间过长", "电话回访：已致歉", "已回访",
                   "填表人", "审核人", "负责人", "签字", "日期", "abababababababab", "是（验证通过）"):
        assert wanted in text, wanted
    assert "cdcdcdcdcdcdcdcd" not in text and "efefefefefefefef" not in text


async def test_a_month_without_data_or_anchor_log_still_renders(hall):
    resp = await hall.client.get("/api/v1/reports/monthly.pdf?scope=district:gongshu&month=2026-10",
                                 headers=hall.auth("9001"))
    assert resp.status == 403, "a hall's manager does not see the district"
    empty = await _json(hall, "scope=hall:gongshu&from=2026-10-01&to=2026-10-31&by=window")
    assert empty["rows"] == [] and empty["total"]["open_s"] == 0, "an empty period sums to nothing, not null"
    hall.config.anchor_log.unlink(missing_ok=True)
    resp = await hall.client.get("/api/v1/reports/monthly.pdf?scope=hall:gongshu&month=2026-10",
                                 headers=hall.auth("9001"))
    assert resp.status == 200
    text = _pdf_text(await resp.read())
    assert "本月无数据" in text and "本月无差评" in text and "没有锚定记录文件" in text
