"""Outbox dispatch through the fake Bot API: achieved rate at Telegram's limit, and unlimited throughput.

A SQLite file (migrated with ``db.migrate.upgrade``) is filled with outbox rows for distinct chats;
one :class:`reminders.dispatcher.Dispatcher` sends them through ``TelegramChannel.send_one`` to a
FakeTelegram running in a separate process on 127.0.0.1 (so the fake's CPU is not the bot's).

* rate run: the fake enforces Telegram's flood control (30/s global, 1/s per chat) and answers 429
  when exceeded; the dispatcher runs at ``--rate`` (30/s). Pass: achieved >= 95% of the rate, no 429.
  By default 3,000 rows (100 s); ``--rate-rows 20000`` for the full 20,000 (11 minutes).
* unlimited run: no rate limit anywhere; 20,000 rows. Target: >= 500 messages per second.

Both runs: duplicates counted by the fake (same chat and text twice) must be 0, every row "sent".
Quiet hours are switched off (the bench must not depend on the hour it is run at).

``--bots N`` (issue 20): N bots (channel accounts "default", "b1", ...) on one fake Bot API, each with its
own flood control (30/s, 1/s per chat); the chats are spread over the bots (each recorded with its account),
and the one dispatcher sends each chat's row through its own bot. Rate run pass: N bots together at least
29 msg/s each (87 for 3), no 429.

    python bench/dispatch.py [--rows 20000] [--rate-rows 3000] [--rate 30] [--only rate|unlimited] [--sender lean|ptb] [--bots N]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402

from channels.messages import Incoming, Reply  # noqa: E402
from channels.telegram import TelegramChannel  # noqa: E402
from config import TelegramConfig  # noqa: E402
from db.database import Database  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Identity, Outbox  # noqa: E402
from reminders.dispatcher import FINAL_STATES, Dispatcher  # noqa: E402

TEXT = ("Selamat pagi, Ibu {n}. Besok Selasa ada posyandu di Posyandu Nagasepaha jam 08.00 WITA. "
        "Bawa buku KIA: imunisasi DPT-HB-Hib 2 dan vitamin A sudah waktunya.")


# ------------------------------------------------------------------ the fake, in its own process


def tokens(bots: int) -> list[str]:
    """The fake bots' tokens (the first is FakeTelegram's default one)."""
    from tests.fakes.telegram_api import DEFAULT_TOKEN

    return [DEFAULT_TOKEN] + [f"{900000000 + n}:AAFakeBenchBot{n}_abcdefghijklmnopqrs" for n in range(1, bots)]


def accounts(bots: int) -> list[str]:
    """The accounts' names: "default", then b1, b2, ..."""
    return ["default"] + [f"b{n}" for n in range(1, bots)]


async def _fake_server(bots: int) -> None:
    """Runs the fake bots (one server); answers one-line commands on stdin with one JSON line on stdout."""
    from tests.fakes.telegram_bots import FakeTelegramBots

    loop = asyncio.get_running_loop()
    async with FakeTelegramBots(tokens(bots)) as server:
        fakes = list(server.bots.values())
        print(json.dumps({"url": server.base_url, "file_url": server.base_file_url, "tokens": tokens(bots)}), flush=True)
        started_cpu = time.process_time()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not line or line[0] == "quit":
                return
            if line[0] == "reset":
                for fake in fakes:
                    fake.reset()
                started_cpu = time.process_time()
                answer: dict = {"ok": True}
            elif line[0] == "enforce":  # each bot its own flood control, as Telegram counts per bot
                for fake in fakes:
                    fake.enforce_rate(per_chat_per_second=float(line[1]), global_per_second=float(line[2]))
                answer = {"ok": True}
            else:  # stats
                per_bot = [[c.at for c in fake.sent if c.method == "sendMessage"] for fake in fakes]
                sends = [at for bot_sends in per_bot for at in bot_sends]
                span = (max(sends) - min(sends)) if len(sends) > 1 else 0.0
                answer = {
                    "sent": len(sends),
                    "per_bot": [len(bot_sends) for bot_sends in per_bot],
                    "per_bot_rate": [(len(b) - 1) / (max(b) - min(b)) if len(b) > 1 and max(b) > min(b) else 0.0 for b in per_bot],
                    "distinct": sum(len(fake.count_texts()) for fake in fakes),
                    "duplicates": sum(fake.duplicates for fake in fakes),
                    "rejected": sum(len(fake.rejected) for fake in fakes),
                    "too_many_requests": sum(1 for fake in fakes for c in fake.rejected if c.error_code == 429),
                    "rate_violations": sum(fake.rate_violations for fake in fakes),
                    "span": span,
                    "server_rate": (len(sends) - 1) / span if span else 0.0,
                    "cpu": time.process_time() - started_cpu,
                }
            print(json.dumps(answer), flush=True)


class FakeProcess:
    """The fake Bot API in a child process, driven over its stdin/stdout."""

    def __init__(self, bots: int = 1) -> None:
        root = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--fake-server", "--bots", str(bots)], cwd=root,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        self.info = json.loads(self.proc.stdout.readline())

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        try:
            self.ask("quit")
        except (BrokenPipeError, ValueError, json.JSONDecodeError):
            pass
        self.proc.wait(timeout=10)


# ------------------------------------------------------------------ one run


async def _fill(db: Database, rows: int, now: datetime, bots: int = 1) -> None:
    """``rows`` identities with one due outbox row each (distinct chats), spread over the bots' accounts."""
    names = accounts(bots)
    async with db.write() as session:
        await session.execute(insert(Identity), [
            {"channel": "telegram", "address": str(7_000_000_000 + i), "account": names[i % bots], "language": "id", "role": "family",
             "consent": "given", "consent_version": "2026-11", "consent_at": now, "created_at": now}
            for i in range(rows)
        ])
        ids = (await session.execute(select(Identity.id, Identity.address).order_by(Identity.id))).all()
        await session.execute(insert(Outbox), [
            {"key": f"daily:{identity_id}:bench", "identity_id": identity_id, "channel": "telegram", "address": address,
             "kind": "daily", "body": {"text": TEXT.format(n=i), "lang": "id"}, "timezone": "Asia/Makassar",
             "state": "pending", "not_before": now - timedelta(minutes=1), "expires_at": now + timedelta(days=1),
             "attempts": 0, "created_at": now}
            for i, (identity_id, address) in enumerate(ids)
        ])


async def _no_handler(incoming: Incoming) -> list[Reply]:
    return []


async def run(fake: FakeProcess, rows: int, rate: float | None, args) -> dict:
    """Sends ``rows`` messages at ``rate`` (None: unlimited); returns the figures."""
    fake.ask("reset")
    if rate is not None:
        fake.ask("enforce 1 30")  # Telegram's documented limits; 429 beyond them
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'dispatch.sqlite3'}"
        await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
        db = Database(url)
        await _fill(db, rows, datetime.now(UTC), args.bots)
        channels = {}
        for name, token in zip(accounts(args.bots), fake.info["tokens"]):
            config = TelegramConfig(token=token, base_url=fake.info["url"], base_file_url=fake.info["file_url"])
            channels[name] = TelegramChannel(config, _no_handler, account=name)
        channel = channels["default"]
        config = channel.config
        senders = {("telegram", name): c.send_one for name, c in channels.items()}
        if args.sender == "ptb":  # the same messages through PTB's Bot (for comparison)
            from telegram import Bot

            bot = Bot(config.token, base_url=config.base_url, base_file_url=config.base_file_url)
            await bot.initialize()

            async def ptb_send(address: str, reply: Reply) -> str:
                return str((await bot.send_message(int(address), reply.text)).message_id)

            senders = {("telegram", "default"): ptb_send}

        dispatcher = Dispatcher(
            db, senders, rates={"telegram": rate}, quiet_hours=(0, 0),
            batch=args.batch, concurrency=args.concurrency, idle_seconds=0.05,
        )
        stop = asyncio.Event()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        loop = asyncio.create_task(dispatcher.run(stop))
        t = dispatcher.totals
        while t.sent + t.failed + t.blocked + t.expired + t.cancelled < rows and not loop.done():
            await asyncio.sleep(0.01)
        stop.set()
        await loop
        elapsed, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if args.sender == "ptb":
            await bot.shutdown()
        for each in channels.values():
            await each.stop()
        async with db.read() as session:
            by_state = dict((await session.execute(select(Outbox.state, func.count()).group_by(Outbox.state))).all())
        await db.dispose()
    server = fake.ask("stats")
    return {
        "rows": rows, "rate": rate, "bots": args.bots, "sender": args.sender, "elapsed": elapsed, "achieved": t.sent / elapsed, "bot_cpu": cpu,
        "states": by_state, "stats": t.as_dict(), "server": server,
        "complete": set(by_state) <= FINAL_STATES and by_state.get("sent") == rows,
    }


def report(name: str, result: dict, target: float, *, rate_run: bool) -> bool:
    server = result["server"]
    print(f"\n== {name}: {result['rows']} rows, {result['bots']} bot(s), dispatcher rate {result['rate'] or 'unlimited'} "
          f"per bot, sender {result['sender']}")
    print(f"  wall {result['elapsed']:.2f} s, achieved {result['achieved']:.1f} msg/s "
          f"(fake's first to last send: {server['server_rate']:.1f} msg/s over {server['span']:.1f} s)")
    print(f"  bot process CPU {result['bot_cpu']:.1f} s ({result['bot_cpu'] / result['elapsed']:.0%} of one core), "
          f"fake process CPU {server['cpu']:.1f} s")
    if result["bots"] > 1:
        print(f"  per bot: sendMessage {server['per_bot']}, rate first to last send "
              f"{', '.join(f'{r:.1f}' for r in server['per_bot_rate'])} msg/s")
    print(f"  outbox states {result['states']}")
    print(f"  dispatcher {result['stats']}")
    print(f"  fake: {server['sent']} sendMessage, {server['distinct']} distinct (chat, text), duplicates {server['duplicates']}, "
          f"429s {server['too_many_requests']}, rejected {server['rejected']}")
    ok = result["complete"] and server["duplicates"] == 0 and server["sent"] == result["rows"]
    ok = ok and result["achieved"] >= target
    if rate_run:
        ok = ok and server["too_many_requests"] == 0
    print(f"  target: >= {target:.1f} msg/s{', zero 429' if rate_run else ''}, zero duplicates -> {'PASS' if ok else 'FAIL'}")
    return ok


def machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{platform.node()}: {os.cpu_count()} cores {model}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")


async def main_async(args) -> int:
    print(machine())
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    fake = FakeProcess(args.bots)
    ok = True
    try:
        if args.only in (None, "rate"):
            result = await run(fake, args.rate_rows, args.rate, args)
            target = 0.95 * args.rate if args.bots == 1 else args.rate * args.bots * 29 / 30  # 3 bots: 87 msg/s
            ok &= report("rate", result, target, rate_run=True)
        if args.only in (None, "unlimited"):
            result = await run(fake, args.rows, None, args)
            ok &= report("unlimited", result, 500.0, rate_run=False)
    finally:
        fake.close()
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows for the unlimited run")
    parser.add_argument("--rate-rows", type=int, default=3_000, help="rows for the rate run (20000 = 11 minutes)")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--batch", type=int, default=600, help="rows per claim (the Dispatcher's default)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--only", choices=("rate", "unlimited"))
    parser.add_argument("--sender", choices=("lean", "ptb"), default="lean",
                        help="TelegramChannel.send_one (lean aiohttp) or PTB's Bot via TelegramChannel.send")
    parser.add_argument("--bots", type=int, default=1, help="bots (channel accounts) sending together, each at --rate")
    parser.add_argument("--fake-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bots < 1 or (args.bots > 1 and args.sender == "ptb"):
        parser.error("--bots: at least 1, and with the lean sender")
    if args.fake_server:
        asyncio.run(_fake_server(args.bots))
        return
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
