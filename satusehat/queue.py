"""The durable queue of what goes to SATUSEHAT (table ``satusehat_item``; the outbox pattern of the reminders).

:func:`collect` finds the visits, measurements and doses recorded since a moment and queues one item per
resource, keyed by its business identifier (``Encounter|ilpbot-visit-12``), so queuing twice adds nothing. An
item carries the digest of its row's values: a corrected row (a kader fixes today's weight) puts its item back
to ``pending`` (sent before: it goes again as an update of the same resource). :func:`status` counts them.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.labels import DOSE_LABELS
from db.models import CareRecord, Family, Measurement, Person, Posyandu, SatusehatItem, Visit
from satusehat import encounter, immunization, observation

PENDING, WAITING, HELD, REFUSED, SENT = "pending", "waiting", "held", "refused", "sent"
STATES = (PENDING, WAITING, HELD, REFUSED, SENT)
#: the order of a pass: an Encounter before the Observations and Immunizations that point at it
ORDER = {"Encounter": 0, "Observation": 1, "Immunization": 2}


def key(resource_type: str, local: str) -> str:
    return f"{resource_type}|{local}"


def digest(values: Iterable[Any]) -> str:
    return hashlib.sha256(repr(tuple(values)).encode()).hexdigest()[:32]


async def collect(session: AsyncSession, puskesmas_id: int, since: datetime, now: datetime) -> dict[str, int]:
    """Queues the puskesmas's visits (and their measurements) and doses recorded since ``since``; requeues
    those whose values changed. Returns {"new": n, "changed": n}."""
    visits = (await session.execute(
        select(Visit.id, Visit.person_id, Visit.visited_on, Visit.place, Visit.posyandu_id)
        .join(Posyandu, Posyandu.id == Visit.posyandu_id)
        .where(Posyandu.puskesmas_id == puskesmas_id, Visit.created_at >= since))).all()
    wanted: dict[str, tuple[str, int, int, str]] = {}  # key -> (type, row id, person id, digest)
    for vid, pid, on, place, posyandu in visits:
        wanted[key("Encounter", encounter.business_id(vid))] = ("Encounter", vid, pid, digest((on, place, posyandu)))
    if visits:
        people = {vid: pid for vid, pid, *_ in visits}
        rows = (await session.execute(select(Measurement.id, Measurement.visit_id, Measurement.kind, Measurement.value,
                                             Measurement.detail).where(Measurement.visit_id.in_(list(people))))).all()
        for mid, vid, kind, value, detail in rows:
            wanted[key("Observation", observation.business_id(mid))] = ("Observation", mid, people[vid],
                                                                        digest((kind, value, detail)))
    doses = (await session.execute(
        select(CareRecord.id, CareRecord.person_id, CareRecord.code, CareRecord.done_on, CareRecord.precision,
               CareRecord.source, CareRecord.visit_id, CareRecord.detail)
        .join(Person, Person.id == CareRecord.person_id).join(Family, Family.id == Person.family_id)
        .join(Posyandu, Posyandu.id == Family.posyandu_id)
        .where(Posyandu.puskesmas_id == puskesmas_id, CareRecord.created_at >= since,
               CareRecord.code.in_(sorted(DOSE_LABELS))))).all()
    for rid, pid, code, on, precision, source, vid, detail in doses:
        values = (code, on, precision, source, vid, sorted((detail or {}).items()))
        wanted[key("Immunization", immunization.business_id(rid))] = ("Immunization", rid, pid, digest(values))
    if not wanted:
        return {"new": 0, "changed": 0}
    known = {item.key: item for item in (await session.scalars(
        select(SatusehatItem).where(SatusehatItem.key.in_(list(wanted))))).all()}
    new = changed = 0
    for k, (kind, row, person, hashed) in wanted.items():
        item = known.get(k)
        if item is None:
            session.add(SatusehatItem(key=k, resource_type=kind, row_id=row, person_id=person, puskesmas_id=puskesmas_id,
                                      state=PENDING, attempts=0, not_before=now, digest=hashed, created_at=now,
                                      updated_at=now))
            new += 1
        elif item.digest != hashed:
            item.digest, item.state, item.not_before, item.updated_at = hashed, PENDING, now, now
            item.problem = item.reason = None
            changed += 1
    return {"new": new, "changed": changed}


async def status(session: AsyncSession, puskesmas_id: int | None = None) -> list[tuple[str, str, int]]:
    """(resource type, state, count), every pair that has items."""
    statement = select(SatusehatItem.resource_type, SatusehatItem.state, func.count()).group_by(
        SatusehatItem.resource_type, SatusehatItem.state).order_by(SatusehatItem.resource_type, SatusehatItem.state)
    if puskesmas_id is not None:
        statement = statement.where(SatusehatItem.puskesmas_id == puskesmas_id)
    return [(kind, state, count) for kind, state, count in (await session.execute(statement)).all()]


async def reasons(session: AsyncSession, limit: int = 20) -> list[tuple[str, str, str, str | None, str | None]]:
    """(key, type, state, problem, reason) of items that wait, are held or refused: what staff should see."""
    rows = (await session.execute(
        select(SatusehatItem.key, SatusehatItem.resource_type, SatusehatItem.state, SatusehatItem.problem,
               SatusehatItem.reason)
        .where(or_(SatusehatItem.state == WAITING, SatusehatItem.state == HELD, SatusehatItem.state == REFUSED))
        .order_by(SatusehatItem.updated_at.desc(), SatusehatItem.id.desc()).limit(limit))).all()
    return [tuple(row) for row in rows]


async def retry(session: AsyncSession, states: Iterable[str], now: datetime) -> int:
    """Puts the items in ``states`` (held, refused, waiting) back to pending, due now: after their cause was
    fixed (a Location id added, the organization id corrected, a NIK recorded). Returns how many."""
    from sqlalchemy import update

    wanted = [s for s in states if s in (HELD, REFUSED, WAITING)]
    if not wanted:
        return 0
    result = await session.execute(update(SatusehatItem).where(SatusehatItem.state.in_(wanted)).values(
        state=PENDING, not_before=now, updated_at=now))
    return result.rowcount or 0
