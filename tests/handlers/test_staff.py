"""Puskesmas staff: join, invite kaders, broadcast to a chosen audience through the outbox, cancel."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from db.models import AuditLog, Outbox, Posyandu, Puskesmas
from tests.helpers import ChatDriver, consent, invited_chat, make_family

BABY = date(2026, 9, 20)


async def staff_chat(engine, db, *, code="P5108060201", address="staff-1") -> ChatDriver:
    async with db.read() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == code))
    chat = await invited_chat(engine, db, role="staff", address=address, puskesmas_id=puskesmas_id)
    assert "petugas Puskesmas" in chat.text
    return chat


async def test_staff_broadcast_to_the_balita_families_of_one_village(engine, demo_db):
    for n in range(3):
        await make_family(demo_db, identity_address=f"naga-{n}", name=f"Naga {n}", members=((f"Bayi {n}", "M", BABY),))
    await make_family(demo_db, identity_address="naga-old", name="Naga Tua", members=(("Kakek", "M", date(1950, 1, 1)),))
    await make_family(demo_db, identity_address="alas-0", village_code="51.08.06.2016", members=(("Bayi Alas", "F", BABY),))
    await make_family(demo_db, identity_address="lampung", village_code="18.10.01.2011", members=(("Bayi L", "F", BABY),))
    chat = await staff_chat(engine, demo_db)
    await chat.say("/umumkan")
    await chat.press("Semua keluarga")
    assert not any("Anggrek" in label for label in chat.labels)  # another puskesmas's posyandu is not offered
    await chat.press("Posyandu Mawar")
    await chat.press("Lanjut")
    await chat.say("Besok ada PIN polio di Posyandu Mawar jam 08.00. Bawa buku KIA.")
    assert "4 penerima" in chat.text  # every family of Nagasepaha
    await chat.press("Batal")
    await chat.say("/umumkan")
    await chat.press("Keluarga dengan balita")
    await chat.press("Seluruh puskesmas")
    await chat.say("Imunisasi kejar untuk balita minggu ini.")
    assert "4 penerima" in chat.text  # 3 in Nagasepaha + 1 in Alasangker; Lampung is another puskesmas
    await chat.press("Batal")
    await chat.say("/umumkan")
    await chat.press("Keluarga dengan balita")
    await chat.press("Posyandu Mawar")  # the balita families of one village
    await chat.press("Lanjut")
    await chat.say("Imunisasi kejar untuk balita minggu ini.")
    assert "3 penerima" in chat.text
    await chat.press("Kirim")
    assert "masuk antrean untuk 3 penerima" in chat.text
    async with demo_db.read() as session:
        rows = list(await session.scalars(select(Outbox).order_by(Outbox.address)))
        audit = await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "broadcast.queued"))
    assert [r.address for r in rows] == ["naga-0", "naga-1", "naga-2"]
    assert all(r.kind == "broadcast" and "Imunisasi kejar" in r.body["text"] for r in rows) and audit == 1


async def test_a_pending_broadcast_can_be_cancelled(engine, demo_db):
    await make_family(demo_db, identity_address="naga-0", members=(("Bayi", "M", BABY),))
    chat = await staff_chat(engine, demo_db)
    await chat.say("/umumkan")
    await chat.press("Semua keluarga")
    await chat.press("Seluruh puskesmas")
    await chat.say("Posyandu bulan ini diundur seminggu.")
    await chat.press("Kirim")
    await chat.say("/status")
    assert "menunggu 1" in chat.text
    await chat.press("Batalkan #")
    assert "1 pesan tidak akan dikirim" in chat.text
    async with demo_db.read() as session:
        assert set(await session.scalars(select(Outbox.state))) == {"cancelled"}


async def test_staff_invite_kaders_of_their_own_posyandu_only(engine, demo_db):
    chat = await staff_chat(engine, demo_db)
    await chat.say("/undang")
    labels = chat.labels
    assert any("Mawar" in label for label in labels) and not any("Anggrek" in label for label in labels)
    await chat.press("Posyandu Mawar")
    code = chat.text.split("/kader ")[1].split()[0]
    kader = ChatDriver(engine, address="new-kader")
    await consent(kader)
    await kader.say(f"/kader {code}")
    async with demo_db.read() as session:
        mawar = (await session.scalars(select(Posyandu).where(Posyandu.name == "Posyandu Mawar"))).one()
    assert f"kader {mawar.name}" in kader.text


async def test_families_and_kaders_cannot_use_staff_commands(engine, demo_db):
    chat = ChatDriver(engine)
    await consent(chat)
    for command in ("/umumkan", "/status", "/undang"):
        await chat.say("batal")
        await chat.say(command)
        assert "untuk petugas puskesmas" in chat.text


async def test_moving_a_posyandu_day_tells_its_families_once_and_the_reminders_follow(engine, demo_db, settings, clock):
    from reminders.planner import Planner

    await make_family(demo_db, identity_address="naga-0", members=(("Bayi", "M", BABY),))
    await make_family(demo_db, identity_address="alas-0", village_code="51.08.06.2016", members=(("Bayi A", "F", BABY),))
    chat = await staff_chat(engine, demo_db)
    await chat.say("/jadwalposyandu")
    assert "Posyandu Mawar: " in chat.text
    await chat.press("Pindahkan")
    await chat.press("Posyandu Mawar")
    await chat.press("Sabtu, 5 Des")
    await chat.say("7-12-2026")
    await chat.say("bidan pelatihan")
    await chat.press("Kirim")
    assert "1 keluarga dan kader diberi tahu" in chat.text
    async with demo_db.read() as session:
        rows = list(await session.scalars(select(Outbox).where(Outbox.kind == "calendar")))
    assert [r.address for r in rows] == ["naga-0"]
    assert "dipindah ke Senin, 7 Desember" in rows[0].body["text"] and "bidan pelatihan" in rows[0].body["text"]
    # the reminders now name the new day: the day before is 6 December, not 4 December
    assert (await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))).items.get("posyandu", 0) == 0
    plan = await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 6))
    assert plan.items["posyandu"] == 1


async def test_laporan_and_ekspor_for_a_posyandu_month(engine, demo_db):
    import io

    from openpyxl import load_workbook

    from tests.handlers.test_kader import kader_chat

    families = [await make_family(demo_db, name=f"F{n}", members=((f"Bayi {n}", "M", BABY),)) for n in range(3)]
    kader = await kader_chat(engine, demo_db)
    for family in families[:2]:
        await kader.say(f"catat {family.code} anak1 bb 5,4 pb 57 imun dpt1 pcv1")
    chat = await staff_chat(engine, demo_db)
    await chat.say("/laporan")
    await chat.press("Posyandu Mawar")
    await chat.press("November 2026")
    text = chat.text
    assert "D/S 66,7% (2/3): " in text
    assert any(r.image and r.image.startswith(b"\x89PNG") for r in chat.replies)
    await chat.say("/ekspor")
    await chat.press("Posyandu Mawar")
    await chat.press("November 2026")
    files = dict(f for r in chat.replies for f in r.files)
    register = next(data for name, data in files.items() if name.startswith("register-")).decode("utf-8-sig")
    assert register.count("\n") == 3 and "DPT-HB-Hib 1" in register and "DPT_HB_HIB1" not in register
    book = load_workbook(io.BytesIO(next(data for name, data in files.items() if name.endswith(".xlsx"))))
    assert book.sheetnames == ["Laporan", "Register"] and book["Register"].max_row == 3


async def test_an_information_screen_does_not_block_the_next_command(engine, demo_db):
    chat = await staff_chat(engine, demo_db)
    await chat.say("/status")
    assert "Belum ada pengumuman" in chat.text
    await chat.say("/umumkan")
    assert "kepada siapa" in chat.text
