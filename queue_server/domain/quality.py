"""Service quality figures (投诉、调查与整改) of the performance review: additive counts per hall,
summed for a street or district, and the rates computed from the sums (never averaged rates).

- complaints per 1,000 visits: complaints received in the period over visits served in it;
- accepted on time: of the complaints whose accept step fell due (or was taken) by now, the share
  accepted or declined by the end of its deadline day; replied on time likewise for the reply;
- complainant satisfaction: 满意 over the complainants who rated the handling;
- survey score: the mean of the scale answers given in the period, as a percentage of the scale
  (an answer of 5 on a 1–5 scale is 100, 1 is 0), and the number of questionnaires answered;
- improvement actions opened in the period: still open (not verified) now, and overdue (not
  reported done by the end of the due day, or reported done after it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class QualitySums:
    served: int = 0
    complaints: int = 0
    accept_due: int = 0
    accepted_on_time: int = 0
    reply_due: int = 0
    replied_on_time: int = 0
    handling_rated: int = 0
    handling_satisfied: int = 0
    survey_responses: int = 0
    survey_answers: int = 0  # scale answers
    survey_points: float = 0.0  # their sum, each as a fraction of its scale (0 … 1)
    improvements: int = 0
    improvements_open: int = 0
    improvements_overdue: int = 0

    def add(self, other: QualitySums) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _rate(part: float, whole: float) -> float | None:
    return None if not whole else round(part / whole, 4)


def indicators(s: QualitySums) -> dict[str, Any]:
    return {
        "served": s.served,
        "complaints": s.complaints,
        "complaints_per_1000": None if not s.served else round(s.complaints * 1000 / s.served, 2),
        "accept_due": s.accept_due,
        "accepted_on_time_rate": _rate(s.accepted_on_time, s.accept_due),
        "reply_due": s.reply_due,
        "replied_on_time_rate": _rate(s.replied_on_time, s.reply_due),
        "handling_rated": s.handling_rated,
        "complainant_satisfied_rate": _rate(s.handling_satisfied, s.handling_rated),
        "survey_responses": s.survey_responses,
        "survey_answers": s.survey_answers,
        "survey_score": None if not s.survey_answers else round(100 * s.survey_points / s.survey_answers, 1),
        "improvements": s.improvements,
        "improvements_open": s.improvements_open,
        "improvements_overdue": s.improvements_overdue,
    }


#: The figures' Chinese column names, in the order the page, the exports and the PDF show them.
COLUMNS_ZH = {
    "served": "办件量",
    "complaints": "投诉件数",
    "complaints_per_1000": "千件投诉率",
    "accepted_on_time_rate": "按时受理率",
    "replied_on_time_rate": "按时答复率",
    "complainant_satisfied_rate": "投诉人满意率",
    "survey_responses": "调查答卷",
    "survey_score": "调查得分",
    "improvements": "整改立项",
    "improvements_open": "整改未完成",
    "improvements_overdue": "整改逾期",
}
