"""Impor: a staff member uploads a register (CSV/XLSX), reads the dry-run report, then applies it or cancels.

The page only queues: the upload becomes an :class:`db.models.ImportJob` of channel "web" whose file waits in
the database until the job ends (``registers.jobs.queue_upload``: the uploaded file is not kept once the job
is applied, cancelled or failed, nor past ``registers.jobs.APPLY_WITHIN``); the runner of ``registers.jobs``
checks and applies it as it does a file sent by chat, and sends nothing: the job's page shows its state.

* ``GET /impor``: the upload form and the puskesmas's last jobs (file, state, when, who; chat jobs too).
* ``POST /impor``: the upload (``multipart/form-data``, CSRF field first, at most ``registers.read.MAX_BYTES``);
  a file that is no CSV/XLSX, empty or too big is refused with one sentence. Audited ``import.queued``.
* ``GET /impor/<id>``: the job: its state (refreshing itself by ``<meta http-equiv="refresh">`` while it
  waits for the runner, so that it works without scripts), the report, the errors XLSX while the file is
  held (``GET /impor/<id>/kesalahan.xlsx``), and *Terapkan* / *Batal* when the check found something to apply.
* ``POST /impor/<id>/terapkan``: ``registers.jobs.request_apply``, audited ``import.apply_queued``;
  ``POST /impor/<id>/batal``: ``registers.jobs.cancel`` (the file deleted), audited ``import.cancelled``.

The report is written in the session's language (an administrator's session has no identity: the job's
``identity_id`` is None). Another puskesmas's job is not found (404).
"""
from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from content.i18n import N_, _
from db.models import ImportJob
from registers import jobs
from registers.jobs import (APPLIED, APPLY_WITHIN, APPLYING, CANCELLED, CHECKED, CHECKING, FAILED, FILE_ENDINGS, MAX_FILE_MB,
                            OLD_EXCEL, QUEUED, WEB, errors_file_name, file_ending)
from registers.read import MAX_BYTES
from web.auth import audit, see_other, staff_page
from web.context import CLOCK, DB, staff_of
from web.render import not_found, record_id, render
from web.uploads import Upload, form_of

#: the form field of the file
FILE_FIELD = "berkas"
#: how often a waiting job's page reloads itself (seconds)
REFRESH_S = 3
#: the label of each state
STATES = {
    QUEUED: N_("Menunggu pemeriksaan"), CHECKING: N_("Sedang diperiksa"), CHECKED: N_("Sudah diperiksa"),
    APPLYING: N_("Sedang diterapkan"), APPLIED: N_("Sudah diterapkan"), FAILED: N_("Gagal"), CANCELLED: N_("Dibatalkan"),
}
#: the answers of ``request_apply`` / ``cancel`` the page puts into words (the others: the state says it)
NOTED = frozenset({"waiting", "nothing", "expired", "already", APPLYING, APPLIED, CANCELLED, FAILED})
#: the states in which the runner has still to do something: the page reloads itself
WAITING = frozenset({QUEUED, CHECKING, APPLYING})


def upload_problem(upload: Upload | None) -> str | None:
    """Why an uploaded file is refused (one sentence), None when it may be checked."""
    if upload is None or not upload.name:
        return _("Pilih file CSV atau XLSX untuk diunggah.")
    if upload.too_big:
        return _("File {file} terlalu besar (paling besar {max} MB). Bagi menjadi beberapa file, misalnya per desa.",
                 file=upload.name, max=MAX_FILE_MB)
    ending = file_ending(upload.name)
    if ending == OLD_EXCEL:
        return _("File {file} berformat Excel lama (.xls). Buka di Excel, simpan sebagai Buku Kerja Excel (.xlsx), "
                 "lalu kirim lagi.", file=upload.name)
    if ending not in FILE_ENDINGS:
        return _("File {file} bukan CSV atau XLSX. Kirim data sasaran sebagai file .xlsx atau .csv.", file=upload.name)
    if not upload.data.strip():
        return _("File {file} kosong. Pilih file yang berisi data sasaran.", file=upload.name)
    return None


def who(job: ImportJob) -> str:
    """Who started a job, as the list shows it (no phone number)."""
    if job.identity_id is None:
        return _("Administrator")
    return _("Petugas #{id}", id=job.identity_id)


def apply_note(outcome: str, state: str) -> str | None:
    """What the page says after *Terapkan* / *Batal* did not go through (None: the state says it all)."""
    if outcome not in NOTED:
        return None
    if outcome == "waiting":
        return _("Pemeriksaan belum selesai. Tunggu laporannya, lalu pilih Terapkan.")
    if outcome == "nothing":
        return _("Tidak ada yang bisa diterapkan dari file ini. Perbaiki file lalu unggah lagi.")
    if outcome == "expired":
        return _("Laporan ini sudah lebih dari {days} hari. Unggah file itu lagi.", days=APPLY_WITHIN.days)
    return _("Tidak bisa lagi: impor ini {state}.", state=_(STATES.get(state, state)).lower())


# -- the routes -----------------------------------------------------------------------------------------

async def _form(request: web.Request, problem: str | None = None, status: int = 200) -> web.Response:
    staff = staff_of(request)
    async with request.app[DB].read() as session:
        last = await jobs.recent_jobs(session, staff.puskesmas_id)
    return render(request, "imports.html", {"problem": problem, "jobs": last, "states": STATES, "who": who,
                                            "max_mb": MAX_FILE_MB, "field": FILE_FIELD, "web": WEB}, status=status)


@staff_page
async def page(request: web.Request) -> web.Response:
    return await _form(request)


@staff_page(upload=MAX_BYTES)
async def upload(request: web.Request) -> web.Response:
    staff = staff_of(request)
    form = form_of(request)
    given = form.files.get(FILE_FIELD) if form is not None else None
    problem = upload_problem(given)
    if problem is not None:
        return await _form(request, problem, status=413 if given is not None and given.too_big else 400)
    now = request.app[CLOCK]()
    name = given.name.replace("\\", "/").rsplit("/", 1)[-1]  # a browser that sends the whole path: its last part
    async with request.app[DB].write() as session:
        job = await jobs.queue_upload(session, puskesmas_id=staff.puskesmas_id, identity_id=staff.identity_id,
                                      language=staff.language, file_name=name, data=given.data, now=now)
        audit(session, staff, "import.queued", "import_job", job.id, now, file=name[:100], channel=WEB)
    return see_other(f"/impor/{job.id}")


async def _own_job(request: web.Request, session, *, lock: bool = False) -> ImportJob | None:
    wanted = record_id(request)
    if wanted is None:
        return None
    if lock:
        return await jobs.job_for(session, wanted, staff_of(request).puskesmas_id)
    job = await session.get(ImportJob, wanted)
    return job if job is not None and job.puskesmas_id == staff_of(request).puskesmas_id else None


@staff_page
async def show(request: web.Request) -> web.Response:
    async with request.app[DB].read() as session:
        job = await _own_job(request, session)
        errors = job is not None and job.channel == WEB and await jobs.errors_of(session, job.id) is not None
    if job is None:
        return not_found(request)
    now = request.app[CLOCK]()
    offer = job.state == CHECKED and job.applicable and now - job.created_at <= APPLY_WITHIN
    note = apply_note(request.query.get("hasil", ""), job.state) if request.query.get("hasil") else None
    return render(request, "import_job.html", {"job": job, "state": _(STATES.get(job.state, job.state)), "who": who(job),
                                               "refresh": REFRESH_S if job.state in WAITING else None, "errors": errors,
                                               "offer": offer, "note": note, "cancellable": job.state in (QUEUED, CHECKING, CHECKED)})


@staff_page
async def errors_file(request: web.Request) -> web.StreamResponse:
    async with request.app[DB].read() as session:
        job = await _own_job(request, session)
        data = await jobs.errors_of(session, job.id) if job is not None else None
    if job is None or data is None:
        return not_found(request)
    name = errors_file_name(job.file_name)
    plain = name.encode("ascii", "replace").decode().replace("?", "_")
    return web.Response(body=data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}",
                                 "Cache-Control": "no-store"})


@staff_page
async def apply(request: web.Request) -> web.Response:
    staff = staff_of(request)
    now = request.app[CLOCK]()
    async with request.app[DB].write() as session:
        job = await _own_job(request, session, lock=True)
        if job is None:
            return not_found(request)
        outcome = jobs.request_apply(job, now)
        if outcome == "queued":
            audit(session, staff, "import.apply_queued", "import_job", job.id, now, file=job.file_name[:100])
    return see_other(f"/impor/{job.id}?hasil={outcome}")


@staff_page
async def cancel(request: web.Request) -> web.Response:
    staff = staff_of(request)
    now = request.app[CLOCK]()
    async with request.app[DB].write() as session:
        job = await _own_job(request, session, lock=True)
        if job is None:
            return not_found(request)
        outcome = jobs.cancel(job, now)
        if outcome == "cancelled":
            await jobs.drop_upload(session, job.id)
            audit(session, staff, "import.cancelled", "import_job", job.id, now, file=job.file_name[:100])
    return see_other(f"/impor/{job.id}?hasil={outcome}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/impor", page, name="imports")
    app.router.add_post("/impor", upload)
    app.router.add_get("/impor/{id}", show)
    app.router.add_get("/impor/{id}/kesalahan.xlsx", errors_file)
    app.router.add_post("/impor/{id}/terapkan", apply)
    app.router.add_post("/impor/{id}/batal", cancel)
