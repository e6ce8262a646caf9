"""/jadwal and /imunisasi answer a registered family from the care rules, in both languages."""
from __future__ import annotations

import re
from datetime import date

import pytest

from care.immunization import dose_states
from care.labels import DOSE_LABELS, SERVICE_LABELS
from content.i18n import _, use_locale
from db.models import CareRecord
from handlers.care_views import HORIZON_DAYS, brief_label
from tests.helpers import DEFAULT_NOW, ChatDriver, make_family, make_pregnant, person_id, record_care

TODAY = date(2026, 11, 23)  # DEFAULT_NOW in Bali
#: A household of five: a father, a mother 20 weeks pregnant, a grandmother, a toddler behind on his
#: doses and a baby of two months.
FIVE = (("Wayan Sudarma", "M", date(1990, 1, 5)), ("Ni Luh Sari", "F", date(1995, 4, 2)),
        ("Nenek Rai", "F", date(1959, 3, 3)), ("Putu Adi", "M", date(2024, 9, 14)), ("Kadek Bayu", "M", date(2026, 9, 20)))


async def _five(db) -> None:
    await make_family(db, identity_address="628555", members=FIVE)
    await make_pregnant(db, "Ni Luh Sari", 20)
    await record_care(db, await person_id(db, "Kadek Bayu"), ("HB0", date(2026, 9, 20)), ("BCG", date(2026, 10, 20)))


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
    baby_line = next(line for line in text.splitlines() if line.startswith("\u2022 Kadek Bayu: "))
    assert all(brief_label(code, DOSE_LABELS[code]) in baby_line for code in due_now)
    assert "BCG" not in baby_line and "Segera" not in text  # what comes later is one button away
    assert chat.labels == ["Lihat semua", "Tandai sudah", "Menu utama"]
    await chat.press("Lihat semua")
    baby_block = chat.text.split("Kadek Bayu:")[1]
    assert "Sekarang:" in baby_block and "DPT-HB-Hib 1" in baby_block and "BCG" not in baby_block.split("Segera")[0]
    assert "Segera: " in baby_block and "\u2013 mulai 21 Des" in baby_block
    assert "Tandai sudah" in chat.labels  # then the main menu, offering to mark an item as done


async def test_jadwal_for_five_people_is_short_and_all_is_one_button_away(engine, demo_db):
    await _five(demo_db)
    chat = ChatDriver(engine, address="628555")
    await chat.say("/jadwal")
    [reply] = chat.replies
    lines = reply.text.splitlines()
    assert lines[0].startswith("Posyandu berikutnya: Sabtu, 5 Desember 2026")  # the posyandu day first
    members = [line for line in lines if line.startswith("\u2022 ")]
    assert [line.split(":")[0][2:] for line in members] == [name for name, _sex, _birth in FIVE]  # one line each
    assert len(reply.text) < 800  # was about 1,300
    assert "(kejar)" not in reply.text and "jatuh tempo" not in reply.text
    adi = next(line for line in members if "Putu Adi" in line)
    assert "\u2013 terlambat, masih bisa dikejar" in adi and "Polio tetes 1" in adi
    assert "PCV 1 (pneumokokus)" not in reply.text and "PCV 1" in adi  # the plain name: no brackets in the summary
    mother = next(line for line in members if "Ni Luh Sari" in line)
    assert brief_label("ANC3", SERVICE_LABELS["ANC3"]) == "Pemeriksaan kehamilan ke-3" and "Pemeriksaan kehamilan ke-3" in mother
    coming = re.search(rf"Dalam {HORIZON_DAYS} hari ke depan ada (\d+) imunisasi atau layanan lagi: pilih Lihat semua\.", reply.text)
    assert all(len(label) <= 20 for label in chat.labels)
    await chat.press("Lihat semua")
    full = chat.text
    assert "(pneumokokus) (" not in full and "PCV 2 (pneumokokus), Rotavirus 2 \u2013 mulai 21 Des" in full
    assert ") (" not in full.replace("(setiap tanggal 5).", "")  # no double brackets
    assert "Segera:" in full and "Detail imunisasi anak: /imunisasi" in full
    soon = [re.sub(r" \u2013 [^;]*|\([^()]*\)", "", line.split("Segera: ", 1)[1]) for line in full.splitlines() if "Segera: " in line]
    assert coming and int(coming[1]) == sum(len(group.split(", ")) for line in soon for group in line.split("; "))


async def test_tandai_sudah_and_menu_from_jadwal(engine, demo_db):
    await _five(demo_db)
    chat = ChatDriver(engine, address="628555")
    await chat.say("/jadwal")
    await chat.press("Tandai sudah")
    assert "Untuk siapa?" in chat.text and "Kadek Bayu" in chat.labels and "Wayan Sudarma" in chat.labels
    await chat.press("Kadek Bayu")
    assert "Apa yang sudah dilakukan untuk Kadek Bayu?" in chat.text
    await chat.say("batal")
    await chat.say("/jadwal")
    await chat.press("Menu utama")
    assert "Apa yang ingin Bapak/Ibu lakukan?" in chat.text and "Jadwal" in chat.labels
    await chat.say("/jadwal")
    await chat.say("xyz")
    assert "Pilih dari daftar." in chat.text and "Lihat semua" in chat.labels


async def test_jadwal_with_nothing_due_says_so_and_ends_at_the_menu(engine, demo_db):
    await make_family(demo_db, identity_address="628777", members=(("Made Muda", "M", date(2016, 6, 1)),))
    chat = ChatDriver(engine, address="628777")
    await chat.say("/jadwal")
    assert "belum ada layanan yang waktunya tiba" in chat.text and "jatuh tempo" not in chat.text
    assert "Lihat semua" not in chat.labels and "Jadwal" in chat.labels


async def test_jadwal_in_english(engine, demo_db):
    await _family_with_baby(demo_db)
    chat = ChatDriver(engine, address="628222")
    await chat.say("/bahasa en")
    await chat.say("/jadwal")
    with use_locale("en"):
        assert _("Sudah waktunya:") in chat.text
        assert chat.labels == [_("Lihat semua"), _("Tandai sudah"), _("Menu utama")]
        assert "\u2022 Kadek Bayu: " in chat.text and brief_label("DPT_HB_HIB1", _(DOSE_LABELS["DPT_HB_HIB1"])) in chat.text
        await chat.press(_("Lihat semua"))
        assert _("Sekarang: {items}", items="").strip() in chat.text


@pytest.mark.parametrize(("code", "label", "brief"), [
    ("PCV1", "PCV 1 (pneumokokus)", "PCV 1"),
    ("HB0", "Hepatitis B 0 (HB0)", "Hepatitis B 0"),
    ("OBAT_CACING", "Obat cacing", "Obat cacing"),
    ("TIMBANG", "Penimbangan dan pengukuran bulanan", "Penimbangan"),
    ("ANC1", "Pemeriksaan kehamilan ke-1 (trimester 1, dokter dan USG)", "Pemeriksaan kehamilan ke-1"),
])
def test_brief_labels_drop_the_bracket(code, label, brief):
    assert brief_label(code, label) == brief


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


async def test_a_command_right_after_jadwal_is_not_refused(engine, demo_db):
    await _family_with_baby(demo_db)
    chat = ChatDriver(engine, address="628222")
    await chat.say("/jadwal")
    await chat.say("/imunisasi")
    assert "Kadek Bayu (2 bulan)" in chat.text and "Selesaikan dulu" not in chat.text
