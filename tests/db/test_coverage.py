"""``db.coverage.data_version``: the fingerprint the PWS cache is keyed by changes with every kind of write
the coverage reads (a record added, a record's precision raised in place, a person edited, a visit's
measurement), and stays the same when nothing is written."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from care.history import MONTH
from db.coverage import data_version
from db.models import Measurement, Person, Posyandu, Visit
from tests.helpers import DEFAULT_NOW, make_family, record_care


async def _version(db) -> tuple:
    async with db.read() as session:
        return await data_version(session)


async def test_the_data_version_changes_with_each_write_the_coverage_reads_and_only_then(demo_db):
    family = await make_family(demo_db, members=(("Kadek Kecil", "F", date(2026, 1, 5)),))
    async with demo_db.read() as session:
        child = (await session.scalars(select(Person).where(Person.family_id == family.id))).one()
    seen = [await _version(demo_db)]
    assert await _version(demo_db) == seen[-1]  # nothing written, the same

    await record_care(demo_db, child.id, ("BCG", date(2026, 2, 1), MONTH))
    seen.append(await _version(demo_db))
    await record_care(demo_db, child.id, ("BCG", date(2026, 2, 1)))  # the same record, its date now exact
    seen.append(await _version(demo_db))
    async with demo_db.write() as session:
        person = await session.get(Person, child.id)
        person.birth_date, person.updated_at = date(2026, 1, 6), DEFAULT_NOW + timedelta(minutes=1)
    seen.append(await _version(demo_db))
    async with demo_db.write() as session:
        place = (await session.scalars(select(Posyandu))).first()
        visit = Visit(person_id=child.id, posyandu_id=place.id, visited_on=date(2026, 3, 5), place="posyandu", created_at=DEFAULT_NOW)
        session.add(visit)
        await session.flush()
        session.add(Measurement(visit_id=visit.id, kind="weight_kg", value=5.5))
    seen.append(await _version(demo_db))
    async with demo_db.write() as session:
        weight = (await session.scalars(select(Measurement).where(Measurement.visit_id == visit.id))).one()
        weight.value = 5.8  # corrected in place
    seen.append(await _version(demo_db))
    assert len(set(seen)) == len(seen), seen
