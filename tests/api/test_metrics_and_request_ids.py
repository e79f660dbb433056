"""/metrics (Prometheus text format) and request ids: the figures an operator scrapes follow what
the hall did; every answer carries a request id; the request log is one JSON line per request
with the route pattern, never a token or a ticket holder's secret."""

from __future__ import annotations

import json
import logging
import re

import pytest
from aiohttp.test_utils import make_mocked_request

from queue_server.web.observe import metrics_handler
from tests.monitor.test_alerts import sweep
from tests.support.hall import start_hall


@pytest.fixture
async def hall(fresh_db):
    async for h in start_hall(fresh_db):
        await h.add_device("K01", role="kiosk")
        await h.add_staff("1001", name="张三")
        await h.add_staff("9001", name="王经理", role="manager")
        await h.add_staff("admin1", name="管理员", role="admin", hall=None)
        yield h


def _samples(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


async def test_metrics_follow_the_halls_commands_queues_and_alerts(hall):
    for _ in range(3):
        await hall.issue("A")
    await hall.issue("B")
    await hall.act(1, "open")
    await hall.act(1, "call-next")
    await hall.act(2, "recall", by="9001", expect=409)  # window 2 is closed: refused
    hall.clock.advance(16 * 60)
    await sweep(hall)  # the waits pass A's warning minutes: an alert
    resp = await hall.client.get("/metrics")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    text = await resp.text()
    m = _samples(text)
    assert m['hallqueue_queue_length{hall="gongshu",service="A"}'] == 2
    assert m['hallqueue_queue_length{hall="gongshu",service="B"}'] == 1
    assert m['hallqueue_longest_wait_seconds{hall="gongshu",service="A"}'] >= 16 * 60
    assert m['hallqueue_alerts_open{hall="gongshu",kind="wait",severity="warning"}'] >= 1
    tickets = '{kind="/api/v1/halls/{hall}/tickets",outcome="ok"}'
    assert m[f"hallqueue_commands_total{tickets}"] == 4
    call = '{kind="/api/v1/halls/{hall}/windows/{window}/call-next",outcome="ok"}'
    assert m[f"hallqueue_commands_total{call}"] == 1
    assert m['hallqueue_commands_total{kind="/api/v1/halls/{hall}/windows/{window}/recall",outcome="refused"}'] == 1
    assert m["hallqueue_batch_commands_count"] >= 6, "every command went through a batch"
    assert m['hallqueue_request_seconds_count{method="POST",route="/api/v1/halls/{hall}/tickets"}'] == 4
    assert m['hallqueue_screens_connected{hall="gongshu"}'] == 0


async def test_metrics_are_for_the_loopback_and_admins_only(hall):
    app = hall.client.server.app

    class Remote:
        def get_extra_info(self, name, default=None):
            return ("10.20.30.40", 51000) if name == "peername" else default

        def is_closing(self):
            return False

    for who, status in ((None, 403), ("9001", 403), ("admin1", 200)):
        headers = {"Authorization": f"Bearer {hall.tokens[who]}"} if who else {}
        request = make_mocked_request("GET", "/metrics", headers=headers, app=app, transport=Remote())
        assert request.remote == "10.20.30.40"
        assert (await metrics_handler(request)).status == status, who


async def test_every_answer_has_a_request_id_and_the_log_line_holds_no_secret(hall, caplog):
    ticket = await hall.issue("A")
    secret = ticket["holder_secret"]
    caplog.set_level(logging.INFO, logger="queue_server.requests")
    mine = await hall.client.get(f"/api/v1/tickets/{secret}", headers={"X-Request-Id": "kiosk-7.abc"})
    assert mine.status == 200 and mine.headers["X-Request-Id"] == "kiosk-7.abc"
    hostile = await hall.client.get("/api/v1/halls/nowhere/queue", headers={"X-Request-Id": "a b\u00e9" + "x" * 80})
    assert hostile.status == 404
    made = hostile.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}", made), "a request id that is not short and plain is replaced"
    assert (await hostile.json()).get("title"), "the problem answer is unchanged"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "queue_server.requests"]
    by_id = {line["request_id"]: line for line in lines}
    assert by_id["kiosk-7.abc"] == {**by_id["kiosk-7.abc"], "method": "GET", "route": "/api/v1/tickets/{id}",
                                    "status": 200}
    assert by_id[made]["status"] == 404
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in logged and hall.tokens["9001"] not in logged


async def test_invented_methods_and_unknown_window_actions_add_no_new_metric_series(hall):
    await hall.act(1, "open")
    for i, method in enumerate(("PROPFIND", "MKCOL", "LOCK", "PURGE", "SEARCH")):  # llhttp knows these
        await hall.client.request(method, "/api/v1/halls/gongshu/queue")
        resp = await hall.client.post(f"/api/v1/halls/gongshu/windows/1/fly-{i}",
                                      headers={"Authorization": f"Bearer {hall.tokens['1001']}"})
        assert resp.status == 404
    text = await (await hall.client.get("/metrics")).text()
    assert "PROPFIND" not in text and "PURGE" not in text and "fly-" not in text
    m = _samples(text)
    assert sum(v for k, v in m.items() if k.startswith('hallqueue_requests_total{method="OTHER"')) == 5
    unknown = '{kind="/api/v1/halls/{hall}/windows/{window}/{action}",outcome="not_found"}'
    assert m[f"hallqueue_commands_total{unknown}"] == 5
    assert m['hallqueue_commands_total{kind="/api/v1/halls/{hall}/windows/{window}/open",outcome="ok"}'] == 1
