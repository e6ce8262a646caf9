"""How long chats wait while a register sent by chat is checked and applied in the bot's event loop.

``python bench/import_job_stall.py --persons 50000``: a CSV of PERSONS persons (4 to a No KK) of Nagasepaha
is checked, then applied, through ``bot.register_check`` (the reader and importer of issue 17, as the import
runner calls them) on a fresh SQLite database, while a task that wakes every 5 ms records how late it wakes:
the longest wait is what a chat turn arriving during the import waits at most. Needs issue 17's reader and
importer (``registers.read``, ``registers.importer``); run from the project directory with ``PYTHONPATH=.``.
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

import bot
from db.database import Database
from db.demo import load_demo
from db.migrate import upgrade
from db.models import Puskesmas


def register(persons: int) -> bytes:
    lines = ["No KK;NIK;Nama;Tanggal Lahir;Jenis Kelamin;Kode Desa;Dusun;RT;RW"]
    for n in range(persons):
        kk = f"51080601{n // 4:08d}"
        year = 1960 + n % 60
        lines.append(f"{kk};;Warga {n};{1 + n % 28:02d}-{1 + n % 12:02d}-{year};{'LP'[n % 2]};51.08.06.2014;Banjar Kaja;3;2")
    return ("\n".join(lines) + "\n").encode()


async def measure(db: Database, data: bytes, apply: bool) -> tuple[float, float, float]:
    async with db.read() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
    lags: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - start - 0.005)

    beat = asyncio.create_task(heartbeat())
    start = time.perf_counter()
    text, _errors, ok = await bot.register_check(db)(data, "sasaran.csv", puskesmas_id=puskesmas_id, apply=apply,
                                                     actor="bench", actor_id=None, lang="id")
    took = time.perf_counter() - start
    done.set()
    await beat
    lags.sort()
    print(text.splitlines()[0] if text else "", "| ok:", ok)
    return took, lags[-1], lags[int(len(lags) * 0.99)]


async def main(url: str, persons: int) -> None:
    db = Database(url)
    await load_demo(db)
    data = register(persons)
    print(f"{persons} persons, {len(data) / 1024 / 1024:.1f} MB CSV")
    for apply in (False, True):
        took, worst, p99 = await measure(db, data, apply)
        print(f"{'apply' if apply else 'check'}: {took:.1f} s; the loop waited at most {worst * 1000:.0f} ms (p99 {p99 * 1000:.0f} ms)")
    await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=50_000)
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(database)
        asyncio.run(main(database, parser.parse_args().persons))
