"""The care record: records to the rules' view, approximate dates, and what the rules make of them."""
from __future__ import annotations

from datetime import date

import pytest

from care.history import DAY, MONTH, UNKNOWN, Record, anc_code, build, month_date, unknown_dose_date
from care.immunization import GIVEN, INVALID, dose_states
from care.services import DUE, OVERDUE, services_due

BIRTH = date(2024, 11, 20)
TODAY = date(2026, 12, 7)


def test_doses_and_services_are_split_and_the_latest_dose_wins():
    h = build([Record("PCV1", date(2025, 1, 2)), Record("TIMBANG", date(2026, 11, 5)), Record("PCV1", date(2025, 2, 1), MONTH),
               Record("TIMBANG", date(2026, 10, 3))])
    assert h.given == {"PCV1": date(2025, 2, 1)}
    assert h.approximate == frozenset({"PCV1"})
    assert h.services == {"TIMBANG": [date(2026, 10, 3), date(2026, 11, 5)]}
    assert h.latest("PCV1").precision == MONTH


@pytest.mark.parametrize(
    ("year", "month", "birth", "expected"),
    [
        (2025, 3, None, date(2025, 3, 15)),
        (2026, 12, None, date(2026, 12, 7)),  # this month: not after today
        (2024, 11, BIRTH, date(2024, 11, 20)),  # the birth month: not before birth
    ],
)
def test_a_month_is_the_fifteenth_within_birth_and_today(year, month, birth, expected):
    assert month_date(year, month, TODAY, birth) == expected


@pytest.mark.parametrize(("year", "month", "why"), [(2027, 1, "future"), (2024, 10, "before_birth")])
def test_a_month_after_today_or_before_birth_is_refused(year, month, why):
    with pytest.raises(ValueError, match=why):
        month_date(year, month, TODAY, BIRTH)


def test_an_unknown_dose_date_is_its_recommended_age_at_the_latest_today():
    assert unknown_dose_date("DPT_HB_HIB1", BIRTH, TODAY) == date(2025, 1, 20)
    assert unknown_dose_date("MR2", date(2026, 10, 1), TODAY) == TODAY  # not yet due: never after today


def test_approximate_doses_count_as_given_and_are_not_judged_by_interval():
    exact = {"DPT_HB_HIB1": date(2025, 1, 20), "DPT_HB_HIB2": date(2025, 2, 1)}  # 12 days apart: too soon
    assert dose_states(BIRTH, exact, TODAY)["DPT_HB_HIB2"].state == INVALID
    states = dose_states(BIRTH, exact, TODAY, approximate={"DPT_HB_HIB1"})
    assert states["DPT_HB_HIB2"].state == GIVEN


def test_a_complete_book_with_unknown_dates_leaves_nothing_missed():
    given = {code: unknown_dose_date(code, BIRTH, TODAY) for code in (
        "HB0", "BCG", "OPV1", "OPV2", "OPV3", "OPV4", "DPT_HB_HIB1", "DPT_HB_HIB2", "DPT_HB_HIB3", "PCV1", "PCV2",
        "PCV3", "RV1", "RV2", "RV3", "IPV1", "IPV2", "MR1", "DPT_HB_HIB4", "MR2")}
    states = dose_states(BIRTH, given, TODAY, approximate=frozenset(given))
    assert {code: s.state for code, s in states.items() if s.state != GIVEN} == {}


def test_a_numbered_check_up_closes_the_contacts_before_it():
    hpht = date(2026, 7, 20)  # 20 weeks on 7 December
    before = [s.code for s in services_due(TODAY, sex="F", birth=date(1996, 1, 1), hpht=hpht)]
    assert "ANC1" in before
    after = services_due(TODAY, sex="F", birth=date(1996, 1, 1), hpht=hpht, history={anc_code(1): [TODAY]})
    assert "ANC1" not in [s.code for s in after]
    assert [s.state for s in after if s.code == "ANC3"] == [DUE]
    # an unnumbered contact counts in its trimester only
    unnumbered = services_due(TODAY, sex="F", birth=date(1996, 1, 1), hpht=hpht, history={anc_code(None): [TODAY]})
    assert [s.state for s in unnumbered if s.code == "ANC1"] == [OVERDUE]


def test_anc_codes():
    assert (anc_code(None), anc_code(0), anc_code(3), anc_code(9)) == ("ANC", "ANC", "ANC3", "ANC6")


def test_precisions_are_named():
    assert (DAY, MONTH, UNKNOWN) == ("day", "month", "unknown")
