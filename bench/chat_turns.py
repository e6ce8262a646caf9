"""Chat turns per second and p50 / p99 turn latency, for SQLite and (when reachable) PostgreSQL.

In-process (the default): N simulated families register concurrently through ``Engine.handle``.

    python bench/chat_turns.py [--families 200] [--concurrency 50] [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

End to end (``--e2e``): the real ``bot.py run`` polls the fake Bot API on 127.0.0.1 (the fake and the
simulated users run in this process, the bot in its own). 500 users chat at once for 60 seconds: each
sends a message or presses a button of the bot's last message, waits for the bot's answer in their chat
(latency), then sends the next. Most users belong to pre-loaded registered families (``/jadwal``,
``/imunisasi``, menu buttons, ``/keluarga``, ``/pengingat``, help, a word not understood); one in ten
registers a new family first. The same users then talk to a minimal python-telegram-bot echo bot
(``bench/echo_bot.py``) for the side-by-side ratio. Target: at least half the echo bot's turns per
second, p99 at most 250 ms.

    python bench/chat_turns.py --e2e [--users 500] [--seconds 60] [--think 0,2] [--repeat 2] [--bots ours,echo] [--databases sqlite,postgresql]

Side by side with an earlier commit: ``--tree NAME=DIR`` (repeatable) runs the bot under test from each
tree (``git worktree add ../old <commit>``), with this tree's harness, fake and script; each tree's
database is made by its own migrations. The runs alternate between the trees (the order reversed every
other round), so the noise of a shared machine falls on both:

    python bench/chat_turns.py --e2e --bots ours --tree new=. --tree old=../old --repeat 2

Fixed work (``--turns N``): in place of a time, the users (closed loop, no think time) do
``--warmup-turns`` turns, wait until all are answered, then exactly N turns; the bot process's CPU
(user + system, from /proc) over those N turns, per turn, is its cost of a turn, which the neighbours of a
shared machine hardly move (at capacity one bot process is CPU-bound: turns/s = 1 / CPU per turn).
``--callgrind PATH`` runs the bot under ``valgrind --tool=callgrind`` and counts the instructions of the
N turns only (``callgrind_control`` zeroes before them, dumps after; ``PATH.<bot>.<tree>.<pid>.N``);
it is about 50 times slower: a few hundred turns, few users, a long ``--turn-timeout``. ``--profile PATH``
with ``--turns``: cProfile in the bot over the N measured turns only (``bench/profile_on_signal.py``).

    python bench/chat_turns.py --e2e --turns 3000 --warmup-turns 500 --users 100 --repeat 5 --tree old=../old --tree new=.
    python bench/chat_turns.py --e2e --turns 600 --warmup-turns 100 --users 10 --turn-timeout 600 --callgrind /tmp/cg \
        --repeat 2 --tree old=../old --tree new=.

Several processes (``--workers 1,2``): our bot in webhook mode with ``web.workers`` N (the fake POSTs each
update to the shared port over at most 40 kept-alive connections, as Telegram does), each N side by side
in one run (alternating as the trees do); the bot's CPU is that of all its processes together:

    python bench/chat_turns.py --e2e --bots ours --databases postgresql --workers 1,2 --think 0 --repeat 2

Closed loop: with no think time each user sends again the moment the answer arrives, so 500 users keep
500 messages waiting and the latency is 500 / throughput for any bot (Little's law); that run measures
capacity (turns per second). The latency target is measured with users pausing ``--think`` seconds on
average (uniform 0.5 to 1.5 times) before their next message: 2 s for 500 users offers up to 250 turns
per second, half the echo bot's capacity.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

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
        ("press", "Usia kehamilan"), ("text", "20 minggu"), ("press", "Nanti saja"),  # the Buku KIA history: later
        ("press", "Tambah anggota"), ("text", "Putu Ayu"), ("press", "Perempuan"), ("text", "1/2/2022"), ("press", "Nanti saja"),
        ("press", "Tambah anggota"), ("text", "Kadek Bayu"), ("press", "Laki-laki"), ("text", "5/9/2026"), ("press", "Nanti saja"),
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
    engine = Engine(db, replace(base, database=replace(base.database, url=url), inbound=replace(base.inbound, burst=100_000)))
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


def e2e(args: argparse.Namespace) -> None:
    """The end-to-end runs: for each think time, each bot on each database, ``--repeat`` times; then
    the targets: turns per second against the echo bot's at no think time (capacity), p99 at the
    paced think time."""
    if args.turns:
        fixed(args)
        return
    thinks = [float(t) for t in str(args.think).split(",")]
    print(f"users: {args.users} ({args.new_share:.0%} registering), {args.seconds:.0f} s measured after {args.warmup:.0f} s, "
          f"think times {thinks} s, {args.preload} families pre-loaded")
    trees = _trees(args.tree)
    if len(trees) > 1:
        print("trees: " + ", ".join(f"{name} = {path} ({_commit(path)})" for name, path in trees))
    rows: list[tuple[float, str, str, dict]] = []
    for repeat in range(args.repeat):
        for think in thinks:
            for bot in args.bots.split(","):
                for database in (args.databases.split(",") if bot == "ours" else ["-"]):
                    for name, path, workers in _variants(trees, args.workers, bot)[::1 if repeat % 2 == 0 else -1]:
                        label = f"{bot}:{name}" if name and len(trees) > 1 else bot
                        if workers:
                            label += f":w{workers}"
                        result = _e2e_run(args, bot, database, think, repeat, path, name, workers)
                        if result is not None:
                            rows.append((think, label, database, result))
                            _print_e2e(think, label, database, result)
    width = max(6, *(len(label) + 1 for _t, label, _d, _r in rows)) if rows else 6
    print()
    print(f"{'think s':>7}  {'bot':<{width}}{'database':<12}{'turns':>8}{'turns/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'bot cpu':>9}{'ms/turn':>9}{'pg cpu':>8}{'harness':>9}")
    for think, bot, database, r in rows:
        print(f"{think:>7}  {bot:<{width}}{database:<12}{r['turns']:>8}{r['turns_per_s']:>9.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
              f"{r['errors']:>8}{r['bot_cpu_pct']:>8.0f}%{r['bot_cpu_ms_per_turn']:>9.2f}{r['pg_cpu_pct']:>7.0f}%{r['harness_cpu_pct']:>8.0f}%")
    if len(trees) > 1:
        _side_by_side(rows, thinks, args.databases.split(","), [name for name, _path in trees])
    for think in thinks:
        echo = [r for t, bot, _db, r in rows if t == think and bot == "echo"]
        labels = list(dict.fromkeys(bot for _t, bot, _db, _r in rows if bot == "ours" or bot.startswith("ours:w")))
        for database, label in ((database, label) for database in args.databases.split(",") for label in labels):
            ours = [r for t, bot, db_name, r in rows if t == think and bot == label and db_name == database]
            if not ours:
                continue
            rate = statistics.mean(r["turns_per_s"] for r in ours)
            line = f"think {think} s, {label} on {database}: {rate:.0f} turns/s (best {max(r['turns_per_s'] for r in ours):.0f}, worst {min(r['turns_per_s'] for r in ours):.0f})"
            if echo:
                echo_rate = statistics.mean(r["turns_per_s"] for r in echo)
                line += f" = {rate / echo_rate:.2f} x the echo bot's {echo_rate:.0f}"
            line += f"; p99 {max(r['p99_ms'] for r in ours):.0f} ms (worst run)"
            if echo:
                line += f", echo's {max(r['p99_ms'] for r in echo):.0f} ms"
            print(line)
    print("targets: at think 0 (capacity) at least 0.5 x the echo bot's turns/s; at a paced think time p99 <= 250 ms")


def _variants(trees: list[tuple[str, Path]], workers: str | None, bot: str) -> list[tuple[str, Path | None, int]]:
    """(tree name, tree, web.workers) of each run of one round: each tree with each ``--workers`` count
    (0: polling, as before ``--workers``); the echo bot once."""
    if bot != "ours":
        return [("", None, 0)]
    counts = [int(n) for n in workers.split(",")] if workers else [0]
    return [(name, path, n) for name, path in trees for n in counts]


def fixed(args: argparse.Namespace) -> None:
    """The fixed-work runs (``--turns``): each tree on each database, ``--repeat`` rounds, the trees
    alternating (the order reversed every other round); then per tree and database the bot's CPU ms per
    turn (min, median, max; and instructions per turn under callgrind) and each tree's minimum against
    the first tree's: the least disturbed run of each."""
    trees = _trees(args.tree)
    databases = args.databases.split(",")
    print(f"fixed work: {args.users} users ({args.new_share:.0%} registering), closed loop, {args.warmup_turns} warm-up turns "
          f"then {args.turns} measured, {args.preload} families pre-loaded, seed 1 for every run"
          + (f", under callgrind ({args.callgrind})" if args.callgrind else ""))
    print("trees: " + ", ".join(f"{name} = {path} ({_commit(path)})" for name, path in trees))
    names = [(f"{name}:w{workers}" if workers else name, path) for name, path, workers in _variants(trees, args.workers, "ours")]
    rows: list[tuple[str, str, dict]] = []
    for repeat in range(args.repeat):
        for database in databases:
            for tree_name, path, workers in _variants(trees, args.workers, "ours")[::1 if repeat % 2 == 0 else -1]:
                name = f"{tree_name}:w{workers}" if workers else tree_name
                r = _e2e_run(args, "ours", database, 0.0, 0, path, tree_name, workers)
                if r is None:
                    continue
                rows.append((name, database, r))
                extra = f", {r['instructions_per_turn'] / 1e6:.2f} M instructions/turn" if "instructions" in r else ""
                print(f"  round {repeat + 1}, {database}, {name}: {r['turns']} turns in {r['wall_s']:.1f} s ({r['turns_per_s']:.0f}/s, "
                      f"p50 {r['p50_ms']:.0f} ms), errors {r['errors']}, bot cpu {r['bot_cpu_s']:.2f} s "
                      f"({r['bot_cpu_pct']:.0f}%) = {r['bot_cpu_ms_per_turn']:.3f} ms/turn{extra}", flush=True)
                for sample in r["error_samples"]:
                    print(f"    error: {sample}")
    print()
    print(f"{'database':<12}{'tree':<12}{'runs':>5}{'cpu ms/turn min':>17}{'median':>9}{'max':>9}{'errors':>8}"
          + (f"{'M instr/turn min':>18}{'max':>8}" if args.callgrind else ""))
    mins: dict[tuple[str, str], tuple[float, float]] = {}
    for database in databases:
        for name, _path in names:
            runs = [r for n, d, r in rows if n == name and d == database]
            if not runs:
                continue
            cpu = sorted(r["bot_cpu_ms_per_turn"] for r in runs)
            line = (f"{database:<12}{name:<12}{len(runs):>5}{cpu[0]:>17.3f}{statistics.median(cpu):>9.3f}{cpu[-1]:>9.3f}"
                    f"{sum(r['errors'] for r in runs):>8}")
            instr = sorted(r.get("instructions_per_turn", 0.0) for r in runs)
            if args.callgrind:
                line += f"{instr[0] / 1e6:>18.3f}{instr[-1] / 1e6:>8.3f}"
            print(line)
            mins[database, name] = (cpu[0], instr[0])
    base = names[0][0]
    for database in databases:
        for name, _path in names[1:]:
            if (database, base) in mins and (database, name) in mins:
                (new_cpu, new_instr), (old_cpu, old_instr) = mins[database, name], mins[database, base]
                line = (f"{database}: {name} against {base}, least CPU per turn {new_cpu:.3f} against {old_cpu:.3f} ms: "
                        f"{new_cpu / old_cpu - 1:+.1%} cost, capacity {old_cpu / new_cpu - 1:+.1%}")
                if args.callgrind and old_instr:
                    line += f"; instructions per turn {new_instr / old_instr - 1:+.1%}"
                print(line)


def _trees(given: list[str] | None) -> list[tuple[str, Path]]:
    """``NAME=DIR`` (or ``DIR``, named by its folder) of each --tree; this tree alone when none is given."""
    here = Path(__file__).resolve().parent.parent
    trees = []
    for item in given or [f"here={here}"]:
        name, _sep, path = item.rpartition("=")
        tree = Path(path).resolve()
        if not (tree / "bot.py").is_file():
            raise SystemExit(f"--tree {item}: no bot.py in {tree}")
        trees.append((name or tree.name, tree))
    return trees


def _commit(tree: Path) -> str:
    """The commit checked out in ``tree`` (and "+changes" when it has uncommitted ones)."""
    import subprocess

    head = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%h"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return head + (" +changes" if dirty else "")


def _side_by_side(rows: list[tuple[float, str, str, dict]], thinks: list[float], databases: list[str], names: list[str]) -> None:
    """Per database: each tree's turns/s at each think time (mean, best, worst) and its p50/p99 (best and
    worst run), then each tree's mean turns/s against the first tree's."""
    print()
    print(f"{'think s':>7}  {'database':<12}{'tree':<8}{'runs':>5}{'turns/s mean':>14}{'best':>7}{'worst':>7}"
          f"{'p50 ms best-worst':>20}{'p99 ms best-worst':>20}{'errors':>8}")
    means: dict[tuple[float, str, str], float] = {}
    for think in thinks:
        for database in databases:
            for name in names:
                runs = [r for t, label, db_name, r in rows if t == think and db_name == database and label == f"ours:{name}"]
                if not runs:
                    continue
                rates = [r["turns_per_s"] for r in runs]
                means[think, database, name] = statistics.mean(rates)
                p50 = sorted(r["p50_ms"] for r in runs)
                p99 = sorted(r["p99_ms"] for r in runs)
                print(f"{think:>7}  {database:<12}{name:<8}{len(runs):>5}{statistics.mean(rates):>14.0f}{max(rates):>7.0f}"
                      f"{min(rates):>7.0f}{f'{p50[0]:.0f}-{p50[-1]:.0f}':>20}{f'{p99[0]:.0f}-{p99[-1]:.0f}':>20}"
                      f"{sum(r['errors'] for r in runs):>8}")
    base = names[0]
    for think in thinks:
        for database in databases:
            for name in names[1:]:
                if (think, database, base) in means and (think, database, name) in means:
                    change = means[think, database, name] / means[think, database, base] - 1
                    print(f"think {think} s, {database}: {name} {means[think, database, name]:.0f} turns/s, {base} "
                          f"{means[think, database, base]:.0f}: {change:+.1%}")


def _e2e_run(args: argparse.Namespace, bot: str, database: str, think: float, repeat: int,
             tree: Path | None = None, tree_name: str = "", workers: int = 0) -> dict | None:
    """One run on a fresh database (none for the echo bot), made by the code of ``tree`` (ours)."""
    from chat_e2e import ROOT, prepare_in, run_e2e, run_fixed

    tree = tree or ROOT

    url, name = None, None
    tmp = tempfile.TemporaryDirectory()
    try:
        if database == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp.name}/bench.sqlite3"
        elif database == "postgresql":
            try:
                url, name = asyncio.run(pg_database(args.pg))
            except Exception as exc:  # noqa: BLE001 - a missing server is reported, not fatal
                print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
                return None
        if url:
            prepare_in(tree, url, args.preload)
        if args.turns:
            return asyncio.run(run_fixed(bot, url, users=args.users, turns=args.turns, warmup_turns=args.warmup_turns,
                                         new_share=args.new_share, seed=1, tree=tree, label=tree_name,
                                         callgrind=args.callgrind, turn_timeout=args.turn_timeout, profile=args.profile,
                                         workers=workers, connections=args.connections))
        return asyncio.run(run_e2e(bot, url, users=args.users, seconds=args.seconds, warmup=args.warmup,
                                   new_share=args.new_share, think=think, seed=repeat + 1, profile=args.profile,
                                   tree=tree, label=tree_name, workers=workers, connections=args.connections))
    finally:
        if name:
            asyncio.run(drop_pg(args.pg, name))
        tmp.cleanup()


def _print_e2e(think: float, bot: str, database: str, r: dict) -> None:
    print(f"  think {think} s, {bot} on {database}: {r['turns']} turns, {r['turns_per_s']:.0f}/s, p50 {r['p50_ms']:.1f} ms, p90 {r['p90_ms']:.1f} ms, "
          f"p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.0f} ms, "
          f"errors {r['errors']}, bot cpu {r['bot_cpu_pct']:.0f}% ({r['bot_cpu_ms_per_turn']:.2f} ms/turn), "
          f"pg cpu {r['pg_cpu_pct']:.0f}%, harness cpu {r['harness_cpu_pct']:.0f}%, "
          f"Bot API calls per turn {r['api_calls_per_turn']:.2f} (getUpdates {r['polls_per_turn']:.2f})", flush=True)
    for sample in r["error_samples"]:
        print(f"    error: {sample}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--skip-pg", action="store_true")
    e2e_args = parser.add_argument_group("end to end (--e2e)")
    e2e_args.add_argument("--e2e", action="store_true", help="the real bot process against the fake Bot API")
    e2e_args.add_argument("--users", type=int, default=500)
    e2e_args.add_argument("--seconds", type=float, default=60.0, help="measured seconds")
    e2e_args.add_argument("--warmup", type=float, default=5.0, help="seconds before the measurement starts")
    e2e_args.add_argument("--think", default="0,2", help="mean seconds a user waits before the next message; several: 0,2")
    e2e_args.add_argument("--new-share", type=float, default=0.1, help="share of users who register a new family first")
    e2e_args.add_argument("--preload", type=int, default=2000, help="registered families in the database")
    e2e_args.add_argument("--bots", default="ours,echo")
    e2e_args.add_argument("--databases", default="sqlite,postgresql")
    e2e_args.add_argument("--repeat", type=int, default=1)
    e2e_args.add_argument("--profile", metavar="PATH", help="run the bot under cProfile, writing PATH.<bot>[.<tree>].prof")
    e2e_args.add_argument("--turns", type=int, default=0, help="fixed work: this many measured turns in place of --seconds")
    e2e_args.add_argument("--warmup-turns", type=int, default=500, help="fixed work: turns before the measured ones")
    e2e_args.add_argument("--callgrind", metavar="PATH", help="fixed work: the bot under callgrind, counting the measured turns")
    e2e_args.add_argument("--turn-timeout", type=float, default=30.0, help="seconds a user waits for an answer")
    e2e_args.add_argument("--workers", metavar="N[,N...]",
                          help="our bot in webhook mode with web.workers N (several: side by side, e.g. 1,2)")
    e2e_args.add_argument("--connections", type=int, default=40,
                          help="with --workers: webhook connections at once (Telegram's default 40, at most 100)")
    e2e_args.add_argument("--tree", action="append", metavar="[NAME=]DIR",
                          help="run our bot from this tree (repeat for side by side; the first is the base of the comparison)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}, {platform.platform()}")
    if args.e2e:
        e2e(args)
        return
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
