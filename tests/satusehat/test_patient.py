from datetime import date

import pytest

from satusehat.patient import NIK_IBU_SYSTEM, NIK_SYSTEM, ihs_number, nik_problem, reference, search_params


@pytest.mark.parametrize(("nik", "problem"), [
    ("5108014506230001", None),
    (" 5108014506230001 ", None),
    (None, "no_nik"),
    ("", "no_nik"),
    ("510801450623000", "nik_not_16_digits"),
    ("51080145062300012", "nik_not_16_digits"),
    ("51080145062300O1", "nik_not_16_digits"),
])
def test_nik_problem(nik, problem):
    assert nik_problem(nik) == problem


@pytest.mark.parametrize(("nik", "mother", "query"), [
    ("5108014506230001", None, f"{NIK_SYSTEM}|5108014506230001"),
    ("5108014506230001", "5108015203950002", f"{NIK_SYSTEM}|5108014506230001"),
    (None, "5108015203950002", f"{NIK_IBU_SYSTEM}|5108015203950002"),
    ("12", "5108015203950002", f"{NIK_IBU_SYSTEM}|5108015203950002"),
])
def test_the_search_is_by_the_nik_else_the_mothers(nik, mother, query):
    assert search_params(nik, mother_nik=mother) == {"identifier": query}


def test_a_search_without_any_nik_is_refused():
    with pytest.raises(ValueError):
        search_params(None, mother_nik="123")


def _bundle(*patients):
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": {"resourceType": "Patient", "id": pid, "birthDate": born}} for pid, born in patients]}


@pytest.mark.parametrize(("bundle", "birth", "ihs"), [
    (_bundle(("P100", "2023-06-05")), None, "P100"),
    (_bundle(), None, None),
    (_bundle(("P100", "2023-06-05"), ("P101", "2021-01-02")), None, None),
    (_bundle(("P100", "2023-06-05"), ("P101", "2021-01-02")), date(2021, 1, 2), "P101"),
    (_bundle(("P100", "2023-06-05"), ("P101", "2023-06-05")), date(2023, 6, 5), None),  # twins: not guessed
    (_bundle(("P100", "2023-06-05")), date(2023, 6, 6), None),
])
def test_the_ihs_number_is_taken_only_when_one_patient_fits(bundle, birth, ihs):
    assert ihs_number(bundle, birth_date=birth) == ihs


def test_references():
    assert reference(ihs="P100") == {"reference": "Patient/P100"}
    assert reference(nik="5108014506230001", name="Ayu") == {
        "identifier": {"system": NIK_SYSTEM, "value": "5108014506230001"}, "display": "Ayu"}
    with pytest.raises(ValueError):
        reference(nik="123")


MOTHER, AUNT = "5108015203950002", "5108015507900003"


@pytest.mark.parametrize(("birth", "women", "nik"), [
    (date(2025, 1, 3), [(MOTHER, date(1995, 3, 12), None)], MOTHER),
    (date(2025, 1, 3), [(MOTHER, date(1995, 3, 12), date(2025, 1, 3)), (AUNT, date(1990, 7, 15), None)], MOTHER),
    (date(2025, 1, 3), [(MOTHER, date(1995, 3, 12), None), (AUNT, date(1990, 7, 15), None)], None),  # two: not guessed
    (date(2025, 1, 3), [(MOTHER, date(1950, 3, 12), None)], None),  # a grandmother is no mother here
    (date(2025, 1, 3), [(None, date(1995, 3, 12), None)], None),
    (date(2025, 1, 3), [("123", date(1995, 3, 12), None)], None),
    (None, [(MOTHER, date(1995, 3, 12), None)], None),
])
def test_the_mothers_nik_is_taken_only_when_clear(birth, women, nik):
    from satusehat.patient import mother_nik

    assert mother_nik(birth, women) == nik
