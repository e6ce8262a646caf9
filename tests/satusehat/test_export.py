"""The offline export: day bundles that parse again as R4B, who waits for a NIK, what is held back and why."""
import json
from dataclasses import replace
from datetime import UTC, date, datetime

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from care.rules_file import load_schedule
from config import load_settings
from db.models import AuditLog, CareRecord, Measurement, Person, Posyandu, Visit
from satusehat.commands import export_command
from satusehat.export import PeriodFacts, build
from satusehat.facts import PersonFacts, Site
from tests.helpers import make_family
from tests.satusehat.common import CHILD, LOCATION, ORG, SITE, VISIT, dose, measure

IMM = load_schedule().immunization
NOW = datetime(2024, 4, 1, 0, 0, tzinfo=UTC)
NO_NIK = PersonFacts(8, "Made", "M", date(2023, 1, 1), None)


def facts(**changes):
    base = PeriodFacts(
        "P1", {7: CHILD, 8: NO_NIK}, {7: "KEL1", 8: "KEL2"},
        [VISIT, replace(VISIT, id=13, person_id=8)],
        [measure("weight_kg", 9.4, id=31), measure("length_cm", 74.5, "l", id=32),
         replace(measure("weight_kg", 10.1, id=33), visit_id=13)],
        [dose("MR1", detail={"lot": "A1", "expiry": "2025-01-31"}, id=55),
         dose("DPT_HB_HIB1", on=date(2023, 8, 7), source="import", visit_id=None, id=56),
         replace(dose("BCG", on=date(2023, 7, 1), source="import", visit_id=None, id=57), person_id=8)],
    )
    return replace(base, **changes)


def test_one_valid_bundle_per_day_with_the_encounter_referenced():
    out = build(facts(), SITE, IMM, NOW)
    assert sorted(out.bundles) == [date(2023, 8, 7), date(2024, 3, 5)]
    day = out.bundles[date(2024, 3, 5)]
    Bundle.model_validate(json.loads(json.dumps(day)))  # the round trip: JSON text back to the R4B model
    assert day["type"] == "collection"
    kinds = [e["resource"]["resourceType"] for e in day["entry"]]
    assert kinds == ["Encounter", "Observation", "Observation", "Immunization"]
    encounter_urn = day["entry"][0]["fullUrl"]
    assert all(e["resource"]["encounter"] == {"reference": encounter_urn} for e in day["entry"][1:])
    assert out.counts == {"Encounter": 1, "Observation": 2, "Immunization": 2}
    assert out.problems == []


def test_a_person_without_a_nik_waits_listed_with_what_is_held():
    out = build(facts(), SITE, IMM, NOW)
    assert out.waiting == {8: ("no_nik", 3)}  # the visit, its measurement, the BCG dose
    text = json.dumps(list(out.bundles.values()))
    assert "Made" not in text


def test_a_nik_that_is_not_16_digits_waits_too():
    out = build(facts(persons={7: replace(CHILD, nik="51080145"), 8: NO_NIK}), SITE, IMM, NOW)
    assert out.waiting[7] == ("nik_not_16_digits", 5)
    assert out.bundles == {}


def test_a_posyandu_without_a_location_holds_its_visits_and_their_doses_back():
    out = build(facts(), Site(ORG, {}), IMM, NOW)
    assert [(p.code, p.where) for p in out.problems] == [("no_location", "ilpbot-visit-12"),
                                                         ("no_encounter", "ilpbot-dose-55")]
    assert out.counts == {"Encounter": 0, "Observation": 0, "Immunization": 1}  # the history dose goes


def test_a_dose_without_lot_and_a_measurement_without_a_code_are_held_with_their_reason():
    f = facts(doses=[dose("MR1", id=55)], measures=[measure("shoe_size", 30, id=40), measure(id=41)])
    out = build(f, SITE, IMM, NOW)
    assert sorted((p.resource, p.code) for p in out.problems) == [("Immunization", "no_lot"), ("Observation", "no_code")]
    assert out.counts == {"Encounter": 1, "Observation": 1, "Immunization": 0}


def test_the_export_is_the_same_twice():
    assert build(facts(), SITE, IMM, NOW).bundles == build(facts(), SITE, IMM, NOW).bundles


async def _visit_with_records(db):
    family = await make_family(db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Putu Adi", "M", date(2025, 9, 14)),
                                            ("Kadek", "F", date(2025, 1, 3))))
    async with db.write() as session:
        posyandu = await session.get(Posyandu, family.posyandu_id)
        people = {p.name: p for p in (await session.scalars(select(Person).where(Person.family_id == family.id))).all()}
        people["Putu Adi"].nik = "5108061409250001"
        at = datetime(2026, 11, 5, 2, 15, tzinfo=UTC)  # 10:15 WITA
        visits = []
        for name in ("Putu Adi", "Kadek"):
            visit = Visit(person_id=people[name].id, posyandu_id=posyandu.id, visited_on=date(2026, 11, 5), place="posyandu",
                          created_at=at)
            session.add(visit)
            await session.flush()
            session.add(Measurement(visit_id=visit.id, kind="weight_kg", value=6.9, detail=None))
            session.add(Measurement(visit_id=visit.id, kind="length_cm", value=64.0, detail="l"))
            visits.append(visit)
        session.add(CareRecord(person_id=people["Putu Adi"].id, code="DPT_HB_HIB1", done_on=date(2026, 11, 5), source="kader",
                               visit_id=visits[0].id, detail={"lot": "B123", "expiry": "2027-06-30"}, created_at=at))
        session.add(CareRecord(person_id=people["Putu Adi"].id, code="BCG", done_on=date(2026, 11, 2), source="import",
                               created_at=at))
        return posyandu.code


async def test_the_command_writes_a_file_per_day_and_lists_who_waits(db, settings, tmp_path, capsys):
    from db.demo import load_demo

    await load_demo(db)
    code = await _visit_with_records(db)
    s = replace(settings, satusehat=replace(settings.satusehat, organization_id=ORG, locations={code: LOCATION}))
    assert await export_command(db, s, puskesmas="P5108060201", start=date(2026, 11, 1), end=date(2026, 11, 30),
                                out=tmp_path / "out", lang="en") == 0
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["P5108060201-2026-11-02.json", "P5108060201-2026-11-05.json"]
    for name in files:
        Bundle.model_validate_json((tmp_path / "out" / name).read_text(encoding="utf-8"))
    day = json.loads((tmp_path / "out" / files[1]).read_text(encoding="utf-8"))
    assert [e["resource"]["resourceType"] for e in day["entry"]] == ["Encounter", "Observation", "Observation", "Immunization"]
    assert day["entry"][0]["resource"]["period"]["start"] == "2026-11-05T02:15:00Z"
    printed = capsys.readouterr().out
    assert "Kadek" in printed and "waiting for a NIK (1 persons" in printed and "5108061409250001" not in printed
    async with db.read() as session:
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "fhir.exported"))).one()
    assert audit.detail["Encounter"] == 1 and audit.detail["waiting"] == 1


async def test_the_command_refuses_without_an_organization_or_with_a_bad_period(db, settings, tmp_path, capsys):
    assert await export_command(db, settings, puskesmas="X", start=date(2026, 11, 1), end=date(2026, 11, 30), out=tmp_path) == 2
    s = replace(settings, satusehat=replace(settings.satusehat, organization_id=ORG))
    assert await export_command(db, s, puskesmas="X", start=date(2026, 11, 2), end=date(2026, 11, 1), out=tmp_path) == 2
    assert await export_command(db, s, puskesmas="NOPE", start=date(2026, 11, 1), end=date(2026, 11, 2), out=tmp_path) == 1
    assert "no puskesmas 'NOPE'" in capsys.readouterr().out


def test_the_cli_parses_fhir_export():
    from bot import parser

    args = parser().parse_args(["fhir", "export", "--puskesmas", "P1", "--from", "2026-11-01", "--to", "2026-11-30", "--out", "x"])
    assert (args.fhir_command, args.start, args.end, args.out) == ("export", date(2026, 11, 1), date(2026, 11, 30), "x")
    assert load_settings(env={}).satusehat.enabled is False
