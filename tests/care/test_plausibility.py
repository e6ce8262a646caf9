"""Plausibility: WHO implausible z-scores, impossible weight changes, shrinking length, adult ranges."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from care.growth import FLAG_LIMITS, zscores
from care.plausibility import REFUSED_INDEXES, Concern, check_adult, check_child, check_doses, impossible_size

BIRTH = date(2025, 1, 10)
ON = date(2025, 10, 10)  # 273 days old
MONTH_AGO = ON - timedelta(days=30)


def codes(concerns: list[Concern]) -> list[str]:
    """Just the codes, in order."""
    return [c.code for c in concerns]


# --------------------------------------------------------------------------- z-scores


def test_plausible_child_has_no_concerns():
    got = check_child(1, BIRTH, ON, weight_kg=8.5, length_cm=71, measured="l", head_cm=44, muac_cm=14.5,
                      previous=[(MONTH_AGO, 8.1)], previous_lengths=[(MONTH_AGO, 69.5)])
    assert got == []


@pytest.mark.parametrize(
    ("measures", "expected"),
    [
        ({"weight_kg": 82, "length_cm": 71, "measured": "l"},  # 8,2 typed as 82
         ["implausible_wfa", "implausible_wflh", "implausible_bfa"]),
        ({"weight_kg": 8.5, "length_cm": 117, "measured": "l"}, ["implausible_lhfa", "implausible_bfa"]),
        ({"weight_kg": 2.0}, ["implausible_wfa"]),
        ({"head_cm": 60}, ["implausible_hcfa"]),
        ({"muac_cm": 30}, ["implausible_acfa"]),
        ({"weight_kg": 8.5, "length_cm": 71, "measured": "l"}, []),
    ],
)
def test_flagged_zscores(measures, expected):
    assert codes(check_child(1, BIRTH, ON, **measures)) == expected


def test_zscore_concern_carries_the_numbers_of_care_growth():
    (concern,) = check_child(2, BIRTH, ON, weight_kg=2.0)
    z = zscores(2, (ON - BIRTH).days, weight_kg=2.0)["wfa"]
    assert concern == Concern("implausible_wfa", {"index": "wfa", "z": z, "low": FLAG_LIMITS["wfa"][0],
                                                  "high": FLAG_LIMITS["wfa"][1]})
    assert z < FLAG_LIMITS["wfa"][0]


def test_concern_is_hashable_and_frozen():
    concern = Concern("implausible_bp", {"sbp": 300, "dbp": 80})
    assert hash(concern) == hash(Concern("implausible_bp", {"sbp": 1}))
    with pytest.raises(AttributeError):
        concern.code = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- weight changes


@pytest.mark.parametrize(
    ("birth", "previous", "kg", "jump"),
    [
        # 9 months old, a month apart: up to 1.5 kg/month (+0.2 kg scale allowance) up, 1.0 kg down
        (BIRTH, [(MONTH_AGO, 8.1)], 8.5, False),  # normal gain
        (BIRTH, [(MONTH_AGO, 8.1)], 8.1, False),  # no gain (T, not implausible)
        (BIRTH, [(MONTH_AGO, 8.1)], 9.7, False),  # +1.6: fast, possible
        (BIRTH, [(MONTH_AGO, 8.1)], 10.5, True),  # +2.4 in a month
        (BIRTH, [(MONTH_AGO, 8.1)], 18.1, True),  # 18,1 for 8,1
        (BIRTH, [(MONTH_AGO, 8.5)], 7.5, False),  # -1.0 in 30 days: ill, not impossible
        (BIRTH, [(MONTH_AGO, 8.5)], 7.2, True),  # -1.3 in 30 days
        (BIRTH, [(MONTH_AGO, 8.5)], 5.8, True),  # 5,8 for 8,5
        # shorter windows scale down; at least 7 days count
        (BIRTH, [(ON - timedelta(days=3), 8.1)], 8.6, False),  # +0.5 (limit 0.545)
        (BIRTH, [(ON - timedelta(days=3), 8.1)], 8.7, True),  # +0.6
        (BIRTH, [(ON, 8.1)], 8.7, True),  # weighed again the same day
        (BIRTH, [(ON - timedelta(days=20), 8.0)], 7.3, False),  # -0.7 in 20 days (< 10 %)
        (BIRTH, [(ON - timedelta(days=20), 8.0)], 7.1, True),  # -0.9 in 20 days: more than 10 %
        # longer windows allow more
        (BIRTH, [(ON - timedelta(days=91), 6.5)], 11.0, False),  # +4.5 in 3 months (limit 4.68)
        (BIRTH, [(ON - timedelta(days=91), 6.5)], 11.5, True),
        # under 3 months at the last weighing: up to 2.5 kg/month
        (date(2025, 8, 10), [(date(2025, 9, 10), 4.2)], 6.2, False),  # +2.0 at 1-2 months
        (date(2025, 8, 10), [(date(2025, 9, 10), 4.2)], 7.2, True),  # +3.0
        (date(2025, 8, 10), [(date(2025, 9, 20), 4.2)], 3.7, True),  # -0.5 (12 %) in 20 days
        (date(2025, 8, 10), [(date(2025, 9, 10), 4.2)], 3.7, False),  # the same in 30 days: within 1.0 kg/month
        (date(2025, 9, 30), [(date(2025, 9, 30), 3.0)], 2.65, True),  # newborn -12 % at 10 days
        (date(2025, 9, 30), [(date(2025, 9, 30), 3.0)], 2.8, False),  # newborn -7 % at 10 days
        # which weighing counts: the latest on or before the visit
        (BIRTH, [(MONTH_AGO, 8.1), (date(2025, 3, 10), 5.0)], 8.5, False),
        (BIRTH, [(date(2025, 3, 10), 5.0), (MONTH_AGO, 8.1)], 8.5, False),
        (BIRTH, [(MONTH_AGO, 8.1), (ON + timedelta(days=30), 15.0)], 8.5, False),  # a later one is ignored
        (BIRTH, [], 8.5, False),
    ],
)
def test_weight_jump(birth, previous, kg, jump):
    got = codes(check_child(1, birth, ON, weight_kg=kg, previous=previous))
    assert ("weight_jump" in got) is jump


def test_weight_jump_detail():
    (concern,) = check_child(1, BIRTH, ON, weight_kg=10.5, previous=[(MONTH_AGO, 8.1)])
    assert concern.code == "weight_jump"
    assert concern.detail == {"previous_date": MONTH_AGO, "previous_kg": 8.1, "kg": 10.5, "days": 30,
                              "change_kg": 2.4, "limit_kg": round(1.5 * 30 / 30.4375 + 0.2, 3)}


def test_weight_loss_detail_has_a_negative_limit():
    (concern,) = check_child(1, BIRTH, ON, weight_kg=7.1, previous=[(ON - timedelta(days=20), 8.0)])
    assert concern.detail["change_kg"] == -0.9 and concern.detail["limit_kg"] == -0.8


def test_no_weight_no_weight_jump():
    assert check_child(1, BIRTH, ON, length_cm=71, measured="l", previous=[(MONTH_AGO, 3.0)]) == []


# --------------------------------------------------------------------------- length


@pytest.mark.parametrize(
    ("previous_lengths", "cm", "shrink"),
    [
        ([(MONTH_AGO, 72.0)], 71.0, False),  # 1 cm less: measuring error
        ([(MONTH_AGO, 72.0)], 70.5, False),  # 1.5 cm: still allowed
        ([(MONTH_AGO, 72.0)], 70.4, True),
        ([(MONTH_AGO, 72.0)], 27.0, True),  # 27 for 72
        ([(date(2025, 5, 10), 73.0), (MONTH_AGO, 70.0)], 71.0, True),  # below the longest earlier one
        ([(ON + timedelta(days=30), 80.0)], 71.0, False),  # a later one is ignored
        ([], 71.0, False),
    ],
)
def test_length_shrink(previous_lengths, cm, shrink):
    got = codes(check_child(1, BIRTH, ON, length_cm=cm, measured="l", previous_lengths=previous_lengths))
    assert ("length_shrink" in got) is shrink


def test_length_shrink_detail():
    concerns = check_child(1, BIRTH, ON, length_cm=68.0, measured="l", previous_lengths=[(MONTH_AGO, 70.0)])
    assert concerns == [Concern("length_shrink", {"previous_date": MONTH_AGO, "previous_cm": 70.0,
                                                  "cm": 68.0, "shrink_cm": 2.0})]


def test_all_child_concerns_in_order():
    got = check_child(1, BIRTH, ON, weight_kg=82, length_cm=7.1, measured="l",
                      previous=[(MONTH_AGO, 8.1)], previous_lengths=[(MONTH_AGO, 70.0)])
    assert codes(got)[-2:] == ["weight_jump", "length_shrink"]
    assert codes(got)[0] == "implausible_wfa"


# --------------------------------------------------------------------------- adults


@pytest.mark.parametrize(
    ("measures", "expected"),
    [
        ({}, []),
        ({"sbp": 120, "dbp": 80, "glucose": 110, "waist_cm": 85, "muac_cm": 24, "weight_kg": 55}, []),
        ({"sbp": 180, "dbp": 110}, []),  # high, not implausible
        ({"sbp": 60, "dbp": 30}, []),  # bounds are plausible
        ({"sbp": 260, "dbp": 160}, []),
        ({"sbp": 59, "dbp": 40}, ["implausible_bp"]),
        ({"sbp": 261, "dbp": 100}, ["implausible_bp"]),
        ({"sbp": 1200, "dbp": 80}, ["implausible_bp"]),  # 120 typed with an extra 0
        ({"sbp": 120, "dbp": 29}, ["implausible_bp"]),
        ({"sbp": 200, "dbp": 161}, ["implausible_bp"]),
        ({"sbp": 80, "dbp": 120}, ["implausible_bp"]),  # swapped
        ({"sbp": 90, "dbp": 90}, ["implausible_bp"]),
        ({"sbp": 300}, ["implausible_bp"]),
        ({"dbp": 20}, ["implausible_bp"]),
        ({"sbp": 120}, []),
        ({"glucose": 19}, ["implausible_glucose"]),
        ({"glucose": 6.5}, ["implausible_glucose"]),  # mmol/L typed for mg/dL
        ({"glucose": 801}, ["implausible_glucose"]),
        ({"glucose": 20}, []),
        ({"glucose": 800}, []),
        ({"waist_cm": 39}, ["implausible_waist"]),
        ({"waist_cm": 201}, ["implausible_waist"]),
        ({"muac_cm": 9.9}, ["implausible_muac"]),
        ({"muac_cm": 60.1}, ["implausible_muac"]),
        ({"muac_cm": 23.5}, []),
        ({"weight_kg": 19}, ["implausible_weight"]),
        ({"weight_kg": 251}, ["implausible_weight"]),
        ({"sbp": 80, "dbp": 120, "glucose": 1000, "waist_cm": 8, "muac_cm": 240, "weight_kg": 5.5},
         ["implausible_bp", "implausible_glucose", "implausible_waist", "implausible_muac", "implausible_weight"]),
    ],
)
def test_adult_ranges(measures, expected):
    assert codes(check_adult(**measures)) == expected


def test_adult_concern_detail():
    assert check_adult(sbp=80, dbp=120, glucose=6.5) == [
        Concern("implausible_bp", {"sbp": 80, "dbp": 120}),
        Concern("implausible_glucose", {"value": 6.5, "low": 20, "high": 800}),
    ]


# --------------------------------------------------------------------------- sizes refused at once

ELEVEN_MONTHS = (date(2025, 12, 20), date(2026, 11, 23))


@pytest.mark.parametrize(
    ("measures", "expected"),
    [
        ({"weight_kg": 82, "length_cm": 71, "measured": "l"}, ("weight_kg", 82, 8.2)),  # the example
        ({"weight_kg": 820, "length_cm": 71, "measured": "l"}, ("weight_kg", 820, 8.2)),
        ({"weight_kg": 0.82, "length_cm": 71, "measured": "l"}, ("weight_kg", 0.82, 8.2)),
        ({"weight_kg": 82}, ("weight_kg", 82, 8.2)),
        ({"weight_kg": 8.2, "length_cm": 710, "measured": "l"}, ("length_cm", 710, 71.0)),
        ({"weight_kg": 8.2, "length_cm": 7.1, "measured": "l"}, ("length_cm", 7.1, 71.0)),
        ({"length_cm": 7.1, "measured": "l"}, ("length_cm", 7.1, 71.0)),
        ({"weight_kg": 82, "length_cm": 710, "measured": "l"}, (None, None, None)),  # two slips: both named
        ({"weight_kg": 40, "length_cm": 71, "measured": "l"}, ("weight_kg", 40, None)),  # no slip of the comma explains 40
    ],
)
def test_a_size_beyond_the_who_flag_limits_is_refused_with_the_likely_slip(measures, expected):
    refusal = impossible_size(1, *ELEVEN_MONTHS, **measures)
    assert refusal is not None and (refusal.measure, refusal.value, refusal.suggestion) == expected
    scores = zscores(1, (ELEVEN_MONTHS[1] - ELEVEN_MONTHS[0]).days, **measures)
    assert set(refusal.indexes) == scores["flags"] & set(REFUSED_INDEXES)
    for index in refusal.indexes:
        low, high = FLAG_LIMITS[index]
        assert not low <= scores[index] <= high


@pytest.mark.parametrize(
    "measures",
    [
        {"weight_kg": 8.2, "length_cm": 71, "measured": "l"},
        {"weight_kg": 12.0, "length_cm": 71, "measured": "l"},  # obese (WHZ +3,8), possible: not refused
        {"weight_kg": 6.0},
        {},
    ],
)
def test_possible_sizes_are_not_refused(measures):
    assert impossible_size(1, *ELEVEN_MONTHS, **measures) is None


def test_the_suggestion_is_plausible_for_the_age():
    refusal = impossible_size(2, *ELEVEN_MONTHS, weight_kg=75, length_cm=70, measured="l")
    scores = zscores(2, (ELEVEN_MONTHS[1] - ELEVEN_MONTHS[0]).days, weight_kg=refusal.suggestion, length_cm=70, measured="l")
    assert refusal.suggestion == 7.5 and not scores["flags"]


# --------------------------------------------------------------------------- doses against the schedule

KID = date(2026, 3, 1)  # 8 months old on 23 November 2026
NOV = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("given", "new", "approximate", "expected"),
    [
        ({}, {"DPT_HB_HIB1": NOV, "PCV1": NOV, "OPV1": NOV}, (), []),
        ({"DPT_HB_HIB1": date(2026, 10, 1)}, {"DPT_HB_HIB2": NOV}, (), []),  # 53 days later
        ({"DPT_HB_HIB1": NOV}, {"DPT_HB_HIB2": NOV}, (), ["dose_too_soon"]),  # the same day
        ({}, {"DPT_HB_HIB1": NOV, "DPT_HB_HIB2": NOV}, (), ["dose_too_soon"]),  # both at this visit
        ({"DPT_HB_HIB1": date(2026, 11, 1)}, {"DPT_HB_HIB2": NOV}, (), ["dose_too_soon"]),  # 22 days
        ({"DPT_HB_HIB1": date(2026, 10, 26)}, {"DPT_HB_HIB2": NOV}, (), []),  # 28 days: the minimum
        ({"DPT_HB_HIB1": date(2026, 11, 1)}, {"DPT_HB_HIB2": NOV}, ("DPT_HB_HIB1",), []),  # an approximate date is not judged
        ({}, {"PCV2": NOV}, (), ["dose_out_of_order"]),
        ({"PCV2": date(2026, 10, 1)}, {"PCV1": date(2026, 9, 1), "PCV3": NOV}, (),
         ["dose_too_early", "dose_too_soon"]),  # PCV 3 not before 12 months, nor 8 weeks after PCV 2
        ({}, {"DPT_HB_HIB1": date(2026, 4, 1)}, (), ["dose_too_early"]),  # 4 weeks old: not before 6 weeks
        ({}, {"MR1": NOV}, (), ["dose_too_early"]),  # 8 months: not before 9
        ({}, {"RV1": NOV}, (), ["dose_too_old"]),  # no rotavirus from 7 months
        ({}, {"BCG": date(2026, 9, 1)}, (), []),
        ({"BCG": date(2026, 3, 5)}, {"BCG": NOV}, (), ["dose_again"]),
        ({"BCG": NOV}, {"BCG": NOV}, (), []),  # the same record
        ({}, {"RV1": date(2026, 6, 1)}, ("RV1",), []),  # an approximate date: no age check either
    ],
)
def test_doses_against_the_schedule(given, new, approximate, expected):
    assert codes(check_doses(KID, given, new, approximate=approximate)) == expected


def test_dose_concern_detail_names_the_dose_and_the_dates():
    (concern,) = check_doses(KID, {"DPT_HB_HIB1": date(2026, 11, 1)}, {"DPT_HB_HIB2": NOV})
    assert concern == Concern("dose_too_soon", {"dose": "DPT_HB_HIB2", "on": NOV, "previous": "DPT_HB_HIB1",
                                                "previous_on": date(2026, 11, 1), "earliest": date(2026, 11, 29)})
    (order,) = check_doses(KID, {}, {"PCV2": NOV})
    assert order.detail == {"dose": "PCV2", "on": NOV, "previous": "PCV1"}


def test_a_catch_up_path_changes_the_interval():
    """A first PCV at 12-23 months puts PCV 2 at least 8 weeks later (not 4)."""
    birth = date(2025, 6, 1)
    first = date(2026, 9, 1)
    assert codes(check_doses(birth, {"PCV1": first}, {"PCV2": first + timedelta(weeks=5)})) == ["dose_too_soon"]
    assert check_doses(birth, {"PCV1": first}, {"PCV2": first + timedelta(weeks=8)}) == []
    assert check_doses(date(2026, 1, 1), {"PCV1": date(2026, 3, 1)}, {"PCV2": date(2026, 4, 5)}) == []
