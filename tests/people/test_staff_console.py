"""The staff console (/staff) in headless Chromium against the whole app on PostgreSQL.
Screenshots go to /tmp/people-console-*.png."""

from __future__ import annotations

import pytest

from tests.people.conftest import CONSOLE, PASSWORD, base_url, kinds, ledger
from tests.support.hall import Hall

pytestmark = pytest.mark.browser

CURRENT_IS = "document.getElementById('current-number')?.textContent === {!r}"
NO_CURRENT = "!document.getElementById('current-number')"


async def sign_in(page, hall: Hall, staff_id: str = "1001") -> None:
    await page.goto(f"{base_url(hall)}/staff")
    await page.fill("#staff-id", staff_id)
    await page.fill("#password", PASSWORD)
    await page.click("#login-button")
    await page.wait_for_selector("#window-list [data-open]")


async def take_window(page, number: int) -> None:
    await page.click(f"#window-list [data-open='{number}']")
    await page.wait_for_selector("#console-screen:not([hidden])")
    await page.wait_for_function("window.hallQueue.state.queue !== null")


async def console(page, hall: Hall, window: int = 1) -> None:
    await sign_in(page, hall)
    await take_window(page, window)


async def bubble(page) -> str:
    await page.wait_for_selector("#bubble:not([hidden])")
    return (await page.text_content("#bubble")) or ""


async def waiting_numbers(page) -> list[str]:
    return await page.locator("#waiting tr td.number").all_text_contents()


async def settled(page) -> None:
    """Wait until no console request is in flight (keys pressed meanwhile are ignored)."""
    await page.wait_for_function("window.hallQueue.state.busy === null")


async def pick_reason(page, text: str) -> None:
    await page.click(f"#dialog .chip-option:has-text('{text}')")


async def confirm_dialog(page) -> None:
    """Click the dialog's OK and wait for it to close; a refusal fails with its text."""
    await page.click("#dialog-ok")
    try:
        await page.wait_for_selector("#dialog", state="hidden", timeout=5000)
    except Exception:
        error = await page.text_content("#dialog-error")
        raise AssertionError(f"the dialog stayed open: {error!r}") from None


async def test_a_clerk_signs_in_takes_a_window_and_works_a_ticket_with_the_number_keys(
        hall, new_page):
    await hall.issue("A")
    await hall.issue("A")
    page = await new_page(CONSOLE)
    await sign_in(page, hall)
    await page.screenshot(path="/tmp/people-console-windows.png")
    await take_window(page, 1)
    assert await page.text_content("#window-title") == "1 号窗口"
    assert await page.text_content("#window-state") == "在岗"
    assert await waiting_numbers(page) == ["A001", "A002"]
    await page.screenshot(path="/tmp/people-console-idle.png")

    await page.keyboard.press("1")  # 叫号
    await page.wait_for_function(CURRENT_IS.format("A001"))
    await page.wait_for_function("document.querySelectorAll('#waiting tr').length === 1")
    assert await waiting_numbers(page) == ["A002"]
    assert "您好，请坐。" in await page.text_content("#civility-text")
    assert "秒" in await page.text_content(".action-recall")  # the recall countdown
    await page.screenshot(path="/tmp/people-console-called.png")

    # Live: tickets issued meanwhile show up without any click, with their priority class.
    await hall.issue("B")
    await hall.issue("M", by="1001", priority="elderly")
    await hall.issue("A", by="1001", priority="appointment")
    await page.wait_for_function("document.querySelectorAll('#waiting tr').length === 4")
    assert set(await waiting_numbers(page)) == {"A002", "A003", "B001", "M001"}
    elderly = page.locator("#waiting tr[data-number='M001'] .tag.priority")
    assert await elderly.text_content() == "老年人"
    assert await elderly.get_attribute("title") == "老年人（70 周岁以上）"
    assert await page.text_content("#waiting tr[data-number='A003'] .tag.appointment") == "预约"
    assert await page.text_content("#waiting tr[data-number='B001'] td:nth-child(4)") == "普通"
    await page.screenshot(path="/tmp/people-console-queue.png")

    await page.keyboard.press("3")  # 开始办理
    await page.wait_for_function("document.getElementById('current-status')?.textContent === '办理中'")
    assert "请稍候，我马上为您办理。" in await page.text_content("#civility-text")
    await page.screenshot(path="/tmp/people-console-serving.png")
    await page.keyboard.press("4")  # 办结
    await page.wait_for_function(NO_CURRENT)
    await page.wait_for_function(
        "document.getElementById('civility-text').textContent.includes('您的手续已办好，请核对。')")
    civility = await page.text_content("#civility-text")
    assert "请慢走，再见。" in civility

    events = await ledger(hall)
    steps = [e for e in events if e["kind"] in
             ("window_opened", "ticket_called", "service_started", "ticket_finished")]
    assert [e["kind"] for e in steps] == [
        "window_opened", "ticket_called", "service_started", "ticket_finished"]
    assert all(e["actor"]["id"] == "1001" for e in steps)
    assert all(e["ticket"] == "A001" for e in steps[1:])


async def test_a_wrong_password_is_refused_in_plain_chinese(hall, new_page):
    page = await new_page(CONSOLE)
    await page.goto(f"{base_url(hall)}/staff")
    await page.fill("#staff-id", "1001")
    await page.fill("#password", "not-the-password")
    await page.click("#login-button")
    await page.wait_for_function("document.getElementById('login-error').textContent !== ''")
    assert await page.text_content("#login-error") == "工号或密码错误"
    await page.screenshot(path="/tmp/people-console-login.png")


async def test_a_double_click_never_acts_twice(hall, new_page):
    for _ in range(3):
        await hall.issue("A")
    page = await new_page(CONSOLE)
    await console(page, hall)
    sent = await page.evaluate("window.hallQueue.state.actions")  # the window's sign-in
    await page.dblclick(".action-call-next")
    await page.wait_for_function(CURRENT_IS.format("A001"))
    # The same click once more, just after the answer (force: the button now reads as
    # unavailable, which Playwright would wait out).
    await page.click(".action-call-next", force=True)
    await page.wait_for_timeout(300)
    assert await page.is_hidden("#bubble")
    assert await page.evaluate("window.hallQueue.state.actions") == sent + 1
    await page.keyboard.press("3")
    await page.wait_for_function("document.getElementById('current-status')?.textContent === '办理中'")
    await page.dblclick(".action-finish")
    await page.wait_for_function(NO_CURRENT)
    await page.wait_for_timeout(300)
    assert await page.is_hidden("#bubble")
    events = await ledger(hall)
    assert kinds(events, "ticket_called", "service_started", "ticket_finished") == [
        "ticket_called", "service_started", "ticket_finished"]
    assert await waiting_numbers(page) == ["A002", "A003"]


async def test_recall_waits_for_the_minimum_interval_with_a_countdown(hall, new_page):
    await hall.issue("A")
    page = await new_page(CONSOLE)
    await console(page, hall)
    await page.keyboard.press("1")
    await page.wait_for_function(CURRENT_IS.format("A001"))
    recall = page.locator(".action-recall")
    assert await recall.get_attribute("aria-disabled") == "true"
    await page.wait_for_function("/（(30|29) 秒）/.test(document.querySelector('.action-recall').textContent)")
    await page.keyboard.press("2")
    assert (await bubble(page)).startswith("重呼间隔未到，请")
    # 过号 needs all three calls first.
    await page.wait_for_timeout(1100)
    await page.keyboard.press("5")
    assert await bubble(page) == "已呼叫 1 次，满 3 次后才能过号，请先重呼"
    await page.screenshot(path="/tmp/people-console-recall-wait.png")

    hall.clock.advance(31)
    await hall.issue("A")  # any event brings the server's time to the page
    await page.wait_for_function(
        "document.querySelector('.action-recall').getAttribute('aria-disabled') === 'false'")
    assert await recall.text_content() == "重呼2"
    await page.keyboard.press("2")
    await page.wait_for_function(
        "document.getElementById('current-status')?.textContent === '已呼叫 · 第 2 次'")
    events = await ledger(hall)
    assert kinds(events, "ticket_called", "ticket_recalled") == ["ticket_called", "ticket_recalled"]


async def test_a_paused_window_refuses_to_call_in_plain_chinese_until_resumed(hall, new_page):
    await hall.issue("A")
    page = await new_page(CONSOLE)
    await console(page, hall)
    await page.keyboard.press("8")  # 暂停
    await page.wait_for_selector("#dialog[open]")
    await page.click("#dialog-ok")
    assert await page.text_content("#dialog-error") == "请选择暂停原因"
    await pick_reason(page, "午休")
    await confirm_dialog(page)
    await page.wait_for_function("document.getElementById('window-state').textContent === '暂停：午休'")
    assert await page.text_content(".action-pause .action-label") == "恢复"
    # The screen may hear of the pause before the console's own request settles; a key pressed
    # while a request is in flight is ignored on purpose (no double actions), so wait for it.
    await settled(page)
    await page.keyboard.press("1")
    assert await bubble(page) == "窗口暂停中，请先恢复"
    await page.screenshot(path="/tmp/people-console-paused.png")
    await page.keyboard.press("8")  # 恢复
    await page.wait_for_function("document.getElementById('window-state').textContent === '在岗'")
    await settled(page)
    await page.keyboard.press("1")
    await page.wait_for_function(CURRENT_IS.format("A001"))
    events = await ledger(hall)
    paused = [e for e in events if e["kind"] == "window_paused"]
    assert paused[0]["payload"]["reason"] == "午休" and paused[0]["actor"]["id"] == "1001"
    assert "window_resumed" in kinds(events)


async def test_refusals_from_the_server_are_said_in_plain_chinese(hall, new_page):
    page = await new_page(CONSOLE)
    await console(page, hall)

    async def explain(status: int, body: dict) -> str:
        return await page.evaluate(
            "async ([status, data]) => (await import('/staff/static/staff.js')).explain({status, data})",
            [status, body])

    assert await explain(409, {"state": "paused", "code": "window.paused", "detail": "1 号窗口暂停中（午休），请先恢复"}) \
        == "窗口暂停中，请先恢复"
    assert await explain(409, {"state": "called", "ticket": "A001", "code": "window.busy",
                               "detail": "1 号窗口当前号码已叫号 A001，请先办结、过号、挂起或转移"}) \
        == "当前号码 A001 尚未办结"
    assert await explain(409, {"state": "called", "retry_in_seconds": 12, "code": "ticket.recall_too_soon",
                               "detail": "号码 A001 距上次呼叫 18 秒……"}) == "重呼间隔未到，请 12 秒后再试"
    assert await explain(409, {"state": "open", "code": "window.staff_elsewhere", "other": 3,
                               "detail": "工号 1001 已在 3 号窗口在岗，请先关闭该窗口"}) \
        == "您已在 3 号窗口在岗，请先关闭该窗口"
    assert await explain(409, {"state": "idle", "code": "window.no_current", "detail": "1 号窗口当前没有号码"}) \
        == "当前没有号码，请先叫号"
    assert await explain(404, {"code": "ticket.unknown", "detail": "今日 gongshu 大厅没有发出号码 A999"}) \
        == "未找到该号码（只能叫当日的号码）"
    assert await explain(0, {}) == "网络连接失败，请检查网络后重试"
    assert await explain(409, {"code": "window.something_new", "detail": "something new"}) == "当前状态不允许此操作"
    # A code the console has no words of its own for: the server's Chinese detail.
    assert await explain(409, {"code": "window.something_new", "detail": "新的情况"}) == "新的情况"
    # The words come from the code, never from the detail's text.
    assert await explain(409, {"code": "window.not_open", "detail": "no current ticket"}) == "窗口未开启，请先签到上岗"
    assert await explain(403, {"code": "auth.not_on_window", "window": 1, "detail": "您（1002）未在 1 号窗口签到"}) \
        == "您未在 1 号窗口签到"
    assert await explain(400, {"field": "reason", "code": "input.reason_required", "detail": "暂停须填写原因"}) == "请填写原因"

    # And a real one: a specific number that was never issued.
    await page.keyboard.press("9")
    await page.fill("#dialog input[name=number]", "A099")
    await page.click("#dialog-ok")
    assert await page.text_content("#dialog-error") == "请选择或填写指定叫号的原因"
    await pick_reason(page, "导服台指引")
    await page.click("#dialog-ok")
    await page.wait_for_function("document.getElementById('dialog-error').textContent.startsWith('未找到')")
    assert await page.text_content("#dialog-error") == "未找到该号码（只能叫当日的号码）"
    await page.screenshot(path="/tmp/people-console-call-dialog.png")


async def test_call_a_specific_number_transfer_suspend_miss_and_restore(hall, new_page):
    for _ in range(3):
        await hall.issue("A")
    page = await new_page(CONSOLE)
    await console(page, hall)

    # 指定叫号 from the queue list, with its reason.
    await page.click("#waiting tr[data-number='A003'] button[data-call]")
    await page.wait_for_selector("#dialog[open]")
    assert await page.input_value("#dialog input[name=number]") == "A003"
    await pick_reason(page, "预约到号")
    await confirm_dialog(page)
    await page.wait_for_function(CURRENT_IS.format("A003"))

    # 转移 to window 2, with a reason.
    await page.keyboard.press("6")
    await page.wait_for_selector("#dialog[open]")
    await page.check("#dialog input[name=target][value=window]")
    await page.select_option("#dialog select[name=window]", "2")
    await pick_reason(page, "需其他窗口办理")
    await page.screenshot(path="/tmp/people-console-transfer.png")
    await confirm_dialog(page)
    await page.wait_for_function(NO_CURRENT)

    # 挂起 A001 with a reason; it shows in the 挂起 list and comes back with 恢复.
    await page.keyboard.press("1")
    await page.wait_for_function(CURRENT_IS.format("A001"))
    await page.keyboard.press("7")
    await page.wait_for_selector("#dialog[open]")
    await pick_reason(page, "材料不齐，待补充")
    await page.fill("#dialog input[name=note]", "缺营业执照副本")
    await confirm_dialog(page)
    await page.wait_for_function(NO_CURRENT)
    await page.click("#tab-suspended")
    await page.wait_for_selector("#aside-list [data-restore='A001']")

    # 过号 A002 after three calls, then restore it too.
    await page.keyboard.press("1")
    await page.wait_for_function(CURRENT_IS.format("A002"))
    for calls in (2, 3):
        hall.clock.advance(31)
        await hall.issue("B")  # brings the server's time to the page
        await page.wait_for_function(
            "document.querySelector('.action-recall').getAttribute('aria-disabled') === 'false'")
        await page.wait_for_timeout(750)  # not a double press of the last recall
        await page.keyboard.press("2")
        await page.wait_for_function(
            f"document.getElementById('current-status')?.textContent === '已呼叫 · 第 {calls} 次'")
    await page.keyboard.press("5")
    await page.wait_for_function(NO_CURRENT)
    await page.click("#tab-missed")
    await page.wait_for_selector("#aside-list [data-restore='A002']")
    await page.screenshot(path="/tmp/people-console-missed.png")
    await page.click("#aside-list [data-restore='A002']")
    assert (await bubble(page)).startswith("A002 已恢复等候")
    await page.click("#tab-suspended")
    await page.click("#aside-list [data-restore='A001']")
    await page.wait_for_function("document.getElementById('suspended-count').textContent === '0'")
    assert set(await waiting_numbers(page)) >= {"A001", "A002"}

    events = await ledger(hall)
    called = [e for e in events if e["kind"] == "ticket_called"]
    assert called[0]["ticket"] == "A003" and called[0]["payload"]["reason"] == "预约到号"
    transfer = next(e for e in events if e["kind"] == "ticket_transferred")
    assert transfer["payload"]["to_window"] == 2 and transfer["payload"]["reason"] == "需其他窗口办理"
    suspend = next(e for e in events if e["kind"] == "ticket_suspended")
    assert suspend["payload"]["reason"] == "材料不齐，待补充：缺营业执照副本"
    assert kinds(events, "ticket_missed", "ticket_restored") == [
        "ticket_missed", "ticket_restored", "ticket_restored"]
    assert all(e["actor"]["id"] == "1001" for e in events
               if e["kind"] in ("ticket_called", "ticket_transferred", "ticket_suspended",
                                "ticket_missed", "ticket_restored"))


async def test_a_stand_in_is_recorded_and_one_window_takes_one_clerk(hall, new_page):
    await hall.add_staff("1002", name="李四")
    await hall.act(2, "open", by="1002")
    page = await new_page(CONSOLE)
    await sign_in(page, hall)
    taken = page.locator("#window-list [data-open='2']")
    assert await taken.is_disabled() and await taken.text_content() == "已有人员在岗"
    await page.check("#stand-in")
    await page.click("#window-list [data-open='1']")
    assert await bubble(page) == "请填写被顶岗人员的工号"
    await page.fill("#stand-in-for", "1003")
    await take_window(page, 1)
    assert await page.text_content("#window-state") == "顶岗（代 1003）"
    opened = [e for e in await ledger(hall) if e["kind"] == "window_opened"]
    assert opened[-1]["actor"]["id"] == "1001" and opened[-1]["payload"]["stand_in_for"] == "1003"

    # Closed from the office at the end of the day: the console goes back to the window list.
    await hall.act(1, "close", by="9001")
    await page.wait_for_selector("#window-screen:not([hidden])")
    assert await page.text_content("#window-list [data-open='1']") == "签到上岗"


async def test_sign_off_closes_the_window_and_signs_out_at_the_end_of_the_day(hall, new_page):
    await hall.issue("A")
    page = await new_page(CONSOLE)
    await console(page, hall)
    await page.keyboard.press("1")
    await page.wait_for_function(CURRENT_IS.format("A001"))
    # The screen can show A001 (from the live feed) before the call's own answer is in; until
    # then the console takes no click (one action at a time), so a click then would be lost.
    await page.wait_for_function("!document.querySelector('button.busy')")
    # The refusal is shown from the actions the server listed after the call; while they are
    # being read again (the call's event came first), the console lets the server decide.
    await page.wait_for_function("window.hallQueue.state.actionsFresh && !window.hallQueue.state.busy")
    await page.click("#sign-off")
    assert await bubble(page) == "当前号码 A001 尚未办结，请先办结、挂起或转移"
    await page.keyboard.press("3")
    await page.wait_for_function("document.getElementById('current-status')?.textContent === '办理中'")
    await page.keyboard.press("4")
    await page.wait_for_function(NO_CURRENT)

    # A reload keeps the clerk at the window.
    await page.reload()
    await page.wait_for_selector("#console-screen:not([hidden])")

    await page.click("#sign-off")
    await page.wait_for_selector("#dialog[open]")
    await page.click("#dialog-ok")
    await page.wait_for_selector("#login-screen:not([hidden])")
    events = await ledger(hall)
    assert kinds(events)[-2:] == ["window_closed", "staff_signed_out"]
    assert all(e["actor"]["id"] == "1001" for e in events[-2:])
    snapshot = await (await hall.client.get("/api/v1/halls/gongshu/queue")).json()
    assert snapshot["windows"][0]["state"] == "closed"
