"""A posyandu's month report (CARE.md section 5, PWS and SKDN) computed from plain records.

Pure functions: no database, no clock. The caller passes one posyandu's registered children,
pregnancies, mothers after delivery, newborns and people of any age (the filters below pick the
target groups) with their care records (care.history), and the month; every figure is taken *as of
the last day of that month*, so a report re-run later for an old month ignores weighings, doses,
visits and services dated after it. "In the month" means first to last day, both included. A
percentage is ``100 * count / total`` rounded half up to one decimal, None when the total is 0.
Ages are completed months (care.stages.age_months) on the month's last day unless said otherwise;
age ranges of services are those of the schedule (content/care/services.yaml with the district's
overrides), so the report counts what the reminders ask for.

Exact and approximate dates (care.history): a record whose date is only a month or not remembered
(precision ``month`` / ``unknown``) counts as done, on the date the rules use, wherever "done by a
date" or "done in the last 12 months" is counted, but never as done *in the month*: "given in the
month", "in the month" numerators count only records with an exact date (a family remembering
"Maret" is not March's posyandu work; check).

Definitions (source in brackets; "check" marks a choice CARE.md does not settle):

SKDN [CARE.md section 5]
  * S: registered children aged 0-59 completed months (care.stages.age_months) on the month's last
    day; children born after that day are not counted.
  * K: children of S with a KIA book / KMS. Every registered child is given a card, so K = S here
    (and K/S = 100 %, D/K = D/S whenever S > 0).
  * D: children of S weighed in the month (at least one weighing dated in it). Weighings come with
    their weight (a visit's measurement); a TIMBANG record without a weight is not D, since
    N + T + O + B + 2T = D must hold (check).
  * N: children of S whose weight-gain judgement for the month is N: weighed this month and last,
    the gain between the last weighings of the two months at least the KBM
    (care.growth.weight_gain_status; CARE.md section 4, Buku KIA 2023).
  * T, O, B, 2T: the other judgements of the children of D. The judgements are exclusive: T counts only
    single T, 2T the children with T two months running, so T + 2T is everyone who did not gain, and
    N + T + O + B + 2T = D.
  * Ratios K/S, D/K, D/S (participation), N/D (growth success), N/S as CARE.md section 5 lists them.

Immunisation [CARE.md section 2 for the doses, section 5 for the indicators]
  * Doses reported: the routine child schedule in the order of CARE.md section 2 (content/care/
    immunization.yaml), JE only when ``je`` (the regional switch; Bali).
  * A dose counts "as the schedule says": only when care.immunization.dose_states, run on the
    month's last day with the child's recorded doses, says GIVEN. A dose given before its earliest
    age or sooner than its minimum interval after the previous one is INVALID there and counts
    nowhere (not covered, not in IDL, not given in the month) until it is repeated; a repeat
    replaces it (the latest record of a dose wins, care.history.build). A dose with an approximate
    date counts as given (dose_states skips the interval checks for it) but not as given in the
    month.
  * Target per dose: "infant doses" (recommended before 12 months: HB0 to IPV2, JE) - children aged
    0-11 months on the month's last day, the bayi stage of CARE.md section 1 and the brief's definition;
    booster doses (PCV3 at 12, DPT_HB_HIB4 and MR2 at 18 months) - children aged 12-23 months
    (baduta boosters; check). ``covered`` = children of the target with the dose validly given by the
    month's end.
  * ``given_in_month``: registered children of any age with the dose validly given on an exact date
    in the month (the monthly PWS numerator; catch-up doses outside the target age count too).
  * IDL (imunisasi dasar lengkap): CARE.md section 5 defines it as "all doses due by 12 months given".
    The doses due by 12 months in section 2 are HB0, BCG, OPV1-4, DPT_HB_HIB1-3, PCV1-2, RV1-3, IPV1,
    MR1 **and IPV2** (recommended at 9 months since the Dirjen P2P letter of 31 May 2023), plus JE
    where the JE switch is on (recommended at 10 months). Each must be validly given (as above) and
    dated before the first birthday (age 0-11 months). Target: children whose first birthday
    (care.stages.add_months(birth, 12)) falls in the month - the cohort whose 12-month window closed
    in it. The monthly cohorts are disjoint, so a year-to-date IDL is the sum of the months' counts
    and totals.

ANC [CARE.md section 3 for the contacts, section 5 for K1/K4/K6]
  * Pregnancies counted: pregnant on at least one day of the month (care.stages.is_pregnant, which
    drops a pregnancy with no recorded birth after 45 weeks) or delivered in it.
  * Contacts: the records ANC and ANC1..ANC6; distinct dates from HPHT up to the delivery date
    (included) or the month's last day, whichever is earlier; trimester by care.stages.trimester
    (weeks 0-12, 13-27, 28+). An approximate date counts in the trimester of the date the rules use.
  * A numbered record ANCn stands for the schedule's first n contacts (services.yaml: ANC1 in
    trimester 1, ANC2-3 in 2, ANC4-6 in 3; a contact of a trimester later than the record's own
    date counted in the record's trimester), so "ANC ke-4" told at week 30 gives 1-2-1 even when
    the earlier contacts were never entered. Per trimester the larger of the dated contacts and the
    contacts a numbered record stands for counts (check).
  * K1: at least one contact (any trimester; K1 murni, first contact in trimester 1, is not reported).
  * K4: at least 4 contacts split at least 1-1-2 over trimesters 1-2-3 (the classic PWS KIA rule,
    Pedoman PWS KIA Depkes; not in CARE.md: check).
  * K6: at least 6 contacts split at least 1-2-3 (CARE.md section 3, current split; the older 2-1-3
    split is not used: check).

Iron tablets in pregnancy (TTD_HAMIL) [CARE.md section 3: >= 90 tablets in pregnancy]
  * Total: the pregnancies counted for ANC. Count: those with a TTD_HAMIL record on an exact date in
    the month, from HPHT to the delivery. Tablets: the sum of the tablets of those records
    (``detail["tablets"]``; a record without it adds 0). Whether a woman reaches 90 tablets in her
    pregnancy is not reported (check).

Nifas visits (KF) [CARE.md section 3: KF1 6 hours-2 days, KF2 3-7, KF3 8-28, KF4 29-42 days]
  * Mothers counted: those whose 42-day nifas ended in the month (delivery + the end of the last KF
    window, day 42, falls in it), so that complete KF can be judged for every mother counted.
  * A visit counts for the window its day after delivery falls in (days of services.yaml's KF1-KF4
    windows; hours are not recorded, KF1 is day 0-2); a KFn record with an approximate date counts
    for its own window KFn (check). KF1: a visit in KF1's window; complete KF: one in each of the four.

Neonatal visits [CARE.md section 3: KN1 6-48 hours, KN2 3-7 days, KN3 8-28 days; section 5]
  * Newborns counted: those whose 28-day window closed in the month (birth + 28 days, the end of
    KN3's window, falls in it), so that complete KN can be judged for every child counted and KN1
    and complete KN share one denominator. Visit day = days since birth; KN1 on day 0-2 (hours are
    not recorded: 6-48 h is taken as day 0-2, as content/care/services.yaml does), KN2 day 3-7, KN3
    day 8-28. A KNn record with an approximate date counts for its own window (check).
  * Complete KN: a visit in each of the three windows.

Services of children, adolescents, adults and older people [CARE.md section 3; ages of
services.yaml, on the month's last day]
  * Vitamin A blue (VITA_BIRU): total = children 6-11 months; count = of them, those with a
    VITA_BIRU record on an exact date in the month. Vitamin A red (VITA_MERAH): the same with
    children 12-59 months and VITA_MERAH. February and August are the rounds, but every month
    counts what was given in it (outside the rounds the count is usually 0).
  * Deworming (OBAT_CACING): total = children 12-59 months; count = of them, those with an
    OBAT_CACING record on an exact date in the month.
  * SDIDTK (development screening): each screening age of the schedule (3, 6, 9, ... 72 months)
    opens a window until the next age (the last one for 6 months), as care.services reads it.
    Total = children with a window open on at least one day of the month that was not already
    closed before the month (no SDIDTK record, of any precision, from the window's opening to the
    day before the month); count = of them, those screened on an exact date in the month (check:
    the PWS's yearly "balita dideteksi tumbuh kembangnya" is not reported).
  * Iron tablets for girls (TTD_REMAJA): total = girls 12-18 years; count = of them, those with a
    TTD_REMAJA record on an exact date in the month (weekly tablets: at least one in the month).
  * PTM screening (SKRINING_PTM): total = registered people 15-59 years; count = of them, those with
    a SKRINING_PTM record (any precision) dated in the 12 months up to the month's last day (after
    the same day a year before).
  * SKILAS: total = registered people 60 years or older; count = of them, those with a SKILAS record
    (any precision) in the same 12 months.
  * People without a birth date cannot be placed in an age group and are counted nowhere here.

Stunting and wasting [CARE.md section 4; Permenkes 2/2020 cut-offs via care.growth]
  * Children of S only. Stunting: the latest length/height dated in the month -> lhfa; stunted when
    the category is pendek or sangat pendek (z < -2), severely stunted when sangat pendek (z < -3).
  * Wasting: the latest day in the month with both a length/height and a weighing (the last of each
    that day) -> wflh; wasted when gizi kurang or gizi buruk (z < -2), severely wasted when gizi buruk.
  * The totals are the children with a computable, plausible z-score: a z-score outside WHO's
    plausible range (care.growth flags) is left out of both count and total.

Reminders: sent and delivered are passed through (zeros when not given).

The report as a table (:func:`report_table`): one row per figure, with its numerator, denominator
and percentage as numbers, grouped in sections; :data:`HEADLINE` names the five indicators a
report leads with (D/S, N/D, IDL, K6, stunting) and :func:`headline` gives their rows. Every view of
the report (text, chart, files) is drawn from this one table.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from . import growth
from .history import DAY, Record
from .immunization import GIVEN, dose_states
from .rules import Schedule, ServiceRule
from .rules_file import load_schedule
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
ANC_CODES = ("ANC", "ANC1", "ANC2", "ANC3", "ANC4", "ANC5", "ANC6")
KN_CODES = ("KN1", "KN2", "KN3")  # windows: services.yaml (days after birth)
KF_CODES = ("KF1", "KF2", "KF3", "KF4")  # windows: services.yaml (days after delivery)
SCREENING_MONTHS = 12  # PTM screening and SKILAS: done in the last 12 months

STUNTED = frozenset({"stunted", "severely_stunted"})
WASTED = frozenset({"wasted", "severely_wasted"})


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ChildRecord:
    """A registered child: weighings (date, kg), lengths (date, cm, "l"/"h"), doses code -> date, and
    the doses whose date is approximate (care.history.PersonHistory.approximate)."""

    id: int | str
    sex: int
    birth: date
    weighings: tuple[tuple[date, float], ...] = ()
    lengths: tuple[tuple[date, float, str], ...] = ()
    doses: Mapping[str, date] = field(default_factory=dict)
    approximate: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Reject a sex or a measuring position the z-scores cannot use."""
        if self.sex not in (1, 2):
            raise ValueError(f"child {self.id!r}: sex must be 1 or 2, not {self.sex!r}")
        for _, _, measured in self.lengths:
            if measured not in ("l", "h"):
                raise ValueError(f"child {self.id!r}: measured must be 'l' or 'h', not {measured!r}")


@dataclass(frozen=True)
class PregnancyRecord:
    """A registered pregnancy: HPHT, the delivery date if known, the dates of ANC contacts, the numbered
    contacts (date, n) of ANCn records, and iron tablets given (exact date, tablets) of TTD_HAMIL records."""

    id: int | str
    hpht: date
    delivered_on: date | None = None
    anc_visits: tuple[date, ...] = ()
    numbered: tuple[tuple[date, int], ...] = ()
    iron: tuple[tuple[date, int], ...] = ()


@dataclass(frozen=True)
class NewbornRecord:
    """A registered newborn: birth date, the exact dates of neonatal (KN) visits, and the KN codes
    recorded with an approximate date (each counts for its own window)."""

    id: int | str
    birth: date
    kn_visits: tuple[date, ...] = ()
    approximate: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NifasRecord:
    """A mother after delivery: the delivery date, the exact dates of nifas (KF) visits, and the KF
    codes recorded with an approximate date (each counts for its own window)."""

    id: int | str
    delivered_on: date
    kf_visits: tuple[date, ...] = ()
    approximate: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PersonRecord:
    """A registered person of any age with a birth date: sex (1 male, 2 female, as ChildRecord) and
    their care records (care.history.Record: code, date, precision)."""

    id: int | str
    sex: int
    birth: date
    records: tuple[Record, ...] = ()

    def __post_init__(self) -> None:
        """Reject a sex the age groups cannot use."""
        if self.sex not in (1, 2):
            raise ValueError(f"person {self.id!r}: sex must be 1 or 2, not {self.sex!r}")


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
class Members:
    """Who stands behind a Rate: the ids of everyone counted in ``total`` and of those in ``count``
    (a subset), so that a view can list the people behind a number (the PWS drill-down) from the very
    computation that gave it."""

    total: tuple = ()
    count: tuple = ()

    @property
    def rate(self) -> Rate:
        return rate(len(self.count), len(self.total))


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
    iron_pregnant: Rate
    iron_tablets: int
    kf1: Rate | None  # None: not computed (``month_report(pws_only=True)``)
    kf_complete: Rate | None  # None: not computed (``month_report(pws_only=True)``)
    kn1: Rate
    kn_complete: Rate
    vitamin_a_blue: Rate
    vitamin_a_red: Rate
    deworming: Rate | None  # None: not computed (``month_report(pws_only=True)``)
    sdidtk: Rate | None  # None: not computed (``month_report(pws_only=True)``)
    stunted: Rate
    severely_stunted: Rate
    wasted: Rate
    severely_wasted: Rate
    iron_girls: Rate | None  # None: not computed (``month_report(pws_only=True)``)
    ptm: Rate | None  # None: not computed (``month_report(pws_only=True)``)
    skilas: Rate | None  # None: not computed (``month_report(pws_only=True)``)
    reminders: ReminderCounts
    #: who stands behind the rows of :data:`MEMBER_CODES` (row code -> :class:`Members`)
    members: Mapping[str, Members] = field(default_factory=dict, compare=False, repr=False)

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


def _exact_in(records: Iterable[Record], code: str, start: date, end: date) -> bool:
    """Whether ``code`` is recorded with an exact date from ``start`` to ``end``."""
    return any(r.code == code and r.precision == DAY and start <= r.on <= end for r in records)


def _done_between(records: Iterable[Record], code: str, start: date, end: date) -> bool:
    """Whether ``code`` is recorded (any precision) with a date from ``start`` to ``end``."""
    return any(r.code == code and start <= r.on <= end for r in records)


# --------------------------------------------------------------------------- SKDN


def balita(children: Iterable[ChildRecord], end: date) -> list[ChildRecord]:
    """Children aged 0-59 completed months on ``end`` (SKDN S)."""
    return [c for c in children if _age_in(c.birth, end, (0, BALITA_MAX_MONTHS))]


def skdn(under_fives: list[ChildRecord], end: date) -> Skdn:
    """SKDN of the under-fives for the month of ``end``."""
    return skdn_members(under_fives, end)[0]


def skdn_members(under_fives: list[ChildRecord], end: date) -> tuple[Skdn, Members, Members]:
    """SKDN of the under-fives for the month of ``end``, with who stands behind D/S and N/D."""
    statuses = [growth.weight_gain_status(c.sex, c.birth, list(c.weighings), end) for c in under_fives]
    s = k = len(under_fives)
    weighed = tuple(c.id for c, status in zip(under_fives, statuses) if status is not None)
    grew = tuple(c.id for c, status in zip(under_fives, statuses) if status == "N")
    d = len(weighed)
    count = {code: statuses.count(code) for code in ("N", "T", "O", "B", "2T")}
    n = count["N"]
    return (Skdn(s=s, k=k, d=d, n=n, t=count["T"], o=count["O"], b=count["B"], t2=count["2T"],
                 k_s=percent(k, s), d_k=percent(d, k), d_s=percent(d, s), n_d=percent(n, d),
                 n_s=percent(n, s)),
            Members(tuple(c.id for c in under_fives), weighed), Members(weighed, grew))


# --------------------------------------------------------------------------- immunisation


def valid_doses(child: ChildRecord, end: date, je: bool = False,
                schedule: Schedule | None = None) -> dict[str, date]:
    """The doses of ``child`` the schedule counts as given by ``end``: recorded from birth to ``end`` and
    GIVEN in care.immunization.dose_states on ``end`` (approximate dates count, invalid doses do not)."""
    if child.birth > end:
        return {}
    recorded = {code: when for code, when in child.doses.items() if child.birth <= when <= end}
    if not recorded:
        return {}
    states = dose_states(child.birth, recorded, end, je=je, schedule=schedule,
                         approximate=child.approximate & recorded.keys())
    return {code: when for code, when in recorded.items() if code in states and states[code].state == GIVEN}


#: A child with the doses the schedule counts as given by the month's end.
Counted = tuple[ChildRecord, Mapping[str, date]]


def dose_coverage(counted: list[Counted], code: str, start: date, end: date) -> DoseCoverage:
    """Coverage of one dose among its target age group, and the valid doses given on exact dates in the month."""
    return dose_members(counted, code, start, end)[0]


def dose_members(counted: list[Counted], code: str, start: date, end: date) -> tuple[DoseCoverage, Members]:
    """:func:`dose_coverage` with who stands behind it (the target, those covered)."""
    ages = INFANT_AGES if _recommended_months(code) < IDL_MONTHS else BOOSTER_AGES
    target = [(c, valid) for c, valid in counted if _age_in(c.birth, end, ages)]
    covered = tuple(c.id for c, valid in target if code in valid)
    given = sum(code in valid and valid[code] >= start and code not in c.approximate for c, valid in counted)
    return (DoseCoverage(code, len(target), len(covered), given, percent(len(covered), len(target))),
            Members(tuple(c.id for c, _valid in target), covered))


def idl(counted: list[Counted], start: date, end: date, je: bool = False) -> Rate:
    """Complete routine immunisation among children whose first birthday falls in the month."""
    return idl_members(counted, start, end, je).rate


def idl_members(counted: list[Counted], start: date, end: date, je: bool = False) -> Members:
    """Who stands behind :func:`idl`: the month's cohort, those of it completely immunised."""
    codes = idl_codes(je)
    cohort = [(c.id, valid, add_months(c.birth, IDL_MONTHS)) for c, valid in counted]
    cohort = [(cid, valid, birthday) for cid, valid, birthday in cohort if start <= birthday <= end]
    complete = tuple(cid for cid, valid, birthday in cohort if all(code in valid and valid[code] < birthday for code in codes))
    return Members(tuple(cid for cid, _v, _b in cohort), complete)


# --------------------------------------------------------------------------- ANC and iron tablets


def pregnant_in_month(p: PregnancyRecord, start: date, end: date) -> bool:
    """Pregnant on at least one day of the month, or delivered in it."""
    if p.delivered_on is not None and start <= p.delivered_on <= end:
        return True
    return p.hpht <= end and is_pregnant(p.hpht, max(start, p.hpht), p.delivered_on)


def _last_day(p: PregnancyRecord, end: date) -> date:
    """The delivery date when it is known and not after ``end``, else ``end``."""
    return min(end, p.delivered_on) if p.delivered_on is not None and p.delivered_on >= p.hpht else end


def _anc_trimesters(schedule: Schedule) -> tuple[int, ...]:
    """The trimester of each numbered ANC contact of the schedule (1, 2, 2, 3, 3, 3)."""
    return tuple(rule.trimester for rule in schedule.services.anc_rules)


def anc_by_trimester(p: PregnancyRecord, end: date, schedule: Schedule | None = None) -> tuple[int, int, int]:
    """ANC contacts in trimesters 1, 2, 3 up to delivery or ``end``: the distinct contact days, or the
    contacts a numbered record stands for when they are more."""
    until = _last_day(p, end)
    counts = [0, 0, 0]
    for day in set(p.anc_visits):
        if p.hpht <= day <= until:
            counts[trimester(p.hpht, day) - 1] += 1
    split = _anc_trimesters(schedule or load_schedule())
    for day, number in p.numbered:
        if not p.hpht <= day <= until:
            continue
        own = trimester(p.hpht, day)
        implied = [0, 0, 0]
        for n in range(number):
            implied[min(split[n] if n < len(split) else 3, own) - 1] += 1
        counts = [max(c, i) for c, i in zip(counts, implied)]
    return counts[0], counts[1], counts[2]


def _meets(counts: tuple[int, int, int], minima: tuple[int, int, int]) -> bool:
    """Whether every trimester has at least its minimum of contacts."""
    return all(c >= m for c, m in zip(counts, minima))


def anc(pregnancies: Iterable[PregnancyRecord], start: date, end: date,
        schedule: Schedule | None = None) -> tuple[Rate, Rate, Rate]:
    """K1, K4, K6 among the pregnancies of the month."""
    k1, k4, k6 = anc_members(pregnancies, start, end, schedule)
    return k1.rate, k4.rate, k6.rate


def anc_members(pregnancies: Iterable[PregnancyRecord], start: date, end: date,
                schedule: Schedule | None = None) -> tuple[Members, Members, Members]:
    """Who stands behind :func:`anc`: the pregnancies of the month, those meeting K1, K4, K6."""
    counted = [(p.id, anc_by_trimester(p, end, schedule)) for p in pregnancies if pregnant_in_month(p, start, end)]
    total = tuple(pid for pid, _c in counted)
    return (Members(total, tuple(pid for pid, c in counted if sum(c) >= 1)),
            Members(total, tuple(pid for pid, c in counted if _meets(c, K4_MINIMA))),
            Members(total, tuple(pid for pid, c in counted if _meets(c, K6_MINIMA))))


def iron_in_pregnancy(pregnancies: Iterable[PregnancyRecord], start: date, end: date) -> tuple[Rate, int]:
    """Pregnancies of the month given iron tablets in it, and the tablets given in it."""
    total = given = tablets = 0
    for p in pregnancies:
        if not pregnant_in_month(p, start, end):
            continue
        total += 1
        first, last = max(start, p.hpht), _last_day(p, end)
        month = [n for day, n in p.iron if first <= day <= last]
        given += bool(month)
        tablets += sum(max(n, 0) for n in month)
    return rate(given, total), tablets


# --------------------------------------------------------------------------- nifas and neonatal visits


def _event_windows(codes: tuple[str, ...], schedule: Schedule) -> tuple[tuple[int, int], ...]:
    """The (first, last) day after the event of each visit window of the schedule."""
    rules = schedule.services.by_code
    return tuple((rules[code].from_days, rules[code].until_days) for code in codes)


def windows_met(event: date, visits: Iterable[date], approximate: Iterable[str], codes: tuple[str, ...],
                schedule: Schedule | None = None) -> tuple[bool, ...]:
    """For each visit window of ``codes``: whether a visit falls in it (days after ``event``) or its own
    code is recorded with an approximate date."""
    days = {(v - event).days for v in visits}
    claimed = set(approximate)
    windows = _event_windows(codes, schedule or load_schedule())
    return tuple(code in claimed or any(lo <= d <= hi for d in days) for code, (lo, hi) in zip(codes, windows))


def _visits(events: Iterable[tuple], codes: tuple[str, ...],
            start: date, end: date, schedule: Schedule) -> tuple[Rate, Rate]:
    """First visit and all visits among the events whose last window closed in the month."""
    first, complete = _visit_members(((None, *event) for event in events), codes, start, end, schedule)
    return first.rate, complete.rate


def _visit_members(events: Iterable[tuple], codes: tuple[str, ...], start: date, end: date,
                   schedule: Schedule) -> tuple[Members, Members]:
    """Who stands behind :func:`_visits`, from (id, event, visits, approximate)."""
    closes = timedelta(days=max(hi for _lo, hi in _event_windows(codes, schedule)))
    met = [(eid, windows_met(event, visits, approximate, codes, schedule))
           for eid, event, visits, approximate in events if start <= event + closes <= end]
    total = tuple(eid for eid, _m in met)
    return Members(total, tuple(eid for eid, m in met if m[0])), Members(total, tuple(eid for eid, m in met if all(m)))


def kn(newborns: Iterable[NewbornRecord], start: date, end: date,
       schedule: Schedule | None = None) -> tuple[Rate, Rate]:
    """KN1 and complete KN among newborns whose 28-day window closed in the month."""
    first, complete = kn_members(newborns, start, end, schedule)
    return first.rate, complete.rate


def kn_members(newborns: Iterable[NewbornRecord], start: date, end: date,
               schedule: Schedule | None = None) -> tuple[Members, Members]:
    """Who stands behind :func:`kn`."""
    return _visit_members(((n.id, n.birth, n.kn_visits, n.approximate) for n in newborns), KN_CODES, start, end,
                          schedule or load_schedule())


def kf(mothers: Iterable[NifasRecord], start: date, end: date,
       schedule: Schedule | None = None) -> tuple[Rate, Rate]:
    """KF1 and complete KF among mothers whose 42-day nifas ended in the month."""
    return _visits(((m.delivered_on, m.kf_visits, m.approximate) for m in mothers), KF_CODES, start, end,
                   schedule or load_schedule())


# --------------------------------------------------------------------------- services by age


def in_age_group(person: PersonRecord, rule: ServiceRule, end: date) -> bool:
    """Whether ``person`` is in the age range (and sex) of a service rule on ``end``."""
    if person.birth > end or (rule.sex is not None and rule.sex != ("M" if person.sex == 1 else "F")):
        return False
    months = age_months(person.birth, end)
    return rule.min_months <= months and (rule.end_months is None or months < rule.end_months)


def given_in_month(people: list[PersonRecord], code: str, start: date, end: date, schedule: Schedule) -> Rate:
    """People in the age group of service ``code`` with it recorded on an exact date in the month."""
    return given_members(people, code, start, end, schedule).rate


def given_members(people: list[PersonRecord], code: str, start: date, end: date, schedule: Schedule) -> Members:
    """Who stands behind :func:`given_in_month`."""
    rule = schedule.services.by_code[code]
    group = [p for p in people if in_age_group(p, rule, end)]
    return Members(tuple(p.id for p in group), tuple(p.id for p in group if _exact_in(p.records, code, start, end)))


def screened_in_year(people: list[PersonRecord], code: str, end: date, schedule: Schedule) -> Rate:
    """People in the age group of service ``code`` with it recorded (any precision) in the 12 months to ``end``."""
    rule = schedule.services.by_code[code]
    since = add_months(end, -SCREENING_MONTHS) + timedelta(days=1)
    group = [p for p in people if in_age_group(p, rule, end)]
    return rate(sum(_done_between(p.records, code, since, end) for p in group), len(group))


def screening_windows(birth: date, rule: ServiceRule) -> list[tuple[date, date]]:
    """The (first, last) days of each screening-age window of an ``ages`` rule (SDIDTK)."""
    ages = rule.ages_months
    ends = ages[1:] + (ages[-1] + rule.last_window_months,)
    return [(add_months(birth, age), add_months(birth, until) - timedelta(days=1)) for age, until in zip(ages, ends)]


def sdidtk(people: list[PersonRecord], start: date, end: date, schedule: Schedule, code: str = "SDIDTK") -> Rate:
    """Children with a screening due in the month (a window open in it, not closed before it), and
    those of them screened on an exact date in the month."""
    rule = schedule.services.by_code[code]
    due = screened = 0
    oldest = rule.end_months if rule.end_months is not None else rule.ages_months[-1] + rule.last_window_months
    for p in people:
        if p.birth > end or add_months(p.birth, oldest) <= start:  # not born yet, or past the last window
            continue
        open_ = [(lo, hi) for lo, hi in screening_windows(p.birth, rule) if lo <= end and hi >= start]
        if not any(not _done_between(p.records, code, lo, start - timedelta(days=1)) for lo, _hi in open_):
            continue
        due += 1
        screened += _exact_in(p.records, code, start, end)
    return rate(screened, due)


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
    return tuple(m.rate for m in nutrition_members(under_fives, start, end))  # type: ignore[return-value]


def nutrition_members(under_fives: list[ChildRecord], start: date,
                      end: date) -> tuple[Members, Members, Members, Members]:
    """Who stands behind :func:`nutrition`."""
    heights = [(c.id, h) for c, h in ((c, height_category(c, start, end)) for c in under_fives) if h is not None]
    wflh = [(c.id, w) for c, w in ((c, wflh_category(c, start, end)) for c in under_fives) if w is not None]
    measured, weighed = tuple(i for i, _h in heights), tuple(i for i, _w in wflh)
    return (
        Members(measured, tuple(i for i, h in heights if h in STUNTED)),
        Members(measured, tuple(i for i, h in heights if h == "severely_stunted")),
        Members(weighed, tuple(i for i, w in wflh if w in WASTED)),
        Members(weighed, tuple(i for i, w in wflh if w == "severely_wasted")),
    )


# --------------------------------------------------------------------------- the report


def month_report(year: int, month: int, *, children: Iterable[ChildRecord] = (),
                 pregnancies: Iterable[PregnancyRecord] = (), newborns: Iterable[NewbornRecord] = (),
                 mothers: Iterable[NifasRecord] = (), people: Iterable[PersonRecord] = (),
                 reminders: ReminderCounts | None = None, je: bool = False,
                 schedule: Schedule | None = None, pws_only: bool = False) -> MonthReport:
    """The coverage report of one posyandu for ``month`` of ``year`` (definitions: module docstring).

    ``people`` are everyone registered with a birth date (children too: vitamin A, deworming and
    SDIDTK are read from their records); ``schedule`` defaults to the content schedule. With
    ``pws_only`` the figures the PWS does not show (KF, deworming, SDIDTK, TTD remaja, PTM, SKILAS) are
    left out (None, and no row in :func:`report_table`); ``people`` then need only be the under-sixes.
    The figures computed are the same either way.
    """
    start, end = month_bounds(year, month)
    schedule = schedule or load_schedule()
    children, pregnancies, people = list(children), list(pregnancies), list(people)
    counted = [(c, valid_doses(c, end, je, schedule)) for c in children]
    under_fives = balita(children, end)
    summary, weighed, grew = skdn_members(under_fives, end)
    doses = [dose_members(counted, code, start, end) for code in dose_codes(je)]
    anc_who = anc_members(pregnancies, start, end, schedule)
    k1, k4, k6 = (m.rate for m in anc_who)
    iron_pregnant, iron_tablets = iron_in_pregnancy(pregnancies, start, end)
    kf1, kf_complete = (None, None) if pws_only else kf(mothers, start, end, schedule)
    kn_who = kn_members(newborns, start, end, schedule)
    nutrition_who = nutrition_members(under_fives, start, end)
    stunted, severely_stunted, wasted, severely_wasted = (m.rate for m in nutrition_who)
    idl_who = idl_members(counted, start, end, je)
    vitamin_a = {code: given_members(people, code, start, end, schedule) for code in ("VITA_BIRU", "VITA_MERAH")}
    members = {"D/S": weighed, "N/D": grew, "IDL": idl_who, **{cov.code: who for cov, who in doses},
               "K1": anc_who[0], "K4": anc_who[1], "K6": anc_who[2], "KN1": kn_who[0], "KN_COMPLETE": kn_who[1],
               **vitamin_a, "STUNTED": nutrition_who[0], "WASTED": nutrition_who[2]}
    return MonthReport(
        year=year, month=month, start=start, end=end,
        skdn=summary,
        doses=tuple(cov for cov, _who in doses),
        idl=idl_who.rate,
        k1=k1, k4=k4, k6=k6, iron_pregnant=iron_pregnant, iron_tablets=iron_tablets,
        kf1=kf1, kf_complete=kf_complete, kn1=kn_who[0].rate, kn_complete=kn_who[1].rate,
        vitamin_a_blue=vitamin_a["VITA_BIRU"].rate,
        vitamin_a_red=vitamin_a["VITA_MERAH"].rate,
        deworming=None if pws_only else given_in_month(people, "OBAT_CACING", start, end, schedule),
        sdidtk=None if pws_only else sdidtk(people, start, end, schedule),
        stunted=stunted, severely_stunted=severely_stunted,
        wasted=wasted, severely_wasted=severely_wasted,
        iron_girls=None if pws_only else given_in_month(people, "TTD_REMAJA", start, end, schedule),
        ptm=None if pws_only else screened_in_year(people, "SKRINING_PTM", end, schedule),
        skilas=None if pws_only else screened_in_year(people, "SKILAS", end, schedule),
        reminders=reminders or ReminderCounts(),
        members=members,
    )


# --------------------------------------------------------------------------- the table


#: The five indicators /laporan leads with, in this order: participation in weighing (D/S), growth
#: success (N/D), complete routine immunisation (IDL), six ANC contacts (K6, the current standard of
#: CARE.md section 3) and stunting among the children measured.
HEADLINE = ("D/S", "N/D", "IDL", "K6", "STUNTED")

#: Sections of the table, in order.
SECTIONS = ("skdn", "immunization", "pregnancy", "newborn", "children", "nutrition", "adolescents", "adults", "reminders")


@dataclass(frozen=True)
class TableRow:
    """One row of the report table: ``count`` out of ``total`` at ``percent`` (total and percent None
    for a plain number such as S); a dose's row also has the valid doses given in the month."""

    section: str
    code: str
    count: int
    total: int | None = None
    percent: float | None = None
    given_in_month: int | None = None


def report_table(report: MonthReport) -> list[TableRow]:
    """The report as rows, by section (:data:`SECTIONS`): every view of the report (the text, the
    chart, the CSV and XLSX) is drawn from these numbers.

    Codes are stable and untranslated: S, K, D, N, D/S, N/D, N/S, T, 2T, O, B (skdn; the ratios with
    their numerator and denominator: D/S is D of S); one row per dose with the dose code (covered of
    the target, and the doses given in the month); IDL; K1, K4, K6, TTD_HAMIL, TTD_HAMIL_TABLETS (a
    number); KF1, KF_COMPLETE, KN1, KN_COMPLETE; VITA_BIRU, VITA_MERAH, OBAT_CACING, SDIDTK; STUNTED,
    SEVERELY_STUNTED, WASTED, SEVERELY_WASTED; TTD_REMAJA; SKRINING_PTM, SKILAS; REMINDERS_SENT,
    REMINDERS_DELIVERED. K/S and D/K are left out: with K = S they repeat 100 % and D/S.
    """
    sk = report.skdn
    rows = [TableRow("skdn", code, value) for code, value in (("S", sk.s), ("K", sk.k), ("D", sk.d), ("N", sk.n))]
    rows += [TableRow("skdn", "D/S", sk.d, sk.s, sk.d_s), TableRow("skdn", "N/D", sk.n, sk.d, sk.n_d),
             TableRow("skdn", "N/S", sk.n, sk.s, sk.n_s)]
    rows += [TableRow("skdn", code, value) for code, value in (("T", sk.t), ("2T", sk.t2), ("O", sk.o), ("B", sk.b))]
    rows += [TableRow("immunization", d.code, d.covered, d.target, d.percent, d.given_in_month) for d in report.doses]

    def rates(section: str, *items: tuple[str, Rate | None]) -> None:
        rows.extend(TableRow(section, code, r.count, r.total, r.percent) for code, r in items if r is not None)

    rates("immunization", ("IDL", report.idl))
    rates("pregnancy", ("K1", report.k1), ("K4", report.k4), ("K6", report.k6), ("TTD_HAMIL", report.iron_pregnant))
    rows.append(TableRow("pregnancy", "TTD_HAMIL_TABLETS", report.iron_tablets))
    rates("newborn", ("KF1", report.kf1), ("KF_COMPLETE", report.kf_complete),
          ("KN1", report.kn1), ("KN_COMPLETE", report.kn_complete))
    rates("children", ("VITA_BIRU", report.vitamin_a_blue), ("VITA_MERAH", report.vitamin_a_red),
          ("OBAT_CACING", report.deworming), ("SDIDTK", report.sdidtk))
    rates("nutrition", ("STUNTED", report.stunted), ("SEVERELY_STUNTED", report.severely_stunted),
          ("WASTED", report.wasted), ("SEVERELY_WASTED", report.severely_wasted))
    rates("adolescents", ("TTD_REMAJA", report.iron_girls))
    rates("adults", ("SKRINING_PTM", report.ptm), ("SKILAS", report.skilas))
    rows.append(TableRow("reminders", "REMINDERS_SENT", report.reminders.sent))
    rows.append(TableRow("reminders", "REMINDERS_DELIVERED", report.reminders.delivered))
    return rows


#: The rows whose people a report keeps (:attr:`MonthReport.members`): the indicators of the PWS
#: (the web's overview), besides every dose (:func:`dose_codes`).
MEMBER_CODES = ("IDL", "D/S", "N/D", "K1", "K4", "K6", "KN1", "KN_COMPLETE", "VITA_BIRU", "VITA_MERAH", "STUNTED", "WASTED")


def headline(report: MonthReport) -> list[TableRow]:
    """The rows of the :data:`HEADLINE` indicators, in that order."""
    rows = {row.code: row for row in report_table(report)}
    return [rows[code] for code in HEADLINE]
