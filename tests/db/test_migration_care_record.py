"""Migration 0004: doses and the services hidden in measurements become care records, nothing lost."""
from __future__ import annotations

import asyncio
import json
import uuid
import pytest
from sqlalchemy import text

from db.migrate import upgrade
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database

NOW = "2026-11-23 02:00:00"


@pytest.fixture
async def old_database(tmp_path):
    """The URL of an empty database (SQLite, or PostgreSQL when the suite runs on it)."""
    if PG_URL:
        name = f"ilpbot_mig_{uuid.uuid4().hex[:8]}"
        await _create_pg_database(PG_URL, name)
        yield f"{PG_URL.rpartition('/')[0]}/{name}"
        await _drop_pg_database(PG_URL, name)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"


async def _run(url: str, statements: list[str]) -> list:
    """Runs statements on ``url`` with the project's async engine; returns the last one's rows."""
    from db.database import Database

    db = Database(url)
    rows = []
    try:
        async with db.write() as session:
            for sql in statements:
                result = await session.execute(text(sql))
                rows = result.all() if result.returns_rows else []
    finally:
        await db.dispose()
    return rows


async def test_doses_and_visit_services_move_to_the_care_record(old_database):
    url = old_database
    await asyncio.to_thread(upgrade, url, "0003")
    await _run(url, [
        f"INSERT INTO puskesmas (id, code, name, district_code, district_name, timezone, created_at) VALUES (1, 'P1', 'Pkm', '51.08', 'Buleleng', 'Asia/Makassar', '{NOW}')",
        f"INSERT INTO posyandu (id, puskesmas_id, code, name, village_code, village_name, schedule, holiday_policy, created_at) VALUES (1, 1, 'PY1', 'Mawar', '51.08.06.2014', 'Nagasepaha', '{{}}', 'after', '{NOW}')",
        f"INSERT INTO family (id, posyandu_id, code, name, created_at, updated_at) VALUES (1, 1, 'K-AAAAAA', 'Keluarga', '{NOW}', '{NOW}')",
        f"INSERT INTO person (id, family_id, name, sex, birth_date, created_at, updated_at) VALUES (1, 1, 'Bayi', 'M', '2026-03-01', '{NOW}', '{NOW}')",
        f"INSERT INTO person (id, family_id, name, sex, birth_date, hpht, created_at, updated_at) VALUES (2, 1, 'Ibu', 'F', '1995-01-01', '2026-08-01', '{NOW}', '{NOW}')",
        f"INSERT INTO person (id, family_id, name, sex, birth_date, created_at, updated_at) VALUES (3, 1, 'Nenek', 'F', '1950-01-01', '{NOW}', '{NOW}')",
        f"INSERT INTO person (id, family_id, name, sex, birth_date, created_at, updated_at) VALUES (4, 1, 'Ayah', 'M', '1990-01-01', '{NOW}', '{NOW}')",
        f"INSERT INTO visit (id, person_id, posyandu_id, visited_on, place, created_at) VALUES (1, 1, 1, '2026-11-10', 'posyandu', '{NOW}')",
        f"INSERT INTO visit (id, person_id, posyandu_id, visited_on, place, created_at) VALUES (2, 2, 1, '2026-11-10', 'posyandu', '{NOW}')",
        f"INSERT INTO visit (id, person_id, posyandu_id, visited_on, place, created_at) VALUES (3, 3, 1, '2026-11-10', 'home', '{NOW}')",
        f"INSERT INTO visit (id, person_id, posyandu_id, visited_on, place, created_at) VALUES (4, 4, 1, '2026-11-10', 'posyandu', '{NOW}')",
        "INSERT INTO measurement (visit_id, kind, value) VALUES (1, 'weight_kg', 8.1), (1, 'vitamin_a', 1.0), "
        "(2, 'weight_kg', 60.0), (2, 'anc_contact', 2.0), (2, 'iron_tablets', 30.0), (2, 'sbp', 120.0), "
        "(3, 'sbp', 150.0), (3, 'skilas_positive', 1.0), (4, 'glucose', 110.0)",
        f"INSERT INTO immunization (person_id, dose, given_on, visit_id, source, created_at) VALUES (1, 'DPT_HB_HIB1', '2026-05-02', NULL, 'family', '{NOW}'), "
        f"(1, 'PCV3', '2026-11-10', 1, 'kader', '{NOW}')",
    ])
    await asyncio.to_thread(upgrade, url, "head")
    rows = await _run(url, ["SELECT person_id, code, done_on, precision, source, visit_id, detail FROM care_record ORDER BY person_id, code"])
    found = {(p, c): (str(d)[:10], prec, src, v) for p, c, d, prec, src, v, _detail in rows}
    assert found == {
        (1, "DPT_HB_HIB1"): ("2026-05-02", "day", "family", None),
        (1, "PCV3"): ("2026-11-10", "day", "kader", 1),
        (1, "TIMBANG"): ("2026-11-10", "day", "kader", 1),
        (1, "VITA_BIRU"): ("2026-11-10", "day", "kader", 1),
        (2, "ANC2"): ("2026-11-10", "day", "kader", 2),
        (2, "TTD_HAMIL"): ("2026-11-10", "day", "kader", 2),
        (3, "SKILAS"): ("2026-11-10", "day", "kader", 3),
        (4, "SKRINING_PTM"): ("2026-11-10", "day", "kader", 4),
    }
    details = {(p, c): json.loads(d) if isinstance(d, str) else d for p, c, _d, _p, _s, _v, d in rows}
    assert {k: v for k, v in details.items() if v is not None} == {
        (2, "TTD_HAMIL"): {"tablets": 30}, (3, "SKILAS"): {"result": "positive"}}
    kinds = await _run(url, ["SELECT kind FROM measurement ORDER BY visit_id, kind"])
    assert [k for (k,) in kinds] == ["weight_kg", "sbp", "weight_kg", "sbp", "glucose"]
    later = await _run(url, ["SELECT count(*) FROM care_record WHERE done_on <> '2026-11-10' AND code <> 'DPT_HB_HIB1'"])
    assert later[0][0] == 0  # each service is dated on its visit's day
