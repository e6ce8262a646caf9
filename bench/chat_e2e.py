"""The end-to-end mode of ``bench/chat_turns.py``: simulated users, the fake Bot API, a real bot process.

The fake Bot API (``tests/fakes/telegram_api.py``) and the users run in this process; the bot under test
(``bot.py run`` in polling mode, or ``bench/echo_bot.py``) in its own. A user does one action, waits
until the bot sent what answers it in their chat, records the latency and does the next. A turn of our
bot is complete when a message shows the text (or a button) the script expects, so a wrong answer is
an error, not a fast turn; the echo bot's turn is complete at its echo (text) or its answer (press).

The bot under test may run from another tree of the project (``tree``: an earlier commit checked out with
``git worktree add``), driven by this same harness and script; its database is prepared by that tree's own
migrations and models (``prepare_in``, a child process), so each side gets the schema it knows.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The harness imports nothing of the application (db, handlers, ...) at module level: ``prepare`` runs in
# a child process with the tree under test first on sys.path, so the database is made by that tree's code.
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

TURN_TIMEOUT = 30.0
REGISTERED_CHAT = 800_000_000
NEW_CHAT = 900_000_000
VILLAGES = ["Nagasepaha", "Alasangker", "Jinengdalem", "Petandakan", "Fajar Agung", "Podomoro"]
CONSENT_VERSION = "2026-11"

#: (text | press, what is typed or the button's label, what the answer shows). What the answer shows is
#: a text the message contains or ``[label]``, a button of the message starting with label; a tuple of
#: them where the trees compared say it differently (any one of them completes the turn).
Step = tuple[str, str, str | tuple[str, ...]]


def registration(n: int) -> list[Step]:
    """A new family's registration (26 turns); an expectation in [brackets] is a button of the answer."""
    return [
        # before issue 15's Bapak/Ibu wording (f189a7b and earlier) the consent asked "Apakah Anda setuju?"
        ("text", "/start", ("Apakah Bapak/Ibu setuju", "Apakah Anda setuju")), ("press", "Ya", "Pilih bahasa"),
        ("press", "Bahasa Indonesia", "desa/kelurahan"), ("text", VILLAGES[n % len(VILLAGES)], "Pilih posyandu"),
        ("press", "Posyandu", "kepala keluarga"), ("text", f"Wayan Sudarma {n}", "dusun"),
        ("text", "Banjar Kaja", "RT/RW"), ("text", "003/002", "anggota keluarga pertama"),
        ("text", "Ni Made Sari", "Jenis kelamin"), ("press", "Perempuan", "Tanggal lahir"),
        ("text", "12-03-1996", "sedang hamil"), ("press", "Ya", "[Usia kehamilan]"),
        ("press", "Usia kehamilan", "Berapa usia"), ("text", "20 minggu", "Tersimpan"),
        ("press", "Nanti saja", "Anggota keluarga"),  # the Buku KIA history: later
        ("press", "Tambah anggota", "Nama anggota"), ("text", "Putu Ayu", "Jenis kelamin"),
        ("press", "Perempuan", "Tanggal lahir"), ("text", "1/2/2022", "Tersimpan"),
        ("press", "Nanti saja", "Anggota keluarga"),
        ("press", "Tambah anggota", "Nama anggota"), ("text", "Kadek Bayu", "Jenis kelamin"),
        ("press", "Laki-laki", "Tanggal lahir"), ("text", "5/9/2026", "Tersimpan"),
        ("press", "Nanti saja", "Anggota keluarga"),
        ("press", "Selesai", "Pendaftaran selesai"),
    ]


#: What a registered family does, round and round (each press follows an answer that has the button).
#: /jadwal shows the posyandu day and what is due now (a pre-loaded family's baby always has a dose
#: due) and offers Lihat semua / Tandai sudah / Menu utama (handlers/care_views.py); Lihat semua shows
#: everything and then the main menu, which offers Tandai sudah in place of Jadwal; /imunisasi shows
#: the cards and then the menu with Isi/ubah imunisasi in place of Imunisasi anak (handlers/menu.py).
REGISTERED: list[Step] = [
    ("text", "/jadwal", "[Lihat semua]"),
    ("press", "Lihat semua", "[Imunisasi anak]"),
    ("press", "Imunisasi anak", "[Jadwal]"),
    ("press", "Keluarga saya", "[Selesai]"),
    ("press", "Selesai", "[Jadwal]"),
    ("text", "/imunisasi", "[Isi/ubah imunisasi]"),
    ("press", "Jadwal", "[Menu utama]"),
    ("press", "Menu utama", "[Jadwal]"),
    ("text", "/pengingat", "[Tidak diubah]"),
    ("press", "Tidak diubah", "[Jadwal]"),
    ("text", "bantuan", "Untuk keluarga:"),
    ("text", "halo", "tidak mengerti"),
]


class LoadFake(FakeTelegram):
    """The fake Bot API with one waiter per chat, resolved by the call that answers the user's action.

    With ``webhook`` (the bot in webhook mode, ``--workers``) an update is POSTed to the bot's webhook as
    Telegram does, over at most ``max_connections`` connections at once (setWebhook's, by default 40, kept
    alive), in place of being queued for getUpdates."""

    webhook = False
    #: the connections the webhook's deliveries may hold at once when setWebhook named none (Telegram's 40)
    connections = 40

    def reset(self) -> None:
        super().reset()
        self.waiters: dict[int, tuple[Callable[[str, dict], bool], asyncio.Future]] = {}
        self.webhook_errors: list[str] = []
        self._deliveries: set[asyncio.Task] = set()

    def send_update(self, update: dict) -> None:
        """The user's update to the bot: queued for polling, or delivered to the webhook."""
        if not self.webhook:
            self.push_update(update)
            return
        task = asyncio.ensure_future(self._deliver(update))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, update: dict) -> None:
        from aiohttp import ClientSession, ClientTimeout, TCPConnector

        if self._http is None:
            limit = int(self.webhook_params.get("max_connections", self.connections))
            self._http = ClientSession(timeout=ClientTimeout(total=120), connector=TCPConnector(limit=limit))
        try:
            status = await self.deliver_webhook(update)
        except Exception as exc:  # noqa: BLE001 - counted, the user's turn then times out
            status = type(exc).__name__
        if status != 200 and len(self.webhook_errors) < 1000:
            self.webhook_errors.append(str(status))

    def _record(self, method, chat_id, params, files, result) -> None:
        super()._record(method, chat_id, params, files, result)
        if chat_id is None and "callback_query_id" in params:
            chat_id = self._callbacks.get(str(params["callback_query_id"]))
        waiter = self.waiters.get(chat_id)
        if waiter is not None and not waiter[1].done() and waiter[0](method, params):
            waiter[1].set_result(time.perf_counter())


def shows(expect: str | tuple[str, ...]) -> Callable[[str, dict], bool]:
    """A sent message whose text contains ``expect``, or with a button starting ``[label]``; for a tuple,
    a message that shows any one of them."""
    if isinstance(expect, tuple):
        tests = [shows(one) for one in expect]
        return lambda method, params: any(test(method, params) for test in tests)
    if expect.startswith("["):
        label = expect[1:-1]

        def has_button(method: str, params: dict) -> bool:
            rows = (params.get("reply_markup") or {}).get("inline_keyboard") or []
            return any(str(b.get("text", "")).startswith(label) for row in rows for b in row)

        return has_button
    return lambda method, params: method in ("sendMessage", "sendPhoto") and expect in str(params.get("text") or params.get("caption") or "")


def echo_answer(kind: str) -> Callable[[str, dict], bool]:
    wanted = "sendMessage" if kind == "text" else "answerCallbackQuery"
    return lambda method, params: method == wanted


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    completed: int = 0  # turns completed inside the measured window
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    detail: list = field(default_factory=list)


def _button(fake: FakeTelegram, chat: int, label: str) -> str | None:
    message = fake.last_message(chat) or {}
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return next((b["callback_data"] for row in rows for b in row if b["text"].startswith(label)), None)


class User:
    """One simulated user: ``steps`` once, then ``again`` round and round; ``turn`` does the next action."""

    def __init__(self, fake: LoadFake, chat: int, steps: list[Step], again: list[Step], *, echo: bool) -> None:
        self.fake, self.chat, self.again, self.echo = fake, chat, again, echo
        self.plan, self.position = list(steps), 0

    async def turn(self, stats: Stats, timeout: float = TURN_TIMEOUT) -> tuple[float, float, str, str] | None:
        """The next action and its answer: (started, done, kind, value), or None after an error."""
        fake, chat = self.fake, self.chat
        if self.position == len(self.plan):
            self.plan, self.position = self.again, 0
        kind, value, expect = self.plan[self.position]
        self.position += 1
        future = asyncio.get_running_loop().create_future()
        fake.waiters[chat] = (echo_answer(kind) if self.echo else shows(expect), future)
        started = time.perf_counter()
        if kind == "text":
            fake.send_update(fake.text_update(chat, value))
        elif self.echo:
            fake.send_update(fake.callback_update(chat, value[:64], check_button=False))
        else:
            data = _button(fake, chat, value)
            if data is None:
                _error(stats, f"{chat}: no button {value!r} on the last message")
                self.plan, self.position = self.again, 0
                return None
            fake.send_update(fake.callback_update(chat, data))
        try:
            done = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            _error(stats, f"{chat}: {kind} {value!r} not answered with {expect!r} in {timeout:.0f} s")
            self.plan, self.position = self.again, 0
            return None
        return started, done, kind, value


async def simulate_user(fake: LoadFake, chat: int, steps: list[Step], again: list[Step], *, echo: bool,
                        window: tuple[float, float], stats: Stats, think: float, rng: random.Random) -> None:
    """One user's turns until the window ends: ``steps`` once, then ``again`` round and round."""
    start_at, end_at = window
    user = User(fake, chat, steps, again, echo=echo)
    while time.perf_counter() < end_at:
        answered = await user.turn(stats)
        if answered is None:
            continue
        started, done, kind, value = answered
        if start_at <= done <= end_at:
            stats.completed += 1
            stats.latencies.append(done - started)
            stats.detail.append((done - started, kind, value))
        if think:
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))


def _error(stats: Stats, text: str) -> None:
    stats.errors += 1
    if len(stats.error_samples) < 5:
        stats.error_samples.append(text)


# ---------------------------------------------------------------------------- the database


async def preload(db, families: int, now: datetime) -> None:
    """Registered families with a Telegram chat each: a pregnant mother, a toddler and a baby; at the menu."""
    from sqlalchemy import insert, select

    from db.models import ConversationState, Family, Identity, Person, Posyandu

    today = now.date()
    async with db.write() as session:
        posyandu = [p for p in (await session.scalars(select(Posyandu.id).order_by(Posyandu.id))).all()]
        rng = random.Random(7)
        fam, people, ids, states = [], [], [], []
        for i in range(families):
            fid = i + 1
            fam.append({"id": fid, "posyandu_id": posyandu[i % len(posyandu)], "code": f"K-B{i:05d}",
                        "name": f"Keluarga Uji {i}", "dusun": "Banjar Kaja", "rt": "003", "rw": "002",
                        "registered_at": now, "created_at": now, "updated_at": now})
            hpht = today - timedelta(days=rng.randint(60, 200))
            people += [
                {"family_id": fid, "name": f"Ibu Uji {i}", "sex": "F", "birth_date": date(1994, 1, 1) + timedelta(days=i % 3000),
                 "hpht": hpht, "due_date": hpht + timedelta(days=280), "created_at": now, "updated_at": now},
                {"family_id": fid, "name": f"Anak Uji {i}", "sex": "F", "birth_date": today - timedelta(days=rng.randint(400, 1500)),
                 "created_at": now, "updated_at": now},
                {"family_id": fid, "name": f"Bayi Uji {i}", "sex": "M", "birth_date": today - timedelta(days=rng.randint(20, 300)),
                 "created_at": now, "updated_at": now},
            ]
            ids.append({"id": fid, "channel": "telegram", "address": str(REGISTERED_CHAT + i), "language": "id", "role": "family",
                        "family_id": fid, "consent": "given", "consent_version": CONSENT_VERSION, "consent_at": now,
                        "reminder_slot": "morning", "created_at": now})
            states.append({"identity_id": fid, "flow": "menu", "step": "main", "data": {},
                           "version": rng.randrange(1 << 30), "updated_at": now})
        for model, rows in ((Family, fam), (Person, people), (Identity, ids), (ConversationState, states)):
            for chunk in range(0, len(rows), 1000):
                await session.execute(insert(model), rows[chunk:chunk + 1000])
    if not db.is_sqlite:  # the explicit ids above do not move PostgreSQL's sequences
        async with db.write() as session:
            from sqlalchemy import text

            for table in ("family", "person", "identity"):
                await session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


async def prepare(url: str, families: int) -> None:
    """Migrates, loads the demo and pre-loads ``families``, with the code first on sys.path."""
    from db.database import Database
    from db.demo import load_demo
    from db.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        await load_demo(db)
        await preload(db, families, datetime.now(UTC))
    finally:
        await db.dispose()


def prepare_in(tree: Path, url: str, families: int) -> None:
    """``prepare`` with the code of ``tree`` (its migrations, demo data and models), in a child process."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "prepare", str(tree), url, str(families)],
                          cwd=str(tree), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"preparing the database with {tree} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")


# ---------------------------------------------------------------------------- the bot process


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU of every process named postgres (the database server's share of the machine)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return total


def _has_inbound_limit(tree: Path) -> bool:
    """Whether the tree's bot has the per-chat inbound limit (issue 15): before it, its settings refuse the
    ILPBOT_INBOUND_* variables as unknown."""
    return (tree / "handlers" / "inbound_limit.py").exists()


def _has_database_timeouts(tree: Path) -> bool:
    """Whether the tree's settings know database.*_timeout_s (issue 15); before it they refuse them as unknown."""
    return "statement_timeout_s" in (tree / "config.py").read_text()


class BotUnderTest:
    """``bot.py run`` of ``tree`` (ours) or this tree's ``bench/echo_bot.py`` as a child process polling the fake."""

    def __init__(self, fake: FakeTelegram, which: str, db_url: str | None, log_dir: str, profile: str | None = None,
                 tree: Path = ROOT, label: str = "", callgrind: str | None = None, profile_signals: bool = False,
                 workers: int = 0) -> None:
        self.tree = tree if which == "ours" else ROOT
        script = self.tree / "bot.py" if which == "ours" else ROOT / "bench/echo_bot.py"
        self.profile_out = f"{profile}.{which}{'.' + label if label else ''}.prof" if profile else None
        profiler = ["-m", "cProfile", "-o", self.profile_out] if profile else []
        if profile and profile_signals:  # profiled between SIGUSR1 and SIGUSR2 only (bench/profile_on_signal.py)
            profiler = [str(ROOT / "bench/profile_on_signal.py"), str(Path(self.profile_out).resolve())]
        # under callgrind, nothing is counted until ``instrument(True)`` (start-up runs at valgrind's light speed)
        self.callgrind_out = f"{callgrind}.{which}{'.' + label if label else ''}.%p" if callgrind else None
        valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    f"--callgrind-out-file={Path(self.callgrind_out).resolve()}"] if callgrind else []
        self.argv = [*valgrind, sys.executable, *profiler, str(script)] + (["run"] if which == "ours" else [])
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "ILPBOT_TELEGRAM_BASE_URL": fake.base_url,
            "ILPBOT_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
            "ILPBOT_WEB_PORT": str(_free_port()),
            "ILPBOT_REMINDERS_ENABLED": "false",
        }
        if which == "ours" and _has_inbound_limit(self.tree):
            # the simulated users send faster than a person: the per-chat inbound limit would drop their messages
            self.env |= {"ILPBOT_INBOUND_BURST": "100000", "ILPBOT_INBOUND_PER_MINUTE": "1000000"}
        if callgrind and which == "ours" and _has_database_timeouts(self.tree):
            # callgrind runs the bot ~50 times slower: the database timeouts (issue 15) would fire; the same
            # code runs with them longer, so the instructions counted are those of a normal turn
            self.env |= {f"ILPBOT_DATABASE_{key}_TIMEOUT_S": "3600" for key in ("CONNECT", "STATEMENT", "POOL")}
        if db_url:
            self.env["ILPBOT_DATABASE_URL"] = db_url
        self.workers = workers if which == "ours" else 0
        if self.workers:  # webhook mode, web.workers processes sharing the port
            port = self.env["ILPBOT_WEB_PORT"]
            self.env |= {"ILPBOT_TELEGRAM_MODE": "webhook", "ILPBOT_TELEGRAM_WEBHOOK_SECRET": "bench",
                         "ILPBOT_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
                         "ILPBOT_WEB_WORKERS": str(self.workers)}
            fake.webhook = True
        self.fake = fake
        self.log = Path(log_dir) / f"{which}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._logfile = self.log.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, cwd=str(self.tree), env=self.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=self._logfile, stderr=self._logfile,
        )
        timeout = 600 if self.callgrind_out else 180
        if self.workers:  # every worker says it serves (worker 0 registers the webhook)
            wanted = 1 if self.workers == 1 else self.workers
            deadline = time.monotonic() + timeout
            while (len(self._serving()) < wanted and self.process.returncode is None and time.monotonic() < deadline):
                await asyncio.sleep(0.2)
            if len(self._serving()) < wanted and self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        else:
            await self.fake.wait_for(lambda: self.fake.calls["getUpdates"] > 0 or self.process.returncode is not None,
                                     timeout=timeout)
        if self.process.returncode is not None:
            raise RuntimeError(f"the bot did not start:\n{self.log.read_text()[-3000:]}")
        workers = f", {self.workers} worker(s) (pids {', '.join(map(str, self.pids()[1:] or self.pids()))})" if self.workers else ""
        print(f"  {self.argv[-1] if self.argv[-1] != 'run' else 'bot.py run'} started, pid {self.process.pid}{workers}", flush=True)

    def _serving(self) -> list[str]:
        """The log lines of the workers serving (one line with no worker number for a single process)."""
        text = self.log.read_text(errors="replace")
        return [line for line in text.splitlines() if "channels telegram; web on" in line]

    def pids(self) -> list[int]:
        """The bot's process and its children (the workers of ``web.workers``)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [self.process.pid, *(int(pid) for pid in children.read_text().split())]
        except OSError:
            return [self.process.pid]

    def cpu(self) -> float:
        """CPU of the bot so far: its process and its workers together."""
        total = 0.0
        for pid in self.pids():
            try:
                total += cpu_seconds(pid)
            except (OSError, IndexError, ValueError):
                continue
        return total

    async def callgrind(self, *options: str) -> None:
        """``callgrind_control OPTIONS PID`` (``-i on``: count from now, ``-z``: zero the counts, ``-d``: dump
        them), run while this process's loop keeps answering the bot (the bot acts on it between two of its
        own steps)."""
        control = await asyncio.create_subprocess_exec("callgrind_control", *options, str(self.process.pid),
                                                       stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await control.communicate()
        if control.returncode != 0:
            raise RuntimeError(f"callgrind_control {' '.join(options)} failed: {out.decode()[-1000:]}")

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._logfile.close()
        return self.process.returncode


# ---------------------------------------------------------------------------- one run


async def run_e2e(which: str, db_url: str | None, *, users: int, seconds: float, warmup: float, new_share: float,
                  think: float, seed: int = 1, profile: str | None = None, tree: Path = ROOT, label: str = "",
                  workers: int = 0, connections: int = 40) -> dict[str, Any]:
    """One measurement: ``users`` chatting with bot ``which`` (of ``tree``) for ``warmup`` + ``seconds``."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as log_dir:
        async with LoadFake() as fake:
            fake.connections = connections
            bot = BotUnderTest(fake, which, db_url, log_dir, profile, tree, label, workers=workers)
            await bot.start()
            try:
                stats = Stats()
                new_users = round(users * new_share)
                start_at = time.perf_counter() + warmup
                window = (start_at, start_at + seconds)
                tasks = []
                for n in range(users):
                    if n < new_users:
                        chat, steps = NEW_CHAT + n, registration(n)
                    else:
                        chat = REGISTERED_CHAT + n - new_users
                        first = rng.choice([i for i, step in enumerate(REGISTERED) if step[0] == "text"])
                        steps = REGISTERED[first:]
                    tasks.append(simulate_user(fake, chat, steps, REGISTERED, echo=which == "echo", window=window,
                                               stats=stats, think=think, rng=random.Random(rng.random())))
                await asyncio.sleep(0)
                cpu_marks: dict[str, float] = {}
                calls: dict[str, int] = {}

                async def mark(at: float, name: str) -> None:
                    await asyncio.sleep(max(0.0, at - time.perf_counter()))
                    cpu_marks[name] = bot.cpu()
                    cpu_marks[name + "_pg"] = postgres_cpu_seconds() if db_url and db_url.startswith("postgresql") else 0.0
                    cpu_marks[name + "_self"] = time.process_time()
                    calls[name] = sum(fake.calls.values())
                    calls[name + "_poll"] = fake.calls["getUpdates"]

                await asyncio.gather(*tasks, mark(window[0], "start"), mark(window[1], "end"))
            finally:
                code = await bot.stop()
            if code != 0:
                print(f"  ({which} exited with {code}; log tail: {bot.log.read_text()[-2000:]})")
    lat = sorted(stats.latencies)
    bot_cpu = cpu_marks["end"] - cpu_marks["start"]
    return {
        "turns": stats.completed,
        "turns_per_s": stats.completed / seconds,
        "p50_ms": statistics.median(lat) * 1000 if lat else float("nan"),
        "p99_ms": lat[max(0, int(len(lat) * 0.99) - 1)] * 1000 if lat else float("nan"),
        "p90_ms": lat[max(0, int(len(lat) * 0.90) - 1)] * 1000 if lat else float("nan"),
        "max_ms": lat[-1] * 1000 if lat else float("nan"),
        "errors": stats.errors,
        "error_samples": stats.error_samples + [f"webhook answered {status}" for status in sorted(set(fake.webhook_errors))],
        "detail": stats.detail,
        "bot_cpu_pct": 100 * bot_cpu / seconds,
        "bot_cpu_ms_per_turn": 1000 * bot_cpu / max(1, stats.completed),
        "pg_cpu_pct": 100 * (cpu_marks["end_pg"] - cpu_marks["start_pg"]) / seconds,
        "harness_cpu_pct": 100 * (cpu_marks["end_self"] - cpu_marks["start_self"]) / seconds,
        "api_calls_per_turn": (calls["end"] - calls["start"]) / max(1, stats.completed),
        "polls_per_turn": (calls["end_poll"] - calls["start_poll"]) / max(1, stats.completed),
    }


async def run_fixed(which: str, db_url: str | None, *, users: int, turns: int, warmup_turns: int, new_share: float,
                    seed: int = 1, tree: Path = ROOT, label: str = "", callgrind: str | None = None,
                    turn_timeout: float = TURN_TIMEOUT, profile: str | None = None, workers: int = 0,
                    connections: int = 40) -> dict[str, Any]:
    """Fixed work: ``users`` in a closed loop (no think time) do ``warmup_turns`` turns, stop until every
    answer is in, then exactly ``turns`` more (each user takes a turn from the shared count before it
    acts); the bot's CPU (user + system) is read at the two quiet points between, so start-up and warm-up
    are left out. With ``profile`` the bot runs under cProfile between the two quiet points only
    (``PATH.<bot>.<tree>.prof``). Under ``callgrind`` the counting is switched on before the warm-up, zeroed before the
    measured turns and dumped after them: the dump holds the measured turns' instructions only."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as log_dir:
        async with LoadFake() as fake:
            fake.connections = connections
            bot = BotUnderTest(fake, which, db_url, log_dir, profile, tree=tree, label=label, callgrind=callgrind,
                               profile_signals=True, workers=workers)
            await bot.start()
            try:
                stats = Stats()
                new_users = round(users * new_share)
                people = []
                for n in range(users):
                    if n < new_users:
                        chat, steps = NEW_CHAT + n, registration(n)
                    else:
                        chat = REGISTERED_CHAT + n - new_users
                        first = rng.choice([i for i, step in enumerate(REGISTERED) if step[0] == "text"])
                        steps = REGISTERED[first:]
                    people.append(User(fake, chat, steps, REGISTERED, echo=which == "echo"))

                async def phase(count: int, record: bool) -> None:
                    left = [count]

                    async def one(user: User) -> None:
                        while left[0] > 0:
                            left[0] -= 1
                            answered = await user.turn(stats if record else Stats(), turn_timeout)
                            if record and answered is not None:
                                stats.completed += 1
                                stats.latencies.append(answered[1] - answered[0])

                    await asyncio.gather(*(one(user) for user in people))

                if callgrind:
                    await bot.callgrind("-i", "on")
                await phase(warmup_turns, record=False)
                if callgrind:
                    await bot.callgrind("-z")
                if profile:
                    bot.process.send_signal(signal.SIGUSR1)
                    await asyncio.sleep(0.5)  # the bot's loop acts on it between two steps
                cpu_start, wall_start = bot.cpu(), time.perf_counter()
                await phase(turns, record=True)
                cpu_end, wall = bot.cpu(), time.perf_counter() - wall_start
                if profile:
                    bot.process.send_signal(signal.SIGUSR2)
                    await fake.wait_for(lambda: Path(bot.profile_out).exists(), timeout=60)
                if callgrind:
                    await bot.callgrind("-d")
            finally:
                code = await bot.stop()
            if code != 0:
                print(f"  ({which} exited with {code}; log tail: {bot.log.read_text()[-2000:]})")
    lat = sorted(stats.latencies)
    result: dict[str, Any] = {
        "turns": stats.completed,
        "errors": stats.errors,
        "error_samples": stats.error_samples + [f"webhook answered {status}" for status in sorted(set(fake.webhook_errors))],
        "wall_s": wall,
        "turns_per_s": stats.completed / wall,
        "p50_ms": statistics.median(lat) * 1000 if lat else float("nan"),
        "bot_cpu_s": cpu_end - cpu_start,
        "bot_cpu_ms_per_turn": 1000 * (cpu_end - cpu_start) / max(1, stats.completed),
        "bot_cpu_pct": 100 * (cpu_end - cpu_start) / wall,
    }
    if callgrind:
        result["instructions"] = _callgrind_total(bot.callgrind_out.replace("%p", str(bot.process.pid)))
        result["instructions_per_turn"] = result["instructions"] / max(1, stats.completed)
    return result


def _callgrind_total(base: str) -> int:
    """The instructions (Ir) of the last dump ``callgrind_control -d`` wrote (``BASE.N``; ``BASE`` itself
    holds what ran after it, up to the exit)."""
    dumps = sorted(Path(base).parent.glob(Path(base).name + ".*"), key=lambda p: int(p.suffix[1:]))
    if not dumps:
        raise RuntimeError(f"no callgrind dump {base}.N")
    for line in dumps[-1].read_text().splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary in {dumps[-1]}")


if __name__ == "__main__":  # python bench/chat_e2e.py prepare TREE URL FAMILIES (prepare_in)
    if len(sys.argv) != 5 or sys.argv[1] != "prepare":
        sys.exit("usage: chat_e2e.py prepare TREE DATABASE_URL FAMILIES")
    tree = Path(sys.argv[2]).resolve()
    sys.path.insert(0, str(tree))
    import db

    if not Path(db.__file__).resolve().is_relative_to(tree):
        sys.exit(f"db imported from {db.__file__}, not from {tree}")
    asyncio.run(prepare(sys.argv[3], int(sys.argv[4])))
