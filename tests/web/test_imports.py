"""Impor on the web: an upload becomes an import job of channel "web" whose file waits in the database; the
runner of registers.jobs checks it with the real check and sends nothing; the page shows the report, offers
the errors XLSX, applies and cancels (audited); the file is deleted when the job ends; another puskesmas's
job is not found; CSRF on every form; a file that is no register, empty or too big is refused in one sentence."""
from __future__ import annotations

from functools import partial

import pytest
from aiohttp import FormData
from sqlalchemy import func, select, update

from db.models import AuditLog, ImportJob, ImportUpload, Person, Puskesmas
from registers.commands import check_file
from registers.jobs import APPLY_WITHIN, ImportRunner, prune_uploads
from registers.read import MAX_BYTES
from registers.template import template_bytes
from tests.helpers import ImportWire
from tests.web.browser import needs_browser, shot
from tests.web.site import HOME, csrf_of, sign_in, staff_member
from web.imports import upload_problem
from web.uploads import Upload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: a register with problems only: checked, nothing to apply, an errors file
BAD_CSV = (b"No KK;NIK;Nama;Jenis Kelamin;Tanggal Lahir\n"
           b"5108060101000001;;Made Bagus;L;31-02-2025\n")


def upload_form(csrf: str | None, name: str, data: bytes, content_type: str = "application/octet-stream") -> FormData:
    form = FormData()
    if csrf is not None:
        form.add_field("csrf", csrf)
    form.add_field("berkas", data, filename=name, content_type=content_type)
    return form


def runner(db, clock) -> tuple[ImportRunner, ImportWire]:
    """The runner with the real check (registers.commands.check_file on the test database); what it sends recorded."""
    wire = ImportWire()
    return ImportRunner(db, fetch=wire.fetch, check=partial(check_file, db), send=wire.send, clock=clock), wire


async def _signed_in(client, engine, db, identity: bool = True) -> str:
    html = await sign_in(client, db, await staff_member(engine, db) if identity else None)
    return csrf_of(html)


async def _job(db) -> ImportJob:
    async with db.read() as session:
        return (await session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(1))).one()


async def _uploads(db) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(ImportUpload))


async def _persons(db) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(Person))


async def test_upload_check_report_and_apply(client, engine, demo_db, clock):
    csrf = await _signed_in(client, engine, demo_db)
    page = await client.get("/impor")
    html = await page.text()
    assert page.status == 200 and 'enctype="multipart/form-data"' in html and "Belum ada impor." in html

    sent = await client.post("/impor", data=upload_form(csrf, "sasaran.xlsx", template_bytes(), XLSX), allow_redirects=False)
    assert sent.status == 303
    job = await _job(demo_db)
    assert sent.headers["Location"] == f"/impor/{job.id}"
    assert (job.channel, job.state, job.language, job.file_name) == ("web", "queued", "id", "sasaran.xlsx")
    waiting = await (await client.get(f"/impor/{job.id}")).text()
    assert 'http-equiv="refresh"' in waiting and "Menunggu pemeriksaan" in waiting

    work, wire = runner(demo_db, clock)
    persons = await _persons(demo_db)
    assert await work.run_once()
    assert wire.sent == []  # a web job's page shows the report: nothing is sent
    checked = await client.get(f"/impor/{job.id}")
    html = await checked.text()
    assert checked.status == 200 and 'http-equiv="refresh"' not in html and "Sudah diperiksa" in html
    assert "Impor sasaran.xlsx: diperiksa, belum ada yang disimpan" in html and "Anggota: 3 baru" in html
    assert f'action="/impor/{job.id}/terapkan"' in html and f'action="/impor/{job.id}/batal"' in html
    assert await _persons(demo_db) == persons  # a check writes nothing

    applied = await client.post(f"/impor/{job.id}/terapkan", data={"csrf": csrf}, allow_redirects=False)
    assert applied.status == 303 and (await _job(demo_db)).state == "applying"
    assert await work.run_once() and wire.sent == []
    done = await _job(demo_db)
    html = await (await client.get(f"/impor/{job.id}")).text()
    assert done.state == "applied" and "Sudah diterapkan" in html and "/terapkan" not in html
    assert await _persons(demo_db) == persons + 3
    assert await _uploads(demo_db) == 0  # the uploaded file is not kept once the job ended
    async with demo_db.read() as session:
        actions = {a.action: a for a in await session.scalars(select(AuditLog).where(AuditLog.target_type == "import_job"))}
    assert {"import.queued", "import.apply_queued", "import.applied"} <= set(actions)
    assert actions["import.queued"].detail["via"] == "web" and actions["import.queued"].actor_id == job.identity_id
    listed = await (await client.get("/impor")).text()
    assert "sasaran.xlsx" in listed and "Sudah diterapkan" in listed and f"Petugas #{job.identity_id}" in listed


async def test_the_errors_file_is_offered_while_the_job_holds_its_file(client, engine, demo_db, clock):
    csrf = await _signed_in(client, engine, demo_db)
    await client.post("/impor", data=upload_form(csrf, "sasaran.csv", BAD_CSV, "text/csv"))
    job = await _job(demo_db)
    work, _wire = runner(demo_db, clock)
    await work.run_once()
    html = await (await client.get(f"/impor/{job.id}")).text()
    assert "Tanggal tidak ada di kalender (31-02-2025)" in html and "/terapkan" not in html
    download = await client.get(f"/impor/{job.id}/kesalahan.xlsx")
    assert download.status == 200 and download.content_type == XLSX
    assert (await download.read())[:2] == b"PK" and "masalah-sasaran.xlsx" in download.headers["Content-Disposition"]


async def test_cancel_deletes_the_file_and_is_audited(client, engine, demo_db, clock):
    csrf = await _signed_in(client, engine, demo_db)
    await client.post("/impor", data=upload_form(csrf, "sasaran.xlsx", template_bytes(), XLSX))
    job = await _job(demo_db)
    work, _wire = runner(demo_db, clock)
    await work.run_once()
    cancelled = await client.post(f"/impor/{job.id}/batal", data={"csrf": csrf}, allow_redirects=False)
    assert cancelled.status == 303
    assert (await _job(demo_db)).state == "cancelled" and await _uploads(demo_db) == 0
    html = await (await client.get(cancelled.headers["Location"])).text()
    assert "Dibatalkan" in html and "/terapkan" not in html
    again = await client.post(f"/impor/{job.id}/terapkan", data={"csrf": csrf})
    assert "Tidak bisa lagi: impor ini dibatalkan." in await again.text()
    assert (await client.get(f"/impor/{job.id}/kesalahan.xlsx")).status == 404
    async with demo_db.read() as session:
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "import.cancelled"))).one()
    assert audit.target_id == job.id and audit.detail["via"] == "web"


async def test_an_administrators_upload_is_checked_in_the_sessions_language(client, engine, demo_db, clock):
    csrf = await _signed_in(client, engine, demo_db, identity=False)
    await client.post("/bahasa", data={"csrf": csrf, "lang": "en", "next": "/impor"})
    await client.post("/impor", data=upload_form(csrf, "targets.xlsx", template_bytes(), XLSX))
    job = await _job(demo_db)
    assert job.identity_id is None and job.language == "en"
    work, _wire = runner(demo_db, clock)
    assert await work.run_once()
    job = await _job(demo_db)
    assert job.state == "checked" and job.report.startswith("Import targets.xlsx")
    async with demo_db.read() as session:
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "import.queued"))).one()
    assert audit.actor_id is None and audit.detail["by"] == "administrator"


async def test_another_puskesmass_job_is_not_found(client, engine, demo_db, clock):
    csrf = await _signed_in(client, engine, demo_db)
    await client.post("/impor", data=upload_form(csrf, "sasaran.xlsx", template_bytes(), XLSX))
    job = await _job(demo_db)
    async with demo_db.write() as session:
        other = await session.scalar(select(Puskesmas.id).where(Puskesmas.code != HOME))
        await session.execute(update(ImportJob).where(ImportJob.id == job.id).values(puskesmas_id=other))
    for path in (f"/impor/{job.id}", f"/impor/{job.id}/kesalahan.xlsx", "/impor/abc"):
        assert (await client.get(path)).status == 404
    for path in (f"/impor/{job.id}/terapkan", f"/impor/{job.id}/batal"):
        assert (await client.post(path, data={"csrf": csrf})).status == 404
    assert (await _job(demo_db)).state == "queued"
    assert "sasaran.xlsx" not in await (await client.get("/impor")).text()


async def test_every_form_needs_the_sessions_token(client, engine, demo_db, clock):
    csrf = await _signed_in(client, engine, demo_db)
    refused = await client.post("/impor", data=upload_form(None, "sasaran.xlsx", template_bytes(), XLSX))
    assert refused.status == 403
    assert (await client.post("/impor", data=upload_form("wrong", "sasaran.xlsx", template_bytes(), XLSX))).status == 403
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ImportJob)) == 0
    await client.post("/impor", data=upload_form(csrf, "sasaran.xlsx", template_bytes(), XLSX))
    job = await _job(demo_db)
    await runner(demo_db, clock)[0].run_once()
    for path in (f"/impor/{job.id}/terapkan", f"/impor/{job.id}/batal"):
        assert (await client.post(path, data={})).status == 403
    assert (await _job(demo_db)).state == "checked"


async def test_a_file_that_is_no_register_empty_or_too_big_is_refused_in_one_sentence(client, engine, demo_db):
    csrf = await _signed_in(client, engine, demo_db)
    pdf = await client.post("/impor", data=upload_form(csrf, "laporan.pdf", b"%PDF-1.4 ..."))
    assert pdf.status == 400
    assert "File laporan.pdf bukan CSV atau XLSX. Kirim data sasaran sebagai file .xlsx atau .csv." in await pdf.text()
    empty = await client.post("/impor", data=upload_form(csrf, "kosong.csv", b""))
    assert empty.status == 400 and "File kosong.csv kosong. Pilih file yang berisi data sasaran." in await empty.text()
    none = await client.post("/impor", data={"csrf": csrf})
    assert none.status == 400 and "Pilih file CSV atau XLSX untuk diunggah." in await none.text()
    big = await client.post("/impor", data=upload_form(csrf, "besar.csv", b"x" * (MAX_BYTES + 1)))
    assert big.status == 413 and "File besar.csv terlalu besar (paling besar 50 MB)." in await big.text()
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ImportJob)) == 0


async def test_held_files_are_pruned_once_too_old_to_apply(client, engine, demo_db, clock):
    csrf = await _signed_in(client, engine, demo_db)
    await client.post("/impor", data=upload_form(csrf, "sasaran.xlsx", template_bytes(), XLSX))
    async with demo_db.write() as session:
        assert await prune_uploads(session, clock.now) == 0
        assert await prune_uploads(session, clock.now + APPLY_WITHIN + APPLY_WITHIN / 6) == 1
    assert await _uploads(demo_db) == 0
    work, _wire = runner(demo_db, clock)
    await work.run_once()  # the file is gone: the job fails with one sentence on its page
    job = await _job(demo_db)
    assert job.state == "failed" and job.report == "Maaf, file sasaran.xlsx sudah tidak tersimpan. Unggah file itu sekali lagi."


@needs_browser
async def test_in_a_browser_upload_read_the_report_and_apply(signed_in, live_web, request):
    page = signed_in
    await page.get_by_role("link", name="Impor").first.click()
    await page.get_by_role("heading", level=1, name="Impor data sasaran").wait_for()
    await page.get_by_label("File CSV atau XLSX").set_input_files(
        files=[{"name": "template-impor.xlsx", "mimeType": XLSX, "buffer": template_bytes()}])
    await shot(page, request, "form")
    await page.get_by_role("button", name="Unggah dan periksa").click()
    await page.get_by_text("Menunggu pemeriksaan").wait_for()
    work, wire = runner(live_web.db, live_web.clock)
    assert await work.run_once()
    await page.reload()
    await page.get_by_text("Impor template-impor.xlsx: diperiksa, belum ada yang disimpan").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    await shot(page, request, "report")
    await page.get_by_role("button", name="Terapkan").click()
    await page.get_by_text("Sedang diterapkan").wait_for()
    assert await work.run_once() and wire.sent == []
    await page.reload()
    await page.get_by_text("Sudah diterapkan").first.wait_for()
    assert await page.get_by_role("button", name="Terapkan").count() == 0
    await shot(page, request, "applied")
    assert (await _job(live_web.db)).state == "applied" and await _uploads(live_web.db) == 0


async def test_a_broken_multipart_body_is_answered_without_a_traceback(client, engine, demo_db):
    csrf = await _signed_in(client, engine, demo_db)
    for content_type, body in (("multipart/form-data", b"x"),
                               ("multipart/form-data; boundary=zz", b"--zz\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n"
                                + csrf.encode()),
                               ("multipart/form-data; boundary=zz", b"garbage without parts"),
                               ("multipart/form-data; boundary=zz", b"--zz\r\nContent-Disposition: form-data; name=\"csrf\"\r\n"
                                b"Content-Type: text/plain; charset=klingon\r\n\r\n" + csrf.encode() + b"\r\n--zz--\r\n")):
        answer = await client.post("/impor", data=body, headers={"Content-Type": content_type})
        assert answer.status in (400, 403), (content_type, body, answer.status)


@pytest.mark.parametrize(("upload", "problem"), [
    (Upload("sasaran.xlsx", b"PK..."), None),
    (Upload("sasaran.CSV", b"nama;umur"), None),
    (Upload("sasaran", b"nama;umur"), None),  # no ending: the reader decides by the content
    (None, "Pilih file CSV atau XLSX untuk diunggah."),
    (Upload("", b""), "Pilih file CSV atau XLSX untuk diunggah."),
    (Upload("laporan.pdf", b"%PDF"), "File laporan.pdf bukan CSV atau XLSX. Kirim data sasaran sebagai file .xlsx atau .csv."),
    (Upload("lama.xls", b"\xd0\xcf"), "File lama.xls berformat Excel lama (.xls). Buka di Excel, simpan sebagai Buku Kerja "
                                      "Excel (.xlsx), lalu kirim lagi."),
    (Upload("kosong.csv", b" \n"), "File kosong.csv kosong. Pilih file yang berisi data sasaran."),
    (Upload("besar.xlsx", b"", too_big=True), "File besar.xlsx terlalu besar (paling besar 50 MB). Bagi menjadi beberapa "
                                              "file, misalnya per desa."),
])
def test_what_upload_is_refused_and_why(upload, problem):
    assert upload_problem(upload) == problem
