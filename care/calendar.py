"""Posyandu days from a recurring rule: ``{"monthly_day": 12}`` or ``{"nth": 2, "weekday": "tuesday"}``.

``nth`` is 1-4 for the first to fourth such weekday of the month, or -1 for the last one.

On top of the rule: national holidays (``content/holidays.yaml``), the posyandu's holiday policy
("before" / "after": move to the nearest earlier / later working day, "flag": keep the day and flag it;
a working day is Monday to Saturday and not a holiday), and explicit changes recorded by staff (a session
moved, cancelled, or an extra one), which win over the holiday policy for the same regular day.
Pure: no clock, no database; the YAML is read once.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HOLIDAYS_FILE = Path(__file__).resolve().parent.parent / "content" / "holidays.yaml"
POLICIES = ("before", "after", "flag")
CHANGE_KINDS = ("moved", "cancelled", "extra")
HOLIDAY_KINDS = ("libur_nasional", "cuti_bersama")
#: how far ahead next_posyandu_day looks
HORIZON_DAYS = 400
#: a holiday move never walks further than this (a guard against a holiday table with no working day)
MAX_SHIFT_DAYS = 60


@dataclass(frozen=True)
class CalendarChange:
    """A staff change to the regular days; mirrors the posyandu_exception row."""

    kind: str  # "moved" | "cancelled" | "extra"
    original: date | None  # the regular (or extra) session it changes; None for "extra"
    new: date | None  # where a moved session goes / the extra session's day; None for "cancelled"
    reason: str | None = None


@dataclass(frozen=True)
class Session:
    """One posyandu day and why it falls where it does."""

    day: date
    status: str  # "regular" | "moved" | "extra" | "holiday_moved" | "holiday_flagged"
    original: date | None = None  # the regular day a moved session replaces
    reason: str | None = None  # the change's reason, or the holiday's name


@dataclass(frozen=True)
class Holiday:
    """One entry of content/holidays.yaml."""

    day: date
    name: str
    kind: str  # "libur_nasional" | "cuti_bersama"
    source: str  # the full citation
    check: bool = False  # True: an estimate or unconfirmed date, to be verified


# -- the recurring rule (used by handlers; keep signatures and behaviour) ---------------------------------


def session_in_month(rule: Mapping, year: int, month: int) -> date:
    """The posyandu day of ``rule`` in one month."""
    if "monthly_day" in rule:
        last = calendar.monthrange(year, month)[1]
        return date(year, month, min(int(rule["monthly_day"]), last))
    weekday = WEEKDAYS.index(rule["weekday"])
    nth = int(rule["nth"])
    if nth == -1:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def sessions_from(rule: Mapping, on: date) -> Iterator[date]:
    """Posyandu days on or after ``on``, in order, without end."""
    year, month = on.year, on.month
    while True:
        day = session_in_month(rule, year, month)
        if day >= on:
            yield day
        month += 1
        if month == 13:
            year, month = year + 1, 1


def next_session(rule: Mapping, on: date) -> date | None:
    """The first posyandu day on or after ``on`` (None for a posyandu without a readable rule)."""
    if not rule or ("monthly_day" not in rule and not {"nth", "weekday"} <= set(rule)):
        return None
    return next(sessions_from(rule, on))


# -- national holidays ----------------------------------------------------------------------------------------


def _as_date(value: Any, where: str) -> date:
    """A YAML date (parsed by PyYAML or written as a string) as a date."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{HOLIDAYS_FILE.name}: {where}: not a date: {value!r}") from None


def _parse_entry(raw: Any, year: int, kind: str, sources: Mapping[str, str], where: str) -> Holiday:
    """One checked holiday entry."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{HOLIDAYS_FILE.name}: {where}: expected a mapping, got {raw!r}")
    day = _as_date(raw.get("date"), where)
    if day.year != year:
        raise ValueError(f"{HOLIDAYS_FILE.name}: {where}: {day} is not in {year}")
    name = str(raw.get("name") or "").strip()
    if not name:
        raise ValueError(f"{HOLIDAYS_FILE.name}: {where}: missing name")
    source = raw.get("source")
    if source not in sources:
        raise ValueError(f"{HOLIDAYS_FILE.name}: {where}: unknown source {source!r}")
    return Holiday(day, name, kind, str(sources[source]).strip(), bool(raw.get("check", False)))


def _parse_holidays(data: Mapping[str, Any]) -> tuple[Holiday, ...]:
    """Every entry of the holidays data, checked: known kinds and sources, dates in their year, no duplicate."""
    sources = data.get("sources") or {}
    entries: list[Holiday] = []
    for year, lists in (data.get("years") or {}).items():
        for kind, items in (lists or {}).items():
            if kind not in HOLIDAY_KINDS:
                raise ValueError(f"{HOLIDAYS_FILE.name}: years.{year}: unknown list {kind!r}")
            for i, raw in enumerate(items or ()):
                entries.append(_parse_entry(raw, int(year), kind, sources, f"years.{year}.{kind}[{i}]"))
    seen: set[date] = set()
    for entry in entries:
        if entry.day in seen:
            raise ValueError(f"{HOLIDAYS_FILE.name}: {entry.day} is listed twice")
        seen.add(entry.day)
    return tuple(sorted(entries, key=lambda h: h.day))


@lru_cache(maxsize=1)
def holiday_list() -> tuple[Holiday, ...]:
    """All holidays and cuti bersama of content/holidays.yaml, by date (read once)."""
    with HOLIDAYS_FILE.open(encoding="utf-8") as fh:
        return _parse_holidays(yaml.safe_load(fh) or {})


def holidays(years: Iterable[int] | None = None, *, include_cuti_bersama: bool = False) -> dict[date, str]:
    """National holidays (optionally with cuti bersama) of ``years`` (all years when None): date -> name."""
    wanted = None if years is None else set(years)
    return {
        h.day: h.name
        for h in holiday_list()
        if (wanted is None or h.day.year in wanted) and (include_cuti_bersama or h.kind == "libur_nasional")
    }


@lru_cache(maxsize=1)
def _default_holidays() -> Mapping[date, str]:
    """The days a session avoids when none are given: national holidays and cuti bersama, every year."""
    return MappingProxyType(holidays(include_cuti_bersama=True))


# -- sessions with holidays and changes -----------------------------------------------------------------------


def _check_policy(policy: str) -> None:
    """Raise ValueError for an unknown holiday policy."""
    if policy not in POLICIES:
        raise ValueError(f"unknown holiday policy {policy!r} (expected one of {', '.join(POLICIES)})")


def _check_change(change: CalendarChange) -> None:
    """Raise ValueError for an unknown kind or a change missing the dates its kind needs."""
    if change.kind not in CHANGE_KINDS:
        raise ValueError(f"unknown calendar change kind {change.kind!r} (expected one of {', '.join(CHANGE_KINDS)})")
    if change.kind in ("moved", "cancelled") and change.original is None:
        raise ValueError(f"a {change.kind!r} change needs the original date")
    if change.kind in ("moved", "extra") and change.new is None:
        raise ValueError(f"a {change.kind!r} change needs the new date")


def is_working_day(day: date, holiday_days: Mapping[date, str]) -> bool:
    """Monday to Saturday and not a holiday (posyandu often run on Saturday, not on Sunday)."""
    return day.weekday() != 6 and day not in holiday_days


def _shift(day: date, step: int, holiday_days: Mapping[date, str]) -> date:
    """The nearest working day from ``day`` in the direction of ``step`` (+1 or -1), ``day`` excluded."""
    for n in range(1, MAX_SHIFT_DAYS + 1):
        candidate = day + timedelta(days=step * n)
        if is_working_day(candidate, holiday_days):
            return candidate
    raise ValueError(f"no working day within {MAX_SHIFT_DAYS} days of {day}")


def _apply_holiday(day: date, holiday_days: Mapping[date, str], policy: str) -> Session:
    """The session of a regular day under the holiday policy."""
    name = holiday_days.get(day)
    if name is None:
        return Session(day, "regular")
    if policy == "flag":
        return Session(day, "holiday_flagged", reason=name)
    return Session(_shift(day, 1 if policy == "after" else -1, holiday_days), "holiday_moved", day, name)


def _months(first: date, last: date) -> Iterator[tuple[int, int]]:
    """(year, month) from the month of ``first`` to the month of ``last``, both included."""
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _month_before(day: date) -> date:
    """The first day of the month before ``day``'s month."""
    return date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, day.month - 1, 1)


def _month_after(day: date) -> date:
    """The first day of the month after ``day``'s month."""
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _origin_of(by_origin: Mapping[date, Session], day: date) -> date | None:
    """The key of the session a change names: its regular day, or else the day it now falls on."""
    if day in by_origin:
        return day
    return next((origin for origin, session in by_origin.items() if session.day == day), None)


def _apply_changes(by_origin: dict[date, Session], changes: Iterable[CalendarChange]) -> list[Session]:
    """Apply explicit changes in order to sessions keyed by their regular day; extras come last."""
    extras: dict[date, Session] = {}
    for change in changes:
        if change.kind == "extra":
            extras[change.new] = Session(change.new, "extra", reason=change.reason)
            continue
        origin = _origin_of(by_origin, change.original)
        if origin is not None:
            del by_origin[origin]
        extras.pop(change.original, None)
        if change.kind == "moved":
            by_origin[change.original if origin is None else origin] = Session(
                change.new, "moved", change.original, change.reason
            )
    return list(by_origin.values()) + list(extras.values())


def sessions_between(
    rule: Mapping,
    start: date,
    end: date,
    *,
    changes: Iterable[CalendarChange] = (),
    holidays: Mapping[date, str] | None = None,
    policy: str = "after",
) -> list[Session]:
    """Every posyandu session with start <= day <= end, sorted by day.

    ``holidays`` defaults to the national holidays and cuti bersama of content/holidays.yaml. A "moved"
    change replaces the session of its original day by one on ``new`` (the original may be the regular
    day, also one the holiday rule moved, the day such a session was moved to, or an extra session; a
    move of a day that is no session still yields the session on ``new``); "cancelled" removes it;
    "extra" adds ``new``. Changes apply in the given order and are not moved for holidays. Two sessions
    on one day are reported once (the first in regular/moved, then extra order).
    """
    _check_policy(policy)
    changes = tuple(changes)
    for change in changes:
        _check_change(change)
    if start > end:
        return []
    holiday_days = _default_holidays() if holidays is None else holidays
    by_origin: dict[date, Session] = {}
    for year, month in _months(_month_before(start), _month_after(end)):
        day = session_in_month(rule, year, month)
        by_origin[day] = _apply_holiday(day, holiday_days, policy)
    result: dict[date, Session] = {}
    for session in _apply_changes(by_origin, changes):
        if start <= session.day <= end:
            result.setdefault(session.day, session)
    return [result[day] for day in sorted(result)]


def next_posyandu_day(
    rule: Mapping,
    on: date,
    *,
    changes: Iterable[CalendarChange] = (),
    holidays: Mapping[date, str] | None = None,
    policy: str = "after",
) -> Session | None:
    """The first session on or after ``on`` within the next HORIZON_DAYS days, or None."""
    found = sessions_between(
        rule, on, on + timedelta(days=HORIZON_DAYS), changes=changes, holidays=holidays, policy=policy
    )
    return found[0] if found else None


def posyandu_days_in_month(
    rule: Mapping,
    year: int,
    month: int,
    *,
    changes: Iterable[CalendarChange] = (),
    holidays: Mapping[date, str] | None = None,
    policy: str = "after",
) -> list[Session]:
    """The sessions of one month, with holidays and changes applied."""
    last = date(year, month, calendar.monthrange(year, month)[1])
    return sessions_between(rule, date(year, month, 1), last, changes=changes, holidays=holidays, policy=policy)
