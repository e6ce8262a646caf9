"""The sync inside the bot: one pass (:func:`run_pass`, the same that ``bot.py satusehat sync`` runs) every
``satusehat.every_minutes`` on the bot's APScheduler, never in a chat turn.

A pass queues what every puskesmas recorded lately (:func:`satusehat.queue.collect`: the last
:data:`RECENT` days; the first pass after a start the last :data:`AT_START` days, so what was recorded while
the bot was down is found), then sends the due items (:func:`satusehat.sync.sync_once`). One pass at a time
(``max_instances=1``, ``coalesce``): a long pass (300 requests a minute) makes the next tick wait, not run
twice. A stop (SIGTERM) ends the pass at the next item: each outcome is already committed, so the next start
continues where it stopped. The connection (and its token) lives as long as the job.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import select

from care.rules_file import apply_overrides
from config import Settings
from db.models import Puskesmas
from satusehat.client import Client
from satusehat.queue import collect
from satusehat.sync import Pass, sync_once

log = logging.getLogger(__name__)

#: what a scheduled pass queues: the rows recorded (or corrected the same days) in the last two days
RECENT = timedelta(days=2)
#: the first pass after a start looks further back
AT_START = timedelta(days=30)


async def run_pass(db, client: Client, settings: Settings, now: datetime, *, since: datetime,
                   stopped: Callable[[], bool] | None = None) -> tuple[dict[str, int], Pass]:
    """Queues what every puskesmas recorded since ``since``, then one pass: ({"new", "changed"}, the pass)."""
    queued = {"new": 0, "changed": 0}
    async with db.write() as session:
        for pid in (await session.scalars(select(Puskesmas.id).order_by(Puskesmas.id))).all():
            for k, v in (await collect(session, pid, since, now)).items():
                queued[k] += v
    schedule = apply_overrides({"je": settings.care.je, **settings.care.overrides}).immunization
    return queued, await sync_once(db, client, settings, schedule, now, stopped=stopped)


def client_of(http: aiohttp.ClientSession, settings: Settings) -> Client:
    """The SATUSEHAT client of the configured organization."""
    config = settings.satusehat
    return Client(http, auth_url=config.auth_url, base_url=config.base_url, client_id=config.client_id,
                  client_secret=config.client_secret)


class SyncJob:
    """The scheduled sync (see the module docstring); ``http`` and ``clock`` are given by tests."""

    def __init__(self, db, settings: Settings, *, http: aiohttp.ClientSession | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.db, self.settings = db, settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self._http, self._own_http = http, http is None
        self._client: Client | None = None
        self._stopping = False
        self._started = False  # whether a pass ran since the start (the first looks back AT_START)
        self.passes = 0

    async def run(self) -> Pass | None:
        """One pass (the scheduler's job); a failure is logged, never raised into the scheduler."""
        if self._stopping:
            return None
        now = self.clock()
        since = now - (RECENT if self._started else AT_START)
        try:
            if self._client is None:
                if self._http is None:
                    self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
                self._client = client_of(self._http, self.settings)
            queued, done = await run_pass(self.db, self._client, self.settings, now, since=since,
                                          stopped=lambda: self._stopping)
        except asyncio.CancelledError:
            log.info("satusehat: the pass was cut by the stop")
            raise
        except Exception as exc:  # noqa: BLE001 - a database outage must not end the schedule
            log.error("satusehat: the pass failed (%s); the next one tries again", type(exc).__name__)
            return None
        self._started = True
        self.passes += 1
        log.info("satusehat: queued %d new, %d changed; sent %d, waiting %d, held %d, refused %d%s",
                 queued["new"], queued["changed"], done.outcomes["sent"], done.outcomes["waiting"],
                 done.outcomes["held"], done.outcomes["refused"], f"; stopped: {done.stopped}" if done.stopped else "")
        return done

    def install(self, scheduler) -> None:
        """Adds the pass every ``satusehat.every_minutes`` (the first right away), one at a time."""
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler.add_job(self.run, IntervalTrigger(minutes=self.settings.satusehat.every_minutes), id="satusehat",
                          next_run_time=datetime.now(UTC), coalesce=True, max_instances=1,
                          misfire_grace_time=None, replace_existing=True)

    def stop(self) -> None:
        """No new pass; the pass under way ends at its next item."""
        self._stopping = True

    async def close(self) -> None:
        """Closes the connection (after the scheduler stopped)."""
        self.stop()
        if self._own_http and self._http is not None:
            await self._http.close()
            self._http = None
