"""[[surveys]] in config.toml: questionnaires checked at load, one exact line per problem."""

from __future__ import annotations

from pathlib import Path

from queue_server.config import load_config
from queue_server.domain.surveys import DEFAULT_SCALE
from tests.unit.test_config import Data, problems_of  # noqa: F401  (the fixture)

SAMPLE = Path(__file__).resolve().parents[2] / "config.toml"


def test_the_sample_questionnaire_loads_with_its_scale_choice_and_text_questions() -> None:
    survey = load_config(SAMPLE, env={}).surveys["hall-service"]
    kinds = {q.id: q.kind for q in survey.questions}
    assert kinds == {"overall": "scale", "guidance": "scale", "visits": "choice", "advice": "text"}
    overall, guidance, visits, advice = survey.questions
    assert overall.labels == DEFAULT_SCALE and guidance.labels[0] == "很不清楚"
    assert visits.options == ("1 次", "2 次", "3 次及以上") and advice.max_length == 300 and not advice.required


def test_a_questionnaire_with_every_kind_of_mistake_is_reported_line_by_line(problems_of) -> None:  # noqa: F811
    def mistakes(data: Data) -> None:
        data["surveys"] = [
            {"id": "Bad Id", "title": "", "questions": [
                {"id": "q1", "kind": "scale", "text": "总体", "labels": ["差", "好"]},
                {"id": "q1", "kind": "choice", "text": "跑了几次", "options": ["1 次"]},
                {"id": "q3", "kind": "choice", "text": "渠道"},
                {"id": "q4", "kind": "text", "text": "建议", "options": ["a", "b"], "max_length": 5000},
                {"id": "q5", "kind": "slider", "text": "滑块"},
                {"id": "q6", "kind": "choice", "text": "重复", "options": ["是", "是"]},
            ]},
            {"id": "empty", "title": "空问卷", "questions": []},
            {"id": "empty", "title": "重名", "questions": [{"id": "q", "kind": "text", "text": "t", "required": "yes"}]},
        ]

    found = "\n".join(problems_of(mistakes))
    for expected in (
        "surveys[0].id: expected a lower-case id like 'hall-2027'",
        "surveys[0].title: expected a non-empty string",
        "surveys[0].questions[0].labels: a scale has 5 labels (for 1 … 5), got 2",
        "surveys[0].questions[1].id: duplicate question id 'q1'",
        "surveys[0].questions[1].options: a choice needs at least 2 options, got 1",
        "surveys[0].questions[2]: missing key 'options' (a choice question lists them)",
        "surveys[0].questions[3].options: applies only to kind 'choice'; this question is 'text'",
        "surveys[0].questions[3].max_length: at most 2000 characters, got 5000",
        "surveys[0].questions[4].kind: expected one of",
        "surveys[0].questions[5].options[1]: option '是' is listed twice",
        "surveys[1].questions: expected at least one question",
        "surveys[2].id: duplicate survey id 'empty'",
        "surveys[2].questions[0].required: expected true or false",
    ):
        assert expected in found, (expected, found)
