"""Care schedules as data: the immunisation schedule and the ILP services by stage.

The YAML under ``content/care`` is read and validated once into frozen dataclasses
(:func:`load_schedule`). A district changes values without code through the ``care:`` section of
config.yaml, applied with :func:`apply_overrides`, e.g.
``{"je": True, "doses": {"MR2": {"recommended_months": 20}}}``; a bad override raises
ValueError naming the key.

Ages and intervals are :class:`Duration` values (calendar months plus days) so that month
arithmetic follows :func:`care.stages.add_months`. Window ends are kept exclusive.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from care.stages import Stage

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content" / "care"
UNITS = ("years", "months", "weeks", "days")


def N_(s: str) -> str:
    """Mark ``s`` as a message id for the catalogue; translation happens at display time."""
    return s


DOSE_LABELS: dict[str, str] = {
    "HB0": N_("Hepatitis B 0 (HB0)"),
    "BCG": N_("BCG"),
    "OPV1": N_("Polio tetes 1"),
    "OPV2": N_("Polio tetes 2"),
    "OPV3": N_("Polio tetes 3"),
    "OPV4": N_("Polio tetes 4"),
    "DPT_HB_HIB1": N_("DPT-HB-Hib 1"),
    "DPT_HB_HIB2": N_("DPT-HB-Hib 2"),
    "DPT_HB_HIB3": N_("DPT-HB-Hib 3"),
    "DPT_HB_HIB4": N_("DPT-HB-Hib 4 (lanjutan)"),
    "PCV1": N_("PCV 1 (pneumokokus)"),
    "PCV2": N_("PCV 2 (pneumokokus)"),
    "PCV3": N_("PCV 3 (pneumokokus)"),
    "RV1": N_("Rotavirus 1"),
    "RV2": N_("Rotavirus 2"),
    "RV3": N_("Rotavirus 3"),
    "IPV1": N_("Polio suntik 1 (IPV)"),
    "IPV2": N_("Polio suntik 2 (IPV)"),
    "MR1": N_("Campak-Rubela 1 (MR)"),
    "MR2": N_("Campak-Rubela 2 (MR lanjutan)"),
    "JE": N_("Japanese Encephalitis (JE)"),
}

BIAS_LABELS: dict[str, str] = {
    "BIAS_MR": N_("BIAS Campak-Rubela (MR) kelas 1"),
    "BIAS_DT": N_("BIAS DT kelas 1"),
    "BIAS_TD2": N_("BIAS Td kelas 2"),
    "BIAS_TD5": N_("BIAS Td kelas 5"),
    "BIAS_HPV1": N_("BIAS HPV kelas 5"),
    "BIAS_HPV2": N_("BIAS HPV kelas 6"),
    "HPV_KEJAR": N_("HPV kejar usia 15 tahun"),
}

TD_LABELS: dict[str, str] = {
    "T1": N_("Status T1"),
    "T2": N_("Status T2"),
    "T3": N_("Status T3"),
    "T4": N_("Status T4"),
    "T5": N_("Status T5"),
}

SERVICE_LABELS: dict[str, str] = {
    "ANC1": N_("Pemeriksaan kehamilan ke-1 (trimester 1, dokter dan USG)"),
    "ANC2": N_("Pemeriksaan kehamilan ke-2 (trimester 2)"),
    "ANC3": N_("Pemeriksaan kehamilan ke-3 (trimester 2)"),
    "ANC4": N_("Pemeriksaan kehamilan ke-4 (trimester 3)"),
    "ANC5": N_("Pemeriksaan kehamilan ke-5 (trimester 3, dokter dan USG)"),
    "ANC6": N_("Pemeriksaan kehamilan ke-6 (trimester 3)"),
    "KF1": N_("Kunjungan nifas 1 (6 jam-2 hari)"),
    "KF2": N_("Kunjungan nifas 2 (3-7 hari)"),
    "KF3": N_("Kunjungan nifas 3 (8-28 hari)"),
    "KF4": N_("Kunjungan nifas 4 (29-42 hari)"),
    "VITA_NIFAS1": N_("Vitamin A ibu nifas, kapsul merah pertama"),
    "VITA_NIFAS2": N_("Vitamin A ibu nifas, kapsul merah kedua"),
    "KN1": N_("Kunjungan neonatal 1 (6-48 jam)"),
    "KN2": N_("Kunjungan neonatal 2 (3-7 hari)"),
    "KN3": N_("Kunjungan neonatal 3 (8-28 hari)"),
    "TIMBANG": N_("Penimbangan dan pengukuran bulanan"),
    "VITA_BIRU": N_("Vitamin A kapsul biru (6-11 bulan)"),
    "VITA_MERAH": N_("Vitamin A kapsul merah (12-59 bulan)"),
    "OBAT_CACING": N_("Obat cacing"),
    "SDIDTK": N_("Skrining perkembangan (SDIDTK)"),
    "TTD_REMAJA": N_("Tablet tambah darah mingguan remaja putri"),
    "SKRINING_PTM": N_("Skrining penyakit tidak menular (PTM)"),
    "SKILAS": N_("Skrining lansia (SKILAS)"),
}

#: Records that are no rule of services.yaml (care.history.EXTRA_CODES).
RECORD_LABELS: dict[str, str] = {
    "ANC": N_("Pemeriksaan kehamilan"),
    "TTD_HAMIL": N_("Tablet tambah darah ibu hamil"),
}

DOSE_STATE_LABELS: dict[str, str] = {
    "upcoming": N_("akan datang"),
    "due": N_("waktunya"),
    "catch_up": N_("terlambat, masih bisa dikejar"),
    "missed": N_("terlewat"),
    "given": N_("sudah diberikan"),
    "invalid": N_("tidak sah, perlu diulang"),
}

SERVICE_STATE_LABELS: dict[str, str] = {
    "due": N_("waktunya"),
    "overdue": N_("terlambat"),
    "upcoming": N_("akan datang"),
}


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def month_days(year: int, month: int) -> int:
    """Number of days in ``month`` of ``year``."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]


def months_after(d: date, months: int) -> date:
    """:func:`care.stages.add_months` without the calendar module (the hot path of every rule)."""
    index = d.month - 1 + months
    year = d.year + index // 12
    month = index % 12 + 1
    day = d.day
    if day > 28:
        last = month_days(year, month)
        if day > last:
            day = last
    return date(year, month, day)


def completed_months(birth: date, on: date) -> int:
    """:func:`care.stages.age_months` computed without building dates."""
    months = (on.year - birth.year) * 12 + on.month - birth.month
    if birth.day > on.day and on.day < month_days(on.year, on.month):
        months -= 1
    return months


def age_stage(months: int) -> Stage:
    """The age stage for completed months, newborn aside (as :func:`care.stages.child_stages`)."""
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
            d = months_after(d, self.months)
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


AGE_KINDS = frozenset({"rounds", "period", "interval", "ages"})
DOSE_DURATIONS = ("recommended", "on_time_until", "catch_up_until", "earliest", "min_interval", "not_from")
DOSE_KEYS = frozenset(
    {"series", "after", "switch", "sources", "note"} | {f"{n}_{u}" for n in DOSE_DURATIONS for u in UNITS}
)
DOSE_OVERRIDE_KEYS = frozenset(k for k in DOSE_KEYS if k.rsplit("_", 1)[-1] in UNITS)
SERVICE_DURATIONS = ("from", "until", "every")
SERVICE_SCALARS = ("trimester", "nth", "gap_days", "last_window_months")
SERVICE_KEYS = frozenset(
    {"kind", "stages", "sex", "sources", "note", "doctor", "ultrasound", "event", "after", "months",
     "once", "period", "ages_months", *SERVICE_SCALARS}
    | {f"{n}_{u}" for n in SERVICE_DURATIONS for u in UNITS}
)
SERVICE_OVERRIDE_KEYS = frozenset(
    {"months", "ages_months", "once", *SERVICE_SCALARS} | {f"{n}_{u}" for n in SERVICE_DURATIONS for u in UNITS}
)
SERVICE_KINDS = frozenset({"anc", "event"}) | AGE_KINDS
PATH_KEYS = frozenset({"name", "doses", "note"} | {f"first_dose_{n}_{u}" for n in ("from", "until") for u in UNITS})
IMMUNIZATION_KEYS = frozenset(
    {"version", "sources", "defaults", "switches", "doses", "catch_up_paths", "bias", "td_women"}
)


# --- reading values -------------------------------------------------------------------------


def _unwrap(raw: Any, path: str) -> tuple[Any, bool]:
    """A YAML value and whether it is marked ``check`` (written ``{value: X, check: true}``)."""
    if isinstance(raw, Mapping):
        if "value" not in raw or set(raw) - {"value", "check", "note"}:
            raise ValueError(f"{path}: expected a value or {{value: ..., check: true}}")
        check = raw.get("check", False)
        if not isinstance(check, bool):
            raise ValueError(f"{path}.check: expected true or false")
        return raw["value"], check
    return raw, False


def _int(raw: Any, path: str) -> tuple[int, bool]:
    """A whole number >= 0 and its check mark."""
    value, check = _unwrap(raw, path)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{path}: expected a whole number >= 0, got {value!r}")
    return value, check


def _bool(raw: Any, path: str) -> bool:
    """A true/false value."""
    value, _ = _unwrap(raw, path)
    if not isinstance(value, bool):
        raise ValueError(f"{path}: expected true or false, got {value!r}")
    return value


def _str(raw: Any, path: str) -> str:
    """A non-empty string."""
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"{path}: expected a name, got {raw!r}")
    return raw


def _int_list(raw: Any, path: str) -> tuple[tuple[int, ...], bool]:
    """A non-empty list of whole numbers >= 0, strictly increasing, and its check mark."""
    value, check = _unwrap(raw, path)
    if not isinstance(value, list) or not value:
        raise ValueError(f"{path}: expected a list of whole numbers")
    items = tuple(_int(v, f"{path}[{i}]")[0] for i, v in enumerate(value))
    if any(b <= a for a, b in zip(items, items[1:])):
        raise ValueError(f"{path}: expected increasing numbers, got {list(items)}")
    return items, check


def _duration(spec: Mapping[str, Any], name: str, path: str, *,
              until: bool = False) -> tuple[Duration | None, str | None, bool]:
    """The duration written ``<name>_<unit>`` in ``spec`` (key used, check mark); ``until`` = exclusive end."""
    keys = [f"{name}_{u}" for u in UNITS if f"{name}_{u}" in spec]
    if not keys:
        return None, None, False
    if len(keys) > 1:
        raise ValueError(f"{path}.{keys[1]}: {name} is given twice ({', '.join(keys)})")
    key = keys[0]
    n, check = _int(spec[key], f"{path}.{key}")
    unit = key[len(name) + 1:]
    if until:
        n += 1
    if unit == "years":
        return Duration(months=12 * n), key, check
    if unit == "months":
        return Duration(months=n), key, check
    if unit == "weeks":
        return Duration(days=7 * n), key, check
    return Duration(days=n), key, check


def _check_keys(spec: Any, allowed: frozenset[str], path: str) -> Mapping[str, Any]:
    """``spec`` as a mapping whose keys are all in ``allowed``."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"{path}: expected a mapping")
    for key in spec:
        if key not in allowed:
            raise ValueError(f"{path}.{key}: unknown key")
    return spec


def _sources(spec: Mapping[str, Any], known: Mapping[str, Source], path: str) -> tuple[str, ...]:
    """The source keys a rule cites, each defined in the sources table."""
    raw = spec.get("sources")
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{path}.sources: expected a list of source keys")
    for i, key in enumerate(raw):
        if key not in known:
            raise ValueError(f"{path}.sources[{i}]: unknown source {key!r}")
    return tuple(raw)


def _read_sources(raw: Any, path: str) -> Mapping[str, Source]:
    """The sources table."""
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"{path}: expected a table of sources")
    out = {}
    for key, spec in raw.items():
        spec = _check_keys(spec, frozenset({"title", "check", "note"}), f"{path}.{key}")
        check = spec.get("check", False)
        out[key] = Source(key, _str(spec.get("title"), f"{path}.{key}.title"), _bool(check, f"{path}.{key}.check"))
    return MappingProxyType(out)


# --- immunisation -------------------------------------------------------------------------


def _compile_dose(code: str, spec: Any, index: int, earlier: Mapping[str, DoseRule], repeat: Duration,
                  sources: Mapping[str, Source], path: str) -> DoseRule:
    """One dose rule, validated."""
    spec = _check_keys(spec, DOSE_KEYS, path)
    checked: set[str] = set()
    values: dict[str, Duration | None] = {}
    keys: dict[str, str | None] = {}
    for name in DOSE_DURATIONS:
        value, key, check = _duration(spec, name, path, until=name.endswith("_until"))
        values[name], keys[name] = value, key
        if check:
            checked.add(name)
    for name in ("recommended", "on_time_until"):
        if values[name] is None:
            raise ValueError(f"{path}.{name}_months: missing")
    after = spec.get("after")
    if after is not None and after not in earlier:
        raise ValueError(f"{path}.after: {after!r} is not a dose listed before {code}")
    if values["min_interval"] is not None and after is None:
        raise ValueError(f"{path}.{keys['min_interval']}: an interval needs `after`")
    switch = spec.get("switch")
    if switch is not None:
        _str(switch, f"{path}.switch")
    rule = DoseRule(
        code=code,
        series=_str(spec.get("series"), f"{path}.series"),
        index=index,
        after=after,
        recommended=values["recommended"],
        on_time_end=values["on_time_until"],
        catch_up_end=values["catch_up_until"],
        earliest=values["earliest"] or ZERO,
        min_interval=values["min_interval"],
        not_from=values["not_from"],
        repeat_after=repeat,
        switch=switch,
        sources=_sources(spec, sources, path),
        checked=frozenset(checked),
    )
    _check_dose_order(rule, keys, path)
    return rule


def _check_dose_order(rule: DoseRule, keys: Mapping[str, str | None], path: str) -> None:
    """Raise unless earliest <= recommended < on-time end <= catch-up end and not_from comes later."""
    rec = rule.recommended.approx_days
    if rule.earliest.approx_days > rec:
        raise ValueError(f"{path}.{keys['recommended']}: before {keys['earliest']} of the same dose")
    if rule.on_time_end.approx_days <= rec:
        raise ValueError(
            f"{path}.{keys['recommended']}: not before the end of the on-time window ({keys['on_time_until']})"
        )
    if rule.catch_up_end is not None and rule.catch_up_end.approx_days <= rule.on_time_end.approx_days:
        raise ValueError(f"{path}.{keys['catch_up_until']}: must be later than {keys['on_time_until']}")
    if rule.not_from is not None and rule.not_from.approx_days <= rec:
        raise ValueError(f"{path}.{keys['not_from']}: must be later than the recommended age")


def _merge_durations(spec: Mapping[str, Any], changes: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """``spec`` with ``changes`` applied; a duration given in a new unit replaces the old unit."""
    out = dict(spec)
    for key, value in changes.items():
        base = key.rsplit("_", 1)[0] if key.rsplit("_", 1)[-1] in UNITS else None
        if base in names:
            for unit in UNITS:
                out.pop(f"{base}_{unit}", None)
        out[key] = value
    return out


def _compile_paths(raw: Any, rules: Mapping[str, DoseRule], specs: Mapping[str, Any], next_index: int,
                   repeat: Duration, sources: Mapping[str, Source]) -> tuple[dict[str, SeriesPaths], list[DoseRule]]:
    """The catch-up paths (keyed on first dose) and the extra rule variants they create."""
    out: dict[str, SeriesPaths] = {}
    variants: list[DoseRule] = []
    if raw is None:
        return out, variants
    if not isinstance(raw, Mapping):
        raise ValueError("catch_up_paths: expected a mapping")
    for series, spec in raw.items():
        path = f"catch_up_paths.{series}"
        spec = _check_keys(spec, frozenset({"first_dose", "sources", "paths", "note"}), path)
        first = spec.get("first_dose")
        if first not in rules or rules[first].series != series:
            raise ValueError(f"{path}.first_dose: expected the first dose of series {series}")
        paths = []
        for i, pspec in enumerate(spec.get("paths") or []):
            ppath = f"{path}.paths[{i}]"
            pspec = _check_keys(pspec, PATH_KEYS, ppath)
            start, _, _ = _duration(pspec, "first_dose_from", ppath)
            end, _, _ = _duration(pspec, "first_dose_until", ppath, until=True)
            doses: dict[str, DoseRule | None] = {}
            for code, change in (pspec.get("doses") or {}).items():
                dpath = f"{ppath}.doses.{code}"
                if code not in rules or rules[code].series != series or code == first:
                    raise ValueError(f"{dpath}: not a later dose of series {series}")
                change = _check_keys(change, DOSE_OVERRIDE_KEYS | {"skip"}, dpath)
                if change.get("skip"):
                    doses[code] = None
                    continue
                earlier = {c: r for c, r in rules.items() if r.index < rules[code].index}
                merged = _merge_durations(specs[code], change, DOSE_DURATIONS)
                rule = _compile_dose(code, merged, next_index + len(variants), earlier, repeat, sources, dpath)
                variants.append(rule)
                doses[code] = rule
            paths.append(CatchUpPath(_str(pspec.get("name"), f"{ppath}.name"), start or ZERO, end,
                                     MappingProxyType(doses)))
        out[first] = SeriesPaths(series, first, tuple(paths), _sources(spec, sources, path))
    return out, variants


def _compile_bias(raw: Any) -> tuple[tuple[BiasDose, ...], HpvCatchUp | None]:
    """The BIAS doses and the HPV catch-up."""
    if raw is None:
        return (), None
    raw = _check_keys(raw, frozenset({"sources", "doses", "hpv_catch_up", "note"}), "bias")
    doses = []
    for code, spec in (raw.get("doses") or {}).items():
        path = f"bias.doses.{code}"
        if code not in BIAS_LABELS:
            raise ValueError(f"{path}: no label for this code in care/schedule.py:BIAS_LABELS")
        spec = _check_keys(spec, frozenset({"vaccine", "grade", "month", "sex", "until_year", "note"}), path)
        checked = set()
        grade, c1 = _int(spec.get("grade"), f"{path}.grade")
        month, c2 = _int(spec.get("month"), f"{path}.month")
        if not 1 <= month <= 12:
            raise ValueError(f"{path}.month: expected 1-12")
        checked |= {"grade"} if c1 else set()
        checked |= {"month"} if c2 else set()
        until = spec.get("until_year")
        doses.append(BiasDose(code, _str(spec.get("vaccine"), f"{path}.vaccine"), grade, month,
                              _sex(spec.get("sex"), f"{path}.sex"),
                              None if until is None else _int(until, f"{path}.until_year")[0], frozenset(checked)))
    hpv = None
    if raw.get("hpv_catch_up") is not None:
        where = "bias.hpv_catch_up"
        spec = _check_keys(raw["hpv_catch_up"], frozenset({"code", "sex", "age_years", "from_year", "note"}), where)
        age, check = _int(spec.get("age_years"), f"{where}.age_years")
        hpv = HpvCatchUp(_str(spec.get("code"), f"{where}.code"), _sex(spec.get("sex"), f"{where}.sex") or "F",
                         age, _int(spec.get("from_year"), "bias.hpv_catch_up.from_year")[0],
                         frozenset({"age_years"} if check else ()))
    return tuple(doses), hpv


def _compile_td(raw: Any) -> tuple[TdDose, ...]:
    """The Td status steps T1..T5."""
    if raw is None:
        return ()
    raw = _check_keys(raw, frozenset({"sources", "doses", "note"}), "td_women")
    out = []
    for code, spec in (raw.get("doses") or {}).items():
        path = f"td_women.doses.{code}"
        spec = _check_keys(spec, frozenset({"protection_years", "note"} | {f"min_interval_{u}" for u in UNITS}), path)
        interval, _, _ = _duration(spec, "min_interval", path)
        out.append(TdDose(code, interval or ZERO, _int(spec.get("protection_years"), f"{path}.protection_years")[0]))
    return tuple(out)


def _sex(raw: Any, path: str) -> str | None:
    """An optional sex filter, "M" or "F"."""
    if raw is None or raw in ("M", "F"):
        return raw
    raise ValueError(f"{path}: expected M or F, got {raw!r}")


def _compile_immunization(raw: Any) -> ImmunizationSchedule:
    """The immunisation schedule from the data of immunization.yaml."""
    raw = _check_keys(raw, IMMUNIZATION_KEYS, "immunization")
    sources = _read_sources(raw.get("sources"), "sources")
    defaults = _check_keys(raw.get("defaults") or {}, frozenset(f"repeat_invalid_after_{u}" for u in UNITS),
                           "defaults")
    repeat, _, _ = _duration(defaults, "repeat_invalid_after", "defaults")
    repeat = repeat or Duration(days=28)
    switches = {}
    for name, spec in (raw.get("switches") or {}).items():
        spec = _check_keys(spec, frozenset({"enabled", "note"}), f"switches.{name}")
        switches[name] = _bool(spec.get("enabled", False), f"switches.{name}.enabled")
    specs = raw.get("doses")
    if not isinstance(specs, Mapping) or not specs:
        raise ValueError("doses: expected a table of doses")
    rules: dict[str, DoseRule] = {}
    for i, (code, spec) in enumerate(specs.items()):
        if code not in DOSE_LABELS:
            raise ValueError(f"doses.{code}: no label for this code in care/schedule.py:DOSE_LABELS")
        rules[code] = _compile_dose(code, spec, i, dict(rules), repeat, sources, f"doses.{code}")
        if rules[code].switch is not None and rules[code].switch not in switches:
            raise ValueError(f"doses.{code}.switch: no switch {rules[code].switch!r} under switches")
    paths, variants = _compile_paths(raw.get("catch_up_paths"), rules, specs, len(rules), repeat, sources)
    bias, hpv = _compile_bias(raw.get("bias"))
    doses = tuple(rules.values())
    return ImmunizationSchedule(
        doses=doses,
        by_code=MappingProxyType(rules),
        switches=MappingProxyType(switches),
        paths=MappingProxyType(paths),
        bias=bias,
        hpv_catch_up=hpv,
        td=_compile_td(raw.get("td_women")),
        sources=sources,
        all_rules=doses + tuple(variants),
    )


# --- services -------------------------------------------------------------------------------


def _months_of(d: Duration | None) -> int | None:
    """Whole months of a day-free duration (for quick age filters); None for open or day-based."""
    if d is None or d.days:
        return None
    return d.months


def _round_offsets(months: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """For each calendar month: months back to the latest round month (<= it) and on to the next (> it)."""
    out = []
    for month in range(1, 13):
        back = min((month - m) % 12 for m in months)
        ahead = min((m - month - 1) % 12 + 1 for m in months)
        out.append((back, ahead))
    return tuple(out)


def _compile_service(code: str, spec: Any, known: Mapping[str, Any], sources: Mapping[str, Source],
                     n_trimesters: int) -> ServiceRule:
    """One service rule, validated for its kind."""
    path = f"services.{code}"
    spec = _check_keys(spec, SERVICE_KEYS, path)
    kind = spec.get("kind")
    if kind not in SERVICE_KINDS:
        raise ValueError(f"{path}.kind: expected one of {', '.join(sorted(SERVICE_KINDS))}")
    stages_raw = spec.get("stages")
    if not isinstance(stages_raw, list) or not stages_raw:
        raise ValueError(f"{path}.stages: expected a list of stage codes")
    try:
        stages = tuple(Stage(s) for s in stages_raw)
    except ValueError as exc:
        raise ValueError(f"{path}.stages: {exc}") from None
    checked: set[str] = set()
    fields: dict[str, Any] = {}

    def take_int(name: str, required: bool = False) -> int:
        """Read an integer field, noting its check mark."""
        if name not in spec:
            if required:
                raise ValueError(f"{path}.{name}: missing")
            return 0
        value, check = _int(spec[name], f"{path}.{name}")
        if check:
            checked.add(name)
        return value

    def take_duration(name: str, until: bool = False) -> Duration | None:
        """Read a duration field, noting its check mark."""
        value, _, check = _duration(spec, name, path, until=until)
        if check:
            checked.add(name)
        return value

    if kind == "anc":
        fields["trimester"] = take_int("trimester", True)
        if not 1 <= fields["trimester"] <= n_trimesters:
            raise ValueError(f"{path}.trimester: expected 1-{n_trimesters}")
        fields["nth"] = take_int("nth", True)
        if fields["nth"] < 1:
            raise ValueError(f"{path}.nth: expected 1 or more")
        fields["doctor"] = _bool(spec.get("doctor", False), f"{path}.doctor")
        fields["ultrasound"] = _bool(spec.get("ultrasound", False), f"{path}.ultrasound")
    elif kind == "event":
        if spec.get("event") not in ("delivery", "birth"):
            raise ValueError(f"{path}.event: expected delivery or birth")
        fields["event"] = spec["event"]
        start, until = take_duration("from"), take_duration("until", until=True)
        if start is None or until is None or start.months or until.months:
            raise ValueError(f"{path}.from_days: an event window needs from_days and until_days")
        fields["from_days"], fields["until_days"] = start.days, until.days - 1
        if fields["until_days"] < fields["from_days"]:
            raise ValueError(f"{path}.until_days: before from_days")
        if spec.get("after") is not None:
            if spec["after"] not in known:
                raise ValueError(f"{path}.after: {spec['after']!r} is not a service listed before {code}")
            fields["after"] = spec["after"]
            fields["gap_days"] = take_int("gap_days")
    else:
        age_from = take_duration("from") or ZERO
        age_end = take_duration("until", until=True)
        if age_end is not None and age_end.approx_days <= age_from.approx_days:
            raise ValueError(f"{path}.until: before the start of the age range")
        fields.update(age_from=age_from, age_end=age_end)
        if kind == "rounds":
            months, _ = _int_list(spec.get("months"), f"{path}.months")
            if any(not 1 <= m <= 12 for m in months):
                raise ValueError(f"{path}.months: expected calendar months 1-12")
            fields["months"] = months
            fields["round_offsets"] = _round_offsets(months)
            fields["once"] = _bool(spec.get("once", False), f"{path}.once")
        elif kind == "period":
            if spec.get("period") not in ("month", "week"):
                raise ValueError(f"{path}.period: expected month or week")
            fields["period"] = spec["period"]
        elif kind == "interval":
            every = take_duration("every")
            if every is None or every.approx_days <= 0:
                raise ValueError(f"{path}.every_months: expected an interval > 0")
            fields["every"] = every
        else:
            ages, check = _int_list(spec.get("ages_months"), f"{path}.ages_months")
            if check:
                checked.add("ages_months")
            fields["ages_months"] = ages
            fields["last_window_months"] = take_int("last_window_months", True)
            if fields["last_window_months"] < 1:
                raise ValueError(f"{path}.last_window_months: expected 1 or more")
            fields["age_from"] = Duration(months=ages[0])
            fields["age_end"] = Duration(months=ages[-1] + fields["last_window_months"])
        fields["min_months"] = _months_of(fields["age_from"])
        fields["end_months"] = _months_of(fields["age_end"])
        if fields["min_months"] is None or (fields["age_end"] is not None and fields["end_months"] is None):
            raise ValueError(f"{path}.from: an age range is given in years or months")
    if code not in SERVICE_LABELS:
        raise ValueError(f"{path}: no label for this code in care/schedule.py:SERVICE_LABELS")
    return ServiceRule(code=code, kind=kind, stages=stages, sex=_sex(spec.get("sex"), f"{path}.sex"),
                       sources=_sources(spec, sources, path), checked=frozenset(checked), **fields)


def _compile_services(raw: Any) -> ServiceSchedule:
    """The service schedule from the data of services.yaml."""
    raw = _check_keys(raw, frozenset({"version", "sources", "trimesters", "rules"}), "services")
    sources = _read_sources(raw.get("sources"), "sources")
    tri_raw = raw.get("trimesters")
    if not isinstance(tri_raw, Mapping) or not tri_raw:
        raise ValueError("trimesters: expected a table")
    trimesters = []
    for i, key in enumerate(sorted(tri_raw), start=1):
        path = f"trimesters.{key}"
        if key != i:
            raise ValueError(f"{path}: trimesters are numbered 1, 2, 3")
        spec = _check_keys(tri_raw[key], frozenset({"from_weeks", "until_weeks"}), path)
        start, _ = _int(spec.get("from_weeks"), f"{path}.from_weeks")
        until, _ = _int(spec.get("until_weeks"), f"{path}.until_weeks")
        if until < start or (trimesters and start * 7 != trimesters[-1][1]):
            raise ValueError(f"{path}.from_weeks: trimesters must follow each other")
        trimesters.append((start * 7, (until + 1) * 7))
    specs = raw.get("rules")
    if not isinstance(specs, Mapping) or not specs:
        raise ValueError("rules: expected a table of rules")
    rules: dict[str, ServiceRule] = {}
    for code, spec in specs.items():
        rules[code] = _compile_service(code, spec, dict(rules), sources, len(trimesters))
    return ServiceSchedule(tuple(rules.values()), MappingProxyType(rules), tuple(trimesters), sources)


# --- loading and overrides -----------------------------------------------------------------


def _read_yaml(name: str) -> dict[str, Any]:
    """One YAML file of content/care."""
    with open(CONTENT_DIR / name, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{name}: expected a mapping at the top")
    return data


def _compile(raw: Mapping[str, Any]) -> Schedule:
    """A schedule from raw data (already merged with overrides)."""
    return Schedule(_compile_immunization(raw["immunization"]), _compile_services(raw["services"]), raw)


@cache
def load_schedule() -> Schedule:
    """The schedule of content/care, read and validated once per process."""
    raw = {"immunization": _read_yaml("immunization.yaml"), "services": _read_yaml("services.yaml")}
    try:
        return _compile(raw)
    except ValueError as exc:
        raise ValueError(f"content/care: {exc}") from None


def _merge_entries(table: dict[str, Any], changes: Any, allowed: frozenset[str], names: tuple[str, ...],
                   path: str) -> None:
    """Apply ``{code: {field: value}}`` overrides to a table of raw entries, checking every key."""
    if not isinstance(changes, Mapping):
        raise ValueError(f"{path}: expected a mapping of codes")
    for code, fields in changes.items():
        if code not in table:
            raise ValueError(f"{path}.{code}: unknown code")
        if not isinstance(fields, Mapping):
            raise ValueError(f"{path}.{code}: expected a mapping of fields")
        for key in fields:
            if key not in allowed:
                raise ValueError(f"{path}.{code}.{key}: unknown or fixed key")
        table[code] = _merge_durations(table[code], fields, names)


def apply_overrides(overrides: Mapping[str, Any] | None, base: Schedule | None = None) -> Schedule:
    """A new schedule: ``base`` (default: the content schedule) with a district's overrides applied.

    Keys: ``je`` (bool), ``switches`` ({name: bool}), ``doses`` ({code: {field: value}}) and
    ``services`` ({code: {field: value}}); fields are the YAML ones (a value in a new unit replaces
    the old unit, e.g. ``recommended_months``). Raises ValueError naming the bad key.
    """
    base = base or load_schedule()
    if not overrides:
        return base
    if not isinstance(overrides, Mapping):
        raise ValueError("care: expected a mapping of overrides")
    raw = copy.deepcopy(dict(base.raw))
    imm, svc = raw["immunization"], raw["services"]
    for key, value in overrides.items():
        if key == "je":
            imm.setdefault("switches", {}).setdefault("je", {})["enabled"] = _bool(value, "je")
        elif key == "switches":
            if not isinstance(value, Mapping):
                raise ValueError("switches: expected {name: true/false}")
            for name, on in value.items():
                if name not in (imm.get("switches") or {}):
                    raise ValueError(f"switches.{name}: unknown switch")
                imm["switches"][name]["enabled"] = _bool(on, f"switches.{name}")
        elif key == "doses":
            _merge_entries(imm["doses"], value, DOSE_OVERRIDE_KEYS, DOSE_DURATIONS, "doses")
        elif key == "services":
            _merge_entries(svc["rules"], value, SERVICE_OVERRIDE_KEYS, SERVICE_DURATIONS, "services")
        else:
            raise ValueError(f"{key}: unknown key (expected je, switches, doses or services)")
    return _compile(raw)
