"""Complaints (投诉): the flow of one complaint, its step deadlines and who may see what (pure).

    received ──accept──▶ accepted ──assign──▶ investigating ──resolve──▶ resolved ──reply──▶ replied ──archive──▶ archived
        └──decline(reason)──▶ declined

Each state but the final ones is a step someone owes: the hall's managers accept or decline,
the accepting manager (the complaint's owner) assigns an investigator, the investigator
resolves (findings, measures), the owner replies to the complainant (how, when) and archives.
A step is due at the end of the N-th working day of the hall's calendar after the step began
(domain/calendar.py); past that it is overdue. The complainant's contact phone is shown only
to the owner and masked everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .calendar import WorkCalendar
from .errors import InvalidInput, Refused

CATEGORIES = {
    "attitude": "服务态度",
    "efficiency": "办事效率",
    "policy": "政策规定",
    "environment": "环境设施",
    "other": "其他",
}
CHANNELS = {
    "ticket": "手机取号页面",  # the phone page of a visit (/t/…)
    "poster": "大厅二维码",  # /complaint/{hall}
    "phone": "电话",  # taken by a manager on the console
    "in_person": "当面",
}
STAFF_CHANNELS = ("phone", "in_person")
STATES = {
    "received": "待受理",
    "accepted": "已受理",
    "declined": "不予受理",
    "investigating": "调查中",
    "resolved": "已处理",
    "replied": "已答复",
    "archived": "已归档",
}
FINAL = frozenset({"declined", "archived"})
#: action → (the state it starts from, the state it leads to)
ACTIONS: dict[str, tuple[str, str]] = {
    "accept": ("received", "accepted"),
    "decline": ("received", "declined"),
    "assign": ("accepted", "investigating"),
    "resolve": ("investigating", "resolved"),
    "reply": ("resolved", "replied"),
    "archive": ("replied", "archived"),
}
ACTIONS_ZH = {
    "receive": "登记", "accept": "受理", "decline": "不予受理", "assign": "交办调查",
    "resolve": "处理完毕", "reply": "答复投诉人", "archive": "归档",
}
#: the state → the [complaints] setting giving its step's working days
STEP_DAYS = {
    "received": "accept_days",
    "accepted": "assign_days",
    "investigating": "resolve_days",
    "resolved": "reply_days",
    "replied": "archive_days",
}
#: what each waiting state asks for, as the console says it
STEP_ZH = {
    "received": "受理", "accepted": "交办", "investigating": "处理", "resolved": "答复", "replied": "归档",
}
REPLY_HOW = {"phone": "电话", "sms": "短信", "in_person": "当面", "letter": "书面"}
RATINGS = {"satisfied": "满意", "dissatisfied": "不满意"}
#: states in which the complainant may rate the handling (it has been answered)
RATEABLE = frozenset({"declined", "replied", "archived"})
#: a complaint is shown to the staff member it names from acceptance on (never a declined one)
SEEN_BY_NAMED = frozenset({"accepted", "investigating", "resolved", "replied", "archived"})

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}-?[0-9]{7,8}")


def next_state(action: str, state: str, complaint: str) -> str:
    """The state `action` leads to from `state`; Refused (409) when it may not be taken."""
    start, leads_to = ACTIONS[action]
    if state != start:
        raise Refused("complaint.bad_step", complaint=complaint, action=ACTIONS_ZH[action], state=state,
                      state_zh=STATES.get(state, state), needs=STATES[start])
    return leads_to


def step_due(calendar: WorkCalendar, state: str, since: datetime, days: Mapping[str, int], tz: ZoneInfo
             ) -> datetime | None:
    """When the step owed in `state` (entered at `since`) is due: the end of its last working
    day, `days[STEP_DAYS[state]]` working days on ([complaints]); None for a closed complaint."""
    setting = STEP_DAYS.get(state)
    if setting is None:
        return None
    return calendar.deadline(since, days[setting], tz)


def overdue(state: str, due: datetime | None, now: datetime) -> bool:
    """A step still owed past the end of its last working day (a step done at 23:59 of that day
    is on time)."""
    return state not in FINAL and due is not None and now > due


def clean_phone(value: str) -> str:
    """A mainland mobile (13800138000) or landline (0571-87654321) number, without spaces."""
    phone = re.sub(r"[\s()（）]", "", value)
    if phone.startswith("+86"):
        phone = phone[3:]
    if not (_MOBILE.fullmatch(phone) or _LANDLINE.fullmatch(phone)):
        raise InvalidInput("input.complaint_phone", field="contact_phone", got=value[:20])
    return phone


def mask_phone(phone: str | None) -> str | None:
    """138****5678: the first three and the last four digits kept."""
    if not phone:
        return None
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "****" + phone[-4:]


@dataclass(frozen=True)
class Viewer:
    """Who looks at a complaint, as far as privacy goes."""

    id: str
    manager: bool


def may_see(viewer: Viewer, state: str, named_staff: str | None, assignee: str | None) -> bool:
    """Managers of the hall see every complaint; the staff member it names sees it once accepted;
    the investigator sees the one assigned to them."""
    if viewer.manager:
        return True
    if assignee is not None and viewer.id == assignee:
        return True
    return named_staff is not None and viewer.id == named_staff and state in SEEN_BY_NAMED


def contact_for(viewer: Viewer | None, owner: str | None, contact: str | None) -> str | None:
    """The contact as `viewer` may see it: whole for the complaint's owner (while a manager),
    masked for other managers and the complainant (viewer None), never for other staff."""
    if contact is None:
        return None
    if viewer is None:
        return mask_phone(contact)
    if owner is not None and viewer.id == owner and viewer.manager:  # an owner no longer a manager: masked
        return contact
    return mask_phone(contact) if viewer.manager else None
