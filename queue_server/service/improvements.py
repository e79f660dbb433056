"""Improvement actions (整改): opened by a hall's manager, reported done by their owner, verified
by another manager. Each step goes through the hall's command pipeline: read under the hall's
lock, the row and the ledger event written in one transaction, a retry with the same
Idempotency-Key answered once."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from ..config import Config
from ..domain.calendar import END_OF_DAY
from ..domain.errors import Forbidden, InvalidInput, NotFound, Refused
from ..domain.hall import HallState
from ..domain.improvements import ACTIONS, ACTIONS_ZH, SOURCES, STATES, Step, overdue
from ..domain.model import Event
from . import views
from .commands import OpenImprovement, StepImprovement
from .ports import Connection, Database, ImprovementStore
from .principal import Principal
from .queue import Outcome, QueueService, Result, command_fingerprint
from .writes import ImprovementInsert, ImprovementUpdate

MANAGERS = ("manager", "admin")


class ImprovementService:
    def __init__(self, config: Config, pool: Database, queue: QueueService, store: ImprovementStore) -> None:
        self.config = config
        self.pool = pool
        self.queue = queue
        self.store = store

    def view(self, row: dict[str, Any], now: datetime, *, names: dict[str, str] | None = None) -> dict[str, Any]:
        tz = self.config.timezone
        late = overdue(row["state"], row["due"], now)
        return {
            "id": row["id"], "hall": row["hall"],
            "source_kind": row["source_kind"], "source_zh": SOURCES[row["source_kind"]],
            "source_id": row["source_id"],
            "problem": row["problem"], "cause": row["cause"], "measure": row["measure"],
            "owner": row["owner"], "owner_name": (names or {}).get(row["owner"]),
            "due": row["due"].astimezone(tz).date().isoformat(),
            "state": row["state"], "state_zh": STATES[row["state"]],
            "evidence": row["evidence"], "done_at": views.iso(row["done_at"], tz),
            "verified_by": row["verified_by"], "verified_at": views.iso(row["verified_at"], tz),
            "created_by": row["created_by"], "created_at": views.iso(row["created_at"], tz),
            "steps": row["steps"], "overdue": late,
        }

    async def open(self, hall_id: str, manager: Principal, cmd: OpenImprovement, key: str | None) -> Result:
        manager.require_role(hall_id, *MANAGERS)
        if cmd.source_kind not in SOURCES:
            raise InvalidInput("input.bad_choice", field="source_kind", known=", ".join(SOURCES),
                               got=cmd.source_kind[:40])
        if cmd.source_kind != "inspection" and cmd.source_id is None:
            raise InvalidInput("input.improvement_source", field="source_id",
                               source_zh=SOURCES[cmd.source_kind])
        tz = self.config.timezone
        due_day = date.fromisoformat(cmd.due)
        due = datetime.combine(due_day, END_OF_DAY, tzinfo=tz)
        found: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            today = now.astimezone(tz).date()
            if due_day < today:
                raise InvalidInput("input.improvement_due_past", field="due", due=cmd.due, today=today.isoformat())
            owner = await self.store.active_staff(conn, cmd.owner, hall_id)
            if owner is None:
                raise InvalidInput("input.improvement_owner_unknown", field="owner", hall=hall_id,
                                   owner=cmd.owner[:40])
            found["owner_name"] = owner["name"]
            if cmd.source_id is not None:
                exists = await self.store.source_exists(conn, cmd.source_kind, cmd.source_id, hall_id)
                if exists is False:
                    raise InvalidInput("input.improvement_source_unknown", field="source_id", hall=hall_id,
                                       source_zh=SOURCES[cmd.source_kind], source_id=cmd.source_id[:40])

        def apply(state: HallState, now: datetime) -> Outcome:
            improvement_id = "im_" + secrets.token_urlsafe(9)
            steps = [_step("open", manager, now, None)]
            row = {
                "id": improvement_id, "hall": hall_id, "source_kind": cmd.source_kind, "source_id": cmd.source_id,
                "problem": cmd.problem, "cause": cmd.cause, "measure": cmd.measure, "owner": cmd.owner,
                "due": due, "state": "open", "evidence": None, "done_at": None, "verified_by": None,
                "verified_at": None, "created_by": manager.id, "created_at": now, "steps": steps,
            }
            event = Event("improvement_opened", None, None, {
                "improvement": improvement_id, "source_kind": cmd.source_kind, "source_id": cmd.source_id,
                "problem": cmd.problem, "cause": cmd.cause, "measure": cmd.measure, "owner": cmd.owner,
                "due": cmd.due})
            write = ImprovementInsert(improvement_id, hall_id, cmd.source_kind, cmd.source_id, cmd.problem,
                                      cmd.cause, cmd.measure, cmd.owner, due, manager.id, now, steps)
            body = self.view(row, now, names={cmd.owner: found["owner_name"]})
            return Outcome(body, [(event, None)], writes=[write], created=True)

        return await self.queue.execute(hall_id, apply, manager.actor, key=key,
                                        fingerprint=command_fingerprint(manager, cmd), prepare=prepare)

    async def step(self, hall_id: str, who: Principal, cmd: StepImprovement, key: str | None) -> Result:
        """done (the owner or a manager, with evidence), verify (a manager other than the owner),
        reopen (a manager, with the reason)."""
        who.require_hall(hall_id)
        if cmd.action not in ACTIONS:
            raise InvalidInput("input.bad_choice", field="action", known=", ".join(ACTIONS), got=cmd.action[:40])
        if cmd.action == "done" and cmd.text is None:
            raise InvalidInput("input.missing_field", field="evidence")
        if cmd.action == "reopen" and cmd.text is None:
            raise InvalidInput("input.reason_required", field="reason", action="退回重改")
        if cmd.action != "done" and who.role not in MANAGERS:
            raise Forbidden("auth.role", who=f"{who.kind} {who.id}", role=who.role, roles=", ".join(MANAGERS))
        found: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            row = await self.store.improvement(conn, cmd.improvement)
            if row is None or row["hall"] != hall_id:
                raise NotFound("improvement.unknown", hall=hall_id, improvement=cmd.improvement[:40])
            if cmd.action == "done" and who.role not in MANAGERS and who.id != row["owner"]:
                raise Forbidden("improvement.not_owner", owner=row["owner"])
            Step(cmd.action, row["state"]).next_state(row["id"])  # refuse early, before the lock's apply
            if cmd.action == "verify" and who.id == row["owner"]:
                raise Refused("improvement.self_verify", owner=row["owner"])
            found["row"] = row

        def apply(state: HallState, now: datetime) -> Outcome:
            row = dict(found["row"])
            row["state"] = Step(cmd.action, row["state"]).next_state(row["id"])
            row["steps"] = [*row["steps"], _step(cmd.action, who, now, cmd.text)]
            if cmd.action == "done":
                row.update(evidence=cmd.text, done_at=now)
            elif cmd.action == "verify":
                row.update(verified_by=who.id, verified_at=now)
            else:  # reopen: the evidence stays in the steps; the action is worked on again
                row.update(done_at=None)
            event = Event("improvement_" + {"done": "done", "verify": "verified", "reopen": "reopened"}[cmd.action],
                          None, None, {"improvement": row["id"], "text": cmd.text})
            write = ImprovementUpdate(row["id"], row["state"], row["steps"], row["evidence"], row["done_at"],
                                      row["verified_by"], row["verified_at"])
            return Outcome(self.view(row, now), [(event, None)], writes=[write])

        return await self.queue.execute(hall_id, apply, who.actor, key=key,
                                        fingerprint=command_fingerprint(who, cmd), prepare=prepare)

    async def worklist(self, hall_id: str, who: Principal, state: str | None, overdue_only: bool) -> list[dict[str, Any]]:
        """A manager sees the hall's actions; a clerk only those they own."""
        self.queue.hall(hall_id)
        who.require_hall(hall_id)
        if state is not None and state not in STATES:
            raise InvalidInput("input.bad_choice", field="state", known=", ".join(STATES), got=state[:40])
        now = self.queue.clock()
        async with self.pool.acquire() as conn:
            rows = await self.store.improvements(conn, hall_id, state)
            names = await self.store.staff_names(conn, {r["owner"] for r in rows})
        if who.role not in MANAGERS:
            rows = [r for r in rows if r["owner"] == who.id]
        found = [self.view(r, now, names=names) for r in rows]
        found = [v for v in found if v["overdue"]] if overdue_only else found
        # Most urgent first: overdue, then open by due day, then awaiting verification, then done.
        order = {"open": 0, "done": 1, "verified": 2}
        return sorted(found, key=lambda v: (not v["overdue"], order[v["state"]], v["due"]))

    async def month(self, halls: list[str], first: date, last: date) -> list[dict[str, Any]]:
        """The actions the monthly report lists: opened by the month's end and not verified before
        it began; with whether each was overdue at the month's end (or now, if earlier)."""
        tz = self.config.timezone
        start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(last, END_OF_DAY, tzinfo=tz)
        now = min(self.queue.clock(), end)
        async with self.pool.acquire() as conn:
            rows = await self.store.month_actions(conn, halls, start, end)
            names = await self.store.staff_names(conn, {r["owner"] for r in rows})
        found = []
        for r in rows:
            # As the month's end saw it: verified or reported done later is still open then.
            as_then = dict(r)
            if r["verified_at"] is not None and r["verified_at"] > end:
                as_then.update(state="done" if r["done_at"] is not None and r["done_at"] <= end else "open",
                               verified_at=None, verified_by=None)
            if as_then["state"] == "done" and r["done_at"] is not None and r["done_at"] > end:
                as_then["state"] = "open"
            found.append(self.view(as_then, now, names=names))
        return found


def _step(action: str, who: Principal, now: datetime, text: str | None) -> dict[str, Any]:
    return {"action": action, "action_zh": ACTIONS_ZH[action], "by": who.id, "by_name": who.name,
            "at": now.isoformat(), "text": text}
