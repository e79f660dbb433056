"""Taboo phrases in free text are caught whatever the punctuation and spacing."""

from __future__ import annotations

import pytest

from queue_server.domain.civility import check_free_text

TABOO = ["我不管，问别人去。", "急什么？", "你去投诉好了。", "真麻烦。", "不知道。"]


@pytest.mark.parametrize("text, found", [
    ("急什么？", "急什么？"),
    ("急 什 么", "急什么？"),
    ("别急什么!!", "急什么？"),
    ("急什么?", "急什么？"),  # half-width question mark against the configured full-width
    ("我不管 问别人去", "我不管，问别人去。"),
    ("真——麻烦", "真麻烦。"),
    ("请保管好随身物品", None),
    ("", None),
])
def test_check_free_text_ignores_punctuation_and_whitespace(text, found) -> None:
    assert check_free_text(text, TABOO) == found


def test_the_phrase_found_earliest_in_the_text_is_reported() -> None:
    assert check_free_text("真麻烦，急什么", TABOO) == "真麻烦。"


def test_a_taboo_entry_that_is_only_punctuation_matches_nothing() -> None:
    assert check_free_text("请稍候。", ["。", "  "]) is None


def test_full_width_letters_are_folded() -> None:
    assert check_free_text("ＯＫ吗", ["ok"]) == "ok"


@pytest.mark.parametrize("text, found", [
    ("你這人真笨", "你这人真笨。"),  # traditional characters
    ("急什麼？", "急什么？"),
    ("網絡壞了，我有什麼辦法，等著", "网络坏了，我有什么办法，等着。"),
    ("你這人真笨！", "你这人真笨。"),  # full-width punctuation as well
])
def test_traditional_characters_are_caught_as_their_simplified_taboo_phrase(text, found) -> None:
    taboo = ["你这人真笨。", "急什么？", "网络坏了，我有什么办法，等着。"]
    assert check_free_text(text, taboo) == found


def test_a_clean_traditional_text_passes() -> None:
    assert check_free_text("請稍候，我馬上為您辦理。", ["你这人真笨。"]) is None
