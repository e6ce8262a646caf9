"""The coverage of posyandu read from the database: the one computation behind the chat's ``/laporan``
(``handlers.report``) and the web's PWS overview (``web.pws``).

The definitions are ``care.coverage``'s (pure); this module only reads the records they take. Every
dose and service is read from the one care record (``db.history``) as it stood at the month's end (the
iron tablets given in pregnancy from the detail of the TTD_HAMIL records); weighings and lengths come
with their values from the visits' measurements.

:func:`month_report` is one posyandu's month (what ``/laporan`` shows); :func:`month_reports` reads the
posyandu of a puskesmas once and gives the report of each posyandu for each of several months (the PWS
page: the chosen month and the months of the year before it), with the same numbers, since both build
the inputs with :func:`month_inputs` and call ``care.coverage.month_report``.
"""
from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from care.coverage import (
    ANC_CODES,
    KF_CODES,
    KN_CODES,
    ChildRecord,
    MonthReport,
    NewbornRecord,
    NifasRecord,
    PersonRecord,
    PregnancyRecord,
    ReminderCounts,
    month_bounds,
)
from care.coverage import month_report as compute
from care.history import DAY, TTD_HAMIL, PersonHistory, build
from care.history import EMPTY as NO_HISTORY
from care.rules import Schedule
from db.history import posyandu_histories
from db.models import (CareRecord, Family, Identity, Measurement, Outbox, Person, Posyandu, PosyanduException, Referral,
                       ReminderTally, Visit)


#: the under-sixes: the children of ``month_inputs`` and, with ``pws_only``, its people
CHILD_DAYS = 6 * 366


@dataclass(frozen=True)
class PersonRow:
    """A registered person as the coverage and its lists need them."""

    id: int
    posyandu_id: int
    name: str
    sex: str
    birth_date: date | None
    birth_precision: str | None
    hpht: date | None
    delivered_on: date | None
    family_code: str
    dusun: str | None
    rt: str | None
    rw: str | None


@dataclass
class Loaded:
    """The people of some posyandu with their histories, weighings and lengths up to a day."""

    people: list[PersonRow]
    histories: dict[int, PersonHistory]
    weights: dict[int, list[tuple[date, float]]] = field(default_factory=lambda: defaultdict(list))
    lengths: dict[int, list[tuple[date, float, str]]] = field(default_factory=lambda: defaultdict(list))
    #: the last history as it stood at a month's end, per person (``_until``)
    kept: dict = field(default_factory=dict, repr=False, compare=False)


async def load(session, posyandu_ids: Iterable[int], until: date, *, pws_only: bool = False) -> Loaded:
    """The registered people of the posyandu and their records up to ``until``: three queries, whatever
    the number of people. With ``pws_only`` the histories are read only of whom ``month_inputs(pws_only=True)``
    takes in the year to ``until`` (the under-sixes, pregnancies, deliveries)."""
    ids = list(posyandu_ids) or [0]
    wanted = or_(Person.birth_date > until - timedelta(days=CHILD_DAYS + 366), Person.hpht.is_not(None),
                 Person.delivered_on.is_not(None)) if pws_only else None
    people = [PersonRow(*row) for row in (await session.execute(
        select(Person.id, Family.posyandu_id, Person.name, Person.sex, Person.birth_date, Person.birth_precision,
               Person.hpht, Person.delivered_on, Family.code, Family.dusun, Family.rt, Family.rw)
        .join(Family, Family.id == Person.family_id)
        .where(Family.posyandu_id.in_(ids), Family.registered_at.is_not(None)).order_by(Person.id))).all()]
    loaded = Loaded(people, await posyandu_histories(session, ids, until, people=wanted))
    for person_id, day, kind, value, detail in (await session.execute(
            select(Visit.person_id, Visit.visited_on, Measurement.kind, Measurement.value, Measurement.detail)
            .join(Measurement, Measurement.visit_id == Visit.id).join(Person, Person.id == Visit.person_id)
            .join(Family, Family.id == Person.family_id)
            .where(Family.posyandu_id.in_(ids), Family.registered_at.is_not(None), Visit.visited_on <= until,
                   Measurement.kind.in_(("weight_kg", "length_cm"))))).all():
        if kind == "weight_kg":
            loaded.weights[person_id].append((day, value))
        else:
            loaded.lengths[person_id].append((day, value, detail or "l"))
    for rows in (*loaded.weights.values(), *loaded.lengths.values()):
        rows.sort()  # in order once: a month takes those up to its end (_upto)
    return loaded


def _visits(history: PersonHistory, codes: tuple[str, ...], event: date) -> tuple[tuple[date, ...], frozenset[str]]:
    """The exact dates of the visits of ``codes`` from ``event`` on, and the codes recorded with an approximate date."""
    ours = [r for r in history.records if r.code in codes and r.on >= event]
    return (tuple(sorted({r.on for r in ours if r.precision == DAY})),
            frozenset(r.code for r in ours if r.precision != DAY))


def _count(value) -> int:
    """A tablet count from a record's detail (0 when missing or not a number)."""
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def _until(history: PersonHistory, end: date, kept: dict | None = None, key=None) -> PersonHistory:
    """The history as it stood at ``end`` (itself when nothing is later). ``kept``: the last history built
    per ``key`` (a person) with its number of records, reused while a later month adds none."""
    if not history.records or history.records[-1].on <= end:
        return history
    n = bisect_right(history.records, end, key=_on)  # the records are in date order (care.history.build)
    if kept is None:
        return build(history.records[:n])
    last = kept.get(key)
    if last is None or last[0] != n:
        last = kept[key] = (n, build(history.records[:n]))
    return last[1]


def _on(record):
    return record.on


def _upto(rows: list[tuple], end: date) -> tuple:
    """The rows (in order, each starting with its date) dated up to ``end``."""
    return tuple(rows[:bisect_right(rows, end, key=_first)])


def _first(row):
    return row[0]


def month_inputs(loaded: Loaded, people: Iterable[PersonRow], end: date, *, pws_only: bool = False) -> dict:
    """The keyword inputs of ``care.coverage.month_report`` for ``people`` at the month ending ``end``;
    with ``pws_only`` (``month_report(pws_only=True)``) the people of any age are only the under-sixes
    and nobody else's history is rebuilt."""
    children, pregnancies, newborns, mothers, persons = [], [], [], [], []
    for p in people:
        young = p.birth_date is not None and p.birth_date <= end and (end - p.birth_date).days < CHILD_DAYS
        if pws_only and not young and not (p.hpht and p.hpht <= end) and not p.delivered_on:
            continue
        history = _until(loaded.histories.get(p.id, NO_HISTORY), end, loaded.kept, p.id)
        sex = 1 if p.sex == "M" else 2
        if p.birth_date and p.birth_date <= end and (young or not pws_only):
            persons.append(PersonRecord(p.id, sex, p.birth_date, history.records))
            if young:
                weights = _upto(loaded.weights.get(p.id, []), end)
                lengths = _upto(loaded.lengths.get(p.id, []), end)
                children.append(ChildRecord(p.id, sex, p.birth_date, weights, lengths, history.given, history.approximate))
            if (end - p.birth_date).days <= 60:
                exact, approximate = _visits(history, KN_CODES, p.birth_date)
                newborns.append(NewbornRecord(p.id, p.birth_date, exact, approximate))
        if p.hpht and p.hpht <= end:
            last = p.delivered_on or end
            ours = [r for r in history.records if p.hpht <= r.on <= last]
            contacts = sorted({r.on for r in ours if r.code in ANC_CODES})
            numbered = tuple((r.on, int(r.code[3:])) for r in ours if r.code in ANC_CODES and r.code != "ANC")
            iron = tuple((r.on, _count((r.detail or {}).get("tablets"))) for r in ours if r.code == TTD_HAMIL and r.precision == DAY)
            pregnancies.append(PregnancyRecord(p.id, p.hpht, p.delivered_on, tuple(contacts), numbered, iron))
        if p.delivered_on and p.delivered_on <= end and (end - p.delivered_on).days <= 90:
            exact, approximate = _visits(history, KF_CODES, p.delivered_on)
            mothers.append(NifasRecord(p.id, p.delivered_on, exact, approximate))
    return {"children": children, "pregnancies": pregnancies, "newborns": newborns, "mothers": mothers, "people": persons}


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


#: an outbox row that reached the family (Telegram reports no delivery: accepted counts as delivered; WhatsApp
#: reports delivered and read)
_DELIVERED = case((Outbox.channel != "whatsapp", 1), (Outbox.delivery.in_(("delivered", "read")), 1), else_=0)
#: the outbox rows a report counts: the daily reminders sent
_COUNTED = (Outbox.kind == "daily", Outbox.state == "sent")


async def reminder_counts(session, posyandu_id: int, start: date, end: date) -> ReminderCounts:
    """Daily reminders of the month to the posyandu's families: sent, and delivered; the rows of days older than
    ``privacy.outbox_keep_days`` are deleted and counted in ``reminder_tally`` (:func:`tally_outbox`)."""
    families = select(Family.id).where(Family.posyandu_id == posyandu_id)
    sent, arrived = (await session.execute(
        select(func.count(), func.coalesce(func.sum(_DELIVERED), 0)).select_from(Outbox).join(Identity, Identity.id == Outbox.identity_id).where(
            Identity.family_id.in_(families), *_COUNTED,
            Outbox.created_at >= _utc(start), Outbox.created_at < _utc(end + timedelta(days=1))))).one()
    old_sent, old_arrived = (await session.execute(
        select(func.coalesce(func.sum(ReminderTally.sent), 0), func.coalesce(func.sum(ReminderTally.delivered), 0))
        .where(ReminderTally.posyandu_id == posyandu_id, ReminderTally.day >= start, ReminderTally.day <= end))).one()
    return ReminderCounts(sent=(sent or 0) + int(old_sent or 0), delivered=int(arrived or 0) + int(old_arrived or 0))


async def tally_outbox(session, ids: list[int]) -> int:
    """Adds the outbox rows ``ids``, about to be deleted, to ``reminder_tally`` (what :func:`reminder_counts`
    counts of them: by posyandu of the family and UTC day of queueing); returns how many rows counted."""
    rows = (await session.execute(
        select(Family.posyandu_id, Outbox.created_at, func.count(), func.sum(_DELIVERED)).select_from(Outbox)
        .join(Identity, Identity.id == Outbox.identity_id).join(Family, Family.id == Identity.family_id)
        .where(Outbox.id.in_(ids), *_COUNTED).group_by(Family.posyandu_id, Outbox.created_at))).all()
    days: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
    for posyandu_id, created_at, sent, arrived in rows:  # one planning run's rows share their created_at
        tally = days[(posyandu_id, created_at.astimezone(UTC).date())]
        tally[0] += sent
        tally[1] += int(arrived or 0)
    if days:
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        statement = insert(ReminderTally)
        statement = statement.on_conflict_do_update(
            index_elements=[ReminderTally.posyandu_id, ReminderTally.day],
            set_={"sent": ReminderTally.sent + statement.excluded.sent, "delivered": ReminderTally.delivered + statement.excluded.delivered},
        )
        await session.execute(statement, [{"posyandu_id": p, "day": d, "sent": n, "delivered": m} for (p, d), (n, m) in days.items()])
    return sum(n for n, _m in days.values())


async def month_report(session, posyandu_id: int, year: int, month: int, *, je: bool, schedule: Schedule) -> MonthReport:
    """The coverage report of one posyandu for a month (``/laporan``), with its reminders."""
    start, end = month_bounds(year, month)
    loaded = await load(session, [posyandu_id], end)
    return compute(year, month, **month_inputs(loaded, loaded.people, end),
                   reminders=await reminder_counts(session, posyandu_id, start, end), je=je, schedule=schedule)


async def month_reports(session, posyandu_ids: Iterable[int], months: Iterable[tuple[int, int]], *, je: bool,
                        schedule: Schedule, pws_only: bool = False) -> tuple[Loaded, dict[tuple[int, int, int], MonthReport]]:
    """The report of each posyandu for each month, (posyandu id, year, month) -> report, read at once;
    the reminders are left out (zeros: the PWS does not show them); ``pws_only``: only the PWS's figures
    (``care.coverage.month_report``). The people read come along (for the lists of who stands behind a
    number). The computation runs in a worker thread."""
    ids, months = list(posyandu_ids), sorted(set(months))
    if not months:
        return Loaded([], {}), {}
    if pws_only and (months[-1][0] - months[0][0]) * 12 + months[-1][1] - months[0][1] > 11:
        raise ValueError("pws_only reads a year at most")
    loaded = await load(session, ids, month_bounds(*months[-1])[1], pws_only=pws_only)
    by_posyandu: dict[int, list[PersonRow]] = defaultdict(list)
    for p in loaded.people:
        by_posyandu[p.posyandu_id].append(p)

    def every() -> dict[tuple[int, int, int], MonthReport]:
        reports = {}
        for year, month in months:
            end = month_bounds(year, month)[1]
            for pid in ids:
                reports[pid, year, month] = compute(year, month, **month_inputs(loaded, by_posyandu[pid], end, pws_only=pws_only),
                                                    je=je, schedule=schedule, pws_only=pws_only)
        return reports
    # pure work on data already read: in a thread, so that the event loop serves other requests meanwhile
    return loaded, await asyncio.to_thread(every)


async def data_version(session) -> tuple:
    """A cheap fingerprint of everything the coverage reads, in one query: the counts and largest ids of
    people, families, posyandu, visits, measurements and care records, the latest ``updated_at`` of
    people and families, the registered families, the care records with an exact date (a record's
    precision is raised in place, ``db.history.record``) and the sum of the measurements' values. Any
    insert or delete, and the edits the flows make (which set ``updated_at``), change it; a cache of the
    coverage keyed by it (``web.pws``) is then read afresh."""
    def one(*columns):
        return select(*columns).scalar_subquery()
    row = (await session.execute(select(
        one(func.count(Person.id)), one(func.max(Person.id)), one(func.max(Person.updated_at)),
        one(func.count(Family.id)), one(func.max(Family.id)), one(func.max(Family.updated_at)), one(func.count(Family.registered_at)),
        one(func.count(Posyandu.id)), one(func.max(Posyandu.id)),
        one(func.count(Visit.id)), one(func.max(Visit.id)),
        one(func.count(Measurement.id)), one(func.max(Measurement.id)), one(func.sum(Measurement.value)),
        one(func.count(CareRecord.id)), one(func.max(CareRecord.id)), one(func.count(case((CareRecord.precision == DAY, 1))))))).one()
    return tuple(row)


async def targets_version(session) -> tuple:
    """:func:`data_version` and what the list of who is due reads besides (``reminders.targets``): the
    referrals followed (opened, their outcome recorded) and the changed posyandu days. A cache of the list
    (``web.targets``) keyed by it is read afresh when any of them changes."""
    def one(*columns):
        return select(*columns).scalar_subquery()
    row = (await session.execute(select(
        one(func.count(Referral.id)), one(func.max(Referral.id)), one(func.max(Referral.outcome_at)),
        one(func.count(PosyanduException.id)), one(func.max(PosyanduException.id))))).one()
    return await data_version(session) + tuple(row)
