"""Issue 9: a refused keyed command costs no second run of its batch; the console's actions
come from the same domain guards as the commands."""

from __future__ import annotations

import asyncio

import pytest

from queue_server.domain.errors import Refused
from queue_server.service.principal import Principal
from queue_server.service.queue import QueueService
from queue_server.web.commands import window_command
from tests.support.hall import queue_service_on

CLERK = Principal("staff", "1001", "张三", "staff", "gongshu")
OTHER_CLERK = Principal("staff", "1002", "李四", "staff", "gongshu")
KIOSK = Principal("device", "K01", "K01", "kiosk", "gongshu")


@pytest.fixture
async def service(fresh_db):
    async for svc in queue_service_on(fresh_db, ignore_hours=True):
        yield svc


def _issue(svc: QueueService, key: str | None = None):
    return svc.issue("gongshu", KIOSK, service="A", priority=None, priority_reason=None, channel="kiosk", key=key)


async def test_a_refused_keyed_command_does_not_rerun_its_batch_and_the_others_commit(service):
    await _issue(service)
    await service.run("gongshu", window_command("open", 1, {}), CLERK)
    await service.run("gongshu", window_command("call-next", 1, {}), CLERK)
    before = service.batches
    # One batch: a recall too soon (refused, with a key) between two tickets being issued.
    results = await asyncio.gather(
        _issue(service, key="tap-1"),
        service.run("gongshu", window_command("recall", 1, {}), CLERK, key="recall-1"),
        _issue(service, key="tap-2"),
        return_exceptions=True,
    )
    assert service.batches == before + 1, "the refusal ran the batch a second time"
    assert isinstance(results[1], Refused) and results[1].code == "ticket.recall_too_soon"
    assert results[0].created and results[2].created
    assert [r.body["number"] for r in (results[0], results[2])] == ["A002", "A003"]
    # The refused key's retry answers the same refusal, again in one batch.
    with pytest.raises(Refused) as again:
        await service.run("gongshu", window_command("recall", 1, {}), CLERK, key="recall-1")
    assert again.value.code == "ticket.recall_too_soon"
    assert service.batches == before + 2


async def test_a_retry_of_a_success_that_the_state_now_refuses_replays_the_success_in_one_batch(service):
    await _issue(service)
    await service.run("gongshu", window_command("open", 1, {}), CLERK)
    await service.run("gongshu", window_command("call-next", 1, {}), CLERK)
    await service.run("gongshu", window_command("start", 1, {}), CLERK)
    first = await service.run("gongshu", window_command("finish", 1, {}), CLERK, key="finish-1")
    before = service.batches
    again = await service.run("gongshu", window_command("finish", 1, {}), CLERK, key="finish-1")
    assert again == first
    assert service.batches == before + 1


async def test_the_clerks_window_view_lists_each_action_allowed_or_refused_with_code_and_reason(service):
    await _issue(service)

    def actions(view):
        return {a["action"]: a for a in view["actions"]}

    closed = actions(await service.window_queue("gongshu", 1, CLERK))
    assert closed["open"] == {"action": "open", "allowed": True}
    assert closed["call-next"]["allowed"] is False and closed["call-next"]["code"] == "window.not_open"
    assert "未开启" in closed["call-next"]["reason"]
    await service.run("gongshu", window_command("open", 1, {}), CLERK)
    await service.run("gongshu", window_command("call-next", 1, {}), CLERK)
    called = actions(await service.window_queue("gongshu", 1, CLERK))
    assert {n for n, a in called.items() if a["allowed"]} == {"start", "transfer", "suspend", "message"}
    assert called["recall"]["code"] == "ticket.recall_too_soon"
    assert called["finish"]["code"] == "ticket.not_serving"
    assert called["pause"]["code"] == "window.busy"
    assert called["open"]["code"] == "window.already_open"
    # The console shows what the server answers: each refused action is refused the same way.
    for name, action in called.items():
        if not action["allowed"] and name not in ("call", "message", "open"):
            with pytest.raises(Refused) as refused:
                await service.run("gongshu", window_command(name, 1, {"reason": "x"}), CLERK)
            assert refused.value.code == action["code"], name
    other = actions(await service.window_queue("gongshu", 1, OTHER_CLERK))
    assert other["start"]["allowed"] is False and other["start"]["code"] == "auth.not_on_window"
