from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from fhir.resources.R4B.encounter import Encounter

from satusehat.encounter import NoLocation, encounter, period
from satusehat.facts import Site
from satusehat.rules import check
from tests.satusehat.common import LOCATION, ORG, SITE, SUBJECT, VISIT


def test_a_visit_is_an_encounter_at_the_posyandus_location():
    e = encounter(VISIT, SUBJECT, SITE)
    Encounter.model_validate(e)
    assert e["identifier"] == [{"system": f"http://sys-ids.kemkes.go.id/encounter/{ORG}", "use": "official",
                                "value": "ilpbot-visit-12"}]
    assert e["class"]["code"] == "AMB" and e["status"] == "finished"
    assert e["location"][0]["location"]["reference"] == f"Location/{LOCATION}"
    assert e["serviceProvider"] == {"reference": f"Organization/{ORG}"}
    assert [s["status"] for s in e["statusHistory"]] == ["arrived", "in-progress", "finished"]
    assert e["period"] == {"start": "2024-03-05T02:30:00Z", "end": "2024-03-05T02:30:00Z"}
    assert check(e, ORG) == []


@pytest.mark.parametrize(("created", "zone", "start", "end"), [
    # saved on the day, local time: the moment, in UTC
    (datetime(2024, 3, 5, 2, 30, tzinfo=timezone.utc), "Asia/Makassar", "2024-03-05T02:30:00Z", "2024-03-05T02:30:00Z"),
    # 06:30 WIB on the 5th is 23:30 UTC on the 4th: still the visit's own day
    (datetime(2024, 3, 4, 23, 30, tzinfo=timezone.utc), "Asia/Jakarta", "2024-03-04T23:30:00Z", "2024-03-04T23:30:00Z"),
    # saved days later (an import): the local day, start to end
    (datetime(2024, 4, 1, 5, 0, tzinfo=timezone.utc), "Asia/Jakarta", "2024-03-04T17:00:00Z", "2024-03-05T16:59:59Z"),
    (datetime(2024, 4, 1, 5, 0, tzinfo=timezone.utc), "Asia/Jayapura", "2024-03-04T15:00:00Z", "2024-03-05T14:59:59Z"),
])
def test_the_period_is_utc(created, zone, start, end):
    visit = replace(VISIT, created_at=created, zone=zone, visited_on=date(2024, 3, 5))
    e = encounter(visit, SUBJECT, SITE)
    assert (e["period"]["start"], e["period"]["end"]) == (start, end)
    assert check(e, ORG) == []


def test_a_home_visit_is_home_health():
    assert encounter(replace(VISIT, place="home"), SUBJECT, SITE)["class"]["code"] == "HH"


def test_a_posyandu_without_a_location_id_is_refused():
    with pytest.raises(NoLocation):
        encounter(VISIT, SUBJECT, Site(ORG, {}))


def test_period_is_aware():
    start, end = period(VISIT)
    assert start.tzinfo is not None and end >= start
