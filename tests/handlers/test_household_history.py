"""The acceptance test of "a true family record": a household registered by chat with its Buku KIA
history, then /imunisasi, /jadwal and the next day's reminders say nothing about what was done."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from care.labels import DOSE_LABELS
from db.models import CareRecord, Person, ReminderItem
from reminders.planner import Planner
from tests.helpers import ChatDriver, add_member, register_household

TODAY = date(2026, 11, 23)
TOMORROW = date(2026, 11, 24)
CHILD_BIRTH = "10-11-2024"  # two years old
#: the Buku KIA of the two-year-old, typed as a kader or mother reads it out
BOOK = ("hb0 bcg 10-11-2024, opv1 10-12-2024, dpt1 opv2 pcv1 rv1 10-01-2025, dpt2 opv3 pcv2 rv2 10-02-2025\n"
        "dpt3 opv4 ipv1 rv3 10-03-2025\n"
        "mr1 ipv2 agustus 2025, pcv3 sudah, dpt4 mr2 10-05-2026")
#: the history questions of the child: the immunisation (either way), vitamin A in August, deworming recently
QUICK = (("press", "Semua sesuai umur"), ("press", "Tidak ada"))
TYPED = (("press", "Isi satu per satu"), ("say", BOOK), ("press", "Sudah semua"))
CHILD_REST = (("press", "Agustus 2026"), ("press", "Dalam 6 bln terakhir"))
#: services recorded as done by the history questions
DONE_SERVICES = {"VITA_MERAH", "OBAT_CACING", "SKRINING_PTM", "SKILAS"}


async def _register(chat: ChatDriver, immunisation: tuple) -> None:
    await register_household(chat)
    await add_member(chat, "Ni Made Sari", "Perempuan", "12-03-1996", history=(("press", "Dalam setahun ini"),))
    await chat.press("Tambah anggota")
    await add_member(chat, "Putu Ayu", "Perempuan", CHILD_BIRTH, history=immunisation + CHILD_REST)
    await chat.press("Tambah anggota")
    await add_member(chat, "Nenek Rai", "Perempuan", "67 tahun", history=(("press", "Dalam setahun ini"),))
    assert "Nenek Rai (Perempuan, \u00b167 tahun): Lansia" in chat.text
    await chat.press("Selesai")
    assert "Pendaftaran selesai" in chat.text


@pytest.mark.parametrize("immunisation", [QUICK, TYPED], ids=["quick path", "typed dates"])
async def test_a_household_with_a_complete_buku_kia_is_nagged_about_nothing(engine, demo_db, settings, clock, immunisation):
    chat = ChatDriver(engine)
    await _register(chat, immunisation)

    async with demo_db.read() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
        records = list(await session.scalars(select(CareRecord)))
    grandmother, child = people["Nenek Rai"], people["Putu Ayu"]
    assert grandmother.birth_precision == "age" and grandmother.birth_date == date(1959, 5, 23)
    doses = {r.code for r in records if r.person_id == child.id and r.code in DOSE_LABELS}
    assert doses == set(DOSE_LABELS) - {"JE"}  # every dose up to 18 months (JE is off by default)
    assert {r.code for r in records if r.code not in DOSE_LABELS} == DONE_SERVICES
    assert all(r.source == "family" for r in records)

    await chat.say("/imunisasi")
    card = chat.text
    assert "Putu Ayu (2 tahun)" in card and "Sudah" in card
    for marker in ("Terlewat", "Terlambat", "Perlu diulang", "Waktunya sekarang", "Berikutnya"):
        assert marker not in card, marker
    if immunisation is TYPED:
        assert "BCG 10 Nov 2024" in card and "Campak-Rubela 1 (MR) Agu 2025" in card
        assert "tanggal tidak diketahui: PCV 3 (pneumokokus)" in card
    else:
        assert "Sudah, tanggal tidak diketahui: Hepatitis B 0 (HB0), BCG" in card

    await chat.say("/jadwal")
    schedule = chat.text
    assert "terlambat" not in schedule and "kejar" not in schedule
    for label in ("Vitamin A", "Obat cacing", "Skrining penyakit tidak menular", "Skrining lansia", "DPT", "Campak"):
        assert label not in schedule, label

    result = await Planner(demo_db, settings, clock=clock).plan_day(TOMORROW)
    async with demo_db.read() as session:
        items = list(await session.scalars(select(ReminderItem)))
    assert result.families == 1
    subjects = {item.subject.split(":")[0] for item in items}
    assert not subjects & set(DOSE_LABELS), subjects
    assert not subjects & DONE_SERVICES, subjects
    # what is still to do stays: the two-year-old's development screening (due at 24 months, not done)
    assert subjects == {"SDIDTK"} and all(item.person_id == child.id for item in items)
