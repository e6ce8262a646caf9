"""Finding a posyandu by the village people type (db.queries.find_posyandu, village_suggestions)."""
from __future__ import annotations

import pytest

from db.queries import find_posyandu, village_suggestions


@pytest.mark.parametrize(("typed", "posyandu"), [
    ("nagasepaha", ["Posyandu Mawar"]),
    ("jineng", ["Posyandu Kenanga"]),  # part of the name
    ("nagasepha", ["Posyandu Mawar"]),  # a letter missing
    ("nagasepahaa", ["Posyandu Mawar"]),  # a letter extra
    ("nagasrpaha", ["Posyandu Mawar"]),  # a letter wrong
    ("alasangkar", ["Posyandu Melati"]),
    ("mawar", ["Posyandu Mawar"]),  # the posyandu's own name
    ("kenanka", ["Posyandu Kenanga"]),
    ("nagasepaha buleleng", ["Posyandu Mawar"]),  # the village with its kecamatan
])
async def test_a_posyandu_is_found_by_its_village_as_typed(demo_db, typed, posyandu):
    async with demo_db.read() as session:
        found = await find_posyandu(session, typed)
    assert [p.name for p, _puskesmas in found] == posyandu


@pytest.mark.parametrize("typed", ["atlantis", "%%%", "sarimekar", "posyandu"[:3] + "zzz"])
async def test_a_village_not_on_the_list_finds_nothing(demo_db, typed):
    async with demo_db.read() as session:
        assert await find_posyandu(session, typed) == []


async def test_the_villages_of_the_same_kecamatan_are_offered(demo_db):
    async with demo_db.read() as session:
        area, villages = await village_suggestions(session, "sarimekar")  # Kecamatan Buleleng, no posyandu
    assert (area, villages) == ("Buleleng", ["Alasangker", "Jinengdalem", "Nagasepaha", "Petandakan"])


async def test_an_unknown_village_gets_the_villages_spelt_most_like_it(demo_db):
    async with demo_db.read() as session:
        area, villages = await village_suggestions(session, "podomorro raya", limit=3)  # no such village
    assert area is None and villages[0] == "Podomoro" and len(villages) == 3


async def test_no_posyandu_no_suggestion(db):
    async with db.read() as session:
        assert await village_suggestions(session, "nagasepaha") == (None, [])


async def test_bulk_insert_stores_what_the_orm_stores_and_gives_the_ids_in_order(demo_db):
    from datetime import UTC, date, datetime

    from sqlalchemy import select

    from db.models import Family, Person, Posyandu
    from db.queries import bulk_insert

    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    async with demo_db.write() as session:
        posyandu_id = await session.scalar(select(Posyandu.id).limit(1))
        (family_id,) = await bulk_insert(session, Family.__table__, ("posyandu_id", "code", "name", "registered_at", "created_at", "updated_at"),
                                         [(posyandu_id, "K-TEST", "Keluarga", now, now, now)], ids=True)
        ids = await bulk_insert(session, Person.__table__, ("family_id", "name", "sex", "birth_date", "created_at", "updated_at"),
                                [(family_id, f"Anak {i}", "M", date(2025, 1, 1 + i), now, now) for i in range(3)], ids=True)
    async with demo_db.read() as session:
        people = list(await session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.id)))
    assert [p.name for p in people] == ["Anak 0", "Anak 1", "Anak 2"] and [p.id for p in people] == ids
    assert people[2].birth_date == date(2025, 1, 3) and people[0].created_at == now
