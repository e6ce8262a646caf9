"""The family record over the real channels: a household tells its Buku KIA history on WhatsApp (in
English) and on Telegram (in Indonesian, the real bot process), a kader records services on WhatsApp,
and what was told is not asked for again."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from db.demo import load_demo
from db.models import CareRecord, Person, Referral
from tests.channels.telegram_bot import BotProcess, press, turn
from tests.channels.whatsapp_world import WaChat, whatsapp_bot
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import DEFAULT_NOW, make_family

MOTHER = "6281234500077"
CHAT = 770077


async def test_a_household_tells_its_history_on_whatsapp_in_english(demo_db, settings, clock):
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        chat = WaChat(bot, MOTHER, clock)
        await chat.say("hello")
        await chat.press("English")
        await chat.press("Yes, I agree")  # English is not asked again
        await chat.say("Nagasepaha")
        await chat.press("Posyandu")
        await chat.say("Wayan Sudarma")
        await chat.say("Banjar Kaja")
        await chat.say("003/002")
        await chat.say("Putu Ayu")
        await chat.press("Female")
        await chat.say("10-11-2024")
        assert len(chat.labels) >= 3 and all(len(label) <= 20 for label in chat.labels), chat.labels
        await chat.say("1")  # all doses due by age, picked by its number
        await chat.press("None")  # no exceptions
        for _step in range(3):  # vitamin A and deworming: not known
            if "Later" in chat.labels:
                await chat.press("Later")
        await chat.press("Add member")
        await chat.say("Nenek Rai")
        await chat.press("Female")
        await chat.say("67 years")
        assert "\u00b167" in chat.text
        if "Later" in chat.labels:
            await chat.press("Later")
        await chat.press("Done")
        await chat.say("/imunisasi")
        card = chat.text
        assert "Putu Ayu" in card and "Missed" not in card and "Due now" not in card, card
        assert not bot.graph.rejected and not bot.graph.unexpected
    async with demo_db.read() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
        doses = set(await session.scalars(select(CareRecord.code).where(CareRecord.person_id == people["Putu Ayu"].id)))
    assert people["Nenek Rai"].birth_precision == "age" and people["Nenek Rai"].birth_date == date(1959, 5, 23)
    assert {"HB0", "BCG", "DPT_HB_HIB3", "MR1", "PCV3", "MR2"} <= doses


async def test_a_kader_records_services_and_a_referral_on_whatsapp(demo_db, settings, clock):
    from handlers.kader import create_invite

    family = await make_family(demo_db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2024, 6, 1))))
    async with demo_db.write() as session:
        invite = await create_invite(session, role="kader", posyandu_id=family.posyandu_id, now=DEFAULT_NOW)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        kader = WaChat(bot, "6281399900077", clock, name="Kader Wayan")
        await kader.join("kader", invite.code)
        await kader.say(f"catat {family.code} anak1 bb 9 tb 80 oc vita")
        assert "Tersimpan" in kader.text and "Rujukan dibuka" in kader.text, kader.text  # 9 kg at 29 months: underweight
        assert not bot.graph.rejected and not bot.graph.unexpected
    async with demo_db.read() as session:
        codes = set(await session.scalars(select(CareRecord.code)))
        reasons = set(await session.scalars(select(Referral.reason)))
    assert {"TIMBANG", "OBAT_CACING", "VITA_MERAH"} <= codes and "underweight" in reasons


async def test_a_household_tells_its_history_over_telegram(db, db_url):
    await load_demo(db)
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url)
        await bot.start()
        try:
            steps = [
                (lambda: fake.push_text(CHAT, "/start"), "Apakah Bapak/Ibu setuju"),
                (lambda: press(fake, CHAT, "Ya, saya setuju"), "Pilih bahasa"),
                (lambda: press(fake, CHAT, "Bahasa Indonesia"), "desa/kelurahan"),
                (lambda: fake.push_text(CHAT, "Nagasepaha"), "Pilih posyandu"),
                (lambda: press(fake, CHAT, "Posyandu"), "kepala keluarga"),
                (lambda: fake.push_text(CHAT, "Gede Artawan"), "dusun"),
                (lambda: fake.push_text(CHAT, "Banjar Tegal"), "RT/RW"),
                (lambda: fake.push_text(CHAT, "RT 2 RW 1"), "anggota keluarga pertama"),
                (lambda: fake.push_text(CHAT, "Putu Ayu"), "Jenis kelamin"),
                (lambda: press(fake, CHAT, "Perempuan"), "Tanggal lahir"),
                (lambda: fake.push_text(CHAT, "10-11-2024"), "Buku KIA"),
                (lambda: press(fake, CHAT, "Isi satu per satu"), "Ketik imunisasi"),
                (lambda: fake.push_text(CHAT, "hb0 bcg 10-11-2024, dpt1 pcv1 rota1 opv2 januari 2025, mr1 sudah"), "Tercatat"),
            ]
            for action, expect in steps:
                await turn(fake, CHAT, action, expect)
        finally:
            assert await bot.stop() == 0
    async with db.read() as session:
        records = {r.code: (r.done_on, r.precision) for r in await session.scalars(select(CareRecord))}
    assert records["BCG"] == (date(2024, 11, 10), "day")
    assert records["PCV1"] == (date(2025, 1, 15), "month")
    assert records["MR1"][1] == "unknown"
