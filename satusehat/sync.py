"""One pass of the sync: the due items of the queue (satusehat.queue) sent to SATUSEHAT, each outcome
committed before the next call, so nothing is lost and nothing is sent twice.

For each due item (``pending``, or ``waiting`` whose wait is over), Encounters first:

1. its row is read again (a row undone since: ``held``, problem ``deleted``);
2. the patient: the IHS number kept in ``satusehat_patient``, else the Patient search by NIK, or for a
   person without one by the mother's NIK (nik-ibu: the family's woman whose delivery was that birth, or
   its only woman of childbearing age; the child born that day among her results); a person with neither,
   or one SATUSEHAT does not know, ``waiting`` (tried again a day later);
3. an Observation, or a dose given at a visit, needs its Encounter sent first (else ``waiting`` a while);
4. built with the R4B models and checked by satusehat.rules: a problem makes it ``held`` with the reason;
5. sent: a PUT to its id when it was sent before (a correction); else, when an earlier try may have reached
   the server (``attempts`` > 0), a search by its business identifier first, then a PUT to what it finds or
   a POST. ``sent`` with the server's id; an OperationOutcome: ``refused`` with its words;
6. 429, 5xx or no connection: the item waits ``Retry-After`` and the pass stops; credentials refused: the pass
   stops and says so, the items stay as they were.

A stop of the bot (``stopped``) ends the pass before the next item.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from care.rules import ImmunizationSchedule
from config import Settings, zone_of
from db.models import CareRecord, Measurement, Person, Posyandu, Puskesmas, SatusehatItem, SatusehatPatient, Visit
from satusehat import encounter as enc
from satusehat import immunization as imm
from satusehat import observation as obs
from satusehat.client import AuthRefused, Busy, Client, Refused
from satusehat.export import problem_of
from satusehat.facts import DoseFacts, MeasureFacts, Site, VisitFacts
from satusehat.fhir import identifier_system
from satusehat.patient import ihs_number, mother_nik, nik_problem, search_params
from satusehat.problems import message
from satusehat.queue import HELD, ORDER, PENDING, REFUSED, SENT, WAITING
from satusehat.rules import Problem, check

WAIT_PATIENT = timedelta(days=1)
WAIT_ENCOUNTER = timedelta(minutes=10)


@dataclass(slots=True)
class Pass:
    """What one pass did: items by outcome, the requests made, why it stopped early (if it did)."""

    outcomes: dict[str, int] = field(default_factory=lambda: {s: 0 for s in (SENT, WAITING, HELD, REFUSED)})
    stopped: str | None = None


@dataclass(slots=True)
class _Work:
    """An item's rows, read in one transaction."""

    item_id: int
    kind: str
    key: str
    attempts: int
    server_id: str | None
    person: Any
    ihs: str | None
    visit: VisitFacts | None = None
    measure: MeasureFacts | None = None
    dose: DoseFacts | None = None
    encounter_id: str | None = None  # the server id of the visit's Encounter, when sent
    missing: bool = False
    mother_nik: str | None = None  # for a person without a NIK: the mother's, if one is clear


async def _due(db, now: datetime, limit: int) -> list[int]:
    async with db.read() as session:
        rows = (await session.execute(
            select(SatusehatItem.id, SatusehatItem.resource_type)
            .where(SatusehatItem.state.in_((PENDING, WAITING)), SatusehatItem.not_before <= now)
            .order_by(SatusehatItem.not_before, SatusehatItem.id).limit(limit))).all()
    return [i for i, _kind in sorted(rows, key=lambda r: (ORDER.get(r[1], 9), r[0]))]


async def _visit_facts(session, visit_id: int, settings: Settings) -> VisitFacts | None:
    row = (await session.execute(
        select(Visit.id, Visit.person_id, Posyandu.code, Posyandu.name, Visit.visited_on, Visit.place, Visit.created_at,
               Puskesmas.code, Puskesmas.timezone)
        .join(Posyandu, Posyandu.id == Visit.posyandu_id).join(Puskesmas, Puskesmas.id == Posyandu.puskesmas_id)
        .where(Visit.id == visit_id))).one_or_none()
    if row is None:
        return None
    *facts, code, stored = row
    return VisitFacts(*facts, zone=zone_of(settings, code, stored))


async def _encounter_id(session, visit_id: int) -> str | None:
    return await session.scalar(select(SatusehatItem.server_id).where(
        SatusehatItem.key == f"Encounter|{enc.business_id(visit_id)}", SatusehatItem.state == SENT))


async def _read(db, item_id: int, settings: Settings) -> _Work | None:
    async with db.read() as session:
        item = await session.get(SatusehatItem, item_id)
        if item is None or item.state not in (PENDING, WAITING):
            return None
        person = await session.get(Person, item.person_id)
        ihs = await session.scalar(select(SatusehatPatient.ihs_number).where(SatusehatPatient.person_id == item.person_id))
        work = _Work(item.id, item.resource_type, item.key, item.attempts, item.server_id,
                     (person.id, person.name, person.nik, person.birth_date) if person else None, ihs)
        if person is not None and ihs is None and nik_problem(person.nik) is not None:
            women = (await session.execute(select(Person.nik, Person.birth_date, Person.delivered_on).where(
                Person.family_id == person.family_id, Person.sex == "F", Person.id != person.id))).all()
            work.mother_nik = mother_nik(person.birth_date, [tuple(w) for w in women])
        if item.resource_type == "Encounter":
            work.visit = await _visit_facts(session, item.row_id, settings)
            work.missing = work.visit is None
        elif item.resource_type == "Observation":
            m = await session.get(Measurement, item.row_id)
            work.missing = m is None
            if m is not None:
                work.measure = MeasureFacts(m.id, m.visit_id, m.kind, m.value, m.detail)
                work.visit = await _visit_facts(session, m.visit_id, settings)
                work.encounter_id = await _encounter_id(session, m.visit_id)
        else:
            r = await session.get(CareRecord, item.row_id)
            work.missing = r is None
            if r is not None:
                visit = await _visit_facts(session, r.visit_id, settings) if r.visit_id is not None else None
                work.dose = DoseFacts(r.id, r.person_id, r.code, r.done_on, r.precision, r.source, r.visit_id,
                                      r.created_at, r.detail, visit.visited_on if visit is not None else None)
                if r.visit_id is not None:
                    work.visit = visit
                    work.encounter_id = await _encounter_id(session, r.visit_id)
        return work


async def _record(db, item_id: int, now: datetime, *, state: str, problem: str | None = None, reason: str | None = None,
                  wait: timedelta | None = None, server_id: str | None = None, attempt: bool = False,
                  ihs: tuple[int, str] | None = None) -> None:
    """Commits an item's outcome (and an IHS number found on the way)."""
    async with db.write() as session:
        item = await session.get(SatusehatItem, item_id)
        if item is None:
            return
        item.state, item.problem, item.reason, item.updated_at = state, problem, reason[:500] if reason else None, now
        item.not_before = now + wait if wait is not None else item.not_before
        if attempt:
            item.attempts += 1
        if server_id is not None:
            item.server_id, item.sent_at = server_id, now
        if ihs is not None and await session.get(SatusehatPatient, ihs[0]) is None:
            session.add(SatusehatPatient(person_id=ihs[0], ihs_number=ihs[1], found_at=now))


def _build(work: _Work, subject: dict[str, Any], site: Site, schedule: ImmunizationSchedule) -> dict[str, Any]:
    ref = {"reference": f"Encounter/{work.encounter_id}"} if work.encounter_id else None
    if work.kind == "Encounter":
        return enc.encounter(work.visit, subject, site)
    if work.kind == "Observation":
        return obs.observation(work.measure, work.visit, subject, ref, site)
    return imm.immunization(work.dose, subject, site, schedule, birth=work.person[3], visit=work.visit, encounter=ref)


async def _send(client: Client, work: _Work, resource: dict[str, Any], organization_id: str) -> str:
    """Sends ``resource`` once (see step 5); the server's id."""
    target = work.server_id
    if target is None and work.attempts > 0:
        value = resource["identifier"][0]["value"]
        found = await client.fhir("GET", work.kind, params={
            "identifier": f"{identifier_system(work.kind, organization_id)}|{value}"})
        entries = [e.get("resource") or {} for e in found.get("entry") or ()]
        target = entries[0].get("id") if entries else None
    if target is not None:
        answer = await client.fhir("PUT", f"{work.kind}/{target}", body={**resource, "id": target})
        return answer.get("id") or target
    answer = await client.fhir("POST", work.kind, body=resource)
    return answer["id"]


async def sync_once(db, client: Client, settings: Settings, schedule: ImmunizationSchedule, now: datetime, *,
                    limit: int = 500, stopped: Callable[[], bool] | None = None) -> Pass:
    """One pass over the due items (see the module docstring); ends before the next item once ``stopped()``."""
    done = Pass()
    site = Site(settings.satusehat.organization_id, dict(settings.satusehat.locations))
    for item_id in await _due(db, now, limit):
        if stopped is not None and stopped():
            done.stopped = "stopping"
            return done
        work = await _read(db, item_id, settings)
        if work is None:
            continue
        if work.missing or work.person is None:
            await _record(db, item_id, now, state=HELD, problem="deleted", reason="the row was removed")
            done.outcomes[HELD] += 1
            continue
        person_id, _name, nik, birth = work.person
        found = None
        try:
            if work.ihs is None:
                trouble = nik_problem(nik)
                if trouble is None or work.mother_nik is not None:
                    # by the person's NIK; a baby without one by the mother's (nik-ibu), born that day
                    answer = await client.fhir("GET", "Patient", params=search_params(nik, mother_nik=work.mother_nik))
                    work.ihs = ihs_number(answer, birth_date=None if trouble is None else birth)
                    found = (person_id, work.ihs) if work.ihs else None
                    trouble = None if work.ihs else "patient_unknown"
                if trouble is not None:
                    await _record(db, item_id, now, state=WAITING, problem=trouble, wait=WAIT_PATIENT)
                    done.outcomes[WAITING] += 1
                    continue
            needs_encounter = work.kind == "Observation" or (work.dose is not None and imm.is_primary(work.dose))
            if needs_encounter and work.encounter_id is None:
                await _record(db, item_id, now, state=WAITING, problem="encounter_not_sent", wait=WAIT_ENCOUNTER, ihs=found)
                done.outcomes[WAITING] += 1
                continue
            try:
                resource = _build(work, {"reference": f"Patient/{work.ihs}"}, site, schedule)
                problems = check(resource, site.organization_id)
            except (ValueError, ValidationError) as exc:
                problems = [_problem_of(exc, work)]
            if problems:
                await _record(db, item_id, now, state=HELD, problem=problems[0].code,
                              reason="; ".join(message(p) for p in problems), ihs=found)
                done.outcomes[HELD] += 1
                continue
            server_id = await _send(client, work, resource, site.organization_id)
        except Refused as refused:
            await _record(db, item_id, now, state=REFUSED, problem="refused", reason=refused.reason, attempt=True, ihs=found)
            done.outcomes[REFUSED] += 1
            continue
        except Busy as busy:
            await _record(db, item_id, now, state=PENDING, problem="busy", reason=str(busy), attempt=True,
                          wait=timedelta(seconds=busy.retry_after), ihs=found)
            done.stopped = f"busy: retry after {busy.retry_after:g} s"
            return done
        except AuthRefused as refused:
            done.stopped = f"credentials refused: {refused}"
            return done
        await _record(db, item_id, now, state=SENT, server_id=server_id, attempt=True, ihs=found)
        done.outcomes[SENT] += 1
    return done


def _problem_of(exc: Exception, work: _Work) -> Problem:
    return problem_of(exc, work.kind, work.key.split("|", 1)[1])
