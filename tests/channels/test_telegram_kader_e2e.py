"""End to end: a kader on Telegram joins with an invite, logs visits (fast and guided), gets the chart."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from db.demo import load_demo
from db.models import Posyandu, Visit
from handlers.kader import create_invite
from tests.channels.telegram_bot import BotProcess, awake_hours, press, turn
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import DEFAULT_NOW, make_family

KADER = 990001


async def _turn(fake: FakeTelegram, action, expect: str) -> str:
    """One action of the kader, waiting for the answer that contains ``expect``."""
    return await turn(fake, KADER, action, expect)


async def test_a_kader_logs_visits_over_telegram(db, db_url):
    await load_demo(db)
    async with db.write() as session:
        posyandu = (await session.scalars(select(Posyandu).where(Posyandu.village_code == "51.08.06.2014"))).one()
        invite = await create_invite(session, role="kader", posyandu_id=posyandu.id, now=DEFAULT_NOW.replace(year=2030))
    babies = [await make_family(db, name=f"Keluarga {n}", members=((f"Bayi {n}", "M", date.today().replace(day=1) if n else date(2025, 1, 1)),)) for n in range(3)]
    more = [await make_family(db, name=f"Keluarga Tambah {n}", members=((f"Anak {n}", "F", date(2024, 6, 1)),)) for n in range(8)]
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url)
        await bot.start()
        try:
            await _turn(fake, lambda: fake.push_text(KADER, "/start"), "setuju")
            await _turn(fake, lambda: press(fake, KADER, "Ya, saya setuju"), "Pilih bahasa")
            await _turn(fake, lambda: press(fake, KADER, "Bahasa Indonesia"), "desa")
            await _turn(fake, lambda: fake.push_text(KADER, f"/kader {invite.code}"), "Bapak/Ibu sekarang kader")
            text = await _turn(fake, lambda: fake.push_text(KADER, f"catat {babies[0].code} anak1 bb 11,2 tb 82"), "Tersimpan")
            assert "TB/U" in text and "BB/TB" in text
            text = await _turn(fake, lambda: fake.push_text(KADER, f"catat {babies[1].code} anak1 bb 4,1 pb 53 imun dtx1"), "Belum tercatat")
            assert "dtx1" in text
            for n, family in enumerate(more):
                await _turn(fake, lambda code=family.code, n=n: fake.push_text(KADER, f"catat {code} anak1 bb {11 + n / 10:.1f} tb {85 + n}"), "Tersimpan")
            await _turn(fake, lambda: fake.push_text(KADER, "/kunjungan"), "Keluarga mana")
            await _turn(fake, lambda: fake.push_text(KADER, babies[2].code), "Siapa yang dikunjungi")
            await _turn(fake, lambda: press(fake, KADER, "Bayi 2"), "Di mana")
            await _turn(fake, lambda: press(fake, KADER, "Posyandu"), "Berat (kg) dan panjang")
            await _turn(fake, lambda: fake.push_text(KADER, "4,3 54"), "Lingkar kepala")
            text = await _turn(fake, lambda: fake.push_text(KADER, "-"), "yang diberikan hari ini")
            if "Layanan yang diberikan" in text:  # a newborn's visits (KN) are due
                await _turn(fake, lambda: press(fake, KADER, "Tidak ada"), "Imunisasi")
            await _turn(fake, lambda: press(fake, KADER, "Tidak ada"), "Periksa sebelum disimpan")
            await _turn(fake, lambda: press(fake, KADER, "Simpan"), "Tersimpan")
            before = len(fake.sent_to(KADER))
            press(fake, KADER, "Grafik pertumbuhan")
            photo = await fake.wait_for(lambda: [c for c in fake.sent_to(KADER)[before:] if c.method == "sendPhoto"], timeout=30)
            assert photo[0].files["photo"].data.startswith(b"\x89PNG")
        finally:
            assert await bot.stop() == 0
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 10


async def test_staff_broadcast_a_photo_with_a_caption_over_telegram(db, db_url):
    """The photo staff send is forwarded by its file id to the chosen families, with the caption."""
    from db.models import Puskesmas

    await load_demo(db)
    families = [await make_family(db, identity_address=str(880100 + n), members=((f"Bayi {n}", "F", date(2025, 6, 1)),)) for n in range(3)]
    async with db.write() as session:
        from db.models import Identity
        from sqlalchemy import update

        await session.execute(update(Identity).where(Identity.family_id.in_([f.id for f in families])).values(channel="telegram"))
        puskesmas = (await session.scalars(select(Puskesmas).where(Puskesmas.code == "P5108060201"))).one()
        invite = await create_invite(session, role="staff", puskesmas_id=puskesmas.id, now=DEFAULT_NOW.replace(year=2030))
    staff = 880001
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url, ILPBOT_REMINDERS_ENABLED="true", ILPBOT_REMINDERS_DISPATCH_EVERY="0.5", **awake_hours())
        await bot.start()
        try:
            await turn(fake, staff, lambda: fake.push_text(staff, "/start"), "setuju")
            await turn(fake, staff, lambda: press(fake, staff, "Ya, saya setuju"), "Pilih bahasa")
            await turn(fake, staff, lambda: press(fake, staff, "Bahasa Indonesia"), "desa")
            await turn(fake, staff, lambda: fake.push_text(staff, f"/staf {invite.code}"), "petugas")
            await turn(fake, staff, lambda: fake.push_text(staff, "/umumkan"), "kepada siapa")
            await turn(fake, staff, lambda: press(fake, staff, "Keluarga dengan balita"), "Di mana")
            await turn(fake, staff, lambda: press(fake, staff, "Seluruh puskesmas"), "foto")
            await turn(fake, staff, lambda: fake.push_photo(staff, "Jadwal imunisasi kejar bulan ini"), "dengan foto")
            await turn(fake, staff, lambda: press(fake, staff, "Kirim"), "antrean untuk 3 penerima")
            photos = await fake.wait_for(
                lambda: (lambda p: p if len(p) == 3 else None)([c for c in fake.sent if c.method == "sendPhoto" and c.chat_id != staff]),
                timeout=30)
            assert all("Jadwal imunisasi kejar bulan ini" in (c.text or "") for c in photos)
        finally:
            assert await bot.stop() == 0
