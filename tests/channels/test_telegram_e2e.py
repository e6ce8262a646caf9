"""End to end: the real bot process, polling a fake Bot API on 127.0.0.1, sets its command menu in each
language and registers a family."""
from __future__ import annotations

from sqlalchemy import select

from content.i18n import use_locale
from db.demo import load_demo
from handlers.help import command_menu
from db.models import Family, Person
from tests.channels.telegram_bot import BotProcess, press, turn
from tests.fakes.telegram_api import FakeTelegram

CHAT = 770001


async def _turn(fake: FakeTelegram, action, expect: str) -> str:
    """One action of the family, waiting for the answer that contains ``expect``."""
    return await turn(fake, CHAT, action, expect)


async def test_family_registers_over_telegram_across_a_restart(db, db_url):
    await load_demo(db)
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url)
        await bot.start()
        try:
            for lang, code in (("id", ""), ("en", "en")):  # the default menu, in Indonesian and in English
                with use_locale(lang):
                    expected = [{"command": c, "description": d} for c, d in command_menu("family")]
                assert fake.menu_for(CHAT, code) == expected, lang
            assert not fake.rejected
            await _turn(fake, lambda: fake.push_text(CHAT, "/start"), "Apakah Bapak/Ibu setuju")
            await _turn(fake, lambda: press(fake, CHAT, "Ya, saya setuju"), "Pilih bahasa")
            await _turn(fake, lambda: press(fake, CHAT, "Bahasa Indonesia"), "desa/kelurahan")
            await _turn(fake, lambda: fake.push_text(CHAT, "Jinengdalem"), "Pilih posyandu")
            await _turn(fake, lambda: press(fake, CHAT, "Posyandu Kenanga"), "kepala keluarga")
            await _turn(fake, lambda: fake.push_text(CHAT, "Gede Artawan"), "dusun")
            await _turn(fake, lambda: fake.push_text(CHAT, "Banjar Tegal"), "RT/RW")
            await _turn(fake, lambda: fake.push_text(CHAT, "RT 2 RW 1"), "anggota keluarga pertama")
            await _turn(fake, lambda: fake.push_text(CHAT, "Luh Sukerti"), "Jenis kelamin")
            await _turn(fake, lambda: press(fake, CHAT, "Perempuan"), "Tanggal lahir")
            await _turn(fake, lambda: fake.push_text(CHAT, "3 Juli 1994"), "sedang hamil")
        finally:
            assert await bot.stop() == 0

        # the bot is down; the mother answers anyway, then the bot comes back
        press(fake, CHAT, "Ya")
        bot = BotProcess(fake, db_url)
        await bot.start()
        try:
            await fake.wait_for(lambda: any("kehamilannya" in (m.text or "") for m in fake.messages_to(CHAT)), timeout=15)
            await _turn(fake, lambda: press(fake, CHAT, "Usia kehamilan"), "Berapa usia")
            await _turn(fake, lambda: fake.push_text(CHAT, "7 bulan"), "Tersimpan")
            await _turn(fake, lambda: press(fake, CHAT, "Nanti saja"), "Anggota keluarga")  # history: later
            await _turn(fake, lambda: press(fake, CHAT, "Tambah anggota"), "Nama anggota")
            await _turn(fake, lambda: fake.push_text(CHAT, "Komang Dita"), "Jenis kelamin")
            await _turn(fake, lambda: press(fake, CHAT, "Perempuan"), "Tanggal lahir")
            text = await _turn(fake, lambda: fake.push_text(CHAT, "14/02/2023"), "Tersimpan")
            assert "Balita" in text
            await _turn(fake, lambda: press(fake, CHAT, "Nanti saja"), "Anggota keluarga")
            await _turn(fake, lambda: fake.push_photo(CHAT), "foto")
            text = await _turn(fake, lambda: press(fake, CHAT, "Selesai"), "Pendaftaran selesai")
            assert "Posyandu Kenanga (Desa Jinengdalem)" in text
        finally:
            assert await bot.stop() == 0

        assert fake.answered_callbacks, "button presses are answered"
        duplicates = {pair: n for pair, n in fake.count_texts().items() if n > 1 and "Tersimpan" in (pair[1] or "")}
        assert not duplicates

    async with db.read() as session:
        family = (await session.scalars(select(Family))).one()
        names = [p.name for p in await session.scalars(select(Person).order_by(Person.id))]
    assert family.name == "Gede Artawan" and family.registered_at is not None
    assert names == ["Luh Sukerti", "Komang Dita"]
