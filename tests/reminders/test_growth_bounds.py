"""Growth kept in bounds (reminders.retention, privacy.outbox_keep_days): finished outbox rows and reminder items
that can never be planned again are deleted after the period, in batches; the dispatcher reads the waiting rows
from a partial index that holds only them."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select, text, update

from db.database import Database
from db.migrate import upgrade
from db.models import Identity, Outbox, Person, ReminderItem
from db.queries import query_plan
from reminders.dispatcher import Dispatcher
from reminders.planner import Planner
from reminders.retention import RetentionJob, delete_old, dose_cutoff, item_cutoff, item_gone, outbox_gone
from tests.conftest import PG_URL, _create_pg_database, _drop_pg_database
from tests.helpers import DEFAULT_NOW, make_family

NOW = DEFAULT_NOW
KEEP = 400
BODY = {"pruned": True, "chars": 40, "lang": "id"}


# -- the rules ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "age_days", "expected"), [
    ("sent", 401, True),
    ("sent", 400, False),  # exactly the period: kept until it has passed
    ("failed", 500, True), ("expired", 401, True), ("cancelled", 401, True), ("blocked", 401, True),
    ("pending", 900, False),  # still to be sent, whatever its age
    ("sending", 900, False),
])
def test_which_outbox_rows_are_deleted(state, age_days, expected):
    assert outbox_gone(state, NOW - timedelta(days=age_days), NOW, KEEP) is expected


CUT = item_cutoff(NOW, KEEP)  # 2025-10-18 for 2026-11-23
DOSE_CUT = dose_cutoff(NOW, KEEP)  # sixty months before that


@pytest.mark.parametrize(("kind", "due_on", "last", "later", "expected"), [
    ("posyandu", CUT - timedelta(days=1), CUT - timedelta(days=8), False, True),  # its session long past
    ("posyandu", CUT, CUT - timedelta(days=7), False, False),
    # a dose counts from the birth: kept while the child may still be reminded, and the period after
    ("dose", CUT - timedelta(days=30), CUT - timedelta(days=30), False, False),
    ("dose", DOSE_CUT, CUT - timedelta(days=30), False, False),
    ("dose", DOSE_CUT - timedelta(days=1), CUT - timedelta(days=30), False, True),
    # a service: only once its window moved on (a later item) and it was last planned before the period
    ("service", CUT - timedelta(days=200), CUT - timedelta(days=1), True, True),
    ("service", CUT - timedelta(days=200), CUT, True, False),  # planned too recently
    ("service", CUT - timedelta(days=200), CUT - timedelta(days=1), False, False),  # still the current window
    ("service", CUT, CUT - timedelta(days=1), True, False),
])
def test_which_reminder_items_are_deleted(kind, due_on, last, later, expected):
    assert item_gone(kind, due_on, last, later, NOW, KEEP) is expected


# -- the job ------------------------------------------------------------------------------------------

async def _identity(db, address: str = "grow-1") -> int:
    async with db.write() as session:
        identity = Identity(channel="local", address=address, language="id", role="family", consent="given",
                            consent_version="2026-11", consent_at=NOW, created_at=NOW)
        session.add(identity)
        await session.flush()
        return identity.id


async def _outbox_rows(db, identity_id: int, specs: list[tuple[str, int]], *, prefix: str = "g") -> None:
    rows = []
    for n, (state, age) in enumerate(specs):
        at = NOW - timedelta(days=age)
        rows.append({"key": f"{prefix}:{n}", "identity_id": identity_id, "channel": "local", "address": "grow-1",
                     "kind": "daily", "body": BODY, "timezone": "Asia/Makassar", "state": state, "not_before": at,
                     "attempts": 1, "created_at": at, "sent_at": at if state == "sent" else None})
    async with db.write() as session:
        await session.execute(insert(Outbox), rows)


async def test_the_job_deletes_what_is_past_the_period_in_batches_and_only_once(demo_db):
    specs = [("sent", 401), ("sent", 400), ("sent", 3), ("failed", 450), ("expired", 402), ("cancelled", 700),
             ("blocked", 401), ("pending", 800), ("sending", 800), ("sent", 399)]
    await _outbox_rows(demo_db, await _identity(demo_db), specs)
    family = await make_family(demo_db)
    async with demo_db.read() as session:
        mother, child = list(await session.scalars(select(Person.id).where(Person.family_id == family.id).order_by(Person.id)))
    items = {  # name: (person, kind, subject, due_on, last_planned_on)
        "session_old": (None, "posyandu", "before:1", CUT - timedelta(days=1), CUT - timedelta(days=2)),
        "session_edge": (None, "posyandu", "before:1", CUT, CUT - timedelta(days=1)),
        "dose_young": (child, "dose", "MR1", date(2025, 9, 14), CUT - timedelta(days=60)),
        "dose_grown": (child, "dose", "BCG", DOSE_CUT - timedelta(days=1), CUT - timedelta(days=90)),
        "vita_old": (child, "service", "VITA_MERAH", CUT - timedelta(days=180), CUT - timedelta(days=150)),
        "vita_new": (child, "service", "VITA_MERAH", CUT + timedelta(days=5), CUT + timedelta(days=5)),
        "ptm_never": (mother, "service", "SKRINING_PTM", CUT - timedelta(days=900), CUT - timedelta(days=500)),
    }
    async with demo_db.write() as session:
        await session.execute(insert(ReminderItem), [
            {"key": name, "family_id": family.id, "person_id": person, "kind": kind, "subject": subject, "due_on": due,
             "times": 3, "last_planned_on": last, "created_at": NOW} for name, (person, kind, subject, due, last) in items.items()])

    deleted = await delete_old(demo_db, NOW, KEEP, batch=2)
    assert (deleted.outbox, deleted.items) == (5, 3)
    async with demo_db.read() as session:
        left = list(await session.scalars(select(Outbox.key).order_by(Outbox.id)))
        kept_items = set(await session.scalars(select(ReminderItem.key)))
    assert left == [f"g:{n}" for n, (state, age) in enumerate(specs) if not outbox_gone(state, NOW - timedelta(days=age), NOW, KEEP)]
    assert left == ["g:1", "g:2", "g:7", "g:8", "g:9"]
    assert kept_items == {"session_edge", "dose_young", "vita_new", "ptm_never"}
    assert await delete_old(demo_db, NOW, KEEP, batch=2) == type(deleted)(0, 0)  # nothing twice
    # a day later the rows on the edge go too
    assert await delete_old(demo_db, NOW + timedelta(days=1), KEEP) == type(deleted)(1, 1)


async def test_the_daily_job_prunes_texts_then_deletes_with_the_configured_periods(demo_db, settings, clock):
    assert settings.privacy.outbox_keep_days == KEEP
    await _outbox_rows(demo_db, await _identity(demo_db), [("sent", 10), ("sent", 40), ("sent", 420)])
    async with demo_db.write() as session:  # the rows still have their text
        await session.execute(update(Outbox).values(body={"text": "Besok posyandu", "lang": "id"}))
    run = await RetentionJob(demo_db, settings, clock).run()
    assert (run.texts, run.deleted.outbox) == (2, 1)  # the text of the oldest goes first, then the row
    short = replace(settings, privacy=replace(settings.privacy, retention_days=5, outbox_keep_days=20))
    run = await RetentionJob(demo_db, short, clock).run()
    assert (run.texts, run.deleted.outbox) == (1, 1)


async def test_planning_goes_on_the_same_with_old_rows_deleted_every_day(demo_db, settings, clock):
    """The planner's dedupe reads reminder items: with a short period, deleting every day what the rule allows
    changes no message of any day (a session, a dose repeated at most max_times, vitamin A rounds, an adult's
    screening overdue for good)."""
    await make_family(demo_db, identity_address="628400",
                      members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2026, 4, 1))))
    short = replace(settings, privacy=replace(settings.privacy, retention_days=3, outbox_keep_days=10))
    planner = Planner(demo_db, short, clock=clock)

    async def year(delete: bool) -> list[tuple[date, list]]:
        async with demo_db.write() as session:
            await session.execute(ReminderItem.__table__.delete())
            await session.execute(Outbox.__table__.delete())
        clock.now = NOW
        days = []
        for offset in range(0, 160, 2):
            clock.now = NOW + timedelta(days=offset)
            await planner.plan_day(clock.now.date())
            async with demo_db.write() as session:
                body = await session.scalar(select(Outbox.body).where(Outbox.state == "pending"))
                await session.execute(update(Outbox).where(Outbox.state == "pending").values(state="sent", sent_at=clock.now))
            if body:
                days.append((clock.now.date(), body["items"]))
            if delete:
                await RetentionJob(demo_db, short, clock).run()
        async with demo_db.read() as session:
            return days, await session.scalar(select(func.count()).select_from(ReminderItem))

    kept_days, kept_items = await year(delete=False)
    pruned_days, pruned_items = await year(delete=True)
    assert len(kept_days) > 10 and {kind for _day, items in kept_days for kind, *_ in items} == {"posyandu", "dose", "service"}
    assert pruned_days == kept_days
    assert pruned_items < kept_items  # and yet the items did shrink


# -- the indexes --------------------------------------------------------------------------------------

async def test_the_claim_reads_the_waiting_rows_from_their_partial_index(demo_db, clock):
    """The dispatcher's claim (and its expiry sweep) read ``ix_outbox_waiting``, which holds only the pending
    and sending rows, on both databases, in a table of mostly finished rows; the job finds old rows by age."""
    identity = await _identity(demo_db)
    await _outbox_rows(demo_db, identity, [("sent", n % 300) for n in range(3000)], prefix="done")
    await _outbox_rows(demo_db, identity, [("pending", 0)] * 20 + [("sending", 0)] * 5, prefix="due")
    async with demo_db.write() as session:
        await session.execute(text("ANALYZE"))
    dispatcher = Dispatcher(demo_db, {"local": None, "telegram": None}, clock=clock, rates={"local": None, "telegram": 30.0})
    async with demo_db.read() as session:
        for take_over in (False, True):
            plan = await query_plan(session, dispatcher._due(clock.now, ["local", "telegram"], take_over=take_over))
            assert "ix_outbox_waiting" in plan, plan
        plan = await query_plan(session, select(func.min(Outbox.not_before)).where(Outbox.waiting(), Outbox.state == "pending"))
        assert "ix_outbox_waiting" in plan, plan
        if demo_db.is_sqlite:  # a service item's later items are read through its family's (SQLite's own choice
            # was the kind and a range of days: every later service item of the district, for each item checked)
            from reminders.retention import _later_item
            plan = await query_plan(session, select(ReminderItem.id, _later_item()).where(ReminderItem.kind == "service"))
            assert "reminder_item_1 USING INDEX ix_reminder_item_family_id" in plan, plan
    claimed = await dispatcher.claim()
    assert len(claimed) == 20  # the index changes what is read, not what is claimed (the sending rows hold a lease)


@pytest.fixture
async def empty_url(tmp_path):
    """The URL of an empty database (SQLite, or PostgreSQL when the suite runs on it)."""
    if PG_URL:
        name = f"ilpbot_grow_{uuid.uuid4().hex[:8]}"
        await _create_pg_database(PG_URL, name)
        yield f"{PG_URL.rpartition('/')[0]}/{name}"
        await _drop_pg_database(PG_URL, name)
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'grow.sqlite3'}"


async def _indexes(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.read() as session:
            if db.is_sqlite:
                rows = await session.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
            else:
                rows = await session.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"))
            return {row[0] for row in rows}
    finally:
        await db.dispose()


async def test_the_migration_adds_the_indexes_and_goes_back(empty_url):
    from alembic import command

    from db.migrate import alembic_config

    added = {"ix_outbox_waiting", "ix_outbox_created_at", "ix_reminder_item_kind_due", "ix_reminder_item_outbox_id"}
    await asyncio.to_thread(upgrade, empty_url, "0011")
    before = await _indexes(empty_url)
    assert "ix_outbox_due" in before and not added & before
    await asyncio.to_thread(upgrade, empty_url, "0012")
    after = await _indexes(empty_url)
    assert added <= after and "ix_outbox_due" not in after
    await asyncio.to_thread(command.downgrade, alembic_config(empty_url), "0011")
    assert await _indexes(empty_url) == before


async def test_a_report_counts_the_same_reminders_after_their_rows_are_deleted(demo_db):
    """/laporan and the web's coverage count the daily reminders sent and delivered: the rows deleted leave
    their counts in reminder_tally, per posyandu and day, and the report adds them."""
    from db.coverage import reminder_counts
    from db.models import Family, ReminderTally

    family = await make_family(demo_db, identity_address="628500")
    async with demo_db.write() as session:
        identity = (await session.scalars(select(Identity).where(Identity.address == "628500"))).one()
        whatsapp = Identity(channel="whatsapp", address="628501", language="id", role="family", family_id=family.id,
                            consent="given", consent_version="2026-11", consent_at=NOW, created_at=NOW)
        session.add(whatsapp)
        await session.flush()
        old = NOW - timedelta(days=430)  # 19 September 2025, 02:00 UTC
        rows = [(identity.id, "local", "daily", "sent", None, old), (identity.id, "local", "daily", "sent", None, old - timedelta(days=1)),
                (whatsapp.id, "whatsapp", "daily", "sent", "read", old), (whatsapp.id, "whatsapp", "daily", "sent", "failed", old),
                (whatsapp.id, "whatsapp", "daily", "expired", None, old), (identity.id, "local", "reply", "sent", None, old),
                (identity.id, "local", "daily", "sent", None, NOW - timedelta(days=10))]
        await session.execute(insert(Outbox), [
            {"key": f"r:{n}", "identity_id": who, "channel": channel, "address": "x", "kind": kind, "body": BODY,
             "timezone": "Asia/Makassar", "state": state, "not_before": at, "attempts": 1, "created_at": at, "delivery": delivery}
            for n, (who, channel, kind, state, delivery, at) in enumerate(rows)])

    async def counts() -> list[tuple[int, int]]:
        async with demo_db.read() as session:
            return [tuple(vars(await reminder_counts(session, family.posyandu_id, start, end)).values())
                    for start, end in ((date(2025, 9, 1), date(2025, 9, 30)), (date(2025, 9, 19), date(2025, 9, 19)),
                                       (date(2026, 11, 1), date(2026, 11, 30)))]

    before = await counts()
    assert before == [(4, 3), (3, 2), (1, 1)]
    assert (await delete_old(demo_db, NOW, KEEP, batch=2)).outbox == 6
    assert await counts() == before
    async with demo_db.read() as session:
        tallies = sorted((t.day, t.sent, t.delivered) for t in await session.scalars(select(ReminderTally)))
        posyandu = await session.scalar(select(Family.posyandu_id).where(Family.id == family.id))
    assert tallies == [(date(2025, 9, 18), 1, 1), (date(2025, 9, 19), 3, 2)] and posyandu == family.posyandu_id
