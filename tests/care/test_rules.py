"""The rule types of care/rules.py: durations, the JE plan, and the age filter of the service rules."""
from __future__ import annotations

from datetime import date

from care.rules import ZERO, Duration
from care.rules_file import apply_overrides, load_schedule
from care.stages import Stage

D = date


def test_a_duration_counts_months_first_and_clamps_to_the_month_end() -> None:
    assert Duration(months=1).after(D(2024, 1, 31)) == D(2024, 2, 29)
    assert Duration(months=1, days=1).after(D(2024, 1, 31)) == D(2024, 3, 1)
    assert Duration(days=28).after(D(2024, 2, 1)) == D(2024, 2, 29)
    assert ZERO.after(D(2024, 2, 1)) == D(2024, 2, 1)
    assert Duration(months=12).approx_days == 365.25
    assert Duration(months=2, days=3) == Duration(months=2, days=3)


def test_the_plan_follows_the_je_switch() -> None:
    schedule = load_schedule().immunization
    assert "JE" not in {r.code for r in schedule.plan()}
    assert "JE" in {r.code for r in schedule.plan(je=True)}
    switched_on = apply_overrides({"je": True}).immunization
    assert "JE" in {r.code for r in switched_on.plan()}


def test_service_rules_are_grouped_by_what_they_are_counted_from() -> None:
    services = load_schedule().services
    assert [r.code for r in services.anc_rules] == ["ANC1", "ANC2", "ANC3", "ANC4", "ANC5", "ANC6"]
    assert services.anc_number["ANC5"] == 5
    assert {r.code for r in services.birth_rules} == {"KN1", "KN2", "KN3"}
    assert "KF4" in {r.code for r in services.delivery_rules}
    assert {r.kind for r in services.age_rules} == {"rounds", "period", "interval", "ages"}


def test_age_candidates_meet_the_span_and_fix_the_stage_when_it_cannot_change() -> None:
    services = load_schedule().services
    found = {rule.code: (stage, needs_end) for rule, stage, needs_end in services.age_candidates(13, 14, "F")}
    assert set(found) >= {"TIMBANG", "VITA_MERAH", "OBAT_CACING", "SDIDTK"}
    assert "VITA_BIRU" not in found and "TTD_REMAJA" not in found
    assert found["TIMBANG"] == (Stage.TODDLER, True)
    assert services.age_candidates(13, 14, "F") is services.age_candidates(13, 14, "F")  # memoised
    boys = {rule.code for rule, _, _ in services.age_candidates(150, 151, "M")}
    girls = {rule.code for rule, _, _ in services.age_candidates(150, 151, "F")}
    assert girls - boys == {"TTD_REMAJA"}
    across = {rule.code: stage for rule, stage, _ in services.age_candidates(11, 12, "F")}
    assert across["TIMBANG"] is None  # infant at 11 months, toddler at 12
