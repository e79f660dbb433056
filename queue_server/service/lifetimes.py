"""Owning background tasks: cancel a child and wait for it, without swallowing our own cancellation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel `task` (a child the caller owns) and wait until it has finished.

    The child's own CancelledError ends here; if the *caller* is being cancelled meanwhile,
    that cancellation is re-raised, never swallowed. A child that failed is logged (its owner
    is stopping it; there is no one else to tell)."""
    if not task.done():
        task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
    except Exception:
        log.exception("task %s failed", task.get_name())
