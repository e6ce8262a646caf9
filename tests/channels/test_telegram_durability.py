"""Inbound durability: the real bot is killed (SIGKILL) while it handles a message it cannot commit yet;
after a restart the message is handled, exactly once.

The test holds the database's write lock (SQLite: ``BEGIN IMMEDIATE`` on its own connection;
PostgreSQL: an exclusive lock on ``inbound_message``, the first table a turn writes), so the bot's turn
cannot commit while it is killed. Telegram must then still have the update: the bot confirms an offset
only after the turn committed.
"""
from __future__ import annotations

import asyncio
import sqlite3
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select

from db.demo import load_demo
from db.models import Family, InboundMessage
from tests.channels.telegram_bot import BotProcess, press, turn
from tests.conftest import PG_URL
from tests.fakes.telegram_api import FakeTelegram

CHAT = 990001


class RecordingFake(FakeTelegram):
    """The fake Bot API, remembering which update ids it handed to the bot."""

    def reset(self) -> None:
        super().reset()
        self.delivered: set[int] = set()

    async def _get_updates(self, params, files) -> list[dict[str, Any]]:
        updates = await super()._get_updates(params, files)
        self.delivered.update(u["update_id"] for u in updates)
        self._notify()
        return updates


@asynccontextmanager
async def write_lock(db_url: str):
    """Holds the lock every turn needs; yields a coroutine function telling whether someone waits on it."""
    if not PG_URL:
        path = db_url.split("///", 1)[1]
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")

        async def waiting() -> bool:  # SQLite does not show its waiters
            return True

        try:
            yield waiting
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    import asyncpg

    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    tx = conn.transaction()
    await tx.start()
    await conn.execute("LOCK TABLE inbound_message IN EXCLUSIVE MODE")

    async def waiting() -> bool:
        return bool(await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'inbound_message'::regclass"))

    try:
        yield waiting
    finally:
        await tx.rollback()
        await conn.close()


async def _register_up_to_rt_rw(fake: FakeTelegram) -> None:
    await turn(fake, CHAT, lambda: fake.push_text(CHAT, "/start"), "Apakah Bapak/Ibu setuju")
    await turn(fake, CHAT, lambda: press(fake, CHAT, "Ya, saya setuju"), "Pilih bahasa")
    await turn(fake, CHAT, lambda: press(fake, CHAT, "Bahasa Indonesia"), "desa/kelurahan")
    await turn(fake, CHAT, lambda: fake.push_text(CHAT, "Jinengdalem"), "Pilih posyandu")
    await turn(fake, CHAT, lambda: press(fake, CHAT, "Posyandu Kenanga"), "kepala keluarga")
    await turn(fake, CHAT, lambda: fake.push_text(CHAT, "Gede Artawan"), "dusun")
    await turn(fake, CHAT, lambda: fake.push_text(CHAT, "Banjar Tegal"), "RT/RW")


async def test_a_message_in_hand_when_the_bot_is_killed_is_handled_once_after_the_restart(db, db_url):
    await load_demo(db)
    async with RecordingFake() as fake:
        bot = BotProcess(fake, db_url)
        await bot.start()
        try:
            await _register_up_to_rt_rw(fake)
            sent_before = len(fake.messages_to(CHAT))

            async with write_lock(db_url) as someone_waits:
                update = fake.push_text(CHAT, "RT 2 RW 1")  # this turn creates the family
                await fake.wait_for(lambda: update["update_id"] in fake.delivered, timeout=10)
                for _ in range(100):  # the bot is inside the turn, waiting for the lock
                    if await someone_waits():
                        break
                    await asyncio.sleep(0.05)
                assert await someone_waits()
                await asyncio.sleep(0.3)
                await bot.kill()
        finally:
            if bot.process is not None and bot.process.returncode is None:
                await bot.kill()  # a failure above must not leave the bot running
        assert len(fake.messages_to(CHAT)) == sent_before, "nothing was answered"
        assert fake.confirmed_offset <= update["update_id"], "the update was not confirmed"

        async with db.read() as session:
            assert await session.scalar(select(func.count()).select_from(Family)) == 0

        bot = BotProcess(fake, db_url)
        await bot.start()
        try:
            await fake.wait_for(lambda: any("dibuat" in (m.text or "") for m in fake.messages_to(CHAT)), timeout=20)
            await fake.wait_for(lambda: fake.confirmed_offset > update["update_id"], timeout=20)
            # one more turn: the conversation goes on from the stored state
            await turn(fake, CHAT, lambda: fake.push_text(CHAT, "Luh Sukerti"), "Jenis kelamin")
        finally:
            assert await bot.stop() == 0

        answers = [m.text or "" for m in fake.messages_to(CHAT)[sent_before:]]
        assert sum("Keluarga Gede Artawan dibuat" in a for a in answers) == 1, answers

    async with db.read() as session:
        families = (await session.scalars(select(Family))).all()
        seen = await session.scalar(select(func.count()).select_from(InboundMessage))
    assert [(f.name, f.rt, f.rw) for f in families] == [("Gede Artawan", "002", "001")]
    assert seen == 9  # seven turns before, the one in hand, one after: each stored once
