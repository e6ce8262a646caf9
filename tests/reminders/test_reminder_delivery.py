"""From a registered family to a message in Telegram: plan the day, dispatch, the fake receives it once."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, update

from channels.messages import Incoming, Reply
from channels.telegram import TelegramChannel
from config import TelegramConfig
from db.models import Identity, Outbox
from reminders.dispatcher import Dispatcher
from reminders.planner import Planner
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import make_family

CHAT = 7_700_042


async def _no_handler(incoming: Incoming) -> list[Reply]:
    return []


async def test_a_demo_family_with_a_two_month_old_gets_one_message_on_the_planned_day(demo_db, settings, clock):
    await make_family(
        demo_db, identity_address=str(CHAT),
        members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2026, 10, 1))),
    )
    async with demo_db.write() as session:
        await session.execute(update(Identity).values(channel="telegram"))
    await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))

    async with FakeTelegram() as fake:
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channel = TelegramChannel(config, _no_handler)
        try:
            dispatcher = Dispatcher(demo_db, {"telegram": channel.send_one}, clock=clock, rates={"telegram": None}, per_chat_interval=0)
            clock.now = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)  # 06:30 WITA on the 4th: before the 07:00 slot
            assert (await dispatcher.run_once()).sent == 0
            clock.now = datetime(2026, 12, 3, 23, 5, tzinfo=UTC)  # 07:05 WITA
            assert (await dispatcher.run_once()).sent == 1
            assert (await dispatcher.run_once()).claimed == 0  # nothing twice
        finally:
            await channel.stop()
        texts = fake.texts_to(CHAT)
    assert len(texts) == 1
    assert "Besok (Sabtu, 5 Desember) hari posyandu di Posyandu Mawar" in texts[0]
    assert "Kadek Bayu: imunisasi" in texts[0] and "DPT-HB-Hib 1" in texts[0]
    async with demo_db.read() as session:
        row = (await session.scalars(select(Outbox))).one()
    assert row.state == "sent" and row.provider_message_id
