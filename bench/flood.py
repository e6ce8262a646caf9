"""One chat floods while other families talk: their reply latency, with Telegram's flood limits enforced.

The real engine and Telegram channel (polling) run in this process against the fake Bot API
(``tests/fakes/telegram_api.py``) on 127.0.0.1, which answers 429 with ``retry_after`` beyond 1 message a
second per chat and 30 a second per bot, as Telegram does. One chat posts every ``--every`` seconds for
``--seconds`` seconds; ``--families`` other chats each send an ordinary message, wait for the answer, think
1-1.5 s and send the next. What they wait for each time is measured (the push of the update to the first
message sent to their chat).

Three set-ups side by side in one run, each on a fresh SQLite database and a fresh fake:

- ``main``: no inbound limit and main's send path (a 429 is waited out inside the polling batch);
- ``off``: no inbound limit, the new send path (a 429 for one chat holds up no other chat);
- ``on``: the inbound limit (``inbound.burst`` 10, ``inbound.per_minute`` 30) and the new send path.

``--repeat`` runs the three that many times; the best and the worst run of each are printed.

    python bench/flood.py --repeat 3
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from channels.telegram import TelegramChannel  # noqa: E402
from config import load_settings  # noqa: E402
from db.database import Database  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import InboundMessage  # noqa: E402
from handlers.engine import Engine  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

FLOOD_CHAT = 555_000_001
FAMILY_CHAT = 556_000_000
DRAIN = 30.0  # seconds after the flood that the families' last messages may take; later is "unanswered"
SETUPS = ("main", "off", "on")


class MainChannel(TelegramChannel):
    """The channel with main's send path: a turn's replies sent in the batch, a 429 waited out there."""

    async def _deliver(self, address, replies) -> None:
        if not replies:
            return
        try:
            await self.send_replies(int(address), replies)
        except Exception as exc:  # as main: logged, the turn is stored
            logging.getLogger(__name__).debug("a reply could not be sent: %s", exc)


class TimedFake(FakeTelegram):
    """The fake, resolving a family's waiter at the first message sent to its chat."""

    def reset(self) -> None:
        super().reset()
        self.waiters: dict[int, asyncio.Future] = {}

    def _record(self, method, chat_id, params, files, result) -> None:
        super()._record(method, chat_id, params, files, result)
        waiter = self.waiters.get(chat_id)
        if waiter is not None and not waiter.done() and method == "sendMessage":
            waiter.set_result(time.perf_counter())


@dataclass
class Run:
    setup: str
    latencies: list[float] = field(default_factory=list)
    unanswered: int = 0
    flood_sent: int = 0  # messages the flooding chat posted
    flood_answers: int = 0  # messages the bot sent to it
    flood_notices: int = 0
    rate_429: int = 0
    rate_429_flood: int = 0
    flood_stored: int = 0  # the flooding chat's messages handled and stored as turns
    family_sent: int = 0

    def pct(self, q: float) -> float:
        """A percentile of the others' waits, an unanswered message counting as an endless wait."""
        data = sorted(self.latencies) + [float("inf")] * self.unanswered
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(q * len(data)))]

    def line(self) -> str:
        return (f"{self.setup:>4}: others' replies p50 {_ms(self.pct(0.5))}, p99 {_ms(self.pct(0.99))}, "
                f"max {_ms(self.pct(1.0))}, {len(self.latencies)} answered, "
                f"{self.unanswered} unanswered in {DRAIN:.0f} s; 429s {self.rate_429} ({self.rate_429_flood} to the flooding chat); "
                f"flood: {self.flood_sent} sent, {self.flood_stored} handled, {self.flood_answers} answers ({self.flood_notices} notices)")


def _ms(seconds: float) -> str:
    return f"{'> ' + format(DRAIN, '.0f') + ' s':>8}" if seconds == float("inf") else f"{seconds * 1000:5.0f} ms"


async def family(fake: TimedFake, chat: int, until: float, run: Run, rng: random.Random) -> None:
    """One family: a message, its answer, 1-1.5 s of thought, until ``until`` (then its last answer)."""
    loop = asyncio.get_running_loop()
    words = ("halo", "bantuan", "/start", "menu")
    n = 0
    await asyncio.sleep(rng.uniform(0, 1.0))
    while time.perf_counter() < until:
        future = loop.create_future()
        fake.waiters[chat] = future
        started = time.perf_counter()
        fake.push_text(chat, words[n % len(words)])
        run.family_sent += 1
        n += 1
        try:
            done = await asyncio.wait_for(future, max(0.1, until + DRAIN - time.perf_counter()))
        except TimeoutError:
            run.unanswered += 1
            return
        run.latencies.append(done - started)
        await asyncio.sleep(rng.uniform(1.0, 1.5))


async def flood(fake: TimedFake, seconds: float, every: float, run: Run) -> None:
    start = time.perf_counter()
    n = 0
    while (now := time.perf_counter()) < start + seconds:
        fake.push_text(FLOOD_CHAT, f"pesan {n}")
        n += 1
        await asyncio.sleep(max(0.0, start + n * every - now))
    run.flood_sent = n


async def one(setup: str, args, workdir: Path, seed: int) -> Run:
    url = f"sqlite+aiosqlite:///{workdir / f'flood-{setup}-{seed}.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    base = load_settings(env={})
    inbound = base.inbound if setup == "on" else replace(base.inbound, per_minute=0)
    settings = replace(base, database=replace(base.database, url=url), inbound=inbound)
    db = Database(url)
    engine = Engine(db, settings)
    run = Run(setup)
    async with TimedFake() as fake:
        fake.enforce_rate(1.0, 30.0)  # Telegram: 1 a second per chat, 30 a second per bot
        config = replace(settings.telegram, token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        kind = MainChannel if setup == "main" else TelegramChannel
        channel = kind(config, engine.handle, poll_timeout=1, freeze_gc=False)
        await channel.start()
        try:
            rng = random.Random(seed)
            until = time.perf_counter() + args.seconds
            await asyncio.gather(
                flood(fake, args.seconds, args.every, run),
                *(family(fake, FAMILY_CHAT + i, until, run, rng) for i in range(args.families)),
            )
        finally:
            stop = asyncio.create_task(channel.stop())
            await asyncio.wait({stop}, timeout=60)
        flood_texts = [c.text or "" for c in fake.sent if c.method == "sendMessage" and c.chat_id == FLOOD_CHAT]
        run.flood_answers = len(flood_texts)
        run.flood_notices = sum("terlalu cepat" in t for t in flood_texts)
        run.rate_429 = fake.rate_violations
        run.rate_429_flood = fake.rate_violations_by_chat[FLOOD_CHAT]
    async with db.read() as session:
        stored = await session.scalar(select(func.count()).select_from(InboundMessage))
    run.flood_stored = stored - run.family_sent
    await db.dispose()
    return run


async def main(args) -> None:
    logging.basicConfig(level=logging.ERROR)
    print(f"machine: {os.cpu_count()} cpus (nproc {len(os.sched_getaffinity(0))}), {platform.machine()}, Python {platform.python_version()}")
    print(f"one chat posts every {args.every * 1000:.0f} ms for {args.seconds:.0f} s; {args.families} other families "
          f"send a message, wait for the answer, think 1-1.5 s; the fake enforces 1/s per chat, 30/s per bot")
    runs: dict[str, list[Run]] = {s: [] for s in args.setups}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for setup in args.setups:
                run = await one(setup, args, Path(tmp), seed=i)
                runs[setup].append(run)
                print(f"run {i + 1}: {run.line()}", flush=True)
    print("\nbest and worst run (by the others' p99):")
    for setup, done in runs.items():
        ranked = sorted(done, key=lambda r: r.pct(0.99))
        print(f"best  {ranked[0].line()}")
        print(f"worst {ranked[-1].line()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the chat floods (default 20)")
    parser.add_argument("--every", type=float, default=0.01, help="seconds between its messages (default 0.01)")
    parser.add_argument("--families", type=int, default=20, help="other families talking meanwhile (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each set-up (default 3)")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS)
    asyncio.run(main(parser.parse_args()))
