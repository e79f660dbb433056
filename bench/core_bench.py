"""Benchmark of the queue core over HTTP: ticket issuing and call-next, with the raw commit rate.

    python bench/core_bench.py [--database-url URL] [--seconds 5] [--servers 1]

Runs real `queue-server serve` processes against PostgreSQL (the given URL, QUEUE_DATABASE_URL,
or an embedded pgserver in a temporary directory) on a fresh database, drives them from this
process with aiohttp, and prints one table. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queue_server.adapters import accounts  # noqa: E402
from queue_server.config import load_config  # noqa: E402
from queue_server.service.auth import hash_password, new_token, token_hash  # noqa: E402
from tests.support.configs import load_toml  # noqa: E402
from tests.support.hall import prepare_database  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


async def raw_commit_rate(dsn: str, seconds: float, connections: int) -> float:
    """Single-row INSERT commits per second: the physical ceiling of one-commit-per-command."""
    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    await conns[0].execute("CREATE TABLE IF NOT EXISTS bench_commit (id bigserial PRIMARY KEY, at timestamptz)")
    count = 0
    deadline = time.perf_counter() + seconds

    async def loop(c: asyncpg.Connection) -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await c.execute("INSERT INTO bench_commit (at) VALUES (now())")
            count += 1

    start = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in conns))
    elapsed = time.perf_counter() - start
    for c in conns:
        await c.close()
    return count / elapsed


async def make_tokens(dsn: str, halls: list[str], per_hall: int) -> dict[tuple[str, int], str]:
    """One signed-in clerk per window: sessions are written directly (argon2 is not measured)."""
    digest = hash_password("bench-password")
    conn = await asyncpg.connect(dsn)
    tokens = {}
    now = datetime.now(UTC)
    try:
        for hall in halls:
            for w in range(1, per_hall + 1):
                sid = f"{hall}-{w}"
                await accounts.add_staff(conn, staff_id=sid, hall=hall, name=f"员{w}", role="staff", password_hash=digest)
                token = new_token("hqs")
                await accounts.add_session(conn, token_hash(token), sid, now, now + timedelta(hours=4))
                tokens[(hall, w)] = token
    finally:
        await conn.close()
    return tokens


class Client:
    def __init__(self, http: aiohttp.ClientSession, urls: list[str]) -> None:
        self.http = http
        self.urls = urls

    async def post(self, i: int, path: str, token: str, body: dict | None = None) -> tuple[int, dict, float]:
        t0 = time.perf_counter()
        async with self.http.post(self.urls[i % len(self.urls)] + path, json=body or {},
                                  headers={"Authorization": f"Bearer {token}",
                                           "Idempotency-Key": secrets.token_hex(8)}) as r:
            data = await r.json()
        return r.status, data, (time.perf_counter() - t0) * 1000


async def bench_issue(client: Client, token: str, hall: str, concurrency: int, seconds: float) -> tuple[float, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    errors = 0

    async def worker(i: int) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            status, _, ms = await client.post(i, f"/api/v1/halls/{hall}/tickets", token, {"service": "ABCD"[i % 4]})
            if status == 201:
                latencies.append(ms)
            else:
                errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    if errors:
        print(f"  ({errors} issuing errors)", file=sys.stderr)
    return len(latencies) / elapsed, latencies


async def fill(client: Client, token_of: dict, halls: list[str], per_hall: int) -> None:
    async def one(hall: str, n: int) -> None:
        tok = token_of[(hall, 1)]
        for i in range(n):
            status, data, _ = await client.post(i, f"/api/v1/halls/{hall}/tickets", tok, {"service": "ABCD"[i % 4]})
            assert status == 201, data

    await asyncio.gather(*(one(h, per_hall) for h in halls))


async def bench_calls(client: Client, tokens: dict[tuple[str, int], str], seconds: float) -> tuple[float, list[float], int]:
    """Every window loops call-next → start → finish; call-next latency is what is reported."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    empty = 0

    async def window(i: int, hall: str, w: int, token: str) -> None:
        nonlocal empty
        base = f"/api/v1/halls/{hall}/windows/{w}/"
        while time.perf_counter() < deadline:
            status, data, ms = await client.post(i, base + "call-next", token)
            assert status == 200, data
            if data["ticket"] is None:
                empty += 1
                await asyncio.sleep(0.01)
                continue
            latencies.append(ms)
            await client.post(i, base + "start", token)
            await client.post(i, base + "finish", token)

    start = time.perf_counter()
    await asyncio.gather(*(window(i, h, w, t) for i, ((h, w), t) in enumerate(tokens.items())))
    elapsed = time.perf_counter() - start
    return len(latencies) / elapsed, latencies, empty


async def open_windows(client: Client, tokens: dict[tuple[str, int], str]) -> None:
    await asyncio.gather(*(client.post(i, f"/api/v1/halls/{h}/windows/{w}/open", t)
                           for i, ((h, w), t) in enumerate(tokens.items())))


async def scenario(dsn: str, tmp: Path, *, halls: int, windows: int, servers: int, seconds: float,
                   issue: bool, env: dict[str, str] | None = None) -> list[tuple[str, float, float, float]]:
    """`env` is added to the servers' environment (e.g. PYTHONPATH to run another version)."""
    config_path = tmp / f"bench-{halls}x{windows}.toml"
    config_path.write_text(load_toml(halls=halls, windows=windows), encoding="utf-8")
    config = load_config(config_path, env={})
    await prepare_database(dsn, config)
    hall_ids = list(config.halls)
    tokens = await make_tokens(dsn, hall_ids, windows)
    rows = []
    with ExitStack() as stack:
        procs = [stack.enter_context(ServerProcess(config_path, database_url=dsn, log_dir=tmp, env=env))
                 for _ in range(servers)]
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            client = Client(http, [p.url for p in procs])
            if issue:
                for conc in (1, 32):
                    rate, lat = await bench_issue(client, tokens[(hall_ids[0], 1)], hall_ids[0], conc, seconds)
                    rows.append((f"issue ticket, {conc} client(s), 1 hall", rate, pct(lat, 50), pct(lat, 99)))
            expected_calls = int(seconds * 1500 / len(hall_ids)) + 100
            await fill(client, tokens, hall_ids, expected_calls)
            await open_windows(client, tokens)
            rate, lat, empty = await bench_calls(client, tokens, seconds)
            label = f"call-next, {windows * halls} windows in {halls} hall(s)"
            if empty:
                label += f" ({empty} empty)"
            rows.append((label, rate, pct(lat, 50), pct(lat, 99)))
    return rows


async def fresh_database(base_dsn: str) -> str:
    name = f"hq_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(base_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base_dsn.rsplit("/", 1)[0] + "/" + name if "?" not in base_dsn else base_dsn.replace("/", f"/{name}", 1)


async def main_async(args: argparse.Namespace) -> None:
    with ExitStack() as stack:
        base = args.database_url or os.environ.get("QUEUE_DATABASE_URL")
        embedded = None
        if not base:
            from queue_server.adapters.embedded import EmbeddedPostgres

            embedded = EmbeddedPostgres()
            base = embedded.start(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "pgdata")
            stack.callback(embedded.stop)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        results: list[tuple[str, float, float, float]] = []
        for conns in (1, 32):
            dsn = await fresh_database(base)
            rate = await raw_commit_rate(dsn, args.seconds / 2, conns)
            results.append((f"raw single-row commits, {conns} connection(s)", rate, float("nan"), float("nan")))
        results += await scenario(await fresh_database(base), tmp, halls=1, windows=50, servers=args.servers,
                                  seconds=args.seconds, issue=True)
        results += await scenario(await fresh_database(base), tmp, halls=20, windows=5, servers=args.servers,
                                  seconds=args.seconds, issue=False)
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{args.servers} server process(es), PostgreSQL {'embedded' if embedded else 'given'}, {args.seconds:.0f} s per row")
    print(f"{'scenario':<52} {'per second':>11} {'p50 ms':>8} {'p99 ms':>8}")
    for name, rate, p50, p99 in results:
        print(f"{name:<52} {rate:>11.0f} {p50:>8.1f} {p99:>8.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--servers", type=int, default=1)
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
