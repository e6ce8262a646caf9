"""The care schedules as files: content/care/*.yaml checked by typed models, loaded, and overridden.

Each YAML file is first checked by the pydantic models below (known keys only, whole numbers, names,
``{value: X, check: true}`` marks, one unit per duration), then compiled to the rule types of
:mod:`care.rules`, where the checks that span entries are made (a dose's ``after`` listed before it,
sources defined, windows in order, a label for every code). Every problem is a ValueError naming the
file or override key and the problem, e.g. ``doses.MR2.recommended_months: expected ...``.

A district changes values without code through the ``care:`` section of config.yaml, applied with
:func:`apply_overrides`, e.g. ``{"je": True, "doses": {"MR2": {"recommended_months": 20}}}``.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
    model_validator,
)

from care.labels import BIAS_LABELS, DOSE_LABELS, SERVICE_LABELS
from care.rules import (
    ZERO,
    BiasDose,
    CatchUpPath,
    DoseRule,
    Duration,
    HpvCatchUp,
    ImmunizationSchedule,
    Schedule,
    SeriesPaths,
    ServiceRule,
    ServiceSchedule,
    Source,
    TdDose,
)
from care.stages import Stage

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content" / "care"
UNITS = ("years", "months", "weeks", "days")
DOSE_DURATIONS = ("recommended", "on_time_until", "catch_up_until", "earliest", "min_interval", "not_from")
SERVICE_DURATIONS = ("from", "until", "every")

T = TypeVar("T")


# --- the models of the YAML ------------------------------------------------------------------


def _increasing(items: list[int]) -> list[int]:
    """A list of numbers each larger than the one before."""
    if any(b <= a for a, b in zip(items, items[1:])):
        raise ValueError(f"expected increasing numbers, got {items}")
    return items


Count = Annotated[StrictInt, Field(ge=0)]
Name = Annotated[StrictStr, Field(min_length=1)]
Counts = Annotated[list[Count], Field(min_length=1), AfterValidator(_increasing)]
Sex = Literal["M", "F"] | None


class KeyProblem(ValueError):
    """A problem an entry's validator finds with one of the entry's keys (named after the entry's path)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key


class Spec(BaseModel):
    """An entry of a care YAML file: unknown keys are refused; ``note`` is free text anywhere."""

    model_config = ConfigDict(extra="forbid")

    #: the durations of this entry, each written ``<name>_<unit>`` with one unit of UNITS
    durations: ClassVar[tuple[str, ...]] = ()
    note: Any = None

    @model_validator(mode="after")
    def _one_unit(self) -> Spec:
        """Each duration is given in at most one unit."""
        for name in self.durations:
            keys = [f"{name}_{u}" for u in UNITS if getattr(self, f"{name}_{u}") is not None]
            if len(keys) > 1:
                raise KeyProblem(keys[1], f"{name} is given twice ({', '.join(keys)})")
        return self

    def duration(self, name: str, *, until: bool = False) -> tuple[Duration | None, str | None, bool]:
        """The duration ``name`` (None when absent), the key it was written in and its check mark.

        ``until`` reads a last completed unit as an exclusive end (one unit later).
        """
        for unit in UNITS:
            key = f"{name}_{unit}"
            given: Checked[int] | None = getattr(self, key)
            if given is None:
                continue
            n = given.value + 1 if until else given.value
            if unit == "years":
                return Duration(months=12 * n), key, given.check
            if unit == "months":
                return Duration(months=n), key, given.check
            if unit == "weeks":
                return Duration(days=7 * n), key, given.check
            return Duration(days=n), key, given.check
        return None, None, False


class Checked(BaseModel, Generic[T]):
    """A value, bare or written ``{value: X, check: true}`` when it rests on a secondary source."""

    model_config = ConfigDict(extra="forbid")

    value: T
    check: StrictBool = False
    note: Any = None

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, data: Any) -> Any:
        """A bare value is the value without a check mark."""
        return data if isinstance(data, Mapping) else {"value": data}


def _with_durations(model_name: str, base: type[Spec], names: tuple[str, ...], /, **fields: Any) -> type[Spec]:
    """A model ``model_name`` with ``fields`` and an optional ``<n>_<unit>`` field for each of ``names``."""
    for n in names:
        for unit in UNITS:
            fields[f"{n}_{unit}"] = (Checked[Count] | None, None)
    model = create_model(model_name, __base__=base, **fields)
    model.durations = names
    return model


class SourceSpec(Spec):
    """An entry of a ``sources`` table."""

    title: Name
    check: StrictBool = False


class SwitchSpec(Spec):
    """A regional switch (JE)."""

    enabled: StrictBool = False


Defaults = _with_durations("Defaults", Spec, ("repeat_invalid_after",))

#: The duration fields of a dose, as a district or a catch-up path may change them.
DoseChange = _with_durations("DoseChange", Spec, DOSE_DURATIONS)
DoseSpec = _with_durations(
    "DoseSpec", Spec, DOSE_DURATIONS,
    series=(Name, ...), after=(StrictStr | None, None), switch=(Name | None, None), sources=(list[StrictStr], ...),
)
PathDose = create_model("PathDose", __base__=DoseChange, skip=(StrictBool, False))
PathSpec = _with_durations(
    "PathSpec", Spec, ("first_dose_from", "first_dose_until"),
    name=(Name, ...), doses=(dict[str, PathDose] | None, None),
)


class SeriesPathsSpec(Spec):
    """The catch-up paths of one series."""

    first_dose: StrictStr
    sources: list[StrictStr]
    paths: list[PathSpec] | None = None  # type: ignore[valid-type]


class BiasDoseSpec(Spec):
    """A school-programme dose."""

    vaccine: Name
    grade: Checked[Count]
    month: Checked[Annotated[StrictInt, Field(ge=1, le=12)]]
    sex: Sex = None
    until_year: Checked[Count] | None = None


class HpvSpec(Spec):
    """The HPV catch-up by age."""

    code: Name
    sex: Sex = None
    age_years: Checked[Count]
    from_year: Checked[Count]


class BiasSpec(Spec):
    """The school programme (BIAS)."""

    sources: Any = None
    doses: dict[str, BiasDoseSpec] | None = None
    hpv_catch_up: HpvSpec | None = None


TdDoseSpec = _with_durations("TdDoseSpec", Spec, ("min_interval",), protection_years=(Checked[Count], ...))


class TdSpec(Spec):
    """The Td status of women."""

    sources: Any = None
    doses: dict[str, TdDoseSpec] | None = None  # type: ignore[valid-type]


class ImmunizationFile(Spec):
    """content/care/immunization.yaml."""

    version: Any = None
    sources: Annotated[dict[str, SourceSpec], Field(min_length=1)]
    defaults: Defaults | None = None  # type: ignore[valid-type]
    switches: dict[str, SwitchSpec] | None = None
    doses: Annotated[dict[str, DoseSpec], Field(min_length=1)]  # type: ignore[valid-type]
    catch_up_paths: dict[str, SeriesPathsSpec] | None = None
    bias: BiasSpec | None = None
    td_women: TdSpec | None = None


_SERVICE_CHANGES: dict[str, Any] = {
    "months": (Checked[Counts] | None, None),
    "ages_months": (Checked[Counts] | None, None),
    "once": (StrictBool, False),
    **{name: (Checked[Count] | None, None) for name in ("trimester", "nth", "gap_days", "last_window_months")},
}
#: The fields of a service a district may change.
ServiceChange = _with_durations("ServiceChange", Spec, SERVICE_DURATIONS, **_SERVICE_CHANGES)
ServiceSpec = _with_durations(
    "ServiceSpec", Spec, SERVICE_DURATIONS, **_SERVICE_CHANGES,
    kind=(Literal["anc", "event", "rounds", "period", "interval", "ages"], ...),
    stages=(Annotated[list[Stage], Field(min_length=1)], ...),
    sex=(Sex, None),
    sources=(list[StrictStr], ...),
    doctor=(StrictBool, False),
    ultrasound=(StrictBool, False),
    event=(Literal["delivery", "birth"] | None, None),
    after=(StrictStr | None, None),
    period=(Literal["month", "week"] | None, None),
)
TrimesterSpec = create_model("TrimesterSpec", __base__=Spec, from_weeks=(Checked[Count], ...),
                             until_weeks=(Checked[Count], ...))


class ServicesFile(Spec):
    """content/care/services.yaml."""

    version: Any = None
    sources: Annotated[dict[str, SourceSpec], Field(min_length=1)]
    trimesters: Annotated[dict[int, TrimesterSpec], Field(min_length=1)]  # type: ignore[valid-type]
    rules: Annotated[dict[str, ServiceSpec], Field(min_length=1)]  # type: ignore[valid-type]


class Overrides(Spec):
    """The ``care:`` overrides of config.yaml (``note`` aside, every key names a change)."""

    je: StrictBool | None = None
    switches: dict[str, StrictBool] | None = None
    doses: dict[str, DoseChange] | None = None  # type: ignore[valid-type]
    services: dict[str, ServiceChange] | None = None  # type: ignore[valid-type]


# --- problems, named by their path -----------------------------------------------------------


def _path(loc: tuple[int | str, ...], raw: Any, prefix: str) -> str:
    """The dotted path of ``loc`` in ``raw`` (a bare value's implied ``value`` key left out)."""
    path, node = prefix, raw
    for part in loc:
        if part == "value" and not isinstance(node, Mapping):
            continue
        if isinstance(part, int) and isinstance(node, list):
            path += f"[{part}]"
            node = node[part] if part < len(node) else None
            continue
        path = f"{path}.{part}" if path else str(part)
        node = node.get(part) if isinstance(node, Mapping) else None
    return path


def _message(error: Mapping[str, Any]) -> str:
    """One problem in words, with the value found when it is a plain one."""
    kind, given = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing"
    text = error["msg"]
    if kind == "value_error":
        return text.removeprefix("Value error, ")
    if isinstance(given, Mapping | list):
        return text
    return f"{text}, got {given!r}"


def _validate(model: type[BaseModel], raw: Any, prefix: str = "") -> Any:
    """``raw`` checked by ``model``; a ValueError naming every problem by its path otherwise."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where, text = _path(error["loc"], raw, prefix), _message(error)
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, KeyProblem):
                where = f"{where}.{cause.key}" if where else cause.key
            problems.append(f"{where}: {text}" if where else text)
        raise ValueError("; ".join(problems)) from None


def _sources(cited: list[str], known: Mapping[str, Source], path: str) -> tuple[str, ...]:
    """The source keys a rule cites, each defined in the sources table."""
    if not cited:
        raise ValueError(f"{path}.sources: expected a list of source keys")
    for i, key in enumerate(cited):
        if key not in known:
            raise ValueError(f"{path}.sources[{i}]: unknown source {key!r}")
    return tuple(cited)


def _source_table(specs: Mapping[str, SourceSpec]) -> Mapping[str, Source]:
    """The sources table."""
    return MappingProxyType({key: Source(key, spec.title, spec.check) for key, spec in specs.items()})


# --- immunisation ----------------------------------------------------------------------------


def _compile_dose(code: str, spec: Any, index: int, earlier: Mapping[str, DoseRule], repeat: Duration,
                  sources: Mapping[str, Source], path: str) -> DoseRule:
    """One dose rule from its checked entry (``spec``, a DoseSpec)."""
    checked: set[str] = set()
    values: dict[str, Duration | None] = {}
    keys: dict[str, str | None] = {}
    for name in DOSE_DURATIONS:
        value, key, check = spec.duration(name, until=name.endswith("_until"))
        values[name], keys[name] = value, key
        if check:
            checked.add(name)
    for name in ("recommended", "on_time_until"):
        if values[name] is None:
            raise ValueError(f"{path}.{name}_months: missing")
    after = spec.after
    if after is not None and after not in earlier:
        raise ValueError(f"{path}.after: {after!r} is not a dose listed before {code}")
    if values["min_interval"] is not None and after is None:
        raise ValueError(f"{path}.{keys['min_interval']}: an interval needs `after`")
    rule = DoseRule(
        code=code,
        series=spec.series,
        index=index,
        after=after,
        recommended=values["recommended"],
        on_time_end=values["on_time_until"],
        catch_up_end=values["catch_up_until"],
        earliest=values["earliest"] or ZERO,
        min_interval=values["min_interval"],
        not_from=values["not_from"],
        repeat_after=repeat,
        switch=spec.switch,
        sources=_sources(spec.sources, sources, path),
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


def _compile_paths(doc: Any, raw_doses: Mapping[str, Any], rules: Mapping[str, DoseRule], repeat: Duration,
                   sources: Mapping[str, Source]) -> tuple[dict[str, SeriesPaths], list[DoseRule]]:
    """The catch-up paths (keyed on first dose) and the extra rule variants they create."""
    out: dict[str, SeriesPaths] = {}
    variants: list[DoseRule] = []
    for series, spec in (doc.catch_up_paths or {}).items():
        path = f"catch_up_paths.{series}"
        first = spec.first_dose
        if first not in rules or rules[first].series != series:
            raise ValueError(f"{path}.first_dose: expected the first dose of series {series}")
        paths = []
        for i, pspec in enumerate(spec.paths or []):
            ppath = f"{path}.paths[{i}]"
            start, _, _ = pspec.duration("first_dose_from")
            end, _, _ = pspec.duration("first_dose_until", until=True)
            doses: dict[str, DoseRule | None] = {}
            for code, change in (pspec.doses or {}).items():
                dpath = f"{ppath}.doses.{code}"
                if code not in rules or rules[code].series != series or code == first:
                    raise ValueError(f"{dpath}: not a later dose of series {series}")
                if change.skip:
                    doses[code] = None
                    continue
                earlier = {c: r for c, r in rules.items() if r.index < rules[code].index}
                merged = _merge_durations(raw_doses[code], change.model_dump(exclude_unset=True), DOSE_DURATIONS)
                rule = _compile_dose(code, _validate(DoseSpec, merged, dpath), len(rules) + len(variants), earlier,
                                     repeat, sources, dpath)
                variants.append(rule)
                doses[code] = rule
            paths.append(CatchUpPath(pspec.name, start or ZERO, end, MappingProxyType(doses)))
        out[first] = SeriesPaths(series, first, tuple(paths), _sources(spec.sources, sources, path))
    return out, variants


def _compile_bias(spec: BiasSpec | None) -> tuple[tuple[BiasDose, ...], HpvCatchUp | None]:
    """The BIAS doses and the HPV catch-up."""
    if spec is None:
        return (), None
    doses = []
    for code, dose in (spec.doses or {}).items():
        if code not in BIAS_LABELS:
            raise ValueError(f"bias.doses.{code}: no label for this code in care/labels.py:BIAS_LABELS")
        checked = {name for name in ("grade", "month") if getattr(dose, name).check}
        until = None if dose.until_year is None else dose.until_year.value
        doses.append(BiasDose(code, dose.vaccine, dose.grade.value, dose.month.value, dose.sex, until,
                              frozenset(checked)))
    hpv = spec.hpv_catch_up
    if hpv is not None:
        hpv = HpvCatchUp(hpv.code, hpv.sex or "F", hpv.age_years.value, hpv.from_year.value,
                         frozenset({"age_years"} if hpv.age_years.check else ()))
    return tuple(doses), hpv


def _compile_td(spec: TdSpec | None) -> tuple[TdDose, ...]:
    """The Td status steps T1..T5."""
    if spec is None:
        return ()
    return tuple(TdDose(code, dose.duration("min_interval")[0] or ZERO, dose.protection_years.value)
                 for code, dose in (spec.doses or {}).items())


def _compile_immunization(raw: Any) -> ImmunizationSchedule:
    """The immunisation schedule from the data of immunization.yaml."""
    doc = _validate(ImmunizationFile, raw)
    sources = _source_table(doc.sources)
    repeat = (doc.defaults.duration("repeat_invalid_after")[0] if doc.defaults else None) or Duration(days=28)
    switches = {name: spec.enabled for name, spec in (doc.switches or {}).items()}
    rules: dict[str, DoseRule] = {}
    for i, (code, spec) in enumerate(doc.doses.items()):
        if code not in DOSE_LABELS:
            raise ValueError(f"doses.{code}: no label for this code in care/labels.py:DOSE_LABELS")
        rules[code] = _compile_dose(code, spec, i, dict(rules), repeat, sources, f"doses.{code}")
        if rules[code].switch is not None and rules[code].switch not in switches:
            raise ValueError(f"doses.{code}.switch: no switch {rules[code].switch!r} under switches")
    paths, variants = _compile_paths(doc, raw["doses"], rules, repeat, sources)
    bias, hpv = _compile_bias(doc.bias)
    doses = tuple(rules.values())
    return ImmunizationSchedule(
        doses=doses,
        by_code=MappingProxyType(rules),
        switches=MappingProxyType(switches),
        paths=MappingProxyType(paths),
        bias=bias,
        hpv_catch_up=hpv,
        td=_compile_td(doc.td_women),
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
                     n_trimesters: int, path: str) -> ServiceRule:
    """One service rule from its checked entry (``spec``, a ServiceSpec, at ``path``), checked for its kind."""
    kind = spec.kind
    checked: set[str] = set()
    fields: dict[str, Any] = {}

    def take_int(name: str, required: bool = False) -> int:
        """Read an integer field, noting its check mark."""
        given = getattr(spec, name)
        if given is None:
            if required:
                raise ValueError(f"{path}.{name}: missing")
            return 0
        if given.check:
            checked.add(name)
        return given.value

    def take_duration(name: str, until: bool = False) -> Duration | None:
        """Read a duration field, noting its check mark."""
        value, _, check = spec.duration(name, until=until)
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
        fields["doctor"] = spec.doctor
        fields["ultrasound"] = spec.ultrasound
    elif kind == "event":
        if spec.event is None:
            raise ValueError(f"{path}.event: expected delivery or birth")
        fields["event"] = spec.event
        start, until = take_duration("from"), take_duration("until", until=True)
        if start is None or until is None or start.months or until.months:
            raise ValueError(f"{path}.from_days: an event window needs from_days and until_days")
        fields["from_days"], fields["until_days"] = start.days, until.days - 1
        if fields["until_days"] < fields["from_days"]:
            raise ValueError(f"{path}.until_days: before from_days")
        if spec.after is not None:
            if spec.after not in known:
                raise ValueError(f"{path}.after: {spec.after!r} is not a service listed before {code}")
            fields["after"] = spec.after
            fields["gap_days"] = take_int("gap_days")
    else:
        age_from = take_duration("from") or ZERO
        age_end = take_duration("until", until=True)
        if age_end is not None and age_end.approx_days <= age_from.approx_days:
            raise ValueError(f"{path}.until: before the start of the age range")
        fields.update(age_from=age_from, age_end=age_end)
        if kind == "rounds":
            if spec.months is None:
                raise ValueError(f"{path}.months: expected a list of whole numbers")
            months = tuple(spec.months.value)
            if any(not 1 <= m <= 12 for m in months):
                raise ValueError(f"{path}.months: expected calendar months 1-12")
            fields["months"] = months
            fields["round_offsets"] = _round_offsets(months)
            fields["once"] = spec.once
        elif kind == "period":
            if spec.period is None:
                raise ValueError(f"{path}.period: expected month or week")
            fields["period"] = spec.period
        elif kind == "interval":
            every = take_duration("every")
            if every is None or every.approx_days <= 0:
                raise ValueError(f"{path}.every_months: expected an interval > 0")
            fields["every"] = every
        else:
            if spec.ages_months is None:
                raise ValueError(f"{path}.ages_months: expected a list of whole numbers")
            ages = tuple(spec.ages_months.value)
            if spec.ages_months.check:
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
        raise ValueError(f"{path}: no label for this code in care/labels.py:SERVICE_LABELS")
    return ServiceRule(code=code, kind=kind, stages=tuple(spec.stages), sex=spec.sex,
                       sources=_sources(spec.sources, sources, path), checked=frozenset(checked), **fields)


def _compile_services(raw: Any, table: str = "rules") -> ServiceSchedule:
    """The service schedule from the data of services.yaml; problems of a rule are named ``<table>.<code>``."""
    doc = _validate(ServicesFile, raw)
    sources = _source_table(doc.sources)
    trimesters: list[tuple[int, int]] = []
    for i, key in enumerate(sorted(doc.trimesters), start=1):
        path = f"trimesters.{key}"
        if key != i:
            raise ValueError(f"{path}: trimesters are numbered 1, 2, 3")
        spec = doc.trimesters[key]
        start, until = spec.from_weeks.value, spec.until_weeks.value
        if until < start or (trimesters and start * 7 != trimesters[-1][1]):
            raise ValueError(f"{path}.from_weeks: trimesters must follow each other")
        trimesters.append((start * 7, (until + 1) * 7))
    rules: dict[str, ServiceRule] = {}
    for code, spec in doc.rules.items():
        rules[code] = _compile_service(code, spec, dict(rules), sources, len(trimesters), f"{table}.{code}")
    return ServiceSchedule(tuple(rules.values()), MappingProxyType(rules), tuple(trimesters), sources)


# --- loading and overrides -----------------------------------------------------------------


FILES = (("immunization", "immunization.yaml", _compile_immunization), ("services", "services.yaml", _compile_services))


def _read_yaml(name: str) -> dict[str, Any]:
    """One YAML file of content/care."""
    with open(CONTENT_DIR / name, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"content/care/{name}: expected a mapping at the top")
    return data


@cache
def load_schedule() -> Schedule:
    """The schedule of content/care, read and checked once per process."""
    raw, parts = {}, {}
    for key, name, compile_part in FILES:
        raw[key] = _read_yaml(name)
        try:
            parts[key] = compile_part(raw[key])
        except ValueError as exc:
            raise ValueError(f"content/care/{name}: {exc}") from None
    return Schedule(parts["immunization"], parts["services"], raw)


def _merge_entries(table: dict[str, Any], changes: Mapping[str, Any], names: tuple[str, ...], path: str) -> None:
    """Apply checked ``{code: {field: value}}`` overrides to a table of raw entries."""
    for code, fields in changes.items():
        if code not in table:
            raise ValueError(f"{path}.{code}: unknown code")
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
    _validate(Overrides, overrides)
    raw = copy.deepcopy(dict(base.raw))
    imm, svc = raw["immunization"], raw["services"]
    if overrides.get("je") is not None:
        imm.setdefault("switches", {}).setdefault("je", {})["enabled"] = overrides["je"]
    for name, on in (overrides.get("switches") or {}).items():
        if name not in (imm.get("switches") or {}):
            raise ValueError(f"switches.{name}: unknown switch")
        imm["switches"][name]["enabled"] = on
    _merge_entries(imm["doses"], overrides.get("doses") or {}, DOSE_DURATIONS, "doses")
    _merge_entries(svc["rules"], overrides.get("services") or {}, SERVICE_DURATIONS, "services")
    return Schedule(_compile_immunization(imm), _compile_services(svc, "services"), raw)
