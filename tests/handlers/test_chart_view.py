"""``/grafik`` (handlers/chart_view.py): a child's growth chart as a PNG, a choice among young children,
and plain words when there is nothing to draw."""
from __future__ import annotations

from datetime import date

from db.models import Family, Measurement, Person, Visit
from tests.helpers import DEFAULT_NOW, ChatDriver, make_family, person_id

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ADDRESS = "628777"


async def _measure(db, name: str, day: date, weight: float, length: float) -> None:
    pid = await person_id(db, name)
    async with db.write() as session:
        person = await session.get(Person, pid)
        posyandu_id = (await session.get(Family, person.family_id)).posyandu_id
        visit = Visit(person_id=pid, posyandu_id=posyandu_id, visited_on=day, place="posyandu", created_at=DEFAULT_NOW)
        session.add(visit)
        await session.flush()
        session.add_all([Measurement(visit_id=visit.id, kind="weight_kg", value=weight),
                         Measurement(visit_id=visit.id, kind="length_cm", value=length)])


async def test_one_young_child_gets_the_chart_at_once(engine, demo_db):
    await make_family(demo_db, identity_address=ADDRESS, members=(("Ni Luh", "F", date(1995, 4, 2)), ("Kadek", "M", date(2026, 5, 20))))
    await _measure(demo_db, "Kadek", date(2026, 10, 1), 7.1, 66.0)
    chat = ChatDriver(engine, address=ADDRESS)
    await chat.say("/grafik")
    charts = [r for r in chat.replies if r.image is not None]
    assert len(charts) == 1 and charts[0].image.startswith(PNG_SIGNATURE)
    assert charts[0].text == "Grafik pertumbuhan Kadek"


async def test_several_children_are_a_choice_and_the_chosen_one_is_drawn(engine, demo_db):
    await make_family(demo_db, identity_address=ADDRESS, members=(
        ("Ni Luh", "F", date(1995, 4, 2)), ("Putu Adi", "M", date(2025, 9, 14)), ("Kadek", "M", date(2026, 5, 20))))
    await _measure(demo_db, "Putu Adi", date(2026, 9, 14), 9.6, 75.0)
    chat = ChatDriver(engine, address=ADDRESS)
    await chat.say("/grafik")
    assert "Grafik anak yang mana?" in chat.text and chat.labels == ["Putu Adi", "Kadek"]  # not the mother
    await chat.press("Putu Adi")
    assert [r.text for r in chat.replies if r.image is not None] == ["Grafik pertumbuhan Putu Adi"]


async def test_a_child_never_measured_is_said_in_words(engine, demo_db):
    await make_family(demo_db, identity_address=ADDRESS, members=(("Ni Luh", "F", date(1995, 4, 2)), ("Kadek", "M", date(2026, 5, 20))))
    chat = ChatDriver(engine, address=ADDRESS)
    await chat.say("/grafik")
    assert "Belum ada penimbangan atau pengukuran untuk Kadek." in chat.text
    assert all(r.image is None for r in chat.replies)


async def test_a_family_without_young_children_is_told_who_has_charts(engine, demo_db):
    await make_family(demo_db, identity_address=ADDRESS, members=(("Ni Luh", "F", date(1995, 4, 2)),))
    chat = ChatDriver(engine, address=ADDRESS)
    await chat.say("/grafik")
    assert "Grafik pertumbuhan tersedia untuk anak di bawah 5 tahun." in chat.text
