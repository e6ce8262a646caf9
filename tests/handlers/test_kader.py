"""Kaders: joining with an invite, logging visits in their own posyandu only, undo, scope."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from care.growth import zscores
from content.i18n import format_number, use_locale
from db.models import AuditLog, CareRecord, Identity, Measurement, Posyandu, Referral, Visit
from handlers.kader import create_invite
from tests.handlers.test_visit import child_visit
from tests.helpers import DEFAULT_NOW, ChatDriver, answer_history, consent, invited_chat, link_through_kader, make_family

BABY_BIRTH = date(2026, 9, 20)  # two months old on 23 November 2026


async def kader_chat(engine, db, *, village="51.08.06.2014", address="kader-1") -> ChatDriver:
    async with db.read() as session:
        posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == village))
    chat = await invited_chat(engine, db, role="kader", address=address, posyandu_id=posyandu_id)
    assert "Bapak/Ibu sekarang kader" in chat.text
    return chat


async def test_an_invite_makes_a_kader_once(engine, demo_db):
    chat = await kader_chat(engine, demo_db)
    async with demo_db.read() as session:
        identity = (await session.scalars(select(Identity).where(Identity.address == "kader-1"))).one()
        assert identity.role == "kader" and identity.posyandu_id is not None
        code = await session.scalar(select(func.max(AuditLog.action)).where(AuditLog.action == "kader.joined"))
    assert code == "kader.joined"
    other = ChatDriver(engine, address="kader-2")
    await consent(other)
    await other.say("/kader NOSUCHCD")
    assert "tidak berlaku" in other.text
    assert "Catat kunjungan" in (await chat.say("/menu") and chat.labels)


async def test_an_expired_or_used_invite_is_refused(engine, demo_db, clock):
    async with demo_db.write() as session:
        posyandu = (await session.scalars(select(Posyandu).limit(1))).one()
        old = await create_invite(session, role="kader", posyandu_id=posyandu.id, now=DEFAULT_NOW - timedelta(days=8))
        fresh = await create_invite(session, role="kader", posyandu_id=posyandu.id, now=DEFAULT_NOW)
    first, second = ChatDriver(engine, address="a"), ChatDriver(engine, address="b")
    for chat in (first, second):
        await consent(chat)
    await first.say(f"/kader {old.code}")
    assert "tidak berlaku" in first.text
    await first.say(f"/kader {fresh.code}")
    await second.say(f"/kader {fresh.code}")
    assert "Bapak/Ibu sekarang kader" in first.text and "tidak berlaku" in second.text


async def test_a_kader_logs_a_childs_visit_and_reads_the_z_scores(engine, demo_db):
    family = await make_family(demo_db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", BABY_BIRTH)))
    chat = await kader_chat(engine, demo_db)
    await chat.say("/kunjungan")
    await chat.say(family.code.lower().replace("-", ""))
    await chat.press("Kadek Bayu")
    await chat.press("Posyandu")
    await chat.say("5,4 57,5")
    await chat.say("39 -")
    assert "Layanan yang diberikan" not in chat.text  # nothing due at two months but the doses: not asked
    await chat.press("Semua yang waktunya")
    assert "Periksa sebelum disimpan" in chat.text
    await chat.say("ibu diajari ASI eksklusif")
    assert "Catatan: ibu diajari ASI eksklusif" in chat.text
    z = zscores(1, (date(2026, 11, 23) - BABY_BIRTH).days, weight_kg=5.4, length_cm=57.5, measured="l", head_cm=39)
    with use_locale("id"):
        for key, label in (("wfa", "BB/U"), ("lhfa", "PB/U"), ("wflh", "BB/PB")):
            assert f"{label}: {format_number(z[key], 2, fixed=True)}" in chat.text
    await chat.press("Simpan")
    assert "Tersimpan" in chat.text
    async with demo_db.read() as session:
        visit = (await session.scalars(select(Visit))).one()
        kinds = {m.kind: m.value for m in await session.scalars(select(Measurement).where(Measurement.visit_id == visit.id))}
        doses = set(await session.scalars(select(CareRecord.code).where(CareRecord.visit_id == visit.id)))
        audit = await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "visit.logged"))
    assert kinds == {"weight_kg": 5.4, "length_cm": 57.5, "head_cm": 39.0}
    assert {"DPT_HB_HIB1", "PCV1", "BCG"} <= doses and audit == 1


async def test_undo_within_thirty_minutes_only(engine, demo_db, clock):
    family = await make_family(demo_db, members=(("Kadek Bayu", "M", BABY_BIRTH), ("Komang Ayu", "F", BABY_BIRTH)))
    chat = await kader_chat(engine, demo_db)
    for name in ("Kadek Bayu", "Komang Ayu"):
        await child_visit(chat, family.code, name, place="Kunjungan rumah")
    await chat.say("/urung")
    assert "dibatalkan" in chat.text
    clock.advance(minutes=31)
    await chat.say("/urung")
    assert "Tidak ada kunjungan" in chat.text
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 1


async def test_a_kader_cannot_reach_another_posyandus_family(engine, demo_db):
    other = await make_family(demo_db, village_code="18.10.01.2011", name="Keluarga Lampung")
    chat = await kader_chat(engine, demo_db)
    await chat.say("/kunjungan")
    await chat.say(other.code)
    assert "Tidak ada keluarga dengan kode itu di posyandu Bapak/Ibu" in chat.text
    await chat.say("Lampung")
    assert "Tidak ada keluarga bernama" in chat.text


async def test_pregnant_visit_flags_kek_and_high_blood_pressure(engine, demo_db):
    family = await make_family(demo_db, members=(("Ni Made Sari", "F", date(1996, 3, 12)),))
    async with demo_db.write() as session:
        from db.models import Person

        mother = (await session.scalars(select(Person).where(Person.family_id == family.id))).one()
        mother.hpht = date(2026, 7, 1)
    chat = await kader_chat(engine, demo_db)
    await chat.say("/kunjungan")
    await chat.say(family.code)
    await chat.press("Ni Made Sari")
    await chat.press("Posyandu")
    for answer in ("52", "150/95", "22,5", "30", "3"):
        await chat.say(answer)
    assert "KEK" in chat.text and "Tekanan darah tinggi (150/95)" in chat.text


async def test_a_family_links_its_phone_with_the_family_code(engine, demo_db):
    family = await make_family(demo_db)
    chat = ChatDriver(engine, address="628555")
    await consent(chat)
    await link_through_kader(chat, demo_db, family.code)  # a family with no chat yet: its kader says yes
    await chat.say("/keluarga")
    assert "Ni Luh Sari" in chat.text


async def test_families_cannot_log_visits(engine, demo_db):
    chat = ChatDriver(engine)
    await consent(chat)
    await chat.say("/kunjungan")
    assert "Hanya kader" in chat.text


async def test_a_kader_registers_a_family_without_a_phone_who_links_later(engine, demo_db):
    chat = await kader_chat(engine, demo_db)
    await chat.say("/daftarkan")
    assert "kepala keluarga" in chat.text
    await chat.say("Komang Wirata")
    await chat.say("Banjar Kelod")
    await chat.say("2/1")
    assert "Nomor HP" in chat.text
    await chat.say("-")
    await chat.say("Luh Sari")
    await chat.press("Perempuan")
    await chat.say("1-1-2025")
    await answer_history(chat)  # the Buku KIA history is left for later
    await chat.press("Selesai")
    assert "Pendaftaran selesai" in chat.text and "/gabung K-" in chat.text
    async with demo_db.read() as session:
        from db.models import Family

        family = (await session.scalars(select(Family).where(Family.name == "Komang Wirata"))).one()
        kader = (await session.scalars(select(Identity).where(Identity.address == "kader-1"))).one()
    assert kader.family_id is None and family.posyandu_id == kader.posyandu_id and family.registered_at
    mother = ChatDriver(engine, address="628777")
    await consent(mother)
    await link_through_kader(mother, demo_db, family.code, kader=chat)  # the kader who registered them says yes
    await mother.say("/keluarga")
    assert "Luh Sari" in mother.text


async def test_a_family_a_kader_registered_with_a_phone_is_linked_when_that_number_writes_on_whatsapp(engine, demo_db):
    chat = await kader_chat(engine, demo_db)
    await chat.say("/daftarkan")
    for answer in ("Komang Wirata", "Banjar Kelod", "2/1", "0812-345"):
        await chat.say(answer)
    assert "Tulis nomor HP" in chat.text  # too short: asked again, nothing lost
    await chat.say("+62 812 3456 7890")
    await chat.say("Luh Sari")
    await chat.press("Perempuan")
    await chat.say("1-1-2025")
    await answer_history(chat)  # the Buku KIA history is left for later
    await chat.press("Selesai")
    async with demo_db.read() as session:
        from db.models import Family

        family = (await session.scalars(select(Family).where(Family.name == "Komang Wirata"))).one()
    assert family.phone == "6281234567890"
    stranger = ChatDriver(engine, address="6281299990000", channel="whatsapp", phone="6281299990000")
    await consent(stranger)
    assert "desa/kelurahan" in stranger.text  # another number registers as usual
    telegram = ChatDriver(engine, address="55501", channel="telegram")  # a chat id proves no number
    await consent(telegram)
    assert "desa/kelurahan" in telegram.text
    mother = ChatDriver(engine, address="6281234567890", channel="whatsapp", phone="6281234567890")
    await consent(mother)
    assert "Komang Wirata" in mother.text and "Luh Sari" in mother.text
    async with demo_db.read() as session:
        linked = (await session.scalars(select(Identity).where(Identity.address == "6281234567890"))).one()
    assert linked.family_id == family.id


async def test_sasaran_lists_the_kaders_own_targets_grouped_and_paged(engine, demo_db):
    for n in range(8):
        await make_family(demo_db, name=f"Keluarga {n}", members=((f"Bayi {n}", "M", BABY_BIRTH), (f"Ibu {n}", "F", date(1995, 1, 1))))
    await make_family(demo_db, village_code="18.10.01.2011", name="Lain", members=(("Bayi Lampung", "M", BABY_BIRTH),))
    chat = await kader_chat(engine, demo_db)
    await chat.say("/sasaran")
    assert "halaman 1 dari 2" in chat.text and "[Banjar Kelod, RT 001]" in chat.text
    assert "DPT-HB-Hib 1" in chat.text and "belum ditimbang bulan ini" in chat.text
    assert "Bayi Lampung" not in chat.text
    await chat.press("Berikutnya")
    assert "halaman 2 dari 2" in chat.text
    await chat.press("Selesai")
    assert "Apa yang ingin Bapak/Ibu lakukan" in chat.text


async def test_after_a_childs_visit_the_kader_and_the_family_get_the_growth_chart(engine, demo_db):
    family = await make_family(demo_db, identity_address="628999", members=(("Kadek Bayu", "M", BABY_BIRTH),))
    chat = await kader_chat(engine, demo_db)
    await child_visit(chat, family.code, "Kadek Bayu")
    await chat.press("Grafik pertumbuhan")
    image = next(r.image for r in chat.replies if r.image)
    assert image.startswith(b"\x89PNG") and 1000 < len(image) < 150_000
    mother = ChatDriver(engine, address="628999")
    await mother.say("/grafik")
    assert any(r.image and r.image.startswith(b"\x89PNG") for r in mother.replies)


async def test_fast_entry_logs_at_once_and_names_the_part_not_understood(engine, demo_db):
    family = await make_family(demo_db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Putu Adi", "M", date(2025, 9, 14)), ("Kadek Bayu", "M", BABY_BIRTH)))
    chat = await kader_chat(engine, demo_db)
    await chat.say(f"catat {family.code.lower()} anak2 bb 5,4 pb 57,5 imun dpt1 pcv1 opv1")
    assert "Tersimpan" in chat.text and "Kadek Bayu" in chat.text
    z = zscores(1, (date(2026, 11, 23) - BABY_BIRTH).days, weight_kg=5.4, length_cm=57.5, measured="l")
    with use_locale("id"):
        assert f"BB/U: {format_number(z['wfa'], 2, fixed=True)}" in chat.text
    await chat.say(f"catat {family.code} anak1 bb 9,1 tb 75 imun dtx2")
    assert "\u201cdtx2\u201d" in chat.text and "Kode imunisasi tidak dikenal" in chat.text
    await chat.say(f"catat {family.code} ibu td 150/95")
    assert "Tersimpan" in chat.text and "Tekanan darah tinggi (150/95)" in chat.text
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 2
        doses = set(await session.scalars(select(CareRecord.code)))
    assert {"DPT_HB_HIB1", "PCV1", "OPV1"} <= doses


async def test_an_unusual_value_needs_a_confirmation(engine, demo_db, clock):
    family = await make_family(demo_db, members=(("Kadek Bayu", "M", BABY_BIRTH),))
    chat = await kader_chat(engine, demo_db)
    await chat.say(f"catat {family.code} anak1 bb 5,4 pb 57")
    assert "Tersimpan" in chat.text
    clock.advance(days=30)
    await chat.say(f"catat {family.code} anak1 bb 9 pb 60")  # +3,6 kg in a month: possible only as a typing slip
    assert "tampak tidak mungkin" in chat.text and "perubahan berat" in chat.text
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 1
    await chat.press("Batal")
    await chat.say(f"catat {family.code} anak1 bb 9 pb 60")
    await chat.press("Ya, benar")
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 2


async def test_ten_visits_guided_and_fast(engine, demo_db):
    families = [await make_family(demo_db, name=f"Keluarga {n}", members=((f"Anak {n}", "F", BABY_BIRTH),)) for n in range(10)]
    chat = await kader_chat(engine, demo_db)
    for n, family in enumerate(families):
        if n % 2:
            await chat.say(f"catat {family.code} anak1 bb {5 + n / 10:.1f} pb 57")
        else:
            await child_visit(chat, family.code, f"Anak {n}", size=f"{5 + n / 10:.1f}".replace(".", ",") + " 57")
        assert "Tersimpan" in chat.text, chat.text
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 10
        assert await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "visit.logged")) == 10


async def test_todays_list_and_the_lansia_screening(engine, demo_db):
    await make_family(demo_db, name="Keluarga Balita", members=(("Kadek Bayu", "M", BABY_BIRTH),))
    elder_family = await make_family(demo_db, name="Keluarga Lansia", members=(("Nenek Rai", "F", date(1950, 2, 2)),))
    chat = await kader_chat(engine, demo_db)
    await chat.say("/kunjungan")
    assert any("Keluarga Balita" in label for label in chat.labels)
    assert not any("Keluarga Lansia" in label for label in chat.labels)
    await chat.say(elder_family.code)
    await chat.press("Nenek Rai")
    await chat.press("Kunjungan rumah")
    for answer in ("150/100", "-", "-"):
        await chat.say(answer)
    await chat.press("Ada yang positif")
    assert "SKILAS positif" in chat.text and "Tekanan darah tinggi" in chat.text
    await chat.press("Simpan")
    assert "Rujukan dibuka: Tekanan darah tinggi, SKILAS positif." in chat.text
    async with demo_db.read() as session:
        assert await session.scalar(select(CareRecord.detail).where(CareRecord.code == "SKILAS")) == {"result": "positive"}
        referrals = {r.reason: r.detail for r in await session.scalars(select(Referral))}
    assert referrals == {"hypertension": {"sbp": 150, "dbp": 100}, "skilas": None}
