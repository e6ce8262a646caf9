"""The runner of register imports sent by chat (registers.jobs): claims one job at a time with a lease, fetches
the file again, checks or applies it, commits, then sends; a provider that cannot give the file fails the job
with one sentence, a crashed runner's job is taken again after its lease, a stop hands it back."""
from __future__ import annotations

import asyncio
from sqlalchemy import func, select, update

from channels.errors import PermanentFailure, TemporaryFailure
from db.models import AuditLog, Identity, ImportJob, ImportUpload, Puskesmas
from registers.jobs import (APPLY_WITHIN, MAX_ATTEMPTS, MAX_FILE_MB, PRUNE_EVERY, actor_of, errors_file_name, file_ending,
                            queue_upload, request_apply)
from tests.helpers import ImportWire, invited_chat

GOOD = b"nama;umur\nNi Luh Sari;31\nPutu Adi;1\n"


async def staff(engine, db, address: str = "staff-jobs"):
    async with db.read() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
    return await invited_chat(engine, db, role="staff", address=address, puskesmas_id=puskesmas_id)


async def queued(engine, db, ref: str = "file-1", name: str = "sasaran.csv", address: str = "staff-jobs"):
    chat = await staff(engine, db, address)
    await chat.say("/impor")
    await chat.document(name, ref)
    assert "File diterima" in chat.text
    return chat


async def the_job(db) -> ImportJob:
    async with db.read() as session:
        return (await session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(1))).one()


async def test_a_failing_fetch_fails_the_job_with_one_sentence_to_the_staff_member(engine, demo_db, clock):
    wire = ImportWire(fetch_error=PermanentFailure("telegram: BadRequest"))
    await queued(engine, demo_db)
    assert await wire.runner(demo_db, clock).run_once()
    job = await the_job(demo_db)
    assert job.state == "failed" and job.error == "PermanentFailure: telegram: BadRequest" and job.lease_until is None
    (sent,) = wire.sent
    assert sent[:2] == ("local", "staff-jobs") and sent[2].choices == () and sent[2].files == ()
    assert sent[2].text == ("Maaf, file sasaran.csv tidak bisa diambil dari Local, jadi belum diperiksa. "
                            "Kirim file itu sekali lagi dengan /impor.")
    assert wire.calls == []  # nothing was checked
    assert not await wire.runner(demo_db, clock).run_once()  # failed is final: not taken again


async def test_a_fetch_that_hangs_times_out_and_fails(engine, demo_db, clock):
    wire = ImportWire()
    never = asyncio.Event()

    async def hanging(channel: str, ref: str) -> bytes:
        await never.wait()
        return b""

    wire.fetch = hanging
    await queued(engine, demo_db)
    await wire.runner(demo_db, clock, fetch_timeout=0.01).run_once()
    assert (await the_job(demo_db)).state == "failed" and "tidak bisa diambil" in wire.sent[0][2].text


async def test_a_file_too_large_fails_without_a_check(engine, demo_db, clock):
    wire = ImportWire(files={"big": b"x" * (MAX_FILE_MB * 1024 * 1024 + 1)})
    await queued(engine, demo_db, ref="big")
    await wire.runner(demo_db, clock).run_once()
    assert (await the_job(demo_db)).state == "failed" and wire.calls == []
    assert "terlalu besar (50 MB; paling besar 50 MB)" in wire.sent[0][2].text


async def test_a_job_held_by_a_crashed_runner_is_taken_again_after_its_lease(engine, demo_db, clock):
    wire = ImportWire(files={"file-1": GOOD})
    await queued(engine, demo_db)
    crashed = wire.runner(demo_db, clock, lease_seconds=600)
    claimed = await crashed.claim()  # ... and the process dies here
    assert claimed is not None and claimed.attempts == 1
    other = wire.runner(demo_db, clock, lease_seconds=600)
    assert await other.claim() is None  # the lease holds
    clock.advance(seconds=601)
    assert await other.run_once()
    job = await the_job(demo_db)
    assert job.state == "checked" and job.attempts == 2 and len(wire.sent) == 1
    await crashed.process(claimed)  # the crashed claim coming back late changes nothing and sends nothing
    assert (await the_job(demo_db)).attempts == 2 and len(wire.sent) == 1


async def test_a_job_that_stops_every_runner_fails_after_its_attempts(engine, demo_db, clock):
    wire = ImportWire(files={"file-1": GOOD})
    await queued(engine, demo_db)
    for _attempt in range(MAX_ATTEMPTS):
        assert await wire.runner(demo_db, clock, lease_seconds=60).claim() is not None
        clock.advance(seconds=61)
    assert await wire.runner(demo_db, clock).run_once()
    job = await the_job(demo_db)
    assert job.state == "failed" and job.error == f"gave up after {MAX_ATTEMPTS} attempts" and wire.calls == []
    assert "terhenti berulang kali" in wire.sent[0][2].text


async def test_a_stop_during_the_check_hands_the_job_back(engine, demo_db, clock):
    wire = ImportWire(files={"file-1": GOOD})
    started, never = asyncio.Event(), asyncio.Event()

    async def slow(data, file_name, **kwargs):
        started.set()
        await never.wait()

    wire.check = slow
    await queued(engine, demo_db)
    runner = wire.runner(demo_db, clock, idle_seconds=0.01)
    runner.start()
    await started.wait()
    await runner.stopped(grace=0.01)
    job = await the_job(demo_db)
    assert (job.state, job.attempts, job.lease_until) == ("queued", 0, None) and wire.sent == []
    assert runner.task.done()


async def test_an_apply_that_breaks_goes_back_to_checked_and_terapkan_continues_it(engine, demo_db, clock):
    wire = ImportWire(files={"file-1": GOOD})
    chat = await queued(engine, demo_db)
    runner = wire.runner(demo_db, clock)
    await runner.run_once()
    report = wire.last("staff-jobs")
    await chat.press("Terapkan", [report])
    real = wire.check

    async def broken(data, file_name, *, apply, **kwargs):
        if apply:
            raise ConnectionResetError("the database went away")
        return await real(data, file_name, apply=apply, **kwargs)

    runner.check = broken
    await runner.run_once()
    job = await the_job(demo_db)
    assert job.state == "checked" and job.applicable and job.error == "ConnectionResetError"
    again = wire.last("staff-jobs")
    assert "terhenti karena gangguan" in again.text and [c.data for c in again.choices] == [f"/terapkan {job.id}", f"/batalimpor {job.id}"]
    runner.check = real
    await chat.press("Terapkan", [again])
    await runner.run_once()
    assert (await the_job(demo_db)).state == "applied" and "2 baris disimpan" in wire.last("staff-jobs").text
    async with demo_db.read() as session:
        audited = list(await session.scalars(select(AuditLog.action).where(AuditLog.action.like("import.%")).order_by(AuditLog.id)))
    assert audited == ["import.queued", "import.apply_queued", "import.apply_stopped", "import.apply_queued",
                       "import.applied"]


async def test_a_check_that_breaks_fails_the_job_and_logs_only_the_class(engine, demo_db, clock, caplog):
    wire = ImportWire(files={"file-1": GOOD})

    async def broken(data, file_name, **kwargs):
        raise ValueError("NIK 5108014507900001 tidak valid")

    wire.check = broken
    await queued(engine, demo_db)
    await wire.runner(demo_db, clock).run_once()
    assert (await the_job(demo_db)).state == "failed"
    assert "tidak bisa diperiksa karena gangguan" in wire.sent[0][2].text
    assert "5108014507900001" not in caplog.text and "ValueError" in caplog.text


async def test_the_report_is_in_the_staff_members_language(engine, demo_db, clock):
    wire = ImportWire(files={"file-1": GOOD})
    chat = await queued(engine, demo_db)
    await chat.say("/bahasa en")
    await wire.runner(demo_db, clock).run_once()
    assert wire.calls[0]["lang"] == "en" and wire.last("staff-jobs").language == "en"


async def test_one_job_at_a_time_oldest_first(engine, demo_db, clock):
    wire = ImportWire(files={"a": GOOD, "b": b"nama;umur\nX;y\n"})
    await queued(engine, demo_db, ref="a", name="a.csv", address="staff-a")
    await queued(engine, demo_db, ref="b", name="b.csv", address="staff-b")
    runner = wire.runner(demo_db, clock)
    assert await runner.run_once()
    assert [c["file"] for c in wire.calls] == ["a.csv"]
    assert await runner.run_once() and not await runner.run_once()
    b = wire.last("staff-b")
    assert "0 baris bisa disimpan, 1 bermasalah" in b.text and b.choices == ()  # nothing to apply: no Terapkan
    assert b.files == (("masalah-b.xlsx", b"X;y;umur bukan angka"),)


async def test_a_report_that_meets_a_rate_limit_is_sent_after_it(engine, demo_db, clock):
    wire = ImportWire(files={"file-1": GOOD})
    tries = []
    real = wire.send

    async def flaky(channel, address, reply):
        tries.append(address)
        if len(tries) == 1:
            raise TemporaryFailure("telegram: NetworkError")
        return await real(channel, address, reply)

    wire.send = flaky
    await queued(engine, demo_db)
    await wire.runner(demo_db, clock, send_backoff=0).run_once()
    assert len(tries) == 2 and len(wire.sent) == 1


async def test_an_erased_chat_takes_its_jobs_with_it(engine, demo_db, clock):
    await queued(engine, demo_db)
    async with demo_db.write() as session:
        await session.execute(update(Identity).where(Identity.address == "staff-jobs").values(family_id=None))
        identity = (await session.scalars(select(Identity).where(Identity.address == "staff-jobs"))).one()
        await session.delete(identity)
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_file_names():
    assert file_ending("Sasaran 2026.XLSX") == ".xlsx" and file_ending("sasaran") == "" and file_ending(None) == ""
    assert errors_file_name("data/../sasaran Desa #1.xlsx") == "masalah-sasaran_Desa_1.xlsx"
    assert errors_file_name("...") == "masalah-impor.xlsx"


async def test_terapkan_long_after_the_file_came_asks_for_it_again(engine, demo_db, clock):
    wire = ImportWire(files={"file-1": GOOD})
    chat = await queued(engine, demo_db)
    await wire.runner(demo_db, clock).run_once()
    clock.advance(days=APPLY_WITHIN.days, seconds=1)  # a WhatsApp media id lives 7 days
    await chat.press("Terapkan", [wire.last("staff-jobs")])
    assert "sudah lebih dari 6 hari" in chat.text and (await the_job(demo_db)).state == "checked"


# -- files uploaded on the web (channel "web") ----------------------------------------------------------


async def web_job(db, clock, data: bytes = GOOD, identity_id: int | None = None, language: str = "en") -> int:
    async with db.write() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
        job = await queue_upload(session, puskesmas_id=puskesmas_id, identity_id=identity_id, language=language,
                                 file_name="sasaran.csv", data=data, now=clock.now)
        return job.id


async def held(db, job_id: int) -> ImportUpload | None:
    async with db.read() as session:
        return await session.get(ImportUpload, job_id)


def test_the_importers_actor_names_the_chat_or_the_web_session():
    assert [actor_of(12, "telegram"), actor_of(12, "web"), actor_of(None, "web")] == ["chat:12", "web:12", "web:administrator"]


async def test_a_web_job_is_read_from_its_upload_checked_in_its_language_and_nothing_is_sent(demo_db, clock):
    wire = ImportWire()
    job_id = await web_job(demo_db, clock, GOOD + b"Komang;dua\n")
    runner = wire.runner(demo_db, clock)
    assert await runner.run_once()
    (call,) = wire.calls
    assert (call["actor"], call["actor_id"], call["lang"], call["apply"]) == ("web:administrator", None, "en", False)
    job = await the_job(demo_db)
    assert job.state == "checked" and job.applicable and job.report.startswith("sasaran.csv: 2 baris bisa disimpan")
    assert wire.sent == [] and (await held(demo_db, job_id)).errors == b"Komang;dua;umur bukan angka"
    async with demo_db.write() as session:
        assert request_apply(await session.get(ImportJob, job_id), clock.now) == "queued"
    assert await runner.run_once()
    assert (await the_job(demo_db)).state == "applied" and wire.sent == []
    assert await held(demo_db, job_id) is None  # the file is not kept once the job ended
    async with demo_db.read() as session:
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "import.applied"))).one()
    assert audit.actor_id is None and audit.target_id == job_id


async def test_a_web_job_that_stops_every_runner_says_so_on_its_page_and_drops_its_file(demo_db, clock):
    wire = ImportWire()
    job_id = await web_job(demo_db, clock, language="id")
    for _attempt in range(MAX_ATTEMPTS):
        assert await wire.runner(demo_db, clock, lease_seconds=60).claim() is not None
        clock.advance(seconds=61)
    assert await wire.runner(demo_db, clock).run_once()
    job = await the_job(demo_db)
    assert job.state == "failed" and "terhenti berulang kali" in job.report and wire.sent == []
    assert await held(demo_db, job_id) is None


async def test_an_idle_runner_prunes_the_files_of_web_jobs_too_old_to_apply_at_most_hourly(demo_db, clock):
    wire = ImportWire()
    runner = wire.runner(demo_db, clock)
    job_id = await web_job(demo_db, clock)
    async with demo_db.write() as session:
        await session.execute(update(ImportJob).where(ImportJob.id == job_id).values(state="checked"))
    clock.advance(seconds=APPLY_WITHIN.total_seconds() - 1800)
    assert not await runner.run_once() and await held(demo_db, job_id) is not None  # pruned: still young enough
    clock.advance(seconds=1860)
    assert not await runner.run_once() and await held(demo_db, job_id) is not None  # too old, but pruned 31 min ago
    clock.advance(seconds=PRUNE_EVERY.total_seconds() - 1860)
    assert not await runner.run_once() and await held(demo_db, job_id) is None
