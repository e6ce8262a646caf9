from datetime import date

import pytest
from fhir.resources.R4B.immunization import Immunization

from care.rules_file import load_schedule
from satusehat.encounter import urn
from satusehat.immunization import NoVaccine, dose_number, immunization, timing
from satusehat.rules import check
from tests.satusehat.common import CHILD, LOCATION, ORG, SITE, SUBJECT, VISIT, dose

IMM = load_schedule().immunization
ENCOUNTER = {"reference": urn(VISIT.id)}


def build(d, birth=CHILD.birth_date, visit=VISIT):
    return immunization(d, SUBJECT, SITE, IMM, birth=birth, visit=visit, encounter=ENCOUNTER)


def codes(resource, element):
    return [(c["system"].rsplit("/", 1)[-1], c["code"]) for c in resource[element]["coding"]]


def test_a_dose_given_at_the_visit_is_a_primary_record_with_lot_and_expiry():
    i = build(dose("MR1", detail={"lot": "AB0092", "expiry": "2025-11-19"}))
    Immunization.model_validate(i)
    assert i["primarySource"] is True and "reportOrigin" not in i
    assert codes(i, "vaccineCode") == [("kfa", "93005780"), ("kfa", "VG03"), ("cvx", "4")]
    assert i["encounter"] == ENCOUNTER and i["location"] == {"reference": f"Location/{LOCATION}"}
    assert i["occurrenceDateTime"] == "2024-03-05T02:30:00Z"
    assert (i["lotNumber"], i["expirationDate"]) == ("AB0092", "2025-11-19")
    assert i["reasonCode"][0]["coding"][0]["code"] == "IM-Dasar"
    assert i["identifier"][0]["system"] == f"http://sys-ids.kemkes.go.id/immunization/{ORG}"
    assert i["identifier"][0]["value"] == "ilpbot-dose-55"
    assert check(i, ORG) == []


def test_a_primary_record_without_lot_and_expiry_is_held_back():
    i = build(dose("MR1"))
    assert [p.code for p in check(i, ORG)] == ["no_lot"]


@pytest.mark.parametrize(("source", "precision", "on", "origin", "when", "product"), [
    ("kader", "day", date(2023, 9, 1), "record", "2023-09-01", True),  # the Buku KIA read out at registration
    ("import", "day", date(2023, 9, 1), "record", "2023-09-01", True),
    ("family", "day", date(2023, 9, 1), "record", "2023-09-01", True),
    ("family", "month", date(2023, 9, 15), "recall", "2023-09", False),
])
def test_history_is_not_a_primary_record(source, precision, on, origin, when, product):
    i = build(dose("DPT_HB_HIB1", on=on, precision=precision, source=source, visit_id=None), visit=None)
    Immunization.model_validate(i)
    assert i["primarySource"] is False
    assert i["reportOrigin"]["coding"][0]["code"] == origin
    assert i["occurrenceDateTime"] == when
    assert "encounter" not in i and "location" not in i
    assert ("kfa", "93001283") in codes(i, "vaccineCode") if product else ("kfa", "93001283") not in codes(i, "vaccineCode")
    assert ("kfa", "VG107") in codes(i, "vaccineCode") and ("cvx", "198") in codes(i, "vaccineCode")
    assert check(i, ORG) == []


def test_a_dose_of_unknown_date_has_no_timing_and_is_held_back():
    i = build(dose("BCG", precision="unknown", source="family", visit_id=None), visit=None)
    assert i["occurrenceString"] and "occurrenceDateTime" not in i
    assert [p.code for p in check(i, ORG)] == ["no_timing"]


def test_a_dose_without_a_kfa_product_is_held_back_unless_recalled():
    written = build(dose("HB0", on=date(2023, 6, 5), source="import", visit_id=None), visit=None)
    assert [p.code for p in check(written, ORG)] == ["no_kfa_product"]
    recalled = build(dose("HB0", on=date(2023, 6, 15), precision="month", source="family", visit_id=None), visit=None)
    assert check(recalled, ORG) == []


@pytest.mark.parametrize(("code", "birth", "on", "expected"), [
    ("MR1", date(2023, 6, 5), date(2024, 3, 5), "IM-Ideal"),   # 9 months
    ("MR1", date(2023, 6, 5), date(2024, 6, 4), "IM-Ideal"),   # the last day before 12 months
    ("MR1", date(2023, 6, 5), date(2024, 6, 5), "IM-Kejar"),   # 12 months
    ("DPT_HB_HIB1", date(2023, 6, 5), date(2023, 8, 5), "IM-Ideal"),
    ("DPT_HB_HIB1", date(2023, 6, 5), date(2024, 7, 1), "IM-Kejar"),
    ("BCG", date(2023, 6, 5), date(2024, 6, 1), "IM-Ideal"),
    ("MR1", None, date(2024, 3, 5), None),
    ("NOPE", date(2023, 6, 5), date(2024, 3, 5), None),
])
def test_routine_timing_follows_the_schedule(code, birth, on, expected):
    assert timing(code, on, birth, IMM) == expected


def test_the_timing_is_the_second_coding_of_the_reason():
    i = build(dose("DPT_HB_HIB1", on=date(2024, 7, 1), source="import", visit_id=None), visit=None)
    assert [c["code"] for c in i["reasonCode"][0]["coding"]] == ["IM-Dasar", "IM-Kejar"]
    booster = build(dose("MR2", on=date(2025, 1, 1), source="import", visit_id=None), visit=None)
    assert booster["reasonCode"][0]["coding"][0]["code"] == "IM-Baduta"


@pytest.mark.parametrize(("code", "number"), [("HB0", 1), ("BCG", 1), ("OPV3", 3), ("DPT_HB_HIB4", 4), ("JE", 1)])
def test_dose_numbers(code, number):
    assert dose_number(code) == number


def test_an_unknown_dose_is_refused():
    with pytest.raises(NoVaccine):
        build(dose("XYZ1"))


def test_an_earlier_dose_typed_in_at_a_visit_is_history_not_primary():
    """The Buku KIA's DPT 1 of September typed in at the visit of 5 March: history (no lot asked), not held."""
    i = build(dose("DPT_HB_HIB1", on=date(2023, 9, 1), visited_on=VISIT.visited_on))
    Immunization.model_validate(i)
    assert i["primarySource"] is False and i["reportOrigin"]["coding"][0]["code"] == "record"
    assert i["occurrenceDateTime"] == "2023-09-01" and check(i, ORG) == []
    given_there = build(dose("MR1", visited_on=VISIT.visited_on, detail={"lot": "AB0092", "expiry": "2025-11-19"}))
    assert given_there["primarySource"] is True
