"""Satisfaction surveys (满意度调查): a manager's campaign samples every Nth finished visit, counted
in the finish's own transaction (exact across server processes); the sampled citizen answers once,
anonymously; results per question, service and day, as JSON, CSV and XLSX; start and end in the
ledger with who did it; bad input refused in Chinese and changing nothing."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from queue_server.main import create_app
from tests.api.checks import fetch
from tests.support.hall import FAST_HASHER, Hall, start_hall

CAMPAIGNS = "/api/v1/halls/gongshu/survey-campaigns"
RESULTS = "/api/v1/halls/gongshu/survey-results"
GOOD = {"overall": 5, "guidance": 4, "visits": "1 次", "advice": "窗口人员很耐心"}


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_device("E01", role="evaluator", window=1)
        await h.add_staff("1001", name="张三")
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("hs09", name="湖墅经理", role="manager", hall="hushu")
        yield h


async def _start(hall, by="9001", key=None, **changes):
    body = {"questionnaire": "hall-service", "starts": "2026-11-30", "ends": "2026-12-06", "every": 5, **changes}
    headers = hall.auth(by, **({"Idempotency-Key": key} if key else {}))
    return await hall.client.post(CAMPAIGNS, json=body, headers=headers)


async def _serve(hall, n, service="A", window=1, by="1001"):
    """n visits issued, served and finished at the window, in order; their tickets."""
    tickets = []
    for _ in range(n):
        tickets.append(await hall.issue(service))
        await hall.act(window, "call-next", by=by)
        await hall.act(window, "start", by=by)
        await hall.act(window, "finish", by=by)
    return tickets


async def _survey(hall, ticket):
    resp = await hall.client.get(f"/api/v1/tickets/{ticket['holder_secret']}/survey")
    assert resp.status == 200, await resp.text()
    return (await resp.json())["survey"]


async def _answer(hall, ticket, answers=None, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/survey",
                                  json={"answers": GOOD if answers is None else answers}, headers=headers)


async def _invited(hall):
    rows = await fetch(hall, "SELECT ticket_id FROM survey_invitations ORDER BY ticket_id")
    return {r["ticket_id"] for r in rows}


def _load(value):
    return json.loads(value) if isinstance(value, str) else value


async def test_every_fifth_finished_visit_is_sampled_exactly_and_sees_the_questionnaire(hall):
    started = await _start(hall)
    campaign = await started.json()
    assert started.status == 201, campaign
    assert campaign["status"] == "running" and campaign["rule_zh"] == "每 5 位办结群众抽 1 位"
    await hall.act(1, "open", by="1001")
    tickets = await _serve(hall, 12)
    assert await _invited(hall) == {tickets[4]["id"], tickets[9]["id"]}
    assert await _survey(hall, tickets[3]) is None
    form = await _survey(hall, tickets[4])
    assert form["title"] == "政务服务满意度调查" and form["service_name"]
    assert [q["id"] for q in form["questions"]] == ["overall", "guidance", "visits", "advice"]
    assert form["questions"][1]["labels"][4] == "很清楚" and form["questions"][3]["max_length"] == 300
    listed = await (await hall.client.get(CAMPAIGNS, headers=hall.auth("9001"))).json()
    [row] = listed["campaigns"]
    assert (row["finished_count"], row["sampled_count"], row["answered_count"]) == (12, 2, 0)
    assert listed["questionnaires"][0]["id"] == "hall-service"


async def test_everyone_is_sampled_with_every_1_and_no_one_outside_the_campaign_days(hall):
    await _start(hall, every=1, starts="2026-12-01", ends="2026-12-02")
    await hall.act(1, "open", by="1001")
    before = await _serve(hall, 2)  # Monday 30 November: before the campaign
    assert await _invited(hall) == set()
    hall.clock.advance(24 * 3600)  # Tuesday 1 December; sessions last a working day: sign in again
    login = await hall.client.post("/api/v1/auth/login", json={"staff_id": "1001", "password": "secret-pass-1"})
    hall.tokens["1001"] = (await login.json())["token"]
    await hall.act(1, "open", by="1001")
    during = await _serve(hall, 3)
    assert await _invited(hall) == {t["id"] for t in during}
    assert [await _survey(hall, t) for t in before] == [None, None]


async def test_finishes_racing_in_two_server_processes_still_sample_exactly_every_fifth(hall):
    """Two app instances (own pipelines, own caches) on one database finish visits at four windows
    at once; the 5th, 10th, 15th and 20th finishes in the hall's ledger order are the ones invited."""
    app = create_app(hall.config, dsn=hall.dsn, clock=hall.clock, redis_url="", password_hasher=FAST_HASHER)
    other = TestClient(TestServer(app))
    await other.start_server()
    try:
        second = Hall(other, hall.config, hall.clock, hall.dsn, tokens=hall.tokens)
        await _start(hall)
        windows = {1: "1001", 2: "1002", 3: "1003", 14: "1004"}
        for window, clerk in windows.items():
            if clerk != "1001":
                await hall.add_staff(clerk, name="办事员" + clerk)
            await hall.act(window, "open", by=clerk)
        for _ in range(20):
            await hall.issue("A")
        for _round in range(5):
            for window, clerk in windows.items():
                await hall.act(window, "call-next", by=clerk)
                await hall.act(window, "start", by=clerk)
            await asyncio.gather(*[
                (hall if i % 2 else second).act(window, "finish", by=clerk)
                for i, (window, clerk) in enumerate(windows.items())])
        finishes = await fetch(hall, "SELECT ticket_id FROM ledger WHERE kind = 'ticket_finished' ORDER BY seq")
        assert len(finishes) == 20
        assert await _invited(hall) == {finishes[i]["ticket_id"] for i in (4, 9, 14, 19)}
        [row] = await fetch(hall, "SELECT finished_count, sampled_count FROM survey_campaigns")
        assert (row["finished_count"], row["sampled_count"]) == (20, 4)
    finally:
        await other.close()


async def test_a_sampled_visit_answers_once_anonymously_and_a_second_press_is_answered_once(hall):
    await _start(hall, every=1)
    await hall.act(1, "open", by="1001")
    [ticket] = await _serve(hall, 1)
    first = await _answer(hall, ticket, key="k-1")
    assert first.status == 201, await first.text()
    assert (await first.json())["answered"] is True
    again = await _answer(hall, ticket, key="k-1")  # the same press retried: the same answer
    assert again.status == 201 and await again.json() == await first.json()
    second = await _answer(hall, ticket, answers={"overall": 1, "guidance": 1, "visits": "2 次"})
    assert second.status == 409
    problem = await second.json()
    assert problem["code"] == "survey.already_answered" and "已经提交" in problem["detail"]
    assert await _survey(hall, ticket) is None
    rows = await fetch(hall, "SELECT * FROM survey_answers")
    assert len(rows) == 1 and _load(rows[0]["answers"]) == GOOD
    stored = dict(rows[0])
    assert set(stored) == {"id", "campaign", "hall", "service", "day", "channel", "answers"}
    assert ticket["id"] not in json.dumps(stored, default=str)
    ledger = await fetch(hall, "SELECT kind, actor, ticket_id, payload FROM ledger WHERE kind LIKE 'survey%' ORDER BY seq")
    assert [r["kind"] for r in ledger] == ["survey_campaign_started", "survey_answered"]
    answered = ledger[1]
    assert answered["ticket_id"] is None and _load(answered["actor"])["id"] == "anonymous"
    assert "overall" not in json.dumps(_load(answered["payload"]))


async def test_two_answers_racing_for_one_visit_store_one(hall):
    await _start(hall, every=1)
    await hall.act(1, "open", by="1001")
    [ticket] = await _serve(hall, 1)
    answers = await asyncio.gather(*[_answer(hall, ticket) for _ in range(4)])
    assert sorted(r.status for r in answers) == [201, 409, 409, 409]
    assert len(await fetch(hall, "SELECT id FROM survey_answers")) == 1


BAD_ANSWERS = [
    ({"guidance": 4, "visits": "1 次"}, "answers.overall", "input.survey_required"),
    ({**GOOD, "overall": 6}, "answers.overall", "input.survey_scale"),
    ({**GOOD, "overall": True}, "answers.overall", "input.survey_scale"),
    ({**GOOD, "visits": "5 次"}, "answers.visits", "input.bad_choice"),
    ({**GOOD, "advice": "好" * 301}, "answers.advice", "input.too_long"),
    ({**GOOD, "advice": "有\u0000字"}, "answers.advice", "input.control_character"),
    ({**GOOD, "bogus": 1}, "answers.bogus", "input.survey_unknown_question"),
    ("全部满意", "answers", "input.survey_answers"),
    (None, "answers", "input.missing_field"),
]


async def test_a_bad_answer_is_refused_in_chinese_naming_the_question_and_stores_nothing(hall):
    await _start(hall, every=1)
    await hall.act(1, "open", by="1001")
    [ticket] = await _serve(hall, 1)
    for answers, field, code in BAD_ANSWERS:
        resp = await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/survey", json={"answers": answers})
        problem = await resp.json()
        assert resp.status == 400, problem
        assert (problem["code"], problem["field"]) == (code, field)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"])
    assert await fetch(hall, "SELECT id FROM survey_answers") == []
    assert (await _survey(hall, ticket)) is not None  # still open to a good answer
    staff = await hall.client.post(f"/api/v1/tickets/{ticket['holder_secret']}/survey", json={"answers": GOOD},
                                   headers=hall.auth("1001"))
    assert staff.status == 403  # staff may not answer for the citizen


async def test_a_visit_not_sampled_or_answered_too_late_is_refused(hall):
    await _start(hall, every=2)
    await hall.act(1, "open", by="1001")
    first, second = await _serve(hall, 2)
    unsampled = await _answer(hall, first)
    assert unsampled.status == 404 and (await unsampled.json())["code"] == "survey.none"
    hall.clock.advance(25 * 3600)
    late = await _answer(hall, second)
    assert late.status == 409 and (await late.json())["code"] == "survey.expired"
    assert await fetch(hall, "SELECT id FROM survey_answers") == []


async def test_the_counter_tablet_shows_and_takes_the_survey_of_its_windows_visit(hall):
    await _start(hall, every=1)
    await hall.act(1, "open", by="1001")
    [ticket] = await _serve(hall, 1)
    base = "/api/v1/halls/gongshu/windows/1/survey"
    form = await (await hall.client.get(f"{base}?number={ticket['number']}", headers=hall.auth("E01"))).json()
    assert form["survey"]["questions"][0]["id"] == "overall"
    done = await hall.client.post(base, json={"number": ticket["number"], "answers": GOOD}, headers=hall.auth("E01"))
    assert done.status == 201, await done.text()
    rows = await fetch(hall, "SELECT channel FROM survey_answers")
    assert [r["channel"] for r in rows] == ["tablet"]
    phone = await _answer(hall, ticket)
    assert phone.status == 409


async def test_ending_early_stops_sampling_and_is_ledgered_with_who(hall):
    campaign = await (await _start(hall, every=1)).json()
    await hall.act(1, "open", by="1001")
    await _serve(hall, 1)
    ended = await hall.client.post(f"{CAMPAIGNS}/{campaign['id']}/end", headers=hall.auth("9001", **{"Idempotency-Key": "e1"}))
    body = await ended.json()
    assert ended.status == 200, body
    assert body["status"] == "ended" and body["ended_by"] == "9001" and body["status_zh"] == "已提前结束"
    again = await hall.client.post(f"{CAMPAIGNS}/{campaign['id']}/end", headers=hall.auth("9001"))
    assert again.status == 409 and (await again.json())["code"] == "survey.already_ended"
    await _serve(hall, 2)
    assert len(await _invited(hall)) == 1
    ledger = await fetch(hall, "SELECT kind, actor, payload FROM ledger WHERE kind LIKE 'survey_campaign%' ORDER BY seq")
    assert [(r["kind"], _load(r["actor"])["id"]) for r in ledger] == [
        ("survey_campaign_started", "9001"), ("survey_campaign_ended", "9001")]
    assert _load(ledger[0]["payload"])["every"] == 1 and _load(ledger[1]["payload"])["finished_count"] == 1


async def test_a_double_pressed_start_makes_one_campaign_and_overlapping_days_are_refused(hall):
    pressed = await asyncio.gather(_start(hall, key="s-1"), _start(hall, key="s-1"))
    assert [r.status for r in pressed] == [201, 201]
    assert len({(await r.json())["id"] for r in pressed}) == 1
    racing = await asyncio.gather(_start(hall, starts="2026-12-10", ends="2026-12-20"),
                                  _start(hall, starts="2026-12-15", ends="2026-12-31"))
    assert sorted(r.status for r in racing) == [201, 409]
    overlap = await _start(hall, starts="2026-12-05", ends="2026-12-08")
    problem = await overlap.json()
    assert overlap.status == 409 and problem["code"] == "survey.overlap" and "同一时间只能进行一项" in problem["detail"]
    assert len(await fetch(hall, "SELECT id FROM survey_campaigns")) == 2


BAD_CAMPAIGNS = [
    ({"questionnaire": "nope"}, "questionnaire", "input.survey_unknown"),
    ({"starts": "2026-12-10", "ends": "2026-12-01"}, "ends", "input.survey_dates"),
    ({"starts": "2026-11-01", "ends": "2026-11-20"}, "ends", "input.survey_ends_past"),
    ({"starts": "30/11/2026"}, "starts", "input.bad_date"),
    ({"every": 0}, "every", "input.bad_number"),
    ({"every": "5"}, "every", "input.bad_number"),
    ({"questionnaire": "hall\u0000service"}, "questionnaire", "input.control_character"),
]


async def test_a_bad_campaign_is_refused_in_chinese_and_changes_nothing(hall):
    for changes, field, code in BAD_CAMPAIGNS:
        resp = await _start(hall, **changes)
        problem = await resp.json()
        assert resp.status == 400, problem
        assert (problem["code"], problem["field"]) == (code, field)
    assert await fetch(hall, "SELECT id FROM survey_campaigns") == []
    assert await fetch(hall, "SELECT seq FROM ledger WHERE kind LIKE 'survey%'") == []


async def test_only_the_halls_managers_run_campaigns_and_read_results(hall):
    clerk = await _start(hall, by="1001")
    assert clerk.status == 403
    other = await _start(hall, by="hs09")
    assert other.status == 403
    campaign = await (await _start(hall)).json()
    peek = await hall.client.get(f"{RESULTS}?campaign={campaign['id']}", headers=hall.auth("hs09"))
    assert peek.status == 403
    foreign = await hall.client.get(f"/api/v1/halls/hushu/survey-results?campaign={campaign['id']}",
                                    headers=hall.auth("hs09"))
    assert foreign.status == 404 and (await foreign.json())["code"] == "survey.unknown_campaign"


async def test_results_per_question_service_and_day_and_their_csv_and_xlsx_exports(hall):
    campaign = await (await _start(hall, every=1)).json()
    await hall.act(1, "open", by="1001")
    a_visits = await _serve(hall, 3, service="A")
    b_visits = await _serve(hall, 1, service="B")
    await _answer(hall, a_visits[0])
    await _answer(hall, a_visits[1], answers={"overall": 3, "guidance": 2, "visits": "2 次"})
    await _answer(hall, b_visits[0], answers={"overall": 1, "guidance": 1, "visits": "3 次及以上",
                                              "advice": "=HYPERLINK(\"x\")"})
    resp = await hall.client.get(f"{RESULTS}?campaign={campaign['id']}", headers=hall.auth("9001"))
    report = await resp.json()
    assert resp.status == 200, report
    assert (report["sampled"], report["answered"], report["response_rate"]) == (4, 3, 0.75)
    overall = report["questions"][0]
    assert overall["counts"] == [1, 0, 1, 0, 1] and overall["mean"] == 3.0 and overall["satisfied_rate"] == 0.3333
    assert report["questions"][2]["counts"] == [1, 1, 1]
    assert [(s["service"], s["answered"], s["mean_score"]) for s in report["by_service"]] == [
        ("A", 2, 3.5), ("B", 1, 1.0)]
    assert report["by_day"] == [{"day": "2026-11-30", "answered": 3, "mean_score": 2.67}]
    assert {t["text"] for t in report["texts"]} == {"窗口人员很耐心", "=HYPERLINK(\"x\")"}
    only_b = await (await hall.client.get(f"{RESULTS}?campaign={campaign['id']}&service=B",
                                          headers=hall.auth("9001"))).json()
    assert (only_b["sampled"], only_b["answered"]) == (1, 1)
    later = await (await hall.client.get(f"{RESULTS}?campaign={campaign['id']}&from=2026-12-01",
                                         headers=hall.auth("9001"))).json()
    assert later["answered"] == 0 and later["questions"][0]["mean"] is None

    csv_resp = await hall.client.get(f"{RESULTS}.csv?campaign={campaign['id']}", headers=hall.auth("9001"))
    assert csv_resp.status == 200 and csv_resp.content_type == "text/csv"
    assert "filename*=UTF-8''" in csv_resp.headers["Content-Disposition"]
    text = (await csv_resp.read()).decode("utf-8-sig")
    assert "您对本次办事的总体满意度,量表（1–5）,5 非常满意,1,0.3333,3.0" in text
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text

    xlsx_resp = await hall.client.get(f"{RESULTS}.xlsx?campaign={campaign['id']}", headers=hall.auth("9001"))
    assert xlsx_resp.status == 200
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(await xlsx_resp.read()))
    assert book.sheetnames == ["题目统计", "按事项", "文字意见"]
    sheet = book["题目统计"]
    assert [c.value for c in sheet[4]] == ["题目", "题型", "选项", "人数", "占比", "平均分"]
    assert sheet.cell(5, 4).value == 1 and isinstance(sheet.cell(5, 4).value, int)
    assert book["文字意见"].cell(2, 4).value in {"窗口人员很耐心", "=HYPERLINK(\"x\")"}
    assert all(c.data_type != "f" for row in book["文字意见"].iter_rows() for c in row)


BAD_QUERIES = [
    ("", "campaign", "input.missing_field"),
    ("campaign=sv_x&service=Z", "service", "input.bad_choice"),
    ("campaign=sv_x&from=2026-13-01", "from", "input.bad_date"),
    ("campaign=sv_x&from=2026-12-05&to=2026-12-01", "to", "input.survey_dates"),
    ("campaign=a&campaign=b", "campaign", "input.bad_choice"),
]


async def test_bad_result_queries_are_a_400_naming_the_parameter(hall):
    for query, field, code in BAD_QUERIES:
        for suffix in ("", ".csv", ".xlsx"):
            resp = await hall.client.get(f"{RESULTS}{suffix}?{query}", headers=hall.auth("9001"))
            problem = await resp.json()
            assert resp.status == 400, problem
            assert (problem["code"], problem["field"]) == (code, field)


async def test_an_improvement_action_from_a_survey_names_a_campaign_of_the_hall(hall):
    campaign = await (await _start(hall)).json()
    action = {"source_kind": "survey", "problem": "一次性告知评分偏低", "measure": "窗口统一材料清单",
              "owner": "1001", "due": "2026-12-04"}
    base = "/api/v1/halls/gongshu/improvements"
    unknown = await hall.client.post(base, json={**action, "source_id": "sv_nope"}, headers=hall.auth("9001"))
    problem = await unknown.json()
    assert unknown.status == 400 and problem["code"] == "input.improvement_source_unknown", problem
    assert "满意度调查" in problem["detail"]
    opened = await hall.client.post(base, json={**action, "source_id": campaign["id"]}, headers=hall.auth("9001"))
    assert opened.status == 201, await opened.text()
    assert (await opened.json())["source_id"] == campaign["id"]
