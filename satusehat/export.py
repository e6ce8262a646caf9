"""The offline export: a puskesmas's visits, measurements and doses of a period as FHIR R4 Bundles, one
per day (``python bot.py fhir export``), for a puskesmas that hands data over another way, and for checking.

:func:`read_period` reads the rows (the database's only door here); :func:`build` is pure: facts in,
bundles and the reasons of whatever was held back out.

* A Bundle per day of type ``collection``: the day's Encounters (a visit, by its day), Observations (the
  visit's measurements) and Immunizations (the doses whose date is that day, whoever recorded them);
  each entry's ``fullUrl`` a ``urn:uuid`` derived from its business identifier, so an export run twice
  writes the same entries; Observations and Immunizations point at their Encounter by that urn.
* Patients: no IHS number is known offline, so a resource names its patient by the NIK identifier (a
  logical reference). A person without a NIK of 16 digits is not exported: the export lists them with the
  reason and how many of their resources wait (a baby found only by the mother's NIK needs SATUSEHAT's
  Patient search, which the offline export does not make).
* Every resource is built with the R4B models and checked by :func:`satusehat.rules.check`; one with a
  problem is held back and listed with it (a dose given at the visit without lot number and expiry, a
  posyandu without a Location id, a dose with no KFA product, ...). The bundle is parsed again by the R4B
  Bundle model before it is written.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care.labels import DOSE_LABELS
from care.rules import ImmunizationSchedule
from db.models import CareRecord, Family, Measurement, Person, Posyandu, Puskesmas, Visit
from satusehat import encounter as enc
from satusehat import immunization as imm
from satusehat import observation as obs
from satusehat.facts import DoseFacts, MeasureFacts, PersonFacts, Site, VisitFacts
from satusehat.fhir import entry_urn, utc, validated
from satusehat.patient import nik_problem, reference
from satusehat.rules import Problem, check


@dataclass(frozen=True, slots=True)
class PeriodFacts:
    """What :func:`read_period` found: the puskesmas, its people, visits, measurements and doses."""

    puskesmas_code: str
    persons: dict[int, PersonFacts]
    family_codes: dict[int, str]  # person id -> family code
    visits: list[VisitFacts]
    measures: list[MeasureFacts]
    doses: list[DoseFacts]


@dataclass(slots=True)
class Export:
    """The bundles by day and what was held back, with reasons."""

    bundles: dict[date, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"Encounter": 0, "Observation": 0, "Immunization": 0})
    problems: list[Problem] = field(default_factory=list)
    #: person id -> (the NIK problem, resources held back)
    waiting: dict[int, tuple[str, int]] = field(default_factory=dict)


async def read_period(session: AsyncSession, puskesmas_id: int, start: date, end: date, zone: str) -> PeriodFacts:
    """The rows of the puskesmas's posyandu from ``start`` to ``end`` (inclusive); ``zone`` its time zone."""
    code = (await session.execute(select(Puskesmas.code).where(Puskesmas.id == puskesmas_id))).scalar_one()
    visit_rows = (await session.execute(
        select(Visit.id, Visit.person_id, Posyandu.code, Posyandu.name, Visit.visited_on, Visit.place, Visit.created_at)
        .join(Posyandu, Posyandu.id == Visit.posyandu_id)
        .where(Posyandu.puskesmas_id == puskesmas_id, Visit.visited_on.between(start, end))
        .order_by(Visit.visited_on, Visit.id))).all()
    visits = [VisitFacts(*row, zone=zone) for row in visit_rows]
    measures = []
    if visits:
        rows = (await session.execute(
            select(Measurement.id, Measurement.visit_id, Measurement.kind, Measurement.value, Measurement.detail)
            .where(Measurement.visit_id.in_([v.id for v in visits])).order_by(Measurement.id))).all()
        measures = [MeasureFacts(*row) for row in rows]
    dose_rows = (await session.execute(
        select(CareRecord.id, CareRecord.person_id, CareRecord.code, CareRecord.done_on, CareRecord.precision,
               CareRecord.source, CareRecord.visit_id, CareRecord.created_at, CareRecord.detail, Visit.visited_on)
        .outerjoin(Visit, Visit.id == CareRecord.visit_id)
        .join(Person, Person.id == CareRecord.person_id).join(Family, Family.id == Person.family_id)
        .join(Posyandu, Posyandu.id == Family.posyandu_id)
        .where(Posyandu.puskesmas_id == puskesmas_id, CareRecord.done_on.between(start, end),
               CareRecord.code.in_(sorted(DOSE_LABELS)))
        .order_by(CareRecord.done_on, CareRecord.id))).all()
    doses = [DoseFacts(*row) for row in dose_rows]
    ids = {v.person_id for v in visits} | {d.person_id for d in doses}
    persons, families = {}, {}
    if ids:
        rows = (await session.execute(
            select(Person.id, Person.name, Person.sex, Person.birth_date, Person.nik, Family.code)
            .join(Family, Family.id == Person.family_id).where(Person.id.in_(sorted(ids))))).all()
        for pid, name, sex, born, nik, family in rows:
            persons[pid] = PersonFacts(pid, name, sex, born, nik)
            families[pid] = family
    return PeriodFacts(code, persons, families, visits, measures, doses)


def problem_of(exc: Exception, resource: str, where: str) -> Problem:
    """The problem a builder's refusal stands for."""
    if isinstance(exc, enc.NoLocation):
        return Problem("no_location", resource, where, {"posyandu": str(exc)})
    if isinstance(exc, obs.NoCode):
        return Problem("no_code", resource, where, {"kind": str(exc)})
    if isinstance(exc, obs.NoValue):
        return Problem("no_value", resource, where, {"kind": str(exc)})
    if isinstance(exc, imm.NoVaccine):
        return Problem("no_vaccine", resource, where, {"dose": str(exc)})
    first = str(exc).splitlines()
    return Problem("invalid_fhir", resource, where, {"error": " ".join(first[:3])[:200]})


def build(facts: PeriodFacts, site: Site, schedule: ImmunizationSchedule, now: datetime) -> Export:
    """The day bundles of ``facts`` (see the module docstring); pure."""
    out = Export()
    entries: dict[date, list[dict[str, Any]]] = defaultdict(list)
    by_visit: dict[int, list[MeasureFacts]] = defaultdict(list)
    for m in facts.measures:
        by_visit[m.visit_id].append(m)
    visits = {v.id: v for v in facts.visits}
    encounters: dict[int, dict[str, Any]] = {}  # visit id -> the Reference to its exported Encounter

    def subject_of(person_id: int, resources: int) -> dict[str, Any] | None:
        person = facts.persons.get(person_id)
        trouble = nik_problem(person.nik if person else None)
        if trouble is not None:
            held = out.waiting.get(person_id, (trouble, 0))[1]
            out.waiting[person_id] = (trouble, held + resources)
            return None
        return reference(nik=person.nik, name=person.name)

    def add(day: date, kind: str, build_one, where: str) -> dict[str, Any] | None:
        try:
            resource = build_one()
        except (ValueError, ValidationError) as exc:
            out.problems.append(problem_of(exc, kind, where))
            return None
        problems = check(resource, site.organization_id)
        if problems:
            out.problems.extend(problems)
            return None
        value = resource["identifier"][0]["value"]
        entries[day].append({"fullUrl": entry_urn(kind, value), "resource": resource})
        out.counts[kind] += 1
        return resource

    for visit in facts.visits:
        measures = by_visit.get(visit.id, [])
        subject = subject_of(visit.person_id, 1 + len(measures))
        if subject is None:
            continue
        if add(visit.visited_on, "Encounter", lambda v=visit, s=subject: enc.encounter(v, s, site),
               enc.business_id(visit.id)) is None:
            continue
        ref = encounters[visit.id] = {"reference": enc.urn(visit.id)}
        for m in measures:
            add(visit.visited_on, "Observation", lambda m=m, v=visit, s=subject, r=ref: obs.observation(m, v, s, r, site),
                obs.business_id(m.id))
    for dose in facts.doses:
        subject = subject_of(dose.person_id, 1)
        if subject is None:
            continue
        visit = visits.get(dose.visit_id) if dose.visit_id is not None else None
        if imm.is_primary(dose) and dose.visit_id not in encounters:
            where = imm.business_id(dose.id)
            out.problems.append(Problem("no_encounter", "Immunization", where, {"visit": enc.business_id(dose.visit_id)}))
            continue
        person = facts.persons[dose.person_id]
        add(dose.done_on, "Immunization",
            lambda d=dose, s=subject, v=visit, b=person.birth_date: imm.immunization(
                d, s, site, schedule, birth=b, visit=v, encounter=encounters.get(d.visit_id)),
            imm.business_id(dose.id))
    for day in sorted(entries):
        bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": utc(now), "entry": entries[day]}
        out.bundles[day] = validated(bundle)
    return out
