"""PostgreSQL drops every connection (a restart, a failover): the next chat turn is still handled.

The pool does not ping a connection before each use (a round trip per turn); a turn that meets a
dead connection fails, the pool is invalidated, and the engine's retry gets a fresh connection.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from channels.messages import Incoming
from db.models import InboundMessage
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only")


async def _drop_connections(db_url: str) -> int:
    import asyncpg

    base, _, name = db_url.replace("postgresql+asyncpg://", "postgresql://").rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        return await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name.split("?")[0],
        )
    finally:
        await admin.close()


async def test_a_turn_after_the_server_dropped_every_connection_is_handled(engine, db, db_url):
    first = await engine.handle_durably(Incoming("telegram", "6100001", message_id="6100001:1", text="/start"))
    assert "setuju" in first[-1].text
    assert await _drop_connections(db_url) >= 1
    replies = await engine.handle_durably(Incoming("telegram", "6100001", message_id="6100001:2", text="bantuan"))
    assert replies and "gangguan" not in replies[-1].text
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 2
