"""Server-side call announcements rendered offline with espeak-ng (no online TTS service).

Rendering runs in a subprocess (never blocking the loop), with a timeout; WAVs are cached in
memory and, when `cache_dir` is given, on disk, keyed by the text's hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import struct
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)


class SpeechUnavailable(RuntimeError):
    """espeak-ng is missing or failed; the message says which and how."""


class Speech:
    """Renders Mandarin announcement text to WAV bytes with `espeak-ng -v cmn`."""

    def __init__(self, cache_dir: Path | None = None, *, voice: str = "cmn",
                 executable: str = "espeak-ng", speed: int = 150, timeout: float = 10.0,
                 memory_items: int = 256) -> None:
        self.cache_dir = cache_dir
        self.voice = voice
        self.executable = executable
        self.speed = speed
        self.timeout = timeout
        self.memory_items = memory_items
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._rendering: dict[str, asyncio.Future[bytes]] = {}

    def available(self) -> bool:
        return shutil.which(self.executable) is not None

    async def render(self, text: str) -> bytes:
        """The WAV for `text`; concurrent requests for the same text share one render."""
        key = hashlib.sha256(f"{self.voice}|{self.speed}|{text}".encode()).hexdigest()
        cached = self._memory.get(key)
        if cached is not None:
            self._memory.move_to_end(key)
            return cached
        pending = self._rendering.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        try:
            wav = await self._load_or_render(key, text)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must log it
            raise
        else:
            future.set_result(wav)
            self._remember(key, wav)
            return wav
        finally:
            del self._rendering[key]

    async def _load_or_render(self, key: str, text: str) -> bytes:
        path = self.cache_dir / f"{key}.wav" if self.cache_dir is not None else None
        if path is not None:
            try:
                return await asyncio.to_thread(path.read_bytes)
            except FileNotFoundError:
                pass
        wav = await self._espeak(text)
        if path is not None:
            await asyncio.to_thread(_write_atomically, path, wav)
        return wav

    async def _espeak(self, text: str) -> bytes:
        if not self.available():
            raise SpeechUnavailable(f"{self.executable} is not installed; "
                                    "install espeak-ng or let screens use their own voice")
        process = await asyncio.create_subprocess_exec(
            self.executable, "-v", self.voice, "-s", str(self.speed), "--stdout", "--", text,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(self.timeout):
                wav, err = await process.communicate()
        except BaseException:
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0 or len(wav) < 44:
            raise SpeechUnavailable(f"{self.executable} -v {self.voice} failed with exit code "
                                    f"{process.returncode}: {err.decode(errors='replace')[:200]}")
        return fix_wav_sizes(wav)

    def _remember(self, key: str, wav: bytes) -> None:
        self._memory[key] = wav
        while len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)


def fix_wav_sizes(wav: bytes) -> bytes:
    """espeak-ng writing to a pipe leaves the RIFF and data sizes as placeholders; some
    players then read past the end. Put the real sizes in."""
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        return wav
    out = bytearray(wav)
    struct.pack_into("<I", out, 4, len(out) - 8)
    offset = 12
    while offset + 8 <= len(out):
        chunk, size = bytes(out[offset:offset + 4]), struct.unpack_from("<I", out, offset + 4)[0]
        if chunk == b"data":
            struct.pack_into("<I", out, offset + 4, len(out) - offset - 8)
            break
        offset += 8 + size + (size & 1)
    return bytes(out)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
