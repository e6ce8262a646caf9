"""The timers' jobs: the start-up catch-up plans today, and tries again when planning fails; the dispatcher's
loop repeats no log line during a long dispatch or an outage, and stops without a traceback."""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from db.models import Outbox
from reminders.dispatcher import Dispatcher
from reminders.scheduler import ReminderJobs


class FlakyPlanner:
    """Fails the first ``failures`` calls, then records the zones it planned."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.planned: list[str] = []

    async def plan_day(self, day, zones):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("worker process lost")
        self.planned += zones
        return type("Result", (), {"messages": 0, "families_with_items": 0})()


async def test_catch_up_plans_every_zone_past_its_hour_and_retries_a_failure(demo_db, settings):
    def clock() -> datetime:
        return datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 WIB, 10:00 WITA: past 06:00 everywhere

    planner = FlakyPlanner(failures=2)
    jobs = ReminderJobs(demo_db, settings, planner, dispatcher=None, clock=clock)
    assert await jobs.catch_up(retry_after=0, tries=3)
    assert sorted(planner.planned) == ["Asia/Jakarta", "Asia/Makassar"]


async def test_catch_up_gives_up_after_its_tries(demo_db, settings):
    planner = FlakyPlanner(failures=5)
    jobs = ReminderJobs(demo_db, settings, planner, dispatcher=None, clock=lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    assert not await jobs.catch_up(retry_after=0, tries=2)
    assert planner.planned == []


async def test_planner_runs_and_their_duration_are_counted_for_the_metrics(demo_db, settings):
    from metrics import Metrics

    metrics = Metrics()
    planner = FlakyPlanner(failures=1)
    jobs = ReminderJobs(demo_db, settings, planner, dispatcher=None, metrics=metrics,
                        clock=lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    assert await jobs.catch_up(retry_after=0, tries=2)
    assert metrics.planner_runs.labels("failed")._value.get() == 1
    assert metrics.planner_runs.labels("ok")._value.get() == len(planner.planned) == 2
    count = next(s.value for s in next(iter(metrics.planner_seconds.collect())).samples if s.name.endswith("_count"))
    assert count == 3


# ------------------------------------------------------------------ the dispatcher's loop


def _dispatching_settings(settings, every: float = 0.05):
    """Reminders switched on, the dispatcher woken every ``every`` seconds."""
    return replace(settings, reminders=replace(settings.reminders, enabled=True, dispatch_every=every))


async def _rows(db, count: int) -> list[int]:
    from tests.reminders.test_dispatcher import add_identity, add_row

    return [await add_row(db, await add_identity(db)) for _ in range(count)]


async def _shut_down(scheduler: AsyncIOScheduler) -> None:
    """What bot.py does on SIGTERM: shuts the scheduler down; then asyncio.run cancels every task left."""
    if scheduler.running:
        scheduler.shutdown(wait=False)
    await asyncio.sleep(0)
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)


async def _unsettled(db) -> int:
    async with db.read() as session:
        return len((await session.scalars(select(Outbox.id).where(Outbox.state == "sending"))).all())


class _StuckDatabase:
    """The dispatcher's view of a database whose every write hangs (a claim that never returns)."""

    def __init__(self, db) -> None:
        self.is_sqlite = db.is_sqlite
        self.entered = asyncio.Event()

    @asynccontextmanager
    async def write(self):
        self.entered.set()
        await asyncio.Event().wait()
        yield None


class _RefusedDatabase:
    """Every write is refused, as when PostgreSQL is down."""

    def __init__(self, db) -> None:
        self.is_sqlite = db.is_sqlite
        self.tries = 0

    @asynccontextmanager
    async def write(self):
        self.tries += 1
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        yield None


async def test_a_long_dispatch_repeats_no_log_line(demo_db, settings, clock, caplog):
    caplog.set_level(logging.INFO)
    await _rows(demo_db, 6)
    sends: list[str] = []

    async def slow(address: str, reply) -> str:  # each send takes longer than the dispatch interval
        await asyncio.sleep(0.1)
        sends.append(address)
        return str(len(sends))

    dispatcher = Dispatcher(demo_db, {"telegram": slow}, clock=clock, rates={"telegram": None}, per_chat_interval=0.0,
                            concurrency=1)
    jobs = ReminderJobs(demo_db, _dispatching_settings(settings), FlakyPlanner(0), dispatcher, clock=clock)
    scheduler = AsyncIOScheduler(timezone=UTC)
    await jobs.install(scheduler)
    scheduler.start()
    caplog.clear()  # the lines of the setup (one per job added) are not the dispatch's
    try:
        for _ in range(200):
            if len(sends) == 6 and not await _unsettled(demo_db):
                break
            await asyncio.sleep(0.05)
    finally:
        await _shut_down(scheduler)

    assert len(sends) == 6
    lines = Counter(r.getMessage() for r in caplog.records)
    assert not [line for line in lines if "maximum number of running instances" in line], lines
    assert max(lines.values(), default=0) <= 1, lines


async def test_a_stop_in_the_middle_of_a_claim_logs_no_traceback(demo_db, settings, clock, caplog):
    caplog.set_level(logging.INFO)
    stuck = _StuckDatabase(demo_db)
    dispatcher = Dispatcher(stuck, {"telegram": lambda address, reply: None}, clock=clock)
    jobs = ReminderJobs(demo_db, _dispatching_settings(settings), FlakyPlanner(0), dispatcher, clock=clock)
    scheduler = AsyncIOScheduler(timezone=UTC)
    await jobs.install(scheduler)
    scheduler.start()
    await asyncio.wait_for(stuck.entered.wait(), 30)  # the dispatcher is claiming

    await _shut_down(scheduler)  # SIGTERM

    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], \
        [(r.name, r.getMessage()) for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_stop_hands_claimed_rows_back_and_records_the_send_in_flight(demo_db, settings, clock, caplog):
    caplog.set_level(logging.INFO)
    rows = await _rows(demo_db, 3)
    started, release = asyncio.Event(), asyncio.Event()
    sends: list[str] = []

    async def held(address: str, reply) -> str:
        sends.append(address)
        started.set()
        await release.wait()
        return "777"

    dispatcher = Dispatcher(demo_db, {"telegram": held}, clock=clock, rates={"telegram": None}, per_chat_interval=0.0,
                            concurrency=1)
    jobs = ReminderJobs(demo_db, _dispatching_settings(settings), FlakyPlanner(0), dispatcher, clock=clock)
    scheduler = AsyncIOScheduler(timezone=UTC)
    await jobs.install(scheduler)
    scheduler.start()
    await asyncio.wait_for(started.wait(), 30)
    scheduler.shutdown(wait=False)  # SIGTERM while the first send is in flight
    release.set()
    for _ in range(200):  # bot.py closes the channels meanwhile (they take a moment)
        if not await _unsettled(demo_db):
            break
        await asyncio.sleep(0.01)
    await _shut_down(scheduler)

    async with demo_db.read() as session:
        got = {r.id: (r.state, r.attempts) for r in (await session.scalars(select(Outbox).where(Outbox.id.in_(rows)))).all()}
    assert len(sends) == 1
    assert sorted(got.values()) == [("pending", 0), ("pending", 0), ("sent", 1)]  # the others go out at the next start
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_database_that_stays_down_is_logged_once_not_every_round(demo_db, clock, caplog):
    caplog.set_level(logging.INFO, logger="reminders")
    down = _RefusedDatabase(demo_db)
    dispatcher = Dispatcher(down, {"telegram": lambda address, reply: None}, clock=clock, idle_seconds=0.001)
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run(stop))
    for _ in range(2000):
        if down.tries >= 20:
            break
        await asyncio.sleep(0.005)
    stop.set()
    await loop

    assert down.tries >= 20
    failures = [r.getMessage() for r in caplog.records if "dispatch" in r.getMessage()]
    assert failures == ["outbox dispatch round failed: ConnectionRefusedError"]
