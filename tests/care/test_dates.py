"""Month arithmetic of care/dates.py: fixed dates, and agreement with the calendar module."""
from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest

from care.dates import add_months, age_months, month_days

D = date


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap February
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(2024, 1, 31), 2, D(2024, 3, 31)),
        (D(2024, 1, 31), 3, D(2024, 4, 30)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 2, 29), 48, D(2028, 2, 29)),
        (D(2024, 3, 31), -1, D(2024, 2, 29)),
        (D(2024, 12, 15), 1, D(2025, 1, 15)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("birth", "on", "months"),
    [
        (D(2024, 1, 31), D(2024, 2, 28), 0),
        (D(2024, 1, 31), D(2024, 2, 29), 1),  # one month on the last day of a short month
        (D(2023, 1, 31), D(2023, 2, 27), 0),
        (D(2023, 1, 31), D(2023, 2, 28), 1),
        (D(2023, 1, 31), D(2023, 3, 30), 1),
        (D(2023, 1, 31), D(2023, 3, 31), 2),
        (D(2024, 2, 29), D(2024, 3, 28), 0),
        (D(2024, 2, 29), D(2024, 3, 29), 1),
        (D(2024, 2, 29), D(2025, 2, 27), 11),
        (D(2024, 2, 29), D(2025, 2, 28), 12),
        (D(2024, 2, 29), D(2028, 2, 28), 47),
        (D(2024, 2, 29), D(2028, 2, 29), 48),
        (D(2024, 5, 10), D(2024, 5, 9), -1),
    ],
)
def test_age_months_for_month_end_births(birth: date, on: date, months: int) -> None:
    assert age_months(birth, on) == months


def test_month_days_follows_the_calendar() -> None:
    for year in (1900, 2000, 2023, 2024, 2100):
        for month in range(1, 13):
            assert month_days(year, month) == calendar.monthrange(year, month)[1]


def _reference_add_months(d: date, months: int) -> date:
    """add_months written plainly with the calendar module."""
    year, month = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def test_month_arithmetic_agrees_with_the_calendar() -> None:
    """add_months and age_months (built for speed, without the calendar module) agree with the plain reading."""
    births = [D(2024, 1, 31), D(2024, 2, 29), D(2023, 5, 30), D(2019, 12, 31), D(1964, 3, 1), D(2010, 8, 15)]
    for birth in births:
        for months in range(-30, 800, 7):
            assert add_months(birth, months) == _reference_add_months(birth, months)
        on = birth - timedelta(days=100)
        while on < D(2026, 12, 31):
            months = (on.year - birth.year) * 12 + on.month - birth.month
            expected = months - 1 if _reference_add_months(birth, months) > on else months
            assert age_months(birth, on) == expected
            on += timedelta(days=11 if on.year > birth.year + 7 else 1)
