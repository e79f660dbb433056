"""A real TCP proxy the tests put between the server and PostgreSQL, to cut or stall the
database as a network fault would.

- `cut()`: every connection through the proxy is closed and new ones are refused (the
  listener stays bound but a connection is reset as soon as it is accepted).
- `stall()`: connections are accepted and kept open, but nothing is forwarded either way:
  a database that accepts and never answers.
- `restore()`: new connections are forwarded again (connections made while stalled are
  closed: what they sent may have been half-forwarded).

Runs on the event loop of the test that starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from urllib.parse import urlsplit, urlunsplit


class Mode(enum.Enum):
    FORWARD = "forward"
    CUT = "cut"
    STALL = "stall"


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode = Mode.FORWARD
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0
        self._unstalled = asyncio.Event()  # set unless stalled: what stalled loops wait for
        self._unstalled.set()

    @classmethod
    def for_dsn(cls, dsn: str) -> TcpProxy:
        parts = urlsplit(dsn)
        if not parts.hostname or parts.hostname.startswith("/"):
            raise ValueError(f"the proxy needs a TCP database URL, got {dsn!r}")
        return cls(parts.hostname, parts.port or 5432)

    def dsn_through(self, dsn: str) -> str:
        """`dsn` with its host and port replaced by the proxy's."""
        parts = urlsplit(dsn)
        user = parts.netloc.rpartition("@")[0]
        netloc = f"{user}@127.0.0.1:{self.port}" if user else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self._close_all()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    def cut(self) -> None:
        self.mode = Mode.CUT
        self._unstalled.set()
        self._close_all()

    def stall(self) -> None:
        """Forward nothing more, on open connections and new ones; keep them all open."""
        self.mode = Mode.STALL
        self._unstalled.clear()

    def restore(self) -> None:
        self.mode = Mode.FORWARD
        self._unstalled.set()

    def _close_all(self) -> None:
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                transport = writer.transport
                transport.abort()  # a reset, as a network cut looks to the peer
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode is Mode.CUT:
            writer.transport.abort()
            return
        self._writers.add(writer)
        if self.mode is Mode.STALL:
            # Accepted, and never answered: held until cut or closed.
            stalled = asyncio.current_task()
            assert stalled is not None
            self._tasks.add(stalled)
            try:
                await self._unstalled.wait()
            finally:
                self._tasks.discard(stalled)
                self._writers.discard(writer)
                writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._writers.discard(writer)
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink, (writer, up_writer)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        try:
            while True:
                data = await source.read(65536)
                if not data:
                    break
                await self._unstalled.wait()  # stalled: hold what came in, the peer waits
                if self.mode is Mode.CUT:
                    break
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in pair:
                self._writers.discard(w)
                with contextlib.suppress(Exception):
                    w.transport.abort()
