"""The timers' jobs: the start-up catch-up plans today, and tries again when planning fails."""
from __future__ import annotations

from datetime import UTC, datetime

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
    clock = lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 WIB, 10:00 WITA: past 06:00 everywhere
    planner = FlakyPlanner(failures=2)
    jobs = ReminderJobs(demo_db, settings, planner, dispatcher=None, clock=clock)
    assert await jobs.catch_up(retry_after=0, tries=3)
    assert sorted(planner.planned) == ["Asia/Jakarta", "Asia/Makassar"]


async def test_catch_up_gives_up_after_its_tries(demo_db, settings):
    planner = FlakyPlanner(failures=5)
    jobs = ReminderJobs(demo_db, settings, planner, dispatcher=None, clock=lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    assert not await jobs.catch_up(retry_after=0, tries=2)
    assert planner.planned == []
