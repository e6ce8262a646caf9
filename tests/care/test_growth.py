"""Tests of care.growth: WHO z-scores against WHO's own numbers, categories, weight gain, adult BMI."""
from __future__ import annotations

import csv
import subprocess
import sys
from array import array
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the project is not installed in the venv; pytest does not add it
    sys.path.insert(0, str(ROOT))

from care import growth  # noqa: E402
from care.growth import (  # noqa: E402
    ADULT_BMI_LABELS,
    ADULT_BMI_LABELS_EN,
    CATEGORY_CUTS,
    CATEGORY_LABELS,
    CATEGORY_LABELS_EN,
    WEIGHT_GAIN_LABELS,
    adjusted_length,
    adult_bmi_category,
    age_in_days,
    bmi,
    categories,
    category,
    kbm_grams,
    weight_gain_status,
    zscores,
)

SURVEY = Path(__file__).resolve().parent / "data" / "who_demo_survey_odd.csv"
SURVEY_COLUMNS = {"wfa": "WEI", "lhfa": "LEN", "wflh": "WFL", "bfa": "BMI", "hcfa": "HC", "acfa": "AC"}
WEIGHT_BASED = ("wfa", "wflh", "bfa")


def _num(text: str) -> float | None:
    """CSV cell as float, None when empty."""
    return float(text) if text else None


def _survey_rows() -> list[dict[str, str]]:
    """The WHO demonstration survey rows (odd children)."""
    with open(SURVEY, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _expected(row: dict[str, str]) -> tuple[dict[str, float | None], set[str]]:
    """WHO's z-scores and flags of a survey row, as zscores() must give them."""
    age = int(row["_agedays"])
    scores: dict[str, float | None] = {}
    flags: set[str] = set()
    for key, col in SURVEY_COLUMNS.items():
        value = _num(row["_Z" + col])
        if age > 1826 or (row["oedema"] == "y" and key in WEIGHT_BASED):
            value = None  # igrowup's old tables ran to 1856 days; oedema: no weight-based index
        scores[key] = value
        if value is not None and row["_F" + col] == "1":
            flags.add(key)
    return scores, flags


def _survey_zscores(row: dict[str, str]) -> dict:
    """zscores() for a survey row: _agedays is the age, measure the position, oedema y/n."""
    return zscores(
        int(row["GENDER"]),
        int(row["_agedays"]),
        weight_kg=_num(row["WEIGHT"]),
        length_cm=_num(row["HEIGHT"]),
        measured=row["measure"] or None,
        head_cm=_num(row["HEAD"]),
        muac_cm=_num(row["MUAC"]),
        oedema=row["oedema"] == "y",
    )


SURVEY_ROWS = _survey_rows()


def test_survey_file_is_complete() -> None:
    """The copied test vector holds all 249 odd children and WHO's numbers for them."""
    assert len(SURVEY_ROWS) == 249
    assert sum(1 for r in SURVEY_ROWS if r["_ZWEI"]) == 243


@pytest.mark.parametrize("row", SURVEY_ROWS, ids=lambda r: f"id{r['id']}")
def test_survey_zscores_match_who(row: dict[str, str]) -> None:
    """Every z-score and flag of the WHO survey row is reproduced to 2 decimals."""
    scores, flags = _expected(row)
    result = _survey_zscores(row)
    assert {k: result[k] for k in SURVEY_COLUMNS} == scores
    assert result["flags"] == flags


def test_survey_ages_past_1826_days_are_out_of_range() -> None:
    """Children of 1827-1856 days get no z-score at all (the tables stop at 1826)."""
    old = [r for r in SURVEY_ROWS if int(r["_agedays"]) > 1826]
    assert [r["id"] for r in old] == ["95", "343"]
    for row in old:
        result = _survey_zscores(row)
        assert [result[k] for k in SURVEY_COLUMNS] == [None] * 6


@pytest.mark.parametrize(
    ("sex", "age", "kwargs", "key", "z", "flagged"),
    [
        (2, 1522, {"weight_kg": 17}, "wfa", 0.24, False),
        (1, 44, {"length_cm": 50}, "lhfa", -3.29, False),
        (1, 987, {"length_cm": 72.86, "measured": "l"}, "lhfa", -6.09, True),
        (2, 731, {"length_cm": 77.5}, "lhfa", -2.55, False),
        (2, 731, {"length_cm": 77.5, "measured": "h"}, "lhfa", -2.55, False),
    ],
)
def test_anthro_single_cases(sex: int, age: int, kwargs: dict, key: str, z: float, flagged: bool) -> None:
    """The single cases of anthro's own tests give the same z-score and flag."""
    result = zscores(sex, age, **kwargs)
    assert result[key] == z
    assert (key in result["flags"]) is flagged


def test_anthro_flag_case() -> None:
    """Girl, 1 day, 10.37 kg: anthro flags the weight-for-age as implausible (> 5)."""
    result = zscores(2, 1, weight_kg=10.37)
    assert result["wfa"] > 5
    assert result["flags"] == {"wfa"}


def test_anthro_length_for_age_formula() -> None:
    """Boy, 44 days, 50 cm equals the LMS formula with the table's row (L=1, M=56.4833, S=0.03492)."""
    assert zscores(1, 44, length_cm=50)["lhfa"] == round((50 / 56.4833 - 1) / 0.03492, 2)


@pytest.mark.parametrize(
    ("age", "measured", "expected"),
    [(730, "h", 100.7), (800, "h", 100.0), (730, "l", 100.0), (800, "l", 99.3),
     (731, "l", 99.3), (730, None, 100.0), (None, "l", 100.0)],
)
def test_adjusted_length(age: int | None, measured: str | None, expected: float) -> None:
    """Standing before 731 days adds 0.7 cm, lying from 731 days takes 0.7 cm off."""
    assert adjusted_length(age, 100.0, measured) == pytest.approx(expected, abs=1e-12)


def test_full_result_shape() -> None:
    """All six keys and the flags set come back; the flag set is empty when all is plausible."""
    result = zscores(1, 400, weight_kg=9.6, length_cm=75.0, measured="l", head_cm=46.0, muac_cm=14.5)
    assert set(result) == {"wfa", "lhfa", "wflh", "bfa", "hcfa", "acfa", "flags"}
    assert all(isinstance(result[k], float) for k in SURVEY_COLUMNS)
    assert result["flags"] == set()


@pytest.mark.parametrize(
    ("age", "expected_none"),
    [(1826, set()), (1827, set(SURVEY_COLUMNS)), (1856, set(SURVEY_COLUMNS)),
     (-1, set(SURVEY_COLUMNS)), (90, {"acfa"}), (91, set())],
)
def test_age_limits(age: int, expected_none: set[str]) -> None:
    """Z-scores stop after 1826 days; MUAC starts at 91 days; negative ages give nothing."""
    result = zscores(2, age, weight_kg=12.0, length_cm=90.0, measured="h", head_cm=48.0, muac_cm=15.0)
    assert {k for k in SURVEY_COLUMNS if result[k] is None} == expected_none


def test_oedema_blanks_weight_based_indices() -> None:
    """With oedema wfa, wflh and bfa are None, length, head and MUAC are still computed."""
    result = zscores(1, 300, weight_kg=8.0, length_cm=70.0, measured="l", head_cm=44.0,
                     muac_cm=13.0, oedema=True)
    assert [result[k] for k in WEIGHT_BASED] == [None, None, None]
    assert result["lhfa"] == zscores(1, 300, length_cm=70.0, measured="l")["lhfa"]
    assert result["hcfa"] is not None and result["acfa"] is not None


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [({"weight_kg": 0.0, "length_cm": 70.0}, {"wfa", "wflh", "bfa"}),
     ({"weight_kg": 8.0, "length_cm": 0.0}, {"lhfa", "wflh", "bfa"}),
     ({"weight_kg": 8.0}, {"lhfa", "wflh", "bfa"}),
     ({"length_cm": 70.0}, {"wfa", "wflh", "bfa"})],
)
def test_missing_or_nonpositive_inputs(kwargs: dict, missing: set[str]) -> None:
    """Missing or non-positive measurements give None for the indices that need them."""
    result = zscores(1, 300, measured="l", **kwargs)
    assert {k for k in ("wfa", "lhfa", "wflh", "bfa") if result[k] is None} == missing


@pytest.mark.parametrize(
    ("age", "length", "expected_none"),
    [(500, 44.9, True), (500, 45.0, False), (500, 110.0, False), (500, 110.1, True),
     (800, 64.9, True), (800, 65.0, False), (800, 120.0, False), (800, 120.1, True)],
)
def test_weight_for_length_height_ranges(age: int, length: float, expected_none: bool) -> None:
    """Weight-for-length covers 45-110 cm before 731 days, weight-for-height 65-120 cm after."""
    measured = "l" if age < 731 else "h"
    assert (zscores(1, age, weight_kg=10.0, length_cm=length, measured=measured)["wflh"] is None) is expected_none


def test_weight_for_height_table_chosen_by_age() -> None:
    """At 731 days the height table is used: same length, different M than the length table."""
    before = zscores(1, 730, weight_kg=11.0, length_cm=85.0, measured="l")["wflh"]
    after = zscores(1, 731, weight_kg=11.0, length_cm=85.0, measured="h")["wflh"]
    assert before == zscores(1, 100, weight_kg=11.0, length_cm=85.0, measured="l")["wflh"]
    assert after == zscores(1, 1500, weight_kg=11.0, length_cm=85.0, measured="h")["wflh"]
    assert before != after


@pytest.mark.parametrize(
    ("measured", "length", "table_len"),
    [("l", 90.0, True), ("h", 80.0, False), (None, 86.9, True), (None, 87.0, False)],
)
def test_weight_for_length_without_age(measured: str | None, length: float, table_len: bool) -> None:
    """Unknown age: the measure type picks the table, else length < 87 cm means weight-for-length."""
    result = zscores(1, None, weight_kg=12.0, length_cm=length, measured=measured)
    age = 100 if table_len else 1000
    same = zscores(1, age, weight_kg=12.0, length_cm=length, measured="l" if table_len else "h")
    assert result["wflh"] == same["wflh"] is not None
    assert result["wfa"] is None and result["bfa"] is None


def test_length_interpolated_between_rows() -> None:
    """A length with two decimals uses L, M, S interpolated between its 0.1-cm rows."""
    table = growth._tables()["wfl"]
    low, upp = table.lms(2, 723), table.lms(2, 724)
    l, m, s = (a + 0.4 * (b - a) for a, b in zip(low, upp))
    expected = round(((9.0 / m) ** l - 1) / (s * l), 2)
    assert zscores(2, 400, weight_kg=9.0, length_cm=72.34, measured="l")["wflh"] == expected


def test_restricted_zscore_beyond_three_sd() -> None:
    """Above +3 SD the z-score is 3 plus the distance over SD3 in units of SD3 - SD2 (not LMS)."""
    l, m, s = growth._tables()["wfa"].lms(1, 365)
    sd2, sd3 = (m * (1 + l * s * k) ** (1 / l) for k in (2, 3))
    weight = sd3 + 0.5 * (sd3 - sd2)
    assert zscores(1, 365, weight_kg=weight)["wfa"] == 3.5
    assert round(((weight / m) ** l - 1) / (s * l), 2) != 3.5


def test_restricted_zscore_below_minus_three_sd() -> None:
    """Below -3 SD the z-score is -3 minus the distance under SD-3 in units of SD-2 - SD-3."""
    l, m, s = growth._tables()["wfa"].lms(2, 700)
    sd2, sd3 = (m * (1 + l * s * k) ** (1 / l) for k in (-2, -3))
    assert zscores(2, 700, weight_kg=sd3 - 1.5 * (sd2 - sd3))["wfa"] == -4.5


def test_length_for_age_is_not_restricted() -> None:
    """Length-for-age uses the plain LMS formula even far beyond 3 SD."""
    l, m, s = growth._tables()["lhfa"].lms(1, 987)
    assert zscores(1, 987, length_cm=72.16)["lhfa"] == round(((72.16 / m) ** l - 1) / (s * l), 2)


@pytest.mark.parametrize(
    ("kwargs", "flags"),
    [({"weight_kg": 45.0}, {"wfa"}), ({"length_cm": 150.0}, {"lhfa"}),
     ({"head_cm": 60.0}, {"hcfa"}), ({"muac_cm": 30.0}, {"acfa"}),
     ({"weight_kg": 40.0, "length_cm": 90.0, "measured": "h"}, {"wfa", "wflh", "bfa"})],
)
def test_implausible_flags(kwargs: dict, flags: set[str]) -> None:
    """Values beyond the flag limits are reported in ``flags``."""
    assert zscores(1, 1000, **kwargs)["flags"] == flags


def _measure_at(index: str, sex: int, age: int, z: float) -> float:
    """The measurement whose (restricted beyond +-3 SD) z-score is ``z``."""
    l, m, s = growth._tables()[index].lms(sex, age)
    sd = lambda k: m * (1 + l * s * k) ** (1 / l)  # noqa: E731
    if z > 3 and index not in ("lhfa", "hcfa"):
        return sd(3) + (z - 3) * (sd(3) - sd(2))
    if z < -3 and index not in ("lhfa", "hcfa"):
        return sd(-3) + (z + 3) * (sd(-2) - sd(-3))
    return sd(z)


@pytest.mark.parametrize(
    ("index", "arg", "z", "flagged"),
    [
        ("wfa", "weight_kg", -5.9, False), ("wfa", "weight_kg", -6.1, True),
        ("wfa", "weight_kg", 4.9, False), ("wfa", "weight_kg", 5.1, True),
        ("lhfa", "length_cm", -5.9, False), ("lhfa", "length_cm", -6.1, True),
        ("lhfa", "length_cm", 5.9, False), ("lhfa", "length_cm", 6.1, True),
        ("hcfa", "head_cm", -4.9, False), ("hcfa", "head_cm", -5.1, True),
        ("hcfa", "head_cm", 4.9, False), ("hcfa", "head_cm", 5.1, True),
        ("acfa", "muac_cm", -4.9, False), ("acfa", "muac_cm", -5.1, True),
        ("acfa", "muac_cm", 4.9, False), ("acfa", "muac_cm", 5.1, True),
    ],
)
def test_flag_limits(index: str, arg: str, z: float, flagged: bool) -> None:
    """Flag limits: wfa below -6 or above 5, |lhfa| above 6, |hcfa| and |acfa| above 5."""
    result = zscores(2, 600, **{arg: _measure_at(index, 2, 600, z)}, measured="l")
    assert result[index] == z
    assert (index in result["flags"]) is flagged


def test_invalid_arguments() -> None:
    """Sex other than 1/2 and a measure other than l/h are rejected."""
    with pytest.raises(ValueError):
        zscores(3, 100, weight_kg=5.0)
    with pytest.raises(ValueError):
        zscores(1, 100, length_cm=60.0, measured="x")


def test_tables_are_compact_and_indexed() -> None:
    """The tables are array('d') rows indexed by day / tenth of cm, read once."""
    tables = growth._tables()
    assert tables is growth._tables()
    assert isinstance(tables["wfa"].by_sex[1], array)
    assert tables["wfa"].lms(1, 0) == (0.3487, 3.3464, 0.14602)
    assert tables["wfl"].lms(1, 451) == (-0.3521, 2.4577, 0.09176)
    assert tables["acfa"].lms(1, 90) is None and tables["acfa"].lms(1, 91) == (0.3933, 13.4779, 0.07474)
    assert tables["wfa"].lms(2, 1827) is None


def test_age_in_days() -> None:
    """Age in days is the plain date difference."""
    assert age_in_days(date(2024, 2, 29), date(2025, 3, 1)) == 366


# --------------------------------------------------------------------------- categories


@pytest.mark.parametrize(
    ("index", "z", "code"),
    [
        ("wfa", -3.01, "severely_underweight"), ("wfa", -3.0, "underweight"),
        ("wfa", -2.01, "underweight"), ("wfa", -2.0, "normal_weight"),
        ("wfa", 1.0, "normal_weight"), ("wfa", 1.01, "risk_of_overweight"),
        ("lhfa", -3.01, "severely_stunted"), ("lhfa", -3.0, "stunted"),
        ("lhfa", -2.01, "stunted"), ("lhfa", -2.0, "normal_height"),
        ("lhfa", 3.0, "normal_height"), ("lhfa", 3.01, "tall"),
        ("wflh", -3.01, "severely_wasted"), ("wflh", -3.0, "wasted"),
        ("wflh", -2.01, "wasted"), ("wflh", -2.0, "normal_nutrition"),
        ("wflh", 1.0, "normal_nutrition"), ("wflh", 1.01, "possible_risk_of_overweight"),
        ("wflh", 2.0, "possible_risk_of_overweight"), ("wflh", 2.01, "overweight"),
        ("wflh", 3.0, "overweight"), ("wflh", 3.01, "obese"),
        ("bfa", -3.01, "severely_wasted"), ("bfa", -3.0, "wasted"),
        ("bfa", -2.0, "normal_nutrition"), ("bfa", 1.01, "possible_risk_of_overweight"),
        ("bfa", 2.01, "overweight"), ("bfa", 3.01, "obese"),
        ("wfa", None, None),
    ],
)
def test_category_boundaries(index: str, z: float | None, code: str | None) -> None:
    """Permenkes 2/2020 categories at their exact cut-offs."""
    assert category(index, z) == code


def test_categories_of_a_result() -> None:
    """categories() names the wfa, lhfa, wflh and bfa entries of a zscores() result."""
    result = {"wfa": -3.5, "lhfa": -2.5, "wflh": 0.0, "bfa": 2.5, "hcfa": 0.0, "acfa": None,
              "flags": set()}
    assert categories(result) == {"wfa": "severely_underweight", "lhfa": "stunted",
                                  "wflh": "normal_nutrition", "bfa": "overweight"}
    assert categories(zscores(1, 400))["wfa"] is None


def test_category_labels_cover_every_code() -> None:
    """Every category code has an Indonesian msgid and an English text."""
    codes = {code for cuts in CATEGORY_CUTS.values() for code, _, _ in cuts}
    assert codes == set(CATEGORY_LABELS) == set(CATEGORY_LABELS_EN)
    assert CATEGORY_LABELS["severely_stunted"] == "Sangat pendek"
    assert CATEGORY_LABELS["normal_nutrition"] == "Gizi baik"
    assert set(ADULT_BMI_LABELS) == set(ADULT_BMI_LABELS_EN)
    assert set(WEIGHT_GAIN_LABELS) == {"N", "T", "O", "B", "2T"}


# --------------------------------------------------------------------------- weight gain (N/T/O/B/2T)

BORN = date(2022, 11, 30)


@pytest.mark.parametrize(
    ("months", "grams"),
    [(0, 800), (1, 800), (2, 900), (3, 800), (4, 600), (5, 500), (6, 400), (7, 300),
     (10, 300), (11, 200), (24, 200), (59, 200)],
)
def test_kbm_table(months: int, grams: int) -> None:
    """KBM by completed months of age (Buku KIA)."""
    assert kbm_grams(months) == grams


@pytest.mark.parametrize(
    ("history", "on", "status"),
    [
        # first weighing ever
        ([(date(2023, 1, 31), 5.0)], date(2023, 1, 31), "B"),
        # two weighings in the same month and nothing before: still new
        ([(date(2023, 1, 1), 4.5), (date(2023, 1, 31), 5.0)], date(2023, 1, 31), "B"),
        # 31 Jan (2 months) -> 28 Feb (3 months, KBM 800): consecutive months, month-end birthday
        ([(date(2023, 1, 31), 5.0), (date(2023, 2, 28), 5.8)], date(2023, 2, 28), "N"),
        ([(date(2023, 1, 31), 5.0), (date(2023, 2, 28), 5.799)], date(2023, 2, 28), "T"),
        # 27 Feb is still 2 months (KBM 900)
        ([(date(2023, 1, 31), 5.0), (date(2023, 2, 27), 5.8)], date(2023, 2, 27), "T"),
        ([(date(2023, 1, 31), 5.0), (date(2023, 2, 27), 5.9)], date(2023, 2, 27), "N"),
        # 31 Jan -> 1 Mar skips February
        ([(date(2023, 1, 31), 5.0), (date(2023, 3, 1), 6.0)], date(2023, 3, 1), "O"),
        # judged on a later day of the same month
        ([(date(2023, 1, 31), 5.0), (date(2023, 2, 1), 5.9)], date(2023, 2, 28), "N"),
        # not weighed in the month of ``on``
        ([(date(2023, 1, 31), 5.0)], date(2023, 2, 28), None),
        # weighings after ``on`` are not seen
        ([(date(2023, 1, 31), 5.0), (date(2023, 2, 20), 6.0)], date(2023, 2, 10), None),
        # weight lost or unchanged
        ([(date(2023, 5, 10), 7.0), (date(2023, 6, 10), 6.9)], date(2023, 6, 10), "T"),
        ([(date(2023, 5, 10), 7.0), (date(2023, 6, 10), 7.0)], date(2023, 6, 10), "T"),
        # exactly the KBM (8 months: 300 g) is N, 10 g less is T
        ([(date(2023, 7, 5), 7.1), (date(2023, 8, 5), 7.4)], date(2023, 8, 5), "N"),
        ([(date(2023, 7, 5), 7.1), (date(2023, 8, 5), 7.39)], date(2023, 8, 5), "T"),
        # the last weighing of the previous month counts
        ([(date(2023, 7, 1), 7.5), (date(2023, 7, 30), 7.0), (date(2023, 8, 5), 7.3)],
         date(2023, 8, 5), "N"),
        # December -> January across the year end (13 months, KBM 200)
        ([(date(2023, 12, 31), 9.0), (date(2024, 1, 1), 9.2)], date(2024, 1, 1), "N"),
        ([(date(2023, 12, 31), 9.0), (date(2024, 1, 1), 9.19)], date(2024, 1, 1), "T"),
    ],
)
def test_weight_gain_status(history: list[tuple[date, float]], on: date, status: str | None) -> None:
    """N / T / O / B by the KBM of the age at this month's weighing."""
    assert weight_gain_status(1, BORN, history, on) == status


def test_weight_gain_float_difference() -> None:
    """A gain of exactly the KBM is N although 6.1 - 5.3 is 0.7999... in binary floating point."""
    born = date(2023, 1, 10)
    history = [(date(2023, 1, 12), 5.3), (date(2023, 2, 10), 6.1)]  # 1 month old: KBM 800
    assert 6.1 - 5.3 < 0.8
    assert weight_gain_status(2, born, history, date(2023, 2, 10)) == "N"


def test_weight_gain_age_zero_uses_first_month_kbm() -> None:
    """A baby under one month weighed in two calendar months needs 800 g."""
    born = date(2023, 1, 20)
    history = [(date(2023, 1, 25), 3.2), (date(2023, 2, 15), 4.0)]
    assert weight_gain_status(1, born, history, date(2023, 2, 15)) == "N"
    history[1] = (date(2023, 2, 15), 3.9)
    assert weight_gain_status(1, born, history, date(2023, 2, 15)) == "T"


@pytest.mark.parametrize(
    ("weights", "status"),
    [
        ((8.0, 8.0, 8.0), "2T"),  # T in February and again in March
        ((8.0, 8.5, 8.5), "T"),  # N then T
        ((8.0, 8.0, 8.5), "N"),  # T then N
        ((None, 8.0, 8.0), "T"),  # B then T
    ],
)
def test_two_months_not_gaining(weights: tuple[float | None, ...], status: str) -> None:
    """2T when the child did not gain enough two months running (here 31 Jan, 28 Feb, 31 Mar)."""
    days = (date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31))
    history = [(d, w) for d, w in zip(days, weights) if w is not None]
    assert weight_gain_status(2, date(2023, 1, 31), history, date(2024, 3, 31)) == status


def test_two_months_not_gaining_needs_consecutive_months() -> None:
    """A T after an O (a month skipped before) is a plain T."""
    history = [(date(2023, 10, 5), 9.0), (date(2023, 12, 5), 9.0), (date(2024, 1, 5), 9.0)]
    assert weight_gain_status(1, date(2022, 6, 1), history, date(2023, 12, 5)) == "O"
    assert weight_gain_status(1, date(2022, 6, 1), history, date(2024, 1, 5)) == "T"


def test_weight_gain_rejects_bad_sex() -> None:
    """Sex must be 1 or 2."""
    with pytest.raises(ValueError):
        weight_gain_status(0, BORN, [], date(2023, 1, 1))


# --------------------------------------------------------------------------- adult BMI


def test_bmi_value() -> None:
    """BMI is kg / m²."""
    assert bmi(72.25, 170.0) == pytest.approx(25.0)
    assert round(bmi(50.0, 160.0), 2) == 19.53


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (16.94, "bmi_very_thin"), (16.95, "bmi_thin"), (17.0, "bmi_thin"),
        (18.4, "bmi_thin"), (18.44, "bmi_thin"), (18.45, "bmi_normal"), (18.5, "bmi_normal"),
        (25.0, "bmi_normal"), (25.04, "bmi_normal"), (25.05, "bmi_overweight"), (25.1, "bmi_overweight"),
        (27.0, "bmi_overweight"), (27.04, "bmi_overweight"), (27.05, "bmi_obese"), (35.0, "bmi_obese"),
    ],
)
def test_adult_bmi_category(value: float, code: str) -> None:
    """Kemenkes cut-offs on the BMI rounded half up to one decimal."""
    assert adult_bmi_category(value) == code


def test_tables_read_lazily() -> None:
    """Importing care.growth reads no table; the first zscores() call does, once."""
    code = ("import care.growth as g; assert g._tables.cache_info().currsize == 0; "
            "g.zscores(1, 10, weight_kg=3.5); g.zscores(2, 20, weight_kg=3.5); "
            "info = g._tables.cache_info(); assert info.misses == 1 and info.hits >= 1, info; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
