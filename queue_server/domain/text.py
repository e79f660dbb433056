"""Text entering the system: one validator and one table of limits for every free-text field.

Everything people type (reasons, messages, notices, notes, names) and every string a device
reports passes `clean_text` before it reaches a use case: PostgreSQL refuses NUL, a stray
control character breaks a screen or a printed ticket, and an unnormalised string compares
unequal to the same text typed on another keyboard. A JSON body as a whole passes
`clean_json` first, which bounds its nesting and checks every string it carries.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput


@dataclass(frozen=True)
class TextRule:
    limit: int  # characters (code points) after NFC normalisation
    lines: bool = False  # \n and \t allowed


# The one table of limits: a field's name (the last part of its path) → its rule.
TEXT_RULES: dict[str, TextRule] = {
    "service": TextRule(8),
    "priority": TextRule(32),
    "priority_reason": TextRule(200),
    "channel": TextRule(16),
    "reason": TextRule(200),
    "text": TextRule(60),  # the clerk's message on the window screen
    "notice": TextRule(200),
    "problem": TextRule(500, lines=True),  # an improvement action (整改)
    "cause": TextRule(500, lines=True),
    "measure": TextRule(1000, lines=True),
    "evidence": TextRule(1000, lines=True),
    "method": TextRule(32),
    "content": TextRule(1000, lines=True),  # a complaint (投诉) as the complainant wrote it
    "findings": TextRule(1000, lines=True),
    "measures": TextRule(1000, lines=True),
    "answer": TextRule(1000, lines=True),  # what the complainant was told
    "contact_phone": TextRule(32),
    "assignee": TextRule(32),
    "replied_at": TextRule(40),
    "category": TextRule(32),
    "how": TextRule(16),
    "rating": TextRule(16),
    "number": TextRule(16),
    "stand_in_for": TextRule(32),
    "staff_id": TextRule(32),
    "password": TextRule(256),
    "name": TextRule(64),
    "code": TextRule(32),
    "label": TextRule(32),
    "note": TextRule(500, lines=True),
    "comment": TextRule(500, lines=True),
    "action": TextRule(32),
    "kiosk": TextRule(64),
    "state": TextRule(200),  # a printer's reported state
    "result": TextRule(200),  # a printer's reported print result
    "error": TextRule(200),
    "level": TextRule(32),
    "slot_start": TextRule(40),
    "slot_end": TextRule(40),
}
DEFAULT_RULE = TextRule(200)

MAX_JSON_DEPTH = 8  # the deepest body the API takes is an object of objects or lists
_LINE_CHARACTERS = frozenset("\n\t")


def rule_for(field: str) -> TextRule:
    """The rule of a field path such as `notices[2]` or `dimensions.overall`."""
    name = field.rsplit(".", 1)[-1].split("[", 1)[0]
    if name == "notices":
        name = "notice"
    elif name == "labels":
        name = "label"
    return TEXT_RULES.get(name, DEFAULT_RULE)


def _bad_character(text: str, lines: bool) -> str | None:
    """The first character a field may not hold, or None."""
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cc":
            if lines and ch in _LINE_CHARACTERS:
                continue
            return ch
        if category == "Cs":  # a lone surrogate: not text, and no encoding takes it
            return ch
        if ch in "\u2028\u2029\ufffe\uffff":
            return ch
    return None


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def clean_text(value: Any, field: str, *, required: bool = False, rule: TextRule | None = None) -> str | None:
    """`value` as stored: a string, NFC-normalised, trimmed, within its field's limit, with no
    control character (\\n and \\t only where the field takes lines). None for an absent or
    blank optional value; InvalidInput naming the field otherwise."""
    rule = rule or rule_for(field)
    if value is None:
        if required:
            raise InvalidInput("input.missing_field", field=field)
        return None
    if not isinstance(value, str):
        raise InvalidInput("input.not_string", field=field, got=_json_type(value))
    bad = _bad_character(value, rule.lines)
    if bad is not None:
        raise InvalidInput("input.control_character", field=field, char=_describe(bad))
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > rule.limit:
        raise InvalidInput("input.too_long", field=field, length=len(text), limit=rule.limit)
    if not text:
        if required:
            raise InvalidInput("input.missing_field", field=field)
        return None
    return text


def clean_json(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """A decoded JSON body checked as a whole: nesting at most `max_depth`, every key and string
    free of control characters other than \\n and \\t, and NFC-normalised. Field rules (limits,
    lines) apply later, when a use case takes a field with `clean_text`."""
    return _walk(value, "body", 0, max_depth)


def _walk(value: Any, path: str, depth: int, max_depth: int) -> Any:
    if isinstance(value, str):
        return _string(value, path)
    if isinstance(value, dict):
        if depth >= max_depth:
            raise InvalidInput("input.too_deep", field=path, depth=max_depth)
        out: dict[str, Any] = {}
        for key, item in value.items():
            key = _string(key, f"{path} key")
            child = key if path == "body" else f"{path}.{key}"
            out[key] = _walk(item, child, depth + 1, max_depth)
        return out
    if isinstance(value, list):
        if depth >= max_depth:
            raise InvalidInput("input.too_deep", field=path, depth=max_depth)
        return [_walk(item, f"{path}[{i}]", depth + 1, max_depth) for i, item in enumerate(value)]
    return value


def _string(value: str, path: str) -> str:
    if value.isascii() and value.isprintable():
        return value  # no control character (ASCII's are exactly the unprintable ones), already NFC
    bad = _bad_character(value, lines=True)
    if bad is not None:
        raise InvalidInput("input.control_character", field=path, char=_describe(bad))
    return unicodedata.normalize("NFC", value)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "布尔值"
    if isinstance(value, int | float):
        return "数字"
    if isinstance(value, list):
        return "列表"
    if isinstance(value, dict):
        return "对象"
    return type(value).__name__
