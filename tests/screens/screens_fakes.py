"""An in-memory hall for the screen tests: a snapshot plus a ledger, kept consistent by
folding each new event with the same reducer the screens use, and the callables
`add_screen_routes` needs. Not a model of dispatch: just enough to drive the screens."""

from __future__ import annotations

import copy
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from display_client.state import apply_event
from queue_server.web.hub import Hub
from queue_server.web.missing import KnownHall
from queue_server.web.screens import add_screen_routes

TOKEN = "display-secret"
SHANGHAI = ZoneInfo("Asia/Shanghai")


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 9, 0, 0, tzinfo=SHANGHAI)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=3)
        return self.now


def staff(staff_id: str, name: str, *, stand_in: bool = False) -> dict[str, Any]:
    return {"id": staff_id, "name": name, "photo_url": None, "stand_in": stand_in}


def window(number: int, area: str, services: list[str], *, state: str = "open",
           pause_reason: str | None = None, on_duty: dict[str, Any] | None = None,
           name: str | None = None) -> dict[str, Any]:
    return {"number": number, "name": name or f"{number} 号窗口", "area": area,
            "services": services, "state": state, "pause_reason": pause_reason,
            "staff": on_duty, "current": None}


def initial_snapshot(hall: str = "gongshu", *, voice: bool = True) -> dict[str, Any]:
    return {
        "hall": hall, "name": "拱墅区行政服务中心", "seq": 0,
        "business_day": "2026-11-30", "at": "2026-11-30T09:00:00+08:00", "voice": voice,
        "areas": [{"code": "business", "name": "商事登记区"},
                  {"code": "social", "name": "社保医保区"}],
        "services": [
            {"code": "A", "name": "企业开办", "area": "business", "waiting": 12,
             "estimated_wait_minutes": 24, "quota_left": 180},
            {"code": "B", "name": "变更登记", "area": "business", "waiting": 5,
             "estimated_wait_minutes": 15, "quota_left": 90},
            {"code": "C", "name": "社保参保", "area": "social", "waiting": 8,
             "estimated_wait_minutes": 16, "quota_left": 150},
            {"code": "D", "name": "医保报销", "area": "social", "waiting": 0,
             "estimated_wait_minutes": 0, "quota_left": 200},
            {"code": "E", "name": "不动产登记", "area": "business", "waiting": 3,
             "estimated_wait_minutes": 9, "quota_left": 60},
        ],
        "windows": [
            window(1, "business", ["A", "B"], on_duty=staff("1001", "张三")),
            window(2, "business", ["A", "E"], on_duty=staff("1002", "李四")),
            window(3, "business", ["B"], state="paused", pause_reason="午休",
                   on_duty=staff("1003", "王五")),
            window(5, "social", ["C", "D"], on_duty=staff("1005", "赵敏", stand_in=True)),
            window(6, "social", ["C"], state="closed"),
        ],
        "recent_calls": [],
        "notices": ["请保管好随身物品", "取号后请留意叫号屏幕和语音提示"],
        "civility": {
            "greeting": ["您好，请坐。", "您好，请问您要办理什么业务？"],
            "serving": ["请稍候，我马上为您办理。", "请您提供办件所需材料。"],
            "finished": ["您的手续已办好，请核对。", "请您对本次服务进行评价。"],
            "farewell": ["请慢走，再见。"],
            "hall": ["文明办事，有序等候", "办事不求人，服务有温度"],
        },
    }


@dataclass
class FakeHall:
    """One hall's snapshot and ledger, plus the callables the screens are wired with."""

    hall: str = "gongshu"
    voice: bool = True
    clock: FakeClock = field(default_factory=FakeClock)
    retained_from: int = 1  # events before this seq are "archived": resync gets a snapshot
    fail_snapshot: bool = False

    def __post_init__(self) -> None:
        self.snapshot = initial_snapshot(self.hall, voice=self.voice)
        self.ledger: list[dict[str, Any]] = []
        self.snapshot_calls = 0

    # -- changing the hall (each returns the committed event) --------------------------

    def record(self, kind: str, *, ticket: dict[str, Any] | None = None,
               window_number: int | None = None, services: list[dict[str, Any]] | None = None,
               payload: dict[str, Any] | None = None,
               change_window: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        win = None
        if window_number is not None:
            win = copy.deepcopy(self.window(window_number))
            if change_window is not None:
                change_window(win)
        event = {"seq": self.snapshot["seq"] + 1, "at": self.clock().isoformat(),
                 "kind": kind, "hall": self.hall, "ticket": ticket, "window": win,
                 "services": services or [], "payload": payload or {}}
        self.snapshot = apply_event(self.snapshot, event)
        self.ledger.append(event)
        return copy.deepcopy(event)

    def window(self, number: int) -> dict[str, Any]:
        return next(w for w in self.snapshot["windows"] if w["number"] == number)

    def service(self, code: str) -> dict[str, Any]:
        return next(s for s in self.snapshot["services"] if s["code"] == code)

    def call(self, number: str, window_number: int, calls: int = 1) -> dict[str, Any]:
        service = number[0]
        changed = dict(self.service(service))
        if calls == 1:
            changed["waiting"] = max(0, changed["waiting"] - 1)
        ticket = {"number": number, "service": service, "status": "called", "calls": calls,
                  "window": window_number}

        def set_current(win: dict[str, Any]) -> None:
            win["current"] = {"number": number, "service": service, "status": "called",
                              "calls": calls}

        return self.record("ticket_recalled" if calls > 1 else "ticket_called", ticket=ticket,
                           window_number=window_number, change_window=set_current,
                           services=[changed] if calls == 1 else [])

    def start_service(self, window_number: int) -> dict[str, Any]:
        current = dict(self.window(window_number)["current"])
        current["status"] = "serving"

        def set_current(win: dict[str, Any]) -> None:
            win["current"] = current

        return self.record("service_started", ticket={**current, "window": window_number},
                           window_number=window_number, change_window=set_current)

    def finish(self, window_number: int) -> dict[str, Any]:
        current = dict(self.window(window_number)["current"])

        def clear(win: dict[str, Any]) -> None:
            win["current"] = None

        return self.record("ticket_finished", ticket={**current, "status": "finished",
                                                      "window": window_number},
                           window_number=window_number, change_window=clear)

    def issue(self, service: str) -> dict[str, Any]:
        changed = dict(self.service(service))
        changed["waiting"] += 1
        number = f"{service}{changed['quota_left']:03d}"
        changed["quota_left"] -= 1
        return self.record("ticket_issued", ticket={"number": number, "service": service,
                                                    "status": "waiting", "calls": 0,
                                                    "window": None},
                           services=[changed])

    def pause(self, window_number: int, reason: str) -> dict[str, Any]:
        def paused(win: dict[str, Any]) -> None:
            win["state"], win["pause_reason"] = "paused", reason

        return self.record("window_paused", window_number=window_number, change_window=paused)

    def post_notices(self, notices: list[str]) -> dict[str, Any]:
        return self.record("notice_posted", payload={"notices": notices})

    # -- what add_screen_routes is wired with ------------------------------------------

    async def get_snapshot(self, hall: str) -> dict[str, Any]:
        self.snapshot_calls += 1
        if self.fail_snapshot:
            raise ConnectionRefusedError("fake store is down")
        return copy.deepcopy(self.snapshot)

    async def events_after(self, hall: str, after: int, limit: int) -> list[dict[str, Any]] | None:
        if after + 1 < self.retained_from or after > self.snapshot["seq"]:
            return None
        return copy.deepcopy([e for e in self.ledger if e["seq"] > after][:limit])

    async def latest_seq(self, hall: str) -> int:
        return self.snapshot["seq"]

    async def authenticate(self, hall: str, token: str) -> str:
        return "allowed" if token == TOKEN else "unknown"

    def halls(self) -> list[KnownHall]:
        windows = tuple(sorted(w["number"] for w in self.snapshot["windows"]))
        return [KnownHall(self.hall, self.snapshot["name"], windows)]


def screen_app(fake: FakeHall, hub: Hub, **options: Any) -> web.Application:
    app = web.Application()
    add_screen_routes(app, hub=hub, snapshot=fake.get_snapshot, events_after=fake.events_after,
                      authenticate_display=fake.authenticate, latest_seq=fake.latest_seq,
                      halls=fake.halls(), clock=fake.clock, **options)
    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ScreenServer:
    """The screen routes on a fixed port, so a test can stop and restart the server."""

    def __init__(self, fake: FakeHall, hub: Hub, port: int | None = None, **options: Any):
        self.fake, self.hub, self.options = fake, hub, options
        self.port = port or free_port()
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.runner = web.AppRunner(screen_app(self.fake, self.hub, **self.options),
                                    shutdown_timeout=1.0)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
