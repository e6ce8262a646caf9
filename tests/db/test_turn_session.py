"""``Database.turn``: the session of one chat turn (SQLite: a synchronous session in the loop thread)."""
from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

import db.database as database_module
from db.database import LoopSession
from db.demo import load_demo
from db.models import Family, Person, Posyandu
from tests.conftest import PG_URL

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


async def _posyandu_id(db) -> int:
    async with db.read() as session:
        return await session.scalar(select(Posyandu.id).limit(1))


async def test_a_turn_commits_what_it_adds_and_answers_like_an_async_session(db):
    await load_demo(db)
    posyandu_id = await _posyandu_id(db)
    async with db.turn() as session:
        if not PG_URL:
            assert isinstance(session, LoopSession)
        family = Family(posyandu_id=posyandu_id, code="K-TURN01", name="Giliran", created_at=NOW, updated_at=NOW)
        session.add(family)
        await session.flush()
        session.add_all([Person(family_id=family.id, name=n, sex="F", created_at=NOW, updated_at=NOW) for n in ("Ayu", "Sari")])
        names = (await session.scalars(select(Person.name).where(Person.family_id == family.id).order_by(Person.id))).all()
        assert names == ["Ayu", "Sari"]
        assert (await session.get(Family, family.id)) is family
        assert await session.scalar(select(func.count()).select_from(Person)) == 2
        result = await session.execute(update(Person).where(Person.name == "Sari").values(name="Sari Dewi"))
        assert result.rowcount == 1
        connection = await session.connection()
        assert (await connection.execute(select(func.count()).select_from(Family))).scalar() == 1
        person = (await session.scalars(select(Person).where(Person.name == "Ayu"))).one()
        await session.delete(person)
    async with db.read() as session:
        assert (await session.scalars(select(Person.name))).all() == ["Sari Dewi"]


async def test_a_failed_turn_leaves_nothing_behind(db):
    await load_demo(db)
    posyandu_id = await _posyandu_id(db)
    with pytest.raises(RuntimeError):
        async with db.turn() as session:
            session.add(Family(posyandu_id=posyandu_id, code="K-TURN02", name="Batal", created_at=NOW, updated_at=NOW))
            await session.flush()
            raise RuntimeError("a step failed")
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Family)) == 0


@pytest.mark.skipif(bool(PG_URL), reason="SQLite only")
async def test_a_turn_waits_for_another_process_without_stalling_the_loop(db, db_url):
    await load_demo(db)
    posyandu_id = await _posyandu_id(db)
    other = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def turn() -> None:
        async with db.turn() as session:
            session.add(Family(posyandu_id=posyandu_id, code="K-TURN03", name="Menunggu", created_at=NOW, updated_at=NOW))

    task = asyncio.create_task(turn())
    ticks = 0
    for _ in range(10):
        await asyncio.sleep(0.02)
        ticks += 1
    assert ticks == 10 and not task.done(), "the loop ran while the turn waited for the lock"
    other.execute("ROLLBACK")
    other.close()
    await asyncio.wait_for(task, 5)
    async with db.read() as session:
        assert await session.scalar(select(Family.name).where(Family.code == "K-TURN03")) == "Menunggu"


@pytest.mark.skipif(bool(PG_URL), reason="SQLite only")
async def test_a_turn_gives_up_after_the_busy_timeout(db, db_url, monkeypatch):
    monkeypatch.setattr(database_module, "SQLITE_BUSY_TIMEOUT_MS", 300)
    other = sqlite3.connect(db_url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(OperationalError, match="locked"):
            async with db.turn():
                pass
        assert 0.2 < asyncio.get_running_loop().time() - started < 2
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_turns_queue_behind_each_other_and_lose_no_update(db):
    await load_demo(db)
    posyandu_id = await _posyandu_id(db)
    async with db.turn() as session:
        session.add(Family(posyandu_id=posyandu_id, code="K-TURN04", name="Hitung", rt="0", created_at=NOW, updated_at=NOW))

    async def bump() -> None:
        async with db.turn() as session:
            query = select(Family).where(Family.code == "K-TURN04")
            if not db.is_sqlite:
                query = query.with_for_update()
            family = (await session.scalars(query)).one()
            await asyncio.sleep(0)
            family.rt = str(int(family.rt) + 1)

    await asyncio.gather(*(bump() for _ in range(30)))
    async with db.read() as session:
        assert await session.scalar(select(Family.rt).where(Family.code == "K-TURN04")) == "30"
