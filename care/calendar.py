"""Posyandu days from a recurring rule: ``{"monthly_day": 12}`` or ``{"nth": 2, "weekday": "tuesday"}``.

``nth`` is 1-4 for the first to fourth such weekday of the month, or -1 for the last one.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


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


def next_session(rule: Mapping, on: date) -> date:
    """The first posyandu day on or after ``on``."""
    return next(sessions_from(rule, on))
