"""The numbers of the PWS overview (``/``, drawn by ``web.pws_page``): coverage against the district's
target per posyandu and village, for a month and for the year to date, and the people behind each number.

One computation: the reports are ``db.coverage.month_reports`` (the chat's ``/laporan`` calls the same
``care.coverage.month_report`` through ``db.coverage.month_report``), and a cell's numbers are the row of
``care.coverage.report_table`` with that code (count of total), so the web and the chat agree. The list
behind a number is the report's own ``members`` (who was counted), not a second query.

Sums: a village or the puskesmas adds the counts and totals of its posyandu (their people are disjoint).
The year to date adds the counts and totals of the months from January to the chosen one: for IDL (the
cohort whose first birthday falls in each month) this is the year's cohort; for the other indicators it
is the average of the months weighted by their totals, and its list is one line per month and person.

Every function takes the staff member's ``puskesmas_id`` and reads nothing of another puskesmas.
"""
from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from care.coverage import MEMBER_CODES, MonthReport, dose_codes, percent, report_table
from db import coverage
from db.models import Family, Identity, Posyandu, Puskesmas
from db.queries import posyandu_of


@dataclass(frozen=True)
class PosyanduRow:
    """One posyandu of the puskesmas and its counts."""

    id: int
    name: str
    village_name: str
    families: int  # registered families
    kaders: int


@dataclass(frozen=True)
class Overview:
    """The puskesmas and its posyandu, by name."""

    puskesmas_name: str
    posyandu: tuple[PosyanduRow, ...]

    @property
    def families(self) -> int:
        return sum(row.families for row in self.posyandu)


async def _counts(session, posyandu_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """(registered families, kaders) per posyandu, one grouped query each."""
    if not posyandu_ids:
        return {}, {}
    families = dict((await session.execute(
        select(Family.posyandu_id, func.count()).where(Family.posyandu_id.in_(posyandu_ids), Family.registered_at.is_not(None))
        .group_by(Family.posyandu_id))).all())
    kaders = dict((await session.execute(
        select(Identity.posyandu_id, func.count()).where(Identity.posyandu_id.in_(posyandu_ids), Identity.role == "kader")
        .group_by(Identity.posyandu_id))).all())
    return families, kaders


async def overview(session, puskesmas_id: int) -> Overview:
    """The puskesmas's name and its posyandu with their counts."""
    puskesmas = await session.get(Puskesmas, puskesmas_id)
    places = await posyandu_of(session, puskesmas_id)
    families, kaders = await _counts(session, [p.id for p in places])
    return Overview(puskesmas.name, tuple(
        PosyanduRow(p.id, p.name, p.village_name, families.get(p.id, 0), kaders.get(p.id, 0)) for p in places))


async def own_posyandu(session, puskesmas_id: int, posyandu_id: int) -> PosyanduRow | None:
    """One posyandu of the puskesmas with its counts; None when it is not one of the puskesmas's."""
    place = await session.get(Posyandu, posyandu_id)
    if place is None or place.puskesmas_id != puskesmas_id:
        return None
    families, kaders = await _counts(session, [place.id])
    return PosyanduRow(place.id, place.name, place.village_name, families.get(place.id, 0), kaders.get(place.id, 0))


# --------------------------------------------------------------------------- the PWS

#: the indicators of the summary table, in this order (the doses have a table of their own)
SUMMARY = ("IDL", "D/S", "N/D", "K1", "K4", "K6", "KN1", "KN_COMPLETE", "VITA_BIRU", "VITA_MERAH", "STUNTED", "WASTED")
assert set(SUMMARY) == set(MEMBER_CODES)
#: indicators whose target is a ceiling (less is better)
CEILINGS = frozenset({"STUNTED", "WASTED"})
#: percentage points from the target within which a cell is "near" rather than "behind"
NEAR_POINTS = 10.0
GOOD, NEAR, BEHIND = "good", "near", "behind"


def target_of(targets: Mapping[str, float], code: str) -> float | None:
    """The district's target of an indicator (a dose without its own takes ``doses``)."""
    if code in targets:
        return float(targets[code])
    return float(targets["doses"]) if "doses" in targets and code not in SUMMARY else None


def light(code: str, value: float | None, target: float | None) -> str | None:
    """``good`` (target reached), ``near`` (within :data:`NEAR_POINTS`), ``behind``; None without a value
    or a target. For a ceiling (stunting, wasting) reaching means staying at or below it."""
    if value is None or target is None:
        return None
    gap = (value - target) if code in CEILINGS else (target - value)
    return GOOD if gap <= 0 else NEAR if gap <= NEAR_POINTS else BEHIND


@dataclass(frozen=True)
class Cell:
    """One number of the PWS: ``count`` of ``total`` (its percentage) and its light against the target."""

    count: int
    total: int
    percent: float | None
    light: str | None


@dataclass(frozen=True)
class Line:
    """A row of the PWS tables: the puskesmas, a village (its posyandu summed) or a posyandu."""

    kind: str  # puskesmas | village | posyandu
    name: str
    posyandu_id: int | None
    month: Mapping[str, Cell]
    year: Mapping[str, Cell]  # the year to date


@dataclass(frozen=True)
class Pws:
    """The PWS of a puskesmas for a month."""

    puskesmas_name: str
    first: date  # the month's first day
    families: int
    summary: tuple[str, ...]
    doses: tuple[str, ...]
    lines: tuple[Line, ...]
    #: per indicator, the puskesmas's cell of each month from January to the chosen one
    trend: Mapping[str, tuple[tuple[date, Cell], ...]]
    targets: Mapping[str, float | None]


def _numbers(report: MonthReport, codes: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """(count, total) of each code: the rows of ``report_table`` (the numbers /laporan shows)."""
    rows = {row.code: row for row in report_table(report)}
    return {code: (rows[code].count, rows[code].total or 0) for code in codes}


def _cells(sums: Mapping[str, tuple[int, int]], targets: Mapping[str, float | None]) -> dict[str, Cell]:
    cells = {}
    for code, (count, total) in sums.items():
        value = percent(count, total)
        cells[code] = Cell(count, total, value, light(code, value, targets[code]))
    return cells


def _add(parts) -> dict[str, tuple[int, int]]:
    total: dict[str, tuple[int, int]] = {}
    for part in parts:
        for code, (c, t) in part.items():
            old = total.get(code, (0, 0))
            total[code] = (old[0] + c, old[1] + t)
    return total


def year_months(first: date) -> list[tuple[int, int]]:
    """(year, month) from January to the month of ``first``."""
    return [(first.year, m) for m in range(1, first.month + 1)]


async def pws(session, puskesmas_id: int, first: date, *, je: bool, schedule, targets: Mapping[str, float]) -> Pws:
    """The PWS of the puskesmas for the month of ``first`` and the year to date: one reading of its
    posyandu (``db.coverage.month_reports``), summed per village and for the puskesmas."""
    puskesmas = await session.get(Puskesmas, puskesmas_id)
    places = await posyandu_of(session, puskesmas_id)
    families, _kaders = await _counts(session, [p.id for p in places])
    months = year_months(first)
    _loaded, reports = await coverage.month_reports(session, [p.id for p in places], months, je=je, schedule=schedule,
                                                   pws_only=True)
    doses = dose_codes(je)
    codes = SUMMARY + doses
    wanted = {code: target_of(targets, code) for code in codes}
    numbers = {key: _numbers(report, codes) for key, report in reports.items()}
    this = (first.year, first.month)

    def line(kind: str, name: str, pid: int | None, ids: list[int]) -> Line:
        month = _add(numbers[(i, *this)] for i in ids)
        year = _add(numbers[(i, *m)] for i in ids for m in months)
        return Line(kind, name, pid, _cells(month, wanted), _cells(year, wanted))

    all_ids = [p.id for p in places]
    lines = [line("puskesmas", puskesmas.name, None, all_ids)]
    villages: dict[str, list] = {}
    for p in sorted(places, key=lambda p: (p.village_name, p.name)):
        villages.setdefault(p.village_name, []).append(p)
    for village, own in villages.items():
        if len(own) > 1:
            lines.append(line("village", village, None, [p.id for p in own]))
        lines += [line("posyandu", p.name, p.id, [p.id]) for p in own]
    trend = {code: tuple((date(y, m, 1), _cells(_add({code: numbers[(i, y, m)][code]} for i in all_ids), wanted)[code])
                         for y, m in months) for code in SUMMARY}
    return Pws(puskesmas.name, first, sum(families.values()), SUMMARY, doses, tuple(lines), trend, wanted)


@dataclass(frozen=True)
class Behind:
    """A person behind a number: counted (in the numerator) or only in the total."""

    month: date
    person: coverage.PersonRow
    posyandu_name: str
    counted: bool


def indicator_codes(je: bool) -> tuple[str, ...]:
    """Every indicator a list can be asked for."""
    return SUMMARY + dose_codes(je)


async def people_behind(session, puskesmas_id: int, code: str, posyandu_id: int | None, first: date, *, year: bool,
                        je: bool, schedule) -> list[Behind] | None:
    """The people behind a number of the PWS: everyone in the total of ``code`` for the month (each month
    of the year to date with ``year``), of one posyandu or (None) of the whole puskesmas, those counted
    first. None when the posyandu is not one of the puskesmas's."""
    places = {p.id: p for p in await posyandu_of(session, puskesmas_id)}
    if posyandu_id is not None and posyandu_id not in places:
        return None
    ids = [posyandu_id] if posyandu_id is not None else list(places)
    months = year_months(first) if year else [(first.year, first.month)]
    loaded, reports = await coverage.month_reports(session, ids, months, je=je, schedule=schedule, pws_only=True)
    people = {p.id: p for p in loaded.people}
    found = []
    for (pid, y, m), report in sorted(reports.items(), key=lambda item: (item[0][1], item[0][2])):
        who = report.members[code]
        counted = set(who.count)
        found += [Behind(date(y, m, 1), people[i], places[pid].name, i in counted) for i in who.total]
    found.sort(key=lambda b: (b.month, not b.counted, b.posyandu_name, b.person.name))
    return found


# --------------------------------------------------------------------------- the cache


@dataclass
class _Kept:
    version: tuple
    value: object
    computed: float  # time.monotonic()
    checked: float  # when the version was last read and found equal
    checking: bool = False  # a reader is reading the version now


class Cache:
    """PWS pages already computed, per key (puskesmas, month, ...) with the data version they were
    computed on (``db.coverage.data_version``): a page read again with no new data is served from
    memory. One computation per key at a time: readers of a page being computed wait for it rather
    than compute it again. The version is read at most every :attr:`fresh` seconds per key, and an entry
    is recomputed after :attr:`max_age` seconds whatever the version says (an edit the version does not
    see shows within that time). While one reader reads the version of a kept entry, the others are served
    the kept value rather than queueing behind it (it was current :attr:`fresh` seconds ago); once the
    version is found changed, readers wait for the new value. At most :attr:`size` entries, the least
    recently read dropped first."""

    def __init__(self, size: int = 64, fresh: float = 2.0, max_age: float = 600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.fresh, self.max_age, self.clock = size, fresh, max_age, clock
        self._kept: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._locks: dict[Hashable, asyncio.Lock] = {}

    async def get(self, key: Hashable, version: Callable[[], Awaitable[tuple]], compute: Callable[[], Awaitable[object]]):
        kept, now = self._kept.get(key), self.clock()
        if kept is not None and now - kept.computed < self.max_age and (now - kept.checked < self.fresh or kept.checking):
            self._kept.move_to_end(key)  # checked a moment ago, or being checked: no need to queue behind that reader
            return kept.value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            kept, now = self._kept.get(key), self.clock()
            if kept is not None and now - kept.computed < self.max_age:
                if now - kept.checked < self.fresh:
                    self._kept.move_to_end(key)
                    return kept.value
                kept.checking = True
                try:
                    current = await version()
                finally:
                    kept.checking = False
                if current == kept.version:
                    kept.checked = self.clock()
                    self._kept.move_to_end(key)
                    return kept.value
            else:
                current = await version()
            value = await compute()
            now = self.clock()
            self._kept[key] = _Kept(current, value, now, now)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                old, _kept = self._kept.popitem(last=False)
                self._locks.pop(old, None)
            return value
