"""The hall configuration: config.toml checked against one schema (pydantic models, which hold
every default), then turned into the domain's layout (domain/layout.py) and the process settings.

Every problem is reported at once, one line each: "<file>: <key path>: <message>", so a hall
manager can fix the whole file in one pass rather than one restart per mistake.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from . import config_rules as rules
from .domain import layout
from .domain import surveys as survey_rules
from .domain.calendar import WorkCalendar

DATABASE_SCHEMES = ("postgresql", "postgres")
REDIS_SCHEMES = ("redis", "rediss", "unix")
ENV_URLS = {  # environment variables that override config.toml's URLs (empty: unset)
    "QUEUE_DATABASE_URL": DATABASE_SCHEMES,
    "QUEUE_APP_DATABASE_URL": DATABASE_SCHEMES,
    "QUEUE_REDIS_URL": REDIS_SCHEMES,
}


# --- Settings used as they are ---------------------------------------------------------------


class PrinterSettings(rules.Table):
    """How one kiosk printer prints: paper width, Chinese in the printer's font or as images."""

    paper_mm: rules.Paper = 80
    chinese: Annotated[str, rules.one_of("native", "image")] = "native"  # GBK text or images
    qr: Annotated[str, rules.one_of("native", "image")] = "native"  # GS ( k or an image


class Ratings(rules.Table):
    window_minutes: rules.PositiveInt = 10  # accepted this long after the service finished
    labels: rules.Labels = (  # the reasons a bad rating picks from
        "等候时间过长", "服务态度不好", "办事效率低", "业务不熟练",
        "一次性告知不到位", "需要多次跑", "环境设施不便", "其他",
    )  # fmt: skip
    callback_days: rules.PositiveInt = 1
    rectify_days: rules.PositiveInt = 15


class Calendar(rules.Table):
    """[calendar]: the public holidays (closed although a weekday) and the make-up working days
    (调休上班, open although a weekend) that deadlines in working days skip or count."""

    holidays: rules.Days = []
    workdays: rules.Days = []

    @classmethod
    def cross_check(cls, v: rules.Valid) -> rules.Found:
        holidays = {rules.day_of(day) for _, day in v.items("holidays")} - {None}
        return [
            (("workdays", i), f"{rules.day_of(day)} is also listed as a holiday")
            for i, day in v.items("workdays")
            if rules.day_of(day) in holidays
        ]


class Complaints(rules.Table):
    """[complaints]: each step's deadline in working days of the hall's calendar (due at the end
    of the last day), and how long a closed complaint keeps the complainant's contact phone."""

    accept_days: rules.PositiveInt = 1  # received → accepted or declined
    assign_days: rules.PositiveInt = 1  # accepted → an investigator assigned
    resolve_days: rules.PositiveInt = 10  # investigating → findings and measures
    reply_days: rules.PositiveInt = 2  # resolved → the complainant answered
    archive_days: rules.PositiveInt = 5  # replied → archived
    contact_retention_days: rules.PositiveInt = 180  # calendar days after archiving or declining


class Alerts(rules.Table):
    """[alerts]: when the manager's console raises an alert (the wait thresholds are each
    service's own warn_minutes / alarm_minutes)."""

    pause_minutes: rules.PositiveInt = 15  # a window paused longer than this
    idle_minutes: rules.PositiveInt = 5  # a window open and idle while its services have people waiting
    screen_minutes: rules.PositiveInt = 2  # a registered screen disconnected during opening hours
    sweep_seconds: rules.PositiveNumber = 10.0  # how often each server process checks


class Limits(rules.Table):
    """What one client address may ask of the public routes, and how long a client may take
    to send a request ([limits] in config.toml)."""

    header_timeout_seconds: rules.PositiveNumber = 10.0  # connection (or last answer) to headers
    body_timeout_seconds: rules.PositiveNumber = 30.0  # headers to complete body
    ticket_status_per_minute: rules.PositiveInt = 120  # GET /api/v1/tickets/{id}, per address
    live_feed_per_minute: rules.PositiveInt = 30  # /t/{id}/live connections, per address
    login_per_minute: rules.PositiveInt = 60  # POST /api/v1/auth/login (a NAT included)
    rating_per_minute: rules.PositiveInt = 20  # citizen ratings, per address
    complaint_per_minute: rules.PositiveInt = 20  # complaints and their status pages, per address
    pairing_per_minute: rules.PositiveInt = 10  # POST /api/v1/pairing: new device codes, per address
    pairing_wait_per_minute: rules.PositiveInt = 60  # GET /api/v1/pairing/wait (a long poll), per address
    device_check_per_minute: rules.PositiveInt = 60  # GET …/device-check (a screen that cannot connect)
    login_failures_per_address: rules.PositiveInt = 20  # past this many failures in 10 min: slowly
    login_failure_delay_seconds: rules.PositiveNumber = 1.0  # how slowly


@dataclass(frozen=True)
class Config:
    halls: dict[str, layout.Hall]
    regions: dict[str, layout.Region]  # the district and street offices above the halls
    timezone: ZoneInfo
    business_day_starts: time  # times before this belong to the previous business day
    civility: layout.Civility
    host: str
    port: int
    public_url: str
    database_url: str | None
    app_database_url: str | None  # the role `serve` connects as (ledger: INSERT, SELECT only)
    pgdata: Path
    db_command_timeout: float  # a command, connection or pool wait longer answers 503
    anchor_key: Path
    anchor_log: Path
    redis_url: str | None
    token_ttl_minutes: int
    source: str
    printing: Printing
    ratings: Ratings
    limits: Limits
    alerts: Alerts = Alerts()
    calendar: Calendar = Calendar()
    #: [server] trusted_proxies: a request from one of these takes its client address from
    #: X-Forwarded-For (web/proxies.py); empty: every peer is the client itself.
    trusted_proxies: tuple[rules.Network, ...] = ()
    complaints: Complaints = Complaints()
    surveys: dict[str, survey_rules.Questionnaire] = field(default_factory=dict)  # [[surveys]] by id
    redis_channel: str = "hall-queue"  # [redis] channel: the relay publishes on "<channel>:events"

    def work_calendar(self, hall: str) -> WorkCalendar:
        """The hall's working days: its weekdays, less [calendar] holidays, plus make-up days."""
        return WorkCalendar.of(self.halls[hall].hours.weekdays, self.calendar.holidays, self.calendar.workdays)


# --- The schema of config.toml ---------------------------------------------------------------


class _Server(rules.Table):
    host: rules.Text = "127.0.0.1"
    port: rules.Port = 8080
    public_url: Annotated[str, rules.url("http", "https")] | None = None  # None: http://host:port
    # Reverse proxies (nginx) whose X-Forwarded-For names the real client: addresses or networks.
    trusted_proxies: rules.Networks = []


class _Database(rules.Table):
    url: Annotated[str, rules.url(*DATABASE_SCHEMES)] | None = None  # None: embedded PostgreSQL
    app_url: Annotated[str, rules.url(*DATABASE_SCHEMES)] | None = None
    pgdata: rules.Text = "./var/pgdata"  # relative to the configuration file's directory
    command_timeout_seconds: rules.PositiveNumber = 5.0


class _Anchors(rules.Table):
    key_file: rules.Text = "./var/anchor-key.pem"
    log_file: rules.Text = "./var/anchors.jsonl"


class _Redis(rules.Table):
    url: Annotated[str, rules.url(*REDIS_SCHEMES)] | None = None
    # The relay's channel is "<channel>:events": deployments sharing one Redis (a training
    # server beside the live one) need different names, or one's calls reach the other's screens.
    channel: Annotated[str, rules.matching(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
                                           "a name of letters, digits, '.', '_' or '-'")] = "hall-queue"


class _Auth(rules.Table):
    token_ttl_minutes: rules.PositiveInt = 720


class _Time(rules.Table):
    timezone: rules.Timezone = ZoneInfo("Asia/Shanghai")
    business_day_starts: rules.Clock = time(4, 0)


class _CallPolicy(rules.Table):
    """Process-wide defaults; a hall's table overrides them key by key."""

    max_calls: rules.PositiveInt = 3  # the call plus recalls before the ticket may be marked missed
    recall_min_seconds: rules.Count = 30
    restore_offset: rules.Count = 2  # a restored missed ticket goes this many places back
    void_after_misses: rules.PositiveInt = 3


class _PriorityClass(rules.Table):
    code: rules.PriorityCode
    name: rules.Text
    mode: Annotated[layout.PriorityMode, rules.one_of("absolute", "interleaved")]
    every: rules.PositiveInt | None = None  # interleaved: one such ticket every `every` calls
    reason_required: rules.Flag = False  # 绿色通道 needs a logged reason

    @classmethod
    def cross_check(cls, v: rules.Valid) -> rules.Found:
        if v.get("mode") == "interleaved" and "every" not in v.data:
            return [((), "missing key 'every' (an interleaved class needs it)")]
        if v.get("mode") == "absolute" and "every" in v.data:
            return [(("every",), "applies only to mode 'interleaved'; this class is 'absolute'")]
        return []


_PriorityClasses = Annotated[
    list[_PriorityClass],
    rules.tables(
        "priority class", ("code", "priority class", "priority_classes"), allow_empty=True
    ),
]


class _Civility(rules.Table):
    greeting: rules.Phrases
    serving: rules.Phrases
    missing_material: rules.Phrases
    refusal: rules.Phrases
    next_step: rules.Phrases
    waited_long: rules.Phrases
    finished: rules.Phrases
    farewell: rules.Phrases
    basics: rules.Phrases
    hall: rules.Phrases | None = None  # the hall screen's ticker (温馨提示)
    taboo: Annotated[list[rules.Phrase], rules.array("taboo phrases")]

    @classmethod
    def cross_check(cls, v: rules.Valid) -> rules.Found:
        taboo = {str(p).strip() for _, p in v.items("taboo") if p is not None}
        return [
            ((moment, index), f"{phrase.strip()!r} is a taboo phrase")
            for moment in cls.model_fields
            if moment != "taboo"
            for index, _ in v.items(moment)
            if isinstance(phrase := v.get(moment, index), str) and phrase.strip() in taboo
        ]


class _Hours(rules.Table):
    open: rules.Clock
    close: rules.Clock
    lunch: rules.Lunch | None = None
    issue_during_lunch: rules.Flag = True
    weekdays: Annotated[list[rules.Weekday], rules.array("ISO weekdays 1-7")] = [1, 2, 3, 4, 5]

    @classmethod
    def cross_check(cls, v: rules.Valid) -> rules.Found:
        found: rules.Found = []
        opens, closes = (rules.time_or_none(v.get("open")), rules.time_or_none(v.get("close")))
        if opens and closes and not opens < closes:
            found.append(((), f"open ({opens:%H:%M}) must be before close ({closes:%H:%M})"))
        start, end = rules.time_or_none(v.get("lunch", 0)), rules.time_or_none(v.get("lunch", 1))
        if start and end:
            span = f"{start:%H:%M}-{end:%H:%M}"
            if not start < end:
                found.append((("lunch",), f"must start before it ends, got {span}"))
            elif opens and closes and opens < closes and not opens <= start < end <= closes:
                hours = f"{opens:%H:%M}-{closes:%H:%M}"
                found.append((("lunch",), f"{span} must lie within the opening hours {hours}"))
        seen: set[int] = set()
        for index, _ in v.items("weekdays"):
            if (day := v.get("weekdays", index)) in seen:
                found.append((("weekdays", index), f"day {day} is listed twice"))
            elif day is not None:
                seen.add(day)
        return found


class _Area(rules.Table):
    code: rules.AreaCode
    name: rules.Text
    name_en: rules.AnyText = ""


class _Service(rules.Table):
    code: rules.ServiceCode  # the ticket prefix
    name: rules.Text
    name_en: rules.AnyText = ""
    area: rules.Text
    daily_quota: rules.PositiveInt  # tickets per business day (号源)
    handling_minutes: rules.PositiveNumber  # expected minutes per ticket, for wait estimates
    warn_minutes: rules.PositiveInt
    alarm_minutes: rules.PositiveInt  # such tickets go first

    @classmethod
    def cross_check(cls, v: rules.Valid) -> rules.Found:
        warn, alarm = v.get("warn_minutes"), v.get("alarm_minutes")
        if warn is not None and alarm is not None and not warn < alarm:
            return [((), f"warn_minutes ({warn}) must be less than alarm_minutes ({alarm})")]
        return []


class _Window(rules.Table):
    number: rules.PositiveInt
    name: rules.Text
    area: rules.Text
    services: Annotated[list[rules.Text], rules.array("service codes")]  # primary skills first
    comprehensive: rules.Flag = False  # 综合窗口 / 全科窗口


_UNIQUE_SERVICE = ("code", "service code", "services")
_UNIQUE_WINDOW = ("number", "window number", "windows")


class _Hall(rules.Table):
    name: rules.Text
    name_en: rules.AnyText = ""
    level: Annotated[layout.HallLevel, rules.one_of("district", "street", "community")]
    dispatch: Annotated[layout.DispatchOrder, rules.one_of("service_order", "longest_wait")] = (
        "service_order"
    )
    has_kiosk: rules.Flag = True
    voice: rules.Flag = True  # False: silent calling (screen and phone only)
    region: rules.Text | None = None  # the [regions.<id>] office above the hall
    hours: _Hours
    call_policy: _CallPolicy = _CallPolicy()  # only the keys written here override
    priority_classes: _PriorityClasses | None = None  # None: the process-wide list
    areas: Annotated[list[_Area], rules.tables("area", ("code", "area code", "areas"))]
    services: Annotated[list[_Service], rules.tables("service", _UNIQUE_SERVICE)]
    windows: Annotated[list[_Window], rules.tables("window", _UNIQUE_WINDOW)]

    @classmethod
    def cross_check(cls, v: rules.Valid) -> rules.Found:
        """Areas and services named by services and windows exist; each service has a window."""
        areas, services = rules.codes(v, "areas"), rules.codes(v, "services")
        found: rules.Found = [
            ((kind, index, "area"), f"unknown area {area!r} (known: {rules.known(areas)})")
            for kind in ("services", "windows")
            for index, _ in v.items(kind)
            if v.get("areas") is not None and (area := v.get(kind, index, "area")) is not None
            and area not in areas
        ]  # fmt: skip
        offered: set[str] = set()
        every_list_read = v.get("windows") is not None  # else "offered by no window" might echo
        for index, _ in v.items("windows"):
            seen: dict[str, int] = {}
            every_list_read &= v.get("windows", index, "services") is not None
            for position, _ in v.items("windows", index, "services"):
                code = v.get("windows", index, "services", position)
                at = ("windows", index, "services", position)
                if code is None:
                    every_list_read = False
                elif code in seen:
                    found.append(
                        (at, f"service {code!r} is listed twice (also services[{seen[code]}])")
                    )
                elif v.get("services") is not None and code not in services:
                    found.append((at, f"unknown service {code!r} (known: {rules.known(services)})"))
                else:
                    seen[code] = position
                    offered.add(code)
        return found + [
            (("services", index), f"service {code!r} is offered by no window")
            for code, index in services.items()
            if every_list_read and code not in offered
        ]  # fmt: skip


class _Printer(PrinterSettings):
    """[[printing.printers]]: one printer's settings; keys left out follow [printing]."""

    hall: rules.Text
    name: rules.Text


class Printing(PrinterSettings):
    """[printing]: every printer's settings, unless [[printing.printers]] names it."""

    job_ttl_seconds: rules.PositiveInt = 120  # a job not printed by then expires (ledgered)
    printers: Annotated[list[_Printer], rules.tables("printer", allow_empty=True)] = []

    @property
    def default(self) -> PrinterSettings:
        return PrinterSettings(**self.model_dump(include=set(PrinterSettings.model_fields)))

    def for_printer(self, hall: str, name: str | None) -> PrinterSettings:
        for p in self.printers:
            if (p.hall, p.name) == (hall, name or ""):
                own = p.model_fields_set & set(PrinterSettings.model_fields)
                return self.default.model_copy(update=p.model_dump(include=own))
        return self.default


class _Region(rules.Table):
    name: rules.Text
    name_en: rules.AnyText = ""
    level: Annotated[layout.RegionLevel, rules.one_of("district", "street")]
    parent: rules.Text | None = None  # a street's district

    @classmethod
    def cross_check(cls, v: rules.Valid) -> rules.Found:
        level, parent = v.get("level"), v.get("parent")
        if level == "district" and parent is not None:
            return [(("parent",), "a district has no parent")]
        if level == "street" and parent is None and "parent" not in v.data:
            return [((), "missing key 'parent' (a street names its district)")]
        return []


class _Question(rules.Table):
    """[[surveys.questions]]: one question of a questionnaire."""

    id: Annotated[str, rules.matching(r"[a-z][a-z0-9_]{0,31}", "a lower-case id like 'overall'")]
    kind: Annotated[str, rules.one_of(*survey_rules.KINDS)]
    text: rules.Text
    required: rules.Flag = True
    labels: Annotated[tuple[rules.Phrase, ...], rules.array("5 labels, for 1 … 5", tuple)] | None = None  # scale
    options: Annotated[tuple[rules.Phrase, ...], rules.array("options", tuple)] | None = None  # choice
    max_length: rules.PositiveInt | None = None  # text: at most this many characters

    @classmethod
    def cross_check(cls, v: rules.Valid) -> rules.Found:
        kind = v.get("kind")
        found: rules.Found = []
        for key, owner in (("labels", "scale"), ("options", "choice"), ("max_length", "text")):
            if key in v.data and kind is not None and kind != owner:
                found.append(((key,), f"applies only to kind '{owner}'; this question is '{kind}'"))
        labels = v.get("labels")
        if kind == "scale" and labels is not None and len(labels) != 5:
            found.append((("labels",), f"a scale has 5 labels (for 1 … 5), got {len(labels)}"))
        options = v.get("options")
        if kind == "choice" and "options" not in v.data:
            found.append(((), "missing key 'options' (a choice question lists them)"))
        elif kind == "choice" and options is not None:
            if len(options) < 2:
                found.append((("options",), f"a choice needs at least 2 options, got {len(options)}"))
            seen: set[str] = set()
            for index, option in enumerate(options):
                if option in seen:
                    found.append((("options", index), f"option {option!r} is listed twice"))
                seen.add(option)
        limit = v.get("max_length")
        if kind == "text" and limit is not None and limit > 2000:
            found.append((("max_length",), f"at most 2000 characters, got {limit}"))
        return found


class _Survey(rules.Table):
    """[[surveys]]: a questionnaire (满意度调查问卷) a manager's campaign may run."""

    id: Annotated[str, rules.matching(r"[a-z][a-z0-9_-]{0,31}", "a lower-case id like 'hall-2027'")]
    title: rules.Text
    intro: rules.AnyText = ""
    questions: Annotated[list[_Question], rules.tables("question", ("id", "question id", "questions"))]


class _File(rules.Table):
    server: _Server = _Server()
    database: _Database = _Database()
    anchors: _Anchors = _Anchors()
    redis: _Redis = _Redis()
    auth: _Auth = _Auth()
    time: _Time = _Time()
    call_policy: _CallPolicy = _CallPolicy()
    priority_classes: _PriorityClasses = []
    civility: _Civility
    halls: Annotated[dict[rules.HallId, _Hall], rules.tables_by_id("hall", "halls")]
    regions: dict[rules.HallId, _Region] = {}
    printing: Printing = Printing()
    ratings: Ratings = Ratings()
    limits: Limits = Limits()
    alerts: Alerts = Alerts()
    calendar: Calendar = Calendar()
    complaints: Complaints = Complaints()
    surveys: Annotated[list[_Survey], rules.tables("survey", ("id", "survey id", "surveys"), allow_empty=True)] = []

    @classmethod
    def cross_check(cls, v: rules.Valid) -> rules.Found:
        halls = v.data.get("halls") if isinstance(v.data.get("halls"), dict) else {}
        found: rules.Found = []
        for index, _ in v.items("printing", "printers") if halls else []:
            hall = v.get("printing", "printers", index, "hall")
            if hall is not None and hall not in halls:
                at = ("printing", "printers", index, "hall")
                found.append((at, f"unknown hall {hall!r} (known: {', '.join(halls)})"))
        regions = v.data.get("regions") if isinstance(v.data.get("regions"), dict) else {}
        levels = {k: r.get("level") for k, r in regions.items() if isinstance(r, dict)}
        for region_id, region in regions.items():
            parent = region.get("parent") if isinstance(region, dict) else None
            if isinstance(parent, str) and levels.get(parent) != "district":
                what = "unknown region" if parent not in levels else "not a district"
                found.append((("regions", region_id, "parent"), f"{what} {parent!r} (districts: "
                              f"{', '.join(k for k, lv in levels.items() if lv == 'district') or 'none'})"))
        for hall_id, hall in halls.items():
            region = hall.get("region") if isinstance(hall, dict) else None
            if isinstance(region, str) and region not in levels:
                found.append((("halls", hall_id, "region"),
                              f"unknown region {region!r} (known: {', '.join(levels) or 'none'})"))
        return found


# --- Loading -----------------------------------------------------------------------------------


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one complete line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read, check and type the configuration file; raise ConfigError listing every problem.

    `env` (default: os.environ) may override the database and Redis URLs through
    QUEUE_DATABASE_URL, QUEUE_APP_DATABASE_URL and QUEUE_REDIS_URL; an empty variable counts
    as unset. Relative file paths are taken from the configuration file's directory.
    """
    source, file = str(path), Path(path)
    try:
        data = rules.read_toml(source, file)
    except rules.Unreadable as exc:
        raise ConfigError([str(exc)]) from None
    env = os.environ if env is None else env
    found: list[str] = []
    try:
        checked = _File.model_validate(data)
    except ValidationError as exc:
        found += rules.lines(exc.errors())
    urls = {name: env[name] for name in ENV_URLS if env.get(name)}
    for name, url in urls.items():
        if (message := rules.url_problem(url, ENV_URLS[name])) is not None:
            found.append(f"environment variable {name}: {message}")
    if found:
        raise ConfigError([f"{source}: {line}" for line in found])
    return _build(checked, source, file.parent.absolute(), urls)


def _build(f: _File, source: str, base_dir: Path, env: dict[str, str]) -> Config:
    def local(name: str) -> Path:
        return base_dir / Path(name).expanduser()

    return Config(
        halls={hall_id: _hall(hall_id, hall, f) for hall_id, hall in f.halls.items()},
        regions={region_id: layout.Region(id=region_id, **r.model_dump()) for region_id, r in f.regions.items()},
        timezone=f.time.timezone,
        business_day_starts=f.time.business_day_starts,
        civility=layout.Civility(
            phrases={
                moment: tuple(phrases)
                for moment, phrases in f.civility.model_dump(exclude={"taboo"}).items()
                if phrases is not None
            },
            taboo=tuple(f.civility.taboo),
        ),
        host=f.server.host,
        port=f.server.port,
        public_url=f.server.public_url or f"http://{f.server.host}:{f.server.port}",
        database_url=env.get("QUEUE_DATABASE_URL", f.database.url),
        app_database_url=env.get("QUEUE_APP_DATABASE_URL", f.database.app_url),
        pgdata=local(f.database.pgdata),
        db_command_timeout=f.database.command_timeout_seconds,
        anchor_key=local(f.anchors.key_file),
        anchor_log=local(f.anchors.log_file),
        redis_url=env.get("QUEUE_REDIS_URL", f.redis.url),
        redis_channel=f.redis.channel,
        token_ttl_minutes=f.auth.token_ttl_minutes,
        source=source,
        printing=f.printing,
        ratings=f.ratings,
        limits=f.limits,
        alerts=f.alerts,
        calendar=f.calendar,
        trusted_proxies=tuple(f.server.trusted_proxies),
        complaints=f.complaints,
        surveys={s.id: _questionnaire(s) for s in f.surveys},
    )


def _questionnaire(s: _Survey) -> survey_rules.Questionnaire:
    return survey_rules.Questionnaire(s.id, s.title, tuple(
        survey_rules.Question(
            q.id, q.kind, q.text, q.required, q.labels or survey_rules.DEFAULT_SCALE, q.options or (),
            q.max_length or survey_rules.TEXT_LIMIT)
        for q in s.questions), s.intro)


def _hall(hall_id: str, hall: _Hall, f: _File) -> layout.Hall:
    policy = f.call_policy.model_copy(update=hall.call_policy.model_dump(exclude_unset=True))
    classes = f.priority_classes if hall.priority_classes is None else hall.priority_classes
    lunch = hall.hours.lunch
    return layout.Hall(
        id=hall_id,
        **hall.model_dump(include={"name", "name_en", "level", "dispatch", "has_kiosk", "voice", "region"}),
        areas={a.code: layout.Area(**a.model_dump()) for a in hall.areas},
        services={s.code: layout.Service(**s.model_dump()) for s in hall.services},
        windows={
            w.number: layout.Window(**{**w.model_dump(), "services": tuple(w.services)})
            for w in hall.windows
        },
        hours=layout.Hours(
            **hall.hours.model_dump(include={"open", "close", "issue_during_lunch"}),
            lunch_start=lunch[0] if lunch else None,
            lunch_end=lunch[1] if lunch else None,
            weekdays=tuple(sorted(hall.hours.weekdays)),
        ),
        call_policy=layout.CallPolicy(**policy.model_dump()),
        priority_classes={
            c.code: layout.PriorityClass(**{**c.model_dump(), "every": c.every or 0})
            for c in classes
        },
    )
