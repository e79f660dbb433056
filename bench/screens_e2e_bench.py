"""End-to-end benchmark of the live screens: call-next HTTP response → the last screen.

    .venv/bin/python bench/screens_e2e_bench.py [--database-url URL] [--redis-url URL]
        [--only 5000] [--repeat 3] [--quick] [--sustain 40 --latency-seconds 60]

For each scenario: a fresh database, real `queue-server serve` processes (two of them over
Redis for the "2 processes" rows), a display token per hall and a clerk session per window
written straight into the database, tickets issued and windows opened over HTTP, then N
simulated screens (bench/screens_bench.py's `ScreenSwarm`, in two child processes; in the
two-process rows each hall's screens are spread over both servers). Then, over HTTP, each
window loops call-next → start → finish (three events per call, all broadcast to the
hall's screens):

- latency phase: a steady, low call rate; for each call, the time from the call-next
  response arriving here to the last screen of the hall receiving its `ticket_called`
  event (matched by hall and ticket number). Screens and this driver share the clock.
- ramp: the target call rate doubles every few seconds (the windows wait for their own
  answers, so an overloaded server slows the calls down rather than queueing them). The
  table's calls/s is the highest rate achieved in a step whose call-next → last-screen p99
  stayed under --max-p99 ms; the ramp stops once a step reaches less than 3/4 of its target.

The server's RSS is read from /proc once the screens are connected. Everything runs on
this machine: the simulated screens and this driver compete with the server for the CPU.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from screens_bench import ScreenSwarm, raise_fd_limit  # noqa: E402

from queue_server.adapters import accounts  # noqa: E402
from queue_server.config import load_config  # noqa: E402
from queue_server.service.auth import hash_password, new_token, token_hash  # noqa: E402
from tests.support.configs import load_toml  # noqa: E402
from tests.support.hall import prepare_database  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

# Put on the servers' PYTHONPATH: logs each full (generation 2) garbage collection to the
# server's log, and with SCREENS_BENCH_GC set, emulates lines one could add to
# queue_server/main.py just before web.run_app (the benchmark changes no server code):
#   freeze     gc.collect(); gc.freeze()  (what was imported and configured is never
#              scanned again)
#   threshold  gc.set_threshold(10_000, 10, 100)  (fewer young and far fewer full
#              collections)
GC_SHIM = """\
import gc, os, sys, time

_mode = os.environ.get("SCREENS_BENCH_GC", "")
_started = [0.0]


def _log_full_collections(phase, info):
    if phase == "start":
        _started[0] = time.perf_counter()
    elif info["generation"] == 2:
        print(f"screens-bench gc2 {time.time():.3f} {(time.perf_counter() - _started[0]) * 1000:.1f}",
              file=sys.stderr, flush=True)


gc.callbacks.append(_log_full_collections)
if _mode:
    import aiohttp.web

    _run_app = aiohttp.web.run_app

    def _run_app_after_gc_setup(*args, **kwargs):
        if "threshold" in _mode:
            gc.set_threshold(10_000, 10, 100)
        if "freeze" in _mode:
            gc.collect()
            gc.freeze()
        return _run_app(*args, **kwargs)

    aiohttp.web.run_app = _run_app_after_gc_setup
"""


def full_collections(log: Path, since: float, until: float) -> list[float]:
    """ms of each full collection a server logged between two time.time() stamps."""
    pauses = []
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return pauses
    for line in lines:
        if line.startswith("screens-bench gc2 "):
            _, _, at, ms = line.split()
            if since <= float(at) <= until:
                pauses.append(float(ms))
    return pauses


@dataclass(frozen=True)
class Plan:
    name: str
    screens: int
    halls: int
    servers: int
    windows: int            # per hall
    latency_rate: float     # calls per second in the latency phase (all halls together)
    ramp: tuple[float, ...]  # calls per second, one step each


def plans(quick: bool) -> list[Plan]:
    one = (10.0, 20.0, 40.0, 80.0, 160.0)
    many = (20.0, 40.0, 80.0, 160.0, 320.0)
    if quick:
        one, many = one[:3], many[:3]
    return [
        Plan("1 hall", 100, 1, 1, 20, 5.0, one),
        Plan("1 hall", 1000, 1, 1, 20, 5.0, one),
        Plan("1 hall", 5000, 1, 1, 20, 5.0, one),
        Plan("1 hall, Redis", 100, 1, 2, 20, 5.0, one),
        Plan("1 hall, Redis", 1000, 1, 2, 20, 5.0, one),
        Plan("1 hall, Redis", 5000, 1, 2, 20, 5.0, one),
        Plan("100 halls", 5000, 100, 1, 2, 20.0, many),
    ]


@dataclass
class Call:
    hall: str
    number: str
    answered_ns: int      # time.time_ns() when the call-next response had arrived
    http_ms: float


@dataclass
class Step:
    target: float
    seconds: float
    calls: list[Call] = field(default_factory=list)
    empty: int = 0
    errors: int = 0
    server_cpu: float = 0.0  # seconds of CPU of the server processes during the step

    @property
    def achieved(self) -> float:
        return len(self.calls) / self.seconds

    @property
    def cpu_per_call_ms(self) -> float:
        return self.server_cpu / len(self.calls) * 1000 if self.calls else float("nan")


@dataclass
class Outcome:
    plan: Plan
    connected: int
    rss_mb: list[float]
    latency: list[float]          # ms, latency phase
    complete: float               # share of expected deliveries of the latency phase
    http_p50: float
    steps: list[tuple[float, float, float, float, float]]  # target, achieved, p50, p99, cpu
    cpu_per_call_ms: float        # server CPU per call in the latency phase (all processes)
    sustained: float              # highest sustained target (0: none)
    sustained_rate: float         # achieved at that step
    sim_cpu_s: float
    closed_early: int
    gc_pauses: list[float]        # ms of each full collection in the servers while measuring
    latency_achieved: float = 0.0  # calls/s achieved in the latency phase


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, from /proc."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# -- setup ---------------------------------------------------------------------------------

async def fresh_database(base_dsn: str) -> tuple[str, str]:
    name = f"hq_screens_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(base_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base_dsn.rsplit("/", 1)[0] + "/" + name, name


async def drop_database(base_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(base_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except asyncpg.PostgresError as exc:
        print(f"  (could not drop {name}: {exc})", file=sys.stderr)
    finally:
        await conn.close()


def write_config(tmp: Path, plan: Plan) -> Path:
    """load_toml's halls, renamed so that no other server on the same Redis channel (the
    relay's channel is fixed) has halls of the same name."""
    tag = secrets.token_hex(3)
    text = load_toml(halls=plan.halls, windows=plan.windows).replace("halls.h", f"halls.s{tag}h")
    path = tmp / f"screens-{tag}.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def make_credentials(dsn: str, halls: list[str], windows: int
                           ) -> tuple[dict[tuple[str, int], str], dict[str, str]]:
    """A signed-in clerk per window and a display device per hall, written directly."""
    staff: dict[tuple[str, int], str] = {}
    displays: dict[str, str] = {}
    now = datetime.now(UTC)
    digest = hash_password("bench-password")  # nobody signs in: sessions are written here
    conn = await asyncpg.connect(dsn)
    try:
        for hall in halls:
            for w in range(1, windows + 1):
                staff_id = f"{hall}-{w}"
                await accounts.add_staff(conn, staff_id=staff_id, hall=hall, name=f"员{w}",
                                         role="staff", password_hash=digest)
                token = new_token("hqs")
                await accounts.add_session(conn, token_hash(token), staff_id, now,
                                           now + timedelta(hours=4))
                staff[(hall, w)] = token
            token = new_token("hqd")
            await accounts.add_device(conn, hall=hall, role="display", name="bench screens",
                                      token_hash=token_hash(token), window=None, kiosk=None)
            displays[hall] = token
    finally:
        await conn.close()
    return staff, displays


class Client:
    def __init__(self, http: aiohttp.ClientSession, urls: list[str]) -> None:
        self.http = http
        self.urls = urls
        self.turn = 0

    async def post(self, path: str, token: str, body: dict | None = None
                   ) -> tuple[int, dict, int, float]:
        """(status, body, time.time_ns() once the whole response is in, ms taken)."""
        self.turn += 1
        url = self.urls[self.turn % len(self.urls)] + path
        started = time.perf_counter()
        async with self.http.post(url, json=body or {}, headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": secrets.token_hex(8)}) as response:
            raw = await response.read()
            arrived = time.time_ns()
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, json.loads(raw) if raw else {}, arrived, elapsed


async def issue_tickets(client: Client, staff: dict[tuple[str, int], str], halls: list[str],
                        per_hall: int) -> None:
    async def hall_worker(hall: str, share: int) -> None:
        token = staff[(hall, 1)]
        for i in range(share):
            status, data, _, _ = await client.post(f"/api/v1/halls/{hall}/tickets", token,
                                                   {"service": "ABCD"[i % 4]})
            if status != 201:
                raise RuntimeError(f"issuing a ticket in {hall}: {status} {data}")

    # A few concurrent issuers per hall: the hall's pipeline commits them in batches.
    per_worker = 4 if len(halls) == 1 else 1
    share, extra = divmod(per_hall, per_worker)
    await asyncio.gather(*(hall_worker(hall, share + (1 if k < extra else 0))
                           for hall in halls for k in range(per_worker)))


async def open_windows(client: Client, staff: dict[tuple[str, int], str]) -> None:
    async def one(hall: str, window: int, token: str) -> None:
        status, data, _, _ = await client.post(f"/api/v1/halls/{hall}/windows/{window}/open",
                                               token)
        if status != 200:
            raise RuntimeError(f"opening window {window} of {hall}: {status} {data}")

    await asyncio.gather(*(one(h, w, t) for (h, w), t in staff.items()))


# -- driving calls -------------------------------------------------------------------------

async def run_step(client: Client, staff: dict[tuple[str, int], str], rate: float,
                   seconds: float, pids: list[int]) -> Step:
    """Every window loops call-next → start → finish; call-nexts are paced at `rate` per
    second overall (a window waits for the next free slot)."""
    step = Step(rate, seconds)
    cpu = cpu_seconds(pids)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    deadline = start + seconds
    interval = 1.0 / rate
    next_slot = start

    async def window(hall: str, number: int, token: str) -> None:
        nonlocal next_slot
        base = f"/api/v1/halls/{hall}/windows/{number}/"
        while True:
            slot, next_slot = next_slot, next_slot + interval
            if slot >= deadline:
                return
            delay = slot - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            status, data, arrived, ms = await client.post(base + "call-next", token)
            if status != 200:
                step.errors += 1
                continue
            ticket = data.get("ticket")
            if ticket is None:
                step.empty += 1
                continue
            step.calls.append(Call(hall, ticket["number"], arrived, ms))
            for action in ("start", "finish"):
                status, data, _, _ = await client.post(base + action, token)
                if status != 200:
                    step.errors += 1

    await asyncio.gather(*(window(h, w, t) for (h, w), t in staff.items()))
    step.seconds = max(seconds, loop.time() - start)
    step.server_cpu = cpu_seconds(pids) - cpu
    return step


def latencies(step: Step, called: dict[tuple[str, str], tuple[str, int]],
              received: dict[tuple[str, int], list[int]], per_hall: dict[str, int]
              ) -> tuple[list[float], int, int]:
    """ms from each call-next response to the last screen of its hall receiving the call,
    and (deliveries seen, deliveries expected)."""
    values: list[float] = []
    got = expected = 0
    for call in step.calls:
        expected += per_hall.get(call.hall, 0)
        key = called.get((call.hall, call.number))
        if key is None:
            continue
        n, _first, last = received[key]
        got += n
        values.append((last - call.answered_ns) / 1e6)
    return values, got, expected


async def scenario(plan: Plan, base_dsn: str, redis_url: str, tmp: Path, *,
                   latency_seconds: float, step_seconds: float, max_p99: float,
                   http_to_all: bool, server_gc: str) -> Outcome:
    dsn, db_name = await fresh_database(base_dsn)
    try:
        config_path = write_config(tmp, plan)
        config = load_config(config_path, env={})
        await prepare_database(dsn, config)
        halls = list(config.halls)
        staff, displays = await make_credentials(dsn, halls, plan.windows)
        calls_needed = plan.latency_rate * latency_seconds + sum(plan.ramp) * step_seconds
        per_hall = int(calls_needed * 1.15 / len(halls)) + plan.windows + 10
        shim = tmp / "gc-shim"
        shim.mkdir(exist_ok=True)
        (shim / "sitecustomize.py").write_text(GC_SHIM, encoding="utf-8")
        python_path = os.pathsep.join(filter(None, [str(shim), os.environ.get("PYTHONPATH")]))
        env = {"PYTHONPATH": python_path, "SCREENS_BENCH_GC": server_gc}
        with ExitStack() as stack:
            servers = [stack.enter_context(ServerProcess(
                config_path, database_url=dsn, redis_url=redis_url if plan.servers > 1 else None,
                log_dir=tmp, env=env)) for _ in range(plan.servers)]
            urls = [server.url for server in servers]
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as http:
                # Commands go to the first process (the screens are spread over all of
                # them): a hall's commands alternating between processes make each one
                # reload the hall's state from the database (--http-to-all shows that).
                client = Client(http, urls if http_to_all else urls[:1])
                await issue_tickets(client, staff, halls, per_hall)
                await open_windows(client, staff)
                swarm = ScreenSwarm(urls, halls, plan.screens, processes=2, token=displays,
                                    sample_every=max(1, plan.screens // 100))
                try:
                    connected, failed = await swarm.start()
                    if failed:
                        print(f"  {failed} screens failed to connect", file=sys.stderr)
                    await asyncio.sleep(1.0)
                    pids = [server.proc.pid for server in servers]  # type: ignore[union-attr]
                    rss = [rss_mb(pid) for pid in pids]
                    measuring = time.time()
                    latency_step = await run_step(client, staff, plan.latency_rate,
                                                  latency_seconds, pids)
                    steps: list[Step] = []
                    for rate in plan.ramp:
                        await asyncio.sleep(0.5)
                        step = await run_step(client, staff, rate, step_seconds, pids)
                        steps.append(step)
                        if step.achieved < 0.75 * rate:
                            break  # the server cannot keep up: no point going further
                    await asyncio.sleep(1.0)
                    measured = time.time()
                    deliveries = await swarm.stop()
                except BaseException:
                    swarm.kill()
                    raise
        pauses = [ms for server in servers
                  for ms in full_collections(server.log_path, measuring, measured)]
    finally:
        await drop_database(base_dsn, db_name)

    called = {(hall, event[1]): (hall, seq) for (hall, seq), event in deliveries.events.items()
              if event[0] == "ticket_called" and event[1] is not None}
    screens_of = {hall: 0 for hall in halls}
    for g in range(connected):
        screens_of[halls[g % len(halls)]] += 1
    values, got, expected = latencies(latency_step, called, deliveries.received, screens_of)
    ramp = []
    sustained = sustained_rate = 0.0
    for step in steps:
        step_values, _, _ = latencies(step, called, deliveries.received, screens_of)
        p99 = pct(step_values, 99)
        ramp.append((step.target, step.achieved, pct(step_values, 50), p99,
                     step.cpu_per_call_ms))
        if p99 <= max_p99 and step.achieved > sustained_rate:
            sustained, sustained_rate = step.target, step.achieved
    return Outcome(plan, connected, rss, values, got / expected if expected else 0.0,
                   pct([c.http_ms for c in latency_step.calls], 50), ramp,
                   latency_step.cpu_per_call_ms, sustained,
                   sustained_rate, deliveries.cpu_seconds, deliveries.closed_early, pauses,
                   latency_step.achieved)


# -- report --------------------------------------------------------------------------------

def row_key(plan: Plan) -> tuple[str, int, int]:
    return plan.name, plan.screens, plan.servers


def print_table(runs: list[list[Outcome]], max_p99: float) -> None:
    print(f"\n{'scenario':<16}{'screens':>8}{'procs':>6}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'calls/s':>9}{'RSS MB':>13}{'got':>8}{'http p50':>10}{'runs':>6}")
    by_row: dict[tuple[str, int, int], list[Outcome]] = {}
    for run in runs:
        for outcome in run:
            by_row.setdefault(row_key(outcome.plan), []).append(outcome)
    for (name, screens, servers), outcomes in by_row.items():
        p50 = statistics.median(pct(o.latency, 50) for o in outcomes)
        p99 = statistics.median(pct(o.latency, 99) for o in outcomes)
        rate = statistics.median(o.sustained_rate for o in outcomes)
        rss = [statistics.median(o.rss_mb[i] for o in outcomes) for i in range(servers)]
        got = statistics.median(o.complete for o in outcomes)
        http = statistics.median(o.http_p50 for o in outcomes)
        print(f"{name:<16}{screens:>8}{servers:>6}{p50:>9.1f}{p99:>9.1f}{rate:>9.0f}"
              f"{'+'.join(f'{r:.0f}' for r in rss):>13}{got:>8.1%}{http:>8.1f}ms"
              f"{len(outcomes):>6}")
    print(f"\np50/p99: call-next response → the last screen of the hall has the call, at the "
          f"latency-phase rate (medians over runs).\ncalls/s: the highest rate achieved in a "
          f"ramp step whose p99 ≤ {max_p99:.0f} ms (each call is 3 broadcasts: called, "
          f"started,\nfinished). RSS: each server process with its screens connected. got: "
          f"deliveries of the latency phase's\ncalls / (calls × screens of the hall). http "
          f"p50: call-next round trip.")
    print("\neach run: latency phase p50/p99 ms [server CPU ms per call], then the ramp: target →"
          " achieved calls/s p50/p99 ms [server CPU ms per call]:")
    for run_index, run in enumerate(runs, 1):
        for o in run:
            steps = "  ".join(f"{t:.0f}→{a:.0f} {p50:.0f}/{p99:.0f} [{cpu:.0f}]"
                              for t, a, p50, p99, cpu in o.steps)
            gc = (f"{len(o.gc_pauses)} full GCs, max {max(o.gc_pauses):.0f} ms"
                  if o.gc_pauses else "no full GC")
            print(f"  run {run_index} {o.plan.name}, {o.plan.screens} screens, "
                  f"{o.plan.servers} proc: latency phase ({o.latency_achieved:.1f} calls/s, "
                  f"max {max(o.latency, default=float('nan')):.0f} ms) {pct(o.latency, 50):.0f}/"
                  f"{pct(o.latency, 99):.0f} [{o.cpu_per_call_ms:.0f}]  {steps}   "
                  f"(screens' CPU {o.sim_cpu_s:.1f} s; server {gc}"
                  f"{f'; {o.closed_early} closed early' if o.closed_early else ''})")


async def main_async(args: argparse.Namespace) -> None:
    raise_fd_limit()
    chosen = [p for i, p in enumerate(plans(args.quick), 1)
              if (not args.only or str(p.screens) in args.only.split(","))
              and (not args.rows or str(i) in args.rows.split(","))]
    if args.sustain:
        # issue 14 point 4: one rate held for --latency-seconds, no ramp
        chosen = [dataclasses.replace(p, latency_rate=args.sustain, ramp=()) for p in chosen]
    runs: list[list[Outcome]] = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        if args.logs:
            tmp = args.logs  # made by main()
        for run in range(args.repeat):
            outcomes = []
            for plan in chosen:
                print(f"run {run + 1}: {plan.name}, {plan.screens} screens, {plan.servers} "
                      f"process(es) … ({time.monotonic() - began:.0f} s)", file=sys.stderr,
                      flush=True)
                outcomes.append(await scenario(
                    plan, args.database_url, args.redis_url, Path(tmp),
                    latency_seconds=args.latency_seconds, step_seconds=args.step_seconds,
                    max_p99=args.max_p99, http_to_all=args.http_to_all,
                    server_gc=args.server_gc))
            runs.append(outcomes)
    load = os.getloadavg()
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average at the end {load[0]:.1f} / {load[1]:.1f} "
          f"/ {load[2]:.1f}; {time.monotonic() - began:.0f} s in all")
    print_table(runs, args.max_p99)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("QUEUE_DATABASE_URL",
                                                                 DEFAULT_DATABASE))
    parser.add_argument("--redis-url", default=os.environ.get("QUEUE_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--only", help="comma-separated screen counts to run, e.g. 5000")
    parser.add_argument("--rows", help="comma-separated rows of the table to run (1 to 7)")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the table gives medians")
    parser.add_argument("--latency-seconds", type=float, default=8.0)
    parser.add_argument("--step-seconds", type=float, default=3.0)
    parser.add_argument("--max-p99", type=float, default=500.0,
                        help="ms: a ramp step with a worse p99 is not sustained")
    parser.add_argument("--quick", action="store_true", help="three ramp steps only")
    parser.add_argument("--sustain", type=float, metavar="CALLS_PER_S",
                        help="hold this call rate for --latency-seconds instead of the latency phase "
                             "and the ramp (e.g. --sustain 40 --latency-seconds 60)")
    parser.add_argument("--http-to-all", action="store_true",
                        help="spread the HTTP commands over every server process too")
    parser.add_argument("--logs", help="keep the server logs and configs in this directory")
    parser.add_argument("--server-gc", default="", choices=("", "freeze", "freeze+threshold"),
                        help="emulate GC settings in the servers (see GC_SHIM)")
    args = parser.parse_args()
    if args.logs:
        Path(args.logs).mkdir(parents=True, exist_ok=True)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
