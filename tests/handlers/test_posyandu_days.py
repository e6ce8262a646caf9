"""/jadwalposyandu: a change to a posyandu day is shown as the families will get it and sent only on
*Kirim*; a Sunday or a holiday is warned about first; the example date is a real one after the session
moved; a date is never taken as the reason.

The clock is Monday 23 November 2026 (Bali); Posyandu Mawar (Nagasepaha) meets on the 5th: its next
session is Saturday 5 December 2026.
"""
from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from content.i18n import _, format_date, use_locale
from db.models import AuditLog, Outbox, PosyanduException, Puskesmas
from handlers.posyandu_days import day_off, example_day, looks_like_date, read_day
from tests.helpers import ChatDriver, invited_chat, make_family

TODAY = date(2026, 11, 23)
BABY = date(2026, 9, 20)


async def staff_chat(engine, db, language: str = "id") -> ChatDriver:
    async with db.read() as session:
        puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
    chat = await invited_chat(engine, db, role="staff", address=f"staff-days-{language}", puskesmas_id=puskesmas_id)
    if language != "id":
        await chat.say(f"/bahasa {language}")
    return chat


async def _families(db) -> None:
    await make_family(db, identity_address="naga-0", members=(("Bayi", "M", BABY),))
    await make_family(db, identity_address="naga-1", name="Keluarga Dua", members=(("Bayi Dua", "F", BABY),))
    await make_family(db, identity_address="alas-0", village_code="51.08.06.2016", members=(("Bayi A", "F", BABY),))


async def _outbox(db) -> list[Outbox]:
    async with db.read() as session:
        return list(await session.scalars(select(Outbox).where(Outbox.kind == "calendar").order_by(Outbox.address)))


async def _changes(db) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(PosyanduException))


async def _to_new_date(chat: ChatDriver) -> None:
    await chat.say("/jadwalposyandu")
    await chat.press("Pindahkan")
    await chat.press("Posyandu Mawar")
    assert "Sabtu, 5 Des" in chat.labels and all(len(label) <= 20 for label in chat.labels)
    await chat.press("Sabtu, 5 Des")


async def test_a_move_is_previewed_and_sent_only_on_kirim(engine, demo_db):
    await _families(demo_db)
    chat = await staff_chat(engine, demo_db)
    await _to_new_date(chat)
    assert "Sesi Sabtu, 5 Desember dipindah ke tanggal berapa? Contoh: 7-12-2026" in chat.text  # Monday after
    await chat.say("7-12-2026")
    await chat.say("bidan pelatihan")
    assert "Pesan ini akan dikirim ke 2 keluarga dan kader:" in chat.text
    assert "Posyandu Mawar: jadwal Sabtu, 5 Desember dipindah ke Senin, 7 Desember. Alasan: bidan pelatihan" in chat.text
    assert chat.labels == ["Kirim", "Ubah", "Batal"]
    assert await _outbox(demo_db) == [] and await _changes(demo_db) == 0  # nothing before Kirim
    await chat.press("Kirim")
    assert "2 keluarga dan kader diberi tahu" in chat.text
    rows = await _outbox(demo_db)
    assert [r.address for r in rows] == ["naga-0", "naga-1"]
    assert all("dipindah ke Senin, 7 Desember" in r.body["text"] and "bidan pelatihan" in r.body["text"] for r in rows)
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "posyandu.moved")) == 1


async def test_batal_at_the_preview_saves_and_sends_nothing(engine, demo_db):
    await _families(demo_db)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/jadwalposyandu")
    await chat.press("Batalkan")
    await chat.press("Posyandu Mawar")
    await chat.press("Sabtu, 5 Des")
    await chat.say("hujan deras")
    assert "Posyandu Mawar: jadwal Sabtu, 5 Desember dibatalkan. Alasan: hujan deras" in chat.text
    await chat.press("Batal")
    assert "Jadwal tidak diubah. Tidak ada pesan yang dikirim." in chat.text
    assert await _outbox(demo_db) == [] and await _changes(demo_db) == 0


async def test_ubah_changes_the_reason_or_the_day_and_shows_the_preview_again(engine, demo_db):
    await _families(demo_db)
    chat = await staff_chat(engine, demo_db)
    await _to_new_date(chat)
    await chat.say("7-12-2026")
    await chat.say("bidan pelatiahn")
    await chat.press("Ubah")
    assert chat.labels == ["Sesi", "Tanggal baru", "Alasan"]
    await chat.press("Alasan")
    await chat.say("bidan pelatihan")
    assert "Alasan: bidan pelatihan" in chat.text and "pelatiahn" not in chat.text and "Kirim" in chat.labels
    await chat.press("Ubah")
    await chat.press("Tanggal baru")
    await chat.say("8-12-2026")
    assert "dipindah ke Selasa, 8 Desember. Alasan: bidan pelatihan" in chat.text and "Kirim" in chat.labels
    await chat.press("Kirim")
    assert all("Selasa, 8 Desember" in r.body["text"] for r in await _outbox(demo_db))


@pytest.mark.parametrize(("typed", "why"), [
    ("6-12-2026", "hari Minggu"),
    ("25-12-2026", "hari libur nasional (Kelahiran Yesus Kristus)"),
    ("24-12-2026", "cuti bersama (Cuti Bersama Kelahiran Yesus Kristus)"),
])
async def test_a_sunday_or_a_holiday_is_warned_about_before_the_preview(engine, demo_db, typed, why):
    await _families(demo_db)
    chat = await staff_chat(engine, demo_db)
    await _to_new_date(chat)
    await chat.say(typed)
    day = read_day(typed, TODAY)
    assert f"{format_date(day, 'EEEE, d MMMM y')} adalah {why}." in chat.text
    assert chat.labels == ["Tetap tanggal ini", "Ganti tanggal"]
    await chat.press("Ganti tanggal")
    assert "dipindah ke tanggal berapa?" in chat.text
    await chat.say(typed)
    await chat.press("Tetap tanggal ini")
    assert "Alasannya?" in chat.text
    await chat.say("balai desa dipakai")
    assert f"dipindah ke {format_date(day, 'EEEE, d MMMM')}" in chat.text and "Kirim" in chat.labels


@pytest.mark.parametrize("typed", ["7-12-2026", "7/12", "31-12-2026 ", "32-12-2026", "7 Des", "12.12.26"])
async def test_a_date_typed_as_the_reason_is_refused(engine, demo_db, typed):
    await _families(demo_db)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/jadwalposyandu")
    await chat.press("Batalkan")
    await chat.press("Posyandu Mawar")
    await chat.press("Sabtu, 5 Des")
    await chat.say(typed)
    assert "Itu tanggal, bukan alasan." in chat.text and "Alasannya?" in chat.text
    assert "Kirim" not in chat.labels and await _changes(demo_db) == 0


@pytest.mark.parametrize(("typed", "hint"), [
    ("31-11-2026", "tidak ada di kalender"),
    ("besok lusa", "tanggalnya tidak terbaca"),
    ("1-1-2026", "90 hari ke depan"),
    ("5-12-2026", "Itu tanggal sesi yang dipindah"),
])
async def test_a_bad_new_date_is_refused_with_a_real_example(engine, demo_db, typed, hint):
    chat = await staff_chat(engine, demo_db)
    await _to_new_date(chat)
    await chat.say(typed)
    assert hint in chat.text and "7-12-2026" in chat.text and "dipindah ke tanggal berapa?" in chat.text


async def test_an_extra_session_is_previewed_with_a_working_day_as_the_example(engine, demo_db):
    await _families(demo_db)
    chat = await staff_chat(engine, demo_db)
    await chat.say("/jadwalposyandu")
    await chat.press("Tambah sesi")
    await chat.press("Posyandu Mawar")
    assert "Contoh: 30-11-2026" in chat.text  # a week from Monday 23 November: Monday 30 November
    await chat.say("2-12")  # the year may be left out
    await chat.say("imunisasi kejar campak")
    assert "Posyandu Mawar: ada sesi tambahan Rabu, 2 Desember. imunisasi kejar campak" in chat.text
    await chat.press("Kirim")
    assert len(await _outbox(demo_db)) == 2


async def test_the_preview_in_english(engine, demo_db):
    await _families(demo_db)
    chat = await staff_chat(engine, demo_db, "en")
    await chat.say("/jadwalposyandu")
    with use_locale("en"):
        await chat.press(_("Pindahkan"))
        await chat.press("Posyandu Mawar")
        await chat.press(format_date(date(2026, 12, 5), "EEEE, d MMM"))
        assert _("Sesi {day} dipindah ke tanggal berapa? Contoh: {example}",
                 day=format_date(date(2026, 12, 5), "EEEE, d MMMM"), example="7-12-2026") in chat.text
        await chat.say("6-12-2026")
        assert _("{day} adalah {why}. Posyandu biasanya libur pada hari itu. Tetap pakai tanggal ini?",
                 day=format_date(date(2026, 12, 6), "EEEE, d MMMM y"), why=_("hari Minggu")) in chat.text
        await chat.press(_("Tetap tanggal ini"))
        await chat.say("midwife training")
        assert _("Pesan ini akan dikirim ke {count} keluarga dan kader:", count=2) in chat.text
        assert chat.labels == [_("Kirim"), _("Ubah"), _("Batal")]


# -- the rules, table-first -------------------------------------------------------------------------------


@pytest.mark.parametrize(("original", "expected"), [
    (date(2026, 12, 5), date(2026, 12, 7)),  # Saturday: Sunday 6 is no working day -> Monday 7
    (date(2026, 12, 23), date(2026, 12, 26)),  # 24 cuti bersama, 25 Christmas -> Saturday 26
    (date(2026, 12, 31), date(2027, 1, 2)),  # 1 January is a holiday
    (date(2026, 11, 20), TODAY),  # a session already past: never an example before today
    (None, date(2026, 11, 30)),  # an extra session: a week from today
])
def test_the_example_day_is_a_working_day_after_the_session(original, expected):
    ctx = SimpleNamespace(today=TODAY, data={"original": original.isoformat()} if original else {})
    day = example_day(ctx)
    assert day == expected and day_off(day) is None and (original is None or day > original or day == TODAY)


@pytest.mark.parametrize(("text", "is_date"), [
    ("bidan pelatihan", False), ("hujan deras", False), ("rapat 7 Des di balai", False),
    ("7-12-2026", True), ("7/12", True), ("12/12/2026", True), ("31-02-2026", True), ("7 Des", True),
    ("2026-12-07", True), ("7 - 12", True),
])
def test_looks_like_date(text, is_date):
    assert looks_like_date(text, TODAY) is is_date


@pytest.mark.parametrize(("day", "why"), [
    (date(2026, 12, 6), "hari Minggu"), (date(2026, 12, 25), "hari libur nasional (Kelahiran Yesus Kristus)"),
    (date(2026, 12, 5), None), (date(2026, 12, 7), None),
])
def test_day_off(day, why):
    assert day_off(day) == why
