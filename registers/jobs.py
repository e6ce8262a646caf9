"""Register files sent by chat (``/impor``, handlers.register_import): checked and applied outside the chat
turn, one job at a time per process.

A chat turn is one short transaction (on SQLite the write lock), and a file of 200,000 rows takes up to a
minute to check and as long to apply, so the turn only queues an :class:`db.models.ImportJob` and answers at
once; :class:`ImportRunner`, a loop of its own in ``bot.py`` (like the outbox dispatcher), does the work:

1. **Claim**, in one short write transaction: the oldest job that is ``queued`` (to check), ``applying``
   without a lease (an apply asked for with *Terapkan*), or ``checking`` / ``applying`` whose lease lapsed
   (the process that held it died) becomes ``checking`` / ``applying`` with a lease and ``attempts + 1``
   (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the transaction began ``IMMEDIATE``). A job claimed
   :data:`MAX_ATTEMPTS` times without finishing (a file that stops every process that reads it) fails.
2. **Fetch** the file again from its channel by ``media_ref`` (``fetch``, wired in ``bot.py`` to each
   channel's media download): the file is never stored here. Telegram's file_id stays valid; a WhatsApp
   media id of a webhook for 7 days, so an apply is accepted for :data:`APPLY_WITHIN` after the file came.
3. **Check** (or apply) through ``check`` (wired in ``bot.py`` to ``registers.read`` and
   ``registers.importer``): the report in the staff member's language, the errors file, and whether there
   is something to apply.
4. **Commit** the job's new state, guarded by the claim (state and ``attempts`` unchanged: a job cancelled
   meanwhile, or taken over after a lapsed lease, is left alone and nothing is sent), **then send** the
   report through ``send`` (each channel's one send path): the text, *Terapkan* / *Batal* when the check
   found something to apply (buttons carrying ``/terapkan <id>`` and ``/batalimpor <id>``, so that they work
   wherever the staff member is in the conversation), and the errors XLSX as a document.

**A file uploaded on the web** (``/impor``, web.imports) is a job of channel :data:`WEB`: the file waits in
an :class:`db.models.ImportUpload` row instead of a channel (:func:`queue_upload`), the runner reads it from
there, keeps the check's errors XLSX beside it for the job's page to offer, and sends nothing (the page
shows the state and the report, in the session's language). The uploaded file is not kept: its row is
deleted when the job ends (applied, cancelled, failed) and pruned :data:`APPLY_WITHIN` after the upload
(:func:`prune_uploads`, by the runner when it has nothing to do, at most every :data:`PRUNE_EVERY`).

A provider that cannot give the file (an expired id, a file too large for a bot, an outage) fails the job
with one sentence to the staff member; an apply stopped by an error (the database went away) goes back to
``checked``, so *Terapkan* continues it (the importer writes in batches and a second run completes the
first). A stop (SIGTERM) hands the job in hand back at once: it is taken again at the next start.

States::

    queued   -> checking   claimed (lease, attempts + 1)
    checking -> checked    the report was made (``applicable``: it found something to apply)
    checking -> failed     the file could not be fetched, was too large, or the check broke
    checked  -> applying   *Terapkan* (no lease: waiting for a runner; attempts back to 0)
    applying -> applied    written; its report sent
    applying -> checked    the apply broke (an error, not the file): *Terapkan* again continues it
    queued / checking / checked -> cancelled   *Batal*
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from typing import Protocol

from sqlalchemy import and_, delete, func, or_, select, update

from channels.errors import ChannelDown, ChannelError, RateLimited, TemporaryFailure, describe
from channels.messages import Choice, Reply
from content.i18n import _, use_locale
from db.database import Database
from db.models import AuditLog, Identity, ImportJob, ImportUpload
from registers.read import MAX_BYTES

log = logging.getLogger(__name__)

QUEUED = "queued"
CHECKING = "checking"
CHECKED = "checked"
APPLYING = "applying"
APPLIED = "applied"
FAILED = "failed"
CANCELLED = "cancelled"
FINAL_STATES = frozenset({APPLIED, FAILED, CANCELLED})

#: The largest file taken by chat (MB): the reader's own limit.
MAX_FILE_MB = MAX_BYTES // 1024 // 1024
#: The largest file a Telegram bot may download (MB): the Bot API's ``getFile`` limit.
TELEGRAM_MAX_MB = 20
#: How long after the file came its apply is accepted: a WhatsApp webhook's media id lives 7 days.
APPLY_WITHIN = timedelta(days=6)
#: Claims of one job (check or apply) before it fails: a file that stops every process that reads it.
MAX_ATTEMPTS = 3
#: File name endings taken as a register (the reader decides by the content; these only keep a PDF or a
#: photo sent as a file from being queued). A file without an ending is tried.
FILE_ENDINGS = frozenset({".csv", ".xlsx", ".xlsm", ".txt", ""})
#: The channel of a file uploaded on the puskesmas web (its bytes in ``import_upload`` until the job ends).
WEB = "web"
#: How often an idle runner prunes the files of web jobs that ended or are too old to apply.
PRUNE_EVERY = timedelta(hours=1)
#: The old binary Excel format, which the reader cannot open: said at once.
OLD_EXCEL = ".xls"

Fetch = Callable[[str, str], Awaitable[bytes]]
Send = Callable[[str, str, Reply], Awaitable[object]]
Clock = Callable[[], datetime]


class Check(Protocol):
    """Checks (``apply`` False) or applies a register file: (report text in ``lang``, the errors XLSX or
    None, whether there is something to apply / the apply went through)."""

    async def __call__(self, data: bytes, file_name: str, *, puskesmas_id: int, apply: bool, actor: str,
                       actor_id: int | None, lang: str) -> tuple[str, bytes | None, bool]: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


def file_ending(name: str | None) -> str:
    """The lower-case ending of a file name (``.xlsx``; "" without one)."""
    return PurePath(name or "").suffix.lower()


def errors_file_name(file_name: str) -> str:
    """The name of the errors file of ``file_name``, in the current language (``masalah-sasaran.xlsx``)."""
    stem = re.sub(r"[^\w.-]+", "_", PurePath(file_name).stem).strip("._")[:60] or "impor"
    return _("masalah-{name}.xlsx", name=stem)


def actor_of(identity_id: int | None, channel: str = "") -> str:
    """How the importer's audit row names who imported: the chat's identity (``chat:12``), or the web
    session's (``web:12``; ``web:administrator`` for an administrator's link)."""
    if channel == WEB:
        return f"web:{identity_id}" if identity_id is not None else "web:administrator"
    return f"chat:{identity_id}"


# -- what a chat turn does (handlers.register_import) ------------------------------------------------


async def queue(session, *, puskesmas_id: int, identity: Identity, media_ref: str, file_name: str, now: datetime) -> ImportJob:
    """Queues the check of a file a staff member sent (in the turn's transaction); returns the job."""
    job = ImportJob(puskesmas_id=puskesmas_id, identity_id=identity.id, channel=identity.channel, address=identity.address,
                    media_ref=media_ref, file_name=file_name[:255], state=QUEUED, applicable=False, attempts=0,
                    created_at=now, updated_at=now)
    session.add(job)
    await session.flush()
    return job


async def queue_upload(session, *, puskesmas_id: int, identity_id: int | None, language: str, file_name: str, data: bytes,
                       now: datetime) -> ImportJob:
    """Queues the check of a file uploaded on the web (in the page's transaction): the job (channel
    :data:`WEB`, the report in ``language``) and the file's row, held until the job ends; returns the job."""
    job = ImportJob(puskesmas_id=puskesmas_id, identity_id=identity_id, channel=WEB, address="", language=language,
                    media_ref="import_upload", file_name=file_name[:255], state=QUEUED, applicable=False, attempts=0,
                    created_at=now, updated_at=now)
    session.add(job)
    await session.flush()
    session.add(ImportUpload(job_id=job.id, data=data))
    return job


async def errors_of(session, job_id: int) -> bytes | None:
    """The errors XLSX of a web job's check, while its upload is held (None: none, or gone)."""
    return await session.scalar(select(ImportUpload.errors).where(ImportUpload.job_id == job_id))


async def drop_upload(session, job_id: int) -> None:
    """Deletes a web job's file (the job ended)."""
    await session.execute(delete(ImportUpload).where(ImportUpload.job_id == job_id))


async def prune_uploads(session, now: datetime) -> int:
    """Deletes the files of web jobs that ended, or came more than :data:`APPLY_WITHIN` ago (their apply is
    refused); how many."""
    ended = select(ImportJob.id).where(or_(ImportJob.state.in_(FINAL_STATES), ImportJob.created_at < now - APPLY_WITHIN))
    result = await session.execute(delete(ImportUpload).where(ImportUpload.job_id.in_(ended)))
    return result.rowcount or 0


async def recent_jobs(session, puskesmas_id: int, limit: int = 10) -> list[ImportJob]:
    """The puskesmas's last import jobs (by chat and by web), newest first."""
    return list(await session.scalars(select(ImportJob).where(ImportJob.puskesmas_id == puskesmas_id)
                                      .order_by(ImportJob.id.desc()).limit(limit)))


async def job_for(session, job_id: int, puskesmas_id: int | None) -> ImportJob | None:
    """The job ``job_id`` of the puskesmas, locked for this turn (PostgreSQL; SQLite's turn holds the write lock)."""
    if puskesmas_id is None:
        return None
    return (await session.scalars(
        select(ImportJob).where(ImportJob.id == job_id, ImportJob.puskesmas_id == puskesmas_id).with_for_update()
    )).one_or_none()


def request_apply(job: ImportJob, now: datetime) -> str:
    """*Terapkan*: queues the apply of a checked job. Returns what happened: ``queued``, or why not:
    ``waiting`` (the check is not done), ``nothing`` (the check found nothing to apply), ``applying``,
    ``applied``, ``cancelled``, ``failed``, ``expired`` (too long after the file came)."""
    if job.state in (QUEUED, CHECKING):
        return "waiting"
    if job.state != CHECKED:
        return job.state
    if not job.applicable:
        return "nothing"
    if now - job.created_at > APPLY_WITHIN:
        return "expired"
    job.state, job.lease_until, job.attempts, job.updated_at = APPLYING, None, 0, now
    return "queued"


def cancel(job: ImportJob, now: datetime) -> str:
    """*Batal*: cancels a job not applied yet. Returns ``cancelled``, or why not: ``applying``, ``applied``,
    ``failed`` (it had already ended), ``cancelled`` twice is ``already``."""
    if job.state == CANCELLED:
        return "already"
    if job.state in (APPLYING, APPLIED, FAILED):
        return job.state
    job.state, job.lease_until, job.updated_at = CANCELLED, None, now
    return "cancelled"


# -- the runner ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job this runner holds the lease of; ``state`` and ``attempts`` as the claim wrote them."""

    id: int
    puskesmas_id: int
    identity_id: int | None
    channel: str
    address: str
    media_ref: str
    file_name: str
    state: str  # checking | applying
    attempts: int
    language: str
    exhausted: bool = False  # claimed MAX_ATTEMPTS times before: it failed at this claim

    @property
    def applying(self) -> bool:
        return self.state == APPLYING

    @property
    def on_web(self) -> bool:
        return self.channel == WEB


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a job came to: its new state, the report and errors file to send, the buttons' offer."""

    state: str
    report: str
    errors: bytes | None = None
    applicable: bool = False
    error: str | None = None  # why it failed (the exception's class), for the job row and the log


class ImportRunner:
    """Checks and applies the queued import jobs, one at a time (see the module's docstring)."""

    def __init__(self, db: Database, *, fetch: Fetch, check: Check, send: Send, clock: Clock = utcnow,
                 default_language: str = "id", lease_seconds: float = 900.0, idle_seconds: float = 2.0,
                 max_attempts: int = MAX_ATTEMPTS, fetch_timeout: float = 120.0, send_tries: int = 3,
                 send_backoff: float = 2.0) -> None:
        self.db = db
        self.fetch = fetch
        self.check = check
        self.send = send
        self.clock = clock
        self.default_language = default_language
        self.lease = timedelta(seconds=lease_seconds)
        self.idle_seconds = idle_seconds
        self.max_attempts = max_attempts
        self.fetch_timeout = fetch_timeout
        self.send_tries = send_tries
        self.send_backoff = send_backoff
        self.task: asyncio.Task | None = None
        self.stopping = asyncio.Event()
        self.pruned_at: datetime | None = None

    # -- the loop

    def start(self) -> asyncio.Task:
        """Starts the loop (until :meth:`stopped`)."""
        if self.task is None or self.task.done():
            self.stopping.clear()
            self.task = asyncio.get_running_loop().create_task(self.run(self.stopping), name="register imports")
        return self.task

    async def stopped(self, grace: float = 15.0) -> None:
        """Stops the loop: a job in hand gets ``grace`` seconds to finish, then it is handed back."""
        self.stopping.set()
        task = self.task
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Works through the due jobs until ``stop``; sleeps ``idle_seconds`` when none is due (or on an
        error, which is logged when it starts and when it ends, never with its SQL parameters)."""
        failing = False
        try:
            while not stop.is_set():
                busy = False
                try:
                    busy = await self.run_once()
                    if failing:
                        log.warning("register imports work again")
                        failing = False
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a database outage must not end the loop
                    if not failing:
                        log.error("register imports: a round failed: %s", type(exc).__name__)
                        failing = True
                if busy:
                    continue
                try:
                    await asyncio.wait_for(stop.wait(), self.idle_seconds)
                except TimeoutError:
                    pass
        except asyncio.CancelledError:
            log.info("register imports stopped")

    async def run_once(self) -> bool:
        """Claims one due job and carries it through; whether there was one."""
        job = await self.claim()
        if job is None:
            await self.prune()
            return False
        try:
            await self.process(job)
        except asyncio.CancelledError:  # a stop: the job goes back at once (taken again at the next start)
            await asyncio.shield(self._release(job))
            raise
        return True

    async def prune(self) -> None:
        """Deletes the held files of web jobs that ended or are too old (:func:`prune_uploads`), at most
        every :data:`PRUNE_EVERY`."""
        now = self.clock()
        if self.pruned_at is not None and now - self.pruned_at < PRUNE_EVERY:
            return
        async with self.db.write() as session:
            await prune_uploads(session, now)
        self.pruned_at = now

    # -- claiming

    async def claim(self) -> Claimed | None:
        """One short write transaction: the oldest due job becomes this runner's, with a lease."""
        now = self.clock()
        due = or_(
            ImportJob.state == QUEUED,
            and_(ImportJob.state == APPLYING, ImportJob.lease_until.is_(None)),
            and_(ImportJob.state.in_((CHECKING, APPLYING)), ImportJob.lease_until < now),
        )
        query = (select(ImportJob, func.coalesce(ImportJob.language, Identity.language))
                 .outerjoin(Identity, Identity.id == ImportJob.identity_id)
                 .where(due).order_by(ImportJob.id).limit(1))
        if not self.db.is_sqlite:
            query = query.with_for_update(of=ImportJob, skip_locked=True)
        async with self.db.write() as session:
            row = (await session.execute(query)).one_or_none()
            if row is None:
                return None
            job, language = row
            state = CHECKING if job.state in (QUEUED, CHECKING) else APPLYING
            exhausted = job.attempts >= self.max_attempts
            job.attempts += 1
            job.updated_at = now
            if exhausted:
                job.state, job.lease_until, job.error = FAILED, None, f"gave up after {job.attempts - 1} attempts"
                if job.channel == WEB:
                    await drop_upload(session, job.id)
            else:
                job.state, job.lease_until = state, now + self.lease
            return Claimed(job.id, job.puskesmas_id, job.identity_id, job.channel, job.address, job.media_ref, job.file_name,
                           state, job.attempts, language or self.default_language, exhausted)

    # -- the work

    async def process(self, job: Claimed) -> None:
        """Fetches, checks or applies, commits the outcome, then sends it."""
        with use_locale(job.language):
            if job.exhausted:
                log.error("import job %d failed: stopped %d times", job.id, self.max_attempts)
                text = _("Maaf, file {file} tidak bisa diproses: pemeriksaannya terhenti berulang kali. Coba bagi "
                         "file menjadi beberapa file yang lebih kecil, lalu kirim lagi dengan /impor.", file=job.file_name)
                if job.on_web:  # the page says it
                    async with self.db.write() as session:
                        await session.execute(update(ImportJob).where(ImportJob.id == job.id).values(report=text))
                    return
                await self._send(job, self._reply(job, Outcome(FAILED, text)))
                return
            outcome = await self._outcome(job)
            if not await self._record(job, outcome):
                return  # cancelled meanwhile, or another runner took it over: nothing to say
            if not job.on_web:  # a web job's page shows its state and report
                await self._send(job, self._reply(job, outcome))

    async def _outcome(self, job: Claimed) -> Outcome:
        """What the job comes to (in the staff member's language)."""
        if job.on_web:
            async with self.db.read() as session:
                data = await session.scalar(select(ImportUpload.data).where(ImportUpload.job_id == job.id))
            if data is None:  # pruned: too old
                return Outcome(FAILED, _("Maaf, file {file} sudah tidak tersimpan. Unggah file itu sekali lagi.",
                                         file=job.file_name), error="upload gone")
            return await self._checked(job, data)
        try:
            data = await asyncio.wait_for(self.fetch(job.channel, job.media_ref), self.fetch_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the provider's refusal or outage, or a timeout: one sentence, the job failed
            log.warning("import job %d: the file could not be fetched from %s: %s", job.id, job.channel, describe(exc))
            return Outcome(FAILED, _("Maaf, file {file} tidak bisa diambil dari {channel}, jadi belum diperiksa. "
                                     "Kirim file itu sekali lagi dengan /impor.", file=job.file_name,
                                     channel=job.channel.capitalize()), error=describe(exc))
        if len(data) > MAX_FILE_MB * 1024 * 1024:
            return Outcome(FAILED, _("File {file} terlalu besar ({size} MB; paling besar {max} MB). Bagi menjadi "
                                     "beberapa file, misalnya per desa, lalu kirim lagi.", file=job.file_name,
                                     size=round(len(data) / 1024 / 1024), max=MAX_FILE_MB), error="too big")
        return await self._checked(job, data)

    async def _checked(self, job: Claimed, data: bytes) -> Outcome:
        """The check or apply of the file's bytes."""
        try:
            report, errors, ok = await self.check(data, job.file_name, puskesmas_id=job.puskesmas_id, apply=job.applying,
                                                  actor=actor_of(job.identity_id, job.channel), actor_id=job.identity_id,
                                                  lang=job.language)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or the database: the class only (a message may quote the file's values)
            log.error("import job %d: the %s broke: %s", job.id, "apply" if job.applying else "check", type(exc).__name__)
            if job.applying:
                return Outcome(CHECKED, _("Penerapan file {file} terhenti karena gangguan. Data yang sudah tersimpan "
                                          "tetap aman; pilih Terapkan lagi untuk melanjutkan.", file=job.file_name),
                               applicable=True, error=type(exc).__name__)
            return Outcome(FAILED, _("Maaf, file {file} tidak bisa diperiksa karena gangguan di sistem. Coba kirim "
                                     "lagi nanti dengan /impor.", file=job.file_name), error=type(exc).__name__)
        if job.applying:
            return Outcome(APPLIED if ok else FAILED, report, errors)
        return Outcome(CHECKED, report, errors, applicable=ok)

    async def _record(self, job: Claimed, outcome: Outcome) -> bool:
        """Commits the outcome if the job is still this claim's (and audits an apply); whether it was."""
        now = self.clock()
        async with self.db.write() as session:
            result = await session.execute(
                update(ImportJob)
                .where(ImportJob.id == job.id, ImportJob.state == job.state, ImportJob.attempts == job.attempts)
                .values(state=outcome.state, applicable=outcome.applicable, lease_until=None, report=outcome.report,
                        error=outcome.error, updated_at=now)
            )
            if result.rowcount != 1:
                return False
            if job.on_web:  # the file is held until the job ends; the errors file beside it for the page
                if outcome.state in FINAL_STATES:
                    await drop_upload(session, job.id)
                elif outcome.errors is not None or not job.applying:
                    await session.execute(update(ImportUpload).where(ImportUpload.job_id == job.id)
                                          .values(errors=outcome.errors))
            if job.applying:
                action = {APPLIED: "import.applied", FAILED: "import.apply_failed"}.get(outcome.state, "import.apply_stopped")
                detail = {"file": job.file_name[:100], "puskesmas": job.puskesmas_id}
                session.add(AuditLog(at=now, actor_id=job.identity_id, action=action, target_type="import_job",
                                     target_id=job.id, detail=detail | ({"error": outcome.error} if outcome.error else {})))
        return True

    async def _release(self, job: Claimed) -> None:
        """Hands a job back unfinished (a stop): due again at once, the attempt given back."""
        try:
            async with self.db.write() as session:
                await session.execute(
                    update(ImportJob)
                    .where(ImportJob.id == job.id, ImportJob.state == job.state, ImportJob.attempts == job.attempts)
                    .values(state=APPLYING if job.applying else QUEUED, lease_until=None, attempts=job.attempts - 1,
                            updated_at=self.clock())
                )
        except Exception as exc:  # taken again after its lease instead
            log.warning("import job %d could not be handed back (%s); it is taken again after its lease", job.id,
                        type(exc).__name__)

    def _reply(self, job: Claimed, outcome: Outcome) -> Reply:
        """The message of an outcome: the report, its buttons when there is something to apply, the errors file."""
        text, choices = outcome.report, ()
        if outcome.state == CHECKED and outcome.applicable:
            text += "\n\n" + _("Pilih Terapkan untuk menyimpan data ini, atau Batal. Tanpa tombol, ketik /terapkan {id} "
                               "atau /batalimpor {id}.", id=job.id)
            choices = (Choice(_("Terapkan"), f"/terapkan {job.id}"), Choice(_("Batal"), f"/batalimpor {job.id}"))
        files = ((errors_file_name(job.file_name), outcome.errors),) if outcome.errors else ()
        return Reply(text, choices, files=files, language=job.language)

    async def _send(self, job: Claimed, reply: Reply) -> bool:
        """Sends the report (the state is committed): waits out a rate limit or an outage a few times;
        whether it went."""
        for attempt in range(self.send_tries):
            try:
                await self.send(job.channel, job.address, reply)
                return True
            except asyncio.CancelledError:
                raise
            except (RateLimited, TemporaryFailure, ChannelDown) as exc:
                if attempt + 1 == self.send_tries:
                    log.warning("import job %d: the report could not be sent: %s", job.id, describe(exc))
                    return False
                wait = getattr(exc, "retry_after", None) or self.send_backoff * 2 ** attempt
                await asyncio.sleep(min(float(wait), 30.0))
            except ChannelError as exc:
                log.warning("import job %d: the report could not be sent: %s", job.id, describe(exc))
                return False
        return False
