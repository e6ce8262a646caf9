"""The history port: care records (``care.history``) written and read the same way by every path.

Every writer (registration history, a family's own entry, a kader's visit, ``catat``, imports)
calls :func:`record`; every reader (``/jadwal``, ``/imunisasi``, ``/sasaran``, the planner,
``/laporan``, exports) reads through :func:`histories` or, for the planner's ranges of families,
:func:`range_select` and ``care.history.build_many``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.history import ALL_CODES, DAY, EMPTY, PRECISIONS, SOURCES, PersonHistory, build_many, is_known
from db.models import CareRecord, Family, Person
from db.queries import bulk_insert, insert_ignore

_SELECT = (
    select(CareRecord.person_id, CareRecord.code, CareRecord.done_on, CareRecord.precision, CareRecord.detail)
    .where(CareRecord.person_id.in_(bindparam("people", expanding=True)))
    .order_by(CareRecord.done_on, CareRecord.id)
)


def range_select(read: Iterable[str]) -> Select:
    """The records of the codes in ``read`` for the families ``:first`` to ``:last`` (bound parameters):
    (person id, code, date, precision), for the planner's ranges of families.

    The other codes are left out by name (``NOT IN``): a list of the codes wanted would make SQLite
    search the (person, code, date) index once per person and code, ten times slower than reading a
    person's rows by the person index and dropping the few codes not wanted.
    """
    skip = sorted(ALL_CODES - set(read))
    statement = (
        select(CareRecord.person_id, CareRecord.code, CareRecord.done_on, CareRecord.precision)
        .join_from(CareRecord, Person, Person.id == CareRecord.person_id)
        .where(Person.family_id.between(bindparam("first"), bindparam("last")))
    )
    return statement.where(CareRecord.code.not_in(skip)) if skip else statement


async def histories(session: AsyncSession, person_ids: Iterable[int]) -> dict[int, PersonHistory]:
    """The history of each person (an empty one for a person with no record)."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return {}
    rows = (await session.execute(_SELECT, {"people": ids})).all()
    found = build_many(rows)
    return {pid: found.get(pid, EMPTY) for pid in ids}


async def history(session: AsyncSession, person_id: int) -> PersonHistory:
    """The history of one person."""
    return (await histories(session, [person_id]))[person_id]


async def record(session: AsyncSession, *, person_id: int, code: str, on: date, now: datetime, source: str,
                 precision: str = DAY, visit_id: int | None = None, detail: Mapping[str, Any] | None = None,
                 by: int | None = None) -> bool:
    """Records that ``code`` was done for a person on ``on``; True when it is new.

    The same code on the same day is one record: a second one keeps the first, taking the newer
    detail and an exact date over an approximate one (a kader correcting a weighing the same day).
    """
    if not is_known(code):
        raise ValueError(f"{code}: not a dose or service code")
    if precision not in PRECISIONS or source not in SOURCES:
        raise ValueError(f"precision {precision!r} / source {source!r}")
    values = {"person_id": person_id, "code": code, "done_on": on, "precision": precision, "source": source,
              "visit_id": visit_id, "detail": dict(detail) if detail else None, "recorded_by": by, "created_at": now}
    if await insert_ignore(session, CareRecord.__table__, values):
        return True
    changes: dict[str, Any] = {}
    if detail:
        changes["detail"] = dict(detail)
    if precision == DAY:
        changes["precision"] = DAY
    if changes:
        await session.execute(
            update(CareRecord)
            .where(CareRecord.person_id == person_id, CareRecord.code == code, CareRecord.done_on == on)
            .values(**changes)
            .execution_options(synchronize_session=False)
        )
    return False


async def record_many(session: AsyncSession, rows: Iterable[tuple[int, str, date, str, int | None]], *, source: str,
                      now: datetime, by: int | None = None) -> None:
    """:func:`record` for many records at once (register imports), in one statement: rows of (person id,
    code, date, precision, visit id or None). A (person, code, day) already recorded is kept as it is (the
    caller compares first: ``registers.importer`` reads the records before it writes)."""
    if source not in SOURCES:
        raise ValueError(f"source {source!r}")
    values = []
    for person_id, code, on, precision, visit_id in rows:
        if code not in ALL_CODES or precision not in PRECISIONS:
            raise ValueError(f"{code} / {precision}: not a dose or service code, or no precision")
        values.append((person_id, code, on, precision, source, visit_id, by, now))
    await bulk_insert(session, CareRecord.__table__, _RECORD_COLUMNS, values, ignore=True)


_RECORD_COLUMNS = ("person_id", "code", "done_on", "precision", "source", "visit_id", "recorded_by", "created_at")


async def redate_many(session: AsyncSession, changes: Iterable[tuple[int, date, str]]) -> None:
    """Moves records (by id) to another date and precision: (record id, new date, precision). A register
    import corrects the date of a dose it recorded itself, or of one only approximately known."""
    params = [{"rid": rid, "on": on, "precision": precision} for rid, on, precision in changes]
    if params:
        connection = await session.connection()
        await connection.execute(
            update(CareRecord.__table__).where(CareRecord.__table__.c.id == bindparam("rid"))
            .values(done_on=bindparam("on"), precision=bindparam("precision")), params)


async def forget(session: AsyncSession, person_id: int, code: str, on: date | None = None) -> int:
    """Removes a person's records of ``code`` (only the one on ``on`` when given); returns how many."""
    statement = delete(CareRecord).where(CareRecord.person_id == person_id, CareRecord.code == code)
    if on is not None:
        statement = statement.where(CareRecord.done_on == on)
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return result.rowcount or 0


async def records_of_visit(session: AsyncSession, visit_id: int) -> list[tuple[str, dict | None]]:
    """(code, detail) of the records a visit wrote, in code order."""
    rows = await session.execute(
        select(CareRecord.code, CareRecord.detail).where(CareRecord.visit_id == visit_id).order_by(CareRecord.code)
    )
    return [(code, detail) for code, detail in rows.all()]


async def posyandu_histories(session: AsyncSession, posyandu_ids: Iterable[int], until: date, *,
                             people=None) -> dict[int, PersonHistory]:
    """The history up to ``until`` of each person of the registered families of some posyandu (only
    the people with a record), read with one joined query rather than a list of person ids (a
    puskesmas has tens of thousands of people: the coverage of ``db.coverage``); ``people``: a
    condition on ``Person`` narrowing whose histories are read."""
    ids = list(posyandu_ids)
    if not ids:
        return {}
    rows = (await session.execute(
        select(CareRecord.person_id, CareRecord.code, CareRecord.done_on, CareRecord.precision, CareRecord.detail)
        .join(Person, Person.id == CareRecord.person_id).join(Family, Family.id == Person.family_id)
        .where(Family.posyandu_id.in_(ids), Family.registered_at.is_not(None), CareRecord.done_on <= until,
               *(() if people is None else (people,)))
        .order_by(CareRecord.done_on, CareRecord.id))).all()
    return build_many(rows)
