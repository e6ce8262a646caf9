"""Queries shared by the handlers; each takes an open session and returns plain results."""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from datetime import date

from care.calendar import CalendarChange, Session, next_posyandu_day
from db.models import Family, Person, Posyandu, PosyanduException, Puskesmas

FAMILY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
FAMILY_CODE_LENGTH = 6


async def insert_ignore(session: AsyncSession, table: Any, values: dict[str, Any]) -> bool:
    """Inserts a row unless its key exists; True when a row was written."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await session.execute(insert(table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)


async def find_posyandu(session: AsyncSession, query: str, limit: int = 8) -> Sequence[tuple[Posyandu, Puskesmas]]:
    """Posyandu whose village or name contains ``query`` (each word tried when the whole fails)."""
    words = [query] + [w for w in query.split() if len(w) >= 3 and w != query]
    for word in words:
        escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        rows = await session.execute(
            select(Posyandu, Puskesmas)
            .join(Puskesmas, Posyandu.puskesmas_id == Puskesmas.id)
            .where(
                or_(
                    func.lower(Posyandu.village_name).like(pattern, escape="\\"),
                    func.lower(Posyandu.name).like(pattern, escape="\\"),
                )
            )
            .order_by(Posyandu.village_name, Posyandu.name)
            .limit(limit)
        )
        found = [(p, k) for p, k in rows.all()]
        if found:
            return found
    return []


async def new_family_code(session: AsyncSession) -> str:
    """A family code not yet used, e.g. ``K-7QX2MA``."""
    while True:
        code = "K-" + "".join(secrets.choice(FAMILY_CODE_ALPHABET) for _ in range(FAMILY_CODE_LENGTH))
        exists = await session.scalar(select(Family.id).where(Family.code == code))
        if exists is None:
            return code


async def family_members(session: AsyncSession, family_id: int) -> list[Person]:
    """The members of a family in the order they were added."""
    rows = await session.scalars(select(Person).where(Person.family_id == family_id).order_by(Person.id))
    return list(rows)


async def family_timezone(session: AsyncSession, family_id: int) -> tuple[str, str] | None:
    """(puskesmas code, stored time zone) of the puskesmas a family belongs to."""
    row = await session.execute(
        select(Puskesmas.code, Puskesmas.timezone)
        .join(Posyandu, Posyandu.puskesmas_id == Puskesmas.id)
        .join(Family, Family.posyandu_id == Posyandu.id)
        .where(Family.id == family_id)
    )
    found = row.first()
    return (found[0], found[1]) if found else None


async def posyandu_changes(session: AsyncSession, posyandu_ids: list[int]) -> dict[int, list[CalendarChange]]:
    """The moved, cancelled and extra sessions of some posyandu."""
    changes: dict[int, list[CalendarChange]] = {pid: [] for pid in posyandu_ids}
    rows = await session.execute(
        select(PosyanduException.posyandu_id, PosyanduException.kind, PosyanduException.original_date,
               PosyanduException.new_date, PosyanduException.reason)
        .where(PosyanduException.posyandu_id.in_(posyandu_ids))
        .order_by(PosyanduException.id)
    )
    for pid, kind, original, new, reason in rows.all():
        changes[pid].append(CalendarChange(kind, original, new, reason))
    return changes


def next_day_of(posyandu: Posyandu, on: date, changes: list[CalendarChange]) -> Session | None:
    """A posyandu's next session on or after ``on``: its rule, its changes, the holidays."""
    if not posyandu.schedule:
        return None
    try:
        return next_posyandu_day(posyandu.schedule, on, changes=changes, policy=posyandu.holiday_policy or "after")
    except (KeyError, ValueError):
        return None


async def next_posyandu_session(session: AsyncSession, posyandu: Posyandu, on: date) -> Session | None:
    """:func:`next_day_of` with the posyandu's changes read from the database."""
    changes = await posyandu_changes(session, [posyandu.id])
    return next_day_of(posyandu, on, changes[posyandu.id])
