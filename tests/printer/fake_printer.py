"""A fake network thermal printer on 127.0.0.1: records what it is sent, answers DLE EOT.

It can be switched off (listener and connections closed) and on again on the same port,
given any status (online, paper out, cover open …), made silent to status queries, or made
to stop reading so a sender's buffers fill up.
"""

from __future__ import annotations

import asyncio

ONLINE = 0x12  # DLE EOT 1: fixed bits only, bit 3 (offline) clear
OFFLINE = 0x1A  # bit 3 set
NO_CAUSE = 0x12  # DLE EOT 2
COVER_OPEN_CAUSE = 0x16  # bit 2
PAPER_END_CAUSE = 0x32  # bit 5: stopped for lack of paper
PAPER_OK = 0x12  # DLE EOT 4
PAPER_NEAR_END = 0x1E  # bits 2-3
PAPER_OUT = 0x72  # bits 5-6 (python-escpos RT_MASK_NOPAPER)


class FakePrinter:
    def __init__(self) -> None:
        self.status_bytes = {1: ONLINE, 2: NO_CAUSE, 4: PAPER_OK}
        self.answer_status = True
        self.reading = True
        self.received = bytearray()
        self.jobs: list[bytes] = []  # one entry per connection that sent more than queries
        self.queries: list[int] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    # --- what it says about itself ---

    def set_online(self) -> None:
        self.status_bytes = {1: ONLINE, 2: NO_CAUSE, 4: PAPER_OK}

    def set_paper_out(self) -> None:
        self.status_bytes = {1: OFFLINE, 2: PAPER_END_CAUSE, 4: PAPER_OUT}

    def set_paper_near_end(self) -> None:
        self.status_bytes = {1: ONLINE, 2: NO_CAUSE, 4: PAPER_NEAR_END}

    def set_cover_open(self) -> None:
        self.status_bytes = {1: OFFLINE, 2: COVER_OPEN_CAUSE, 4: PAPER_OK}

    # --- power ---

    async def start(self) -> None:
        """Listen (again): the first time on an ephemeral port, then on the same one."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def go_offline(self) -> None:
        """Close the listener and drop every open connection, like a printer switched off."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def come_back(self) -> None:
        await self.start()

    async def __aenter__(self) -> FakePrinter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.go_offline()

    async def wait_for_jobs(self, count: int) -> list[bytes]:
        """The jobs, once `count` have arrived; a test waiting longer than 3 s has failed."""
        async with asyncio.timeout(3.0), self._changed:
            await self._changed.wait_for(lambda: len(self.jobs) >= count)
        return self.jobs

    # --- the wire ---

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        data = bytearray()
        scanned = 0
        try:
            while True:
                if not self.reading:
                    await asyncio.sleep(0.01)
                    continue
                chunk = await reader.read(65536)
                if not chunk:
                    break
                data += chunk
                self.received += chunk
                # Real-time status queries are answered wherever they appear in the stream.
                while (found := data.find(b"\x10\x04", scanned)) != -1 and found + 2 < len(data):
                    n = data[found + 2]
                    scanned = found + 3
                    if n in self.status_bytes:
                        self.queries.append(n)
                        if self.answer_status:
                            writer.write(bytes([self.status_bytes[n]]))
                            await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._handlers.discard(task)
            writer.transport.abort()
            only_queries = data.replace(b"\x10\x04\x01", b"").replace(b"\x10\x04\x02", b"")
            if only_queries.replace(b"\x10\x04\x04", b""):
                self.jobs.append(bytes(data))
            async with self._changed:
                self._changed.notify_all()
