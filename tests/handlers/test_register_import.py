"""/impor: staff send a register as a document; the check and the apply run outside the turn (registers.jobs)
and come back as messages with *Terapkan* / *Batal* and the errors file."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import AuditLog, ImportJob, Puskesmas
from tests.helpers import ChatDriver, ImportWire, consent, invited_chat, kader_of

GOOD = b"nama;umur\nNi Luh Sari;31\nPutu Adi;1\nKomang;dua\n"


async def staff_chat(engine, db, *, code: str = "P5108060201", address: str = "staff-impor", channel: str = "local") -> ChatDriver:
    async with db.read() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == code))
    if channel == "local":
        return await invited_chat(engine, db, role="staff", address=address, puskesmas_id=puskesmas_id)
    from handlers.kader import create_invite
    from tests.helpers import DEFAULT_NOW

    async with db.write() as session:
        invite = await create_invite(session, role="staff", puskesmas_id=puskesmas_id, now=DEFAULT_NOW)
    chat = ChatDriver(engine, address=address, channel=channel)
    await consent(chat)
    await chat.say(f"/staf {invite.code}")
    return chat


async def jobs(db) -> list[ImportJob]:
    async with db.read() as session:
        return list(await session.scalars(select(ImportJob).order_by(ImportJob.id)))


async def audits(db, action: str) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action))


async def test_a_register_sent_by_chat_is_checked_then_applied_with_terapkan(engine, demo_db, clock):
    wire = ImportWire(files={"file-1": GOOD})
    runner = wire.runner(demo_db, clock)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/impor")
    assert "CSV atau XLSX" in chat.text and "paling besar 50 MB" in chat.text and "Telegram" not in chat.text
    await chat.media("photo")  # a photo of the register is no file
    assert "sebagai dokumen" in chat.text and "bukan sebagai foto" in chat.text and "Kirim file data sasaran" in chat.text
    await chat.say("ini datanya")
    assert "sebagai dokumen" in chat.text
    assert await jobs(demo_db) == []
    await chat.document("sasaran Nagasepaha.csv", "file-1")
    assert "File diterima, sedang diperiksa" in chat.text and "belum ada data yang disimpan" in chat.text
    (job,) = await jobs(demo_db)
    assert (job.state, job.media_ref, job.file_name, job.channel, job.address) == (
        "queued", "file-1", "sasaran Nagasepaha.csv", "local", "staff-impor")
    assert await audits(demo_db, "import.queued") == 1
    assert wire.sent == []  # nothing is checked inside the turn

    assert await runner.run_once()
    assert not await runner.run_once()  # one job, done once
    report = wire.last("staff-impor")
    assert "2 baris bisa disimpan, 1 bermasalah" in report.text and f"/terapkan {job.id}" in report.text
    assert [c.label for c in report.choices] == ["Terapkan", "Batal"]
    assert [c.data for c in report.choices] == [f"/terapkan {job.id}", f"/batalimpor {job.id}"]
    ((name, errors),) = report.files
    assert name == "masalah-sasaran_Nagasepaha.xlsx" and errors == b"Komang;dua;umur bukan angka"
    assert wire.calls[-1] | {"size": 0} == {"file": "sasaran Nagasepaha.csv", "puskesmas_id": job.puskesmas_id, "apply": False,
                                            "actor": f"chat:{job.identity_id}", "actor_id": job.identity_id, "lang": "id",
                                            "size": 0}
    (job,) = await jobs(demo_db)
    assert job.state == "checked" and job.applicable and "1 bermasalah" in job.report

    await chat.press("Terapkan", [report])
    assert "mulai disimpan" in chat.text
    (job,) = await jobs(demo_db)
    assert job.state == "applying" and job.lease_until is None
    await chat.press("Terapkan", [report])  # twice
    assert "sudah sedang disimpan" in chat.text
    assert await audits(demo_db, "import.apply_queued") == 1

    assert await runner.run_once()
    assert wire.calls[-1]["apply"] is True
    done = wire.last("staff-impor")
    assert "2 baris disimpan" in done.text and done.choices == ()
    (job,) = await jobs(demo_db)
    assert job.state == "applied" and await audits(demo_db, "import.applied") == 1
    await chat.press("Terapkan", [report])  # after it was applied
    assert "sudah diterapkan" in chat.text and "dua kali" in chat.text
    assert not await runner.run_once()


async def test_terapkan_before_the_check_is_done_and_after_batal(engine, demo_db, clock):
    wire = ImportWire(files={"file-2": GOOD})
    runner = wire.runner(demo_db, clock)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/impor")
    await chat.document("sasaran.xlsx", "file-2")
    (job,) = await jobs(demo_db)
    await chat.say(f"/terapkan {job.id}")
    assert "belum selesai" in chat.text
    await chat.say("terapkan")  # typed at the waiting step
    assert "belum selesai" in chat.text
    assert (await jobs(demo_db))[0].state == "queued"
    await runner.run_once()
    report = wire.last("staff-impor")
    await chat.press("Batal", [report])
    assert "dibatalkan. Tidak ada data yang diubah" in chat.text
    await chat.press("Terapkan", [report])
    assert "sudah dibatalkan, jadi tidak bisa diterapkan" in chat.text
    await chat.press("Batal", [report])
    assert "sudah dibatalkan" in chat.text
    assert (await jobs(demo_db))[0].state == "cancelled" and await audits(demo_db, "import.cancelled") == 1
    assert not await runner.run_once() and len(wire.sent) == 1


async def test_the_waiting_steps_own_buttons(engine, demo_db, clock):
    wire = ImportWire(files={"file-3": GOOD})
    runner = wire.runner(demo_db, clock)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/impor")
    await chat.document("sasaran.csv", "file-3")
    assert chat.labels == ["Batalkan impor"]  # before the report: only cancelling
    await runner.run_once()
    await chat.say("apa kabar")  # anything else: the question again, now with Terapkan
    assert "Pilih Terapkan atau Batal" in chat.text and chat.labels == ["Terapkan", "Batal"]
    await chat.press("Terapkan")
    assert "mulai disimpan" in chat.text and "Terapkan" not in chat.labels
    await runner.run_once()
    await chat.say("bantuan")  # the waiting step again: it says the data is in
    assert "sudah disimpan" in chat.text
    assert [j.state for j in await jobs(demo_db)] == ["applied"]


async def test_a_cancel_while_the_check_runs_sends_no_report(engine, demo_db, clock):
    wire = ImportWire(files={"file-4": GOOD})
    runner = wire.runner(demo_db, clock)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/impor")
    await chat.document("sasaran.csv", "file-4")
    claimed = await runner.claim()
    assert (await jobs(demo_db))[0].state == "checking"
    await chat.press("Batalkan impor")
    assert "dibatalkan" in chat.text and "Apa yang ingin Bapak/Ibu lakukan?" in chat.text  # back at the menu
    await runner.process(claimed)
    assert wire.sent == [] and (await jobs(demo_db))[0].state == "cancelled"


async def test_staff_may_leave_the_flow_and_the_job_still_finishes(engine, demo_db, clock):
    wire = ImportWire(files={"file-5": GOOD})
    runner = wire.runner(demo_db, clock)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/impor")
    await chat.document("sasaran.csv", "file-5")
    await chat.say("/undang")  # another command while the check runs
    assert "Undang kader untuk posyandu mana?" in chat.text
    await runner.run_once()
    report = wire.last("staff-impor")
    await chat.press("Terapkan", [report])  # the report's button works in another flow
    assert "mulai disimpan" in chat.text and "Undang kader untuk posyandu mana?" in chat.text
    await runner.run_once()
    assert (await jobs(demo_db))[0].state == "applied"
    await chat.say("batal")
    await chat.say("/impor")
    await chat.say("batal")  # leaving before any file: nothing queued
    assert "Dibatalkan." in chat.text and len(await jobs(demo_db)) == 1


async def test_typing_batal_while_waiting_leaves_and_says_the_check_goes_on(engine, demo_db, clock):
    chat = await staff_chat(engine, demo_db)
    await chat.say("/impor")
    await chat.document("sasaran.csv", "file-6")
    await chat.say("batal")
    assert "tetap diproses" in chat.text and "tanpa Terapkan tidak ada data yang disimpan" in chat.text
    assert (await jobs(demo_db))[0].state == "queued"


async def test_a_corrected_file_replaces_the_one_checked(engine, demo_db, clock):
    wire = ImportWire(files={"old": GOOD, "new": b"nama;umur\nNi Luh Sari;31\n"})
    runner = wire.runner(demo_db, clock)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/impor")
    await chat.document("sasaran.csv", "old")
    await chat.document("sasaran2.csv", "new")  # while the first is being checked: wait
    assert "Tunggu sampai sasaran.csv selesai diproses" in chat.text
    await runner.run_once()
    await chat.document("sasaran2.csv", "new")
    assert "File diterima" in chat.text
    assert [(j.file_name, j.state) for j in await jobs(demo_db)] == [("sasaran.csv", "cancelled"), ("sasaran2.csv", "queued")]
    await runner.run_once()
    assert "1 baris bisa disimpan, 0 bermasalah" in wire.last("staff-impor").text and wire.last("staff-impor").files == ()


@pytest.mark.parametrize("name, said", [
    ("sasaran.xls", "Excel lama (.xls)"),
    ("sasaran.pdf", "bukan CSV atau XLSX"),
])
async def test_a_file_that_is_no_register_is_refused_at_once(engine, demo_db, name, said):
    chat = await staff_chat(engine, demo_db)
    await chat.say("/impor")
    await chat.document(name, "file-x")
    assert said in chat.text and "Kirim file data sasaran" in chat.text
    assert await jobs(demo_db) == []


async def test_on_telegram_the_20_mb_limit_is_said_and_kept(engine, demo_db):
    chat = await staff_chat(engine, demo_db, address="5012345679", channel="telegram")
    await chat.say("/impor")
    assert "paling besar 20 MB" in chat.text and "Di Telegram, bot hanya bisa mengunduh file sampai 20 MB" in chat.text
    await chat.document("sasaran.xlsx", "BQACAgUAAxkB", size=25 * 1024 * 1024)
    assert "terlalu besar (25 MB; paling besar 20 MB di sini)" in chat.text
    await chat.document("sasaran.xlsx", "BQACAgUAAxkB", size=48213)
    assert "File diterima" in chat.text
    (job,) = await jobs(demo_db)
    assert (job.channel, job.address, job.media_ref) == ("telegram", "5012345679", "BQACAgUAAxkB")


async def test_a_kader_and_a_family_are_refused(engine, demo_db, clock):
    wire = ImportWire(files={"file-7": GOOD})
    staff = await staff_chat(engine, demo_db)
    await staff.say("/impor")
    await staff.document("sasaran.csv", "file-7")
    await wire.runner(demo_db, clock).run_once()
    (job,) = await jobs(demo_db)
    kader = await kader_of(engine, demo_db)
    await kader.say("/impor")
    assert "Perintah ini untuk petugas puskesmas." in kader.text
    await kader.press("Terapkan", [wire.last("staff-impor")])
    assert "Perintah ini untuk petugas puskesmas." in kader.text
    family = ChatDriver(engine, address="family-impor")
    await consent(family)
    await family.say(f"/terapkan {job.id}")
    assert "Perintah ini untuk petugas puskesmas." in family.text
    assert (await jobs(demo_db))[0].state == "checked"


async def test_staff_of_another_puskesmas_cannot_apply_it(engine, demo_db, clock):
    wire = ImportWire(files={"file-8": GOOD})
    staff = await staff_chat(engine, demo_db)
    await staff.say("/impor")
    await staff.document("sasaran.csv", "file-8")
    await wire.runner(demo_db, clock).run_once()
    other = await staff_chat(engine, demo_db, code="P1810010101", address="staff-lampung")
    await other.press("Terapkan", [wire.last("staff-impor")])
    assert "Impor itu tidak ditemukan" in other.text
    await other.say("/terapkan")  # no number and no import of their own
    assert "Impor itu tidak ditemukan" in other.text
    await staff.say("/terapkan")  # no number: the staff member's last import
    assert "mulai disimpan" in staff.text
