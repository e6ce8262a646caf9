"""The daily plan: for one local date, every consenting family's reminder goes into the outbox.

Per time zone, once a day (APScheduler only wakes it): families are read in chunks of consecutive ids;
the pure rules of ``reminders.rules`` decide each family's items (in worker processes, so that a
district of a million people plans in about a minute on two cores); the items are recorded
(``reminder_item``, one row per item key) and one outbox row per reachable chat is written under the key
``daily:<identity>:<date>``. Planning the same day twice adds nothing. The dispatcher sends what is due.
"""
from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, text, update

from db.database import Database
from db.models import Outbox, Posyandu, Puskesmas, ReminderItem
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
class PosyanduPlan:
    """What the plan needs of one posyandu."""

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


def slot_time(day: date, hour: int, zone: str) -> datetime:
    """``hour``:00 local on ``day`` as an aware UTC datetime."""
    return datetime.combine(day, time(hour), ZoneInfo(zone)).astimezone(UTC)


def _date(value) -> date | None:
    """A date from the database driver (SQLite hands back text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


# -- deciding (runs in worker processes) ---------------------------------------------------------

_WORKER: dict = {}


def init_decider(policy: ReminderPolicy, care_overrides: dict) -> None:
    """Prepares a process to decide chunks: the policy and the district's care schedule."""
    from care.schedule import apply_overrides

    _WORKER["policy"] = policy
    _WORKER["schedule"] = apply_overrides(care_overrides)


def decide_chunk(day: date, chunk: dict, posyandu: dict[int, PosyanduPlan]) -> tuple[list, Counter, int, int, list[str]]:
    """Items and texts of one chunk: (plans, item counts, families seen, families with items, samples)."""
    policy, schedule = _WORKER["policy"], _WORKER["schedule"]
    plans, counts, samples = [], Counter(), []
    with_items = 0
    seen = chunk["seen"]
    for family_id, family_name, posyandu_id in chunk["families"]:
        identities = chunk["identities"].get(family_id)
        if not identities:
            continue
        post = posyandu[posyandu_id]
        items = family_items(day, family_id, chunk["people"].get(family_id, ()), post.session_day, seen, policy, schedule)
        if not items:
            continue
        with_items += 1
        counts.update(item.kind for item in items)
        texts = {}
        messages = []
        for identity in identities:
            lang = identity[3]
            if lang not in texts:
                texts[lang] = daily_text(family_name, post.name, items, day, lang)
            messages.append((identity, texts[lang]))
            if len(samples) < SAMPLES:
                samples.append(texts[lang])
        plans.append((family_id, post.zone, items, messages, [item.key(family_id) in seen for item in items]))
    return plans, counts, len(chunk["families"]), with_items, samples


class _InProcess(Executor):
    """Runs the decider in this process (tests, dry runs of a small district)."""

    def submit(self, fn, /, *args, **kwargs):
        from concurrent.futures import Future

        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
            future.set_exception(exc)
        return future


# -- the planner ----------------------------------------------------------------------------------

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
        if not posyandu:
            return result
        executor = self._executor()
        loop = asyncio.get_running_loop()
        decisions: deque = deque()
        writing: asyncio.Task | None = None
        try:
            async for data in self._chunks(posyandu, chunk):
                decisions.append(loop.run_in_executor(executor, decide_chunk, day, data, posyandu))
                while len(decisions) > max(1, self.workers):
                    writing = await self._take(decisions.popleft(), result, day, dry_run, writing)
            while decisions:
                writing = await self._take(decisions.popleft(), result, day, dry_run, writing)
            if writing is not None:
                await writing
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        return result

    def _executor(self) -> Executor:
        """Worker processes when configured (``workers`` > 1), else this process."""
        if self.workers > 1:
            # forkserver, not fork: the bot has threads (database, stdin) that a forked child would inherit mid-lock
            return ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("forkserver"),
                initializer=init_decider, initargs=(self.policy, self.care_overrides),
            )
        init_decider(self.policy, self.care_overrides)
        return _InProcess()

    async def _take(self, decision, result: PlanResult, day: date, dry_run: bool, writing):
        """Counts one decided chunk and starts writing it once the previous write is done."""
        plans, counts, families, with_items, samples = await decision
        result.families += families
        result.families_with_items += with_items
        result.items.update(counts)
        result.messages += sum(len(p[3]) for p in plans)
        result.samples.extend(samples[: SAMPLES - len(result.samples)])
        if writing is not None:
            await writing
        if plans and not dry_run:
            return asyncio.create_task(self._write(day, plans))
        return None

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

    async def _chunks(self, posyandu: dict[int, PosyanduPlan], size: int):
        """Chunks of consecutive registered families with their chats, members, doses and seen items."""
        last_id = 0
        wanted = set(posyandu)
        while True:
            async with self.db.read() as session:
                conn = await session.connection()
                rows = (await conn.execute(
                    text("SELECT id, name, posyandu_id FROM family WHERE id > :last AND registered_at IS NOT NULL ORDER BY id LIMIT :n"),
                    {"last": last_id, "n": size},
                )).all()
                if not rows:
                    return
                first, last_id = rows[0][0], rows[-1][0]
                families = [tuple(r) for r in rows if r[2] in wanted]
                if families:
                    yield await self._read_chunk(conn, families, first, last_id)

    async def _read_chunk(self, conn, families: list[tuple], first: int, last: int) -> dict:
        """The rows of one chunk, read by family id range (raw values, converted here)."""
        span = {"first": first, "last": last}
        identities = defaultdict(list)
        for row in await conn.execute(text(
            "SELECT id, family_id, channel, language, address, reminder_slot FROM identity "
            "WHERE family_id BETWEEN :first AND :last AND consent = 'given' "
            "AND opted_out_at IS NULL AND unreachable_at IS NULL"), span):
            identities[row[1]].append((row[0], row[2], row[4], row[3], row[5]))
        given = defaultdict(dict)
        for person_id, dose, given_on in await conn.execute(text(
            "SELECT i.person_id, i.dose, i.given_on FROM immunization i JOIN person p ON p.id = i.person_id "
            "WHERE p.family_id BETWEEN :first AND :last ORDER BY i.given_on"), span):
            given[person_id][dose] = _date(given_on)
        people = defaultdict(list)
        for pid, fid, name, sex, birth, hpht, delivered in await conn.execute(text(
            "SELECT id, family_id, name, sex, birth_date, hpht, delivered_on FROM person "
            "WHERE family_id BETWEEN :first AND :last ORDER BY id"), span):
            people[fid].append(Member(pid, name, sex, _date(birth), _date(hpht), _date(delivered), given.get(pid, {})))
        seen = {}
        for key, times, last_planned in await conn.execute(text(
            "SELECT key, times, last_planned_on FROM reminder_item WHERE family_id BETWEEN :first AND :last"), span):
            seen[key] = Seen(times, _date(last_planned))
        return {"families": families, "identities": dict(identities), "people": dict(people), "seen": seen}

    async def _write(self, day: date, plans) -> None:
        """Records the items and writes the outbox rows of a chunk in one transaction."""
        now = self.clock()
        r = self.settings.reminders
        new_items, repeated, outbox_rows = [], [], []
        for family_id, zone, items, messages, known in plans:
            for item, was_seen in zip(items, known):
                key = item.key(family_id)
                if was_seen:
                    repeated.append(key)
                else:
                    new_items.append((key, family_id, item.person_id, item.kind, item.subject, item.due_on, 1, day, now))
            for (identity_id, channel, address, lang, slot), body_text in messages:
                hour = r.afternoon_hour if slot == "afternoon" else r.morning_hour
                body = {"text": body_text, "lang": lang, "items": [[i.kind, i.subject, i.person_name] for i in items]}
                outbox_rows.append(
                    (f"daily:{identity_id}:{day.isoformat()}", identity_id, channel, address, "daily", zone, body,
                     "pending", slot_time(day, hour, zone), slot_time(day, r.quiet_start, zone), 0, now)
                )
        async with self.db.write() as session:
            if self.db.is_sqlite:
                await self._write_sqlite(session, new_items, outbox_rows)
            else:
                await self._write_core(session, new_items, outbox_rows)
            for start in range(0, len(repeated), 500):
                await session.execute(
                    update(ReminderItem)
                    .where(ReminderItem.key.in_(bindparam("keys", expanding=True)), ReminderItem.last_planned_on < day)
                    .values(times=ReminderItem.times + 1, last_planned_on=day),
                    {"keys": repeated[start:start + 500]},
                )

    async def _write_sqlite(self, session, new_items: list[tuple], outbox_rows: list[tuple]) -> None:
        """SQLite: plain executemany with values already in SQLite's storage formats."""
        conn = await session.connection()
        if new_items:
            await conn.exec_driver_sql(
                "INSERT OR IGNORE INTO reminder_item (key, family_id, person_id, kind, subject, due_on, times, last_planned_on, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(k, f, p, kind, s, d.isoformat(), t, lp.isoformat(), _sqlite_ts(c)) for k, f, p, kind, s, d, t, lp, c in new_items],
            )
        if outbox_rows:
            await conn.exec_driver_sql(
                "INSERT OR IGNORE INTO outbox (key, identity_id, channel, address, kind, timezone, body, state, not_before, expires_at, attempts, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(k, i, ch, a, kind, z, json.dumps(b, ensure_ascii=False), st, _sqlite_ts(nb), _sqlite_ts(ex), at, _sqlite_ts(c))
                 for k, i, ch, a, kind, z, b, st, nb, ex, at, c in outbox_rows],
            )

    async def _write_core(self, session, new_items: list[tuple], outbox_rows: list[tuple]) -> None:
        """PostgreSQL: Core INSERT ... ON CONFLICT DO NOTHING, executemany."""
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        item_cols = ("key", "family_id", "person_id", "kind", "subject", "due_on", "times", "last_planned_on", "created_at")
        outbox_cols = ("key", "identity_id", "channel", "address", "kind", "timezone", "body", "state", "not_before", "expires_at", "attempts", "created_at")
        if new_items:
            await session.execute(pg_insert(ReminderItem.__table__).on_conflict_do_nothing(), [dict(zip(item_cols, row)) for row in new_items])
        if outbox_rows:
            await session.execute(pg_insert(Outbox.__table__).on_conflict_do_nothing(), [dict(zip(outbox_cols, row)) for row in outbox_rows])


def _sqlite_ts(value: datetime | None) -> str | None:
    """A UTC datetime in the text form SQLAlchemy stores in SQLite (naive, microseconds)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


async def outbox_status(db: Database) -> list[tuple[str, str, int]]:
    """(channel, state, count) of every outbox row."""
    async with db.read() as session:
        rows = await session.execute(
            select(Outbox.channel, Outbox.state, func.count()).group_by(Outbox.channel, Outbox.state).order_by(Outbox.channel, Outbox.state)
        )
        return [tuple(r) for r in rows.all()]


__all__ = ["Planner", "PlanResult", "PosyanduPlan", "outbox_status", "slot_time", "decide_chunk", "init_decider"]
