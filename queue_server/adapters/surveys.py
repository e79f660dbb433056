"""PostgreSQL storage of satisfaction surveys (满意度调查): campaigns, invitations, answers."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from .rows import fetch_dict, fetch_dicts

# The hall's running campaign of the day (the earliest, should two ever overlap) counts the
# finish; the count a multiple of `every` invites the visit. One statement: atomic.
DRAW = (
    "WITH c AS ("
    " UPDATE survey_campaigns SET finished_count = finished_count + 1,"
    "  sampled_count = sampled_count + CASE WHEN (finished_count + 1) % every = 0 THEN 1 ELSE 0 END"
    " WHERE id = (SELECT id FROM survey_campaigns WHERE hall = $1 AND state = 'running'"
    "  AND starts <= $3 AND ends >= $3 ORDER BY created_at, id LIMIT 1)"
    " RETURNING id, finished_count, every)"
    " INSERT INTO survey_invitations (ticket_id, campaign)"
    " SELECT $2, c.id FROM c WHERE c.finished_count % c.every = 0"
    " ON CONFLICT (ticket_id) DO NOTHING"
)
# Marks the invitation answered and stores the answer in one statement: a second answer for the
# same visit stores nothing, whatever raced it.
ANSWER = (
    "WITH i AS (UPDATE survey_invitations SET answered = true WHERE ticket_id = $2 AND NOT answered"
    " RETURNING campaign)"
    " INSERT INTO survey_answers (id, campaign, hall, service, day, channel, answers)"
    " SELECT $1, i.campaign, $3, $4, $5, $6, $7 FROM i"
)


async def campaign(conn: asyncpg.Connection, campaign_id: str) -> dict[str, Any] | None:
    return await fetch_dict(conn, "SELECT * FROM survey_campaigns WHERE id = $1", campaign_id)


async def campaigns(conn: asyncpg.Connection, hall: str) -> list[dict[str, Any]]:
    return await fetch_dicts(
        conn,
        "SELECT c.*, (SELECT count(*) FROM survey_answers a WHERE a.campaign = c.id) AS answered_count"
        " FROM survey_campaigns c WHERE c.hall = $1 ORDER BY c.starts DESC, c.created_at DESC LIMIT 200",
        hall,
    )


async def overlapping(conn: asyncpg.Connection, hall: str, starts: date, ends: date) -> dict[str, Any] | None:
    """A running campaign of the hall whose days meet [starts, ends]."""
    return await fetch_dict(
        conn,
        "SELECT * FROM survey_campaigns WHERE hall = $1 AND state = 'running' AND starts <= $3 AND ends >= $2"
        " ORDER BY starts LIMIT 1",
        hall, starts, ends,
    )


async def invitation(conn: asyncpg.Connection, ticket_id: str) -> dict[str, Any] | None:
    """The visit's invitation with its campaign and the visit's hall, service, day and finish."""
    return await fetch_dict(
        conn,
        "SELECT i.ticket_id, i.answered, c.id AS campaign, c.title, c.questionnaire, c.questions,"
        " t.hall, t.service, t.business_day, t.finished_at, t.window_no"
        " FROM survey_invitations i JOIN survey_campaigns c ON c.id = i.campaign"
        " JOIN tickets t ON t.id = i.ticket_id WHERE i.ticket_id = $1",
        ticket_id,
    )


async def answers(
    conn: asyncpg.Connection, campaign_id: str, service: str | None, first: date | None, last: date | None,
) -> list[dict[str, Any]]:
    return await fetch_dicts(
        conn,
        "SELECT service, day, channel, answers FROM survey_answers WHERE campaign = $1"
        " AND ($2::text IS NULL OR service = $2) AND ($3::date IS NULL OR day >= $3)"
        " AND ($4::date IS NULL OR day <= $4) ORDER BY day, id",
        campaign_id, service, first, last,
    )


async def sampled(
    conn: asyncpg.Connection, campaign_id: str, service: str | None, first: date | None, last: date | None,
) -> int:
    """Visits the campaign invited (within the filters): the denominator of the response rate."""
    return int(await conn.fetchval(
        "SELECT count(*) FROM survey_invitations i JOIN tickets t ON t.id = i.ticket_id WHERE i.campaign = $1"
        " AND ($2::text IS NULL OR t.service = $2) AND ($3::date IS NULL OR t.business_day >= $3)"
        " AND ($4::date IS NULL OR t.business_day <= $4)",
        campaign_id, service, first, last,
    ))


async def window_invitation(
    conn: asyncpg.Connection, hall: str, window: int, ticket_number: tuple[str, int], day: date,
) -> dict[str, Any] | None:
    """The invitation of a visit finished at the window, found by its number of the day."""
    return await fetch_dict(
        conn,
        "SELECT t.id FROM tickets t JOIN survey_invitations i ON i.ticket_id = t.id"
        " WHERE t.hall = $1 AND t.window_no = $2 AND t.prefix = $3 AND t.seq = $4 AND t.business_day = $5",
        hall, window, ticket_number[0], ticket_number[1], day,
    )


class PostgresSurveyStore:
    """The service's SurveyStore port (service/ports.py) on PostgreSQL."""

    campaign = staticmethod(campaign)
    campaigns = staticmethod(campaigns)
    overlapping = staticmethod(overlapping)
    invitation = staticmethod(invitation)
    answers = staticmethod(answers)
    sampled = staticmethod(sampled)
    window_invitation = staticmethod(window_invitation)
