"""Facts for the SATUSEHAT tests: a posyandu visit of a child with a NIK, in WITA (UTC+8)."""
from datetime import date, datetime, timezone

from satusehat.facts import DoseFacts, MeasureFacts, PersonFacts, Site, VisitFacts
from satusehat.patient import reference

ORG = "10000004"
LOCATION = "ef011065-38c9-46f8-9c35-d1fe68966a3e"
SITE = Site(ORG, {"PSY-01": LOCATION})
NIK = "5108014506230001"
CHILD = PersonFacts(7, "Ayu", "F", date(2023, 6, 5), NIK)
SUBJECT = reference(nik=NIK)
# saved 10:30 WITA on the visit's day
VISIT = VisitFacts(12, 7, "PSY-01", "Posyandu Melati", date(2024, 3, 5), "posyandu",
                   datetime(2024, 3, 5, 2, 30, tzinfo=timezone.utc), "Asia/Makassar")


def measure(kind="weight_kg", value=9.4, detail=None, id=31):
    return MeasureFacts(id, VISIT.id, kind, value, detail)


def dose(code="MR1", *, on=date(2024, 3, 5), precision="day", source="kader", visit_id=12, detail=None, id=55,
         visited_on=None):
    return DoseFacts(id, CHILD.id, code, on, precision, source, visit_id,
                     datetime(2024, 3, 5, 2, 31, tzinfo=timezone.utc), detail, visited_on)
