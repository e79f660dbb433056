"""A day in the life of window 1, every screen in headless Chromium at once: three tickets
are issued, a clerk signs in to the window on the staff console and calls, the hall screen
shows the call, the clerk serves and finishes, the counter tablet rates 不满意 with a reason
and a follow-up opens with its deadlines, and the phone page of the third ticket shows its
position falling and then the call banner. The ledger holds every step, in order, with the
clerk's staff number. Screenshots go to /tmp/people-day-*.png."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.people.conftest import CONSOLE, PASSWORD, PHONE, TABLET, base_url, ledger
from tests.support.hall import Hall

pytestmark = pytest.mark.browser

HALL_SCREEN = {"width": 1920, "height": 1080}


def text_is(selector: str, text: str) -> str:
    return f"document.querySelector({selector!r})?.textContent === {text!r}"


async def test_a_day_in_the_life_of_window_1(hall: Hall, new_page):
    base = base_url(hall)
    tickets = [await hall.issue("A") for _ in range(3)]
    third = tickets[2]

    screen = await new_page(HALL_SCREEN)
    await screen.goto(f"{base}/display/hall/gongshu?token={hall.tokens['D01']}")
    await screen.wait_for_function("window.hallQueue && window.hallQueue.board.seq !== null")

    phone = await new_page(PHONE, mobile=True)
    await phone.goto(f"{base}/t/{third['holder_secret']}")
    await phone.wait_for_function(text_is("#ahead", "2"))

    tablet = await new_page(TABLET)
    await tablet.goto(f"{base}/evaluate/gongshu/1?token={hall.tokens['E01']}")
    await tablet.wait_for_function(text_is("#idle-text", "本窗口暂未开放"))

    # The clerk signs in and takes window 1.
    clerk = await new_page(CONSOLE)
    await clerk.goto(f"{base}/staff")
    await clerk.fill("#staff-id", "1001")
    await clerk.fill("#password", PASSWORD)
    await clerk.click("#login-button")
    await clerk.click("#window-list [data-open='1']")
    await clerk.wait_for_function("window.hallQueue.state.queue?.waiting.length === 3")
    await tablet.wait_for_function(text_is(".staff-name", "张三"))

    # 叫号: the hall screen shows it, the phone's position falls.
    await clerk.click(".action-call-next")
    await clerk.wait_for_function(text_is("#current-number", "A001"))
    await screen.wait_for_function(text_is("#latest-number", "A001"))
    assert await screen.text_content("#latest-window") == "1"
    await phone.wait_for_function(text_is("#ahead", "1"))
    await screen.screenshot(path="/tmp/people-day-hall-screen.png")

    # 开始办理, 办结: the tablet asks; the citizen rates 不满意 with a reason.
    hall.clock.advance(60)
    await clerk.click(".action-start")
    await clerk.wait_for_function(text_is("#current-status", "办理中"))
    hall.clock.advance(8 * 60)
    await clerk.click(".action-finish")
    await clerk.wait_for_function("!document.getElementById('current-number')")
    await tablet.wait_for_selector("#prompt:not([hidden])")
    assert await tablet.text_content("#prompt-number") == "A001 号"
    await tablet.click(".rate-level[data-level='dissatisfied']")
    await tablet.click(".rate-label[data-label='服务态度不好']")
    await tablet.screenshot(path="/tmp/people-day-tablet.png")
    await tablet.click(".rate-submit")
    await tablet.wait_for_selector("#thanks:not([hidden])")

    # The bad rating opened a follow-up: call back within a working day, rectify within 15.
    resp = await hall.client.get("/api/v1/halls/gongshu/follow-ups", headers=hall.auth("9001"))
    assert resp.status == 200, await resp.text()
    (follow_up,) = (await resp.json())["follow_ups"]
    assert follow_up["number"] == "A001" and follow_up["window"] == 1
    assert follow_up["staff_id"] == "1001" and follow_up["level"] == "dissatisfied"
    assert follow_up["labels"] == ["服务态度不好"]
    assert follow_up["status"] == "open" and follow_up["overdue"] is False
    rated_at = hall.clock.now
    callback_due = datetime.fromisoformat(follow_up["callback_due"])
    rectify_due = datetime.fromisoformat(follow_up["rectify_due"])
    assert rated_at.isoweekday() == 1  # a Monday: the end of Tuesday, and three weeks later
    assert callback_due.date() == (rated_at + timedelta(days=1)).date() and callback_due.hour == 23
    assert rectify_due.date() == (rated_at + timedelta(days=21)).date() and rectify_due.hour == 23

    # The next two: the phone of the third sees its position fall, then its call.
    hall.clock.advance(60)
    await clerk.click(".action-call-next")
    await clerk.wait_for_function(text_is("#current-number", "A002"))
    await phone.wait_for_function(text_is("#ahead", "0"))
    await phone.screenshot(path="/tmp/people-day-phone-next.png")
    await clerk.click(".action-start")
    await clerk.wait_for_function(text_is("#current-status", "办理中"))
    hall.clock.advance(5 * 60)
    await clerk.click(".action-finish")
    await clerk.wait_for_function("!document.getElementById('current-number')")
    await clerk.click(".action-call-next")
    await clerk.wait_for_function(text_is("#current-number", "A003"))
    await phone.wait_for_selector("#called:not([hidden])")
    assert await phone.text_content(".called-window") == "1 号窗口"
    assert await phone.evaluate("window.hallQueue.state.vibrations.length") == 1
    await screen.wait_for_function(text_is("#latest-number", "A003"))
    await phone.screenshot(path="/tmp/people-day-phone-called.png")
    await clerk.screenshot(path="/tmp/people-day-console.png")

    # The ledger: every step, in order, each by the clerk's staff number where a clerk acted.
    events = await ledger(hall)
    day = [e for e in events if e["seq"] > next(
        e["seq"] for e in events if e["kind"] == "ticket_issued") - 1]
    steps = [(e["kind"], e["ticket"], e["actor"]["id"]) for e in day]
    assert steps == [
        ("ticket_issued", "A001", "K01"),
        ("ticket_issued", "A002", "K01"),
        ("ticket_issued", "A003", "K01"),
        ("staff_signed_in", None, "1001"),
        ("window_opened", None, "1001"),
        ("ticket_called", "A001", "1001"),
        ("service_started", "A001", "1001"),
        ("ticket_finished", "A001", "1001"),
        ("ticket_rated", "A001", "E01"),
        ("follow_up_opened", "A001", "E01"),
        ("alert_raised", "A001", "E01"),  # the managers' console hears of the bad rating
        ("ticket_called", "A002", "1001"),
        ("service_started", "A002", "1001"),
        ("ticket_finished", "A002", "1001"),
        ("ticket_called", "A003", "1001"),
    ]
    rated = next(e for e in day if e["kind"] == "ticket_rated")
    assert rated["payload"]["staff_id"] == "1001" and rated["payload"]["level"] == "dissatisfied"
    assert all(e["window"] == 1 for e in day[4:])
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
