"""A posyandu's month report (CARE.md section 5, PWS and SKDN) computed from plain records.

Pure functions: no database, no clock. The caller passes one posyandu's registered children,
pregnancies and newborns (of any age; the filters below pick the target groups) and the month; every
figure is taken *as of the last day of that month*, so a report re-run later for an old month ignores
weighings, doses and visits dated after it. "In the month" means first to last day, both included.
A percentage is ``100 * count / total`` rounded half up to one decimal, None when the total is 0.

Definitions (source in brackets; "check" marks a choice CARE.md does not settle):

SKDN [CARE.md section 5]
  * S: registered children aged 0-59 completed months (care.stages.age_months) on the month's last
    day; children born after that day are not counted.
  * K: children of S with a KIA book / KMS. Every registered child is given a card, so K = S here
    (and K/S = 100 %, D/K = D/S whenever S > 0).
  * D: children of S weighed in the month (at least one weighing dated in it).
  * N: children of S whose weight-gain judgement for the month is N: weighed this month and last,
    the gain between the last weighings of the two months at least the KBM
    (care.growth.weight_gain_status; CARE.md section 4, Buku KIA 2023).
  * T, O, B, 2T: the other judgements of the children of D. The judgements are exclusive: T counts only
    single T, 2T the children with T two months running, so T + 2T is everyone who did not gain, and
    N + T + O + B + 2T = D.
  * Ratios K/S, D/K, D/S (participation), N/D (growth success), N/S as CARE.md section 5 lists them.

Immunisation [CARE.md section 2 for the doses, section 5 for the indicators]
  * Doses reported: the routine child schedule in the order of CARE.md section 2 (content/care/
    immunization.yaml), JE only when ``je`` (the regional switch; Bali). A dose counts when it is
    recorded with a date from birth to the month's last day; whether it was valid (window, interval)
    is not judged here (care.immunization does that for the individual child).
  * Target per dose: "infant doses" (recommended before 12 months: HB0 to IPV2, JE) - children aged
    0-11 months on the month's last day, the bayi stage of CARE.md section 1 and the brief's definition;
    booster doses (PCV3 at 12, DPT_HB_HIB4 and MR2 at 18 months) - children aged 12-23 months
    (baduta boosters; check). ``covered`` = children of the target with the dose by the month's end.
  * ``given_in_month``: registered children of any age with the dose dated in the month (the monthly
    PWS numerator; catch-up doses outside the target age count too).
  * IDL (imunisasi dasar lengkap): CARE.md section 5 defines it as "all doses due by 12 months given".
    The doses due by 12 months in section 2 are HB0, BCG, OPV1-4, DPT_HB_HIB1-3, PCV1-2, RV1-3, IPV1,
    MR1 **and IPV2** (recommended at 9 months since the Dirjen P2P letter of 31 May 2023), plus JE
    where the JE switch is on (recommended at 10 months). Each must be dated before the first
    birthday (age 0-11 months). Target: children whose first birthday (care.stages.add_months(birth,
    12)) falls in the month - the cohort whose 12-month window closed in it. The monthly cohorts are
    disjoint, so a year-to-date IDL is the sum of the months' counts and totals.

ANC [CARE.md section 3 for the contacts, section 5 for K1/K4/K6]
  * Pregnancies counted: pregnant on at least one day of the month (care.stages.is_pregnant, which
    drops a pregnancy with no recorded birth after 45 weeks) or delivered in it.
  * Contacts: distinct visit dates from HPHT up to the delivery date (included) or the month's last
    day, whichever is earlier; trimester by care.stages.trimester (weeks 0-12, 13-27, 28+).
  * K1: at least one contact (any trimester; K1 murni, first contact in trimester 1, is not reported).
  * K4: at least 4 contacts split at least 1-1-2 over trimesters 1-2-3 (the classic PWS KIA rule,
    Pedoman PWS KIA Depkes; not in CARE.md: check).
  * K6: at least 6 contacts split at least 1-2-3 (CARE.md section 3, current split; the older 2-1-3
    split is not used: check).

Neonatal visits [CARE.md section 3: KN1 6-48 hours, KN2 3-7 days, KN3 8-28 days; section 5]
  * Newborns counted: those whose 28-day window closed in the month (birth + 28 days falls in it),
    so that complete KN can be judged for every child counted and KN1 and complete KN share one
    denominator. Visit day = days since birth; KN1 on day 0-2 (hours are not recorded: 6-48 h is
    taken as day 0-2, as content/care/services.yaml does), KN2 day 3-7, KN3 day 8-28.
  * Complete KN: a visit in each of the three windows.

Stunting and wasting [CARE.md section 4; Permenkes 2/2020 cut-offs via care.growth]
  * Children of S only. Stunting: the latest length/height dated in the month -> lhfa; stunted when
    the category is pendek or sangat pendek (z < -2), severely stunted when sangat pendek (z < -3).
  * Wasting: the latest day in the month with both a length/height and a weighing (the last of each
    that day) -> wflh; wasted when gizi kurang or gizi buruk (z < -2), severely wasted when gizi buruk.
  * The totals are the children with a computable, plausible z-score: a z-score outside WHO's
    plausible range (care.growth flags) is left out of both count and total.

Reminders: sent and delivered are passed through (zeros when not given).
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from . import growth
from .stages import add_months, age_months, is_pregnant, trimester

# --------------------------------------------------------------------------- definitions as data

#: Routine child doses in CARE.md section 2 order: (code, recommended age in months).
ROUTINE_DOSES: tuple[tuple[str, int], ...] = (
    ("HB0", 0), ("BCG", 0), ("OPV1", 1),
    ("DPT_HB_HIB1", 2), ("OPV2", 2), ("PCV1", 2), ("RV1", 2),
    ("DPT_HB_HIB2", 3), ("OPV3", 3), ("PCV2", 3), ("RV2", 3),
    ("DPT_HB_HIB3", 4), ("OPV4", 4), ("IPV1", 4), ("RV3", 4),
    ("MR1", 9), ("IPV2", 9), ("JE", 10),
    ("PCV3", 12), ("DPT_HB_HIB4", 18), ("MR2", 18),
)
JE_CODE = "JE"  # only with the JE regional switch
INFANT_AGES = (0, 11)  # completed months: target of doses recommended before 12 months
BOOSTER_AGES = (12, 23)  # completed months: target of PCV3, DPT_HB_HIB4, MR2 (check)
BALITA_MAX_MONTHS = 59  # SKDN S: 0-59 months
IDL_MONTHS = 12  # IDL doses are the infant doses, each given before this age

K4_MINIMA = (1, 1, 2)  # contacts in trimesters 1, 2, 3 (check: not in CARE.md)
K6_MINIMA = (1, 2, 3)  # CARE.md section 3
KN_WINDOWS: tuple[tuple[int, int], ...] = ((0, 2), (3, 7), (8, 28))  # days after birth, inclusive
NEWBORN_DAYS = 28

STUNTED = frozenset({"stunted", "severely_stunted"})
WASTED = frozenset({"wasted", "severely_wasted"})


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ChildRecord:
    """A registered child: weighings (date, kg), lengths (date, cm, "l"/"h"), doses code -> date."""

    id: int | str
    sex: int
    birth: date
    weighings: tuple[tuple[date, float], ...] = ()
    lengths: tuple[tuple[date, float, str], ...] = ()
    doses: Mapping[str, date] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Reject a sex or a measuring position the z-scores cannot use."""
        if self.sex not in (1, 2):
            raise ValueError(f"child {self.id!r}: sex must be 1 or 2, not {self.sex!r}")
        for _, _, measured in self.lengths:
            if measured not in ("l", "h"):
                raise ValueError(f"child {self.id!r}: measured must be 'l' or 'h', not {measured!r}")


@dataclass(frozen=True)
class PregnancyRecord:
    """A registered pregnancy: HPHT, the delivery date if known, the dates of ANC contacts."""

    id: int | str
    hpht: date
    delivered_on: date | None = None
    anc_visits: tuple[date, ...] = ()


@dataclass(frozen=True)
class NewbornRecord:
    """A registered newborn: birth date and the dates of neonatal (KN) visits."""

    id: int | str
    birth: date
    kn_visits: tuple[date, ...] = ()


@dataclass(frozen=True)
class ReminderCounts:
    """Reminders of the month: sent and delivered (from the outbox)."""

    sent: int = 0
    delivered: int = 0


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Rate:
    """``count`` out of ``total`` with its percentage (None when total is 0)."""

    count: int
    total: int
    percent: float | None


@dataclass(frozen=True)
class Skdn:
    """SKDN counts, the weight-gain judgements of D, and the ratios in percent."""

    s: int
    k: int
    d: int
    n: int
    t: int
    o: int
    b: int
    t2: int
    k_s: float | None
    d_k: float | None
    d_s: float | None
    n_d: float | None
    n_s: float | None


@dataclass(frozen=True)
class DoseCoverage:
    """One dose: target children, those covered by the month's end, doses given in the month."""

    code: str
    target: int
    covered: int
    given_in_month: int
    percent: float | None


@dataclass(frozen=True)
class MonthReport:
    """A posyandu's coverage report for one calendar month."""

    year: int
    month: int
    start: date
    end: date
    skdn: Skdn
    doses: tuple[DoseCoverage, ...]
    idl: Rate
    k1: Rate
    k4: Rate
    k6: Rate
    kn1: Rate
    kn_complete: Rate
    stunted: Rate
    severely_stunted: Rate
    wasted: Rate
    severely_wasted: Rate
    reminders: ReminderCounts

    def dose(self, code: str) -> DoseCoverage:
        """The coverage row of dose ``code`` (KeyError when it is not in the report)."""
        for row in self.doses:
            if row.code == code:
                return row
        raise KeyError(code)


# --------------------------------------------------------------------------- helpers


def percent(count: int, total: int) -> float | None:
    """100 * count / total rounded half up to one decimal; None when total is 0."""
    if total == 0:
        return None
    value = (Decimal(count) * 100 / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return float(value)


def rate(count: int, total: int) -> Rate:
    """A Rate with its percentage."""
    return Rate(count, total, percent(count, total))


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """First and last day of the month."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, not {month!r}")
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _age_in(birth: date, end: date, ages: tuple[int, int]) -> bool:
    """Whether a child born on ``birth`` is within ``ages`` (completed months, inclusive) on ``end``."""
    return birth <= end and ages[0] <= age_months(birth, end) <= ages[1]


def dose_codes(je: bool = False) -> tuple[str, ...]:
    """The reported dose codes in schedule order (JE only with the JE switch)."""
    return tuple(code for code, _ in ROUTINE_DOSES if je or code != JE_CODE)


def idl_codes(je: bool = False) -> tuple[str, ...]:
    """The doses of complete routine immunisation: all those recommended before 12 months."""
    return tuple(code for code, months in ROUTINE_DOSES if months < IDL_MONTHS and (je or code != JE_CODE))


def _recommended_months(code: str) -> int:
    """Recommended age in months of a routine dose."""
    return dict(ROUTINE_DOSES)[code]


def _dose_date(child: ChildRecord, code: str, end: date) -> date | None:
    """The recorded date of dose ``code`` if it lies from birth to ``end``."""
    when = child.doses.get(code)
    return when if when is not None and child.birth <= when <= end else None


# --------------------------------------------------------------------------- SKDN


def balita(children: Iterable[ChildRecord], end: date) -> list[ChildRecord]:
    """Children aged 0-59 completed months on ``end`` (SKDN S)."""
    return [c for c in children if _age_in(c.birth, end, (0, BALITA_MAX_MONTHS))]


def skdn(under_fives: list[ChildRecord], end: date) -> Skdn:
    """SKDN of the under-fives for the month of ``end``."""
    statuses = [growth.weight_gain_status(c.sex, c.birth, list(c.weighings), end) for c in under_fives]
    s = k = len(under_fives)
    d = sum(status is not None for status in statuses)
    count = {code: statuses.count(code) for code in ("N", "T", "O", "B", "2T")}
    n = count["N"]
    return Skdn(s=s, k=k, d=d, n=n, t=count["T"], o=count["O"], b=count["B"], t2=count["2T"],
                k_s=percent(k, s), d_k=percent(d, k), d_s=percent(d, s), n_d=percent(n, d),
                n_s=percent(n, s))


# --------------------------------------------------------------------------- immunisation


def dose_coverage(children: list[ChildRecord], code: str, start: date, end: date) -> DoseCoverage:
    """Coverage of one dose among its target age group, and the doses given in the month."""
    ages = INFANT_AGES if _recommended_months(code) < IDL_MONTHS else BOOSTER_AGES
    target = [c for c in children if _age_in(c.birth, end, ages)]
    covered = sum(_dose_date(c, code, end) is not None for c in target)
    given = sum(_given_in(c, code, start, end) for c in children)
    return DoseCoverage(code, len(target), covered, given, percent(covered, len(target)))


def _given_in(child: ChildRecord, code: str, start: date, end: date) -> bool:
    """Whether dose ``code`` is recorded with a date in the month."""
    when = _dose_date(child, code, end)
    return when is not None and when >= start


def _idl_complete(child: ChildRecord, codes: tuple[str, ...], birthday: date) -> bool:
    """Whether every IDL dose is recorded from birth to the day before the first birthday."""
    return all(child.birth <= child.doses.get(code, birthday) < birthday for code in codes)


def idl(children: list[ChildRecord], start: date, end: date, je: bool = False) -> Rate:
    """Complete routine immunisation among children whose first birthday falls in the month."""
    codes = idl_codes(je)
    cohort = [(c, add_months(c.birth, IDL_MONTHS)) for c in children]
    cohort = [(c, birthday) for c, birthday in cohort if start <= birthday <= end]
    return rate(sum(_idl_complete(c, codes, birthday) for c, birthday in cohort), len(cohort))


# --------------------------------------------------------------------------- ANC


def pregnant_in_month(p: PregnancyRecord, start: date, end: date) -> bool:
    """Pregnant on at least one day of the month, or delivered in it."""
    if p.delivered_on is not None and start <= p.delivered_on <= end:
        return True
    return p.hpht <= end and is_pregnant(p.hpht, max(start, p.hpht), p.delivered_on)


def anc_by_trimester(p: PregnancyRecord, end: date) -> tuple[int, int, int]:
    """Distinct ANC contact days in trimesters 1, 2, 3 up to delivery or ``end``."""
    until = min(end, p.delivered_on) if p.delivered_on is not None and p.delivered_on >= p.hpht else end
    counts = [0, 0, 0]
    for day in set(p.anc_visits):
        if p.hpht <= day <= until:
            counts[trimester(p.hpht, day) - 1] += 1
    return counts[0], counts[1], counts[2]


def _meets(counts: tuple[int, int, int], minima: tuple[int, int, int]) -> bool:
    """Whether every trimester has at least its minimum of contacts."""
    return all(c >= m for c, m in zip(counts, minima))


def anc(pregnancies: Iterable[PregnancyRecord], start: date, end: date) -> tuple[Rate, Rate, Rate]:
    """K1, K4, K6 among the pregnancies of the month."""
    counted = [anc_by_trimester(p, end) for p in pregnancies if pregnant_in_month(p, start, end)]
    total = len(counted)
    k1 = sum(sum(c) >= 1 for c in counted)
    k4 = sum(_meets(c, K4_MINIMA) for c in counted)
    k6 = sum(_meets(c, K6_MINIMA) for c in counted)
    return rate(k1, total), rate(k4, total), rate(k6, total)


# --------------------------------------------------------------------------- neonatal visits


def kn_windows_met(n: NewbornRecord) -> tuple[bool, bool, bool]:
    """Whether KN1, KN2 and KN3 each have a visit in their window."""
    days = {(v - n.birth).days for v in n.kn_visits}
    return tuple(any(lo <= d <= hi for d in days) for lo, hi in KN_WINDOWS)  # type: ignore[return-value]


def kn(newborns: Iterable[NewbornRecord], start: date, end: date) -> tuple[Rate, Rate]:
    """KN1 and complete KN among newborns whose 28-day window closed in the month."""
    window = timedelta(days=NEWBORN_DAYS)
    met = [kn_windows_met(n) for n in newborns if start <= n.birth + window <= end]
    return rate(sum(m[0] for m in met), len(met)), rate(sum(all(m) for m in met), len(met))


# --------------------------------------------------------------------------- stunting and wasting


def _in_month(rows: Iterable[tuple], start: date, end: date) -> list[tuple]:
    """Rows whose first element (a date) lies in the month, in date order (stable)."""
    return sorted((r for r in rows if start <= r[0] <= end), key=lambda r: r[0])


def _plausible(scores: dict, index: str) -> float | None:
    """The z-score of ``index`` unless missing or flagged implausible."""
    return None if index in scores["flags"] else scores[index]


def height_category(child: ChildRecord, start: date, end: date) -> str | None:
    """Length/height-for-age category of the latest length in the month (None: none or implausible)."""
    lengths = _in_month(child.lengths, start, end)
    if not lengths:
        return None
    day, cm, measured = lengths[-1]
    scores = growth.zscores(child.sex, growth.age_in_days(child.birth, day), length_cm=cm, measured=measured)
    return growth.category("lhfa", _plausible(scores, "lhfa"))


def wflh_category(child: ChildRecord, start: date, end: date) -> str | None:
    """Weight-for-length/height category on the latest day in the month with both measurements."""
    weights = {day: kg for day, kg in _in_month(child.weighings, start, end)}
    lengths = [r for r in _in_month(child.lengths, start, end) if r[0] in weights]
    if not lengths:
        return None
    day, cm, measured = lengths[-1]
    scores = growth.zscores(child.sex, growth.age_in_days(child.birth, day), weight_kg=weights[day],
                            length_cm=cm, measured=measured)
    return growth.category("wflh", _plausible(scores, "wflh"))


def nutrition(under_fives: list[ChildRecord], start: date, end: date) -> tuple[Rate, Rate, Rate, Rate]:
    """Stunted, severely stunted, wasted, severely wasted among the children measured in the month."""
    heights = [h for h in (height_category(c, start, end) for c in under_fives) if h is not None]
    wflh = [w for w in (wflh_category(c, start, end) for c in under_fives) if w is not None]
    return (
        rate(sum(h in STUNTED for h in heights), len(heights)),
        rate(heights.count("severely_stunted"), len(heights)),
        rate(sum(w in WASTED for w in wflh), len(wflh)),
        rate(wflh.count("severely_wasted"), len(wflh)),
    )


# --------------------------------------------------------------------------- the report


def month_report(year: int, month: int, *, children: Iterable[ChildRecord] = (),
                 pregnancies: Iterable[PregnancyRecord] = (), newborns: Iterable[NewbornRecord] = (),
                 reminders: ReminderCounts | None = None, je: bool = False) -> MonthReport:
    """The coverage report of one posyandu for ``month`` of ``year`` (definitions: module docstring)."""
    start, end = month_bounds(year, month)
    children = list(children)
    under_fives = balita(children, end)
    k1, k4, k6 = anc(pregnancies, start, end)
    kn1, kn_complete = kn(newborns, start, end)
    stunted, severely_stunted, wasted, severely_wasted = nutrition(under_fives, start, end)
    return MonthReport(
        year=year, month=month, start=start, end=end,
        skdn=skdn(under_fives, end),
        doses=tuple(dose_coverage(children, code, start, end) for code in dose_codes(je)),
        idl=idl(children, start, end, je),
        k1=k1, k4=k4, k6=k6, kn1=kn1, kn_complete=kn_complete,
        stunted=stunted, severely_stunted=severely_stunted,
        wasted=wasted, severely_wasted=severely_wasted,
        reminders=reminders or ReminderCounts(),
    )


# --------------------------------------------------------------------------- text table


def _pct_text(value: float | None, decimal_mark: str) -> str:
    """"80.0%" (with the given decimal mark), "-" for None."""
    return "-" if value is None else f"{value:.1f}%".replace(".", decimal_mark)


def _rate_text(r: Rate, decimal_mark: str) -> str:
    """"3/4 (75.0%)"."""
    return f"{r.count}/{r.total} ({_pct_text(r.percent, decimal_mark)})"


def report_text_rows(report: MonthReport, *, decimal_mark: str = ".") -> list[tuple[str, str]]:
    """(label code, value text) rows of the report for a short text table.

    Label codes are stable and untranslated: S, K, D, N, D/S, N/D, N/S, T, 2T, O, B; one row per dose
    with the dose code, valued "covered/target (pct) +given in the month"; IDL, K1, K4, K6, KN1,
    KN_COMPLETE, STUNTED, SEVERELY_STUNTED, WASTED, SEVERELY_WASTED valued "count/total (pct)";
    REMINDERS_SENT, REMINDERS_DELIVERED. K/S and D/K are left out: with K = S they repeat 100 % and D/S.
    """
    sk = report.skdn
    rows: list[tuple[str, str]] = [
        ("S", str(sk.s)), ("K", str(sk.k)), ("D", str(sk.d)), ("N", str(sk.n)),
        ("D/S", _pct_text(sk.d_s, decimal_mark)), ("N/D", _pct_text(sk.n_d, decimal_mark)),
        ("N/S", _pct_text(sk.n_s, decimal_mark)),
        ("T", str(sk.t)), ("2T", str(sk.t2)), ("O", str(sk.o)), ("B", str(sk.b)),
    ]
    for d in report.doses:
        share = f"{d.covered}/{d.target} ({_pct_text(d.percent, decimal_mark)})"
        rows.append((d.code, f"{share} +{d.given_in_month}"))
    for code, r in (("IDL", report.idl), ("K1", report.k1), ("K4", report.k4), ("K6", report.k6),
                    ("KN1", report.kn1), ("KN_COMPLETE", report.kn_complete),
                    ("STUNTED", report.stunted), ("SEVERELY_STUNTED", report.severely_stunted),
                    ("WASTED", report.wasted), ("SEVERELY_WASTED", report.severely_wasted)):
        rows.append((code, _rate_text(r, decimal_mark)))
    rows.append(("REMINDERS_SENT", str(report.reminders.sent)))
    rows.append(("REMINDERS_DELIVERED", str(report.reminders.delivered)))
    return rows
