"""Satisfaction surveys (满意度调查): questionnaires, the sample rule, answers and their tally.

A questionnaire comes from config ([[surveys]]); a campaign runs one in a hall between two days
and samples every Nth finished visit (N = 1: everyone). The sampled visit's citizen answers once,
anonymously: an answer keeps the hall, the service and the day, never the ticket. Pure: the
checks and the arithmetic; the counting happens in the store, under the hall's lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .errors import InvalidInput
from .text import TextRule, clean_text

KINDS = {"scale": "量表（1–5）", "choice": "单选", "text": "文字"}
DEFAULT_SCALE = ("非常不满意", "不满意", "一般", "满意", "非常满意")  # 1 … 5
TEXT_LIMIT = 500  # a text answer's default limit (characters)
TEXTS_SHOWN = 200  # the latest text answers a result lists
STATUS_ZH = {"scheduled": "未开始", "running": "进行中", "over": "已结束", "ended": "已提前结束"}


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # scale, choice, text
    text: str
    required: bool = True
    labels: tuple[str, ...] = DEFAULT_SCALE  # scale: the names of 1 … 5
    options: tuple[str, ...] = ()  # choice
    max_length: int = TEXT_LIMIT  # text

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "kind_zh": KINDS[self.kind], "text": self.text,
                               "required": self.required}
        if self.kind == "scale":
            out["labels"] = list(self.labels)
        elif self.kind == "choice":
            out["options"] = list(self.options)
        else:
            out["max_length"] = self.max_length
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Question:
        return cls(d["id"], d["kind"], d["text"], bool(d.get("required", True)),
                   tuple(d.get("labels") or DEFAULT_SCALE), tuple(d.get("options") or ()),
                   int(d.get("max_length") or TEXT_LIMIT))


@dataclass(frozen=True)
class Questionnaire:
    id: str
    title: str
    questions: tuple[Question, ...]
    intro: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "intro": self.intro,
                "questions": [q.as_dict() for q in self.questions]}


def sampled(finished_count: int, every: int) -> bool:
    """Whether the campaign's `finished_count`-th finished visit (counted from 1) is sampled."""
    return every >= 1 and finished_count >= 1 and finished_count % every == 0


def campaign_status(state: str, starts: date, ends: date, today: date) -> str:
    if state == "ended":
        return "ended"
    if today < starts:
        return "scheduled"
    return "over" if today > ends else "running"


def check_answers(questions: Iterable[Question], raw: Any) -> dict[str, Any]:
    """The answers object of a request as stored: a known question id → 1…5 (scale), one of the
    options (choice) or the text, NFC, trimmed, within its limit, no control character but new
    lines (text). Every required question answered; InvalidInput naming the field otherwise."""
    if not isinstance(raw, dict):
        raise InvalidInput("input.missing_field" if raw is None else "input.survey_answers", field="answers")
    questions = list(questions)
    known = {q.id for q in questions}
    for key in raw:
        if key not in known:
            raise InvalidInput("input.survey_unknown_question", field=f"answers.{key[:40]}", question=key[:40],
                               known=", ".join(sorted(known)))
    out: dict[str, Any] = {}
    for q in questions:
        field = f"answers.{q.id}"
        value = raw.get(q.id)
        if q.kind == "text":
            text = clean_text(value, field, rule=TextRule(q.max_length, lines=True))
            if text is not None:
                out[q.id] = text
        elif value is None or value == "":
            pass
        elif q.kind == "scale":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                raise InvalidInput("input.survey_scale", field=field, got=str(value)[:40])
            out[q.id] = value
        else:
            if not isinstance(value, str) or value not in q.options:
                raise InvalidInput("input.bad_choice", field=field, known="、".join(q.options), got=str(value)[:40])
            out[q.id] = value
        if q.required and q.id not in out:
            raise InvalidInput("input.survey_required", field=field, question=q.text)
    if not out:
        raise InvalidInput("input.survey_empty", field="answers")
    return out


def tally(questions: Iterable[Question], answers: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per question: scale — counts of 1…5, how many answered and the mean; choice — counts per
    option; text — how many answered (the texts themselves are listed apart)."""
    answers = list(answers)
    out = []
    for q in questions:
        given = [a[q.id] for a in answers if q.id in a]
        item: dict[str, Any] = {**q.as_dict(), "answered": len(given)}
        if q.kind == "scale":
            counts = [sum(1 for v in given if v == level) for level in range(1, 6)]
            item["counts"] = counts
            item["mean"] = round(sum(given) / len(given), 2) if given else None
            # 满意率: 4 and 5 of those who answered, as national 好差评 counts satisfied
            item["satisfied_rate"] = round((counts[3] + counts[4]) / len(given), 4) if given else None
        elif q.kind == "choice":
            item["counts"] = [sum(1 for v in given if v == option) for option in q.options]
        out.append(item)
    return out


def mean_score(questions: Iterable[Question], answers: Iterable[Mapping[str, Any]]) -> float | None:
    """The mean over every scale answer of the answers (None: no scale answer)."""
    scale = [q.id for q in questions if q.kind == "scale"]
    values = [a[qid] for a in answers for qid in scale if qid in a]
    return round(sum(values) / len(values), 2) if values else None
