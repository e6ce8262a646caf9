"""The daily plan: for one local date, every consenting family's reminder goes into the outbox.

Per time zone, once a day (APScheduler only wakes it). The families are cut into ranges of
consecutive ids; for each range a worker reads the chats, members, their care records and items already
reminded, the pure rules of ``reminders.rules`` decide the items, and the worker hands back rows ready
to insert. The main process writes them: the items (``reminder_item``, one row per item key) and one
outbox row per reachable chat under the key ``daily:<identity>:<date>``. Planning the same day twice
adds nothing. Worker processes let a district of a million people plan in about a minute on two
cores; without them (tests, small installations) the same code runs in the calling process.

Every statement is SQLAlchemy Core on the models (``RANGE_READS``, :func:`db.history.range_select`,
``REPEAT`` and the inserts of :class:`db.queries.InsertIgnoreMany`). A worker hands back its rows already
in the driver's form, each value through its column's own type (:meth:`InsertIgnoreMany.shape`), so the
one writer spends nothing per row but the database's own work. The one database-specific piece is how
a worker process reads the database (:func:`_worker_rows`).
"""
from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import make_url

from care.history import EMPTY, build_many
from care.labels import DOSE_LABELS
from config import zone_of
from db.database import Database, sqlite_sync_engine
from db.history import range_select
from db.models import Family, Identity, Outbox, Person, Posyandu, Puskesmas, ReminderItem
from db.queries import InsertIgnoreMany, core_execute, next_day_of, posyandu_changes
from reminders.messages import daily_text
from reminders.rules import RULE_CODES, Member, ReminderPolicy, Seen, family_items, policy_from

log = logging.getLogger(__name__)

CHUNK = 2000
SAMPLES = 3

FIRST, LAST = bindparam("first"), bindparam("last")
IDENTITIES = select(
    Identity.id, Identity.family_id, Identity.channel, Identity.address, Identity.language, Identity.reminder_slot,
).where(
    Identity.family_id.between(FIRST, LAST), Identity.consent == "given", Identity.opted_out_at.is_(None),
    Identity.unreachable_at.is_(None),
)
PEOPLE = (
    select(Person.id, Person.family_id, Person.name, Person.sex, Person.birth_date, Person.hpht, Person.delivered_on)
    .where(Person.family_id.between(FIRST, LAST))
    .order_by(Person.id)
)
SEEN = select(ReminderItem.key, ReminderItem.times, ReminderItem.last_planned_on).where(
    ReminderItem.family_id.between(FIRST, LAST)
)
#: only the records the rules read (weighings, for instance, change no reminder)
RECORDS = range_select(RULE_CODES | set(DOSE_LABELS))
#: what a range of families ``:first`` to ``:last`` is read with, in the order :func:`range_data` takes
RANGE_READS = (IDENTITIES, RECORDS, PEOPLE, SEEN)
#: a repeated item counted once more, once a day
REPEAT = (
    update(ReminderItem)
    .where(ReminderItem.key.in_(bindparam("keys", expanding=True)), ReminderItem.last_planned_on < bindparam("day"))
    .values(times=ReminderItem.times + 1, last_planned_on=bindparam("day"))
)


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
class PosyanduPlan:
    """What the plan needs of one posyandu."""

    id: int
    name: str
    zone: str
    session_day: date | None


@dataclass(frozen=True)
class RangeJob:
    """One range of families to plan: everything a worker needs besides the database."""

    day: date
    families: list[tuple[int, str, int]]  # (id, name, posyandu id), ascending ids
    posyandu: dict[int, PosyanduPlan]
    slots: tuple[int, int, int]  # morning hour, afternoon hour, quiet start
    created_at: datetime

    @property
    def bounds(self) -> dict[str, int]:
        """The parameters of ``RANGE_READS`` for this range: its first and last family id."""
        return {"first": self.families[0][0], "last": self.families[-1][0]}


@dataclass
class RangeOut:
    """A worker's answer: rows to insert (in the driver's form, see ``inserts``) and what to count."""

    new_items: list[tuple] = field(default_factory=list)  # ITEM_COLUMNS
    repeated: list[str] = field(default_factory=list)
    outbox: list[tuple] = field(default_factory=list)  # OUTBOX_COLUMNS
    counts: Counter = field(default_factory=Counter)
    families: int = 0
    with_items: int = 0
    messages: int = 0
    samples: list[str] = field(default_factory=list)


def slot_time(day: date, hour: int, zone: str) -> datetime:
    """``hour``:00 local on ``day`` as an aware UTC datetime."""
    return datetime.combine(day, time(hour), ZoneInfo(zone)).astimezone(UTC)


# -- the worker side: read a range, decide, shape rows ---------------------------------------------

ITEM_COLUMNS = ("key", "family_id", "person_id", "kind", "subject", "due_on", "times", "last_planned_on", "created_at")
OUTBOX_COLUMNS = ("key", "identity_id", "channel", "address", "kind", "timezone", "body", "state", "not_before",
                  "expires_at", "attempts", "created_at")

_WORKER: dict = {}


def init_worker(policy: ReminderPolicy, care_overrides: dict, url: str) -> None:
    """Prepares a process to plan ranges: the policy, the district's schedule, the database's URL."""
    from care.rules_file import apply_overrides

    _WORKER.clear()
    _WORKER.update(policy=policy, schedule=apply_overrides(care_overrides), url=url)
    _WORKER["items"], _WORKER["outbox"] = inserts(make_url(url).get_dialect()())


def inserts(dialect) -> tuple[InsertIgnoreMany, InsertIgnoreMany]:
    """The inserts of the plan's rows for ``dialect``: the reminder items and the outbox rows."""
    return (InsertIgnoreMany(ReminderItem.__table__, ITEM_COLUMNS, dialect),
            InsertIgnoreMany(Outbox.__table__, OUTBOX_COLUMNS, dialect))


def _worker_rows(params: dict) -> list[list[tuple]]:
    """The rows of ``RANGE_READS`` with ``params``, in one read transaction of this worker process.

    SQLite is read through a synchronous engine on the same file (the project's settings, a deferred
    transaction): the async engine's hops to aiosqlite's thread cost more than the reading. PostgreSQL
    is read through the project's async engine on this worker's own loop (asyncpg has no synchronous
    form).
    """
    url = _WORKER["url"]
    if "engine" not in _WORKER:
        engine = sqlite_sync_engine(url) if url.startswith("sqlite") else None
        _WORKER["engine"] = engine.execution_options(sqlite_begin="DEFERRED") if engine is not None else None
    if _WORKER["engine"] is not None:
        with _WORKER["engine"].begin() as conn:
            return [list(map(tuple, conn.execute(statement, params))) for statement in RANGE_READS]
    if "loop" not in _WORKER:
        _WORKER["loop"] = asyncio.new_event_loop()
        _WORKER["db"] = Database(url)
    return _WORKER["loop"].run_until_complete(_read_rows(_WORKER["db"], params))


async def _read_rows(db: Database, params: dict) -> list[list[tuple]]:
    """The rows of ``RANGE_READS`` with ``params`` through the async engine, in one read transaction."""
    async with db.read() as session:
        conn = await session.connection()
        return [list(map(tuple, await conn.execute(statement, params))) for statement in RANGE_READS]


def range_data(ident_rows, record_rows, person_rows, seen_rows) -> dict:
    """The rows of a range shaped for the rules (only the records the rules read: see RULE_CODES)."""
    identities = defaultdict(list)
    for iid, fid, channel, address, lang, slot in ident_rows:
        identities[fid].append((iid, channel, address, lang, slot))
    records = build_many(record_rows)
    people = defaultdict(list)
    for pid, fid, name, sex, birth, hpht, delivered in person_rows:
        h = records.get(pid, EMPTY)
        people[fid].append(Member(pid, name, sex, birth, hpht, delivered, h.given, h.services, h.approximate))
    seen = {key: Seen(times, last_planned) for key, times, last_planned in seen_rows}
    return {"identities": identities, "people": people, "seen": seen}


def plan_range(job: RangeJob) -> RangeOut:
    """A worker's task: reads one range of families and decides it.

    Python's cyclic collector is off meanwhile: a range's rows, members and items are a few hundred
    thousand live objects, none in a cycle, that it would walk again and again (most of a worker's time,
    bench/RESULTS.md); what the range leaves is freed by reference counts as it returns, and the collector
    runs again between ranges.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return decide_range(job, range_data(*_worker_rows(job.bounds)))
    finally:
        if enabled:
            gc.enable()


def decide_range(job: RangeJob, data: dict) -> RangeOut:
    """Decides the items and texts of one range of families and shapes the rows to insert."""
    policy, schedule = _WORKER["policy"], _WORKER["schedule"]
    seen = data["seen"]
    day, (morning, afternoon, quiet_start) = job.day, job.slots
    out = RangeOut(families=len(job.families))
    created = job.created_at
    slot_cache: dict[tuple[str, int], datetime] = {}

    def at(zone: str, hour: int) -> datetime:
        key = (zone, hour)
        if key not in slot_cache:
            slot_cache[key] = slot_time(day, hour, zone)
        return slot_cache[key]

    for family_id, family_name, posyandu_id in job.families:
        identities = data["identities"].get(family_id)
        if not identities:
            continue
        post = job.posyandu[posyandu_id]
        items = family_items(day, family_id, data["people"].get(family_id, ()), post.session_day, seen, policy, schedule)
        if not items:
            continue
        out.with_items += 1
        out.counts.update(item.kind for item in items)
        for item in items:
            key = item.key(family_id)
            if key in seen:
                out.repeated.append(key)
            else:
                out.new_items.append((key, family_id, item.person_id, item.kind, item.subject, item.due_on, 1, day, created))
        summary = [[i.kind, i.subject, i.person_name] for i in items]
        texts: dict[str, str] = {}
        for identity_id, channel, address, lang, slot in identities:
            if lang not in texts:
                texts[lang] = daily_text(family_name, post.name, items, day, lang)
            body = {"text": texts[lang], "lang": lang, "items": summary}
            hour = afternoon if slot == "afternoon" else morning
            out.outbox.append(
                (f"daily:{identity_id}:{day.isoformat()}", identity_id, channel, address, "daily", post.zone,
                 body, "pending",
                 at(post.zone, hour), at(post.zone, quiet_start), 0, created)
            )
            out.messages += 1
            if len(out.samples) < SAMPLES:
                out.samples.append(texts[lang])
    out.new_items = _WORKER["items"].shape(out.new_items)
    out.outbox = _WORKER["outbox"].shape(out.outbox)
    return out


# -- the main side: ranges out, rows in ---------------------------------------------------------------

class Planner:
    """Plans days into the outbox; built once with the database and the configuration."""

    def __init__(self, db: Database, settings, *, schedule=None, clock=None, workers: int | None = None) -> None:
        self.db = db
        self.settings = settings
        self.policy = policy_from(settings)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.workers = workers if workers is not None else int(os.environ.get("ILPBOT_PLANNER_WORKERS", "0") or 0)
        self.care_overrides = {"je": settings.care.je, **settings.care.overrides}
        self.items, self.outbox = inserts(db.write_engine.dialect)

    async def plan_day(self, day: date, *, zones: Iterable[str] | None = None, dry_run: bool = False, chunk: int = CHUNK) -> PlanResult:
        """Plans ``day`` (a local date) for the families in ``zones`` (all when None)."""
        result = PlanResult(day=day, dry_run=dry_run)
        async with self.db.read() as session:
            posyandu, puskesmas = await self._posyandu(session, day, set(zones) if zones is not None else None)
            families = await self._families(session, puskesmas if zones is not None else None) if posyandu else []
        if not families:
            return result
        r = self.settings.reminders
        slots = (r.morning_hour, r.afternoon_hour, r.quiet_start)
        now = self.clock()
        jobs = [RangeJob(day, families[i:i + chunk], posyandu, slots, now) for i in range(0, len(families), chunk)]
        args = (self.policy, self.care_overrides, self.db.url)
        if self.workers <= 1:
            init_worker(*args)
            for job in jobs:
                data = range_data(*await _read_rows(self.db, job.bounds))
                await self._take(decide_range(job, data), result, day, dry_run)
            return result
        # forkserver, not fork: the bot has threads (database, stdin) that a forked child would inherit mid-lock
        executor = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("forkserver"), initializer=init_worker, initargs=args,
        )
        loop = asyncio.get_running_loop()
        try:
            pending: deque = deque()
            for job in jobs:
                pending.append(loop.run_in_executor(executor, plan_range, job))
                while len(pending) > 2 * self.workers:
                    await self._take(await pending.popleft(), result, day, dry_run)
            while pending:
                await self._take(await pending.popleft(), result, day, dry_run)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        return result

    async def _take(self, out: RangeOut, result: PlanResult, day: date, dry_run: bool) -> None:
        """Counts one planned range and writes its rows."""
        result.families += out.families
        result.families_with_items += out.with_items
        result.messages += out.messages
        result.items.update(out.counts)
        result.samples.extend(out.samples[: SAMPLES - len(result.samples)])
        if not dry_run and (out.new_items or out.outbox or out.repeated):
            await self._write(day, out)

    async def _posyandu(self, session, day: date, zones: set[str] | None) -> tuple[dict[int, PosyanduPlan], set[int]]:
        """The posyandu to plan, with each one's zone and next session on or after ``day``, and the
        puskesmas they belong to (a zone is a puskesmas's: its posyandu are chosen together)."""
        rows = (await session.execute(select(Posyandu, Puskesmas.code, Puskesmas.timezone).join(Puskesmas))).all()
        chosen = [(p, zone_of(self.settings, code, stored)) for p, code, stored in rows]
        chosen = [(p, zone) for p, zone in chosen if zones is None or zone in zones]
        changes = await posyandu_changes(session, [p.id for p, _zone in chosen])
        found = {}
        for p, zone in chosen:
            session_day = next_day_of(p, day, changes[p.id])
            found[p.id] = PosyanduPlan(p.id, p.name, zone, session_day.day if session_day else None)
        return found, {p.puskesmas_id for p, _zone in chosen}

    async def _families(self, session, puskesmas: set[int] | None) -> list[tuple[int, str, int]]:
        """Every registered family of the posyandu of ``puskesmas`` (all when None), by ascending id."""
        statement = select(Family.id, Family.name, Family.posyandu_id).where(Family.registered_at.is_not(None))
        if puskesmas is not None:
            statement = statement.where(
                Family.posyandu_id.in_(select(Posyandu.id).where(Posyandu.puskesmas_id.in_(sorted(puskesmas))))
            )
        conn = await session.connection()
        return [tuple(r) for r in await conn.execute(statement.order_by(Family.id))]

    async def _write(self, day: date, out: RangeOut) -> None:
        """Inserts a range's items and outbox rows and counts the repeated items, in one transaction."""
        async with self.db.write() as session:
            await self.items.insert(session, out.new_items)
            await self.outbox.insert(session, out.outbox)
            for start in range(0, len(out.repeated), 500):
                await core_execute(session, REPEAT, {"keys": out.repeated[start:start + 500], "day": day})


async def outbox_status(db: Database) -> list[tuple[str, str, int]]:
    """(channel, state, count) of every outbox row."""
    async with db.read() as session:
        rows = await session.execute(
            select(Outbox.channel, Outbox.state, func.count()).group_by(Outbox.channel, Outbox.state).order_by(Outbox.channel, Outbox.state)
        )
        return [tuple(r) for r in rows.all()]
