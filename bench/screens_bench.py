"""Benchmark of the live screens: publish → the last simulated screen receiving the event.

Runs the screen routes in this process (in-memory hall callables) and simulates screens in
child processes, each holding many bare websocket protocols (see the simulator below).
Prints p50/p99 of "publish → last screen has it" per event and of every single delivery,
and the server's RSS per 5000 connections.

    .venv/bin/python bench/screens_bench.py                 # the standard table
    .venv/bin/python bench/screens_bench.py --screens 1000 --halls 1 --events 50

The simulator (`ScreenSwarm`, `simulate_screens`) only needs URLs and tokens, so it is pointed at
real server processes by bench/screens_e2e_bench.py (the real call-next HTTP path). Timestamps: each
event carries `payload.sent_ns` (time.time_ns() at publish); screens on the same machine
compare it with their own time.time_ns() when the frame arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import multiprocessing
import os
import resource
import select
import socket
import statistics
import sys
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOKEN = "bench-token"


# -- the screen simulator (reusable) ------------------------------------------------------
#
# Each simulated screen is a bare non-blocking socket speaking just enough websocket
# (RFC 6455) for queue.v1: the handshake, unmasked server frames, pong for ping; one epoll
# loop per simulator process. No task, no message object and no JSON parse per frame: a
# screen stamps the time a frame arrives and reads its seq from the frame's fixed prefix;
# the first screen of a process to get an event parses it once, for its kind, ticket number
# and `payload.sent_ns`. This keeps the simulator's own cost per delivery (it shares the
# machine with the server) to a few microseconds.

EVENT_PREFIX = b'{"type":"event","seq":'
SNAPSHOT_PREFIX = b'{"type":"snapshot"'
ERROR_PREFIX = b'{"type":"error"'


@dataclass
class Deliveries:
    """What a set of screens received, per event (hall, seq): how many screens got it and
    when the first and the last did (time.time_ns()); `samples` holds every arrival time at
    the sampled screens; `events` the event itself (kind, ticket number, payload.sent_ns)."""

    received: dict[tuple[str, int], list[int]] = field(default_factory=dict)  # [n, first, last]
    samples: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    events: dict[tuple[str, int], tuple[str, str | None, int | None]] = field(default_factory=dict)
    connected: int = 0
    failed: int = 0
    closed_early: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0  # the simulator's own CPU time while receiving (all processes)

    def merge(self, other: Deliveries) -> None:
        for key, (n, first, last) in other.received.items():
            mine = self.received.get(key)
            if mine is None:
                self.received[key] = [n, first, last]
            else:
                mine[0] += n
                mine[1] = min(mine[1], first)
                mine[2] = max(mine[2], last)
        for key, values in other.samples.items():
            self.samples.setdefault(key, []).extend(values)
        for key, event in other.events.items():
            self.events.setdefault(key, event)
        self.connected += other.connected
        self.failed += other.failed
        self.closed_early += other.closed_early
        for code, n in other.errors.items():
            self.errors[code] = self.errors.get(code, 0) + n
        self.cpu_seconds += other.cpu_seconds


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _event_info(payload: bytes) -> tuple[str, str | None, int | None]:
    event = json.loads(payload)["event"]
    ticket = event.get("ticket") or {}
    sent = (event.get("payload") or {}).get("sent_ns")
    return event.get("kind", ""), ticket.get("number"), sent if isinstance(sent, int) else None


class _Screen:
    """One simulated screen: a non-blocking socket speaking just enough websocket."""

    __slots__ = ("sim", "index", "hall", "sock", "fd", "request", "address", "sampled",
                 "buffer", "upgraded", "ready", "attempts")

    def __init__(self, sim: _Screens, index: int, hall: str, url: str, token: str,
                 sampled: bool) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.sim = sim
        self.index = index
        self.hall = hall
        self.address = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.request = _upgrade_request(parsed.netloc, hall, token)
        self.sampled = sampled
        self.sock: socket.socket | None = None
        self.fd = -1
        self.buffer = b""
        self.upgraded = False
        self.ready = False
        self.attempts = 0

    def connect(self, poller: select.epoll) -> None:
        self.attempts += 1
        self.buffer, self.upgraded = b"", False
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect_ex(self.address)
        self.sock, self.fd = sock, sock.fileno()
        poller.register(self.fd, select.EPOLLOUT)

    def connected(self, poller: select.epoll) -> None:
        """Writable after connect(): send the handshake."""
        assert self.sock is not None
        error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise ConnectionError(os.strerror(error))
        self.sock.sendall(self.request)
        poller.modify(self.fd, select.EPOLLIN)

    def close(self, poller: select.epoll) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError, ValueError):
                poller.unregister(self.fd)
            self.sock.close()
            self.sock, self.fd = None, -1

    def feed(self, data: bytes, now: int) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            status = buffer[:buffer.find(b"\r\n")]
            if b" 101 " not in status:
                raise ConnectionError(status.decode("latin-1"))
            self.upgraded = True
            buffer = buffer[end + 4:]
        start, size = 0, len(buffer)
        while size - start >= 2:
            opcode, length = buffer[start] & 0x0F, buffer[start + 1] & 0x7F
            head = 2
            if length == 126:
                if size - start < 4:
                    break
                length, head = int.from_bytes(buffer[start + 2:start + 4], "big"), 4
            elif length == 127:
                if size - start < 10:
                    break
                length, head = int.from_bytes(buffer[start + 2:start + 10], "big"), 10
            end = start + head + length
            if end > size:
                break
            self.frame(opcode, buffer[start + head:end], now)
            start = end
        self.buffer = buffer[start:] if start < size else b""

    def frame(self, opcode: int, payload: bytes, now: int) -> None:
        if opcode == 1:
            if payload.startswith(EVENT_PREFIX):
                if self.ready:
                    seq = int(payload[22:payload.index(b",", 22)])
                    self.sim.arrived((self.hall, seq), now, payload, self.sampled)
            elif payload.startswith(SNAPSHOT_PREFIX):
                self.ready = True
            elif payload.startswith(ERROR_PREFIX):
                code = json.loads(payload).get("code", "?")
                errors = self.sim.deliveries.errors
                errors[code] = errors.get(code, 0) + 1
        elif opcode == 9 and self.sock is not None:  # ping → pong, masked with a zero key
            self.sock.send(bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0" + payload)
        elif opcode == 8:
            raise ConnectionError("closed by the server")


class _Screens:
    """The screens of one simulator process and what they received."""

    def __init__(self) -> None:
        self.deliveries = Deliveries()

    def arrived(self, key: tuple[str, int], now: int, payload: bytes, sampled: bool) -> None:
        received = self.deliveries.received.get(key)
        if received is None:
            self.deliveries.received[key] = [1, now, now]
            self.deliveries.events[key] = _event_info(payload)
        else:
            received[0] += 1
            if now > received[2]:
                received[2] = now
        if sampled:
            self.deliveries.samples.setdefault(key, []).append(now)


def _upgrade_request(host: str, hall: str, token: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET /ws/v1/halls/{hall}?token={urllib.parse.quote(token)} HTTP/1.1\r\n"
            f"Host: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: queue.v1\r\n\r\n").encode()


def simulate_screens(urls: str | Sequence[str], halls: Sequence[str], count: int, *,
                     token: str | Mapping[str, str] = TOKEN,
                     ready: Callable[[int, int], None] | None = None,
                     stop_fd: int, concurrency: int = 100, sample_every: int = 1,
                     first_index: int = 0, connect_timeout: float = 180.0) -> Deliveries:
    """Open `count` screens, numbered from `first_index`: screen g on hall
    `halls[g % len(halls)]`, each hall's screens spread round-robin over `urls`
    (http://host:port of each server process), at most `concurrency` handshakes at once;
    call `ready(connected, failed)` once each has its snapshot (or gave up), then record
    every event until `stop_fd` is readable. `token` is one display token, or one per hall.
    Screens whose number is a multiple of `sample_every` keep every arrival time.

    One epoll loop, no asyncio: per delivery, a recv and a few byte comparisons."""
    url_list = [urls] if isinstance(urls, str) else list(urls)
    sim = _Screens()
    deliveries = sim.deliveries
    poller = select.epoll()
    screens: dict[int, _Screen] = {}  # by fd
    waiting = deque(
        _Screen(sim, g, halls[g % len(halls)], url_list[(g // len(halls)) % len(url_list)],
                token if isinstance(token, str) else token[halls[g % len(halls)]],
                g % sample_every == 0)
        for g in range(first_index, first_index + count))
    connecting = 0
    retry_at: list[tuple[float, _Screen]] = []
    deadline = time.monotonic() + connect_timeout

    def failed(screen: _Screen, why: object) -> None:
        nonlocal connecting
        screens.pop(screen.fd, None)
        screen.close(poller)
        if screen.ready:  # lost after its snapshot
            deliveries.closed_early += 1
            return
        connecting -= 1
        if screen.attempts < 5:
            retry_at.append((time.monotonic() + 0.2 * screen.attempts, screen))
        else:
            print(f"  screen {screen.index} of {screen.hall}: {why}", file=sys.stderr)
            deliveries.failed += 1

    # Connect.
    while (waiting or connecting or retry_at) and time.monotonic() < deadline:
        now_mono = time.monotonic()
        for item in [item for item in retry_at if item[0] <= now_mono]:
            retry_at.remove(item)
            waiting.appendleft(item[1])
        while waiting and connecting < concurrency:
            screen = waiting.popleft()
            screen.connect(poller)
            screens[screen.fd] = screen
            connecting += 1
        for fd, mask in poller.poll(0.05):
            screen = screens[fd]
            was_ready = screen.ready
            try:
                if not screen.upgraded and mask & select.EPOLLOUT:
                    screen.connected(poller)
                    continue
                data = screen.sock.recv(65536)  # type: ignore[union-attr]
                if not data:
                    raise ConnectionError("closed by the server")
                screen.feed(data, time.time_ns())
            except OSError as exc:
                failed(screen, exc)
                continue
            if screen.ready and not was_ready:
                connecting -= 1
                deliveries.connected += 1
    for screen in list(screens.values()):
        if not screen.ready:
            print(f"  screen {screen.index}: no snapshot in {connect_timeout:.0f} s",
                  file=sys.stderr)
            deliveries.failed += 1
            screens.pop(screen.fd)
            screen.close(poller)
    deliveries.failed += len(waiting) + len(retry_at)

    gc.collect()
    gc.freeze()  # nothing the screens hold needs collecting: keep GC pauses out of timings
    if ready is not None:
        ready(deliveries.connected, deliveries.failed)

    # Receive until told to stop, then half a second more for stragglers.
    cpu = time.process_time()
    poller.register(stop_fd, select.EPOLLIN)
    stop_by: float | None = None
    recv = os.read
    time_ns = time.time_ns
    while stop_by is None or time.monotonic() < stop_by:
        for fd, _mask in poller.poll(0.1):
            if fd == stop_fd:
                poller.unregister(stop_fd)
                stop_by = time.monotonic() + 0.5
                continue
            screen = screens[fd]
            try:
                data = recv(fd, 65536)
                if not data:
                    raise ConnectionError("closed")
                screen.feed(data, time_ns())
            except OSError:
                screens.pop(fd)
                screen.close(poller)
                deliveries.closed_early += 1
    deliveries.cpu_seconds = time.process_time() - cpu
    for screen in screens.values():
        screen.close(poller)
    poller.close()
    return deliveries


def _screen_process(urls: list[str], halls: list[str], count: int,
                    token: str | dict[str, str], sample_every: int, first_index: int,
                    pipe: Any) -> None:
    """A child process: open the screens, say ready, wait for "stop", send deliveries."""
    raise_fd_limit()
    deliveries = simulate_screens(
        urls, halls, count, token=token, stop_fd=pipe.fileno(), sample_every=sample_every,
        first_index=first_index, ready=lambda ok, failed: pipe.send(("ready", ok, failed)))
    pipe.recv()  # "stop"
    pipe.send(("done", deliveries))


class ScreenSwarm:
    """`count` screens in `processes` child processes (spawned, so no loop is inherited).

    `urls`: one server URL, or several (each hall's screens are spread over them)."""

    def __init__(self, urls: str | Sequence[str], halls: Sequence[str], count: int, *,
                 processes: int = 2, token: str | Mapping[str, str] = TOKEN,
                 sample_every: int = 1) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        self.halls, self.count = list(halls), count
        self.token = token if isinstance(token, str) else dict(token)
        self.processes = max(1, min(processes, count))
        self.sample_every = sample_every
        self._children: list[tuple[Any, Any]] = []

    async def start(self) -> tuple[int, int]:
        """Start and wait until every screen has its snapshot; (connected, failed)."""
        context = multiprocessing.get_context("spawn")
        share, extra = divmod(self.count, self.processes)
        first = 0
        for index in range(self.processes):
            n = share + (1 if index < extra else 0)
            # Child k opens screens first … first+n-1: the halls and servers one process
            # would have given them.
            parent, child = context.Pipe()
            process = context.Process(
                target=_screen_process,
                args=(self.urls, self.halls, n, self.token, self.sample_every, first, child),
                daemon=True)
            process.start()
            self._children.append((process, parent))
            first += n
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

    def kill(self) -> None:
        """Stop the children without collecting anything (after a failure)."""
        for process, _pipe in self._children:
            if process.is_alive():
                process.kill()
        self._children.clear()


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
    publish_us: float  # time spent in hub.publish per event (encode, frame, queue)
    round_ms: float  # time of one write round to the hall's screens (hub._flush), mean
    round_cpu_ms: float  # its CPU time


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
        rounds: list[tuple[int, int]] = []
        write_round = hub._flush

        def timed_round(hall: str) -> None:  # the hub's write round, timed
            started, cpu = time.perf_counter_ns(), time.thread_time_ns()
            write_round(hall)
            rounds.append((time.perf_counter_ns() - started, time.thread_time_ns() - cpu))

        hub._flush = timed_round  # type: ignore[method-assign]
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
    expected = connected * events
    received = sum(n for n, _first, _last in deliveries.received.values())
    sent = {key: event[2] for key, event in deliveries.events.items() if event[2]}
    last = [(deliveries.received[key][2] - at) / 1e6 for key, at in sent.items()]
    each = [(arrival - sent[key]) / 1e6 for key, arrivals in deliveries.samples.items()
            if key in sent for arrival in arrivals]
    per_connection = (rss_after - rss_before) / max(1, connected)
    if failed:
        print(f"  {name}: {failed} screens failed to connect", file=sys.stderr)
    return Result(name, screens, halls, connected, events * halls,
                  percentile(last, 50), percentile(last, 99),
                  percentile(each, 50), percentile(each, 99),
                  received / expected if expected else 0.0,
                  per_connection * 5000 / 2**20,
                  statistics.mean(publish_ns) / 1e3 if publish_ns else 0.0,
                  statistics.mean(r[0] for r in rounds) / 1e6 if rounds else 0.0,
                  statistics.mean(r[1] for r in rounds) / 1e6 if rounds else 0.0)


def print_table(results: Sequence[Result]) -> None:
    header = (f"{'scenario':<26}{'screens':>8}{'halls':>6}{'events':>7}"
              f"{'last p50':>10}{'last p99':>10}{'each p50':>10}{'each p99':>10}"
              f"{'got':>8}{'publish':>10}{'round':>9}{'cpu':>8}{'RSS/5000':>10}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.name:<26}{r.connected:>8}{r.halls:>6}{r.events:>7}"
              f"{r.last_p50_ms:>8.1f}ms{r.last_p99_ms:>8.1f}ms"
              f"{r.each_p50_ms:>8.1f}ms{r.each_p99_ms:>8.1f}ms"
              f"{r.complete:>7.1%} {r.publish_us:>7.0f}µs{r.round_ms:>7.1f}ms"
              f"{r.round_cpu_ms:>6.1f}ms{r.rss_per_5000_mib:>7.0f}MiB")
    print("\nlast = publish → the last screen of the hall has the event (per event);"
          "\neach = publish → one screen has it (every delivery); publish = time inside"
          "\nhub.publish (encode once, build the websocket frame once, queue it);"
          "\nround = one write round of the hub to every screen of the hall (wall, and"
          "\nits CPU time); RSS/5000 = server RSS growth per connection × 5000."
          "\nScreens run in child processes on the same machine"
          f" ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}).")


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
