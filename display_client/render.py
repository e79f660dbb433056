"""Terminal rendering of a board: plain text (optionally ANSI colour), CJK-width aware."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from wcwidth import wcwidth

from display_client.state import Board, civility_moment, window_area

BOLD, YELLOW, RED, DIM, RESET = "\x1b[1m", "\x1b[33m", "\x1b[31m", "\x1b[2m", "\x1b[0m"
CLEAR = "\x1b[H\x1b[2J"


ELLIPSIS = "…"  # one column (wcwidth: East Asian ambiguous counts narrow)


def width(text: str) -> int:
    """Columns `text` takes in a terminal, as wcwidth measures them: wide (CJK, full-width)
    characters take two, combining marks and zero-width characters none; a control character
    (which the board never prints on purpose) counts as none."""
    return sum(max(0, wcwidth(ch)) for ch in text)


def fit(text: str, columns: int, align: str = "<") -> str:
    """`text` padded to exactly `columns` terminal columns, or cut to them with an ellipsis."""
    if columns <= 0:
        return ""
    room = columns if width(text) <= columns else columns - width(ELLIPSIS)
    out, used = [], 0
    for ch in text:
        w = max(0, wcwidth(ch))
        if used + w > room:
            break
        out.append(ch)
        used += w
    if room < columns:
        out.append(ELLIPSIS)
        used += width(ELLIPSIS)
    pad = " " * (columns - used)
    body = "".join(out)
    if align == ">":
        return pad + body
    if align == "^":
        left = len(pad) // 2
        return pad[:left] + body + pad[left:]
    return body + pad


def _recall(call: Mapping[str, Any]) -> str:
    """"（第 N 次呼叫）" for a recall, "" for a first call."""
    return f"（第 {call['calls']} 次呼叫）" if call.get("calls", 1) > 1 else ""


def shown_notices(snapshot: Mapping[str, Any], now: datetime) -> list[str]:
    """The notices to show at `now`: each item between its start and end (the hall screen's
    rule); a server without times sends plain `notices`."""
    items = snapshot.get("notice_items")
    if not isinstance(items, list):
        return [str(n) for n in snapshot.get("notices") or []]

    def at(value: Any) -> datetime | None:
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None
        return moment if moment is not None and moment.tzinfo is not None else None

    shown = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        starts, ends = at(item.get("starts_at")), at(item.get("ends_at"))
        if (starts is None or starts <= now) and (ends is None or now < ends):
            shown.append(str(item.get("text", "")))
    return shown


def since_text(last_contact: datetime | None, started: datetime, now: datetime) -> str:
    """"最后联系 14:02:11（3 分钟前）", or "已尝试 40 秒" before any contact (local time)."""
    def ago(seconds: float) -> str:
        s = max(0, round(seconds))
        if s < 60:
            return f"{s} 秒"
        m = s // 60
        return f"{m} 分钟" if m < 60 else f"{m // 60} 小时 {m % 60} 分钟"

    if last_contact is None:
        return f"已尝试 {ago((now - started).total_seconds())}"
    return f"最后联系 {last_contact:%H:%M:%S}（{ago((now - last_contact).total_seconds())}前）"


def _connection_lines(paint: _Paint, columns: int, *, online: bool, connected: bool,
                      since: str = "") -> list[str]:
    """The lines every board starts with: a banner while offline (with `since`, e.g. "最后联系
    14:02:11（3 分钟前）"), a notice until the first snapshot arrives."""
    lines = []
    if not online:
        lines.append(paint(fit("连接中断，正在重连…", columns, "^"), RED, BOLD))
        if since:
            lines.append(paint(fit(since, columns, "^"), RED))
    if not connected:
        lines.append(fit("正在连接…", columns, "^"))
    return lines


class _Paint:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, *styles: str) -> str:
        return "".join(styles) + text + RESET if self.colour and styles else text


def render_hall(board: Board, *, columns: int = 80, colour: bool = False,
                online: bool = True, since: str = "", now: datetime | None = None) -> str:
    """The hall board: latest call, recent calls, waiting per service, notices."""
    paint = _Paint(colour)
    lines = _connection_lines(paint, columns, online=online, connected=board.snapshot is not None,
                              since=since)
    snapshot = board.snapshot
    if snapshot is None:
        return "\n".join(lines)
    area = _area_name(snapshot, board.area)
    title = f"{snapshot.get('name') or snapshot['hall']}{' · ' + area if area else ''}"
    lines.append(paint(fit(title, columns - 20) + fit(_clock(snapshot), 20, ">"), BOLD))
    lines.append("═" * columns)
    calls = [c for c in snapshot.get("recent_calls", [])
             if board.area is None or window_area(snapshot, c["window"], c.get("service"))
             == board.area]
    # 正在呼叫: only a ticket still being called at its window; the rest is history
    calling = next((c for c in calls if _still_called(snapshot, c)), None)
    if calling is not None:
        text = f"请 {calling['number']} 号 到 {calling['window']} 号窗口 办理{_recall(calling)}"
        lines.append(paint(fit(text, columns, "^"), YELLOW, BOLD))
    else:
        lines.append(fit(snapshot.get("idle_line") or "欢迎光临，请取号等候", columns, "^"))
    lines.append("─" * columns)
    lines.append(paint("最近呼叫", DIM))
    for call in [c for c in calls if c is not calling][:6]:
        recall = f"第 {call['calls']} 次" if call.get("calls", 1) > 1 else ""
        lines.append(f"  {fit(call['number'], 8)} → {fit(str(call['window']) + ' 号窗口', 12)}"
                     f"{recall}")
    lines.append("─" * columns)
    lines.append(paint("等候情况", DIM))
    for service in snapshot.get("services", []):
        if board.area is not None and service.get("area") != board.area:
            continue
        waiting = service.get("waiting") or 0
        minutes = service.get("estimated_wait_minutes")
        estimate = "无需等候" if not waiting else (f"约 {minutes} 分钟" if minutes is not None
                                                else "")
        lines.append(f"  {fit(service['code'], 2)}{fit(service.get('name', ''), 16)}"
                     f"等候 {fit(str(waiting), 4, '>')} 人  {estimate}")
    notices = shown_notices(snapshot, now or datetime.now(UTC)) + \
        list((snapshot.get("civility") or {}).get("hall") or [])
    if notices:
        lines.append("─" * columns)
        lines.append(fit("  ◆  ".join(notices), columns))
    return "\n".join(lines)


def _still_called(snapshot: Mapping[str, Any], call: Mapping[str, Any]) -> bool:
    window = next((w for w in snapshot.get("windows", []) if w.get("number") == call.get("window")), None)
    current = (window or {}).get("current") or {}
    return current.get("number") == call.get("number") and current.get("status") == "called"


def render_window(board: Board, number: int, *, columns: int = 80, colour: bool = False,
                  online: bool = True, since: str = "") -> str:
    """A window's board: its staff on duty, the number at the window, a civility phrase."""
    paint = _Paint(colour)
    lines = _connection_lines(paint, columns, online=online, connected=board.snapshot is not None,
                              since=since)
    snapshot = board.snapshot
    if snapshot is None:
        return "\n".join(lines)
    window = next((w for w in snapshot.get("windows", []) if w.get("number") == number), None)
    if window is None:
        lines.append(fit(f"本厅没有 {number} 号窗口", columns, "^"))
        return "\n".join(lines)
    names = {s["code"]: s.get("name", s["code"]) for s in snapshot.get("services", [])}
    services = "、".join(names.get(code, code) for code in window.get("services", []))
    lines.append(paint(fit(f"{number} 号窗口  {services}", columns - 24), BOLD) +
                 fit(window_state_text(window), 24, ">"))
    lines.append("═" * columns)
    staff = window.get("staff")
    if staff and window.get("state") != "closed":
        role = "  顶岗人员" if staff.get("stand_in") else ""
        lines.append(f"  工作人员：{staff.get('name', '')}  工号 {staff.get('id', '')}{role}")
    else:
        lines.append("  暂无工作人员在岗")
    current = window.get("current")
    if window.get("state") == "open" and current:
        if current.get("status") == "called":
            text = f"请 {current['number']} 号到本窗口办理{_recall(current)}"
        else:
            text = f"正在办理 {current['number']}"
        lines.append(paint(fit(text, columns, "^"), YELLOW, BOLD))
    elif window.get("state") == "open":
        lines.append(fit("等待叫号", columns, "^"))
    moment = civility_moment(board, number)
    phrases = (snapshot.get("civility") or {}).get(moment, []) if moment else []
    if phrases:
        lines.append("─" * columns)
        lines.append(fit(phrases[0], columns, "^"))
    return "\n".join(lines)


def window_state_text(window: Mapping[str, Any]) -> str:
    """在岗 / 暂停服务（reason） / 顶岗：name."""
    state = window.get("state")
    if state == "paused":
        reason = window.get("pause_reason")
        return f"暂停服务（{reason}）" if reason else "暂停服务"
    if state != "open":
        return "暂停服务"
    staff = window.get("staff") or {}
    return f"顶岗：{staff.get('name', '')}" if staff.get("stand_in") else "在岗"


def _area_name(snapshot: Mapping[str, Any], code: str | None) -> str:
    if code is None:
        return ""
    return next((a.get("name", code) for a in snapshot.get("areas", [])
                 if a.get("code") == code), code)


def _clock(snapshot: Mapping[str, Any]) -> str:
    at = str(snapshot.get("at") or "")
    return at[:16].replace("T", " ")
