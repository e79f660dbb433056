"""The hall configuration: typed values parsed once from config.toml, with clear errors."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .domain.layout import (
    Area,
    CallPolicy,
    Civility,
    DispatchOrder,
    Hall,
    HallLevel,
    Hours,
    PriorityClass,
    PriorityMode,
    Service,
    Window,
)


@dataclass(frozen=True)
class PrinterSettings:
    """How one kiosk printer prints: paper width, Chinese in the printer's font or as images."""

    paper_mm: int = 80  # 58 or 80
    chinese: str = "native"  # "native" (GBK in the printer's Chinese mode) or "image"
    qr: str = "native"  # "native" (GS ( k) or "image"


@dataclass(frozen=True)
class Printing:
    default: PrinterSettings = field(default_factory=PrinterSettings)
    printers: dict[tuple[str, str], PrinterSettings] = field(default_factory=dict)  # (hall, name)
    job_ttl_seconds: int = 120  # a job not printed by then expires (ledgered, never printed)

    def for_printer(self, hall: str, name: str | None) -> PrinterSettings:
        return self.printers.get((hall, name or ""), self.default)


DEFAULT_RATING_LABELS = (
    "等候时间过长", "服务态度不好", "办事效率低", "业务不熟练",
    "一次性告知不到位", "需要多次跑", "环境设施不便", "其他",
)


@dataclass(frozen=True)
class Ratings:
    window_minutes: int = 10  # a rating is accepted this long after the service finished
    labels: tuple[str, ...] = DEFAULT_RATING_LABELS  # reasons a bad rating picks from
    callback_days: int = 1
    rectify_days: int = 15


@dataclass(frozen=True)
class Limits:
    """What one client address may ask of the public routes, and how long a client may take
    to send a request ([limits] in config.toml)."""

    header_timeout_seconds: float = 10.0  # connection (or last answer) to complete headers
    body_timeout_seconds: float = 30.0  # headers to complete body
    ticket_status_per_minute: int = 120  # GET /api/v1/tickets/{id}, per address
    live_feed_per_minute: int = 30  # /t/{id}/live connections, per address
    login_per_minute: int = 60  # POST /api/v1/auth/login, per address (a hall's NAT included)
    rating_per_minute: int = 20  # citizen ratings, per address
    login_failures_per_address: int = 20  # past this many failures in 10 min, answered slowly
    login_failure_delay_seconds: float = 1.0  # how slowly


@dataclass(frozen=True)
class Config:
    halls: dict[str, Hall]
    timezone: ZoneInfo
    business_day_starts: time  # times before this belong to the previous business day
    civility: Civility
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    database_url: str | None = None
    # The role `serve` connects as (INSERT and SELECT on the ledger only); None: database_url.
    app_database_url: str | None = None
    pgdata: Path = field(default_factory=lambda: Path("var/pgdata"))
    # A database command, connection or pool wait longer than this answers 503.
    db_command_timeout: float = 5.0
    anchor_key: Path = field(default_factory=lambda: Path("var/anchor-key.pem"))
    anchor_log: Path = field(default_factory=lambda: Path("var/anchors.jsonl"))
    redis_url: str | None = None
    token_ttl_minutes: int = 720
    source: str = "config.toml"
    printing: Printing = field(default_factory=Printing)
    ratings: Ratings = field(default_factory=Ratings)
    limits: Limits = field(default_factory=Limits)


# --- Loading ---------------------------------------------------------------------------------
#
# tomllib turns the file into plain dicts, which are walked once. Every problem is collected
# as one full line ("<file>: <key path>: <message>") so a hall manager can fix the whole file
# in one pass rather than one restart per mistake.


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one complete line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


T = TypeVar("T")

HALL_ID = re.compile(r"[a-z][a-z0-9_-]{0,31}")
AREA_CODE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
SERVICE_CODE = re.compile(r"[A-Z]")
PRIORITY_CODE = re.compile(r"[a-z][a-z0-9_]{0,31}")
CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

CIVILITY_MOMENTS = (
    "greeting",
    "serving",
    "missing_material",
    "refusal",
    "next_step",
    "waited_long",
    "finished",
    "farewell",
    "basics",
)
DATABASE_SCHEMES = ("postgresql", "postgres")
REDIS_SCHEMES = ("redis", "rediss", "unix")
DATABASE_URL_ENV = "QUEUE_DATABASE_URL"
APP_DATABASE_URL_ENV = "QUEUE_APP_DATABASE_URL"
REDIS_URL_ENV = "QUEUE_REDIS_URL"

# The keys each table may hold; anything else is reported as unknown.
_TOP_KEYS = (
    "server", "database", "redis", "auth", "time",
    "call_policy", "priority_classes", "civility", "halls", "printing", "ratings", "anchors",
    "limits",
)  # fmt: skip
_LIMITS_KEYS = tuple(Limits.__dataclass_fields__)
_RATINGS_KEYS = ("window_minutes", "labels", "callback_days", "rectify_days")
_PRINTING_KEYS = ("paper_mm", "chinese", "qr", "job_ttl_seconds", "printers")
_PRINTER_KEYS = ("hall", "name", "paper_mm", "chinese", "qr")
_SERVER_KEYS = ("host", "port", "public_url")
_DATABASE_KEYS = ("url", "app_url", "pgdata", "command_timeout_seconds")
_ANCHORS_KEYS = ("key_file", "log_file")
_REDIS_KEYS = ("url",)
_AUTH_KEYS = ("token_ttl_minutes",)
_TIME_KEYS = ("timezone", "business_day_starts")
_CALL_POLICY_KEYS = ("max_calls", "recall_min_seconds", "restore_offset", "void_after_misses")
_PRIORITY_KEYS = ("code", "name", "mode", "every", "reason_required")
# "hall": prompts for the hall screen's ticker (温馨提示); optional.
_CIVILITY_KEYS = (*CIVILITY_MOMENTS, "hall", "taboo")
_HALL_KEYS = (
    "name", "name_en", "level", "dispatch", "has_kiosk", "voice",
    "hours", "call_policy", "priority_classes", "areas", "services", "windows",
)  # fmt: skip
_HOURS_KEYS = ("open", "close", "lunch", "issue_during_lunch", "weekdays")
_AREA_KEYS = ("code", "name", "name_en")
_SERVICE_KEYS = (
    "code", "name", "name_en", "area",
    "daily_quota", "handling_minutes", "warn_minutes", "alarm_minutes",
)  # fmt: skip
_WINDOW_KEYS = ("number", "name", "area", "services", "comprehensive")


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read, check and type the configuration file; raise ConfigError listing every problem.

    `env` (default: os.environ) may override the database and Redis URLs through
    QUEUE_DATABASE_URL and QUEUE_REDIS_URL; an empty variable counts as unset.
    A relative `pgdata` is taken from the configuration file's directory.
    """
    source = str(path)
    file = Path(path)
    data = _parse_toml(source, _read_text(source, file))
    problems = _Problems(source)
    config = _read_config(
        _Table(data, "", _TOP_KEYS, problems),
        base_dir=file.parent.absolute(),
        env=os.environ if env is None else env,
        source=source,
    )
    if problems.lines or config is None:
        raise ConfigError(problems.lines)
    return config


def _read_text(source: str, file: Path) -> str:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{source}: no such file (looked for {file.absolute()})"]) from None
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read the file: {exc.strerror}"]) from None
    try:
        # utf-8-sig: Windows editors often save UTF-8 with a byte-order mark.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            [
                f"{source}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x});"
                " save the file as UTF-8, not GBK"
            ]
        ) from None


def _parse_toml(source: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's TOMLDecodeError has no line attribute; the position ends its message.
        message = str(exc)
        at = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message, re.DOTALL)
        if at:
            line = f"{source}: line {at[2]}: {at[1]} (column {at[3]})"
        elif message.endswith(" (at end of document)"):
            line = f"{source}: end of file: {message.removesuffix(' (at end of document)')}"
        else:
            line = f"{source}: {message}"
        raise ConfigError([line]) from None


class _Invalid(Exception):
    """A value does not fit; the message says what was expected and shows the value."""


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.lines.append(
            f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}"
        )

    def since(self, mark: int) -> bool:
        return len(self.lines) > mark


def _key_path(path: str, key: str) -> str:
    shown = key if BARE_KEY.fullmatch(key) else f'"{key}"'
    return f"{path}.{shown}" if path else shown


def _show(value: Any) -> str:
    """A value roughly as the person wrote it: strings quoted, booleans in TOML spelling."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return str(value)


def _got(value: T | None) -> T:
    """A value that must be present because no problem was reported while reading it."""
    if value is None:
        raise AssertionError("a configuration value is missing although no problem was reported")
    return value


class _Table:
    """One TOML table being read: hands out checked values and reports what does not fit."""

    def __init__(
        self, data: dict[str, Any], path: str, keys: tuple[str, ...], problems: _Problems
    ) -> None:
        self.data = data
        self.path = path
        self.keys = keys
        self.problems = problems
        for key in data:
            if key not in keys:
                close = difflib.get_close_matches(key, keys, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.add(path, f"unknown key {key!r}{hint}")

    def at(self, key: str) -> str:
        return _key_path(self.path, key)

    def report(self, key: str, message: str) -> None:
        self.problems.add(self.at(key), message)

    def has(self, key: str) -> bool:
        assert key in self.keys, f"{key!r} is not in the schema of {self.path or 'the file'}"
        return key in self.data

    def present(self, key: str, required: bool) -> bool:
        if self.has(key):
            return True
        if required:
            self.problems.add(self.path, f"missing key {key!r}")
        return False

    def _parse(self, key: str, parse: Callable[[Any], T]) -> T | None:
        try:
            return parse(self.data[key])
        except _Invalid as exc:
            self.report(key, str(exc))
            return None

    def required(self, key: str, parse: Callable[[Any], T]) -> T | None:
        return self._parse(key, parse) if self.present(key, True) else None

    def optional(self, key: str, parse: Callable[[Any], T], default: T) -> T | None:
        return self._parse(key, parse) if self.present(key, False) else default

    def table(self, key: str, keys: tuple[str, ...], *, required: bool) -> _Table | None:
        """A sub-table; an absent optional one reads as empty, so its defaults apply."""
        if not self.present(key, required):
            return None if required else _Table({}, self.at(key), keys, self.problems)
        value = self.data[key]
        if not isinstance(value, dict):
            self.report(key, f"expected a table [{self.at(key)}], got {_show(value)}")
            return None
        return _Table(value, self.at(key), keys, self.problems)

    def tables(
        self, key: str, keys: tuple[str, ...], *, what: str, allow_empty: bool = False
    ) -> list[_Table] | None:
        """A required array of tables ([[key]]); each item's path is key[i]."""
        if not self.present(key, True):
            return None
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.report(key, f"expected an array of tables [[{self.at(key)}]], got {_show(value)}")
            return None
        if not value and not allow_empty:
            self.report(key, f"expected at least one {what}")
            return None
        return [
            _Table(item, f"{self.at(key)}[{index}]", keys, self.problems)
            for index, item in enumerate(value)
        ]

    def array(self, key: str, item: Callable[[Any], T], *, what: str) -> list[T | None] | None:
        """A required non-empty array checked item by item; items that do not fit are None."""
        if not self.present(key, True):
            return None
        value = self.data[key]
        if not isinstance(value, list) or not value:
            self.report(key, f"expected a non-empty array of {what}, got {_show(value)}")
            return None
        items: list[T | None] = []
        for index, raw in enumerate(value):
            try:
                items.append(item(raw))
            except _Invalid as exc:
                self.problems.add(f"{self.at(key)}[{index}]", str(exc))
                items.append(None)
        return items


# --- Value parsers: each returns the typed value or raises _Invalid --------------------------


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"expected a non-empty string, got {_show(value)}")
    return value


def _any_string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, got {_show(value)}")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_show(value)}")
    return value


def _is_int(value: Any) -> bool:
    # TOML true/false arrive as bool, which Python counts as int.
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(value: Any) -> int:
    if not _is_int(value) or value < 1:
        raise _Invalid(f"expected a positive integer, got {_show(value)}")
    return int(value)


def _count(value: Any) -> int:
    if not _is_int(value) or value < 0:
        raise _Invalid(f"expected an integer 0 or more, got {_show(value)}")
    return int(value)


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _Invalid(f"expected a positive number, got {_show(value)}")
    return float(value)


def _port(value: Any) -> int:
    if not _is_int(value) or not 1 <= value <= 65535:
        raise _Invalid(f"expected a port number 1-65535, got {_show(value)}")
    return int(value)


def _clock(value: Any) -> time:
    match = CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _Invalid(f'expected a time "HH:MM" (00:00-23:59), got {_show(value)}')
    return time(int(match[1]), int(match[2]))


def _weekday(value: Any) -> int:
    if not _is_int(value) or not 1 <= value <= 7:
        raise _Invalid(f"expected an ISO weekday 1-7 (Monday = 1), got {_show(value)}")
    return int(value)


def _timezone(value: Any) -> ZoneInfo:
    name = _string(value)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid(f"unknown time zone {name!r} (e.g. 'Asia/Shanghai')") from None


def _phrase(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"expected a non-empty phrase, got {_show(value)}")
    return value.strip()


def _one_of(*choices: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in choices:
            listed = ", ".join(repr(choice) for choice in choices)
            raise _Invalid(f"expected one of {listed}, got {_show(value)}")
        return str(value)

    return parse


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise _Invalid(f"expected {what}, got {_show(value)}")
        return value

    return parse


def _url(schemes: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise _Invalid(f"expected a URL string, got {_show(value)}")
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in schemes or not rest:
            expected = " or ".join(f"{s}://" for s in schemes)
            # Only the scheme is shown: the rest of a URL may hold a password.
            if not sep:
                shown = "a value without '://'"
            elif scheme in schemes:
                shown = f"nothing after {scheme + '://'!r}"
            else:
                shown = f"one starting with {scheme + '://'!r}"
            raise _Invalid(f"expected a URL starting with {expected}, got {shown}")
        return value

    return parse


# --- Sections ---------------------------------------------------------------------------------


def _read_config(
    top: _Table, *, base_dir: Path, env: Mapping[str, str], source: str
) -> Config | None:
    server = top.table("server", _SERVER_KEYS, required=False)
    database = top.table("database", _DATABASE_KEYS, required=False)
    redis = top.table("redis", _REDIS_KEYS, required=False)
    auth = top.table("auth", _AUTH_KEYS, required=False)
    clock = top.table("time", _TIME_KEYS, required=False)

    host: str | None = None
    port: int | None = None
    public_url: str | None = None
    if server is not None:
        host = server.optional("host", _string, "127.0.0.1")
        port = server.optional("port", _port, 8080)
        public_url = server.optional("public_url", _url(("http", "https")), f"http://{host}:{port}")

    database_url: str | None = None
    pgdata: Path | None = None
    if database is not None:
        database_url = database.optional("url", _url(DATABASE_SCHEMES), None)
        pgdata_text = database.optional("pgdata", _string, "./var/pgdata")
        if pgdata_text is not None:
            pgdata = base_dir / Path(pgdata_text).expanduser()
    db_timeout = (
        database.optional("command_timeout_seconds", _positive_number, 5.0)
        if database is not None else None
    )
    database_url = _env_url(top, env, DATABASE_URL_ENV, DATABASE_SCHEMES, database_url)
    app_database_url = (
        database.optional("app_url", _url(DATABASE_SCHEMES), None) if database is not None else None
    )
    app_database_url = _env_url(top, env, APP_DATABASE_URL_ENV, DATABASE_SCHEMES, app_database_url)
    anchors = top.table("anchors", _ANCHORS_KEYS, required=False)
    anchor_key: Path | None = None
    anchor_log: Path | None = None
    if anchors is not None:
        key_text = anchors.optional("key_file", _string, "./var/anchor-key.pem")
        log_text = anchors.optional("log_file", _string, "./var/anchors.jsonl")
        anchor_key = base_dir / Path(key_text).expanduser() if key_text is not None else None
        anchor_log = base_dir / Path(log_text).expanduser() if log_text is not None else None

    redis_url = redis.optional("url", _url(REDIS_SCHEMES), None) if redis is not None else None
    redis_url = _env_url(top, env, REDIS_URL_ENV, REDIS_SCHEMES, redis_url)

    token_ttl: int | None = None
    if auth is not None:
        token_ttl = auth.optional("token_ttl_minutes", _positive_int, 720)

    timezone: ZoneInfo | None = None
    business_day_starts: time | None = None
    if clock is not None:
        timezone = clock.optional("timezone", _timezone, ZoneInfo("Asia/Shanghai"))
        business_day_starts = clock.optional("business_day_starts", _clock, time(4, 0))

    policy_table = top.table("call_policy", _CALL_POLICY_KEYS, required=False)
    default_policy = _read_call_policy(policy_table, CallPolicy())
    default_classes: dict[str, PriorityClass] | None = {}
    if top.has("priority_classes"):
        default_classes = _read_priority_classes(top)
    civility_table = top.table("civility", _CIVILITY_KEYS, required=True)
    civility = _read_civility(civility_table) if civility_table is not None else None
    halls = _read_halls(top, default_policy, default_classes)
    printing = _read_printing(top.table("printing", _PRINTING_KEYS, required=False), halls)
    ratings = _read_ratings(top.table("ratings", _RATINGS_KEYS, required=False))
    limits = _read_limits(top.table("limits", _LIMITS_KEYS, required=False))

    if top.problems.lines:
        return None
    return Config(
        halls=_got(halls),
        timezone=_got(timezone),
        business_day_starts=_got(business_day_starts),
        civility=_got(civility),
        host=_got(host),
        port=_got(port),
        public_url=_got(public_url),
        database_url=database_url,
        app_database_url=app_database_url,
        db_command_timeout=db_timeout if db_timeout is not None else 5.0,
        pgdata=_got(pgdata),
        anchor_key=_got(anchor_key),
        anchor_log=_got(anchor_log),
        redis_url=redis_url,
        token_ttl_minutes=_got(token_ttl),
        source=source,
        printing=_got(printing),
        ratings=_got(ratings),
        limits=_got(limits),
    )


def _env_url(
    top: _Table,
    env: Mapping[str, str],
    name: str,
    schemes: tuple[str, ...],
    configured: str | None,
) -> str | None:
    value = env.get(name, "")
    if not value:
        return configured
    try:
        return _url(schemes)(value)
    except _Invalid as exc:
        top.problems.add(f"environment variable {name}", str(exc))
        return None


def _read_printing(table: _Table | None, halls: dict[str, Hall] | None) -> Printing | None:
    if table is None:
        return Printing()
    mark = len(table.problems.lines)
    paper = table.optional("paper_mm", _paper, 80)
    chinese = table.optional("chinese", _one_of("native", "image"), "native")
    qr = table.optional("qr", _one_of("native", "image"), "native")
    ttl = table.optional("job_ttl_seconds", _positive_int, 120)
    default = PrinterSettings(_got(paper), _got(chinese), _got(qr)) if not table.problems.since(mark) else None
    printers: dict[tuple[str, str], PrinterSettings] = {}
    if table.has("printers") and default is not None:
        for item in table.tables("printers", _PRINTER_KEYS, what="printer", allow_empty=True) or []:
            hall = item.required("hall", _string)
            name = item.required("name", _string)
            if hall is not None and halls is not None and hall not in halls:
                item.report("hall", f"unknown hall {hall!r} (known: {', '.join(halls)})")
            settings = PrinterSettings(
                _got(item.optional("paper_mm", _paper, default.paper_mm)),
                _got(item.optional("chinese", _one_of("native", "image"), default.chinese)),
                _got(item.optional("qr", _one_of("native", "image"), default.qr)),
            )
            if hall and name:
                printers[(hall, name)] = settings
    if table.problems.since(mark) or default is None:
        return None
    return Printing(default, printers, _got(ttl))


def _read_ratings(table: _Table | None) -> Ratings | None:
    if table is None:
        return Ratings()
    mark = len(table.problems.lines)
    minutes = table.optional("window_minutes", _positive_int, 10)
    callback = table.optional("callback_days", _positive_int, 1)
    rectify = table.optional("rectify_days", _positive_int, 15)
    labels = table.array("labels", _phrase, what="labels") if table.has("labels") else list(DEFAULT_RATING_LABELS)
    if table.problems.since(mark):
        return None
    return Ratings(_got(minutes), tuple(map(_got, _got(labels))), _got(callback), _got(rectify))


def _read_limits(table: _Table | None) -> Limits | None:
    if table is None:
        return Limits()
    mark = len(table.problems.lines)
    values: dict[str, Any] = {}
    for name, spec in Limits.__dataclass_fields__.items():
        parse = _positive_number if spec.type == "float" else _positive_int
        values[name] = table.optional(name, parse, spec.default)
    if table.problems.since(mark):
        return None
    return Limits(**values)


def _paper(value: Any) -> int:
    if value not in (58, 80) or isinstance(value, bool):
        raise _Invalid(f"expected 58 or 80 (mm), got {_show(value)}")
    return int(value)


def _read_call_policy(table: _Table | None, base: CallPolicy | None) -> CallPolicy | None:
    """`base` with this table's keys applied; None when anything does not fit."""
    if table is None or base is None:
        return None
    mark = len(table.problems.lines)
    max_calls = table.optional("max_calls", _positive_int, base.max_calls)
    recall_min_seconds = table.optional("recall_min_seconds", _count, base.recall_min_seconds)
    restore_offset = table.optional("restore_offset", _count, base.restore_offset)
    void_after_misses = table.optional("void_after_misses", _positive_int, base.void_after_misses)
    if table.problems.since(mark):
        return None
    return CallPolicy(
        max_calls=_got(max_calls),
        recall_min_seconds=_got(recall_min_seconds),
        restore_offset=_got(restore_offset),
        void_after_misses=_got(void_after_misses),
    )


def _read_priority_classes(parent: _Table) -> dict[str, PriorityClass] | None:
    """`parent.priority_classes` by code; an empty array means no priority classes at all."""
    tables = parent.tables(
        "priority_classes", _PRIORITY_KEYS, what="priority class", allow_empty=True
    )
    if tables is None:
        return None
    mark = len(parent.problems.lines)
    classes: dict[str, PriorityClass] = {}
    first_at: dict[str, int] = {}
    for index, table in enumerate(tables):
        code = table.required("code", _matching(PRIORITY_CODE, "a lower-case code like 'elderly'"))
        name = table.required("name", _string)
        mode = table.required("mode", _one_of("absolute", "interleaved"))
        reason_required = table.optional("reason_required", _boolean, False)
        every: int | None = 0
        if mode == "interleaved":
            if table.has("every"):
                every = table.required("every", _positive_int)
            else:
                table.problems.add(
                    table.path, "missing key 'every' (an interleaved class needs it)"
                )
        elif mode == "absolute" and table.has("every"):
            table.report("every", "applies only to mode 'interleaved'; this class is 'absolute'")
        if code is not None and code in first_at:
            table.report(
                "code",
                f"duplicate priority class {code!r} (also priority_classes[{first_at[code]}])",
            )
        elif code is not None:
            first_at[code] = index
        if not parent.problems.since(mark):
            classes[_got(code)] = PriorityClass(
                code=_got(code),
                name=_got(name),
                mode=cast(PriorityMode, _got(mode)),
                every=_got(every),
                reason_required=_got(reason_required),
            )
    return None if parent.problems.since(mark) else classes


def _read_civility(table: _Table) -> Civility | None:
    mark = len(table.problems.lines)
    phrases: dict[str, list[str | None] | None] = {
        moment: table.array(moment, _phrase, what="phrases") for moment in CIVILITY_MOMENTS
    }
    if table.has("hall"):
        phrases["hall"] = table.array("hall", _phrase, what="phrases")
    taboo = table.array("taboo", _phrase, what="taboo phrases")
    forbidden = set(taboo or [])
    for moment, said in phrases.items():
        for index, phrase in enumerate(said or []):
            if phrase in forbidden:
                table.problems.add(f"{table.at(moment)}[{index}]", f"{phrase!r} is a taboo phrase")
    if table.problems.since(mark):
        return None
    return Civility(
        phrases={moment: tuple(map(_got, _got(said))) for moment, said in phrases.items()},
        taboo=tuple(map(_got, _got(taboo))),
    )


def _read_halls(
    top: _Table,
    default_policy: CallPolicy | None,
    default_classes: dict[str, PriorityClass] | None,
) -> dict[str, Hall] | None:
    if not top.present("halls", True):
        return None
    value = top.data["halls"]
    if not isinstance(value, dict) or not all(isinstance(hall, dict) for hall in value.values()):
        top.report("halls", f"expected tables [halls.<id>], got {_show(value)}")
        return None
    if not value:
        top.report("halls", "expected at least one hall [halls.<id>]")
        return None
    halls: dict[str, Hall | None] = {}
    for hall_id, data in value.items():
        table = _Table(data, _key_path(top.at("halls"), hall_id), _HALL_KEYS, top.problems)
        if not HALL_ID.fullmatch(hall_id):
            top.problems.add(
                table.path,
                "hall id must be a lower-case letter then up to 31 lower-case letters, digits,"
                f" '_' or '-', got {hall_id!r}",
            )
        halls[hall_id] = _read_hall(hall_id, table, default_policy, default_classes)
    if None in halls.values():
        return None
    return {hall_id: _got(hall) for hall_id, hall in halls.items()}


def _read_hall(
    hall_id: str,
    table: _Table,
    default_policy: CallPolicy | None,
    default_classes: dict[str, PriorityClass] | None,
) -> Hall | None:
    mark = len(table.problems.lines)
    name = table.required("name", _string)
    name_en = table.optional("name_en", _any_string, "")
    level = table.required("level", _one_of("district", "street", "community"))
    dispatch = table.optional("dispatch", _one_of("service_order", "longest_wait"), "service_order")
    has_kiosk = table.optional("has_kiosk", _boolean, True)
    voice = table.optional("voice", _boolean, True)

    hours_table = table.table("hours", _HOURS_KEYS, required=True)
    hours = _read_hours(hours_table) if hours_table is not None else None
    # An absent [halls.<id>.call_policy] reads as empty: the defaults pass through unchanged.
    policy_table = table.table("call_policy", _CALL_POLICY_KEYS, required=False)
    call_policy = _read_call_policy(policy_table, default_policy or CallPolicy())
    priority_classes = default_classes
    if table.has("priority_classes"):
        priority_classes = _read_priority_classes(table)

    areas = _read_areas(table)
    services = _read_services(table, areas)
    windows = _read_windows(table, areas, services)

    if table.problems.since(mark) or default_policy is None or priority_classes is None:
        return None
    return Hall(
        id=hall_id,
        name=_got(name),
        level=cast(HallLevel, _got(level)),
        areas={code: _got(area) for code, area in _got(areas).items()},
        services={code: _got(entry.service) for code, entry in _got(services).items()},
        windows=_got(windows),
        hours=_got(hours),
        call_policy=_got(call_policy),
        priority_classes=priority_classes,
        dispatch=cast(DispatchOrder, _got(dispatch)),
        has_kiosk=_got(has_kiosk),
        voice=_got(voice),
        name_en=_got(name_en),
    )


def _read_hours(table: _Table) -> Hours | None:
    mark = len(table.problems.lines)
    opens = table.required("open", _clock)
    closes = table.required("close", _clock)
    issue_during_lunch = table.optional("issue_during_lunch", _boolean, True)
    if opens is not None and closes is not None and not opens < closes:
        table.problems.add(
            table.path, f"open ({opens:%H:%M}) must be before close ({closes:%H:%M})"
        )

    lunch_start: time | None = None
    lunch_end: time | None = None
    if table.has("lunch"):
        raw = table.data["lunch"]
        lunch = (
            table.array("lunch", _clock, what="times")
            if isinstance(raw, list) and len(raw) == 2
            else None
        )
        if lunch is None:
            table.report("lunch", f'expected two times ["HH:MM", "HH:MM"], got {_show(raw)}')
        elif None not in lunch:
            lunch_start, lunch_end = _got(lunch[0]), _got(lunch[1])
            span = f"{lunch_start:%H:%M}-{lunch_end:%H:%M}"
            if not lunch_start < lunch_end:
                table.report("lunch", f"must start before it ends, got {span}")
            elif (
                opens is not None
                and closes is not None
                and opens < closes  # otherwise already reported above
                and not opens <= lunch_start < lunch_end <= closes
            ):
                table.report(
                    "lunch",
                    f"{span} must lie within the opening hours {opens:%H:%M}-{closes:%H:%M}",
                )

    days: list[int] = []
    weekdays = (
        table.array("weekdays", _weekday, what="ISO weekdays 1-7")
        if table.has("weekdays")
        else [1, 2, 3, 4, 5]
    )
    for index, day in enumerate(weekdays or []):
        if day in days:
            table.problems.add(f"{table.at('weekdays')}[{index}]", f"day {day} is listed twice")
        elif day is not None:
            days.append(day)

    if table.problems.since(mark):
        return None
    return Hours(
        open=_got(opens),
        close=_got(closes),
        lunch_start=lunch_start,
        lunch_end=lunch_end,
        issue_during_lunch=_got(issue_during_lunch),
        weekdays=tuple(sorted(days)),
    )


def _known(codes: Iterable[str]) -> str:
    return ", ".join(codes) or "none"


def _read_areas(hall: _Table) -> dict[str, Area | None] | None:
    """Areas by code; an area whose other keys do not fit maps to None, so that references
    to its code are not reported as unknown as well."""
    tables = hall.tables("areas", _AREA_KEYS, what="area")
    if tables is None:
        return None
    areas: dict[str, Area | None] = {}
    first_at: dict[str, int] = {}
    for index, table in enumerate(tables):
        mark = len(table.problems.lines)
        code = table.required("code", _matching(AREA_CODE, "a lower-case code like 'business'"))
        name = table.required("name", _string)
        name_en = table.optional("name_en", _any_string, "")
        if code is None:
            continue
        if code in first_at:
            table.report("code", f"duplicate area code {code!r} (also areas[{first_at[code]}])")
            continue
        first_at[code] = index
        areas[code] = None
        if not table.problems.since(mark):
            areas[code] = Area(code=code, name=_got(name), name_en=_got(name_en))
    return areas


class _ServiceEntry:
    """A service read from its table: kept with the table so later checks can point at it."""

    def __init__(self, table: _Table, service: Service | None) -> None:
        self.table = table
        self.service = service


def _read_services(
    hall: _Table, areas: dict[str, Area | None] | None
) -> dict[str, _ServiceEntry] | None:
    tables = hall.tables("services", _SERVICE_KEYS, what="service")
    if tables is None:
        return None
    services: dict[str, _ServiceEntry] = {}
    first_at: dict[str, int] = {}
    for index, table in enumerate(tables):
        mark = len(table.problems.lines)
        code = table.required("code", _matching(SERVICE_CODE, "one upper-case letter A-Z"))
        name = table.required("name", _string)
        name_en = table.optional("name_en", _any_string, "")
        area = table.required("area", _string)
        daily_quota = table.required("daily_quota", _positive_int)
        handling_minutes = table.required("handling_minutes", _positive_number)
        warn_minutes = table.required("warn_minutes", _positive_int)
        alarm_minutes = table.required("alarm_minutes", _positive_int)
        if area is not None and areas is not None and area not in areas:
            table.report("area", f"unknown area {area!r} (known: {_known(areas)})")
        if (
            warn_minutes is not None
            and alarm_minutes is not None
            and not warn_minutes < alarm_minutes
        ):
            table.problems.add(
                table.path,
                f"warn_minutes ({warn_minutes}) must be less than alarm_minutes ({alarm_minutes})",
            )
        if code is None:
            continue
        if code in first_at:
            table.report(
                "code", f"duplicate service code {code!r} (also services[{first_at[code]}])"
            )
            continue
        first_at[code] = index
        service = None
        if not table.problems.since(mark):
            service = Service(
                code=code,
                name=_got(name),
                name_en=_got(name_en),
                area=_got(area),
                daily_quota=_got(daily_quota),
                handling_minutes=_got(handling_minutes),
                warn_minutes=_got(warn_minutes),
                alarm_minutes=_got(alarm_minutes),
            )
        services[code] = _ServiceEntry(table, service)
    return services


def _read_windows(
    hall: _Table,
    areas: dict[str, Area | None] | None,
    services: dict[str, _ServiceEntry] | None,
) -> dict[int, Window] | None:
    tables = hall.tables("windows", _WINDOW_KEYS, what="window")
    if tables is None:
        return None
    windows: dict[int, Window] = {}
    first_at: dict[int, int] = {}
    offered: set[str] = set()
    every_list_read = True  # otherwise "offered by no window" might only echo another problem
    for index, table in enumerate(tables):
        mark = len(table.problems.lines)
        number = table.required("number", _positive_int)
        name = table.required("name", _string)
        area = table.required("area", _string)
        comprehensive = table.optional("comprehensive", _boolean, False)
        codes = table.array("services", _string, what="service codes")
        if codes is None or None in codes:
            every_list_read = False
        if area is not None and areas is not None and area not in areas:
            table.report("area", f"unknown area {area!r} (known: {_known(areas)})")
        seen: dict[str, int] = {}
        for position, code in enumerate(codes or []):
            at = f"{table.at('services')}[{position}]"
            if code is None:
                continue
            if code in seen:
                table.problems.add(
                    at, f"service {code!r} is listed twice (also services[{seen[code]}])"
                )
            elif services is not None and code not in services:
                table.problems.add(at, f"unknown service {code!r} (known: {_known(services)})")
            else:
                seen[code] = position
                offered.add(code)
        if number is not None and number in first_at:
            table.report(
                "number", f"duplicate window number {number} (also windows[{first_at[number]}])"
            )
        elif number is not None:
            first_at[number] = index
        if not table.problems.since(mark):
            windows[_got(number)] = Window(
                number=_got(number),
                name=_got(name),
                area=_got(area),
                services=tuple(seen),
                comprehensive=_got(comprehensive),
            )
    if every_list_read:
        for code, entry in (services or {}).items():
            if code not in offered:
                entry.table.problems.add(
                    entry.table.path, f"service {code!r} is offered by no window"
                )
    return windows
