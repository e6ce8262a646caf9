"""Staff import a register by chat (issue 17): ``/impor``, then the file (CSV or XLSX) as a document.

The turn only queues the file's check (``registers.jobs``: an :class:`db.models.ImportJob`) and answers at
once, "File diterima, sedang diperiksa..."; the runner of ``registers.jobs`` fetches the file again from its
channel, checks it outside any chat turn and sends the report (with the errors file as a document, and
*Terapkan* / *Batal* when there is something to apply). *Terapkan* queues the apply the same way.

The flow waits at ``wait``, which shows where the job is and takes *Terapkan* / *Batal* (typed, or its own
buttons) and a corrected file; the report's buttons are commands (``/terapkan <id>``, ``/batalimpor <id>``),
so they work wherever the staff member is by then: another command may leave the flow meanwhile and the
job still finishes. *Terapkan* before the check is done, twice, or after *Batal* gets a sentence saying so.
Queuing, the apply asked for and a cancellation are audited; the apply itself by the runner.
"""
from __future__ import annotations

from sqlalchemy import select

from content.i18n import N_, _
from db.models import ImportJob
from handlers.flow import END, STAFF, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit
from handlers.parsing import normalize
from handlers.staff import STAFF_REFUSAL, is_staff, staff_opened
from registers import jobs
from registers.jobs import (
    APPLIED, APPLY_WITHIN, APPLYING, CANCELLED, CHECKED, CHECKING, FAILED, FILE_ENDINGS, MAX_FILE_MB, OLD_EXCEL, QUEUED,
    TELEGRAM_MAX_MB, file_ending,
)

FLOW = "register_import"
#: What is said of a photo, a sticker or any other media where the file is expected.
FILE_HINT = N_("Kirim file CSV atau XLSX sebagai dokumen (lampiran file), bukan sebagai foto atau pesan suara.")
APPLY_WORDS = frozenset({"terapkan", "apply", "simpan"})
CANCEL_WORDS = frozenset({"batalkan", "batalkan impor", "cancel import"})


def _limit_mb(ctx: Ctx) -> int:
    """The largest file taken on the person's channel (MB): a Telegram bot downloads at most 20 MB."""
    return TELEGRAM_MAX_MB if ctx.identity.channel == "telegram" else MAX_FILE_MB


# -- the file --------------------------------------------------------------------------------------


async def ask_file(ctx: Ctx) -> Question:
    text = _("Kirim file data sasaran (CSV atau XLSX) di sini sebagai dokumen, paling besar {max} MB. File diperiksa "
             "dulu; tidak ada data yang disimpan sebelum Bapak/Ibu memilih Terapkan.", max=_limit_mb(ctx))
    if ctx.identity.channel == "telegram":
        text += "\n" + _("Di Telegram, bot hanya bisa mengunduh file sampai {max} MB.", max=TELEGRAM_MAX_MB)
    return Question(text)


async def on_file(ctx: Ctx, answer: Answer) -> Next:
    """Queues the check of the file sent; the report comes later, from the runner."""
    await _take_file(ctx, answer)
    return "wait"


async def _take_file(ctx: Ctx, answer: Answer) -> ImportJob:
    """Queues a document's check (refusing what is no register with a hint); notes that it is on its way."""
    if answer.media != "document" or not answer.media_ref:
        raise Invalid(_(FILE_HINT))
    name = (answer.media_name or "").strip() or "impor"
    ending = file_ending(name)
    if ending == OLD_EXCEL:
        raise Invalid(_("File {file} berformat Excel lama (.xls). Buka di Excel, simpan sebagai Buku Kerja Excel (.xlsx), "
                        "lalu kirim lagi.", file=name))
    if ending not in FILE_ENDINGS:
        raise Invalid(_("File {file} bukan CSV atau XLSX. Kirim data sasaran sebagai file .xlsx atau .csv.", file=name))
    limit = _limit_mb(ctx)
    if answer.media_size is not None and answer.media_size > limit * 1024 * 1024:
        raise Invalid(_("File {file} terlalu besar ({size} MB; paling besar {max} MB di sini). Bagi menjadi beberapa file, "
                        "misalnya per desa, lalu kirim satu per satu.", file=name,
                        size=round(answer.media_size / 1024 / 1024), max=limit))
    job = await jobs.queue(ctx.session, puskesmas_id=ctx.identity.puskesmas_id, identity=ctx.identity,
                           media_ref=answer.media_ref, file_name=name, now=ctx.now)
    audit(ctx, "import.queued", "import_job", job.id, file=name[:100], channel=ctx.identity.channel)
    ctx.data["job"] = job.id
    ctx.note(_("File diterima, sedang diperiksa... Laporannya dikirim ke sini sebentar lagi; belum ada data yang disimpan."))
    return job


# -- waiting for the report, then Terapkan / Batal -----------------------------------------------------


async def _flow_job(ctx: Ctx) -> ImportJob | None:
    job_id = ctx.data.get("job")
    return await jobs.job_for(ctx.session, int(job_id), ctx.identity.puskesmas_id) if job_id else None


async def ask_wait(ctx: Ctx) -> Question:
    job = await _flow_job(ctx)
    if job is None:
        return Question(_("Kirim file data sasaran (CSV atau XLSX) di sini sebagai dokumen, atau ketik batal."))
    name = job.file_name
    if job.state in (QUEUED, CHECKING):
        return Question(_("Sambil menunggu laporan pemeriksaan {file}, Bapak/Ibu boleh memakai perintah lain.", file=name),
                        ((_("Batalkan impor"), "cancel"),))
    if job.state == CHECKED and job.applicable:
        return Question(_("Laporan pemeriksaan {file} sudah dikirim. Simpan datanya?", file=name),
                        ((_("Terapkan"), "apply"), (_("Batal"), "cancel")))
    text = {
        CHECKED: _("Tidak ada yang bisa diterapkan dari {file}. Perbaiki file lalu kirim lagi di sini, atau ketik batal.", file=name),
        APPLYING: _("Sambil menunggu penyimpanan {file} selesai, Bapak/Ibu boleh memakai perintah lain.", file=name),
        APPLIED: _("Data dari {file} sudah disimpan. Kirim file lain di sini, atau ketik batal untuk kembali ke menu.", file=name),
        FAILED: _("File {file} tidak bisa diimpor (lihat pesan di atas). Kirim file yang sudah diperbaiki di sini, atau "
                  "ketik batal.", file=name),
        CANCELLED: _("Impor {file} dibatalkan. Kirim file lain di sini, atau ketik batal.", file=name),
    }
    return Question(text[job.state])


async def on_wait(ctx: Ctx, answer: Answer) -> Next:
    """Terapkan, Batal, or a (corrected) file instead."""
    job = await _flow_job(ctx)
    if answer.media is not None:
        if job is not None and job.state in (QUEUED, CHECKING, APPLYING):
            raise Invalid(_("Tunggu sampai {file} selesai diproses, lalu kirim file berikutnya.", file=job.file_name))
        if job is not None and job.state == CHECKED:  # the new file replaces the one checked
            jobs.cancel(job, ctx.now)
        await _take_file(ctx, answer)
        return "wait"
    said = normalize(answer.text).strip(" .!")
    if job is not None and (answer.choice == "apply" or said in APPLY_WORDS):
        _apply(ctx, job)
        return "wait"
    if job is not None and (answer.choice == "cancel" or said in CANCEL_WORDS):
        _cancel(ctx, job)
        return END
    raise Invalid(_("Pilih Terapkan atau Batal, atau kirim file lain sebagai dokumen."))


def _apply(ctx: Ctx, job: ImportJob) -> None:
    """Queues the apply of a checked job, or says why not."""
    outcome = jobs.request_apply(job, ctx.now)
    name = job.file_name
    if outcome == "queued":
        audit(ctx, "import.apply_queued", "import_job", job.id, file=name[:100])
    ctx.note({
        "queued": _("Baik, data dari {file} mulai disimpan; laporannya dikirim ke sini setelah selesai.", file=name),
        "waiting": _("Pemeriksaan {file} belum selesai. Tunggu laporannya, lalu pilih Terapkan.", file=name),
        "nothing": _("Tidak ada yang bisa diterapkan dari {file} (lihat laporannya). Perbaiki file lalu kirim lagi dengan "
                     "/impor.", file=name),
        APPLYING: _("Data dari {file} sudah sedang disimpan. Laporannya dikirim ke sini setelah selesai.", file=name),
        APPLIED: _("Data dari {file} sudah diterapkan; tidak ada yang diterapkan dua kali.", file=name),
        CANCELLED: _("Impor {file} sudah dibatalkan, jadi tidak bisa diterapkan. Kirim file itu lagi dengan /impor.", file=name),
        FAILED: _("Impor {file} gagal, jadi tidak bisa diterapkan. Kirim file yang sudah diperbaiki dengan /impor.", file=name),
        "expired": _("Laporan {file} sudah lebih dari {days} hari. Kirim file itu lagi dengan /impor.", file=name,
                     days=APPLY_WITHIN.days),
    }[outcome])


def _cancel(ctx: Ctx, job: ImportJob) -> None:
    """Cancels a job not applied yet, or says why not."""
    outcome = jobs.cancel(job, ctx.now)
    name = job.file_name
    if outcome == "cancelled":
        audit(ctx, "import.cancelled", "import_job", job.id, file=name[:100])
    ctx.note({
        "cancelled": _("Impor {file} dibatalkan. Tidak ada data yang diubah.", file=name),
        "already": _("Impor {file} sudah dibatalkan.", file=name),
        APPLYING: _("Data dari {file} sedang disimpan dan tidak bisa dibatalkan lagi.", file=name),
        APPLIED: _("Data dari {file} sudah diterapkan; tidak bisa dibatalkan lagi.", file=name),
        FAILED: _("Impor {file} sudah berakhir tanpa mengubah data.", file=name),
    }[outcome])


# -- the report's buttons: /terapkan <id>, /batalimpor <id> ----------------------------------------------


async def _named_job(ctx: Ctx, args: str) -> ImportJob | None:
    """The job a command names (its number; without one, the flow's job or the person's last), of the staff
    member's puskesmas; None with a note."""
    word = args.strip().split()[0].lstrip("#") if args.strip() else ""
    if word.isdecimal() and len(word) <= 12:
        job = await jobs.job_for(ctx.session, int(word), ctx.identity.puskesmas_id)
    elif word:
        job = None
    elif ctx.state.flow == FLOW and ctx.data.get("job"):
        job = await _flow_job(ctx)
    else:
        last = await ctx.session.scalar(select(ImportJob.id).where(ImportJob.identity_id == ctx.identity.id)
                                        .order_by(ImportJob.id.desc()).limit(1))
        job = await jobs.job_for(ctx.session, last, ctx.identity.puskesmas_id) if last else None
    if job is None:
        ctx.note(_("Impor itu tidak ditemukan. Mulai impor dengan /impor."))
    return job


async def apply_command(ctx: Ctx, args: str) -> Next | None:
    """``/terapkan <id>`` (the report's *Terapkan*): queues the apply; the person stays where they were."""
    if not is_staff(ctx):
        ctx.note(_(STAFF_REFUSAL))
        return None
    job = await _named_job(ctx, args)
    if job is not None:
        _apply(ctx, job)
    return None


async def cancel_command(ctx: Ctx, args: str) -> Next | None:
    """``/batalimpor <id>`` (the report's *Batal*): cancels the import; the person stays where they were."""
    if not is_staff(ctx):
        ctx.note(_(STAFF_REFUSAL))
        return None
    job = await _named_job(ctx, args)
    if job is not None:
        _cancel(ctx, job)
    return None


REGISTER_IMPORT = Flow(
    name=FLOW,
    first="start",
    enter=staff_opened,
    commands=("impor", "import"),
    roles=STAFF,
    refusal=STAFF_REFUSAL,
    home=("start", "wait"),
    # no main-menu button: the staff menu holds WhatsApp's 10 list rows already; /impor is in the help and
    # in the command menu
    help_line=N_("Impor data sasaran dari CSV/XLSX"),
    steps={
        "start": Step(ask_file, on_file, accepts_media=frozenset({"document"}), media_hint=FILE_HINT),
        "wait": Step(ask_wait, on_wait, accepts_media=frozenset({"document"}), media_hint=FILE_HINT),
    },
)
