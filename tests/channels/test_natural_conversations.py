"""Issue 14's "done when": a conversation in each language and each role, over the WhatsApp and Telegram
fakes, typed as people write (ya, P, L, hpht, 20 minggu, mawar, a misspelt village, 8,9 kg 72,5 cm, "ya" at
a save step, a code as the very first message), meets no refusal, and no text is cut."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from content.i18n import use_locale
from db.demo import load_demo
from db.models import Identity, Measurement, Person, Puskesmas, Visit
from handlers.kader import create_invite
from tests.channels.telegram_bot import BotProcess, turn
from tests.channels.whatsapp_world import WaChat, whatsapp_bot
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import DEFAULT_NOW, kader_of, make_family, notices_to

#: what a refused answer says (engine and flows): none of it may appear after a natural answer
REFUSALS = ("Mohon pilih", "Maaf, saya tidak mengerti", "tidak dikenal", "tidak terbaca", "Pilih dari daftar",
            "Atau ketik nomor pilihannya", "Please choose", "Sorry, I did not understand", "not recognised",
            "could not be read", "Or type the number")


def no_refusal(text: str, said: str) -> None:
    assert not any(mark in text for mark in REFUSALS), f"{said!r} was refused: {text[:400]}"


async def wa_say(chat: WaChat, text: str, expect: str | None = None) -> str:
    await chat.say(text)
    no_refusal(chat.text, text)
    if expect is not None:
        assert expect.lower() in chat.text.lower(), f"after {text!r}: {chat.text[:400]}"
    return chat.text


async def test_a_family_registers_on_whatsapp_typing_as_people_do(demo_db, settings, clock):
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        chat = WaChat(bot, "6281234500091", clock)
        await wa_say(chat, "halo", "setuju")
        await wa_say(chat, "ya")  # the consent
        if "bahasa" in chat.text.lower() and "desa" not in chat.text.lower():
            await wa_say(chat, "indonesia")
        await wa_say(chat, "nagasepha", "posyandu")  # misspelt
        await wa_say(chat, "mawar", "kepala keluarga")
        await wa_say(chat, "Wayan Sudarma", "dusun")
        await wa_say(chat, "Banjar Kaja", "RT")
        await wa_say(chat, "rt 3 rw 2", "anggota")
        await wa_say(chat, "Ni Made Sari", "jenis kelamin")
        await wa_say(chat, "P", "tanggal lahir")
        await wa_say(chat, "12-03-1996", "hamil")
        await wa_say(chat, "iya")
        await wa_say(chat, "20 minggu", "Tersimpan")  # straight from "what do you know about the pregnancy"
        await wa_say(chat, "nanti")
        await wa_say(chat, "tambah", "nama")
        await wa_say(chat, "Kadek Bayu", "jenis kelamin")
        await wa_say(chat, "L", "tanggal lahir")
        await wa_say(chat, "20-09-2026", "Tersimpan")
        await wa_say(chat, "nanti")
        await wa_say(chat, "selesai", "Pendaftaran selesai")
        await wa_say(chat, "/jadwal", "Posyandu")
        assert "Kadek Bayu" in chat.text and "Ni Made Sari" in chat.text
        assert not bot.graph.rejected and not bot.graph.unexpected
        for message in bot.graph.messages_to("6281234500091"):
            for button in ((message.get("interactive") or {}).get("action") or {}).get("buttons") or ():
                assert len(button["reply"]["title"]) <= 20
    async with demo_db.read() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
    assert people["Ni Made Sari"].sex == "F" and people["Ni Made Sari"].hpht is not None and people["Kadek Bayu"].sex == "M"


async def test_a_kader_joins_with_the_first_message_and_records_as_written_on_whatsapp_in_english(demo_db, settings, clock):
    family = await make_family(demo_db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2025, 12, 20))))
    async with demo_db.write() as session:
        invite = await create_invite(session, role="kader", posyandu_id=family.posyandu_id, now=DEFAULT_NOW)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        kader = WaChat(bot, "6281399900091", clock, name="Kader Wayan")
        await wa_say(kader, f"/kader {invite.code}")  # the very first message
        with use_locale("id"):
            assert "kader" in kader.text.lower()
        await wa_say(kader, "/bahasa en")
        await wa_say(kader, "/kunjungan")
        await wa_say(kader, family.code.lower().replace("-", ""))
        await wa_say(kader, "kadek")
        await wa_say(kader, "posyandu")
        await wa_say(kader, "8,9 kg 72,5 cm")
        await wa_say(kader, "lk 44 lila 14")
        while "Services given today" in kader.text or "Layanan" in kader.text:
            await wa_say(kader, "none")
        await wa_say(kader, "none")  # no doses today
        await wa_say(kader, "yes")  # save: never a note "yes"
        assert "Saved" in kader.text or "Tersimpan" in kader.text, kader.text
        assert not bot.graph.rejected and not bot.graph.unexpected
    async with demo_db.read() as session:
        visit = (await session.scalars(select(Visit))).one()
        weights = list(await session.scalars(select(Measurement.value).where(Measurement.visit_id == visit.id, Measurement.kind == "weight_kg")))
        kader_row = (await session.scalars(select(Identity).where(Identity.address == "6281399900091"))).one()
    assert visit.notes is None and weights == [8.9] and kader_row.role == "kader"


async def test_staff_join_first_and_read_the_whole_report_over_telegram(db, db_url):
    await load_demo(db)
    async with db.write() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
        invite = await create_invite(session, role="staff", puskesmas_id=puskesmas_id, now=datetime.now(UTC))  # the bot runs on the real clock
    chat_id = 770091
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url)
        await bot.start()
        try:
            text = await turn(fake, chat_id, lambda: fake.push_text(chat_id, f"/staf {invite.code}"), "Puskesmas")
            no_refusal(text, "/staf")
            text = await turn(fake, chat_id, lambda: fake.push_text(chat_id, "/laporan"), "posyandu")
            text = await turn(fake, chat_id, lambda: fake.push_text(chat_id, "mawar"), "Bulan")
            no_refusal(text, "mawar")
            text = await turn(fake, chat_id, lambda: fake.push_text(chat_id, "1"), "D/S")
            no_refusal(text, "1")
            text = await turn(fake, chat_id, lambda: fake.push_text(chat_id, "bantuan"), "/laporan")
            assert "/umumkan" in text and "/jadwalposyandu" in text
        finally:
            assert await bot.stop() == 0
        sent = [m for m in fake.messages_to(chat_id)]
        assert all(len(m.text or "") <= 4096 for m in sent)
        assert fake.menu_for(chat_id), "the staff member gets a command menu of their own"
        assert any(c["command"] == "laporan" for c in fake.menu_for(chat_id))


async def test_a_family_joins_with_its_code_first_over_telegram(db, db_url):
    await load_demo(db)
    family = await make_family(db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)),))
    await kader_of(None, db)  # the family has no chat yet: its kader is asked
    chat_id = 770092
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url)
        await bot.start()
        try:
            text = await turn(fake, chat_id, lambda: fake.push_text(chat_id, f"/gabung {family.code}"), "setuju")
            no_refusal(text, "/gabung")
            text = await turn(fake, chat_id, lambda: fake.push_text(chat_id, "iya"), "bahasa")
            no_refusal(text, "iya")
            text = await turn(fake, chat_id, lambda: fake.push_text(chat_id, "indonesia"), "Permintaan Bapak/Ibu sudah dikirim")
            no_refusal(text, "indonesia")
            assert family.name not in text  # named only after the kader's yes
        finally:
            assert await bot.stop() == 0
    async with db.read() as session:
        identity = (await session.scalars(select(Identity).where(Identity.address == str(chat_id)))).one()
    assert identity.family_id is None and identity.consent == "given"
    (asked,) = await notices_to(db, "kader-link")
    assert family.name in asked.body["text"] and [label for label, _data in asked.body["choices"]] == ["Izinkan", "Tolak"]
