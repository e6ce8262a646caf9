"""A month of a 20-posyandu puskesmas synced to the fake SATUSEHAT at the rate limit (issue 19, "Speed").

    .venv/bin/python bench/satusehat_sync.py --visits 2000 --per-minute 300

Builds a SQLite database with one puskesmas of 20 posyandu and ``--visits`` children, each with a NIK and one
visit in November 2026 (weight, length lying, head circumference) and every second one a dose given there
(lot number and expiry), then runs ``satusehat.sync.sync_once`` passes against the fake SATUSEHAT of
tests/satusehat/fake_server.py (127.0.0.1, every body validated with the R4B models and SATUSEHAT's rules)
until nothing is due. The client paces itself to ``--per-minute`` on a virtual clock: the script reports
the requests made, the requests per visit, the time the sync takes at the limit (virtual), and the CPU and
wall time the bot's side spent (real, the fake's work included: both run in this process).
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from care.rules_file import load_schedule  # noqa: E402
from config import load_settings  # noqa: E402
from db.database import Database  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import CareRecord, Family, Measurement, Person, Posyandu, Puskesmas, Visit  # noqa: E402
from satusehat.client import Client  # noqa: E402
from satusehat.queue import collect  # noqa: E402
from satusehat.sync import sync_once  # noqa: E402
from tests.satusehat.fake_server import CLIENT_ID, CLIENT_SECRET, FakeSatusehat  # noqa: E402

ORG = "10000004"
AT = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def populate(db: Database, visits: int, fake: FakeSatusehat) -> tuple[int, dict[str, str]]:
    locations = {}
    async with db.write() as session:
        pkm = Puskesmas(code="P0000000001", name="Puskesmas Bench", district_code="51.08", district_name="Buleleng",
                        timezone="Asia/Makassar", created_at=AT)
        session.add(pkm)
        await session.flush()
        posyandu = []
        for n in range(20):
            p = Posyandu(puskesmas_id=pkm.id, code=f"PY-B{n:02d}", name=f"Posyandu {n}", village_code=f"51.08.06.{2000 + n}",
                         village_name=f"Desa {n}", schedule={"monthly_day": 1 + n}, created_at=AT)
            session.add(p)
            posyandu.append(p)
            locations[p.code] = f"loc-{n:04d}"
        await session.flush()
        for i in range(visits):
            where = posyandu[i % 20]
            family = Family(posyandu_id=where.id, code=f"B{i:07d}", name=f"Keluarga {i}", created_at=AT, updated_at=AT)
            session.add(family)
            await session.flush()
            nik = f"510806{(i % 28) + 1:02d}0125{i:04d}"[:16]
            child = Person(family_id=family.id, name=f"Anak {i}", sex="MF"[i % 2], birth_date=date(2026, 1, 1) + timedelta(days=i % 90),
                           nik=nik, created_at=AT, updated_at=AT)
            session.add(child)
            await session.flush()
            fake.add_patient(f"P{i:08d}", nik=nik, birth_date=child.birth_date.isoformat())
            day = date(2026, 11, 1) + timedelta(days=i % 28)
            at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=2)
            visit = Visit(person_id=child.id, posyandu_id=where.id, visited_on=day, place="posyandu", created_at=at)
            session.add(visit)
            await session.flush()
            for kind, value, detail in (("weight_kg", 7.5, None), ("length_cm", 66.0, "l"), ("head_cm", 42.0, None)):
                session.add(Measurement(visit_id=visit.id, kind=kind, value=value, detail=detail))
            if i % 2 == 0:
                session.add(CareRecord(person_id=child.id, code="DPT_HB_HIB2", done_on=day, source="kader", visit_id=visit.id,
                                       detail={"lot": "B1", "expiry": "2027-12-31"}, created_at=at))
        return pkm.id, locations


async def main(url: str, visits: int, per_minute: float) -> None:
    from dataclasses import replace

    db = Database(url)
    fake = FakeSatusehat(ORG)
    pid, locations = await populate(db, visits, fake)
    base = load_settings(env={})
    settings = replace(base, satusehat=replace(base.satusehat, enabled=True, organization_id=ORG, locations=locations))
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    url_base = str(server.make_url("")).rstrip("/")
    clock = VirtualClock()
    schedule = load_schedule().immunization
    async with db.write() as session:
        queued = await collect(session, pid, AT - timedelta(days=1), AT + timedelta(days=40))
    cpu, wall = time.process_time(), time.perf_counter()
    passes = 0
    async with aiohttp.ClientSession() as http:
        client = Client(http, auth_url=f"{url_base}/oauth2/v1", base_url=f"{url_base}/fhir-r4/v1", client_id=CLIENT_ID,
                        client_secret=CLIENT_SECRET, per_minute=per_minute, clock=clock.clock, sleep=clock.sleep)
        now = AT + timedelta(days=40)
        while True:
            done = await sync_once(db, client, settings, schedule, now, limit=1000)
            passes += 1
            if sum(done.outcomes.values()) == 0:
                break
            now += timedelta(minutes=11)  # the next pass: waiting Observations' Encounters are sent by then
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await server.close()
    async with db.read() as session:
        from satusehat.queue import status

        states = await status(session)
    await db.dispose()
    sent = sum(n for _k, s, n in states if s == "sent")
    print(f"queued {queued['new']} items for {visits} visits; {passes} passes; states {states}")
    print(f"sent {sent}; requests {client.requests} ({client.requests / visits:.2f} per visit); "
          f"duplicates at the fake {fake.duplicates}; unexpected {len(fake.unexpected)}")
    print(f"at {per_minute:g}/min: {clock.now / 60:.1f} min (virtual); bot and fake CPU {cpu:.1f} s, wall {wall:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=2000)
    parser.add_argument("--per-minute", type=float, default=300.0)
    args = parser.parse_args()
    database = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    upgrade(database)
    asyncio.run(main(database, args.visits, args.per_minute))
