"""Posyandu days: recurring rules with month ends, national holidays by policy, staff changes, holiday data."""
from __future__ import annotations

from datetime import date
from itertools import islice

import pytest
import yaml

from care.calendar import (
    HOLIDAYS_FILE,
    CalendarChange,
    Session,
    _parse_holidays,
    holiday_list,
    holidays,
    next_posyandu_day,
    next_session,
    posyandu_days_in_month,
    session_in_month,
    sessions_between,
    sessions_from,
)


@pytest.mark.parametrize(
    ("rule", "year", "month", "expected"),
    [
        ({"monthly_day": 12}, 2026, 11, date(2026, 11, 12)),
        ({"monthly_day": 31}, 2027, 2, date(2027, 2, 28)),
        ({"monthly_day": 30}, 2028, 2, date(2028, 2, 29)),
        ({"nth": 2, "weekday": "tuesday"}, 2026, 12, date(2026, 12, 8)),
        ({"nth": 1, "weekday": "wednesday"}, 2026, 12, date(2026, 12, 2)),
        ({"nth": 3, "weekday": "thursday"}, 2027, 1, date(2027, 1, 21)),
        ({"nth": -1, "weekday": "friday"}, 2026, 11, date(2026, 11, 27)),
        ({"nth": -1, "weekday": "monday"}, 2026, 11, date(2026, 11, 30)),
        ({"nth": 1, "weekday": "sunday"}, 2026, 11, date(2026, 11, 1)),
    ],
)
def test_session_in_month(rule, year, month, expected):
    assert session_in_month(rule, year, month) == expected


def test_next_session_is_today_when_today_is_the_day():
    assert next_session({"monthly_day": 23}, date(2026, 11, 23)) == date(2026, 11, 23)
    assert next_session({"monthly_day": 22}, date(2026, 11, 23)) == date(2026, 12, 22)


def test_sessions_cross_the_year():
    days = list(islice(sessions_from({"monthly_day": 5}, date(2026, 11, 23)), 3))
    assert days == [date(2026, 12, 5), date(2027, 1, 5), date(2027, 2, 5)]


# -- holidays, policies and staff changes -------------------------------------------------------------------

D = date
NATIONAL = holidays()  # national holidays only, every year in the file
WITH_CUTI = holidays(include_cuti_bersama=True)
NONE: dict = {}

DAY_12 = {"monthly_day": 12}
DAY_17 = {"monthly_day": 17}
DAY_21 = {"monthly_day": 21}
SECOND_TUESDAY = {"nth": 2, "weekday": "tuesday"}


def days(sessions):
    """(day, status, original, reason) of each session, for compact expectations."""
    return [(s.day, s.status, s.original, s.reason) for s in sessions]


@pytest.mark.parametrize(
    ("rule", "year", "month", "expected"),
    [
        ({"monthly_day": 31}, 2027, 2, [D(2027, 2, 28)]),
        ({"monthly_day": 31}, 2026, 4, [D(2026, 4, 30)]),
        ({"monthly_day": 30}, 2028, 2, [D(2028, 2, 29)]),
        ({"nth": -1, "weekday": "friday"}, 2026, 11, [D(2026, 11, 27)]),
        ({"nth": 4, "weekday": "saturday"}, 2026, 10, [D(2026, 10, 24)]),
        (SECOND_TUESDAY, 2026, 12, [D(2026, 12, 8)]),
    ],
)
def test_month_ends_without_holidays(rule, year, month, expected):
    got = posyandu_days_in_month(rule, year, month, holidays=NONE)
    assert [s.day for s in got] == expected
    assert all(s.status == "regular" and s.original is None and s.reason is None for s in got)


@pytest.mark.parametrize(
    ("name", "rule", "year", "month", "table", "policy", "expected"),
    [
        # 17 Aug 2026 (Monday) is Proklamasi: after -> Tuesday; before skips Sunday 16 -> Saturday 15.
        ("after", DAY_17, 2026, 8, NATIONAL, "after",
         [(D(2026, 8, 18), "holiday_moved", D(2026, 8, 17), "Proklamasi Kemerdekaan")]),
        ("before: Sunday skipped", DAY_17, 2026, 8, NATIONAL, "before",
         [(D(2026, 8, 15), "holiday_moved", D(2026, 8, 17), "Proklamasi Kemerdekaan")]),
        ("flag", DAY_17, 2026, 8, NATIONAL, "flag",
         [(D(2026, 8, 17), "holiday_flagged", None, "Proklamasi Kemerdekaan")]),
        # Idulfitri 1447 H on Saturday 21 March 2026: Sunday 22 is Idulfitri too, 23 and 24 are cuti bersama,
        # and before it 20 is cuti bersama, 19 Nyepi, 18 cuti bersama Nyepi.
        ("chain after, with cuti bersama", DAY_21, 2026, 3, WITH_CUTI, "after",
         [(D(2026, 3, 25), "holiday_moved", D(2026, 3, 21), "Idulfitri 1447 Hijriah")]),
        ("chain before, with cuti bersama", DAY_21, 2026, 3, WITH_CUTI, "before",
         [(D(2026, 3, 17), "holiday_moved", D(2026, 3, 21), "Idulfitri 1447 Hijriah")]),
        ("chain after, national only", DAY_21, 2026, 3, NATIONAL, "after",
         [(D(2026, 3, 23), "holiday_moved", D(2026, 3, 21), "Idulfitri 1447 Hijriah")]),
        ("chain before, national only", DAY_21, 2026, 3, NATIONAL, "before",
         [(D(2026, 3, 20), "holiday_moved", D(2026, 3, 21), "Idulfitri 1447 Hijriah")]),
        ("chain flag", DAY_21, 2026, 3, WITH_CUTI, "flag",
         [(D(2026, 3, 21), "holiday_flagged", None, "Idulfitri 1447 Hijriah")]),
        # Idulfitri 1448 H (Wednesday 10 March 2027): after lands on Saturday 13 (a working day);
        # before passes cuti bersama 9, Nyepi 8 and Sunday 7 to Saturday 6.
        ("2027 chain after to a Saturday", {"monthly_day": 10}, 2027, 3, WITH_CUTI, "after",
         [(D(2027, 3, 13), "holiday_moved", D(2027, 3, 10), "Idulfitri 1448 Hijriah")]),
        ("2027 chain before past a Sunday", {"monthly_day": 10}, 2027, 3, WITH_CUTI, "before",
         [(D(2027, 3, 6), "holiday_moved", D(2027, 3, 10), "Idulfitri 1448 Hijriah")]),
        # Easter Sunday 5 April 2026 on a "first Sunday" rule; Good Friday 3 April is a holiday, Saturday is not.
        ("Paskah after", {"nth": 1, "weekday": "sunday"}, 2026, 4, NATIONAL, "after",
         [(D(2026, 4, 6), "holiday_moved", D(2026, 4, 5), "Kebangkitan Yesus Kristus (Paskah)")]),
        ("Paskah before", {"nth": 1, "weekday": "sunday"}, 2026, 4, NATIONAL, "before",
         [(D(2026, 4, 4), "holiday_moved", D(2026, 4, 5), "Kebangkitan Yesus Kristus (Paskah)")]),
        # Christmas on the last Friday of 2026: before passes the cuti bersama of 24 December.
        ("Natal before", {"nth": -1, "weekday": "friday"}, 2026, 12, WITH_CUTI, "before",
         [(D(2026, 12, 23), "holiday_moved", D(2026, 12, 25), "Kelahiran Yesus Kristus")]),
        ("Natal after", {"nth": -1, "weekday": "friday"}, 2026, 12, WITH_CUTI, "after",
         [(D(2026, 12, 26), "holiday_moved", D(2026, 12, 25), "Kelahiran Yesus Kristus")]),
        ("no holiday", DAY_12, 2026, 11, WITH_CUTI, "after", [(D(2026, 11, 12), "regular", None, None)]),
        ("regular Sunday stays", {"nth": 1, "weekday": "sunday"}, 2026, 11, WITH_CUTI, "after",
         [(D(2026, 11, 1), "regular", None, None)]),
    ],
)
def test_holiday_policies(name, rule, year, month, table, policy, expected):
    assert days(posyandu_days_in_month(rule, year, month, holidays=table, policy=policy)) == expected


def test_default_holidays_include_cuti_bersama():
    got = posyandu_days_in_month(DAY_21, 2026, 3)
    assert days(got) == [(D(2026, 3, 25), "holiday_moved", D(2026, 3, 21), "Idulfitri 1447 Hijriah")]


CHANGES_DEC = D(2026, 12, 8)  # the second Tuesday of December 2026


@pytest.mark.parametrize(
    ("name", "changes", "expected"),
    [
        ("moved", [CalendarChange("moved", CHANGES_DEC, D(2026, 12, 10), "bidan pelatihan")],
         [(D(2026, 12, 10), "moved", CHANGES_DEC, "bidan pelatihan")]),
        ("cancelled", [CalendarChange("cancelled", CHANGES_DEC, None, "banjir")], []),
        ("extra", [CalendarChange("extra", None, D(2026, 12, 22), "imunisasi kejar")],
         [(CHANGES_DEC, "regular", None, None), (D(2026, 12, 22), "extra", None, "imunisasi kejar")]),
        ("extra then cancelled", [CalendarChange("extra", None, D(2026, 12, 22)),
                                  CalendarChange("cancelled", D(2026, 12, 22), None)],
         [(CHANGES_DEC, "regular", None, None)]),
        ("extra then moved", [CalendarChange("extra", None, D(2026, 12, 22)),
                              CalendarChange("moved", D(2026, 12, 22), D(2026, 12, 23), "hujan")],
         [(CHANGES_DEC, "regular", None, None), (D(2026, 12, 23), "moved", D(2026, 12, 22), "hujan")]),
        ("moved twice, last wins", [CalendarChange("moved", CHANGES_DEC, D(2026, 12, 9)),
                                    CalendarChange("moved", CHANGES_DEC, D(2026, 12, 11))],
         [(D(2026, 12, 11), "moved", CHANGES_DEC, None)]),
        ("moved then cancelled", [CalendarChange("moved", CHANGES_DEC, D(2026, 12, 9)),
                                  CalendarChange("cancelled", CHANGES_DEC, None)], []),
        ("extra on the regular day is one session", [CalendarChange("extra", None, CHANGES_DEC)],
         [(CHANGES_DEC, "regular", None, None)]),
        ("cancelling a day that is no session", [CalendarChange("cancelled", D(2026, 12, 9), None)],
         [(CHANGES_DEC, "regular", None, None)]),
        ("moving a day that is no session still gives the new day",
         [CalendarChange("moved", D(2026, 12, 9), D(2026, 12, 16))],
         [(CHANGES_DEC, "regular", None, None), (D(2026, 12, 16), "moved", D(2026, 12, 9), None)]),
    ],
)
def test_changes(name, changes, expected):
    got = posyandu_days_in_month(SECOND_TUESDAY, 2026, 12, changes=changes, holidays=NONE)
    assert days(got) == expected


@pytest.mark.parametrize(
    ("name", "change", "policy", "expected"),
    [
        ("moved wins over after", CalendarChange("moved", D(2026, 8, 17), D(2026, 8, 19), "rapat desa"), "after",
         [(D(2026, 8, 19), "moved", D(2026, 8, 17), "rapat desa")]),
        ("moved wins over flag", CalendarChange("moved", D(2026, 8, 17), D(2026, 8, 14)), "flag",
         [(D(2026, 8, 14), "moved", D(2026, 8, 17), None)]),
        ("cancelled wins over before", CalendarChange("cancelled", D(2026, 8, 17), None), "before", []),
        ("a change naming the day the holiday rule chose",
         CalendarChange("moved", D(2026, 8, 18), D(2026, 8, 20)), "after",
         [(D(2026, 8, 20), "moved", D(2026, 8, 18), None)]),
        ("a moved session is not moved again for a holiday",
         CalendarChange("moved", D(2026, 8, 17), D(2026, 8, 25)), "after",
         [(D(2026, 8, 25), "moved", D(2026, 8, 17), None)]),
    ],
)
def test_a_change_overrides_the_holiday_rule(name, change, policy, expected):
    assert days(posyandu_days_in_month(DAY_17, 2026, 8, changes=[change], policy=policy)) == expected


def test_a_holiday_move_leaves_the_range_before():
    # 1 January 2026 is a holiday; "before" moves the January session to 31 December 2025.
    rule = {"monthly_day": 1}
    assert posyandu_days_in_month(rule, 2026, 1, policy="before") == []
    assert days(posyandu_days_in_month(rule, 2025, 12, policy="before")) == [
        (D(2025, 12, 1), "regular", None, None),
        (D(2025, 12, 31), "holiday_moved", D(2026, 1, 1), "Tahun Baru 2026 Masehi"),
    ]


def test_a_holiday_move_crosses_into_the_next_month():
    # Saturday 31 October is a holiday here; "after" skips Sunday 1 November and lands on Monday 2.
    table = {D(2026, 10, 31): "Libur"}
    rule = {"monthly_day": 31}
    assert posyandu_days_in_month(rule, 2026, 10, holidays=table) == []
    assert days(posyandu_days_in_month(rule, 2026, 11, holidays=table)) == [
        (D(2026, 11, 2), "holiday_moved", D(2026, 10, 31), "Libur"),
        (D(2026, 11, 30), "regular", None, None),
    ]


def test_an_explicit_move_into_and_out_of_the_range():
    move = [CalendarChange("moved", D(2026, 11, 12), D(2027, 3, 3), "puskesmas renovasi")]
    assert posyandu_days_in_month(DAY_12, 2026, 11, changes=move, holidays=NONE) == []
    assert days(posyandu_days_in_month(DAY_12, 2027, 3, changes=move, holidays=NONE)) == [
        (D(2027, 3, 3), "moved", D(2026, 11, 12), "puskesmas renovasi"),
        (D(2027, 3, 12), "regular", None, None),
    ]


def test_sessions_between_bounds_are_inclusive_and_sorted():
    got = sessions_between(DAY_12, D(2026, 11, 12), D(2027, 1, 12), holidays=NONE,
                           changes=[CalendarChange("extra", None, D(2026, 11, 20))])
    assert [s.day for s in got] == [D(2026, 11, 12), D(2026, 11, 20), D(2026, 12, 12), D(2027, 1, 12)]
    assert sessions_between(DAY_12, D(2026, 11, 13), D(2026, 12, 11), holidays=NONE) == []
    assert sessions_between(DAY_12, D(2026, 12, 13), D(2026, 12, 1), holidays=NONE) == []


@pytest.mark.parametrize(
    ("on", "policy", "expected"),
    [
        (D(2026, 3, 21), "after", Session(D(2026, 3, 25), "holiday_moved", D(2026, 3, 21), "Idulfitri 1447 Hijriah")),
        (D(2026, 3, 25), "after", Session(D(2026, 3, 25), "holiday_moved", D(2026, 3, 21), "Idulfitri 1447 Hijriah")),
        (D(2026, 3, 26), "after", Session(D(2026, 4, 21), "regular")),
        (D(2026, 3, 1), "before", Session(D(2026, 3, 17), "holiday_moved", D(2026, 3, 21), "Idulfitri 1447 Hijriah")),
        # the session moved before `on` is past: the next one is April's
        (D(2026, 3, 19), "before", Session(D(2026, 4, 21), "regular")),
        (D(2026, 3, 21), "flag", Session(D(2026, 3, 21), "holiday_flagged", None, "Idulfitri 1447 Hijriah")),
    ],
)
def test_next_posyandu_day(on, policy, expected):
    assert next_posyandu_day(DAY_21, on, policy=policy) == expected


def test_next_posyandu_day_none_when_all_cancelled():
    on = D(2026, 11, 23)
    cancelled = [CalendarChange("cancelled", day, None) for day in islice(sessions_from(DAY_12, on), 15)]
    assert next_posyandu_day(DAY_12, on, changes=cancelled, holidays=NONE) is None
    assert next_posyandu_day(DAY_12, on, holidays=NONE) == Session(D(2026, 12, 12), "regular")


def test_bad_policy_is_named():
    with pytest.raises(ValueError, match="'sometimes'"):
        sessions_between(DAY_12, D(2026, 1, 1), D(2026, 2, 1), policy="sometimes")
    with pytest.raises(ValueError, match="'nearest'"):
        next_posyandu_day(DAY_12, D(2026, 1, 1), policy="nearest")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (CalendarChange("postponed", D(2026, 12, 8), D(2026, 12, 9)), "'postponed'"),
        (CalendarChange("moved", D(2026, 12, 8), None), "'moved' change needs the new date"),
        (CalendarChange("moved", None, D(2026, 12, 9)), "'moved' change needs the original date"),
        (CalendarChange("cancelled", None, None), "'cancelled' change needs the original date"),
        (CalendarChange("extra", None, None), "'extra' change needs the new date"),
    ],
)
def test_bad_change_is_named(change, message):
    with pytest.raises(ValueError, match=message):
        posyandu_days_in_month(SECOND_TUESDAY, 2026, 12, changes=[change])


# -- the holiday data ---------------------------------------------------------------------------------------


def test_holiday_data_loads_both_years():
    entries = holiday_list()
    for year, national, cuti in ((2026, 17, 8), (2027, 18, 8)):
        of_year = [h for h in entries if h.day.year == year]
        assert sum(h.kind == "libur_nasional" for h in of_year) == national
        assert sum(h.kind == "cuti_bersama" for h in of_year) == cuti
    assert len({h.day for h in entries}) == len(entries)
    assert all(h.name and h.source for h in entries)


def test_every_date_is_listed_under_its_year():
    raw = yaml.safe_load(HOLIDAYS_FILE.read_text(encoding="utf-8"))
    assert set(raw["years"]) == {2026, 2027}
    for year, lists in raw["years"].items():
        for kind, items in lists.items():
            assert kind in ("libur_nasional", "cuti_bersama")
            for item in items:
                assert item["date"].year == year, item
                assert item["source"] in raw["sources"], item


def test_holidays_filters_years_and_cuti_bersama():
    only_2026 = holidays([2026])
    assert only_2026[D(2026, 8, 17)] == "Proklamasi Kemerdekaan"
    assert D(2026, 3, 23) not in only_2026
    assert {d.year for d in only_2026} == {2026}
    with_cuti = holidays([2026], include_cuti_bersama=True)
    assert with_cuti[D(2026, 3, 23)] == "Cuti Bersama Idulfitri 1447 Hijriah"
    assert len(with_cuti) == 25
    assert len(holidays([2027], include_cuti_bersama=True)) == 26
    assert holidays([2030]) == {}
    assert set(holidays()) == set(only_2026) | set(holidays([2027]))


def test_2027_lunar_holidays_are_marked_to_check():
    lunar = ("Isra Mikraj", "Idulfitri", "Iduladha", "Muharam", "Maulid", "Imlek", "Nyepi", "Waisak")
    for h in holiday_list():
        if h.day.year == 2027 and (h.kind == "cuti_bersama" or any(word in h.name for word in lunar)):
            assert h.check, h
    assert not any(h.check for h in holiday_list() if h.day.year == 2026)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sources": {"s": "x"}, "years": {2026: {"libur_nasional": [
            {"date": D(2026, 1, 1), "name": "A", "source": "s"}], "cuti_bersama": [
            {"date": D(2026, 1, 1), "name": "B", "source": "s"}]}}}, "listed twice"),
        ({"sources": {"s": "x"}, "years": {2026: {"libur_nasional": [
            {"date": D(2027, 1, 1), "name": "A", "source": "s"}]}}}, "not in 2026"),
        ({"sources": {"s": "x"}, "years": {2026: {"libur_nasional": [
            {"date": D(2026, 1, 1), "name": "A", "source": "t"}]}}}, "unknown source"),
        ({"sources": {"s": "x"}, "years": {2026: {"libur": [
            {"date": D(2026, 1, 1), "name": "A", "source": "s"}]}}}, "unknown list"),
        ({"sources": {"s": "x"}, "years": {2026: {"libur_nasional": [
            {"date": "2026-13-01", "name": "A", "source": "s"}]}}}, "not a date"),
    ],
)
def test_bad_holiday_data_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        _parse_holidays(data)
