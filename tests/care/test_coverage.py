"""care.coverage: a posyandu's month report against figures computed by hand.

The main fixture is posyandu "Melati" in January 2024 (month end 31 January; the month before is
December 2023). Every expected number below is worked out in the comments from the records alone;
ages are completed months as care.stages.age_months counts them (a child born on the 31st is a month
older on the last day of a shorter month).

After the fixture, tables of single cases for each rule: doses counted as the schedule says (invalid
doses, approximate dates), ANC numbered contacts, iron tablets in pregnancy, KF and KN windows, and
the services by age (vitamin A, deworming, TTD for girls, PTM and SKILAS in 12 months, SDIDTK) at the
boundaries of the month and of the age groups.
"""
from __future__ import annotations

from datetime import date

import pytest

from care.coverage import (
    ChildRecord,
    DoseCoverage,
    NewbornRecord,
    NifasRecord,
    PersonRecord,
    PregnancyRecord,
    Rate,
    ReminderCounts,
    Skdn,
    anc_by_trimester,
    dose_codes,
    idl_codes,
    month_report,
    percent,
    HEADLINE,
    SECTIONS,
    TableRow,
    headline,
    rate,
    report_table,
    valid_doses,
)
from care.history import Record
from care.rules_file import apply_overrides, load_schedule

D = date

# Infant doses given together at 2, 3 and 4 months.
AT_2 = ("DPT_HB_HIB1", "OPV2", "PCV1", "RV1")
AT_3 = ("DPT_HB_HIB2", "OPV3", "PCV2", "RV2")
AT_4 = ("DPT_HB_HIB3", "OPV4", "RV3", "IPV1")


def doses(**groups: date) -> dict[str, date]:
    """Dose dict from keyword codes; at2/at3/at4 expand to the doses given together."""
    out: dict[str, date] = {}
    for key, when in groups.items():
        codes = {"at2": AT_2, "at3": AT_3, "at4": AT_4}.get(key, (key,))
        out.update(dict.fromkeys(codes, when))
    return out


# --------------------------------------------------------------------------- the January fixture
#
# Children (sex 1 = boy, 2 = girl), age in completed months on 31 Jan 2024:
#
# C1  boy  born 2023-12-20, 1 m.  Weighed only 2024-01-10 (4.2 kg) -> B.
#     Length 54.0 l on 01-10 with 4.2 kg. lhfa: L=1, M=53.3905, S=0.03609 at 21 days:
#     (54/53.3905-1)/0.03609 = +0.32; wfl 54.0 cm: M=4.2693 -> 4.2 kg is about -0.2: normal.
#     Doses: HB0 2023-12-20, BCG 01-10 (in month), OPV1 01-20 (in month).
# C2  girl born 2023-07-15, 6 m.  Dec 14: 7.0, Jan 15: 7.5 -> +500 g; age at 01-15 = 6 m, KBM 400 -> N.
#     Length 64.0 l on 01-15: (64/65.804-1)/0.03447 = -0.80 normal; wfl 64 cm M=6.8501, 7.5 kg ~ +1.0.
#     Doses: all through 4 months in 2023, except IPV1 given 2024-01-15 (in month).
# C3  boy  born 2023-01-10, 12 m (first birthday 2024-01-10: IDL cohort of January).
#     Nov 10: 8.7, Dec 11: 9.0 (+300 >= KBM 200 at 11 m: N), Jan 10: 9.1 (+100 < KBM 200 at 12 m) -> T.
#     Length 68.0 l on 01-10 (365 days): (68/75.7391-1)/0.03137 = -3.26 -> severely stunted;
#     wfl 68 cm M=7.9674, 9.1 kg ~ +1.6: not wasted.
#     Doses: every IDL dose (incl. MR1 and IPV2 on 2023-10-10) before 2024-01-10 -> IDL complete;
#     PCV3 on 2024-01-10 (in month).
# C4  girl born 2023-01-25, 12 m (first birthday 2024-01-25: IDL cohort of January).
#     Nov 24: 8.0, Dec 22: 8.1 (+100 < KBM 300 at 10 m: T), Jan 26: 8.1 (+0 < 200: T) -> 2T.
#     Length 72.0 l on 01-26: (72/74.0451-1)/0.03479 = -0.79; wfl 72 cm M=8.5679, 8.1 kg ~ -0.6.
#     Doses: all IDL doses before the birthday except MR1, given 2024-01-26 (the day after it)
#     -> IDL not complete; MR1 counts as given in January although she is not in its target.
# C5  boy  born 2022-06-05, 19 m.  Oct 12: 8.3, Jan 12: 8.5, nothing in December -> O.
#     Length 80.0 l on 01-12: (80/83.4859-1)/0.03318 = -1.26 normal;
#     wfl 80 cm: L=-0.3521, M=10.4475, S=0.08308: ((8.5/10.4475)^-0.3521-1)/(0.08308*-0.3521) = -2.58
#     -> wasted (gizi kurang), not severely.
#     Doses: PCV3 2023-06-10, DPT_HB_HIB4 2024-01-08 (in month).
# C6  girl born 2021-03-12, 34 m.  Weighed Dec 20 only -> in S, not in D.
#     Height 85.0 h on 01-20 with no weighing that day: (85/93.8581-1)/0.03976 = -2.37 -> stunted;
#     no weight-for-height.
# C7  boy  born 2019-02-01, 59 m (add_months(birth, 59) = 2024-01-01 <= 31 Jan): the oldest in S.
#     Dec 5: 14.7, Jan 5: 15.0 -> +300 >= KBM 200 -> N.
#     Heights 90.0 h on 01-03 (would be -4.23, severely stunted) and 98.0 h on 01-05: the latest
#     counts: (98/109.4743-1)/0.04203 = -2.49 -> stunted, not severely; wfh 98 cm with 15.0 kg ~ +0.2.
#     Dose MR2 in 2020: he is outside the 12-23 m booster target.
# C8  girl born 2019-01-31, 60 m -> not in S; her January weighing and height count nowhere.
# C9  boy  born 2023-11-30, 2 m (add_months(birth, 2) = 2024-01-30).
#     Dec 28: 4.5, Jan 29: 5.4 -> +900; age at 01-29 = 1 m (2 m only from 01-30), KBM 800 -> N.
#     Length 56.0 l on 01-29: (56/58.3299-1)/0.03427 = -1.17 normal; wfl 56 cm M=4.8338 -> ~ +1.3.
#     Doses: HB0 2023-11-30, BCG 2023-12-28, OPV1 2024-01-29 (in month); DPT_HB_HIB1 2024-02-05 is
#     after the month end and does not count.
# C10 girl born 2022-12-31, 13 m (first birthday 2023-12-31: December's IDL cohort, not January's).
#     Dec 1: 9.0, Jan 3: 9.5, Jan 31: 9.2 -> the month's last weighing counts: +200 = KBM 200 -> N.
#     Length only on 2023-12-01 -> not measured in January. PCV3 on 2024-02-02: after the month.
# C11 boy  born 2024-02-05: after the month end, counted nowhere (HB0 on 02-05 neither).
# C12 girl born 2023-10-31, 3 m (add_months(birth, 3) = 2024-01-31).
#     Weighed 2023-12-31 and 2024-02-01 -> not weighed in January. Length only on 2024-02-01.
#     Doses: HB0 2023-10-31, BCG 2023-11-15, OPV1 2023-12-01, DPT_HB_HIB1/OPV2/PCV1/RV1 2024-01-02.

IDL_2023_01_10 = doses(HB0=D(2023, 1, 10), BCG=D(2023, 2, 10), OPV1=D(2023, 2, 10), at2=D(2023, 3, 10),
                       at3=D(2023, 4, 10), at4=D(2023, 5, 10), MR1=D(2023, 10, 10), IPV2=D(2023, 10, 10))

CHILDREN = (
    ChildRecord("C1", 1, D(2023, 12, 20),
                weighings=((D(2024, 1, 10), 4.2),),
                lengths=((D(2024, 1, 10), 54.0, "l"),),
                doses=doses(HB0=D(2023, 12, 20), BCG=D(2024, 1, 10), OPV1=D(2024, 1, 20))),
    ChildRecord("C2", 2, D(2023, 7, 15),
                weighings=((D(2023, 12, 14), 7.0), (D(2024, 1, 15), 7.5)),
                lengths=((D(2024, 1, 15), 64.0, "l"),),
                doses=doses(HB0=D(2023, 7, 15), BCG=D(2023, 8, 10), OPV1=D(2023, 8, 15), at2=D(2023, 9, 15),
                            at3=D(2023, 10, 16), at4=D(2023, 11, 15), IPV1=D(2024, 1, 15))),
    ChildRecord("C3", 1, D(2023, 1, 10),
                weighings=((D(2023, 11, 10), 8.7), (D(2023, 12, 11), 9.0), (D(2024, 1, 10), 9.1)),
                lengths=((D(2024, 1, 10), 68.0, "l"),),
                doses={**IDL_2023_01_10, "PCV3": D(2024, 1, 10)}),
    ChildRecord("C4", 2, D(2023, 1, 25),
                weighings=((D(2023, 11, 24), 8.0), (D(2023, 12, 22), 8.1), (D(2024, 1, 26), 8.1)),
                lengths=((D(2024, 1, 26), 72.0, "l"),),
                doses=doses(HB0=D(2023, 1, 25), BCG=D(2023, 2, 25), OPV1=D(2023, 2, 25), at2=D(2023, 3, 25),
                            at3=D(2023, 4, 25), at4=D(2023, 5, 25), IPV2=D(2023, 10, 25), MR1=D(2024, 1, 26))),
    ChildRecord("C5", 1, D(2022, 6, 5),
                weighings=((D(2023, 10, 12), 8.3), (D(2024, 1, 12), 8.5)),
                lengths=((D(2024, 1, 12), 80.0, "l"),),
                doses={"PCV3": D(2023, 6, 10), "DPT_HB_HIB4": D(2024, 1, 8)}),
    ChildRecord("C6", 2, D(2021, 3, 12),
                weighings=((D(2023, 12, 20), 12.0),),
                lengths=((D(2024, 1, 20), 85.0, "h"),)),
    ChildRecord("C7", 1, D(2019, 2, 1),
                weighings=((D(2023, 12, 5), 14.7), (D(2024, 1, 5), 15.0)),
                lengths=((D(2024, 1, 5), 98.0, "h"), (D(2024, 1, 3), 90.0, "h")),  # out of order on purpose
                doses={"MR2": D(2020, 8, 1)}),
    ChildRecord("C8", 2, D(2019, 1, 31),
                weighings=((D(2023, 12, 5), 15.0), (D(2024, 1, 5), 15.5)),
                lengths=((D(2024, 1, 5), 90.0, "h"),)),
    ChildRecord("C9", 1, D(2023, 11, 30),
                weighings=((D(2023, 12, 28), 4.5), (D(2024, 1, 29), 5.4)),
                lengths=((D(2024, 1, 29), 56.0, "l"),),
                doses=doses(HB0=D(2023, 11, 30), BCG=D(2023, 12, 28), OPV1=D(2024, 1, 29),
                            DPT_HB_HIB1=D(2024, 2, 5))),
    ChildRecord("C10", 2, D(2022, 12, 31),
                weighings=((D(2023, 12, 1), 9.0), (D(2024, 1, 3), 9.5), (D(2024, 1, 31), 9.2)),
                lengths=((D(2023, 12, 1), 74.0, "l"),),
                doses={"PCV3": D(2024, 2, 2)}),
    ChildRecord("C11", 1, D(2024, 2, 5),
                weighings=((D(2024, 2, 10), 3.4),),
                doses={"HB0": D(2024, 2, 5)}),
    ChildRecord("C12", 2, D(2023, 10, 31),
                weighings=((D(2023, 12, 31), 5.5), (D(2024, 2, 1), 6.0)),
                lengths=((D(2024, 2, 1), 60.0, "l"),),
                doses=doses(HB0=D(2023, 10, 31), BCG=D(2023, 11, 15), OPV1=D(2023, 12, 1), at2=D(2024, 1, 2))),
)

# Pregnancies. Trimester by completed weeks since HPHT: 1 = weeks 0-12 (days 0-90),
# 2 = weeks 13-27 (days 91-195), 3 = week 28 on (day 196 on).
#
# P1 HPHT 2023-04-01, delivered 2024-01-10 (in the month: counted).
#    05-20 day 49 T1; 08-01 day 122 T2; 09-15 day 167 T2; 10-20 day 202 T3; 11-25 day 238 T3;
#    12-28 day 271 T3; 2024-01-15 after delivery: ignored -> 1-2-3: K1, K4, K6.
# P2 HPHT 2023-09-01, ongoing (day 152 = week 21 on 31 Jan).
#    10-10 day 39 T1; 10-25 day 54 T1; 11-10 day 70 T1; 2024-01-20 day 141 T2; 2024-02-10 after the
#    month: ignored -> 3-1-0: four contacts but none in T3: K1 only.
# P3 HPHT 2023-05-01, ongoing (day 275 = week 39 on 31 Jan).
#    07-01 day 61 T1; 09-10 day 132 T2; 11-20 day 203 T3; 2024-01-05 day 249 T3; 01-25 day 269 T3;
#    01-25 again (same day, one contact) -> 1-1-3: K1, K4, not K6 (T2 needs 2).
# Not counted: P4 delivered 2023-12-20 (before the month); P5 HPHT 2024-02-03 (after it);
#    P6 HPHT 2022-12-01 with no delivery recorded: week 56 on 1 Jan, past the 45-week limit.
# -> 3 pregnancies; K1 3 (100.0 %), K4 2 (66.7 %), K6 1 (33.3 %).
PREGNANCIES = (
    PregnancyRecord("P1", D(2023, 4, 1), D(2024, 1, 10),
                    (D(2023, 5, 20), D(2023, 8, 1), D(2023, 9, 15), D(2023, 10, 20), D(2023, 11, 25),
                     D(2023, 12, 28), D(2024, 1, 15))),
    PregnancyRecord("P2", D(2023, 9, 1), None,
                    (D(2023, 10, 10), D(2023, 10, 25), D(2023, 11, 10), D(2024, 1, 20), D(2024, 2, 10))),
    PregnancyRecord("P3", D(2023, 5, 1), None,
                    (D(2023, 7, 1), D(2023, 9, 10), D(2023, 11, 20), D(2024, 1, 5), D(2024, 1, 25),
                     D(2024, 1, 25))),
    PregnancyRecord("P4", D(2023, 3, 10), D(2023, 12, 20), (D(2023, 4, 20),)),
    PregnancyRecord("P5", D(2024, 2, 3), None, ()),
    PregnancyRecord("P6", D(2022, 12, 1), None, (D(2023, 1, 20),)),
)

# Newborns: counted when birth + 28 days falls in January, i.e. born 2023-12-04 .. 2024-01-03.
# N1 born 2023-12-04 (window closes 01-01): visits day 1, 5, 16 -> KN1, KN2, KN3: complete.
# N2 born 2024-01-03 (closes 01-31): visits day 2 (01-05) and day 28 (01-31) -> KN1; no KN2.
# N3 born 2023-12-15 (closes 01-12): visits day 3 and day 10 -> day 3 is KN2, not KN1.
# Not counted: N4 born 2023-12-03 (closed 12-31), N5 born 2024-01-04 (closes 02-01).
# -> 3 newborns; KN1 2 (66.7 %), complete 1 (33.3 %).
NEWBORNS = (
    NewbornRecord("N1", D(2023, 12, 4), (D(2023, 12, 5), D(2023, 12, 9), D(2023, 12, 20))),
    NewbornRecord("N2", D(2024, 1, 3), (D(2024, 1, 5), D(2024, 1, 31))),
    NewbornRecord("N3", D(2023, 12, 15), (D(2023, 12, 18), D(2023, 12, 25))),
    NewbornRecord("N4", D(2023, 12, 3), (D(2023, 12, 3), D(2023, 12, 8), D(2023, 12, 20))),
    NewbornRecord("N5", D(2024, 1, 4), (D(2024, 1, 4),)),
)

REMINDERS = ReminderCounts(sent=25, delivered=23)


@pytest.fixture(scope="module")
def january():
    """The January 2024 report of the fixture."""
    return month_report(2024, 1, children=CHILDREN, pregnancies=PREGNANCIES, newborns=NEWBORNS,
                        reminders=REMINDERS)


def test_skdn(january):
    # S: C1 C2 C3 C4 C5 C6 C7 C9 C10 C12 = 10 (C8 is 60 m, C11 not yet born). K = S.
    # D: weighed in January: C1 C2 C3 C4 C5 C7 C9 C10 = 8 (C6 only in Dec, C12 Dec and Feb).
    # C1 B, C2 N, C3 T, C4 2T, C5 O, C7 N, C9 N, C10 N -> N 4, T 1, 2T 1, O 1, B 1 (sum 8 = D).
    # D/S 8/10 = 80.0; N/D 4/8 = 50.0; N/S 4/10 = 40.0; K/S 100.0; D/K = D/S.
    assert january.skdn == Skdn(s=10, k=10, d=8, n=4, t=1, o=1, b=1, t2=1,
                                k_s=100.0, d_k=80.0, d_s=80.0, n_d=50.0, n_s=40.0)


# Infant target (0-11 m on 31 Jan): C1 (1 m), C2 (6 m), C9 (2 m), C12 (3 m) = 4.
# Booster target (12-23 m): C3 (12), C4 (12), C5 (19), C10 (13) = 4.
# (code, covered by 31 Jan within the target, given in January by anyone)
EXPECTED_DOSES = [
    ("HB0", 4, 0),  # all four; none born in January
    ("BCG", 4, 1),  # C1 on 01-10
    ("OPV1", 4, 2),  # C1 01-20, C9 01-29
    ("DPT_HB_HIB1", 2, 1),  # C2, C12 (01-02); C9's is in February
    ("OPV2", 2, 1),
    ("PCV1", 2, 1),
    ("RV1", 2, 1),
    ("DPT_HB_HIB2", 1, 0),  # C2 only
    ("OPV3", 1, 0),
    ("PCV2", 1, 0),
    ("RV2", 1, 0),
    ("DPT_HB_HIB3", 1, 0),
    ("OPV4", 1, 0),
    ("IPV1", 1, 1),  # C2 on 01-15
    ("RV3", 1, 0),
    ("MR1", 0, 1),  # none of the infants; C4 (12 m) on 01-26
    ("IPV2", 0, 0),
    ("PCV3", 2, 1),  # C3 (01-10, in month), C5 (2023); C10's is in February
    ("DPT_HB_HIB4", 1, 1),  # C5 on 01-08
    ("MR2", 0, 0),  # C7's is outside the target age
]


def test_dose_coverage(january):
    pct = {4: 100.0, 2: 50.0, 1: 25.0, 0: 0.0}
    expected = tuple(DoseCoverage(code, 4, covered, given, pct[covered])
                     for code, covered, given in EXPECTED_DOSES)
    assert january.doses == expected
    assert january.dose("IPV1").given_in_month == 1
    with pytest.raises(KeyError):
        january.dose("JE")  # JE only with the switch


def test_idl(january):
    # Cohort: first birthday in January: C3 (01-10), C4 (01-25); C10's was 2023-12-31.
    # C3 has every IDL dose before 01-10; C4 had MR1 on 01-26, after her birthday -> 1/2.
    assert january.idl == Rate(1, 2, 50.0)


def test_anc(january):
    assert (january.k1, january.k4, january.k6) == (Rate(3, 3, 100.0), Rate(2, 3, 66.7), Rate(1, 3, 33.3))


def test_kn(january):
    assert (january.kn1, january.kn_complete) == (Rate(2, 3, 66.7), Rate(1, 3, 33.3))


def test_stunting_and_wasting(january):
    # Lengths in January among S: C1 C2 C3 C4 C5 C6 C7 C9 = 8 (C10 Dec only, C12 Feb only, C8 not in S).
    # Stunted: C3 (-3.26), C6 (-2.37), C7 (-2.49 from his latest height) = 3; severely: C3 = 1.
    # Weight and length on the same January day: C1 C2 C3 C4 C5 C7 C9 = 7 (C6 had no weighing that day).
    # Wasted: C5 (-2.58) = 1; severely: none.
    assert january.stunted == Rate(3, 8, 37.5)
    assert january.severely_stunted == Rate(1, 8, 12.5)
    assert january.wasted == Rate(1, 7, 14.3)
    assert january.severely_wasted == Rate(0, 7, 0.0)


def test_reminders_pass_through(january):
    assert january.reminders == ReminderCounts(25, 23)
    assert (january.year, january.month, january.start, january.end) == (2024, 1, D(2024, 1, 1), D(2024, 1, 31))


def test_table_rows(january):
    rows = report_table(january)
    assert rows[:11] == [
        TableRow("skdn", "S", 10), TableRow("skdn", "K", 10), TableRow("skdn", "D", 8), TableRow("skdn", "N", 4),
        TableRow("skdn", "D/S", 8, 10, 80.0), TableRow("skdn", "N/D", 4, 8, 50.0), TableRow("skdn", "N/S", 4, 10, 40.0),
        TableRow("skdn", "T", 1), TableRow("skdn", "2T", 1), TableRow("skdn", "O", 1), TableRow("skdn", "B", 1),
    ]
    table = {row.code: row for row in rows}
    assert [row.code for row in rows[11:11 + len(EXPECTED_DOSES)]] == [c for c, _, _ in EXPECTED_DOSES]
    assert table["OPV1"] == TableRow("immunization", "OPV1", 4, 4, 100.0, 2)
    assert table["MR1"] == TableRow("immunization", "MR1", 0, 4, 0.0, 1)
    # The fixture has no iron tablets, mothers or people: those rows are 0/3 (the pregnancies) or 0/0.
    assert [(r.section, r.code, r.count, r.total, r.percent) for r in rows[11 + len(EXPECTED_DOSES):]] == [
        ("immunization", "IDL", 1, 2, 50.0), ("pregnancy", "K1", 3, 3, 100.0), ("pregnancy", "K4", 2, 3, 66.7),
        ("pregnancy", "K6", 1, 3, 33.3), ("pregnancy", "TTD_HAMIL", 0, 3, 0.0), ("pregnancy", "TTD_HAMIL_TABLETS", 0, None, None),
        ("newborn", "KF1", 0, 0, None), ("newborn", "KF_COMPLETE", 0, 0, None),
        ("newborn", "KN1", 2, 3, 66.7), ("newborn", "KN_COMPLETE", 1, 3, 33.3),
        ("children", "VITA_BIRU", 0, 0, None), ("children", "VITA_MERAH", 0, 0, None),
        ("children", "OBAT_CACING", 0, 0, None), ("children", "SDIDTK", 0, 0, None),
        ("nutrition", "STUNTED", 3, 8, 37.5), ("nutrition", "SEVERELY_STUNTED", 1, 8, 12.5),
        ("nutrition", "WASTED", 1, 7, 14.3), ("nutrition", "SEVERELY_WASTED", 0, 7, 0.0),
        ("adolescents", "TTD_REMAJA", 0, 0, None), ("adults", "SKRINING_PTM", 0, 0, None), ("adults", "SKILAS", 0, 0, None),
        ("reminders", "REMINDERS_SENT", 25, None, None), ("reminders", "REMINDERS_DELIVERED", 23, None, None),
    ]
    assert all(r.given_in_month is None for r in rows if r.section != "immunization" or r.code == "IDL")
    assert len({row.code for row in rows}) == len(rows)  # codes are unique
    # sections come in their order, each in one run
    runs = [section for i, section in enumerate(r.section for r in rows) if i == 0 or rows[i - 1].section != section]
    assert runs == list(SECTIONS)


def test_headline_is_five_rows_of_the_same_table(january):
    rows = headline(january)
    assert [row.code for row in rows] == list(HEADLINE) == ["D/S", "N/D", "IDL", "K6", "STUNTED"]
    table = {row.code: row for row in report_table(january)}
    assert rows == [table[code] for code in HEADLINE]
    assert [(r.count, r.total, r.percent) for r in rows] == [(8, 10, 80.0), (4, 8, 50.0), (1, 2, 50.0), (1, 3, 33.3), (3, 8, 37.5)]


def test_inputs_may_be_iterators():
    one = month_report(2024, 1, children=iter(CHILDREN), pregnancies=iter(PREGNANCIES),
                       newborns=iter(NEWBORNS), reminders=REMINDERS)
    assert one == month_report(2024, 1, children=CHILDREN, pregnancies=PREGNANCIES, newborns=NEWBORNS,
                               reminders=REMINDERS)


# --------------------------------------------------------------------------- February of a leap year


def test_february_leap_year():
    # Month: 1-29 Feb 2024.
    # A born 2019-03-31: add_months(birth, 59) = 2024-02-29 -> 59 m on the 29th: in S; weighed 02-29 (B).
    # B born 2019-02-28: 60 m on 2024-02-28 -> not in S although weighed in February.
    # C born 2023-02-28: first birthday 2024-02-28 -> IDL cohort; all IDL doses, MR1 on 02-27 -> complete.
    #   12 m on 02-29 -> the only booster target; PCV3 on 02-29 counts (given and covered).
    # E born 2023-03-29: 11 m on 02-29 (birthday 03-29, March's cohort) -> the only infant;
    #   BCG on 03-01 is after the month -> BCG 0/1, given 0.
    # S = A, C, E = 3; D = A, C (weighed 02-28, and 01-29 +300 g >= 200: N) = 2 -> D/S 66.7, N/D 50.0.
    children = (
        ChildRecord("A", 1, D(2019, 3, 31), weighings=((D(2024, 2, 29), 16.0),)),
        ChildRecord("B", 2, D(2019, 2, 28), weighings=((D(2024, 2, 29), 15.0),)),
        ChildRecord("C", 2, D(2023, 2, 28), weighings=((D(2024, 1, 29), 8.5), (D(2024, 2, 28), 8.8)),
                    doses={**doses(HB0=D(2023, 2, 28), BCG=D(2023, 3, 28), OPV1=D(2023, 3, 28),
                                   at2=D(2023, 4, 28), at3=D(2023, 5, 28), at4=D(2023, 6, 28),
                                   IPV2=D(2023, 11, 28), MR1=D(2024, 2, 27)),
                           "PCV3": D(2024, 2, 29)}),
        ChildRecord("E", 1, D(2023, 3, 29), doses={"HB0": D(2023, 3, 29), "BCG": D(2024, 3, 1)}),
    )
    # Pregnancy delivered on the 29th: counted; its contacts up to that day: day 40 T1, day 120 T2,
    # day 150 T2, day 210 T3, 2024-02-29 itself (day 280) T3 -> 1-2-2: K4 but not K6.
    pregnancies = (
        PregnancyRecord("P", D(2023, 5, 25), D(2024, 2, 29),
                        (D(2023, 7, 4), D(2023, 9, 22), D(2023, 10, 22), D(2023, 12, 21), D(2024, 2, 29))),
    )
    # Born 02-01: window closes 02-29 -> counted (visits day 1, 4, 28: complete).
    # Born 02-02: closes 03-01 -> not counted.
    newborns = (
        NewbornRecord("N1", D(2024, 2, 1), (D(2024, 2, 2), D(2024, 2, 5), D(2024, 2, 29))),
        NewbornRecord("N2", D(2024, 2, 2), (D(2024, 2, 2),)),
    )
    report = month_report(2024, 2, children=children, pregnancies=pregnancies, newborns=newborns)
    assert report.end == D(2024, 2, 29)
    sk = report.skdn
    assert (sk.s, sk.d, sk.n, sk.b, sk.d_s, sk.n_d) == (3, 2, 1, 1, 66.7, 50.0)
    assert report.idl == Rate(1, 1, 100.0)
    assert report.dose("PCV3") == DoseCoverage("PCV3", 1, 1, 1, 100.0)
    assert report.dose("MR1").given_in_month == 1
    assert report.dose("BCG") == DoseCoverage("BCG", 1, 0, 0, 0.0)
    assert (report.k1, report.k4, report.k6) == (Rate(1, 1, 100.0), Rate(1, 1, 100.0), Rate(0, 1, 0.0))
    assert (report.kn1, report.kn_complete) == (Rate(1, 1, 100.0), Rate(1, 1, 100.0))


def test_february_common_year_shifts_the_boundaries():
    # In 2023 February ends on the 28th: a child born 2018-03-31 is 59 m on 2023-02-28
    # (add_months clamps to the 28th), a newborn of 2023-01-31 closes its window on 02-28.
    children = (ChildRecord("A", 1, D(2018, 3, 31), weighings=((D(2023, 2, 28), 16.0),)),)
    newborns = (NewbornRecord("N", D(2023, 1, 31), (D(2023, 2, 1),)),)
    report = month_report(2023, 2, children=children, newborns=newborns)
    assert (report.skdn.s, report.skdn.d) == (1, 1)
    assert (report.kn1, report.kn_complete) == (Rate(1, 1, 100.0), Rate(0, 1, 0.0))


# --------------------------------------------------------------------------- definitions


def test_empty_inputs_give_zeros_and_none():
    report = month_report(2024, 1, children=[], pregnancies=[], newborns=[])
    assert report.skdn == Skdn(s=0, k=0, d=0, n=0, t=0, o=0, b=0, t2=0,
                               k_s=None, d_k=None, d_s=None, n_d=None, n_s=None)
    assert all(d == DoseCoverage(d.code, 0, 0, 0, None) for d in report.doses)
    empty = Rate(0, 0, None)
    rates = [report.idl, report.k1, report.k4, report.k6, report.iron_pregnant, report.kf1, report.kf_complete,
             report.kn1, report.kn_complete, report.vitamin_a_blue, report.vitamin_a_red, report.deworming,
             report.sdidtk, report.stunted, report.severely_stunted, report.wasted, report.severely_wasted,
             report.iron_girls, report.ptm, report.skilas]
    assert rates == [empty] * len(rates) and report.iron_tablets == 0
    assert report.reminders == ReminderCounts(0, 0)
    rows = {row.code: row for row in report_table(report)}
    assert rows["D/S"] == TableRow("skdn", "D/S", 0, 0, None)
    assert rows["BCG"] == TableRow("immunization", "BCG", 0, 0, None, 0)
    assert rows["IDL"] == TableRow("immunization", "IDL", 0, 0, None)
    assert rows["REMINDERS_SENT"] == TableRow("reminders", "REMINDERS_SENT", 0)
    assert month_report(2024, 1) == report  # the record lists default to empty


def test_je_switch_adds_the_dose_and_tightens_idl():
    report = month_report(2024, 1, children=CHILDREN, je=True)
    assert [d.code for d in report.doses] == list(dose_codes(je=True))
    assert report.dose("JE") == DoseCoverage("JE", 4, 0, 0, 0.0)
    assert report.idl == Rate(0, 2, 0.0)  # C3 has no JE
    assert "JE" in idl_codes(je=True) and "JE" not in idl_codes()


def test_idl_needs_ipv2_and_doses_before_the_birthday():
    # CARE.md section 5: all doses due by 12 months; IPV2 is due at 9 months.
    birth = D(2023, 1, 10)
    without_ipv2 = {k: v for k, v in IDL_2023_01_10.items() if k != "IPV2"}
    on_birthday = {**IDL_2023_01_10, "MR1": D(2024, 1, 10)}
    children = [ChildRecord("full", 1, birth, doses=IDL_2023_01_10),
                ChildRecord("no_ipv2", 1, birth, doses=without_ipv2),
                ChildRecord("mr1_on_birthday", 1, birth, doses=on_birthday)]
    assert month_report(2024, 1, children=children).idl == Rate(1, 3, 33.3)
    assert idl_codes() == ("HB0", "BCG", "OPV1", "DPT_HB_HIB1", "OPV2", "PCV1", "RV1", "DPT_HB_HIB2",
                           "OPV3", "PCV2", "RV2", "DPT_HB_HIB3", "OPV4", "IPV1", "RV3", "MR1", "IPV2")


def test_dose_codes_follow_the_schedule():
    schedule = load_schedule().immunization
    for je in (False, True):
        assert dose_codes(je) == tuple(r.code for r in schedule.plan(je))
        recommended_before_12 = tuple(r.code for r in schedule.plan(je) if r.recommended.months < 12)
        assert idl_codes(je) == recommended_before_12


def test_a_report_rerun_later_ignores_later_records():
    # The December 2023 report of the fixture: C12's 2024-01-02 doses and C3's January weighing
    # must not leak into it.
    # Infants on 31 Dec: C1 (0 m), C2 (5), C3 (11), C4 (11), C9 (1), C12 (2) = 6; DPT_HB_HIB1 by then:
    # C2, C3, C4 = 3 (C12's is in January), none given in December.
    december = month_report(2023, 12, children=CHILDREN)
    assert december.dose("DPT_HB_HIB1") == DoseCoverage("DPT_HB_HIB1", 6, 3, 0, 50.0)
    # S on 31 Dec: C1 C2 C3 C4 C5 C6 C7 C8 (59 m on 12-31) C9 C10 C12 = 11 (C11 unborn).
    # Weighed in December: C2 C3 C4 C6 C7 C8 C9 C10 and C12 (on 12-31, the last day) = 9;
    # C1 only in January, C5 in October and January.
    # C3 in December: 12-11 9.0 vs 11-10 8.7 -> +300 >= KBM 200 at 11 m -> N (not January's T).
    assert (december.skdn.s, december.skdn.d) == (11, 9)
    assert december.idl.total == 1  # C10, first birthday 2023-12-31


def test_implausible_z_scores_are_left_out():
    # 40 cm at 2 years is far beyond -6 SD: flagged, so neither stunted nor measured.
    child = ChildRecord("X", 1, D(2022, 1, 1), weighings=((D(2024, 1, 5), 11.0),),
                        lengths=((D(2024, 1, 5), 40.0, "h"),))
    report = month_report(2024, 1, children=[child])
    assert report.stunted == Rate(0, 0, None)


def test_anc_contacts_stop_at_delivery_or_month_end():
    # Ongoing on 31 Jan with a delivery recorded in February (a report re-run later): still counted,
    # contacts only to 31 Jan. HPHT 2023-05-01: days 30 T1, 100 T2, 140 T2, 200 T3, 230 T3, 260 T3 (01-16)
    # and 2024-02-05 after the month -> 1-2-3 by 31 Jan: K6.
    p = PregnancyRecord("P", D(2023, 5, 1), D(2024, 2, 20),
                        (D(2023, 5, 31), D(2023, 8, 9), D(2023, 9, 18), D(2023, 11, 17), D(2023, 12, 17),
                         D(2024, 1, 16), D(2024, 2, 5)))
    # Q delivered on 01-10: 1-2-2 up to delivery (days 49 T1, 122 and 167 T2, 202 and 238 T3); the
    # visit on 01-20, after the delivery, does not make it a sixth contact -> K4, not K6.
    q = PregnancyRecord("Q", D(2023, 4, 1), D(2024, 1, 10),
                        (D(2023, 5, 20), D(2023, 8, 1), D(2023, 9, 15), D(2023, 10, 20), D(2023, 11, 25),
                         D(2024, 1, 20)))
    report = month_report(2024, 1, pregnancies=[p, q])
    assert (report.k4, report.k6) == (Rate(2, 2, 100.0), Rate(1, 2, 50.0))


@pytest.mark.parametrize(("count", "total", "expected"),
                         [(1, 3, 33.3), (2, 3, 66.7), (1, 8, 12.5), (1, 16, 6.3), (0, 5, 0.0), (3, 0, None)])
def test_percent_rounds_half_up(count, total, expected):
    assert percent(count, total) == expected


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        month_report(2024, 13)
    with pytest.raises(ValueError):
        ChildRecord("X", 3, D(2023, 1, 1))
    with pytest.raises(ValueError):
        ChildRecord("X", 1, D(2023, 1, 1), lengths=((D(2023, 2, 1), 50.0, "x"),))


# --------------------------------------------------------------------------- doses as the schedule says
#
# January 2024. A child born 2023-10-01 is 3 months old on 31 Jan (infant target). DPT_HB_HIB1 at
# 2 months (2023-12-01) is valid; DPT_HB_HIB2 needs 4 weeks after it (from 2023-12-29).

BORN_OCT = D(2023, 10, 1)
DPT1, DPT2 = "DPT_HB_HIB1", "DPT_HB_HIB2"


@pytest.mark.parametrize(("case", "birth", "given", "approximate", "code", "expected"), [
    # expected: (target, covered, given in the month)
    ("valid, 32 days after the first, in the month", BORN_OCT, {DPT1: D(2023, 12, 1), DPT2: D(2024, 1, 2)},
     (), DPT2, (1, 1, 1)),
    ("too soon: 9 days after the first", BORN_OCT, {DPT1: D(2023, 12, 1), DPT2: D(2023, 12, 10)}, (), DPT2, (1, 0, 0)),
    ("too soon, in the month", BORN_OCT, {DPT1: D(2024, 1, 2), DPT2: D(2024, 1, 20)}, (), DPT2, (1, 0, 0)),
    ("the first dose of a too-soon pair stays valid", BORN_OCT, {DPT1: D(2023, 12, 1), DPT2: D(2023, 12, 10)},
     (), DPT1, (1, 1, 0)),
    ("too early: 4 weeks of age, before 6 weeks", D(2023, 12, 1), {DPT1: D(2023, 12, 29)}, (), DPT1, (1, 0, 0)),
    ("too early, in the month", D(2023, 12, 10), {DPT1: D(2024, 1, 10)}, (), DPT1, (1, 0, 0)),
    ("approximate date in the month: covered, not given in the month", BORN_OCT,
     {DPT1: D(2023, 12, 1), DPT2: D(2024, 1, 15)}, (DPT2,), DPT2, (1, 1, 0)),
    ("approximate and too soon: no interval check", BORN_OCT, {DPT1: D(2023, 12, 1), DPT2: D(2023, 12, 10)},
     (DPT2,), DPT2, (1, 1, 0)),
    ("after an approximate dose the next is not judged", BORN_OCT, {DPT1: D(2024, 1, 1), DPT2: D(2024, 1, 5)},
     (DPT1,), DPT2, (1, 1, 1)),
    ("given on the month's last day", BORN_OCT, {DPT1: D(2023, 12, 1), DPT2: D(2024, 1, 31)}, (), DPT2, (1, 1, 1)),
    ("given the day after the month", BORN_OCT, {DPT1: D(2023, 12, 1), DPT2: D(2024, 2, 1)}, (), DPT2, (1, 0, 0)),
    ("given the day before the month", BORN_OCT, {DPT1: D(2023, 12, 1), DPT2: D(2023, 12, 31)}, (), DPT2, (1, 1, 0)),
    ("PCV3 before 12 months is invalid", D(2023, 1, 20), doses(at2=D(2023, 3, 20), at3=D(2023, 4, 20),
                                                                PCV3=D(2024, 1, 10)), (), "PCV3", (1, 0, 0)),
])
def test_doses_count_as_the_schedule_says(case, birth, given, approximate, code, expected):
    child = ChildRecord("X", 1, birth, doses=given, approximate=frozenset(approximate))
    row = month_report(2024, 1, children=[child]).dose(code)
    assert (row.target, row.covered, row.given_in_month) == expected, case


@pytest.mark.parametrize(("case", "change", "approximate", "complete"), [
    ("every dose valid", {}, (), 1),
    ("DPT_HB_HIB2 5 days after DPT_HB_HIB1: invalid, not complete", {DPT2: D(2023, 3, 15)}, (), 0),
    ("the same dose with an approximate date counts", {DPT2: D(2023, 3, 15)}, (DPT2,), 1),
    ("BCG told only as 'given, date unknown' counts", {}, ("BCG",), 1),
    ("MR1 before 9 months: invalid", {"MR1": D(2023, 9, 1)}, (), 0),
])
def test_idl_counts_only_valid_doses(case, change, approximate, complete):
    # Born 2023-01-10: first birthday 2024-01-10, January's cohort (IDL_2023_01_10 is complete and valid).
    child = ChildRecord("X", 1, D(2023, 1, 10), doses={**IDL_2023_01_10, **change},
                        approximate=frozenset(approximate))
    assert month_report(2024, 1, children=[child]).idl == rate(complete, 1), case


def test_valid_doses_ignore_doses_after_the_day_and_before_birth():
    child = ChildRecord("X", 1, BORN_OCT, doses={"HB0": D(2023, 9, 30), "BCG": D(2023, 10, 5), DPT1: D(2024, 2, 1)})
    assert valid_doses(child, D(2024, 1, 31)) == {"BCG": D(2023, 10, 5)}
    assert valid_doses(child, D(2023, 9, 30)) == {}  # not yet born


# --------------------------------------------------------------------------- ANC numbered contacts
#
# HPHT 2023-06-01: trimester 1 to day 90 (2023-08-30), 2 to day 195 (2023-12-13), 3 from 2023-12-14.

HPHT = D(2023, 6, 1)


@pytest.mark.parametrize(("case", "visits", "numbered", "expected"), [
    ("dated contacts only", (D(2023, 7, 1), D(2023, 9, 10), D(2024, 1, 5)), (), (1, 1, 1)),
    ("ANC4 told at week 31 stands for 1-2-1", (D(2024, 1, 10),), ((D(2024, 1, 10), 4),), (1, 2, 1)),
    ("ANC6 stands for 1-2-3", (D(2024, 1, 20),), ((D(2024, 1, 20), 6),), (1, 2, 3)),
    ("ANC4 at week 20: its trimester-3 contact counts in trimester 2", (D(2023, 10, 19),),
     ((D(2023, 10, 19), 4),), (1, 3, 0)),
    ("ANC2 at week 10: both in trimester 1", (D(2023, 8, 10),), ((D(2023, 8, 10), 2),), (2, 0, 0)),
    ("more dated contacts than the number says", (D(2023, 7, 1), D(2023, 9, 10), D(2023, 10, 10), D(2023, 12, 20),
                                                 D(2024, 1, 3), D(2024, 1, 20)), ((D(2023, 7, 1), 1),), (1, 2, 3)),
    ("a numbered record after the month is ignored", (), ((D(2024, 2, 2), 6),), (0, 0, 0)),
    ("a numbered record before HPHT is ignored", (), ((D(2023, 5, 20), 3),), (0, 0, 0)),
])
def test_anc_numbered_records_stand_for_earlier_contacts(case, visits, numbered, expected):
    p = PregnancyRecord("P", HPHT, None, visits, numbered)
    assert anc_by_trimester(p, D(2024, 1, 31)) == expected, case


def test_anc_numbered_records_reach_k4_and_k6():
    # ANC4 at week 31 -> 1-2-1: K1 only (K4 needs 2 in trimester 3); ANC6 -> K4 and K6;
    # the third is delivered 2024-01-10 and its ANC6 dated after the delivery counts for nothing.
    pregnancies = [PregnancyRecord("A", HPHT, None, (D(2024, 1, 10),), ((D(2024, 1, 10), 4),)),
                   PregnancyRecord("B", HPHT, None, (D(2024, 1, 20),), ((D(2024, 1, 20), 6),)),
                   PregnancyRecord("C", D(2023, 4, 1), D(2024, 1, 10), (), ((D(2024, 1, 12), 6),))]
    report = month_report(2024, 1, pregnancies=pregnancies)
    assert (report.k1, report.k4, report.k6) == (rate(2, 3), rate(1, 3), rate(1, 3))


# --------------------------------------------------------------------------- iron tablets in pregnancy


def test_iron_tablets_in_pregnancy():
    # A ongoing, tablets on 01-05 and 01-25 -> given, 60 tablets.
    # B ongoing, tablets on 12-31 and 02-01 only -> counted in the total, not given in January.
    # C delivered 01-10: 10 tablets on 01-09 count; those on 01-12 (after delivery) do not.
    # D delivered 2023-12-20: not a pregnancy of January although tablets are dated in it.
    # E HPHT 2024-01-20: pregnant from that day; tablets on 01-25 count, a record dated 01-10 is before HPHT.
    pregnancies = [
        PregnancyRecord("A", HPHT, iron=((D(2024, 1, 5), 30), (D(2024, 1, 25), 30))),
        PregnancyRecord("B", HPHT, iron=((D(2023, 12, 31), 30), (D(2024, 2, 1), 30))),
        PregnancyRecord("C", D(2023, 4, 1), D(2024, 1, 10), iron=((D(2024, 1, 9), 10), (D(2024, 1, 12), 10))),
        PregnancyRecord("D", D(2023, 3, 10), D(2023, 12, 20), iron=((D(2024, 1, 5), 30),)),
        PregnancyRecord("E", D(2024, 1, 20), iron=((D(2024, 1, 10), 30), (D(2024, 1, 25), 15))),
    ]
    report = month_report(2024, 1, pregnancies=pregnancies)
    assert (report.iron_pregnant, report.iron_tablets) == (rate(3, 4), 30 + 30 + 10 + 15)
    assert {row.code: row.count for row in report_table(report)}["TTD_HAMIL_TABLETS"] == 85


# --------------------------------------------------------------------------- nifas and neonatal visits


def test_kf_among_mothers_whose_nifas_ended_in_the_month():
    # Counted when delivery + 42 days falls in January: delivered 2023-11-20 .. 2023-12-20.
    # M1 delivered 11-20 (ends 01-01): days 1, 5, 20, 35 -> KF1 and complete.
    # M2 delivered 12-20 (ends 01-31): days 2 and 42 -> KF1 (day 42 is KF4), no KF2/KF3.
    # M3 delivered 12-01 (ends 01-12): days 3, 10, 30 and KF1 told with an approximate date -> complete.
    # M4 delivered 11-19 (ended 12-31) and M5 12-21 (ends 02-01): not counted.
    # M6 delivered 12-10 (ends 01-21): day 3 is KF2, not KF1; days 8 and 29 -> neither.
    mothers = [
        NifasRecord("M1", D(2023, 11, 20), (D(2023, 11, 21), D(2023, 11, 25), D(2023, 12, 10), D(2023, 12, 25))),
        NifasRecord("M2", D(2023, 12, 20), (D(2023, 12, 22), D(2024, 1, 31))),
        NifasRecord("M3", D(2023, 12, 1), (D(2023, 12, 4), D(2023, 12, 11), D(2023, 12, 31)), frozenset({"KF1"})),
        NifasRecord("M4", D(2023, 11, 19), (D(2023, 11, 19),)),
        NifasRecord("M5", D(2023, 12, 21), (D(2023, 12, 21),)),
        NifasRecord("M6", D(2023, 12, 10), (D(2023, 12, 13), D(2023, 12, 18), D(2024, 1, 8))),
    ]
    report = month_report(2024, 1, mothers=mothers)
    assert (report.kf1, report.kf_complete) == (rate(3, 4), rate(2, 4))


def test_kn_with_an_approximate_record_counts_its_own_window():
    # Born 2023-12-10 (window closes 01-07): visits day 5 and 15, KN1 told without a date -> complete.
    # Born 2023-12-20 (closes 01-17): KN3 told without a date only -> KN3 alone, not KN1.
    newborns = [NewbornRecord("A", D(2023, 12, 10), (D(2023, 12, 15), D(2023, 12, 25)), frozenset({"KN1"})),
                NewbornRecord("B", D(2023, 12, 20), (), frozenset({"KN3"}))]
    report = month_report(2024, 1, newborns=newborns)
    assert (report.kn1, report.kn_complete) == (rate(1, 2), rate(1, 2))


# --------------------------------------------------------------------------- services by age (January 2024)


def R(code: str, on: date, precision: str = "day") -> Record:
    return Record(code, on, precision)


BLUE, RED, WORMS = "VITA_BIRU", "VITA_MERAH", "OBAT_CACING"


@pytest.mark.parametrize(("case", "birth", "records", "blue", "red"), [
    # blue and red: (count, total) of January
    ("6 months on the last day, given that day", D(2023, 7, 31), (R(BLUE, D(2024, 1, 31)),), (1, 1), (0, 0)),
    ("5 months: not yet in the group", D(2023, 8, 1), (R(BLUE, D(2024, 1, 20)),), (0, 0), (0, 0)),
    ("11 months, given on the first day", D(2023, 2, 1), (R(BLUE, D(2024, 1, 1)),), (1, 1), (0, 0)),
    ("given the day before the month", D(2023, 5, 10), (R(BLUE, D(2023, 12, 31)),), (0, 1), (0, 0)),
    ("given the day after the month", D(2023, 5, 10), (R(BLUE, D(2024, 2, 1)),), (0, 1), (0, 0)),
    ("only the month known: not in the month", D(2023, 5, 10), (R(BLUE, D(2024, 1, 15), "month"),), (0, 1), (0, 0)),
    ("12 months: the red group", D(2023, 1, 31), (R(RED, D(2024, 1, 10)),), (0, 0), (1, 1)),
    ("59 months, red", D(2019, 2, 1), (R(RED, D(2024, 1, 10)),), (0, 0), (1, 1)),
    ("60 months: out", D(2019, 1, 31), (R(RED, D(2024, 1, 10)),), (0, 0), (0, 0)),
    ("a blue capsule in the red group does not count", D(2022, 6, 1), (R(BLUE, D(2024, 1, 10)),), (0, 0), (0, 1)),
    ("not born by the month's end", D(2024, 2, 1), (), (0, 0), (0, 0)),
])
def test_vitamin_a_in_the_month(case, birth, records, blue, red):
    report = month_report(2024, 1, people=[PersonRecord("X", 1, birth, records)])
    assert (report.vitamin_a_blue, report.vitamin_a_red) == (rate(*blue), rate(*red)), case


@pytest.mark.parametrize(("case", "birth", "records", "expected"), [
    ("11 months: not in the group", D(2023, 2, 1), (R(WORMS, D(2024, 1, 10)),), (0, 0)),
    ("12 months", D(2023, 1, 31), (R(WORMS, D(2024, 1, 10)),), (1, 1)),
    ("59 months", D(2019, 2, 1), (R(WORMS, D(2024, 1, 31)),), (1, 1)),
    ("60 months: out", D(2019, 1, 31), (R(WORMS, D(2024, 1, 10)),), (0, 0)),
    ("given in December", D(2022, 1, 1), (R(WORMS, D(2023, 12, 31)),), (0, 1)),
    ("date not remembered", D(2022, 1, 1), (R(WORMS, D(2024, 1, 20), "unknown"),), (0, 1)),
])
def test_deworming_in_the_month(case, birth, records, expected):
    assert month_report(2024, 1, people=[PersonRecord("X", 1, birth, records)]).deworming == rate(*expected), case


@pytest.mark.parametrize(("case", "sex", "birth", "records", "expected"), [
    ("a girl of 12 years on the last day", 2, D(2012, 1, 31), (R("TTD_REMAJA", D(2024, 1, 8)),), (1, 1)),
    ("11 years 11 months: not yet", 2, D(2012, 2, 1), (R("TTD_REMAJA", D(2024, 1, 8)),), (0, 0)),
    ("18 years 11 months", 2, D(2005, 2, 1), (R("TTD_REMAJA", D(2024, 1, 8)),), (1, 1)),
    ("19 years: out", 2, D(2005, 1, 31), (R("TTD_REMAJA", D(2024, 1, 8)),), (0, 0)),
    ("a boy is not in the group", 1, D(2009, 5, 5), (R("TTD_REMAJA", D(2024, 1, 8)),), (0, 0)),
    ("no tablet in the month", 2, D(2009, 5, 5), (R("TTD_REMAJA", D(2023, 12, 28)),), (0, 1)),
])
def test_iron_tablets_for_girls(case, sex, birth, records, expected):
    assert month_report(2024, 1, people=[PersonRecord("X", sex, birth, records)]).iron_girls == rate(*expected), case


PTM = "SKRINING_PTM"


@pytest.mark.parametrize(("case", "birth", "records", "ptm", "skilas"), [
    # The 12 months to 31 Jan 2024 are 2023-02-01 .. 2024-01-31.
    ("15 years, screened in the month", D(2009, 1, 31), (R(PTM, D(2024, 1, 5)),), (1, 1), (0, 0)),
    ("14 years 11 months: not in the group", D(2009, 2, 1), (R(PTM, D(2024, 1, 5)),), (0, 0), (0, 0)),
    ("screened on the first day of the 12 months", D(1980, 3, 3), (R(PTM, D(2023, 2, 1)),), (1, 1), (0, 0)),
    ("screened the day before: too long ago", D(1980, 3, 3), (R(PTM, D(2023, 1, 31)),), (0, 1), (0, 0)),
    ("a month-only date counts", D(1980, 3, 3), (R(PTM, D(2023, 6, 15), "month"),), (1, 1), (0, 0)),
    ("a date not remembered counts", D(1980, 3, 3), (R(PTM, D(2023, 11, 23), "unknown"),), (1, 1), (0, 0)),
    ("screened after the month", D(1980, 3, 3), (R(PTM, D(2024, 2, 1)),), (0, 1), (0, 0)),
    ("59 years 11 months", D(1964, 2, 1), (R(PTM, D(2023, 8, 1)),), (1, 1), (0, 0)),
    ("60 years: SKILAS, not PTM", D(1964, 1, 31), (R(PTM, D(2023, 8, 1)),), (0, 0), (0, 1)),
    ("an older person with SKILAS", D(1950, 6, 6), (R("SKILAS", D(2023, 9, 9)),), (0, 0), (1, 1)),
    ("SKILAS more than 12 months ago", D(1950, 6, 6), (R("SKILAS", D(2022, 12, 9)),), (0, 0), (0, 1)),
])
def test_ptm_and_skilas_in_the_last_12_months(case, birth, records, ptm, skilas):
    report = month_report(2024, 1, people=[PersonRecord("X", 1, birth, records)])
    assert (report.ptm, report.skilas) == (rate(*ptm), rate(*skilas)), case


@pytest.mark.parametrize(("case", "birth", "records", "expected"), [
    # Windows: from each screening age (3, 6, 9, ... months) to the day before the next.
    ("3-month window opens in the month, screened", D(2023, 10, 15), (R("SDIDTK", D(2024, 1, 20)),), (1, 1)),
    ("3-month window opens in the month, not screened", D(2023, 10, 15), (), (0, 1)),
    ("screened on an approximate date in the month", D(2023, 10, 15), (R("SDIDTK", D(2024, 1, 15), "month"),), (0, 1)),
    ("window opens after the month", D(2023, 11, 10), (), (0, 0)),
    ("too young", D(2024, 1, 10), (), (0, 0)),
    ("window closed before the month by a screening", D(2023, 8, 20), (R("SDIDTK", D(2023, 12, 1)),), (0, 0)),
    ("an approximate screening before the month closes it too", D(2023, 8, 20),
     (R("SDIDTK", D(2023, 12, 15), "month"),), (0, 0)),
    ("3-month window done, the 6-month one opens in the month", D(2023, 7, 10), (R("SDIDTK", D(2023, 11, 1)),),
     (0, 1)),
    ("... and screened in it", D(2023, 7, 10), (R("SDIDTK", D(2023, 11, 1)), R("SDIDTK", D(2024, 1, 12))), (1, 1)),
    ("a window open but not screened in the months before stays due", D(2023, 9, 1), (), (0, 1)),
    ("79 months: past the last window (72 months + 6)", D(2017, 6, 1), (), (0, 0)),
    ("77 months: in the last window", D(2017, 8, 1), (R("SDIDTK", D(2024, 1, 3)),), (1, 1)),
])
def test_sdidtk_screened_among_those_due(case, birth, records, expected):
    assert month_report(2024, 1, people=[PersonRecord("X", 2, birth, records)]).sdidtk == rate(*expected), case


def test_service_ages_follow_the_district_schedule():
    # A district deworming from 6 months: an 8-month-old given the tablet counts.
    child = PersonRecord("X", 1, D(2023, 5, 5), (R(WORMS, D(2024, 1, 10)),))
    assert month_report(2024, 1, people=[child]).deworming == rate(0, 0)
    schedule = apply_overrides({"services": {"OBAT_CACING": {"from_months": 6}}})
    assert month_report(2024, 1, people=[child], schedule=schedule).deworming == rate(1, 1)


def test_a_person_record_needs_a_known_sex():
    with pytest.raises(ValueError):
        PersonRecord("X", 0, D(2000, 1, 1))
