"""The spoken call announcement, one definition for the server's WAV, the pages and the
terminal client (display.js mirrors `call_sentence` and `announcement`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CALL_KINDS = frozenset({"ticket_called", "ticket_recalled"})

#: How many times an announcement says its sentence.
REPEAT = 2


def spell(number: str) -> str:
    """A ticket number read one character at a time: "A023" -> "A 0 2 3"."""
    return " ".join(ch for ch in number.strip() if not ch.isspace())


def call_sentence(number: str, window: int, calls: int = 1) -> str:
    """ "请 A 0 2 3 号 到 5 号窗口 办理"; a recall adds "第 2 次呼叫".

    The window is said as a number ("12 号窗口" reads 十二), the ticket digit by digit.
    """
    sentence = f"请 {spell(number)} 号 到 {window} 号窗口 办理"
    if calls > 1:
        sentence += f"，第 {calls} 次呼叫"
    return sentence


def announcement(number: str, window: int, calls: int = 1) -> str:
    """The whole announcement: the sentence said `REPEAT` times."""
    return "".join(call_sentence(number, window, calls) + "。" for _ in range(REPEAT))


def announcement_for_event(event: Mapping[str, Any]) -> str | None:
    """The announcement of a call or recall event; None for any other event."""
    if event.get("kind") not in CALL_KINDS:
        return None
    ticket = event.get("ticket")
    if not isinstance(ticket, Mapping):
        return None
    number, window, calls = ticket.get("number"), ticket.get("window"), ticket.get("calls", 1)
    if not isinstance(number, str) or not isinstance(window, int) or not isinstance(calls, int):
        return None
    return announcement(number, window, calls)
