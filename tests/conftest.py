"""Shared fixtures: a migrated database per test (SQLite file, or PostgreSQL via TEST_DATABASE_URL)."""
from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from config import load_settings
from db.database import Database
from db.demo import load_demo
from db.migrate import upgrade
from db.models import Base
from handlers.engine import Engine
from tests.helpers import FixedClock

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
pytest_plugins = ["tests.log_scan"]  # phone numbers and NIK never reach the logs (fails the session)


def _pg_admin_dsn(url: str) -> tuple[str, str]:
    """(asyncpg DSN of the server's maintenance database, name of the database in ``url``)."""
    base, _, name = url.replace("postgresql+asyncpg://", "postgresql://").rpartition("/")
    return f"{base}/postgres", name.split("?")[0]


async def _create_pg_database(url: str, name: str) -> None:
    import asyncpg

    dsn, _ = _pg_admin_dsn(url)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_pg_database(url: str, name: str) -> None:
    import asyncpg

    dsn, _ = _pg_admin_dsn(url)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Iterator[str]:
    """A database migrated once per session: a SQLite file to copy, or a PostgreSQL database."""
    if PG_URL:
        name = f"ilpbot_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        base, _, _ = PG_URL.rpartition("/")
        url = f"{base}/{name}"
        asyncio.run(_create_pg_database(PG_URL, name))
        upgrade(url)
        yield url
        asyncio.run(_drop_pg_database(PG_URL, name))
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        upgrade(f"sqlite+aiosqlite:///{path}")
        yield str(path)


@pytest.fixture
def db_url(migrated_template: str, tmp_path: Path) -> str:
    """A fresh, migrated, empty database for one test."""
    if PG_URL:
        return migrated_template
    target = tmp_path / "test.sqlite3"
    shutil.copy(migrated_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    if PG_URL:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with database.write() as session:
            from sqlalchemy import text

            await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database
    await database.dispose()


@pytest.fixture
def settings(db_url: str):
    """The default configuration pointed at the test database, with an inbound limit no test that drives
    one chat quickly reaches (tests/handlers/test_inbound_limit.py tests the limit itself)."""
    base = load_settings(env={})
    return replace(base, database=replace(base.database, url=db_url), inbound=replace(base.inbound, burst=100_000))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def demo_db(db: Database) -> Database:
    """The test database with the demo puskesmas and posyandu loaded."""
    await load_demo(db)
    return db


@pytest.fixture
def engine(demo_db: Database, settings, clock: FixedClock) -> Engine:
    return Engine(demo_db, settings, clock=clock)
