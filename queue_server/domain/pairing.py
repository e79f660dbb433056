"""Pairing a device with a one-time code (配对码), and what a device is: pure rules.

A device (a kiosk page, a hall or window screen, a rating tablet, the queue-printer or
queue-display client) that has no token asks for a code and shows it; a manager enters the
code with the hall, the role and the window or kiosk; the device then receives its token.
A code lives CODE_MINUTES, is used once, and is one of a million values: the attempts a
manager may make are bounded (FAILURES_ALLOWED wrong codes in FAILURE_WINDOW_MINUTES), so
guessing a code that some other device shows is hopeless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import InvalidInput

CODE_DIGITS = 6
CODE_MINUTES = 10
FAILURES_ALLOWED = 5
FAILURE_WINDOW_MINUTES = 10


@dataclass(frozen=True)
class DeviceKind:
    zh: str
    roles: tuple[str, ...]  # the roles a device of this kind may be given; the first is the default


#: What asked for a code: the page or client, its Chinese name, the roles it can take.
KINDS: dict[str, DeviceKind] = {
    "kiosk": DeviceKind("取号机", ("kiosk",)),
    "hall_screen": DeviceKind("大厅屏", ("display",)),
    "window_screen": DeviceKind("窗口屏", ("display",)),
    "tablet": DeviceKind("评价器", ("evaluator",)),
    "printer": DeviceKind("小票打印机（queue-printer）", ("printer",)),
    "display_client": DeviceKind("屏幕客户端（queue-display）", ("display",)),
}

ROLES_ZH = {"kiosk": "取号机", "display": "显示屏", "printer": "小票打印机", "evaluator": "评价器"}


def kind_of(role: str, window: int | None) -> str:
    """The kind of a device registered before pairing existed (from the command line)."""
    if role == "display":
        return "window_screen" if window is not None else "hall_screen"
    return {"kiosk": "kiosk", "evaluator": "tablet", "printer": "printer"}.get(role, role)


def expires_at(now: datetime) -> datetime:
    return now + timedelta(minutes=CODE_MINUTES)


def failures_since(now: datetime) -> datetime:
    return now - timedelta(minutes=FAILURE_WINDOW_MINUTES)


@dataclass(frozen=True)
class Binding:
    """What a manager gives a device: its role, and the window or kiosk the role needs."""

    kind: str
    role: str
    window: int | None
    kiosk: str | None


def binding(kind: str, role: str | None, window: int | None, kiosk: str | None,
            windows: tuple[int, ...], kiosks: tuple[str, ...]) -> Binding:
    """The checked binding of a device of `kind` in a hall with `windows` and registered
    `kiosks`: an evaluator needs a window, a printer a kiosk, a window screen a window; a kiosk
    and a hall screen take neither."""
    known = KINDS.get(kind)
    if known is None:
        raise InvalidInput("input.bad_choice", field="kind", known=", ".join(KINDS), got=kind[:40])
    role = role or known.roles[0]
    if role not in known.roles:
        raise InvalidInput("pairing.role_for_kind", field="role", role=role, kind_zh=known.zh,
                           roles=", ".join(known.roles))
    needs_window = role == "evaluator" or kind == "window_screen"
    if needs_window:
        if window is None:
            raise InvalidInput("pairing.window_required", field="window", role_zh=ROLES_ZH[role])
        if window not in windows:
            raise InvalidInput("pairing.no_window", field="window", window=window,
                               known=", ".join(str(w) for w in windows))
    elif window is not None and role != "display":
        raise InvalidInput("pairing.window_not_for_role", field="window", role_zh=ROLES_ZH[role])
    if role == "printer":
        if not kiosk:
            raise InvalidInput("pairing.kiosk_required", field="kiosk")
        if kiosk not in kiosks:
            raise InvalidInput("pairing.no_kiosk", field="kiosk", kiosk=kiosk[:64],
                               known=", ".join(kiosks) or "（无）")
    elif kiosk is not None:
        raise InvalidInput("pairing.kiosk_not_for_role", field="kiosk", role_zh=ROLES_ZH[role])
    return Binding(kind, role, window, kiosk)


def page_of(hall: str, role: str, window: int | None) -> str | None:
    """The page a paired browser device opens (None: a command-line client)."""
    if role == "kiosk":
        return f"/kiosk/{hall}"
    if role == "evaluator" and window is not None:
        return f"/evaluate/{hall}/{window}"
    if role == "display":
        return f"/display/window/{hall}/{window}" if window is not None else f"/display/hall/{hall}"
    return None
