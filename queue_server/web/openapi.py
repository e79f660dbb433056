"""The OpenAPI 3.1 description of HTTP API v1, built from one table of operations."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ..domain.errors import CODES
from ..domain.pairing import KINDS as PAIRING_KINDS
from ..domain.text import MAX_JSON_DEPTH, rule_for
from ..protocol import MAX_SEQ
from ..service.commands import WINDOW_ACTIONS
from .keys import CONFIG

_PROBLEM = {"$ref": "#/components/responses/Problem"}
_ERRORS = {str(code): _PROBLEM for code in (400, 401, 403, 404, 405, 409, 413, 415, 429, 503)}
# What a success answers when it is not JSON.
_MEDIA = {
    "/api/v1/tickets/{id}/qr.svg": "image/svg+xml",
    "/api/v1/tickets/{id}/preview.png": "image/png",
    "/api/v1/halls/{hall}/announcements/{seq}.wav": "audio/wav",
    "/api/v1/stats.csv": "text/csv",
    "/api/v1/halls/{hall}/survey-results.csv": "text/csv",
    "/api/v1/halls/{hall}/survey-results.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "/api/v1/stats.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "/api/v1/reports/monthly.pdf": "application/pdf",
}
_TOKEN_ROUTES = ("staff", "kiosk", "manager", "any", "evaluator", "display")
# Path parameters as the server parses them (ASCII digits, bounded).
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "window": {"type": "integer", "minimum": 0, "maximum": 9999},
    "seq": {"type": "integer", "minimum": 1, "maximum": MAX_SEQ},
}
_QUERY: dict[str, list[dict[str, Any]]] = {
    "/api/v1/pairing/wait": [
        {"name": "secret", "in": "query", "required": True,
         "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{32,64}$"}},
        {"name": "timeout", "in": "query", "required": False,
         "schema": {"type": "number", "minimum": 0, "maximum": 30}},
    ],
    "/api/v1/halls/{hall}/events": [
        {"name": "after", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 0, "maximum": 2**62}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
    ],
}
# The performance review's parameters (web/review.py query_params, service/review.py).
_SCOPE_PARAM = {"name": "scope", "in": "query", "required": True, "description": "hall:<id>, street:<id> or district:<id>",
                "schema": {"type": "string", "pattern": "^(hall|street|district):[a-z][a-z0-9_]{0,39}$",
                           "example": "hall:gongshu"}}
_PERIOD_PARAMS = [
    {"name": name, "in": "query", "required": False, "description": f"{name} business day (default today)",
     "schema": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}}
    for name in ("from", "to")
] + [
    {"name": "window", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 9999}},
    {"name": "staff", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 60}},
]
_CUT = "hall, area, service, window, staff, day or hour"
_QUERY["/api/v1/stats"] = [_SCOPE_PARAM, *_PERIOD_PARAMS, {
    "name": "by", "in": "query", "required": False, "description": f"one cut: {_CUT} (default hall)",
    "schema": {"type": "string", "maxLength": 60}}]
_QUERY["/api/v1/stats.csv"] = [_SCOPE_PARAM, *_PERIOD_PARAMS, {
    "name": "by", "in": "query", "required": False, "description": f"one cut: {_CUT} (default hall)",
    "schema": {"type": "string", "maxLength": 60}}]
_QUERY["/api/v1/stats.xlsx"] = [_SCOPE_PARAM, *_PERIOD_PARAMS, {
    "name": "by", "in": "query", "required": False,
    "description": f"cuts separated by commas, one sheet each: {_CUT} (default hall)",
    "schema": {"type": "string", "maxLength": 60, "example": "hall,window,staff"}}]
_QUERY["/api/v1/stats/quality"] = [_SCOPE_PARAM, *_PERIOD_PARAMS[:2]]
_QUERY["/api/v1/reports/monthly.pdf"] = [_SCOPE_PARAM, {
    "name": "month", "in": "query", "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "example": "2026-11"}}]
MAX_BODY_BYTES = 64 * 1024

#: Citizen routes: no token; the path's {id} is the ticket holder's secret (in the link of the
#: ticket's QR code and in the issuing answer's holder_secret), never the ticket's id.
_HOLDER = "the ticket holder: {id} is the holder's secret from the QR code link (holder_secret), not the ticket's id"

#: A complaint's fields as the citizen sends them (the console adds channel, window, staff_id).
_COMPLAINT: dict[str, Any] = {"type": "object", "required": ["category", "content"], "properties": {
    "category": {"type": "string", "enum": ["attitude", "efficiency", "policy", "environment", "other"]},
    "content": {"type": "string"},
    "contact_phone": {"type": "string", "description": "only with consent: true"},
    "consent": {"type": "boolean"}}}

# (method, path, summary, auth, request body schema or None, success status)
_OPERATIONS: list[tuple[str, str, str, str, dict[str, Any] | None, int]] = [
    ("get", "/healthz", "Liveness", "public", None, 200),
    ("get", "/readyz", "Readiness: database reachable and schema current", "public", None, 200),
    ("get", "/api/v1/halls", "Halls with areas, services and windows", "public", None, 200),
    ("get", "/api/v1/halls/{hall}/queue", "Live snapshot of a hall", "public", None, 200),
    ("post", "/api/v1/halls/{hall}/tickets", "Issue a ticket (取号)", "kiosk or staff of the hall",
     {"type": "object", "required": ["service"], "properties": {
         "service": {"type": "string", "example": "A"},
         "priority": {"type": ["string", "null"], "example": None},
         "priority_reason": {"type": ["string", "null"]},
         "channel": {"type": "string", "enum": ["kiosk", "staff", "phone", "guide", "online"]}}}, 201),
    ("get", "/api/v1/tickets/{id}", "Public status of one ticket", _HOLDER, None, 200),
    ("post", "/api/v1/tickets/{id}/cancel", "The citizen cancels their waiting ticket", _HOLDER, None, 200),
    ("get", "/api/v1/halls/{hall}/tickets/{number}", "One of today's tickets by number, with the desk actions its state allows",
     "staff of the hall", None, 200),
    ("post", "/api/v1/halls/{hall}/tickets/{number}/restore", "Restore a missed or suspended ticket", "staff of the hall",
     {"type": "object", "properties": {"reason": {"type": "string"}}}, 200),
    ("post", "/api/v1/halls/{hall}/tickets/{number}/cancel", "Cancel a ticket", "staff of the hall",
     {"type": "object", "properties": {"reason": {"type": "string"}}}, 200),
    ("get", "/api/v1/halls/{hall}/events", "Ledger rows after a sequence number (?after=SEQ&limit=N)", "staff of the hall", None, 200),
    ("get", "/api/v1/halls/{hall}/notices", "The hall notices with their times, phases and version", "staff of the hall",
     None, 200),
    ("post", "/api/v1/halls/{hall}/notices",
     "Replace the hall notices (taboo-checked) as of `version` (409 when stale); times without an offset are the hall's",
     "manager of the hall",
     {"type": "object", "required": ["notices"], "properties": {
         "notices": {"type": "array", "items": {"type": "object", "required": ["text"], "properties": {
             "text": {"type": "string", "maxLength": 200},
             "starts_at": {"type": ["string", "null"], "example": "2026-12-06T09:00"},
             "ends_at": {"type": ["string", "null"], "example": "2026-12-06T17:00:00+08:00"}}}},
         "version": {"type": "integer"}}}, 200),
    ("post", "/api/v1/auth/login", "Sign in with staff number and password", "public",
     {"type": "object", "required": ["staff_id", "password"], "properties": {
         "staff_id": {"type": "string"}, "password": {"type": "string"}}}, 200),
    ("post", "/api/v1/auth/logout", "Revoke this bearer token", "staff", None, 200),
    ("get", "/api/v1/auth/me", "Who this token belongs to", "any token", None, 200),
    ("get", "/api/v1/openapi.json", "This description", "public", None, 200),
    ("post", "/api/v1/halls/{hall}/appointments", "Book an appointment slot; answers its 6-digit code", "staff of the hall",
     {"type": "object", "required": ["service", "slot_start", "slot_end"], "properties": {
         "service": {"type": "string"}, "slot_start": {"type": "string", "format": "date-time"},
         "slot_end": {"type": "string", "format": "date-time"}}}, 201),
    ("post", "/api/v1/halls/{hall}/appointments/{code}/check-in", "Check in by code: issues an appointment-priority ticket", "kiosk or staff of the hall", None, 201),
    ("get", "/api/v1/ratings/form", "Levels, dimensions and reason labels of the rating form", "public", None, 200),
    ("post", "/api/v1/tickets/{id}/rating", "The citizen rates a finished service (once, within the time window)", _HOLDER + "; staff tokens are refused",
     {"type": "object", "required": ["level"], "properties": {
         "level": {"type": "string", "enum": ["very_satisfied", "satisfied", "basically_satisfied", "dissatisfied", "very_dissatisfied"]},
         "dimensions": {"type": "object"}, "labels": {"type": "array", "items": {"type": "string"}}}}, 201),
    ("post", "/api/v1/halls/{hall}/windows/{window}/rating", "The counter tablet submits a rating", "evaluator device of that window",
     {"type": "object", "required": ["number", "level"], "properties": {"number": {"type": "string"}, "level": {"type": "string"}}}, 201),
    ("get", "/api/v1/halls/{hall}/windows/{window}/rating-prompt", "The ticket the tablet should ask about, if any", "evaluator device of that window", None, 200),
    ("post", "/api/v1/tickets/{id}/follow-up-rating", "The citizen's one follow-up rating after a bad rating", _HOLDER,
     {"type": "object", "required": ["level"], "properties": {"level": {"type": "string"}}}, 201),
    ("get", "/api/v1/halls/{hall}/follow-ups", "Follow-ups of bad ratings (?status=&overdue=1)", "manager of the hall", None, 200),
    ("post", "/api/v1/halls/{hall}/follow-ups/{id}",
     "Record a call-back (method and result required), a rectification (measures required) or the closing, in that order",
     "manager of the hall",
     {"type": "object", "required": ["action"], "properties": {
         "action": {"type": "string", "enum": ["call_back", "rectify", "close"]},
         "method": {"type": "string", "enum": ["phone", "sms", "visit", "on_site"]},
         "result": {"type": "string"}, "measures": {"type": "string"}, "note": {"type": "string"}}}, 200),
    ("get", "/api/v1/halls/{hall}/improvements", "Improvement actions (整改), most urgent first (?state=open|done|verified&overdue=1); a clerk sees those they own",
     "staff of the hall", None, 200),
    ("post", "/api/v1/halls/{hall}/improvements", "Open an improvement action from a follow-up, complaint, survey finding or inspection", "manager of the hall",
     {"type": "object", "required": ["problem", "measure", "owner", "due"], "properties": {
         "source_kind": {"type": "string", "enum": ["follow_up", "complaint", "survey", "inspection"]},
         "source_id": {"type": "string"}, "problem": {"type": "string"}, "cause": {"type": "string"},
         "measure": {"type": "string"}, "owner": {"type": "string", "description": "staff number"},
         "due": {"type": "string", "format": "date"}}}, 201),
    ("post", "/api/v1/halls/{hall}/improvements/{id}/done", "Report an improvement action carried out, with the evidence", "staff of the hall: its owner, or a manager",
     {"type": "object", "required": ["evidence"], "properties": {"evidence": {"type": "string"}}}, 200),
    ("post", "/api/v1/halls/{hall}/improvements/{id}/verify", "Verify an action reported done (not by its owner)", "manager of the hall",
     {"type": "object", "properties": {"note": {"type": "string"}}}, 200),
    ("post", "/api/v1/halls/{hall}/improvements/{id}/reopen", "Send an action back to be worked on again, with the reason", "manager of the hall",
     {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}, 200),
    # 投诉: intake from the phone page of a visit, the hall's poster page and the console; the flow.
    ("post", "/api/v1/tickets/{id}/complaint", "A complaint from the phone page of a visit (linked to its ticket, window "
     "and staff member); answers the private status link", _HOLDER + "; staff tokens are refused", _COMPLAINT, 201),
    ("post", "/api/v1/complaint-box/{hall}", "A complaint from the hall's poster page (no ticket needed); answers the "
     "private status link", "public (citizens); staff tokens are refused", _COMPLAINT, 201),
    ("get", "/api/v1/complaints/{id}", "The complainant's view of their complaint",
     "the complainant: {id} is the secret of the private status link", None, 200),
    ("post", "/api/v1/complaints/{id}/rating", "The complainant rates the handling once (满意 / 不满意), after the answer",
     "the complainant: {id} is the secret of the private status link; staff tokens are refused",
     {"type": "object", "required": ["rating"], "properties": {
         "rating": {"type": "string", "enum": ["satisfied", "dissatisfied"]}}}, 201),
    ("get", "/api/v1/halls/{hall}/complaints", "Complaints (?state=&overdue=1): managers all, the contact whole only for "
     "the complaint's owner; a clerk those naming them once accepted and those assigned to them",
     "staff of the hall; a street or district office's manager: the halls of the region, to read (read_only)", None, 200),
    ("post", "/api/v1/halls/{hall}/complaints", "Record a complaint taken by phone or in person", "manager of the hall",
     {**_COMPLAINT, "required": ["channel", "category", "content"], "properties": {
         **_COMPLAINT["properties"], "channel": {"type": "string", "enum": ["phone", "in_person"]},
         "window": {"type": "integer"}, "staff_id": {"type": "string"}}}, 201),
    ("post", "/api/v1/halls/{hall}/complaints/{id}/accept", "Accept a received complaint (the accepting manager owns it)",
     "manager of the hall", {"type": "object", "properties": {"note": {"type": "string"}}}, 200),
    ("post", "/api/v1/halls/{hall}/complaints/{id}/decline", "Decline a received complaint, with the reason",
     "manager of the hall", {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}, 200),
    ("post", "/api/v1/halls/{hall}/complaints/{id}/assign", "Assign an accepted complaint to an investigator",
     "manager of the hall", {"type": "object", "required": ["assignee"], "properties": {
         "assignee": {"type": "string", "description": "staff number"}}}, 200),
    ("post", "/api/v1/halls/{hall}/complaints/{id}/resolve", "Record the findings and measures",
     "staff of the hall: the investigator, or a manager", {"type": "object", "required": ["findings", "measures"],
     "properties": {"findings": {"type": "string"}, "measures": {"type": "string"}}}, 200),
    ("post", "/api/v1/halls/{hall}/complaints/{id}/reply", "Record the answer to the complainant: how and when",
     "manager of the hall", {"type": "object", "required": ["how"], "properties": {
         "how": {"type": "string", "enum": ["phone", "sms", "in_person", "letter"]},
         "replied_at": {"type": "string", "format": "date-time"}, "answer": {"type": "string"}}}, 200),
    ("post", "/api/v1/halls/{hall}/complaints/{id}/archive", "Archive an answered complaint", "manager of the hall",
     {"type": "object", "properties": {"note": {"type": "string"}}}, 200),
    ("get", "/api/v1/halls/{hall}/survey-campaigns", "Satisfaction survey campaigns (满意度调查) of the hall, and the questionnaires of config a campaign may run",
     "manager of the hall", None, 200),
    ("post", "/api/v1/halls/{hall}/survey-campaigns", "Start a survey campaign: a questionnaire, its days and the sample rule (every Nth finished visit; 1: everyone)",
     "manager of the hall", {"type": "object", "required": ["questionnaire", "starts", "ends"], "properties": {
         "questionnaire": {"type": "string"}, "starts": {"type": "string", "format": "date"},
         "ends": {"type": "string", "format": "date"}, "every": {"type": "integer", "minimum": 1, "maximum": 1000}}}, 201),
    ("post", "/api/v1/halls/{hall}/survey-campaigns/{id}/end", "End a survey campaign early (visits sampled before may still answer)",
     "manager of the hall", {"type": "object"}, 200),
    ("get", "/api/v1/halls/{hall}/survey-results", "A campaign's results: per question, per service, per day, the latest text answers (?campaign=&service=&from=&to=)",
     "manager of the hall", None, 200),
    ("get", "/api/v1/halls/{hall}/survey-results.csv", "The results as CSV (UTF-8 with BOM), same parameters", "manager of the hall", None, 200),
    ("get", "/api/v1/halls/{hall}/survey-results.xlsx", "The results as XLSX, same parameters", "manager of the hall", None, 200),
    ("get", "/api/v1/tickets/{id}/survey", "The satisfaction survey of a sampled visit ({\"survey\": null} if none)", _HOLDER + "; staff tokens are refused", None, 200),
    ("post", "/api/v1/tickets/{id}/survey", "Answer the visit's survey once, anonymously", _HOLDER + "; staff tokens are refused",
     {"type": "object", "required": ["answers"], "properties": {"answers": {"type": "object", "description": "question id → 1–5 (scale), an option (choice) or text"}}}, 201),
    ("get", "/api/v1/halls/{hall}/windows/{window}/survey", "The survey of a visit the tablet's window finished today (?number=A001), if sampled", "evaluator device of that window", None, 200),
    ("post", "/api/v1/halls/{hall}/windows/{window}/survey", "Answer a sampled visit's survey on the counter tablet", "evaluator device of that window",
     {"type": "object", "required": ["number", "answers"], "properties": {"number": {"type": "string"}, "answers": {"type": "object"}}}, 201),
    ("get", "/api/v1/halls/{hall}/windows/{window}/queue", "The clerk's view of a window: current, waiting in call order, missed, suspended", "staff of the hall", None, 200),
    ("get", "/api/v1/halls/{hall}/kiosk", "What a kiosk shows: hours, services, its printer's state", "kiosk or staff of the hall", None, 200),
    ("get", "/api/v1/print-jobs/{id}", "One print job's state (pending, printed, expired, cancelled); never the ticket's content", "kiosk of the job, its printer or staff of the hall", None, 200),
    ("post", "/api/v1/halls/{hall}/tickets/{number}/reprint", "Print a ticket again on a kiosk's printer", "staff of the hall",
     {"type": "object", "required": ["kiosk"], "properties": {"kiosk": {"type": "string", "example": "K01"}}}, 201),
    ("get", "/api/v1/tickets/{id}/qr.svg", "The QR code of the ticket's status page, for screens", _HOLDER, None, 200),
    ("get", "/api/v1/tickets/{id}/preview.png", "The paper ticket as a PNG, from the printer's own layout (?paper=58|80)", _HOLDER, None, 200),
    ("get", "/api/v1/halls/{hall}/announcements/{seq}.wav",
     "A call announcement rendered offline (espeak-ng, Mandarin) for screens without a voice",
     "display, kiosk, evaluator or staff token of the hall (?token= or bearer)", None, 200),
    ("get", "/api/v1/halls/{hall}/device-check",
     "Whether a device page may connect (?window=N): 200, or 404 no such hall/window, 401 pair again, "
     "403 another hall's token, 503 cannot check — what a screen asks when its websocket will not open",
     "display, kiosk, evaluator or staff token of the hall (?token= or bearer)", None, 200),
    ("get", "/api/v1/stats", "Performance figures (服务绩效) of a scope and period, cut by hall, area, service, window, "
     "staff, day or hour, with a total row", "staff: managers their hall or region, a clerk only their own figures",
     None, 200),
    ("get", "/api/v1/stats/quality", "Service quality of a scope and period by hall, street and in total: complaints "
     "per 1,000 visits, accepted and replied on time, complainant satisfaction, survey score, improvement actions "
     "open and overdue", "manager or admin of the scope", None, 200),
    ("get", "/api/v1/stats/scopes", "The scopes the signed-in staff member may review", "staff", None, 200),
    ("get", "/api/v1/stats.csv", "Performance figures of one cut as CSV (UTF-8 with BOM, rates as fractions)",
     "staff: as GET /api/v1/stats (a clerk sees only their own figures)", None, 200),
    ("get", "/api/v1/stats.xlsx", "Performance figures as a workbook: one sheet per cut, plus the handling outliers",
     "staff: as GET /api/v1/stats (a clerk sees only their own figures)", None, 200),
    ("get", "/api/v1/reports/monthly.pdf",
     "The monthly performance report to sign (figures by hall, window and staff; bad ratings and their "
     "follow-up; ledger anchors)", "staff: as GET /api/v1/stats (a clerk sees only their own figures)", None, 200),
    ("get", "/api/v1/monitor/halls", "The halls the signed-in manager may watch on 大厅监控, and acknowledge alerts of",
     "manager or admin (a region manager: the halls of the region)", None, 200),
    ("get", "/api/v1/halls/{hall}/monitor", "The hall as 大厅监控 shows it: windows, waits against their thresholds, "
     "devices, today's figures, alerts (live: websocket /ws/v1/monitor)", "manager of the hall or its region, admin", None, 200),
    ("get", "/api/v1/halls/{hall}/alerts", "The hall's open alerts and those cleared today", "manager of the hall", None, 200),
    ("post", "/api/v1/halls/{hall}/alerts/{id}/acknowledge", "A manager acknowledges an alert (twice is once; a bad "
     "rating's alert ends with it)", "manager of the hall", None, 200),
    ("post", "/api/v1/pairing", "A device without a token asks for a 6-digit pairing code (valid 10 minutes, used once) "
     "and its secret; rate limited per address", "none: the device shows the code, a manager enters it",
     {"type": "object", "properties": {"kind": {"type": "string", "enum": list(PAIRING_KINDS)}}}, 201),
    ("get", "/api/v1/pairing/wait", "Long poll (up to ?timeout= seconds, at most 30) until the code is paired: "
     "state waiting, paired (with the device's token and page), expired or revoked",
     "none: the device's secret (?secret=) is the credential", None, 200),
    ("get", "/api/v1/halls/{hall}/devices", "The hall's devices: kind, name, window or kiosk, created, last seen, revoked",
     "manager of the hall", None, 200),
    ("post", "/api/v1/halls/{hall}/devices", "Pair the device showing `code`: its name, role and window or kiosk",
     "manager of the hall", {"type": "object", "required": ["code", "name"], "properties": {
         "code": {"type": "string", "pattern": "^[0-9]{6}$", "example": "042917"}, "name": {"type": "string"},
         "role": {"type": "string", "enum": ["kiosk", "display", "printer", "evaluator"]},
         "window": {"type": "integer"}, "kiosk": {"type": "string"}}}, 201),
    ("post", "/api/v1/halls/{hall}/devices/{id}/rename", "Rename a device", "manager of the hall",
     {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}, 200),
    ("post", "/api/v1/halls/{hall}/devices/{id}/move", "Bind a device to another window (tablet, window screen) or "
     "kiosk (printer)", "manager of the hall",
     {"type": "object", "properties": {"window": {"type": "integer"}, "kiosk": {"type": "string"}}}, 200),
    ("post", "/api/v1/halls/{hall}/devices/{id}/revoke", "Revoke a device: its token stops working and its open "
     "sockets close (code 4003); its page shows the pairing screen", "manager of the hall", None, 200),
    # 人员管理 (service/staff.py): a manager manages the accounts of their hall or region, never a
    # role above their own; an admin of every hall manages all; a clerk none.
    ("get", "/api/v1/staff", "The staff accounts in the caller's scope, and the halls, regions and roles they may give",
     "manager or admin", None, 200),
    ("post", "/api/v1/staff", "Add a staff account; the answer shows its one-time password once", "manager or admin",
     {"type": "object", "required": ["id", "name"], "properties": {
         "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$", "description": "staff number (工号)"},
         "name": {"type": "string"}, "role": {"type": "string", "enum": ["staff", "manager", "admin"]},
         "hall": {"type": "string"}, "region": {"type": "string"}}}, 201),
    ("get", "/api/v1/staff/{staff}", "One staff account with its history (who changed what, when)", "manager or admin",
     None, 200),
    ("post", "/api/v1/staff/{staff}/edit", "Change an account's name, role, hall or region (only the fields given)",
     "manager or admin", {"type": "object", "properties": {
         "name": {"type": "string"}, "role": {"type": "string", "enum": ["staff", "manager", "admin"]},
         "hall": {"type": ["string", "null"]}, "region": {"type": ["string", "null"]}}}, 200),
    ("post", "/api/v1/staff/{staff}/disable", "Disable an account (its sessions end); not one's own, not the last admin",
     "manager or admin", None, 200),
    ("post", "/api/v1/staff/{staff}/enable", "Enable a disabled account", "manager or admin", None, 200),
    ("post", "/api/v1/staff/{staff}/unlock", "Lift the lock of repeated failed sign-ins", "manager or admin", None, 200),
    ("post", "/api/v1/staff/{staff}/reset-password", "A new one-time password, shown once; the holder sets their own "
     "at the next sign-in", "manager or admin", None, 200),
    ("put", "/api/v1/staff/{staff}/photo", "Set an account's photo: the JPEG or PNG itself as the body (checked by its "
     "first bytes, at most 60 KB)", "manager or admin", None, 200),
    ("get", "/api/v1/staff/{staff}/photo", "An account's photo, as the window screens show it", "public", None, 200),
    ("post", "/api/v1/auth/password", "Set one's own password (the old or one-time one, and a new one of 8–128 "
     "characters with letters and digits); the answer carries a new token", "any signed-in staff member, also one "
     "still on a one-time password",
     {"type": "object", "required": ["old_password", "new_password"], "properties": {
         "old_password": {"type": "string"}, "new_password": {"type": "string"}}}, 200),
]

_ACTION_BODIES: dict[str, dict[str, Any]] = {
    "open": {"type": "object", "properties": {"stand_in_for": {"type": "string"}}},
    "pause": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "example": "午休"}}},
    "call": {"type": "object", "required": ["number", "reason"], "properties": {
        "number": {"type": "string", "example": "A023"}, "reason": {"type": "string"}}},
    "transfer": {"type": "object", "required": ["reason"], "properties": {
        "service": {"type": "string"}, "window": {"type": "integer"}, "reason": {"type": "string"}}},
    "suspend": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
    "message": {"type": "object", "properties": {"text": {"type": ["string", "null"]}}},
}


def build(halls: list[str] | None = None) -> dict[str, Any]:
    """The document; with `halls`, the {hall} parameter lists this server's halls."""
    ops = list(_OPERATIONS)
    for action in WINDOW_ACTIONS:
        summary = f"Window action: {action}" + (" (an empty queue answers {\"ticket\": null})" if action == "call-next" else "")
        ops.append(("post", f"/api/v1/halls/{{hall}}/windows/{{window}}/{action}", summary,
                    "staff of the hall", _ACTION_BODIES.get(action), 200))
    paths: dict[str, Any] = {}
    for method, path, summary, auth, body, status in ops:
        params = [
            {"name": name, "in": "path", "required": True,
             "schema": dict(_PATH_SCHEMAS.get(name, {"type": "string"}))}
            for name in ("hall", "window", "number", "id", "seq", "code", "staff") if "{" + name + "}" in path
        ]
        if halls and params and params[0]["name"] == "hall":
            params[0]["schema"] = {"type": "string", "enum": list(halls)}
        params.extend(_QUERY.get(path, []))
        if path.startswith("/api/v1/tickets/{id}"):
            params[0]["description"] = "the ticket holder's secret (holder_secret), not the ticket's id"
        if method == "post" and path.startswith(("/api/v1/halls", "/api/v1/staff", "/api/v1/auth/password")):
            params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
                           "description": "a retry with the same key returns the first result and changes nothing"})
        op: dict[str, Any] = {
            "summary": summary,
            "description": f"Authorisation: {auth}.",
            "parameters": params,
            "responses": {str(status): {"description": "OK", "content": _success_content(path)}, **_ERRORS},
        }
        if auth.startswith(_TOKEN_ROUTES):
            op["security"] = [{"bearer": []}]
        if body is not None:
            op["requestBody"] = {
                "required": False,
                "description": f"application/json only (else 415), at most {MAX_BODY_BYTES} bytes "
                               f"(else 413), nested at most {MAX_JSON_DEPTH} levels",
                "content": {"application/json": {"schema": _with_limits(body)}}}
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "hall-queue API", "version": "1", "description": "政务服务大厅排队叫号 API v1"},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Problem": {"description": "RFC 9457 problem details", "content": {
                "application/problem+json": {"schema": {"type": "object", "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "code": {"type": "string", "enum": sorted(CODES)},
                    "detail": {"type": "string"}, "field": {"type": "string"}}}}}}},
        },
    }


def _success_content(path: str) -> dict[str, Any]:
    if path == "/api/v1/staff/{staff}/photo":
        return {kind: {"schema": {"type": "string", "format": "binary"}} for kind in ("image/jpeg", "image/png")}
    media = _MEDIA.get(path)
    if media is not None:
        return {media: {"schema": {"type": "string", "format": "binary"}}}
    return {"application/json": {"schema": {"type": "object"}}}


def _with_limits(schema: dict[str, Any], name: str = "") -> dict[str, Any]:
    """The body schema with the limits the server enforces: each text field's length from
    domain.text's one table, whole numbers bounded as the server parses them."""
    out = dict(schema)
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "string" in kinds and name and "enum" not in schema and "format" not in schema and "maxLength" not in schema:
        out["maxLength"] = rule_for(name).limit
    if "integer" in kinds:
        out.setdefault("minimum", 0)
        out.setdefault("maximum", 9999)
    if "properties" in schema:
        out["properties"] = {k: _with_limits(v, k) for k, v in schema["properties"].items()}
    if "items" in schema:
        out["items"] = _with_limits(schema["items"], name)
        if name == "notices":
            out["maxItems"] = 20
    return out


async def handler(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(build(list(request.app[CONFIG].halls))),
                        content_type="application/json", charset="utf-8")
