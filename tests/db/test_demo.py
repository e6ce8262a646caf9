"""Loading ``content/demo.yaml`` (db/demo.py): the demo puskesmas and posyandu, once, with their days checked."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.demo import _check_day, load_demo
from db.models import Posyandu, Puskesmas


async def test_the_demo_is_loaded_once(db):
    added = await load_demo(db)
    assert added > 0
    assert await load_demo(db) == 0  # not twice into a database that has a puskesmas
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Posyandu)) == added
        puskesmas = (await session.scalars(select(Puskesmas))).all()
    assert puskesmas and all(p.timezone.startswith("Asia/") and p.district_name for p in puskesmas)


async def test_every_demo_posyandu_has_a_village_name_and_a_day(db):
    await load_demo(db)
    async with db.read() as session:
        posyandu = (await session.scalars(select(Posyandu))).all()
    assert all(p.village_name and p.schedule for p in posyandu)


def test_a_day_is_a_date_of_the_month_or_an_nth_weekday():
    assert _check_day({"monthly_day": "12"}, "x") == {"monthly_day": 12}
    assert _check_day({"nth": -1, "weekday": "friday"}, "x") == {"nth": -1, "weekday": "friday"}
    for bad in ({"monthly_day": 31}, {"nth": 5, "weekday": "friday"}, {"nth": 1, "weekday": "jumat"}, {}):
        with pytest.raises(ValueError, match="PKM1/P2: day must be"):
            _check_day(bad, "PKM1/P2")
