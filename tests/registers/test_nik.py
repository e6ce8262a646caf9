"""The NIK check: its shape, its region (Kemendagri kecamatan codes) and its date part."""
from __future__ import annotations

from datetime import date

import pytest

from content.regions import districts, region_name
from registers.nik import nik_parts, nik_problems

MAN = "5108010505920004"  # Gerokgak (51.08.01), born 05-05-1992
WOMAN = "5108014207950001"  # Gerokgak, born 02-07-1995: day 02 + 40


def codes(problems):
    return [code for code, _params in problems]


def test_a_man_consistent_with_his_birth_date_and_sex():
    assert nik_problems(MAN, birth_date=date(1992, 5, 5), sex="M") == []
    parts = nik_parts(MAN)
    assert (parts.district, parts.day, parts.month, parts.year2, parts.sex) == ("51.08.01", 5, 5, 92, "M")


def test_a_woman_has_forty_added_to_her_day():
    assert nik_problems(WOMAN, birth_date=date(1995, 7, 2), sex="F") == []
    assert nik_parts(WOMAN).day == 2
    assert nik_parts(WOMAN).sex == "F"


def test_the_region_part_is_known_anywhere_in_indonesia():
    aceh = "1101014101900003"  # 11.01.01: a kecamatan of Aceh Selatan
    assert "11.01.01" in districts()
    assert region_name("11.01") == "Kabupaten Aceh Selatan"
    assert nik_problems(aceh, birth_date=date(1990, 1, 1), sex="F") == []


def test_wrong_region():
    problems = nik_problems("9999010505920004", birth_date=date(1992, 5, 5), sex="M")
    assert problems == [("nik_region", {"district": "99.99.01"})]


@pytest.mark.parametrize(("birth", "sex", "expected"), [
    (date(1992, 5, 6), "M", ["nik_birth_date"]),
    (date(1993, 5, 5), "M", ["nik_birth_date"]),
    (date(1992, 5, 5), "F", ["nik_sex"]),
    (date(1992, 5, 20), None, ["nik_birth_date"]),
])
def test_date_part_against_the_row(birth, sex, expected):
    assert codes(nik_problems(MAN, birth_date=birth, sex=sex)) == expected


def test_birth_known_to_the_month_compares_month_and_year_only():
    assert nik_problems(MAN, birth_date=date(1992, 5, 1), birth_precision="month") == []
    assert codes(nik_problems(MAN, birth_date=date(1992, 6, 1), birth_precision="month")) == ["nik_birth_date"]


def test_a_woman_nik_with_the_day_not_shifted_is_a_man():
    assert codes(nik_problems("5108010207950001", birth_date=date(1995, 7, 2), sex="F")) == ["nik_sex"]


@pytest.mark.parametrize("nik", ["5108013505920004", "5108017505920004", "5108010513920004", "5108010002920004"])
def test_date_part_that_is_no_date(nik):
    assert codes(nik_problems(nik)) == ["nik_date"]


@pytest.mark.parametrize("nik", ["510801050592000", "51080105059200041", "5108O10505920004", "3.51E+15"])
def test_not_sixteen_digits(nik):
    assert codes(nik_problems(nik)) == ["nik_length"]
