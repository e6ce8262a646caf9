"""Reading what people type: yes and no, dates, gestational ages, RT/RW, names, when something was done,
ages, counts, birth weights, and numbers with their units."""
from __future__ import annotations

from datetime import date

import pytest

from handlers.parsing import ParseError, clean_name, parse_date, parse_gestation_days, parse_phone, parse_rt_rw

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12-03-2024", date(2024, 3, 12)),
        ("12/3/24", date(2024, 3, 12)),
        ("12.03.2024", date(2024, 3, 12)),
        ("12 Maret 2024", date(2024, 3, 12)),
        ("12 maret 2024", date(2024, 3, 12)),
        ("12 March 2024", date(2024, 3, 12)),
        ("12 Mar 2024", date(2024, 3, 12)),
        ("March 12, 2024", date(2024, 3, 12)),
        ("2024-03-12", date(2024, 3, 12)),
        ("1 Agt 2025", date(2025, 8, 1)),
        ("17 Agustus 1945", date(1945, 8, 17)),
        ("29/2/2024", date(2024, 2, 29)),
        ("12/3/60", date(1960, 3, 12)),  # two digits after this year: last century
        ("23/11/26", date(2026, 11, 23)),
        ("  5 - 6 - 2020 ", date(2020, 6, 5)),
        ("12032024", date(2024, 3, 12)),
        ("2024/03/12", date(2024, 3, 12)),
        ("tgl 12 Maret 2024", date(2024, 3, 12)),
        ("tanggal: 12-03-2024", date(2024, 3, 12)),
        ("lahir tgl 12.03.2024.", date(2024, 3, 12)),
    ],
)
def test_dates(text, expected):
    assert parse_date(text, TODAY) == expected


def test_two_digit_years_prefer_the_future_for_due_dates():
    assert parse_date("14/5/27", TODAY, prefer_future=True) == date(2027, 5, 14)
    assert parse_date("14/5/27", TODAY) == date(1927, 5, 14)


@pytest.mark.parametrize(
    ("text", "code"),
    [("31-02-2024", "no_such_day"), ("29/2/2023", "no_such_day"), ("12/13/2024", "format"),
     ("besok", "format"), ("12 foo 2024", "format"), ("", "format"), ("2024", "format")],
)
def test_dates_that_are_not(text, code):
    with pytest.raises(ParseError) as info:
        parse_date(text, TODAY)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("text", "days"),
    [("20 minggu", 140), ("20 mgg", 140), ("20 weeks", 140), ("5 bulan", 152), ("5 months", 152), ("5,5 bulan", 167),
     ("24", 168), ("20 minggu 3 hari", 143), ("20+3", 143), ("hamil 20 minggu", 140), ("usia kehamilan 5 bulan", 152),
     ("kira-kira 20 mg", 140), ("20m", 140), ("5 m", 152), ("20 Minggu.", 140)],
)
def test_gestational_age(text, days):
    assert parse_gestation_days(text) == days


@pytest.mark.parametrize(("text", "code"), [("twenty weeks", "format"), ("20 tahun", "format"), ("5", "unit"),
                                            ("5 bulan 3 hari", "format")])
def test_gestational_age_not_understood(text, code):
    with pytest.raises(ParseError) as info:
        parse_gestation_days(text)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [("003/002", ("003", "002")), ("3/2", ("003", "002")), ("RT 3 RW 2", ("003", "002")),
     ("rt03 rw02", ("003", "002")), ("RT 5", ("005", None)), ("-", (None, None)), ("RT 03 / RW 02", ("003", "002")),
     ("rt.3 rw.2", ("003", "002")), ("RT/RW 3/2", ("003", "002")), ("3 2", ("003", "002")), ("gak tau", (None, None))],
)
def test_rt_rw(text, expected):
    assert parse_rt_rw(text) == expected


@pytest.mark.parametrize("name", ["Ni Made Sari", "I Gusti Ngurah O'Neil", "Ni Luh-Putu", "Siti Nur'aini", "M. Yusuf"])
def test_names(name):
    assert clean_name(name) == name


@pytest.mark.parametrize(("name", "code"), [("a", "too_short"), ("123", "format"), ("x" * 61, "too_long"), ("<b>", "format")])
def test_names_refused(name, code):
    with pytest.raises(ParseError) as info:
        clean_name(name)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0812 3456 7890", "6281234567890"), ("+62 812-3456-7890", "6281234567890"), ("6281234567890", "6281234567890"),
     ("(0812) 345.6789", "628123456789"), ("812345678901", "62812345678901")],
)
def test_phone(text, expected):
    assert parse_phone(text) == expected


@pytest.mark.parametrize("text", ["0812-345", "021 555 1234", "+1 415 555 0100", "0812 3456 7890 1234", "nomor saya", ""])
def test_phone_refused(text):
    with pytest.raises(ParseError):
        parse_phone(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12-03-2025", ("day", date(2025, 3, 12))),
        ("Maret 2025", ("month", date(2025, 3, 1))),
        ("mar 25", ("month", date(2025, 3, 1))),
        ("03/2025", ("month", date(2025, 3, 1))),
        ("2025-03", ("month", date(2025, 3, 1))),
        ("sudah", ("unknown", None)),
        ("Tidak ingat", ("unknown", None)),
        ("kemarin", ("day", date(2026, 11, 22))),
        ("3 hari lalu", ("day", date(2026, 11, 20))),
        ("2 minggu yang lalu", ("day", date(2026, 11, 9))),
        ("seminggu lalu", ("day", date(2026, 11, 16))),
        ("bulan lalu", ("month", date(2026, 10, 1))),
        ("2 bulan lalu", ("month", date(2026, 9, 1))),
        ("bulan ini", ("month", date(2026, 11, 1))),
        ("Agustus", ("month", date(2026, 8, 1))),  # the last August that has begun
        ("desember", ("month", date(2025, 12, 1))),
        ("agustus lalu", ("month", date(2026, 8, 1))),
        ("awal Maret 2026", ("month", date(2026, 3, 1))),
        ("bulan Maret 2026", ("month", date(2026, 3, 1))),
        ("12 Maret", ("day", date(2026, 3, 12))),  # the last 12 March
        ("25 Desember", ("day", date(2025, 12, 25))),
        ("12/3", ("day", date(2026, 3, 12))),
        ("tgl 5 Okt 2026", ("day", date(2026, 10, 5))),
    ],
)
def test_when_something_was_done(text, expected):
    from handlers.parsing import parse_when

    assert parse_when(text, TODAY) == expected


# -- approximate birth dates, ages, counts, birth weights -----------------------------------------------

@pytest.mark.parametrize(
    ("text", "on", "precision", "latest"),
    [
        ("12-03-1959", date(1959, 3, 12), None, date(1959, 3, 12)),
        ("1959", date(1959, 7, 1), "year", date(1959, 12, 31)),
        ("lahir 1959", date(1959, 7, 1), "year", date(1959, 12, 31)),
        ("sekitar tahun 1960", date(1960, 7, 1), "year", date(1960, 12, 31)),
        ("Maret 1960", date(1960, 3, 15), "month", date(1960, 3, 31)),
        ("03/1960", date(1960, 3, 15), "month", date(1960, 3, 31)),
        ("mar 60", date(1960, 3, 15), "month", date(1960, 3, 31)),
        ("November 2026", date(2026, 11, 15), "month", date(2026, 11, 23)),  # this month: not after today
        ("67 tahun", date(1959, 5, 23), "age", date(1959, 11, 23)),  # today minus 67 and a half years
        ("umur 67", date(1959, 5, 23), "age", date(1959, 11, 23)),
        ("usia 67 thn", date(1959, 5, 23), "age", date(1959, 11, 23)),
        ("67", date(1959, 5, 23), "age", date(1959, 11, 23)),
        ("sekitar 70", date(1956, 5, 23), "age", date(1956, 11, 23)),
        ("± 70", date(1956, 5, 23), "age", date(1956, 11, 23)),
        ("+- 70", date(1956, 5, 23), "age", date(1956, 11, 23)),
        ("kira-kira 70 tahun", date(1956, 5, 23), "age", date(1956, 11, 23)),
        ("kurang lebih 70 thn", date(1956, 5, 23), "age", date(1956, 11, 23)),
        ("about 70 years", date(1956, 5, 23), "age", date(1956, 11, 23)),
        ("8 bulan", date(2026, 3, 8), "age", date(2026, 3, 23)),  # minus half a month
        ("70-an", date(1951, 5, 23), "age", date(1951, 11, 23)),  # in the seventies: about 75
        ("umur 70an", date(1951, 5, 23), "age", date(1951, 11, 23)),
        ("lahir 12 Maret 1959", date(1959, 3, 12), None, date(1959, 3, 12)),
        ("tgl 12-03-1959", date(1959, 3, 12), None, date(1959, 3, 12)),
    ],
)
def test_birth_dates_as_well_as_they_are_known(text, on, precision, latest):
    from handlers.parsing import parse_birth

    guess = parse_birth(text, TODAY)
    assert (guess.on, guess.precision, guess.latest) == (on, precision, latest)


@pytest.mark.parametrize(
    ("text", "code"),
    [("tidak tahu", "unknown"), ("Tidak tau", "unknown"), ("lupa", "unknown"), ("-", "unknown"),
     ("2027", "future"), ("Desember 2026", "future"), ("31-02-1960", "no_such_day"), ("kemarin dulu", "format"),
     ("sekitar", "format"), ("1200 tahun", "format"), ("1700", "format")],
)
def test_birth_dates_that_are_not(text, code):
    from handlers.parsing import parse_birth

    with pytest.raises(ParseError) as info:
        parse_birth(text, TODAY)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [("67", (804, True)), ("67 tahun", (804, True)), ("sekitar 70", (840, True)), ("8 bulan", (8, False)),
     ("18 bln", (18, False)), ("kira2 60 th", (720, True))],
)
def test_ages(text, expected):
    from handlers.parsing import parse_age

    assert parse_age(text) == expected


@pytest.mark.parametrize(
    ("text", "grams"),
    [("3,2 kg", 3200), ("3.2 kg", 3200), ("3200", 3200), ("3.2", 3200), ("3200 gram", 3200), ("3200 g", 3200),
     ("3.200", 3200), ("3.200 gram", 3200), ("2,45", 2450), ("2450gr", 2450), ("3 kg", 3000), ("1,8 kilo", 1800),
     ("3 kg 200 gram", 3200), ("bb 3,2 kg", 3200), ("berat lahir 3200 gr", 3200), ("BBL: 2,9 kg", 2900), ("3,2kg.", 3200)],
)
def test_birth_weights(text, grams):
    from handlers.parsing import parse_birth_weight

    assert parse_birth_weight(text) == grams


@pytest.mark.parametrize(("text", "code"), [("32", "unit"), ("45,5", "unit"), ("berat", "format"), ("", "format"), ("3,2 ton", "format")])
def test_birth_weights_that_are_not(text, code):
    from handlers.parsing import parse_birth_weight

    with pytest.raises(ParseError) as info:
        parse_birth_weight(text)
    assert info.value.code == code


@pytest.mark.parametrize(("text", "n"), [("3", 3), ("3x", 3), ("3 kali", 3), ("tiga", 3), ("tiga kali", 3), ("sekali", 1),
                                         ("sudah 2 kali", 2), ("twice", 2)])
def test_counts(text, n):
    from handlers.parsing import parse_count

    assert parse_count(text) == n


@pytest.mark.parametrize(("text", "n"), [("belum pernah", 0), ("belum", 0), ("2 kali periksa", 2), ("sudah 3x", 3)])
def test_counts_as_people_say_them(text, n):
    from handlers.parsing import parse_count

    assert parse_count(text) == n


@pytest.mark.parametrize("text", ["banyak", "3 minggu", ""])
def test_counts_that_are_not(text):
    from handlers.parsing import parse_count

    with pytest.raises(ParseError):
        parse_count(text)


# -- yes and no, numbers with their units ----------------------------------------------------------

@pytest.mark.parametrize(("text", "said"), [
    ("ya", "yes"), ("Ya", "yes"), ("iya", "yes"), ("Iya!", "yes"), ("y", "yes"), ("yes", "yes"), ("ok", "yes"),
    ("oke deh", "yes"), ("setuju", "yes"), ("benar", "yes"), ("betul", "yes"), ("ya betul", "yes"),
    ("tidak", "no"), ("tdk", "no"), ("gak", "no"), ("ga", "no"), ("nggak", "no"), ("enggak", "no"), ("engga", "no"),
    ("no", "no"), ("n", "no"), ("bukan", "no"), ("tidak setuju", "no"), ("gak mau", "no"),
    ("tidak ada keluhan", None), ("ya tapi nanti", None), ("mungkin", None), ("terima kasih", None), ("", None),
])
def test_yes_and_no(text, said):
    from handlers.parsing import yes_no

    assert yes_no(text) == said


WEIGHT = ("weight_kg", frozenset({"bb", "berat"}), (("kg", 1.0), ("gram", 0.001)))
LENGTH = ("length_cm", frozenset({"tb", "pb"}), (("cm", 1.0),))
HEAD = ("head_cm", frozenset({"lk"}), (("cm", 1.0),))
ARM = ("muac_cm", frozenset({"lila"}), (("cm", 1.0),))


@pytest.mark.parametrize(("slots", "text", "values", "marks"), [
    ((WEIGHT, LENGTH), "8,2 71", {"weight_kg": 8.2, "length_cm": 71.0}, ()),
    ((WEIGHT, LENGTH), "8,9 kg 72,5 cm", {"weight_kg": 8.9, "length_cm": 72.5}, ()),
    ((WEIGHT, LENGTH), "72,5 cm 8,9 kg", {"weight_kg": 8.9, "length_cm": 72.5}, ()),
    ((WEIGHT, LENGTH), "bb 8,9 tb 72,5", {"weight_kg": 8.9, "length_cm": 72.5}, ()),
    ((WEIGHT, LENGTH), "tb 72,5 bb 8,9", {"weight_kg": 8.9, "length_cm": 72.5}, ()),
    ((WEIGHT, LENGTH), "8.9kg/72.5cm", {"weight_kg": 8.9, "length_cm": 72.5}, ()),
    ((WEIGHT, LENGTH), "bb: 8,9; tb= 72,5", {"weight_kg": 8.9, "length_cm": 72.5}, ()),
    ((WEIGHT, LENGTH), "8900 gram 72 cm", {"weight_kg": 8.9, "length_cm": 72.0}, ()),
    ((WEIGHT, LENGTH), "- 72", {"weight_kg": None, "length_cm": 72.0}, ()),
    ((WEIGHT, LENGTH), "8,2 -", {"weight_kg": 8.2, "length_cm": None}, ()),
    ((WEIGHT, LENGTH), "8,2 71 l", {"weight_kg": 8.2, "length_cm": 71.0}, ("l",)),
    ((WEIGHT, LENGTH), "8,2 71l", {"weight_kg": 8.2, "length_cm": 71.0}, ("l",)),
    ((WEIGHT, LENGTH), "8,9 kg", {"weight_kg": 8.9}, ()),
    ((HEAD, ARM), "42 14", {"head_cm": 42.0, "muac_cm": 14.0}, ()),
    ((HEAD, ARM), "42 cm, 14 cm", {"head_cm": 42.0, "muac_cm": 14.0}, ()),  # cm names neither
    ((HEAD, ARM), "lila 14 lk 42", {"head_cm": 42.0, "muac_cm": 14.0}, ()),
])
def test_numbers_with_their_units(slots, text, values, marks):
    from handlers.parsing import Slot, read_values

    found = read_values(text, tuple(Slot(*slot) for slot in slots), marks={"l": "l", "h": "h"})
    assert (found.values, found.marks) == (values, marks)


@pytest.mark.parametrize(("text", "code"), [("8,2 71 72", "count"), ("bb 8 bb 9", "duplicate"), ("8,2 kilos", "format"),
                                            ("", "format")])
def test_numbers_that_are_not(text, code):
    from handlers.parsing import Slot, read_values

    with pytest.raises(ParseError) as info:
        read_values(text, (Slot(*WEIGHT), Slot(*LENGTH)))
    assert info.value.code == code


@pytest.mark.parametrize("text", ["120/80", "120 / 80 mmHg", "120/80mmhg", "td 120/80", "TD: 120/80", "120-80", "120 80",
                                  "120 per 80", "tensi 120/80 mm Hg"])
def test_blood_pressure(text):
    from handlers.parsing import parse_blood_pressure

    assert parse_blood_pressure(text) == (120, 80)


@pytest.mark.parametrize("text", ["120", "120/", "1200/80", "tinggi"])
def test_blood_pressure_not_understood(text):
    from handlers.parsing import parse_blood_pressure

    with pytest.raises(ParseError):
        parse_blood_pressure(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("B1234 30-06-2027", ("B1234", date(2027, 6, 30))),
    ("b1234 06-2027", ("b1234", date(2027, 6, 30))),  # a month: its last day; the lot as typed
    ("B1234 jun 2027", ("B1234", date(2027, 6, 30))),
    ("no B1234 exp 2027-06", ("B1234", date(2027, 6, 30))),
    ("lot 4823-A 06/2027", ("4823-A", date(2027, 6, 30))),
    ("B1234 2027-06-15", ("B1234", date(2027, 6, 15))),
    ("B1234 23-11-2026", ("B1234", date(2026, 11, 23))),  # expires today: still usable
])
def test_a_lot_number_and_expiry_are_read(text, expected):
    from handlers.parsing import parse_lot

    assert parse_lot(text, date(2026, 11, 23)) == expected


@pytest.mark.parametrize(("text", "code"), [
    ("B1234", "expiry"), ("B1234 besok", "expiry"), ("", "lot"), ("#$% 06-2027", "lot"),
    ("B1234 01-2026", "expired"), ("B1234 22-11-2026", "expired"),
])
def test_a_lot_without_a_readable_future_expiry_is_refused_with_a_reason(text, code):
    from handlers.parsing import parse_lot

    with pytest.raises(ParseError) as err:
        parse_lot(text, date(2026, 11, 23))
    assert err.value.code == code
