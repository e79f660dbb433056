"""The screen's pure reducer: the seq rules of docs/protocol.md, with no I/O."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st
from screens_fakes import FakeHall

from display_client.state import (
    Announce,
    Board,
    SendResync,
    apply,
    apply_event,
    civility_moment,
)
from queue_server.protocol import Error, Event, Heartbeat, Snapshot, announcement


def _synced(hall: FakeHall, **filters) -> Board:
    board, actions = apply(Board(hall=hall.hall, **filters),
                           Snapshot(hall.snapshot["seq"], copy.deepcopy(hall.snapshot)))
    assert actions == []
    return board


def test_the_next_event_is_applied_and_a_call_is_announced() -> None:
    hall = FakeHall()
    board = _synced(hall)
    event = hall.call("A023", 1)
    board, actions = apply(board, Event(event["seq"], event))
    assert board.seq == 1 and board.synced
    assert board.snapshot == hall.snapshot
    assert actions == [Announce(1, announcement("A023", 1), "A023")]


def test_an_event_already_applied_is_ignored() -> None:
    hall = FakeHall()
    event = hall.call("A023", 1)
    board = _synced(hall)
    assert apply(board, Event(event["seq"], event)) == (board, [])


def test_a_gap_asks_for_one_resync_and_ignores_events_until_it_is_answered() -> None:
    hall = FakeHall()
    board = _synced(hall)
    hall.issue("A")
    second, third = hall.issue("A"), hall.call("A180", 1)
    board, actions = apply(board, Event(second["seq"], second))
    assert actions == [SendResync(0)]
    assert not board.synced
    board, actions = apply(board, Event(third["seq"], third))
    assert actions == [] and board.seq == 0
    for event in hall.ledger:  # the answer: everything after 0
        board, _ = apply(board, Event(event["seq"], event))
    assert board.synced and board.snapshot == hall.snapshot


def test_a_heartbeat_ahead_asks_for_a_resync_every_time() -> None:
    hall = FakeHall()
    board = _synced(hall)
    board, first = apply(board, Heartbeat(3, "2026-11-30T09:01:00+08:00"))
    board, again = apply(board, Heartbeat(3, "2026-11-30T09:01:10+08:00"))
    assert first == again == [SendResync(0)]


def test_a_heartbeat_at_the_boards_seq_clears_a_pending_resync() -> None:
    board = Board(hall="gongshu", seq=4, snapshot={"seq": 4}, resync_after=4)
    board, actions = apply(board, Heartbeat(4, "2026-11-30T09:01:00+08:00"))
    assert actions == [] and board.synced


def test_events_and_heartbeats_before_the_first_snapshot_are_ignored() -> None:
    hall = FakeHall()
    event = hall.call("A023", 1)
    board = Board(hall="gongshu")
    assert apply(board, Event(event["seq"], event)) == (board, [])
    assert apply(board, Heartbeat(9, "x")) == (board, [])
    assert apply(board, Error("too_slow", "x")) == (board, [])


def test_a_recall_moves_the_ticket_to_the_front_once() -> None:
    hall = FakeHall()
    hall.call("A023", 1)
    hall.call("B011", 2)
    recall = hall.call("A023", 1, calls=2)
    calls = hall.snapshot["recent_calls"]
    assert [(c["number"], c["calls"]) for c in calls] == [("A023", 2), ("B011", 1)]
    assert calls[0]["at"] == recall["at"]


def test_recent_calls_keep_the_ten_newest() -> None:
    hall = FakeHall()
    for n in range(15):
        hall.call(f"A{n:03d}", 1)
    assert [c["number"] for c in hall.snapshot["recent_calls"]] == \
        [f"A{n:03d}" for n in range(14, 4, -1)]


def test_notices_are_replaced_by_the_posted_list() -> None:
    hall = FakeHall()
    event = hall.post_notices(["今日午休 12:00-13:30"])
    assert apply_event(FakeHall().snapshot, event)["notices"] == ["今日午休 12:00-13:30"]


def test_an_area_screen_announces_only_its_own_windows_calls() -> None:
    hall = FakeHall()
    board = _synced(hall, area="social")
    business, social = hall.call("A023", 1), hall.call("C105", 5)
    board, actions = apply(board, Event(business["seq"], business))
    assert actions == [] and board.seq == business["seq"]  # still applied, just not said
    board, actions = apply(board, Event(social["seq"], social))
    assert actions == [Announce(social["seq"], announcement("C105", 5), "C105")]


def test_a_window_screen_announces_only_its_window() -> None:
    hall = FakeHall()
    board = _synced(hall, window=2)
    event = hall.call("A023", 1)
    assert apply(board, Event(event["seq"], event))[1] == []


def test_the_civility_moment_follows_the_window() -> None:
    hall = FakeHall()
    board = _synced(hall)
    assert civility_moment(board, 1) == "greeting"
    for event in (hall.call("A023", 1), hall.start_service(1)):
        board, _ = apply(board, Event(event["seq"], event))
    assert civility_moment(board, 1) == "serving"
    event = hall.finish(1)
    board, _ = apply(board, Event(event["seq"], event))
    assert civility_moment(board, 1) == "finished"
    assert civility_moment(board, 3) is None  # paused
    assert civility_moment(board, 6) is None  # closed


# -- properties ---------------------------------------------------------------------------

@st.composite
def hall_histories(draw) -> FakeHall:
    """A hall after a random run of calls, recalls, services, issues, pauses and notices."""
    hall = FakeHall()
    for _ in range(draw(st.integers(0, 40))):
        step = draw(st.sampled_from(["call", "recall", "serve", "finish", "issue", "notice",
                                     "pause"]))
        number = draw(st.sampled_from([1, 2, 5]))
        current = hall.window(number)["current"]
        if step == "call" and hall.window(number)["state"] == "open":
            service = hall.window(number)["services"][0]
            hall.call(f"{service}{draw(st.integers(1, 30)):03d}", number)
        elif step == "recall" and current and current["status"] == "called":
            hall.call(current["number"], number, calls=current["calls"] + 1)
        elif step == "serve" and current and current["status"] == "called":
            hall.start_service(number)
        elif step == "finish" and current and current["status"] == "serving":
            hall.finish(number)
        elif step == "issue":
            hall.issue(draw(st.sampled_from("ABCDE")))
        elif step == "notice":
            hall.post_notices(draw(st.lists(st.sampled_from(["请排队", "午休"]), max_size=2)))
        elif step == "pause" and number == 2 and hall.window(2)["state"] == "open":
            hall.pause(2, "临时离开")
    return hall


@settings(max_examples=150, deadline=None)
@given(hall_histories(), st.data())
def test_any_messages_with_gaps_then_a_snapshot_end_equal_to_that_snapshot(hall, data) -> None:
    start = FakeHall().snapshot
    board, _ = apply(Board(hall="gongshu"), Snapshot(0, copy.deepcopy(start)))
    events = hall.ledger
    messages = data.draw(st.lists(st.one_of(
        st.sampled_from(events).map(lambda e: Event(e["seq"], e)) if events else st.nothing(),
        st.integers(0, 60).map(lambda s: Heartbeat(s, "2026-11-30T09:00:00+08:00")),
        st.just(Error("too_slow", "x")),
    ), max_size=60))
    for message in messages:
        board, _ = apply(board, message)
    final = Snapshot(hall.snapshot["seq"], copy.deepcopy(hall.snapshot))
    board, actions = apply(board, final)
    assert board.snapshot == hall.snapshot
    assert board.seq == hall.snapshot["seq"]
    assert board.synced and actions == []


@settings(max_examples=150, deadline=None)
@given(hall_histories(), st.data())
def test_events_in_any_order_with_resync_answers_converge_to_the_halls_snapshot(
        hall, data) -> None:
    """Whatever order, duplicates or losses the stream has, answering each resync with the
    ledger after the board's seq brings the board to the hall's snapshot."""
    board, _ = apply(Board(hall="gongshu"), Snapshot(0, copy.deepcopy(FakeHall().snapshot)))
    events = hall.ledger
    stream = data.draw(st.lists(st.sampled_from(events), max_size=80)) if events else []
    pending: list[int] = []
    for event in stream + [None]:
        if event is not None:
            board, actions = apply(board, Event(event["seq"], event))
        else:  # the closing heartbeat every screen eventually hears
            board, actions = apply(board, Heartbeat(hall.snapshot["seq"], "x"))
        pending += [a.after for a in actions if isinstance(a, SendResync)]
        while pending:
            after = pending.pop(0)
            for missed in (e for e in events if e["seq"] > after):
                board, more = apply(board, Event(missed["seq"], missed))
                pending += [a.after for a in more if isinstance(a, SendResync)]
    assert board.seq == hall.snapshot["seq"]
    assert board.snapshot == hall.snapshot
