"""One complaint driven by random steps at random times: it moves only along the flow, a refused
step changes nothing, each state owes exactly its step by the calendar's deadline, and who may
see it and its contact follows the state and the owner."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from queue_server.domain import complaints
from queue_server.domain.calendar import WorkCalendar
from queue_server.domain.errors import Refused

TZ = ZoneInfo("Asia/Shanghai")
DAYS = {"accept_days": 1, "assign_days": 2, "resolve_days": 10, "reply_days": 2, "archive_days": 5}
CALENDAR = WorkCalendar.of({1, 2, 3, 4, 5}, holidays=[date(2027, 1, 1)], workdays=[date(2027, 1, 3)])
#: the oracle: the happy path in order, and where a decline may branch off
PATH = ["received", "accepted", "investigating", "resolved", "replied", "archived"]
STAFF = ["9001", "9002", "1001", "1002"]
MANAGERS = STAFF[:2]


class OneComplaint(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2026, 12, 28, 9, 0, tzinfo=TZ)  # the week of a holiday and a make-up day
        self.state = "received"
        self.owner: str | None = None
        self.assignee: str | None = None
        self.due = complaints.step_due(CALENDAR, "received", self.now, DAYS, TZ)
        self.named = "1001"
        self.contact = "13812345678"

    @rule(hours=st.integers(min_value=0, max_value=80))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule(action=st.sampled_from(sorted(complaints.ACTIONS)), by=st.sampled_from(STAFF))
    def step(self, action: str, by: str) -> None:
        if action == "accept" and by not in MANAGERS:
            by = MANAGERS[STAFF.index(by) % 2]
        before = (self.state, self.owner, self.assignee, self.due)
        expected = self._oracle(action)
        try:
            after = complaints.next_state(action, self.state, "cp_1")
        except Refused:
            assert expected is None, f"{action} from {self.state} was refused"
            assert (self.state, self.owner, self.assignee, self.due) == before
            return
        assert after == expected, (action, self.state, after)
        if action == "accept":
            self.owner = by  # a manager (the service refuses anyone else before the rule)
        if action == "assign":
            self.assignee = by
        self.state = after
        self.due = complaints.step_due(CALENDAR, after, self.now, DAYS, TZ)

    def _oracle(self, action: str) -> str | None:
        if action == "decline":
            return "declined" if self.state == "received" else None
        if self.state not in PATH or self.state == PATH[-1]:
            return None
        at = PATH.index(self.state)
        wanted = ["accept", "assign", "resolve", "reply", "archive"][at]
        return PATH[at + 1] if action == wanted else None

    @invariant()
    def a_closed_complaint_owes_nothing_and_an_open_one_its_step_by_the_end_of_a_working_day(self) -> None:
        if self.state in complaints.FINAL:
            assert self.due is None and not complaints.overdue(self.state, self.due, self.now)
            return
        assert self.due is not None
        local = self.due.astimezone(TZ)
        assert CALENDAR.is_working_day(local.date()) and (local.hour, local.minute) == (23, 59)
        assert complaints.overdue(self.state, self.due, self.now) == (self.now > self.due)

    @invariant()
    def the_named_staff_member_sees_it_only_once_accepted_and_never_its_contact(self) -> None:
        clerk = complaints.Viewer(self.named, manager=False)
        seen = complaints.may_see(clerk, self.state, self.named, self.assignee)
        accepted_path = self.state in PATH[1:]
        assert seen == (accepted_path or self.assignee == self.named)
        assert complaints.contact_for(clerk, self.owner, self.contact) is None

    @invariant()
    def the_contact_is_whole_only_for_the_owner(self) -> None:
        assert complaints.contact_for(None, self.owner, self.contact) == "138****5678"
        for who in MANAGERS:
            shown = complaints.contact_for(complaints.Viewer(who, manager=True), self.owner, self.contact)
            assert shown == (self.contact if who == self.owner else "138****5678")


OneComplaint.TestCase.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
test_one_complaint = OneComplaint.TestCase
