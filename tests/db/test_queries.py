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
