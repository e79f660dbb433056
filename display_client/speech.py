"""Speaks announcements with espeak-ng (`-v cmn`) when installed, one at a time."""

from __future__ import annotations

import asyncio
import logging
import shutil

log = logging.getLogger(__name__)


class Speaker:
    """A queue of texts spoken in order, never overlapping; `say` does not wait."""

    def __init__(self, *, voice: str = "cmn", executable: str = "espeak-ng", speed: int = 150,
                 max_waiting: int = 3) -> None:
        self.voice, self.executable, self.speed = voice, executable, speed
        self.max_waiting = max_waiting
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def available(self) -> bool:
        return shutil.which(self.executable) is not None

    def say(self, text: str) -> None:
        if not self.available():
            return
        while self._queue.qsize() >= self.max_waiting:  # a burst: drop the oldest
            self._queue.get_nowait()
        self._queue.put_nowait(text)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._speak_all(), name="speaker")

    async def _speak_all(self) -> None:
        while not self._queue.empty():
            text = self._queue.get_nowait()
            process = await asyncio.create_subprocess_exec(
                self.executable, "-v", self.voice, "-s", str(self.speed), "--", text,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL)
            try:
                async with asyncio.timeout(10 + len(text)):
                    await process.wait()
            except TimeoutError:
                log.warning("espeak-ng took too long; skipping %r", text)
                process.kill()
                await process.wait()
            except asyncio.CancelledError:
                process.kill()
                await process.wait()
                raise

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # we are being cancelled ourselves, not just the speaker
