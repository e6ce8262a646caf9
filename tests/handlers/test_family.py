"""The member list (handlers/family.py): approximate birth dates, a kader's /keluarga K-XXXXXX, and a
pregnancy that ends without a birth."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from care.services import services_due
from db.models import AuditLog, LifeEvent, Person, Posyandu
from tests.helpers import (
    ChatDriver,
    invited_chat,
    make_family,
    make_pregnant,
    register_household,
)

TODAY = date(2026, 11, 23)
MAWAR, ANGGREK = "51.08.06.2014", "18.10.01.2011"


async def _person(db, name: str) -> Person:
    async with db.read() as session:
        return (await session.scalars(select(Person).where(Person.name == name))).one()


async def _kader(engine, db, village: str = MAWAR) -> ChatDriver:
    async with db.read() as session:
        posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == village))
    return await invited_chat(engine, db, role="kader", address="kader-1", posyandu_id=posyandu_id)


async def _start_member(chat: ChatDriver, name: str, sex: str = "Perempuan") -> None:
    await chat.say(name)
    await chat.press(sex)


# -- approximate ages --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "birth", "precision", "shown"),
    [
        ("67 tahun", date(1959, 5, 23), "age", "\u00b167 tahun"),
        ("sekitar 70", date(1956, 5, 23), "age", "\u00b170 tahun"),
        ("1959", date(1959, 7, 1), "year", "\u00b167 tahun"),
        ("Maret 1960", date(1960, 3, 15), "month", "\u00b166 tahun"),
        ("12-03-1959", date(1959, 3, 12), None, "(Perempuan, 67 tahun)"),
    ],
)
async def test_an_older_member_with_an_approximate_birth_date(engine, demo_db, typed, birth, precision, shown):
    chat = ChatDriver(engine)
    await register_household(chat)
    await _start_member(chat, "Nenek Rai")
    assert "tulis tahunnya atau umurnya" in chat.text
    await chat.say(typed)
    assert shown in chat.text and "Lansia" in chat.text
    person = await _person(demo_db, "Nenek Rai")
    assert (person.birth_date, person.birth_precision) == (birth, precision)


async def test_tidak_tahu_asks_the_age(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await _start_member(chat, "Kakek Made", "Laki-laki")
    await chat.say("tidak tahu")
    assert "Kira-kira berapa umur Kakek Made?" in chat.text
    await chat.media("photo")
    assert "foto" in chat.text and "Kira-kira berapa umur" in chat.text
    await chat.say("x" * 4000)
    assert "terlalu panjang" in chat.text and "Kira-kira berapa umur" in chat.text
    await chat.say("entahlah")
    assert "Tulis umurnya dengan angka" in chat.text
    await chat.say("130")
    assert "lebih dari 120 tahun" in chat.text
    await chat.say("kira-kira 75 tahun")
    assert "Kakek Made (Laki-laki, \u00b175 tahun): Lansia" in chat.text
    assert "skrining lansia (SKILAS" in chat.text  # the history question for a lansia follows
    person = await _person(demo_db, "Kakek Made")
    assert person.birth_precision == "age" and person.birth_date == date(1951, 5, 23)


@pytest.mark.parametrize("typed", ["2022", "4 tahun", "sekitar 5", "Desember 2020", "8 bulan"])
async def test_a_young_child_needs_the_exact_birth_date(engine, typed):
    chat = ChatDriver(engine)
    await register_household(chat)
    await _start_member(chat, "Putu Ayu")
    await chat.say(typed)
    assert "di bawah 6 tahun kami perlu tanggal lahir yang tepat" in chat.text and "Buku KIA" in chat.text
    assert "Tanggal lahir Putu Ayu" in chat.text  # asked again
    await chat.say("1-2-2022")
    assert "Putu Ayu (Perempuan, 4 thn 9 bln): Balita" in chat.text


async def test_six_years_and_more_may_be_approximate(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await _start_member(chat, "Komang Tri", "Laki-laki")
    await chat.say("Maret 2019")  # seven years and eight months at the latest
    assert "Komang Tri (Laki-laki, \u00b17 tahun): Anak usia sekolah" in chat.text
    assert (await _person(demo_db, "Komang Tri")).birth_precision == "month"


async def test_future_years_and_months_are_refused(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await _start_member(chat, "Putu Ayu")
    for typed in ("2027", "Desember 2026"):
        await chat.say(typed)
        assert "tidak boleh setelah hari ini" in chat.text and "Tanggal lahir Putu Ayu" in chat.text


async def test_a_kader_corrects_an_approximate_age_in_a_family_of_their_posyandu(engine, demo_db):
    family = await make_family(demo_db, members=(("Nenek Rai", "F", date(1959, 7, 1)), ("Made Oka", "M", date(1990, 1, 1))))
    async with demo_db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == "Nenek Rai"))).one()
        person.birth_precision = "year"
    other = await make_family(demo_db, village_code=ANGGREK, name="Keluarga Lampung", members=(("Made Lain", "M", date(1980, 1, 1)),))
    kader = await _kader(engine, demo_db)
    await kader.say(f"/keluarga {other.code}")
    assert "Tidak ada keluarga dengan kode itu" in kader.text and "Made Lain" not in kader.text
    await kader.say(f"/keluarga {family.code.lower()}")
    assert "Nenek Rai (Perempuan, \u00b167 tahun)" in kader.text
    await kader.press("Ubah anggota")
    await kader.press("Nenek Rai")
    await kader.press("Tanggal lahir")
    await kader.say("12-03-1958")
    assert "Nenek Rai (Perempuan, 68 tahun): Lansia" in kader.text and "\u00b1" not in kader.text
    person = await _person(demo_db, "Nenek Rai")
    assert (person.birth_date, person.birth_precision) == (date(1958, 3, 12), None)
    async with demo_db.read() as session:
        audit = {(a.action, a.target_id) for a in await session.scalars(select(AuditLog))}
    assert ("family.opened", family.id) in audit and ("person.updated", person.id) in audit


async def test_a_family_cannot_open_another_family(engine, demo_db):
    await make_family(demo_db, identity_address="628222")
    other = await make_family(demo_db, name="Keluarga Lain", members=(("Made Lain", "M", date(1980, 1, 1)),))
    chat = ChatDriver(engine, address="628222")
    await chat.say(f"/keluarga {other.code}")
    assert "Hanya kader" in chat.text and "Made Lain" not in chat.text


# -- a pregnancy that ends ---------------------------------------------------------------------------------


async def _pregnancy_ends(engine, db, weeks: int) -> ChatDriver:
    await make_family(db, identity_address="628222", members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Putu Adi", "M", date(2022, 9, 14))))
    await make_pregnant(db, "Ni Luh Sari", weeks)
    chat = ChatDriver(engine, address="628222")
    await chat.say("/keluarga")
    await chat.press("Ubah anggota")
    await chat.press("Ni Luh Sari")
    await chat.press("Kehamilan")
    await chat.press("Tidak")
    assert "Apa yang terjadi" in chat.text and chat.labels == ["Sudah melahirkan", "Keguguran", "Salah catat"]
    for wrong in ("x" * 4000, "entah"):
        await chat.say(wrong)
        assert "Apa yang terjadi" in chat.text
    await chat.media("photo")
    assert "foto" in chat.text and "Apa yang terjadi" in chat.text
    return chat


async def test_an_early_pregnancy_loss_is_recorded_gently_and_its_reminders_stop(engine, demo_db):
    chat = await _pregnancy_ends(engine, demo_db, 14)
    await chat.press("Keguguran")
    question = "Kapan kejadiannya?"
    assert "turut prihatin" in chat.text and question in chat.text
    await chat.media("photo")
    assert "foto" in chat.text and question in chat.text
    await chat.say("x" * 4000)
    assert "terlalu panjang" in chat.text and question in chat.text
    await chat.say("1-12-2026")
    assert "belum lewat" in chat.text and question in chat.text
    await chat.say("1-5-2026")  # before HPHT (14 weeks ago: 17 August)
    assert "sebelum kehamilan ini dimulai" in chat.text and question in chat.text
    await chat.say("minggu lalu")
    assert "lekas pulih" in chat.text and "bidan" in chat.text and "Pengingat kehamilan dihentikan" in chat.text
    person = await _person(demo_db, "Ni Luh Sari")
    assert person.hpht is None and person.due_date is None and person.delivered_on is None
    async with demo_db.read() as session:
        [event] = list(await session.scalars(select(LifeEvent)))
    assert (event.kind, event.person_id, event.on_date, event.detail) == ("pregnancy_loss", person.id, TODAY - timedelta(days=7), {"weeks": 13})
    assert "Ibu hamil" not in chat.text
    await chat.say("/jadwal")
    assert "Pemeriksaan kehamilan" not in chat.text


async def test_a_loss_from_twenty_weeks_is_a_stillbirth_with_nifas_care(engine, demo_db):
    chat = await _pregnancy_ends(engine, demo_db, 24)
    await chat.press("Keguguran")
    await chat.say("November 2026")
    assert "turut berduka" in chat.text and "kunjungan nifas" in chat.text
    person = await _person(demo_db, "Ni Luh Sari")
    assert person.delivered_on == date(2026, 11, 15) and person.hpht is not None
    async with demo_db.read() as session:
        [event] = list(await session.scalars(select(LifeEvent)))
    assert event.detail == {"weeks": 22, "precision": "month"}
    due = {s.code for s in services_due(TODAY, sex="F", birth=person.birth_date, hpht=person.hpht,
                                        delivered_on=person.delivered_on)}
    assert "KF3" in due and not any(code.startswith("ANC") for code in due)
    await chat.say("/jadwal")
    assert "Kunjungan nifas" in chat.text and "Pemeriksaan kehamilan" not in chat.text


async def test_a_pregnancy_recorded_by_mistake_is_cleared(engine, demo_db):
    chat = await _pregnancy_ends(engine, demo_db, 14)
    await chat.press("Salah catat")
    assert "Tersimpan: Ni Luh Sari" in chat.text
    person = await _person(demo_db, "Ni Luh Sari")
    assert person.hpht is None and person.delivered_on is None
    async with demo_db.read() as session:
        assert list(await session.scalars(select(LifeEvent))) == []


async def test_a_birth_goes_on_in_lahir_and_back_to_the_list(engine, demo_db):
    chat = await _pregnancy_ends(engine, demo_db, 39)
    await chat.press("Sudah melahirkan")
    assert "Kapan bayi Ni Luh Sari lahir?" in chat.text
    await chat.press("Kemarin")
    await chat.press("Satu")
    await chat.press("Perempuan")
    await chat.say("Kadek Ayu")
    await chat.say("3200 gram")
    assert "Kelahiran tercatat" in chat.text and "Anggota keluarga" in chat.text and "Kadek Ayu" in chat.text
    assert (await _person(demo_db, "Ni Luh Sari")).delivered_on == TODAY - timedelta(days=1)


async def test_a_pregnancy_recorded_later_brings_the_check_ups_question(engine, demo_db):
    await make_family(demo_db, identity_address="628222", members=(("Ni Luh Sari", "F", date(1995, 4, 2)),))
    chat = ChatDriver(engine, address="628222")
    await chat.say("/keluarga")
    await chat.press("Ubah anggota")
    await chat.press("Ni Luh Sari")
    await chat.press("Kehamilan")
    await chat.press("Ya")
    await chat.press("Usia kehamilan")
    await chat.say("12 minggu")
    assert "Ibu hamil 12 minggu" in chat.text and "Sudah berapa kali Ni Luh Sari memeriksakan kehamilan" in chat.text
    await chat.press("Belum pernah")
    assert "Anggota keluarga" in chat.text  # only the check-ups: the rest of her history is not asked again
    await chat.press("Ubah anggota")
    await chat.press("Ni Luh Sari")
    await chat.press("Nama")
    await chat.say("Ni Luh Sari Dewi")
    assert "Tersimpan" in chat.text and "Anggota keluarga" in chat.text  # an edit asks nothing more


async def test_a_pregnancy_is_dated_as_people_say_it(engine, demo_db):
    """"iya" for pregnant, the age typed at once (without pressing Usia kehamilan), a bare small
    number asked back with its unit, a bare number of weeks."""
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.say("p")
    await chat.say("12-03-1996")
    await chat.say("iya")
    await chat.say("5")
    assert "5 minggu atau 5 bulan?" in chat.text and "Apa yang Bapak/Ibu ketahui tentang kehamilannya?" in chat.text
    await chat.say("HPHT")
    assert "Tanggal hari pertama haid terakhir (HPHT)?" in chat.text
    await chat.say("24")  # an age typed where the date was asked: fine too
    async with demo_db.read() as session:
        mother = (await session.scalars(select(Person))).one()
    assert mother.sex == "F" and mother.hpht == TODAY - timedelta(weeks=24)


async def test_a_loss_is_dated_as_people_say_it(engine, demo_db):
    family = await make_family(demo_db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)),), identity_address="mother")
    await make_pregnant(demo_db, "Ni Luh Sari", 10)
    chat = ChatDriver(engine, address="mother")
    await chat.say("/keluarga")
    await chat.say("ubah")
    await chat.say("Ni Luh")
    await chat.say("kehamilan")
    await chat.say("tidak")
    await chat.say("keguguran")
    await chat.say("3 hari yang lalu")
    async with demo_db.read() as session:
        event = (await session.scalars(select(LifeEvent))).one()
    assert event.on_date == TODAY - timedelta(days=3) and family.id


async def test_due_date_beyond_a_whole_pregnancy_is_refused(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Made Rai")
    await chat.press("Perempuan")
    await chat.say("1-1-1996")
    await chat.press("Ya")
    await chat.press("Perkiraan tanggal lahir")
    await chat.say("10-09-2027")
    assert "belum dimulai" in chat.text
