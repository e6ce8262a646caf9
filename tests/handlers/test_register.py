"""Registering a household through the engine, as a family would by chat."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from channels.messages import Incoming
from content.i18n import _, use_locale
from db.models import ConsentRecord, Family, Identity, Person
from handlers.engine import Engine
from tests.helpers import ChatDriver, add_member, consent, register_household


async def test_family_registers_pregnant_mother_and_two_children(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    assert "anggota keluarga pertama" in chat.text
    await add_member(chat, "Ni Made Sari", "Perempuan", "12 Maret 1996", pregnant="20 minggu")
    assert "Ni Made Sari (Perempuan, 30 tahun): Ibu hamil 20 minggu\n" in chat.text and "Usia dewasa" not in chat.text
    await chat.press("Tambah anggota")
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    assert "Putu Ayu (Perempuan, 4 thn 9 bln): Balita" in chat.text
    await chat.press("Tambah anggota")
    await add_member(chat, "Kadek Bayu", "Laki-laki", "5-09-2026")
    assert "Kadek Bayu (Laki-laki, 2 bulan): Bayi" in chat.text
    await chat.press("Selesai")
    assert "Pendaftaran selesai" in chat.text
    assert "Posyandu Mawar (Desa Nagasepaha)" in chat.text

    async with demo_db.read() as session:
        family = (await session.scalars(select(Family))).one()
        members = list(await session.scalars(select(Person).order_by(Person.id)))
    assert family.name == "Wayan Sudarma" and family.rt == "003" and family.rw == "002"
    assert family.registered_at is not None
    assert [(m.name, m.sex, m.birth_date) for m in members] == [
        ("Ni Made Sari", "F", date(1996, 3, 12)),
        ("Putu Ayu", "F", date(2022, 2, 1)),
        ("Kadek Bayu", "M", date(2026, 9, 5)),
    ]
    mother = members[0]
    assert (date(2026, 11, 23) - mother.hpht).days == 140
    assert (mother.due_date - mother.hpht).days == 280
    assert family.code in chat.text


async def test_a_restart_mid_registration_continues_where_it_stopped(demo_db, settings, clock):
    first = ChatDriver(Engine(demo_db, settings, clock=clock))
    await register_household(first)
    await first.say("Ni Made Sari")
    # a new engine (as after a restart) continues from the database
    second = ChatDriver(Engine(demo_db, settings, clock=clock), address=first.address)
    await second.press("Perempuan", replies=first.replies)
    assert "Tanggal lahir Ni Made Sari" in second.text


async def test_pregnancy_by_due_date_and_hpht(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.press("Perempuan")
    await chat.say("12-03-1996")
    await chat.press("Ya")
    await chat.press("Perkiraan tanggal lahir")
    await chat.say("1 Juni 2026")
    assert "sudah lewat" in chat.text
    await chat.say("14/5/28")
    assert "lebih dari 10 bulan" in chat.text
    await chat.say("14 May 2027")
    assert "Tersimpan" in chat.text
    async with demo_db.read() as session:
        mother = (await session.scalars(select(Person))).one()
    assert mother.due_date == date(2027, 5, 14)


async def test_birth_dates_that_cannot_be(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Putu Ayu")
    await chat.press("Perempuan")
    for wrong, hint in [
        ("31-02-2024", "tidak ada di kalender"),
        ("besok", "tidak terbaca"),
        ("1-1-2027", "tidak boleh setelah hari ini"),
        ("1 Januari 1890", "lebih dari 120 tahun"),
    ]:
        await chat.say(wrong)
        assert hint in chat.text, wrong
        assert "Tanggal lahir Putu Ayu" in chat.text  # asked again


async def test_consent_refused_stores_only_the_refusal(engine, demo_db):
    chat = ChatDriver(engine)
    await chat.say("halo")
    assert "Apakah Bapak/Ibu setuju" in chat.text
    await chat.press("Tidak")
    assert "tidak menyimpan" in chat.text
    async with demo_db.read() as session:
        identity = (await session.scalars(select(Identity))).one()
        records = list(await session.scalars(select(ConsentRecord)))
        families = await session.scalar(select(func.count()).select_from(Family))
    assert identity.consent == "refused" and identity.family_id is None and identity.phone is None
    assert [r.decision for r in records] == ["refused"]
    assert families == 0
    await chat.say("Nagasepaha")  # anything later asks for consent again
    assert "Apakah Bapak/Ibu setuju" in chat.text


async def test_english_consent_and_registration(engine):
    chat = ChatDriver(engine)
    await chat.say("/start")
    await chat.press("English")
    await chat.press("Yes")  # the language picked on the consent screen is not asked again
    assert "village" in chat.text.lower()
    await chat.say("Alasangker")
    await chat.press("Posyandu Melati")
    await chat.say("Made Wirawan")
    await chat.say("-")
    await chat.say("RT 1 RW 3")
    await chat.say("Komang Tri")
    await chat.press("Male")
    await chat.say("12 March 2024")
    assert "Child under five" in chat.text


async def test_edit_and_remove_a_member_before_finishing(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.press("Tambah anggota")
    await add_member(chat, "Kadek Salah", "Laki-laki", "1/2/2023")
    await chat.press("Ubah anggota")
    await chat.press("Putu Ayu")
    await chat.press("Tanggal lahir")
    await chat.say("2/2/2022")
    assert "Tersimpan: Putu Ayu" in chat.text
    await chat.press("Hapus anggota")
    await chat.press("Kadek Salah")
    await chat.press("Ya, hapus")
    assert "Kadek Salah sudah dihapus" in chat.text
    await chat.press("Selesai")
    async with demo_db.read() as session:
        members = list(await session.scalars(select(Person)))
    assert [(m.name, m.birth_date) for m in members] == [("Putu Ayu", date(2022, 2, 2))]


async def test_village_not_found_and_choice_by_number(engine):
    chat = ChatDriver(engine)
    await consent(chat)
    await chat.say("Atlantis")
    assert "belum ada di daftar" in chat.text
    await chat.say("jineng")
    await chat.say("1")
    assert "kepala keluarga" in chat.text


async def test_same_message_id_is_answered_once(engine):
    message = Incoming("telegram", "5550001", message_id="5550001:1", text="/start")
    first = await engine.handle(message)
    again = await engine.handle(message)
    assert first and again == []


async def test_a_family_left_before_selesai_still_counts_once_it_has_a_member(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.say("/jadwal")  # leaves the member list without pressing Selesai
    assert "Posyandu berikutnya" in chat.text
    async with demo_db.read() as session:
        assert (await session.scalar(select(Family.registered_at))) is not None


async def test_a_village_typed_with_a_small_misspelling_is_found(engine):
    chat = ChatDriver(engine)
    await consent(chat)
    await chat.say("desa Nagasepha")
    assert chat.labels[0] == "Posyandu Mawar (Nagasepaha)"
    await chat.say("mawar")
    assert "kepala keluarga" in chat.text


async def test_a_village_without_a_posyandu_gets_the_villages_of_its_kecamatan(engine):
    chat = ChatDriver(engine)
    await consent(chat)
    await chat.say("Sarimekar")  # a village of Kecamatan Buleleng with no posyandu on the list
    assert "Desa \u201cSarimekar\u201d belum ada di daftar posyandu kami" in chat.text
    assert "Kecamatan Buleleng" in chat.text and "kader posyandu atau bidan desa" in chat.text
    assert "Periksa ejaannya" not in chat.text
    assert chat.labels == ["Alasangker", "Jinengdalem", "Nagasepaha", "Petandakan"]
    await chat.press("Nagasepaha")
    assert chat.labels[0] == "Posyandu Mawar (Nagasepaha)"
    await chat.press("Posyandu Mawar")
    assert "kepala keluarga" in chat.text


async def test_an_unknown_village_is_never_a_dead_end(engine):
    chat = ChatDriver(engine)
    await consent(chat)
    for typed in ("Atlantis", "Atlantis lagi", "Xyzzy"):
        await chat.say(typed)
        assert "belum ada di daftar posyandu kami" in chat.text and "bidan desa" in chat.text
        assert len(chat.labels) == 6  # the villages spelt most like it
    await chat.say("jineng")
    assert chat.labels[0] == "Posyandu Kenanga (Jinengdalem)"


async def test_the_way_on_from_an_unknown_village_in_english(engine):
    chat = ChatDriver(engine)
    await chat.say("/start")
    await chat.press("English")
    await chat.say("yes")
    await chat.say("english")
    await chat.say("Sarimekar")
    with use_locale("en"):
        assert _("Desa \u201c{query}\u201d belum ada di daftar posyandu kami.", query="Sarimekar") in chat.text
        assert _("Posyandu di Kecamatan {area} ada di desa berikut. Pilih desa terdekat, atau ketik nama desa lain.",
                 area="Buleleng") in chat.text
    await chat.say("3")  # the third village
    assert chat.labels[0] == "Posyandu Mawar (Nagasepaha)"


async def test_a_kader_registers_a_family_without_a_phone_as_people_write_none(engine, demo_db):
    from tests.handlers.test_kader import kader_chat

    chat = await kader_chat(engine, demo_db)
    await chat.say("/daftarkan")
    await chat.say("Keluarga Made Wirawan")
    await chat.say("tidak ada")
    await chat.say("RT 03 / RW 02")
    await chat.say("gak punya")
    assert "Keluarga Made Wirawan dibuat" in chat.text
    async with demo_db.read() as session:
        family = (await session.scalars(select(Family).where(Family.name == "Made Wirawan"))).one()
    assert (family.dusun, family.rt, family.rw, family.phone) == (None, "003", "002", None)


async def test_like_wildcards_are_plain_letters(engine):
    chat = ChatDriver(engine)
    await consent(chat)
    await chat.say("%%%")
    assert "belum ada di daftar" in chat.text
