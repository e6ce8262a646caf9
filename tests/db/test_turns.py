"""``db.turns``: the port of a chat turn on each database, and ``db.errors``: which errors are transient."""
from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import asyncpg.exceptions as pg
import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from db.database import DatabaseNotAnswering, PoolTimeout
from db.errors import is_database_error, is_sqlite_busy, is_transient, sqlite_code, sqlstate
from db.models import ConversationState, Identity, InboundMessage
from db.turns import PostgresTurns, Sender, SqliteTurns, TurnState, turn_store
from tests.conftest import PG_URL

AT = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def new_identity() -> dict:
    return {"language": "id", "role": "family", "phone": None, "created_at": AT}


def sender(key: str | None = "m1", *, at: datetime = AT, address: str = "100") -> Sender:
    return Sender("telegram", address, at, key)


async def count(db, model) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_the_store_is_the_databases_own(db):
    assert isinstance(turn_store(db), PostgresTurns if PG_URL else SqliteTurns)


async def test_a_new_message_from_a_new_sender_creates_the_identity_with_no_state(db):
    store = turn_store(db)
    async with store.transaction() as session:
        start = await store.begin(session, sender(), new_identity)
        assert start is not None
        assert (start.identity.channel, start.identity.address, start.identity.language) == ("telegram", "100", "id")
        assert start.state.new and (start.state.flow, start.state.step, start.state.data) == (None, None, {})
        assert (start.puskesmas_code, start.puskesmas_zone) == (None, None)
    assert await count(db, Identity) == 1
    assert await count(db, InboundMessage) == 1


async def test_a_message_seen_before_starts_no_turn(db):
    store = turn_store(db)
    for _ in range(2):
        async with store.transaction() as session:
            first = await store.begin(session, sender("same"), new_identity)
    assert first is None
    async with store.transaction() as session:
        assert await store.begin(session, sender("other"), new_identity) is not None
    assert await count(db, InboundMessage) == 2
    assert await count(db, Identity) == 1


async def test_a_message_without_an_id_is_not_recorded(db):
    store = turn_store(db)
    for _ in range(2):
        async with store.transaction() as session:
            assert await store.begin(session, sender(None), new_identity) is not None
    assert await count(db, InboundMessage) == 0


async def test_the_saved_state_is_read_by_the_next_turn_with_when_the_person_last_wrote(db):
    store = turn_store(db)
    async with store.transaction() as session:
        start = await store.begin(session, sender("m1"), new_identity)
        state = TurnState("menu", "main", {"a": 1}, start.state.version + 1, new=start.state.new, touched=start.state.touched)
        await store.save(session, start.identity, state, AT, AT)
    later = AT + timedelta(minutes=5)
    async with store.transaction() as session:
        again = await store.begin(session, sender("m2", at=later), new_identity)
        assert not again.state.new
        assert (again.state.flow, again.state.step, again.state.data, again.state.version) == ("menu", "main", {"a": 1}, state.version)
        assert again.identity.id == start.identity.id
        await store.save(session, again.identity, replace_state(again.state, step="other"), later, later)
    async with db.read() as session:
        row = (await session.execute(select(ConversationState.step, Identity.last_inbound_at).join(Identity))).one()
    assert row.step == "other"
    assert row.last_inbound_at.replace(tzinfo=UTC) == later


def replace_state(state: TurnState, **changes) -> TurnState:
    return TurnState(**{**state.__dict__, **changes})


async def test_a_second_turn_of_the_same_sender_waits_for_the_first_and_sees_its_state(db):
    store = turn_store(db)
    async with store.transaction() as session:  # the identity exists: PostgreSQL locks its row
        start = await store.begin(session, sender("m0"), new_identity)
        await store.save(session, start.identity, replace_state(start.state, flow="menu", step="main"), AT, AT)
    first_started, release = asyncio.Event(), asyncio.Event()

    async def first():
        async with store.transaction() as session:
            start = await store.begin(session, sender("m1"), new_identity)
            first_started.set()
            await release.wait()
            await store.save(session, start.identity, replace_state(start.state, step="from-first", version=start.state.version + 1), AT, AT)

    async def second():
        await first_started.wait()
        async with store.transaction() as session:
            start = await store.begin(session, sender("m2"), new_identity)
            return start.state.step

    one, two = asyncio.create_task(first()), asyncio.create_task(second())
    await first_started.wait()
    await asyncio.sleep(0.05)
    assert not two.done()  # held by the first turn's lock
    release.set()
    await one
    assert await two == "from-first"


async def test_a_failed_message_is_remembered_once(db):
    store = turn_store(db)
    await store.remember("telegram", "k1", AT)
    await store.remember("telegram", "k1", AT)
    assert await count(db, InboundMessage) == 1
    async with store.transaction() as session:
        assert await store.begin(session, sender("k1"), new_identity) is None


# -- db.errors: transient or not, by type and code ------------------------------------------------

def _sqlite_locked() -> sqlite3.OperationalError:
    """A real "database is locked" (SQLITE_BUSY) from two connections to one file."""
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        other.close()
        holder.close()
    raise AssertionError("not locked")


def _sqlite_error(sql: str) -> sqlite3.Error:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    connection.execute("INSERT INTO t VALUES (1)")
    try:
        connection.execute(sql)
    except sqlite3.Error as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError(sql)


def _sqlite_cannot_open() -> sqlite3.Error:
    try:
        sqlite3.connect("/nonexistent-dir/x/y.sqlite3").execute("SELECT 1")
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("opened")


def _pg(kind: type[pg.PostgresError], message: str = "x") -> DBAPIError:
    """An asyncpg error as SQLAlchemy raises it (wrapped by its adapter, the SQLSTATE copied)."""
    orig = AsyncAdapt_asyncpg_dbapi.OperationalError(f"{kind.__name__}: {message}", kind(message))
    return DBAPIError("SELECT 1", {}, orig)


def _invalidated() -> DBAPIError:
    error = DBAPIError("SELECT 1", {}, AsyncAdapt_asyncpg_dbapi.InterfaceError("connection is closed"))
    error.connection_invalidated = True
    return error


CASES = [
    # (name, error, transient, from the database)
    ("OSError", OSError("network unreachable"), True, True),
    ("refused", ConnectionRefusedError(111, "Connect call failed"), True, True),
    ("TimeoutError", TimeoutError(), True, True),
    ("pool timeout", PoolTimeout("no connection"), True, True),
    ("not answering", DatabaseNotAnswering("silent"), True, True),
    ("connection invalidated", _invalidated(), True, True),
    ("pg deadlock", _pg(pg.DeadlockDetectedError), True, True),
    ("pg serialization", _pg(pg.SerializationError), True, True),
    ("pg statement timeout", _pg(pg.QueryCanceledError), True, True),
    ("pg lock timeout", _pg(pg.LockNotAvailableError), True, True),
    ("pg connection lost", _pg(pg.ConnectionDoesNotExistError), True, True),
    ("pg admin shutdown", _pg(pg.AdminShutdownError), True, True),
    ("pg starting up", _pg(pg.CannotConnectNowError), True, True),
    ("pg too many connections", _pg(pg.TooManyConnectionsError), True, True),
    ("pg raw deadlock", pg.DeadlockDetectedError("deadlock detected"), True, True),
    ("pg unique violation", _pg(pg.UniqueViolationError, "duplicate key"), False, True),
    ("pg syntax error", _pg(pg.PostgresSyntaxError, "timeout connection busy"), False, True),
    ("sqlite locked", OperationalError("BEGIN IMMEDIATE", {}, _sqlite_locked()), True, True),
    ("sqlite locked, raw", _sqlite_locked(), True, True),
    ("sqlite cannot open", OperationalError("SELECT 1", {}, _sqlite_cannot_open()), True, True),
    ("sqlite unique", IntegrityError("INSERT", {}, _sqlite_error("INSERT INTO t VALUES (1)")), False, True),
    ("sqlite no table", OperationalError("SELECT", {}, _sqlite_error("SELECT * FROM locked_busy_timeout")), False, True),
    ("a step's own error that says locked", ValueError("database is locked: connection timeout"), False, False),
    ("a step's own bug", KeyError("flow"), False, False),
]


@pytest.mark.parametrize(("error", "transient", "from_database"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_database_errors_are_classified_by_type_and_code_not_text(error, transient, from_database):
    assert is_transient(error) is transient
    assert is_database_error(error) is from_database


def test_the_codes_are_read_through_sqlalchemys_wrapping():
    assert sqlstate(_pg(pg.DeadlockDetectedError)) == "40P01"
    assert sqlstate(ValueError("40P01")) is None
    locked = _sqlite_locked()
    assert sqlite_code(OperationalError("BEGIN", {}, locked)) == 5
    assert is_sqlite_busy(locked) and not is_sqlite_busy(_sqlite_cannot_open())
