"""A visit -> an Encounter at the posyandu.

SATUSEHAT's Encounter page asks for: the business identifier, status, the status history (arrived,
in-progress, finished, each with its period), class (v3-ActCode; ``AMB`` ambulatory for a posyandu visit,
``HH`` home health for a home visit), subject, period, location and the organization serving it.

Times: a visit records its day and when it was saved (``created_at``, UTC). Saved on its own day (local
time of the puskesmas), the visit is that moment: start = end = ``created_at``. Saved on a later day (a
register import, a correction), only the day is known: the period is that local day, start to end, in UTC.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from satusehat.facts import Site, VisitFacts
from satusehat.fhir import coding, entry_urn, identifier, local_id, utc, validated

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CLASS_OF_PLACE = {"posyandu": ("AMB", "ambulatory"), "home": ("HH", "home health")}


class NoLocation(ValueError):
    """The visit's posyandu has no SATUSEHAT Location id in the settings."""


def period(visit: VisitFacts) -> tuple[datetime, datetime]:
    """(start, end) of the visit, aware, as the module docstring says."""
    zone = ZoneInfo(visit.zone)
    if visit.created_at.astimezone(zone).date() == visit.visited_on:
        return visit.created_at, visit.created_at
    start = datetime.combine(visit.visited_on, time(0, 0), zone)
    return start, start + timedelta(days=1, seconds=-1)


def business_id(visit_id: int) -> str:
    return local_id("visit", visit_id)


def urn(visit_id: int) -> str:
    """The fullUrl of the visit's Encounter in a bundle (Observations and Immunizations point at it)."""
    return entry_urn("Encounter", business_id(visit_id))


def encounter(visit: VisitFacts, subject: dict[str, Any], site: Site) -> dict[str, Any]:
    """The Encounter of ``visit`` (validated by the R4B model); NoLocation when the posyandu has no Location."""
    location = site.location_of(visit.posyandu_code)
    if location is None:
        raise NoLocation(visit.posyandu_code)
    start, end = (utc(t) for t in period(visit))
    code, display = CLASS_OF_PLACE.get(visit.place, CLASS_OF_PLACE["posyandu"])
    return validated({
        "resourceType": "Encounter",
        "identifier": identifier("Encounter", site.organization_id, business_id(visit.id)),
        "status": "finished",
        "class": coding(ACT_CODE, code, display),
        "subject": subject,
        "period": {"start": start, "end": end},
        "location": [{"location": {"reference": f"Location/{location}", "display": visit.posyandu_name}}],
        "statusHistory": [
            {"status": "arrived", "period": {"start": start, "end": start}},
            {"status": "in-progress", "period": {"start": start, "end": end}},
            {"status": "finished", "period": {"start": end, "end": end}},
        ],
        "serviceProvider": {"reference": f"Organization/{site.organization_id}"},
    })
