"""Improvement actions (整改): a problem found, its cause, the measure, who owns it and by when.

An action is opened from a bad-rating follow-up, a complaint, a survey finding or a manager's own
inspection; the owner reports it done with evidence; a manager other than the owner verifies it
(or sends it back with a reason, which reopens it). Pure: states, transitions, overdue.

    open ──done(evidence)──▶ done ──verify──▶ verified
      ▲                        │
      └──────reopen(reason)────┘
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .errors import Refused

SOURCES = {
    "follow_up": "差评回访",
    "complaint": "投诉",
    "survey": "满意度调查",
    "inspection": "日常检查",
}
STATES = {"open": "整改中", "done": "待验证", "verified": "已验证"}
#: action → (states it may start from, the state it leads to)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "done": (frozenset({"open"}), "done"),
    "verify": (frozenset({"done"}), "verified"),
    "reopen": (frozenset({"done"}), "open"),
}
ACTIONS_ZH = {"open": "立项", "done": "报告完成", "verify": "验证通过", "reopen": "退回重改"}


@dataclass(frozen=True)
class Step:
    """Where `action` takes an action in `state` (Refused when it may not)."""

    action: str
    state: str

    def next_state(self, action_id: str) -> str:
        starts, leads_to = ACTIONS[self.action]
        if self.state not in starts:
            raise Refused("improvement.bad_step", improvement=action_id, action=ACTIONS_ZH[self.action],
                          state=self.state, state_zh=STATES.get(self.state, self.state))
        return leads_to


def overdue(state: str, due: datetime, now: datetime) -> bool:
    """An action still being worked on (not reported done) past the end of its due day."""
    return state == "open" and now > due
