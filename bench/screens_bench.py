"""Benchmark of the live screens: publish → the last simulated screen receiving the event.

Runs the screen routes in this process (in-memory hall callables) and simulates screens in
child processes, each holding many websockets on one aiohttp session. Prints p50/p99 of
"publish → last screen has it" per event and of every single delivery, and the server's
RSS per 5000 connections.

    .venv/bin/python bench/screens_bench.py                 # the standard table
    .venv/bin/python bench/screens_bench.py --screens 1000 --halls 1 --events 50

The simulator (`ScreenSwarm`, `run_screens`) only needs a URL, so it can be pointed at a
real server (several processes, the real call-next HTTP path) as well. Timestamps: each
event carries `payload.sent_ns` (time.time_ns() at publish); screens on the same machine
compare it with their own time.time_ns() when the frame arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOKEN = "bench-token"


# -- the screen simulator (reusable) ------------------------------------------------------

@dataclass
class Deliveries:
    """What a set of screens received: latency (ns) of each delivery, per (hall, seq)."""

    latencies: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    connected: int = 0
    failed: int = 0
    closed_early: int = 0

    def merge(self, other: Deliveries) -> None:
        for key, values in other.latencies.items():
            self.latencies.setdefault(key, []).extend(values)
        self.connected += other.connected
        self.failed += other.failed
        self.closed_early += other.closed_early


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def run_screens(url: str, halls: Sequence[str], count: int, *, token: str = TOKEN,
                      ready: Callable[[int, int], None] | None = None,
                      stop: asyncio.Event, concurrency: int = 100) -> Deliveries:
    """Open `count` screens on `url` (http://host:port), spread over `halls` round-robin,
    and record every event's latency until `stop` is set. One session, one task a screen."""
    import aiohttp

    deliveries = Deliveries()
    gate = asyncio.Semaphore(concurrency)
    all_settled = asyncio.Event()

    def settled() -> None:
        if deliveries.connected + deliveries.failed == count:
            all_settled.set()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, connect=30)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def screen(index: int) -> None:
            hall = halls[index % len(halls)]
            try:
                async with gate:
                    ws = await session.ws_connect(
                        f"{url}/ws/v1/halls/{hall}?token={token}", protocols=("queue.v1",),
                        autoping=True, heartbeat=None, compress=0, max_msg_size=16 << 20)
                    first = await ws.receive()
                    if first.type != aiohttp.WSMsgType.TEXT:
                        raise ConnectionError(f"no snapshot: {first.type}")
            except Exception:
                deliveries.failed += 1
                settled()
                return
            deliveries.connected += 1
            settled()
            try:
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    now = time.time_ns()
                    body = json.loads(message.data)
                    if body.get("type") == "event":
                        sent = body["event"]["payload"].get("sent_ns")
                        if sent:
                            deliveries.latencies.setdefault((hall, body["seq"]), []).append(
                                now - sent)
                if not stop.is_set():
                    deliveries.closed_early += 1
            finally:
                await ws.close()

        tasks = [asyncio.create_task(screen(i)) for i in range(count)]
        await all_settled.wait()
        if ready is not None:
            ready(deliveries.connected, deliveries.failed)
        await stop.wait()
        await asyncio.sleep(0.5)  # stragglers
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return deliveries


def _screen_process(url: str, halls: list[str], count: int, token: str, pipe: Any) -> None:
    """A child process: open the screens, say ready, wait for "stop", send deliveries."""
    raise_fd_limit()

    async def main() -> Deliveries:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(pipe.fileno(), lambda: (pipe.recv(), stop.set()))
        return await run_screens(url, halls, count, token=token, stop=stop,
                                 ready=lambda ok, failed: pipe.send(("ready", ok, failed)))

    deliveries = asyncio.run(main())
    pipe.send(("done", deliveries))


class ScreenSwarm:
    """`count` screens in `processes` child processes (spawned, so no loop is inherited)."""

    def __init__(self, url: str, halls: Sequence[str], count: int, *, processes: int = 2,
                 token: str = TOKEN) -> None:
        self.url, self.halls, self.count, self.token = url, list(halls), count, token
        self.processes = max(1, min(processes, count))
        self._children: list[tuple[Any, Any]] = []

    async def start(self) -> tuple[int, int]:
        """Start and wait until every screen has its snapshot; (connected, failed)."""
        context = multiprocessing.get_context("spawn")
        share, extra = divmod(self.count, self.processes)
        for index in range(self.processes):
            n = share + (1 if index < extra else 0)
            # Each child gets every hall, offset so halls stay evenly covered overall.
            offset = (index * share) % len(self.halls)
            halls = self.halls[offset:] + self.halls[:offset]
            parent, child = context.Pipe()
            process = context.Process(target=_screen_process,
                                      args=(self.url, halls, n, self.token, child), daemon=True)
            process.start()
            self._children.append((process, parent))
        connected = failed = 0
        for _process, pipe in self._children:
            _, ok, bad = await asyncio.to_thread(pipe.recv)
            connected, failed = connected + ok, failed + bad
        return connected, failed

    async def stop(self) -> Deliveries:
        total = Deliveries()
        for _process, pipe in self._children:
            pipe.send("stop")
        for process, pipe in self._children:
            _, deliveries = await asyncio.to_thread(pipe.recv)
            total.merge(deliveries)
            await asyncio.to_thread(process.join, 10)
        self._children.clear()
        return total


# -- the server side (in this process) ----------------------------------------------------

class BenchHall:
    """The minimum the screen routes need: a snapshot and a seq per hall."""

    def __init__(self, halls: Sequence[str]) -> None:
        self.seq = dict.fromkeys(halls, 0)

    def snapshot(self, hall: str) -> dict[str, Any]:
        return {
            "hall": hall, "name": "拱墅区行政服务中心", "seq": self.seq[hall],
            "business_day": "2026-11-30", "at": "2026-11-30T09:00:00+08:00", "voice": True,
            "areas": [{"code": "business", "name": "商事登记区"}],
            "services": [{"code": c, "name": f"事项{c}", "area": "business", "waiting": 10,
                          "estimated_wait_minutes": 20, "quota_left": 100} for c in "ABCDEF"],
            "windows": [_window(n) for n in range(1, 13)],
            "recent_calls": [], "notices": ["请保管好随身物品"],
            "civility": {"greeting": ["您好，请坐。"]},
        }

    def call(self, hall: str) -> dict[str, Any]:
        self.seq[hall] += 1
        seq = self.seq[hall]
        window = _window(seq % 12 + 1)
        number = f"A{seq % 1000:03d}"
        window["current"] = {"number": number, "service": "A", "status": "called", "calls": 1}
        return {"seq": seq, "at": "2026-11-30T09:01:05+08:00", "kind": "ticket_called",
                "hall": hall,
                "ticket": {"number": number, "service": "A", "status": "called", "calls": 1,
                           "window": window["number"]},
                "window": window,
                "services": [{"code": "A", "name": "事项A", "area": "business", "waiting": 9,
                              "estimated_wait_minutes": 18, "quota_left": 99}],
                "payload": {"sent_ns": time.time_ns()}}


def _window(number: int) -> dict[str, Any]:
    return {"number": number, "name": f"{number} 号窗口", "area": "business",
            "services": ["A", "B"], "state": "open", "pause_reason": None,
            "staff": {"id": f"10{number:02d}", "name": "张三", "photo_url": None,
                      "stand_in": False}, "current": None}


async def start_server(halls: Sequence[str]):
    from aiohttp import web

    from queue_server.web.hub import Hub
    from queue_server.web.screens import add_screen_routes

    bench_hall = BenchHall(halls)
    hub = Hub()

    async def snapshot(hall: str) -> dict[str, Any]:
        return bench_hall.snapshot(hall)

    async def events_after(hall: str, after: int, limit: int) -> None:
        return None

    async def authenticate(hall: str, token: str) -> bool:
        return token == TOKEN

    async def latest_seq(hall: str) -> int:
        return bench_hall.seq[hall]

    app = web.Application()
    add_screen_routes(app, hub=hub, snapshot=snapshot, events_after=events_after,
                      authenticate_display=authenticate, latest_seq=latest_seq,
                      hall_exists=lambda hall: hall in bench_hall.seq,
                      heartbeat_interval=3600)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}", hub, bench_hall


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


@dataclass
class Result:
    name: str
    screens: int
    halls: int
    connected: int
    events: int
    last_p50_ms: float
    last_p99_ms: float
    each_p50_ms: float
    each_p99_ms: float
    complete: float  # share of (event, screen of its hall) deliveries that arrived
    rss_per_5000_mib: float
    publish_us: float  # time spent in hub.publish per event (encode + fan-out)


async def scenario(name: str, screens: int, halls: int, events: int, *, processes: int,
                   interval: float) -> Result:
    raise_fd_limit()
    hall_ids = [f"hall{n:03d}" for n in range(halls)]
    runner, url, hub, bench_hall = await start_server(hall_ids)
    gc.collect()
    rss_before = rss_bytes()
    swarm = ScreenSwarm(url, hall_ids, screens, processes=processes)
    try:
        connected, failed = await swarm.start()
        gc.collect()
        await asyncio.sleep(0.2)
        rss_after = rss_bytes()
        publish_ns: list[int] = []
        for _ in range(events):
            for hall in hall_ids:
                event = bench_hall.call(hall)
                started = time.perf_counter_ns()
                hub.publish(hall, [event])
                publish_ns.append(time.perf_counter_ns() - started)
                if halls > 1:
                    await asyncio.sleep(interval / halls)
            if halls == 1:
                await asyncio.sleep(interval)
        await asyncio.sleep(max(1.0, interval))
        deliveries = await swarm.stop()
    finally:
        await runner.cleanup()
    per_hall = {hall: 0 for hall in hall_ids}
    for index in range(connected):
        per_hall[hall_ids[index % halls]] += 1
    expected = sum(per_hall[hall] for hall in hall_ids) * events
    received = sum(len(v) for v in deliveries.latencies.values())
    last = [max(values) / 1e6 for values in deliveries.latencies.values()]
    each = [v / 1e6 for values in deliveries.latencies.values() for v in values]
    per_connection = (rss_after - rss_before) / max(1, connected)
    if failed:
        print(f"  {name}: {failed} screens failed to connect", file=sys.stderr)
    return Result(name, screens, halls, connected, events * halls,
                  percentile(last, 50), percentile(last, 99),
                  percentile(each, 50), percentile(each, 99),
                  received / expected if expected else 0.0,
                  per_connection * 5000 / 2**20,
                  statistics.mean(publish_ns) / 1e3 if publish_ns else 0.0)


def print_table(results: Sequence[Result]) -> None:
    header = (f"{'scenario':<26}{'screens':>8}{'halls':>6}{'events':>7}"
              f"{'last p50':>10}{'last p99':>10}{'each p50':>10}{'each p99':>10}"
              f"{'got':>8}{'publish':>10}{'RSS/5000':>10}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.name:<26}{r.connected:>8}{r.halls:>6}{r.events:>7}"
              f"{r.last_p50_ms:>8.1f}ms{r.last_p99_ms:>8.1f}ms"
              f"{r.each_p50_ms:>8.1f}ms{r.each_p99_ms:>8.1f}ms"
              f"{r.complete:>7.1%} {r.publish_us:>7.0f}µs{r.rss_per_5000_mib:>7.0f}MiB")
    print("\nlast = publish → the last screen of the hall has the event (per event);"
          "\neach = publish → one screen has it (every delivery); publish = time inside"
          "\nhub.publish (encode once + push to every buffer); RSS/5000 = server RSS growth"
          "\nper connection × 5000. Screens run in child processes on the same machine"
          f" ({os.cpu_count()} CPUs).")


async def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, help="one custom scenario: this many screens")
    parser.add_argument("--halls", type=int, default=1)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--processes", type=int, default=2, help="screen-simulator processes")
    parser.add_argument("--interval", type=float, default=0.25,
                        help="seconds between two events of a hall")
    args = parser.parse_args(argv)
    if args.screens:
        plans = [(f"{args.screens} on {args.halls} hall(s)", args.screens, args.halls,
                  args.events, args.interval)]
    else:
        plans = [("100 screens, 1 hall", 100, 1, 40, 0.25),
                 ("1000 screens, 1 hall", 1000, 1, 40, 0.25),
                 ("5000 screens, 1 hall", 5000, 1, 40, 0.5),
                 ("5000 screens, 100 halls", 5000, 100, 5, 2.0)]
    results = []
    for name, screens, halls, events, interval in plans:
        print(f"running: {name} …", file=sys.stderr, flush=True)
        results.append(await asyncio.to_thread(
            run_in_fresh_process, name, screens, halls, events, args.processes, interval))
    print_table(results)


def run_in_fresh_process(name: str, screens: int, halls: int, events: int, processes: int,
                         interval: float) -> Result:
    """One scenario in its own server process: RSS growth is then this scenario's alone."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_scenario_process,
                              args=(child, name, screens, halls, events, processes, interval))
    process.start()
    result = parent.recv()
    process.join(30)
    return result


def _scenario_process(pipe: Any, name: str, screens: int, halls: int, events: int,
                      processes: int, interval: float) -> None:
    pipe.send(asyncio.run(scenario(name, screens, halls, events, processes=processes,
                                   interval=interval)))


if __name__ == "__main__":
    asyncio.run(main())
