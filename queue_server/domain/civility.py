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


#: What a hall's ticker says about how calls reach people and where tickets come from, by what
#: the hall has; a configured phrase about a capability the hall lacks is left out.
SILENT_CALLS = "本厅不设语音叫号，请留意大屏和手机上的叫号提醒。"
NO_KIOSK = "请到窗口或用手机扫码取号。"
_NEEDS_VOICE = ("语音", "广播", "听到叫号", "喇叭")
_NEEDS_KIOSK = ("取号机", "自助机", "取号终端")


def ticker_phrases(phrases: Iterable[str], *, voice: bool, has_kiosk: bool) -> list[str]:
    """The hall screen's civility phrases for a hall with (or without) voice and a kiosk."""
    kept = [p for p in phrases
            if (voice or not any(w in p for w in _NEEDS_VOICE))
            and (has_kiosk or not any(w in p for w in _NEEDS_KIOSK))]
    extra = ([] if voice else [SILENT_CALLS]) + ([] if has_kiosk else [NO_KIOSK])
    return extra + kept


def idle_line(*, has_kiosk: bool) -> str:
    """What 正在呼叫 says while no one is being called."""
    return "欢迎光临，请取号等候" if has_kiosk else "欢迎光临，请到窗口或扫码取号"
