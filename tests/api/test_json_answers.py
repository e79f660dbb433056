"""JSON answers through orjson (issue 9): compact UTF-8 bytes with the same content type and
charset as before, Chinese unescaped, and problem+json likewise."""

from __future__ import annotations

import json

from tests.api.checks import post


async def test_a_json_answer_is_utf8_with_its_charset_and_chinese_unescaped(hall):
    resp = await hall.client.get("/api/v1/halls")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    raw = await resp.read()
    assert "拱墅".encode() in raw and b"\\u" not in raw
    assert json.loads(raw) == await resp.json()


async def test_a_problem_is_utf8_problem_json_with_its_charset(hall):
    resp = await post(hall, "/api/v1/halls/gongshu/windows/1/pause", json_body={"reason": "午休\u0000"})
    assert resp.status == 400
    assert resp.headers["Content-Type"] == "application/problem+json; charset=utf-8"
    raw = await resp.read()
    body = json.loads(raw)
    assert body["field"] == "reason" and body["title"].encode() in raw


async def test_a_lone_surrogate_in_a_body_is_still_a_400_naming_its_field(hall):
    # orjson refuses the whole body; the standard library's reading names the field as before
    await hall.act(1, "open")
    resp = await post(hall, "/api/v1/halls/gongshu/windows/1/pause",
                      data='{"reason": "\\ud800 午休"}')
    assert resp.status == 400
    assert (await resp.json())["field"] == "reason"


async def test_malformed_json_is_still_a_400_with_the_parsers_explanation(hall):
    resp = await post(hall, "/api/v1/halls/gongshu/windows/1/pause", data='{"reason": ')
    assert resp.status == 400
    body = await resp.json()
    assert body["field"] == "body" and body["code"] == "input.not_json"
    assert body["detail"].startswith("请求体不是有效的 JSON：Expecting value")
