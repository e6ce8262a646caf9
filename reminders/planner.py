"""The daily plan: for one local date, every consenting family's reminder goes into the outbox.

Per time zone, once a day (APScheduler only wakes it). The families are cut into ranges of
consecutive ids; for each range a worker reads the chats, members, their care records and items already
reminded, the pure rules of ``reminders.rules`` decide the items, and the worker hands back rows ready
to insert. The main process writes them: the items (``reminder_item``, one row per item key) and one
outbox row per reachable chat under the key ``daily:<identity>:<date>``. Planning the same day twice
adds nothing. Worker processes let a district of a million people plan in about a minute on two
cores; without them (tests, small installations) the same code runs in the calling process.
"""
from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import sqlite3
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, text, update

from care.history import EMPTY, build_many
from care.labels import DOSE_LABELS
from config import zone_of
from db.database import Database
from db.history import range_sql
from db.models import Outbox, Posyandu, Puskesmas, ReminderItem
from db.queries import next_day_of, posyandu_changes
from reminders.messages import daily_text
from reminders.rules import RULE_CODES, Member, ReminderPolicy, Seen, family_items, policy_from

log = logging.getLogger(__name__)

CHUNK = 2000
SAMPLES = 3

IDENTITY_SQL = (
    "SELECT id, family_id, channel, address, language, reminder_slot FROM identity "
    "WHERE family_id BETWEEN {first} AND {last} AND consent = 'given' AND opted_out_at IS NULL AND unreachable_at IS NULL"
)
PERSON_SQL = (
    "SELECT id, family_id, name, sex, birth_date, hpht, delivered_on FROM person "
    "WHERE family_id BETWEEN {first} AND {last} ORDER BY id"
)
SEEN_SQL = "SELECT key, times, last_planned_on FROM reminder_item WHERE family_id BETWEEN {first} AND {last}"
#: only the records the rules read (weighings, for instance, change no reminder)
RECORD_SQL = range_sql(RULE_CODES | set(DOSE_LABELS))


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


@dataclass
class RangeOut:
    """A worker's answer: rows to insert and what to count."""

    new_items: list[tuple] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    outbox: list[tuple] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    families: int = 0
    with_items: int = 0
    messages: int = 0
    samples: list[str] = field(default_factory=list)


def slot_time(day: date, hour: int, zone: str) -> datetime:
    """``hour``:00 local on ``day`` as an aware UTC datetime."""
    return datetime.combine(day, time(hour), ZoneInfo(zone)).astimezone(UTC)


def _date(value) -> date | None:
    """A date from the database driver (SQLite hands back text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


def _sqlite_ts(value: datetime | None) -> str | None:
    """A UTC datetime in the text form SQLAlchemy stores in SQLite (naive, microseconds)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


# -- the worker side: read a range, decide, shape rows ---------------------------------------------

_WORKER: dict = {}


def init_worker(policy: ReminderPolicy, care_overrides: dict, url: str) -> None:
    """Prepares a process to plan ranges: the policy, the district's schedule, a database reader."""
    from care.rules_file import apply_overrides

    _WORKER.clear()
    _WORKER.update(policy=policy, schedule=apply_overrides(care_overrides), url=url, sqlite=url.startswith("sqlite"))


def _rows_sqlite(sql: str) -> list[tuple]:
    """Rows from SQLite through the standard driver (read-only, no async hops: much faster)."""
    conn = _WORKER.get("sqlite_conn")
    if conn is None:
        path = _WORKER["url"].split(":///", 1)[1]
        conn = _WORKER["sqlite_conn"] = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=10000")
    return conn.execute(sql).fetchall()


def _rows_async(sqls: list[str]) -> list[list[tuple]]:
    """Rows from PostgreSQL through the project's async engine, on this worker's own loop."""
    loop = _WORKER.get("loop")
    if loop is None:
        loop = _WORKER["loop"] = asyncio.new_event_loop()
        _WORKER["db"] = Database(_WORKER["url"])

    async def run() -> list[list[tuple]]:
        async with _WORKER["db"].read() as session:
            conn = await session.connection()
            return [[tuple(r) for r in (await conn.execute(text(sql))).all()] for sql in sqls]

    return loop.run_until_complete(run())


def range_sql(first: int, last: int) -> list[str]:
    """The four queries of a range of families."""
    return [s.format(first=int(first), last=int(last)) for s in (IDENTITY_SQL, RECORD_SQL, PERSON_SQL, SEEN_SQL)]


def read_range(first: int, last: int) -> dict:
    """Chats, members, care records and items seen for families ``first``..``last`` (in a worker)."""
    sqls = range_sql(first, last)
    rows = [_rows_sqlite(sql) for sql in sqls] if _WORKER["sqlite"] else _rows_async(sqls)
    return range_data(*rows)


def range_data(ident_rows, record_rows, person_rows, seen_rows) -> dict:
    """The rows of a range shaped for the rules (only the records the rules read: see RULE_CODES)."""
    identities = defaultdict(list)
    for iid, fid, channel, address, lang, slot in ident_rows:
        identities[fid].append((iid, channel, address, lang, slot))
    records = build_many((person_id, code, _date(done_on), precision) for person_id, code, done_on, precision in record_rows)
    people = defaultdict(list)
    for pid, fid, name, sex, birth, hpht, delivered in person_rows:
        h = records.get(pid, EMPTY)
        people[fid].append(Member(pid, name, sex, _date(birth), _date(hpht), _date(delivered), h.given, h.services,
                                  h.approximate))
    seen = {key: Seen(times, _date(last_planned)) for key, times, last_planned in seen_rows}
    return {"identities": identities, "people": people, "seen": seen}


def plan_range(job: RangeJob) -> RangeOut:
    """A worker's task: reads one range of families and decides it."""
    return decide_range(job, read_range(job.families[0][0], job.families[-1][0]))


def decide_range(job: RangeJob, data: dict) -> RangeOut:
    """Decides the items and texts of one range of families and shapes the rows to insert."""
    policy, schedule, sqlite = _WORKER["policy"], _WORKER["schedule"], _WORKER["sqlite"]
    seen = data["seen"]
    day, (morning, afternoon, quiet_start) = job.day, job.slots
    out = RangeOut(families=len(job.families))
    created = _sqlite_ts(job.created_at) if sqlite else job.created_at
    day_value = day.isoformat() if sqlite else day
    slot_cache: dict[tuple[str, int], object] = {}

    def at(zone: str, hour: int):
        key = (zone, hour)
        if key not in slot_cache:
            moment = slot_time(day, hour, zone)
            slot_cache[key] = _sqlite_ts(moment) if sqlite else moment
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
                due = item.due_on.isoformat() if sqlite else item.due_on
                out.new_items.append((key, family_id, item.person_id, item.kind, item.subject, due, 1, day_value, created))
        summary = [[i.kind, i.subject, i.person_name] for i in items]
        texts: dict[str, str] = {}
        for identity_id, channel, address, lang, slot in identities:
            if lang not in texts:
                texts[lang] = daily_text(family_name, post.name, items, day, lang)
            body = {"text": texts[lang], "lang": lang, "items": summary}
            hour = afternoon if slot == "afternoon" else morning
            out.outbox.append(
                (f"daily:{identity_id}:{day.isoformat()}", identity_id, channel, address, "daily", post.zone,
                 json.dumps(body, ensure_ascii=False) if sqlite else body, "pending",
                 at(post.zone, hour), at(post.zone, quiet_start), 0, created)
            )
            out.messages += 1
            if len(out.samples) < SAMPLES:
                out.samples.append(texts[lang])
    return out


# -- the main side: ranges out, rows in ---------------------------------------------------------------

ITEM_COLUMNS = ("key", "family_id", "person_id", "kind", "subject", "due_on", "times", "last_planned_on", "created_at")
OUTBOX_COLUMNS = ("key", "identity_id", "channel", "address", "kind", "timezone", "body", "state", "not_before",
                  "expires_at", "attempts", "created_at")


class Planner:
    """Plans days into the outbox; built once with the database and the configuration."""

    def __init__(self, db: Database, settings, *, schedule=None, clock=None, workers: int | None = None) -> None:
        self.db = db
        self.settings = settings
        self.policy = policy_from(settings)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.workers = workers if workers is not None else int(os.environ.get("ILPBOT_PLANNER_WORKERS", "0") or 0)
        self.care_overrides = {"je": settings.care.je, **settings.care.overrides}

    async def plan_day(self, day: date, *, zones: Iterable[str] | None = None, dry_run: bool = False, chunk: int = CHUNK) -> PlanResult:
        """Plans ``day`` (a local date) for the families in ``zones`` (all when None)."""
        result = PlanResult(day=day, dry_run=dry_run)
        async with self.db.read() as session:
            posyandu = await self._posyandu(session, day, set(zones) if zones is not None else None)
            families = await self._families(session, posyandu) if posyandu else []
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
                data = await self._read(job.families[0][0], job.families[-1][0])
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

    async def _read(self, first: int, last: int) -> dict:
        """A range's rows read in this process, through the async engine."""
        async with self.db.read() as session:
            conn = await session.connection()
            rows = [[tuple(r) for r in (await conn.execute(text(sql))).all()] for sql in range_sql(first, last)]
        return range_data(*rows)

    async def _take(self, out: RangeOut, result: PlanResult, day: date, dry_run: bool) -> None:
        """Counts one planned range and writes its rows."""
        result.families += out.families
        result.families_with_items += out.with_items
        result.messages += out.messages
        result.items.update(out.counts)
        result.samples.extend(out.samples[: SAMPLES - len(result.samples)])
        if not dry_run and (out.new_items or out.outbox or out.repeated):
            await self._write(day, out)

    async def _posyandu(self, session, day: date, zones: set[str] | None) -> dict[int, PosyanduPlan]:
        """The posyandu to plan, with each one's zone and next session on or after ``day``."""
        rows = (await session.execute(select(Posyandu, Puskesmas.code, Puskesmas.timezone).join(Puskesmas))).all()
        chosen = [(p, zone_of(self.settings, code, stored)) for p, code, stored in rows]
        chosen = [(p, zone) for p, zone in chosen if zones is None or zone in zones]
        changes = await posyandu_changes(session, [p.id for p, _zone in chosen])
        found = {}
        for p, zone in chosen:
            session_day = next_day_of(p, day, changes[p.id])
            found[p.id] = PosyanduPlan(p.id, p.name, zone, session_day.day if session_day else None)
        return found

    async def _families(self, session, posyandu: dict[int, PosyanduPlan]) -> list[tuple[int, str, int]]:
        """Every registered family of the chosen posyandu, by ascending id."""
        conn = await session.connection()
        rows = await conn.execute(text("SELECT id, name, posyandu_id FROM family WHERE registered_at IS NOT NULL ORDER BY id"))
        return [tuple(r) for r in rows if r[2] in posyandu]

    async def _write(self, day: date, out: RangeOut) -> None:
        """Inserts a range's items and outbox rows and counts the repeated items, in one transaction."""
        async with self.db.write() as session:
            if self.db.is_sqlite:
                conn = await session.connection()
                if out.new_items:
                    await conn.exec_driver_sql(
                        f"INSERT OR IGNORE INTO reminder_item ({', '.join(ITEM_COLUMNS)}) VALUES ({', '.join('?' * len(ITEM_COLUMNS))})",
                        out.new_items,
                    )
                if out.outbox:
                    await conn.exec_driver_sql(
                        f"INSERT OR IGNORE INTO outbox ({', '.join(OUTBOX_COLUMNS)}) VALUES ({', '.join('?' * len(OUTBOX_COLUMNS))})",
                        out.outbox,
                    )
            else:
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                if out.new_items:
                    await session.execute(pg_insert(ReminderItem.__table__).on_conflict_do_nothing(), [dict(zip(ITEM_COLUMNS, r)) for r in out.new_items])
                if out.outbox:
                    await session.execute(pg_insert(Outbox.__table__).on_conflict_do_nothing(), [dict(zip(OUTBOX_COLUMNS, r)) for r in out.outbox])
            for start in range(0, len(out.repeated), 500):
                await session.execute(
                    update(ReminderItem)
                    .where(ReminderItem.key.in_(bindparam("keys", expanding=True)), ReminderItem.last_planned_on < day)
                    .values(times=ReminderItem.times + 1, last_planned_on=day),
                    {"keys": out.repeated[start:start + 500]},
                )


async def outbox_status(db: Database) -> list[tuple[str, str, int]]:
    """(channel, state, count) of every outbox row."""
    async with db.read() as session:
        rows = await session.execute(
            select(Outbox.channel, Outbox.state, func.count()).group_by(Outbox.channel, Outbox.state).order_by(Outbox.channel, Outbox.state)
        )
        return [tuple(r) for r in rows.all()]
