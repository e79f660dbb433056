"""我的绩效 (/manage/mine): a clerk's own figures only — KPI cards, the daily trend, the rating mix."""

from __future__ import annotations

from .conftest import base_url, ready, screenshot, stats

PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


async def _card(page, name: str) -> str:
    return (await page.locator(f"#cards .card[data-name='{name}'] .value").inner_text()).strip()


async def test_a_clerk_sees_only_their_own_figures(hall, new_page):
    page = await new_page(hall, "1001")
    await page.goto(f"{base_url(hall)}/manage/mine")
    await ready(page)
    mine = await stats(hall, "1001", scope="hall:gongshu", by="day", **PERIOD)
    assert mine["staff"] == "1001" and mine["total"]["served"] == 2  # 李四's ticket is not theirs
    assert await _card(page, "办件量") == "2"
    assert await _card(page, "满意率") == "50.0%"
    assert await _card(page, "差评数") == "1"
    assert await _card(page, "平均办理") == "4:10"  # (300 + 200) / 2 s
    asked = await page.evaluate("window.manage.state.requests")
    assert all("staff=1001" in u for u in asked)
    option = await page.evaluate(
        """() => { const o = echarts.getInstanceByDom(document.getElementById('chart-day')).getOption();
                   return { x: o.xAxis[0].data, served: o.series[0].data }; }""")
    rows = [r for r in mine["rows"] if r["key"] is not None]
    assert option == {"x": [r["label"] for r in rows], "served": [r["served"] for r in rows]}
    pie = await page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart-rating')).getOption().series[0].data"
        ".map((d) => d.value)")
    assert pie == [1, 0, 0, 1, 0]
    assert await page.locator("#to-manage").is_hidden()
    assert "李四" not in await page.locator("body").inner_text()
    await screenshot(page, "mine-clerk")


async def test_the_other_clerk_sees_theirs(hall, new_page):
    page = await new_page(hall, "1002")
    await page.goto(f"{base_url(hall)}/manage/mine?from=2026-11-30&to=2026-11-30")
    await ready(page)
    assert await _card(page, "办件量") == "1"
    assert await _card(page, "评价数") == "0"
    assert await page.locator("#from").input_value() == "2026-11-30"
    assert await page.locator("#periods button.active").inner_text() == "今日"
