"""绩效报表 (/manage) in Chromium over a small served morning (conftest.py): the KPI table shows
the API's figures, the charts hold the API's rows, drill-down hall → window → staff changes the
request and the table, exports are downloaded with the bearer token, and a scope that is not the
reviewer's is a clear error."""

from __future__ import annotations

from .conftest import base_url, ready, screenshot, stats

PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}  # 本月 of the FakeClock's Monday 2026-11-30


async def _cell(page, row_key: str | None, field: str) -> str:
    where = "tfoot tr" if row_key is None else f"tbody tr[data-key='{row_key}']"
    return (await page.locator(f"#kpi {where} td[data-field='{field}']").inner_text()).strip()


async def _option(page, chart_id: str) -> dict:
    return await page.evaluate(
        """(id) => {
            const el = document.getElementById(id);
            const chart = window.echarts.getInstanceByDom(el);
            if (!chart) return null;
            const o = chart.getOption();
            return { x: o.xAxis ? o.xAxis[0].data : null,
                     series: (o.series || []).map((s) => s.data),
                     drawn: el.querySelectorAll('canvas, svg').length };
        }""", chart_id)


async def test_the_manager_sees_the_hall_table_and_charts_of_this_month(hall, new_page):
    page = await new_page(hall, "9001", csp=True)  # under the page's own CSP
    await page.goto(f"{base_url(hall)}/manage")
    await ready(page)
    # a hall manager's one scope; default cut by window, default period 本月
    assert await page.locator("#scope").input_value() == "hall:gongshu"
    assert await page.locator("#from").input_value() == PERIOD["from"]
    assert await page.locator("#to").input_value() == PERIOD["to"]
    assert await page.locator("#periods button.active").inner_text() == "本月"
    api = await stats(hall, "9001", scope="hall:gongshu", by="window", **PERIOD)
    assert api["total"]["served"] == 3
    assert await _cell(page, None, "served") == "3"
    for row in api["rows"]:
        if row["key"] is not None:
            assert await _cell(page, row["key"], "served") == str(row["served"])
    headers = await page.locator("#kpi thead th").all_inner_texts()
    for word in ("办件量", "平均等候", "P90 等候", "超时率", "利用率", "满意率", "差评率", "满意度得分", "整改及时率"):
        assert any(word in h for h in headers), word
    assert await _cell(page, None, "satisfied_rate") == "50.0%"  # one 非常满意, one 不满意
    await screenshot(page, "manage-hall-by-window")


async def test_the_charts_hold_the_api_rows(hall, new_page):
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage")
    await ready(page)
    hour = await stats(hall, "9001", scope="hall:gongshu", by="hour", **PERIOD)
    day = await stats(hall, "9001", scope="hall:gongshu", by="day", **PERIOD)
    win = await stats(hall, "9001", scope="hall:gongshu", by="window", **PERIOD)

    def placed(rows):
        return [r for r in rows if r["key"] is not None]

    option = await _option(page, "chart-hour")
    assert option["drawn"] >= 1
    assert option["x"] == [r["label"] for r in placed(hour["rows"])]
    assert option["series"] == [[r["issued"] for r in placed(hour["rows"])],
                                [r["wait_avg_s"] for r in placed(hour["rows"])]]
    option = await _option(page, "chart-day")
    assert option["drawn"] >= 1
    assert option["x"] == [r["label"] for r in placed(day["rows"])]
    assert option["series"] == [[r["served"] for r in placed(day["rows"])],
                                [r["wait_avg_s"] for r in placed(day["rows"])]]
    option = await _option(page, "chart-window")
    assert option["drawn"] >= 1
    assert option["x"] == [r["label"] for r in placed(win["rows"])]
    assert option["series"] == [[r["served"] for r in placed(win["rows"])],
                                [r["utilisation"] for r in placed(win["rows"])]]
    option = await _option(page, "chart-rating")
    assert option["drawn"] >= 1
    levels = win["total"]["rating_levels"]
    assert [d["value"] for d in option["series"][0]] == [
        levels[k] for k in ("very_satisfied", "satisfied", "basically_satisfied", "dissatisfied",
                            "very_dissatisfied")]
    assert [d["name"] for d in option["series"][0]] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


async def test_drill_down_from_the_district_to_a_window_and_back(hall, new_page):
    page = await new_page(hall, "d01")
    await page.goto(f"{base_url(hall)}/manage")
    await ready(page)
    assert await page.locator("#scope").input_value() == "district:gongshu"
    # A district office serves at no window: no 我的绩效 in its navigation.
    nav = await page.locator("#console-nav a").all_inner_texts()
    assert "绩效报表" in nav and "我的绩效" not in nav
    assert await page.locator("#cuts button.active").inner_text() == "按大厅"
    district = await stats(hall, "d01", scope="district:gongshu", by="hall", **PERIOD)
    assert await _cell(page, "gongshu", "served") == str(
        next(r for r in district["rows"] if r["key"] == "gongshu")["served"])
    await screenshot(page, "manage-district-by-hall")
    # 投诉、调查与整改 under the table: the district's halls, its streets' subtotals, the total
    quality = page.locator("#quality")
    await quality.scroll_into_view_if_needed()
    assert await quality.locator("tbody tr[data-key='gongshu'] td[data-field='served']").inner_text() == "3"
    assert await quality.locator("tbody tr.subtotal").count() == 2
    assert "湖墅街道（小计）" in await quality.locator("tbody").inner_text()
    assert await quality.locator("tfoot td[data-field='complaints_per_1000']").inner_text() == "0.00"
    await screenshot(page, "manage-district-quality")

    seen = await page.evaluate("window.manage.state.requests.length")
    await page.locator("#kpi tbody tr[data-key='gongshu']").click()
    await ready(page, 1)
    asked = await page.evaluate(f"window.manage.state.requests.slice({seen})")
    assert any("scope=hall%3Agongshu" in u and "by=window" in u for u in asked), asked
    assert await page.locator("#cuts button.active").inner_text() == "按窗口"
    assert await _cell(page, "gongshu/1", "served") == "2"
    assert await _cell(page, "gongshu/2", "served") == "1"

    seen = await page.evaluate("window.manage.state.requests.length")
    await page.locator("#kpi tbody tr[data-key='gongshu/1']").click()
    await ready(page, 2)
    asked = await page.evaluate(f"window.manage.state.requests.slice({seen})")
    assert any("by=staff" in u and "window=1" in u and "scope=hall%3Agongshu" in u for u in asked), asked
    staff = await stats(hall, "d01", scope="hall:gongshu", by="staff", window=1, **PERIOD)
    assert [r["key"] for r in staff["rows"] if r["key"]] == ["1001"]
    assert await _cell(page, "1001", "served") == "2"
    assert await page.locator("#kpi tbody tr[data-key='1002']").count() == 0
    crumbs = await page.locator("#crumbs button").all_inner_texts()
    assert len(crumbs) == 2 and "拱墅区" in crumbs[0]
    assert "张三" in await page.locator("#kpi tbody").inner_text()
    await screenshot(page, "manage-window-by-staff")

    await page.locator("#crumbs button").first.click()
    await ready(page, 3)
    assert await page.locator("#scope").input_value() == "district:gongshu"
    assert await page.locator("#kpi tbody tr[data-key='gongshu']").count() == 1
    assert await page.locator("#crumbs").is_hidden()


async def test_quick_periods_and_cuts_change_the_request(hall, new_page):
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage")
    await ready(page)
    await page.locator("#periods button", has_text="上月").click()
    await ready(page, 1)
    assert await page.locator("#from").input_value() == "2026-10-01"
    assert await page.locator("#to").input_value() == "2026-10-31"
    last = await page.evaluate("window.manage.state.requests")
    assert any("from=2026-10-01" in u and "to=2026-10-31" in u for u in last[-4:])
    await page.locator("#periods button", has_text="今日").click()
    await ready(page, 2)
    assert await page.locator("#from").input_value() == "2026-11-30"
    await page.locator("#cuts button", has_text="按时段").click()
    await ready(page, 3)
    last = await page.evaluate("window.manage.state.requests")
    assert any("by=hour" in u and "from=2026-11-30" in u for u in last[-4:])
    assert "by=hour" in page.url
    await page.locator("#periods button", has_text="本年").click()
    await ready(page, 4)
    assert await page.locator("#from").input_value() == "2026-01-01"
    assert await _cell(page, None, "served") == "3"
    await page.locator("#periods button", has_text="本周").click()
    await ready(page, 5)
    assert await page.locator("#from").input_value() == "2026-11-30"  # a Monday


async def test_an_empty_period_reads_as_zero(hall, new_page):
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage?scope=hall:gongshu&from=2026-10-01&to=2026-10-31")
    await ready(page)
    assert await page.locator("#banner").is_hidden()
    assert await _cell(page, None, "served") == "0"
    assert "所选期间没有数据" in await page.locator("#kpi tbody").inner_text()


async def test_a_manager_of_another_hall_gets_a_clear_error(hall, new_page):
    page = await new_page(hall, "hs9")
    await page.goto(f"{base_url(hall)}/manage?scope=hall:gongshu")
    await ready(page)
    banner = page.locator("#banner")
    assert await banner.is_visible()
    text = await banner.inner_text()
    assert "hall:gongshu" in text and any("\u4e00" <= c <= "\u9fff" for c in text), text
    resp = await hall.client.get("/api/v1/stats?scope=hall:gongshu", headers=hall.auth("hs9"))
    assert resp.status == 403 and (await resp.json())["detail"] == text
    assert "暂无数据" in await page.locator("#kpi tbody").inner_text()
    offered = await page.locator("#scope option:not([disabled])").all_inner_texts()
    assert len(offered) == 1 and "湖墅" in offered[0]  # only their own hall is offered
    await screenshot(page, "manage-not-your-scope")
    await page.locator("#scope").select_option("hall:hushu")  # their own hall still answers
    await ready(page, 1)
    assert await banner.is_hidden()
    assert await _cell(page, None, "served") == "0"


async def test_signing_in_on_the_page(hall, new_page):
    page = await new_page()
    await page.goto(f"{base_url(hall)}/manage")
    await page.locator("#login-form").wait_for()
    await screenshot(page, "manage-sign-in")
    await page.fill("#staff-id", "9001")
    await page.fill("#password", "wrong-password")
    await page.click("#login-button")
    await page.locator("#login-error", has_text="错误").wait_for()
    await page.fill("#password", "secret-pass-1")
    await page.click("#login-button")
    await ready(page)
    assert "王经理" in await page.locator("#who").inner_text()


async def test_a_clerk_opening_manage_is_sent_to_their_own_figures(hall, new_page):
    page = await new_page(hall, "1001")
    await page.goto(f"{base_url(hall)}/manage")
    await page.wait_for_url("**/manage/mine**")
    await ready(page)
    assert "/manage/mine" in page.url


async def test_the_export_buttons_download_with_the_token(hall, new_page):
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage")
    await ready(page)
    cases = [
        ("#export-csv", "/api/v1/stats.csv?", ["scope=hall%3Agongshu", "by=window", "from=2026-11-01"], ".csv"),
        ("#export-xlsx", "/api/v1/stats.xlsx?", ["by=window%2Cday%2Chour", "to=2026-11-30"], ".xlsx"),
        ("#export-pdf", "/api/v1/reports/monthly.pdf?", ["scope=hall%3Agongshu", "month=2026-11"], ".pdf"),
    ]
    for button, path, parts, suffix in cases:
        async with page.expect_request(lambda r, path=path: path in r.url) as asked:
            async with page.expect_download(timeout=30000) as downloading:
                await page.click(button)
        request = await asked.value
        assert all(p in request.url for p in parts), request.url
        assert request.headers.get("authorization") == f"Bearer {hall.tokens['9001']}"
        download = await downloading.value
        assert download.suggested_filename.endswith(suffix), download.suggested_filename
        saved = await download.path()
        assert saved is not None and saved.stat().st_size > 0
        if suffix == ".csv":
            assert "办件量" in saved.read_bytes().decode("utf-8-sig")
    assert await page.locator("#banner").is_hidden()


async def test_handling_outliers_are_listed_under_the_table(hall, new_page):
    from .conftest import _serve

    extra = await hall.issue("A")
    await _serve(hall, 2, "1002", handle_s=1200, wait_s=10)  # 1200 s > 3 × the median 350 s
    api = await stats(hall, "9001", scope="hall:gongshu", by="window", **PERIOD)
    assert [o["number"] for o in api["outliers"]] == [extra["number"]]
    page = await new_page(hall, "9001")
    await page.goto(f"{base_url(hall)}/manage")
    await ready(page)
    assert await page.locator("#outliers").is_visible()
    assert "1 件" in await page.locator("#outliers-title").inner_text()
    await page.locator("#outliers summary").click()
    cells = await page.locator("#outlier-table tbody tr").first.locator("td").all_inner_texts()
    assert cells[1] == extra["number"] and cells[4] == "2 号" and cells[6] == "20:00"
    await screenshot(page, "manage-outliers")
