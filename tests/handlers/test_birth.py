"""/lahir (handlers/birth.py): birth weight, BBLR referral, twins, preterm, and bad input."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from db.models import Identity, LifeEvent, Outbox, Person, Referral
from tests.helpers import (
    DEFAULT_NOW,
    ChatDriver,
    add_member,
    make_family,
    make_pregnant,
    register_household,
)

TODAY = date(2026, 11, 23)


async def _mother(engine, db, weeks: int = 39, *, second_chat: bool = False) -> ChatDriver:
    family = await make_family(db, identity_address="628222",
                               members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Putu Adi", "M", date(2022, 9, 14))))
    await make_pregnant(db, "Ni Luh Sari", weeks)
    if second_chat:  # the father's chat, linked to the same family
        async with db.write() as session:
            session.add(Identity(channel="local", address="628333", language="id", role="family", family_id=family.id,
                                 consent="given", consent_version="2026-11", consent_at=DEFAULT_NOW, created_at=DEFAULT_NOW))
    chat = ChatDriver(engine, address="628222")
    await chat.say("/lahir")
    assert "Kapan bayi Ni Luh Sari lahir?" in chat.text
    await chat.press("Kemarin")
    assert "Berapa bayi" in chat.text
    return chat


async def _babies(db) -> list[Person]:
    async with db.read() as session:
        return list(await session.scalars(select(Person).where(Person.birth_date == TODAY - timedelta(days=1)).order_by(Person.id)))


async def _event(db) -> LifeEvent:
    async with db.read() as session:
        return (await session.scalars(select(LifeEvent))).one()


async def test_a_birth_records_the_weight_and_the_event(engine, demo_db):
    chat = await _mother(engine, demo_db, 39)
    await chat.press("Satu")
    assert "Jenis kelamin bayi?" in chat.text
    await chat.press("Laki-laki")
    await chat.say("Gede Wira")
    question = "Berat lahir Gede Wira?"
    assert question in chat.text
    await chat.media("photo")
    assert "foto" in chat.text and question in chat.text
    await chat.say("x" * 4000)
    assert "terlalu panjang" in chat.text and question in chat.text
    await chat.say("32")
    assert "Maksudnya 3,2 kg?" in chat.text and question in chat.text
    await chat.say("9 kg")
    assert "jauh di luar yang wajar" in chat.text and question in chat.text
    await chat.say("berat")
    assert "Tulis berat lahir" in chat.text
    await chat.say("3,2 kg")
    assert "Kelahiran tercatat" in chat.text and "Gede Wira (Laki-laki, 1 hari)" in chat.text
    assert "BBLR" not in chat.text and "kurang bulan" not in chat.text
    [baby] = await _babies(demo_db)
    assert (baby.name, baby.sex, baby.birth_weight_g) == ("Gede Wira", "M", 3200)
    event = await _event(demo_db)
    async with demo_db.read() as session:
        mother = (await session.scalars(select(Person).where(Person.name == "Ni Luh Sari"))).one()
    assert (event.kind, event.person_id, event.on_date) == ("birth", mother.id, TODAY - timedelta(days=1))
    assert event.detail == {"weeks": 38, "babies": 1, "preterm": False}
    assert mother.delivered_on == TODAY - timedelta(days=1)
    async with demo_db.read() as session:
        assert list(await session.scalars(select(Referral))) == []


@pytest.mark.parametrize(("typed", "grams"), [("2400", 2400), ("2,4 kg", 2400), ("2400 gram", 2400), ("2.4", 2400)])
async def test_a_low_birth_weight_opens_a_referral_and_says_so(engine, demo_db, typed, grams):
    chat = await _mother(engine, demo_db, 39, second_chat=True)
    await chat.press("Satu")
    await chat.press("Perempuan")
    await chat.say("-")
    await chat.say(typed)
    assert "BBLR" in chat.text and "puskesmas" in chat.text
    [baby] = await _babies(demo_db)
    assert baby.name == "Bayi Ni Luh Sari" and baby.birth_weight_g == grams
    async with demo_db.read() as session:
        [referral] = list(await session.scalars(select(Referral)))
        notices = list(await session.scalars(select(Outbox).where(Outbox.kind == "referral")))
    assert (referral.person_id, referral.reason, referral.detail, referral.status) == (baby.id, "lbw", {"birth_weight_g": grams}, "open")
    assert [n.address for n in notices] == ["628333"]  # the other chat of the family is told; this one read it here


async def test_twins_each_with_sex_name_and_weight(engine, demo_db):
    chat = await _mother(engine, demo_db, 37)
    await chat.press("Kembar dua")
    assert "Bayi ke-1: laki-laki atau perempuan?" in chat.text
    await chat.press("Perempuan")
    assert "Nama bayi ke-1?" in chat.text
    await chat.say("Ni Putu Ayu")
    await chat.say("2600")
    assert "Bayi ke-2: laki-laki atau perempuan?" in chat.text
    await chat.press("Laki-laki")
    await chat.say("-")
    await chat.press("Tidak tahu")
    assert "Kelahiran tercatat" in chat.text and "Ni Putu Ayu" in chat.text and "Bayi 2 Ni Luh Sari" in chat.text
    babies = await _babies(demo_db)
    assert [(b.name, b.sex, b.birth_weight_g) for b in babies] == [("Ni Putu Ayu", "F", 2600), ("Bayi 2 Ni Luh Sari", "M", None)]
    assert (await _event(demo_db)).detail == {"weeks": 36, "babies": 2, "preterm": True}


async def test_a_birth_before_37_weeks_is_noted_as_preterm(engine, demo_db):
    chat = await _mother(engine, demo_db, 34)
    await chat.say("dua")
    await chat.press("Laki-laki")
    await chat.say("Gede")
    await chat.say("2100 g")
    await chat.press("Perempuan")
    await chat.say("Ayu")
    await chat.say("1,9 kg")
    assert "kurang bulan (usia kehamilan 33 minggu)" in chat.text
    assert chat.text.count("BBLR") == 2
    assert (await _event(demo_db)).detail == {"weeks": 33, "babies": 2, "preterm": True}
    async with demo_db.read() as session:
        reasons = sorted((r.reason, r.detail["birth_weight_g"]) for r in await session.scalars(select(Referral)))
    assert reasons == [("lbw", 1900), ("lbw", 2100)]


async def test_the_number_of_babies_refuses_what_cannot_be(engine, demo_db):
    chat = await _mother(engine, demo_db, 39)
    for typed in ("empat", "banyak", "0"):
        await chat.say(typed)
        assert "Kembar dua" in chat.text and "Berapa bayi" in chat.text, typed
    await chat.media("photo")
    assert "foto" in chat.text and "Berapa bayi" in chat.text
    await chat.say("x" * 4000)
    assert "terlalu panjang" in chat.text and "Berapa bayi" in chat.text


async def test_pregnancy_is_not_offered_for_a_child_and_due_date_goes_after_birth(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Ni Made Sari", "Perempuan", "12-03-1996", pregnant="39 minggu")
    await chat.press("Tambah anggota")
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2024")
    await chat.press("Ubah anggota")
    await chat.press("Putu Ayu")
    assert "Kehamilan" not in chat.labels
    await chat.press("Nama")
    await chat.say("Putu Ayu")
    await chat.press("Selesai")
    await chat.say("/lahir")
    await chat.press("Hari ini")
    await chat.press("Satu")
    await chat.press("Perempuan")
    await chat.say("-")
    await chat.press("Tidak tahu")
    assert "perkiraan lahir" not in chat.text and "Ibu nifas" in chat.text
