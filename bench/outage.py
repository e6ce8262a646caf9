"""Outage: two dispatchers on one PostgreSQL, the database cut for 30 s in the middle of a dispatch.

    python bench/outage.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/postgres [--rows 3000] [--rate 30]
                           [--cut 30] [--cut-after 20] [--lease 60]

A scratch database ``ilpbot_outage_<pid>`` is created on that server (migrated, dropped afterwards) and
filled with ``--rows`` due outbox rows, one per Telegram chat. Two :class:`reminders.dispatcher.Dispatcher`
instances, each with its own engine and its own Telegram channel, send them at ``--rate`` messages per
second each (defaults as in production: 60 s lease, batches of half a lease) to the fake Bot API
(tests/fakes/telegram_api.py). Both reach PostgreSQL through a TCP proxy (tests/fakes/tcp_proxy.py):
``--cut-after`` seconds after the first message it resets every connection and refuses new ones for
``--cut`` seconds. When every row is final the fake's record is compared with the outbox.

Pass: every row ``sent``, every message delivered, duplicates (a chat getting the same text twice) at
most one per instance (the send in flight at the cut). Exit status 0 on pass, 1 on fail.
"""
from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import os
import platform
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from channels.messages import Incoming, Reply  # noqa: E402
from channels.telegram import TelegramChannel  # noqa: E402
from config import TelegramConfig  # noqa: E402
from db.database import Database  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Identity, Outbox  # noqa: E402
from reminders.dispatcher import Dispatcher  # noqa: E402
from tests.fakes.tcp_proxy import TcpProxy  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

TEXT = "Selamat pagi, Ibu {n}. Besok ada posyandu di Posyandu Nagasepaha jam 08.00 WITA. Bawa buku KIA."


async def _no_handler(incoming: Incoming) -> list[Reply]:
    return []


async def fill(db: Database, rows: int) -> None:
    now = datetime.now(UTC)
    async with db.write() as session:
        await session.execute(insert(Identity), [
            {"channel": "telegram", "address": str(7_100_000_000 + i), "language": "id", "role": "family",
             "consent": "given", "consent_version": "2026-11", "consent_at": now, "created_at": now} for i in range(rows)])
        ids = (await session.execute(select(Identity.id, Identity.address).order_by(Identity.id))).all()
        await session.execute(insert(Outbox), [
            {"key": f"daily:{identity_id}:outage", "identity_id": identity_id, "channel": "telegram", "address": address,
             "kind": "daily", "body": {"text": TEXT.format(n=n), "lang": "id"}, "timezone": "Asia/Makassar",
             "state": "pending", "not_before": now - timedelta(minutes=1), "expires_at": None, "attempts": 0, "created_at": now}
            for n, (identity_id, address) in enumerate(ids)])


async def states(db: Database) -> dict[str, int]:
    async with db.read() as session:
        return dict((await session.execute(select(Outbox.state, func.count()).group_by(Outbox.state))).all())


async def run(url: str, args) -> bool:
    db = Database(url)
    await fill(db, args.rows)
    target = make_url(url)
    async with FakeTelegram() as fake, TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        databases = [Database(proxied) for _ in range(2)]
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channels = [TelegramChannel(config, _no_handler) for _ in range(2)]
        options = {"rates": {"telegram": args.rate}, "per_chat_interval": 0.0, "quiet_hours": (0, 0), "lease_seconds": args.lease}
        dispatchers = [Dispatcher(d, {"telegram": c.send_one}, **options) for d, c in zip(databases, channels)]
        grace = "takeover_grace" in inspect.signature(Dispatcher).parameters
        print(f"{args.rows} rows, 2 dispatchers at {args.rate:g}/s each, lease {args.lease:g} s"
              f"{f', takeover grace {dispatchers[0].takeover_grace:g} s' if grace else ' (no takeover grace: an older dispatcher)'}")
        stop = asyncio.Event()
        loops = [asyncio.create_task(d.run(stop)) for d in dispatchers]
        t0 = time.monotonic()
        try:
            await fake.wait_for(lambda: len(fake.sent) >= 1, timeout=60)
            first = time.monotonic()
            await asyncio.sleep(args.cut_after)
            at_cut = len(fake.sent)
            proxy.cut()
            print(f"cut at {time.monotonic() - t0:.1f} s, {at_cut} delivered; {args.cut:g} s without the database")
            await asyncio.sleep(args.cut)
            during = len(fake.sent) - at_cut
            await proxy.restore()
            print(f"restored at {time.monotonic() - t0:.1f} s; {during} messages delivered during the cut")
            deadline = time.monotonic() + args.rows / args.rate + 3 * args.lease + 120
            while time.monotonic() < deadline:
                now = await states(db)
                if not now.get("pending") and not now.get("sending"):
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(1.0)  # a late copy would show now
        finally:
            stop.set()
            await asyncio.gather(*loops, return_exceptions=True)
            for channel in channels:
                await channel.stop()
            for database in databases:
                await database.dispose()
        final = await states(db)
        await db.dispose()
        copies = fake.count_texts()
        duplicates = sum(n - 1 for n in copies.values() if n > 1)
        print(f"done at {time.monotonic() - t0:.1f} s ({time.monotonic() - first:.1f} s from the first message)")
        print(f"outbox {final}; sendMessage {len(fake.sent)}, distinct (chat, text) {len(copies)}")
        print(f"per instance: {[{k: v for k, v in d.totals.as_dict().items() if v} for d in dispatchers]}")
        ok = final == {"sent": args.rows} and len(copies) == args.rows and duplicates <= 2
        print(f"DUPLICATES {duplicates} (allowed 2: one per instance) -> {'PASS' if ok else 'FAIL'}")
        return ok


async def _pg(admin_url: str, sql: str) -> None:
    import asyncpg

    base = admin_url.replace("postgresql+asyncpg://", "postgresql://").rpartition("/")[0]
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main_async(args) -> int:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    scratch = f"ilpbot_outage_{os.getpid()}"
    base = args.db.rpartition("/")[0]
    await _pg(args.db, f'DROP DATABASE IF EXISTS "{scratch}"')
    await _pg(args.db, f'CREATE DATABASE "{scratch}"')
    url = f"{base}/{scratch}"
    try:
        await asyncio.to_thread(upgrade, url)
        return 0 if await run(url, args) else 1
    finally:
        await _pg(args.db, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a PostgreSQL URL (a scratch database is made on that server)")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=30.0, help="messages per second per dispatcher (default 30)")
    parser.add_argument("--cut", type=float, default=30.0, help="seconds without the database (default 30)")
    parser.add_argument("--cut-after", type=float, default=20.0, help="seconds after the first message (default 20)")
    parser.add_argument("--lease", type=float, default=60.0, help="the dispatchers' lease (default 60 s, as in production)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
