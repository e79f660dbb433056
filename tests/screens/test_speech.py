"""Server-rendered announcements with the real espeak-ng, and the terminal speaker."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest

from display_client.speech import Speaker
from queue_server.adapters.speech import Speech, SpeechUnavailable, fix_wav_sizes
from queue_server.protocol import announcement


def _sizes(wav: bytes) -> tuple[int, int]:
    riff = struct.unpack_from("<I", wav, 4)[0]
    data_at = wav.index(b"data")
    return riff, struct.unpack_from("<I", wav, data_at + 4)[0]


async def test_an_announcement_renders_to_a_wav_with_true_sizes(tmp_path: Path) -> None:
    wav = await Speech(tmp_path).render(announcement("A023", 5))
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    riff, data = _sizes(wav)
    assert riff == len(wav) - 8
    assert data == len(wav) - wav.index(b"data") - 8
    assert len(wav) > 50_000  # a few seconds of 22 kHz speech, said twice


async def test_renders_are_cached_in_memory_and_on_disk(tmp_path: Path) -> None:
    text = announcement("B011", 2, 2)
    speech = Speech(tmp_path)
    first = await speech.render(text)
    assert await asyncio.to_thread(lambda: list(tmp_path.glob("*.wav")))
    broken = Speech(tmp_path, executable="/nonexistent/espeak-ng")
    assert await broken.render(text) == first  # from disk, no espeak needed
    assert await speech.render(text) is first  # from memory


async def test_a_missing_espeak_is_a_clear_error() -> None:
    with pytest.raises(SpeechUnavailable, match="not installed"):
        await Speech(executable="/nonexistent/espeak-ng").render("请 A 0 2 3 号")


def test_fix_wav_sizes_leaves_other_data_alone() -> None:
    assert fix_wav_sizes(b"not a wav") == b"not a wav"


async def test_the_terminal_speaker_is_silent_without_espeak() -> None:
    speaker = Speaker(executable="/nonexistent/espeak-ng")
    assert not speaker.available()
    speaker.say("请 A 0 2 3 号")
    await speaker.close()
