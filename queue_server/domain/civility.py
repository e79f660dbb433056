"""Taboo phrases (忌语) never appear on a screen: the check for staff-entered free text."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Iterable

import opencc

# Characters t2s keeps as they are because both forms are standard in simplified text; folded
# together on both sides of the comparison (等著 is 等着).
_VARIANTS = str.maketrans({"著": "着"})


@functools.cache
def _to_simplified() -> Callable[[str], str]:
    """Traditional → simplified characters (OpenCC's t2s tables), built once on first use."""
    return opencc.OpenCC("t2s").convert


def _folded(text: str) -> str:
    """Text as compared: NFKC (full-width → half-width), simplified characters, case-folded,
    without punctuation, symbols or whitespace, so "急什么？", "急 什么" and "急什麼" all match
    "急什么"."""
    text = _to_simplified()(unicodedata.normalize("NFKC", text)).translate(_VARIANTS).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZSC")


def check_free_text(text: str, taboo: Iterable[str]) -> str | None:
    """The taboo phrase found earliest in `text` (as configured), or None when it is clean."""
    haystack = _folded(text)
    found: tuple[int, int, str] | None = None
    for phrase in taboo:
        needle = _folded(phrase)
        if not needle:
            continue
        position = haystack.find(needle)
        # Earliest wins; at the same place, the longer phrase is the better explanation.
        if position >= 0 and (found is None or (position, -len(needle)) < found[:2]):
            found = (position, -len(needle), phrase)
    return found[2] if found is not None else None
