"""Plausibility of what a kader types: values that cannot be true are refused (with the likely
mistake named), values that are only unusual are shown back for a confirmation, and doses that go
against the schedule are named before they are saved.

Pure: nothing is read or written; only ``care`` is imported. Each check returns a list of
:class:`Concern` (empty when everything is plausible), in a fixed order.

Refused at once (:func:`impossible_size`): a child's weight or length/height whose weight-for-age,
length/height-for-age, weight-for-length/height or BMI-for-age z-score lies beyond WHO's flag
limits (``care.growth.FLAG_LIMITS``: WAZ < -6 or > 5, HAZ beyond +-6, WHZ and BAZ beyond +-5). The
likely slip is named: the typed value divided by 10, times 10 or divided by 100 (a misplaced
decimal comma: ``82`` for ``8,2``, ``7,1`` for ``71``, ``820`` for ``8,2``), changing one of the
two values only, when that makes every flagged index plausible; of several such, the one with the
z-scores nearest 0.

Children (:func:`check_child`):

* ``implausible_<index>`` (wfa, lhfa, wflh, bfa, hcfa, acfa): ``care.growth.zscores`` flags the
  index, i.e. the z-score lies beyond WHO's implausible limits (``care.growth.FLAG_LIMITS``, as in
  WHO's anthro: |lhfa| > 6; wfa < -6 or > 5; |wflh|, |bfa|, |hcfa|, |acfa| > 5).
* ``weight_jump``: the change since the last earlier weighing cannot be a real change:

  - a gain above ``rate x days / 30.4375 + 0.2 kg``, rate 2.5 kg per month when the child was
    under 3 months old at the last weighing, else 1.5 kg per month;
  - a loss above ``1.0 kg x days / 30.4375 + 0.2 kg``;
  - a loss of more than 10 % of the last weight within less than 30 days;

  ``days`` is at least 7 (a weighing on the same day or a few days before counts as a week apart);
  0.2 kg allows for two readings of a 0.1-kg scale. Basis (check): WHO Child Growth Standards,
  growth velocity based on weight (2009): the 99th centile of the 1-month weight increment is
  about 2 kg in the first two months and well under 1.5 kg from 3 months on; a healthy child does
  not lose 1 kg a month, and a 10 % loss is severe dehydration. Catch-up growth during treatment
  of severe wasting (10-20 g/kg/day) can exceed the gain limit: that is shown and confirmed, not
  refused.
* ``length_shrink``: the length/height is more than 1.5 cm below an earlier one (length does not
  shrink; 1.5 cm covers the 0.7-cm lying/standing difference and the measuring error).

Adults (:func:`check_adult`), outside these ranges (bounds included as plausible; (check)):
systolic 60-260 and diastolic 30-160 mmHg and diastolic below systolic (``implausible_bp``),
blood sugar 20-800 mg/dL (``implausible_glucose``), waist 40-200 cm (``implausible_waist``),
MUAC 10-60 cm (``implausible_muac``), weight 20-250 kg (``implausible_weight``).

Doses (:func:`check_doses`), against ``care.rules`` (the standard rule of a dose, or the variant
of the catch-up path its series is on), for doses whose date is exact:

* ``dose_too_early``: given before the dose's earliest age (e.g. DPT-HB-Hib 1 before 6 weeks);
* ``dose_out_of_order``: the previous dose of the series is not recorded (PCV 2 without PCV 1);
* ``dose_too_soon``: sooner than the minimum interval after the previous dose (DPT 2 on the day of
  DPT 1); a previous dose with an approximate date is not judged (``care.history``);
* ``dose_too_old``: at or after the age from which the dose is no longer given (rotavirus from
  7 months, BCG from 12 months);
* ``dose_again``: the dose is already recorded on another date.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from .growth import DAYS_PER_MONTH, FLAG_LIMITS, INDEX_KEYS, age_in_days, zscores
from .rules import DoseRule, ImmunizationSchedule, Schedule
from .rules_file import load_schedule

YOUNG_INFANT_DAYS = 91  # under 3 months at the last weighing: the higher gain limit
GAIN_LIMIT_YOUNG_KG_PER_MONTH = 2.5
GAIN_LIMIT_KG_PER_MONTH = 1.5
LOSS_LIMIT_KG_PER_MONTH = 1.0
SCALE_ALLOWANCE_KG = 0.2
MIN_WINDOW_DAYS = 7
QUICK_LOSS_FRACTION = 0.10
QUICK_LOSS_DAYS = 30
LENGTH_SHRINK_CM = 1.5

# Adult ranges: measure -> (lowest plausible, highest plausible).
ADULT_RANGES: dict[str, tuple[float, float]] = {
    "sbp": (60, 260),
    "dbp": (30, 160),
    "glucose": (20, 800),
    "waist_cm": (40, 200),
    "muac_cm": (10, 60),
    "weight_kg": (20, 250),
}
_ADULT_CODES = {"glucose": "implausible_glucose", "waist_cm": "implausible_waist",
                "muac_cm": "implausible_muac", "weight_kg": "implausible_weight"}


@dataclass(frozen=True, slots=True)
class Concern:
    """One implausible value: ``code`` (module docstring) and the numbers behind it for the message."""

    code: str
    detail: Mapping[str, object] = field(default_factory=dict, hash=False)


# --------------------------------------------------------------------------- children


def check_child(sex: int, birth: date, on: date, *, weight_kg: float | None = None,
                length_cm: float | None = None, measured: str | None = None,
                head_cm: float | None = None, muac_cm: float | None = None,
                previous: Sequence[tuple[date, float]] = (),
                previous_lengths: Sequence[tuple[date, float]] = ()) -> list[Concern]:
    """Concerns about a child's measurements on ``on``; ``previous``/``previous_lengths``: earlier (date, value)."""
    concerns = _implausible_zscores(sex, age_in_days(birth, on), weight_kg, length_cm, measured,
                                    head_cm, muac_cm)
    if weight_kg is not None and (jump := weight_jump(birth, on, weight_kg, previous)) is not None:
        concerns.append(jump)
    if length_cm is not None and (shrink := length_shrink(on, length_cm, previous_lengths)) is not None:
        concerns.append(shrink)
    return concerns


def _implausible_zscores(sex: int, age_days: int, weight_kg: float | None, length_cm: float | None,
                         measured: str | None, head_cm: float | None,
                         muac_cm: float | None) -> list[Concern]:
    """``implausible_<index>`` for every index zscores() flags, in INDEX_KEYS order."""
    scores = zscores(sex, age_days, weight_kg=weight_kg, length_cm=length_cm, measured=measured,
                     head_cm=head_cm, muac_cm=muac_cm)
    return [
        Concern(f"implausible_{key}", {"index": key, "z": scores[key], "low": FLAG_LIMITS[key][0],
                                       "high": FLAG_LIMITS[key][1]})
        for key in INDEX_KEYS if key in scores["flags"]
    ]


def _last_before(on: date, values: Sequence[tuple[date, float]]) -> tuple[date, float] | None:
    """The latest (date, value) on or before ``on`` (the later one of a tie in date)."""
    earlier = [v for v in values if v[0] <= on]
    return max(reversed(earlier), key=lambda v: v[0]) if earlier else None


def weight_jump(birth: date, on: date, weight_kg: float,
                previous: Sequence[tuple[date, float]]) -> Concern | None:
    """``weight_jump`` when the change from the last earlier weighing cannot be real (module docstring)."""
    last = _last_before(on, previous)
    if last is None:
        return None
    when, last_kg = last
    days = (on - when).days
    window = max(days, MIN_WINDOW_DAYS) / DAYS_PER_MONTH
    young = age_in_days(birth, when) < YOUNG_INFANT_DAYS
    gain_limit = (GAIN_LIMIT_YOUNG_KG_PER_MONTH if young else GAIN_LIMIT_KG_PER_MONTH) * window + SCALE_ALLOWANCE_KG
    loss_limit = LOSS_LIMIT_KG_PER_MONTH * window + SCALE_ALLOWANCE_KG
    if days < QUICK_LOSS_DAYS:
        loss_limit = min(loss_limit, QUICK_LOSS_FRACTION * last_kg)
    change = weight_kg - last_kg
    if -loss_limit <= change <= gain_limit:
        return None
    return Concern("weight_jump", {
        "previous_date": when, "previous_kg": last_kg, "kg": weight_kg, "days": days,
        "change_kg": round(change, 3), "limit_kg": round(gain_limit if change > 0 else -loss_limit, 3),
    })


def length_shrink(on: date, length_cm: float,
                  previous_lengths: Sequence[tuple[date, float]]) -> Concern | None:
    """``length_shrink`` when ``length_cm`` is more than 1.5 cm below the longest earlier length."""
    earlier = [v for v in previous_lengths if v[0] <= on]
    if not earlier:
        return None
    when, longest = max(earlier, key=lambda v: (v[1], v[0]))
    if longest - length_cm <= LENGTH_SHRINK_CM:
        return None
    return Concern("length_shrink", {
        "previous_date": when, "previous_cm": longest, "cm": length_cm,
        "shrink_cm": round(longest - length_cm, 2),
    })


# --------------------------------------------------------------------------- adults


def _outside(measure: str, value: float) -> bool:
    """Whether ``value`` lies outside the plausible adult range of ``measure``."""
    low, high = ADULT_RANGES[measure]
    return not low <= value <= high


def check_adult(*, sbp: float | None = None, dbp: float | None = None, glucose: float | None = None,
                waist_cm: float | None = None, muac_cm: float | None = None,
                weight_kg: float | None = None) -> list[Concern]:
    """Concerns about an adult's (or pregnant woman's) measurements outside physiological ranges."""
    concerns = []
    bp_wrong = (sbp is not None and _outside("sbp", sbp)) or (dbp is not None and _outside("dbp", dbp)) \
        or (sbp is not None and dbp is not None and dbp >= sbp)
    if bp_wrong:
        concerns.append(Concern("implausible_bp", {"sbp": sbp, "dbp": dbp}))
    values = {"glucose": glucose, "waist_cm": waist_cm, "muac_cm": muac_cm, "weight_kg": weight_kg}
    for measure, value in values.items():
        if value is not None and _outside(measure, value):
            low, high = ADULT_RANGES[measure]
            concerns.append(Concern(_ADULT_CODES[measure], {"value": value, "low": low, "high": high}))
    return concerns


# --------------------------------------------------------------------------- refused sizes

#: The indexes whose flag refuses a value at once (head and arm circumference only ask).
REFUSED_INDEXES: tuple[str, ...] = ("wfa", "lhfa", "wflh", "bfa")
#: The slips tried, in order: a decimal comma left out, put one place too far, left out twice.
SLIP_FACTORS: tuple[float, ...] = (0.1, 10.0, 0.01)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A size that cannot be true: which value (``weight_kg`` / ``length_cm``, None when it is the
    pair), as typed, the likely value meant (None when no single slip explains it) and the flagged
    indexes."""

    measure: str | None
    value: float | None
    suggestion: float | None
    indexes: tuple[str, ...]


def _refused(scores: Mapping[str, object]) -> tuple[str, ...]:
    """The refused indexes flagged in ``scores``."""
    flags = scores["flags"]
    return tuple(key for key in REFUSED_INDEXES if key in flags)


def impossible_size(sex: int, birth: date, on: date, *, weight_kg: float | None = None,
                    length_cm: float | None = None, measured: str | None = None) -> Refusal | None:
    """A :class:`Refusal` when the weight or length/height of a child cannot be true (module docstring)."""
    age = age_in_days(birth, on)
    scores = zscores(sex, age, weight_kg=weight_kg, length_cm=length_cm, measured=measured)
    flagged = _refused(scores)
    if not flagged:
        return None
    present = [key for key in REFUSED_INDEXES if scores[key] is not None]
    best: tuple[float, str, float, float] | None = None
    for measure, value in (("weight_kg", weight_kg), ("length_cm", length_cm)):
        if value is None:
            continue
        for factor in SLIP_FACTORS:
            fixed = round(value * factor, 3)
            trial = zscores(sex, age, weight_kg=fixed if measure == "weight_kg" else weight_kg,
                            length_cm=fixed if measure == "length_cm" else length_cm, measured=measured)
            if _refused(trial) or any(trial[key] is None for key in present):
                continue
            worst = max(abs(trial[key]) for key in present)
            if best is None or worst < best[0]:
                best = (worst, measure, value, fixed)
    if best is not None:
        return Refusal(best[1], best[2], best[3], flagged)
    if "lhfa" in flagged and "wfa" not in flagged and length_cm is not None:
        return Refusal("length_cm", length_cm, None, flagged)
    if "wfa" in flagged and "lhfa" not in flagged and weight_kg is not None:
        return Refusal("weight_kg", weight_kg, None, flagged)
    if length_cm is None:
        return Refusal("weight_kg", weight_kg, None, flagged)
    if weight_kg is None:
        return Refusal("length_cm", length_cm, None, flagged)
    return Refusal(None, None, None, flagged)


# --------------------------------------------------------------------------- doses


def _immunization(schedule: Schedule | ImmunizationSchedule | None) -> ImmunizationSchedule:
    """The immunisation part of ``schedule`` (default: the content schedule)."""
    if schedule is None:
        return load_schedule().immunization
    return schedule if isinstance(schedule, ImmunizationSchedule) else schedule.immunization


def _rule_on_path(imm: ImmunizationSchedule, rule: DoseRule, birth: date,
                  dates: Mapping[str, date]) -> DoseRule | None:
    """The rule of a dose on the catch-up path its series is on (None: the path leaves it out)."""
    for series in imm.paths.values():
        if series.series != rule.series or series.first_dose == rule.code:
            continue
        first = dates.get(series.first_dose)
        if first is None:
            return rule
        for path in series.paths:
            if first >= path.first_from.after(birth) and (path.first_end is None or first < path.first_end.after(birth)):
                return path.doses.get(rule.code, rule)
    return rule


def check_doses(birth: date, given: Mapping[str, date], new: Mapping[str, date], *,
                approximate: Collection[str] = frozenset(),
                schedule: Schedule | ImmunizationSchedule | None = None) -> list[Concern]:
    """Concerns about the doses ``new`` (code -> date given) for a child born on ``birth`` whose
    record holds ``given``; ``approximate``: doses (recorded or new) whose date is not exact."""
    imm = _immunization(schedule)
    dates = {**given, **new}
    concerns: list[Concern] = []
    order = {rule.code: i for i, rule in enumerate(imm.all_rules)}
    for code in sorted(new, key=lambda c: order.get(c, len(order))):
        on = new[code]
        standard = imm.by_code.get(code)
        if standard is None:
            continue
        if code in given and given[code] != on:
            concerns.append(Concern("dose_again", {"dose": code, "on": on, "previous_on": given[code]}))
        if code in approximate:
            continue
        rule = _rule_on_path(imm, standard, birth, dates)
        if rule is None:
            continue
        earliest = rule.earliest.after(birth)
        if on < earliest:
            concerns.append(Concern("dose_too_early", {"dose": code, "on": on, "earliest": earliest}))
        if rule.not_from is not None and on >= (limit := rule.not_from.after(birth)):
            concerns.append(Concern("dose_too_old", {"dose": code, "on": on, "limit": limit}))
        previous = rule.after
        if previous is None:
            continue
        before = dates.get(previous)
        if before is None or before > on:
            concerns.append(Concern("dose_out_of_order", {"dose": code, "on": on, "previous": previous}))
        elif rule.min_interval is not None and previous not in approximate \
                and on < (opens := rule.min_interval.after(before)):
            concerns.append(Concern("dose_too_soon", {"dose": code, "on": on, "previous": previous,
                                                      "previous_on": before, "earliest": opens}))
    return concerns
