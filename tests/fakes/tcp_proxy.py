"""A TCP proxy on 127.0.0.1 that can cut the line: a database outage on demand.

Usage::

    async with TcpProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/test"
        ...
        proxy.cut()       # every open connection is reset, new ones are refused
        ...
        proxy.restore()   # connections are accepted (and forwarded) again

While cut, the listening socket is closed, so a client connecting gets "connection refused" at once,
as when the server is down; every connection that was open is aborted (an RST), as when the server or
the network dropped it. ``cut(seconds)`` restores by itself after that long.
"""
from __future__ import annotations

import asyncio
import contextlib
import socket


class TcpProxy:
    """Forwards connections from ``127.0.0.1:port`` to ``(target_host, target_port)``."""

    def __init__(self, target_host: str, target_port: int, *, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.port = port
        self.accepted = 0  # client connections forwarded so far
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._restore: asyncio.TimerHandle | None = None

    @property
    def is_cut(self) -> bool:
        return self._server is None

    async def start(self) -> TcpProxy:
        if self.port == 0:  # a fixed port across cut and restore, so clients keep their URL
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
        await self._listen()
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._server is None:  # accepted in the instant of a cut
            _abort(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _abort(writer)
            return
        self.accepted += 1
        self._writers.update((writer, up_writer))
        pipes = [asyncio.create_task(self._pipe(reader, up_writer)), asyncio.create_task(self._pipe(up_reader, writer))]
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)
            for w in (writer, up_writer):
                self._writers.discard(w)
                if not w.is_closing():
                    w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if not writer.is_closing():
                with contextlib.suppress(OSError, RuntimeError):
                    writer.write_eof()
                writer.close()

    def cut(self, seconds: float | None = None) -> None:
        """Resets every open connection and refuses new ones (for ``seconds``, else until :meth:`restore`)."""
        self.cuts += 1
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            _abort(writer)
        self._writers.clear()
        for task in list(self._pipes):
            task.cancel()
        if seconds is not None:
            loop = asyncio.get_running_loop()
            self._restore = loop.call_later(seconds, lambda: loop.create_task(self.restore()))

    async def restore(self) -> None:
        """Accepts connections again."""
        if self._restore is not None:
            self._restore.cancel()
            self._restore = None
        if self._server is None:
            await self._listen()

    async def stop(self) -> None:
        if self._restore is not None:
            self._restore.cancel()
            self._restore = None
        server, self._server = self._server, None
        for writer in list(self._writers):
            _abort(writer)
        for task in list(self._pipes):
            task.cancel()
        if server is not None:
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> TcpProxy:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Closes a connection with an RST (SO_LINGER 0), as a dropped server or network does."""
    transport = writer.transport
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    transport.abort()
