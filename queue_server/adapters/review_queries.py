"""The performance-review figures in SQL: sums per key over the projection (adapters/stats.py).

Each function answers additive sums (domain/review.py `Sums`) per key of the asked cut plus a
total row (key None, from GROUPING SETS: the total is recomputed over the visits, never summed
from the rows' rates). Percentiles are PostgreSQL's percentile_disc, the P90 `review.p90` defines.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from ..domain.review import StatsQuery

_VISIT_KEY = {
    "hall": ("v.hall", "v.hall"),
    "area": ("v.hall || '/' || s.area", "v.hall || '/' || s.area"),
    "service": ("v.hall || '/' || v.service", "v.hall || '/' || v.service"),
    "window": ("v.hall || '/' || v.win", "v.hall || '/' || v.call_window"),
    "staff": ("v.staff", "v.call_staff"),
    "day": ("v.business_day::text", "v.business_day::text"),
    "hour": ("to_char(v.issued_at AT TIME ZONE $4, 'HH24')", "to_char(v.issued_at AT TIME ZONE $4, 'HH24')"),
}
_SESSION_KEY = {
    "hall": "ss.hall",
    "area": "ss.hall || '/' || w.area",
    "window": "ss.hall || '/' || ss.window_no",
    "staff": "ss.staff_id",
    "day": "ss.business_day::text",
}

# The services' thresholds and areas, and the windows' areas, as small joined tables.
_SERVICES = "unnest($5::text[], $6::text[], $7::text[], $8::float8[]) AS s(hall, code, area, warn_s)"
_WINDOWS = "unnest($5::text[], $6::int[], $7::text[]) AS w(hall, number, area)"


def _filters(q: StatsQuery, waits: bool) -> tuple[str, list[Any]]:
    """Extra WHERE terms and their arguments (numbered after the 8 common ones)."""
    terms, args = [], []
    if q.window is not None:
        args.append(q.window)
        terms.append(f"{'v.call_window' if waits else 'v.win'} = ${8 + len(args)}")
    if q.staff is not None:
        args.append(q.staff)
        terms.append(f"{'v.call_staff' if waits else 'v.staff'} = ${8 + len(args)}")
    return "".join(f" AND {t}" for t in terms), args


def _service_args(q: StatsQuery) -> list[Any]:
    keys = list(q.warn_s)
    return [[h for h, _ in keys], [c for _, c in keys], [q.service_area.get(k, "") for k in keys],
            [q.warn_s[k] for k in keys]]


def _common(q: StatsQuery) -> list[Any]:
    return [list(q.halls), q.date_from, q.date_to, q.tz.key]


_IN_SCOPE = "v.hall = ANY($1::text[]) AND v.business_day BETWEEN $2 AND $3 AND $4::text IS NOT NULL"


async def visit_sums(conn: asyncpg.Connection, q: StatsQuery) -> list[asyncpg.Record]:
    key = _VISIT_KEY[q.by][0]
    extra, args = _filters(q, waits=False)
    now_arg = 9 + len(args)
    return await conn.fetch(f"""
        SELECT {key} AS key, GROUPING({key}) AS total,
            count(*) AS issued, count(v.finished_at) AS served,
            count(v.handle_s) AS handle_n, coalesce(sum(v.handle_s), 0) AS handle_sum,
            count(*) FILTER (WHERE v.status IN ('missed', 'void')
                             OR (v.status = 'closed' AND v.closed_from = 'missed')) AS no_show,
            count(*) FILTER (WHERE v.status IN ('cancelled', 'void', 'closed')) AS abandoned,
            count(*) FILTER (WHERE v.rating = 1) AS r1, count(*) FILTER (WHERE v.rating = 2) AS r2,
            count(*) FILTER (WHERE v.rating = 3) AS r3, count(*) FILTER (WHERE v.rating = 4) AS r4,
            count(*) FILTER (WHERE v.rating = 5) AS r5,
            count(v.callback_due) AS follow_ups,
            count(*) FILTER (WHERE v.callback_due IS NOT NULL
                             AND (v.called_back_at IS NOT NULL OR v.callback_due <= ${now_arg})) AS callback_due,
            count(*) FILTER (WHERE v.called_back_at <= v.callback_due) AS callback_on_time,
            count(*) FILTER (WHERE v.rectify_due IS NOT NULL
                             AND (v.rectified_at IS NOT NULL OR v.rectify_due <= ${now_arg})) AS rectify_due,
            count(*) FILTER (WHERE v.rectified_at <= v.rectify_due) AS rectify_on_time
        FROM stat_visits v LEFT JOIN {_SERVICES} ON s.hall = v.hall AND s.code = v.service
        WHERE {_IN_SCOPE}{extra}
        GROUP BY GROUPING SETS (({key}), ())""", *_common(q), *_service_args(q), *args, q.now)


async def wait_sums(conn: asyncpg.Connection, q: StatsQuery) -> list[asyncpg.Record]:
    key = _VISIT_KEY[q.by][1]
    extra, args = _filters(q, waits=True)
    return await conn.fetch(f"""
        SELECT {key} AS key, GROUPING({key}) AS total,
            count(*) AS called, sum(v.wait_s) AS wait_sum, max(v.wait_s) AS wait_max,
            percentile_disc(0.9) WITHIN GROUP (ORDER BY v.wait_s) AS wait_p90,
            count(*) FILTER (WHERE v.wait_s > s.warn_s) AS over_threshold
        FROM stat_visits v LEFT JOIN {_SERVICES} ON s.hall = v.hall AND s.code = v.service
        WHERE {_IN_SCOPE} AND v.first_called_at IS NOT NULL{extra}
        GROUP BY GROUPING SETS (({key}), ())""", *_common(q), *_service_args(q), *args)


async def session_sums(conn: asyncpg.Connection, q: StatsQuery) -> list[asyncpg.Record]:
    key = _SESSION_KEY.get(q.by)
    if key is None:
        return []
    terms, args = [], []
    if q.window is not None:
        args.append(q.window)
        terms.append(f"ss.window_no = ${8 + len(args)}")
    if q.staff is not None:
        args.append(q.staff)
        terms.append(f"ss.staff_id = ${8 + len(args)}")
    extra = "".join(f" AND {t}" for t in terms)
    now_arg = 9 + len(args)
    windows = list(q.window_area)
    return await conn.fetch(f"""
        SELECT {key} AS key, GROUPING({key}) AS total, count(*) AS sessions,
            coalesce(sum(greatest(0, extract(epoch FROM least(coalesce(ss.closed_at, ${now_arg}), ss.day_end)
                - ss.opened_at))), 0)::float8 AS open_s,
            coalesce(sum(ss.pause_s + CASE WHEN ss.paused_since IS NULL THEN 0 ELSE greatest(0, extract(epoch FROM
                least(coalesce(ss.closed_at, ${now_arg}), ss.day_end) - ss.paused_since)) END), 0)::float8 AS pause_s,
            coalesce(sum(ss.pause_count), 0)::int AS pause_count
        FROM stat_sessions ss LEFT JOIN {_WINDOWS} ON w.hall = ss.hall AND w.number = ss.window_no
        WHERE ss.hall = ANY($1::text[]) AND ss.business_day BETWEEN $2 AND $3 AND $4::text IS NOT NULL
            AND $8::text IS NULL{extra}
        GROUP BY GROUPING SETS (({key}), ())""",
        *_common(q), [h for h, _ in windows], [n for _, n in windows], [q.window_area[k] for k in windows],
        None, *args, q.now)


async def outliers(conn: asyncpg.Connection, q: StatsQuery) -> list[asyncpg.Record]:
    """Visits handled longer than 3 × their service's median (over the halls and period, without
    the window or staff filter: the service's own median), longest ratio first."""
    key = _VISIT_KEY[q.by][0]
    extra, args = _filters(q, waits=False)
    return await conn.fetch(f"""
        WITH m AS (
            SELECT v.hall, v.service, percentile_cont(0.5) WITHIN GROUP (ORDER BY v.handle_s) AS median_s
            FROM stat_visits v WHERE {_IN_SCOPE} AND v.handle_s IS NOT NULL GROUP BY v.hall, v.service
        )
        SELECT {key} AS key, v.hall, v.business_day, v.number, v.service, v.window_no, v.staff_id,
            v.handle_s, m.median_s
        FROM stat_visits v JOIN m ON m.hall = v.hall AND m.service = v.service
            LEFT JOIN {_SERVICES} ON s.hall = v.hall AND s.code = v.service
        WHERE {_IN_SCOPE} AND m.median_s > 0 AND v.handle_s > 3 * m.median_s{extra}
        ORDER BY v.handle_s / m.median_s DESC, v.business_day, v.number""",
        *_common(q), *_service_args(q), *args)


async def staff_names(conn: asyncpg.Connection, ids: list[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT id, name FROM staff WHERE id = ANY($1::text[])", ids)
    return {r["id"]: r["name"] for r in rows}


#: A year of one hall's waits sorted for its P90 is ~800,000 values: sorted in memory, not on disk.
REPORT_WORK_MEM = "64MB"


async def tune(conn: asyncpg.Connection) -> None:
    """Settings for a report's read-only transaction (SET LOCAL: they end with it)."""
    await conn.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")


class PostgresReviewStore:
    """The service's ReviewStore port (service/ports.py) on PostgreSQL."""

    visit_sums = staticmethod(visit_sums)
    wait_sums = staticmethod(wait_sums)
    session_sums = staticmethod(session_sums)
    outliers = staticmethod(outliers)
    staff_names = staticmethod(staff_names)
    tune = staticmethod(tune)
