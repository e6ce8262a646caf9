"""Queries shared by the handlers; each takes an open session and returns plain results."""
from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import bindparam, event, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.orm import Session as OrmSession

from datetime import date, datetime

from care.calendar import CalendarChange, Session, next_posyandu_day, sessions_between
from content.family_codes import random_family_code
from content.regions import regions
from db.models import Family, Person, Posyandu, PosyanduException, Puskesmas

#: (dialect, table) -> its INSERT ... ON CONFLICT DO NOTHING, built once: a statement object that is
#: reused keeps its memoized cache key (building and keying a statement costs more than SQLite running it)
_INSERT_IGNORE: dict[tuple[str, Any], Any] = {}


def _insert_ignore(dialect: str, table: Any) -> Any:
    """The INSERT ... ON CONFLICT DO NOTHING of ``table`` for a dialect (by name), built once."""
    statement = _INSERT_IGNORE.get((dialect, table))
    if statement is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = _INSERT_IGNORE[(dialect, table)] = insert(table).on_conflict_do_nothing()
    return statement


async def insert_ignore(session: AsyncSession, table: Any, values: dict[str, Any]) -> bool:
    """Inserts a row unless its key exists; True when a row was written."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    result = await core_execute(session, _insert_ignore(dialect, table), values)
    return bool(result.rowcount)


def _once_per_value(process: Any) -> Any:
    """A column's bind processor (a function of the value alone) that converts each distinct value of a
    column once: for dates and times, which repeat down a column and whose equal values mean the same."""

    def converted(values: Sequence[Any]) -> list[Any]:
        done = {value: process(value) for value in set(values)}
        return list(map(done.__getitem__, values))

    return converted


def _each_value(process: Any) -> Any:
    """A column's bind processor applied to each value of a column."""
    return lambda values: list(map(process, values))


def _python_type(column_type: Any) -> type | None:
    try:
        return column_type.python_type
    except NotImplementedError:
        return None


class InsertIgnoreMany:
    """:func:`insert_ignore` for many rows of the same ``columns``, in two halves.

    :meth:`shape` turns rows (tuples in the order of ``columns``) into the driver's parameters, each value
    through its column's own SQLAlchemy type (its bind processor: a datetime to UTC and, on SQLite, to
    SQLAlchemy's text; a dict to JSON), in any process: the planner shapes its rows in its worker
    processes. :meth:`insert` runs the compiled statement on shaped rows in one ``executemany``, so the one
    writer spends nothing per row but the driver's own work. Both halves must use the same dialect.
    """

    def __init__(self, table: Any, columns: Sequence[str], dialect: Any) -> None:
        compiled = _insert_ignore(dialect.name, table).compile(dialect=dialect, column_keys=list(columns))
        if not compiled.positional:
            raise ValueError(f"{dialect.name}: a driver with positional parameters is needed")
        self.sql = str(compiled)
        where = {name: i for i, name in enumerate(columns)}
        #: (index in a row, converter of a column or None) in the order of the statement's parameters
        self._take = []
        for key in compiled.positiontup:
            column_type = table.c[key].type
            process = column_type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                repeats = _python_type(column_type) in (date, datetime)
                process = _once_per_value(process) if repeats else _each_value(process)
            self._take.append((where[key], process))

    def shape(self, rows: Sequence[Sequence[Any]]) -> list[tuple]:
        """``rows`` as the driver takes them (column by column: a value repeated down a column, such as a
        day or a time, is converted once)."""
        if not rows:
            return []
        columns = list(zip(*rows))
        return list(zip(*(columns[i] if process is None else process(columns[i]) for i, process in self._take)))

    async def insert(self, session: AsyncSession, shaped: list[tuple]) -> None:
        """Inserts rows made by :meth:`shape`, each unless its key exists, in the session's transaction."""
        if shaped:
            connection = await session.connection()
            await connection.exec_driver_sql(self.sql, shaped)


async def bulk_insert(session: AsyncSession, table: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
                      ignore: bool = False, ids: bool = False) -> list[int] | None:
    """Inserts many rows (values in the order of ``columns``) at the speed of the driver, in the session's
    transaction; with ``ignore`` a row whose key exists is left out; with ``ids`` the new rows' ids are
    returned in the order of ``rows``.

    SQLite: one ``executemany`` of the driver, each value converted by its column's own bind processor
    (dates, timestamps, JSON are stored exactly as the ORM stores them); the ids are given out from the
    table's highest id, which no one else can take meanwhile (a write transaction holds SQLite's one write
    lock). PostgreSQL: Core's batched ``INSERT ... VALUES`` (``RETURNING`` the ids, in order). SQLAlchemy's
    own executemany costs about ten times the driver's per row on SQLite: a register import writes millions.
    """
    if not rows:
        return [] if ids else None
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        statement = (pg_insert(table).on_conflict_do_nothing() if ignore else table.insert())
        if ids:
            statement = statement.returning(table.c.id, sort_by_parameter_order=True)
        result = await connection.execute(statement, [dict(zip(columns, row)) for row in rows])
        return list(result.scalars()) if ids else None
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]
    convert = [(i, p, {}) for i, p in enumerate(processors) if p is not None]
    values: list[Any] = []
    for row in rows:
        row = list(row)
        for i, process, done in convert:  # the same value (a day, the import's time) converted once
            value = row[i]
            if value is not None:
                found = done.get(value)
                if found is None:
                    found = done[value] = process(value)
                row[i] = found
        values.append(row)
    names = list(columns)
    new_ids = None
    if ids:
        first = (await connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {table.name}")).scalar()
        new_ids = list(range(first, first + len(values)))
        names = ["id", *names]
        values = [[new_id, *row] for new_id, row in zip(new_ids, values)]
    sql = (f"INSERT {'OR IGNORE ' if ignore else ''}INTO {table.name} ({', '.join(names)}) "
           f"VALUES ({', '.join('?' * len(names))})")
    await connection.exec_driver_sql(sql, [tuple(row) for row in values])
    return new_ids


async def core_execute(session: AsyncSession, statement: Any, parameters: dict[str, Any]) -> Any:
    """Runs a Core statement (one table, no ORM entities) on the session's connection, in its
    transaction: the same as ``session.execute`` without the ORM's execution layer, about a third of
    a statement's cost. Pending ORM changes are flushed first, as ``session.execute`` would."""
    sync = getattr(session, "sync_session", session)
    if sync.new or sync.dirty or sync.deleted:
        await session.flush()
    sync.info.pop(_MEMBERS_KEY, None)  # a write that bypasses the session's events
    connection = await session.connection()
    return await connection.execute(statement, parameters)


async def find_posyandu(session: AsyncSession, query: str, limit: int = 8) -> Sequence[tuple[Posyandu, Puskesmas]]:
    """Posyandu whose village or name contains ``query`` (each word tried when the whole fails); when
    none does, those whose village or name is spelt nearly like it (``nagasepha`` for Nagasepaha,
    :data:`SIMILAR`)."""
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
    names = (await session.execute(select(Posyandu.id, Posyandu.village_name, Posyandu.name))).all()
    close = [pid for pid, village, name in names if _likeness(query, village, name) >= SIMILAR]
    if not close:
        return []
    rows = await session.execute(
        select(Posyandu, Puskesmas).join(Puskesmas, Posyandu.puskesmas_id == Puskesmas.id)
        .where(Posyandu.id.in_(close)).order_by(Posyandu.village_name, Posyandu.name).limit(limit)
    )
    return [(p, k) for p, k in rows.all()]


#: How alike (difflib's ratio, 0-1) a typed village and a village or posyandu name must be to be
#: taken for it: one letter wrong, missing or extra in a name of 6 letters or more.
SIMILAR = 0.8
#: Words of a posyandu's name that say nothing of which one it is.
_NAME_WORDS = frozenset({"posyandu", "pos", "desa", "kelurahan", "dusun", "banjar", "ilp", "terpadu"})


def _likeness(query: str, village: str, name: str) -> float:
    """How alike a typed village is to a posyandu's village or name (or a word of either): 0-1."""
    typed = [query.lower()] + [w for w in query.lower().split() if len(w) >= 4]
    names = {village.lower(), name.lower()} | {w for w in f"{village} {name}".lower().split()
                                               if len(w) >= 4 and w not in _NAME_WORDS}
    return max(SequenceMatcher(None, t, n).ratio() for t in typed for n in names)


async def village_suggestions(session: AsyncSession, query: str, limit: int = 6) -> tuple[str | None, list[str]]:
    """Villages with a posyandu to offer when a typed village has none: (kecamatan, villages).

    When the typed name is a village of the Kemendagri list (``content.regions``), the villages of
    its kecamatan that have a posyandu, with the kecamatan's name; otherwise (None, the villages
    spelt most like it)."""
    rows = (await session.execute(select(Posyandu.village_code, Posyandu.village_name).distinct())).all()
    known = regions()
    typed = query.lower()
    places = [code for code, name in known.items() if code.count(".") == 3
              and SequenceMatcher(None, typed, name.lower()).ratio() >= SIMILAR]
    for code in places:
        district = code.rsplit(".", 1)[0]
        nearby = sorted({name for village, name in rows if village.startswith(district + ".")})
        if nearby:
            return known.get(district), nearby[:limit]
    ranked = sorted({name for _code, name in rows}, key=lambda name: (-SequenceMatcher(None, typed, name.lower()).ratio(), name))
    return None, ranked[:limit]


async def new_family_code(session: AsyncSession) -> str:
    """A family code not yet used, e.g. ``K-7QX2MA4KPH``: 9 random characters and a check character."""
    while True:
        code = random_family_code()
        exists = await session.scalar(select(Family.id).where(Family.code == code))
        if exists is None:
            return code


_MEMBERS = select(Person).where(Person.family_id == bindparam("family_id")).order_by(Person.id)


async def family_members(session: AsyncSession, family_id: int) -> list[Person]:
    """The members of a family in the order they were added.

    Asked twice in one transaction with nothing written in between (a screen and then the menu under
    it), the second answer comes from the first: :func:`_forget_members` drops it at every flush and
    every insert, update or delete run through the session, and nothing is reused while the session
    holds changes not yet flushed (the query would flush them first).
    """
    sync = getattr(session, "sync_session", session)
    members = sync.info.get(_MEMBERS_KEY)
    pending = sync.new or sync.dirty or sync.deleted
    if members is not None and not pending and family_id in members:
        return list(members[family_id])
    rows = list(await session.scalars(_MEMBERS, {"family_id": family_id}))
    if not (sync.new or sync.dirty or sync.deleted):
        sync.info.setdefault(_MEMBERS_KEY, {})[family_id] = rows
    return list(rows)


_MEMBERS_KEY = "ilpbot.family_members"


@event.listens_for(OrmSession, "after_flush")
def _forget_members_after_flush(session: OrmSession, _flush_context) -> None:
    session.info.pop(_MEMBERS_KEY, None)


@event.listens_for(OrmSession, "do_orm_execute")
def _forget_members(state) -> None:
    if not state.is_select:
        state.session.info.pop(_MEMBERS_KEY, None)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_members_after_transaction(session: OrmSession, _transaction) -> None:
    session.info.pop(_MEMBERS_KEY, None)


async def posyandu_of(session: AsyncSession, puskesmas_id: int | None) -> list[Posyandu]:
    """The posyandu of a puskesmas, by name."""
    return list(await session.scalars(select(Posyandu).where(Posyandu.puskesmas_id == puskesmas_id).order_by(Posyandu.name)))


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


_CHANGES = (
    select(PosyanduException.posyandu_id, PosyanduException.kind, PosyanduException.original_date,
           PosyanduException.new_date, PosyanduException.reason)
    .where(PosyanduException.posyandu_id.in_(bindparam("ids", expanding=True)))
    .order_by(PosyanduException.id)
)


async def posyandu_changes(session: AsyncSession, posyandu_ids: list[int]) -> dict[int, list[CalendarChange]]:
    """The moved, cancelled and extra sessions of some posyandu."""
    changes: dict[int, list[CalendarChange]] = {pid: [] for pid in posyandu_ids}
    rows = await session.execute(_CHANGES, {"ids": list(posyandu_ids)})
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


async def posyandu_sessions(session: AsyncSession, posyandu: Posyandu, start: date, end: date,
                            changes: list[CalendarChange] | None = None) -> list[Session]:
    """A posyandu's sessions from ``start`` to ``end`` (both included): its rule, its changes (read from the
    database unless given), the holidays; none for a posyandu without a day rule."""
    if not posyandu.schedule:
        return []
    if changes is None:
        changes = (await posyandu_changes(session, [posyandu.id]))[posyandu.id]
    return sessions_between(posyandu.schedule, start, end, changes=changes, policy=posyandu.holiday_policy or "after")


class _Explain(Executable, ClauseElement):
    """``EXPLAIN QUERY PLAN`` (SQLite) / ``EXPLAIN`` (PostgreSQL) of a statement, its parameters bound as usual."""

    inherit_cache = False

    def __init__(self, statement) -> None:
        self.statement = statement


@compiles(_Explain)
def _compile_explain(element: _Explain, compiler, **kw) -> str:
    prefix = "EXPLAIN QUERY PLAN " if compiler.dialect.name == "sqlite" else "EXPLAIN "
    sql = compiler.process(element.statement, **kw)
    compiler._result_columns = []  # the plan's rows are text, not the statement's columns (and their types)
    return prefix + sql


async def query_plan(session: AsyncSession, statement) -> str:
    """The database's plan of ``statement`` as text, one step a line (which index a query reads, for tests and
    benchmarks)."""
    rows = (await session.execute(_Explain(statement))).all()
    return "\n".join(str(row[-1]) for row in rows)
