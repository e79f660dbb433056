"""Benchmark of the performance review at a year's scale, and of the projection's cost to call-next.

    python bench/review_bench.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        [--days 365] [--volume 8] [--reuse [--name DB]] [--runs 30] [--core-rounds 3] [--core-seconds 5]

1. A year of history for the sample district (config.toml: three halls) is generated with
   `queue-server demo-history` into the database `hq_review_bench` on that server (kept with
   --reuse: generating takes minutes), then its size is printed.
2. Each report is asked `--runs` times of the review service (in process, on a pool of the same
   database; the HTTP layer adds well under a millisecond): p50 / p99 milliseconds.
3. Call-next as bench/core_bench.py measures it (50 windows in one hall, call → start → finish)
   against this version and against the last version without the projection (git commit
   BASE, run from a temporary git worktree), alternating, `--core-rounds` times each: medians and
   the ratio. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import core_bench  # noqa: E402

from queue_server.adapters import store  # noqa: E402
from queue_server.config import load_config  # noqa: E402
from queue_server.main import review_service  # noqa: E402

BASE = "b844535"  # the last commit before the projection (issue 9's end)
DATABASE = "hq_review_bench"
END = date(2026, 11, 30)


def dsn_for(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


async def ensure_history(base: str, days: int, volume: float, reuse: bool, name: str) -> tuple[str, float | None]:
    dsn = dsn_for(base, name)
    conn = await asyncpg.connect(base)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and not reuse:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    if exists:
        return dsn, None
    env = {**os.environ, "QUEUE_DATABASE_URL": dsn}
    cli = [sys.executable, "-m", "queue_server.cli"]
    await asyncio.to_thread(subprocess.run, [*cli, "migrate", "--config", str(ROOT / "config.toml")], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    start = time.perf_counter()
    await asyncio.to_thread(subprocess.run, [*cli, "demo-history", "--config", str(ROOT / "config.toml"), "--days", str(days),
                    "--seed", "1", "--volume", str(volume), "--end", END.isoformat(), "--jobs", "2"],
                   check=True, env=env, cwd=ROOT)
    return dsn, time.perf_counter() - start


async def size(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            "tickets": await conn.fetchval("SELECT count(*) FROM tickets"),
            "ledger rows": await conn.fetchval("SELECT count(*) FROM ledger"),
            "projection visits": await conn.fetchval("SELECT count(*) FROM stat_visits"),
            "window sessions": await conn.fetchval("SELECT count(*) FROM stat_sessions"),
        }
    finally:
        await conn.close()


async def time_reports(dsn: str, runs: int) -> list[tuple[str, int, float, float]]:
    config = load_config(ROOT / "config.toml", env={})
    conn = await asyncpg.connect(dsn)
    try:
        end = await conn.fetchval("SELECT max(business_day) FROM stat_visits")
    finally:
        await conn.close()
    now = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
    last_month_end = end.replace(day=1) - timedelta(days=1)
    pool = await store.create_pool(dsn, min_size=1, max_size=2, command_timeout=60)
    review = review_service(config, pool, lambda: now)
    month = (last_month_end.replace(day=1), last_month_end)  # the last whole month
    year = (end - timedelta(days=364), end)
    cases = [
        ("a month by window, one hall (gongshu)", "hall:gongshu", month, "window"),
        ("a year by service, one hall (gongshu)", "hall:gongshu", year, "service"),
        ("the district by hall, a month", "district:gongshu", month, "hall"),
        ("hour-of-day heat map, the district, a year", "district:gongshu", year, "hour"),
        ("the district by day, a year (daily trend)", "district:gongshu", year, "day"),
    ]
    rows = []
    try:
        for name, scope_text, (first, last), by in cases:
            scope = review.scope(scope_text)
            q = review.query(scope, first, last, by)
            report = await review.report(scope, q)  # warm the cache once
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                await review.report(scope, q)
                times.append((time.perf_counter() - t0) * 1000)
            rows.append((name, report["total"]["issued"], core_bench.pct(times, 50), core_bench.pct(times, 99)))
    finally:
        await pool.close()
    return rows


async def core_rounds(base: str, rounds: int, seconds: float) -> list[tuple[str, list[tuple[float, float, float]]]]:
    """Call-next with the projection (this tree) and without it (BASE), alternating."""
    results: dict[str, list[tuple[float, float, float]]] = {"with projection (this version)": [],
                                                            f"without (commit {BASE})": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        worktree = tmp / "base"
        await asyncio.to_thread(subprocess.run, ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), BASE],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            versions = [("with projection (this version)", None),
                        (f"without (commit {BASE})", {"PYTHONPATH": str(worktree)})]
            for _ in range(rounds):
                for label, env in versions:
                    dsn = await core_bench.fresh_database(base)
                    (row,) = await core_bench.scenario(dsn, tmp, halls=1, windows=50, servers=1,
                                                       seconds=seconds, issue=False, env=env)
                    results[label].append(row[1:])
        finally:
            await asyncio.to_thread(subprocess.run, ["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                                     str(worktree)], check=False)
    return list(results.items())


async def main_async(args: argparse.Namespace) -> None:
    base = args.database_url or os.environ.get("QUEUE_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    dsn, generated = await ensure_history(base, args.days, args.volume, args.reuse, args.name)
    counts = await size(dsn)
    reports = await time_reports(dsn, args.runs)
    core = await core_rounds(base, args.core_rounds, args.core_seconds) if args.core_rounds else []
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          + (f"history: {args.days} days ending {END}, volume {args.volume}, generated in {generated:.0f} s"
             if generated is not None else f"history: database {args.name} (reused)"))
    for name, n in counts.items():
        print(f"  {name:<20} {n:>12,}")
    print()
    print(f"{'report (' + str(args.runs) + ' runs)':<48} {'tickets':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, n, p50, p99 in reports:
        print(f"{name:<48} {n:>10,} {p50:>8.1f} {p99:>8.1f}")
    if core:
        print()
        print(f"{'call-next, 50 windows, 1 hall (medians of ' + str(args.core_rounds) + ')':<48} "
              f"{'calls/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
        medians = {}
        for label, rows in core:
            rate, p50, p99 = (statistics.median(r[i] for r in rows) for i in range(3))
            medians[label] = (rate, p50, p99)
            print(f"{label:<48} {rate:>10.0f} {p50:>8.1f} {p99:>8.1f}")
        (with_rate, with_p50, _), (without_rate, without_p50, _) = medians.values()
        print(f"{'cost of the projection':<48} {without_rate / with_rate - 1:>+10.1%} "
              f"{with_p50 / without_p50 - 1:>+8.1%}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", help="a database on the server to use (default: QUEUE_DATABASE_URL)")
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--volume", type=float, default=8.0, help="demo-history --volume (≥ 1,000,000 tickets a year)")
    p.add_argument("--reuse", action="store_true", help="keep the generated history of an earlier run")
    p.add_argument("--name", default=DATABASE, help="the history's database (with --reuse: an existing one)")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--core-rounds", type=int, default=3)
    p.add_argument("--core-seconds", type=float, default=5.0)
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
