"""Demo history: months of a hall's operation made by driving the real domain with a simulated clock.

For each hall and business day (the hall's weekdays and hours) a discrete-event simulation
plays the people of DOMAIN.md: citizens arrive by weekday and hour (morning peak 9–11,
afternoon peak 14–16, a lunch dip, Monday busiest, Friday afternoon light) for a mix of
services, a few with a priority class; staff sign in to their windows, call the next ticket
by the window's rules, recall, start, finish, transfer, suspend, mark no-shows missed, pause
for lunch and short breaks and sign out at closing; the guide desk restores some missed
tickets; some citizens cancel; tickets left at closing are closed by the next day's first
command exactly as QueueService._roll_over does; ~60 % of finished tickets are rated and a
bad rating opens a follow-up that the manager calls back, rectifies and closes (mostly on
time, some late, the latest still open).

Every change goes through HallState's commands and becomes a ledger row by the same function
live operation uses (service/ledger_rows.py), so the hash chain, the public events and the
projection rebuilt from them are those the server would have written. The rows are handed
to a HistoryStore in large chunks (the adapter writes them with COPY).

Deterministic for a seed: each hall draws from its own random.Random seeded by (seed, hall),
ticket ids and holder secrets included (same formats as domain/hall.new_ticket_id and
new_holder_secret).
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ..config import Config
from ..domain.errors import QueueError
from ..domain.hall import HallState
from ..domain.layout import Hall
from ..domain.ledger import LedgerRow, genesis_hash
from ..domain.model import (
    ACTIVE_STATUSES,
    SYSTEM,
    Actor,
    Event,
    StaffId,
    StaffOnDuty,
    Ticket,
    TicketId,
    TicketStatus,
    WindowState,
)
from .ledger_rows import ledger_row
from .ports import Connection, Database, HallHead
from .ratings import BAD, LEVEL_CODES
from .writes import FollowUpInsert, RatingInsert

# ---- what is written, and where --------------------------------------------------------------


@dataclass
class FollowUpRecord:
    """A bad rating's follow-up as the follow_ups table ends up holding it."""

    insert: FollowUpInsert
    window: int | None
    status: str = "open"
    called_back_at: datetime | None = None
    rectified_at: datetime | None = None
    closed_at: datetime | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Chunk:
    """Rows ready to be written, in an order the tables' references accept: tickets, then the
    ledger, ratings (of written tickets), follow-ups (of written ratings), counters, windows."""

    hall: str
    tickets: list[tuple[Ticket, int]] = field(default_factory=list)  # (ticket, changed_seq)
    ledger: list[LedgerRow] = field(default_factory=list)
    ratings: list[RatingInsert] = field(default_factory=list)
    follow_ups: list[FollowUpRecord] = field(default_factory=list)
    counters: list[tuple[str, date, str, int]] = field(default_factory=list)
    windows: list[tuple[WindowState, int]] = field(default_factory=list)  # (window, changed_seq)


class HistoryStore(Protocol):
    """Where a generated history goes (adapters/history.py on PostgreSQL)."""

    async def lock_and_count(self, conn: Connection, hall: str) -> int:
        """Lock the hall's row; the number of ledger rows it already has."""
        ...

    async def write(self, conn: Connection, chunk: Chunk) -> None: ...

    async def set_head(self, conn: Connection, head: HallHead) -> None: ...

    async def rebuild_stats(self, conn: Connection, hall: str, tz: ZoneInfo, day_starts: day_time) -> tuple[int, int, int]:
        """Rebuild the hall's projection from its ledger: (rows read, visits, sessions)."""
        ...


class HistoryRefused(Exception):
    """A named hall already has a history: generated and real rows are never mixed."""


# ---- people -----------------------------------------------------------------------------------

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方邹熊白孟秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建文斌宇浩凯健俊帆晨欣怡婷雪琳颖佳露倩瑶梦晓雯"
_INITIALS = {"gongshu": "gs", "hushu": "hs", "xiangfu": "xf"}
_BREAKS = (("临时离开", 0.45, 3, 12), ("咨询", 0.25, 3, 10), ("材料核验", 0.2, 5, 15),
           ("业务培训", 0.05, 20, 40), ("系统故障", 0.05, 5, 25))
_GREEN_REASONS = ("行动不便老人陪同办理", "急需办理就医报销", "重点项目紧急申报")
_PRIORITIES = (("elderly", 0.05), ("disabled", 0.006), ("pregnant", 0.005), ("military", 0.003),
               ("critical", 0.001), ("green", 0.004))
_LEVELS = ((5, 0.78), (4, 0.17), (3, 0.02), (2, 0.02), (1, 0.01))
_DIMENSIONS = ("overall", "efficiency", "competence", "attitude")
_WEEKDAY = {1: 1.3, 2: 1.05, 3: 1.0, 4: 1.0, 5: 0.9, 6: 0.6, 7: 0.5}
_CALLBACK_NOTES = ("已电话回访，群众表示理解", "已回访，向群众致歉并说明情况", "已回访，群众接受解释")
_RECTIFY_NOTES = ("已约谈窗口人员并组织业务培训", "已优化材料清单并一次性告知到位", "已调整高峰时段窗口配置")


def _hour_weight(hour: float, weekday: int) -> float:
    """Relative arrivals at a local time of day: peaks 9–11 and 14–16, a dip over lunch."""
    if hour < 9:
        w = 0.8
    elif hour < 11:
        w = 1.6
    elif hour < 12:
        w = 1.1
    elif hour < 13.5:
        w = 0.45
    elif hour < 14:
        w = 0.9
    elif hour < 16:
        w = 1.4
    else:
        w = 0.7
    if weekday == 5 and hour >= 12:
        w *= 0.55  # Friday afternoon is light
    return w


def token(rng: random.Random, nbytes: int) -> str:
    """secrets.token_urlsafe(nbytes), drawn from `rng`."""
    return base64.urlsafe_b64encode(rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")).rstrip(b"=").decode()


@dataclass
class _Win:
    number: int
    services: tuple[str, ...]
    area: str
    main: StaffOnDuty
    relief: StaffOnDuty
    staff: StaffOnDuty | None = None
    actor: Actor | None = None
    close_at: datetime | None = None
    forget_close: bool = False
    pauses: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    idle: bool = False
    waking: bool = False
    token: int = 0
    done: bool = True


# ---- one hall -------------------------------------------------------------------------------


class HallSimulation:
    """One hall's history, day after day; rows come out through `take()`."""

    def __init__(self, config: Config, hall: Hall, seed: int, volume: float) -> None:
        self.tz: ZoneInfo = config.timezone
        self.day_starts = config.business_day_starts
        self.ratings_cfg = config.ratings
        self.volume = volume
        self.pace = max(1.0, volume)  # windows keep up with F times the citizens: F times as fast
        if volume != 1.0:
            services = {code: replace(s, daily_quota=max(1, math.ceil(s.daily_quota * volume)))
                        for code, s in hall.services.items()}
            hall = replace(hall, services=services)
        self.hall = hall
        self.rng = random.Random(f"hall-queue demo {seed} {hall.id}")
        self.ids = random.Random(f"hall-queue demo ids {seed} {hall.id}")
        self.head = HallHead(hall.id, 0, genesis_hash(hall.id), None)
        p = _INITIALS.get(hall.id, hall.id[:2])
        self.manager = Actor("staff", f"{p}0001", self._name(), "manager")
        guide = (f"{p}0002", self._name())
        self.guide = Actor("staff", guide[0], guide[1], "staff")
        self.kiosk = Actor("device", f"{p}-kiosk-01", "1 号取号机", "kiosk")
        self.online = Actor("device", f"{p}-online", "线上取号", "kiosk")
        self.wins: dict[int, _Win] = {}
        for n, w in hall.windows.items():
            main = StaffOnDuty(StaffId(f"{p}{n:02d}01"), self._name())
            relief = StaffOnDuty(StaffId(f"{p}{n:02d}02"), self._name())
            self.wins[n] = _Win(n, w.services, w.area, main, relief)
        self.evaluators = {n: Actor("device", f"{p}-pj{n:02d}", f"{n} 号窗口评价器", "evaluator")
                           for n in hall.windows}
        self.by_service: dict[str, list[_Win]] = {
            code: [w for w in self.wins.values() if code in w.services] for code in hall.services}
        codes = list(hall.services)
        self.service_codes = codes
        self.service_weights = [float(hall.services[c].daily_quota) for c in codes]
        self.base_daily = self._capacity() * 0.8 * volume
        self.state: HallState | None = None
        self.prev: HallState | None = None
        self.rolled = True
        self.heap: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self.counter = 0
        self.now = datetime.min.replace(tzinfo=UTC)
        self.changed: dict[TicketId, int] = {}
        self.window_changed: dict[int, int] = {}
        self.out = Chunk(hall.id)
        self.day_ratings: list[RatingInsert] = []
        self.follow_ups: list[FollowUpRecord] = []
        self.manager_heap: list[tuple[datetime, int, FollowUpRecord, str]] = []
        self.tickets = 0
        self.ledger_rows = 0
        self.refusals: dict[str, int] = {}  # by code: only quota_full is expected

    # ---- helpers ---------------------------------------------------------------------

    def _name(self) -> str:
        return self.rng.choice(_SURNAMES) + "".join(self.rng.choice(_GIVEN) for _ in range(self.rng.choice((1, 2))))

    def _capacity(self) -> float:
        """Tickets the hall's windows can serve in an ordinary day at the configured pace."""
        h = self.hall.hours
        minutes = (datetime.combine(date.min, h.close) - datetime.combine(date.min, h.open)).seconds / 60
        if h.lunch_start and h.lunch_end:
            lunch = (datetime.combine(date.min, h.lunch_end) - datetime.combine(date.min, h.lunch_start)).seconds / 60
            minutes -= lunch / 2 if h.issue_during_lunch else lunch
        minutes -= 15  # short breaks
        total = 0.0
        weights = {c: s.daily_quota for c, s in self.hall.services.items()}
        for w in self.hall.windows.values():
            mean = sum(self.hall.services[c].handling_minutes * weights[c] for c in w.services) / sum(
                weights[c] for c in w.services)
            total += minutes / (mean + 1.5)
        return total

    def _at(self, day: date, t: day_time) -> datetime:
        return datetime.combine(day, t, self.tz).astimezone(UTC)

    def _local_hours(self, instant: datetime) -> float:
        local = instant.astimezone(self.tz)
        return local.hour + local.minute / 60 + local.second / 3600

    def _after(self, seconds: float, fn: Callable[..., None], *args: Any) -> None:
        self._schedule(self.now + timedelta(seconds=seconds), fn, *args)

    def _schedule(self, at: datetime, fn: Callable[..., None], *args: Any) -> None:
        self.counter += 1
        heapq.heappush(self.heap, (at, self.counter, fn, args))

    def _pick(self, table: Sequence[tuple[Any, float]]) -> Any:
        r = self.rng.random()
        for value, p in table:
            r -= p
            if r < 0:
                return value
        return table[-1][0]

    def _handling_seconds(self, service: str) -> float:
        mean = self.hall.services[service].handling_minutes * 60 / self.pace
        sigma = 0.5
        return max(20.0 / self.pace, self.rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma))

    def _quick(self, low: float, high: float) -> float:
        """A human delay that shortens with the pace (never under 2 s)."""
        return max(2.0, self.rng.uniform(low, high) / self.pace)

    # ---- commands: the batch around each one ------------------------------------------

    def _begin(self) -> HallState:
        state = self.state
        assert state is not None
        if not self.rolled:
            self._roll_over(state)
        return state

    def _rows(self, actor: Actor, events: Sequence[tuple[Event, Ticket | None]]) -> None:
        state = self.state
        assert state is not None
        for event, ticket in events:
            self.out.ledger.append(ledger_row(state, self.head, self.now, self.tz, actor, event, ticket))
        self.ledger_rows += len(events)

    def _end(self) -> None:
        state = self.state
        assert state is not None
        seq = self.head.seq
        for tid in state.dirty_tickets:
            self.changed[tid] = seq
        for n in state.dirty_windows:
            self.window_changed[n] = seq
        state.dirty_tickets.clear()
        state.dirty_windows.clear()
        state.dirty_counters.clear()
        self.head.business_day = state.day

    def _roll_over(self, state: HallState) -> None:
        """QueueService._roll_over: close yesterday's unserved tickets and any window left open."""
        self.rolled = True
        prev = self.prev
        if prev is None:
            return
        stale = [t for t in prev.tickets.values() if t.status in ACTIVE_STATUSES]
        for t in stale:
            state.tickets[t.id] = t
        for event in state.close_tickets(stale):
            ticket = state.tickets.get(event.ticket) if event.ticket is not None else None
            self._rows(SYSTEM, [(event, ticket)])
        for ws in list(state.windows.values()):
            if ws.status.value != "closed":
                self._rows(SYSTEM, [(e, None) for e in state.close_window(ws.number, self.now)])
        self._end()
        self._emit_day(prev)
        self.prev = None

    def _emit_day(self, done: HallState) -> None:
        """A finished business day: its tickets (final now), counters and ratings go out."""
        for t in done.tickets.values():
            if t.business_day == done.day:
                self.out.tickets.append((t, self.changed.pop(t.id)))
        self.out.counters.extend((self.hall.id, done.day, s, n) for s, n in done.counters.items())
        self.out.ratings.extend(self.day_ratings)
        self.day_ratings = []

    def _try(self, actor: Actor, command: Callable[[HallState], Sequence[tuple[Event, Ticket | None]]]) -> bool:
        state = self._begin()
        try:
            events = command(state)
        except QueueError as exc:
            self.refusals[exc.code] = self.refusals.get(exc.code, 0) + 1
            self._end()
            return False
        self._rows(actor, events)
        self._end()
        return True

    # ---- a day -------------------------------------------------------------------------

    def run_day(self, day: date) -> None:
        hours = self.hall.hours
        if day.isoweekday() not in hours.weekdays:
            return
        if self.state is not None and self.rolled:
            self.prev = self.state  # (else the day before had no command: the roll-over still owes the one before)
        self.state = HallState(self.hall, day, ticket_ids=lambda: TicketId(token(self.ids, 16)),
                               holder_secrets=lambda: token(self.ids, 24))
        if self.prev is not None:
            for n, ws in self.prev.windows.items():
                self.state.windows[n] = ws
        self.rolled = self.prev is None
        open_at, close_at = self._at(day, hours.open), self._at(day, hours.close)
        self._plan_windows(day, open_at, close_at)
        self._plan_arrivals(day, open_at, close_at)
        while self.manager_heap and self.manager_heap[0][0] < close_at:
            at, _, record, action = heapq.heappop(self.manager_heap)
            self._schedule(at, self._follow_up, record, action)
        while self.heap:
            at, _, fn, args = heapq.heappop(self.heap)
            self.now = at
            fn(*args)

    def _plan_windows(self, day: date, open_at: datetime, close_at: datetime) -> None:
        hours = self.hall.hours
        rng = self.rng
        for w in self.wins.values():
            w.idle = w.waking = False
            w.token += 1
            w.pauses = []
            w.done = True
            if rng.random() < 0.02:  # the window stays closed today
                continue
            present = rng.random() < 0.9
            w.staff = w.main if present else StaffOnDuty(w.relief.id, w.relief.name, None, w.main.id)
            w.actor = Actor("staff", w.staff.id, w.staff.name, "staff")
            w.close_at = close_at + timedelta(minutes=rng.uniform(-5, 10))
            w.forget_close = rng.random() < 0.01
            late = rng.random() < 0.05
            opens = open_at + timedelta(minutes=rng.uniform(15, 60) if late else rng.uniform(-15, -2))
            if hours.lunch_start and hours.lunch_end:
                ls, le = self._at(day, hours.lunch_start), self._at(day, hours.lunch_end)
                if hours.issue_during_lunch:  # 午间不打烊: half the windows lunch at a time
                    half = (le - ls) / 2
                    ls, le = (ls, ls + half) if w.number % 2 else (ls + half, le)
                w.pauses.append((ls, le + timedelta(minutes=rng.uniform(0, 5)), "午休"))
            for _ in range(rng.choice((0, 1, 1, 2))):
                reason = self._pick([(b, b[1]) for b in _BREAKS])
                start = open_at + timedelta(minutes=rng.uniform(45, (close_at - open_at).seconds / 60 - 60))
                w.pauses.append((start, start + timedelta(minutes=rng.uniform(reason[2], reason[3])), reason[0]))
            w.pauses.sort()
            kept: list[tuple[datetime, datetime, str]] = []
            for p in w.pauses:
                if kept and p[0] < kept[-1][1]:
                    continue
                kept.append(p)
            w.pauses = kept
            self._schedule(opens, self._open, w)

    def _plan_arrivals(self, day: date, open_at: datetime, close_at: datetime) -> None:
        rng = self.rng
        hours = self.hall.hours
        weekday = day.isoweekday()
        lunch: tuple[float, float] | None = None
        if hours.lunch_start and hours.lunch_end and not hours.issue_during_lunch:
            lunch = (hours.lunch_start.hour + hours.lunch_start.minute / 60,
                     hours.lunch_end.hour + hours.lunch_end.minute / 60)
        step = 600.0  # ten-minute bins
        bins: list[tuple[datetime, float]] = []
        t = open_at
        while t < close_at:
            h = self._local_hours(t)
            weight = 0.0 if lunch and lunch[0] <= h < lunch[1] else _hour_weight(h, weekday)
            bins.append((t, weight))
            t += timedelta(seconds=step)
        total = sum(wt for _, wt in bins) or 1.0
        expected = self.base_daily * _WEEKDAY[weekday] * rng.uniform(0.85, 1.15)
        for start, wt in bins:
            n = _poisson(rng, expected * wt / total)
            for _ in range(n):
                at = start + timedelta(seconds=rng.uniform(0, min(step, (close_at - start).total_seconds())))
                self._schedule(at, self._arrive)

    # ---- citizens ------------------------------------------------------------------------

    def _arrive(self) -> None:
        rng = self.rng
        service = rng.choices(self.service_codes, self.service_weights)[0]
        priority = self._pick(_PRIORITIES + ((None, 1.0),))
        if priority not in self.hall.priority_classes:
            priority = None
        reason = rng.choice(_GREEN_REASONS) if priority == "green" else None
        if self.hall.has_kiosk:
            r = rng.random()
            if priority is not None or r < 0.15:
                actor, channel = self.guide, "guide"
            elif r < 0.25:
                actor, channel = self.online, "online"
            else:
                actor, channel = self.kiosk, "kiosk"
        elif priority is not None or rng.random() < 0.5:
            actor, channel = self.guide, "staff"
        else:
            actor, channel = self.online, "phone"
        issued: list[Ticket] = []

        def issue(state: HallState) -> list[tuple[Event, Ticket | None]]:
            ticket, events = state.issue(service, self.now, channel=channel, priority=priority,
                                         priority_reason=reason)
            issued.append(ticket)
            return [(e, ticket) for e in events]

        if not self._try(actor, issue):
            return
        ticket = issued[0]
        self.tickets += 1
        if rng.random() < 0.015:  # changes their mind
            self._after(rng.uniform(5, 60) * 60, self._cancel, ticket)
        self._wake_for(ticket.service, ticket.target_window)

    def _cancel(self, ticket: Ticket) -> None:
        state = self.state
        assert state is not None
        if ticket.business_day != state.day or ticket.status not in (
                TicketStatus.WAITING, TicketStatus.MISSED, TicketStatus.SUSPENDED):
            return
        if self.rng.random() < 0.8:
            actor, reason = Actor("citizen", ticket.id, "", "citizen"), None
        else:
            actor, reason = self.guide, "群众主动放弃"
        self._try(actor, lambda s: [(e, ticket) for e in s.cancel(ticket, self.now, reason)])

    def _restore(self, ticket: Ticket) -> None:
        state = self.state
        assert state is not None
        if ticket.business_day != state.day or ticket.status not in (TicketStatus.MISSED, TicketStatus.SUSPENDED):
            return

        def restore(s: HallState) -> list[tuple[Event, Ticket | None]]:
            t, events = s.restore(ticket.number_text, self.now)
            return [(e, t) for e in events]

        if self._try(self.guide, restore):
            self._wake_for(ticket.service, None)

    def _rate(self, ticket: Ticket, window: int) -> None:
        rng = self.rng
        level = self._pick(_LEVELS)
        labels: list[str] = []
        if level <= BAD:
            labels = rng.sample(list(self.ratings_cfg.labels), rng.choice((1, 1, 2)))
        tablet = rng.random() < 0.75
        device = self.evaluators[window] if tablet else None
        actor = device or Actor("citizen", ticket.id, "", "citizen")
        channel = "tablet" if tablet else "phone"
        dimensions = ({d: LEVEL_CODES[level] for d in _DIMENSIONS} if rng.random() < 0.4 else {})
        payload: dict[str, Any] = {"level": LEVEL_CODES[level], "channel": channel, "labels": labels,
                                   "staff_id": ticket.staff_id}
        events: list[tuple[Event, Ticket | None]] = [
            (Event("ticket_rated", ticket.id, ticket.window, payload), ticket)]
        self.day_ratings.append(RatingInsert(ticket.id, self.hall.id, ticket.window, ticket.staff_id, level,
                                             dimensions, labels, channel, device.id if device else None, self.now))
        if level <= BAD:
            insert = FollowUpInsert(
                "fu_" + token(self.ids, 9), self.hall.id, ticket.id, self.manager.id,
                self.now + timedelta(days=self.ratings_cfg.callback_days),
                self.now + timedelta(days=self.ratings_cfg.rectify_days), self.now)
            record = FollowUpRecord(insert, ticket.window)
            self.follow_ups.append(record)
            events.append((Event("follow_up_opened", ticket.id, ticket.window, {
                "follow_up": insert.follow_up_id, "owner": insert.owner,
                "callback_due": insert.callback_due.isoformat(),
                "rectify_due": insert.rectify_due.isoformat()}), ticket))
            late = rng.random() < 0.15
            hours = rng.uniform(26, 72) if late else rng.uniform(0.3, 4)
            self._manage(self.now + timedelta(hours=hours), record, "call_back")
        self._try(actor, lambda s: events)

    # ---- the manager ---------------------------------------------------------------------

    def _working(self, at: datetime) -> datetime:
        """`at`, or the next moment the hall is open after it."""
        hours = self.hall.hours
        local = at.astimezone(self.tz)
        day = local.date()
        if day.isoweekday() in hours.weekdays and hours.open <= local.time() < hours.close:
            return at
        if local.time() >= hours.open:
            day += timedelta(days=1)
        while day.isoweekday() not in hours.weekdays:
            day += timedelta(days=1)
        return self._at(day, hours.open) + timedelta(minutes=self.rng.uniform(5, 120))

    def _manage(self, at: datetime, record: FollowUpRecord, action: str) -> None:
        at = self._working(max(at, self.now + timedelta(minutes=10)))
        state = self.state
        assert state is not None
        if at.astimezone(self.tz).date() == state.day:
            self._schedule(at, self._follow_up, record, action)
        else:
            self.counter += 1
            heapq.heappush(self.manager_heap, (at, self.counter, record, action))

    def _follow_up(self, record: FollowUpRecord, action: str) -> None:
        """RatingService.update_follow_up: call_back → rectify → close, timed, noted, logged."""
        rng = self.rng
        status = {"call_back": "called_back", "rectify": "rectified", "close": "closed"}[action]
        note = {"call_back": rng.choice(_CALLBACK_NOTES), "rectify": rng.choice(_RECTIFY_NOTES),
                "close": None}[action]
        event = Event("follow_up_updated", TicketId(record.insert.ticket_id), record.window,
                      {"follow_up": record.insert.follow_up_id, "action": action, "note": note})
        if not self._try(self.manager, lambda s: [(event, None)]):
            return
        record.status = status
        setattr(record, {"called_back": "called_back_at", "rectified": "rectified_at",
                         "closed": "closed_at"}[status], self.now)
        if note:
            record.notes.append({"at": self.now.isoformat(), "by": self.manager.id, "action": action, "note": note})
        if action == "call_back":
            days = rng.uniform(16, 25) if rng.random() < 0.1 else rng.uniform(2, 13)
            self._manage(record.insert.created_at + timedelta(days=days), record, "rectify")
        elif action == "rectify":
            self._manage(self.now + timedelta(days=rng.uniform(0.5, 3)), record, "close")

    # ---- windows ---------------------------------------------------------------------------

    def _wake_for(self, service: str, window: int | None) -> None:
        wins = [self.wins[window]] if window is not None else self.by_service.get(service, [])
        for w in wins:
            if w.idle and not w.waking:
                w.waking = True
                w.token += 1
                self._after(self._quick(2, 15), self._wake, w, w.token)

    def _wake(self, w: _Win, tok: int) -> None:
        if w.idle and tok == w.token:
            w.idle = w.waking = False
            self._free(w)

    def _open(self, w: _Win) -> None:
        assert w.staff is not None and w.actor is not None
        staff = w.staff
        if self._try(w.actor, lambda s: [(e, None) for e in s.open_window(w.number, staff, self.now)]):
            w.done = False
            self._free(w)

    def _free(self, w: _Win) -> None:
        """The window has no ticket: close, pause, or call the next one."""
        if w.done:
            return
        assert w.actor is not None and w.close_at is not None
        actor = w.actor
        if self.now >= w.close_at:
            w.done = True
            if not w.forget_close:  # else the next day's first command closes it
                self._try(actor, lambda s: [(e, None) for e in s.close_window(w.number, self.now)])
            return
        if w.pauses and w.pauses[0][0] <= self.now:
            _, until, reason = w.pauses.pop(0)
            if self._try(actor, lambda s: [(e, None) for e in s.pause_window(w.number, reason, self.now)]):
                back = max(until, self.now + timedelta(minutes=3))
                self._schedule(min(back, w.close_at), self._resume, w)
                return
        called: list[Ticket] = []

        def call(s: HallState) -> list[tuple[Event, Ticket | None]]:
            ticket, events = s.call_next(w.number, self.now)
            if ticket is not None:
                called.append(ticket)
            return [(e, ticket) for e in events]

        self._try(actor, call)
        if not called:
            w.idle, w.waking = True, False
            w.token += 1
            wake = w.close_at
            if w.pauses:
                wake = min(wake, w.pauses[0][0])
            self._schedule(max(wake, self.now), self._wake, w, w.token)
            return
        ticket = called[0]
        rng = self.rng
        no_show = rng.random() < (0.05 if ticket.misses == 0 else 0.6)
        if no_show:
            self._after(self._recall_delay(), self._recall, w, ticket, False)
        elif rng.random() < 0.12:
            self._after(self._recall_delay(), self._recall, w, ticket, True)
        else:
            self._after(self._quick(10, 45), self._start, w, ticket)

    def _resume(self, w: _Win) -> None:
        assert w.actor is not None
        self._try(w.actor, lambda s: [(e, None) for e in s.resume_window(w.number, self.now)])
        self._free(w)

    def _window_command(self, w: _Win, command: Callable[[HallState], tuple[Ticket, list[Event]]]) -> Ticket | None:
        assert w.actor is not None
        done: list[Ticket] = []

        def run(s: HallState) -> list[tuple[Event, Ticket | None]]:
            ticket, events = command(s)
            done.append(ticket)
            return [(e, ticket) for e in events]

        self._try(w.actor, run)
        return done[0] if done else None

    def _recall_delay(self) -> float:
        return self.hall.call_policy.recall_min_seconds + self.rng.uniform(1, 20)

    def _recall(self, w: _Win, ticket: Ticket, shows: bool) -> None:
        if ticket.calls >= self.hall.call_policy.max_calls:  # no recall left: missed now
            self._miss(w)
            return
        if self._window_command(w, lambda s: s.recall(w.number, self.now)) is None:
            self._after(self._quick(5, 30), self._start, w, ticket)
            return
        if shows:
            self._after(self._quick(5, 30), self._start, w, ticket)
        elif ticket.calls < self.hall.call_policy.max_calls:
            self._after(self._recall_delay(), self._recall, w, ticket, False)
        else:
            self._after(self.rng.uniform(30, 60), self._miss, w)

    def _miss(self, w: _Win) -> None:
        ticket = self._window_command(w, lambda s: s.miss(w.number, self.now))
        if ticket is not None and ticket.status is TicketStatus.MISSED and self.rng.random() < 0.5:
            self._after(self.rng.uniform(3, 40) * 60, self._restore, ticket)
        self._after(self._quick(3, 15), self._free, w)

    def _start(self, w: _Win, ticket: Ticket) -> None:
        if self._window_command(w, lambda s: s.start(w.number, self.now)) is None:
            self._after(1, self._free, w)
            return
        r = self.rng.random()
        if r < 0.02:
            self._after(self._quick(60, 300), self._transfer, w)
        elif r < 0.027:
            self._after(self._quick(60, 240), self._suspend, w)
        else:
            self._after(self._handling_seconds(ticket.service), self._finish, w)

    def _finish(self, w: _Win) -> None:
        ticket = self._window_command(w, lambda s: s.finish(w.number, self.now))
        if ticket is not None and self.rng.random() < 0.6:
            window = w.number
            self._after(self.rng.uniform(5, 300), self._rate, ticket, window)
        self._after(self._quick(5, 40), self._free, w)

    def _transfer(self, w: _Win) -> None:
        rng = self.rng
        state = self.state
        assert state is not None
        current = state.windows[w.number].current
        if current is None:
            return
        ticket = state.tickets[current]
        others = [n for n, o in self.wins.items() if n != w.number and not o.done]
        same_area = [c for c, s in self.hall.services.items() if c != ticket.service and s.area == w.area]
        services = same_area or [c for c in self.hall.services if c != ticket.service]
        to_window: int | None = None
        to_service: str | None = None
        if others and (rng.random() < 0.3 or not services):
            to_window = rng.choice(others)
            reason = f"请到 {to_window} 号窗口继续办理"
        elif services:
            to_service = rng.choice(services)
            reason = f"转至{self.hall.services[to_service].name}"
        else:
            self._after(self._handling_seconds(ticket.service), self._finish, w)
            return
        moved = self._window_command(w, lambda s: s.transfer(w.number, self.now, reason=reason,
                                                               to_service=to_service, to_window=to_window))
        if moved is not None:
            self._wake_for(moved.service, moved.target_window)
        self._after(self._quick(5, 20), self._free, w)

    def _suspend(self, w: _Win) -> None:
        ticket = self._window_command(w, lambda s: s.suspend(w.number, self.now, "材料不齐，群众回去补齐材料"))
        if ticket is not None:
            self._after(self.rng.uniform(15, 60) * 60, self._restore, ticket)
        self._after(self._quick(5, 20), self._free, w)

    # ---- output ---------------------------------------------------------------------------

    def take(self) -> Chunk:
        chunk, self.out = self.out, Chunk(self.hall.id)
        return chunk

    def finish(self) -> Chunk:
        """The rest: the last day's tickets (as they are: the next command will close them),
        the follow-ups as they ended, the windows."""
        if self.prev is not None:
            self._emit_day(self.prev)
        if self.state is not None:
            self._emit_day(self.state)
        self.out.follow_ups.extend(self.follow_ups)
        if self.state is not None:
            self.out.windows.extend((ws, self.window_changed[n]) for n, ws in self.state.windows.items()
                                    if n in self.window_changed)
        return self.take()


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# ---- the run ----------------------------------------------------------------------------------


@dataclass
class HallSummary:
    hall: str
    tickets: int = 0
    ledger_rows: int = 0
    ratings: int = 0
    follow_ups: int = 0
    visits: int = 0
    sessions: int = 0
    seconds: float = 0.0
    refusals: dict[str, int] = field(default_factory=dict)


async def ensure_fresh(pool: Database, store: HistoryStore, halls: Sequence[str]) -> None:
    """Refuse (HistoryRefused) when any of `halls` already has ledger rows."""
    async with pool.acquire() as conn:
        for hall in halls:
            if await store.lock_and_count(conn, hall):
                raise HistoryRefused(
                    f"hall {hall} already has ledger rows: demo history is only generated into a hall "
                    "without history (use a fresh database)")


async def generate(
    pool: Database, store: HistoryStore, config: Config, halls: Sequence[str], *, days: int, end: date,
    seed: int, volume: float = 1.0, chunk_rows: int = 100_000,
    clock: Callable[[], float] | None = None, progress: Callable[[str], None] | None = None,
    check: bool = True,
) -> list[HallSummary]:
    """Generate `days` business days up to `end` for each hall, one transaction per hall.

    Refuses (HistoryRefused) before writing anything when a hall already has ledger rows
    (`check`: False when the caller checked every hall of a parallel run itself)."""
    import time

    tick = clock or time.monotonic
    if check:
        await ensure_fresh(pool, store, halls)
    first = end - timedelta(days=days - 1)
    summaries = []
    for hall_id in halls:
        started = tick()
        sim = HallSimulation(config, config.halls[hall_id], seed, volume)
        summary = HallSummary(hall_id)
        async with pool.acquire() as conn, conn.transaction():
            if await store.lock_and_count(conn, hall_id):
                raise HistoryRefused(f"hall {hall_id} already has ledger rows")
            # The next days are simulated (in a thread) while the last chunk is written: the
            # database ingests on its own core meanwhile.
            writing: asyncio.Task[None] | None = None
            try:
                day = first
                while day <= end:
                    await asyncio.to_thread(sim.run_day, day)
                    if len(sim.out.ledger) >= chunk_rows:
                        chunk = sim.take()
                        _count(summary, chunk)
                        if writing is not None:
                            await writing
                        writing = asyncio.create_task(store.write(conn, chunk))
                    day += timedelta(days=1)
            finally:  # never leave a write running on the connection
                if writing is not None:
                    await writing
            chunk = sim.finish()
            _count(summary, chunk)
            await store.write(conn, chunk)
            if sim.head.business_day is not None:
                await store.set_head(conn, sim.head)
            if progress:
                progress(f"hall {hall_id}: {summary.tickets} tickets, {summary.ledger_rows} ledger rows written "
                         f"in {tick() - started:.1f} s; rebuilding the projection")
            _, summary.visits, summary.sessions = await store.rebuild_stats(
                conn, hall_id, config.timezone, config.business_day_starts)
        summary.seconds = tick() - started
        summary.refusals = dict(sim.refusals)
        summaries.append(summary)
    return summaries


def _count(summary: HallSummary, chunk: Chunk) -> None:
    summary.tickets += len(chunk.tickets)
    summary.ledger_rows += len(chunk.ledger)
    summary.ratings += len(chunk.ratings)
    summary.follow_ups += len(chunk.follow_ups)


__all__ = ["ensure_fresh", "Chunk", "FollowUpRecord", "HallSimulation", "HallSummary", "HistoryRefused", "HistoryStore",
           "generate"]
