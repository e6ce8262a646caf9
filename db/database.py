"""The async database handle: engine, sessions, and the SQLite settings that keep writes safe.

SQLite runs in WAL mode with a busy timeout and foreign keys on, and every transaction opened by
:meth:`Database.write` starts with ``BEGIN IMMEDIATE`` so that two writers never both read and then
lose one update. PostgreSQL uses row locks where the code asks for them.

SQLite writes run their statements in the event loop's own thread (:class:`InlineSqlite`): a statement
on a local file takes microseconds, while aiosqlite's hop to its connection thread and back (four per
statement) cost most of a chat turn. Only a ``BEGIN`` that finds another process holding the write
lock goes to the thread, to wait there for up to the busy timeout. Reads (:meth:`Database.read`: health checks,
the reminder planner's long scans) keep aiosqlite's thread, so a long read never stalls the loop.

A chat turn (:meth:`Database.turn`) on SQLite goes one step further: a plain synchronous session
behind :class:`LoopSession`, which the handlers await like an ``AsyncSession``. That skips the greenlet
``AsyncSession`` starts for every call and aiosqlite's adapter: half the cost of a statement.

Timeouts (``database.*_timeout_s`` in the configuration), so that a server that stops answering makes
a webhook answer 503 within seconds instead of hanging until it comes back:

* PostgreSQL: opening a connection gives up after ``connect_timeout_s`` (asyncpg's ``timeout``), and so
  does the pool's ping before each use; a statement after ``statement_timeout_s`` (the server's
  ``statement_timeout`` cancels it; asyncpg's ``command_timeout``, a second later, covers a server that
  does not answer at all); waiting for a free pooled connection after ``pool_timeout_s``
  (:class:`PoolTimeout`). When the server did not answer in time, the next uses for ``connect_timeout_s``
  fail at once with :class:`DatabaseNotAnswering` instead of each waiting the timeouts again.
  All three are ``TimeoutError``: the engine counts them as "database unavailable" (not stored, tried
  again by the provider).
* SQLite: a writer waits for another process's write lock up to the busy timeout
  (:data:`SQLITE_BUSY_TIMEOUT_MS`), and for this process's own writer queue (the write lock) as long
  again, then fails with :class:`PoolTimeout`. A read does not wait for writers (WAL). There is no
  connecting nor a server that can stop answering: a statement on a local file runs to its end.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import aiosqlite
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import await_only

from config import DatabaseConfig
from db.errors import is_sqlite_busy

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
#: asyncpg gives up on a statement this long after the server's own ``statement_timeout`` would have
#: cancelled it: only a server that does not answer at all reaches it
CLIENT_GRACE_S = 1.0
_DEFAULTS = DatabaseConfig(url="")


class PoolTimeout(sa_exc.TimeoutError, TimeoutError):
    """No connection (PostgreSQL: pooled; SQLite: the turn to write) came free within the pool timeout."""


class DatabaseNotAnswering(sa_exc.SQLAlchemyError, TimeoutError):
    """PostgreSQL did not answer within its timeouts a moment ago; this use was not even tried."""


class _Pool(AsyncAdaptedQueuePool):
    """The queue pool whose timeout raises :class:`PoolTimeout`, a ``TimeoutError`` like the driver's."""

    def _do_get(self):
        try:
            return super()._do_get()
        except PoolTimeout:
            raise
        except sa_exc.TimeoutError as error:
            raise PoolTimeout(str(error)) from None


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    """Turns off the driver's own transaction handling and sets the pragmas on each connection."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(conn) -> None:
    """Starts every transaction; writers take the write lock up front (``BEGIN IMMEDIATE``)."""
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_begin_without_waiting(conn) -> None:
    """``BEGIN IMMEDIATE`` that fails at once ("database is locked") when another process writes."""
    raw = conn.connection.driver_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


class InlineSqlite(aiosqlite.Connection):
    """An aiosqlite connection whose calls run in the calling (event loop) thread.

    ``BEGIN`` is first tried here without waiting (busy timeout 0); when another process holds the
    write lock it is run again in aiosqlite's thread, which waits up to the busy timeout, so the loop
    never blocks on a lock. The sqlite3 connection is opened with ``check_same_thread=False``; both
    threads never use it at once: a pooled connection serves one session, and a session's statements
    are awaited one after the other.
    """

    async def _execute(self, fn, *args, **kwargs):
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if args and isinstance(args[0], str) and args[0].startswith("BEGIN"):
            connection = self._connection
            connection.execute("PRAGMA busy_timeout=0")
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not is_sqlite_busy(exc):
                    raise
            finally:
                connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            return await super()._execute(fn, *args, **kwargs)  # waits for the lock, off the loop
        return fn(*args, **kwargs)


def _inline_creator(path: str):
    """SQLAlchemy's ``async_creator`` for :class:`InlineSqlite` connections to the file ``path``."""

    async def connect() -> InlineSqlite:
        connection = InlineSqlite(
            partial(sqlite3.connect, path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, check_same_thread=False), 64,
        )
        connection._thread.daemon = True  # noqa: SLF001 - as SQLAlchemy does for aiosqlite's thread
        return await connection

    return connect


def create_engine(
    url: str, *, echo: bool = False, inline: bool = False,
    connect_timeout_s: float = _DEFAULTS.connect_timeout_s, statement_timeout_s: float = _DEFAULTS.statement_timeout_s,
    pool_timeout_s: float = _DEFAULTS.pool_timeout_s,
) -> AsyncEngine:
    """An async engine for ``url`` with the SQLite settings applied when it is SQLite.

    ``inline``: SQLite statements run in the event loop's thread (see :class:`InlineSqlite`); a file
    database only. The timeouts are PostgreSQL's (see the module's documentation).
    """
    if url.startswith("sqlite"):
        path = make_url(url).database
        if inline and path and path != ":memory:" and not path.startswith("file:"):
            engine = create_async_engine(url, echo=echo, hide_parameters=True, async_creator=_inline_creator(path))
        else:
            engine = create_async_engine(
                url, echo=echo, hide_parameters=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    # Pooled connections for every turn a channel runs at once (Telegram: 16): one opened past the pool
    # is closed again when returned, and PostgreSQL forks a process for each. Each use is preceded by a
    # ping: without it a connection the server dropped can fail in asyncpg with an error that does not
    # say "disconnected", which no retry catches (tests/db/test_pg_reconnect.py).
    connect_args = {}
    if make_url(url).get_driver_name() == "asyncpg":
        connect_args = {
            "timeout": connect_timeout_s,
            "command_timeout": statement_timeout_s + CLIENT_GRACE_S,
            "server_settings": {"statement_timeout": str(round(statement_timeout_s * 1000))},
        }
    engine = create_async_engine(
        url, echo=echo, hide_parameters=True, pool_size=16, max_overflow=8, pool_pre_ping=True,
        poolclass=_Pool, pool_timeout=pool_timeout_s, connect_args=connect_args,
    )
    if engine.dialect.driver == "asyncpg":
        engine.sync_engine.dialect.do_ping = partial(_asyncpg_ping, timeout=connect_timeout_s)
    return engine


def _asyncpg_ping(dbapi_connection, timeout: float | None = None) -> bool:
    """The pool's ping in one round trip: a simple-protocol ``SELECT 1`` outside a transaction.

    SQLAlchemy's asyncpg ping wraps the query in ``BEGIN`` ... ``ROLLBACK`` (for pgbouncer's
    transaction mode, which this service does not use): three round trips before every chat turn, a
    quarter of a turn's. Errors are translated as the adapter's own ping does, so a dropped connection
    is recognised and replaced. A server that does not answer within ``timeout`` raises ``TimeoutError``.
    """
    try:
        await_only(dbapi_connection.driver_connection.execute("SELECT 1", timeout=timeout))
    except Exception as error:  # noqa: BLE001 - translated to the DBAPI's errors
        dbapi_connection._handle_exception(error)  # noqa: SLF001 - the adapter's own translation
    return True


class LoopConnection:
    """``AsyncConnection``'s ``execute`` and friends over a synchronous connection (see :class:`LoopSession`)."""

    def __init__(self, connection) -> None:
        self.sync_connection = connection

    async def execute(self, statement, parameters=None, **kw):
        return self.sync_connection.execute(statement, parameters, **kw)

    async def exec_driver_sql(self, statement, parameters=None, **kw):
        return self.sync_connection.exec_driver_sql(statement, parameters, **kw)

    async def scalar(self, statement, parameters=None, **kw):
        return self.sync_connection.scalar(statement, parameters, **kw)

    async def scalars(self, statement, parameters=None, **kw):
        return self.sync_connection.scalars(statement, parameters, **kw)

    def __getattr__(self, name: str):
        return getattr(self.sync_connection, name)


class LoopSession:
    """The part of ``AsyncSession`` the handlers use, over a synchronous ``Session`` whose SQLite
    statements run right here in the event loop's thread: the handlers ``await`` its methods and get
    the same results and objects back. Anything else is the synchronous session's own attribute
    (``info``, ``dirty``, ``bind``, ``no_autoflush``, ...)."""

    def __init__(self, session: Session) -> None:
        self.sync_session = session

    async def execute(self, statement, params=None, **kw):
        return self.sync_session.execute(statement, params, **kw)

    async def scalars(self, statement, params=None, **kw):
        return self.sync_session.scalars(statement, params, **kw)

    async def scalar(self, statement, params=None, **kw):
        return self.sync_session.scalar(statement, params, **kw)

    async def get(self, entity, ident, **kw):
        return self.sync_session.get(entity, ident, **kw)

    async def flush(self, objects=None) -> None:
        self.sync_session.flush(objects)

    async def delete(self, instance) -> None:
        self.sync_session.delete(instance)

    async def refresh(self, instance, attribute_names=None, with_for_update=None) -> None:
        self.sync_session.refresh(instance, attribute_names, with_for_update)

    async def merge(self, instance, **kw):
        return self.sync_session.merge(instance, **kw)

    async def connection(self, **kw) -> LoopConnection:
        return LoopConnection(self.sync_session.connection(**kw))

    def add(self, instance, _warn: bool = True) -> None:
        self.sync_session.add(instance, _warn=_warn)

    def add_all(self, instances) -> None:
        self.sync_session.add_all(instances)

    def __getattr__(self, name: str):
        return getattr(self.sync_session, name)


def sqlite_sync_engine(url: str, *, echo: bool = False, begin=_sqlite_on_begin) -> Engine | None:
    """SQLite: a synchronous engine on the file of ``url`` with the same settings as the async one
    (``begin``: how each transaction starts); None for a database that is not a plain file."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    engine = create_sync_engine(f"sqlite:///{path}", echo=echo, hide_parameters=True,
                                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", begin)
    return engine


def _turn_engine(url: str, *, echo: bool) -> Engine | None:
    """SQLite: a synchronous engine for :meth:`Database.turn` (a file database only)."""
    return sqlite_sync_engine(url, echo=echo, begin=_sqlite_begin_without_waiting)


class Database:
    """Owns the engine; hands out write and read sessions."""

    def __init__(
        self, url: str, *, echo: bool = False, connect_timeout_s: float = _DEFAULTS.connect_timeout_s,
        statement_timeout_s: float = _DEFAULTS.statement_timeout_s, pool_timeout_s: float = _DEFAULTS.pool_timeout_s,
    ) -> None:
        self.url = url
        self.connect_timeout_s = connect_timeout_s
        timeouts = {"connect_timeout_s": connect_timeout_s, "statement_timeout_s": statement_timeout_s, "pool_timeout_s": pool_timeout_s}
        self.engine = create_engine(url, echo=echo, **timeouts)
        self.is_sqlite = url.startswith("sqlite")
        reader = self.engine.execution_options(sqlite_begin="DEFERRED") if self.is_sqlite else self.engine
        #: SQLite: the writers' own engine, statements in the loop thread; PostgreSQL: the one engine
        self.write_engine = create_engine(url, echo=echo, inline=True) if self.is_sqlite else self.engine
        self._writer = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._reader = async_sessionmaker(reader, expire_on_commit=False)
        # SQLite has one writer at a time: queueing writers here is fairer and far faster than
        # letting them spin in SQLite's busy handler (which sleeps up to 100 ms per retry).
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._turn_engine = _turn_engine(url, echo=echo) if self.is_sqlite else None
        #: PostgreSQL: the loop time until which uses fail at once, after the server did not answer
        self._silent_until = 0.0

    @classmethod
    def from_config(cls, config: DatabaseConfig) -> Database:
        """The database of the configuration's ``database`` section."""
        return cls(config.url, echo=config.echo, connect_timeout_s=config.connect_timeout_s,
                   statement_timeout_s=config.statement_timeout_s, pool_timeout_s=config.pool_timeout_s)

    @asynccontextmanager
    async def _write_turn(self) -> AsyncIterator[None]:
        """SQLite: this process's turn to write, waited for up to the busy timeout (:class:`PoolTimeout`)."""
        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
                await self._write_lock.acquire()
        except TimeoutError:
            raise PoolTimeout(f"database is busy: no turn to write within {SQLITE_BUSY_TIMEOUT_MS / 1000:g} s") from None
        try:
            yield
        finally:
            self._write_lock.release()

    @asynccontextmanager
    async def _answering(self, maker) -> AsyncIterator[AsyncSession]:
        """PostgreSQL: a session in a transaction, failing at once while the server is known not to answer.

        A driver timeout (connecting, the ping, a statement) drops the connection (a rollback on it would
        wait again) and makes the uses of the next ``connect_timeout_s`` fail at once.
        """
        loop = asyncio.get_running_loop()
        if loop.time() < self._silent_until:
            raise DatabaseNotAnswering("the database did not answer a moment ago")
        try:
            async with maker() as session:
                try:
                    async with session.begin():
                        yield session
                except TimeoutError as error:
                    if not isinstance(error, PoolTimeout):
                        await session.invalidate()
                    raise
        except TimeoutError as error:
            if not isinstance(error, (PoolTimeout, DatabaseNotAnswering)):
                self._silent_until = loop.time() + self.connect_timeout_s
                log.warning("database: no answer within the timeouts; failing at once for %g s", self.connect_timeout_s)
            raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        if self._write_lock is None:
            async with self._answering(self._writer) as session:
                yield session
            return
        async with self._write_turn(), self._writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[AsyncSession | LoopSession]:
        """The session of one chat turn, committed on success and rolled back on error.

        SQLite: a :class:`LoopSession`, under the same write lock as :meth:`write`. Its ``BEGIN
        IMMEDIATE`` does not wait in SQLite (that would stall the loop): when another process holds the
        write lock it is tried again after a short sleep, up to the busy timeout. PostgreSQL:
        :meth:`write`.
        """
        if self._turn_engine is None:
            async with self.write() as session:
                yield session
            return
        async with self._write_turn():
            session = await self._begin_turn()
            try:
                yield LoopSession(session)
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    async def _begin_turn(self) -> Session:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SQLITE_BUSY_TIMEOUT_MS / 1000
        pause = 0.002
        while True:
            session = Session(self._turn_engine, expire_on_commit=False)
            try:
                session.connection()  # BEGIN IMMEDIATE
                return session
            except OperationalError as exc:
                session.close()
                if not is_sqlite_busy(exc) or loop.time() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only (SQLite: a deferred transaction, no write lock)."""
        if not self.is_sqlite:
            async with self._answering(self._reader) as session:
                yield session
            return
        async with self._reader() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        """Closes every pooled connection."""
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
        if self._turn_engine is not None:
            self._turn_engine.dispose()
