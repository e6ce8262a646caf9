"""The PWS page (and any other staff page) under 20 staff reading at once, on SQLite or PostgreSQL.

    python bench/dashboard.py [--url sqlite+aiosqlite:///var/bench-dashboard.sqlite3] [--families 8000]
                              [--paths / /sasaran] [--clients 20] [--rounds 10] [--keep]

A puskesmas of 20 posyandu and 8,000 families (about 30,000 people, the age mix, doses, weighings with
their visits and measurements, vitamin A rounds, ANC of ``bench/plan_reminders.py``'s generator) with a
year of visits is written through the project's models (bulk core inserts, on either database), then the
whole web app is served on a real port of 127.0.0.1 and ``--clients`` aiohttp clients, each signed in
through its own one-time link (its own session cookie), read each of ``--paths`` ``--rounds`` times at
once. Prints p50/p95/max per path (the first, cold reading apart) and the CPU time of this process (server
and clients; not the PostgreSQL server's) per reading: on a shared machine the wall times vary with the
load, the CPU time far less. Target: p95 at most 300 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def generate(url: str, families: int, seed: int = 7) -> int:
    """A fresh database with one puskesmas of 20 posyandu and its families; returns the puskesmas id."""
    from sqlalchemy import delete, insert, select, text

    from db.database import Database
    from db.migrate import upgrade_async
    from db.models import Base, CareRecord, Family, Measurement, Person, Posyandu, Puskesmas, Visit
    from plan_reminders import age_years, history

    await upgrade_async(url)
    db = Database(url)
    async with db.write() as session:  # start empty (the tables in dependency order, children first)
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(delete(table))
    rng = random.Random(seed)
    async with db.write() as session:
        puskesmas = Puskesmas(code="PBENCH", name="Puskesmas Bench", district_code="51.08", district_name="Buleleng",
                              timezone="Asia/Makassar", created_at=NOW)
        session.add(puskesmas)
        await session.flush()
        for i in range(20):
            session.add(Posyandu(puskesmas_id=puskesmas.id, code=f"PY-B{i:02d}", name=f"Posyandu {i + 1:02d}",
                                 village_code=f"51.08.06.{2000 + i // 2}", village_name=f"Desa {i // 2 + 1}",
                                 schedule={"monthly_day": 5 + i % 20}, created_at=NOW))
        await session.flush()
        places = list(await session.scalars(select(Posyandu.id).where(Posyandu.puskesmas_id == puskesmas.id)))
        pid = puskesmas.id
    person_id = visit_id = 0
    for start in range(1, families + 1, 1000):
        fams, people, records, visits, sizes = [], [], [], [], []
        for fid in range(start, min(start + 1000, families + 1)):
            fams.append({"id": fid, "posyandu_id": places[fid % len(places)], "code": f"B{fid:07d}", "name": f"Keluarga {fid}",
                         "dusun": f"Banjar {fid % 7 + 1}", "rt": f"{fid % 12 + 1:03d}", "rw": "002", "registered_at": NOW,
                         "created_at": NOW, "updated_at": NOW})
            for _ in range(rng.choice((2, 3, 4, 4, 5, 6))):
                person_id += 1
                years = age_years(rng)
                sex = rng.choice("MF")
                birth = DAY - timedelta(days=int(years * 365.25))
                hpht = DAY - timedelta(days=rng.randint(14, 270)) if sex == "F" and 18 <= years < 40 and rng.random() < 0.08 else None
                people.append({"id": person_id, "family_id": fid, "name": f"Orang {person_id}", "sex": sex, "birth_date": birth,
                               "hpht": hpht, "created_at": NOW, "updated_at": NOW})
                seen = set()
                for code, on, precision, source in history(rng, DAY, years, sex, birth, hpht):
                    if (code, on) in seen:
                        continue
                    seen.add((code, on))
                    records.append({"person_id": person_id, "code": code, "done_on": on, "precision": precision,
                                    "source": source, "created_at": NOW})
                if years < 5:  # a year of monthly weighings (3 in 4 months), each a visit with its measurements
                    months = int(years * 12)
                    for back in range(min(months, 12)):
                        if rng.random() < 0.75:
                            on = date(DAY.year, DAY.month, 1) - timedelta(days=30 * back) + timedelta(days=rng.randint(0, 20))
                            if birth <= on <= DAY and ("TIMBANG", on) not in seen:
                                visit_id += 1
                                age = (on - birth).days / 30.44
                                visits.append({"id": visit_id, "person_id": person_id, "posyandu_id": fams[-1]["posyandu_id"],
                                               "visited_on": on, "place": "posyandu", "created_at": NOW})
                                sizes.append({"visit_id": visit_id, "kind": "weight_kg", "value": round(3.3 + age * 0.25 + rng.uniform(-0.8, 0.8), 1)})
                                sizes.append({"visit_id": visit_id, "kind": "length_cm", "value": round(50 + age * 1.2 + rng.uniform(-4, 3), 1),
                                              "detail": "l" if age < 24 else "h"})
                                seen.add(("TIMBANG", on))
                                records.append({"person_id": person_id, "code": "TIMBANG", "done_on": on, "precision": "day",
                                                "source": "kader", "created_at": NOW})
        async with db.write() as session:
            for model, rows in ((Family, fams), (Person, people), (Visit, visits), (Measurement, sizes), (CareRecord, records)):
                for i in range(0, len(rows), 5000):
                    await session.execute(insert(model), rows[i:i + 5000])
    async with db.write() as session:
        if url.startswith("postgresql"):
            for table in ("family", "person", "visit"):
                await session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
            await session.execute(text("ANALYZE"))
        else:
            await session.execute(text("ANALYZE"))
    await db.dispose()
    return pid


async def serve_and_read(url: str, puskesmas_id: int, paths: list[str], clients: int, rounds: int) -> dict:
    import aiohttp
    from aiohttp import web

    from config import load_settings
    from db.database import Database
    from db.models import Puskesmas
    from db.web_auth import create_link, sign_in_url
    from metrics import Metrics
    from web.app import build_app

    base = load_settings(env={})
    from dataclasses import replace

    settings = replace(base, database=replace(base.database, url=url))
    db = Database(url)
    app = build_app(db=db, settings=settings, metrics=Metrics(), clock=lambda: NOW, dispatching=False)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    root = f"http://127.0.0.1:{port}"
    async with db.read() as session:
        assert await session.get(Puskesmas, puskesmas_id) is not None
    sessions = []
    for _ in range(clients):
        async with db.write() as session:
            token = await create_link(session, puskesmas_id=puskesmas_id, identity_id=None, now=NOW)
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        link = sign_in_url(root, token)
        async with http.get(link) as r:
            assert r.status == 200
        async with http.post(link, allow_redirects=False) as r:  # not following to "/": the cold reading is the first
            assert r.status == 303, r.status
        sessions.append(http)
    results = {}
    for path in paths:
        async def one(http):
            began = time.perf_counter()
            async with http.get(root + path) as r:
                await r.read()
                assert r.status == 200, (path, r.status)
            return time.perf_counter() - began
        cold = await one(sessions[0])
        times = []
        cpu = time.process_time()
        for _ in range(rounds):
            times += await asyncio.gather(*(one(h) for h in sessions))
        cpu = time.process_time() - cpu
        times.sort()
        results[path] = {"cold_ms": cold * 1000, "p50_ms": statistics.median(times) * 1000,
                         "p95_ms": times[int(0.95 * (len(times) - 1))] * 1000, "max_ms": times[-1] * 1000, "n": len(times),
                         "cpu_ms": cpu * 1000 / len(times)}
    for http in sessions:
        await http.close()
    await runner.cleanup()
    await db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=f"sqlite+aiosqlite:///{ROOT / 'var' / 'bench-dashboard.sqlite3'}")
    parser.add_argument("--families", type=int, default=8000)
    parser.add_argument("--paths", nargs="+", default=["/"])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="reuse the data written by a previous run")
    args = parser.parse_args()
    began = time.perf_counter()
    if args.keep:
        from sqlalchemy import select

        from db.database import Database
        from db.models import Puskesmas

        async def find() -> int:
            db = Database(args.url)
            async with db.read() as session:
                found = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "PBENCH"))
            await db.dispose()
            return found
        pid = asyncio.run(find())
    else:
        pid = asyncio.run(generate(args.url, args.families))
    print(f"data ready in {time.perf_counter() - began:.1f} s ({args.families} families); {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}", flush=True)
    results = asyncio.run(serve_and_read(args.url, pid, args.paths, args.clients, args.rounds))
    for path, r in results.items():
        print(f"{path}: cold {r['cold_ms']:.0f} ms; {r['n']} reads by {args.clients} clients: p50 {r['p50_ms']:.0f} ms, "
              f"p95 {r['p95_ms']:.0f} ms, max {r['max_ms']:.0f} ms; CPU {r['cpu_ms']:.1f} ms a reading (this process: "
              f"the server and the clients)", flush=True)


if __name__ == "__main__":
    main()
