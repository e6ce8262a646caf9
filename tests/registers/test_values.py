"""Cells of a register read into values: every date form, decimal commas, units, sex, phone, RT/RW, NIK."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from registers.values import (
    CellError,
    read_birth_weight_g,
    read_cm,
    read_date,
    read_dose_cell,
    read_nik,
    read_phone,
    read_rt_rw,
    read_sex,
    read_weight_kg,
)

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(("cell", "expected"), [
    (datetime(2023, 5, 12), (date(2023, 5, 12), "day")),  # an Excel date (openpyxl gives datetime)
    (date(2023, 5, 12), (date(2023, 5, 12), "day")),
    (45058, (date(2023, 5, 12), "day")),  # an Excel serial number
    (45058.0, (date(2023, 5, 12), "day")),
    ("45058", (date(2023, 5, 12), "day")),  # a serial number kept as text (CSV)
    ("12-05-2023", (date(2023, 5, 12), "day")),
    ("12/5/23", (date(2023, 5, 12), "day")),
    ("12.05.2023", (date(2023, 5, 12), "day")),
    ("12 Mei 2023", (date(2023, 5, 12), "day")),
    ("12 Mei 23", (date(2023, 5, 12), "day")),
    ("12 mei 2023", (date(2023, 5, 12), "day")),
    ("2023-05-12", (date(2023, 5, 12), "day")),
    ("2023-05-12 00:00:00", (date(2023, 5, 12), "day")),
    ("12052023", (date(2023, 5, 12), "day")),
    (12052023, (date(2023, 5, 12), "day")),
    ("Mei 2023", (date(2023, 5, 1), "month")),
    ("05/2023", (date(2023, 5, 1), "month")),
    ("2023-05", (date(2023, 5, 1), "month")),
    (" 3 Agustus 1990 ", (date(1990, 8, 3), "day")),
])
def test_dates(cell, expected):
    assert read_date(cell, TODAY) == expected


@pytest.mark.parametrize(("cell", "code"), [
    ("31-02-2023", "date_no_such_day"),
    ("kemarin dulu", "date_format"),
    ("13/2023", "date_format"),
    (3, "date_format"),  # a small number is no date
    (True, "date_format"),
])
def test_dates_not_read(cell, code):
    with pytest.raises(CellError) as err:
        read_date(cell, TODAY)
    assert err.value.code == code


def test_two_digit_year_takes_the_century_not_in_the_future_unless_asked():
    assert read_date("12/5/95", TODAY) == (date(1995, 5, 12), "day")
    assert read_date("12/5/27", TODAY) == (date(1927, 5, 12), "day")
    assert read_date("12/5/27", TODAY, prefer_future=True) == (date(2027, 5, 12), "day")


@pytest.mark.parametrize(("cell", "expected"), [
    (None, None), ("", None), ("-", None), ("belum", None), (0, None),
    ("sudah", (None, "unknown")), ("v", (None, "unknown")), ("V", (None, "unknown")), ("✓", (None, "unknown")),
    ("√", (None, "unknown")), ("ya", (None, "unknown")), (1, (None, "unknown")), (True, (None, "unknown")),
    ("12-05-2023", (date(2023, 5, 12), "day")), ("Mei 2023", (date(2023, 5, 1), "month")),
    (datetime(2023, 5, 12), (date(2023, 5, 12), "day")),
])
def test_dose_cells(cell, expected):
    assert read_dose_cell(cell, TODAY) == expected


@pytest.mark.parametrize(("cell", "kg"), [("7,2", 7.2), ("7.2", 7.2), ("7,2 kg", 7.2), ("7,2kg", 7.2), (7.2, 7.2),
                                          ("7200 g", 7.2), (12, 12.0)])
def test_weights(cell, kg):
    assert read_weight_kg(cell) == kg


@pytest.mark.parametrize(("cell", "cm"), [("65,5", 65.5), ("65,5 cm", 65.5), (65.5, 65.5), ("655 mm", 65.5)])
def test_lengths(cell, cm):
    assert read_cm(cell) == cm


@pytest.mark.parametrize(("cell", "code"), [("tujuh", "number_format"), ("7,2 lbs", "number_format"),
                                            ("720", "number_range"), (0.1, "number_range")])
def test_weights_not_read(cell, code):
    with pytest.raises(CellError) as err:
        read_weight_kg(cell)
    assert err.value.code == code


@pytest.mark.parametrize(("cell", "grams"), [(3200, 3200), ("3200", 3200), ("3200 g", 3200), ("3200 gram", 3200),
                                             ("3,2", 3200), ("3,2 kg", 3200), (3.2, 3200), ("3.200", 3200),
                                             (2750.0, 2750)])
def test_birth_weights(cell, grams):
    assert read_birth_weight_g(cell) == grams


@pytest.mark.parametrize("cell", ["32", "berat", "32000", 0])
def test_birth_weights_not_read(cell):
    with pytest.raises(CellError) as err:
        read_birth_weight_g(cell)
    assert err.value.code == "birth_weight"


@pytest.mark.parametrize(("cell", "sex"), [("L", "M"), ("l", "M"), ("Laki-laki", "M"), ("LAKI LAKI", "M"),
                                           ("M", "M"), ("P", "F"), ("Perempuan", "F"), ("F", "F"), ("pr", "F")])
def test_sex(cell, sex):
    assert read_sex(cell) == sex


def test_sex_not_read():
    with pytest.raises(CellError) as err:
        read_sex("X")
    assert err.value.code == "sex"


@pytest.mark.parametrize(("cell", "phone"), [("081234567890", "6281234567890"), ("0812-3456-7890", "6281234567890"),
                                             ("+62 812 3456 7890", "6281234567890"), ("6281234567890", "6281234567890"),
                                             (81234567890, "6281234567890"), ("'081234567890", "6281234567890")])
def test_phones(cell, phone):
    assert read_phone(cell) == phone


def test_phone_not_read():
    with pytest.raises(CellError) as err:
        read_phone("0361 123")
    assert err.value.code == "phone"


@pytest.mark.parametrize(("cell", "rt_rw"), [("001/002", ("001", "002")), ("1/2", ("001", "002")),
                                             ("RT 1 RW 2", ("001", "002")), ("1", ("001", None)), (3, ("003", None)),
                                             ("003", ("003", None))])
def test_rt_rw(cell, rt_rw):
    assert read_rt_rw(cell) == rt_rw


@pytest.mark.parametrize(("cell", "nik"), [("5108015403250002", "5108015403250002"),
                                           ("'5108015403250002", "5108015403250002"),
                                           ("5108 0154 0325 0002", "5108015403250002"),
                                           (5108015403250002, "5108015403250002")])  # a whole number: not Excel's
def test_nik_read_as_text(cell, nik):
    assert read_nik(cell) == nik


@pytest.mark.parametrize(("cell", "code"), [
    (3.51e15, "nik_number_lost"),  # a float: Excel's number cell
    (3510000000000000.0, "nik_number_lost"),
    (3510000000000000, "nik_number_lost"),  # as Excel stores a NIK typed into a number cell: last digit 0
    ("3.51E+15", "nik_number_lost"),  # as a CSV saved from Excel shows it
    ("3,51E+15", "nik_number_lost"),
    ("510801540325000", "nik_length"),  # 15 digits
    ("51080154032500021", "nik_length"),
    ("NIK belum ada", "nik_length"),
])
def test_nik_not_read(cell, code):
    with pytest.raises(CellError) as err:
        read_nik(cell)
    assert err.value.code == code
