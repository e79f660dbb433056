"""Pairing a command-line device (queue-printer --pair, queue-display --pair) with the server:
ask for a 6-digit code, print it, wait until a manager enters it on /manage/devices, and keep
the token it receives in a file only its owner may read.

The clients' side of POST /api/v1/pairing and GET /api/v1/pairing/wait, in the standard
library only (blocking; the clients call it before their event loop starts)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

PAIRING_PATH = "/api/v1/pairing"
WAIT_PATH = "/api/v1/pairing/wait"
WAIT_SECONDS = 25


#: What a device's keeper should do about a refused connection, after the server's own detail.
REFUSAL_HINTS = {
    400: "请检查命令行参数（--hall / --window / --area）",
    401: "本设备未配对或已被停用：请加 --pair --token-file 文件 重新配对",
    403: "这个令牌不属于该大厅的设备：请检查 --hall，或重新配对",
    404: "请检查 --hall / --window（服务器上没有这个大厅或窗口）",
}
#: Said when the server closes a device's socket with CLOSE_REVOKED (4003).
REVOKED_TEXT = "本设备已在「设备管理」中被停用（关闭码 4003）：请加 --pair --token-file 文件 重新配对"


def refusal_text(status: int, body: bytes | None) -> str:
    """The server's Chinese `detail` of a refused connection and what to do, for a terminal:
    "没有大厅 'nowhere'（HTTP 404）。请检查 --hall / --window（…）"."""
    try:
        detail = str(json.loads(body or b"{}").get("detail") or "")
    except (ValueError, AttributeError):
        detail = ""
    detail = "".join(ch for ch in detail[:200] if ch.isprintable())  # nothing to steer the terminal
    head = f"{detail}（HTTP {status}）" if detail else f"服务器拒绝了本设备（HTTP {status}）"
    hint = REFUSAL_HINTS.get(status)
    return f"{head}。{hint}" if hint else head


class PairingFailed(Exception):
    """The server refused to pair (the message says why, in the server's words)."""


def _request(url: str, *, body: dict[str, Any] | None = None, timeout: float) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the configured server)
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}


def pair(
    server: str, kind: str, *, show: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep, wait_seconds: float = WAIT_SECONDS,
) -> dict[str, Any]:
    """Pair this device as `kind` (printer or display_client): the server's answer with the
    token and the device ({hall, name, role, window, kiosk}). A code that expires is replaced;
    a network failure is retried."""
    base = server.rstrip("/")
    while True:
        try:
            status, started = _request(base + PAIRING_PATH, body={"kind": kind}, timeout=10)
        except OSError as exc:
            show(f"cannot reach {base}: {exc}; retrying")
            sleep(5)
            continue
        if status != 201:
            raise PairingFailed(started.get("detail") or f"the server answered {status}")
        show(f"配对码 pairing code: {started['code']}\n"
             f"  a manager enters it at {base}/manage/devices (valid {started['expires_in'] // 60} minutes)")
        query = urllib.parse.urlencode({"secret": started["secret"], "timeout": wait_seconds})
        while True:
            try:
                status, answer = _request(f"{base}{WAIT_PATH}?{query}", timeout=wait_seconds + 10)
            except OSError as exc:
                show(f"waiting: {exc}; retrying")
                sleep(3)
                continue
            if status != 200:
                raise PairingFailed(answer.get("detail") or f"the server answered {status}")
            if answer["state"] == "paired":
                return answer
            if answer["state"] != "waiting":
                show("the code expired; asking for a new one")
                break


def save_token(path: Path, token: str) -> None:
    """Write the token to `path`, readable by its owner only (written whole, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    os.replace(temporary, path)


def read_token(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None
