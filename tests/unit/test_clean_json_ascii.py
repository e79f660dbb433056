"""The ASCII fast path of the input check answers exactly as the full character check (issue 14)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queue_server.domain.errors import InvalidInput
from queue_server.domain.text import _bad_character, clean_json


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_ascii_strings_are_refused_exactly_when_the_full_check_finds_a_control_character(text):
    bad = _bad_character(text, lines=True)
    if bad is None:
        assert clean_json({"k": text}) == {"k": unicodedata.normalize("NFC", text)}
    else:
        with pytest.raises(InvalidInput):
            clean_json({"k": text})


@pytest.mark.parametrize("text", ["\x00", "a\x7fb", "line\x1b[0m"])
def test_ascii_control_characters_other_than_newline_and_tab_are_still_refused(text):
    with pytest.raises(InvalidInput):
        clean_json({"k": text})
