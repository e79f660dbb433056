"""Request bodies parsed into the service's typed commands (service/commands.py).

Input is checked here, with error codes (`input.missing_field`, `input.too_long`, …); whether
the hall's state allows the command is decided by the domain when the service runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..config import Config
from ..domain import complaints
from ..domain.civility import check_free_text
from ..domain.errors import InvalidInput, NotFound
from ..domain.model import TicketNumber
from ..domain.notices import Notice
from ..domain.text import clean_text
from ..service.commands import (
    WINDOW_ACTIONS,
    CallNext,
    CallNumber,
    CloseWindow,
    Finish,
    Miss,
    OpenImprovement,
    OpenWindow,
    PauseWindow,
    PostNotices,
    RateComplaint,
    RateFollowUp,
    RateService,
    Recall,
    ResumeWindow,
    SetMessage,
    Start,
    StepComplaint,
    StepImprovement,
    SubmitComplaint,
    Suspend,
    Transfer,
    UpdateFollowUp,
    WindowCommand,
)
from ..service.ratings import BAD, CALL_METHODS, DIMENSIONS, FOLLOW_UP_ACTIONS, LEVELS


def optional_text(body: dict[str, Any], name: str) -> str | None:
    return clean_text(body.get(name), name)


def required_text(body: dict[str, Any], name: str) -> str:
    value = clean_text(body.get(name), name, required=True)
    assert value is not None
    return value


def optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9999:
        raise InvalidInput("input.bad_number", field=name, low=0, high=9999, got=str(value)[:40])
    return value


def ticket_number(text: str) -> str:
    return str(TicketNumber.parse(text))


def _open(w: int, b: dict[str, Any]) -> WindowCommand:
    return OpenWindow(w, optional_text(b, "stand_in_for"))


def _close(w: int, b: dict[str, Any]) -> WindowCommand:
    return CloseWindow(w)


def _pause(w: int, b: dict[str, Any]) -> WindowCommand:
    return PauseWindow(w, required_text(b, "reason"))


def _resume(w: int, b: dict[str, Any]) -> WindowCommand:
    return ResumeWindow(w)


def _call_next(w: int, b: dict[str, Any]) -> WindowCommand:
    return CallNext(w)


def _call(w: int, b: dict[str, Any]) -> WindowCommand:
    return CallNumber(w, ticket_number(required_text(b, "number")), required_text(b, "reason"))


def _recall(w: int, b: dict[str, Any]) -> WindowCommand:
    return Recall(w)


def _start(w: int, b: dict[str, Any]) -> WindowCommand:
    return Start(w)


def _finish(w: int, b: dict[str, Any]) -> WindowCommand:
    return Finish(w)


def _miss(w: int, b: dict[str, Any]) -> WindowCommand:
    return Miss(w)


def _transfer(w: int, b: dict[str, Any]) -> WindowCommand:
    return Transfer(w, required_text(b, "reason"), optional_text(b, "service"), optional_int(b, "window"))


def _message(w: int, b: dict[str, Any]) -> WindowCommand:
    return SetMessage(w, optional_text(b, "text"))


def _suspend(w: int, b: dict[str, Any]) -> WindowCommand:
    return Suspend(w, required_text(b, "reason"))


_PARSERS: dict[str, Callable[[int, dict[str, Any]], WindowCommand]] = {
    "open": _open, "close": _close, "pause": _pause, "resume": _resume, "call-next": _call_next,
    "call": _call, "recall": _recall, "start": _start, "finish": _finish, "miss": _miss,
    "transfer": _transfer, "message": _message, "suspend": _suspend,
}
assert set(_PARSERS) == set(WINDOW_ACTIONS), "every window command has its parser"


def window_command(action: str, window: int, body: dict[str, Any]) -> WindowCommand:
    parse = _PARSERS.get(action)
    if parse is None:
        raise NotFound("window.unknown_action", action=action, known=", ".join(_PARSERS))
    return parse(window, body)


def _level(value: Any, field: str) -> int:
    if not isinstance(value, str) or value not in LEVELS:
        raise InvalidInput("input.bad_choice", field=field, known=", ".join(LEVELS), got=str(value)[:40])
    return LEVELS[value][0]


def rating_command(body: dict[str, Any], config: Config, channel: str, number: str | None = None) -> RateService:
    """Level, dimensions and labels of a rating body; never a default."""
    level = _level(body.get("level"), "level")
    dims = body.get("dimensions") or {}
    if not isinstance(dims, dict):
        raise InvalidInput("input.bad_type", field="dimensions", expected="对象")
    dimensions: dict[str, str] = {}
    for code, value in dims.items():
        if code not in DIMENSIONS:
            raise InvalidInput("input.bad_choice", field=f"dimensions.{code}", known=", ".join(DIMENSIONS),
                               got=str(code)[:40])
        _level(value, f"dimensions.{code}")
        dimensions[code] = value
    labels = body.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise InvalidInput("input.bad_type", field="labels", expected="文字列表")
    unknown = [x for x in labels if x not in config.ratings.labels]
    if unknown:
        raise InvalidInput("input.bad_choice", field="labels", known=", ".join(config.ratings.labels),
                           got=str(unknown[0])[:40])
    if level <= BAD and not labels:
        raise InvalidInput("input.rating_needs_label", field="labels")
    return RateService(level, dimensions, tuple(sorted(set(labels), key=labels.index)), channel, number)


def follow_up_rating_command(body: dict[str, Any]) -> RateFollowUp:
    return RateFollowUp(_level(body.get("level"), "level"))


def improvement_command(body: dict[str, Any]) -> OpenImprovement:
    due = clean_text(body.get("due"), "due", required=True)
    assert due is not None
    try:
        if len(due) != 10:
            raise ValueError(due)
        date.fromisoformat(due)
    except ValueError:
        raise InvalidInput("input.bad_date", field="due", got=due[:40]) from None
    kind = clean_text(body.get("source_kind"), "source_kind") or "inspection"
    problem = clean_text(body.get("problem"), "problem", required=True)
    measure = clean_text(body.get("measure"), "measure", required=True)
    owner = clean_text(body.get("owner"), "owner", required=True)
    assert problem is not None and measure is not None and owner is not None
    return OpenImprovement(kind, clean_text(body.get("source_id"), "source_id"), problem,
                           clean_text(body.get("cause"), "cause"), measure, owner, due)


def improvement_step_command(improvement: str, action: str, body: dict[str, Any]) -> StepImprovement:
    field = {"done": "evidence", "reopen": "reason"}.get(action, "note")
    return StepImprovement(improvement, action, clean_text(body.get(field), field))


def complaint_command(body: dict[str, Any], channel: str | None = None) -> SubmitComplaint:
    """A complaint's fields; `channel` None: the manager's console, which names it (phone,
    in_person) and may name the window and the staff member it is about."""
    category = required_text(body, "category")
    if category not in complaints.CATEGORIES:
        raise InvalidInput("input.bad_choice", field="category", known=", ".join(complaints.CATEGORIES),
                           got=category[:40])
    content = required_text(body, "content")
    phone = optional_text(body, "contact_phone")
    consent = body.get("consent")
    if consent is not None and not isinstance(consent, bool):
        raise InvalidInput("input.complaint_consent", field="consent")
    if phone is not None:
        if consent is not True:
            raise InvalidInput("input.complaint_consent", field="consent")
        phone = complaints.clean_phone(phone)
    if channel is not None:
        return SubmitComplaint(channel, category, content, phone)
    channel = required_text(body, "channel")
    if channel not in complaints.STAFF_CHANNELS:
        raise InvalidInput("input.bad_choice", field="channel", known=", ".join(complaints.STAFF_CHANNELS),
                           got=channel[:40])
    return SubmitComplaint(channel, category, content, phone, optional_int(body, "window"),
                           optional_text(body, "staff_id"))


def complaint_step_command(complaint: str, action: str, body: dict[str, Any]) -> StepComplaint:
    return StepComplaint(
        complaint, action, reason=optional_text(body, "reason"), assignee=optional_text(body, "assignee"),
        findings=optional_text(body, "findings"), measures=optional_text(body, "measures"),
        how=optional_text(body, "how"), replied_at=optional_text(body, "replied_at"),
        answer=optional_text(body, "answer"), note=optional_text(body, "note"))


def complaint_rating_command(body: dict[str, Any]) -> RateComplaint:
    rating = required_text(body, "rating")
    if rating not in complaints.RATINGS:
        raise InvalidInput("input.bad_choice", field="rating", known=", ".join(complaints.RATINGS), got=rating[:40])
    return RateComplaint(rating)


def follow_up_command(follow_up: str, body: dict[str, Any]) -> UpdateFollowUp:
    """call_back needs `method` and `result`, rectify needs `measures`; `note` is optional."""
    action = clean_text(body.get("action"), "action")
    note = clean_text(body.get("note"), "note")
    if action not in FOLLOW_UP_ACTIONS:
        raise InvalidInput("input.bad_choice", field="action", known=", ".join(FOLLOW_UP_ACTIONS),
                           got=str(action)[:40])
    if action == "call_back":
        method = clean_text(body.get("method"), "method", required=True)
        if method not in CALL_METHODS:
            known = "、".join(f"{code}（{name}）" for code, name in CALL_METHODS.items())
            raise InvalidInput("input.bad_choice", field="method", known=known, got=str(method)[:40])
        result = clean_text(body.get("result"), "result", required=True)
        return UpdateFollowUp(follow_up, action, note, method=method, result=result)
    if action == "rectify":
        measures = clean_text(body.get("measures"), "measures", required=True)
        return UpdateFollowUp(follow_up, action, note, measures=measures)
    return UpdateFollowUp(follow_up, action, note)


MAX_NOTICES = 20


def notices_command(body: dict[str, Any], tz: ZoneInfo, taboo: Sequence[str]) -> PostNotices:
    """{"notices": [text | {text, starts_at?, ends_at?}], "version"?}: empty texts dropped, every
    text free of taboo phrases (忌语 never reach a screen); a time without an offset is the hall's."""
    items = body.get("notices")
    if not isinstance(items, list) or len(items) > MAX_NOTICES:
        raise InvalidInput("input.notices_list", field="notices", limit=MAX_NOTICES)
    version = body.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**31):
        raise InvalidInput("input.notices_version", field="version")
    notices = []
    for i, item in enumerate(items):
        field = f"notices[{i}]"
        if isinstance(item, dict):
            text = clean_text(item.get("text"), field, required=True)  # the rule (200) of a notice
            starts = _notice_time(item.get("starts_at"), f"{field}.starts_at", tz)
            ends = _notice_time(item.get("ends_at"), f"{field}.ends_at", tz)
            if starts is not None and ends is not None and ends <= starts:
                raise InvalidInput("input.notice_order", field=f"{field}.ends_at")
        elif isinstance(item, str) or item is None:
            text, starts, ends = clean_text(item, field), None, None
        else:
            raise InvalidInput("input.notice_item", field=field)
        if not text:
            continue
        found = check_free_text(text, taboo)
        if found:
            raise InvalidInput("input.taboo_in_notice", field=field, taboo=found)
        notices.append(Notice(text, starts, ends))
    return PostNotices(tuple(notices), version)


def _notice_time(value: Any, field: str, tz: ZoneInfo) -> datetime | None:
    text = clean_text(value, field)
    if not text:
        return None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("input.notice_time", field=field) from None
    if not 2000 <= instant.year <= 2099:
        raise InvalidInput("input.notice_time", field=field)
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=tz)
