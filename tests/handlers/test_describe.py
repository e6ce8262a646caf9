"""How people, stages, ages and posyandu days are put into words (handlers/describe.py)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from content.i18n import use_locale
from db.models import Person, Posyandu
from handlers.describe import (
    age_text,
    birth_text,
    person_line,
    schedule_text,
    stage_text,
)
from tests.helpers import ChatDriver, add_member, register_household

ON = date(2026, 11, 23)


@pytest.mark.parametrize(("birth", "precision", "expected"), [
    (date(2026, 11, 11), None, "12 hari"),
    (date(2026, 6, 20), None, "5 bulan"),
    (date(2024, 8, 1), None, "2 thn 3 bln"),
    (date(1992, 1, 5), None, "34 tahun"),
    (date(1959, 6, 1), "year", "\u00b167 tahun"),
])
def test_ages_are_short_and_marked_when_estimated(birth, precision, expected):
    with use_locale("id"):
        assert age_text(birth, ON, precision) == expected


def test_a_birth_date_is_written_as_well_as_it_is_known():
    with use_locale("id"):
        assert birth_text(date(1959, 3, 12)) == "12 Maret 1959"
        assert birth_text(date(1960, 3, 1), "month") == "\u00b1Maret 1960"
        assert birth_text(date(1959, 1, 1), "year") == "\u00b11959"


def test_a_posyandu_day_in_words():
    with use_locale("id"):
        assert schedule_text({"monthly_day": 12}) == "setiap tanggal 12"
        assert schedule_text({"nth": 2, "weekday": "tuesday"}) == "Selasa kedua setiap bulan"
        assert schedule_text({"nth": -1, "weekday": "friday"}) == "Jumat terakhir setiap bulan"
        assert schedule_text(None) == "belum ditentukan"
    with use_locale("en"):
        assert schedule_text({}) != "belum ditentukan"


def test_a_pregnant_woman_shows_her_week_not_also_adult():
    mother = Person(name="Ni Luh Sari", sex="F", birth_date=date(1995, 4, 2), hpht=date(2026, 7, 6))
    with use_locale("id"):
        assert stage_text(mother, ON) == "Ibu hamil 20 minggu"
        assert person_line(mother, ON) == "Ni Luh Sari (Perempuan, 31 tahun): Ibu hamil 20 minggu"


def test_a_newborn_is_not_also_called_an_infant():
    baby = Person(name="Kadek", sex="M", birth_date=date(2026, 11, 13))
    with use_locale("id"):
        assert stage_text(baby, ON) == "Bayi baru lahir"
        assert person_line(baby, ON) == "Kadek (Laki-laki, 10 hari): Bayi baru lahir"


async def test_a_posyandu_without_a_day_says_so(engine, demo_db):
    async with demo_db.write() as session:
        await session.execute(update(Posyandu).values(schedule={}))
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.press("Selesai")
    assert "belum ditentukan" in chat.text
    await chat.say("/jadwal")
    assert "belum ditentukan" in chat.text and "Maaf" not in chat.text
