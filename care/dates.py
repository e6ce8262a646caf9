"""Month arithmetic, the one implementation every care rule and view counts calendar months with.

Ages in months are *completed* calendar months: a child born on 31 January is one month old on
28 (or 29) February, the last day of the month standing in for a day the month does not have.
Both functions run on the hot path of every rule, so they build no intermediate dates.
"""
from __future__ import annotations

from datetime import date

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def month_days(year: int, month: int) -> int:
    """Number of days in ``month`` of ``year``."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(d: date, months: int) -> date:
    """``d`` moved by whole calendar months (either way), clamped to the end of a shorter month."""
    index = d.month - 1 + months
    year = d.year + index // 12
    month = index % 12 + 1
    day = d.day
    if day > 28:
        last = month_days(year, month)
        if day > last:
            day = last
    return date(year, month, day)


def age_months(birth: date, on: date) -> int:
    """Completed calendar months from ``birth`` to ``on`` (negative before birth)."""
    months = (on.year - birth.year) * 12 + on.month - birth.month
    if birth.day > on.day and on.day < month_days(on.year, on.month):
        months -= 1
    return months
