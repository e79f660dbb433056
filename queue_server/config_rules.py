"""What config.py's schema is built from: value types that say what they expect in the words
hall managers already know ("expected a positive integer, got 'abc'"), checks across keys that
see every value that passed, pydantic's errors turned into one line per problem
("<key path>: <message>"), and reading the file itself."""

from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationError,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def show(value: Any) -> str:
    """A value roughly as the person wrote it: strings quoted, booleans in TOML spelling."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "[" + ", ".join(show(item) for item in value) + "]"
    return str(value)


def problem(message: str, **ctx: Any) -> PydanticCustomError:
    """An error whose text is ours; "{path}" in it becomes the key path when it is reported."""
    return PydanticCustomError("config", "{message}", {"message": message, **ctx})


# --- Value types: each says what it expects, and shows what it got -----------------------------


def must(text: str, ok: Callable[[Any], bool], convert: Callable[[Any], Any] = lambda v: v) -> Any:
    """A value `ok` accepts, or the problem "<text>, got <the value>"."""

    def check(value: Any) -> Any:
        if not ok(value):
            raise problem(f"{text}, got {show(value)}")
        return convert(value)

    return BeforeValidator(check)


def expect(
    what: str, ok: Callable[[Any], bool], convert: Callable[[Any], Any] = lambda v: v
) -> Any:
    return must(f"expected {what}", ok, convert)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # TOML true is no number


def clock_of(value: Any) -> time:
    match = CLOCK.fullmatch(value)
    assert match is not None
    return time(int(match[1]), int(match[2]))


def is_clock(value: Any) -> bool:
    return isinstance(value, str) and CLOCK.fullmatch(value) is not None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def array(what: str, convert: Callable[[Any], Any] = lambda v: v) -> Any:
    """A non-empty array of plain values."""
    return expect(
        f"a non-empty array of {what}", lambda v: isinstance(v, list) and bool(v), convert
    )


Text = Annotated[str, expect("a non-empty string", _text)]
AnyText = Annotated[str, expect("a string", lambda v: isinstance(v, str))]
Flag = Annotated[bool, expect("true or false", lambda v: isinstance(v, bool))]
PositiveInt = Annotated[int, expect("a positive integer", lambda v: _is_int(v) and v >= 1)]
Count = Annotated[int, expect("an integer 0 or more", lambda v: _is_int(v) and v >= 0)]
PositiveNumber = Annotated[
    float,
    expect("a positive number", lambda v: (_is_int(v) or isinstance(v, float)) and v > 0, float),
]
Port = Annotated[int, expect("a port number 1-65535", lambda v: _is_int(v) and 1 <= v <= 65535)]
Clock = Annotated[time, expect('a time "HH:MM" (00:00-23:59)', is_clock, clock_of)]
Weekday = Annotated[
    int, expect("an ISO weekday 1-7 (Monday = 1)", lambda v: _is_int(v) and 1 <= v <= 7)
]
Phrase = Annotated[str, expect("a non-empty phrase", _text, str.strip)]


def day_of(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


Day = Annotated[date, expect('a date like 2027-01-01', lambda v: day_of(v) is not None, day_of)]
Days = Annotated[list[Day], expect("an array of dates", lambda v: isinstance(v, list))]
def network_of(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """An address ("127.0.0.1", "::1") or a network ("10.0.0.0/8"), or None."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip())
    except ValueError:
        return None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Networks = Annotated[
    list[Annotated[Network, expect('an IP address or network like "127.0.0.1" or "10.0.0.0/8"',
                                   lambda v: network_of(v) is not None, network_of)]],
    expect("an array of IP addresses or networks", lambda v: isinstance(v, list)),
]
Paper = Annotated[int, expect("58 or 80 (mm)", lambda v: _is_int(v) and v in (58, 80))]
Phrases = Annotated[list[Phrase], array("phrases")]
Labels = Annotated[tuple[Phrase, ...], array("labels", tuple)]


def matching(pattern: str, what: str) -> Any:
    compiled = re.compile(pattern)
    return expect(what, lambda v: isinstance(v, str) and compiled.fullmatch(v) is not None)


ServiceCode = Annotated[str, matching(r"[A-Z]", "one upper-case letter A-Z")]  # ticket prefix
AreaCode = Annotated[str, matching(r"[a-z][a-z0-9_-]{0,31}", "a lower-case code like 'business'")]
PriorityCode = Annotated[str, matching(r"[a-z][a-z0-9_]{0,31}", "a lower-case code like 'elderly'")]
HallId = Annotated[
    str,
    must(
        "hall id must be a lower-case letter then up to 31 lower-case letters, digits, '_' or '-'",
        lambda v: isinstance(v, str) and re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", v) is not None,
    ),
]
Lunch = Annotated[
    list[Clock],
    expect('two times ["HH:MM", "HH:MM"]', lambda v: isinstance(v, list) and len(v) == 2),
]


def one_of(*choices: str) -> Any:
    listed = ", ".join(repr(choice) for choice in choices)
    return expect(f"one of {listed}", lambda v: v in choices)


def _timezone(value: Any) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    if not _text(value):
        raise problem(f"expected a non-empty string, got {show(value)}")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise problem(f"unknown time zone {value!r} (e.g. 'Asia/Shanghai')") from None


Timezone = Annotated[ZoneInfo, PlainValidator(_timezone)]


def url_problem(value: Any, schemes: tuple[str, ...]) -> str | None:
    if not isinstance(value, str):
        return f"expected a URL string, got {show(value)}"
    scheme, sep, rest = value.partition("://")
    if sep and scheme in schemes and rest:
        return None
    # Only the scheme is shown: the rest of a URL may hold a password.
    if not sep:
        shown = "a value without '://'"
    elif scheme in schemes:
        shown = f"nothing after {scheme + '://'!r}"
    else:
        shown = f"one starting with {scheme + '://'!r}"
    return f"expected a URL starting with {' or '.join(f'{s}://' for s in schemes)}, got {shown}"


def url(*schemes: str) -> Any:
    def check(value: Any) -> Any:
        if (message := url_problem(value, schemes)) is not None:
            raise problem(message)
        return value

    return BeforeValidator(check)


def tables(what: str, unique: tuple[str, str, str] | None = None, allow_empty: bool = False) -> Any:
    """An array of tables ([[key]]); `unique`: (key, what it is, the array's name) when that key
    may not repeat, e.g. ("code", "area code", "areas")."""

    def validate(value: Any, handler: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise problem(f"expected an array of tables [[{{path}}]], got {show(value)}")
        if not value and not allow_empty:
            raise problem(f"expected at least one {what}")
        return checked(_unique(*unique))(value, handler) if unique else handler(value)

    return WrapValidator(validate)


def tables_by_id(what: str, key: str) -> Any:
    """Tables named by id ([key.<id>]), at least one."""

    def check(value: Any) -> Any:
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise problem(f"expected tables [{key}.<id>], got {show(value)}")
        if not value:
            raise problem(f"expected at least one {what} [{key}.<id>]")
        return value

    return BeforeValidator(check)


# --- Checks across keys: they run even when other keys of the table are wrong -------------------


class Valid:
    """The raw input seen through its errors: `get` answers only values that passed their own
    validation (the schema is strict, so such a raw value is the validated one)."""

    def __init__(self, data: Any, bad: set[tuple[Any, ...]]) -> None:
        self.data = data
        self.bad = bad

    def get(self, *path: str | int) -> Any:
        node = self.data
        for depth, part in enumerate(path):
            if path[:depth] in self.bad:
                return None
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    return None
            elif not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return None if path in self.bad else node

    def items(self, *path: str | int) -> list[tuple[int, Any]]:
        value = self.get(*path)
        return list(enumerate(value)) if isinstance(value, list) else []


Found = list[tuple[tuple[str | int, ...], str]]  # (key path inside the checked value, message)


def checked(check: Callable[[Valid], Found]) -> Callable[[Any, Any], Any]:
    """A wrap validator: validate, then add the problems `check` finds to whatever was wrong."""

    def validate(data: Any, handler: Any) -> Any:
        try:
            result, errors = handler(data), []
        except ValidationError as exc:
            result, errors = None, exc.errors()
        # A table with an unknown key or a failed check of its own still has valid values.
        bad = {tuple(e["loc"]) for e in errors if "cross" not in (e.get("ctx") or {})}
        found = check(Valid(data, bad)) if isinstance(data, dict | list) else []
        if not errors and not found:
            return result
        lines: list[InitErrorDetails] = [_again(e) for e in errors]
        for at, message in found:
            lines.append({"type": problem(message, cross=True), "loc": at, "input": data})
        raise ValidationError.from_exception_data("config", lines)

    return validate


def _again(error: Any) -> InitErrorDetails:
    """A reported error as it can be raised again."""
    ctx = error.get("ctx")
    kind = error["type"]
    again: InitErrorDetails = {
        "type": PydanticCustomError(kind, "{message}", ctx) if kind == "config" else kind,
        "loc": error["loc"],
        "input": error["input"],
    }
    if ctx:
        again["ctx"] = ctx
    return again


class Table(BaseModel):
    """A TOML table: strict values, unknown keys reported first with a "did you mean", and
    `cross_check` run over whatever passed."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @classmethod
    def cross_check(cls, valid: Valid) -> Found:
        return []

    @model_validator(mode="wrap")
    @classmethod
    def _unknown_keys_and_cross_checks(cls, data: Any, handler: Any) -> Any:
        try:
            return checked(cls.cross_check)(data, handler)
        except ValidationError as exc:
            errors = exc.errors()
        unknown = [e for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1]
        lines: list[InitErrorDetails] = []
        for e in unknown:
            key = str(e["loc"][0])
            close = difflib.get_close_matches(key, list(cls.model_fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            unknown_key = problem(f"unknown key {key!r}{hint}", cross=True)
            lines.append({"type": unknown_key, "loc": (), "input": data})
        lines += [_again(e) for e in errors if e not in unknown]
        raise ValidationError.from_exception_data("config", lines)


def _unique(key: str, what: str, label: str) -> Callable[[Valid], Found]:
    def check(v: Valid) -> Found:
        first: dict[Any, int] = {}
        found: Found = []
        for index, _ in v.items():
            value = v.get(index, key)
            if value in first:
                also = f"{label}[{first[value]}]"
                found.append(((index, key), f"duplicate {what} {value!r} (also {also})"))
            elif value is not None:
                first[value] = index
        return found

    return check


def time_or_none(value: Any) -> time | None:
    return clock_of(value) if is_clock(value) else None


def codes(v: Valid, key: str) -> dict[str, int]:
    """The valid codes of an array of tables, each with its first position."""
    codes: dict[str, int] = {}
    for index, _ in v.items(key):
        if (code := v.get(key, index, "code")) is not None:
            codes.setdefault(code, index)
    return codes


def known(codes: Any) -> str:
    return ", ".join(codes) or "none"


# --- Errors to lines ----------------------------------------------------------------------------


def key_path(loc: Iterable[str | int]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            shown = part if BARE_KEY.fullmatch(part) else f'"{part}"'
            path = f"{path}.{shown}" if path else shown
    return path


def lines(errors: list[Any]) -> list[str]:
    """One "<key path>: <message>" line for each of pydantic's errors."""
    found = []
    for e in errors:
        loc = tuple(part for part in e["loc"] if part != "[key]")  # a dict key: its value's path
        if e["type"] == "missing":
            loc, message = loc[:-1], f"missing key {loc[-1]!r}"
        elif e["type"] == "config":
            message = e["ctx"]["message"].replace("{path}", key_path(loc))
        elif e["type"] in ("model_type", "model_attributes_type", "dict_type"):
            message = f"expected a table [{key_path(loc)}], got {show(e['input'])}"
        else:  # not expected from this schema: said in pydantic's words
            message = e["msg"]
        found.append(f"{key_path(loc)}: {message}" if loc else message)
    return found


# --- Reading the file ---------------------------------------------------------------------------


class Unreadable(Exception):
    """The file cannot be read as TOML; the message is the one line to show."""


def read_toml(source: str, file: Path) -> dict[str, Any]:
    """The file as plain dicts, or Unreadable with one line saying where and why."""
    return _parse_toml(source, _read_text(source, file))


def _read_text(source: str, file: Path) -> str:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise Unreadable(f"{source}: no such file (looked for {file.absolute()})") from None
    except OSError as exc:
        raise Unreadable(f"{source}: cannot read the file: {exc.strerror}") from None
    try:
        # utf-8-sig: Windows editors often save UTF-8 with a byte-order mark.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise Unreadable(
            f"{source}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x});"
            " save the file as UTF-8, not GBK"
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
        raise Unreadable(line) from None
