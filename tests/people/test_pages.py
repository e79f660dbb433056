"""The three pages are served with their security headers and run under their own CSP."""

from __future__ import annotations

import pytest

from tests.people.conftest import CONSOLE, PHONE, TABLET, base_url


async def test_the_pages_are_served_with_a_strict_policy_and_unknown_ones_are_404(hall):
    ticket = await hall.issue("A")
    for path in ("/staff", "/evaluate/gongshu/1", f"/t/{ticket['holder_secret']}"):
        resp = await hall.client.get(path)
        assert resp.status == 200, path
        assert resp.content_type == "text/html"
        policy = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert (await hall.client.get("/evaluate/nowhere/1")).status == 404
    assert (await hall.client.get("/evaluate/gongshu/99")).status == 404
    for asset in ("/staff/static/staff.js", "/evaluate/static/rating.js", "/ticket/static/ticket.js"):
        assert (await hall.client.get(asset)).status == 200, asset


@pytest.mark.browser
async def test_the_pages_run_under_their_content_security_policy(hall, new_page):
    ticket = await hall.issue("A")
    await hall.act(1, "open")
    violations: list[str] = []
    pages = []
    for viewport, path, ready in (
        (CONSOLE, "/staff", "#login-screen:not([hidden])"),
        (TABLET, f"/evaluate/gongshu/1?token={hall.tokens['E01']}", "#idle:not([hidden])"),
        (PHONE, f"/t/{ticket['holder_secret']}", "#ticket:not([hidden])"),
    ):
        page = await new_page(viewport, csp=True)
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        await page.goto(base_url(hall) + path)
        await page.wait_for_selector(ready)
        pages.append(page)
    assert await pages[1].text_content(".staff-name") == "张三"
    assert await pages[2].text_content("#number") == ticket["number"]
    assert not violations
