"""Hall notices (公告): read them with their version, replace them as of the version read.

A replacement joins the hall's command pipeline. Its version check and write run in the
batch's transaction under the hall's lock, in `prepare`, so a second replacement in the same
batch already sees the first one's version and is refused as stale, not silently applied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.errors import Refused
from ..domain.hall import HallState
from ..domain.model import Event
from ..domain.notices import Notice, shown
from . import views
from .commands import PostNotices
from .ports import Connection
from .principal import Principal
from .queue import QueueService
from .results import Outcome, Result


def _listing(queue: QueueService, hall_id: str, version: int, notices: list[Notice], now: datetime) -> dict[str, Any]:
    tz = queue.tz
    return {
        "hall": hall_id, "version": version, "at": views.iso(now, tz),
        "notices": [{**views.notice_view(n, tz), "phase": n.phase(now)} for n in notices],
        "shown": shown(notices, now),
    }


async def current_notices(queue: QueueService, hall_id: str) -> dict[str, Any]:
    queue.hall(hall_id)
    now = queue.clock()
    async with queue.pool.acquire() as conn:
        version, notices = await queue.store.notices(conn, hall_id)
    return _listing(queue, hall_id, version, notices, now)


async def replace_notices(
    queue: QueueService, hall_id: str, cmd: PostNotices, principal: Principal, key: str | None,
) -> Result:
    notices = list(cmd.notices)
    found: dict[str, int] = {}

    async def prepare(conn: Connection, now: datetime) -> None:
        version = await queue.store.replace_notices(conn, hall_id, notices, cmd.version)
        if version is None:
            current, _ = await queue.store.notices(conn, hall_id)
            raise Refused("notices.stale", version=cmd.version, current=current)
        found["version"] = version

    def apply(state: HallState, now: datetime) -> Outcome:
        body = _listing(queue, hall_id, found["version"], notices, now)
        event = Event("notice_posted", None, None, {
            "notices": body["shown"], "notice_items": [views.notice_view(n, queue.tz) for n in notices],
            "version": found["version"]})
        return Outcome(body, [(event, None)])

    fingerprint = f"notices|{principal.id}|{cmd!r}"
    return await queue.execute(hall_id, apply, principal.actor, key=key, fingerprint=fingerprint, prepare=prepare)
