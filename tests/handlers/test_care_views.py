"""/jadwal and /imunisasi answer a registered family from the care rules, in both languages."""
from __future__ import annotations

from datetime import date

from care.immunization import dose_states
from db.models import CareRecord
from tests.helpers import DEFAULT_NOW, ChatDriver, make_family

TODAY = date(2026, 11, 23)  # DEFAULT_NOW in Bali


async def _family_with_baby(db) -> int:
    await make_family(
        db,
        identity_address="628222",
        members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2026, 9, 20))),
    )
    async with db.write() as session:
        from sqlalchemy import select

        from db.models import Person

        baby = (await session.scalars(select(Person).where(Person.name == "Kadek Bayu"))).one()
        for dose, day in (("HB0", date(2026, 9, 20)), ("BCG", date(2026, 10, 20))):
            session.add(CareRecord(person_id=baby.id, code=dose, done_on=day, source="family", created_at=DEFAULT_NOW))
    return baby.id


async def test_jadwal_names_the_next_posyandu_day_and_doses_due(engine, demo_db):
    await _family_with_baby(demo_db)
    chat = ChatDriver(engine, address="628222")
    await chat.say("/jadwal")
    text = chat.text
    # Posyandu Mawar meets on the 5th: next is Saturday 5 December 2026
    assert "Posyandu berikutnya: Sabtu, 5 Desember 2026 di Posyandu Mawar" in text
    states = dose_states(date(2026, 9, 20), {"HB0": date(2026, 9, 20), "BCG": date(2026, 10, 20)}, TODAY)
    due_now = [code for code, s in states.items() if s.state == "due"]
    assert due_now, "a 2-month-old has doses due"
    baby_block = text.split("Kadek Bayu:")[1]
    assert "Sekarang:" in baby_block and "DPT-HB-Hib 1" in baby_block and "BCG" not in baby_block.split("Segera")[0]


async def test_imunisasi_shows_given_due_and_next_in_english_too(engine, demo_db):
    await _family_with_baby(demo_db)
    chat = ChatDriver(engine, address="628222")
    await chat.say("/imunisasi")
    assert "Kadek Bayu (2 bulan)" in chat.text
    assert "Sudah: Hepatitis B 0 (HB0) 20 Sep, BCG 20 Okt" in chat.text
    assert "Waktunya sekarang:" in chat.text and "DPT-HB-Hib 1" in chat.text
    assert "Berikutnya:" in chat.text
    assert "Ni Luh Sari" not in chat.text  # adults have no child immunisation card
    await chat.say("/bahasa en")
    await chat.say("/imunisasi")
    assert "Kadek Bayu (2 months)" in chat.text
    assert "✓ Given: " in chat.text and "Due now:" in chat.text and "20 Oct" in chat.text


async def test_views_ask_for_registration_first(engine):
    chat = ChatDriver(engine)
    await chat.say("/start")
    await chat.press("Ya")
    await chat.press("Bahasa Indonesia")
    await chat.say("/imunisasi")
    assert "Selesaikan dulu" in chat.text or "desa" in chat.text.lower()


async def test_pengingat_shows_an_example_and_sets_the_afternoon_slot(engine, demo_db):
    await _family_with_baby(demo_db)
    chat = ChatDriver(engine, address="628222")
    await chat.say("/pengingat")
    assert "pagi, pukul 07.00" in chat.text
    assert "Pengingat untuk keluarga Komang Ariawan" in chat.text and "Kadek Bayu: imunisasi" in chat.text
    await chat.press("Sore")
    assert "sore, pukul 15.00" in chat.text
    from sqlalchemy import select

    from db.models import Identity

    async with demo_db.read() as session:
        assert await session.scalar(select(Identity.reminder_slot).where(Identity.address == "628222")) == "afternoon"
