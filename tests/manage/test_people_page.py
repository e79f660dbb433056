"""人员管理 (/manage/people) in Chromium: a hall's manager sees the accounts of their hall, adds a
clerk (a double press adds one, the one-time password is shown once in a dialog), unlocks a
locked account, disables one, renames a clerk and gives them a photo, resets a password; the
new clerk and the reset one sign in with their one-time passwords and must set their own, on
the staff console and on the manager's console."""

from __future__ import annotations

import struct
import zlib

from tests.api.checks import fetch

from .conftest import base_url, screenshot


def _png(width: int = 90, height: int = 120) -> bytes:
    """A real PNG (a blue and white portrait), for the browser to decode and shrink."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"".join(b"\x20\x50\xc0" if (x // 15 + y // 15) % 2 else b"\xff\xff\xff"
                                       for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def _confirm(page, row, op: str) -> None:
    await row.locator(f"button.op-{op}").click()
    await page.locator("#confirm-dialog[open]").wait_for()
    await page.click("#confirm-submit")
    await page.locator("#confirm-dialog[open]").wait_for(state="detached")


async def test_a_manager_adds_unlocks_disables_edits_and_resets_and_one_time_passwords_must_be_replaced(
        hall, new_page, tmp_path):
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage/people")
    rows = page.locator("#rows tr")
    await page.locator("#rows tr[data-id='1001']").wait_for()
    assert await page.locator("#console-nav a[aria-current='page']").inner_text() == "人员管理"
    assert set(await rows.evaluate_all("rows => rows.map(r => r.dataset.id)")) == {"1001", "1002", "9001"}

    # Add: a double press adds one account and shows its one-time password once.
    await page.click("#add")
    await page.fill("#f-id", "1100")
    await page.fill("#f-name", "新同事")
    assert await page.locator("#f-place").input_value() == "hall:gongshu"
    await page.dblclick("#edit-submit")
    await page.locator("#otp-dialog[open]").wait_for()
    otp = (await page.locator("#otp").inner_text()).strip()
    assert len(otp) == 10 and "新同事" in await page.locator("#otp-who").inner_text()
    await screenshot(page, "people-one-time-password")
    await page.click("#otp-close")
    await page.locator("#otp-dialog[open]").wait_for(state="detached")
    assert await page.locator("#otp").inner_text() == "", "the password is gone once the dialog closes"
    assert len(await fetch(hall, "SELECT 1 FROM staff WHERE id = '1100'")) == 1
    added = page.locator("#rows tr[data-id='1100']")
    await added.locator(".badge.pending").wait_for()

    # Five wrong passwords lock 李四; the manager unlocks, then disables the account.
    for _ in range(5):
        await hall.client.post("/api/v1/auth/login", json={"staff_id": "1002", "password": "wrong-pass-0"})
    await page.reload()
    lisi = page.locator("#rows tr[data-id='1002']")
    await lisi.locator(".badge.locked").wait_for()
    await _confirm(page, lisi, "unlock")
    await lisi.locator(".badge.locked").wait_for(state="detached")
    await _confirm(page, lisi, "disable")
    await lisi.locator(".badge.disabled").wait_for()
    await lisi.locator("button.op-enable").wait_for()

    # Edit 张三: a new name and a photo (shrunk to a JPEG by the page before it is sent).
    photo = tmp_path / "zhangsan.png"
    photo.write_bytes(_png())
    zhang = page.locator("#rows tr[data-id='1001']")
    await zhang.locator("button.op-edit").click()
    await page.fill("#f-name", "张三丰")
    await page.set_input_files("#f-photo", str(photo))
    await page.click("#edit-submit")
    await page.locator("#edit-dialog[open]").wait_for(state="detached")
    await zhang.locator("img.photo").wait_for()
    assert "张三丰" in await zhang.inner_text()
    stored = await fetch(hall, "SELECT content_type, length(data) AS n FROM staff_photos WHERE staff_id = '1001'")
    assert stored[0]["content_type"] == "image/jpeg" and stored[0]["n"] <= 60 * 1024

    # Reset 张三's password: shown once.
    await _confirm(page, zhang, "reset-password")
    await page.locator("#otp-dialog[open]").wait_for()
    reset = (await page.locator("#otp").inner_text()).strip()
    await page.click("#otp-close")
    await zhang.locator(".badge.pending").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366
    await screenshot(page, "people-list")
    kinds = await fetch(hall, "SELECT kind, actor->>'id' AS by FROM staff_ledger WHERE staff_id <> 'admin' ORDER BY seq")
    assert [(r["kind"], r["by"]) for r in kinds] == [
        ("staff_added", "9001"), ("staff_unlocked", "9001"), ("staff_disabled", "9001"),
        ("staff_edited", "9001"), ("photo_set", "9001"), ("password_reset", "9001")]

    # The new clerk signs in on the staff console with the one-time password: a new one first.
    clerk = await new_page()
    await clerk.goto(f"{base_url(hall)}/staff")
    await clerk.fill("#staff-id", "1100")
    await clerk.fill("#password", otp)
    await clerk.click("#login-button")
    await clerk.locator("#password-form").wait_for()
    await clerk.fill("#new-password", "onlyletters")
    await clerk.fill("#new-password-again", "onlyletters")
    await clerk.click("#password-button")
    assert "字母和数字" in await clerk.locator("#password-error").inner_text()
    await clerk.fill("#new-password", "Hall-queue-2026")
    await clerk.fill("#new-password-again", "Hall-queue-2026")
    await screenshot(clerk, "staff-set-password")
    await clerk.click("#password-button")
    await clerk.locator("#window-screen").wait_for()
    rows_1100 = await fetch(hall, "SELECT must_change_password FROM staff WHERE id = '1100'")
    assert rows_1100[0]["must_change_password"] is False

    # 张三 signs in on the console with the reset password and must set a new one as well.
    console = await new_page()
    await console.goto(f"{base_url(hall)}/manage/mine")
    await console.fill("#staff-id", "1001")
    await console.fill("#password", reset)
    await console.click("#login-button")
    await console.locator("#password-form").wait_for()
    await screenshot(console, "manage-set-password")
    await console.fill("#new-password", "Zhang-san-2026")
    await console.fill("#new-password-again", "Zhang-san-2026")
    await console.click("#password-button")
    await console.locator("#password-form").wait_for(state="detached")
    await console.locator("#login-screen").wait_for(state="hidden")
    answer = await hall.client.post("/api/v1/auth/login", json={"staff_id": "1001", "password": "Zhang-san-2026"})
    assert answer.status == 200 and (await answer.json())["staff"]["must_change_password"] is False
