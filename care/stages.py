"""Life-cycle stages of ILP posyandu (CARE.md section 1) and the pregnancy dates they rest on.

Ages in months are completed calendar months, counted by :mod:`care.dates` (``add_months`` and
``age_months`` are imported here for the modules that read ages next to stages).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from care.dates import add_months, age_months

__all__ = [
    "NEWBORN_DAYS", "NIFAS_DAYS", "PREGNANCY_DAYS", "PREGNANCY_MAX_WEEKS", "STAGE_ORDER", "Age", "Stage",
    "add_months", "age_days", "age_months", "age_parts", "age_stage", "age_years", "child_stages",
    "days_since_delivery", "due_date_from_hpht", "gestational_age", "hpht_from_due_date", "is_pregnant",
    "stages_on", "trimester",
]


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


def age_stage(months: int) -> Stage:
    """The age stage for completed months, newborn aside."""
    if months <= 11:
        return Stage.INFANT
    if months <= 59:
        return Stage.TODDLER
    if months <= 71:
        return Stage.PRESCHOOL
    years = months // 12
    if years <= 9:
        return Stage.SCHOOL
    if years <= 18:
        return Stage.ADOLESCENT
    if years <= 59:
        return Stage.ADULT
    return Stage.ELDERLY


def child_stages(birth: date, on: date) -> list[Stage]:
    """The age-based stages of a person born on ``birth``."""
    if on < birth:
        return []
    days = (on - birth).days
    months = age_months(birth, on)
    stages: list[Stage] = []
    if days <= NEWBORN_DAYS:
        stages.append(Stage.NEWBORN)
    stages.append(age_stage(months))
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
