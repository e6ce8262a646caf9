"""Plans one day of reminders for a synthetic district on SQLite: wall time, peak memory, rows written.

    python bench/plan_reminders.py [--families 250000] [--date 2026-12-04] [--db var/bench-district.sqlite3] [--keep]

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
from datetime import date, datetime, timedelta
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


def generate(path: Path, families: int, day: date, seed: int = 7) -> dict:
    """Writes the district into a migrated SQLite file; returns counts."""
    from db.migrate import upgrade
    from db.demo import load_demo
    from db.database import Database

    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)

    async def demo() -> None:
        db = Database(url)
        await load_demo(db)
        await db.dispose()

    asyncio.run(demo())
    rng = random.Random(seed)
    now = datetime(2026, 11, 23).isoformat(sep=" ")
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    posyandu = [row[0] for row in con.execute("SELECT id FROM posyandu")]
    people = doses = 0
    person_id = 0
    batch_f, batch_i, batch_p, batch_d = [], [], [], []

    def flush() -> None:
        con.executemany("INSERT INTO family (id, posyandu_id, code, name, dusun, rt, rw, registered_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)", batch_f)
        con.executemany("INSERT INTO identity (id, channel, address, language, role, family_id, consent, consent_version, consent_at, created_at, reminder_slot) VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch_i)
        con.executemany("INSERT INTO person (id, family_id, name, sex, birth_date, hpht, due_date, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)", batch_p)
        con.executemany("INSERT OR IGNORE INTO care_record (person_id, code, done_on, precision, source, created_at) VALUES (?,?,?,?,?,?)", batch_d)
        batch_f.clear(), batch_i.clear(), batch_p.clear(), batch_d.clear()

    for fid in range(1, families + 1):
        batch_f.append((fid, posyandu[fid % len(posyandu)], f"K-B{fid:07d}", f"Keluarga {fid}", "Banjar", "001", "002", now, now, now))
        batch_i.append((fid, "telegram", str(10_000_000 + fid), "id" if rng.random() < 0.9 else "en", "family", fid,
                        "given", "2026-11", now, now, "morning" if rng.random() < 0.7 else "afternoon"))
        for _ in range(rng.choice((2, 3, 4, 4, 5, 6))):
            person_id += 1
            people += 1
            years = age_years(rng)
            birth = day - timedelta(days=int(years * 365.25))
            sex = rng.choice("MF")
            hpht = due = None
            if sex == "F" and 18 <= years <= 40 and rng.random() < 0.09:  # about 2% of everyone
                hpht = day - timedelta(days=rng.randint(14, 280))
                due = hpht + timedelta(days=280)
            batch_p.append((person_id, fid, f"Anggota {person_id}", sex, birth.isoformat(), hpht and hpht.isoformat(), due and due.isoformat(), now, now))
            for code, on, precision, source in history(rng, day, years, sex, birth, hpht):
                batch_d.append((person_id, code, on.isoformat(), precision, source, now))
                doses += code in DOSE_CODES
        if fid % 10_000 == 0:
            flush()
    flush()
    con.commit()
    records = con.execute("SELECT count(*) FROM care_record").fetchone()[0]
    con.close()
    return {"families": families, "people": people, "doses": doses, "care records": records}


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


def plan(path: Path, day: date) -> None:
    """Plans ``day`` (child process): prints wall time, peak RSS and rows written."""
    from dataclasses import replace

    from config import load_settings
    from db.database import Database
    from reminders.planner import Planner

    url = f"sqlite+aiosqlite:///{path}"
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
        db = Database(url)
        counts_before = _counts(path)
        start = time.perf_counter()
        result = await Planner(db, settings, workers=WORKERS).plan_day(day)
        wall = time.perf_counter() - start
        await db.dispose()
        counts_after = _counts(path)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"planned {day}: {result.messages} messages for {result.families_with_items} of {result.families} families; items {dict(result.items)}")
        print(f"rows written: outbox {counts_after[0] - counts_before[0]}, reminder_item {counts_after[1] - counts_before[1]}")
        done.set()
        print(f"wall {wall:.1f} s; peak memory: main process {peak_mb:.0f} MB, whole process tree ({WORKERS} workers) {peak[0]:.0f} MB")

    asyncio.run(run())


def _counts(path: Path) -> tuple[int, int]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT count(*) FROM outbox").fetchone()[0], con.execute("SELECT count(*) FROM reminder_item").fetchone()[0]
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=250_000)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 12, 4))
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench-district.sqlite3")
    parser.add_argument("--keep", action="store_true", help="reuse an existing generated district")
    parser.add_argument("--plan-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plan_only:
        plan(args.db, args.date)
        return
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}, {platform.platform()}")
    print(f"command: python bench/plan_reminders.py --families {args.families} --date {args.date}")
    if not (args.keep and args.db.exists()):
        start = time.perf_counter()
        counts = generate(args.db, args.families, args.date)
        print(f"generated {counts} in {time.perf_counter() - start:.0f} s")
    for attempt in ("first run (the day's items are new)", "second run (same day again: adds nothing)"):
        print(f"-- {attempt}")
        subprocess.run([sys.executable, __file__, "--plan-only", "--db", str(args.db), "--date", args.date.isoformat()], check=True)


if __name__ == "__main__":
    main()
