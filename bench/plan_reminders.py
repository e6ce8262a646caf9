"""Plans one day of reminders for a synthetic district on SQLite or PostgreSQL: wall time, peak memory, rows written.

    python bench/plan_reminders.py [--families 250000] [--date 2026-12-04] [--db var/bench-district.sqlite3] [--keep]
    python bench/plan_reminders.py --families 2500000 --db postgresql+asyncpg://postgres@127.0.0.1/province

On PostgreSQL ``--db`` names an empty database: it is migrated and the district streamed into it with COPY,
10,000 families at a time (a province of 10 million people in bounded memory); ``--keep`` plans a database
generated before.

A district of about 1,000,000 people in 250,000 families (an Indonesian age mix, about 2% pregnant, some
doses missing) is generated once into the SQLite file (reused when it exists with --keep), then the day is
planned in a fresh process so that the peak memory is the planner's own. Targets: at most 60 s, 500 MB.

The people carry the history a real district has (care_record, see :func:`history`): the doses of the
Buku KIA (20% missing; those before registration entered as "sudah, tanggal tidak ingat" for a third of
the children), monthly weighings of the under-fives, vitamin A in the February and August rounds,
deworming, SDIDTK screenings, ANC check-ups by gestational age, and the yearly PTM screening and SKILAS
for part of the adults and older people.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = int(os.environ.get("PLAN_WORKERS", os.cpu_count() or 1))
sys.path.insert(0, str(ROOT))

DOSES_BY_MONTH = [(0, "HB0"), (1, "BCG"), (1, "OPV1"), (2, "DPT_HB_HIB1"), (2, "OPV2"), (2, "PCV1"), (2, "RV1"),
                  (3, "DPT_HB_HIB2"), (3, "OPV3"), (3, "PCV2"), (3, "RV2"), (4, "DPT_HB_HIB3"), (4, "OPV4"),
                  (4, "IPV1"), (4, "RV3"), (9, "MR1"), (9, "IPV2"), (12, "PCV3"), (18, "DPT_HB_HIB4"), (18, "MR2")]


def age_years(rng: random.Random) -> float:
    """An age drawn from a rough Indonesian pyramid: 9% under five, 10% sixty and over."""
    r = rng.random()
    if r < 0.09:
        return rng.uniform(0, 5)
    if r < 0.25:
        return rng.uniform(5, 15)
    if r < 0.90:
        return rng.uniform(15, 60)
    return rng.uniform(60, 90)


DOSE_CODES = frozenset(code for _at, code in DOSES_BY_MONTH)
SDIDTK_MONTHS = (3, 6, 9, 12, 15, 18, 21, 24, 30, 36, 42, 48, 54, 60, 66, 72)


def history(rng: random.Random, day: date, years: float, sex: str, birth: date, hpht: date | None):
    """(code, date, precision, source) records of one synthetic person, as a district has them."""
    months = years * 12
    if years < 5:
        registered = day - timedelta(days=rng.randint(0, 240))  # when the family joined the bot
        from_book = rng.random() < 0.33  # entered from the Buku KIA without dates
        for at, dose in DOSES_BY_MONTH:
            if at <= months and rng.random() < 0.8:  # some doses missing
                given = birth + timedelta(days=int(at * 30.44) + rng.randint(0, 20))
                if given <= day:
                    if given < registered and from_book:
                        yield dose, min(birth + timedelta(days=int(at * 30.44)), day), "unknown", "family"
                    else:
                        yield dose, given, "day", "kader"
        for back in range(0, min(int(months), 6)):  # monthly weighings, 3 in 4 months
            if rng.random() < 0.75:
                first = date(day.year, day.month, 1)
                on = first - timedelta(days=30 * back) + timedelta(days=rng.randint(0, 20))
                if birth <= on <= day:
                    yield "TIMBANG", on, "day", "kader"
        for round_day in (date(day.year, 8, 10), date(day.year, 2, 10)):  # vitamin A rounds
            age = (round_day - birth).days / 30.44
            if 6 <= age < 60 and round_day <= day and rng.random() < 0.7:
                yield ("VITA_BIRU" if age < 12 else "VITA_MERAH"), round_day, "day", "kader"
        if months >= 12 and rng.random() < 0.6:
            yield "OBAT_CACING", day - timedelta(days=rng.randint(10, 180)), "day", "kader"
        for at in SDIDTK_MONTHS:
            screened = birth + timedelta(days=int(at * 30.44) + rng.randint(0, 30))
            if at <= months and screened <= day and rng.random() < 0.4:
                yield "SDIDTK", screened, "day", "kader"
    elif 15 <= years < 60 and rng.random() < 0.35:
        yield "SKRINING_PTM", day - timedelta(days=rng.randint(1, 365)), "day", "kader"
    elif years >= 60 and rng.random() < 0.45:
        yield "SKILAS", day - timedelta(days=rng.randint(1, 365)), "day", "kader"
    if hpht is not None:
        weeks = (day - hpht).days // 7
        contacts = min(6, max(0, weeks // 6 + rng.choice((-1, 0, 0, 1))))
        for n in range(1, contacts + 1):
            on = hpht + timedelta(days=min((day - hpht).days, n * 42 - rng.randint(0, 20)))
            yield f"ANC{n}", on, "day", "kader"


def district(rng: random.Random, families: int, day: date, posyandu: list[int], now, text: bool,
             batch: int = 10_000):
    """The district's rows, ``batch`` families at a time: (families, identities, people, care records),
    each a list of tuples in the column order of the inserts of :func:`generate`. Dates are ISO text for
    SQLite's executemany when ``text``, else dates (PostgreSQL's COPY). Only one batch is held at a time, so
    a province generates in bounded memory. A person's records are distinct by (code, date), as the
    table's unique key wants."""
    iso = (lambda d: d and d.isoformat()) if text else (lambda d: d)
    person_id = 0
    batch_f, batch_i, batch_p, batch_d = [], [], [], []
    for fid in range(1, families + 1):
        batch_f.append((fid, posyandu[fid % len(posyandu)], f"K-B{fid:07d}", f"Keluarga {fid}", "Banjar", "001", "002", now, now, now))
        batch_i.append((fid, "telegram", str(10_000_000 + fid), "id" if rng.random() < 0.9 else "en", "family", fid,
                        "given", "2026-11", now, now, "morning" if rng.random() < 0.7 else "afternoon"))
        for _ in range(rng.choice((2, 3, 4, 4, 5, 6))):
            person_id += 1
            years = age_years(rng)
            birth = day - timedelta(days=int(years * 365.25))
            sex = rng.choice("MF")
            hpht = due = None
            if sex == "F" and 18 <= years <= 40 and rng.random() < 0.09:  # about 2% of everyone
                hpht = day - timedelta(days=rng.randint(14, 280))
                due = hpht + timedelta(days=280)
            batch_p.append((person_id, fid, f"Anggota {person_id}", sex, iso(birth), iso(hpht), iso(due), now, now))
            seen = set()
            for code, on, precision, source in history(rng, day, years, sex, birth, hpht):
                if (code, on) not in seen:
                    seen.add((code, on))
                    batch_d.append((person_id, code, iso(on), precision, source, now))
        if fid % batch == 0 or fid == families:
            yield batch_f, batch_i, batch_p, batch_d
            batch_f, batch_i, batch_p, batch_d = [], [], [], []


def _demo(url: str) -> list[int]:
    """Migrates ``url``, loads the demo's puskesmas and posyandu; returns the posyandu ids."""
    from sqlalchemy import select

    from db.database import Database
    from db.demo import load_demo
    from db.migrate import upgrade
    from db.models import Posyandu

    upgrade(url)

    async def demo() -> list[int]:
        db = Database(url)
        await load_demo(db)
        async with db.read() as session:
            ids = list((await session.scalars(select(Posyandu.id).order_by(Posyandu.id))).all())
        await db.dispose()
        return ids

    return asyncio.run(demo())


def generate(path: Path, families: int, day: date, seed: int = 7) -> dict:
    """Writes the district into a migrated SQLite file; returns counts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    _demo(f"sqlite+aiosqlite:///{path}")
    rng = random.Random(seed)
    now = datetime(2026, 11, 23).isoformat(sep=" ")
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    posyandu = [row[0] for row in con.execute("SELECT id FROM posyandu")]
    people = doses = 0
    for batch_f, batch_i, batch_p, batch_d in district(rng, families, day, posyandu, now, text=True):
        con.executemany("INSERT INTO family (id, posyandu_id, code, name, dusun, rt, rw, registered_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)", batch_f)
        con.executemany("INSERT INTO identity (id, channel, address, language, role, family_id, consent, consent_version, consent_at, created_at, reminder_slot) VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch_i)
        con.executemany("INSERT INTO person (id, family_id, name, sex, birth_date, hpht, due_date, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)", batch_p)
        con.executemany("INSERT OR IGNORE INTO care_record (person_id, code, done_on, precision, source, created_at) VALUES (?,?,?,?,?,?)", batch_d)
        people += len(batch_p)
        doses += sum(row[1] in DOSE_CODES for row in batch_d)
    con.commit()
    records = con.execute("SELECT count(*) FROM care_record").fetchone()[0]
    con.close()
    return {"families": families, "people": people, "doses": doses, "care records": records}


COPY_COLUMNS = {
    "family": ("id", "posyandu_id", "code", "name", "dusun", "rt", "rw", "registered_at", "created_at", "updated_at"),
    "identity": ("id", "channel", "address", "language", "role", "family_id", "consent", "consent_version", "consent_at",
                 "created_at", "reminder_slot"),
    "person": ("id", "family_id", "name", "sex", "birth_date", "hpht", "due_date", "created_at", "updated_at"),
    "care_record": ("person_id", "code", "done_on", "precision", "source", "created_at"),
}


def generate_postgresql(url: str, families: int, day: date, seed: int = 7) -> dict:
    """Writes the same district into the (empty) PostgreSQL database ``url`` with COPY, streaming: one batch of
    10,000 families in memory at a time, so a province of 2.5 million families fits. Returns counts."""
    import asyncpg

    posyandu = _demo(url)

    async def copy() -> dict:
        rng = random.Random(seed)
        now = datetime(2026, 11, 23, tzinfo=UTC)
        con = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        people = records = 0
        start = time.perf_counter()
        try:
            await con.execute("SET synchronous_commit = off")
            for batch in district(rng, families, day, posyandu, now, text=False):
                async with con.transaction():
                    for name, rows in zip(COPY_COLUMNS, batch):
                        await con.copy_records_to_table(name, records=rows, columns=COPY_COLUMNS[name])
                people += len(batch[2])
                records += len(batch[3])
                done = batch[0][-1][0]
                if done % 100_000 == 0:
                    print(f"  {done} families, {people} people, {records} records, {time.perf_counter() - start:.0f} s",
                          flush=True)
            for name in ("family", "identity", "person", "care_record"):
                await con.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            await con.execute("ANALYZE")
        finally:
            await con.close()
        return {"families": families, "people": people, "care records": records}

    return asyncio.run(copy())


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants (forkserver, workers), in MB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(rss.get(pid, 0) for pid in tree) / 2**20


def plan(where: str, day: date) -> None:
    """Plans ``day`` (child process) in the SQLite file or PostgreSQL URL ``where``: prints wall time, peak
    RSS and rows written."""
    from dataclasses import replace

    from config import load_settings
    from db.database import Database
    from reminders.planner import Planner

    url = where if "://" in where else f"sqlite+aiosqlite:///{where}"
    base = load_settings(env={})
    settings = replace(base, database=replace(base.database, url=url))

    import threading

    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], tree_rss_mb(os.getpid()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    async def run() -> None:
        db = Database(url, statement_timeout_s=3600)
        counts_before = await _counts(db)
        start = time.perf_counter()
        result = await Planner(db, settings, workers=WORKERS).plan_day(day)
        wall = time.perf_counter() - start
        counts_after = await _counts(db)
        await db.dispose()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"planned {day}: {result.messages} messages for {result.families_with_items} of {result.families} families; items {dict(result.items)}")
        print(f"rows written: outbox {counts_after[0] - counts_before[0]}, reminder_item {counts_after[1] - counts_before[1]}")
        done.set()
        print(f"wall {wall:.1f} s; peak memory: main process {peak_mb:.0f} MB, whole process tree ({WORKERS} workers) {peak[0]:.0f} MB")

    asyncio.run(run())


async def _counts(db) -> tuple[int, int]:
    from sqlalchemy import func, select

    from db.models import Outbox, ReminderItem

    async with db.read() as session:
        return (await session.scalar(select(func.count()).select_from(Outbox)),
                await session.scalar(select(func.count()).select_from(ReminderItem)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=250_000)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 12, 4))
    parser.add_argument("--db", default=str(ROOT / "var" / "bench-district.sqlite3"),
                        help="a SQLite file, or a PostgreSQL URL (postgresql+asyncpg://...) of an empty database")
    parser.add_argument("--keep", action="store_true", help="reuse an existing generated district")
    parser.add_argument("--plan-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plan_only:
        plan(args.db, args.date)
        return
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}, {platform.platform()}")
    print(f"command: python bench/plan_reminders.py --families {args.families} --date {args.date}"
          f"{' --db postgresql' if args.db.startswith('postgresql') else ''}")
    postgresql = args.db.startswith("postgresql")
    if not (args.keep and (postgresql or Path(args.db).exists())):
        start = time.perf_counter()
        if postgresql:
            counts = generate_postgresql(args.db, args.families, args.date)
        else:
            counts = generate(Path(args.db), args.families, args.date)
        print(f"generated {counts} in {time.perf_counter() - start:.0f} s")
    for attempt in ("first run (the day's items are new)", "second run (same day again: adds nothing)"):
        print(f"-- {attempt}")
        subprocess.run([sys.executable, __file__, "--plan-only", "--db", args.db, "--date", args.date.isoformat()], check=True)


if __name__ == "__main__":
    main()
