"""The websocket endpoint and page routes, wired to an in-memory hall (endpoint only: the
full stack is tested with the real store elsewhere)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from screens_fakes import TOKEN, FakeHall, ScreenServer, screen_app

from queue_server.protocol import announcement, decode
from queue_server.web.hub import Hub

UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
PATH = "/ws/v1/halls/gongshu"


class FakeSpeech:
    def __init__(self) -> None:
        self.texts: list[str] = []

    async def render(self, text: str) -> bytes:
        self.texts.append(text)
        return b"RIFF....WAVEfmt "


@pytest.fixture
async def client(aiohttp_client, fake: FakeHall, hub: Hub):
    app = screen_app(fake, hub, allowed_origins=lambda: {"https://screens.example.org"},
                     speech=FakeSpeech(), heartbeat_interval=0.2)
    return await aiohttp_client(app)


async def _connect(client, query: str = f"?token={TOKEN}", **kwargs):
    return await client.ws_connect(PATH + query, protocols=("queue.v1",), **kwargs)


async def _receive(ws, wait: float = 2.0):
    return decode((await ws.receive(timeout=wait)).data)


async def _handshake(client, query: str = f"?token={TOKEN}", **headers: str):
    return await client.get(PATH + query, headers={**UPGRADE, **headers})


async def test_a_client_not_offering_queue_v1_is_refused_at_the_handshake(client) -> None:
    for offered in ({}, {"Sec-WebSocket-Protocol": "chat, superchat"}):
        response = await _handshake(client, **offered)
        assert response.status == 400
        assert response.content_type == "application/problem+json"
        assert "queue.v1" in (await response.json())["detail"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(PATH + f"?token={TOKEN}")
    assert refused.value.status == 400


async def test_a_foreign_origin_is_refused(client) -> None:
    response = await _handshake(client, **{"Sec-WebSocket-Protocol": "queue.v1",
                                           "Origin": "https://evil.example.com"})
    assert response.status == 403
    assert "evil.example.com" in (await response.json())["detail"]
    response = await _handshake(client, **{"Sec-WebSocket-Protocol": "queue.v1",
                                           "Origin": "null"})
    assert response.status == 403


async def test_the_same_host_and_allowed_origins_are_accepted(client) -> None:
    own = f"http://{client.server.host}:{client.server.port}"
    for origin in (own, "https://screens.example.org", "HTTPS://SCREENS.example.org/"):
        ws = await _connect(client, headers={"Origin": origin})
        assert (await _receive(ws)).seq == 0
        await ws.close()


async def test_a_missing_or_wrong_token_is_refused_with_401(client) -> None:
    for query in ("", "?token=wrong"):
        response = await _handshake(client, query, **{"Sec-WebSocket-Protocol": "queue.v1"})
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_the_token_may_come_as_a_bearer_header(client) -> None:
    ws = await _connect(client, "", headers={"Authorization": f"Bearer {TOKEN}"})
    assert (await _receive(ws)).snapshot["hall"] == "gongshu"
    await ws.close()


async def test_an_unknown_hall_is_404(client) -> None:
    response = await client.get("/ws/v1/halls/nowhere", headers={
        **UPGRADE, "Sec-WebSocket-Protocol": "queue.v1"})
    assert response.status == 404


async def test_a_screen_gets_the_snapshot_first_then_each_event(client, fake, hub) -> None:
    fake.call("A023", 1)
    ws = await _connect(client)
    assert ws.protocol == "queue.v1"
    first = await _receive(ws)
    assert first.seq == 1 and first.snapshot == fake.snapshot
    events = [fake.call("B011", 2), fake.call("A023", 1, calls=2)]
    hub.publish("gongshu", events)
    assert [(await _receive(ws)).event for _ in events] == events
    await ws.close()


async def test_a_resync_is_answered_with_the_missed_events(client, fake) -> None:
    ws = await _connect(client)
    await _receive(ws)
    missed = [fake.call("A023", 1), fake.start_service(1), fake.finish(1)]
    await ws.send_str(json.dumps({"type": "resync", "after": 0}))
    assert [(await _receive(ws)).event for _ in missed] == missed
    await ws.close()


async def test_a_resync_the_ledger_cannot_serve_is_answered_with_a_snapshot(client, fake) -> None:
    ws = await _connect(client)
    await _receive(ws)
    for n in range(5):
        fake.call(f"A{n:03d}", 1)
    fake.retained_from = 4  # events 1..3 are archived
    await ws.send_str(json.dumps({"type": "resync", "after": 1}))
    answer = await _receive(ws)
    assert answer.snapshot == fake.snapshot
    await ws.close()


async def test_a_resync_of_more_than_500_events_is_answered_with_a_snapshot(client, fake) -> None:
    for _ in range(501):
        fake.issue("A")
    ws = await _connect(client, f"?token={TOKEN}&after=0")
    answer = await _receive(ws)
    assert answer.snapshot == fake.snapshot
    await ws.close()


async def test_reconnecting_with_after_gets_only_the_missed_events(client, fake) -> None:
    fake.call("A023", 1)
    missed = fake.call("B011", 2)
    ws = await _connect(client, f"?token={TOKEN}&after=1")
    assert (await _receive(ws)).event == missed
    assert (await _receive(ws)).seq == 2  # a heartbeat confirming where the screen stands
    await ws.close()
    assert fake.snapshot_calls == 0


async def test_reconnecting_having_missed_nothing_is_confirmed_at_once(client, fake) -> None:
    fake.call("A023", 1)
    ws = await _connect(client, f"?token={TOKEN}&after=1")
    beat = await _receive(ws, wait=0.5)
    assert type(beat).__name__ == "Heartbeat" and beat.seq == 1
    await ws.close()


async def test_a_failing_token_check_is_503_not_500(aiohttp_client, fake, hub) -> None:
    async def broken(hall: str, token: str) -> bool:
        raise ConnectionRefusedError("store down")

    fake.authenticate = broken  # type: ignore[method-assign]
    client = await aiohttp_client(screen_app(fake, hub))
    response = await _handshake(client, **{"Sec-WebSocket-Protocol": "queue.v1"})
    assert response.status == 503 and response.headers["Retry-After"]


async def test_a_ping_is_answered_with_a_heartbeat_of_the_halls_seq(client, fake) -> None:
    ws = await _connect(client)
    await _receive(ws)
    fake.call("A023", 1)
    await ws.send_str('{"type": "ping"}')
    beat = await _receive(ws)
    assert beat.seq == 1 and beat.at.endswith("+08:00")
    await ws.close()


async def test_heartbeats_come_without_asking(client) -> None:
    ws = await _connect(client)
    await _receive(ws)
    beat = await _receive(ws, wait=2)
    assert type(beat).__name__ == "Heartbeat"
    await ws.close()


async def test_an_invalid_frame_gets_an_error_then_a_close(client) -> None:
    ws = await _connect(client)
    await _receive(ws)
    await ws.send_str('{"type": "resync", "after": "yesterday"}')
    error = await _receive(ws)
    assert error.code == "bad_message" and "after" in error.detail
    closing = await ws.receive(timeout=2)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 1008


async def test_a_dropped_screen_is_told_and_closed_with_code_4000(aiohttp_client, fake) -> None:
    hub = Hub(queue_size=4)
    client = await aiohttp_client(screen_app(fake, hub))
    ws = await _connect(client)
    await _receive(ws)
    # Five frames at once into a buffer of four: the forwarder has had no turn to drain.
    hub.publish("gongshu", [fake.issue("A") for _ in range(5)])
    assert hub.subscriber_count("gongshu") == 0
    error = await _receive(ws)
    assert error.code == "too_slow"
    await ws.receive(timeout=2)
    assert ws.close_code == 4000


async def test_a_screen_whose_socket_stops_reading_is_dropped_while_others_get_everything(
        aiohttp_server, fake) -> None:
    """A stalled TCP peer fills the kernel buffers, then its subscription: it is dropped,
    and a screen that reads gets every frame meanwhile."""
    hub = Hub(queue_size=16)
    server = await aiohttp_server(screen_app(fake, hub))
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write((f"GET {PATH}?token={TOKEN} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
                  "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Protocol: queue.v1\r\n\r\n").encode())
    assert b" 101 " in await reader.readline()
    # ...and never read again.
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.make_url(PATH + f"?token={TOKEN}"),
                                      protocols=("queue.v1",))
        await _receive(ws)
        big = {"notices": ["请保管好随身物品" * 4000]}  # ~100 KB a frame
        published = 0
        async with asyncio.timeout(20):
            while hub.subscriber_count("gongshu") == 2:
                hub.publish("gongshu", [fake.record("notice_posted", payload=big)])
                published += 1
                received = (await _receive(ws)).seq
                assert received == published
        assert hub.subscriber_count("gongshu") == 1
        await ws.close()
    writer.close()


async def test_a_failing_store_closes_the_screen_with_try_again(client, fake) -> None:
    fake.fail_snapshot = True
    ws = await _connect(client)
    error = await _receive(ws)
    assert error.code == "unavailable"
    await ws.receive(timeout=2)
    assert ws.close_code == 1013


async def test_screens_reconnecting_together_share_one_snapshot(client, fake) -> None:
    sockets = await asyncio.gather(*(_connect(client) for _ in range(20)))
    for ws in sockets:
        assert (await _receive(ws)).seq == 0
        await ws.close()
    assert fake.snapshot_calls < 20


async def test_the_pages_are_served_for_known_halls(client) -> None:
    for path in ("/display/hall/gongshu", "/display/window/gongshu/5"):
        response = await client.get(path)
        assert response.status == 200
        assert "text/html" in response.content_type
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert (await client.get("/display/hall/nowhere")).status == 404
    assert (await client.get("/display/static/reducer.js")).status == 200


async def test_the_announcement_wav_of_a_call(client, fake) -> None:
    fake.issue("A")
    call = fake.call("A023", 1)
    response = await client.get(f"/api/v1/halls/gongshu/announcements/{call['seq']}.wav"
                                f"?token={TOKEN}")
    assert response.status == 200 and response.content_type == "audio/wav"
    not_a_call = await client.get(f"/api/v1/halls/gongshu/announcements/1.wav?token={TOKEN}")
    assert not_a_call.status == 404
    unknown = await client.get(f"/api/v1/halls/gongshu/announcements/99.wav?token={TOKEN}")
    assert unknown.status == 404
    no_token = await client.get(f"/api/v1/halls/gongshu/announcements/{call['seq']}.wav")
    assert no_token.status == 401


async def test_the_wav_is_rendered_from_the_announcement_text(aiohttp_client, fake, hub) -> None:
    speech = FakeSpeech()
    client = await aiohttp_client(screen_app(fake, hub, speech=speech))
    call = fake.call("C105", 5, calls=2)
    await client.get(f"/api/v1/halls/gongshu/announcements/{call['seq']}.wav?token={TOKEN}")
    assert speech.texts == [announcement("C105", 5, 2)]


async def test_shutting_down_closes_screens_with_going_away(fake, hub) -> None:
    server = ScreenServer(fake, hub)
    await server.start()
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.url + PATH + f"?token={TOKEN}",
                                      protocols=("queue.v1",))
        await _receive(ws)
        stopping = asyncio.create_task(server.stop())
        message = await ws.receive(timeout=3)
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1001
        await stopping
    assert hub.subscriber_count() == 0
