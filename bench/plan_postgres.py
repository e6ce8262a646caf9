"""Plans one day of reminders for the synthetic district of ``bench/plan_reminders.py`` on PostgreSQL.

    python bench/plan_postgres.py load --sqlite /tmp/district.sqlite3 --url postgresql+asyncpg://postgres@127.0.0.1/district
    python bench/plan_postgres.py plan --url postgresql+asyncpg://postgres@127.0.0.1/district_run [--date 2026-12-04]

``load`` migrates the (empty) PostgreSQL database and copies the district generated on SQLite into it
(puskesmas, posyandu, families, chats, people, care records); use it as a template (``createdb -T``) so
that every run plans a fresh copy. ``plan`` plans the day twice, each in a fresh process (the first run
writes the day's items, the second adds nothing), and prints the wall time and the rows written. The
planner is imported from the current directory, so one copy of this script measures an earlier tree too:
``cd ../base && python ../ilpbot/bench/plan_postgres.py plan --url ...`` (``bench/RESULTS.md``).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, os.getcwd())
WORKERS = int(os.environ.get("PLAN_WORKERS", os.cpu_count() or 1))
TABLES = ("puskesmas", "posyandu", "posyandu_exception", "family", "identity", "person", "care_record")


async def load(sqlite_path: Path, url: str) -> None:
    """Copies the district's tables from the SQLite file into the migrated database ``url``."""
    import asyncpg
    from sqlalchemy import create_engine, select

    from db.models import Base

    source = create_engine(f"sqlite:///{sqlite_path}")
    target = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for name in TABLES:
            table = Base.metadata.tables[name]
            json_columns = [i for i, c in enumerate(table.columns) if c.type.__class__.__name__ == "JSON"]
            with source.connect() as conn:
                rows = [list(r) for r in conn.execute(select(table))]
            for row in rows:
                for i in json_columns:
                    row[i] = None if row[i] is None else json.dumps(row[i])
            await target.execute(f"DELETE FROM {name}")
            await target.copy_records_to_table(name, records=rows, columns=[c.name for c in table.columns])
            await target.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            print(f"{name}: {len(rows)} rows")
        await target.execute("ANALYZE")
    finally:
        await target.close()


def plan(url: str, day: date) -> None:
    """Plans ``day`` on ``url`` (child process): prints the wall time and the rows written."""
    from dataclasses import replace

    from sqlalchemy import func, select

    from config import load_settings
    from db.database import Database
    from db.models import Outbox, ReminderItem
    from reminders.planner import Planner

    base = load_settings(env={})
    settings = replace(base, database=replace(base.database, url=url))

    async def counts(db: Database) -> tuple[int, int]:
        async with db.read() as session:
            return (await session.scalar(select(func.count()).select_from(Outbox)),
                    await session.scalar(select(func.count()).select_from(ReminderItem)))

    async def run() -> None:
        db = Database(url, statement_timeout_s=600)
        before = await counts(db)
        start = time.perf_counter()
        result = await Planner(db, settings, workers=WORKERS).plan_day(day)
        wall = time.perf_counter() - start
        after = await counts(db)
        await db.dispose()
        print(f"planned {day}: {result.messages} messages for {result.families_with_items} of {result.families} families")
        print(f"rows written: outbox {after[0] - before[0]}, reminder_item {after[1] - before[1]}")
        print(f"wall {wall:.1f} s ({WORKERS} workers)")

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("load", "plan", "plan-once"))
    parser.add_argument("--url", required=True)
    parser.add_argument("--sqlite", type=Path)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 12, 4))
    args = parser.parse_args()
    if args.action == "load":
        from db.migrate import upgrade

        upgrade(args.url)
        asyncio.run(load(args.sqlite, args.url))
    elif args.action == "plan-once":
        plan(args.url, args.date)
    else:
        for attempt in ("first run (the day's items are new)", "second run (same day again: adds nothing)"):
            print(f"-- {attempt}", flush=True)
            subprocess.run([sys.executable, __file__, "plan-once", "--url", args.url, "--date", args.date.isoformat()],
                           check=True)


if __name__ == "__main__":
    main()
