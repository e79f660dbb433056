"""Hall notices (公告, the hall screen's ticker): each a text shown between its start and end.

Pure: the items as values, which of them a screen shows at an instant, and how they are kept
(JSON in the hall's row). An item without a start is shown from when it is posted; without an
end, until it is replaced. Items posted before notices had times are plain strings: they read
as items without either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Notice:
    text: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def shown_at(self, now: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and (self.ends_at is None or now < self.ends_at)

    def phase(self, now: datetime) -> str:
        """scheduled (not yet shown), showing, or ended."""
        if self.starts_at is not None and now < self.starts_at:
            return "scheduled"
        if self.ends_at is not None and now >= self.ends_at:
            return "ended"
        return "showing"

    def stored(self) -> dict[str, Any]:
        return {"text": self.text,
                "starts_at": self.starts_at.isoformat() if self.starts_at else None,
                "ends_at": self.ends_at.isoformat() if self.ends_at else None}


def from_stored(value: Any) -> Notice:
    """One stored item: a legacy string or {text, starts_at, ends_at}."""
    if isinstance(value, str):
        return Notice(value)
    starts, ends = value.get("starts_at"), value.get("ends_at")
    return Notice(str(value.get("text", "")),
                  datetime.fromisoformat(starts) if starts else None,
                  datetime.fromisoformat(ends) if ends else None)


def shown(notices: list[Notice], now: datetime) -> list[str]:
    """The texts a screen shows at `now`, in the posted order."""
    return [n.text for n in notices if n.shown_at(now)]
