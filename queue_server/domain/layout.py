"""The hall's layout as the domain sees it: areas, services, windows, priority classes, the call
policy, opening hours and the civility phrases. Plain frozen values; config.py builds them from
config.toml, and the domain never imports the configuration. No field has a default: what a
hall gets when config.toml leaves a key out is written once, in config.py's schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Literal

DispatchOrder = Literal["service_order", "longest_wait"]
PriorityMode = Literal["absolute", "interleaved"]
HallLevel = Literal["district", "street", "community"]
RegionLevel = Literal["district", "street"]


@dataclass(frozen=True)
class Area:
    code: str  # e.g. "business"
    name: str  # e.g. 商事登记区
    name_en: str  # "" when none is configured


@dataclass(frozen=True)
class Service:
    code: str  # one upper-case letter, the ticket prefix: "A"
    name: str  # 企业开办
    area: str  # Area.code
    daily_quota: int  # tickets per business day (号源)
    handling_minutes: float  # expected minutes per ticket, for wait estimates
    warn_minutes: int  # wait warning threshold
    alarm_minutes: int  # wait alarm threshold: such tickets go first
    name_en: str


@dataclass(frozen=True)
class Window:
    number: int  # 5 -> "5 号窗口"
    name: str
    area: str  # Area.code
    services: tuple[str, ...]  # ordered: primary skills first
    comprehensive: bool  # 综合窗口 / 全科窗口


@dataclass(frozen=True)
class PriorityClass:
    code: str  # military, elderly, disabled, pregnant, critical, appointment, green
    name: str  # 军人依法优先 ...
    mode: PriorityMode
    every: int  # interleaved: at most one such ticket every `every` normal calls; else 0
    reason_required: bool  # 绿色通道 needs a logged reason


@dataclass(frozen=True)
class CallPolicy:
    max_calls: int  # the call plus recalls before the ticket may be marked missed
    recall_min_seconds: int
    restore_offset: int  # a restored missed ticket goes this many places back
    void_after_misses: int


@dataclass(frozen=True)
class Hours:
    open: time
    close: time
    lunch_start: time | None  # None: no lunch break
    lunch_end: time | None
    issue_during_lunch: bool
    weekdays: tuple[int, ...]  # ISO weekday numbers, Monday = 1

    def describe(self) -> str:
        days = "、".join("一二三四五六日"[d - 1] for d in self.weekdays)
        text = f"周{days} {self.open:%H:%M}-{self.close:%H:%M}"
        if self.lunch_start and self.lunch_end and not self.issue_during_lunch:
            text += f"（午休 {self.lunch_start:%H:%M}-{self.lunch_end:%H:%M} 暂停取号）"
        return text


@dataclass(frozen=True)
class Hall:
    id: str  # config key: "gongshu"
    name: str
    level: HallLevel
    areas: dict[str, Area]
    services: dict[str, Service]  # by code, in configuration order
    windows: dict[int, Window]  # by number, in configuration order
    hours: Hours
    call_policy: CallPolicy
    priority_classes: dict[str, PriorityClass]
    dispatch: DispatchOrder
    has_kiosk: bool
    voice: bool  # False: silent calling (screen and phone only)
    name_en: str
    region: str | None  # Region.id of the district or street office above it; None: none


@dataclass(frozen=True)
class Region:
    """A node of the three-level tree above the halls: a district (区) or a street (街道)."""

    id: str  # config key: "gongshu", "hushu"
    name: str  # 拱墅区, 湖墅街道
    level: RegionLevel
    parent: str | None  # a street's district; None for a district
    name_en: str


@dataclass(frozen=True)
class Civility:
    phrases: dict[str, tuple[str, ...]]  # moment -> phrases: greeting, serving, finished ...
    taboo: tuple[str, ...]
