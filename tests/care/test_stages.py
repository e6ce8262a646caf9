"""Stage boundaries and month arithmetic of care/stages.py, on fixed dates."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from care.stages import (
    Stage,
    add_months,
    age_months,
    age_years,
    days_since_delivery,
    due_date_from_hpht,
    gestational_age,
    stages_on,
    trimester,
)

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


def test_age_years_born_29_february() -> None:
    assert age_years(D(2024, 2, 29), D(2025, 2, 28)) == 1
    assert age_years(D(2024, 2, 29), D(2028, 2, 28)) == 3
    assert age_years(D(2024, 2, 29), D(2028, 2, 29)) == 4


@pytest.mark.parametrize(
    ("days_after", "postpartum"),
    [(0, True), (1, True), (42, True), (43, False), (100, False)],
)
def test_nifas_ends_after_day_42(days_after: int, postpartum: bool) -> None:
    delivered = D(2025, 3, 1)
    on = delivered + timedelta(days=days_after)
    assert (Stage.POSTPARTUM in stages_on(on, delivered_on=delivered)) is postpartum
    assert days_since_delivery(delivered, on) == days_after


def test_no_nifas_before_delivery() -> None:
    assert days_since_delivery(D(2025, 3, 1), D(2025, 2, 28)) is None
    assert stages_on(D(2025, 2, 28), delivered_on=D(2025, 3, 1)) == []


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        (D(2025, 1, 1), D(2025, 1, 29), [Stage.NEWBORN, Stage.INFANT]),  # day 28
        (D(2025, 1, 1), D(2025, 1, 30), [Stage.INFANT]),  # day 29
        (D(2024, 1, 31), D(2024, 12, 30), [Stage.INFANT]),  # 10 months
        (D(2024, 1, 31), D(2024, 12, 31), [Stage.INFANT]),  # 11 months
        (D(2024, 1, 31), D(2025, 1, 31), [Stage.TODDLER]),  # 12 months
        (D(2020, 1, 31), D(2025, 1, 30), [Stage.TODDLER]),  # 59 months
        (D(2020, 1, 31), D(2025, 1, 31), [Stage.PRESCHOOL]),  # 60 months
        (D(2020, 2, 29), D(2025, 2, 27), [Stage.TODDLER]),  # 59 months
        (D(2020, 2, 29), D(2025, 2, 28), [Stage.PRESCHOOL]),  # 60 months on 28 Feb
        (D(2019, 6, 10), D(2025, 6, 9), [Stage.PRESCHOOL]),  # 71 months
        (D(2019, 6, 10), D(2025, 6, 10), [Stage.SCHOOL]),  # 6 years
        (D(2015, 6, 10), D(2025, 6, 10), [Stage.ADOLESCENT]),  # 10 years
        (D(2006, 6, 10), D(2025, 6, 9), [Stage.ADOLESCENT]),  # 18 years
        (D(2006, 6, 10), D(2025, 6, 10), [Stage.ADULT]),  # 19 years
        (D(1965, 6, 10), D(2025, 6, 9), [Stage.ADULT]),  # 59 years
        (D(1965, 6, 10), D(2025, 6, 10), [Stage.ELDERLY]),  # 60 years
    ],
)
def test_age_stage_boundaries(birth: date, on: date, expected: list[Stage]) -> None:
    assert stages_on(on, birth=birth) == expected


@pytest.mark.parametrize(
    ("weeks", "days", "pregnant", "tri"),
    [
        (12, 6, True, 1),
        (13, 0, True, 2),
        (27, 6, True, 2),
        (28, 0, True, 3),
        (40, 0, True, 3),
        (41, 3, True, 3),  # past the due date, not yet delivered
        (44, 6, True, 3),
        (45, 0, False, 3),  # an unclosed pregnancy stops counting
    ],
)
def test_pregnancy_weeks_and_trimesters(weeks: int, days: int, pregnant: bool, tri: int) -> None:
    hpht = D(2024, 6, 3)
    on = hpht + timedelta(weeks=weeks, days=days)
    assert gestational_age(hpht, on) == (weeks, days)
    assert trimester(hpht, on) == tri
    assert (Stage.PREGNANT in stages_on(on, hpht=hpht)) is pregnant


def test_due_date_and_delivery_close_the_pregnancy() -> None:
    hpht = D(2024, 6, 3)
    assert due_date_from_hpht(hpht) == D(2025, 3, 10)
    on = D(2025, 3, 20)  # 41 weeks 3 days
    assert stages_on(on, birth=D(1995, 4, 1), hpht=hpht) == [Stage.PREGNANT, Stage.ADULT]
    assert stages_on(on, birth=D(1995, 4, 1), hpht=hpht, delivered_on=D(2025, 3, 15)) == [
        Stage.POSTPARTUM,
        Stage.ADULT,
    ]
    # a delivery recorded for a later date does not end the pregnancy earlier
    assert Stage.PREGNANT in stages_on(D(2025, 3, 1), hpht=hpht, delivered_on=D(2025, 3, 15))


def test_fast_month_helpers_agree_with_stages() -> None:
    """care.schedule's hot-path month arithmetic and care.services.age_stage follow care.stages."""
    from care.schedule import completed_months, months_after
    from care.services import age_stage
    from care.stages import child_stages

    births = [D(2024, 1, 31), D(2024, 2, 29), D(2023, 5, 30), D(2019, 12, 31), D(1964, 3, 1), D(2010, 8, 15)]
    for birth in births:
        for months in range(-3, 800, 7):
            assert months_after(birth, months) == add_months(birth, months)
        on = birth
        while on < D(2026, 12, 31):
            assert completed_months(birth, on) == age_months(birth, on)
            if on >= birth:
                assert age_stage(age_months(birth, on)) == child_stages(birth, on)[-1]
            on += timedelta(days=11 if on.year > birth.year + 7 else 1)
