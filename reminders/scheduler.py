"""The timers: APScheduler wakes the planner once a day per time zone and the dispatcher every few
seconds. It keeps nothing that matters: the database is the truth, and a restart plans today again
(adding nothing that is already planned) and sends whatever is due."""
from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import delete, select

from db.models import InboundMessage, Puskesmas
from reminders.delivery import reconcile
from reminders.planner import Planner, zone_of

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

    def __init__(self, db, settings, planner: Planner, dispatcher, *, clock=None) -> None:
        self.db = db
        self.settings = settings
        self.planner = planner
        self.dispatcher = dispatcher
        self.clock = clock or (lambda: datetime.now(UTC))

    async def plan_zone(self, zone: str) -> None:
        """Plans today (the zone's local date) for the families of that zone."""
        day = self.clock().astimezone(ZoneInfo(zone)).date()
        result = await self.planner.plan_day(day, zones=[zone])
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
        """Sends what is due, batch after batch, until nothing is left (the next tick comes back)."""
        while (await self.dispatcher.run_once()).claimed:
            pass

    async def prune(self) -> None:
        """Forgets inbound message ids older than a week."""
        async with self.db.write() as session:
            await session.execute(delete(InboundMessage).where(InboundMessage.received_at < self.clock() - INBOUND_KEEP))

    async def reconcile_statuses(self) -> None:
        """Applies delivery statuses that arrived before their message id was recorded."""
        await reconcile(self.db, self.clock())

    async def install(self, scheduler: AsyncIOScheduler) -> None:
        """Adds the jobs: planning per zone at the configured local hour, dispatch, pruning."""
        r = self.settings.reminders
        for zone in await planning_zones(self.db, self.settings):
            scheduler.add_job(
                self.plan_zone, CronTrigger(hour=r.plan_hour, minute=0, timezone=ZoneInfo(zone)), args=[zone],
                id=f"plan:{zone}", coalesce=True, max_instances=1, misfire_grace_time=6 * 3600, replace_existing=True,
            )
        scheduler.add_job(
            self.dispatch, IntervalTrigger(seconds=r.dispatch_every), id="dispatch",
            coalesce=True, max_instances=1, replace_existing=True,
        )
        scheduler.add_job(self.prune, CronTrigger(hour=3, minute=30, timezone=UTC), id="prune", replace_existing=True)
        scheduler.add_job(
            self.reconcile_statuses, IntervalTrigger(seconds=30), id="statuses", coalesce=True, max_instances=1, replace_existing=True,
        )
        from reminders.retention import RetentionJob  # privacy.retention_days: old message texts become counts

        scheduler.add_job(RetentionJob(self.db, self.settings, self.clock).run, CronTrigger(hour=3, minute=45, timezone=UTC),
                          id="retention", coalesce=True, max_instances=1, replace_existing=True)
