"""Owning background tasks: cancel a child and wait for it, without swallowing our own cancellation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel `task` (a child the caller owns) and wait until it has finished.

    The child's own CancelledError ends here. If the *caller* is cancelled while it waits
    (a cancellation requested after this call began), that cancellation is re-raised, never
    swallowed. A caller that is already unwinding from an earlier cancellation (e.g. an
    aiohttp cleanup running in the cancelled main task) can still stop its children: only a
    new request counts. A child that failed is logged (its owner is stopping it; there is
    no one else to tell)."""
    current = asyncio.current_task()
    requested = current.cancelling() if current is not None else 0
    if not task.done():
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if current is not None and current.cancelling() > requested:
            raise
    except Exception:
        log.exception("task %s failed", task.get_name())
