"""The alert rules (domain/alerts.py) on a small hall, time and device states given."""

from __future__ import annotations

from datetime import timedelta

from queue_server.domain.alerts import Alert, Device, Thresholds, conditions, diff
from tests.unit.small_hall import MONDAY_10AM, at, issue_many, new_state, open_windows

LIMITS = Thresholds(pause_minutes=15, idle_minutes=5, screen_minutes=2)


def keys(state, now, devices=(), *, open_hours=True) -> dict[str, str]:
    return {k: a.severity for k, a in conditions(state, now, LIMITS, devices, open_hours=open_hours).items()}


def test_a_services_oldest_wait_warns_at_its_warn_minutes_and_alarms_at_its_alarm_minutes():
    state = new_state()
    issue_many(state, "A", 2)  # A: warn 15, alarm 30
    issue_many(state, "C", 1)  # C: warn 10, alarm 20
    assert keys(state, at(9, 59)) == {}
    assert keys(state, at(10)) == {"wait:C": "warning"}
    assert keys(state, at(15)) == {"wait:A": "warning", "wait:C": "warning"}
    assert keys(state, at(20)) == {"wait:A": "warning", "wait:C": "alarm"}
    assert keys(state, at(30)) == {"wait:A": "alarm", "wait:C": "alarm"}
    alert = conditions(state, at(31), LIMITS, (), open_hours=True)["wait:A"]
    assert alert.detail["minutes"] == 31 and alert.since == at(15)


def test_a_paused_window_alerts_after_pause_minutes_and_an_idle_one_only_if_its_own_services_wait():
    state = new_state()
    open_windows(state, 1, 3)
    state.pause_window(1, "培训", at(0))
    assert keys(state, at(14, 59)) == {}
    assert keys(state, at(15)) == {"window_paused:1": "warning"}
    state.resume_window(1, at(15))
    issue_many(state, "C", 1, start=15)  # window 3 serves C; window 1 does not
    assert keys(state, at(19, 59)) == {}
    assert keys(state, at(20)) == {"window_idle:3": "warning"}


def test_printers_and_screens_alert_by_their_last_state_and_a_silent_presence_counts_as_gone():
    state = new_state()
    now = at(0)
    printer = lambda **s: Device("P1", "printer", {"online": True, **s}, now - timedelta(minutes=1), "K1")  # noqa: E731
    assert keys(state, now, [printer()]) == {}
    assert keys(state, now, [printer(paper_near_end=True)]) == {"printer_paper:P1": "warning"}
    assert keys(state, now, [printer(paper_out=True)]) == {"printer_paper:P1": "alarm"}
    assert keys(state, now, [printer(online=False, paper_out=True)]) == {"printer_offline:P1": "alarm"}
    gone = Device("S1", "display", {"connected": False}, now - timedelta(minutes=2))
    assert keys(state, now, [gone]) == {"screen_offline:S1": "warning"}
    assert keys(state, now, [gone], open_hours=False) == {}
    blip = Device("S1", "display", {"connected": False}, now - timedelta(seconds=119))
    assert keys(state, now, [blip]) == {}
    alive = Device("S1", "display", {"connected": True}, now - timedelta(seconds=170))
    assert keys(state, now, [alive]) == {}
    silent = Device("S1", "display", {"connected": True}, now - timedelta(minutes=3))  # its process died
    assert keys(state, now, [silent]) == {"screen_offline:S1": "warning"}


def test_a_change_is_raised_once_escalated_upwards_only_and_a_bad_rating_never_cleared_by_a_sweep():
    warn = Alert("wait:A", "wait", "warning", MONDAY_10AM)
    alarm = Alert("wait:A", "wait", "alarm", MONDAY_10AM)
    assert [(c.action, c.alert.key) for c in diff({}, {"wait:A": warn})] == [("raised", "wait:A")]
    assert diff({"wait:A": ("al_1", "wait", "warning")}, {"wait:A": warn}) == []
    assert [(c.action, c.alert_id) for c in diff({"wait:A": ("al_1", "wait", "warning")}, {"wait:A": alarm})] == [
        ("escalated", "al_1")]
    assert diff({"wait:A": ("al_1", "wait", "alarm")}, {"wait:A": warn}) == []  # never lowered in place
    assert [(c.action, c.alert_id) for c in diff({"wait:A": ("al_1", "wait", "alarm")}, {})] == [("cleared", "al_1")]
    assert diff({"bad_rating:t1": ("al_2", "bad_rating", "warning")}, {}) == []
