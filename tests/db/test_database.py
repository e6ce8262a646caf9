"""The database: migrations, SQLite settings, and no lost updates under concurrent writers."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select, text

from db.demo import load_demo
from db.models import Family, Posyandu, Puskesmas
from tests.conftest import PG_URL


async def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(db):
    if PG_URL:
        return
    async with db.read() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000


async def test_concurrent_read_modify_write_loses_no_update(db):
    await load_demo(db)
    now = datetime.now(UTC)
    async with db.write() as session:
        posyandu_id = await session.scalar(select(Posyandu.id).limit(1))
        session.add(Family(posyandu_id=posyandu_id, code="K-COUNT1", name="Counter", rt="0", created_at=now, updated_at=now))

    async def bump() -> None:
        async with db.write() as session:
            query = select(Family).where(Family.code == "K-COUNT1")
            if not db.is_sqlite:
                query = query.with_for_update()
            family = (await session.scalars(query)).one()
            await asyncio.sleep(0)  # let the others interleave
            family.rt = str(int(family.rt) + 1)

    await asyncio.gather(*(bump() for _ in range(40)))
    async with db.read() as session:
        assert await session.scalar(select(Family.rt).where(Family.code == "K-COUNT1")) == "40"


async def test_demo_data_uses_kemendagri_names_and_time_zones(db):
    assert await load_demo(db) == 6
    assert await load_demo(db) == 0  # only into an empty database
    async with db.read() as session:
        rows = (await session.execute(select(Posyandu.village_code, Posyandu.village_name, Puskesmas.timezone).join(Puskesmas))).all()
    villages = {code: (name, zone) for code, name, zone in rows}
    assert villages["51.08.06.2014"] == ("Nagasepaha", "Asia/Makassar")
    assert villages["51.08.06.2016"] == ("Alasangker", "Asia/Makassar")
    assert villages["51.08.06.2018"] == ("Jinengdalem", "Asia/Makassar")
    assert villages["51.08.06.2015"] == ("Petandakan", "Asia/Makassar")
    assert sum(1 for _n, zone in villages.values() if zone == "Asia/Jakarta") == 2


async def test_timestamps_come_back_in_utc(db):
    await load_demo(db)
    async with db.read() as session:
        created = await session.scalar(select(Puskesmas.created_at).limit(1))
    assert created.tzinfo is not None and created.utcoffset().total_seconds() == 0


async def test_migrations_match_the_models(db):
    """Alembic's autogenerate finds nothing to add: the migrations build exactly the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from db.models import Base

    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with db.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert changes == []
