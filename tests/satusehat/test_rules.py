"""SATUSEHAT's extra rules, table-first: a valid resource, then one thing broken at a time."""
import copy
import re
from pathlib import Path

import pytest

from care.rules_file import load_schedule
from satusehat import rules
from satusehat.encounter import encounter, urn
from satusehat.immunization import immunization
from satusehat.observation import observation
from satusehat.problems import MESSAGES, message
from satusehat.rules import Problem, check
from tests.satusehat.common import ORG, SITE, SUBJECT, VISIT, dose, measure

ENC = encounter(VISIT, SUBJECT, SITE)
OBS = observation(measure(), VISIT, SUBJECT, {"reference": urn(VISIT.id)}, SITE)


def _imm():
    return immunization(dose("MR1", detail={"lot": "A1", "expiry": "2025-01-31"}), SUBJECT, SITE,
                        load_schedule().immunization, birth=VISIT.visited_on.replace(year=2023), visit=VISIT)


def broken(resource, path, value):
    """``resource`` with the element at ``path`` (dots, [i]) set to ``value`` (DELETE removes it)."""
    out = copy.deepcopy(resource)
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node = out
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    key = int(last[1:-1]) if last.startswith("[") else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return out


DELETE = object()
OTHER_ORG = "http://sys-ids.kemkes.go.id/encounter/99999999"


def test_the_valid_resources_have_no_problem():
    assert check(ENC, ORG) == [] and check(OBS, ORG) == [] and check(_imm(), ORG) == []


@pytest.mark.parametrize(("path", "value", "code"), [
    ("identifier", DELETE, "no_identifier"),
    ("identifier.[0].system", OTHER_ORG, "identifier_system"),
    ("period.start", "2024-03-05T10:30:00+08:00", "time_not_utc"),
    ("statusHistory.[1].period.end", "2024-03-05T10:30:00+07:00", "time_not_utc"),
    ("period.start", "2024-03-05 10:30", "time_format"),
    ("period.end", "2013-01-01T00:00:00Z", "date_too_early"),
    ("subject", {"identifier": {"system": "https://fhir.kemkes.go.id/id/nik", "value": "123"}}, "bad_patient"),
    ("subject", {"reference": "Patient/"}, "bad_patient"),
    ("subject", DELETE, "missing"),
    ("location", DELETE, "no_location"),
    ("statusHistory", [{"status": "finished", "period": {"start": "2024-03-05T02:30:00Z"}}], "status_history"),
    ("class", {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode"}, "missing"),
])
def test_encounter_rules(path, value, code):
    assert code in [p.code for p in check(broken(ENC, path, value), ORG)]


def test_the_identifier_of_another_organization_is_named():
    [problem] = check(broken(ENC, "identifier.[0].system", OTHER_ORG), ORG)
    assert problem.params == {"wanted": f"http://sys-ids.kemkes.go.id/encounter/{ORG}", "found": OTHER_ORG}
    assert problem.where == "ilpbot-visit-12" and problem.resource == "Encounter"


@pytest.mark.parametrize(("path", "value", "code"), [
    ("encounter", DELETE, "missing"),
    ("code", {"text": "berat"}, "missing"),
    ("valueQuantity", {"value": 9.4, "unit": "kg"}, "no_unit"),
    ("effectiveDateTime", "2024-03-05T10:30:00+08:00", "time_not_utc"),
])
def test_observation_rules(path, value, code):
    assert code in [p.code for p in check(broken(OBS, path, value), ORG)]


@pytest.mark.parametrize(("path", "value", "code"), [
    ("vaccineCode", {"coding": [{"system": "http://sys-ids.kemkes.go.id/kfa", "code": "93005780"}]}, "no_vaccine_group"),
    ("vaccineCode.coding", [{"system": "http://sys-ids.kemkes.go.id/kfa", "code": "VG03"},
                            {"system": "http://hl7.org/fhir/sid/cvx", "code": "4"}], "no_kfa_product"),
    ("primarySource", False, "no_report_origin"),
    ("lotNumber", DELETE, "no_lot"),
    ("reasonCode", DELETE, "no_reason"),
    ("reasonCode.[0].coding", [{"system": "http://terminology.kemkes.go.id/CodeSystem/immunization-reason",
                                "code": "IM-Dasar"}], "no_timing"),
    ("occurrenceDateTime", "2013-12-31", "date_too_early"),
    ("recorded", "2024-03-05T10:31:00+08:00", "time_not_utc"),
])
def test_immunization_rules(path, value, code):
    assert code in [p.code for p in check(broken(_imm(), path, value), ORG)]


def test_every_problem_code_the_package_makes_has_a_sentence():
    made = set()
    for path in Path(rules.__file__).parent.glob("*.py"):
        made |= set(re.findall(r'(?:add|Problem)\("([a-z_0-9]+)"', path.read_text(encoding="utf-8")))
    assert made and made <= set(MESSAGES), sorted(made - set(MESSAGES))


def test_a_problem_is_worded_with_its_parameters():
    text = message(Problem("identifier_system", "Encounter", "ilpbot-visit-1", {"wanted": "W", "found": "F"}))
    assert "W" in text and "F" in text
    assert message(Problem("something_new", "Encounter", "x")) == "something_new"
