"""Taboo phrases (忌语) never appear on a screen: the check for staff-entered free text."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable


def _folded(text: str) -> str:
    """Text as compared: NFKC (full-width → half-width), case-folded, without punctuation,
    symbols or whitespace, so "急什么？" and "急 什么" both match "急什么"."""
    text = unicodedata.normalize("NFKC", text).casefold()
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
