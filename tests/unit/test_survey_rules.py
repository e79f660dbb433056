"""The pure survey rules (domain/surveys.py): the sample rule, a campaign's status by day, the
tally of answers — no database, plain values in and out."""

from __future__ import annotations

from datetime import date

import pytest

from queue_server.domain.errors import InvalidInput
from queue_server.domain.surveys import (
    Question,
    campaign_status,
    check_answers,
    mean_score,
    sampled,
    tally,
)

QUESTIONS = (
    Question("overall", "scale", "总体满意度"),
    Question("visits", "choice", "跑了几次", options=("1 次", "2 次")),
    Question("advice", "text", "建议", required=False, max_length=10),
)


def test_every_nth_finish_is_sampled_and_nothing_else():
    assert [n for n in range(1, 26) if sampled(n, 5)] == [5, 10, 15, 20, 25]
    assert all(sampled(n, 1) for n in range(1, 10))
    assert not sampled(0, 5) and not sampled(5, 0)


def test_a_campaign_is_scheduled_running_over_or_ended_early():
    starts, ends = date(2026, 12, 1), date(2026, 12, 3)
    assert campaign_status("running", starts, ends, date(2026, 11, 30)) == "scheduled"
    assert campaign_status("running", starts, ends, date(2026, 12, 3)) == "running"
    assert campaign_status("running", starts, ends, date(2026, 12, 4)) == "over"
    assert campaign_status("ended", starts, ends, date(2026, 12, 2)) == "ended"


def test_answers_are_kept_as_typed_and_an_empty_optional_text_is_dropped():
    assert check_answers(QUESTIONS, {"overall": 4, "visits": "2 次", "advice": "  "}) == {"overall": 4, "visits": "2 次"}
    with pytest.raises(InvalidInput) as caught:
        check_answers(QUESTIONS, {"overall": 4, "visits": "2 次", "advice": "一二三四五六七八九十十"})
    assert caught.value.code == "input.too_long" and caught.value.field == "answers.advice"


def test_the_tally_counts_levels_and_options_and_means_only_what_was_answered():
    answers = [{"overall": 5, "visits": "1 次"}, {"overall": 2, "visits": "1 次"}, {"visits": "2 次"}]
    overall, visits, advice = tally(QUESTIONS, answers)
    assert overall["counts"] == [0, 1, 0, 0, 1] and overall["answered"] == 2 and overall["mean"] == 3.5
    assert overall["satisfied_rate"] == 0.5
    assert visits["counts"] == [2, 1] and advice["answered"] == 0
    assert mean_score(QUESTIONS, answers) == 3.5 and mean_score(QUESTIONS, []) is None
