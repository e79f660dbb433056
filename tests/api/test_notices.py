"""Hall notices (POST /api/v1/halls/{hall}/notices) and call announcements as WAV."""

from __future__ import annotations

from tests.api.checks import expect_problem, ledger, ok, post

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
    assert body["notices"] == ["今日下午 3 点系统维护", "请保管好随身物品"]
    snap = await ok(await hall.client.get("/api/v1/halls/gongshu/queue"))
    assert snap["notices"] == body["notices"]
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
                       (["好", {"a": 1}], "notices[1]")):
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
