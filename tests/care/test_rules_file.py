"""content/care/*.yaml checked by the models of care/rules_file.py: every problem named by file and key."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from care import rules_file
from care.rules_file import apply_overrides, load_schedule

CARE = Path(rules_file.CONTENT_DIR)


@pytest.fixture
def broken(tmp_path, monkeypatch):
    """Edits a copy of content/care and loads it: ``broken(file, change)`` returns the error text."""

    def load(name: str, change) -> str:
        for f in CARE.glob("*.yaml"):
            shutil.copy(f, tmp_path / f.name)
        data = yaml.safe_load((CARE / name).read_text(encoding="utf-8"))
        change(data)
        (tmp_path / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        monkeypatch.setattr(rules_file, "CONTENT_DIR", tmp_path)
        load_schedule.cache_clear()
        try:
            with pytest.raises(ValueError) as info:
                load_schedule()
        finally:
            load_schedule.cache_clear()
        return str(info.value)

    yield load
    load_schedule.cache_clear()


def _set(*path_and_value):
    """A change setting the value at a key path."""
    *path, key, value = path_and_value

    def change(data):
        for part in path:
            data = data[part]
        data[key] = value

    return change


def _drop(*path):
    """A change removing the key at a path."""

    def change(data):
        for part in path[:-1]:
            data = data[part]
        del data[path[-1]]

    return change


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("immunization.yaml", _set("doses", "MR2", "recommended_monthz", 18),
         "content/care/immunization.yaml: doses.MR2.recommended_monthz: unknown key"),
        ("immunization.yaml", _set("doses", "MR2", "recommended_months", "18"),
         "content/care/immunization.yaml: doses.MR2.recommended_months: Input should be a valid integer, got '18'"),
        ("immunization.yaml", _set("doses", "MR2", "recommended_months", -1),
         "doses.MR2.recommended_months: Input should be greater than or equal to 0, got -1"),
        ("immunization.yaml", _set("doses", "MR2", "on_time_until_months", {"value": 23, "check": "yes"}),
         "doses.MR2.on_time_until_months.check: Input should be a valid boolean, got 'yes'"),
        ("immunization.yaml", _set("doses", "MR2", "recommended_weeks", 80),
         "doses.MR2.recommended_weeks: recommended is given twice (recommended_months, recommended_weeks)"),
        ("immunization.yaml", _drop("doses", "MR2", "series"), "doses.MR2.series: missing"),
        ("immunization.yaml", _drop("doses", "MR2", "on_time_until_months"), "doses.MR2.on_time_until_months: missing"),
        ("immunization.yaml", _set("doses", "MR2", "after", "MR9"),
         "doses.MR2.after: 'MR9' is not a dose listed before MR2"),
        ("immunization.yaml", _set("doses", "MR2", "sources", ["nowhere"]),
         "doses.MR2.sources[0]: unknown source 'nowhere'"),
        ("immunization.yaml", _set("doses", "XX1", {"series": "XX", "recommended_months": 1,
                                                     "on_time_until_months": 2, "sources": ["p2p_pcv_2022"]}),
         "doses.XX1: no label for this code in care/labels.py:DOSE_LABELS"),
        ("immunization.yaml", _set("doses", "JE", "switch", "jee"), "doses.JE.switch: no switch 'jee' under switches"),
        ("immunization.yaml", _set("bias", "doses", "BIAS_MR", "month", 13),
         "bias.doses.BIAS_MR.month: Input should be less than or equal to 12, got 13"),
        ("immunization.yaml", _set("catch_up_paths", "PCV", "paths", 0, "doses", "PCV3", "skipp", True),
         "catch_up_paths.PCV.paths[0].doses.PCV3.skipp: unknown key"),
        ("immunization.yaml", _set("catch_up_paths", "PCV", "paths", 0, "doses", "PCV2", "catch_up_until_months", 1),
         "catch_up_paths.PCV.paths[0].doses.PCV2.catch_up_until_months: must be later than on_time_until_months"),
        ("services.yaml", _set("rules", "SKILAS", "kind", "yearly"),
         "content/care/services.yaml: rules.SKILAS.kind: Input should be 'anc', 'event', 'rounds', 'period', "
         "'interval' or 'ages', got 'yearly'"),
        ("services.yaml", _set("rules", "TIMBANG", "stages", ["bayi", "balitaa"]), "rules.TIMBANG.stages[1]: "),
        ("services.yaml", _set("rules", "SDIDTK", "ages_months", {"value": [3, 6, 6], "check": True}),
         "rules.SDIDTK.ages_months.value: expected increasing numbers, got [3, 6, 6]"),
        ("services.yaml", _set("rules", "ANC1", "trimester", 4),
         "content/care/services.yaml: rules.ANC1.trimester: expected 1-3"),
        ("services.yaml", _set("trimesters", 2, "from_weeks", 14),
         "trimesters.2.from_weeks: trimesters must follow each other"),
    ],
)
def test_a_broken_file_names_the_file_the_key_and_the_problem(broken, name, change, expected) -> None:
    assert expected in broken(name, change)


def test_every_problem_of_a_file_is_named(broken) -> None:
    def change(data):
        data["doses"]["MR2"]["recommended_monthz"] = 18
        data["doses"]["BCG"]["not_from_months"] = "12"

    text = broken("immunization.yaml", change)
    assert "doses.BCG.not_from_months: Input should be a valid integer, got '12'" in text
    assert "doses.MR2.recommended_monthz: unknown key" in text


def test_a_file_that_is_no_mapping(broken) -> None:
    assert broken("services.yaml", lambda data: data.clear()).startswith("content/care/services.yaml: ")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"doses": {"MR2": {"recommended_monthz": 18}}}, "doses.MR2.recommended_monthz: unknown key"),
        ({"doses": {"MR2": {"series": "XX"}}}, "doses.MR2.series: unknown key"),
        ({"doses": {"MR3": {"recommended_months": 18}}}, "doses.MR3: unknown code"),
        ({"doses": {"MR2": {"recommended_months": True}}},
         "doses.MR2.recommended_months: Input should be a valid integer, got True"),
        ({"doses": {"MR2": {"recommended_months": 30}}},
         "doses.MR2.recommended_months: not before the end of the on-time window (on_time_until_months)"),
        ({"je": "yes"}, "je: Input should be a valid boolean, got 'yes'"),
        ({"jee": True}, "jee: unknown key"),
        ({"switches": {"polio": True}}, "switches.polio: unknown switch"),
        ({"services": {"SKILAS": {"every_months": 0}}}, "services.SKILAS.every_months: expected an interval > 0"),
        ({"services": {"SKILAS": {"kind": "ages"}}}, "services.SKILAS.kind: unknown key"),
        ("je", "care: expected a mapping of overrides"),
    ],
)
def test_a_bad_override_names_its_key(overrides, expected) -> None:
    with pytest.raises(ValueError) as info:
        apply_overrides(overrides)
    assert str(info.value) == expected


def test_a_duration_in_a_new_unit_replaces_the_old_unit() -> None:
    custom = apply_overrides({"doses": {"MR2": {"recommended_weeks": 80}},
                              "services": {"SKRINING_PTM": {"every_months": {"value": 6, "check": True}}}})
    assert custom.immunization.by_code["MR2"].recommended.days == 560
    assert custom.immunization.by_code["MR2"].recommended.months == 0
    assert custom.services.by_code["SKRINING_PTM"].every.months == 6
    assert "every" in custom.services.by_code["SKRINING_PTM"].checked


def test_no_overrides_is_the_content_schedule() -> None:
    assert apply_overrides({}) is load_schedule()
    assert apply_overrides(None) is load_schedule()


def test_catch_up_paths_compile_to_variants() -> None:
    schedule = load_schedule().immunization
    late = schedule.paths["PCV1"].paths[0]
    assert late.name == "first_dose_12_23_months"
    assert late.doses["PCV3"] is None
    assert late.doses["PCV2"].min_interval.days == 56
    assert late.doses["PCV2"] in schedule.all_rules and late.doses["PCV2"] not in schedule.doses
