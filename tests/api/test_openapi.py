"""GET /api/v1/openapi.json describes every route of API v1, and only those."""

from __future__ import annotations

import re

from aiohttp.test_utils import make_mocked_request
from aiohttp.web_urldispatcher import MatchInfoError

from tests.api.checks import ok

# The actions the issue names; each is its own documented path.
WINDOW_ACTIONS = (
    "open",
    "close",
    "pause",
    "resume",
    "call-next",
    "call",
    "recall",
    "start",
    "finish",
    "miss",
    "transfer",
    "suspend",
)
SAMPLE = {"hall": "gongshu", "window": "1", "number": "A001", "id": "abc", "seq": "1"}


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE.get(m.group(1), "x"), template)


async def document(hall) -> dict:
    resp = await hall.client.get("/api/v1/openapi.json")
    return await ok(resp)


async def documented_routes(hall, doc: dict) -> dict:
    """Each documented (method, path) and the app route that answers it (None: no route)."""
    app = hall.client.app
    found = {}
    for template, ops in doc["paths"].items():
        for method in ops:
            request = make_mocked_request(method.upper(), concrete(template), app=app)
            match = await app.router.resolve(request)
            found[(method.upper(), template)] = (
                None if isinstance(match, MatchInfoError) else match.route
            )
    return found


async def test_openapi_is_public_json_version_3_1(hall):
    doc = await document(hall)
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["version"] == "1"


async def test_openapi_documents_only_routes_that_exist(hall):
    doc = await document(hall)
    missing = [op for op, route in (await documented_routes(hall, doc)).items() if route is None]
    assert missing == []


async def test_openapi_documents_every_api_v1_route(hall):
    doc = await document(hall)
    # by method and path pattern: the window actions' hot route (api.hot_routes) and the generic
    # one behind it, which answers the unknown actions, are one documented pattern
    documented = {(route.method, route.resource.canonical)
                  for route in (await documented_routes(hall, doc)).values() if route and route.resource}
    undocumented = [
        f"{route.method} {route.resource.canonical}"
        for route in hall.client.app.router.routes()
        if route.method != "HEAD"
        and route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and (route.method, route.resource.canonical) not in documented
    ]
    assert undocumented == []


async def test_openapi_documents_health_and_readiness(hall):
    paths = (await document(hall))["paths"]
    assert "get" in paths["/healthz"] and "get" in paths["/readyz"]


async def test_openapi_documents_each_window_action_and_ticket_action(hall):
    paths = (await document(hall))["paths"]
    for action in WINDOW_ACTIONS:
        assert "post" in paths[f"/api/v1/halls/{{hall}}/windows/{{window}}/{action}"], action
    for action in ("restore", "cancel"):
        assert "post" in paths[f"/api/v1/halls/{{hall}}/tickets/{{number}}/{action}"], action


async def test_openapi_documents_the_idempotency_key_on_issuing_and_window_actions(hall):
    paths = (await document(hall))["paths"]
    targets = ["/api/v1/halls/{hall}/tickets"] + [
        f"/api/v1/halls/{{hall}}/windows/{{window}}/{a}" for a in WINDOW_ACTIONS
    ]
    for target in targets:
        names = {p["name"] for p in paths[target]["post"]["parameters"] if p["in"] == "header"}
        assert "Idempotency-Key" in names, target


async def test_openapi_describes_problem_answers_and_bearer_auth(hall):
    doc = await document(hall)
    problem = doc["components"]["responses"]["Problem"]["content"]["application/problem+json"]
    assert {"type", "title", "status", "detail", "field"} <= set(problem["schema"]["properties"])
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    issue = doc["paths"]["/api/v1/halls/{hall}/tickets"]["post"]
    assert "201" in issue["responses"] and "409" in issue["responses"]
    assert issue["security"] == [{"bearer": []}]
    assert "security" not in doc["paths"]["/api/v1/halls/{hall}/queue"]["get"]


async def test_every_path_parameter_is_declared(hall):
    for template, ops in (await document(hall))["paths"].items():
        in_path = set(re.findall(r"\{(\w+)\}", template))
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == in_path, (method, template)


async def test_binary_answers_are_documented_with_their_real_media_types(hall):
    doc = await document(hall)
    for path, media in (("/api/v1/tickets/{id}/qr.svg", "image/svg+xml"),
                        ("/api/v1/tickets/{id}/preview.png", "image/png"),
                        ("/api/v1/halls/{hall}/announcements/{seq}.wav", "audio/wav")):
        assert list(doc["paths"][path]["get"]["responses"]["200"]["content"]) == [media], path


async def test_documented_text_limits_are_the_limits_the_server_enforces(hall):
    doc = await document(hall)
    schema = doc["paths"]["/api/v1/halls/{hall}/windows/{window}/pause"]["post"]["requestBody"]
    limit = schema["content"]["application/json"]["schema"]["properties"]["reason"]["maxLength"]
    await hall.act(1, "open")
    await hall.act(1, "pause", expect=400, reason="字" * (limit + 1))
    await hall.act(1, "pause", reason="字" * limit)
    window = doc["paths"]["/api/v1/halls/{hall}/windows/{window}/open"]["post"]["parameters"][1]
    assert window["schema"]["maximum"] == 9999
    resp = await hall.client.post(f"/api/v1/halls/gongshu/windows/{window['schema']['maximum'] + 1}/open",
                                  headers=hall.auth("1001"))
    assert resp.status == 400
