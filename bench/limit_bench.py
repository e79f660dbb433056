"""Performance at the limit (issue 14): the core scenarios driven by a load generator that is not
the bottleneck, with CPU per command for the server, the generator and PostgreSQL.

    python bench/limit_bench.py [--database-url URL] [--seconds 5] [--runs 3] [--servers 1]
                                [--generators 2] [--only issue,call50,call100]

Each run measures, on fresh databases of the same PostgreSQL:

- the raw single-row commit ceiling (1 and 32 connections, asyncpg, from this process);
- issue ticket, 32 clients, 1 hall;
- call-next, 50 windows in 1 hall, each call followed by start + finish;
- call-next, 100 windows over 20 halls (5 per hall), same loop.

The call-next rows are a closed loop: each window calls again as soon as it is answered, so
with N windows in flight the latency is N ÷ commands per second (Little's law) — a measure of
throughput. `--pace 200,400` adds each call-next scenario at those offered loads (calls/s over
all its windows, each window on a fixed interval): the latency a clerk sees below saturation.

The server is `queue-server serve` (one process, or `--servers N` sharing the work: with N > 1 a
Redis URL is needed for screens, and `--split` sends each window's commands through every server
in turn, so one hall's commands arrive through all of them). The load generator is `--generators`
separate processes, each an asyncio loop (uvloop when importable) speaking HTTP/1.1 keep-alive over
raw sockets with pre-built request bytes and no JSON parsing: it costs a fraction of the server's
CPU per request, and the table shows by how much.

CPU figures are read from /proc/<pid>/stat (utime + stime) before and after the measured
interval: the server process(es), the generator processes, and the PostgreSQL backends connected
to the bench database (the servers' pools; WAL writer and checkpointer are not counted). Per
command means per HTTP request answered (call-next, start and finish are three commands).

Prints a markdown table (medians of the runs) with the ratio of each scenario's throughput to the
raw commit ceiling measured in the same run, and the load average. Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- CPU accounting

def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    # fields[0] is state (field 3); utime, stime are fields 14, 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_of(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids}


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after.get(pid, 0.0) - t for pid, t in before.items() if pid in after)


# ---------------------------------------------------------------- the load generator

class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: send pre-built bytes, read one response at a time."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._try_answer()

    def _try_answer(self) -> None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(buf[:end]).lower()
        i = head.find(b"content-length:")
        if i < 0:
            raise RuntimeError("response without Content-Length: " + head[:200].decode(errors="replace"))
        j = head.find(b"\r\n", i)
        length = int(head[i + 15:j if j > 0 else None])
        total = end + 4 + length
        if len(buf) < total:
            return
        status = int(head[9:12])
        body = bytes(buf[end + 4:total])
        del buf[:total]
        waiter, self.waiter = self.waiter, None
        waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


def _request_bytes(path: str, token: str, body: bytes, key: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Idempotency-Key: {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _generator(job: dict[str, Any], go: Any, out: Any) -> None:
    """Run the actors of `job` until its deadline; report counts, call latencies and own CPU."""
    loop = asyncio.get_running_loop()
    ports: list[int] = job["ports"]
    actors: list[dict[str, Any]] = job["actors"]
    conns: list[list[_Conn]] = []
    for a in actors:
        # one connection per server per actor: `split` actors alternate servers per command
        mine = []
        for port in (ports if job["split"] else [ports[a["server"] % len(ports)]]):
            _, proto = await loop.create_connection(_Conn, "127.0.0.1", port)
            mine.append(proto)
        conns.append(mine)
    tag = f"{os.getpid()}-"
    counter = 0
    commands = 0
    errors = 0
    empty = 0
    latencies: list[float] = []
    perf = time.perf_counter

    def key() -> str:
        nonlocal counter
        counter += 1
        return tag + str(counter)

    # wait for the go signal without blocking the loop's connections
    await loop.run_in_executor(None, go.wait)
    deadline = perf() + job["seconds"]
    cpu0 = time.process_time()

    async def issuer(a: dict[str, Any], cs: list[_Conn]) -> None:
        nonlocal commands, errors
        path = f"/api/v1/halls/{a['hall']}/tickets"
        n = 0
        while perf() < deadline:
            body = b'{"service":"%s"}' % "ABCD"[n % 4].encode()
            c = cs[n % len(cs)]
            n += 1
            t0 = perf()
            status, _ = await c.request(_request_bytes(path, a["token"], body, key()))
            commands += 1
            if status == 201:
                latencies.append((perf() - t0) * 1000)
            else:
                errors += 1

    async def window(a: dict[str, Any], cs: list[_Conn]) -> None:
        nonlocal commands, errors, empty
        base = f"/api/v1/halls/{a['hall']}/windows/{a['window']}/"
        tok = a["token"]
        n = 0
        interval = job.get("interval")  # paced: one call each `interval` s, windows spread over it
        # windows' phases spread evenly over the interval (golden-ratio sequence), never in step
        next_at = perf() + (a["index"] * 0.6180339887) % 1 * interval if interval else 0.0
        while perf() < deadline:
            if interval:
                wait = next_at - perf()
                if wait > 0:
                    await asyncio.sleep(wait)
                # behind schedule (the server is saturated): carry on at once, never in a burst
                next_at = max(next_at + interval, perf())
            c = cs[n % len(cs)]
            n += 1
            t0 = perf()
            status, body = await c.request(_request_bytes(base + "call-next", tok, b"{}", key()))
            ms = (perf() - t0) * 1000
            commands += 1
            if status != 200:
                errors += 1
                await asyncio.sleep(0.01)
                continue
            if b'"ticket":null' in body:
                empty += 1
                await asyncio.sleep(0.01)
                continue
            latencies.append(ms)
            for step in ("start", "finish"):
                c = cs[n % len(cs)]
                n += 1
                status, _ = await c.request(_request_bytes(base + step, tok, b"{}", key()))
                commands += 1
                if status != 200:
                    errors += 1

    start = perf()
    await asyncio.gather(*(issuer(a, cs) if a["kind"] == "issue" else window(a, cs)
                           for a, cs in zip(actors, conns, strict=True)))
    elapsed = perf() - start
    cpu = time.process_time() - cpu0
    for cs in conns:
        for c in cs:
            if c.transport:
                c.transport.close()
    out.put({"commands": commands, "errors": errors, "empty": empty, "latencies": latencies,
             "elapsed": elapsed, "cpu": cpu})


def _generator_main(job: dict[str, Any], go: Any, out: Any) -> None:
    try:
        import uvloop  # type: ignore[import-not-found]  # optional: a cheaper client loop

        uvloop.run(_generator(job, go, out))
    except ImportError:
        asyncio.run(_generator(job, go, out))


def drive(actors: list[dict[str, Any]], ports: list[int], seconds: float, generators: int, split: bool,
          measured: list[int], pg_pids: list[int], interval: float | None = None) -> dict[str, Any]:
    """Run the actors spread over `generators` processes; return throughput, latencies and CPU.
    With `interval`, each window starts a call every `interval` seconds (an offered load)
    instead of as soon as its last one was answered."""
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    out = ctx.Queue()
    procs = []
    for g in range(generators):
        job = {"actors": actors[g::generators], "ports": ports, "seconds": seconds, "split": split,
               "interval": interval}
        p = ctx.Process(target=_generator_main, args=(job, go, out), daemon=True)
        p.start()
        procs.append(p)
    time.sleep(1.5)  # spawn, import and connect before the clock starts
    server0, pg0 = cpu_of(measured), cpu_of(pg_pids)
    t0 = time.perf_counter()
    go.set()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    wall = time.perf_counter() - t0
    server_cpu, pg_cpu = cpu_delta(server0, cpu_of(measured)), cpu_delta(pg0, cpu_of(pg_pids))
    for p in procs:
        p.join(10)
    commands = sum(r["commands"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    lat = [x for r in results for x in r["latencies"]]
    return {"rate": len(lat) / elapsed, "commands_per_s": commands / elapsed, "latencies": lat,
            "errors": sum(r["errors"] for r in results), "empty": sum(r["empty"] for r in results),
            "server_us": server_cpu / max(commands, 1) * 1e6,
            "gen_us": sum(r["cpu"] for r in results) / max(commands, 1) * 1e6,
            "pg_us": pg_cpu / max(commands, 1) * 1e6, "wall": wall}


# ---------------------------------------------------------------- scenarios

async def _backend_pids(dsn: str) -> list[int]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                "AND pid <> pg_backend_pid()")
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


def _batch_metrics(url: str) -> tuple[float, float]:
    """(commands, batches) so far from the server's /metrics (loopback may read it)."""
    import urllib.request

    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    found = {}
    for line in text.splitlines():
        for name in ("hallqueue_batch_commands_sum", "hallqueue_batch_commands_count"):
            if line.startswith(name + " "):
                found[name] = float(line.split()[1])
    return found.get("hallqueue_batch_commands_sum", 0.0), found.get("hallqueue_batch_commands_count", 0.0)


def run_scenario(base: str, tmp: Path, *, name: str, halls: int, windows: int, issue: bool, seconds: float,
                 servers: int, generators: int, split: bool, redis_url: str | None,
                 env: dict[str, str] | None, profile_dir: Path | None = None,
                 yappi: bool = False, affinity: str = "hall", pace: float | None = None) -> dict[str, Any]:
    import aiohttp
    from core_bench import Client, fill, fresh_database, make_tokens, open_windows

    from queue_server.config import load_config
    from tests.support.configs import load_toml
    from tests.support.hall import prepare_database
    from tests.support.servers import ServerProcess

    dsn = asyncio.run(fresh_database(base))
    config_path = tmp / f"limit-{halls}x{windows}.toml"
    config_path.write_text(load_toml(halls=halls, windows=windows), encoding="utf-8")
    config = load_config(config_path, env={})
    asyncio.run(prepare_database(dsn, config))
    hall_ids = list(config.halls)
    tokens = asyncio.run(make_tokens(dsn, hall_ids, windows))
    with ExitStack() as stack:
        procs = [stack.enter_context(ServerProcess(config_path, database_url=dsn, log_dir=tmp, env=env,
                                                   redis_url=redis_url))
                 for _ in range(servers)]

        async def setup() -> None:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                client = Client(http, [p.url for p in procs])
                if not issue:
                    await fill(client, tokens, hall_ids, int(seconds * 1500 / len(hall_ids)) + 100)
                    await open_windows(client, tokens)

        asyncio.run(setup())
        if issue:
            actors = [{"kind": "issue", "index": i, "hall": hall_ids[0], "token": tokens[(hall_ids[0], 1)], "server": i}
                      for i in range(32)]
        else:
            # by hall: each hall's windows on one server; by window: a hall's windows spread over all
            actors = [{"kind": "window", "index": i, "hall": h, "window": w, "token": t,
                       "server": hall_ids.index(h) if affinity == "hall" else i}
                      for i, ((h, w), t) in enumerate(tokens.items())]
        ports = [p.port for p in procs]
        server_pids = [p.proc.pid for p in procs if p.proc]
        # the servers' pools open lazily: a short warm-up lets them reach their working size
        drive(actors, ports, min(1.0, seconds / 4), generators, split, server_pids, [])
        pg_pids = asyncio.run(_backend_pids(dsn))
        batches0 = [_batch_metrics(p.url) for p in procs]
        spies = []
        if profile_dir is not None:
            # sampled, without pausing the server (--nonblocking); collapsed stacks, one file per server
            import subprocess

            for pid in server_pids:
                out = profile_dir / f"{name.split(',')[0].replace(' ', '-')}-{halls}x{windows}-{pid}.txt"
                spies.append(subprocess.Popen(["py-spy", "record", "--nonblocking", "-r", "250", "-f", "raw",
                                               "-d", str(int(seconds)), "-p", str(pid), "-o", str(out)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(0.5)
        if yappi:
            for pid in server_pids:
                os.kill(pid, signal.SIGUSR1)
        interval = len(actors) / pace if pace and not issue else None
        result = drive(actors, ports, seconds, generators, split, server_pids, pg_pids, interval)
        for spy in spies:
            spy.wait(30)
        if yappi:
            for pid in server_pids:
                os.kill(pid, signal.SIGUSR2)
            time.sleep(3)  # written before the servers stop
        batches1 = [_batch_metrics(p.url) for p in procs]
        n_batches = sum(b[1] - a[1] for a, b in zip(batches0, batches1, strict=True))
        batched = sum(b[0] - a[0] for a, b in zip(batches0, batches1, strict=True))
        result["per_batch"] = batched / max(n_batches, 1)
        result["batches_per_s"] = n_batches / result["wall"]
    drop_database(base, dsn)
    result["name"] = name
    return result


def drop_database(base: str, dsn: str) -> None:
    """Drop a bench database once its servers are gone (each run makes five)."""
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1].split("?")[0]}"')
        finally:
            await conn.close()

    asyncio.run(go())


def raw_ceiling(base: str, seconds: float, connections: int) -> float:
    from core_bench import fresh_database, raw_commit_rate

    async def go() -> tuple[str, float]:
        dsn = await fresh_database(base)
        return dsn, await raw_commit_rate(dsn, seconds, connections)

    dsn, rate = asyncio.run(go())
    drop_database(base, dsn)
    return rate


SCENARIOS = {
    "issue": ("issue ticket, 32 clients", 1, 50, True),
    "call50": ("call-next, 50 windows in 1 hall (+ start + finish)", 1, 50, False),
    "call100": ("call-next, 100 windows over 20 halls (same loop)", 20, 5, False),
}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))]


def one_run(args: argparse.Namespace, base: str, tmp: Path, env: dict[str, str] | None) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for conns in (1, 32):
        rows[f"raw{conns}"] = {"rate": raw_ceiling(base, args.seconds / 2, conns)}
    for key in scenario_keys(args):
        scenario, _, pace = key.partition("@")
        name, halls, windows, issue = SCENARIOS[scenario]
        r = run_scenario(base, tmp, name=name, halls=halls, windows=windows, issue=issue, seconds=args.seconds,
                         servers=args.servers, generators=args.generators, split=args.split,
                         redis_url=args.redis_url, env=env,
                         profile_dir=Path(args.profile) if args.profile else None, yappi=bool(args.yappi),
                         affinity=args.affinity, pace=float(pace) if pace else None)
        r["p50"], r["p99"] = pct(r["latencies"], 50), pct(r["latencies"], 99)
        r["ratio1"] = r["rate"] / rows["raw1"]["rate"]
        r["ratio32"] = r["rate"] / rows["raw32"]["rate"]
        del r["latencies"]
        rows[key] = r
        print(f"  {key}: {r['rate']:.0f}/s p50 {r['p50']:.1f} p99 {r['p99']:.1f} server {r['server_us']:.0f} µs/cmd "
              f"gen {r['gen_us']:.0f} pg {r['pg_us']:.0f} batch {r['per_batch']:.1f} × {r['batches_per_s']:.0f}/s errors {r['errors']} empty {r['empty']}",
              file=sys.stderr, flush=True)
    return rows


def scenario_keys(args: argparse.Namespace) -> list[str]:
    """The rows to run: each of --only, then each window scenario of --only at each --pace."""
    keys = args.only.split(",")
    paces = [p for p in (args.pace or "").split(",") if p]
    return keys + [f"{k}@{p}" for p in paces for k in keys if not SCENARIOS[k][3]]


def machine_line() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=os.environ.get("QUEUE_DATABASE_URL"))
    p.add_argument("--redis-url", default=None, help="servers fan out over this Redis (needed with --servers > 1)")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--servers", type=int, default=1)
    p.add_argument("--generators", type=int, default=2)
    p.add_argument("--affinity", choices=("hall", "window"), default="hall",
                   help="with several servers: each hall's windows on one server (hall), or spread (window)")
    p.add_argument("--split", action="store_true", help="each window's commands alternate between the servers")
    p.add_argument("--only", default="issue,call50,call100")
    p.add_argument("--pace", metavar="CALLS_PER_S[,…]", help="also run each call-next scenario at these offered "
                   "loads: every window starts a call at a fixed interval (calls/s over all its windows) "
                   "instead of as soon as its last one was answered")
    p.add_argument("--profile", metavar="DIR", help="py-spy each server during the measured interval "
                   "(collapsed stacks in DIR; py-spy must be on PATH)")
    p.add_argument("--yappi", metavar="DIR", help="profile the servers' CPU time with yappi (installed by hand) "
                   "during the measured interval only; pstats files in DIR")
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                   help="add to the servers' environment (e.g. QUEUE_EVENT_LOOP=asyncio)")
    p.add_argument("--pythonpath", help="the servers' PYTHONPATH (they import queue_server from the current "
                   "directory first: to measure another checkout, run this bench from its directory)")
    args = p.parse_args()
    if not args.database_url:
        sys.exit("--database-url (or QUEUE_DATABASE_URL) is required")
    env = {"PYTHONPATH": args.pythonpath} if args.pythonpath else {}
    env.update(kv.split("=", 1) for kv in args.server_env)
    if args.yappi:
        env["PYTHONPATH"] = str(ROOT / "bench" / "yappi_site")
        env["YAPPI_OUT"] = str(Path(args.yappi).resolve() / "server")
    runs = []
    loads = []
    with tempfile.TemporaryDirectory() as d:
        for i in range(args.runs):
            loads.append(os.getloadavg()[0])
            print(f"run {i + 1}/{args.runs} (load {loads[-1]:.1f})", file=sys.stderr, flush=True)
            runs.append(one_run(args, args.database_url, Path(d), env))
    loads.append(os.getloadavg()[0])
    med = statistics.median

    def m(key: str, field: str) -> float:
        return med(r[key][field] for r in runs)

    import asyncpg

    async def pg_version() -> str:
        c = await asyncpg.connect(args.database_url)
        try:
            return str(await c.fetchval("SHOW server_version"))
        finally:
            await c.close()

    print()
    print(f"machine: {machine_line()}; PostgreSQL {asyncio.run(pg_version())}; {args.servers} server process(es)"
          f"{' (split: every window alternates servers)' if args.split else f' ({args.affinity} affinity)' if args.servers > 1 else ''}, {args.generators} generator process(es); {args.seconds:.0f} s per "
          f"row; median of {args.runs} run(s); load average (1 min) {min(loads):.1f}–{max(loads):.1f}")
    print()
    print("| scenario | per second | p50 ms | p99 ms | ÷ raw 1 conn | ÷ raw 32 conns | commands/s "
          "| commands per batch | batches/s | server CPU µs/cmd | generator CPU µs/cmd | PostgreSQL CPU µs/cmd |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(f"| raw single-row commits, 1 / 32 connections | {m('raw1', 'rate'):,.0f} / {m('raw32', 'rate'):,.0f} "
          "| | | 1 | 1 | | | | | | |")
    for key in scenario_keys(args):
        scenario, _, pace = key.partition("@")
        name = SCENARIOS[scenario][0] + (f", {float(pace):,.0f} calls/s offered" if pace else "")
        print(f"| {name} | {m(key, 'rate'):,.0f} | {m(key, 'p50'):.1f} | {m(key, 'p99'):.1f} "
              f"| {m(key, 'ratio1'):.2f} | {m(key, 'ratio32'):.3f} | {m(key, 'commands_per_s'):,.0f} "
              f"| {m(key, 'per_batch'):.1f} | {m(key, 'batches_per_s'):,.0f} "
              f"| {m(key, 'server_us'):.0f} | {m(key, 'gen_us'):.0f} | {m(key, 'pg_us'):.0f} |")


if __name__ == "__main__":
    main()
