"""A TCP proxy on 127.0.0.1 that can stop answering: a database server that hangs instead of refusing.

While it forwards, every byte goes both ways between the client and the target (PostgreSQL). After
:meth:`Blackhole.freeze` it still accepts connections and keeps the open ones, but passes nothing on
in either direction: what a client sees when the server is stopped (``SIGSTOP``), swapping to death,
or behind a network that drops packets. :meth:`Blackhole.thaw` lets the held bytes through again.
Without a target it is a pure black hole from the start.

Usage::

    async with Blackhole(("127.0.0.1", 5432)) as hole:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{hole.port}/test"
        ...
        hole.freeze()
"""
from __future__ import annotations

import asyncio
import contextlib


class Blackhole:
    """The proxy; :attr:`accepted` counts the connections it took (frozen or not)."""

    def __init__(self, target: tuple[str, int] | None = None) -> None:
        self.target = target
        self.port = 0
        self.accepted = 0
        self._flowing = asyncio.Event()
        if target is not None:
            self._flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def frozen(self) -> bool:
        return not self._flowing.is_set()

    def freeze(self) -> None:
        """From now on nothing is passed on, and new connections are accepted but never answered."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Passes bytes on again (a proxy without a target stays a black hole)."""
        if self.target is None:
            raise RuntimeError("a black hole without a target cannot thaw")
        self._flowing.set()

    async def __aenter__(self) -> Blackhole:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        try:
            await self._flowing.wait()  # a connection made while frozen waits here, unanswered
            assert self.target is not None
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except (OSError, asyncio.CancelledError):
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        self._spawn(self._pipe(reader, up_writer))
        self._spawn(self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(65536)
                await self._flowing.wait()  # frozen: the bytes are held, not passed on
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()
