"""Staff accounts as the manager's console manages them: the role ladder, the password rule,
one-time passwords and the photos a window screen shows."""

from __future__ import annotations

import secrets

from .errors import InvalidInput

#: admin > manager > staff: nobody grants a role above their own.
ROLE_RANK = {"staff": 0, "manager": 1, "admin": 2}
ROLE_ZH = {"admin": "系统管理员", "manager": "管理人员", "staff": "窗口工作人员"}

PASSWORD_MIN = 8
PASSWORD_MAX = 128
#: One-time passwords: no 0/O, 1/l/I, so that one read aloud or off a screen is typed right.
_OTP_LETTERS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"
_OTP_DIGITS = "23456789"
OTP_LENGTH = 10

#: A staff photo: JPEG or PNG, recognised by its first bytes, at most this many bytes (the
#: console scales a picture down before it sends it).
PHOTO_MAX_BYTES = 60 * 1024
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def check_new_password(password: str, *, staff_id: str, old: str | None = None) -> None:
    """A password a clerk may choose: 8–128 characters, letters and digits both, not the staff
    number, not the old one, no spaces at either end and no control characters."""
    if len(password) < PASSWORD_MIN:
        raise InvalidInput("input.password_too_short", field="new_password", minimum=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        raise InvalidInput("input.too_long", field="new_password", length=len(password), limit=PASSWORD_MAX)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password) or password != password.strip():
        raise InvalidInput("input.password_characters", field="new_password")
    if not any(ch.isalpha() for ch in password) or not any(ch.isdigit() for ch in password):
        raise InvalidInput("input.password_weak", field="new_password")
    if staff_id.casefold() in password.casefold():
        raise InvalidInput("input.password_has_staff_id", field="new_password")
    if old is not None and password == old:
        raise InvalidInput("input.password_unchanged", field="new_password")


def one_time_password() -> str:
    """A random password shown once: letters and digits, both present."""
    while True:
        text = "".join(secrets.choice(_OTP_LETTERS + _OTP_DIGITS) for _ in range(OTP_LENGTH))
        if any(ch in _OTP_DIGITS for ch in text) and any(ch in _OTP_LETTERS for ch in text):
            return text


def photo_type(data: bytes) -> str | None:
    """image/jpeg or image/png by the file's magic bytes (never by its name or declared type)."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None
