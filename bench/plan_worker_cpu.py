"""CPU seconds of the planner's worker side (read, decide, shape a range) in one process, nothing written.

    cd <tree> && python <this tree>/bench/plan_worker_cpu.py /tmp/district.sqlite3 [ranges]

Plans the first ``ranges`` ranges (default 10) of the district made by ``bench/plan_reminders.py`` the way a
worker process does (:func:`reminders.planner.plan_range`), after one range to warm up, and prints the CPU
seconds (``time.process_time``: less sensitive than wall time to a shared machine) with the parts: the
reads, the shaping for the rules, the rules, the texts and the rows' shaping. The tree is imported from
the current directory, so one copy of this script measures an earlier tree too.
"""
from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime

sys.path.insert(0, os.getcwd())


def main() -> None:
    from config import load_settings
    from db.database import Database
    import reminders.planner as planner

    path, ranges = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10
    url = f"sqlite+aiosqlite:///{path}"
    base = load_settings(env={})
    settings = replace(base, database=replace(base.database, url=url))
    day = date(2026, 12, 4)

    async def families():
        db = Database(url)
        plan = planner.Planner(db, settings)
        async with db.read() as session:
            posyandu, _ = await plan._posyandu(session, day, None)
            found = await plan._families(session, None)
        await db.dispose()
        return plan, posyandu, found

    plan, posyandu, found = asyncio.run(families())
    r = settings.reminders
    slots = (r.morning_hour, r.afternoon_hour, r.quiet_start)
    jobs = [planner.RangeJob(day, found[i:i + planner.CHUNK], posyandu, slots, datetime(2026, 12, 3, tzinfo=UTC))
            for i in range(0, len(found), planner.CHUNK)][:ranges + 1]
    planner.init_worker(plan.policy, plan.care_overrides, url)
    planner.plan_range(jobs[0])
    parts: Counter = Counter()

    def timed(name, function):
        def run(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                parts[name] += time.process_time() - start
        return run

    planner._worker_rows = timed("read", planner._worker_rows)
    planner.range_data = timed("shape for the rules", planner.range_data)
    planner.family_items = timed("rules", planner.family_items)
    planner.daily_text = timed("texts", planner.daily_text)
    for name in ("items", "outbox"):
        planner._WORKER[name].shape = timed("rows shaped", planner._WORKER[name].shape)
    start = time.process_time()
    for job in jobs[1:]:
        planner.plan_range(job)
    total = time.process_time() - start
    print(f"{len(jobs) - 1} ranges of {planner.CHUNK} families: {total:.2f} CPU s; "
          + ", ".join(f"{name} {seconds:.2f}" for name, seconds in parts.items()), f"(load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
