"""The engine and channel accounts: a chat row records the account it wrote to, and a message id is one
account's own (two bots number their messages alike)."""
from __future__ import annotations

from sqlalchemy import select

from channels.messages import Incoming
from db.models import Identity
from handlers.engine import message_key


async def _account(db, address: str) -> str:
    async with db.read() as session:
        return await session.scalar(select(Identity.account).where(Identity.channel == "telegram", Identity.address == address))


async def test_a_chat_is_recorded_with_the_account_it_wrote_to_and_follows_it_to_another(engine, demo_db):
    first = await engine.handle(Incoming("telegram", "7100", message_id="7100:1", text="/start", account="kota"))
    assert first and await _account(demo_db, "7100") == "kota"

    await engine.handle(Incoming("telegram", "7100", message_id="7100:1", text="halo"))  # the same id, to the default bot
    assert await _account(demo_db, "7100") == "default"  # answered, and reached from the bot it wrote to last
    await engine.handle(Incoming("telegram", "7100", message_id="7100:2", text="halo", account="kota"))
    assert await _account(demo_db, "7100") == "kota"


async def test_a_new_chat_of_the_default_account_keeps_the_message_keys_stored_before_accounts():
    plain = Incoming("telegram", "7200", message_id="7200:5")
    assert message_key(plain) == message_key(Incoming("telegram", "7200", message_id="7200:5", account="default"))
    assert message_key(plain) != message_key(Incoming("telegram", "7200", message_id="7200:5", account="kota"))
