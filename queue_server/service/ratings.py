"""Ratings (好差评): one per finished ticket, from the counter tablet or the citizen's phone.

A rating goes through the hall's command pipeline: under the hall's lock its ticket and any
earlier rating are read, the rating and the ledger row are written in one transaction, and a
bad rating opens its follow-up in the same transaction.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from ..config import Config
from ..domain.errors import Forbidden, InvalidInput, NotFound, Refused
from ..domain.hall import HallState
from ..domain.model import STATUS_ZH, Actor, Event, Ticket, TicketNumber, TicketStatus
from . import views
from .alerts import bad_rating, raise_alert
from .commands import RateFollowUp, RateService, UpdateFollowUp
from .ports import Connection, Database, RatingStore
from .principal import Principal
from .queue import Outcome, QueueService, Result
from .writes import FollowUpInsert, FollowUpUpdate, RatingInsert, Write

# Levels as the national 好差评 names them; stored as 5 … 1.
LEVELS = {
    "very_satisfied": (5, "非常满意"),
    "satisfied": (4, "满意"),
    "basically_satisfied": (3, "基本满意"),
    "dissatisfied": (2, "不满意"),
    "very_dissatisfied": (1, "非常不满意"),
}
LEVEL_CODES = {score: code for code, (score, _name) in LEVELS.items()}
DIMENSIONS = {
    "overall": "整体满意度",
    "efficiency": "服务效率",
    "competence": "服务水平",
    "attitude": "服务态度",
}
BAD = 2  # 不满意 and below open a follow-up
FOLLOW_UP_ACTIONS = {"call_back": "called_back", "rectify": "rectified", "close": "closed"}
FOLLOW_UP_STATES = {"open": "待回访", "called_back": "待整改", "rectified": "已整改", "closed": "已办结"}
#: How a citizen was called back (回访方式).
CALL_METHODS = {"phone": "电话", "sms": "短信", "visit": "上门", "on_site": "现场"}


def form(config: Config) -> dict[str, Any]:
    return {
        "levels": [{"code": code, "name": name} for code, (_s, name) in LEVELS.items()],
        "dimensions": [{"code": code, "name": name} for code, name in DIMENSIONS.items()],
        "labels": list(config.ratings.labels),
        "bad_levels": [code for code, (score, _n) in LEVELS.items() if score <= BAD],
        "prompt": "请您对本次服务进行评价",
    }


class RatingService:
    def __init__(self, config: Config, pool: Database, queue: QueueService, ratings: RatingStore) -> None:
        self.config = config
        self.pool = pool
        self.ratings = ratings
        self.queue = queue

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.config.ratings.window_minutes)

    async def rate(
        self, cmd: RateService, *, ticket_id: str | None, hall_id: str, device: Principal | None,
    ) -> Result:
        """Store one rating; refused for a second one or after the time window, never defaulted."""
        self.queue.hall(hall_id)
        level, dimensions, labels, channel = cmd.level, cmd.dimensions, list(cmd.labels), cmd.channel
        parsed = TicketNumber.parse(cmd.number) if cmd.number is not None else None
        found: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            if ticket_id is not None:
                ticket = await self.queue.store.ticket_by_id(conn, ticket_id)
            else:
                assert parsed is not None
                ticket = await self.queue.store.ticket_by_number(conn, hall_id, self.queue.today(now), parsed)
            if ticket is None or ticket.hall != hall_id:
                raise NotFound("ticket.no_such")
            if device is not None and ticket.window != device.window:
                raise Forbidden("auth.rating_other_window", number=ticket.number_text, served=ticket.window,
                                window=device.window)
            if ticket.status is not TicketStatus.FINISHED or ticket.finished_at is None:
                raise Refused("rating.not_finished", ticket=ticket.number_text, state=ticket.status.value,
                              state_zh=STATUS_ZH[ticket.status])
            if now - ticket.finished_at > self.window:
                raise Refused("rating.expired", minutes=self.config.ratings.window_minutes, state="expired")
            if await self.ratings.rating_of(conn, ticket.id) is not None:
                raise Refused("rating.already_rated", ticket=ticket.number_text, state="rated")
            found["ticket"] = ticket
            found["manager"] = await self.ratings.hall_manager(conn, hall_id) if level <= BAD else None

        def apply(state: HallState, now: datetime) -> Outcome:
            ticket: Ticket = found["ticket"]
            writes: list[Write] = [RatingInsert(
                ticket.id, hall_id, ticket.window, ticket.staff_id, level, dimensions, labels, channel,
                device.id if device else None, now)]
            payload: dict[str, Any] = {"level": LEVEL_CODES[level], "channel": channel, "labels": labels,
                                       "staff_id": ticket.staff_id}
            events: list[tuple[Event, Ticket | None]] = [(Event("ticket_rated", ticket.id, ticket.window, payload), ticket)]
            follow_up = None
            if level <= BAD:
                days = self.config.work_calendar(hall_id)
                tz = self.config.timezone
                follow_up = {
                    "id": "fu_" + secrets.token_urlsafe(9),
                    "owner": found["manager"],
                    "callback_due": days.deadline(now, self.config.ratings.callback_days, tz),
                    "rectify_due": days.deadline(now, self.config.ratings.rectify_days, tz),
                }
                writes.append(FollowUpInsert(
                    follow_up["id"], hall_id, ticket.id, follow_up["owner"], follow_up["callback_due"],
                    follow_up["rectify_due"], now))
                events.append((Event("follow_up_opened", ticket.id, ticket.window, {
                    "follow_up": follow_up["id"], "owner": follow_up["owner"],
                    "callback_due": follow_up["callback_due"].isoformat(),
                    "rectify_due": follow_up["rectify_due"].isoformat()}), ticket))
                event, write = raise_alert(hall_id, bad_rating(ticket, LEVEL_CODES[level], labels), now, ticket)
                events.append(event)
                writes.append(write)
            body = {"number": ticket.number_text, "level": LEVEL_CODES[level], "labels": labels,
                    "dimensions": dimensions, "rated_at": views.iso(now, self.config.timezone),
                    "follow_up": None if follow_up is None else {
                        "id": follow_up["id"],
                        "callback_due": views.iso(follow_up["callback_due"], self.config.timezone),
                        "rectify_due": views.iso(follow_up["rectify_due"], self.config.timezone)}}
            return Outcome(body, events, writes=writes, created=True)

        actor = device.actor if device else Actor("citizen", ticket_id or "?", "", "citizen")
        return await self.queue.execute(hall_id, apply, actor, prepare=prepare)

    async def prompt(self, hall_id: str, window: int, device: Principal) -> dict[str, Any]:
        """What the counter tablet shows: the window's latest finished ticket, if still rateable."""
        now = self.queue.clock()
        async with self.pool.acquire() as conn:
            row = await self.ratings.last_finished_at_window(conn, hall_id, window, now - self.window)
        ticket = None
        if row is not None and not row["rated"]:
            hall = self.queue.hall(hall_id)
            service = hall.services.get(row["service"])
            ticket = {
                "number": str(TicketNumber(row["prefix"], row["seq"])),
                "service_name": service.name if service else row["service"],
                "finished_at": views.iso(row["finished_at"], self.config.timezone),
                "rate_until": views.iso(row["finished_at"] + self.window, self.config.timezone),
            }
        return {"ticket": ticket, **form(self.config)}

    async def ticket_rating(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """The rating part of a ticket's public status."""
        async with self.pool.acquire() as conn:
            rated = await self.ratings.rating_of(conn, ticket["id"])
            follow = await self.ratings.follow_up_of_ticket(conn, ticket["id"]) if rated else None
        finished = ticket.get("finished_at")
        until = None
        rateable = False
        if ticket["status"] == "finished" and finished:
            end = datetime.fromisoformat(finished) + self.window
            until = end.isoformat(timespec="seconds")
            rateable = rated is None and self.queue.clock() <= end
        return {
            "rateable": rateable, "rated": rated is not None, "rate_until": until,
            "level": LEVEL_CODES[rated["level"]] if rated else None,
            # After the call-back the citizen may add one follow-up rating (追评).
            "follow_up_rateable": bool(follow and follow["citizen_level"] is None and follow["status"] != "open"),
        }

    async def follow_up_rating(self, ticket_id: str, cmd: RateFollowUp) -> dict[str, Any]:
        """The citizen's one follow-up rating after a bad one was handled."""
        level = cmd.level
        async with self.pool.acquire() as conn:
            done = await self.ratings.rate_follow_up(conn, ticket_id, level, self.queue.clock())
            if done is None:
                exists = await self.ratings.follow_up_of_ticket(conn, ticket_id)
                if exists is None:
                    raise NotFound("follow_up.none")
                if exists["status"] == "open":
                    raise Refused("follow_up.not_called_back", state="open")
                raise Refused("follow_up.already_rated", state="rated")
        await self.queue.record(done["hall"], Actor("citizen", ticket_id, "", "citizen"),
                                "follow_up_rated", {"follow_up": done["id"], "level": LEVEL_CODES[level]})
        return {"follow_up": done["id"], "level": LEVEL_CODES[level]}

    # ---- managers ---------------------------------------------------------------------

    def _view(self, f: dict[str, Any], now: datetime) -> dict[str, Any]:
        tz = self.config.timezone
        callback_overdue = f["called_back_at"] is None and f["status"] == "open" and now > f["callback_due"]
        rectify_overdue = f["rectified_at"] is None and f["status"] in ("open", "called_back") and now > f["rectify_due"]
        return {
            "id": f["id"], "number": str(TicketNumber(f["prefix"], f["seq"])), "window": f["window_no"],
            "staff_id": f["staff_id"], "level": LEVEL_CODES[f["level"]], "labels": f["labels"],
            "rated_at": views.iso(f["rated_at"], tz), "owner": f["owner"], "status": f["status"],
            "callback_due": views.iso(f["callback_due"], tz), "rectify_due": views.iso(f["rectify_due"], tz),
            "called_back_at": views.iso(f["called_back_at"], tz), "rectified_at": views.iso(f["rectified_at"], tz),
            "closed_at": views.iso(f["closed_at"], tz), "notes": f["notes"],
            "status_zh": FOLLOW_UP_STATES[f["status"]],
            "call": _step(f["notes"], "call_back", ("method", "method_zh", "result")),
            "rectification": _step(f["notes"], "rectify", ("measures",)),
            "citizen_level": LEVEL_CODES.get(f["citizen_level"]) if f["citizen_level"] else None,
            "citizen_level_zh": LEVELS[LEVEL_CODES[f["citizen_level"]]][1] if f["citizen_level"] else None,
            "level_zh": LEVELS[LEVEL_CODES[f["level"]]][1],
            "overdue": callback_overdue or rectify_overdue,
            "callback_overdue": callback_overdue, "rectify_overdue": rectify_overdue,
        }

    async def list_follow_ups(self, hall_id: str, status: str | None, overdue_only: bool) -> list[dict[str, Any]]:
        self.queue.hall(hall_id)
        if status is not None and status not in ("open", "called_back", "rectified", "closed"):
            raise InvalidInput("input.bad_choice", field="status", known="open, called_back, rectified, closed",
                               got=str(status)[:40])
        now = self.queue.clock()
        async with self.pool.acquire() as conn:
            rows = await self.ratings.follow_ups(conn, hall_id, status)
        views_ = [self._view(f, now) for f in rows]
        return [v for v in views_ if v["overdue"]] if overdue_only else views_

    async def update_follow_up(
        self, hall_id: str, manager: Principal, cmd: UpdateFollowUp, key: str | None = None,
    ) -> dict[str, Any]:
        """call_back → rectify → close, each timed, recorded (how the citizen was reached and
        what came of it; the measures taken) and logged in the ledger with who did it."""
        follow_up_id, action, note = cmd.follow_up, cmd.action, cmd.note
        new_status = FOLLOW_UP_ACTIONS[action]
        order = ["open", "called_back", "rectified", "closed"]
        found: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            f = await self.ratings.follow_up(conn, follow_up_id)
            if f is None or f["hall"] != hall_id:
                raise NotFound("follow_up.unknown", hall=hall_id, follow_up=follow_up_id)
            if order.index(new_status) <= order.index(f["status"]):
                raise Refused("follow_up.already", follow_up=follow_up_id, state=f["status"],
                              state_zh=FOLLOW_UP_STATES[f["status"]])
            if order.index(new_status) > order.index(f["status"]) + 1:
                # Every step is recorded: no rectification before the call, no closing before both.
                raise Refused("follow_up.step_skipped", follow_up=follow_up_id, state=f["status"],
                              state_zh=FOLLOW_UP_STATES[f["status"]], action=_ACTION_ZH[action])
            # Claimed here, in the batch's transaction: a second press (or another manager) in
            # the same batch then reads the new status and is refused instead of recorded twice.
            if not await self.ratings.claim_follow_up_step(conn, follow_up_id, f["status"], new_status):
                raise Refused("follow_up.already", follow_up=follow_up_id, state=new_status,
                              state_zh=FOLLOW_UP_STATES[new_status])
            found["f"] = f

        def apply(state: HallState, now: datetime) -> Outcome:
            f = found["f"]
            column = {"called_back": "called_back_at", "rectified": "rectified_at", "closed": "closed_at"}[new_status]
            record: dict[str, Any] = {"at": now.isoformat(), "by": manager.id, "by_name": manager.name,
                                      "action": action, "note": _summary(cmd)}
            if cmd.method is not None:
                record.update(method=cmd.method, method_zh=CALL_METHODS[cmd.method], result=cmd.result)
            if cmd.measures is not None:
                record["measures"] = cmd.measures
            if note and (cmd.method is not None or cmd.measures is not None):
                record["remark"] = note
            notes = [*f["notes"], record] if record["note"] else list(f["notes"])
            f.update({"status": new_status, column: now, "notes": notes})
            payload = {"follow_up": follow_up_id, "action": action, "note": note,
                       **{k: v for k, v in (("method", cmd.method), ("result", cmd.result),
                                            ("measures", cmd.measures)) if v is not None}}
            event = Event("follow_up_updated", f["ticket_id"], f["window_no"], payload)
            return Outcome(self._view(f, now), [(event, None)],
                           writes=[FollowUpUpdate(follow_up_id, new_status, now, notes)])

        fingerprint = f"follow_up|{manager.id}|{cmd!r}"
        return (await self.queue.execute(hall_id, apply, manager.actor, key=key, fingerprint=fingerprint,
                                         prepare=prepare)).body


_ACTION_ZH = {"call_back": "记录回访", "rectify": "记录整改", "close": "办结"}


def _summary(cmd: UpdateFollowUp) -> str | None:
    """The step in one line, as the monthly report lists a follow-up's notes."""
    if cmd.method is not None:
        text = f"{CALL_METHODS[cmd.method]}回访：{cmd.result}"
    elif cmd.measures is not None:
        text = f"整改措施：{cmd.measures}"
    else:
        return cmd.note
    return f"{text}（{cmd.note}）" if cmd.note else text


def _step(notes: list[dict[str, Any]], action: str, fields: tuple[str, ...]) -> dict[str, Any] | None:
    """The recorded call or rectification (the latest, with who and when), or None."""
    for n in reversed(notes or []):
        if isinstance(n, dict) and n.get("action") == action and any(n.get(k) for k in fields):
            return {**{k: n.get(k) for k in fields}, "at": n.get("at"), "by": n.get("by"),
                    "by_name": n.get("by_name"), "remark": n.get("remark")}
    return None
