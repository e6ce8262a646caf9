"""A measurement -> an Observation: status final, the code and UCUM unit of ``content/satusehat``
(measurements.csv), subject, the visit's Encounter, the visit's time (UTC) as effectiveDateTime, a stable
business identifier.
"""
from __future__ import annotations

from typing import Any

from content.satusehat import measure_code
from satusehat.encounter import period
from satusehat.facts import MeasureFacts, Site, VisitFacts
from satusehat.fhir import coding, identifier, local_id, utc, validated

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CATEGORY_DISPLAY = {"vital-signs": "Vital Signs", "exam": "Exam", "laboratory": "Laboratory"}
UCUM = "http://unitsofmeasure.org"


class NoCode(ValueError):
    """The measurement kind has no code in content/satusehat/measurements.csv."""


class NoValue(ValueError):
    """The measurement has no usable value (empty, zero or negative)."""


def business_id(measure_id: int) -> str:
    return local_id("measurement", measure_id)


def observation(m: MeasureFacts, visit: VisitFacts, subject: dict[str, Any], encounter: dict[str, Any],
                site: Site) -> dict[str, Any]:
    """The Observation of ``m`` (validated by the R4B model); NoCode or NoValue when it cannot be one."""
    code = measure_code(m.kind, m.detail)
    if code is None:
        raise NoCode(m.kind)
    if m.value is None or not m.value > 0:
        raise NoValue(m.kind)
    return validated({
        "resourceType": "Observation",
        "identifier": identifier("Observation", site.organization_id, business_id(m.id)),
        "status": "final",
        "category": [{"coding": [coding(CATEGORY, code.category, CATEGORY_DISPLAY[code.category])]}],
        "code": {"coding": [coding(code.system, code.code, code.display)]},
        "subject": subject,
        "encounter": encounter,
        "effectiveDateTime": utc(period(visit)[0]),
        "valueQuantity": {"value": m.value, "unit": code.unit, "system": UCUM, "code": code.ucum},
    })
