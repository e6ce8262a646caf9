"""The history port: one record per code and day, what a second one changes, reading and forgetting."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from care.history import ALL_CODES, DAY, MONTH, UNKNOWN
from db.history import forget, histories, history, range_select, record
from db.models import CareRecord, Person
from tests.helpers import DEFAULT_NOW, make_family


async def _child(db) -> int:
    family = await make_family(db, members=(("Putu Adi", "M", date(2025, 9, 14)),))
    async with db.read() as session:
        return await session.scalar(select(Person.id).where(Person.family_id == family.id))


async def test_the_same_code_on_the_same_day_is_one_record_taking_the_newer_detail_and_an_exact_date(demo_db):
    pid = await _child(demo_db)
    day = date(2026, 11, 10)
    async with demo_db.write() as session:
        assert await record(session, person_id=pid, code="BCG", on=day, now=DEFAULT_NOW, source="family", precision=MONTH)
        assert not await record(session, person_id=pid, code="BCG", on=day, now=DEFAULT_NOW, source="kader", precision=DAY)
        assert await record(session, person_id=pid, code="TTD_HAMIL", on=day, now=DEFAULT_NOW, source="kader", detail={"tablets": 10})
        assert not await record(session, person_id=pid, code="TTD_HAMIL", on=day, now=DEFAULT_NOW, source="kader", detail={"tablets": 30})
    async with demo_db.read() as session:
        rows = {r.code: r for r in await session.scalars(select(CareRecord).where(CareRecord.person_id == pid))}
        h = await history(session, pid)
    assert (rows["BCG"].precision, rows["BCG"].source) == (DAY, "family")
    assert rows["TTD_HAMIL"].detail == {"tablets": 30}
    assert h.given == {"BCG": day} and h.approximate == frozenset()
    assert h.latest("TTD_HAMIL").detail == {"tablets": 30}


@pytest.mark.parametrize(("code", "precision", "source"), [("XYZ", DAY, "kader"), ("BCG", "week", "kader"), ("BCG", DAY, "robot")])
async def test_an_unknown_code_precision_or_source_is_refused(demo_db, code, precision, source):
    pid = await _child(demo_db)
    async with demo_db.write() as session:
        with pytest.raises(ValueError):
            await record(session, person_id=pid, code=code, on=date(2026, 1, 1), now=DEFAULT_NOW, source=source, precision=precision)


async def test_histories_read_everyone_asked_and_forget_removes(demo_db):
    pid = await _child(demo_db)
    async with demo_db.write() as session:
        for code, day, precision in (("HB0", date(2025, 9, 14), DAY), ("BCG", date(2025, 10, 14), UNKNOWN), ("TIMBANG", date(2026, 11, 2), DAY)):
            await record(session, person_id=pid, code=code, on=day, now=DEFAULT_NOW, source="family", precision=precision)
    async with demo_db.write() as session:
        found = await histories(session, [pid, 999_999])
        assert found[999_999].records == () and set(found[pid].given) == {"HB0", "BCG"}
        assert found[pid].approximate == frozenset({"BCG"}) and found[pid].services == {"TIMBANG": [date(2026, 11, 2)]}
        assert await forget(session, pid, "BCG") == 1
        assert await forget(session, pid, "HB0", date(2000, 1, 1)) == 0
    async with demo_db.read() as session:
        assert set((await history(session, pid)).given) == {"HB0"}


async def test_the_planners_range_reads_only_the_codes_asked(demo_db):
    pid = await _child(demo_db)
    async with demo_db.write() as session:
        for code in ("HB0", "TIMBANG", "SDIDTK"):
            await record(session, person_id=pid, code=code, on=date(2026, 11, 2), now=DEFAULT_NOW, source="kader")
        family_id = await session.scalar(select(Person.family_id).where(Person.id == pid))
        rows = (await session.execute(range_select({"HB0", "SDIDTK"}), {"first": family_id, "last": family_id})).all()
        everything = (await session.execute(range_select(ALL_CODES), {"first": family_id, "last": family_id})).all()
        nobody = (await session.execute(range_select(ALL_CODES), {"first": family_id + 1, "last": family_id + 9})).all()
    assert sorted(code for _p, code, _d, _pr in rows) == ["HB0", "SDIDTK"]
    assert sorted(code for _p, code, _d, _pr in everything) == ["HB0", "SDIDTK", "TIMBANG"] and nobody == []
    assert {(p, d, pr) for p, _c, d, pr in rows} == {(pid, date(2026, 11, 2), DAY)}  # dates as dates, on SQLite too
    assert "NOT IN" not in str(range_select(ALL_CODES))


async def test_many_records_at_once_are_what_record_writes_one_by_one(demo_db):
    from db.history import record_many

    pid = await _child(demo_db)
    async with demo_db.write() as session:
        await record(session, person_id=pid, code="BCG", on=date(2025, 10, 14), now=DEFAULT_NOW, source="kader")
        await record_many(session, [(pid, "BCG", date(2025, 10, 14), MONTH, None), (pid, "HB0", date(2025, 9, 14), DAY, None),
                                    (pid, "OPV1", date(2025, 10, 20), UNKNOWN, None)], source="import", now=DEFAULT_NOW)
    async with demo_db.read() as session:
        rows = {r.code: r for r in await session.scalars(select(CareRecord).where(CareRecord.person_id == pid))}
        built = await history(session, pid)
    assert (rows["BCG"].source, rows["BCG"].precision) == ("kader", DAY)  # the one recorded first is kept
    assert (rows["HB0"].done_on, rows["HB0"].source, rows["HB0"].created_at) == (date(2025, 9, 14), "import", DEFAULT_NOW)
    assert built.given["OPV1"] == date(2025, 10, 20) and "OPV1" in built.approximate
    with pytest.raises(ValueError):
        async with demo_db.write() as session:
            await record_many(session, [(pid, "NOT_A_CODE", date(2025, 9, 14), DAY, None)], source="import", now=DEFAULT_NOW)
