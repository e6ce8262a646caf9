"""Crash: the real bot is killed with SIGKILL at random moments while it sends a broadcast and a day's
reminders; nothing may be lost, and a kill may duplicate at most the one message that was in flight.

    python bench/crash.py [--messages 5000] [--kills 10] [--seed N] [--db PATH | --db postgresql+asyncpg://...]
                          [--rate 30] [--lapse-leases] [--keep]

1. Setup. A migrated database (``--db``: a new SQLite file, default a temporary one; or a PostgreSQL
   server, on which a scratch database ``ilpbot_crash_<pid>`` is created and dropped afterwards) gets the
   demo puskesmas and posyandu and ``--messages`` registered families of Puskesmas Buleleng III, each
   with its own Telegram chat, a mother and a two-month-old (so every family has immunisations due and
   the planner writes one reminder per family; 10% of the families read English). The puskesmas stays
   in WITA when it is daytime there, else it is moved to an ``Etc/GMT`` zone where it is about noon,
   so that the default quiet hours (20:00-06:00) and the reminders' expiry (20:00 local) hold nothing
   back. The planner's dry run (in this process) says how many reminders to expect.
2. The broadcast, the real way: ``bot.py run`` (reminders off) against a fake Bot API served by this
   process (tests/fakes/telegram_api.py); a staff chat consents, joins with a ``/staf`` invite and sends
   ``/umumkan`` -> Semua keluarga -> Seluruh puskesmas -> the text -> Kirim. The handler
   (handlers/staff.py) writes the broadcast and one outbox row per family. That bot is stopped with
   SIGTERM; nothing has been sent yet.
3. The crash phase: ``bot.py run`` with reminders on (its own process group). At start it plans today
   (APScheduler's catch-up; the planner uses forkserver worker processes) and dispatches at
   ``--rate`` messages per second. ``--kills`` times, at a random moment (seeded; a delay after the
   bot answers its first getUpdates, uniform up to 1.6x the even share of the expected sending time),
   the whole process group (bot, forkserver, planner workers) gets SIGKILL; the bench checks that no
   process of the group survives and starts the bot again. ``--lapse-leases`` (used by the CI test)
   expires the leases held by the dead process right after each kill instead of waiting the
   dispatcher's 60 s lease out: the same effect as waiting, since no dispatcher is alive then.
4. When every outbox row is final, the bot is stopped with SIGTERM (it must exit 0) and the fake's
   record is compared with the outbox. A message is identified by (chat id, text): each chat gets one
   broadcast and one reminder, whose texts differ. Per row: delivered once, more than once or not at
   all. Every extra copy is charged to the kill of the process that sent the earlier copy (its
   outcome was not recorded before the kill); a copy from the last process, which was not killed,
   is a bug.

Pass: every row ``sent``, every expected message (one per family and kind, the reminders as many as
the dry run planned) delivered, nothing unexpected, duplicates at most one per kill in total, and
none from a process that was not killed. Exit status 0 on pass, 1 on fail.
Inherited ``ILPBOT_*`` variables are dropped; the bot is configured only by the environment set here.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import platform
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, update  # noqa: E402

from config import load_settings  # noqa: E402
from db.database import Database  # noqa: E402
from db.demo import load_demo  # noqa: E402
from db.models import Family, Identity, Outbox, Person, Posyandu, Puskesmas  # noqa: E402
from handlers.kader import create_invite  # noqa: E402
from reminders.planner import Planner  # noqa: E402
from tests.channels.telegram_bot import free_port, press  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

PUSKESMAS = "P5108060201"  # Puskesmas Buleleng III (WITA), four posyandu
FIRST_CHAT = 6_000_000
STAFF_CHAT = 5_999_999
ANNOUNCEMENT = "Uji ketahanan: imunisasi kejar campak-rubela minggu depan di semua posyandu. Bawa buku KIA."


# ------------------------------------------------------------------ setup


def daytime_zone(now: datetime, preferred: str) -> str:
    """``preferred`` when it is 08:00-16:59 there now, else the ``Etc/GMT`` zone where it is about noon."""
    if 8 <= now.astimezone(ZoneInfo(preferred)).hour < 17:
        return preferred
    offset = 12 - now.astimezone(UTC).hour  # -11 .. +12 hours from UTC; Etc/GMT names have the sign inverted
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


@dataclass
class Setup:
    zone: str
    day: date
    families: int
    chats: set[int]
    invite: str
    expected_reminders: int


async def prepare(db: Database, families: int, now: datetime) -> Setup:
    """Demo places, ``families`` families with a chat and a baby each, a staff invite; see the module doc."""
    await load_demo(db)
    async with db.write() as session:
        puskesmas = (await session.scalars(select(Puskesmas).where(Puskesmas.code == PUSKESMAS))).one()
        zone = daytime_zone(now, puskesmas.timezone)
        puskesmas.timezone = zone
        posyandu = list(await session.scalars(select(Posyandu.id).where(Posyandu.puskesmas_id == puskesmas.id).order_by(Posyandu.id)))
        day = now.astimezone(ZoneInfo(zone)).date()
        baby = day - timedelta(days=60)
        first = ((await session.scalar(select(func.max(Family.id)))) or 0) + 1
        for start in range(0, families, 2000):
            block = range(start, min(families, start + 2000))
            await session.execute(insert(Family), [
                {"id": first + n, "posyandu_id": posyandu[n % len(posyandu)], "code": f"K-X{n:06d}", "name": f"Keluarga Uji {n}",
                 "rt": "001", "rw": "002", "registered_at": now, "created_at": now, "updated_at": now} for n in block])
            await session.execute(insert(Person), [
                {"family_id": first + n, "name": name, "sex": sex, "birth_date": born, "created_at": now, "updated_at": now}
                for n in block for name, sex, born in ((f"Ibu {n}", "F", date(1995, 4, 2)), (f"Bayi {n}", "M" if n % 2 else "F", baby))])
            await session.execute(insert(Identity), [
                {"channel": "telegram", "address": str(FIRST_CHAT + n), "language": "en" if n % 10 == 9 else "id", "role": "family",
                 "family_id": first + n, "consent": "given", "consent_version": "2026-11", "consent_at": now, "created_at": now,
                 "reminder_slot": "morning"} for n in block])
        invite = await create_invite(session, role="staff", puskesmas_id=puskesmas.id, now=now)
    return Setup(zone, day, families, {FIRST_CHAT + n for n in range(families)}, invite.code, 0)


def bot_env(fake: FakeTelegram, url: str, *, rate: float, reminders: bool) -> dict[str, str]:
    """The bot's environment: the fake, the database, reminders on or off, the dispatcher's rate."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ILPBOT_")}
    env.update(
        TELEGRAM_BOT_TOKEN=fake.token, ILPBOT_TELEGRAM_BASE_URL=fake.base_url, ILPBOT_TELEGRAM_BASE_FILE_URL=fake.base_file_url,
        ILPBOT_DATABASE_URL=url, ILPBOT_REMINDERS_ENABLED="true" if reminders else "false",
        ILPBOT_REMINDERS_TELEGRAM_RATE=f"{rate:g}", ILPBOT_REMINDERS_DISPATCH_EVERY="1",
    )
    return env


# ------------------------------------------------------------------ the bot process


def group_alive(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry))
    return alive


class BotRun:
    """``python bot.py run`` in its own process group (its forkserver and planner workers join it)."""

    def __init__(self, fake: FakeTelegram, env: dict[str, str], log: Path) -> None:
        self.fake = fake
        self.env = env
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.started = 0.0  # monotonic, when spawned
        self.ready = 0.0  # monotonic, when it first polled

    async def start(self, label: str) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n===== {label} =====\n".encode())
        polls = self.fake.calls["getUpdates"]
        logfile = self.log.open("ab")
        self.started = time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "bot.py"), "run", cwd=str(ROOT), env={**self.env, "ILPBOT_WEB_PORT": str(free_port())},
            stdin=asyncio.subprocess.DEVNULL, stdout=logfile, stderr=logfile, start_new_session=True,
        )
        logfile.close()
        deadline = time.monotonic() + 60
        while self.fake.calls["getUpdates"] <= polls:
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bot did not start (exit {self.proc.returncode}); see {self.log}")
            await asyncio.sleep(0.02)
        self.ready = time.monotonic()

    async def kill(self) -> float:
        """SIGKILL to the whole group; returns the moment; fails if any process of the group survives."""
        pgid = self.proc.pid
        at = time.monotonic()
        os.killpg(pgid, signal.SIGKILL)
        await self.proc.wait()
        deadline = time.monotonic() + 10
        while alive := group_alive(pgid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes {alive} of the killed bot (group {pgid}) survived SIGKILL")
            await asyncio.sleep(0.02)
        return at

    async def stop(self) -> tuple[int, list[int]]:
        """SIGTERM as a service manager would; (exit code, processes of the group still alive 5 s later)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        deadline = time.monotonic() + 5
        while (alive := group_alive(self.proc.pid)) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if alive:
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode, alive


async def _turn(fake: FakeTelegram, action, expect: str, timeout: float = 60) -> None:
    """One staff action; waits for a bot message to the staff chat containing ``expect``."""
    before = len(fake.messages_to(STAFF_CHAT))
    action()
    await fake.wait_for(lambda: any(expect in (m.text or "") for m in fake.messages_to(STAFF_CHAT)[before:]), timeout=timeout)


async def queue_broadcast(fake: FakeTelegram, setup: Setup) -> None:
    """The staff conversation that queues the broadcast to every family of the puskesmas."""
    s = STAFF_CHAT
    await _turn(fake, lambda: fake.push_text(s, "/start"), "setuju")
    await _turn(fake, lambda: press(fake, s, "Ya, saya setuju"), "Pilih bahasa")
    await _turn(fake, lambda: press(fake, s, "Bahasa Indonesia"), "desa")
    await _turn(fake, lambda: fake.push_text(s, f"/staf {setup.invite}"), "petugas")
    await _turn(fake, lambda: fake.push_text(s, "/umumkan"), "kepada siapa")
    await _turn(fake, lambda: press(fake, s, "Semua keluarga"), "Di mana")
    await _turn(fake, lambda: press(fake, s, "Seluruh puskesmas"), "Tulis pengumumannya")
    await _turn(fake, lambda: fake.push_text(s, ANNOUNCEMENT), f"{setup.families} penerima")
    await _turn(fake, lambda: press(fake, s, "Kirim"), f"antrean untuk {setup.families} penerima")


# ------------------------------------------------------------------ measuring


async def outbox_counts(db: Database) -> tuple[dict[str, int], dict[str, int]]:
    """(rows by state, rows by kind)."""
    async with db.read() as session:
        states = dict((await session.execute(select(Outbox.state, func.count()).group_by(Outbox.state))).all())
        kinds = dict((await session.execute(select(Outbox.kind, func.count()).group_by(Outbox.kind))).all())
    return states, kinds


@dataclass
class Kill:
    n: int
    at: float  # seconds since the crash phase began
    age: float  # seconds since that bot first polled
    delivered: int  # family messages the fake had accepted by then
    planned: int  # reminder rows in the outbox at the kill
    sending: int  # rows in "sending" just after the kill: leased by dead processes, sent again when the lease lapses
    moment: float = 0.0  # monotonic
    duplicates: int = 0
    before_ms: list[float] = field(default_factory=list)  # how long before the kill each repeated message was accepted


@dataclass
class Result:
    database: str
    seed: int
    zone: str
    families: int
    expected: int  # messages: one broadcast per family + the reminders the dry run planned
    expected_reminders: int
    kills: list[Kill] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    once: int = 0
    twice: int = 0
    more: int = 0
    lost: int = 0
    duplicates: int = 0
    unexpected: int = 0
    unkilled_duplicates: int = 0  # extra copies whose earlier copy came from the process that was not killed
    reclaimed: int = 0  # rows claimed more than once (attempts > 1)
    exit_code: int | None = None
    survivors: list[int] = field(default_factory=list)
    crash_seconds: float = 0.0
    wall: float = 0.0
    log: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def analyse(fake: FakeTelegram, rows: list, result: Result, starts: list[float], chats: set[int]) -> None:
    """Compares the fake's record with the outbox rows; fills ``result``."""
    expected: dict[tuple[int, str], object] = {}
    for row in rows:
        key = (int(row.address), str(row.body.get("text")))
        if key in expected:
            result.problems.append(f"two outbox rows with the same chat and text (row {row.id})")
        expected[key] = row
    times: dict[tuple[int, str], list[float]] = {}
    for call in fake.sent:
        if call.method != "sendMessage" or call.chat_id not in chats:
            continue
        key = (call.chat_id, call.text)
        if key not in expected:
            result.unexpected += 1
            continue
        times.setdefault(key, []).append(call.at)
    for key in expected:
        copies = sorted(times.get(key, ()))
        if not copies:
            result.lost += 1
        elif len(copies) == 1:
            result.once += 1
        else:
            result.twice += len(copies) == 2
            result.more += len(copies) > 2
            result.duplicates += len(copies) - 1
            for at in copies[:-1]:  # each earlier copy's outcome was lost with its process
                process = bisect.bisect_right(starts, at) - 1
                if 0 <= process < len(result.kills):
                    kill = result.kills[process]
                    kill.duplicates += 1
                    kill.before_ms.append(round((kill.moment - at) * 1000, 1))
                else:
                    result.unkilled_duplicates += 1
    result.reclaimed = sum(1 for row in rows if row.attempts > 1)


def judge(result: Result) -> None:
    r = result
    if r.states.get("sent", 0) != sum(r.states.values()):
        r.problems.append(f"not every outbox row is sent: {r.states}")
    if r.kinds.get("broadcast", 0) != r.families:
        r.problems.append(f"{r.kinds.get('broadcast', 0)} broadcast rows for {r.families} families")
    if r.kinds.get("daily", 0) != r.expected_reminders:
        r.problems.append(f"{r.kinds.get('daily', 0)} reminder rows, the dry run planned {r.expected_reminders}")
    if r.lost:
        r.problems.append(f"{r.lost} messages lost")
    if r.unexpected:
        r.problems.append(f"{r.unexpected} messages that match no outbox row")
    if r.duplicates > len(r.kills):
        r.problems.append(f"{r.duplicates} duplicates for {len(r.kills)} kills")
    if r.unkilled_duplicates:
        r.problems.append(f"{r.unkilled_duplicates} duplicates from a process that was not killed")
    if r.exit_code != 0:
        r.problems.append(f"the last bot exited with {r.exit_code} on SIGTERM")
    if r.survivors:
        r.problems.append(f"processes {r.survivors} outlived the stopped bot")


# ------------------------------------------------------------------ one run


async def run(url: str, *, messages: int, kills: int, seed: int, rate: float = 30.0, lapse_leases: bool = False,
              log: Path | None = None, timeout: float | None = None, echo=print) -> Result:
    """The whole bench on a migrated, empty database at ``url``; see the module doc."""
    wall0 = time.monotonic()
    rng = random.Random(seed)
    log = log or Path(tempfile.gettempdir()) / f"ilpbot-crash-{os.getpid()}-{seed}.log"
    db = Database(url)
    fake = FakeTelegram()
    await fake.start()
    bot: BotRun | None = None
    try:
        now = datetime.now(UTC)
        setup = await prepare(db, messages, now)
        env = bot_env(fake, url, rate=rate, reminders=True)
        settings = load_settings(env=env)
        dry = await Planner(db, settings, workers=0).plan_day(setup.day, zones=[setup.zone], dry_run=True)
        setup.expected_reminders = dry.messages
        result = Result(database="PostgreSQL" if url.startswith("postgresql") else "SQLite", seed=seed, zone=setup.zone,
                        families=messages, expected=messages + dry.messages, expected_reminders=dry.messages, log=str(log))
        echo(f"setup: {messages} families in {setup.zone} (local {now.astimezone(ZoneInfo(setup.zone)):%H:%M}), "
             f"{dry.messages} reminders planned by the dry run for {setup.day}; {result.expected} messages expected; log {log}")

        # the broadcast, queued by staff over Telegram with reminders (and so the dispatcher) off
        staff_bot = BotRun(fake, bot_env(fake, url, rate=rate, reminders=False), log)
        await staff_bot.start("setup: staff queues the broadcast (reminders off)")
        await queue_broadcast(fake, setup)
        code, _ = await staff_bot.stop()
        if code != 0:
            raise RuntimeError(f"the setup bot exited with {code}; see {log}")

        # the crash phase
        total = result.expected
        span = total / rate if rate > 0 else total / 1000
        longest = max(0.5, 1.6 * span / (kills + 1))
        bot = BotRun(fake, env, log)
        phase0 = time.monotonic()
        starts: list[float] = []
        for n in range(kills + 1):
            await bot.start(f"crash phase: bot {n + 1} of {kills + 1}")
            starts.append(bot.started)
            if n == kills:
                break
            delay = rng.uniform(0.2, longest)
            await asyncio.sleep(delay)
            at = await bot.kill()
            delivered = sum(1 for c in fake.sent if c.method == "sendMessage" and c.chat_id in setup.chats)
            async with db.write() as session:
                planned = await session.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "daily"))
                sending = await session.scalar(select(func.count()).select_from(Outbox).where(Outbox.state == "sending"))
                if lapse_leases:  # nothing is alive: every lease is the dead process's
                    await session.execute(update(Outbox).where(Outbox.state == "sending")
                                          .values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))
            kill = Kill(n + 1, at - phase0, at - bot.ready, delivered, planned, sending, at)
            result.kills.append(kill)
            echo(f"kill {kill.n:>2}: {kill.at:7.1f} s into the crash phase, {kill.age:5.1f} s after start; "
                 f"{delivered} delivered so far, {planned} reminder rows planned, {sending} rows in 'sending'")

        deadline = time.monotonic() + (timeout if timeout is not None else 3 * span + 180)
        while True:
            states, kinds = await outbox_counts(db)
            done = (kinds.get("daily", 0) >= setup.expected_reminders and kinds.get("broadcast", 0) >= messages
                    and not states.get("pending") and not states.get("sending"))
            if done or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        result.crash_seconds = time.monotonic() - phase0
        await asyncio.sleep(0.5)  # nothing more may arrive; give a stray send the chance to show
        result.exit_code, result.survivors = await bot.stop()
        bot = None
        result.states, result.kinds = await outbox_counts(db)
        async with db.read() as session:
            rows = (await session.execute(select(Outbox.id, Outbox.address, Outbox.body, Outbox.attempts, Outbox.kind))).all()
        analyse(fake, rows, result, starts, setup.chats)
        judge(result)
        result.wall = time.monotonic() - wall0
        return result
    finally:
        if bot is not None and bot.proc is not None and bot.proc.returncode is None:
            os.killpg(bot.proc.pid, signal.SIGKILL)
            await bot.proc.wait()
        await fake.stop()
        await db.dispose()


def report(result: Result, echo=print) -> None:
    r = result
    echo(f"\n{'kill':>4} {'at s':>8} {'after start s':>13} {'delivered':>9} {'reminders planned':>17} {'in sending':>10} {'duplicates':>10}  accepted ms before the kill")
    for k in r.kills:
        echo(f"{k.n:>4} {k.at:>8.1f} {k.age:>13.1f} {k.delivered:>9} {k.planned:>17} {k.sending:>10} {k.duplicates:>10}  "
             f"{', '.join(f'{ms:g}' for ms in sorted(k.before_ms)) or '-'}")
    echo(f"\n{r.database}: {r.expected} messages ({r.families} broadcast + {r.expected_reminders} reminders), {len(r.kills)} kills, "
         f"seed {r.seed}, zone {r.zone}")
    echo(f"  outbox {r.states}; rows claimed more than once {r.reclaimed}")
    echo(f"  delivered once {r.once}, twice {r.twice}, more {r.more}; lost {r.lost}; duplicates {r.duplicates} "
         f"(allowed {len(r.kills)}); unexpected {r.unexpected}; from an unkilled process {r.unkilled_duplicates}")
    echo(f"  crash phase {r.crash_seconds:.1f} s, wall {r.wall:.1f} s; last bot exit {r.exit_code}; log {r.log}")
    echo("  PASS" if r.ok else "  FAIL: " + "; ".join(r.problems))


# ------------------------------------------------------------------ databases


async def _pg(admin_url: str, sql: str) -> None:
    import asyncpg

    base, _, name = admin_url.replace("postgresql+asyncpg://", "postgresql://").rpartition("/")
    conn = await asyncpg.connect(f"{base}/{name.split('?')[0] or 'postgres'}")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{platform.machine()}, {os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")


async def main_async(args) -> int:
    from db.migrate import upgrade

    print(machine())
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"seed {args.seed}")
    scratch = tmpdir = None
    if args.db and args.db.startswith("postgresql"):
        scratch = f"ilpbot_crash_{os.getpid()}"
        base = args.db.rpartition("/")[0]
        await _pg(args.db, f'DROP DATABASE IF EXISTS "{scratch}"')
        await _pg(args.db, f'CREATE DATABASE "{scratch}"')
        url = f"{base}/{scratch}"
        print(f"database: scratch PostgreSQL database {scratch} on {base.rpartition('@')[2]}")
    else:
        if args.db:
            path = Path(args.db).resolve()
            if path.exists():
                print(f"{path} exists; give a new file", file=sys.stderr)
                return 2
        else:
            tmpdir = tempfile.mkdtemp(prefix="ilpbot-crash-")
            path = Path(tmpdir) / "crash.sqlite3"
        url = f"sqlite+aiosqlite:///{path}"
        print(f"database: SQLite {path}")
    try:
        await asyncio.to_thread(upgrade, url)  # alembic runs its own event loop
        result = await run(url, messages=args.messages, kills=args.kills, seed=args.seed, rate=args.rate,
                           lapse_leases=args.lapse_leases, log=Path(args.log) if args.log else None)
        report(result)
        return 0 if result.ok else 1
    finally:
        if scratch and not args.keep:
            await _pg(args.db, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        if tmpdir and not args.keep:
            shutil.rmtree(tmpdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="families: broadcast recipients, one reminder each (default 5000)")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None, help="random seed of the kill moments (default: random, printed)")
    parser.add_argument("--db", help="a new SQLite file, or a PostgreSQL URL (a scratch database is made on that server)")
    parser.add_argument("--rate", type=float, default=30.0, help="dispatcher messages per second (default 30, Telegram's; 0 = unlimited)")
    parser.add_argument("--lapse-leases", action="store_true", help="expire the dead process's leases after each kill (no 60 s wait)")
    parser.add_argument("--log", help="the bots' log file (default: in the temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1_000_000)
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
