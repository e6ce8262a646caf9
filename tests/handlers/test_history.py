"""Entering the Buku KIA history (handlers/history.py): after a member is added, from /imunisasi,
/jadwal (*Tandai sudah*) and /riwayat (also a kader's ``/riwayat K-XXXXXX``); bad input at each question."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from care.labels import DOSE_LABELS
from db.models import AuditLog, CareRecord, Identity, Posyandu, ReminderItem
from handlers.history import compact, item_label, quick_doses, recent_rounds, short_dose, topics_for
from reminders.planner import Planner
from tests.helpers import (
    DEFAULT_NOW,
    ChatDriver,
    invited_chat,
    make_family,
    make_pregnant,
    person_id,
    record_care,
    register_household,
)

TODAY = date(2026, 11, 23)
MAWAR, ANGGREK = "51.08.06.2014", "18.10.01.2011"
LONG = "x" * 4000


async def _records(db, name: str) -> list[CareRecord]:
    pid = await person_id(db, name)
    async with db.read() as session:
        return list(await session.scalars(select(CareRecord).where(CareRecord.person_id == pid).order_by(CareRecord.code)))


async def _kader(engine, db, village: str = MAWAR, address: str = "kader-1") -> ChatDriver:
    async with db.read() as session:
        posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == village))
    return await invited_chat(engine, db, role="kader", address=address, posyandu_id=posyandu_id)


async def _assert_refused_and_asked_again(chat: ChatDriver, question: str) -> None:
    """A photo and 4,000 characters are answered with a hint and the same question; nothing lost."""
    await chat.media("photo")
    assert "foto" in chat.text and question in chat.text
    await chat.say(LONG)
    assert "terlalu panjang" in chat.text and question in chat.text


# -- which questions fit whom (pure) ---------------------------------------------------------------------


class _P:
    def __init__(self, sex: str, birth: date | None, hpht: date | None = None, delivered_on: date | None = None):
        self.sex, self.birth_date, self.hpht, self.delivered_on = sex, birth, hpht, delivered_on


@pytest.mark.parametrize(
    ("person", "topics"),
    [
        (_P("M", date(2026, 11, 20)), ["imm"]),  # three days old
        (_P("F", date(2026, 2, 1)), ["imm", "vita"]),  # 9 months, six months old in the August round
        (_P("F", date(2026, 5, 20)), ["imm"]),  # 6 months but not yet in August, the last round: nothing to ask
        (_P("M", date(2024, 11, 10)), ["imm", "vita", "worm"]),
        (_P("M", date(2021, 1, 1)), ["imm"]),  # 70 months: the card, no vitamin A or deworming
        (_P("M", date(2020, 1, 1)), []),  # school age
        (_P("F", date(1996, 3, 12)), ["ptm"]),
        (_P("F", date(1996, 3, 12), hpht=date(2026, 7, 6)), ["anc", "ptm"]),
        (_P("F", date(1996, 3, 12), hpht=date(2026, 1, 1), delivered_on=date(2026, 10, 1)), ["ptm"]),
        (_P("M", date(1959, 5, 23)), ["skilas"]),
        (_P("M", None), []),
    ],
)
def test_the_questions_that_fit(person, topics):
    assert topics_for(person, TODAY) == topics


def test_recent_vitamin_a_rounds_in_which_the_child_was_old_enough():
    assert recent_rounds(date(2024, 11, 10), TODAY) == [(2026, 8), (2026, 2)]
    assert recent_rounds(date(2026, 1, 31), TODAY) == [(2026, 8)]  # six months on 31 July: August only
    assert recent_rounds(date(2026, 6, 1), TODAY) == []


def test_doses_are_shown_compactly_and_labels_fit_a_button():
    assert compact(["MR1", "HB0", "OPV2", "OPV1", "OPV3", "BCG", "DPT_HB_HIB1", "PCV1", "PCV3"]) == \
        "HB0, BCG, OPV 1-3, DPT 1, PCV 1, PCV 3, MR 1"
    assert short_dose("DPT_HB_HIB4") == "DPT 4" and short_dose("HB0") == "HB0" and short_dose("JE") == "JE"
    for code in [*DOSE_LABELS, "ANC1", "ANC6", "KF4", "KN3", "VITA_NIFAS2", "TIMBANG", "VITA_BIRU", "VITA_MERAH",
                 "OBAT_CACING", "SDIDTK", "TTD_REMAJA", "SKRINING_PTM", "SKILAS"]:
        assert 0 < len(item_label(code)) <= 20, code


def test_the_quick_path_gives_every_dose_whose_age_is_reached(settings):
    from care.history import EMPTY, build, Record
    from care.rules_file import apply_overrides
    from handlers.flow import Ctx

    ctx = Ctx(session=None, identity=None, state=None, now=DEFAULT_NOW, today=TODAY, settings=settings, data={},
              schedule=apply_overrides({"je": settings.care.je}))
    assert quick_doses(ctx, date(2026, 11, 20), EMPTY) == ["HB0", "BCG"]
    assert quick_doses(ctx, date(2026, 9, 20), EMPTY) == ["HB0", "BCG", "OPV1", "DPT_HB_HIB1", "OPV2", "PCV1", "RV1"]
    had = build([Record("HB0", date(2026, 9, 20)), Record("BCG", date(2026, 10, 1))])
    assert quick_doses(ctx, date(2026, 9, 20), had) == ["OPV1", "DPT_HB_HIB1", "OPV2", "PCV1", "RV1"]


# -- right after a member is added -----------------------------------------------------------------------


async def test_a_pregnant_mother_is_asked_her_check_ups(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.press("Perempuan")
    await chat.say("12-03-1996")
    await chat.press("Ya")
    await chat.press("Usia kehamilan")
    await chat.say("20 minggu")
    assert "Tersimpan: Ni Made Sari" in chat.text
    question = "Sudah berapa kali Ni Made Sari memeriksakan kehamilan"
    assert question in chat.text
    await _assert_refused_and_asked_again(chat, question)
    await chat.say("banyak")
    assert "Ketik berapa kali" in chat.text
    await chat.say("50")
    assert "50 kali?" in chat.text
    await chat.say("2")  # a typed number is a count, not the second button
    when = "Kapan pemeriksaan terakhir Ni Made Sari"
    assert when in chat.text
    await _assert_refused_and_asked_again(chat, when)
    await chat.say("1-1-2026")  # HPHT was 6 July 2026
    assert "sebelum kehamilan ini dimulai" in chat.text and when in chat.text
    await chat.say("5-12-2026")
    assert "belum lewat" in chat.text and when in chat.text
    await chat.say("31-02-2026")
    assert "tidak ada di kalender" in chat.text
    await chat.say("Oktober 2026")
    assert "Tercatat: pemeriksaan kehamilan ke-2 untuk Ni Made Sari, Oktober 2026" in chat.text
    assert "skrining PTM" in chat.text  # then the adult's screening
    await chat.press("Nanti saja")
    [anc] = await _records(demo_db, "Ni Made Sari")
    assert (anc.code, anc.done_on, anc.precision, anc.source) == ("ANC2", date(2026, 10, 15), "month", "family")
    await chat.say("/jadwal")
    assert "Pemeriksaan kehamilan ke-1" not in chat.text and "Pemeriksaan kehamilan ke-2" not in chat.text
    assert "Pemeriksaan kehamilan ke-3" in chat.text  # the next one, due in trimester 2, not late


async def test_registration_asks_each_new_member_and_returns_to_the_list(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Putu Ayu")
    await chat.press("Perempuan")
    await chat.say("20-09-2026")
    assert "Tersimpan: Putu Ayu" in chat.text and "Imunisasi apa saja yang sudah didapat Putu Ayu" in chat.text
    assert all(len(label) <= 20 for label in chat.labels)
    await chat.say("hb0 bcg 20-09-2026")  # doses typed at once, without pressing "Isi satu per satu"
    assert "Tercatat untuk Putu Ayu: HB0, BCG 20 Sep 2026" in chat.text and "Ada lagi?" in chat.text
    await chat.press("Sudah semua")
    assert "Anggota keluarga Wayan Sudarma" in chat.text and "Tambah anggota" in chat.labels
    assert [r.code for r in await _records(demo_db, "Putu Ayu")] == ["BCG", "HB0"]


async def test_nanti_saja_leaves_the_rest_for_later_and_batal_keeps_the_registration(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Putu Ayu")
    await chat.press("Perempuan")
    await chat.say("10-11-2024")
    await chat.press("Nanti saja")
    assert "/riwayat" in chat.text and "Tambah anggota" in chat.labels
    await chat.press("Tambah anggota")
    await chat.say("Made Oka")
    await chat.press("Laki-laki")
    await chat.say("1-1-1990")
    await chat.say("batal")  # cancelling the history question goes back to the member list, not away
    assert "Dibatalkan" in chat.text and "Tambah anggota" in chat.labels
    await chat.press("Selesai")
    assert "Pendaftaran selesai" in chat.text
    assert await _records(demo_db, "Putu Ayu") == []


async def test_the_quick_path_with_exceptions(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Putu Ayu")
    await chat.press("Perempuan")
    await chat.say("10-11-2024")
    await chat.press("Semua sesuai umur")
    question = "Ada yang belum?"
    assert "HB0, BCG, OPV 1-4, DPT 1-4, PCV 1-3, RV 1-3, IPV 1-2, MR 1-2" in chat.text
    await _assert_refused_and_asked_again(chat, question)
    await chat.say("belum flu")
    assert "\u201cflu\u201d bukan nama imunisasi" in chat.text and question in chat.text
    await chat.say("belum mr2 dan rota")  # a series without a number: none of its doses
    assert "Belum: RV 1-3, MR 2" in chat.text
    await chat.press("Nanti saja")
    codes = {r.code for r in await _records(demo_db, "Putu Ayu")}
    assert codes == set(DOSE_LABELS) - {"JE", "MR2", "RV1", "RV2", "RV3"}
    assert {r.precision for r in await _records(demo_db, "Putu Ayu")} == {"unknown"}
    await chat.say("/imunisasi")
    assert "Terlewat: Rotavirus 1, Rotavirus 2, Rotavirus 3" in chat.text  # honestly: no rotavirus after 7 months
    assert "Campak-Rubela 2 (MR lanjutan)" in chat.text.split("masih bisa dikejar")[1]


async def test_typed_doses_refuse_future_dates_and_dates_before_birth(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Putu Ayu")
    await chat.press("Perempuan")
    await chat.say("20-09-2026")
    await chat.press("Isi satu per satu")
    question = "Ketik imunisasi dan tanggalnya"
    await _assert_refused_and_asked_again(chat, question)
    for wrong, hint in [("bcg 1-1-2027", "belum lewat"), ("bcg 1-1-2026", "sebelum Putu Ayu lahir"),
                        ("bcg Desember 2026", "belum lewat"), ("bcg Agustus 2026", "sebelum Putu Ayu lahir"),
                        ("12-03-2026", "bukan nama imunisasi"), ("vaksin 1-10-2026", "\u201cvaksin\u201d bukan nama imunisasi"),
                        ("bcg 31-09-2026", "tidak ada di kalender"), ("bcg kapan", "\u201ckapan\u201d bukan nama imunisasi")]:
        await chat.say(wrong)
        assert hint in chat.text and question in chat.text, wrong
    await chat.say("hb0 20-09-2026, bcg september 2026, opv1 sudah")
    assert "HB0 20 Sep 2026; BCG September 2026; OPV 1 (tanggal tidak diketahui)" in chat.text
    records = {r.code: (r.done_on, r.precision) for r in await _records(demo_db, "Putu Ayu")}
    assert records == {"HB0": (date(2026, 9, 20), "day"), "BCG": (date(2026, 9, 20), "month"),  # never before birth
                       "OPV1": (date(2026, 10, 20), "unknown")}  # at its recommended age


# -- /imunisasi: enter, correct, remove ------------------------------------------------------------------


async def test_imunisasi_enters_corrects_and_removes_doses(engine, demo_db):
    await make_family(demo_db, identity_address="628222",
                      members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2026, 9, 20)),
                               ("Putu Adi", "M", date(2025, 9, 14))))
    baby = await person_id(demo_db, "Kadek Bayu")
    await record_care(demo_db, baby, ("HB0", date(2026, 9, 20)), ("DPT_HB_HIB1", date(2026, 9, 21)))
    chat = ChatDriver(engine, address="628222")
    await chat.say("/imunisasi")
    assert "Perlu diulang: DPT-HB-Hib 1" in chat.text  # given a day after birth: too early
    await chat.press("Isi/ubah imunisasi")
    assert "Untuk siapa?" in chat.text and set(chat.labels) == {"Kadek Bayu", "Putu Adi"}
    await chat.press("Kadek Bayu")
    assert "Sudah tercatat: HB0, DPT 1" in chat.text
    await chat.press("Hapus dosis salah")
    await chat.say("dpt3")
    assert "DPT 3 belum tercatat" in chat.text
    await chat.say("dpt1")
    assert "Dihapus dari catatan Kadek Bayu: DPT 1" in chat.text and "Imunisasi apa saja" in chat.text
    await chat.press("Isi satu per satu")
    await chat.say("bcg 20-10-2026")
    await chat.press("Sudah semua")
    assert "Apa yang ingin Bapak/Ibu lakukan" in chat.text
    assert {r.code for r in await _records(demo_db, "Kadek Bayu")} == {"HB0", "BCG"}
    # a date typed again for a dose already recorded replaces it (a correction)
    await chat.say("/imunisasi")
    await chat.press("Isi/ubah")
    await chat.press("Kadek Bayu")
    await chat.press("Isi satu per satu")
    await chat.say("bcg 21-10-2026")
    await chat.press("Sudah semua")
    assert {(r.code, r.done_on) for r in await _records(demo_db, "Kadek Bayu")} == {
        ("HB0", date(2026, 9, 20)), ("BCG", date(2026, 10, 21))}
    await chat.say("/imunisasi")
    assert "BCG 21 Okt" in chat.text and "Perlu diulang" not in chat.text
    assert "Apa yang ingin Bapak/Ibu lakukan" in chat.text and chat.labels[0] == "Isi/ubah imunisasi"
    assert "Imunisasi anak" not in chat.labels  # in its place
    await chat.say("/menu")  # the person is at the main menu: nothing to finish first
    assert "Selesaikan dulu" not in chat.text and "Isi/ubah imunisasi" in chat.labels


# -- /jadwal: Tandai sudah -------------------------------------------------------------------------------


async def test_tandai_sudah_closes_an_item_in_jadwal_sasaran_and_the_reminders(engine, demo_db, settings, clock):
    family = await make_family(demo_db, identity_address="628222",
                               members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2026, 9, 20))))
    baby = await person_id(demo_db, "Kadek Bayu")
    await record_care(demo_db, baby, ("HB0", date(2026, 9, 20)), ("BCG", date(2026, 10, 20)))
    chat = ChatDriver(engine, address="628222")
    await chat.say("/jadwal")
    assert "DPT-HB-Hib 1" in chat.text.split("Kadek Bayu:")[1]
    await chat.press("Tandai sudah")
    assert "Untuk siapa?" in chat.text  # the mother's PTM screening is due too
    await chat.press("Kadek Bayu")
    assert "DPT 1" in chat.labels and all(len(label) <= 20 for label in chat.labels)
    await chat.press("DPT 1")
    question = "Kapan DPT 1 untuk Kadek Bayu"
    assert question in chat.text
    await _assert_refused_and_asked_again(chat, question)
    await chat.say("1-12-2026")
    assert "belum lewat" in chat.text
    await chat.say("1-9-2026")
    assert "sebelum Kadek Bayu lahir" in chat.text
    await chat.press("Hari ini")
    assert "Tercatat: DPT 1 untuk Kadek Bayu" in chat.text
    await chat.say("/jadwal")
    assert "DPT-HB-Hib 1" not in chat.text.split("Kadek Bayu:")[1]
    # the mother's screening, done "this month"
    await chat.press("Tandai sudah")
    await chat.press("Ni Luh Sari")
    await chat.press("Skrining PTM")
    await chat.press("Bulan ini")
    assert "Tercatat: Skrining PTM untuk Ni Luh Sari, November 2026" in chat.text
    await chat.say("/jadwal")
    assert "Ni Luh Sari:" not in chat.text

    kader = await _kader(engine, demo_db)
    await kader.say("/sasaran")
    lines = [line for line in kader.text.splitlines() if family.code in line]
    assert lines and not any("DPT-HB-Hib 1" in line or "PTM" in line for line in lines), lines
    await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 11, 24))
    async with demo_db.read() as session:
        subjects = set(await session.scalars(select(ReminderItem.subject)))
    assert "DPT_HB_HIB1" not in subjects and "SKRINING_PTM" not in subjects
    assert "PCV1" in subjects  # what is not done is still reminded


# -- /riwayat --------------------------------------------------------------------------------------------


async def test_riwayat_by_a_kader_for_a_family_of_their_posyandu_is_audited(engine, demo_db):
    family = await make_family(demo_db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kakek Wayan", "M", date(1950, 1, 1))))
    other = await make_family(demo_db, village_code=ANGGREK, name="Keluarga Lampung")
    kader = await _kader(engine, demo_db)
    await kader.say(f"/riwayat {other.code}")
    assert "Tidak ada keluarga dengan kode itu di posyandu Bapak/Ibu" in kader.text
    await kader.say(f"/riwayat {family.code}")
    assert "Riwayat siapa" in kader.text and set(kader.labels) == {"Ni Luh Sari", "Kakek Wayan"}
    await kader.press("Kakek Wayan")
    question = "Kapan Kakek Wayan terakhir ikut skrining lansia"
    assert question in kader.text
    await _assert_refused_and_asked_again(kader, question)
    await kader.say("1-12-2026")
    assert "belum lewat" in kader.text
    await kader.say("1-1-1949")
    assert "sebelum Kakek Wayan lahir" in kader.text
    await kader.say("Mei 2026")
    assert "Tercatat: Skrining lansia (SKILAS) untuk Kakek Wayan, Mei 2026" in kader.text
    [skilas] = await _records(demo_db, "Kakek Wayan")
    async with demo_db.read() as session:
        kader_id = await session.scalar(select(Identity.id).where(Identity.address == "kader-1"))
        audit = {(a.action, a.target_type, a.target_id) for a in await session.scalars(select(AuditLog))}
    assert (skilas.code, skilas.done_on, skilas.source, skilas.recorded_by) == ("SKILAS", date(2026, 5, 15), "kader", kader_id)
    assert ("family.opened", "family", family.id) in audit and ("history.recorded", "person", skilas.person_id) in audit


async def test_riwayat_for_ones_own_family_and_not_for_another(engine, demo_db):
    family = await make_family(demo_db, identity_address="628222",
                               members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2026, 9, 20))))
    other = await make_family(demo_db, name="Keluarga Lain", members=(("Made Lain", "M", date(1980, 1, 1)),))
    chat = ChatDriver(engine, address="628222")
    await chat.say(f"/riwayat {other.code}")
    assert "Hanya kader" in chat.text
    await chat.say("/menu")
    await chat.press("Riwayat Buku KIA")
    await chat.press("Ni Luh Sari")
    await chat.press("Dalam setahun ini")
    [ptm] = await _records(demo_db, "Ni Luh Sari")
    assert (ptm.code, ptm.done_on, ptm.precision) == ("SKRINING_PTM", date(2026, 5, 23), "unknown")
    assert family.code  # the family's own code was never needed


async def test_vitamin_a_and_deworming(engine, demo_db):
    await make_family(demo_db, identity_address="628222",
                      members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Putu Adi", "M", date(2025, 3, 14)),
                               ("Kadek Bayu", "M", date(2026, 1, 10))))
    chat = ChatDriver(engine, address="628222")
    await chat.say("/riwayat")
    await chat.press("Kadek Bayu")  # 10 months: immunisation, then vitamin A (blue)
    await chat.press("Belum ada")
    assert chat.labels[:2] == ["Agustus 2026", "Belum/tidak tahu"]  # six months on 10 July: August only
    question = "terakhir mendapat vitamin A"
    await _assert_refused_and_asked_again(chat, question)
    await chat.say("Juni 2026")
    assert "mulai umur 6 bulan" in chat.text
    await chat.say("Desember 2026")
    assert "belum lewat" in chat.text
    await chat.press("Agustus 2026")
    assert "Vitamin A kapsul biru (6-11 bulan) untuk Kadek Bayu, Agustus 2026" in chat.text
    await chat.say("/riwayat")
    await chat.press("Putu Adi")  # 20 months: immunisation, vitamin A (red), deworming
    await chat.press("Belum ada")
    await chat.say("sudah")  # given, month not remembered: the last round
    assert "Vitamin A kapsul merah (12-59 bulan) untuk Putu Adi" in chat.text
    question = "terakhir minum obat cacing"
    assert question in chat.text
    await _assert_refused_and_asked_again(chat, question)
    await chat.say("1-1-2025")
    assert "sebelum Putu Adi lahir" in chat.text
    await chat.say("3-10-2026")
    assert "Obat cacing untuk Putu Adi, 3 Okt 2026" in chat.text
    records = {(r.code, r.done_on, r.precision) for r in await _records(demo_db, "Putu Adi")}
    assert records == {("VITA_MERAH", date(2026, 8, 15), "unknown"), ("OBAT_CACING", date(2026, 10, 3), "day")}
    [blue] = await _records(demo_db, "Kadek Bayu")
    assert (blue.code, blue.done_on) == ("VITA_BIRU", date(2026, 8, 15))
    await chat.say("/jadwal")
    adi = chat.text.split("Putu Adi:")[1].split("Kadek Bayu:")[0]
    assert "Vitamin A" not in adi and "Obat cacing" not in adi and "terlambat" not in adi.replace("terlambat, masih bisa dikejar", "")
    assert "Vitamin A" not in chat.text.split("Kadek Bayu:")[1]


async def test_a_kader_registering_a_family_enters_its_history_as_the_kader(engine, demo_db):
    kader = await _kader(engine, demo_db)
    await kader.say("/daftarkan")
    for answer in ("Komang Wirata", "Banjar Kelod", "2/1", "-", "Luh Sari"):
        await kader.say(answer)
    await kader.press("Perempuan")
    await kader.say("1-1-2025")
    await kader.press("Semua sesuai umur")
    await kader.press("Tidak ada")
    await kader.press("Agustus 2026")
    await kader.press("Belum/tidak tahu")
    assert "Anggota keluarga Komang Wirata" in kader.text  # back to the list of the family being registered
    await kader.press("Selesai")
    assert "Pendaftaran selesai" in kader.text and "/gabung K-" in kader.text
    records = await _records(demo_db, "Luh Sari")
    async with demo_db.read() as session:
        kader_id = await session.scalar(select(Identity.id).where(Identity.address == "kader-1"))
        actions = set(await session.scalars(select(AuditLog.action).where(AuditLog.actor_id == kader_id)))
    assert {r.source for r in records} == {"kader"} and {r.recorded_by for r in records} == {kader_id}
    assert "VITA_MERAH" in {r.code for r in records} and "OBAT_CACING" not in {r.code for r in records}
    assert {"person.added", "history.recorded", "family.registered_for"} <= actions


# -- bad input at every question ---------------------------------------------------------------------------

#: (the way to the question, what the question says, what comes before a date it takes (None: no date);
#: a date after today or before the birth is refused)
QUESTIONS = [
    (["/riwayat"], "Riwayat siapa", None),
    (["/riwayat", "Putu Ayu"], "Imunisasi apa saja", None),
    (["/riwayat", "Putu Ayu", "Semua sesuai umur"], "Ada yang belum?", None),
    (["/riwayat", "Putu Ayu", "Isi satu per satu"], "Ketik imunisasi dan tanggalnya", "bcg "),
    (["/riwayat", "Kadek Bayu", "Hapus dosis salah"], "salah catat", None),
    (["/riwayat", "Putu Ayu", "Belum ada"], "vitamin A", ""),
    (["/riwayat", "Putu Ayu", "Belum ada", "Belum/tidak tahu"], "obat cacing", ""),
    (["/riwayat", "Ni Luh Sari"], "Sudah berapa kali", None),
    (["/riwayat", "Ni Luh Sari", "2"], "Kapan pemeriksaan terakhir", ""),
    (["/riwayat", "Ni Luh Sari", "Belum pernah"], "skrining PTM", ""),
    (["/riwayat", "Kakek Wayan"], "skrining lansia", ""),
    (["/imunisasi", "Isi/ubah imunisasi"], "Untuk siapa?", None),
    (["/jadwal", "Tandai sudah", "Putu Ayu"], "Apa yang sudah dilakukan", None),
    (["/jadwal", "Tandai sudah", "Putu Ayu", "Cek perkembangan"], "Kapan Cek perkembangan", ""),
]


@pytest.mark.parametrize(("path", "question", "dated"), QUESTIONS, ids=[q[1] for q in QUESTIONS])
async def test_bad_input_at_every_question_is_answered_and_loses_nothing(engine, demo_db, path, question, dated):
    await make_family(demo_db, identity_address="628222", members=(
        ("Ni Luh Sari", "F", date(1995, 4, 2)), ("Putu Ayu", "F", date(2024, 11, 10)), ("Kadek Bayu", "M", date(2026, 9, 20)),
        ("Kakek Wayan", "M", date(1950, 1, 1))))
    await make_pregnant(demo_db, "Ni Luh Sari", 20)
    await record_care(demo_db, await person_id(demo_db, "Kadek Bayu"), ("HB0", date(2026, 9, 20)))
    chat = ChatDriver(engine, address="628222")
    for step in path:
        if step.startswith("/") or step.isdecimal():
            await chat.say(step)
        else:
            await chat.press(step)
    assert question in chat.text
    await _assert_refused_and_asked_again(chat, question)
    await chat.say("\u2603")
    assert question in chat.text and "Maaf, terjadi gangguan" not in chat.text
    if dated is not None:
        await chat.say(dated + "1-1-2027")
        assert "belum lewat" in chat.text and question in chat.text
        await chat.say(dated + "1-1-1940")
        assert "sebelum" in chat.text and question in chat.text
    async with demo_db.read() as session:
        assert len(list(await session.scalars(select(CareRecord)))) == 1  # nothing written by the bad answers


async def test_a_dose_to_repeat_marked_done_without_a_date_counts_as_the_repeat(engine, demo_db):
    await make_family(demo_db, identity_address="628222", members=(("Kadek Bayu", "M", date(2026, 9, 20)),))
    baby = await person_id(demo_db, "Kadek Bayu")
    await record_care(demo_db, baby, ("HB0", date(2026, 9, 20)), ("BCG", date(2026, 9, 20)), ("DPT_HB_HIB1", date(2026, 9, 21)))
    chat = ChatDriver(engine, address="628222")
    await chat.say("/imunisasi")
    assert "Perlu diulang: DPT-HB-Hib 1" in chat.text
    await chat.say("/jadwal")
    await chat.press("Tandai sudah")  # one member: straight to the items
    await chat.press("DPT 1")
    await chat.press("Tidak ingat")
    assert "Tercatat: DPT 1 untuk Kadek Bayu, tanggal tidak diketahui" in chat.text
    await chat.say("/imunisasi")
    assert "Perlu diulang" not in chat.text
    assert {(r.code, r.done_on) for r in await _records(demo_db, "Kadek Bayu") if r.code == "DPT_HB_HIB1"} == {
        ("DPT_HB_HIB1", date(2026, 9, 21)), ("DPT_HB_HIB1", TODAY)}


@pytest.mark.parametrize("role", ["anon", "staff"])
async def test_riwayat_is_for_families_and_kaders(engine, demo_db, role):
    chat = ChatDriver(engine, address=f"{role}-1")
    if role == "staff":
        async with demo_db.read() as session:
            from db.models import Puskesmas

            puskesmas_id = await session.scalar(select(Puskesmas.id).where(Puskesmas.code == "P5108060201"))
        chat = await invited_chat(engine, demo_db, role="staff", address="staff-1", puskesmas_id=puskesmas_id)
    family = await make_family(demo_db)
    await chat.say(f"/riwayat {family.code}")
    assert "Riwayat siapa" not in chat.text and "Ni Luh Sari" not in chat.text
    assert ("Apakah Bapak/Ibu setuju" if role == "anon" else "Hanya kader") in chat.text
    await chat.say("/riwayat")
    assert "Riwayat siapa" not in chat.text
    async with demo_db.read() as session:
        assert list(await session.scalars(select(CareRecord))) == []


async def test_the_history_in_english(engine, demo_db):
    await make_family(demo_db, identity_address="628222", members=(("Putu Ayu", "F", date(2024, 11, 10)),))
    chat = ChatDriver(engine, address="628222")
    await chat.say("/bahasa en")
    await chat.say("/riwayat")
    await chat.press("Putu Ayu")
    await chat.say("1")  # the first button (all doses by age), by its number
    await chat.say("none")
    assert chat.labels[:2] == ["August 2026", "February 2026"]  # the rounds in the person's language
    await chat.say("August 2026")
    await chat.say("3/2026")
    codes = {r.code for r in await _records(demo_db, "Putu Ayu")}
    assert {"HB0", "MR2", "VITA_MERAH", "OBAT_CACING"} <= codes
