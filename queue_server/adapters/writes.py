"""The SQL of the typed writes a command adds to its hall's transaction (service/writes.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from ..service.writes import (
    AlertInsert,
    AlertUpdate,
    AppointmentCheckIn,
    ComplaintContactErased,
    ComplaintInsert,
    ComplaintRated,
    ComplaintUpdate,
    DeviceInsert,
    DeviceRevoke,
    DeviceUpdate,
    FollowUpInsert,
    FollowUpUpdate,
    ImprovementInsert,
    ImprovementUpdate,
    PairingDone,
    PrintJobInsert,
    RatingInsert,
    SurveyAnswerInsert,
    SurveyCampaignEnd,
    SurveyCampaignInsert,
    SurveyDraw,
    Write,
)
from .printing import INSERT_JOB
from .ratings import INSERT_FOLLOW_UP, INSERT_RATING
from .surveys import ANSWER, DRAW

#: A complaint's own text once its contact is erased: the phone numbers (mobile, with or without
#: spaces; landline with area code) and ID card numbers a complainant typed into it are
#: replaced too, so nothing that reaches a person outlives the retention period. (The ledger
#: never carries the text.)
_ID_NUMBER = r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])"
_PHONE = r"(?<![0-9])(1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}|0[0-9]{2,3}-?[0-9]{7,8})(?![0-9])"
_MASKED_CONTENT = (f"regexp_replace(regexp_replace(content, '{_ID_NUMBER}', '[证件号已清除]', 'g'),"
                   f" '{_PHONE}', '[电话已清除]', 'g')")

_FOLLOW_UP_COLUMNS = {"called_back": "called_back_at", "rectified": "rectified_at", "closed": "closed_at"}


def statement(w: Write) -> tuple[str, tuple[Any, ...]]:
    """The SQL and arguments of one write."""
    if isinstance(w, PrintJobInsert):
        return INSERT_JOB, (w.job_id, w.hall, w.kiosk, w.ticket_id, w.content, w.created_at, w.reprint_of)
    if isinstance(w, AppointmentCheckIn):
        return (
            "UPDATE appointments SET status = 'checked_in', ticket_id = $2, checked_in_at = $3 WHERE id = $1",
            (w.appointment_id, w.ticket_id, w.at),
        )
    if isinstance(w, RatingInsert):
        return INSERT_RATING, (w.ticket_id, w.hall, w.window, w.staff_id, w.level, w.dimensions, w.labels,
                               w.channel, w.device, w.rated_at)
    if isinstance(w, FollowUpInsert):
        return INSERT_FOLLOW_UP, (w.follow_up_id, w.hall, w.ticket_id, w.owner, w.callback_due,
                                  w.rectify_due, w.created_at)
    if isinstance(w, FollowUpUpdate):
        column = _FOLLOW_UP_COLUMNS[w.status]
        return (f"UPDATE follow_ups SET status = $2, {column} = $3, notes = $4 WHERE id = $1",
                (w.follow_up_id, w.status, w.at, w.notes))
    if isinstance(w, ImprovementInsert):
        return (
            "INSERT INTO improvements (id, hall, source_kind, source_id, problem, cause, measure, owner, due,"
            " created_by, created_at, steps) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
            (w.improvement_id, w.hall, w.source_kind, w.source_id, w.problem, w.cause, w.measure, w.owner,
             w.due, w.created_by, w.created_at, w.steps),
        )
    if isinstance(w, ImprovementUpdate):
        return (
            "UPDATE improvements SET state = $2, steps = $3, evidence = $4, done_at = $5, verified_by = $6,"
            " verified_at = $7 WHERE id = $1",
            (w.improvement_id, w.state, w.steps, w.evidence, w.done_at, w.verified_by, w.verified_at),
        )
    if isinstance(w, ComplaintInsert):
        return (
            "INSERT INTO complaints (id, hall, secret, channel, category, content, ticket_id, window_no, staff_id,"
            " contact, due, created_by, created_at, steps) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
            (w.complaint_id, w.hall, w.secret, w.channel, w.category, w.content, w.ticket_id, w.window,
             w.staff_id, w.contact, w.due, w.created_by, w.created_at, w.steps),
        )
    if isinstance(w, ComplaintUpdate):
        # Guarded by the state the step was taken from: two steps of one complaint prepared in the
        # same batch both read the old row, and the second must fail (22012, a data exception:
        # the pipeline then runs the batch's halves apart and the second is refused in its state).
        return (
            "WITH done AS (UPDATE complaints SET state = $2, owner = $3, assignee = $4, due = $5,"
            " decline_reason = $6, findings = $7, measures = $8, reply_how = $9, replied_at = $10, answer = $11,"
            " closed_at = $12, steps = $13 WHERE id = $1 AND state = $14 RETURNING 1)"
            " SELECT 1 / count(*)::int FROM done",
            (w.complaint_id, w.state, w.owner, w.assignee, w.due, w.decline_reason, w.findings, w.measures,
             w.reply_how, w.replied_at, w.answer, w.closed_at, w.steps, w.expected_state),
        )
    if isinstance(w, ComplaintRated):
        return ("WITH done AS (UPDATE complaints SET rating = $2, rated_at = $3 WHERE id = $1 AND rating IS NULL"
                " RETURNING 1) SELECT 1 / count(*)::int FROM done",
                (w.complaint_id, w.rating, w.rated_at))
    if isinstance(w, ComplaintContactErased):
        return (f"UPDATE complaints SET contact = NULL, contact_erased_at = $2, content = {_MASKED_CONTENT}"
                " WHERE id = $1", (w.complaint_id, w.at))
    if isinstance(w, SurveyDraw):
        return DRAW, (w.hall, w.ticket_id, w.day)
    if isinstance(w, SurveyCampaignInsert):
        return (
            "INSERT INTO survey_campaigns (id, hall, questionnaire, title, questions, starts, ends, every,"
            " created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            (w.campaign_id, w.hall, w.questionnaire, w.title, w.questions, w.starts, w.ends, w.every,
             w.created_by, w.created_at),
        )
    if isinstance(w, SurveyCampaignEnd):
        return ("UPDATE survey_campaigns SET state = 'ended', ended_by = $2, ended_at = $3"
                " WHERE id = $1 AND state = 'running'", (w.campaign_id, w.ended_by, w.ended_at))
    if isinstance(w, SurveyAnswerInsert):
        return ANSWER, (w.answer_id, w.ticket_id, w.hall, w.service, w.day, w.channel, w.answers)
    if isinstance(w, AlertInsert):
        return (
            "INSERT INTO alerts (id, hall, key, kind, severity, since, raised_at, window_no, service, subject,"
            " detail) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
            (w.alert_id, w.hall, w.key, w.kind, w.severity, w.since, w.raised_at, w.window, w.service,
             w.subject, w.detail),
        )
    if isinstance(w, AlertUpdate):
        if w.action == "escalated":
            return ("UPDATE alerts SET severity = $2, escalated_at = $3, detail = $4 WHERE id = $1",
                    (w.alert_id, w.severity, w.at, w.detail or {}))
        if w.action == "acknowledged":
            return ("UPDATE alerts SET acked_at = $2, acked_by = $3, acked_by_name = $4 WHERE id = $1",
                    (w.alert_id, w.at, w.by, w.by_name))
        return "UPDATE alerts SET cleared_at = $2 WHERE id = $1", (w.alert_id, w.at)
    if isinstance(w, DeviceInsert):
        return (
            "INSERT INTO devices (id, hall, role, kind, name, token_hash, window_no, kiosk, created_at, created_by)"
            " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
            (w.device_id, w.hall, w.role, w.kind, w.name, w.token_hash, w.window, w.kiosk, w.created_at,
             w.created_by),
        )
    if isinstance(w, PairingDone):
        return ("UPDATE pairings SET live = false, paired_at = $3, device_id = $2 WHERE token_hash = $1",
                (w.token_hash, w.device_id, w.at))
    if isinstance(w, DeviceUpdate):
        return ("UPDATE devices SET name = $2, window_no = $3, kiosk = $4 WHERE id = $1",
                (w.device_id, w.name, w.window, w.kiosk))
    if isinstance(w, DeviceRevoke):
        return ("UPDATE devices SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL",
                (w.device_id, w.at, w.by))
    raise TypeError(f"no SQL for {type(w).__name__}")


async def apply_writes(conn: asyncpg.Connection, writes: Sequence[Write]) -> None:
    """Execute the writes in order, one statement each (as many round trips as before)."""
    for w in writes:
        sql, args = statement(w)
        await conn.execute(sql, *args)
