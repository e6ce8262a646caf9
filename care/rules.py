"""The rule types the care schedules compile to: frozen, indexed once, read on every evaluation.

:mod:`care.rules_file` builds them from content/care/*.yaml (and a district's overrides);
:mod:`care.immunization` and :mod:`care.services` evaluate them. Ages and intervals are
:class:`Duration` values (calendar months plus days) so that month arithmetic is
:func:`care.dates.add_months`. Window ends are kept exclusive.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from care.dates import add_months
from care.stages import Stage, age_stage

#: Service kinds counted from the person's age (the others: anc, event).
AGE_KINDS = frozenset({"rounds", "period", "interval", "ages"})


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of calendar months plus days (weeks and years are stored as days and months)."""

    months: int = 0
    days: int = 0
    delta: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Keep the day part as a timedelta, built once."""
        object.__setattr__(self, "delta", timedelta(days=self.days))

    def after(self, d: date) -> date:
        """The date this long after ``d`` (months first, clamped to the end of a short month)."""
        if self.months:
            d = add_months(d, self.months)
        return d + self.delta if self.days else d

    @property
    def approx_days(self) -> float:
        """Approximate length in days, for ordering checks only."""
        return self.months * 30.4375 + self.days


ZERO = Duration()


@dataclass(frozen=True, slots=True)
class Source:
    """A source a rule rests on; ``check`` marks a secondary one."""

    key: str
    title: str
    check: bool


@dataclass(frozen=True, eq=False, slots=True)
class DoseRule:
    """One routine dose: its windows as ages (ends exclusive) and its place in the series."""

    code: str
    series: str
    index: int
    after: str | None
    recommended: Duration
    on_time_end: Duration
    catch_up_end: Duration | None
    earliest: Duration
    min_interval: Duration | None
    not_from: Duration | None
    repeat_after: Duration
    switch: str | None
    sources: tuple[str, ...]
    checked: frozenset[str]


@dataclass(frozen=True, eq=False, slots=True)
class CatchUpPath:
    """A catch-up path chosen by the age at the first dose; ``doses`` maps code to rule or None (skip)."""

    name: str
    first_from: Duration
    first_end: Duration | None
    doses: Mapping[str, DoseRule | None]


@dataclass(frozen=True, eq=False, slots=True)
class SeriesPaths:
    """The catch-up paths of a series, keyed on its first dose."""

    series: str
    first_dose: str
    paths: tuple[CatchUpPath, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BiasDose:
    """A school-programme (BIAS) dose by grade and month."""

    code: str
    vaccine: str
    grade: int
    month: int
    sex: str | None
    until_year: int | None
    checked: frozenset[str]


@dataclass(frozen=True, slots=True)
class HpvCatchUp:
    """The HPV catch-up by age of the single-dose schedule."""

    code: str
    sex: str
    age_years: int
    from_year: int
    checked: frozenset[str]


@dataclass(frozen=True, slots=True)
class TdDose:
    """One step of the Td status of women: interval after the previous step and protection."""

    code: str
    min_interval: Duration
    protection_years: int


@dataclass(frozen=True, eq=False)
class ImmunizationSchedule:
    """The routine schedule, its catch-up paths, BIAS and Td status, compiled from YAML."""

    doses: tuple[DoseRule, ...]
    by_code: Mapping[str, DoseRule]
    switches: Mapping[str, bool]
    paths: Mapping[str, SeriesPaths]
    bias: tuple[BiasDose, ...]
    hpv_catch_up: HpvCatchUp | None
    td: tuple[TdDose, ...]
    sources: Mapping[str, Source]
    all_rules: tuple[DoseRule, ...]
    plan_je: tuple[DoseRule, ...] = field(init=False, repr=False)
    plan_no_je: tuple[DoseRule, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Precompute the dose lists with JE switched on and off."""
        object.__setattr__(self, "plan_je", self._plan(True))
        object.__setattr__(self, "plan_no_je", self._plan(False))

    def _plan(self, je: bool) -> tuple[DoseRule, ...]:
        """The doses whose regional switch is on (JE forced on when ``je``)."""
        on = {k for k, v in self.switches.items() if v} | ({"je"} if je else set())
        return tuple(r for r in self.doses if r.switch is None or r.switch in on)

    def plan(self, je: bool = False) -> tuple[DoseRule, ...]:
        """The doses of this schedule for a call with ``je``."""
        return self.plan_je if je else self.plan_no_je


@dataclass(frozen=True, eq=False, slots=True)
class ServiceRule:
    """One ILP service rule; which fields matter depends on ``kind`` (see services.yaml)."""

    code: str
    kind: str
    stages: tuple[Stage, ...]
    sex: str | None
    sources: tuple[str, ...]
    checked: frozenset[str]
    age_from: Duration = ZERO
    age_end: Duration | None = None
    min_months: int = 0
    end_months: int | None = None
    trimester: int = 0
    nth: int = 0
    doctor: bool = False
    ultrasound: bool = False
    event: str | None = None
    from_days: int = 0
    until_days: int = 0
    after: str | None = None
    gap_days: int = 0
    months: tuple[int, ...] = ()
    round_offsets: tuple[tuple[int, int], ...] = ()
    once: bool = False
    period: str | None = None
    every: Duration | None = None
    ages_months: tuple[int, ...] = ()
    last_window_months: int = 0


@dataclass(frozen=True, eq=False)
class ServiceSchedule:
    """The ILP services compiled from YAML, grouped by what they are counted from."""

    rules: tuple[ServiceRule, ...]
    by_code: Mapping[str, ServiceRule]
    trimesters: tuple[tuple[int, int], ...]
    sources: Mapping[str, Source]
    anc_rules: tuple[ServiceRule, ...] = field(init=False, repr=False)
    delivery_rules: tuple[ServiceRule, ...] = field(init=False, repr=False)
    birth_rules: tuple[ServiceRule, ...] = field(init=False, repr=False)
    age_rules: tuple[ServiceRule, ...] = field(init=False, repr=False)
    anc_pool: tuple[str, ...] = field(init=False, repr=False)
    #: history key ANC1..ANCn -> its contact number (the order of the anc rules)
    anc_number: Mapping[str, int] = field(init=False, repr=False)
    _candidates: dict[tuple[int, int, str], tuple[tuple[ServiceRule, Stage | None, bool], ...]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        """Group the rules once so that evaluation scans only the relevant ones."""
        put = object.__setattr__
        put(self, "anc_rules", tuple(r for r in self.rules if r.kind == "anc"))
        put(self, "delivery_rules", tuple(r for r in self.rules if r.event == "delivery"))
        put(self, "birth_rules", tuple(r for r in self.rules if r.event == "birth"))
        put(self, "age_rules", tuple(r for r in self.rules if r.kind in AGE_KINDS))
        put(self, "anc_pool", ("ANC",) + tuple(r.code for r in self.anc_rules))
        put(self, "anc_number", MappingProxyType({r.code: i for i, r in enumerate(self.anc_rules, start=1)}))

    def age_candidates(self, months_now: int, months_then: int,
                       sex: str) -> tuple[tuple[ServiceRule, Stage | None, bool], ...]:
        """(rule, stage, needs the end date) for the age rules meeting months [now, then] (memoised).

        ``stage`` is None when the person may change stage within the span; the end date of an
        interval rule is only needed when the next date could reach the end of its age range.
        """
        key = (months_now, months_then, sex)
        found = self._candidates.get(key)
        if found is None:
            found = tuple(
                (r, _fixed_stage(r, months_now, months_then), _needs_end(r, months_now))
                for r in self.age_rules
                if r.min_months <= months_then and (r.end_months is None or months_now < r.end_months)
                and (r.sex is None or r.sex == sex)
            )
            if len(self._candidates) > 100_000:
                self._candidates.clear()
            self._candidates[key] = found
        return found


def _fixed_stage(rule: ServiceRule, months_now: int, months_then: int) -> Stage | None:
    """The stage of entries of ``rule`` for ages months_now..months_then, if it cannot change."""
    if len(rule.stages) == 1:
        return rule.stages[0]
    stage = age_stage(months_now)
    if age_stage(months_then) != stage:
        return None
    return stage if stage in rule.stages else rule.stages[0]


def _needs_end(rule: ServiceRule, months_now: int) -> bool:
    """Whether evaluating ``rule`` at ``months_now`` needs the date its age range ends."""
    if rule.end_months is None:
        return False
    if rule.kind != "interval":
        return True
    span = rule.every.months + rule.every.days // 28 + 1
    return months_now + span >= rule.end_months


@dataclass(frozen=True, eq=False)
class Schedule:
    """Everything the care rules read: immunisation and services (plus the raw data for overrides)."""

    immunization: ImmunizationSchedule
    services: ServiceSchedule
    raw: Mapping[str, Any] = field(repr=False)
