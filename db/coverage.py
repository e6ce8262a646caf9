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

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select

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
from db.models import Family, Identity, Measurement, Outbox, Person, Visit


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


async def load(session, posyandu_ids: Iterable[int], until: date) -> Loaded:
    """The registered people of the posyandu and their records up to ``until``: three queries, whatever
    the number of people."""
    ids = list(posyandu_ids) or [0]
    people = [PersonRow(*row) for row in (await session.execute(
        select(Person.id, Family.posyandu_id, Person.name, Person.sex, Person.birth_date, Person.birth_precision,
               Person.hpht, Person.delivered_on, Family.code, Family.dusun, Family.rt, Family.rw)
        .join(Family, Family.id == Person.family_id)
        .where(Family.posyandu_id.in_(ids), Family.registered_at.is_not(None)).order_by(Person.id))).all()]
    loaded = Loaded(people, await posyandu_histories(session, ids, until))
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


def _until(history: PersonHistory, end: date) -> PersonHistory:
    """The history as it stood at ``end`` (itself when nothing is later)."""
    if not history.records or history.records[-1].on <= end:
        return history
    return build(r for r in history.records if r.on <= end)


def month_inputs(loaded: Loaded, people: Iterable[PersonRow], end: date) -> dict:
    """The keyword inputs of ``care.coverage.month_report`` for ``people`` at the month ending ``end``."""
    children, pregnancies, newborns, mothers, persons = [], [], [], [], []
    for p in people:
        history = _until(loaded.histories.get(p.id, NO_HISTORY), end)
        sex = 1 if p.sex == "M" else 2
        if p.birth_date and p.birth_date <= end:
            persons.append(PersonRecord(p.id, sex, p.birth_date, history.records))
            if (end - p.birth_date).days < 6 * 366:
                weights = tuple(sorted(w for w in loaded.weights.get(p.id, ()) if w[0] <= end))
                lengths = tuple(sorted(h for h in loaded.lengths.get(p.id, ()) if h[0] <= end))
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


async def reminder_counts(session, posyandu_id: int, start: date, end: date) -> ReminderCounts:
    """Daily reminders of the month to the posyandu's families: sent, and delivered (Telegram reports no
    delivery: accepted counts as delivered; WhatsApp reports delivered and read)."""
    families = select(Family.id).where(Family.posyandu_id == posyandu_id)
    delivered = case((Outbox.channel != "whatsapp", 1), (Outbox.delivery.in_(("delivered", "read")), 1), else_=0)
    sent, arrived = (await session.execute(
        select(func.count(), func.coalesce(func.sum(delivered), 0)).select_from(Outbox).join(Identity, Identity.id == Outbox.identity_id).where(
            Identity.family_id.in_(families), Outbox.kind == "daily", Outbox.state == "sent",
            Outbox.created_at >= _utc(start), Outbox.created_at < _utc(end + timedelta(days=1))))).one()
    return ReminderCounts(sent=sent or 0, delivered=int(arrived or 0))


async def month_report(session, posyandu_id: int, year: int, month: int, *, je: bool, schedule: Schedule) -> MonthReport:
    """The coverage report of one posyandu for a month (``/laporan``), with its reminders."""
    start, end = month_bounds(year, month)
    loaded = await load(session, [posyandu_id], end)
    return compute(year, month, **month_inputs(loaded, loaded.people, end),
                   reminders=await reminder_counts(session, posyandu_id, start, end), je=je, schedule=schedule)


async def month_reports(session, posyandu_ids: Iterable[int], months: Iterable[tuple[int, int]], *, je: bool,
                        schedule: Schedule) -> tuple[Loaded, dict[tuple[int, int, int], MonthReport]]:
    """The report of each posyandu for each month, (posyandu id, year, month) -> report, read at once;
    the reminders are left out (zeros: the PWS does not show them). The people read come along (for
    the lists of who stands behind a number)."""
    ids, months = list(posyandu_ids), sorted(set(months))
    if not months:
        return Loaded([], {}), {}
    loaded = await load(session, ids, month_bounds(*months[-1])[1])
    by_posyandu: dict[int, list[PersonRow]] = defaultdict(list)
    for p in loaded.people:
        by_posyandu[p.posyandu_id].append(p)
    reports = {}
    for year, month in months:
        end = month_bounds(year, month)[1]
        for pid in ids:
            reports[pid, year, month] = compute(year, month, **month_inputs(loaded, by_posyandu[pid], end), je=je, schedule=schedule)
    return loaded, reports
