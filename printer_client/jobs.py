"""Which print jobs this kiosk has printed, kept on disk so a job delivered twice prints once.

The file holds one JSON string per line, oldest first. Marking appends a line (cheap for
every ticket); when the file grows past twice the limit it is rewritten atomically with the
newest ids. A line without its newline is a write cut short by a crash and is dropped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from pathlib import Path

import orjson

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 10_000


class PrintedJobs:
    """The ids of the last `limit` printed jobs. Safe to call from worker threads."""

    def __init__(self, path: str | os.PathLike[str], *, limit: int = DEFAULT_LIMIT):
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.path = Path(path)
        self.limit = limit
        self._lock = threading.Lock()
        self._ids: dict[str, None] = {}  # insertion-ordered: oldest first
        self._lines_on_disk = 0
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        lines = text.split("\n")
        complete, torn = lines[:-1], lines[-1]
        damaged = bool(torn)
        for number, line in enumerate(complete, start=1):
            try:
                job_id = orjson.loads(line)
            except orjson.JSONDecodeError:
                job_id = None
            if not isinstance(job_id, str):
                log.warning(
                    "%s line %d is not a job id; ignoring it: %r", self.path, number, line[:80]
                )
                damaged = True
                continue
            self._remember(job_id)
        self._lines_on_disk = len(complete)
        if damaged or self._lines_on_disk > 2 * self.limit:
            # Rewrite now: a later append after a torn line would be glued onto it.
            self._compact()

    def _remember(self, job_id: str) -> None:
        self._ids.pop(job_id, None)
        self._ids[job_id] = None
        while len(self._ids) > self.limit:
            del self._ids[next(iter(self._ids))]

    def _compact(self) -> None:
        body = "".join(_line(job_id) for job_id in self._ids)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(body)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.path.parent)
        self._lines_on_disk = len(self._ids)

    def seen(self, job_id: str) -> bool:
        return job_id in self._ids

    def mark(self, job_id: str) -> None:
        """Remember `job_id` as printed; on disk before this returns."""
        if not isinstance(job_id, str) or not job_id:
            raise ValueError(f"job id must be a non-empty string, got {job_id!r}")
        with self._lock:
            if job_id in self._ids:
                return
            with open(self.path, "a", encoding="utf-8") as file:
                file.write(_line(job_id))
                file.flush()
                os.fsync(file.fileno())
            self._lines_on_disk += 1
            self._remember(job_id)
            if self._lines_on_disk > 2 * self.limit:
                self._compact()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._ids


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and harmless to skip.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _line(job_id: str) -> str:
    """One line of the file: the id as a JSON string (UTF-8, not \\u-escaped) and a newline."""
    return orjson.dumps(job_id).decode() + "\n"
