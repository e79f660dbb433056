"""The clerk's console keeps its layout at the window PC's 1366×768 (issue 13 point 3): on a
comprehensive window (9 services) with a queue, no heading, count, button or ticket row wraps
onto a second line and nothing spills out sideways."""

from __future__ import annotations

import pytest

from tests.people.conftest import CONSOLE
from tests.people.test_staff_console import console
from tests.support.hall import Hall

pytestmark = pytest.mark.browser

# Every visible piece of text in the console is laid out on one line (a text node whose
# rectangles have more than one top has wrapped), and nothing spills out sideways.
WRAPPED = """() => {
  const bad = [];
  const walker = document.createTreeWalker(document.getElementById('console-screen'), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim() || !node.parentElement.offsetParent) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0)
      .map((r) => Math.round(r.top / 4)));
    if (tops.size > 1) bad.push(`${node.parentElement.tagName.toLowerCase()}.${node.parentElement.className}: ` +
      `${node.textContent.trim().slice(0, 40)} (${tops.size} lines)`);
  }
  for (const el of document.querySelectorAll('#console-screen *')) {
    if (el.offsetParent && getComputedStyle(el).overflowX === 'visible' && el.scrollWidth > el.clientWidth + 1 &&
        el.clientWidth > 0 && getComputedStyle(el).display !== 'inline') {
      bad.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} spills: ${el.scrollWidth}/${el.clientWidth}px`);
    }
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) bad.push(`the page scrolls sideways: ${page.scrollWidth}px`);
  return bad;
}"""


async def test_a_comprehensive_windows_console_does_not_wrap_at_1366_by_768(hall: Hall, new_page) -> None:
    for service in ("L", "J", "A", "B", "M", "C", "D", "E", "F"):
        await hall.issue(service)
    page = await new_page(CONSOLE)
    await console(page, hall, window=16)
    await page.wait_for_function("document.querySelectorAll('#waiting tr td.number').length === 9")
    await page.screenshot(path="/tmp/people-console-1366.png")
    assert await page.evaluate(WRAPPED) == []


async def test_the_console_of_a_clerk_serving_with_priority_tickets_waiting_does_not_wrap(
        hall: Hall, new_page) -> None:
    for service in ("L", "J", "A", "B", "M", "C", "D", "E", "F"):
        await hall.issue(service)
    await hall.issue("M", by="1001", priority="elderly")
    await hall.issue("A", by="1001", priority="appointment")
    page = await new_page(CONSOLE)
    await console(page, hall, window=16)
    await page.keyboard.press("1")  # 叫号
    await page.wait_for_function("document.getElementById('current-number')?.textContent")
    await page.keyboard.press("3")  # 开始办理
    await page.wait_for_function("document.getElementById('current-status')?.textContent === '办理中'")
    await page.wait_for_function("document.querySelectorAll('#waiting tr td.number').length === 10")
    await page.screenshot(path="/tmp/people-console-1366-serving.png")
    assert await page.evaluate(WRAPPED) == []
