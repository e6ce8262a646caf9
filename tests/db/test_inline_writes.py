"""SQLite writes run their statements in the loop thread; only a BEGIN that has to wait for a lock does not."""
from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from db.database import InlineSqlite
from db.demo import load_demo
from db.models import Family, Posyandu
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite only")


async def test_write_statements_run_in_the_loop_thread_and_commit(db):
    # sqlite3 calls the trace callback in the thread that runs the statement
    raw_threads: list[tuple[str, int]] = []

    def on_connect(dbapi_connection, _record):
        dbapi_connection._connection._conn.set_trace_callback(lambda sql: raw_threads.append((sql.split()[0], threading.get_ident())))

    event.listen(db.write_engine.sync_engine, "connect", on_connect)
    await load_demo(db)
    now = datetime.now(UTC)
    async with db.write() as session:
        assert isinstance((await (await session.connection()).get_raw_connection()).driver_connection, InlineSqlite)
        posyandu_id = await session.scalar(select(Posyandu.id).limit(1))
        session.add(Family(posyandu_id=posyandu_id, code="K-INLINE", name="Sebaris", created_at=now, updated_at=now))
    async with db.read() as session:
        assert await session.scalar(select(Family.name).where(Family.code == "K-INLINE")) == "Sebaris"
    loop_thread = threading.get_ident()
    statements = {(word.upper(), ident == loop_thread) for word, ident in raw_threads if word.upper() != "PRAGMA"}
    assert ("SELECT", True) in statements and ("INSERT", True) in statements and ("COMMIT", True) in statements
    assert ("BEGIN", True) in statements and ("BEGIN", False) not in statements, "no lock to wait for"


async def test_a_write_waiting_for_another_process_lock_does_not_stall_the_loop(db, db_url):
    traced: list[tuple[str, int]] = []
    event.listen(db.write_engine.sync_engine, "connect", lambda dbapi_connection, _record: dbapi_connection._connection._conn.set_trace_callback(
        lambda sql: traced.append((sql, threading.get_ident()))))
    await load_demo(db)
    loop_thread = threading.get_ident()
    other = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    now = datetime.now(UTC)

    async def write() -> None:
        async with db.write() as session:
            posyandu_id = await session.scalar(select(Posyandu.id).limit(1))
            session.add(Family(posyandu_id=posyandu_id, code="K-WAITED", name="Menunggu", created_at=now, updated_at=now))

    task = asyncio.create_task(write())
    ticks = 0
    for _ in range(10):
        await asyncio.sleep(0.02)
        ticks += 1
    assert ticks == 10 and not task.done(), "the loop ran while the write waited for the lock"
    other.execute("ROLLBACK")
    other.close()
    await asyncio.wait_for(task, 10)
    assert ("BEGIN", False) in {(sql.split()[0], ident == loop_thread) for sql, ident in traced}, "it waited off the loop"
    async with db.read() as session:
        assert await session.scalar(select(Family.name).where(Family.code == "K-WAITED")) == "Menunggu"
