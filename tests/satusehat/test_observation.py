import pytest
from fhir.resources.R4B.observation import Observation

from satusehat.encounter import urn
from satusehat.observation import NoCode, NoValue, observation
from satusehat.rules import check
from tests.satusehat.common import ORG, SITE, SUBJECT, VISIT, measure

ENCOUNTER = {"reference": urn(VISIT.id)}


@pytest.mark.parametrize(("kind", "detail", "value", "system", "code", "ucum", "category"), [
    ("weight_kg", None, 9.4, "http://loinc.org", "29463-7", "kg", "vital-signs"),
    ("length_cm", "l", 74.5, "http://loinc.org", "8306-3", "cm", "vital-signs"),
    ("length_cm", "h", 96.0, "http://loinc.org", "8302-2", "cm", "vital-signs"),
    ("head_cm", None, 45.1, "http://loinc.org", "9843-4", "cm", "vital-signs"),
    ("muac_cm", None, 14.2, "http://snomed.info/sct", "284473002", "cm", "exam"),
    ("sbp", None, 128, "http://loinc.org", "8480-6", "mm[Hg]", "vital-signs"),
    ("dbp", None, 84, "http://loinc.org", "8462-4", "mm[Hg]", "vital-signs"),
    ("glucose", None, 110, "http://loinc.org", "2339-0", "mg/dL", "laboratory"),
    ("waist_cm", None, 82, "http://loinc.org", "8280-0", "cm", "vital-signs"),
])
def test_a_measurement_is_an_observation(kind, detail, value, system, code, ucum, category):
    o = observation(measure(kind, value, detail), VISIT, SUBJECT, ENCOUNTER, SITE)
    Observation.model_validate(o)
    assert o["code"]["coding"][0]["system"] == system and o["code"]["coding"][0]["code"] == code
    assert o["valueQuantity"]["code"] == ucum and o["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert o["category"][0]["coding"][0]["code"] == category
    assert o["status"] == "final" and o["subject"] == SUBJECT and o["encounter"] == ENCOUNTER
    assert o["effectiveDateTime"] == "2024-03-05T02:30:00Z"
    assert o["identifier"][0] == {"system": f"http://sys-ids.kemkes.go.id/observation/{ORG}", "use": "official",
                                  "value": "ilpbot-measurement-31"}
    assert check(o, ORG) == []


@pytest.mark.parametrize(("kind", "value", "error"), [
    ("shoe_size", 30, NoCode),
    ("weight_kg", None, NoValue),
    ("weight_kg", 0, NoValue),
    ("weight_kg", -2, NoValue),
])
def test_a_measurement_that_cannot_be_coded_is_refused(kind, value, error):
    with pytest.raises(error):
        observation(measure(kind, value), VISIT, SUBJECT, ENCOUNTER, SITE)


def test_the_identifier_is_stable():
    one = observation(measure(), VISIT, SUBJECT, ENCOUNTER, SITE)
    assert one == observation(measure(), VISIT, SUBJECT, ENCOUNTER, SITE)
