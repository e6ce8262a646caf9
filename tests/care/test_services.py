"""ILP services by stage on fixed dates (care/services.py, content/care/services.yaml)."""
from __future__ import annotations

from datetime import date

import pytest

from care.rules_file import apply_overrides
from care.services import ServiceDue, services_due
from care.stages import Stage

D = date
SD = ServiceDue
ADULT_DONE = {"SKRINING_PTM": [D(2025, 1, 10)]}  # keeps the mother's own screening out of the way


def only(items: list[ServiceDue], code: str) -> list[ServiceDue]:
    """The entries of one service code."""
    return [i for i in items if i.code == code]


# --- pregnancy ----------------------------------------------------------------------------------

def test_first_trimester_contact_due_then_second_trimester_upcoming() -> None:
    kw = dict(sex="F", birth=D(1995, 4, 1), hpht=D(2025, 1, 6), history=ADULT_DONE)
    assert services_due(D(2025, 3, 3), **kw) == [SD("ANC1", Stage.PREGNANT, "due", D(2025, 1, 6), D(2025, 4, 6))]
    assert services_due(D(2025, 3, 3), horizon_days=60, **kw) == [
        SD("ANC1", Stage.PREGNANT, "due", D(2025, 1, 6), D(2025, 4, 6)),
        SD("ANC2", Stage.PREGNANT, "upcoming", D(2025, 4, 7), D(2025, 7, 20)),
        SD("ANC3", Stage.PREGNANT, "upcoming", D(2025, 4, 7), D(2025, 7, 20)),
    ]
    done = {**ADULT_DONE, "ANC": [D(2025, 2, 10)]}
    assert services_due(D(2025, 3, 3), **{**kw, "history": done}) == []
    by_code = {**ADULT_DONE, "ANC1": [D(2025, 2, 10)]}
    assert services_due(D(2025, 3, 3), **{**kw, "history": by_code}) == []


def test_pregnancy_past_40_weeks() -> None:
    hpht, on = D(2024, 6, 3), D(2025, 3, 17)  # 41 weeks 0 days, not delivered
    got = services_due(on, sex="F", birth=D(1995, 4, 1), hpht=hpht, history=ADULT_DONE)
    assert got == [
        SD("ANC1", Stage.PREGNANT, "overdue", D(2024, 6, 3), D(2024, 9, 1)),
        SD("ANC2", Stage.PREGNANT, "overdue", D(2024, 9, 2), D(2024, 12, 15)),
        SD("ANC3", Stage.PREGNANT, "overdue", D(2024, 9, 2), D(2024, 12, 15)),
        SD("ANC4", Stage.PREGNANT, "overdue", D(2024, 12, 16), D(2025, 3, 16)),
        SD("ANC5", Stage.PREGNANT, "overdue", D(2024, 12, 16), D(2025, 3, 16)),
        SD("ANC6", Stage.PREGNANT, "overdue", D(2024, 12, 16), D(2025, 3, 16)),
    ]
    six = [D(2024, 8, 1), D(2024, 10, 1), D(2024, 11, 15), D(2024, 12, 23), D(2025, 1, 20), D(2025, 3, 13)]
    assert services_due(on, sex="F", birth=D(1995, 4, 1), hpht=hpht, history={**ADULT_DONE, "ANC": six}) == []
    # two third-trimester contacts, one of them after 40 weeks: the 6th contact is still missing
    two = [D(2024, 8, 1), D(2024, 10, 1), D(2024, 11, 15), D(2024, 12, 23), D(2025, 3, 13)]
    got = services_due(on, sex="F", birth=D(1995, 4, 1), hpht=hpht, history={**ADULT_DONE, "ANC": two})
    assert got == [SD("ANC6", Stage.PREGNANT, "overdue", D(2024, 12, 16), D(2025, 3, 16))]
    # delivered: no more ANC, nifas visits instead
    after = services_due(on, sex="F", birth=D(1995, 4, 1), hpht=hpht, delivered_on=D(2025, 3, 16),
                         history=ADULT_DONE)
    assert after == [SD("VITA_NIFAS1", Stage.POSTPARTUM, "overdue", D(2025, 3, 16), D(2025, 3, 16)),
                     SD("KF1", Stage.POSTPARTUM, "due", D(2025, 3, 16), D(2025, 3, 18))]


def test_pregnant_adult_is_in_two_stages() -> None:
    got = services_due(D(2025, 3, 3), sex="F", birth=D(1995, 4, 1), hpht=D(2025, 1, 6))
    assert got == [
        SD("SKRINING_PTM", Stage.ADULT, "overdue", D(2010, 4, 1), D(2011, 3, 31)),
        SD("ANC1", Stage.PREGNANT, "due", D(2025, 1, 6), D(2025, 4, 6)),
    ]


def test_pregnancy_fields_ignored_for_men() -> None:
    assert services_due(D(2025, 3, 3), sex="M", birth=D(1995, 4, 1), hpht=D(2025, 1, 6), history=ADULT_DONE) == []


# --- nifas and newborn -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("on", "history", "expected"),
    [
        (D(2025, 5, 1), {}, [
            SD("KF1", Stage.POSTPARTUM, "due", D(2025, 5, 1), D(2025, 5, 3)),
            SD("VITA_NIFAS1", Stage.POSTPARTUM, "due", D(2025, 5, 1), D(2025, 5, 1)),
        ]),
        (D(2025, 5, 2), {"VITA_NIFAS1": [D(2025, 5, 1)]}, [
            SD("KF1", Stage.POSTPARTUM, "due", D(2025, 5, 1), D(2025, 5, 3)),
            SD("VITA_NIFAS2", Stage.POSTPARTUM, "due", D(2025, 5, 2), D(2025, 6, 12)),
        ]),
        (D(2025, 5, 5), {"VITA_NIFAS1": [D(2025, 5, 1)], "VITA_NIFAS2": [D(2025, 5, 2)]}, [
            SD("KF1", Stage.POSTPARTUM, "overdue", D(2025, 5, 1), D(2025, 5, 3)),
            SD("KF2", Stage.POSTPARTUM, "due", D(2025, 5, 4), D(2025, 5, 8)),
        ]),
        # day 42: the last day of nifas
        (D(2025, 6, 12), {"KF1": [D(2025, 5, 1)], "KF2": [D(2025, 5, 5)], "KF3": [D(2025, 5, 20)],
                          "VITA_NIFAS1": [D(2025, 5, 1)], "VITA_NIFAS2": [D(2025, 5, 2)]}, [
            SD("KF4", Stage.POSTPARTUM, "due", D(2025, 5, 30), D(2025, 6, 12)),
        ]),
        # day 43: nifas is over
        (D(2025, 6, 13), {}, []),
    ],
)
def test_nifas_visits(on: date, history: dict, expected: list[ServiceDue]) -> None:
    got = services_due(on, sex="F", birth=D(1995, 4, 1), delivered_on=D(2025, 5, 1), history={**ADULT_DONE, **history})
    assert got == expected


def test_newborn_visits_and_weighing() -> None:
    birth = D(2025, 5, 1)
    assert services_due(D(2025, 5, 2), sex="M", birth=birth) == [
        SD("KN1", Stage.NEWBORN, "due", D(2025, 5, 1), D(2025, 5, 3)),
        SD("TIMBANG", Stage.INFANT, "due", D(2025, 5, 1), D(2025, 5, 31)),
    ]
    got = services_due(D(2025, 5, 2), sex="M", birth=birth, horizon_days=3, history={"TIMBANG": [D(2025, 5, 1)]})
    assert got == [
        SD("KN1", Stage.NEWBORN, "due", D(2025, 5, 1), D(2025, 5, 3)),
        SD("KN2", Stage.NEWBORN, "upcoming", D(2025, 5, 4), D(2025, 5, 8)),
    ]
    # day 29: no longer a newborn; the missed KN3 is not listed any more
    assert services_due(D(2025, 5, 30), sex="M", birth=birth, history={"TIMBANG": [D(2025, 5, 2)]}) == []
    got = services_due(D(2025, 5, 29), sex="M", birth=birth, history={"TIMBANG": [D(2025, 5, 2)]})
    assert got == [SD("KN1", Stage.NEWBORN, "overdue", D(2025, 5, 1), D(2025, 5, 3)),
                   SD("KN2", Stage.NEWBORN, "overdue", D(2025, 5, 4), D(2025, 5, 8)),
                   SD("KN3", Stage.NEWBORN, "due", D(2025, 5, 9), D(2025, 5, 29))]


# --- children ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("birth", "on", "history", "horizon", "code", "expected"),
    [
        # blue capsule once at 6-11 months, in February or August
        (D(2024, 8, 20), D(2025, 2, 25), {}, 0, "VITA_BIRU",
         [SD("VITA_BIRU", Stage.INFANT, "due", D(2025, 2, 20), D(2025, 2, 28))]),
        (D(2024, 8, 20), D(2025, 2, 10), {}, 60, "VITA_BIRU",
         [SD("VITA_BIRU", Stage.INFANT, "upcoming", D(2025, 2, 20), D(2025, 2, 28))]),
        (D(2024, 8, 20), D(2025, 4, 1), {}, 0, "VITA_BIRU",
         [SD("VITA_BIRU", Stage.INFANT, "overdue", D(2025, 2, 20), D(2025, 2, 28))]),
        (D(2024, 8, 20), D(2025, 4, 1), {"VITA_BIRU": [D(2025, 2, 21)]}, 0, "VITA_BIRU", []),
        (D(2024, 8, 15), D(2025, 8, 5), {}, 0, "VITA_BIRU",
         [SD("VITA_BIRU", Stage.INFANT, "due", D(2025, 8, 1), D(2025, 8, 14))]),
        # the same February round: blue until 12 months, red from 12 months
        (D(2024, 2, 20), D(2025, 2, 10), {}, 30, "VITA_MERAH",
         [SD("VITA_MERAH", Stage.TODDLER, "upcoming", D(2025, 2, 20), D(2025, 2, 28))]),
        (D(2024, 2, 20), D(2025, 2, 10), {}, 30, "VITA_BIRU",
         [SD("VITA_BIRU", Stage.INFANT, "due", D(2025, 2, 1), D(2025, 2, 19))]),
        # red capsule each February and August at 12-59 months
        (D(2022, 1, 10), D(2025, 8, 5), {}, 0, "VITA_MERAH",
         [SD("VITA_MERAH", Stage.TODDLER, "due", D(2025, 8, 1), D(2025, 8, 31))]),
        (D(2022, 1, 10), D(2025, 9, 10), {}, 0, "VITA_MERAH",
         [SD("VITA_MERAH", Stage.TODDLER, "overdue", D(2025, 8, 1), D(2025, 8, 31))]),
        (D(2022, 1, 10), D(2025, 9, 10), {"VITA_MERAH": [D(2025, 8, 12)]}, 180, "VITA_MERAH",
         [SD("VITA_MERAH", Stage.TODDLER, "upcoming", D(2026, 2, 1), D(2026, 2, 28))]),
        # deworming every 6 months at 12-59 months
        (D(2023, 3, 10), D(2025, 3, 5), {"OBAT_CACING": [D(2024, 9, 1)]}, 0, "OBAT_CACING",
         [SD("OBAT_CACING", Stage.TODDLER, "due", D(2025, 3, 1), D(2025, 8, 31))]),
        (D(2023, 3, 10), D(2025, 2, 20), {"OBAT_CACING": [D(2024, 9, 1)]}, 0, "OBAT_CACING", []),
        (D(2023, 3, 10), D(2025, 2, 20), {"OBAT_CACING": [D(2024, 9, 1)]}, 60, "OBAT_CACING",
         [SD("OBAT_CACING", Stage.TODDLER, "upcoming", D(2025, 3, 1), D(2025, 8, 31))]),
        (D(2023, 3, 10), D(2025, 9, 5), {"OBAT_CACING": [D(2024, 9, 1)]}, 0, "OBAT_CACING",
         [SD("OBAT_CACING", Stage.TODDLER, "overdue", D(2025, 3, 1), D(2025, 8, 31))]),
        (D(2024, 3, 10), D(2025, 3, 10), {}, 0, "OBAT_CACING",
         [SD("OBAT_CACING", Stage.TODDLER, "due", D(2025, 3, 10), D(2025, 9, 9))]),
        (D(2020, 3, 10), D(2025, 3, 10), {}, 0, "OBAT_CACING", []),  # 60 months
        # development screening at set ages
        (D(2024, 1, 15), D(2024, 10, 20), {}, 0, "SDIDTK",
         [SD("SDIDTK", Stage.INFANT, "due", D(2024, 10, 15), D(2025, 1, 14), 9)]),
        (D(2024, 1, 15), D(2024, 10, 20), {"SDIDTK": [D(2024, 10, 16)]}, 90, "SDIDTK",
         [SD("SDIDTK", Stage.TODDLER, "upcoming", D(2025, 1, 15), D(2025, 4, 14), 12)]),
        (D(2024, 1, 15), D(2025, 1, 20), {}, 0, "SDIDTK",
         [SD("SDIDTK", Stage.TODDLER, "due", D(2025, 1, 15), D(2025, 4, 14), 12)]),
        (D(2019, 1, 15), D(2025, 1, 20), {}, 0, "SDIDTK",
         [SD("SDIDTK", Stage.SCHOOL, "due", D(2025, 1, 15), D(2025, 7, 14), 72)]),
        (D(2019, 1, 15), D(2025, 7, 15), {}, 0, "SDIDTK", []),
    ],
)
def test_child_services(birth: date, on: date, history: dict, horizon: int, code: str,
                        expected: list[ServiceDue]) -> None:
    got = services_due(on, sex="F", birth=birth, history=history, horizon_days=horizon)
    assert only(got, code) == expected


# --- adolescents, adults, elderly ------------------------------------------------------------

@pytest.mark.parametrize(
    ("sex", "birth", "on", "history", "horizon", "expected"),
    [
        ("F", D(2011, 5, 5), D(2025, 5, 7), {}, 0,
         [SD("TTD_REMAJA", Stage.ADOLESCENT, "due", D(2025, 5, 5), D(2025, 5, 11))]),
        ("M", D(2011, 5, 5), D(2025, 5, 7), {}, 60, []),
        ("F", D(2011, 5, 5), D(2025, 5, 7), {"TTD_REMAJA": [D(2025, 5, 6)]}, 7,
         [SD("TTD_REMAJA", Stage.ADOLESCENT, "upcoming", D(2025, 5, 12), D(2025, 5, 18))]),
        ("F", D(2013, 5, 9), D(2025, 5, 7), {}, 0, []),  # 11 years
        ("F", D(2013, 5, 9), D(2025, 5, 7), {}, 7,
         [SD("TTD_REMAJA", Stage.ADOLESCENT, "upcoming", D(2025, 5, 9), D(2025, 5, 11))]),
        ("F", D(2006, 5, 5), D(2025, 5, 7), {"SKRINING_PTM": [D(2025, 1, 1)]}, 0, []),  # 19 years
        # PTM screening once a year from 15
        ("M", D(1990, 1, 1), D(2025, 5, 10), {"SKRINING_PTM": [D(2024, 6, 1)]}, 0, []),
        ("M", D(1990, 1, 1), D(2025, 5, 10), {"SKRINING_PTM": [D(2024, 6, 1)]}, 60,
         [SD("SKRINING_PTM", Stage.ADULT, "upcoming", D(2025, 6, 1), D(2026, 5, 31))]),
        ("M", D(1990, 1, 1), D(2025, 6, 10), {"SKRINING_PTM": [D(2024, 6, 1)]}, 0,
         [SD("SKRINING_PTM", Stage.ADULT, "due", D(2025, 6, 1), D(2026, 5, 31))]),
        ("M", D(1990, 1, 1), D(2026, 6, 10), {"SKRINING_PTM": [D(2024, 6, 1)]}, 0,
         [SD("SKRINING_PTM", Stage.ADULT, "overdue", D(2025, 6, 1), D(2026, 5, 31))]),
        ("M", D(2010, 3, 1), D(2025, 3, 1), {}, 0,
         [SD("SKRINING_PTM", Stage.ADOLESCENT, "due", D(2025, 3, 1), D(2026, 2, 28))]),
        # 59 years: PTM screening; 60 years: SKILAS instead
        ("M", D(1965, 5, 10), D(2025, 5, 9), {}, 0,
         [SD("SKRINING_PTM", Stage.ADULT, "overdue", D(1980, 5, 10), D(1981, 5, 9))]),
        ("M", D(1965, 5, 10), D(2025, 5, 10), {}, 0,
         [SD("SKILAS", Stage.ELDERLY, "due", D(2025, 5, 10), D(2026, 5, 9))]),
        ("F", D(1950, 2, 1), D(2025, 5, 10), {"SKILAS": [D(2024, 7, 1)]}, 60,
         [SD("SKILAS", Stage.ELDERLY, "upcoming", D(2025, 7, 1), D(2026, 6, 30))]),
    ],
)
def test_adolescent_adult_elderly(sex: str, birth: date, on: date, history: dict, horizon: int,
                                  expected: list[ServiceDue]) -> None:
    assert services_due(on, sex=sex, birth=birth, history=history, horizon_days=horizon) == expected


def test_sorted_overdue_then_due_then_upcoming() -> None:
    got = services_due(D(2025, 3, 5), sex="M", birth=D(2023, 3, 10), horizon_days=60,
                       history={"TIMBANG": [D(2025, 3, 1)], "SDIDTK": [D(2024, 12, 15)]})
    assert [(i.code, i.state) for i in got] == [
        ("OBAT_CACING", "overdue"),
        ("VITA_MERAH", "overdue"),
        ("SDIDTK", "upcoming"),
        ("TIMBANG", "upcoming"),
    ]
    assert got[2] == SD("SDIDTK", Stage.TODDLER, "upcoming", D(2025, 3, 10), D(2025, 9, 9), 24)
    assert got[3] == SD("TIMBANG", Stage.TODDLER, "upcoming", D(2025, 4, 1), D(2025, 4, 30))


def test_service_override_changes_the_interval() -> None:
    custom = apply_overrides({"services": {"OBAT_CACING": {"every_months": 4}}})
    got = services_due(D(2025, 2, 1), sex="M", birth=D(2023, 3, 10), history={"OBAT_CACING": [D(2024, 9, 1)]},
                       schedule=custom)
    assert only(got, "OBAT_CACING") == [SD("OBAT_CACING", Stage.TODDLER, "due", D(2025, 1, 1), D(2025, 4, 30))]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sex"):
        services_due(D(2025, 1, 1), sex="X", birth=D(2000, 1, 1))
    with pytest.raises(ValueError, match="horizon_days"):
        services_due(D(2025, 1, 1), sex="M", birth=D(2000, 1, 1), horizon_days=-1)


def test_nobody_before_birth() -> None:
    assert services_due(D(2025, 1, 1), sex="M", birth=D(2025, 2, 1), horizon_days=60) == []
    assert services_due(D(2025, 1, 1), sex="M", birth=None) == []
