"""The hub: one encode per broadcast, never waiting for a slow screen."""

from __future__ import annotations

import asyncio
import json

import pytest
from screens_fakes import FakeHall

import queue_server.web.hub as hub_module
from queue_server.web.hub import Heartbeats, Hub, SubscriptionClosed


def _events(count: int, first: int = 1) -> list[dict]:
    return [{"seq": seq, "kind": "ticket_issued", "hall": "gongshu", "ticket": None,
             "window": None, "services": [], "payload": {}} for seq in range(first, first + count)]


async def test_a_published_event_reaches_every_subscriber_of_its_hall_only() -> None:
    hub = Hub()
    mine = [hub.subscribe("gongshu"), hub.subscribe("gongshu", area="social")]
    other = hub.subscribe("xiaohe")
    hub.publish("gongshu", _events(1))
    for subscription in mine:
        assert json.loads(await subscription.next())["seq"] == 1
    assert other.qsize() == 0


async def test_each_event_is_encoded_once_per_broadcast_whatever_the_subscribers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real_encode = hub_module.encode

    def counting_encode(message):
        calls.append(message)
        return real_encode(message)

    monkeypatch.setattr(hub_module, "encode", counting_encode)
    hub = Hub()
    subscriptions = [hub.subscribe("gongshu") for _ in range(50)]
    hub.publish("gongshu", _events(3))
    assert len(calls) == 3
    frames = {sub._frames[0] for sub in subscriptions}
    assert len(frames) == 1  # the very same frame text for everyone
    assert len({id(sub._frames[0]) for sub in subscriptions}) == 1  # not even copied


async def test_a_never_reading_subscriber_is_dropped_and_the_others_get_every_frame() -> None:
    hub = Hub(queue_size=8)
    stalled = hub.subscribe("gongshu")
    readers = [hub.subscribe("gongshu") for _ in range(20)]
    received: list[list[int]] = [[] for _ in readers]

    async def read(index: int) -> None:
        while True:
            received[index].append(json.loads(await readers[index].next())["seq"])

    tasks = [asyncio.create_task(read(i)) for i in range(len(readers))]
    for batch in range(50):
        # publish() is synchronous: the loop cannot have been yielded to a slow reader.
        hub.publish("gongshu", _events(4, first=batch * 4 + 1))
        await asyncio.sleep(0)  # let the readers run between commits
    await asyncio.sleep(0)
    for task in tasks:
        task.cancel()
    assert stalled.dropped and stalled.closed
    assert hub.subscriber_count("gongshu") == len(readers)
    for seqs in received:
        assert seqs == list(range(1, 201))
    with pytest.raises(SubscriptionClosed) as closed:
        await stalled.next()
    assert closed.value.dropped


async def test_publish_does_not_wait_for_a_full_subscriber() -> None:
    hub = Hub(queue_size=2)
    hub.subscribe("gongshu")
    loop = asyncio.get_running_loop()
    started = loop.time()
    hub.publish("gongshu", _events(1000))
    assert hub.subscriber_count("gongshu") == 0
    assert loop.time() - started < 1.0


async def test_closing_wakes_a_waiting_reader() -> None:
    hub = Hub()
    subscription = hub.subscribe("gongshu")
    waiting = asyncio.create_task(subscription.next())
    await asyncio.sleep(0)
    subscription.close()
    with pytest.raises(SubscriptionClosed) as closed:
        await waiting
    assert not closed.value.dropped
    assert hub.halls() == []


async def test_heartbeats_ask_the_store_once_per_hall_not_per_screen() -> None:
    hub, fake = Hub(), FakeHall()
    asked: list[str] = []

    async def latest_seq(hall: str) -> int:
        asked.append(hall)
        return 41

    screens = [hub.subscribe("gongshu") for _ in range(30)]
    await Heartbeats(hub, latest_seq, fake.clock).beat_all()
    assert asked == ["gongshu"]
    for screen in screens:
        beat = json.loads(await screen.next())
        assert beat["type"] == "heartbeat" and beat["seq"] == 41


async def test_a_resync_request_makes_the_heartbeat_task_beat_at_once() -> None:
    hub, fake = Hub(), FakeHall()
    screen = hub.subscribe("gongshu")
    beats = Heartbeats(hub, fake.latest_seq, fake.clock, interval=3600)
    task = asyncio.create_task(beats.run())
    try:
        await asyncio.sleep(0.01)
        assert screen.qsize() == 0
        hub.request_resync()
        frame = await asyncio.wait_for(screen.next(), 1.0)
        assert json.loads(frame)["type"] == "heartbeat"
    finally:
        task.cancel()


async def test_a_failing_store_skips_the_heartbeat_without_stopping_the_task() -> None:
    hub, fake = Hub(), FakeHall()
    screen = hub.subscribe("gongshu")

    async def broken(hall: str) -> int:
        raise ConnectionRefusedError("store down")

    await Heartbeats(hub, broken, fake.clock).beat_all()
    assert screen.qsize() == 0


def test_a_hub_needs_room_for_at_least_one_frame() -> None:
    with pytest.raises(ValueError, match="queue_size must be at least 1"):
        Hub(queue_size=0)
