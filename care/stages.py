"""Life-cycle stages of ILP posyandu (CARE.md section 1) and the date arithmetic they rest on.

Ages in months are *completed* calendar months: a child born on 31 January is one month old on
28 (or 29) February, the last day of the month standing in for a day the month does not have.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Stage(StrEnum):
    """Life-cycle stages; the value is the stable code stored and sent to the handlers."""

    PREGNANT = "ibu_hamil"
    POSTPARTUM = "ibu_nifas"
    NEWBORN = "bayi_baru_lahir"
    INFANT = "bayi"
    TODDLER = "balita"
    PRESCHOOL = "anak_prasekolah"
    SCHOOL = "anak_sekolah"
    ADOLESCENT = "remaja"
    ADULT = "dewasa"
    ELDERLY = "lansia"


#: Order in which stages are listed when a person is in several at once.
STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)

PREGNANCY_DAYS = 280  # HPL = HPHT + 280 days (Naegele)
NIFAS_DAYS = 42
NEWBORN_DAYS = 28
#: A pregnancy not closed by a recorded birth stops counting as one after this many weeks.
PREGNANCY_MAX_WEEKS = 45


def add_months(d: date, months: int) -> date:
    """``d`` moved by whole calendar months, clamped to the end of a shorter month."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last))


def age_months(birth: date, on: date) -> int:
    """Completed calendar months from ``birth`` to ``on`` (negative before birth)."""
    months = (on.year - birth.year) * 12 + (on.month - birth.month)
    if add_months(birth, months) > on:
        months -= 1
    return months


def age_years(birth: date, on: date) -> int:
    """Completed years from ``birth`` to ``on``."""
    return age_months(birth, on) // 12


def age_days(birth: date, on: date) -> int:
    """Days from ``birth`` to ``on``."""
    return (on - birth).days


def due_date_from_hpht(hpht: date) -> date:
    """HPL (estimated due date) from the first day of the last period."""
    return hpht + timedelta(days=PREGNANCY_DAYS)


def hpht_from_due_date(due: date) -> date:
    """HPHT from the estimated due date."""
    return due - timedelta(days=PREGNANCY_DAYS)


def gestational_age(hpht: date, on: date) -> tuple[int, int]:
    """Gestational age on ``on`` as (completed weeks, extra days)."""
    return divmod((on - hpht).days, 7)


def trimester(hpht: date, on: date) -> int:
    """Trimester on ``on``: 1 for weeks 0-12, 2 for 13-27, 3 from 28 (CARE.md section 3)."""
    weeks, _ = gestational_age(hpht, on)
    if weeks <= 12:
        return 1
    if weeks <= 27:
        return 2
    return 3


def is_pregnant(hpht: date | None, on: date, delivered_on: date | None = None) -> bool:
    """Whether a pregnancy dated by ``hpht`` is ongoing on ``on``."""
    if hpht is None or on < hpht:
        return False
    if delivered_on is not None and delivered_on >= hpht and delivered_on <= on:
        return False
    weeks, _ = gestational_age(hpht, on)
    return weeks < PREGNANCY_MAX_WEEKS


def days_since_delivery(delivered_on: date | None, on: date) -> int | None:
    """Days from delivery to ``on``, or None when there was no delivery (or it is ahead)."""
    if delivered_on is None or on < delivered_on:
        return None
    return (on - delivered_on).days


def child_stages(birth: date, on: date) -> list[Stage]:
    """The age-based stages of a person born on ``birth``."""
    if on < birth:
        return []
    days = (on - birth).days
    months = age_months(birth, on)
    stages: list[Stage] = []
    if days <= NEWBORN_DAYS:
        stages.append(Stage.NEWBORN)
    if months <= 11:
        stages.append(Stage.INFANT)
    elif months <= 59:
        stages.append(Stage.TODDLER)
    elif months <= 71:
        stages.append(Stage.PRESCHOOL)
    else:
        years = months // 12
        if years <= 9:
            stages.append(Stage.SCHOOL)
        elif years <= 18:
            stages.append(Stage.ADOLESCENT)
        elif years <= 59:
            stages.append(Stage.ADULT)
        else:
            stages.append(Stage.ELDERLY)
    return stages


def stages_on(
    on: date,
    *,
    birth: date | None = None,
    hpht: date | None = None,
    delivered_on: date | None = None,
) -> list[Stage]:
    """Every life-cycle stage a person is in on ``on`` (a pregnant adult is in two)."""
    stages: list[Stage] = []
    if is_pregnant(hpht, on, delivered_on):
        stages.append(Stage.PREGNANT)
    since = days_since_delivery(delivered_on, on)
    if since is not None and since <= NIFAS_DAYS:
        stages.append(Stage.POSTPARTUM)
    if birth is not None:
        stages.extend(child_stages(birth, on))
    return sorted(set(stages), key=STAGE_ORDER.index)


@dataclass(frozen=True)
class Age:
    """An age split for display: years, months and days."""

    years: int
    months: int
    days: int


def age_parts(birth: date, on: date) -> Age:
    """Age as years, months and days (months and days within the last year / month)."""
    months = age_months(birth, on)
    days = (on - add_months(birth, months)).days
    return Age(months // 12, months % 12, days)
