"""Authorization as a table: every route of the OpenAPI document × every kind of caller.

Each cell says what the caller gets: 401 (no valid token), 403 (a valid token that may not do
this), or ok — the rules let the caller through, so the answer is whatever the hall's state makes
it (200, 201, 404 for an unknown id, 409 for a refused command), never 401 or 403 and never 5xx.
A route the OpenAPI document lists and this table does not fails the test, so a new route
cannot ship without its row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from queue_server.web.openapi import build
from tests.api.checks import fetch

OK, UNAUTH, FORBID, NOT_FOUND = "ok", 401, 403, 404

# The callers, in the order of each row's cells.
CALLERS = (
    "none",  # no token
    "kiosk",  # K01 of gongshu
    "display",  # D01 of gongshu
    "printer",  # P01 of gongshu, K01's printer
    "evaluator",  # E01 of gongshu, window 1's tablet
    "clerk",  # 1001 of gongshu, signed in to window 1
    "clerk_w2",  # 1002 of gongshu, signed in to window 2
    "clerk_other_hall",  # 2001 of hushu
    "manager",  # 9001, manager of gongshu
    "admin",  # 0001, admin of every hall
    "expired",  # 1003's token after it expired
    "revoked",  # 1004's token after sign-out
)

_ = OK
U = UNAUTH
F = FORBID
PUBLIC = (_,) * 12
# A token route of the hall's staff: clerks, managers and admins of the hall.
STAFF = (U, F, F, F, F, _, _, F, _, _, U, U)
MANAGERS = (U, F, F, F, F, F, F, F, _, _, U, U)
# A window command on window 1: its clerk, or a manager; the clerk of window 2 is refused.
WINDOW_1 = (U, F, F, F, F, _, F, F, _, _, U, U)
TABLET = (U, F, F, F, _, F, F, F, F, F, U, U)
# The ticket holder's routes: the secret in the path is the credential, a token adds nothing.
HOLDER = PUBLIC
# Rating as the citizen: only without a token (staff could otherwise rate their own service).
HOLDER_RATES = (_, F, F, F, F, F, F, F, F, F, U, U)

TABLE: dict[tuple[str, str], tuple[Any, ...]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/api/v1/halls"): PUBLIC,
    ("GET", "/api/v1/halls/{hall}/queue"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/ratings/form"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): (U, _, _, _, _, _, _, _, _, _, U, U),
    ("GET", "/api/v1/auth/me"): (U, _, _, _, _, _, _, _, _, _, U, U),
    ("POST", "/api/v1/halls/{hall}/tickets"): (U, _, F, F, F, _, _, F, _, _, U, U),
    ("GET", "/api/v1/tickets/{id}"): HOLDER,
    ("POST", "/api/v1/tickets/{id}/cancel"): HOLDER,
    ("POST", "/api/v1/tickets/{id}/rating"): HOLDER_RATES,
    ("POST", "/api/v1/tickets/{id}/follow-up-rating"): HOLDER_RATES,
    ("GET", "/api/v1/tickets/{id}/qr.svg"): HOLDER,
    ("GET", "/api/v1/tickets/{id}/preview.png"): HOLDER,
    ("GET", "/api/v1/halls/{hall}/tickets/{number}"): STAFF,
    ("POST", "/api/v1/halls/{hall}/tickets/{number}/restore"): STAFF,
    ("POST", "/api/v1/halls/{hall}/tickets/{number}/cancel"): STAFF,
    ("POST", "/api/v1/halls/{hall}/tickets/{number}/reprint"): STAFF,
    ("GET", "/api/v1/halls/{hall}/events"): STAFF,
    ("GET", "/api/v1/halls/{hall}/notices"): STAFF,
    ("POST", "/api/v1/halls/{hall}/notices"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/appointments"): STAFF,
    ("POST", "/api/v1/halls/{hall}/appointments/{code}/check-in"): (U, _, F, F, F, _, _, F, _, _, U, U),
    ("POST", "/api/v1/halls/{hall}/windows/{window}/rating"): TABLET,
    ("GET", "/api/v1/halls/{hall}/windows/{window}/rating-prompt"): TABLET,
    ("GET", "/api/v1/halls/{hall}/follow-ups"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/follow-ups/{id}"): MANAGERS,
    ("GET", "/api/v1/halls/{hall}/windows/{window}/queue"): STAFF,
    # 整改: managers open, verify and reopen; the hall's clerks list and report their own done.
    ("GET", "/api/v1/halls/{hall}/improvements"): STAFF,
    ("POST", "/api/v1/halls/{hall}/improvements"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/improvements/{id}/done"): STAFF,
    ("POST", "/api/v1/halls/{hall}/improvements/{id}/verify"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/improvements/{id}/reopen"): MANAGERS,
    # 投诉: citizens send and follow theirs without a token (staff use the console, which records
    # the channel); managers take them by phone and run the flow; the investigator may resolve.
    ("POST", "/api/v1/tickets/{id}/complaint"): HOLDER_RATES,
    ("POST", "/api/v1/complaint-box/{hall}"): HOLDER_RATES,
    ("GET", "/api/v1/complaints/{id}"): PUBLIC,
    ("POST", "/api/v1/complaints/{id}/rating"): HOLDER_RATES,
    ("GET", "/api/v1/halls/{hall}/complaints"): STAFF,
    ("POST", "/api/v1/halls/{hall}/complaints"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/complaints/{id}/accept"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/complaints/{id}/decline"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/complaints/{id}/assign"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/complaints/{id}/resolve"): STAFF,
    ("POST", "/api/v1/halls/{hall}/complaints/{id}/reply"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/complaints/{id}/archive"): MANAGERS,
    # 满意度调查: the hall's managers run campaigns and read results; the citizen answers by the
    # holder's secret (never with a token), or on the window's own tablet.
    ("GET", "/api/v1/halls/{hall}/survey-campaigns"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/survey-campaigns"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/survey-campaigns/{id}/end"): MANAGERS,
    ("GET", "/api/v1/halls/{hall}/survey-results"): MANAGERS,
    ("GET", "/api/v1/halls/{hall}/survey-results.csv"): MANAGERS,
    ("GET", "/api/v1/halls/{hall}/survey-results.xlsx"): MANAGERS,
    ("GET", "/api/v1/tickets/{id}/survey"): HOLDER_RATES,
    ("POST", "/api/v1/tickets/{id}/survey"): HOLDER_RATES,
    ("GET", "/api/v1/halls/{hall}/windows/{window}/survey"): TABLET,
    ("POST", "/api/v1/halls/{hall}/windows/{window}/survey"): TABLET,
    ("GET", "/api/v1/halls/{hall}/kiosk"): (U, _, F, F, F, _, _, F, _, _, U, U),
    # Its kiosk, its printer and the hall's staff; the kiosk of the job is K01.
    ("GET", "/api/v1/print-jobs/{id}"): (U, _, F, _, F, _, _, NOT_FOUND, _, _, U, U),
    # Screens, kiosks, tablets and staff of the hall may fetch a call's sound.
    ("GET", "/api/v1/halls/{hall}/announcements/{seq}.wav"): (U, _, _, F, _, _, _, F, _, _, U, U),
    ("GET", "/api/v1/halls/{hall}/device-check"): (U, _, _, F, _, _, _, F, _, _, U, U),
    # Performance review of gongshu: its staff (a clerk sees only their own figures), managers,
    # admins; never a device; another hall's clerk is refused the scope.
    ("GET", "/api/v1/stats"): STAFF,
    ("GET", "/api/v1/stats.csv"): STAFF,
    ("GET", "/api/v1/stats.xlsx"): STAFF,
    ("GET", "/api/v1/reports/monthly.pdf"): STAFF,
    ("GET", "/api/v1/stats/scopes"): (U, F, F, F, F, _, _, _, _, _, U, U),
    # 投诉、调查与整改 figures: the offices', not a clerk's
    ("GET", "/api/v1/stats/quality"): MANAGERS,
    # 大厅监控 and its alerts: the hall's managers and admins (region managers: tests/monitor).
    ("GET", "/api/v1/monitor/halls"): MANAGERS,
    ("GET", "/api/v1/halls/{hall}/monitor"): MANAGERS,
    ("GET", "/api/v1/halls/{hall}/alerts"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/alerts/{id}/acknowledge"): MANAGERS,
    # Pairing: a device without a token asks for a code and waits with its secret; the hall's
    # managers pair, list, rename, move and revoke its devices.
    ("POST", "/api/v1/pairing"): PUBLIC,
    ("GET", "/api/v1/pairing/wait"): PUBLIC,
    ("GET", "/api/v1/halls/{hall}/devices"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/devices"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/devices/{id}/rename"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/devices/{id}/move"): MANAGERS,
    ("POST", "/api/v1/halls/{hall}/devices/{id}/revoke"): MANAGERS,
    # 人员管理: managers and admins manage accounts in their scope (tests/api/test_staff_accounts.py
    # has who within); a clerk and every device are refused. A photo is public like the screens.
    ("GET", "/api/v1/staff"): MANAGERS,
    ("POST", "/api/v1/staff"): MANAGERS,
    ("GET", "/api/v1/staff/{staff}"): MANAGERS,
    ("POST", "/api/v1/staff/{staff}/edit"): MANAGERS,
    ("POST", "/api/v1/staff/{staff}/disable"): MANAGERS,
    ("POST", "/api/v1/staff/{staff}/enable"): MANAGERS,
    ("POST", "/api/v1/staff/{staff}/unlock"): MANAGERS,
    ("POST", "/api/v1/staff/{staff}/reset-password"): MANAGERS,
    ("PUT", "/api/v1/staff/{staff}/photo"): MANAGERS,
    ("GET", "/api/v1/staff/{staff}/photo"): PUBLIC,
    # Every signed-in staff member sets their own password; a device has none.
    ("POST", "/api/v1/auth/password"): (U, F, F, F, F, _, _, _, _, _, U, U),
}
# The query a report route is asked with (the scope decides who may).
QUERIES = {path: "?scope=hall:gongshu&month=2026-11&by=hall" for method, path in TABLE if "/stats" in path
           or "/reports/" in path}
for _action in ("close", "pause", "resume", "call-next", "call", "recall", "start", "finish", "miss",
                "transfer", "suspend", "message"):
    TABLE[("POST", f"/api/v1/halls/{{hall}}/windows/{{window}}/{_action}")] = WINDOW_1
# Opening window 1 while its clerk is signed in there: the clerk of window 2 is told it is taken
# (409), which is the rules' answer, not an authorization refusal.
TABLE[("POST", "/api/v1/halls/{hall}/windows/{window}/open")] = STAFF

# A body each route accepts as far as parsing goes, so that what is tested is who may call it.
BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/auth/login": {"staff_id": "1001", "password": "secret-pass-1"},
    "/api/v1/halls/{hall}/tickets": {"service": "A"},
    "/api/v1/tickets/{id}/rating": {"level": "satisfied"},
    "/api/v1/tickets/{id}/follow-up-rating": {"level": "satisfied"},
    "/api/v1/halls/{hall}/notices": {"notices": ["欢迎"]},
    "/api/v1/halls/{hall}/appointments": {"service": "A", "slot_start": "2026-12-31T10:00:00+08:00",
                                          "slot_end": "2026-12-31T10:30:00+08:00"},
    "/api/v1/halls/{hall}/windows/{window}/rating": {"number": "A001", "level": "satisfied"},
    "/api/v1/halls/{hall}/follow-ups/{id}": {"action": "call_back", "method": "phone", "result": "已回访"},
    "/api/v1/halls/{hall}/tickets/{number}/reprint": {"kiosk": "K01"},
    "/api/v1/halls/{hall}/improvements": {"problem": "等候区座位不足", "measure": "增加座椅", "owner": "9001",
                                          "due": "2026-12-31"},
    "/api/v1/halls/{hall}/improvements/{id}/done": {"evidence": "已增加 20 个座位"},
    "/api/v1/halls/{hall}/improvements/{id}/reopen": {"reason": "座位仍不足"},
    "/api/v1/tickets/{id}/complaint": {"category": "attitude", "content": "态度生硬"},
    "/api/v1/complaint-box/{hall}": {"category": "environment", "content": "座位不足"},
    "/api/v1/complaints/{id}/rating": {"rating": "satisfied"},
    "/api/v1/halls/{hall}/complaints": {"channel": "phone", "category": "other", "content": "电话反映排队久"},
    "/api/v1/halls/{hall}/complaints/{id}/decline": {"reason": "重复投诉"},
    "/api/v1/halls/{hall}/complaints/{id}/assign": {"assignee": "1001"},
    "/api/v1/halls/{hall}/complaints/{id}/resolve": {"findings": "属实", "measures": "培训"},
    "/api/v1/halls/{hall}/complaints/{id}/reply": {"how": "phone"},
    "/api/v1/halls/{hall}/devices": {"code": "123456", "name": "K09"},
    "/api/v1/halls/{hall}/devices/{id}/rename": {"name": "K09"},
    "/api/v1/halls/{hall}/survey-campaigns": {"questionnaire": "hall-service", "starts": "2026-11-30",
                                              "ends": "2026-12-31", "every": 5},
    "/api/v1/tickets/{id}/survey": {"answers": {"overall": 5}},
    "/api/v1/halls/{hall}/windows/{window}/survey": {"number": "A001", "answers": {"overall": 5}},
    "/api/v1/halls/{hall}/windows/{window}/pause": {"reason": "咨询"},
    "/api/v1/halls/{hall}/windows/{window}/call": {"number": "A002", "reason": "急办"},
    "/api/v1/halls/{hall}/windows/{window}/transfer": {"service": "B", "reason": "转办"},
    "/api/v1/halls/{hall}/windows/{window}/suspend": {"reason": "缺材料"},
    "/api/v1/halls/{hall}/windows/{window}/message": {"text": "请稍候"},
    "/api/v1/staff": {"id": "1100", "name": "新同事", "hall": "gongshu"},
    "/api/v1/staff/{staff}/edit": {"name": "李小四"},
    "/api/v1/auth/password": {"old_password": "not-the-password-0", "new_password": "new-pass-2026"},
}


def documented() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in build()["paths"].items() for method in ops}


def test_every_documented_route_has_a_row_in_the_table():
    missing = sorted(documented() - set(TABLE))
    extra = sorted(set(TABLE) - documented())
    assert not missing, f"routes without a row in the authorization table: {missing}"
    assert not extra, f"rows for routes the OpenAPI document does not list: {extra}"
    assert all(len(row) == len(CALLERS) for row in TABLE.values())


@dataclass
class World:
    tokens: dict[str, str | None]
    values: dict[str, str]


async def _world(h) -> World:
    """One hall with a caller of every kind, a waiting ticket, a print job and a call."""
    await h.add_device("D01", role="display")
    await h.add_device("P01", role="printer", kiosk="K01")
    await h.add_device("E01", role="evaluator", window=1)
    await h.add_staff("1002", name="李四")
    await h.add_staff("1003", name="王五")
    await h.add_staff("1004", name="赵六")
    await h.add_staff("2001", hall="hushu", name="钱七")
    await h.add_staff("9001", role="manager", name="王经理")
    await h.add_staff("0001", hall=None, role="admin", name="管理员")
    await h.act(1, "open", by="1001")
    await h.act(2, "open", by="1002")
    first = await h.issue("A")  # A001: called at window 1 below
    await h.issue("A")  # A002: waiting, for 指定叫号
    await h.act(1, "call-next", by="1001")
    resp = await h.client.post("/api/v1/auth/logout", headers=h.auth("1004"))
    assert resp.status == 200, await resp.text()
    await fetch(h, "UPDATE sessions SET expires_at = $1 WHERE staff_id = '1003'",
                h.clock() - timedelta(minutes=1))
    jobs = await fetch(h, "SELECT id FROM print_jobs ORDER BY created_at LIMIT 1")
    seq = await fetch(h, "SELECT max(seq) AS seq FROM ledger WHERE hall = 'gongshu' "
                         "AND kind = 'ticket_called'")
    tokens: dict[str, str | None] = {
        "none": None, "kiosk": h.tokens["K01"], "display": h.tokens["D01"],
        "printer": h.tokens["P01"], "evaluator": h.tokens["E01"], "clerk": h.tokens["1001"],
        "clerk_w2": h.tokens["1002"], "clerk_other_hall": h.tokens["2001"],
        "manager": h.tokens["9001"], "admin": h.tokens["0001"], "expired": h.tokens["1003"],
        "revoked": h.tokens["1004"],
    }
    values = {
        "hall": "gongshu", "window": "1", "number": "A001", "code": "123456",
        "id": first["holder_secret"], "seq": str(seq[0]["seq"]),
        "job": jobs[0]["id"] if jobs else "pj_none", "staff": "1002",
    }
    return World(tokens, values)


def _concrete(path: str, values: dict[str, str]) -> str:
    if path == "/api/v1/print-jobs/{id}":
        return f"/api/v1/print-jobs/{values['job']}"
    if path == "/api/v1/halls/{hall}/follow-ups/{id}":
        return "/api/v1/halls/gongshu/follow-ups/fu_unknown"
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path) + QUERIES.get(path, "")


def _verdict(status: int, want: Any) -> Any:
    """401 and 403 are refusals; 404 counts as one where the row says so (another hall's job is
    not even said to exist); anything else is the rules' answer to an authorised caller."""
    if status in (UNAUTH, FORBID) or (status == NOT_FOUND and want == NOT_FOUND):
        return status
    return OK


ROUTES = sorted(TABLE)


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
async def test_who_may_call_the_route(hall, method, path):
    world = await _world(hall)
    expected = TABLE[(method, path)]
    wrong = []
    for caller, want in zip(CALLERS, expected, strict=True):
        token = world.tokens[caller]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = BODIES.get(path)
        resp = await hall.client.request(
            method, _concrete(path, world.values), headers=headers,
            json=body if method == "POST" else None)
        text = (await resp.read()).decode("utf-8", "replace")
        assert resp.status < 500, (caller, resp.status, text)
        if _verdict(resp.status, want) != want:
            wrong.append(f"{caller}: expected {want}, got {resp.status} {text[:160]}")
    assert not wrong, f"{method} {path}\n" + "\n".join(wrong)


def test_the_openapi_document_declares_a_token_exactly_where_the_table_needs_one():
    """Routes that refuse a caller without a token declare bearer security; holder and public
    routes do not (their credential, if any, is the secret in the path)."""
    doc = build()["paths"]
    wrong = []
    for (method, path), row in TABLE.items():
        declared = "security" in doc[path][method.lower()]
        needs_token = row[CALLERS.index("none")] == UNAUTH
        if declared != needs_token:
            wrong.append(f"{method} {path}: security declared={declared}, token needed={needs_token}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("body", [
    {"service": "A", "channel": "guide"},
    {"service": "A", "channel": "staff"},
    {"service": "A", "priority": "elderly", "priority_reason": "自称 80 岁"},
    {"service": "A", "priority": "green", "priority_reason": "陪同"},
])
async def test_a_kiosk_cannot_pose_as_the_guide_desk(hall, body):
    resp = await hall.client.post("/api/v1/halls/gongshu/tickets", json=body, headers=hall.auth("K01"))
    assert resp.status == 403, await resp.text()
    assert (await fetch(hall, "SELECT count(*) AS n FROM tickets"))[0]["n"] == 0


async def test_a_kiosk_still_issues_its_own_tickets_with_a_self_declared_class(hall):
    ticket = await hall.issue("A", by="K01", priority="elderly", channel="kiosk")
    assert ticket["priority"] == "elderly"


# The screen websocket is not in the OpenAPI document; its row lives here. A screen of the hall,
# a kiosk and a tablet of the hall, and the hall's staff may watch; a printer (a device of the
# hall that is not a screen) and another hall's clerk are refused with 403, not 401.
SCREEN_SOCKET = (U, _, _, F, _, _, _, F, _, _, U, U)


async def test_who_may_open_the_hall_screen_websocket(hall):
    world = await _world(hall)
    wrong = []
    for caller, want in zip(CALLERS, SCREEN_SOCKET, strict=True):
        token = world.tokens[caller]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            ws = await hall.client.ws_connect("/ws/v1/halls/gongshu", protocols=("queue.v1",),
                                              headers=headers)
        except aiohttp.WSServerHandshakeError as refused:
            got: Any = refused.status
        else:
            got = OK
            await ws.close()
        if got != want:
            wrong.append(f"{caller}: expected {want}, got {got}")
    assert not wrong, "GET /ws/v1/halls/gongshu\n" + "\n".join(wrong)
