"""The entry point: ``python bot.py <command>``. It only wires config, database, channels, web.

Commands: ``run`` (Telegram and/or WhatsApp when configured, else the local chat), ``chat``, ``db upgrade``,
``demo load``, ``reminders plan --date D [--dry-run]``, ``reminders status``, ``invite kader --posyandu P``,
``web link --puskesmas P``; ``import template OUT.xlsx``, ``import FILE --puskesmas P [--apply]``, ``export register --puskesmas P OUT.xlsx``.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from dataclasses import replace
from datetime import UTC, date, datetime


def _exit_quietly(_signum, _frame) -> None:
    raise SystemExit(0)


# A stop while the modules below load (a second or more) or the settings are read ends the process
# quietly; ``run`` takes SIGTERM over once its loop runs (see :func:`_until_stopped`).
if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_quietly)

from aiohttp import web
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from channels.errors import PermanentFailure
from channels.local import LocalChat
from channels.telegram import TelegramChannel
from channels.whatsapp import WhatsAppChannel
from config import ConfigError, Settings, account_settings, load_settings
from sqlalchemy import select

from db.database import Database
from db.models import AuditLog, Posyandu, Puskesmas
from handlers.kader import create_invite
from db.demo import load_demo
from db.migrate import upgrade
from db.web_auth import LINK_VALID, create_link, sign_in_url
from handlers.engine import Engine
from handlers.help import command_menu
from content.i18n import use_locale
from reminders.announcements import photo_of
from reminders.dispatcher import Dispatcher
from reminders.delivery import apply_statuses, enqueue_replies
from reminders.planner import Planner, outbox_status
from reminders.accounts import account_rates, check_areas, first_found, routed
from reminders.scheduler import ReminderJobs
from satusehat.jobs import SyncJob
from registers.jobs import ImportRunner
from logs import setup_logging
from web.app import build_app

log = logging.getLogger("bot")


#: seconds a stop waits for what is in hand (a dispatch batch, webhooks being answered) before cutting it
STOP_GRACE_S = 15.0


class _Executor(AsyncIOExecutor):
    """APScheduler's asyncio executor that can wait for the jobs running (its own ``shutdown`` cancels
    them, and APScheduler logs each cancelled job with a traceback)."""

    async def drain(self, timeout: float) -> bool:
        """Waits up to ``timeout`` for the running jobs; whether they all ended."""
        running = [f for f in self._pending_futures if not f.done()]
        if not running:
            return True
        _done, pending = await asyncio.wait(running, timeout=timeout)
        return not pending


class Timers:
    """What runs on the bot's APScheduler: the reminders (planner, dispatcher, the catch-up planning started
    with them) when ``reminders.enabled``, the SATUSEHAT sync (``satusehat.jobs.SyncJob``) when
    ``satusehat.enabled``."""

    def __init__(self, scheduler: AsyncIOScheduler, executor: _Executor, *, catch_up: asyncio.Task | None = None,
                 jobs: ReminderJobs | None = None, sync: SyncJob | None = None) -> None:
        self.scheduler, self.executor, self.catch_up, self.jobs, self.sync = scheduler, executor, catch_up, jobs, sync

    async def stop(self, grace: float = STOP_GRACE_S) -> None:
        """No new runs; the catch-up planning is given up (the next start plans today again), the sync pass
        ends at its next item, and the running jobs get ``grace`` seconds to finish their batch before they
        are cut."""
        self.scheduler.pause()
        if self.sync is not None:
            self.sync.stop()
        if self.catch_up is not None:
            self.catch_up.cancel()
            await asyncio.gather(self.catch_up, return_exceptions=True)
        # claimed rows handed back, sends in flight recorded
        dispatching = asyncio.ensure_future(self.jobs.stopped(grace) if self.jobs is not None else asyncio.sleep(0))
        if not await self.executor.drain(grace):
            log.warning("timers: stopped with a job in hand")
        await dispatching
        self.scheduler.shutdown(wait=False)
        if self.sync is not None:
            await self.sync.close()


async def start_timers(settings: Settings, db: Database, engine: Engine, senders: dict, *,
                       sync: SyncJob | None = None) -> Timers | None:
    """The planner and the dispatcher (``reminders.enabled``) and the SATUSEHAT sync every
    ``satusehat.every_minutes`` (``satusehat.enabled``; ``sync`` given by tests), woken by APScheduler; None
    when both are switched off."""
    r = settings.reminders
    if not r.enabled and not settings.satusehat.enabled:
        return None
    executor = _Executor()
    scheduler = AsyncIOScheduler(timezone=UTC, executors={"default": executor})
    jobs = catch_up = None
    if r.enabled:
        planner = Planner(db, settings, workers=os.cpu_count() or 1)
        dispatcher = Dispatcher(
            db, senders, rates=account_rates(settings),
            per_chat_interval=r.per_chat_interval, quiet_hours=(r.quiet_start, r.quiet_end),
        )
        jobs = ReminderJobs(db, settings, planner, dispatcher)
        await jobs.install(scheduler)
    if settings.satusehat.enabled:
        sync = sync or SyncJob(db, settings)
        sync.install(scheduler)
    else:
        sync = None
    scheduler.start()
    if jobs is not None:
        catch_up = asyncio.get_running_loop().create_task(jobs.catch_up())
    return Timers(scheduler, executor, catch_up=catch_up, jobs=jobs, sync=sync)


def register_check(db: Database):
    """The check (and apply) of a register file sent by chat (``registers.jobs``): the reader and the importer
    of issue 17, in a thread of their own with their own event loop and connections. In the bot's loop each
    batch of the importer held every chat up to 0.8 s (20,000 persons: ``bench/import_job_stall.py``); in a
    thread the loop's p99 wait is 30-60 ms. A stop (the runner cancelled) ends the work at the next row."""

    async def check(data: bytes, file_name: str, *, puskesmas_id: int, apply: bool, actor: str, actor_id: int | None,
                    lang: str) -> tuple[str, bytes | None, bool]:
        stop = threading.Event()
        work = asyncio.get_running_loop().run_in_executor(None, lambda: asyncio.run(_check_in_thread(
            db, data, file_name, puskesmas_id=puskesmas_id, apply=apply, actor=actor, actor_id=actor_id, lang=lang,
            stop=stop)))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            stop.set()
            await asyncio.gather(work, return_exceptions=True)
            raise

    return check


async def _check_in_thread(bots_db: Database, data: bytes, file_name: str, *, puskesmas_id: int, apply: bool, actor: str,
                           actor_id: int | None, lang: str, stop: threading.Event) -> tuple[str, bytes | None, bool]:
    """One check or apply in a worker thread's event loop, on connections of its own (those of ``bots_db``
    belong to the bot's loop)."""
    from registers.commands import check_file  # imported where used: the importer loads once a file comes

    db = Database(bots_db.url, connect_timeout_s=bots_db.connect_timeout_s)
    try:
        return await check_file(db, data, file_name, puskesmas_id=puskesmas_id, apply=apply, actor=actor,
                                actor_id=actor_id, lang=lang, stopped=stop.is_set)
    finally:
        await db.dispose()


def start_imports(settings: Settings, db: Database, senders: dict, fetchers: dict, check=None) -> ImportRunner:
    """The loop that checks and applies register files sent by chat (``/impor``), started with the channels:
    files come again from their channel (``fetchers``: channel -> ``async ref -> (bytes, mime)``), reports go
    out through each channel's one send path (``senders``); ``check`` is :func:`register_check`'s unless given."""

    async def fetch(channel: str, media_ref: str) -> bytes:
        source = fetchers.get(channel)
        if source is None:
            raise PermanentFailure(f"{channel}: files cannot be fetched")
        data, _mime = await source(media_ref)
        return data

    async def send(channel: str, address: str, reply) -> str:
        sender = senders.get(channel)
        if sender is None:
            raise PermanentFailure(f"{channel}: not running")
        return await sender(address, reply)

    runner = ImportRunner(db, fetch=fetch, check=check or register_check(db), send=send,
                          default_language=settings.locale.default)
    runner.start()
    return runner


def web_photos(db: Database):
    """The media source "web" of each channel: a photo of an announcement composed on the web, read from
    ``broadcast_photo`` by its id (``reminders.announcements.photo_of``): ``async ref -> (bytes, mime)``."""

    async def fetch(ref: str) -> tuple[bytes, str]:
        async with db.read() as session:
            found = await photo_of(session, int(ref)) if ref.isdecimal() and len(ref) < 12 else None
        if found is None:
            raise PermanentFailure(f"web: no photo {ref}")
        return found

    return fetch


def command_menus(settings: Settings) -> dict[str, tuple[tuple[str, str], ...]]:
    """Telegram's default command menu per language_code: the family's commands in each language, ""
    (everyone whose language has no list of its own) in the default language."""
    menus = {}
    for lang in settings.locale.available:
        with use_locale(lang):
            menus["" if lang == settings.locale.default else lang] = command_menu("family")
    return menus


async def serve_channels(settings: Settings, db: Database, engine: Engine, started: asyncio.Event, stop: asyncio.Event,
                         worker: int | None = None) -> None:
    """Runs Telegram (polling or webhook) and/or WhatsApp, the web app, the reminders and the SATUSEHAT sync
    until ``stop``.

    ``worker``: this process's index among ``web.workers`` (``workers.py``): the port is shared
    (SO_REUSEPORT), and only worker 0 registers the webhook and runs the reminders, the SATUSEHAT sync and
    the register imports.

    ``started`` is set once everything runs; a stop before that cancels the start (see :func:`run`).
    Whatever was started is stopped again, in reverse order, however this ends.
    """
    await check_areas(db, settings)
    # one channel per account (config.ChannelAccount): "default" from TELEGRAM_BOT_TOKEN / WHATSAPP_*, the others
    # from telegram.accounts / whatsapp.accounts; `telegram` and `whatsapp` are the default (else the first) one
    telegrams = {name: TelegramChannel(config, engine.handle_durably, menus=command_menus(settings), account=name)
                 for name, config in account_settings(settings, "telegram").items()}
    telegram = next(iter(telegrams.values()), None)
    whatsapps: dict[str, WhatsAppChannel] = {}
    media = {"web": web_photos(db)}  # photos of announcements composed on the web
    if telegrams:
        media["telegram"] = first_found([channel.fetch_media for channel in telegrams.values()])
    for name, config in account_settings(settings, "whatsapp").items():
        whatsapps[name] = WhatsAppChannel(
            config, engine.handle_durably,
            on_statuses=lambda statuses: apply_statuses(db, "whatsapp", statuses, datetime.now(UTC)),
            on_undelivered=lambda address, replies: enqueue_replies(
                db, "whatsapp", address, replies, datetime.now(UTC), default_zone=settings.timezone.default),
            media_sources=media, default_language=settings.locale.default, account=name,
        )
    whatsapp = next(iter(whatsapps.values()), None)
    if whatsapps:
        media["whatsapp"] = first_found([channel.fetch_media for channel in whatsapps.values()])
    for channel in telegrams.values():
        channel.media_sources.update(media)  # staff photos cross channels
    others = [channel for channel in whatsapps.values() if channel is not whatsapp]
    if settings.telegram.mode == "webhook":
        others += [channel for channel in telegrams.values() if channel is not telegram]
    app = build_app(
        db=db, telegram=telegram if telegram is not None and settings.telegram.mode == "webhook" else None,
        telegram_config=telegram.config if telegram is not None else settings.telegram, whatsapp=whatsapp,
        channels={"telegram": telegram, "whatsapp": whatsapp}, dispatching=settings.reminders.enabled, settings=settings,
        accounts=others,
    )
    runner = web.AppRunner(app, shutdown_timeout=STOP_GRACE_S)
    timers = imports = None
    try:
        for channel in telegrams.values():
            await channel.initialize()
        await runner.setup()
        await web.TCPSite(runner, settings.web.host, settings.web.port, reuse_port=worker is not None).start()
        primary = worker is None or worker == 0  # the one process that runs the timers and the imports
        lanes: dict = {}  # (channel, account) -> its send path: each account sends to its own chats
        for name, channel in telegrams.items():
            await channel.start(register=primary)  # polling: one loop per bot token
            lanes[("telegram", name)] = channel.send_one
        for name, channel in whatsapps.items():
            lanes[("whatsapp", name)] = channel.send_one
        senders = {kind: routed(db, kind, {name: send for (c, name), send in lanes.items() if c == kind})
                   for kind in ("telegram", "whatsapp") if any(c == kind for c, _name in lanes)}
        if primary:
            timers = await start_timers(settings, db, engine, lanes)
            imports = start_imports(settings, db, senders, {kind: media[kind] for kind in senders})
        log.info("channels %s; web on %s:%s%s", ", ".join(senders), settings.web.host, settings.web.port,
                 "" if worker is None else f"; worker {worker} of {settings.web.workers}, pid {os.getpid()}"
                 + (", with the reminders, SATUSEHAT sync and imports" if primary else ""))
        started.set()
        await stop.wait()
    finally:
        # what sends stops first, while the channels can still send: the reminders' batch in hand and the
        # register import in hand (handed back when it does not end within the grace: it is taken again at
        # the next start), then the webhooks being answered (no new ones are taken), then polling and the channels
        stopping = [timers.stop()] if timers is not None else []
        if imports is not None:
            stopping.append(imports.stopped(STOP_GRACE_S))
        await asyncio.gather(*stopping)
        await runner.cleanup()
        for channel in telegrams.values():
            await channel.stop()
        for channel in whatsapps.values():
            await channel.close()


async def serve_local(settings: Settings, db: Database, engine: Engine) -> None:
    """Runs the local chat in this terminal, reminders printed into it (Ctrl-C or /keluar ends it), the
    puskesmas web on ``web.host``:``web.port`` (staff type /web in this chat for a link), and the register
    imports uploaded there."""
    logging.getLogger().setLevel(logging.WARNING)  # the terminal is the conversation
    chat = LocalChat(engine.handle)
    runner = web.AppRunner(build_app(db=db, dispatching=settings.reminders.enabled, settings=settings), shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.web.host, settings.web.port).start()
    except OSError as exc:  # the port is taken (a bot already runs): the chat works without the web
        print(f"(the puskesmas web is off: {settings.web.host}:{settings.web.port} {exc.strerror})")
    timers = await start_timers(settings, db, engine, {"local": chat.send_one})
    imports = start_imports(settings, db, {"local": chat.send_one}, {})  # files uploaded on the web
    try:
        await chat.run()
    finally:
        if timers is not None:
            await timers.stop(grace=1.0)
        await imports.stopped(1.0)
        await runner.cleanup()


async def run(settings: Settings, *, local: bool, worker: int | None = None) -> None:
    """Builds the database and engine, then serves the chosen channel.

    The channels run until SIGINT or SIGTERM, which are taken over first: a stop while the bot starts
    cancels the start (what was started is stopped again), a stop once it runs ends it in order; either
    way without a traceback. The local chat ends with Ctrl-C or /keluar.
    """
    db = Database.from_config(settings.database)
    try:
        if local or not (settings.telegram.token or settings.whatsapp.enabled or settings.telegram.accounts
                         or settings.whatsapp.accounts):
            # One person at this terminal (or a script piping its lines): no other chat to protect from a
            # flood, so no inbound limit, which would drop the piped lines in silence.
            settings = replace(settings, inbound=replace(settings.inbound, per_minute=0))
            await serve_local(settings, db, Engine(db, settings))
        else:
            engine = Engine(db, settings)
            await _until_stopped(lambda started, stop: serve_channels(settings, db, engine, started, stop, worker))
    finally:
        await db.dispose()


async def _until_stopped(serve) -> None:
    """Runs ``serve(started, stop)`` with SIGINT and SIGTERM setting ``stop``; cancels it when they come
    before it set ``started``."""
    stop, started = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        serving = asyncio.ensure_future(serve(started, stop))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not serving.done() and not started.is_set():
            log.info("stopped while starting")
            serving.cancel()
        try:
            await serving
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        # A service manager may repeat its SIGTERM while the stop finishes (the database closes): the
        # stop is under way, so the repeat is not a second, abrupt end (exit code -15).
        if previous is not None:
            signal.signal(signal.SIGTERM, signal.SIG_IGN if previous is _exit_quietly else previous)


async def reminders_command(settings: Settings, args: argparse.Namespace) -> None:
    """``reminders plan`` and ``reminders status``."""
    db = Database.from_config(settings.database)
    try:
        if args.reminders_command == "status":
            rows = await outbox_status(db)
            print(f"{'channel':<10}{'state':<10}{'count':>8}")
            for channel, state, count in rows:
                print(f"{channel:<10}{state:<10}{count:>8}")
            if not rows:
                print("(the outbox is empty)")
            return
        planner = Planner(db, settings, schedule=Engine(db, settings).schedule)
        result = await planner.plan_day(args.date, zones=args.zone, dry_run=args.dry_run)
        verb = "would plan" if result.dry_run else "planned"
        print(f"{result.day}: {verb} {result.messages} messages for {result.families_with_items} of {result.families} families")
        for kind, count in sorted(result.items.items()):
            print(f"  {kind:<10}{count:>8} items")
        for sample in result.samples:
            print("\n--- sample ---\n" + sample)
    finally:
        await db.dispose()


async def invite_command(settings: Settings, args: argparse.Namespace) -> int:
    """``invite kader --posyandu X`` / ``invite staff --puskesmas X``: prints a one-time code (exit 1: X unknown)."""
    model, wanted, role = (Posyandu, args.posyandu, "kader") if args.invite_role == "kader" else (Puskesmas, args.puskesmas, "staff")
    db = Database.from_config(settings.database)
    try:
        async with db.write() as session:
            column = model.id if wanted.isdigit() else model.code
            place = (await session.scalars(select(model).where(column == (int(wanted) if wanted.isdigit() else wanted)))).one_or_none()
            if place is None:
                print(f"no {model.__tablename__} {wanted!r} (give its id or code)", file=sys.stderr)
                return 1
            now = datetime.now(UTC)
            area = {"posyandu_id": place.id} if role == "kader" else {"puskesmas_id": place.id}
            code = await create_invite(session, role=role, now=now, days=args.days, **area)
            session.add(AuditLog(at=now, actor_id=None, action="invite.created", target_type=model.__tablename__,
                                 target_id=place.id, detail={"role": role, "by": "command line"}))
            command = "/kader" if role == "kader" else "/staf"
            print(f"{role} invite for {place.name}: {command} {code.code}  (valid until {code.expires_at:%Y-%m-%d %H:%M} UTC)")
            return 0
    finally:
        await db.dispose()


async def web_link_command(settings: Settings, args: argparse.Namespace) -> int:
    """``web link --puskesmas X``: prints a one-time sign-in link to the puskesmas web (exit 1: X unknown)."""
    db = Database.from_config(settings.database)
    try:
        async with db.write() as session:
            wanted = args.puskesmas
            column = Puskesmas.id if wanted.isdigit() else Puskesmas.code
            place = (await session.scalars(select(Puskesmas).where(column == (int(wanted) if wanted.isdigit() else wanted)))).one_or_none()
            if place is None:
                print(f"no puskesmas {wanted!r} (give its id or code)", file=sys.stderr)
                return 1
            now = datetime.now(UTC)
            token = await create_link(session, puskesmas_id=place.id, identity_id=None, now=now)
            session.add(AuditLog(at=now, actor_id=None, action="web.link_created", target_type="puskesmas",
                                 target_id=place.id, detail={"by": "command line"}))
            print(f"sign-in link for {place.name} (valid {int(LINK_VALID.total_seconds() // 60)} minutes, once):")
            print(sign_in_url(settings.web.base_url, token))
            return 0
    finally:
        await db.dispose()


async def demo(settings: Settings, force: bool) -> int:
    """Loads the demo puskesmas and posyandu."""
    db = Database.from_config(settings.database)
    try:
        return await load_demo(db, only_if_empty=not force)
    finally:
        await db.dispose()


async def register_command(settings: Settings, args: argparse.Namespace) -> int:
    """``import FILE ...`` and ``export register ...`` (registers.commands holds them)."""
    from pathlib import Path

    from registers.commands import export_command, import_command

    db = Database.from_config(settings.database)
    try:
        if args.command == "export":
            return await export_command(db, puskesmas=args.puskesmas, out=Path(args.out))
        return await import_command(db, Path(args.file), puskesmas=args.puskesmas, apply=args.apply, lang=args.lang,
                                    errors=Path(args.errors) if args.errors else None, actor=args.actor)
    finally:
        await db.dispose()


async def fhir_command(settings: Settings, args: argparse.Namespace) -> int:
    """``fhir export ...``, ``satusehat status`` and ``satusehat sync`` (satusehat.commands holds them)."""
    from pathlib import Path

    from satusehat.commands import export_command, retry_command, status_command, sync_command

    db = Database.from_config(settings.database)
    try:
        if args.command == "satusehat" and args.satusehat_command == "status":
            return await status_command(db, lang=args.lang)
        if args.command == "satusehat" and args.satusehat_command == "retry":
            return await retry_command(db, args.state)
        if args.command == "satusehat":
            return await sync_command(db, settings, days=args.days)
        return await export_command(db, settings, puskesmas=args.puskesmas, start=args.start, end=args.end,
                                    out=Path(args.out), lang=args.lang)
    finally:
        await db.dispose()


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="bot.py", description="ILP posyandu chat bot")
    p.add_argument("--config", help="configuration file (default: config.yaml)")
    sub = p.add_subparsers(dest="command", required=True, metavar="command")
    run_cmd = sub.add_parser("run", help="start the bot: Telegram if TELEGRAM_BOT_TOKEN is set, WhatsApp if WHATSAPP_* are set, else the local chat")
    run_cmd.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # one of web.workers, started by serve_workers
    sub.add_parser("chat", help="chat with the bot in this terminal as a family")
    db_cmd = sub.add_parser("db", help="database commands").add_subparsers(dest="db_command", required=True, metavar="db_command")
    db_cmd.add_parser("upgrade", help="apply the migrations")
    demo_cmd = sub.add_parser("demo", help="demo data").add_subparsers(dest="demo_command", required=True, metavar="demo_command")
    load = demo_cmd.add_parser("load", help="load the demo puskesmas and posyandu into an empty database")
    load.add_argument("--force", action="store_true", help="load even when the database has data")
    rem = sub.add_parser("reminders", help="reminder planning and the outbox").add_subparsers(
        dest="reminders_command", required=True, metavar="reminders_command"
    )
    plan = rem.add_parser("plan", help="plan one day's reminders into the outbox")
    plan.add_argument("--date", type=date.fromisoformat, required=True, help="the local date, e.g. 2026-12-01")
    plan.add_argument("--zone", action="append", help="only this time zone (repeatable), e.g. Asia/Makassar")
    plan.add_argument("--dry-run", action="store_true", help="print what would be planned, write nothing")
    rem.add_parser("status", help="outbox counts by channel and state")
    invite = sub.add_parser("invite", help="one-time invite codes").add_subparsers(dest="invite_role", required=True, metavar="role")
    kader = invite.add_parser("kader", help="a code that makes a chat a kader of one posyandu (/kader <code>)")
    kader.add_argument("--posyandu", required=True, help="the posyandu's id or code, e.g. PY-5108062014")
    kader.add_argument("--days", type=int, default=7, help="days the code stays valid (default 7)")
    staff = invite.add_parser("staff", help="a code that makes a chat staff of one puskesmas (/staf <code>)")
    staff.add_argument("--puskesmas", required=True, help="the puskesmas's id or code, e.g. P5108060201")
    staff.add_argument("--days", type=int, default=7, help="days the code stays valid (default 7)")
    web_cmd = sub.add_parser("web", help="the puskesmas web").add_subparsers(dest="web_command", required=True, metavar="web_command")
    link = web_cmd.add_parser("link", help="print a one-time sign-in link (10 minutes) for an administrator")
    link.add_argument("--puskesmas", required=True, help="the puskesmas's id or code, e.g. P5108060201")
    imp = sub.add_parser("import", help="a register (CSV/XLSX) in: 'import template OUT.xlsx' or 'import FILE --puskesmas P'")
    imp.add_argument("file", help="the CSV or XLSX to read, or 'template' to write the template")
    imp.add_argument("out", nargs="?", help="with 'template': where to write it")
    imp.add_argument("--puskesmas", help="the puskesmas's id or code, e.g. P5108060201")
    imp.add_argument("--apply", action="store_true", help="write (without it: a dry run, only the report)")
    imp.add_argument("--lang", default="id", help="language of the report (id, en)")
    imp.add_argument("--errors", help="write the rows with problems to this XLSX, with the reasons")
    imp.add_argument("--actor", default=os.environ.get("USER") or "command line", help="who imports (for the audit log)")
    exp = sub.add_parser("export", help="the register out in the template's columns").add_subparsers(
        dest="export_kind", required=True, metavar="kind")
    reg = exp.add_parser("register", help="every registered family of a puskesmas as an XLSX")
    reg.add_argument("--puskesmas", required=True, help="the puskesmas's id or code, e.g. P5108060201")
    reg.add_argument("out", help="the XLSX to write")
    fhir = sub.add_parser("fhir", help="FHIR R4 for SATUSEHAT").add_subparsers(dest="fhir_command", required=True, metavar="fhir_command")
    fexp = fhir.add_parser("export", help="a period's visits, measurements and doses as FHIR Bundles, one JSON file per day")
    fexp.add_argument("--puskesmas", required=True, help="the puskesmas's id or code, e.g. P5108060201")
    fexp.add_argument("--from", dest="start", type=date.fromisoformat, required=True, help="the first day, e.g. 2026-11-01")
    fexp.add_argument("--to", dest="end", type=date.fromisoformat, required=True, help="the last day, e.g. 2026-11-30")
    fexp.add_argument("--out", required=True, help="the folder to write the files to")
    fexp.add_argument("--lang", default="id", help="language of the reasons (id, en)")
    ss = sub.add_parser("satusehat", help="sending to SATUSEHAT").add_subparsers(
        dest="satusehat_command", required=True, metavar="satusehat_command")
    ss_status = ss.add_parser("status", help="the queue's counts by resource and state, and the reasons of what waits")
    ss_status.add_argument("--lang", default="id", help="language of the reasons (id, en)")
    ss_sync = ss.add_parser("sync", help="queue what was recorded lately and send one pass (satusehat.enabled)")
    ss_sync.add_argument("--days", type=int, default=30, help="queue what was recorded in the last N days (default 30)")
    ss_retry = ss.add_parser("retry", help="send held, refused or waiting items again (after fixing their cause)")
    ss_retry.add_argument("--state", action="append", choices=("held", "refused", "waiting"), required=True,
                          help="the state to send again (repeatable)")
    return p


def serve_workers(settings: Settings, config: str | None) -> int:
    """``run`` with ``web.workers`` > 1: this process starts the workers and keeps them running
    (``workers.Supervisor``); it serves nothing itself."""
    from workers import Supervisor, port_taken

    taken = port_taken(settings.web.host, settings.web.port)
    if taken:
        print(f"web.port: {settings.web.host}:{settings.web.port} is taken ({taken}): is the bot already running?", file=sys.stderr)
        return 2
    command = [sys.executable, os.path.abspath(__file__), *(["--config", config] if config else []), "run", "--worker"]
    return Supervisor(command, settings.web.workers, grace=3 * STOP_GRACE_S).run()


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs the command."""
    args = parser().parse_args(argv)
    setup_logging()
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        return _command(args, settings)
    except ConfigError as exc:  # what the settings name and the database lacks (reminders.accounts.check_areas)
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C in a command that does not take over the signal
        return 130


def _command(args: argparse.Namespace, settings: Settings) -> int:
    """Runs the parsed command."""
    if args.command == "db":
        upgrade(settings.database.url)
        print("database is up to date")
    elif args.command == "import" and args.file == "template":
        if not args.out:
            print("import template: give the file to write, e.g. import template template.xlsx", file=sys.stderr)
            return 2
        from pathlib import Path

        from registers.commands import template_command

        return template_command(Path(args.out))
    elif args.command == "import" and not args.puskesmas:
        print("import: --puskesmas is required (its id or code)", file=sys.stderr)
        return 2
    elif args.command in ("import", "export"):
        return asyncio.run(register_command(settings, args))
    elif args.command == "invite":
        return asyncio.run(invite_command(settings, args))
    elif args.command in ("fhir", "satusehat"):
        return asyncio.run(fhir_command(settings, args))
    elif args.command == "web":
        return asyncio.run(web_link_command(settings, args))
    elif args.command == "reminders":
        asyncio.run(reminders_command(settings, args))
    elif args.command == "demo":
        added = asyncio.run(demo(settings, args.force))
        print(f"demo data: {added} posyandu added" if added else "demo data: database not empty, nothing added")
    elif (args.command == "run" and args.worker is None and settings.web.workers > 1
          and (settings.telegram.token or settings.whatsapp.enabled)):
        return serve_workers(settings, args.config)
    else:
        try:
            asyncio.run(run(settings, local=args.command == "chat", worker=getattr(args, "worker", None)))
        except KeyboardInterrupt:  # Ctrl-C ends the local chat
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
