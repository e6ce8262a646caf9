"""A broadcast to 1,000 families drains through the fake Bot API with exact counts; a cancelled
posyandu session reaches each of its families once."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, insert, select

from channels.messages import Incoming, Reply
from channels.telegram import TelegramChannel
from config import TelegramConfig
from db.models import Family, Identity, Outbox, Person, Posyandu
from reminders.dispatcher import Dispatcher
from tests.fakes.telegram_api import FakeTelegram
from tests.handlers.test_staff import staff_chat
from tests.helpers import DEFAULT_NOW, ChatDriver

FAMILIES = 1000


async def _no_handler(incoming: Incoming) -> list[Reply]:
    return []


async def _families(db, count: int, village: str = "51.08.06.2014", first_chat: int = 3_000_000) -> None:
    """Registered families with a toddler and a Telegram chat each, inserted in bulk."""
    async with db.write() as session:
        posyandu = (await session.scalars(select(Posyandu).where(Posyandu.village_code == village))).one()
        start = (await session.scalar(select(func.max(Family.id)))) or 0
        await session.execute(insert(Family), [
            {"id": start + n + 1, "posyandu_id": posyandu.id, "code": f"K-B{start + n:05d}", "name": f"Keluarga {n}", "rt": "001",
             "registered_at": DEFAULT_NOW, "created_at": DEFAULT_NOW, "updated_at": DEFAULT_NOW} for n in range(count)])
        await session.execute(insert(Person), [
            {"family_id": start + n + 1, "name": f"Balita {n}", "sex": "F", "birth_date": date(2025, 1, 1),
             "created_at": DEFAULT_NOW, "updated_at": DEFAULT_NOW} for n in range(count)])
        await session.execute(insert(Identity), [
            {"channel": "telegram", "address": str(first_chat + n), "language": "id", "role": "family", "family_id": start + n + 1,
             "consent": "given", "consent_version": "2026-11", "consent_at": DEFAULT_NOW, "created_at": DEFAULT_NOW} for n in range(count)])


async def _drain(db, clock) -> FakeTelegram:
    fake = FakeTelegram()
    await fake.start()
    config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
    channel = TelegramChannel(config, _no_handler)
    try:
        dispatcher = Dispatcher(db, {"telegram": channel.send_one}, clock=clock, rates={"telegram": None}, per_chat_interval=0)
        while (await dispatcher.run_once()).claimed:
            pass
    finally:
        await channel.stop()
        await fake.stop()
    return fake


async def test_a_broadcast_to_a_thousand_families_drains_with_exact_counts(engine, demo_db, clock):
    await _families(demo_db, FAMILIES)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/umumkan")
    await chat.press("Keluarga dengan balita")
    await chat.press("Posyandu Mawar")
    await chat.press("Lanjut")
    await chat.say("Imunisasi kejar campak-rubela minggu depan.")
    assert f"{FAMILIES} penerima" in chat.text
    await chat.press("Kirim")
    fake = await _drain(demo_db, clock)
    counts = fake.count_texts()
    assert sum(counts.values()) == FAMILIES and len(counts) == FAMILIES and fake.duplicates == 0
    async with demo_db.read() as session:
        states = dict((await session.execute(select(Outbox.state, func.count()).group_by(Outbox.state))).all())
    assert states == {"sent": FAMILIES}
    await chat.say("/status")
    assert f"terkirim {FAMILIES}, menunggu 0" in chat.text


async def test_a_cancelled_session_reaches_its_families_once(engine, demo_db, clock):
    await _families(demo_db, 5)
    await _families(demo_db, 3, village="51.08.06.2016", first_chat=4_000_000)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/jadwalposyandu")
    await chat.press("Batalkan")
    await chat.press("Posyandu Mawar")
    await chat.press("Sabtu, 5 Des")
    await chat.say("hujan deras")
    await chat.press("Kirim")
    again = ChatDriver(engine, address=chat.address)
    await again.say("/jadwalposyandu")  # the calendar now shows the session gone
    assert "Sab 5 Des" not in again.text
    fake = await _drain(demo_db, clock)
    texts = [text for (chat_id, text), n in fake.count_texts().items() for _ in range(n)]
    assert len(texts) == 5 and all("5 Desember dibatalkan" in t and "hujan deras" in t for t in texts)
    assert fake.duplicates == 0
