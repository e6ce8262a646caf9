"""Finding a posyandu by the village people type (db.queries.find_posyandu, village_suggestions); many
rows inserted unless their key exists (db.queries.InsertIgnoreMany)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import String, cast, select

from db.models import Identity, Outbox
from db.queries import InsertIgnoreMany, find_posyandu, village_suggestions
from tests.helpers import DEFAULT_NOW, make_family


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


OUTBOX_COLUMNS = ("key", "identity_id", "channel", "address", "kind", "timezone", "body", "state", "not_before",
                  "expires_at", "attempts", "created_at")


async def test_rows_shaped_for_the_driver_are_stored_as_the_orm_stores_them(demo_db):
    await make_family(demo_db, identity_address="628300")
    async with demo_db.read() as session:
        identity_id = await session.scalar(select(Identity.id).where(Identity.address == "628300"))
    body = {"text": "Pengingat untuk keluarga Komang: besok hari posyandu", "items": [["dose", "BCG", "Kadek"]]}

    def row(key: str, state: str = "pending") -> tuple:
        return (key, identity_id, "local", "628300", "daily", "Asia/Makassar", body, state,
                datetime(2026, 12, 3, 23, 0, tzinfo=UTC), None, 0, DEFAULT_NOW)

    many = InsertIgnoreMany(Outbox.__table__, OUTBOX_COLUMNS, demo_db.write_engine.dialect)
    shaped = many.shape([row("many"), row("orm", state="sent")])  # "orm" exists by then: left as it is
    async with demo_db.write() as session:
        session.add(Outbox(**dict(zip(OUTBOX_COLUMNS, row("orm")))))
        await session.flush()
        await many.insert(session, shaped)
        await many.insert(session, [])
    async with demo_db.read() as session:
        stored = (await session.execute(
            select(Outbox.key, Outbox.state, cast(Outbox.not_before, String), cast(Outbox.expires_at, String),
                   cast(Outbox.created_at, String), cast(Outbox.body, String)).order_by(Outbox.key)
        )).all()
        rows = (await session.scalars(select(Outbox).order_by(Outbox.key))).all()
    assert [key for key, *_rest in stored] == ["many", "orm"] and stored[1][1] == "pending"
    assert stored[0][2:] == stored[1][2:]  # the same text in the database, dates and JSON alike
    assert rows[0].not_before == datetime(2026, 12, 3, 23, 0, tzinfo=UTC) and rows[0].body == body


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
