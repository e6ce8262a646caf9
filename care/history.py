"""A person's care history: every dose and service done, however it was learnt, in one form.

Doses and services reach the record through registration (the Buku KIA history), a family's own
entry, a kader's guided visit, the one-line ``catat`` and register imports. All of them are a
:class:`Record`: a code (a dose code of ``care.labels.DOSE_LABELS`` or a service code of
``SERVICE_LABELS``, plus ``ANC``, an unnumbered pregnancy check-up), the date the rules use, and
how well that date is known:

* ``day``: the date given in the book or by the kader;
* ``month``: only the month is known ("Maret 2025"): the rules use the 15th of that month (or
  an earlier day when the month is the current one, or birth when it is the birth month);
* ``unknown``: done, the date not remembered ("sudah, tanggal tidak ingat"): a dose is taken as
  given at its recommended age (no later than the day it was reported); a service at the day
  reported unless the entry said more (see :func:`unknown_service_date`).

Doses with a ``month`` or ``unknown`` date count as given and are never judged invalid: the
interval checks of ``care.immunization`` are skipped for them (``approximate``), and they are shown
with their precision ("Mar 2025", "tanggal tidak diketahui").

Pure: no database, no clock; only ``care`` and ``content`` are imported.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from care.dates import add_months, month_days
from care.labels import DOSE_LABELS, RECORD_LABELS, SERVICE_LABELS
from care.rules import ImmunizationSchedule, Schedule
from care.rules_file import load_schedule

DAY = "day"
MONTH = "month"
UNKNOWN = "unknown"
PRECISIONS = (DAY, MONTH, UNKNOWN)

#: Record codes that are neither a dose nor a rule of services.yaml.
ANC = "ANC"  # a pregnancy check-up whose number is not known
TTD_HAMIL = "TTD_HAMIL"  # iron tablets given to a pregnant woman (detail: tablets)
EXTRA_CODES = frozenset(RECORD_LABELS)

#: Sources of a record.
SOURCES = ("family", "kader", "staff", "import")


#: Every code a record can have.
ALL_CODES = frozenset(DOSE_LABELS) | frozenset(SERVICE_LABELS) | EXTRA_CODES


def is_dose(code: str) -> bool:
    """Whether ``code`` names a routine child dose."""
    return code in DOSE_LABELS


def is_known(code: str) -> bool:
    """Whether ``code`` can be recorded at all."""
    return code in ALL_CODES


def label(code: str) -> str:
    """The message id naming a record code (translate it with ``_``)."""
    return DOSE_LABELS.get(code) or SERVICE_LABELS.get(code) or RECORD_LABELS.get(code) or code


def anc_code(contact: int | None) -> str:
    """The record code of a pregnancy check-up: ``ANC3`` for the third (capped at 6), ``ANC`` unnumbered."""
    if contact is None or contact < 1:
        return ANC
    return f"ANC{min(contact, 6)}"


@dataclass(frozen=True, slots=True)
class Record:
    """One dose or service done: its code, the date the rules use, and how well it is known."""

    code: str
    on: date
    precision: str = DAY
    source: str | None = None
    #: what else was recorded with it, e.g. {"tablets": 30} or {"result": "positive"}
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PersonHistory:
    """What the rules read of one person's record.

    ``given``: dose code -> date (the latest record wins: a repeat replaces an invalid dose);
    ``approximate``: the doses of ``given`` whose date is not exact; ``services``: service code ->
    dates, oldest first; ``records``: every record, oldest first (for display).
    """

    records: tuple[Record, ...] = ()
    given: Mapping[str, date] = field(default_factory=dict)
    approximate: frozenset[str] = frozenset()
    services: Mapping[str, list[date]] = field(default_factory=dict)

    def latest(self, code: str) -> Record | None:
        """The latest record of ``code``, or None."""
        found = None
        for record in self.records:
            if record.code == code and (found is None or record.on >= found.on):
                found = record
        return found


EMPTY = PersonHistory()


def build(records: Iterable[Record]) -> PersonHistory:
    """The history of one person from their records, in any order."""
    ordered = tuple(sorted(records, key=lambda r: (r.on, r.code)))
    if not ordered:
        return EMPTY
    given: dict[str, date] = {}
    approximate: set[str] = set()
    services: dict[str, list[date]] = {}
    for record in ordered:
        if record.code in DOSE_LABELS:
            given[record.code] = record.on
            if record.precision == DAY:
                approximate.discard(record.code)
            else:
                approximate.add(record.code)
        else:
            services.setdefault(record.code, []).append(record.on)
    return PersonHistory(ordered, given, frozenset(approximate), services)


def build_many(rows: Iterable[tuple]) -> dict[int, PersonHistory]:
    """Histories per person id from (person id, code, date, precision[, detail]) rows."""
    per: dict[int, list[Record]] = {}
    for row in rows:
        person_id, code, on, precision = row[:4]
        detail = row[4] if len(row) > 4 else None
        per.setdefault(person_id, []).append(Record(code, on, precision or DAY, None, detail))
    return {pid: build(recs) for pid, recs in per.items()}


# --------------------------------------------------------------------------- dates of approximate entries


def month_date(year: int, month: int, today: date, birth: date | None = None) -> date:
    """The date used for something done in ``month`` of ``year``: the 15th, never after ``today``
    nor before ``birth``. Raises ValueError for a month after today's or before the birth month."""
    first = date(year, month, 1)
    if first > today:
        raise ValueError("future")
    if birth is not None and date(year, month, month_days(year, month)) < birth:
        raise ValueError("before_birth")
    day = date(year, month, 15)
    if day > today:
        day = today
    if birth is not None and day < birth:
        day = birth
    return day


def _immunization(schedule: Schedule | ImmunizationSchedule | None) -> ImmunizationSchedule:
    if schedule is None:
        return load_schedule().immunization
    return schedule if isinstance(schedule, ImmunizationSchedule) else schedule.immunization


def unknown_dose_date(code: str, birth: date, today: date,
                      schedule: Schedule | ImmunizationSchedule | None = None) -> date:
    """The date used for a dose given on a day nobody remembers: its recommended age (not before its
    earliest valid age), never after ``today``; later doses of the series count from it."""
    rule = _immunization(schedule).by_code.get(code)
    if rule is None:
        raise ValueError(f"{code}: not a dose of the schedule")
    day = max(rule.recommended.after(birth), rule.earliest.after(birth))
    return min(day, today) if today >= birth else birth


def unknown_service_date(today: date, months_ago: int = 0) -> date:
    """The date used for a service done at a time nobody remembers exactly: ``months_ago`` months
    before ``today`` (0: the day it was reported, i.e. "at the latest today")."""
    return add_months(today, -months_ago) if months_ago else today

