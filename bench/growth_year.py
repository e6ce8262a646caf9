"""A simulated year of a district's outbox and reminder items: database size and the dispatcher's claim time per
month, with the retention job (reminders.retention) running every day.

    python bench/growth_year.py [--families 10000] [--days 365] [--db var/bench-growth.sqlite3]
    python bench/growth_year.py --families 250000            # the district of issue 20 (about 10 times longer)
    python bench/growth_year.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/growth   # an empty database

The district (demo puskesmas and posyandu, ``--families`` families with one Telegram chat, a mother and a
child each) starts as retention leaves a district that has run for ``outbox_keep_days`` (400) already:
that many days of finished rows, written whole and then their texts older than ``retention_days`` pruned
by the job (written already pruned, SQLite's pages would be packed four times denser than a real
outbox's, and the file would grow through the year while they are replaced), and their reminder items. Then each
simulated day:

1. the rows the planner would write are written by a cheap generator (the planner itself takes 3-34 s a
   day, too long for a year here): one ``daily:<chat>:<day>`` row per family with a reminder that day (the
   day before and the morning of its posyandu session, each with a posyandu item, and on about one day in
   twenty a service or dose item), with a text of a real message's length;
2. on the first day of each simulated month the **claim** is timed on that fresh set of due rows: the
   dispatcher's claim query (``Dispatcher._due``, a write transaction as in the claim, median of 7) and one
   whole claim (``Dispatcher.claim``: expiry sweep, triage, rows to ``sending``);
3. the day's rows are marked sent as the dispatcher would (``sent_at``, ``attempts``);
4. the retention job runs (``RetentionJob``: texts older than ``retention_days`` become counts, rows and
   items past ``outbox_keep_days`` are deleted, in batches).

At each month the database size is printed: SQLite, the file after a WAL checkpoint (it does not shrink:
deleted pages are reused) and the pages in use; PostgreSQL, ``pg_total_relation_size`` of outbox and
reminder_item (tables, indexes, TOAST), with ``VACUUM (ANALYZE)`` of the two tables after each day's job as
autovacuum would do it (``--no-vacuum`` leaves it to the server: this machine's test server has autovacuum
off, and then nothing deleted is ever reused). Flat means: the same at the end of the year as after its
first month.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text, update  # noqa: E402

from config import load_settings  # noqa: E402
from db.database import Database  # noqa: E402
from db.demo import load_demo  # noqa: E402
from db.migrate import upgrade_async  # noqa: E402
from db.models import Family, Identity, Outbox, Person, Posyandu, ReminderItem  # noqa: E402
from db.queries import query_plan  # noqa: E402
from reminders.dispatcher import Dispatcher  # noqa: E402
from reminders.retention import RetentionJob, prune_texts  # noqa: E402

START = date(2026, 12, 1)
CREATED = datetime(2026, 11, 1, tzinfo=UTC)
#: a daily message's length in this language (a posyandu day and two members' items: 350-500 characters)
TEXT = ("Selamat pagi Bapak/Ibu Keluarga {fid}. Besok hari posyandu di Posyandu Mawar, pukul 08.00. "
        "Mohon datang bersama anak untuk ditimbang dan diukur. Anggota {fid}: imunisasi DPT-HB-Hib 2 dan Polio 3 "
        "sudah waktunya (paling lambat 14 Januari 2027). Anggota {fid}: pemeriksaan kehamilan ke-4. "
        "Balas *Sudah* bila sudah, atau *Nanti* untuk diingatkan lagi. Terima kasih.")
SERVICES = ("VITA_MERAH", "OBAT_CACING", "SDIDTK", "SKRINING_PTM")
DOSES = ("BCG", "OPV1", "DPT_HB_HIB1", "OPV2", "PCV1", "RV1", "DPT_HB_HIB2", "OPV3", "MR1", "IPV2")
SAMPLES = 7


def messages_of(day: date, families: int) -> list[tuple[int, list[tuple]]]:
    """(family id, items) of every family with a message on ``day``; an item is (person slot, kind, subject,
    due_on): the posyandu session on day ``fid % 28 + 1`` of each month (reminded the day before and on
    the day), and a service or dose item on about one day in twenty."""
    out = []
    tomorrow = day + timedelta(days=1)
    for fid in range(1, families + 1):
        session = fid % 28 + 1
        items = []
        if session == day.day:
            items.append((None, "posyandu", "before:0", day))
        elif session == tomorrow.day:
            items.append((None, "posyandu", "before:1", tomorrow))
        h = (fid * 2654435761 + day.toordinal() * 40503) % 1000
        if h < 50:
            if h < 15:  # a dose: its key counts from the child's birth, at most len(DOSES) per child
                items.append((1, "dose", DOSES[h % len(DOSES)], date(2025, 1, 1) + timedelta(days=fid % 700)))
            else:  # a service whose window opens that day (the next round, interval, screening age)
                items.append((h % 2, "service", SERVICES[h % len(SERVICES)], day))
        if items:
            out.append((fid, items))
    return out


def rows_of(day: date, families: int, *, finished: bool) -> tuple[list[dict], list[dict]]:
    """The outbox rows and reminder items the planner would write for ``day`` (finished: as they are once sent)."""
    created = datetime.combine(day, datetime.min.time(), UTC) - timedelta(hours=3)  # planned at 05:00 WITA
    not_before = created + timedelta(hours=3)
    outbox, items = [], []
    for fid, its in messages_of(day, families):
        body = {"text": TEXT.format(fid=fid), "lang": "id", "items": [[k, s, f"Anggota {fid}"] for _p, k, s, _d in its]}
        row = {"key": f"daily:{fid}:{day.isoformat()}", "identity_id": fid, "channel": "telegram", "address": str(10_000_000 + fid),
               "kind": "daily", "body": body, "timezone": "Asia/Makassar", "state": "pending", "not_before": not_before,
               "expires_at": created + timedelta(hours=15), "attempts": 0, "created_at": created, "sent_at": None,
               "pruned_at": None}
        if finished:  # the texts are pruned afterwards by the job itself: pages filled as a real outbox's are
            row.update(state="sent", attempts=1, sent_at=not_before)
        outbox.append(row)
        for slot, kind, subject, due in its:
            person = None if slot is None else 2 * fid - 1 + slot
            items.append({"key": f"{fid}:{person or 0}:{kind}:{subject}:{due.isoformat()}", "family_id": fid, "person_id": person,
                          "kind": kind, "subject": subject, "due_on": due, "times": 1, "last_planned_on": day, "created_at": created})
    return outbox, items


async def write(db: Database, outbox: list[dict], items: list[dict]) -> None:
    """Inserts the rows (items already planned are kept, as the planner's INSERT ... ON CONFLICT DO NOTHING)."""
    from db.queries import InsertIgnoreMany

    if not outbox:
        return
    rows = InsertIgnoreMany(Outbox.__table__, tuple(outbox[0]), db.write_engine.dialect)
    ignore = InsertIgnoreMany(ReminderItem.__table__, tuple(items[0]), db.write_engine.dialect)
    for start in range(0, max(len(outbox), len(items)), 10_000):
        async with db.write() as session:
            if outbox[start:start + 10_000]:
                await rows.insert(session, rows.shape([tuple(o.values()) for o in outbox[start:start + 10_000]]))
            if items[start:start + 10_000]:
                await ignore.insert(session, ignore.shape([tuple(i.values()) for i in items[start:start + 10_000]]))


async def district(db: Database, families: int) -> None:
    """The demo puskesmas and posyandu, ``families`` families with a chat, a mother and a child each."""
    await load_demo(db)
    async with db.read() as session:
        posyandu = list(await session.scalars(select(Posyandu.id).order_by(Posyandu.id)))
    for first in range(1, families + 1, 10_000):
        ids = range(first, min(first + 10_000, families + 1))
        async with db.write() as session:
            await session.execute(insert(Family), [
                {"id": f, "posyandu_id": posyandu[f % len(posyandu)], "code": f"K-G{f:07d}", "name": f"Keluarga {f}", "registered_at": CREATED,
                 "created_at": CREATED, "updated_at": CREATED} for f in ids])
            await session.execute(insert(Identity), [
                {"id": f, "channel": "telegram", "address": str(10_000_000 + f), "language": "id", "role": "family", "family_id": f,
                 "consent": "given", "consent_version": "2026-11", "consent_at": CREATED, "created_at": CREATED} for f in ids])
            await session.execute(insert(Person), [
                {"id": 2 * f - 1 + k, "family_id": f, "name": f"Anggota {2 * f - 1 + k}", "sex": "F" if k == 0 else "M",
                 "birth_date": date(1995, 1, 1) if k == 0 else date(2025, 1, 1) + timedelta(days=f % 700),
                 "created_at": CREATED, "updated_at": CREATED} for f in ids for k in (0, 1)])
    if not db.is_sqlite:
        async with db.write() as session:
            for table in ("family", "identity", "person"):
                await session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


async def size(db: Database, path: Path | None) -> tuple[float, float, str]:
    """(MB on disk, MB in use, a note): the SQLite file after a checkpoint, or PostgreSQL's two tables."""
    if db.is_sqlite:  # a connection of its own: a checkpoint cannot run inside a transaction
        con = sqlite3.connect(path)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages, free, page = (con.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count", "page_size"))
        finally:
            con.close()
        return path.stat().st_size / 2**20, (pages - free) * page / 2**20, ""
    async with db.read() as session:
        total = await session.scalar(text("SELECT pg_total_relation_size('outbox') + pg_total_relation_size('reminder_item')"))
        waiting = await session.scalar(text("SELECT pg_relation_size('ix_outbox_waiting')"))
        return total / 2**20, total / 2**20, f"ix_outbox_waiting {waiting / 2**10:.0f} kB"


async def vacuum(db: Database) -> None:
    """What autovacuum does on a production server (this machine's test server runs with it off): the space of
    deleted and updated rows made free for new ones."""
    async with db.write_engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM (ANALYZE) outbox, reminder_item"))


async def claim_times(db: Database, dispatcher: Dispatcher, now: datetime) -> tuple[float, float, int]:
    """(median ms of the claim query, ms of one whole claim, rows claimed) on the due rows at ``now``."""
    query = dispatcher._due(now, ["telegram"], take_over=True)
    times = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        async with db.write() as session:
            rows = (await session.execute(query)).all()
        times.append((time.perf_counter() - started) * 1000)
    assert rows, "no due rows: nothing was measured"
    started = time.perf_counter()
    claimed = await dispatcher.claim()
    return statistics.median(times), (time.perf_counter() - started) * 1000, len(claimed)


async def run(args) -> None:
    base = load_settings(env={})
    path = None
    if args.db.startswith("postgresql"):
        url = args.db
    else:
        path = Path(args.db)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    settings = replace(base, database=replace(base.database, url=url))
    keep, retention = settings.privacy.outbox_keep_days, settings.privacy.retention_days
    await upgrade_async(url)
    db = Database(url)
    started = time.perf_counter()
    await district(db, args.families)
    history = keep if args.history else 0
    written = 0
    for back in range(history, 0, -1):
        outbox, items = rows_of(START - timedelta(days=back), args.families, finished=True)
        await write(db, outbox, items)
        written += len(outbox)
    # the texts of the history older than retention_days become counts, as the daily job left them (rows written
    # whole and shrunk in their pages, not written small: SQLite does not merge the pages a pruned row leaves)
    await prune_texts(db, datetime.combine(START, datetime.min.time(), UTC), retention)
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, {db.write_engine.dialect.name}")
    print(f"district: {args.families} families; history: {history} days, {written} outbox rows "
          f"({time.perf_counter() - started:.0f} s); retention_days {retention}, outbox_keep_days {keep}")
    clock = [datetime.combine(START, datetime.min.time(), UTC)]
    dispatcher = Dispatcher(db, {"telegram": None}, clock=lambda: clock[0], rates={"telegram": 30.0}, quiet_hours=(23, 5))
    job = RetentionJob(db, settings, lambda: clock[0])
    print("| month | day | outbox rows | reminder items | size MB (file) | MB in use | claim query ms (median of 7) | "
          "whole claim ms (rows) | outbox rows deleted that month | note |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    deleted = 0
    for n in range(args.days):
        day = START + timedelta(days=n)
        outbox, items = rows_of(day, args.families, finished=False)
        await write(db, outbox, items)
        clock[0] = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=1)  # 09:00 WITA: all due
        measured = None
        if day.day == 1 or n == args.days - 1:
            measured = await claim_times(db, dispatcher, clock[0])
        async with db.write() as session:
            await session.execute(update(Outbox).where(Outbox.waiting()).values(
                state="sent", sent_at=clock[0], lease_until=None, attempts=1))
        clock[0] = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=20)  # 03:45 the next morning, WITA
        deleted += (await job.run()).deleted.outbox
        if not db.is_sqlite and args.vacuum:
            await vacuum(db)
        if measured is not None:
            on_disk, in_use, note = await size(db, path)
            async with db.read() as session:
                rows = await session.scalar(select(func.count()).select_from(Outbox))
                its = await session.scalar(select(func.count()).select_from(ReminderItem))
            query_ms, claim_ms, claimed = measured
            print(f"| {day:%Y-%m} | {n + 1} | {rows:,} | {its:,} | {on_disk:.0f} | {in_use:.0f} | {query_ms:.2f} | "
                  f"{claim_ms:.1f} ({claimed}) | {deleted:,} | {note} |", flush=True)
            deleted = 0
    async with db.read() as session:
        print("claim plan:", (await query_plan(session, dispatcher._due(clock[0], ["telegram"], take_over=True))).replace("\n", "; "))
    print(f"wall {time.perf_counter() - started:.0f} s")
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--db", default=str(ROOT / "var" / "bench-growth.sqlite3"),
                        help="a SQLite file (made anew) or an empty PostgreSQL database's URL")
    parser.add_argument("--no-history", dest="history", action="store_false",
                        help="start with an empty outbox (the size then grows for outbox_keep_days)")
    parser.add_argument("--no-vacuum", dest="vacuum", action="store_false",
                        help="PostgreSQL: no VACUUM after each day's retention job (leave it to autovacuum, when it is on)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
