"""Hall notices (GET/POST /api/v1/halls/{hall}/notices: items with start and end times, replaced
as of the version read) and call announcements as WAV."""

from __future__ import annotations

import asyncio

from tests.api.checks import expect_problem, fetch, ledger, ok, post, tables

NOTICES = "/api/v1/halls/gongshu/notices"


async def test_a_manager_posts_notices_that_the_snapshot_shows(hall):
    await hall.add_staff("9001", role="manager", name="王经理")
    body = await ok(
        await post(
            hall,
            NOTICES,
            by="9001",
            json_body={"notices": ["  今日下午 3 点系统维护  ", "", "请保管好随身物品"]},
        )
    )
    assert [n["text"] for n in body["notices"]] == ["今日下午 3 点系统维护", "请保管好随身物品"]
    assert body["shown"] == ["今日下午 3 点系统维护", "请保管好随身物品"] and body["version"] == 1
    snap = await ok(await hall.client.get("/api/v1/halls/gongshu/queue"))
    assert snap["notices"] == body["shown"]
    event = (await ledger(hall))[-1]
    assert event["kind"] == "notice_posted" and event["actor"]["id"] == "9001"


async def test_notices_with_a_taboo_phrase_are_400_and_not_posted(hall):
    await hall.add_staff("9001", role="manager", name="王经理")
    resp = await post(hall, NOTICES, by="9001", json_body={"notices": ["欢迎", "有意见找领导去。"]})
    body = await expect_problem(resp, 400, field="notices[1]")
    assert body["taboo"]
    assert (await ok(await hall.client.get("/api/v1/halls/gongshu/queue")))["notices"] == []


async def test_notices_that_are_not_a_list_of_strings_are_400_naming_the_bad_part(hall):
    await hall.add_staff("9001", role="manager", name="王经理")
    for bad, field in (("一条公告", "notices"), ([1, 2], "notices[0]"), (None, "notices"),
                       (["好", {"a": 1}], "notices[1]"), ([["嵌套"]], "notices[0]")):
        resp = await post(hall, NOTICES, by="9001", json_body={"notices": bad})
        await expect_problem(resp, 400, field=field)


async def test_a_notice_longer_than_200_characters_is_400(hall):
    await hall.add_staff("9001", role="manager", name="王经理")
    resp = await post(hall, NOTICES, by="9001", json_body={"notices": ["长" * 201]})
    await expect_problem(resp, 400, field="notices[0]")


async def test_notices_need_a_manager(hall):
    await expect_problem(await post(hall, NOTICES, by=None, json_body={"notices": []}), 401)
    await expect_problem(await post(hall, NOTICES, by="K01", json_body={"notices": []}), 403)
    await expect_problem(await post(hall, NOTICES, by="1001", json_body={"notices": []}), 403)


async def test_notices_by_a_manager_of_another_hall_are_403(hall):
    await hall.add_staff("9002", hall="hushu", role="manager", name="赵经理")
    await expect_problem(await post(hall, NOTICES, by="9002", json_body={"notices": ["x"]}), 403)


async def test_notices_of_an_unknown_hall_are_404(hall):
    await hall.add_staff("9001", role="manager", name="王经理")
    resp = await post(hall, "/api/v1/halls/nowhere/notices", by="9001", json_body={"notices": []})
    await expect_problem(resp, 404)


# ---- times and versions ------------------------------------------------------------------

NOTICE = {"text": "12 月 1 日 9:00 起社保业务移至 3 楼", "starts_at": "2026-11-30T11:00",
          "ends_at": "2026-11-30T12:00:00+08:00"}


async def test_a_notice_is_shown_on_the_screens_only_between_its_start_and_end(hall):
    """Times without an offset are the hall's (Asia/Shanghai); the clock starts at 10:00."""
    await hall.add_staff("9001", role="manager", name="王经理")
    body = await ok(await post(hall, NOTICES, by="9001", json_body={"notices": [NOTICE, "请保管好随身物品"]}))
    assert body["notices"][0] == {**NOTICE, "starts_at": "2026-11-30T11:00:00+08:00", "phase": "scheduled"}
    assert body["shown"] == ["请保管好随身物品"]
    snapshots = []
    for minutes in (59, 1, 59, 1):  # 10:59, 11:00, 11:59, 12:00
        hall.clock.advance(minutes * 60)
        snapshots.append(await ok(await hall.client.get("/api/v1/halls/gongshu/queue")))
    assert [len(s["notices"]) for s in snapshots] == [1, 2, 2, 1]
    assert snapshots[1]["notices"][0] == NOTICE["text"]
    # The screens get every item with its times, to switch by their own clock between snapshots.
    assert snapshots[0]["notice_items"][0]["ends_at"] == "2026-11-30T12:00:00+08:00"
    listed = await ok(await hall.client.get(NOTICES, headers=hall.auth("9001")))
    assert [n["phase"] for n in listed["notices"]] == ["ended", "showing"] and listed["version"] == 1


async def test_bad_notice_times_are_400_naming_the_item_and_change_nothing(hall):
    await hall.add_staff("9001", role="manager", name="王经理")
    before = await tables(hall)
    for item, field, words in (
        ({**NOTICE, "starts_at": "明天上午"}, "notices[0].starts_at", "须为时间"),
        ({**NOTICE, "ends_at": "2026-11-30T10:59"}, "notices[0].ends_at", "结束时间须晚于开始时间"),
        ({**NOTICE, "ends_at": "1999-01-01T00:00"}, "notices[0].ends_at", "年份"),
        ({"starts_at": "2026-11-30T11:00"}, "notices[0]", "缺少"),
        ({**NOTICE, "text": "你去投诉好了。"}, "notices[0]", "忌语"),
    ):
        resp = await post(hall, NOTICES, by="9001", json_body={"notices": [item]})
        await expect_problem(resp, 400, field=field, detail_has=words)
    resp = await post(hall, NOTICES, by="9001", json_body={"notices": [], "version": "1"})
    await expect_problem(resp, 400, field="version")
    assert await tables(hall) == before


async def test_replacing_notices_as_of_a_stale_version_is_409_in_chinese_and_keeps_the_newer(hall):
    await hall.add_staff("9001", role="manager", name="王经理")
    await hall.add_staff("9003", role="manager", name="钱经理")
    read = await ok(await hall.client.get(NOTICES, headers=hall.auth("9001")))
    assert read["version"] == 0 and read["notices"] == []
    first = await post(hall, NOTICES, by="9003", json_body={"notices": ["钱经理的公告"], "version": 0})
    assert (await ok(first))["version"] == 1
    resp = await post(hall, NOTICES, by="9001", json_body={"notices": ["王经理的公告"], "version": 0})
    body = await expect_problem(resp, 409, code="notices.stale", detail_has="已被他人修改")
    assert body["current"] == 1
    assert (await ok(await hall.client.get("/api/v1/halls/gongshu/queue")))["notices"] == ["钱经理的公告"]


async def test_two_managers_saving_the_same_version_at_once_one_wins(hall):
    """Both requests may land in one batch: the second must still see the first's version."""
    await hall.add_staff("9001", role="manager", name="王经理")
    await hall.add_staff("9003", role="manager", name="钱经理")
    answers = await asyncio.gather(*(
        post(hall, NOTICES, by=who, json_body={"notices": [f"{who} 的公告"], "version": 0})
        for who in ("9001", "9003")))
    assert sorted(r.status for r in answers) == [200, 409]
    rows = await fetch(hall, "SELECT notices_version FROM halls WHERE id = 'gongshu'")
    assert rows[0]["notices_version"] == 1
    assert [e["kind"] for e in await ledger(hall)].count("notice_posted") == 1


async def test_a_double_press_with_one_key_posts_once(hall):
    await hall.add_staff("9001", role="manager", name="王经理")
    body = {"notices": ["请保管好随身物品"], "version": 0}
    first, second = await asyncio.gather(*(
        post(hall, NOTICES, by="9001", key="nt-1", json_body=body) for _ in range(2)))
    assert (await ok(first)) == (await ok(second))
    assert [e["kind"] for e in await ledger(hall)].count("notice_posted") == 1


async def test_notices_are_read_by_staff_of_the_hall_only(hall):
    await expect_problem(await hall.client.get(NOTICES), 401)
    await expect_problem(await hall.client.get(NOTICES, headers=hall.auth("K01")), 403)
    assert (await ok(await hall.client.get(NOTICES, headers=hall.auth("1001"))))["hall"] == "gongshu"


# ---- announcements ----------------------------------------------------------------------


async def called_seq(h) -> int:
    await h.issue("A")
    await h.act(1, "open")
    await h.act(1, "call-next")
    return (await ledger(h))[-1]["seq"]


async def test_a_call_is_announced_as_a_wav_for_a_display(hall):
    seq = await called_seq(hall)
    await hall.add_device("D01", role="display")
    resp = await hall.client.get(
        f"/api/v1/halls/gongshu/announcements/{seq}.wav", headers=hall.auth("D01")
    )
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "audio/wav"
    assert (await resp.read())[:4] == b"RIFF"


async def test_an_announcement_needs_a_display_token(hall):
    seq = await called_seq(hall)
    resp = await hall.client.get(f"/api/v1/halls/gongshu/announcements/{seq}.wav")
    await expect_problem(resp, 401)


async def test_an_event_that_is_not_a_call_has_no_announcement(hall):
    await hall.add_device("D01", role="display")
    resp = await hall.client.get(
        "/api/v1/halls/gongshu/announcements/1.wav", headers=hall.auth("D01")
    )
    await expect_problem(resp, 404)


async def test_an_announcement_of_an_unknown_hall_is_404(hall):
    await hall.add_device("D01", role="display")
    resp = await hall.client.get(
        "/api/v1/halls/nowhere/announcements/1.wav", headers=hall.auth("D01")
    )
    await expect_problem(resp, 404)
