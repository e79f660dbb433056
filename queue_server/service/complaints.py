"""Complaints (投诉): taken in from a visit's phone page, the hall's poster page or a manager's
console; handled step by step (domain/complaints.py) with deadlines in working days; followed
and rated once by the complainant through a private link; the contact phone erased after the
retention period.

Every step goes through the hall's command pipeline: read under the hall's lock, the row and
the ledger event written in one transaction, a retry with the same Idempotency-Key answered once.
The ledger gets the complaint's id and its steps (who, when, the deadline, on time or not),
never the complainant's words or contact.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from ..config import Config
from ..domain import complaints as domain
from ..domain.complaints import Viewer
from ..domain.errors import Forbidden, InvalidInput, NotFound, Refused
from ..domain.hall import HallState
from ..domain.model import Actor, Event, Ticket
from . import views
from .commands import RateComplaint, StepComplaint, SubmitComplaint
from .ports import ComplaintStore, Connection, Database
from .principal import Principal
from .queue import Outcome, QueueService, Result, command_fingerprint
from .writes import ComplaintContactErased, ComplaintInsert, ComplaintRated, ComplaintUpdate, Write

MANAGERS = ("manager", "admin")
#: who erases contacts in the ledger: the command line, run by the hall's operator
ERASER = Actor("system", "complaints-erase-contacts", "联系方式到期清除", "system")


def citizen(ref: str) -> Actor:
    return Actor("citizen", ref, "", "citizen")


class ComplaintService:
    def __init__(self, config: Config, pool: Database, queue: QueueService, store: ComplaintStore) -> None:
        self.config = config
        self.pool = pool
        self.queue = queue
        self.store = store

    @property
    def tz(self) -> Any:
        return self.config.timezone

    def _due(self, hall_id: str, state: str, since: datetime) -> datetime | None:
        return domain.step_due(self.config.work_calendar(hall_id), state, since,
                               self.config.complaints.model_dump(), self.tz)

    # ---- intake -----------------------------------------------------------------------

    async def submit(self, hall_id: str, cmd: SubmitComplaint, *, ticket: Ticket | None = None,
                     manager: Principal | None = None, key: str | None = None) -> Result:
        """Receive a complaint: from the holder of `ticket` (linked to its window and staff), from
        the poster page (neither), or taken by `manager` (phone, in person)."""
        hall = self.queue.hall(hall_id)
        if manager is not None:
            manager.require_role(hall_id, *MANAGERS)
        if cmd.window is not None and cmd.window not in hall.windows:
            raise InvalidInput("input.complaint_window_unknown", field="window", hall=hall_id, window=cmd.window)
        window = ticket.window if ticket is not None else cmd.window
        staff_id = ticket.staff_id if ticket is not None else cmd.staff_id

        async def prepare(conn: Connection, now: datetime) -> None:
            if cmd.staff_id is not None and await self.store.active_staff(conn, cmd.staff_id, hall_id) is None:
                raise InvalidInput("input.complaint_staff_unknown", field="staff_id", hall=hall_id,
                                   staff=cmd.staff_id[:40])

        def apply(state: HallState, now: datetime) -> Outcome:
            complaint_id = "cp_" + secrets.token_urlsafe(9)
            secret = secrets.token_urlsafe(24)
            due = self._due(hall_id, "received", now)
            assert due is not None
            steps = [_step("receive", "received", manager, now, None, None)]
            row: dict[str, Any] = {
                "id": complaint_id, "hall": hall_id, "secret": secret, "channel": cmd.channel,
                "category": cmd.category, "content": cmd.content, "ticket_id": ticket.id if ticket else None,
                "window_no": window, "staff_id": staff_id, "contact": cmd.contact_phone, "contact_erased_at": None,
                "state": "received", "owner": None, "assignee": None, "due": due, "decline_reason": None,
                "findings": None, "measures": None, "reply_how": None, "replied_at": None, "answer": None,
                "rating": None, "rated_at": None, "created_by": manager.id if manager else None,
                "created_at": now, "closed_at": None, "steps": steps,
            }
            event = Event("complaint_received", ticket.id if ticket else None, window, {
                "complaint": complaint_id, "channel": cmd.channel, "category": cmd.category,
                "window": window, "staff_id": staff_id, "due": due.isoformat(),
                "with_contact": cmd.contact_phone is not None})
            write = ComplaintInsert(complaint_id, hall_id, secret, cmd.channel, cmd.category, cmd.content,
                                    ticket.id if ticket else None, window, staff_id, cmd.contact_phone, due,
                                    manager.id if manager else None, now, steps)
            viewer = Viewer(manager.id, True) if manager else None
            body = {**self.view(row, now, viewer), "secret": secret, "status_link": f"/complaint/status/{secret}"}
            return Outcome(body, [(event, ticket)], writes=[write], created=True)

        actor = manager.actor if manager else citizen(ticket.id if ticket else f"poster:{hall_id}")
        return await self.queue.execute(hall_id, apply, actor, key=key,
                                        fingerprint=command_fingerprint(manager, cmd), prepare=prepare)

    # ---- the flow -----------------------------------------------------------------------

    async def step(self, hall_id: str, who: Principal, cmd: StepComplaint, key: str | None) -> Result:
        """accept / decline (a manager), assign (a manager, to an active staff member of the hall),
        resolve (the investigator or a manager), reply and archive (a manager)."""
        self.queue.hall(hall_id)
        who.require_hall(hall_id)
        if cmd.action not in domain.ACTIONS:
            raise InvalidInput("input.bad_choice", field="action", known=", ".join(domain.ACTIONS),
                               got=cmd.action[:40])
        if cmd.action != "resolve" and who.role not in MANAGERS:
            raise Forbidden("auth.role", who=f"{who.kind} {who.id}", role=who.role, roles=", ".join(MANAGERS))
        _require_fields(cmd)
        found: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            row = await self.store.complaint(conn, cmd.complaint)
            if row is None or row["hall"] != hall_id:
                raise NotFound("complaint.unknown", hall=hall_id, complaint=cmd.complaint[:40])
            if cmd.action == "resolve" and who.role not in MANAGERS and who.id != row["assignee"]:
                raise Forbidden("complaint.not_investigator", complaint=row["id"], assignee=row["assignee"])
            domain.next_state(cmd.action, row["state"], row["id"])  # refused before anything else is checked
            if cmd.action == "assign":
                assert cmd.assignee is not None
                staff = await self.store.active_staff(conn, cmd.assignee, hall_id)
                if staff is None:
                    raise InvalidInput("input.complaint_staff_unknown", field="assignee", hall=hall_id,
                                       staff=cmd.assignee[:40])
            if cmd.action == "reply":
                found["replied_at"] = self._replied_at(cmd, row, now)
            found["row"] = row

        def apply(state: HallState, now: datetime) -> Outcome:
            row = dict(found["row"])
            was = row["state"]
            row["state"] = domain.next_state(cmd.action, was, row["id"])
            on_time = row["due"] is None or now <= row["due"]
            text: str | None = None
            if cmd.action == "accept":
                row["owner"] = who.id
                text = cmd.note
            elif cmd.action == "decline":
                row["decline_reason"] = text = cmd.reason
            elif cmd.action == "assign":
                row["assignee"] = cmd.assignee
            elif cmd.action == "resolve":
                row.update(findings=cmd.findings, measures=cmd.measures)
            elif cmd.action == "reply":
                row.update(reply_how=cmd.how, replied_at=found["replied_at"], answer=cmd.answer)
                text = cmd.answer
            else:
                text = cmd.note
            if row["state"] in domain.FINAL:
                row["closed_at"] = now
            step = _step(cmd.action, row["state"], who, now, row["due"], text)
            step["on_time"] = on_time
            if cmd.action == "assign":
                step["assignee"] = cmd.assignee
            if cmd.action == "resolve":
                step.update(findings=cmd.findings, measures=cmd.measures)
            if cmd.action == "reply":
                step.update(how=cmd.how, replied_at=found["replied_at"].isoformat())
            row["steps"] = [*row["steps"], step]
            row["due"] = self._due(hall_id, row["state"], now)
            payload: dict[str, Any] = {
                "complaint": row["id"], "action": cmd.action, "from": was, "state": row["state"],
                "on_time": on_time, "due": row["due"].isoformat() if row["due"] else None}
            if cmd.action == "assign":
                payload["assignee"] = cmd.assignee
            if cmd.action == "reply":
                payload.update(how=cmd.how, replied_at=found["replied_at"].isoformat())
            event = Event("complaint_" + row["state"], None, row["window_no"], payload)
            write = ComplaintUpdate(row["id"], row["state"], row["owner"], row["assignee"], row["due"],
                                    row["decline_reason"], row["findings"], row["measures"], row["reply_how"],
                                    row["replied_at"], row["answer"], row["closed_at"], row["steps"], was)
            return Outcome(self.view(row, now, _viewer(who)), [(event, None)], writes=[write])

        return await self.queue.execute(hall_id, apply, who.actor, key=key,
                                        fingerprint=command_fingerprint(who, cmd), prepare=prepare)

    def _replied_at(self, cmd: StepComplaint, row: dict[str, Any], now: datetime) -> datetime:
        if cmd.replied_at is None:
            return now
        try:
            at = datetime.fromisoformat(cmd.replied_at)
        except ValueError:
            raise InvalidInput("input.bad_choice", field="replied_at", known="ISO 8601 时间，如 2026-12-01T10:30:00+08:00",
                               got=cmd.replied_at[:40]) from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=self.tz)
        resolved = next((datetime.fromisoformat(s["at"]) for s in reversed(row["steps"]) if s["action"] == "resolve"),
                        row["created_at"])
        if at > now or at < resolved:
            raise InvalidInput("input.complaint_reply_time", field="replied_at", at=views.iso(at, self.tz),
                               resolved=views.iso(resolved, self.tz), now=views.iso(now, self.tz))
        return at

    # ---- the complainant ------------------------------------------------------------------

    async def status(self, secret: str) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            row = await self.store.complaint_by_secret(conn, secret)
        if row is None or row["hall"] not in self.config.halls:
            raise NotFound("complaint.no_such")
        return self.public_view(row)

    async def rate(self, secret: str, cmd: RateComplaint, key: str | None) -> Result:
        """满意 / 不满意, once, after the complaint was answered (replied, archived or declined)."""
        async with self.pool.acquire() as conn:
            first = await self.store.complaint_by_secret(conn, secret)
        if first is None or first["hall"] not in self.config.halls:
            raise NotFound("complaint.no_such")
        hall_id = first["hall"]
        found: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            row = await self.store.complaint(conn, first["id"])
            assert row is not None
            if row["rating"] is not None:
                raise Refused("complaint.already_rated", rating_zh=domain.RATINGS[row["rating"]], state="rated")
            if row["state"] not in domain.RATEABLE:
                raise Refused("complaint.not_answered", state=row["state"])
            found["row"] = row

        def apply(state: HallState, now: datetime) -> Outcome:
            row = {**found["row"], "rating": cmd.rating, "rated_at": now}
            event = Event("complaint_rated", None, row["window_no"], {"complaint": row["id"], "rating": cmd.rating})
            write = ComplaintRated(row["id"], cmd.rating, now)
            return Outcome(self.public_view(row), [(event, None)], writes=[write], created=True)

        return await self.queue.execute(hall_id, apply, citizen(f"complaint:{first['id']}"), key=key,
                                        fingerprint=command_fingerprint(None, cmd), prepare=prepare)

    # ---- reading ----------------------------------------------------------------------

    async def worklist(self, hall_id: str, who: Principal, state: str | None, overdue_only: bool, *,
                       region_office: bool = False) -> list[dict[str, Any]]:
        """A manager sees the hall's complaints; a clerk those naming them once accepted and
        those assigned to them; the contact whole only for the complaint's owner. With
        `region_office`, `who` manages the hall's street or district office (checked by the
        caller) and reads them all as a manager who owns none."""
        self.queue.hall(hall_id)
        if not region_office:
            who.require_hall(hall_id)
        if state is not None and state not in domain.STATES:
            raise InvalidInput("input.bad_choice", field="state", known=", ".join(domain.STATES), got=state[:40])
        viewer = _viewer(who)
        now = self.queue.clock()
        async with self.pool.acquire() as conn:
            rows = await self.store.complaints(conn, hall_id, state)
            rows = [r for r in rows if domain.may_see(viewer, r["state"], r["staff_id"], r["assignee"])]
            names = await self.store.staff_names(
                conn, {n for r in rows for n in (r["owner"], r["assignee"], r["staff_id"]) if n})
        found = [self.view(r, now, viewer, names) for r in rows]
        return [v for v in found if v["overdue"]] if overdue_only else found

    def view(self, row: dict[str, Any], now: datetime, viewer: Viewer | None,
             names: dict[str, str] | None = None) -> dict[str, Any]:
        tz = self.tz
        names = names or {}
        return {
            "id": row["id"], "hall": row["hall"],
            "channel": row["channel"], "channel_zh": domain.CHANNELS[row["channel"]],
            "category": row["category"], "category_zh": domain.CATEGORIES[row["category"]],
            "content": row["content"], "window": row["window_no"],
            "staff_id": row["staff_id"], "staff_name": names.get(row["staff_id"] or ""),
            "contact": domain.contact_for(viewer, row["owner"], row["contact"]),
            "has_contact": row["contact"] is not None, "contact_erased": row["contact_erased_at"] is not None,
            "state": row["state"], "state_zh": domain.STATES[row["state"]],
            "step_zh": domain.STEP_ZH.get(row["state"]),
            "owner": row["owner"], "owner_name": names.get(row["owner"] or ""),
            "assignee": row["assignee"], "assignee_name": names.get(row["assignee"] or ""),
            "due": views.iso(row["due"], tz), "overdue": domain.overdue(row["state"], row["due"], now),
            "decline_reason": row["decline_reason"], "findings": row["findings"], "measures": row["measures"],
            "reply_how": row["reply_how"], "reply_how_zh": domain.REPLY_HOW.get(row["reply_how"] or ""),
            "replied_at": views.iso(row["replied_at"], tz), "answer": row["answer"],
            "rating": row["rating"], "rating_zh": domain.RATINGS.get(row["rating"] or ""),
            "created_at": views.iso(row["created_at"], tz), "created_by": row["created_by"],
            "closed_at": views.iso(row["closed_at"], tz),
            "steps": row["steps"],
        }

    def public_view(self, row: dict[str, Any]) -> dict[str, Any]:
        """What the complainant sees by the private link: no staff names, the contact masked."""
        tz = self.tz
        hall = self.config.halls[row["hall"]]
        return {
            "hall": row["hall"], "hall_name": hall.name,
            "category": row["category"], "category_zh": domain.CATEGORIES[row["category"]],
            "content": row["content"], "contact": domain.mask_phone(row["contact"]),
            "state": row["state"], "state_zh": domain.STATES[row["state"]],
            "created_at": views.iso(row["created_at"], tz),
            "steps": [{"action": s["action"], "action_zh": s["action_zh"], "at": s["at"]} for s in row["steps"]],
            "decline_reason": row["decline_reason"],
            "reply_how_zh": domain.REPLY_HOW.get(row["reply_how"] or ""),
            "replied_at": views.iso(row["replied_at"], tz), "answer": row["answer"],
            "rateable": row["rating"] is None and row["state"] in domain.RATEABLE,
            "rating": row["rating"], "rating_zh": domain.RATINGS.get(row["rating"] or ""),
        }

    # ---- retention ----------------------------------------------------------------------

    async def erase_contacts(self) -> dict[str, int]:
        """Erase the contact phone of every complaint closed longer than the retention period
        ago; the steps stay, and each erasure is a ledger event. Per hall: how many."""
        keep = timedelta(days=self.config.complaints.contact_retention_days)
        erased: dict[str, int] = {}
        for hall_id in self.config.halls:
            found: dict[str, list[str]] = {}

            async def prepare(conn: Connection, now: datetime, hall_id: str = hall_id,
                              found: dict[str, list[str]] = found) -> None:
                found["ids"] = await self.store.erasable(conn, hall_id, now - keep)

            def apply(state: HallState, now: datetime, found: dict[str, list[str]] = found) -> Outcome:
                ids = found["ids"]
                events: list[tuple[Event, Ticket | None]] = [
                    (Event("complaint_contact_erased", None, None, {"complaint": i}), None) for i in ids]
                writes: list[Write] = [ComplaintContactErased(i, now) for i in ids]
                return Outcome({"erased": len(ids)}, events, writes=writes)

            result = await self.queue.execute(hall_id, apply, ERASER, prepare=prepare)
            erased[hall_id] = int(result.body["erased"])
        return erased


def _viewer(who: Principal) -> Viewer:
    return Viewer(who.id, who.role in MANAGERS)


def _require_fields(cmd: StepComplaint) -> None:
    if cmd.action == "decline" and cmd.reason is None:
        raise InvalidInput("input.reason_required", field="reason", action="不予受理")
    if cmd.action == "assign" and cmd.assignee is None:
        raise InvalidInput("input.missing_field", field="assignee")
    if cmd.action == "resolve":
        for name in ("findings", "measures"):
            if getattr(cmd, name) is None:
                raise InvalidInput("input.missing_field", field=name)
    if cmd.action == "reply":
        if cmd.how is None:
            raise InvalidInput("input.missing_field", field="how")
        if cmd.how not in domain.REPLY_HOW:
            raise InvalidInput("input.bad_choice", field="how", known=", ".join(domain.REPLY_HOW), got=cmd.how[:40])


def _step(action: str, state: str, who: Principal | None, now: datetime, due: datetime | None,
          text: str | None) -> dict[str, Any]:
    return {"action": action, "action_zh": domain.ACTIONS_ZH[action], "state": state,
            "by": who.id if who else None, "by_name": who.name if who else "投诉人",
            "at": now.isoformat(), "due": due.isoformat() if due else None, "text": text}
