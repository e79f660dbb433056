"""Tickets, windows and events: the hall's nouns, as plain data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NewType

from .errors import InvalidInput

HallId = NewType("HallId", str)
TicketId = NewType("TicketId", str)
StaffId = NewType("StaffId", str)


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    FINISHED = "finished"
    MISSED = "missed"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    VOID = "void"
    CLOSED = "closed"  # unserved at the end of the business day ("hall closed")


ACTIVE_STATUSES = (
    TicketStatus.WAITING,
    TicketStatus.CALLED,
    TicketStatus.SERVING,
    TicketStatus.MISSED,
    TicketStatus.SUSPENDED,
)

STATUS_ZH = {
    TicketStatus.WAITING: "等候中",
    TicketStatus.CALLED: "已叫号",
    TicketStatus.SERVING: "办理中",
    TicketStatus.FINISHED: "已办结",
    TicketStatus.MISSED: "已过号",
    TicketStatus.SUSPENDED: "已挂起",
    TicketStatus.CANCELLED: "已取消",
    TicketStatus.VOID: "已作废",
    TicketStatus.CLOSED: "已闭厅",
}


class WindowStatus(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


WINDOW_STATUS_ZH = {
    WindowStatus.CLOSED: "未开放",
    WindowStatus.OPEN: "在岗",
    WindowStatus.PAUSED: "暂停服务",
}

_NUMBER_RE = re.compile(r"^([A-Z])(\d{1,5})$")


@dataclass(frozen=True, order=True)
class TicketNumber:
    """A ticket number such as A023: service prefix + sequence within hall, service and day."""

    prefix: str
    seq: int

    @classmethod
    def parse(cls, text: str) -> TicketNumber:
        m = _NUMBER_RE.match(text.strip().upper()) if isinstance(text, str) else None
        if not m:
            raise InvalidInput("input.bad_ticket_number", field="number", got=str(text)[:40])
        return cls(m.group(1), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.prefix}{self.seq:03d}"


@dataclass
class Ticket:
    id: TicketId
    hall: HallId
    business_day: date
    number: TicketNumber
    service: str  # the queue it waits in now (changes on transfer)
    issued_at: datetime
    rank: int  # dispatch order within its group: microseconds; kept on transfer
    channel: str = "kiosk"
    priority: str | None = None  # a priority class code
    priority_reason: str | None = None
    status: TicketStatus = TicketStatus.WAITING
    window: int | None = None  # the window that called it last
    target_window: int | None = None  # set by a transfer to a window
    calls: int = 0  # calls since it last became waiting
    first_called_at: datetime | None = None
    last_called_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    misses: int = 0
    staff_id: StaffId | None = None  # the staff member who served it
    note: str | None = None  # reason of the last suspend/transfer/specific call
    # The key to acting as the citizen (the secret in the QR code / phone link); never shown to
    # staff, devices or the ledger, which know the ticket by `id`. Kept out of repr (logs).
    holder_secret: str = field(default="", repr=False)

    @property
    def number_text(self) -> str:
        return str(self.number)


@dataclass
class StaffOnDuty:
    id: StaffId
    name: str
    photo_url: str | None = None
    stand_in_for: StaffId | None = None


@dataclass
class WindowState:
    number: int
    status: WindowStatus = WindowStatus.CLOSED
    staff: StaffOnDuty | None = None
    pause_reason: str | None = None
    current: TicketId | None = None  # a called or serving ticket
    since: datetime | None = None  # when the status last changed
    normal_streak: int = 1_000_000  # normal calls since the last interleaved priority call
    message: str | None = None  # shown on the window screen, set by the clerk on duty


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a staff member or a device; kept in the ledger."""

    kind: str  # staff | device | citizen | system
    id: str
    name: str = ""
    role: str = ""

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "name": self.name, "role": self.role}


SYSTEM = Actor("system", "system", "系统", "system")


@dataclass
class Event:
    """Something that happened in a hall, in the past tense; becomes one ledger row."""

    kind: str
    ticket: TicketId | None = None
    window: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
