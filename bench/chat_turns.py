"""Drives N simulated families through registration concurrently, in-process through the engine.

Prints turns per second and p50 / p99 turn latency for SQLite and (when reachable) PostgreSQL.

    python bench/chat_turns.py [--families 200] [--concurrency 50] [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from channels.messages import Incoming  # noqa: E402
from config import load_settings  # noqa: E402
from db.database import Database  # noqa: E402
from db.demo import load_demo  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from handlers.engine import Engine  # noqa: E402

VILLAGES = ["Nagasepaha", "Alasangker", "Jinengdalem", "Petandakan", "Fajar Agung", "Podomoro"]


def script(n: int) -> list[tuple[str, str]]:
    """The turns of one family: ("text", ...) typed or ("press", label) buttons."""
    return [
        ("text", "/start"), ("press", "Ya"), ("press", "Bahasa Indonesia"),
        ("text", VILLAGES[n % len(VILLAGES)]), ("press", "Posyandu"),
        ("text", f"Wayan Sudarma {chr(65 + n % 26)}"), ("text", "Banjar Kaja"), ("text", "003/002"),
        ("text", "Ni Made Sari"), ("press", "Perempuan"), ("text", "12-03-1996"), ("press", "Ya"),
        ("press", "Usia kehamilan"), ("text", "20 minggu"),
        ("press", "Tambah anggota"), ("text", "Putu Ayu"), ("press", "Perempuan"), ("text", "1/2/2022"),
        ("press", "Tambah anggota"), ("text", "Kadek Bayu"), ("press", "Laki-laki"), ("text", "5/9/2026"),
        ("press", "Selesai"),
    ]


async def family(engine: Engine, n: int, latencies: list[float], gate: asyncio.Semaphore) -> None:
    """One family's registration, turn by turn, recording each turn's latency."""
    address = f"bench-{n}"
    replies = []
    async with gate:
        for i, (kind, value) in enumerate(script(n)):
            if kind == "press":
                data = next(c.data for r in replies for c in r.choices if c.label.startswith(value))
                incoming = Incoming("local", address, message_id=f"{address}:{i}", choice=data)
            else:
                incoming = Incoming("local", address, message_id=f"{address}:{i}", text=value)
            start = time.perf_counter()
            replies = await engine.handle(incoming)
            latencies.append(time.perf_counter() - start)
        assert "Pendaftaran selesai" in replies[-1].text, replies[-1].text


async def run(url: str, families: int, concurrency: int) -> dict:
    """Migrates, loads the demo, runs every family; returns the figures."""
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    await load_demo(db)
    base = load_settings(env={})
    engine = Engine(db, replace(base, database=replace(base.database, url=url)))
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    start = time.perf_counter()
    await asyncio.gather(*(family(engine, n, latencies, gate) for n in range(families)))
    wall = time.perf_counter() - start
    await db.dispose()
    latencies.sort()
    return {
        "turns": len(latencies),
        "wall_s": wall,
        "turns_per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


async def pg_database(admin_url: str) -> tuple[str, str]:
    """A new empty PostgreSQL database for the run: (url, name)."""
    import asyncpg

    name = f"ilpbot_bench_{uuid.uuid4().hex[:8]}"
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name, name


async def drop_pg(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}, {platform.platform()}")
    print(f"families: {args.families} ({len(script(0))} turns each), concurrency: {args.concurrency}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = asyncio.run(run(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", args.families, args.concurrency))
    if not args.skip_pg:
        try:
            url, name = asyncio.run(pg_database(args.pg))
        except Exception as exc:  # noqa: BLE001 - a missing server is reported, not fatal
            print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
        else:
            try:
                results["postgresql"] = asyncio.run(run(url, args.families, args.concurrency))
            finally:
                asyncio.run(drop_pg(args.pg, name))
    print(f"{'database':<12}{'turns':>8}{'wall s':>9}{'turns/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in results.items():
        print(f"{name:<12}{r['turns']:>8}{r['wall_s']:>9.1f}{r['turns_per_s']:>10.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}")


if __name__ == "__main__":
    main()
