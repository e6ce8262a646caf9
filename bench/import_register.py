"""Imports a puskesmas's register of 200,000 persons on SQLite: dry run, --apply and re-import, wall time and peak memory.

    python bench/import_register.py [--families 50000] [--rows-only] [--dir var/bench-import] [--phases dry,apply,again]
        [--xlsx-from FILE]

The register: 50,000 families in the four villages of Puskesmas Buleleng III (the demo data), each a head,
his wife, a child under five and a child of 5-14 (200,000 persons, each with a valid NIK, the No KK, the
dusun, RT/RW and a phone for 60% of the families); the children's doses as the Buku KIA has them (every
dose due by their age, a few days after its recommended age) and the under-five's monthly weighing
(weight and length) for the last twelve months: 200,000 rows of ``anggota``, 100,000 of ``imunisasi``
(one column per dose, about 1.9 million doses) and about 580,000 of ``pengukuran``.

Without ``--rows-only`` the register is written once as an XLSX (openpyxl write-only, the template's columns)
and each phase reads it with ``registers.read.read_register`` (the reader must be merged). With
``--rows-only`` each phase generates the same rows in memory (``registers.model``, streamed) and feeds them
to the importer: the importer's own cost (matching, writing), without the reading.

Each phase runs in a fresh process (its peak RSS is its own): ``dry`` (a dry run on the empty database),
``apply`` (the writes), ``again`` (the same register applied a second time: it must write nothing but its
audit row). Targets (issue 17): dry run and apply each at most 60 s, re-import at most 30 s, peak at most 500 MB.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from care.rules_file import load_schedule  # noqa: E402
from registers.model import DoseRow, MeasureRow, PersonRef, PersonRow, Sheet, Where  # noqa: E402

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TODAY = NOW.date()
PUSKESMAS = "P5108060201"
VILLAGES = ("51.08.06.2014", "51.08.06.2015", "51.08.06.2016", "51.08.06.2018")
FIRST_M = ("Wayan", "Made", "Nyoman", "Ketut", "Putu", "Kadek", "Komang", "Gede", "Agus", "Budi", "Dewa", "Ida Bagus")
FIRST_F = ("Ni Luh", "Ni Made", "Ni Nyoman", "Ni Ketut", "Ni Putu", "Ni Kadek", "Ni Komang", "Ayu", "Dewi", "Sri")
LAST = ("Sudarma", "Ariawan", "Wirata", "Suastika", "Mahendra", "Pradnyani", "Astuti", "Widiastuti", "Santika",
        "Yasa", "Darmawan", "Arsana", "Sukerta", "Puspita", "Wulandari", "Antara", "Suardana", "Gunawan")
DUSUN = ("Banjar Kaja", "Banjar Kelod", "Banjar Tengah", "Banjar Dangin", "Banjar Dauh")


def _nik(birth: date, sex: str, serials: dict) -> str:
    """A NIK of kecamatan 51.08.06 whose date part fits the birth date and sex (day + 40 for women)."""
    day = birth.day + (40 if sex == "F" else 0)
    stem = f"510806{day:02d}{birth.month:02d}{birth.year % 100:02d}"
    serials[stem] = serials.get(stem, 0) + 1
    return f"{stem}{serials[stem]:04d}"


def _birth(rng: random.Random, years_from: float, years_to: float) -> date:
    return TODAY - timedelta(days=rng.randrange(int(years_from * 365.25), int(years_to * 365.25)))


def households(families: int, seed: int = 17) -> Iterator[dict]:
    """The families, the same for the same arguments (each phase generates them again)."""
    rng = random.Random(seed)
    serials: dict[str, int] = {}
    for f in range(families):
        last = rng.choice(LAST)
        kk = f"510806{f + 1:010d}"
        place = {"village_code": rng.choice(VILLAGES), "dusun": rng.choice(DUSUN), "rt": f"{rng.randrange(1, 12):03d}",
                 "rw": f"{rng.randrange(1, 6):03d}", "phone": f"62812{f + 1:08d}" if rng.random() < 0.6 else None}
        head_name = f"{rng.choice(FIRST_M)} {last}"
        members = []
        for sex, names, ages, relation in (("M", FIRST_M, (25, 50), "kepala"), ("F", FIRST_F, (20, 45), "istri"),
                                           (rng.choice("MF"), None, (0, 4.95), "anak"), (rng.choice("MF"), None, (5, 14), "anak")):
            birth = _birth(rng, *ages)
            name = head_name if relation == "kepala" else f"{rng.choice(FIRST_M if sex == 'M' else FIRST_F)} {last}"
            members.append({"name": name, "sex": sex, "birth": birth, "nik": _nik(birth, sex, serials), "relation": relation})
        yield {"f": f, "kk": kk, "head": head_name, "place": place, "members": members}


def doses_of(house: dict, i: int) -> list[tuple[str, date]]:
    """The doses of the ``i``-th child (0: under five, 1: 5-14), the same in every pass."""
    return _doses(house["members"][2 + i], random.Random(house["f"] * 2 + i))


def weighings_of(house: dict) -> list[tuple[date, float, float]]:
    """The under-five's monthly weighings, the same in every pass."""
    return _weighings(house["members"][2], random.Random(-house["f"] - 1))


def _doses(child: dict, rng: random.Random) -> list[tuple[str, date]]:
    out = []
    for rule in load_schedule().immunization.doses:
        if rule.code == "JE":
            continue
        day = max(rule.recommended.after(child["birth"]), rule.earliest.after(child["birth"])) + timedelta(days=rng.randrange(0, 10))
        if day <= TODAY:
            out.append((rule.code, day))
    return out


def _weighings(child: dict, rng: random.Random) -> list[tuple[date, float, float]]:
    from care.dates import add_months

    out = []
    for back in range(11, -1, -1):
        on = add_months(date(TODAY.year, TODAY.month, 5), -back)
        if on < child["birth"] or on > TODAY:
            continue
        months = (on - child["birth"]).days / 30.44
        weight = round(3.3 + 0.6 * min(months, 12) + 0.2 * max(months - 12, 0) + rng.uniform(-0.4, 0.4), 1)
        length = round(50 + 2.2 * min(months, 12) + 0.8 * max(months - 12, 0) + rng.uniform(-1, 1), 1)
        out.append((on, weight, length))
    return out


def rows(families: int) -> Iterator:
    """The register as the reader would yield it: ``anggota``, then ``imunisasi``, then ``pengukuran``."""
    from registers.export import COLUMNS, DOSE_HEADERS

    yield Sheet("anggota", "anggota", tuple(h for _n, h in COLUMNS["anggota"]))
    n = 1
    for house in households(families):
        for m in house["members"]:
            n += 1
            yield PersonRow(where=Where("anggota", n), no_kk=house["kk"], nik=m["nik"], name=m["name"], birth_date=m["birth"],
                            birth_precision="day", sex=m["sex"], family_name=house["head"], relation=m["relation"],
                            **house["place"])
    yield Sheet("imunisasi", "imunisasi", tuple(h for _n, h in COLUMNS["imunisasi"]))
    n = 1
    for house in households(families):
        for i, child in enumerate(house["members"][2:]):
            n += 1
            ref = PersonRef(nik=child["nik"], name=child["name"], birth_date=child["birth"], no_kk=house["kk"])
            where = Where("imunisasi", n)
            for code, on in doses_of(house, i):
                yield DoseRow(where=where, person=ref, code=code, on=on, precision="day", column=DOSE_HEADERS[code])
    yield Sheet("pengukuran", "pengukuran", tuple(h for _n, h in COLUMNS["pengukuran"]))
    n = 1
    for house in households(families):
        child = house["members"][2]
        ref = PersonRef(nik=child["nik"], name=child["name"], birth_date=child["birth"], no_kk=house["kk"])
        for on, weight, length in weighings_of(house):
            n += 1
            yield MeasureRow(where=Where("pengukuran", n), person=ref, on=on, weight_kg=weight, height_cm=length)


def write_xlsx(path: Path, families: int) -> dict[str, int]:
    """The register as an XLSX in the template's columns (openpyxl write-only)."""
    from openpyxl import Workbook

    from registers.export import COLUMNS, DOSE_HEADERS

    book = Workbook(write_only=True)
    sheets = {kind: book.create_sheet(kind) for kind in ("anggota", "imunisasi", "pengukuran")}
    for kind, sheet in sheets.items():
        sheet.append([h for _n, h in COLUMNS[kind]])
    counts = dict.fromkeys(sheets, 0)
    fields = {kind: [name for name, _h in COLUMNS[kind]] for kind in sheets}
    for house in households(families):
        for m in house["members"]:
            values = {"no_kk": house["kk"], "nik": m["nik"], "name": m["name"], "birth_date": m["birth"],
                      "sex": "L" if m["sex"] == "M" else "P", "relation": m["relation"], "family_name": house["head"], **house["place"]}
            sheets["anggota"].append([values.get(f) for f in fields["anggota"]])
            counts["anggota"] += 1
        for i, child in enumerate(house["members"][2:]):
            who = {"no_kk": house["kk"], "nik": child["nik"], "name": child["name"], "birth_date": child["birth"]}
            doses = dict(doses_of(house, i))
            sheets["imunisasi"].append([doses.get(f, who.get(f)) for f in fields["imunisasi"]])
            counts["imunisasi"] += 1
        child = house["members"][2]
        who = {"no_kk": house["kk"], "nik": child["nik"], "name": child["name"], "birth_date": child["birth"]}
        for on, weight, length in weighings_of(house):
            sheets["pengukuran"].append([{**who, "on": on, "weight_kg": weight, "height_cm": length}.get(f) for f in fields["pengukuran"]])
            counts["pengukuran"] += 1
    book.save(str(path))
    assert set(DOSE_HEADERS) <= set(fields["imunisasi"])
    return counts


# -- one phase, in its own process --------------------------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _phase(args) -> dict:
    from sqlalchemy import select

    from db.database import Database
    from db.models import Puskesmas
    from registers.importer import run_import

    db = Database(f"sqlite+aiosqlite:///{args.db}")
    try:
        async with db.read() as session:
            puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == PUSKESMAS))
        if args.rows_only:
            items = rows(args.families)
        else:
            from registers.read import read_register  # the reader's branch

            items = read_register(Path(args.xlsx), Path(args.xlsx).name)
        if args.phase == "gen":  # the generator alone: what --rows-only adds to the importer's time
            started, cpu = time.perf_counter(), _cpu()
            n = sum(1 for _item in items)
            return {"phase": "gen", "seconds": round(time.perf_counter() - started, 1), "cpu_s": round(_cpu() - cpu, 1), "items": n,
                    "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        started, cpu = time.perf_counter(), _cpu()
        report = await run_import(db, items, puskesmas_id=puskesmas_id, apply=args.phase != "dry", actor="bench",
                                  filename="register.xlsx", now=NOW)
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    finally:
        await db.dispose()
    return {"phase": args.phase, "seconds": round(seconds, 1), "cpu_s": round(cpu, 1), "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "counts": report.counts(), "unchanged": report.unchanged, "batches": report.batches,
            "problems": [p.code for p in report.problems[:5]]}


def _tables(path: Path) -> dict[str, tuple]:
    """Row count and a checksum of every table but the audit log (to show a re-import wrote nothing)."""
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT IN ('audit_log', 'alembic_version')")]
        out = {}
        for name in names:
            digest, count = hashlib.sha256(), 0
            for row in conn.execute(f"SELECT * FROM {name} ORDER BY rowid"):
                digest.update(repr(row).encode())
                count += 1
            out[name] = (count, digest.hexdigest())
        return out
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=50_000)
    parser.add_argument("--rows-only", action="store_true", help="generate rows in memory instead of reading the XLSX")
    parser.add_argument("--dir", default=str(ROOT / "var" / "bench-import"))
    parser.add_argument("--phases", default="dry,apply,again", help="of gen (--rows-only: the generator alone), dry, apply, again")
    parser.add_argument("--xlsx-from", help="copy this register (written by an earlier run with the same --families) instead of writing it")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--xlsx", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(asyncio.run(_phase(args))))
        return
    work = Path(args.dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db, xlsx = work / "import.sqlite3", work / "register.xlsx"
    env = {**os.environ, "ILPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    subprocess.run([sys.executable, str(ROOT / "bot.py"), "db", "upgrade"], check=True, env=env, capture_output=True)
    subprocess.run([sys.executable, str(ROOT / "bot.py"), "demo", "load"], check=True, env=env, capture_output=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    if args.xlsx_from:  # a register written by an earlier run (the same --families): no need to write it again
        shutil.copyfile(args.xlsx_from, xlsx)
        print(f"xlsx copied from {args.xlsx_from}, {xlsx.stat().st_size / 1e6:.1f} MB")
    elif not args.rows_only:
        started = time.perf_counter()
        counts = write_xlsx(xlsx, args.families)
        print(f"xlsx written in {time.perf_counter() - started:.1f} s: {counts}, {xlsx.stat().st_size / 1e6:.1f} MB")
    before = None
    for phase in args.phases.split(","):
        if phase == "again":
            before = _tables(db)
        command = [sys.executable, __file__, "--phase", "apply" if phase == "again" else phase, "--db", str(db),
                   "--xlsx", str(xlsx), "--families", str(args.families)] + (["--rows-only"] if args.rows_only else [])
        out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["phase"] = phase
        if phase == "again":
            result["wrote_nothing"] = _tables(db) == before
        print(json.dumps(result))


if __name__ == "__main__":
    main()
