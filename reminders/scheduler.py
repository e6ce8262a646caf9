"""The timers: APScheduler wakes the planner once a day per time zone; the dispatcher runs as its own
loop (a task started by :meth:`ReminderJobs.install`). It keeps nothing that matters: the database is
the truth, and a restart plans today again (adding nothing that is already planned) and sends whatever
is due.

Why the dispatcher is not an APScheduler interval job: one dispatch can take minutes (20,000 reminders
at 30/s), and an interval job that is still running makes APScheduler log "maximum number of running
instances reached" at every tick; its executor also logs any exception with a traceback, including the
``CancelledError`` its own ``shutdown`` causes when a SIGTERM stops a dispatch in the middle of a claim.
The loop sends, sleeps ``dispatch_every`` when nothing is due, logs a failing database once (and then at
most once a minute), and stops when the scheduler shuts down: claimed rows are handed back unsent, sends
in flight are recorded, and a cancellation ends it quietly."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, select

from config import zone_of
from db.models import InboundMessage, Puskesmas
from reminders.delivery import reconcile
from reminders.planner import Planner
from reminders.retention import RetentionJob
from metrics import METRICS, Metrics

log = logging.getLogger(__name__)

#: Inbound message ids are kept this long to answer a redelivered message once.
INBOUND_KEEP = timedelta(days=7)


async def planning_zones(db, settings) -> list[str]:
    """The time zones of every puskesmas (configuration overrides applied)."""
    async with db.read() as session:
        rows = (await session.execute(select(Puskesmas.code, Puskesmas.timezone))).all()
    return sorted({zone_of(settings, code, stored) for code, stored in rows} or {settings.timezone.default})


class ReminderJobs:
    """What the timers call; each job finds what is due in the database, commits, then sends."""

    def __init__(self, db, settings, planner: Planner, dispatcher, *, clock=None, metrics: Metrics = METRICS) -> None:
        self.db = db
        #: planner runs and their duration (``/metrics``)
        self.metrics = metrics
        self.settings = settings
        self.planner = planner
        self.dispatcher = dispatcher
        self.clock = clock or (lambda: datetime.now(UTC))
        self.stopping = asyncio.Event()
        self.dispatching: asyncio.Task | None = None  # the dispatcher's loop, once installed

    async def plan_zone(self, zone: str) -> None:
        """Plans today (the zone's local date) for the families of that zone."""
        day = self.clock().astimezone(ZoneInfo(zone)).date()
        started = time.perf_counter()
        try:
            result = await self.planner.plan_day(day, zones=[zone])
        except Exception:
            self.metrics.planner_runs.labels("failed").inc()
            raise
        finally:
            self.metrics.planner_seconds.observe(time.perf_counter() - started)
        self.metrics.planner_runs.labels("ok").inc()
        log.info("planned %s %s: %d messages for %d families", zone, day, result.messages, result.families_with_items)

    async def catch_up(self, *, retry_after: float = 300.0, tries: int = 5) -> bool:
        """At start: plans today for every zone whose planning hour has passed (idempotent).

        A failure (database down, a worker process lost) is logged and tried again after
        ``retry_after`` seconds, ``tries`` times in all; returns whether it succeeded.
        """
        for attempt in range(1, tries + 1):
            try:
                for zone in await planning_zones(self.db, self.settings):
                    if self.clock().astimezone(ZoneInfo(zone)).hour >= self.settings.reminders.plan_hour:
                        await self.plan_zone(zone)
                return True
            except Exception:
                log.exception("planning today failed (attempt %d of %d)", attempt, tries)
                if attempt < tries:
                    await asyncio.sleep(retry_after)
        return False

    async def dispatch(self) -> None:
        """Sends what is due, batch after batch, until nothing is left."""
        while (await self.dispatcher.run_once()).claimed:
            pass

    def start_dispatching(self) -> asyncio.Task:
        """Starts the dispatcher's loop (until :meth:`stop`): it sleeps ``dispatch_every`` when nothing is due."""
        if self.dispatching is None or self.dispatching.done():
            self.stopping.clear()
            self.dispatching = asyncio.get_running_loop().create_task(self._dispatch_loop(), name="outbox dispatcher")
        return self.dispatching

    async def _dispatch_loop(self) -> None:
        try:
            await self.dispatcher.run(self.stopping, idle_seconds=self.settings.reminders.dispatch_every)
        except asyncio.CancelledError:  # the process stops (asyncio.run cancels what is left): no traceback
            log.info("outbox dispatcher cancelled")
            return
        except Exception as exc:  # noqa: BLE001 - Dispatcher.run handles its errors; this is the last guard
            log.error("outbox dispatcher stopped by %s", type(exc).__name__)

    def stop(self) -> None:
        """Asks the dispatcher's loop to stop: claimed rows are handed back, sends in flight recorded."""
        self.stopping.set()

    async def stopped(self, timeout: float = 10.0) -> None:
        """Stops the dispatcher's loop and waits (up to ``timeout``) for it to end; then cancels it."""
        self.stop()
        task = self.dispatching
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def prune(self) -> None:
        """Forgets inbound message ids older than a week."""
        async with self.db.write() as session:
            await session.execute(delete(InboundMessage).where(InboundMessage.received_at < self.clock() - INBOUND_KEEP))

    async def reconcile_statuses(self) -> None:
        """Applies delivery statuses that arrived before their message id was recorded."""
        await reconcile(self.db, self.clock())

    async def install(self, scheduler: AsyncIOScheduler) -> None:
        """Adds the jobs (planning per zone at the configured local hour, pruning, delivery statuses) and starts
        the dispatcher's loop, which stops when the scheduler shuts down."""
        r = self.settings.reminders
        for zone in await planning_zones(self.db, self.settings):
            scheduler.add_job(
                self.plan_zone, CronTrigger(hour=r.plan_hour, minute=0, timezone=ZoneInfo(zone)), args=[zone],
                id=f"plan:{zone}", coalesce=True, max_instances=1, misfire_grace_time=6 * 3600, replace_existing=True,
            )
        self.start_dispatching()
        scheduler.add_listener(lambda _event: self.stop(), EVENT_SCHEDULER_SHUTDOWN)
        scheduler.add_job(self.prune, CronTrigger(hour=3, minute=30, timezone=UTC), id="prune", replace_existing=True)
        scheduler.add_job(
            self.reconcile_statuses, IntervalTrigger(seconds=30), id="statuses", coalesce=True, max_instances=1, replace_existing=True,
        )
        # privacy.retention_days: old message texts become counts; privacy.outbox_keep_days: older rows go
        scheduler.add_job(RetentionJob(self.db, self.settings, self.clock).run, CronTrigger(hour=3, minute=45, timezone=UTC),
                          id="retention", coalesce=True, max_instances=1, replace_existing=True)
