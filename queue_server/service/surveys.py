"""Satisfaction surveys (满意度调查): a hall manager's campaigns, the sampling of finished visits,
the citizen's one anonymous answer, and the results per hall, service and period.

Starting and ending a campaign, and each answer, go through the hall's command pipeline: checked
under the hall's lock, the row and the ledger event written in one transaction, a retry with the
same Idempotency-Key answered once. The sampling is a write the finish itself adds (`draw`), so
it is counted in the finish's transaction.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

from ..config import Config
from ..domain import surveys as rules
from ..domain.errors import InvalidInput, NotFound, Refused
from ..domain.hall import HallState
from ..domain.model import Actor, Event, Ticket, TicketNumber
from . import views
from .commands import AnswerSurvey, EndSurvey, StartSurvey, SurveyVisit
from .ports import Connection, Database, SurveyStore
from .principal import Principal
from .queue import Outcome, QueueService, Result, command_fingerprint
from .writes import SurveyAnswerInsert, SurveyCampaignEnd, SurveyCampaignInsert, SurveyDraw, Write

MANAGERS = ("manager", "admin")
ANSWER_HOURS = 24  # a sampled visit may be answered this long after it finished
MAX_EVERY = 1000
#: The anonymous citizen of the ledger: an answer's row names no ticket.
CITIZEN = Actor("citizen", "anonymous", "", "citizen")


class _BatchClaims:
    """What earlier commands of the hall's current batch claimed (a campaign's days, a visit's
    answer): their writes land only when the batch commits, so a later command of the same batch
    would not see them in the store. A batch is known by its hall and its `now`."""

    def __init__(self) -> None:
        self._batch: tuple[str, datetime] | None = None
        self._claims: list[Any] = []

    def of(self, hall: str, now: datetime) -> list[Any]:
        if self._batch != (hall, now):
            self._batch, self._claims = (hall, now), []
        return self._claims


class SurveyService:
    def __init__(self, config: Config, pool: Database, queue: QueueService, store: SurveyStore) -> None:
        self.config = config
        self.pool = pool
        self.queue = queue
        self.store = store
        self._claims = _BatchClaims()

    # ---- sampling ---------------------------------------------------------------------

    def draw(self, ticket: Ticket, now: datetime) -> list[Write]:
        """The write a finish adds: the hall's running campaign counts it, and invites it when
        its turn comes (service/queue.py calls this for every finished ticket)."""
        return [SurveyDraw(ticket.hall, ticket.id, ticket.business_day)]

    # ---- campaigns --------------------------------------------------------------------

    def questionnaires(self) -> list[dict[str, Any]]:
        return [q.as_dict() for q in self.config.surveys.values()]

    def view(self, row: dict[str, Any], today: date) -> dict[str, Any]:
        tz = self.config.timezone
        status = rules.campaign_status(row["state"], row["starts"], row["ends"], today)
        answered = row.get("answered_count")
        return {
            "id": row["id"], "hall": row["hall"], "questionnaire": row["questionnaire"], "title": row["title"],
            "starts": row["starts"].isoformat(), "ends": row["ends"].isoformat(), "every": row["every"],
            "rule_zh": "全部办结群众" if row["every"] == 1 else f"每 {row['every']} 位办结群众抽 1 位",
            "status": status, "status_zh": rules.STATUS_ZH[status],
            "finished_count": row["finished_count"], "sampled_count": row["sampled_count"],
            "answered_count": None if answered is None else int(answered),
            "created_by": row["created_by"], "created_at": views.iso(row["created_at"], tz),
            "ended_by": row["ended_by"], "ended_at": views.iso(row["ended_at"], tz),
        }

    async def campaigns(self, hall_id: str, who: Principal) -> dict[str, Any]:
        self.queue.hall(hall_id)
        who.require_role(hall_id, *MANAGERS)
        today = self.queue.today()
        async with self.pool.acquire() as conn:
            rows = await self.store.campaigns(conn, hall_id)
        return {"hall": hall_id, "today": today.isoformat(), "questionnaires": self.questionnaires(),
                "campaigns": [self.view(r, today) for r in rows]}

    async def start(self, hall_id: str, manager: Principal, cmd: StartSurvey, key: str | None) -> Result:
        manager.require_role(hall_id, *MANAGERS)
        questionnaire = self.config.surveys.get(cmd.questionnaire)
        if questionnaire is None:
            raise InvalidInput("input.survey_unknown", field="questionnaire", questionnaire=cmd.questionnaire[:40],
                               known=", ".join(self.config.surveys) or "无")
        starts, ends = date.fromisoformat(cmd.starts), date.fromisoformat(cmd.ends)
        if ends < starts:
            raise InvalidInput("input.survey_dates", field="ends", starts=cmd.starts, ends=cmd.ends)
        if not 1 <= cmd.every <= MAX_EVERY:
            raise InvalidInput("input.bad_number", field="every", low=1, high=MAX_EVERY, got=cmd.every)

        async def prepare(conn: Connection, now: datetime) -> None:
            today = self.queue.today(now)
            if ends < today:
                raise InvalidInput("input.survey_ends_past", field="ends", ends=cmd.ends, today=today.isoformat())
            other = await self.store.overlapping(conn, hall_id, starts, ends)
            if other is None:
                other = next((c for c in self._claims.of(hall_id, now)
                              if isinstance(c, dict) and c["starts"] <= ends and c["ends"] >= starts), None)
            if other is not None:
                raise Refused("survey.overlap", hall=hall_id, campaign=other["id"], campaign_title=other["title"],
                              starts=other["starts"].isoformat(), ends=other["ends"].isoformat(),
                              state="overlap")

        def apply(state: HallState, now: datetime) -> Outcome:
            campaign_id = "sv_" + secrets.token_urlsafe(9)
            questions = [q.as_dict() for q in questionnaire.questions]
            row = {
                "id": campaign_id, "hall": hall_id, "questionnaire": questionnaire.id, "title": questionnaire.title,
                "starts": starts, "ends": ends, "every": cmd.every, "finished_count": 0, "sampled_count": 0,
                "answered_count": 0, "state": "running", "created_by": manager.id, "created_at": now,
                "ended_by": None, "ended_at": None,
            }
            self._claims.of(hall_id, now).append(row)
            event = Event("survey_campaign_started", None, None, {
                "campaign": campaign_id, "questionnaire": questionnaire.id, "title": questionnaire.title,
                "starts": cmd.starts, "ends": cmd.ends, "every": cmd.every})
            write = SurveyCampaignInsert(campaign_id, hall_id, questionnaire.id, questionnaire.title, questions,
                                         starts, ends, cmd.every, manager.id, now)
            return Outcome(self.view(row, self.queue.today(now)), [(event, None)], writes=[write], created=True)

        return await self.queue.execute(hall_id, apply, manager.actor, key=key,
                                        fingerprint=command_fingerprint(manager, cmd), prepare=prepare)

    async def end(self, hall_id: str, manager: Principal, campaign_id: str, key: str | None) -> Result:
        """End a campaign early: no visit is sampled after; answers of visits already sampled
        are still taken."""
        manager.require_role(hall_id, *MANAGERS)
        found: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            row = await self.store.campaign(conn, campaign_id)
            if row is None or row["hall"] != hall_id:
                raise NotFound("survey.unknown_campaign", hall=hall_id, campaign=campaign_id[:40])
            status = rules.campaign_status(row["state"], row["starts"], row["ends"], self.queue.today(now))
            if status in ("ended", "over") or ("end", campaign_id) in self._claims.of(hall_id, now):
                status = "ended" if status != "over" else status
                raise Refused("survey.already_ended", campaign=campaign_id, state=status,
                              state_zh=rules.STATUS_ZH[status])
            found["row"] = row

        def apply(state: HallState, now: datetime) -> Outcome:
            row = {**found["row"], "state": "ended", "ended_by": manager.id, "ended_at": now}
            self._claims.of(hall_id, now).append(("end", campaign_id))
            event = Event("survey_campaign_ended", None, None, {
                "campaign": campaign_id, "finished_count": row["finished_count"],
                "sampled_count": row["sampled_count"]})
            return Outcome(self.view(row, self.queue.today(now)), [(event, None)],
                           writes=[SurveyCampaignEnd(campaign_id, manager.id, now)])

        return await self.queue.execute(hall_id, apply, manager.actor, key=key,
                                        fingerprint=command_fingerprint(manager, EndSurvey(campaign_id)),
                                        prepare=prepare)

    # ---- the citizen ------------------------------------------------------------------

    def _form(self, inv: dict[str, Any]) -> dict[str, Any]:
        hall = self.config.halls.get(inv["hall"])
        service = hall.services.get(inv["service"]) if hall else None
        until = inv["finished_at"] + timedelta(hours=ANSWER_HOURS)
        return {"campaign": inv["campaign"], "title": inv["title"],
                "intro": (self.config.surveys[inv["questionnaire"]].intro
                          if inv["questionnaire"] in self.config.surveys else ""),
                "questions": inv["questions"], "service_name": service.name if service else inv["service"],
                "answer_until": views.iso(until, self.config.timezone)}

    async def invitation(self, ticket: Ticket) -> dict[str, Any]:
        """The survey the visit's citizen may answer now ({"survey": None} when none)."""
        async with self.pool.acquire() as conn:
            inv = await self.store.invitation(conn, ticket.id)
        if inv is None or inv["answered"] or inv["finished_at"] is None:
            return {"survey": None, "answered": bool(inv and inv["answered"])}
        if self.queue.clock() - inv["finished_at"] > timedelta(hours=ANSWER_HOURS):
            return {"survey": None, "answered": False}
        return {"survey": self._form(inv), "answered": False}

    async def answer(self, ticket_id: str, hall_id: str, cmd: AnswerSurvey, key: str | None) -> Result:
        """Store the visit's one anonymous answer; refused when not sampled, answered or late."""
        found: dict[str, Any] = {}

        async def prepare(conn: Connection, now: datetime) -> None:
            inv = await self.store.invitation(conn, ticket_id)
            if inv is None or inv["hall"] != hall_id or inv["finished_at"] is None:
                raise NotFound("survey.none")
            if inv["answered"] or ("answer", ticket_id) in self._claims.of(hall_id, now):
                raise Refused("survey.already_answered", state="answered")
            if now - inv["finished_at"] > timedelta(hours=ANSWER_HOURS):
                raise Refused("survey.expired", hours=ANSWER_HOURS, state="expired")
            questions = [rules.Question.from_dict(q) for q in inv["questions"]]
            found["answers"] = rules.check_answers(questions, cmd.answers)
            found["inv"] = inv

        def apply(state: HallState, now: datetime) -> Outcome:
            inv = found["inv"]
            self._claims.of(hall_id, now).append(("answer", ticket_id))
            write = SurveyAnswerInsert("sa_" + secrets.token_urlsafe(12), ticket_id, hall_id, inv["service"],
                                       inv["business_day"], cmd.channel, found["answers"])
            event = Event("survey_answered", None, None, {"campaign": inv["campaign"], "channel": cmd.channel})
            return Outcome({"answered": True, "campaign": inv["campaign"], "thanks": "感谢您参与满意度调查！"},
                           [(event, None)], writes=[write], created=True)

        # Keys of the one anonymous actor: namespaced by the visit, so two phones' keys never meet.
        key = f"{ticket_id}|{key}" if key is not None else None
        return await self.queue.execute(hall_id, apply, CITIZEN, key=key,
                                        fingerprint=command_fingerprint(None, SurveyVisit(ticket_id, cmd.channel)),
                                        prepare=prepare)

    async def window_visit(self, hall_id: str, window: int, number: str) -> Ticket:
        """A sampled visit finished at the window today, found by its number (the counter
        tablet's way in); NotFound unless sampled."""
        parsed = TicketNumber.parse(number)
        async with self.pool.acquire() as conn:
            row = await self.store.window_invitation(conn, hall_id, window, (parsed.prefix, parsed.seq),
                                                     self.queue.today())
            ticket = await self.queue.store.ticket_by_id(conn, row["id"]) if row is not None else None
        if ticket is None:
            raise NotFound("survey.none")
        return ticket

    # ---- results ----------------------------------------------------------------------

    async def results(self, hall_id: str, who: Principal, campaign_id: str | None, service: str | None,
                      first: date | None, last: date | None) -> dict[str, Any]:
        """Per question of the campaign's questionnaire: counts, mean, satisfied rate; per
        service and per day: answers and the mean score; the latest text answers."""
        hall = self.queue.hall(hall_id)
        who.require_role(hall_id, *MANAGERS)
        if campaign_id is None:
            raise InvalidInput("input.missing_field", field="campaign")
        if service is not None and service not in hall.services:
            raise InvalidInput("input.bad_choice", field="service", known=", ".join(hall.services), got=service[:40])
        if first is not None and last is not None and last < first:
            raise InvalidInput("input.survey_dates", field="to", starts=first.isoformat(), ends=last.isoformat())
        async with self.pool.acquire() as conn:
            row = await self.store.campaign(conn, campaign_id)
            if row is None or row["hall"] != hall_id:
                raise NotFound("survey.unknown_campaign", hall=hall_id, campaign=campaign_id[:40])
            answers = await self.store.answers(conn, campaign_id, service, first, last)
            sampled = await self.store.sampled(conn, campaign_id, service, first, last)
        questions = [rules.Question.from_dict(q) for q in row["questions"]]
        given = [a["answers"] for a in answers]
        names = {code: s.name for code, s in hall.services.items()}
        by_service: dict[str, list[dict[str, Any]]] = {}
        by_day: dict[date, list[dict[str, Any]]] = {}
        for a in answers:
            by_service.setdefault(a["service"], []).append(a["answers"])
            by_day.setdefault(a["day"], []).append(a["answers"])
        texts = [
            {"question": q.id, "day": a["day"].isoformat(), "service": a["service"],
             "service_name": names.get(a["service"], a["service"]), "text": a["answers"][q.id]}
            for a in reversed(answers) for q in questions if q.kind == "text" and q.id in a["answers"]
        ][: rules.TEXTS_SHOWN]
        return {
            "hall": hall_id, "hall_name": hall.name, "campaign": self.view({**row, "answered_count": None},
                                                                          self.queue.today()),
            "service": service, "service_name": names.get(service) if service else None,
            "from": first.isoformat() if first else None, "to": last.isoformat() if last else None,
            "sampled": sampled, "answered": len(answers),
            "response_rate": round(len(answers) / sampled, 4) if sampled else None,
            "mean_score": rules.mean_score(questions, given),
            "questions": rules.tally(questions, given),
            "by_service": [
                {"service": code, "service_name": names.get(code, code), "answered": len(items),
                 "mean_score": rules.mean_score(questions, items)}
                for code, items in sorted(by_service.items())
            ],
            "by_day": [
                {"day": day.isoformat(), "answered": len(items), "mean_score": rules.mean_score(questions, items)}
                for day, items in sorted(by_day.items())
            ],
            "texts": texts,
        }
