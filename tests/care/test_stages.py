"""Stage boundaries and pregnancy dates of care/stages.py, on fixed dates."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from care.stages import (
    Stage,
    age_months,
    age_stage,
    age_years,
    child_stages,
    days_since_delivery,
    due_date_from_hpht,
    gestational_age,
    stages_on,
    trimester,
)

D = date


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


def test_age_stage_is_the_last_child_stage() -> None:
    """age_stage (read by the service rules on completed months) names the stage child_stages ends with."""
    births = [D(2024, 1, 31), D(2024, 2, 29), D(2023, 5, 30), D(2019, 12, 31), D(1964, 3, 1), D(2010, 8, 15)]
    for birth in births:
        on = birth
        while on < D(2026, 12, 31):
            assert age_stage(age_months(birth, on)) == child_stages(birth, on)[-1]
            on += timedelta(days=11 if on.year > birth.year + 7 else 1)
