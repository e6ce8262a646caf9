"""Routine immunisation states on fixed dates (care/immunization.py, content/care/immunization.yaml)."""
from __future__ import annotations

from datetime import date

import pytest

from care.immunization import (
    DoseState,
    bias_doses,
    child_summary,
    dose_states,
    hpv_catch_up_due,
    td_status,
)
from care.labels import DOSE_LABELS, SERVICE_LABELS
from care.rules_file import apply_overrides, load_schedule

D = date
S = DoseState
ALL_CODES = [
    "HB0", "BCG", "OPV1", "DPT_HB_HIB1", "OPV2", "PCV1", "RV1", "DPT_HB_HIB2", "OPV3", "PCV2", "RV2",
    "DPT_HB_HIB3", "OPV4", "IPV1", "RV3", "MR1", "IPV2", "PCV3", "DPT_HB_HIB4", "MR2",
]


def states(birth: date, given: dict[str, date], on: date, **kw: object) -> dict[str, DoseState]:
    """dose_states with keyword options, for short tables."""
    return dose_states(birth, given, on, **kw)


# --- month-end births ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("on", "code", "expected"),
    [
        # born 31 January 2024 (leap year): one month is 29 February
        (D(2024, 1, 31), "HB0", S("due", D(2024, 1, 31), D(2024, 2, 7))),
        (D(2024, 2, 8), "HB0", S("missed", None, None)),
        (D(2024, 2, 28), "OPV1", S("upcoming", D(2024, 2, 29), D(2025, 1, 30))),
        (D(2024, 2, 29), "OPV1", S("due", D(2024, 2, 29), D(2025, 1, 30))),
        (D(2024, 3, 30), "DPT_HB_HIB1", S("upcoming", D(2024, 3, 31), D(2025, 1, 30))),
        (D(2024, 3, 31), "DPT_HB_HIB1", S("due", D(2024, 3, 31), D(2025, 1, 30))),
        (D(2024, 3, 31), "RV1", S("due", D(2024, 3, 31), D(2024, 6, 29))),
        (D(2024, 6, 30), "RV1", S("missed", None, None)),
        (D(2024, 10, 31), "MR1", S("due", D(2024, 10, 31), D(2025, 1, 30))),
        (D(2025, 1, 31), "MR1", S("catch_up", D(2025, 1, 31), D(2029, 1, 30))),
        (D(2025, 1, 30), "BCG", S("due", D(2024, 1, 31), D(2025, 1, 30))),
        (D(2025, 1, 31), "BCG", S("missed", None, None)),
    ],
)
def test_born_31_january(on: date, code: str, expected: DoseState) -> None:
    assert states(D(2024, 1, 31), {}, on)[code] == expected


@pytest.mark.parametrize(
    ("on", "code", "expected"),
    [
        # born 29 February 2024: 12 months is 28 February 2025
        (D(2024, 2, 29), "HB0", S("due", D(2024, 2, 29), D(2024, 3, 7))),
        (D(2024, 11, 28), "MR1", S("upcoming", D(2024, 11, 29), D(2025, 2, 27))),
        (D(2024, 11, 29), "MR1", S("due", D(2024, 11, 29), D(2025, 2, 27))),
        (D(2025, 2, 28), "MR1", S("catch_up", D(2025, 2, 28), D(2029, 2, 27))),
        (D(2024, 9, 29), "RV3", S("missed", None, None)),
    ],
)
def test_born_29_february(on: date, code: str, expected: DoseState) -> None:
    assert states(D(2024, 2, 29), {}, on)[code] == expected


def test_born_29_february_pcv3_at_12_months() -> None:
    given = {"PCV1": D(2024, 4, 29), "PCV2": D(2024, 5, 29)}
    got = states(D(2024, 2, 29), given, D(2025, 2, 27))
    assert got["PCV3"] == S("upcoming", D(2025, 2, 28), D(2026, 2, 27))
    assert states(D(2024, 2, 29), given, D(2025, 2, 28))["PCV3"] == S("due", D(2025, 2, 28), D(2026, 2, 27))


# --- a 13-month-old with nothing given ------------------------------------------------------

def test_thirteen_month_old_with_nothing_given() -> None:
    birth, on = D(2024, 2, 10), D(2025, 3, 10)
    end5 = D(2029, 2, 9)  # last day before 60 months
    expected = {
        "HB0": S("missed", None, None),
        "BCG": S("missed", None, None),
        "OPV1": S("catch_up", D(2025, 2, 10), end5),
        "DPT_HB_HIB1": S("catch_up", D(2025, 2, 10), end5),
        "OPV2": S("upcoming", D(2025, 4, 7), end5),  # 4 weeks after today's OPV1
        "PCV1": S("catch_up", D(2025, 2, 10), end5),
        "RV1": S("missed", None, None),
        "DPT_HB_HIB2": S("upcoming", D(2025, 4, 7), end5),
        "OPV3": S("upcoming", D(2025, 5, 5), end5),
        # first PCV at >= 12 months: a 2nd dose >= 8 weeks later before 24 months, no PCV3
        "PCV2": S("upcoming", D(2025, 5, 5), D(2026, 2, 9)),
        "RV2": S("missed", None, None),
        "DPT_HB_HIB3": S("upcoming", D(2025, 5, 5), end5),
        "OPV4": S("upcoming", D(2025, 6, 2), end5),
        "IPV1": S("catch_up", D(2025, 2, 10), end5),
        "RV3": S("missed", None, None),
        "MR1": S("catch_up", D(2025, 2, 10), end5),
        "IPV2": S("upcoming", D(2025, 7, 10), end5),  # 4 months after today's IPV1
        "DPT_HB_HIB4": S("upcoming", D(2026, 5, 5), end5),  # 12 months after DPT-HB-Hib 3
        "MR2": S("upcoming", D(2025, 9, 10), D(2026, 2, 9)),  # 6 months after MR1
    }
    assert states(birth, {}, on) == expected


def test_on_time_child_at_four_months() -> None:
    birth = D(2024, 1, 15)
    given = {
        "HB0": D(2024, 1, 15), "BCG": D(2024, 2, 10), "OPV1": D(2024, 2, 15),
        "DPT_HB_HIB1": D(2024, 3, 15), "OPV2": D(2024, 3, 15), "PCV1": D(2024, 3, 15), "RV1": D(2024, 3, 15),
        "DPT_HB_HIB2": D(2024, 4, 15), "OPV3": D(2024, 4, 15), "PCV2": D(2024, 4, 15), "RV2": D(2024, 4, 15),
    }
    got = states(birth, given, D(2024, 5, 20))
    for code, day in given.items():
        assert got[code] == S("given", None, None, day)
    assert got["DPT_HB_HIB3"] == S("due", D(2024, 5, 15), D(2025, 1, 14))
    assert got["RV3"] == S("due", D(2024, 5, 15), D(2024, 8, 14))
    assert got["IPV1"] == S("due", D(2024, 5, 15), D(2025, 1, 14))
    assert got["MR1"] == S("upcoming", D(2024, 10, 15), D(2025, 1, 14))
    assert got["PCV3"] == S("upcoming", D(2025, 1, 15), D(2026, 1, 14))
    assert list(got) == ALL_CODES


def test_given_after_the_day_asked_is_ignored() -> None:
    got = states(D(2024, 1, 15), {"OPV1": D(2024, 3, 1)}, D(2024, 2, 20))
    assert got["OPV1"] == S("due", D(2024, 2, 15), D(2025, 1, 14))


# --- rotavirus never from 7 months -------------------------------------------------------------

@pytest.mark.parametrize(
    ("given", "on", "rv2", "rv3"),
    [
        # RV1 late in its window (4 months 20 days): RV2 and RV3 follow 4 weeks apart, before 7 months
        ({"RV1": D(2024, 6, 4)}, D(2024, 7, 1),
         S("upcoming", D(2024, 7, 2), D(2024, 8, 14)), S("upcoming", D(2024, 7, 30), D(2024, 8, 14))),
        ({"RV1": D(2024, 6, 4), "RV2": D(2024, 7, 10)}, D(2024, 8, 14),
         S("given", None, None, D(2024, 7, 10)), S("due", D(2024, 8, 7), D(2024, 8, 14))),
        # at 7 months RV3 is no longer given
        ({"RV1": D(2024, 6, 4), "RV2": D(2024, 7, 10)}, D(2024, 8, 15),
         S("given", None, None, D(2024, 7, 10)), S("missed", None, None)),
        # RV2 so late that RV3 would fall at 7 months: missed at once
        ({"RV1": D(2024, 6, 4), "RV2": D(2024, 7, 25)}, D(2024, 7, 30),
         S("given", None, None, D(2024, 7, 25)), S("missed", None, None)),
    ],
)
def test_rotavirus_is_never_given_from_7_months(given: dict[str, date], on: date, rv2: DoseState,
                                                rv3: DoseState) -> None:
    got = states(D(2024, 1, 15), given, on)
    assert (got["RV2"], got["RV3"]) == (rv2, rv3)


def test_rotavirus_at_7_months_with_nothing_given() -> None:
    got = states(D(2024, 1, 15), {}, D(2024, 8, 15))
    assert [got[c].state for c in ("RV1", "RV2", "RV3")] == ["missed", "missed", "missed"]
    assert got["DPT_HB_HIB1"] == S("due", D(2024, 3, 15), D(2025, 1, 14))


# --- late earlier doses move the later ones ------------------------------------------------------

@pytest.mark.parametrize(
    ("given", "on", "expected"),
    [
        # IPV1 late (8 months 5 days): IPV2 4 months later, which is past 12 months -> catch-up window
        ({"IPV1": D(2024, 9, 20)}, D(2024, 12, 1), S("upcoming", D(2025, 1, 20), D(2029, 1, 14))),
        ({"IPV1": D(2024, 9, 20)}, D(2025, 1, 25), S("catch_up", D(2025, 1, 20), D(2029, 1, 14))),
        ({"IPV1": D(2024, 9, 20), "IPV2": D(2025, 1, 22)}, D(2025, 2, 1), S("given", None, None, D(2025, 1, 22))),
        # IPV1 on time: IPV2 at 9 months
        ({"IPV1": D(2024, 5, 15)}, D(2024, 10, 20), S("due", D(2024, 10, 15), D(2025, 1, 14))),
    ],
)
def test_ipv2_four_months_after_ipv1(given: dict[str, date], on: date, expected: DoseState) -> None:
    assert states(D(2024, 1, 15), given, on)["IPV2"] == expected


def test_late_dpt1_moves_the_series() -> None:
    got = states(D(2024, 1, 15), {"DPT_HB_HIB1": D(2024, 6, 20)}, D(2024, 7, 1))
    assert got["DPT_HB_HIB2"] == S("upcoming", D(2024, 7, 18), D(2025, 1, 14))
    assert got["DPT_HB_HIB3"] == S("upcoming", D(2024, 8, 15), D(2025, 1, 14))
    assert got["DPT_HB_HIB4"] == S("upcoming", D(2025, 8, 15), D(2026, 1, 14))


# --- invalid doses ---------------------------------------------------------------------------

def test_invalid_early_dose_is_repeated() -> None:
    # MR1 at 8 months 20 days, before its earliest age of 9 months
    got = states(D(2024, 1, 15), {"MR1": D(2024, 10, 5)}, D(2024, 10, 20))
    # repeat from the later of 9 months (15 Oct) and 4 weeks after the invalid dose (2 Nov)
    assert got["MR1"] == S("invalid", D(2024, 11, 2), D(2029, 1, 14), D(2024, 10, 5))
    assert got["MR2"] == S("upcoming", D(2025, 7, 15), D(2026, 1, 14))


def test_invalid_dose_before_six_weeks() -> None:
    got = states(D(2024, 1, 15), {"DPT_HB_HIB1": D(2024, 2, 19)}, D(2024, 3, 1))
    assert got["DPT_HB_HIB1"] == S("invalid", D(2024, 3, 18), D(2029, 1, 14), D(2024, 2, 19))
    assert got["DPT_HB_HIB2"] == S("upcoming", D(2024, 4, 15), D(2025, 1, 14))


def test_dose_too_soon_after_the_previous_one() -> None:
    given = {"DPT_HB_HIB1": D(2024, 3, 15), "DPT_HB_HIB2": D(2024, 3, 29)}  # 2 weeks apart
    got = states(D(2024, 1, 15), given, D(2024, 4, 1))
    assert got["DPT_HB_HIB1"] == S("given", None, None, D(2024, 3, 15))
    assert got["DPT_HB_HIB2"] == S("invalid", D(2024, 4, 26), D(2029, 1, 14), D(2024, 3, 29))
    assert got["DPT_HB_HIB3"] == S("upcoming", D(2024, 5, 24), D(2025, 1, 14))


def test_mr2_too_soon_after_mr1() -> None:
    given = {"MR1": D(2024, 10, 15), "MR2": D(2025, 3, 20)}  # 5 months apart; also before 18 months
    got = states(D(2024, 1, 15), given, D(2025, 4, 1))
    assert got["MR2"] == S("invalid", D(2025, 9, 20), D(2029, 1, 14), D(2025, 3, 20))


# --- PCV catch-up paths ------------------------------------------------------------------------

def test_pcv_missed_at_2_and_3_months() -> None:
    birth = D(2024, 1, 15)
    got = states(birth, {}, D(2024, 6, 3))
    assert got["PCV1"] == S("due", D(2024, 3, 15), D(2025, 1, 14))
    assert got["PCV2"] == S("upcoming", D(2024, 7, 1), D(2025, 1, 14))
    assert got["PCV3"] == S("upcoming", D(2025, 1, 15), D(2026, 1, 14))
    # two doses 4 weeks apart before 12 months, then PCV3 at 12 months >= 8 weeks after dose 2
    two = {"PCV1": D(2024, 6, 3), "PCV2": D(2024, 7, 1)}
    assert states(birth, two, D(2025, 1, 20))["PCV3"] == S("due", D(2025, 1, 15), D(2026, 1, 14))
    late = {"PCV1": D(2024, 10, 20), "PCV2": D(2024, 12, 10)}
    assert states(birth, late, D(2025, 1, 20))["PCV3"] == S("upcoming", D(2025, 2, 4), D(2026, 1, 14))
    soon = {"PCV1": D(2024, 6, 3), "PCV2": D(2024, 6, 24)}  # 3 weeks apart
    assert states(birth, soon, D(2024, 7, 1))["PCV2"] == S("invalid", D(2024, 7, 22), D(2029, 1, 14), D(2024, 6, 24))


def test_pcv_first_dose_at_12_months_or_more() -> None:
    birth = D(2024, 1, 15)
    given = {"PCV1": D(2025, 3, 1)}
    got = states(birth, given, D(2025, 3, 20))
    assert got["PCV2"] == S("upcoming", D(2025, 4, 26), D(2026, 1, 14))
    assert "PCV3" not in got
    assert states(birth, given, D(2025, 5, 1))["PCV2"] == S("catch_up", D(2025, 4, 26), D(2026, 1, 14))
    assert states(birth, given, D(2026, 1, 15))["PCV2"] == S("missed", None, None)
    soon = states(birth, {**given, "PCV2": D(2025, 4, 10)}, D(2025, 4, 20))  # under 8 weeks
    assert soon["PCV2"] == S("invalid", D(2025, 6, 5), D(2026, 1, 14), D(2025, 4, 10))
    done = states(birth, {**given, "PCV2": D(2025, 5, 1)}, D(2025, 6, 1))
    assert done["PCV2"] == S("given", None, None, D(2025, 5, 1))
    assert "PCV3" not in done


def test_pcv_never_vaccinated_after_24_months() -> None:
    birth = D(2022, 7, 15)
    got = states(birth, {}, D(2025, 1, 20))
    assert got["PCV1"] == S("catch_up", D(2023, 7, 15), D(2027, 7, 14))
    assert "PCV2" not in got and "PCV3" not in got
    one = states(birth, {"PCV1": D(2025, 2, 1)}, D(2025, 3, 1))
    assert one["PCV1"] == S("given", None, None, D(2025, 2, 1))
    assert "PCV2" not in one and "PCV3" not in one
    assert states(birth, {}, D(2027, 7, 15))["PCV1"] == S("missed", None, None)


# --- JE regional switch -------------------------------------------------------------------------

def test_je_off_by_default_and_on_by_switch() -> None:
    birth, on = D(2024, 1, 15), D(2024, 11, 20)
    assert "JE" not in states(birth, {}, on)
    assert states(birth, {}, on, je=True)["JE"] == S("due", D(2024, 11, 15), D(2024, 12, 14))
    assert states(birth, {}, D(2024, 12, 20), je=True)["JE"] == S("catch_up", D(2024, 12, 15), D(2029, 1, 14))
    bali = apply_overrides({"je": True})
    assert states(birth, {}, on, schedule=bali)["JE"] == S("due", D(2024, 11, 15), D(2024, 12, 14))
    assert "JE" not in states(birth, {}, on)  # the content schedule is unchanged


# --- overrides ---------------------------------------------------------------------------------

def test_overrides_from_a_dict() -> None:
    custom = apply_overrides({"je": True, "doses": {"MR2": {"recommended_months": 20},
                                                    "OPV1": {"catch_up_until_weeks": 100}}})
    got = states(D(2024, 1, 15), {"MR1": D(2024, 10, 15)}, D(2025, 8, 1), schedule=custom)
    assert got["MR2"] == S("upcoming", D(2025, 9, 15), D(2026, 1, 14))
    assert got["OPV1"] == S("catch_up", D(2025, 1, 15), D(2025, 12, 21))  # 101 weeks - 1 day
    assert "JE" in got
    assert custom.immunization.by_code["MR2"].recommended.months == 20
    assert load_schedule().immunization.by_code["MR2"].recommended.months == 18


def test_override_switches_and_services() -> None:
    custom = apply_overrides({"switches": {"je": True}, "services": {"OBAT_CACING": {"every_months": 4}}})
    assert custom.immunization.switches["je"] is True
    assert custom.services.by_code["OBAT_CACING"].every.months == 4


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"doses": {"MR2": {"recommended_monthz": 18}}}, "doses.MR2.recommended_monthz"),
        ({"doses": {"MR3": {"recommended_months": 18}}}, "doses.MR3"),
        ({"doses": {"MR2": {"recommended_months": "18"}}}, "doses.MR2.recommended_months"),
        ({"doses": {"MR2": {"recommended_months": 30}}}, "doses.MR2.recommended_months"),
        ({"doses": {"MR2": {"recommended_months": 12}}}, "doses.MR2.recommended_months"),  # before 18 m earliest
        ({"doses": {"MR2": {"series": "XX"}}}, "doses.MR2.series"),
        ({"jee": True}, "jee"),
        ({"je": "yes"}, "je"),
        ({"switches": {"polio": True}}, "switches.polio"),
        ({"services": {"SKILAS": {"every_months": 0}}}, "services.SKILAS.every_months"),
        ({"services": {"SKILAS": {"every_month": 6}}}, "services.SKILAS.every_month"),
    ],
)
def test_bad_override_names_the_key(overrides: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        apply_overrides(overrides)


# --- summary, labels, BIAS, Td ---------------------------------------------------------------

def test_child_summary_groups_and_sorts() -> None:
    birth = D(2024, 1, 15)
    given = {"HB0": D(2024, 1, 15), "BCG": D(2024, 2, 1), "OPV1": D(2024, 2, 15)}
    summary = child_summary(birth, given, D(2024, 5, 20))
    assert [c for c, _ in summary.given] == ["HB0", "BCG", "OPV1"]
    assert [c for c, _ in summary.due] == ["DPT_HB_HIB1", "OPV2", "PCV1", "RV1", "IPV1"]
    assert summary.due[0][1] == S("due", D(2024, 3, 15), D(2025, 1, 14))
    assert summary.catch_up == () and summary.missed == () and summary.invalid == ()
    assert [c for c, _ in summary.next_upcoming] == ["DPT_HB_HIB2", "OPV3", "PCV2", "RV2"]
    assert summary.next_upcoming[0][1].earliest == D(2024, 6, 17)


def test_every_code_has_a_label() -> None:
    schedule = load_schedule()
    assert {r.code for r in schedule.immunization.doses} == set(DOSE_LABELS)
    assert {r.code for r in schedule.services.rules} == set(SERVICE_LABELS)
    assert DOSE_LABELS["DPT_HB_HIB1"] == "DPT-HB-Hib 1"


def test_check_marks_and_sources_are_kept() -> None:
    doses = load_schedule().immunization.by_code
    assert doses["DPT_HB_HIB1"].checked == frozenset({"earliest"})
    assert doses["MR2"].checked == frozenset({"on_time_until", "catch_up_until", "min_interval"})
    assert doses["PCV3"].sources == ("p2p_pcv_2022", "buku_kia_windows")
    assert load_schedule().immunization.sources["buku_kia_windows"].check is True
    assert load_schedule() is load_schedule()  # read and validated once


def test_bias_by_grade_and_year() -> None:
    assert [d.code for d in bias_doses(1, "M", 2025)] == ["BIAS_MR", "BIAS_DT"]
    assert [(d.code, d.month) for d in bias_doses(5, "F", 2025)] == [("BIAS_TD5", 11), ("BIAS_HPV1", 8)]
    assert [d.code for d in bias_doses(5, "M", 2025)] == ["BIAS_TD5"]
    assert [d.code for d in bias_doses(6, "F", 2024)] == ["BIAS_HPV2"]
    assert bias_doses(6, "F", 2025) == ()
    assert hpv_catch_up_due(D(2010, 3, 1), "F", D(2025, 6, 1), hpv_given=False) is True
    assert hpv_catch_up_due(D(2010, 3, 1), "F", D(2025, 6, 1), hpv_given=True) is False
    assert hpv_catch_up_due(D(2011, 3, 1), "F", D(2025, 6, 1), hpv_given=False) is False


def test_td_status_counts_intervals() -> None:
    doses = [D(2020, 1, 1), D(2020, 1, 20), D(2020, 2, 5), D(2020, 9, 1)]  # 2nd is too soon
    status = td_status(doses, D(2021, 1, 1))
    assert status.level == 3
    assert status.counted == (D(2020, 1, 1), D(2020, 2, 5), D(2020, 9, 1))
    assert status.protected_until == D(2025, 9, 1)
    assert (status.next_dose, status.next_earliest) == ("T4", D(2021, 9, 1))
    assert td_status([], D(2021, 1, 1)).next_dose == "T1"
    full = td_status([D(2000, 1, 1), D(2000, 2, 1), D(2000, 8, 1), D(2001, 8, 1), D(2002, 8, 1)], D(2003, 1, 1))
    assert (full.level, full.protected_until, full.next_dose) == (5, D(2027, 8, 1), None)
