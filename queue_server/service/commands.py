"""The hall's commands as typed values: the web parses a request into one of these, the
service hands it to its handler (service/handlers.py) by its class.

A command carries only what the caller said (already checked as input); whether the hall's
state allows it is the domain's decision when the handler runs under the hall's lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.notices import Notice


@dataclass(frozen=True)
class OpenWindow:
    window: int
    stand_in_for: str | None = None


@dataclass(frozen=True)
class CloseWindow:
    window: int


@dataclass(frozen=True)
class PauseWindow:
    window: int
    reason: str


@dataclass(frozen=True)
class ResumeWindow:
    window: int


@dataclass(frozen=True)
class CallNext:
    window: int


@dataclass(frozen=True)
class CallNumber:
    """指定叫号: one waiting ticket out of order, with the reason."""

    window: int
    number: str
    reason: str


@dataclass(frozen=True)
class Recall:
    window: int


@dataclass(frozen=True)
class Start:
    window: int


@dataclass(frozen=True)
class Finish:
    window: int


@dataclass(frozen=True)
class Miss:
    window: int


@dataclass(frozen=True)
class Transfer:
    window: int
    reason: str
    service: str | None = None
    to_window: int | None = None


@dataclass(frozen=True)
class SetMessage:
    window: int
    text: str | None


@dataclass(frozen=True)
class Suspend:
    window: int
    reason: str


WindowCommand = (
    OpenWindow | CloseWindow | PauseWindow | ResumeWindow | CallNext | CallNumber | Recall | Start
    | Finish | Miss | Transfer | SetMessage | Suspend
)

#: The URL action of each window command (POST …/windows/{n}/{action}) and the name the clerk's
#: console knows it by in the window view's `actions`.
WINDOW_ACTIONS: dict[str, type[WindowCommand]] = {
    "open": OpenWindow, "close": CloseWindow, "pause": PauseWindow, "resume": ResumeWindow,
    "call-next": CallNext, "call": CallNumber, "recall": Recall, "start": Start, "finish": Finish,
    "miss": Miss, "transfer": Transfer, "message": SetMessage, "suspend": Suspend,
}


@dataclass(frozen=True)
class IssueTicket:
    service: str
    channel: str
    priority: str | None = None
    priority_reason: str | None = None
    print_kiosk: str | None = None


@dataclass(frozen=True)
class RestoreTicket:
    number: str
    reason: str | None = None


@dataclass(frozen=True)
class CancelTicket:
    """Staff cancel by number; the citizen (who proved the holder's secret) by ticket id."""

    number: str | None = None
    ticket_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PostNotices:
    """Replace the hall's notices; `version`: the one the editor read (None: replace whatever)."""

    notices: tuple[Notice, ...]
    version: int | None = None


TicketCommand = RestoreTicket | CancelTicket
Command = WindowCommand | IssueTicket | RestoreTicket | CancelTicket


# ---- ratings (好差评) and their follow-ups: parsed in web/commands.py -------------------


@dataclass(frozen=True)
class RateService:
    """One rating of a finished service: `level` 5 (非常满意) … 1 (非常不满意)."""

    level: int
    dimensions: dict[str, str]
    labels: tuple[str, ...]
    channel: str  # "phone" or "tablet"
    number: str | None = None  # the tablet names the ticket by number; the phone by its secret


@dataclass(frozen=True)
class RateFollowUp:
    """The citizen's one follow-up rating (追评) after a bad rating was handled."""

    level: int


@dataclass(frozen=True)
class OpenImprovement:
    """A manager opens an improvement action (整改); `due` is the last day (inclusive)."""

    source_kind: str
    source_id: str | None
    problem: str
    cause: str | None
    measure: str
    owner: str
    due: str  # YYYY-MM-DD, checked by the web layer


@dataclass(frozen=True)
class StartSurvey:
    """A manager starts a survey campaign: a questionnaire of config, from `starts` to `ends`
    (days, inclusive), sampling every `every`-th finished visit (1: everyone)."""

    questionnaire: str
    starts: str  # YYYY-MM-DD, checked by the web layer
    ends: str
    every: int


@dataclass(frozen=True)
class EndSurvey:
    """A manager ends a survey campaign early."""

    campaign: str


@dataclass(frozen=True)
class SurveyVisit:
    """Whose answer a request is (an answer's idempotency fingerprint: never the answers, which
    would tie them to the visit)."""

    ticket_id: str
    channel: str


@dataclass(frozen=True)
class AnswerSurvey:
    """A sampled visit's citizen answers (raw answers: checked against the campaign's questions)."""

    answers: Any
    channel: str  # phone, tablet


@dataclass(frozen=True)
class StepImprovement:
    """done (with evidence), verify, or reopen (with the reason) an improvement action."""

    improvement: str
    action: str
    text: str | None


@dataclass(frozen=True)
class SubmitComplaint:
    """A complaint (投诉) as taken in: from a visit's phone page, the hall's poster page, or by a
    manager (phone, in person; `window` and `staff_id` name whom it is about when known)."""

    channel: str
    category: str
    content: str
    contact_phone: str | None  # only with the complainant's consent
    window: int | None = None
    staff_id: str | None = None


@dataclass(frozen=True)
class StepComplaint:
    """A step of a complaint's flow; each action takes its own fields (None when not its own)."""

    complaint: str
    action: str  # accept | decline | assign | resolve | reply | archive
    reason: str | None = None  # decline
    assignee: str | None = None  # assign
    findings: str | None = None  # resolve
    measures: str | None = None  # resolve
    how: str | None = None  # reply: phone | sms | in_person | letter
    replied_at: str | None = None  # reply: ISO 8601 instant, default now
    answer: str | None = None  # reply: what the complainant was told
    note: str | None = None  # accept, archive


@dataclass(frozen=True)
class RateComplaint:
    """The complainant's one rating of how the complaint was handled."""

    rating: str  # satisfied | dissatisfied


@dataclass(frozen=True)
class UpdateFollowUp:
    """A manager's step on a bad rating's follow-up: call_back (how the citizen was reached and
    what came of it, both required) → rectify (the measures taken, required) → close."""

    follow_up: str
    action: str
    note: str | None
    method: str | None = None  # call_back: a code of CALL_METHODS (service/ratings.py)
    result: str | None = None  # call_back
    measures: str | None = None  # rectify


@dataclass(frozen=True)
class PairDevice:
    """A manager enters the code a device shows and says what the device is to be."""

    code: str
    name: str
    role: str | None
    window: int | None
    kiosk: str | None


@dataclass(frozen=True)
class ChangeDevice:
    """rename (name), move (window or kiosk) or revoke a device."""

    device: int
    action: str
    name: str | None = None
    window: int | None = None
    kiosk: str | None = None
