"""A database outage in the middle of a dispatch: two dispatchers on PostgreSQL reach it through a TCP
proxy (tests/fakes/tcp_proxy.py) that resets every connection and refuses new ones for 3 s, longer than
the leases of the rows being sent. Nothing may be sent twice (at most one per instance and cut: the send
in flight at the cut), everything is delivered and recorded in the end, and no error escapes a task."""
from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from channels.messages import Incoming, Reply
from channels.telegram import TelegramChannel
from config import TelegramConfig
from db.database import Database
from db.models import Identity, Outbox
from reminders.dispatcher import Dispatcher
from tests.conftest import PG_URL
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import DEFAULT_NOW

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only")

ROWS = 300
RATE = 40.0  # per instance: the 300 rows take about 4 s, the cut comes after a third of them
LEASE = 4.0  # seconds: rows claimed a second before the cut see their lease lapse during it
CUT = 3.0


async def _no_handler(incoming: Incoming) -> list[Reply]:
    return []


async def _fill(db: Database) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    async with db.write() as session:
        await session.execute(insert(Identity), [
            {"channel": "telegram", "address": str(6_200_000_000 + i), "language": "id", "role": "family",
             "consent": "given", "consent_version": "2026-11", "consent_at": DEFAULT_NOW, "created_at": DEFAULT_NOW}
            for i in range(ROWS)
        ])
        ids = (await session.execute(select(Identity.id, Identity.address).order_by(Identity.id))).all()
        await session.execute(insert(Outbox), [
            {"key": f"daily:{identity_id}:outage", "identity_id": identity_id, "channel": "telegram", "address": address,
             "kind": "daily", "body": {"text": f"Pengingat posyandu nomor {n}", "lang": "id"}, "timezone": "Asia/Makassar",
             "state": "pending", "not_before": now - timedelta(minutes=1), "expires_at": None, "attempts": 0,
             "created_at": now}
            for n, (identity_id, address) in enumerate(ids)
        ])


async def _unfinished(db: Database) -> int:
    async with db.read() as session:
        return await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.state.in_(("pending", "sending")))
        )


async def test_a_database_cut_mid_dispatch_sends_nothing_twice(db, db_url, caplog):
    caplog.set_level(logging.INFO, logger="reminders")
    await _fill(db)
    loop = asyncio.get_running_loop()
    loop_errors: list[str] = []
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(str(context.get("message"))))

    target = make_url(db_url)
    async with FakeTelegram() as fake, TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        databases = [Database(url) for _ in range(2)]
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channels = [TelegramChannel(config, _no_handler) for _ in range(2)]
        dispatchers = [
            Dispatcher(database, {"telegram": channel.send_one}, rates={"telegram": RATE}, per_chat_interval=0.0,
                       quiet_hours=(0, 0), lease_seconds=LEASE, idle_seconds=0.05, takeover_grace=CUT)
            for database, channel in zip(databases, channels)
        ]
        stop = asyncio.Event()
        runs = [asyncio.create_task(d.run(stop)) for d in dispatchers]
        try:
            await fake.wait_for(lambda: len(fake.sent) >= ROWS // 3, timeout=30)
            before = len(fake.sent)
            proxy.cut()
            await asyncio.sleep(CUT)
            await proxy.restore()
            for _ in range(600):  # up to 60 s (a lease lapsed in the cut is waited out, then taken over)
                if not await _unfinished(db):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # a late second copy would show now
        finally:
            stop.set()
            await asyncio.gather(*runs)
            for channel in channels:
                await channel.stop()
            for database in databases:
                await database.dispose()
        loop.set_exception_handler(None)

    copies = fake.count_texts()
    summary = (f"delivered before the cut {before}, sendMessage {len(fake.sent)}, distinct {len(copies)}, "
               f"duplicates {fake.duplicates}, per instance {[d.totals.as_dict() for d in dispatchers]}")
    assert ROWS // 3 <= before < ROWS, summary  # the cut came mid-dispatch
    async with db.read() as session:
        states = dict((await session.execute(select(Outbox.state, func.count()).group_by(Outbox.state))).all())
    assert states == {"sent": ROWS}, summary  # every row delivered and recorded
    assert len(copies) == ROWS, summary
    assert fake.duplicates <= len(dispatchers), summary  # at most one per instance for the one cut
    assert any("recording" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records), summary  # the cut hit a write
    assert not loop_errors, loop_errors  # e.g. "Task exception was never retrieved"
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]
