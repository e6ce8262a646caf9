"""Child growth (CARE.md section 4): WHO z-scores, Permenkes 2/2020 categories, weight gain, adult BMI.

Z-scores follow the WHO Child Growth Standards as computed by WHO's ``anthro`` R package (rules in
``content/who_growth/SOURCE.md`` and the shared who-growth README):

* z = ((y/M)^L - 1) / (S*L), rounded to 2 decimals; weight-for-age, weight-for-length/height,
  BMI-for-age and MUAC-for-age use the restricted z beyond +-3 SD, length/height-for-age and head
  circumference-for-age do not.
* Ages are whole days; z-scores only for 0-1826 days (MUAC from 91 days) and age < 60 months.
* Lying length before 731 days, standing height from 731 days: a height measured standing before
  731 days gets +0.7 cm, a length measured lying from 731 days gets -0.7 cm. (This is the shared
  README's rule; anthro's ``anthro_zscores()`` additionally treats "h" before 9 months as an
  implausible position and then adds nothing. ``measured=None`` means no adjustment.)
* Weight-for-length (45-110 cm) before 731 days, weight-for-height (65-120 cm) from 731 days;
  lengths with more than one decimal interpolate L, M, S between the two 0.1-cm rows.
* With oedema the weight-based indices (wfa, wflh, bfa) are not computed. An unknown age (None)
  leaves only weight-for-length/height (table by ``measured``, else length < 87 cm); a negative
  age gives nothing.
* Implausible: |lhfa| > 6; wfa < -6 or > 5; |wflh|, |bfa|, |hcfa|, |acfa| > 5.

The tables are read once, on first use, from ``content/who_growth`` into ``array('d')`` so that every
lookup is an index. Nothing else is read and nothing outside ``care`` is imported.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from .stages import age_months


def N_(s: str) -> str:
    """Mark a msgid for extraction without translating it here."""
    return s


TABLE_DIR = Path(__file__).resolve().parent.parent / "content" / "who_growth"

DAYS_PER_MONTH = 30.4375
MAX_AGE_DAYS = 1826  # last row of the tables; anthro gives NA for 1827-1856 with these tables
MUAC_MIN_AGE_DAYS = 91
STANDING_FROM_DAYS = 731  # 24 months: lying length before, standing height from here on
LYING_STANDING_CM = 0.7
WFL_RANGE_CM = (45.0, 110.0)
WFH_RANGE_CM = (65.0, 120.0)
WFL_WFH_SPLIT_CM = 87.0  # only when the age is unknown and the measure type too

INDEX_KEYS: tuple[str, ...] = ("wfa", "lhfa", "wflh", "bfa", "hcfa", "acfa")

# Implausible z-scores (anthro): (lowest plausible, highest plausible).
FLAG_LIMITS: dict[str, tuple[float, float]] = {
    "wfa": (-6.0, 5.0),
    "lhfa": (-6.0, 6.0),
    "wflh": (-5.0, 5.0),
    "bfa": (-5.0, 5.0),
    "hcfa": (-5.0, 5.0),
    "acfa": (-5.0, 5.0),
}


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True, slots=True)
class LmsTable:
    """One WHO table: per sex an interleaved L, M, S array indexed by key - first."""

    first: int
    by_sex: dict[int, array]

    def lms(self, sex: int, key: int) -> tuple[float, float, float] | None:
        """L, M, S for integer key (age in days or length in tenths of cm), None outside the table."""
        values = self.by_sex[sex]
        i = (key - self.first) * 3
        if key < self.first or i >= len(values):
            return None
        return values[i], values[i + 1], values[i + 2]


def _read_table(name: str, tenths: bool) -> LmsTable:
    """Parse ``name`` (tab-separated sex, key, l, m, s[, ...]) into an LmsTable."""
    rows: dict[int, dict[int, tuple[float, float, float]]] = {1: {}, 2: {}}
    with open(TABLE_DIR / name, encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            sex, key, l, m, s = line.split("\t")[:5]
            k = round(float(key) * 10) if tenths else int(key)
            rows[int(sex)][k] = (float(l), float(m), float(s))
    first = min(rows[1])
    by_sex = {sex: _pack(table, first) for sex, table in rows.items()}
    return LmsTable(first, by_sex)


def _pack(table: dict[int, tuple[float, float, float]], first: int) -> array:
    """Interleave the rows of one sex in key order, checking that no key is missing."""
    keys = sorted(table)
    if keys != list(range(first, first + len(keys))):
        raise ValueError("WHO table has gaps")
    return array("d", [v for k in keys for v in table[k]])


@cache
def _tables() -> dict[str, LmsTable]:
    """All tables, read on first use."""
    return {
        "wfa": _read_table("weianthro.txt", tenths=False),
        "lhfa": _read_table("lenanthro.txt", tenths=False),
        "bfa": _read_table("bmianthro.txt", tenths=False),
        "hcfa": _read_table("hcanthro.txt", tenths=False),
        "acfa": _read_table("acanthro.txt", tenths=False),
        "wfl": _read_table("wflanthro.txt", tenths=True),
        "wfh": _read_table("wfhanthro.txt", tenths=True),
    }


# --------------------------------------------------------------------------- z-scores


def _z(y: float, l: float, m: float, s: float) -> float:
    """Plain LMS z-score."""
    return ((y / m) ** l - 1) / (s * l)


def _sd(k: float, l: float, m: float, s: float) -> float:
    """The measurement at k standard deviations."""
    return m * (1 + l * s * k) ** (1 / l)


def _z_restricted(y: float, l: float, m: float, s: float) -> float:
    """LMS z-score, extrapolated linearly by the 2-3 SD distance beyond +-3 SD (WHO)."""
    z = _z(y, l, m, s)
    if z > 3:
        sd3 = _sd(3, l, m, s)
        return 3 + (y - sd3) / (sd3 - _sd(2, l, m, s))
    if z < -3:
        sd3 = _sd(-3, l, m, s)
        return -3 + (y - sd3) / (_sd(-2, l, m, s) - sd3)
    return z


def _age_score(index: str, sex: int, age: int, y: float | None, restricted: bool) -> float | None:
    """Rounded z of measurement y for age in days on table ``index``, None if it does not apply."""
    if y is None or y <= 0:
        return None
    lms = _tables()[index].lms(sex, age)
    if lms is None:
        return None
    l, m, s = lms
    return round(_z_restricted(y, l, m, s) if restricted else _z(y, l, m, s), 2)


def adjusted_length(age_days: int | None, length_cm: float, measured: str | None) -> float:
    """Length/height as the tables expect it for the age: +-0.7 cm for the other position."""
    if age_days is None or measured is None:
        return length_cm
    if age_days < STANDING_FROM_DAYS and measured == "h":
        return length_cm + LYING_STANDING_CM
    if age_days >= STANDING_FROM_DAYS and measured == "l":
        return length_cm - LYING_STANDING_CM
    return length_cm


def _uses_length_table(age_days: int | None, length_cm: float, measured: str | None) -> bool:
    """True for weight-for-length, False for weight-for-height (anthro's choice)."""
    if age_days is not None:
        return age_days < STANDING_FROM_DAYS
    if measured is not None:
        return measured == "l"
    return length_cm < WFL_WFH_SPLIT_CM


def _interpolated_lms(table: LmsTable, sex: int, length_cm: float) -> tuple[float, float, float] | None:
    """L, M, S at length_cm, linear between the 0.1-cm rows as anthro does."""
    low_tenths = math.trunc(length_cm * 10)
    low = table.lms(sex, low_tenths)
    if low is None:
        return None
    diff = (length_cm - low_tenths / 10) / 0.1
    if not diff > 0:
        return low
    upp = table.lms(sex, math.trunc(length_cm * 10 + 1))
    if upp is None:
        return None
    (l0, m0, s0), (l1, m1, s1) = low, upp
    return l0 + diff * (l1 - l0), m0 + diff * (m1 - m0), s0 + diff * (s1 - s0)


def _weight_for_length(sex: int, age_days: int | None, weight: float, length: float,
                       measured: str | None) -> float | None:
    """Rounded weight-for-length/height z of the adjusted length, None outside the table range."""
    if weight <= 0:
        return None
    on_length = _uses_length_table(age_days, length, measured)
    lo, hi = WFL_RANGE_CM if on_length else WFH_RANGE_CM
    if not lo <= length <= hi:
        return None
    lms = _interpolated_lms(_tables()["wfl" if on_length else "wfh"], sex, length)
    if lms is None:
        return None
    return round(_z_restricted(weight, *lms), 2)


def _age_applies(age_days: int, minimum: int = 0) -> bool:
    """Whether an age-based index is computed for this age in days (anthro: also age < 60 months)."""
    return minimum <= age_days <= MAX_AGE_DAYS and age_days / DAYS_PER_MONTH < 60


def _flags(scores: dict[str, float | None]) -> set[str]:
    """Keys whose z-score lies outside the plausible range."""
    flagged = set()
    for key, (lo, hi) in FLAG_LIMITS.items():
        z = scores[key]
        if z is not None and not lo <= z <= hi:
            flagged.add(key)
    return flagged


def zscores(sex: int, age_days: int | None, *, weight_kg: float | None = None,
            length_cm: float | None = None, measured: str | None = None,
            head_cm: float | None = None, muac_cm: float | None = None,
            oedema: bool = False) -> dict:
    """WHO z-scores (wfa, lhfa, wflh, bfa, hcfa, acfa; None where not applicable) and implausible ``flags``."""
    if sex not in (1, 2):
        raise ValueError(f"sex must be 1 (male) or 2 (female), not {sex!r}")
    if measured is not None:
        measured = measured.lower()
        if measured not in ("l", "h"):
            raise ValueError(f"measured must be 'l', 'h' or None, not {measured!r}")
    if oedema:
        weight_kg = None  # anthro: no weight-based z-score with oedema
    scores: dict[str, float | None] = dict.fromkeys(INDEX_KEYS)
    if age_days is None:
        scores["wflh"] = _wflh(sex, None, weight_kg, length_cm, measured)
    elif _age_applies(age_days):
        scores.update(_age_scores(sex, age_days, weight_kg, length_cm, measured, head_cm, muac_cm))
    return {**scores, "flags": _flags(scores)}


def _wflh(sex: int, age: int | None, weight: float | None, length: float | None,
          measured: str | None) -> float | None:
    """Weight-for-length/height z on the adjusted length, None when an input is missing."""
    if weight is None or length is None:
        return None
    clen = adjusted_length(age, length, measured)
    return _weight_for_length(sex, age, weight, clen, measured) if clen > 0 else None


def _age_scores(sex: int, age: int, weight: float | None, length: float | None,
                measured: str | None, head: float | None,
                muac: float | None) -> dict[str, float | None]:
    """The six z-scores for an age within 0-1826 days."""
    clen = adjusted_length(age, length, measured) if length is not None else None
    cbmi = bmi(weight, clen) if weight is not None and clen is not None and clen > 0 else None
    return {
        "wfa": _age_score("wfa", sex, age, weight, restricted=True),
        "lhfa": _age_score("lhfa", sex, age, clen, restricted=False),
        "wflh": _wflh(sex, age, weight, length, measured),
        "bfa": _age_score("bfa", sex, age, cbmi, restricted=True),
        "hcfa": _age_score("hcfa", sex, age, head, restricted=False),
        "acfa": _age_score("acfa", sex, age, muac, restricted=True) if age >= MUAC_MIN_AGE_DAYS else None,
    }


def age_in_days(birth: date, on: date) -> int:
    """Age in whole days on ``on`` (what zscores() expects)."""
    return (on - birth).days


# --------------------------------------------------------------------------- categories (Permenkes 2/2020)

CATEGORY_LABELS: dict[str, str] = {
    # BB/U weight-for-age
    "severely_underweight": N_("Berat badan sangat kurang"),
    "underweight": N_("Berat badan kurang"),
    "normal_weight": N_("Berat badan normal"),
    "risk_of_overweight": N_("Risiko berat badan lebih"),
    # PB/U, TB/U length/height-for-age
    "severely_stunted": N_("Sangat pendek"),
    "stunted": N_("Pendek"),
    "normal_height": N_("Normal"),
    "tall": N_("Tinggi"),
    # BB/PB, BB/TB weight-for-length/height and IMT/U BMI-for-age
    "severely_wasted": N_("Gizi buruk"),
    "wasted": N_("Gizi kurang"),
    "normal_nutrition": N_("Gizi baik"),
    "possible_risk_of_overweight": N_("Berisiko gizi lebih"),
    "overweight": N_("Gizi lebih"),
    "obese": N_("Obesitas"),
}

# English reference texts; the catalogue carries them as translations of the Indonesian msgids,
# so they are deliberately not marked for extraction.
CATEGORY_LABELS_EN: dict[str, str] = {
    "severely_underweight": "Severely underweight",
    "underweight": "Underweight",
    "normal_weight": "Normal weight",
    "risk_of_overweight": "Risk of overweight",
    "severely_stunted": "Severely stunted",
    "stunted": "Stunted",
    "normal_height": "Normal",
    "tall": "Tall",
    "severely_wasted": "Severely wasted",
    "wasted": "Wasted",
    "normal_nutrition": "Normal",
    "possible_risk_of_overweight": "Possible risk of overweight",
    "overweight": "Overweight",
    "obese": "Obese",
}

# (code, upper bound, bound included): the first row whose bound z stays under (or on) wins.
_INF = math.inf
_WFLH_CUTS: tuple[tuple[str, float, bool], ...] = (
    ("severely_wasted", -3.0, False),
    ("wasted", -2.0, False),
    ("normal_nutrition", 1.0, True),
    ("possible_risk_of_overweight", 2.0, True),
    ("overweight", 3.0, True),
    ("obese", _INF, True),
)
CATEGORY_CUTS: dict[str, tuple[tuple[str, float, bool], ...]] = {
    "wfa": (
        ("severely_underweight", -3.0, False),
        ("underweight", -2.0, False),
        ("normal_weight", 1.0, True),
        ("risk_of_overweight", _INF, True),
    ),
    "lhfa": (
        ("severely_stunted", -3.0, False),
        ("stunted", -2.0, False),
        ("normal_height", 3.0, True),
        ("tall", _INF, True),
    ),
    "wflh": _WFLH_CUTS,
    "bfa": _WFLH_CUTS,
}


def category(index: str, z: float | None) -> str | None:
    """Permenkes 2/2020 category code of z-score ``z`` for index wfa, lhfa, wflh or bfa."""
    if z is None:
        return None
    for code, bound, included in CATEGORY_CUTS[index]:
        if z < bound or (included and z == bound):
            return code
    raise ValueError(f"z-score {z!r} is not a number")


def categories(scores: dict) -> dict[str, str | None]:
    """Category codes for the wfa, lhfa, wflh and bfa entries of a zscores() result."""
    return {index: category(index, scores.get(index)) for index in CATEGORY_CUTS}


# --------------------------------------------------------------------------- monthly weight gain (Buku KIA)

GAIN_UP = "N"  # naik: gained at least the KBM since last month
GAIN_NOT_UP = "T"  # tidak naik
GAIN_NOT_WEIGHED_LAST_MONTH = "O"
GAIN_NEW = "B"  # baru: first weighing
GAIN_NOT_UP_TWICE = "2T"  # T two months running: refer

WEIGHT_GAIN_LABELS: dict[str, str] = {
    GAIN_UP: N_("Naik"),
    GAIN_NOT_UP: N_("Tidak naik"),
    GAIN_NOT_WEIGHED_LAST_MONTH: N_("Tidak ditimbang bulan lalu"),
    GAIN_NEW: N_("Baru pertama kali ditimbang"),
    GAIN_NOT_UP_TWICE: N_("Tidak naik dua kali berturut-turut"),
}

# KBM (kenaikan berat badan minimal), grams by completed months of age at this month's weighing;
# Buku KIA 2023. Month 3 = 800 g is marked (check) in CARE.md (some sources 600 g). Age 0 months
# is not in the table and uses the 1-month value; 11 months and older: 200 g.
KBM_GRAMS: tuple[int, ...] = (800, 800, 900, 800, 600, 500, 400, 300, 300, 300, 300, 200)


def kbm_grams(months: int) -> int:
    """Minimum monthly weight gain in grams for a child of ``months`` completed months."""
    return KBM_GRAMS[min(max(months, 0), len(KBM_GRAMS) - 1)]


def _month_index(d: date) -> int:
    """Running month number of d's calendar month."""
    return d.year * 12 + d.month - 1


def _last_per_month(weighings: list[tuple[date, float]], on: date) -> dict[int, tuple[date, float]]:
    """The last weighing of each calendar month up to and including ``on``."""
    last: dict[int, tuple[date, float]] = {}
    for when, kg in sorted(weighings, key=lambda w: w[0]):
        if when <= on:
            last[_month_index(when)] = (when, kg)
    return last


def _judge(birth: date, months: dict[int, tuple[date, float]], month: int) -> str:
    """N, T, O or B for the weighing of ``month`` (which must be in ``months``)."""
    if month - 1 not in months:
        return GAIN_NOT_WEIGHED_LAST_MONTH if any(m < month for m in months) else GAIN_NEW
    when, kg = months[month]
    gain_g = round((kg - months[month - 1][1]) * 1000)
    return GAIN_UP if gain_g >= kbm_grams(age_months(birth, when)) else GAIN_NOT_UP


def weight_gain_status(sex: int, birth_date: date, weighings: list[tuple[date, float]],
                       on: date) -> str | None:
    """N / T / O / B / 2T for the calendar month of ``on``; None when not weighed that month."""
    if sex not in (1, 2):
        raise ValueError(f"sex must be 1 (male) or 2 (female), not {sex!r}")
    months = _last_per_month(weighings, on)
    month = _month_index(on)
    if month not in months:
        return None
    status = _judge(birth_date, months, month)
    if status == GAIN_NOT_UP and _judge(birth_date, months, month - 1) == GAIN_NOT_UP:
        return GAIN_NOT_UP_TWICE
    return status


# --------------------------------------------------------------------------- BMI


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body-mass index in kg/m² (unrounded)."""
    metres = height_cm / 100
    return weight_kg / (metres * metres)


ADULT_BMI_LABELS: dict[str, str] = {
    "bmi_very_thin": N_("Sangat kurus"),
    "bmi_thin": N_("Kurus"),
    "bmi_normal": N_("Normal"),
    "bmi_overweight": N_("Gemuk"),
    "bmi_obese": N_("Obesitas"),
}

# English reference texts (catalogue translations of the msgids above; not marked).
ADULT_BMI_LABELS_EN: dict[str, str] = {
    "bmi_very_thin": "Very thin",
    "bmi_thin": "Thin",
    "bmi_normal": "Normal",
    "bmi_overweight": "Overweight",
    "bmi_obese": "Obese",
}

# Kemenkes: < 17 very thin, 17-18.4 thin, 18.5-25 normal, 25.1-27 overweight, > 27 obese,
# applied to the BMI rounded to one decimal (the table leaves no gap at that precision).
_ADULT_BMI_CUTS: tuple[tuple[str, Decimal, bool], ...] = (
    ("bmi_very_thin", Decimal("17.0"), False),
    ("bmi_thin", Decimal("18.5"), False),
    ("bmi_normal", Decimal("25.0"), True),
    ("bmi_overweight", Decimal("27.0"), True),
)


def adult_bmi_category(bmi_value: float) -> str:
    """Kemenkes adult BMI category code of ``bmi_value`` (rounded half up to one decimal first)."""
    rounded = Decimal(repr(bmi_value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    for code, bound, included in _ADULT_BMI_CUTS:
        if rounded < bound or (included and rounded == bound):
            return code
    return "bmi_obese"
