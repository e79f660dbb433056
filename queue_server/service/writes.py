"""Writes a command adds to its hall's transaction, as typed values.

The service decides *what* is written; the storage adapter (HallStore.apply_writes) decides
how (the SQL). They are applied after the batch's state and ledger rows are saved, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class PrintJobInsert:
    """A new print job for the kiosk's printer (a ticket just issued, or a reprint)."""

    job_id: str
    hall: str
    kiosk: str
    ticket_id: str
    content: dict[str, Any]
    created_at: datetime
    reprint_of: str | None = None


@dataclass(frozen=True, slots=True)
class AppointmentCheckIn:
    """A booking turned into the ticket just issued."""

    appointment_id: str
    ticket_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RatingInsert:
    ticket_id: str
    hall: str
    window: int | None
    staff_id: str | None
    level: int
    dimensions: dict[str, Any]
    labels: list[str]
    channel: str
    device: str | None
    rated_at: datetime


@dataclass(frozen=True, slots=True)
class FollowUpInsert:
    """The follow-up of a bad rating (inserted after the rating, which it refers to)."""

    follow_up_id: str
    hall: str
    ticket_id: str
    owner: str | None
    callback_due: datetime
    rectify_due: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FollowUpUpdate:
    """A follow-up moved to `status` (called_back, rectified or closed) at `at`."""

    follow_up_id: str
    status: str
    at: datetime
    notes: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class AlertInsert:
    """A newly raised alert (domain/alerts.py); at most one open per hall and key."""

    alert_id: str
    hall: str
    key: str
    kind: str
    severity: str
    since: datetime
    raised_at: datetime
    window: int | None
    service: str | None
    subject: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """An open alert escalated (severity), acknowledged (by, at) or cleared (at)."""

    alert_id: str
    action: str  # escalated | acknowledged | cleared
    at: datetime
    severity: str | None = None
    by: str | None = None
    by_name: str | None = None
    detail: dict[str, Any] | None = None  # escalated: what holds now


@dataclass(frozen=True, slots=True)
class ImprovementInsert:
    """A new improvement action (整改, domain/improvements.py)."""

    improvement_id: str
    hall: str
    source_kind: str
    source_id: str | None
    problem: str
    cause: str | None
    measure: str
    owner: str
    due: datetime
    created_by: str
    created_at: datetime
    steps: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ImprovementUpdate:
    """An improvement action after a step: its state and every column a step sets."""

    improvement_id: str
    state: str
    steps: list[dict[str, Any]]
    evidence: str | None
    done_at: datetime | None
    verified_by: str | None
    verified_at: datetime | None


@dataclass(frozen=True, slots=True)
class ComplaintInsert:
    """A complaint just received (投诉, domain/complaints.py)."""

    complaint_id: str
    hall: str
    secret: str
    channel: str
    category: str
    content: str
    ticket_id: str | None
    window: int | None
    staff_id: str | None
    contact: str | None
    due: datetime
    created_by: str | None
    created_at: datetime
    steps: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ComplaintUpdate:
    """A complaint after a step: its state and every column a step sets."""

    complaint_id: str
    state: str
    owner: str | None
    assignee: str | None
    due: datetime | None
    decline_reason: str | None
    findings: str | None
    measures: str | None
    reply_how: str | None
    replied_at: datetime | None
    answer: str | None
    closed_at: datetime | None
    steps: list[dict[str, Any]]
    expected_state: str  # the state the step was taken from (two steps in one batch: one fails)


@dataclass(frozen=True, slots=True)
class ComplaintRated:
    """The complainant's one rating of the handling."""

    complaint_id: str
    rating: str
    rated_at: datetime


@dataclass(frozen=True, slots=True)
class ComplaintContactErased:
    """The contact phone erased after the retention period; the steps stay."""

    complaint_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DeviceInsert:
    """A device a manager paired (its token's hash is the one the pairing was waiting with)."""

    device_id: int
    hall: str
    role: str
    kind: str
    name: str
    token_hash: bytes
    window: int | None
    kiosk: str | None
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class PairingDone:
    """The pairing used: its code is free again, its device known to the waiting page."""

    token_hash: bytes
    device_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    """A device renamed or moved to another window or kiosk."""

    device_id: int
    name: str
    window: int | None
    kiosk: str | None


@dataclass(frozen=True, slots=True)
class DeviceRevoke:
    device_id: int
    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class SurveyDraw:
    """A finished visit counted by the hall's running survey campaign, if any; sampled (invited)
    when the count is a multiple of the campaign's `every`. Counted in the finish's transaction,
    under the hall's lock: the Nth finish is the Nth across every server process."""

    hall: str
    ticket_id: str
    day: date


@dataclass(frozen=True, slots=True)
class SurveyCampaignInsert:
    campaign_id: str
    hall: str
    questionnaire: str
    title: str
    questions: list[dict[str, Any]]
    starts: date
    ends: date
    every: int
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SurveyCampaignEnd:
    campaign_id: str
    ended_by: str
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class SurveyAnswerInsert:
    """An anonymous answer; stored only if the visit's invitation was not yet answered (the
    same statement marks it answered)."""

    answer_id: str
    ticket_id: str
    hall: str
    service: str
    day: date
    channel: str
    answers: dict[str, Any]


Write = (
    PrintJobInsert | AppointmentCheckIn | RatingInsert | FollowUpInsert | FollowUpUpdate
    | AlertInsert | AlertUpdate | ImprovementInsert | ImprovementUpdate
    | ComplaintInsert | ComplaintUpdate | ComplaintRated | ComplaintContactErased
    | DeviceInsert | PairingDone | DeviceUpdate | DeviceRevoke
    | SurveyDraw | SurveyCampaignInsert | SurveyCampaignEnd | SurveyAnswerInsert
)
