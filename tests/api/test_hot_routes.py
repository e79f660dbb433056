"""The busiest commands' routes are tried first, and every request still reaches the handler it
reached before (issue 14): each hot route matches only paths whose first match among the other
routes, in the order they were added, is the same handler."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from queue_server.main import create_app
from queue_server.service.commands import WINDOW_ACTIONS
from queue_server.web import api
from tests.support.hall import sample_config


async def _matching(app, method: str, path: str) -> list:
    request = make_mocked_request(method, path, app=app)
    found = []
    for resource in app.router.resources():
        match, _ = await resource.resolve(request)
        if match is not None:
            found.append((resource, match.handler))
    return found


def hot_resources(app) -> set[int]:
    """The resources api.hot_routes added: the constrained window route and the first tickets route."""
    resources = list(app.router.resources())
    window = [r for r in resources if r.canonical.endswith("/windows/{window}/{action}")
              and "call" in r.get_info()["pattern"].pattern]
    tickets = [r for r in resources if r.canonical == "/api/v1/halls/{hall}/tickets"]
    assert len(window) == 1 and len(tickets) == 1
    return {id(window[0]), id(tickets[0])}


@pytest.fixture
def app():
    return create_app(sample_config(), dsn="postgresql://nobody@127.0.0.1:1/none", redis_url="")


HOT_PATHS = [f"/api/v1/halls/gongshu/windows/3/{a}" for a in WINDOW_ACTIONS] + ["/api/v1/halls/gongshu/tickets"]


@pytest.mark.parametrize("path", HOT_PATHS)
async def test_a_hot_path_is_answered_first_by_the_handler_the_other_routes_would_choose(app, path):
    hot = hot_resources(app)
    found = await _matching(app, "POST", path)
    assert id(found[0][0]) in hot
    rest = [handler for resource, handler in found if id(resource) not in hot]
    if path.endswith("/tickets"):  # moved whole: no other route matches a ticket's POST
        assert found[0][1] is api.issue_ticket and rest == []
    else:
        assert rest and rest[0] is found[0][1] is api.window_action


@pytest.mark.parametrize("path", ["/api/v1/halls/gongshu/windows/3/rating", "/api/v1/halls/gongshu/windows/3/survey",
                                  "/api/v1/halls/gongshu/windows/3/no-such-action"])
async def test_other_window_paths_never_meet_a_hot_route(app, path):
    hot = hot_resources(app)
    found = await _matching(app, "POST", path)
    assert found and all(id(resource) not in hot for resource, _ in found)
