"""Benchmark of 大厅监控: from a hall's event to every open manager's page.

    python bench/monitor_bench.py [--database-url URL] [--seconds 20] [--pages 20] [--windows 50]

One real `queue-server serve` process on a fresh database (the given URL, QUEUE_DATABASE_URL or
an embedded pgserver); `--windows` clerks call, start and finish tickets; `--pages` manager pages
watch the hall over /ws/v1/monitor, and one hall screen over /ws/v1/halls/{hall}. An event's time
is when the screen receives it (the hub sends it to screens and to the monitor at the same moment);
its latency to a page is until that page has a view with that event's seq or a later one. Printed
for two paces: a busy hall (each window acts every 2–4 s) and clerks as fast as the server lets
them. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
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
sys.path.insert(0, str(ROOT / "bench"))

from core_bench import Client, fill, fresh_database, make_tokens, open_windows, pct  # noqa: E402

from queue_server.adapters import accounts  # noqa: E402
from queue_server.config import load_config  # noqa: E402
from queue_server.service.auth import hash_password, new_token, token_hash  # noqa: E402
from tests.support.configs import load_toml  # noqa: E402
from tests.support.hall import prepare_database  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402


async def watcher_tokens(dsn: str, hall: str) -> tuple[str, str]:
    """A manager's session and a hall screen's device token, written directly."""
    conn = await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    try:
        await accounts.add_staff(conn, staff_id="mgr", hall=hall, name="经理", role="manager",
                                 password_hash=hash_password("bench-password"))
        manager = new_token("hqs")
        await accounts.add_session(conn, token_hash(manager), "mgr", now, now + timedelta(hours=4))
        screen = new_token("hqd")
        await accounts.add_device(conn, hall=hall, role="display", name="S1", token_hash=token_hash(screen),
                                  window=None, kiosk=None)
    finally:
        await conn.close()
    return manager, screen


class Watch:
    """Arrival times: of each event at the screen, of each view at each page."""

    def __init__(self) -> None:
        self.events: dict[int, float] = {}
        self.pages: list[list[tuple[int, float]]] = []
        self.recording = False

    async def screen(self, http: aiohttp.ClientSession, url: str, hall: str, token: str) -> None:
        async with http.ws_connect(f"{url}/ws/v1/halls/{hall}?token={token}", protocols=("queue.v1",)) as ws:
            async for msg in ws:
                now = time.perf_counter()
                body = json.loads(msg.data)
                if body.get("type") == "event" and self.recording:
                    self.events.setdefault(body["seq"], now)

    async def page(self, http: aiohttp.ClientSession, url: str, hall: str, token: str) -> None:
        seen: list[tuple[int, float]] = []
        self.pages.append(seen)
        async with http.ws_connect(f"{url}/ws/v1/monitor", max_msg_size=0) as ws:
            await ws.send_json({"token": token, "halls": [hall]})
            async for msg in ws:
                now = time.perf_counter()
                body = json.loads(msg.data)
                if body.get("type") == "view" and self.recording:
                    seen.append((body["view"]["seq"], now))

    def latencies(self) -> list[float]:
        """Per event and page: ms from the event at the screen to the page's first view covering it."""
        out = []
        for seen in self.pages:
            views = sorted(seen)
            i = 0
            for seq, at in sorted(self.events.items()):
                while i < len(views) and views[i][0] < seq:
                    i += 1
                if i == len(views):
                    break
                # The first view covering seq may have come in before the screen's copy of the
                # event was read: then the page was not behind at all.
                out.append(max(0.0, (min(t for s, t in views[i:] if s >= seq) - at) * 1000))
        return out


async def clerks(client: Client, tokens: dict, hall: str, seconds: float, pace: tuple[float, float] | None) -> int:
    deadline = time.perf_counter() + seconds
    done = 0

    async def window(i: int, w: int, token: str) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            for action in ("call-next", "start", "finish"):
                await client.post(i, f"/api/v1/halls/{hall}/windows/{w}/{action}", token)
                done += 1
                if pace:
                    await asyncio.sleep(random.uniform(*pace))

    await asyncio.gather(*(window(i, w, t) for i, ((h, w), t) in enumerate(tokens.items())))
    return done


async def scenario(dsn: str, tmp: Path, *, windows: int, pages: int, seconds: float) -> list[tuple]:
    config_path = tmp / f"monitor-{windows}.toml"
    config_path.write_text(load_toml(halls=1, windows=windows), encoding="utf-8")
    config = load_config(config_path, env={})
    await prepare_database(dsn, config)
    hall = next(iter(config.halls))
    tokens = await make_tokens(dsn, [hall], windows)
    manager, screen = await watcher_tokens(dsn, hall)
    rows = []
    with ExitStack() as stack:
        proc = stack.enter_context(ServerProcess(config_path, database_url=dsn, log_dir=tmp))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            client = Client(http, [proc.url])
            await fill(client, tokens, [hall], int(seconds * 400) + 200)
            await open_windows(client, tokens)
            for name, pace in (("busy hall: each window acts every 2–4 s", (2.0, 4.0)),
                               ("clerks as fast as the server answers", None)):
                watch = Watch()
                tasks = [asyncio.create_task(watch.screen(http, proc.url, hall, screen))]
                tasks += [asyncio.create_task(watch.page(http, proc.url, hall, manager)) for _ in range(pages)]
                await asyncio.sleep(1.0)  # every socket connected and its first view in
                watch.recording = True
                started = time.perf_counter()
                commands = await clerks(client, tokens, hall, seconds, pace)
                elapsed = time.perf_counter() - started
                await asyncio.sleep(1.0)  # the last views
                watch.recording = False
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                lat = watch.latencies()
                rows.append((name, commands / elapsed, len(watch.events), len(lat), pct(lat, 50), pct(lat, 95),
                             pct(lat, 99), max(lat) if lat else float("nan")))
    return rows


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
        rows = await scenario(await fresh_database(base), tmp, windows=args.windows, pages=args.pages,
                              seconds=args.seconds)
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, one server "
          f"process, PostgreSQL {'embedded' if embedded else 'given'}; {args.windows} windows, {args.pages} manager "
          f"pages, {args.seconds:.0f} s per row")
    print(f"{'pace':<44} {'cmds/s':>7} {'events':>7} {'samples':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for name, rate, events, samples, p50, p95, p99, top in rows:
        print(f"{name:<44} {rate:>7.0f} {events:>7} {samples:>8} {p50:>7.1f} {p95:>7.1f} {p99:>7.1f} {top:>7.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--pages", type=int, default=20)
    p.add_argument("--windows", type=int, default=50)
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
