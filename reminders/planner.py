"""The daily plan: for one local date, every consenting family's reminder goes into the outbox.

Per time zone, once a day (APScheduler only wakes it): families are read in chunks; the pure rules of
``reminders.rules`` decide the items; the items are recorded (``reminder_item``, one row per item key)
and one outbox row per reachable chat address is written under the key ``daily:<identity>:<date>``.
Planning the same day twice adds nothing. The dispatcher sends what is due.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update

from db.database import Database
from db.models import Family, Identity, Immunization, Outbox, Person, Posyandu, Puskesmas, ReminderItem
from db.queries import next_day_of, posyandu_changes
from reminders.messages import daily_text
from reminders.rules import Member, ReminderPolicy, Seen, family_items

log = logging.getLogger(__name__)

CHUNK = 2000
SAMPLES = 3


@dataclass
class PlanResult:
    """What a planning run decided (or would decide, in a dry run)."""

    day: date
    dry_run: bool
    families: int = 0
    families_with_items: int = 0
    messages: int = 0
    items: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Posyandu:
    id: int
    name: str
    zone: str
    session_day: date | None


def policy_from(settings) -> ReminderPolicy:
    """The rules' policy from the configuration."""
    r = settings.reminders
    return ReminderPolicy(posyandu_days_before=r.posyandu_days_before, repeat_days=r.repeat_days, max_times=r.max_times, je=settings.care.je)


def zone_of(settings, code: str, stored: str) -> str:
    """A puskesmas's time zone: the configuration's override, else the stored one."""
    return settings.timezone.puskesmas.get(code, stored)


async def _posyandu(session, settings, day: date, zones: set[str] | None) -> dict[int, _Posyandu]:
    """The posyandu to plan, with each one's zone and next session on or after ``day``."""
    rows = (await session.execute(select(Posyandu, Puskesmas.code, Puskesmas.timezone).join(Puskesmas))).all()
    chosen = [(p, zone_of(settings, code, stored)) for p, code, stored in rows]
    chosen = [(p, zone) for p, zone in chosen if zones is None or zone in zones]
    changes = await posyandu_changes(session, [p.id for p, _zone in chosen])
    found: dict[int, _Posyandu] = {}
    for p, zone in chosen:
        session_day = next_day_of(p, day, changes[p.id])
        found[p.id] = _Posyandu(p.id, p.name, zone, session_day.day if session_day else None)
    return found


def slot_time(day: date, hour: int, zone: str) -> datetime:
    """``hour``:00 local on ``day`` as an aware UTC datetime."""
    return datetime.combine(day, time(hour), ZoneInfo(zone)).astimezone(ZoneInfo("UTC"))


class Planner:
    """Plans days into the outbox; built once with the database and the configuration."""

    def __init__(self, db: Database, settings, *, schedule=None, clock=None) -> None:
        self.db = db
        self.settings = settings
        self.policy = policy_from(settings)
        self.schedule = schedule
        self.clock = clock or (lambda: datetime.now(ZoneInfo("UTC")))

    async def plan_day(self, day: date, *, zones: Iterable[str] | None = None, dry_run: bool = False, chunk: int = CHUNK) -> PlanResult:
        """Plans ``day`` (a local date) for the families in ``zones`` (all when None)."""
        result = PlanResult(day=day, dry_run=dry_run)
        async with self.db.read() as session:
            posyandu = await _posyandu(session, self.settings, day, set(zones) if zones is not None else None)
        if not posyandu:
            return result
        last_id = 0
        while True:
            async with self.db.read() as session:
                families = (
                    await session.execute(
                        select(Family.id, Family.name, Family.posyandu_id)
                        .where(Family.id > last_id, Family.registered_at.is_not(None), Family.posyandu_id.in_(list(posyandu)))
                        .order_by(Family.id)
                        .limit(chunk)
                    )
                ).all()
                if not families:
                    break
                last_id = families[-1][0]
                batch = await self._read_chunk(session, [f[0] for f in families])
            plans = self._decide(day, families, posyandu, batch, result)
            if plans and not dry_run:
                await self._write(day, plans, posyandu)
        return result

    async def _read_chunk(self, session, family_ids: list[int]) -> dict:
        """Identities, members, doses given and items seen for a chunk of families."""
        identities = defaultdict(list)
        rows = await session.execute(
            select(Identity.id, Identity.family_id, Identity.channel, Identity.address, Identity.language, Identity.reminder_slot)
            .where(
                Identity.family_id.in_(family_ids), Identity.consent == "given",
                Identity.opted_out_at.is_(None), Identity.unreachable_at.is_(None),
            )
        )
        for row in rows.all():
            identities[row.family_id].append(row)
        people = defaultdict(list)
        person_rows = (
            await session.execute(
                select(Person.id, Person.family_id, Person.name, Person.sex, Person.birth_date, Person.hpht, Person.delivered_on)
                .where(Person.family_id.in_(family_ids))
                .order_by(Person.id)
            )
        ).all()
        given = defaultdict(dict)
        dose_rows = await session.execute(
            select(Immunization.person_id, Immunization.dose, Immunization.given_on)
            .join(Person, Person.id == Immunization.person_id)
            .where(Person.family_id.in_(family_ids))
            .order_by(Immunization.given_on)
        )
        for person_id, dose, given_on in dose_rows.all():
            given[person_id][dose] = given_on
        for p in person_rows:
            people[p.family_id].append(Member(p.id, p.name, p.sex, p.birth_date, p.hpht, p.delivered_on, given.get(p.id, {})))
        seen = {}
        seen_rows = await session.execute(
            select(ReminderItem.key, ReminderItem.times, ReminderItem.last_planned_on).where(ReminderItem.family_id.in_(family_ids))
        )
        for key, times, last in seen_rows.all():
            seen[key] = Seen(times, last)
        return {"identities": identities, "people": people, "seen": seen}

    def _decide(self, day: date, families, posyandu, batch, result: PlanResult) -> list[tuple]:
        """The items and messages of a chunk; counts them into ``result``."""
        plans = []
        for family_id, family_name, posyandu_id in families:
            result.families += 1
            identities = batch["identities"].get(family_id)
            if not identities:
                continue
            post = posyandu[posyandu_id]
            items = family_items(day, family_id, batch["people"].get(family_id, ()), post.session_day, batch["seen"], self.policy, self.schedule)
            if not items:
                continue
            result.families_with_items += 1
            for item in items:
                result.items[item.kind] += 1
            messages = []
            for identity in identities:
                text = daily_text(family_name, post.name, items, day, identity.language)
                messages.append((identity, text))
                result.messages += 1
                if len(result.samples) < SAMPLES:
                    result.samples.append(text)
            plans.append((family_id, post, items, messages, batch["seen"]))
        return plans

    async def _write(self, day: date, plans, posyandu) -> None:
        """Records the items and writes the outbox rows of a chunk in one transaction."""
        now = self.clock()
        r = self.settings.reminders
        async with self.db.write() as session:
            new_items, repeated = [], []
            outbox_rows = []
            for family_id, post, items, messages, seen in plans:
                for item in items:
                    key = item.key(family_id)
                    if key in seen:
                        repeated.append(key)
                    else:
                        new_items.append(
                            {"key": key, "family_id": family_id, "person_id": item.person_id, "kind": item.kind,
                             "subject": item.subject, "due_on": item.due_on, "times": 1, "last_planned_on": day, "created_at": now}
                        )
                for identity, text in messages:
                    hour = r.afternoon_hour if identity.reminder_slot == "afternoon" else r.morning_hour
                    outbox_rows.append(
                        {"key": f"daily:{identity.id}:{day.isoformat()}", "identity_id": identity.id, "channel": identity.channel,
                         "address": identity.address, "kind": "daily", "timezone": post.zone,
                         "body": {"text": text, "lang": identity.language,
                                  "items": [[i.kind, i.subject, i.person_name] for i in items]},
                         "state": "pending", "not_before": slot_time(day, hour, post.zone),
                         "expires_at": slot_time(day, r.quiet_start, post.zone), "attempts": 0, "created_at": now}
                    )
            if new_items:
                await session.execute(self._insert_ignore(ReminderItem), new_items)
            for start in range(0, len(repeated), 500):
                keys = repeated[start:start + 500]
                await session.execute(
                    update(ReminderItem)
                    .where(ReminderItem.key.in_(keys), ReminderItem.last_planned_on < day)
                    .values(times=ReminderItem.times + 1, last_planned_on=day)
                )
            if outbox_rows:
                await session.execute(self._insert_ignore(Outbox), outbox_rows)

    def _insert_ignore(self, model):
        """A Core INSERT that skips rows whose unique key exists (no ORM bookkeeping per row)."""
        if self.db.is_sqlite:
            return insert(model.__table__).prefix_with("OR IGNORE")
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model.__table__).on_conflict_do_nothing()


async def outbox_status(db: Database) -> list[tuple[str, str, int]]:
    """(channel, state, count) of every outbox row."""
    async with db.read() as session:
        rows = await session.execute(
            select(Outbox.channel, Outbox.state, func.count()).group_by(Outbox.channel, Outbox.state).order_by(Outbox.channel, Outbox.state)
        )
        return [tuple(r) for r in rows.all()]


