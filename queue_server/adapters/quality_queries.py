"""The service quality figures in SQL (domain/quality.py): additive counts per hall of a period.

A period is the business days `first` … `last`; rows stamped with a time are in it when the time
falls in [start, end) (the start of the first business day, the end of the last). Each function
answers {hall: {count name: value}} for the halls that have any; the service adds them up."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg


def _by_hall(rows: list[asyncpg.Record]) -> dict[str, dict[str, Any]]:
    return {r["hall"]: {k: v for k, v in r.items() if k != "hall"} for r in rows}


async def served(conn: asyncpg.Connection, halls: list[str], first: date, last: date) -> dict[str, dict[str, Any]]:
    """Visits served (finished) per hall on the period's business days (the review's 办件量)."""
    return _by_hall(await conn.fetch(
        "SELECT hall, count(finished_at) AS served FROM stat_visits"
        " WHERE hall = ANY($1::text[]) AND business_day BETWEEN $2 AND $3 GROUP BY hall",
        halls, first, last))


async def improvements(conn: asyncpg.Connection, halls: list[str], start: datetime, end: datetime,
                       now: datetime) -> dict[str, dict[str, Any]]:
    """Improvement actions opened in the period: how many, how many not verified yet, and how many
    were not reported done by the end of their due day (still open past it, or done after it)."""
    return _by_hall(await conn.fetch(
        "SELECT hall, count(*) AS improvements,"
        " count(*) FILTER (WHERE state <> 'verified') AS improvements_open,"
        " count(*) FILTER (WHERE (state = 'open' AND due < $4) OR (state <> 'open' AND done_at > due))"
        "   AS improvements_overdue"
        " FROM improvements WHERE hall = ANY($1::text[]) AND created_at >= $2 AND created_at < $3"
        " GROUP BY hall",
        halls, start, end, now))


def _step(actions: str) -> str:
    """The first step of `actions` in a complaint's steps: when it was taken and the deadline it had."""
    return ("(SELECT (s->>'at')::timestamptz AS at, (s->>'due')::timestamptz AS due"
            f" FROM jsonb_array_elements(c.steps) s WHERE s->>'action' IN ({actions}) LIMIT 1)")


_ACCEPTED = _step("'accept', 'decline'")
_REPLIED = _step("'reply'")


async def complaints(conn: asyncpg.Connection, halls: list[str], start: datetime, end: datetime,
                     now: datetime) -> dict[str, dict[str, Any]]:
    """Complaints received in the period: how many; of those whose accept step fell due (or was
    taken), how many were accepted or declined by its deadline; the same for the reply to the
    complainant; and how the complainants rated the handling."""
    return _by_hall(await conn.fetch(
        "SELECT c.hall, count(*) AS complaints,"
        " count(*) FILTER (WHERE acc.at IS NOT NULL OR (c.state = 'received' AND c.due < $4)) AS accept_due,"
        " count(*) FILTER (WHERE acc.at <= acc.due) AS accepted_on_time,"
        " count(*) FILTER (WHERE rep.at IS NOT NULL OR (c.state = 'resolved' AND c.due < $4)) AS reply_due,"
        " count(*) FILTER (WHERE rep.at <= rep.due) AS replied_on_time,"
        " count(c.rating) AS handling_rated,"
        " count(*) FILTER (WHERE c.rating = 'satisfied') AS handling_satisfied"
        f" FROM complaints c LEFT JOIN LATERAL {_ACCEPTED} acc ON true"
        f" LEFT JOIN LATERAL {_REPLIED} rep ON true"
        " WHERE c.hall = ANY($1::text[]) AND c.created_at >= $2 AND c.created_at < $3 GROUP BY c.hall",
        halls, start, end, now))


async def surveys(conn: asyncpg.Connection, halls: list[str], first: date, last: date) -> dict[str, dict[str, Any]]:
    """Questionnaires answered on the period's days, and their scale answers (1–5), each as a
    fraction of its scale (1 → 0, 5 → 1), summed."""
    return _by_hall(await conn.fetch(
        "SELECT a.hall, count(DISTINCT a.id) AS survey_responses, count(v.value) AS survey_answers,"
        " coalesce(sum((v.value - 1) / 4.0), 0)::float8 AS survey_points"
        " FROM survey_answers a JOIN survey_campaigns c ON c.id = a.campaign"
        " LEFT JOIN LATERAL (SELECT (a.answers ->> (q ->> 'id'))::numeric AS value"
        "   FROM jsonb_array_elements(c.questions) q"
        "   WHERE q ->> 'kind' = 'scale' AND jsonb_typeof(a.answers -> (q ->> 'id')) = 'number') v ON true"
        " WHERE a.hall = ANY($1::text[]) AND a.day BETWEEN $2 AND $3 GROUP BY a.hall",
        halls, first, last))


class PostgresQualityStore:
    """The QualityService's store (service/quality.py) on PostgreSQL."""

    served = staticmethod(served)
    improvements = staticmethod(improvements)
    complaints = staticmethod(complaints)
    surveys = staticmethod(surveys)
