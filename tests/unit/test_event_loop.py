"""`serve` picks uvloop when it is installed, and the standard loop when told to (issue 14)."""

from __future__ import annotations

import asyncio

import pytest

from queue_server.main import _fast_event_loop


@pytest.fixture
def restore_policy():
    before = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(before)


def test_serve_uses_uvloop_when_installed(restore_policy, monkeypatch):
    import uvloop  # the test extra installs it: a skip here would prove nothing
    monkeypatch.delenv("QUEUE_EVENT_LOOP", raising=False)
    asyncio.set_event_loop_policy(None)
    _fast_event_loop()
    assert isinstance(asyncio.get_event_loop_policy(), uvloop.EventLoopPolicy)


def test_queue_event_loop_asyncio_keeps_the_standard_loop(restore_policy, monkeypatch):
    monkeypatch.setenv("QUEUE_EVENT_LOOP", "asyncio")
    asyncio.set_event_loop_policy(None)
    _fast_event_loop()
    assert type(asyncio.get_event_loop_policy()) is asyncio.DefaultEventLoopPolicy
