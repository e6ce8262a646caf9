"""What a kader records at a visit, guided (``/kunjungan``) and in one line (``catat``): doses in the
one vocabulary and on earlier dates, the services due, values refused or confirmed, doses named
before they are saved, one weighing a day, and the referrals a flag opens."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from care.growth import zscores
from care.history import DAY, MONTH, UNKNOWN, month_date, unknown_dose_date
from care.immunization import GIVEN, dose_states
from care.labels import DOSE_LABELS
from care.rules_file import load_schedule
from care.services import services_due
from content.i18n import _, format_date, use_locale
from db.history import history
from db.models import AuditLog, CareRecord, Family, Measurement, Outbox, Person, Posyandu, Referral, Visit
from handlers.referrals import REASONS
from tests.helpers import DEFAULT_NOW, ChatDriver, invited_chat, make_family

TODAY = DEFAULT_NOW.date()  # Monday 23 November 2026 (10:00 in Bali)
MAWAR = "51.08.06.2014"  # Nagasepaha: the demo posyandu of the kader


# -- factories ------------------------------------------------------------------------------------

async def kader(engine, db, address: str = "kader-visit") -> ChatDriver:
    """A kader of the Nagasepaha posyandu."""
    async with db.read() as session:
        posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == MAWAR))
    chat = await invited_chat(engine, db, role="kader", address=address, posyandu_id=posyandu_id)
    assert "Bapak/Ibu sekarang kader" in chat.text
    return chat


async def family_with(db, *members: tuple, identity_address: str | None = None, name: str = "Komang Ariawan") -> tuple[Family, dict[str, int]]:
    """A family of the kader's posyandu; a member is (name, sex, birth) or (name, sex, birth, {field: value})."""
    family = await make_family(db, name=name, identity_address=identity_address,
                               members=tuple(m[:3] for m in members))
    async with db.write() as session:
        people = {p.name: p for p in await session.scalars(select(Person).where(Person.family_id == family.id))}
        for member in members:
            for field, value in (member[3] if len(member) > 3 else {}).items():
                setattr(people[member[0]], field, value)
        return family, {n: p.id for n, p in people.items()}


async def child_visit(chat: ChatDriver, code: str, member: str, *, place: str = "Posyandu", size: str = "5,4 57") -> None:
    """A kader logs a child's visit through /kunjungan with nothing given, and saves it (the services
    question is answered only when it is asked)."""
    await chat.say("/kunjungan")
    await chat.say(code)
    await chat.press(member)
    await chat.press(place)
    await chat.say(size)
    await chat.say("-")
    if "Layanan yang diberikan" in chat.text:
        await chat.press("Tidak ada")
    await chat.press("Tidak ada")
    await chat.press("Simpan")


async def open_visit(chat: ChatDriver, code: str, member: str, *, place: str = "Posyandu") -> None:
    """/kunjungan up to the first question about the member."""
    await chat.say("/kunjungan")
    await chat.say(code)
    await chat.press(member)
    await chat.press(place)


async def records_of(db, person_id: int) -> dict[str, CareRecord]:
    """A person's care records by code (the latest of each code)."""
    async with db.read() as session:
        rows = list(await session.scalars(select(CareRecord).where(CareRecord.person_id == person_id).order_by(CareRecord.done_on)))
    return {r.code: r for r in rows}


async def count(db, model, *where) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def still_due(db, person_id: int, on: date = TODAY) -> set[str]:
    """The service codes ``care.services`` still lists as due or late for the person."""
    async with db.read() as session:
        person = await session.get(Person, person_id)
        record = await history(session, person_id)
    return {s.code for s in services_due(on, sex=person.sex, birth=person.birth_date, hpht=person.hpht,
                                         delivered_on=person.delivered_on, history=record.services)}


async def dose_state(db, person_id: int, code: str, on: date = TODAY) -> str:
    async with db.read() as session:
        person = await session.get(Person, person_id)
        record = await history(session, person_id)
    return dose_states(person.birth_date, record.given, on, je=True, approximate=record.approximate)[code].state


# -- one dose vocabulary --------------------------------------------------------------------------

WORDS = [  # what kaders write -> the doses recorded (a 4-year-old, every dose "sudah": dates not remembered)
    ("penta2 bopv1 rota1 hepb0 bcg1 dpthbhib3", {"DPT_HB_HIB2", "OPV1", "RV1", "HB0", "BCG", "DPT_HB_HIB3"}),
    ("dpt1 pentavalen 2 polio 2 ipv1", {"DPT_HB_HIB1", "DPT_HB_HIB2", "OPV2", "IPV1"}),
    ("campak mr lanjutan", {"MR1", "MR2"}),
    ("DPT-HB-Hib 4 + pcv1 + rotavirus 2 + je", {"DPT_HB_HIB4", "PCV1", "RV2", "JE"}),
]


@pytest.mark.parametrize(("words", "codes"), WORDS, ids=[w for w, _c in WORDS])
@pytest.mark.parametrize("path", ["guided", "catat"])
async def test_both_paths_read_the_words_kaders_write(engine, demo_db, words, codes, path):
    family, ids = await family_with(demo_db, ("Putu Gede", "M", date(2022, 10, 1)))
    chat = await kader(engine, demo_db)
    if path == "guided":
        await open_visit(chat, family.code, "Putu Gede")
        await chat.say("14 95")
        await chat.say("-")
        if "Layanan yang diberikan" in chat.text:
            await chat.press("Tidak ada")
        await chat.say(f"{words} sudah")
        await chat.press("Simpan")
    else:
        await chat.say(f"catat {family.code} anak1 imun {words} sudah")
    assert "Tersimpan" in chat.text, chat.text
    found = await records_of(demo_db, ids["Putu Gede"])
    assert codes <= set(found) and all(found[c].precision == UNKNOWN and found[c].source == "kader" for c in codes)


async def test_a_series_word_is_the_next_dose_not_recorded(engine, demo_db):
    family, ids = await family_with(demo_db, ("Kadek Bayu", "M", date(2026, 5, 1)))
    async with demo_db.write() as session:
        session.add(CareRecord(person_id=ids["Kadek Bayu"], code="PCV1", done_on=date(2026, 7, 1), precision=DAY, source="family",
                               created_at=DEFAULT_NOW))
    chat = await kader(engine, demo_db)
    await chat.say(f"catat {family.code} anak1 imun pcv")
    assert "Tersimpan" in chat.text and "PCV 2" in chat.text
    assert (await records_of(demo_db, ids["Kadek Bayu"]))["PCV2"].done_on == TODAY


# -- doses given on an earlier date ---------------------------------------------------------------

async def test_a_guided_visit_records_doses_given_earlier(engine, demo_db):
    birth = date(2026, 6, 1)
    family, ids = await family_with(demo_db, ("Kadek Bayu", "M", birth))
    chat = await kader(engine, demo_db)
    await open_visit(chat, family.code, "Kadek Bayu")
    await chat.say("7,4 66")
    await chat.say("-")
    if "Layanan yang diberikan" in chat.text:
        await chat.press("Tidak ada")
    assert "dpt1 12-10-2026" in chat.text  # the question shows how
    await chat.say("dpt1 pcv1 12-10-2026, opv1 okt 2026, bcg sudah, opv2")
    with use_locale("id"):
        shown = [f"DPT-HB-Hib 1 ({format_date(date(2026, 10, 12), 'short')})", f"Polio tetes 1 ({format_date(date(2026, 10, 15), 'MMM y')})",
                 "BCG (tanggal tidak diketahui)"]
    assert all(s in chat.text for s in shown), chat.text
    await chat.press("Simpan")
    found = await records_of(demo_db, ids["Kadek Bayu"])
    assert (found["DPT_HB_HIB1"].done_on, found["DPT_HB_HIB1"].precision) == (date(2026, 10, 12), DAY)
    assert (found["PCV1"].done_on, found["PCV1"].precision) == (date(2026, 10, 12), DAY)
    assert (found["OPV1"].done_on, found["OPV1"].precision) == (month_date(2026, 10, TODAY, birth), MONTH)
    assert (found["BCG"].done_on, found["BCG"].precision) == (unknown_dose_date("BCG", birth, TODAY), UNKNOWN)
    assert (found["OPV2"].done_on, found["OPV2"].precision) == (TODAY, DAY)
    async with demo_db.read() as session:
        visit = (await session.scalars(select(Visit))).one()
    assert {r.visit_id for r in found.values() if r.code != "TIMBANG"} == {visit.id}
    assert all(r.source == "kader" for r in found.values())
    for code in ("DPT_HB_HIB1", "PCV1", "OPV1", "BCG", "OPV2"):
        assert await dose_state(demo_db, ids["Kadek Bayu"], code) == GIVEN


@pytest.mark.parametrize(("typed", "hint"), [
    ("dpt1 12-12-2026", "belum lewat"),
    ("dpt1 des 2026", "belum lewat"),
    ("bcg 12-05-2026", "sebelum Kadek Bayu lahir"),
    ("bcg mei 2026", "sebelum Kadek Bayu lahir"),
    ("dpt1 31-02-2026", "\u201c31-02-2026\u201d: Tanggal imunisasi tidak terbaca"),
    ("dpt1 kmrn dulu", "tidak dikenal"),
])
async def test_a_date_before_birth_or_in_the_future_is_refused(engine, demo_db, typed, hint):
    family, ids = await family_with(demo_db, ("Kadek Bayu", "M", date(2026, 6, 1)))
    chat = await kader(engine, demo_db)
    await open_visit(chat, family.code, "Kadek Bayu")
    await chat.say("7,4 66")
    await chat.say("-")
    if "Layanan yang diberikan" in chat.text:
        await chat.press("Tidak ada")
    await chat.say(typed)
    assert hint in chat.text and "Imunisasi yang diberikan" in chat.text, chat.text  # asked again, nothing lost
    await chat.say(f"catat {family.code} anak1 imun {typed}")
    assert "Belum tercatat" in chat.text and hint in chat.text
    assert await count(demo_db, CareRecord) == 0


async def test_catat_takes_the_date_right_after_the_doses(engine, demo_db):
    family, ids = await family_with(demo_db, ("Kadek Bayu", "M", date(2026, 6, 1)))
    chat = await kader(engine, demo_db)
    await chat.say(f"catat {family.code} anak1 bb 7,4 imun dpt1 pcv1 12-10-2026 bcg sudah opv1 okt 2026 opv2")
    assert "Tersimpan" in chat.text, chat.text
    found = await records_of(demo_db, ids["Kadek Bayu"])
    assert {c: (r.done_on, r.precision) for c, r in found.items()} == {
        "DPT_HB_HIB1": (date(2026, 10, 12), DAY), "PCV1": (date(2026, 10, 12), DAY), "OPV2": (TODAY, DAY),
        "BCG": (unknown_dose_date("BCG", date(2026, 6, 1), TODAY), UNKNOWN),
        "OPV1": (month_date(2026, 10, TODAY, date(2026, 6, 1)), MONTH), "TIMBANG": (TODAY, DAY)}


# -- the services question ------------------------------------------------------------------------

async def test_the_services_due_are_offered_and_picked_by_number(engine, demo_db):
    family, ids = await family_with(demo_db, ("Made Ayu", "F", date(2025, 5, 23)))
    chat = await kader(engine, demo_db)
    await open_visit(chat, family.code, "Made Ayu")
    await chat.say("10,2 80")
    await chat.say("-")
    assert "Layanan yang diberikan" in chat.text
    assert chat.labels == ["Obat cacing", "Vitamin A merah", "SDIDTK", "Semua", "Tidak ada"]
    assert all(len(label) <= 20 for label in chat.labels)
    assert "1. Obat cacing \u2013 terlambat" in chat.text and "3. Skrining perkembangan (SDIDTK) \u2013 waktunya" in chat.text
    await chat.say("1 3")
    assert "Imunisasi yang diberikan" in chat.text
    await chat.press("Tidak ada")
    assert "Obat cacing" in chat.text and "SDIDTK" in chat.text
    await chat.press("Simpan")
    found = await records_of(demo_db, ids["Made Ayu"])
    assert {"OBAT_CACING", "SDIDTK", "TIMBANG"} == set(found)
    assert await still_due(demo_db, ids["Made Ayu"]) == {"VITA_MERAH"}


@pytest.mark.parametrize(("answer", "press", "recorded"), [
    ("Semua", True, {"OBAT_CACING", "VITA_MERAH", "SDIDTK"}),
    ("Tidak ada", True, set()),
    ("Vitamin A merah", True, {"VITA_MERAH"}),
    ("2", False, {"VITA_MERAH"}),
    ("vita, obat cacing", False, {"VITA_MERAH", "OBAT_CACING"}),
    ("oc sdidtk", False, {"OBAT_CACING", "SDIDTK"}),
])
async def test_services_picked_by_button_name_or_word(engine, demo_db, answer, press, recorded):
    family, ids = await family_with(demo_db, ("Made Ayu", "F", date(2025, 5, 23)))
    chat = await kader(engine, demo_db)
    await open_visit(chat, family.code, "Made Ayu")
    await chat.say("10,2 80")
    await chat.say("-")
    await (chat.press(answer) if press else chat.say(answer))
    assert "Imunisasi yang diberikan" in chat.text, chat.text
    await chat.press("Tidak ada")
    await chat.press("Simpan")
    assert set(await records_of(demo_db, ids["Made Ayu"])) - {"TIMBANG"} == recorded


@pytest.mark.parametrize(("typed", "hint"), [
    ("7", "Nomor 7 tidak ada dalam daftar"),
    ("kn1", "tidak ada dalam daftar hari ini"),
    ("dpt1", "\u201cdpt1\u201d: Pilih dari daftar"),
    ("2 cacing", "\u201c2\u201d: Pilih dari daftar"),  # "1 cacing" is choice 1, Obat cacing
])
async def test_a_service_not_offered_is_refused(engine, demo_db, typed, hint):
    family, _ids = await family_with(demo_db, ("Made Ayu", "F", date(2025, 5, 23)))
    chat = await kader(engine, demo_db)
    await open_visit(chat, family.code, "Made Ayu")
    await chat.say("10,2 80")
    await chat.say("-")
    await chat.say(typed)
    assert hint in chat.text and "Layanan yang diberikan" in chat.text, chat.text


async def test_no_services_question_when_nothing_is_due(engine, demo_db):
    family, _ids = await family_with(demo_db, ("Kadek Bayu", "M", date(2026, 9, 20)), ("Pak Wayan", "M", date(1986, 1, 1)))
    chat = await kader(engine, demo_db)
    await open_visit(chat, family.code, "Kadek Bayu")
    await chat.say("5,4 57")
    await chat.say("-")
    assert "Imunisasi yang diberikan" in chat.text
    await chat.say("batal")
    await open_visit(chat, family.code, "Pak Wayan")
    for answer in ("120/80", "-", "-"):
        await chat.say(answer)
    assert "Periksa sebelum disimpan" in chat.text


# -- every service kind, through the chat, then closed --------------------------------------------

NEWBORN = date(2026, 11, 13)  # 10 days old: KN1, KN2 late, KN3 due
PREGNANT = {"hpht": date(2026, 7, 1)}  # 20 weeks: ANC1 late, ANC2 and ANC3 due
NIFAS = {"delivered_on": NEWBORN}  # KF1, KF2 and the first capsule late, KF3 due


async def _guided(chat, family, member, answers, *, services: str | None = None) -> None:
    """A guided visit: typed answers, then the services question (a button, or skipped), doses none, save."""
    await open_visit(chat, family.code, member)
    for answer in answers:
        if answer.startswith("press:"):
            await chat.press(answer[6:])
        else:
            await chat.say(answer)
    if services is not None:
        assert "Layanan yang diberikan" in chat.text, chat.text
        await chat.press(services)
    if "Imunisasi yang diberikan" in chat.text:
        await chat.press("Tidak ada")
    assert "Periksa" in chat.text, chat.text
    await chat.press("Simpan")
    assert "Tersimpan" in chat.text, chat.text


SERVICE_KINDS = [
    # case, member (name, sex, birth, fields), guided answers, services button, catat line, codes recorded, codes closed
    ("ANC contact", ("Ni Made Sari", "F", date(1996, 3, 12), PREGNANT), ["60", "120/80", "24", "-", "2"], None,
     "ibu bb 60 anc 2", {"ANC2"}, {"ANC1", "ANC2"}),
    ("KN", ("Bayi Ayu", "F", NEWBORN), ["3,1 49", "-"], "Semua", "nama Bayi kn1 kn2 kn3", {"KN1", "KN2", "KN3"},
     {"KN1", "KN2", "KN3"}),
    ("KF and vitamin A nifas", ("Ni Luh Sari", "F", date(1995, 4, 2), NIFAS), ["110/70"], "Semua", "ibu kf1 kf2 kf3 vita",
     {"KF1", "KF2", "KF3", "VITA_NIFAS1"}, {"KF1", "KF2", "KF3", "VITA_NIFAS1"}),
    ("vitamin A", ("Made Ayu", "F", date(2025, 5, 23)), ["10,2 80", "-"], "Vitamin A merah", "nama Made vita", {"VITA_MERAH"},
     {"VITA_MERAH"}),
    ("weighing", ("Made Ayu", "F", date(2025, 5, 23)), ["10,2 80", "-"], "Tidak ada", "nama Made bb 10,2", {"TIMBANG"},
     {"TIMBANG"}),
    ("iron tablets, pregnant", ("Ni Made Sari", "F", date(1996, 3, 12), PREGNANT), ["60", "-", "-", "30", "-"], None,
     "ibu ttd 30", {"TTD_HAMIL"}, set()),
    ("iron tablets, girl", ("Luh Putri", "F", date(2012, 6, 1)), ["-", "-", "-"], "TTD remaja", "nama Luh ttd",
     {"TTD_REMAJA"}, {"TTD_REMAJA"}),
    ("deworming", ("Made Ayu", "F", date(2025, 5, 23)), ["10,2 80", "-"], "Obat cacing", "nama Made oc", {"OBAT_CACING"},
     {"OBAT_CACING"}),
    ("PTM", ("Pak Wayan", "M", date(1986, 1, 1)), ["135/85", "110", "88"], None, "nama Pak td 135/85 gd 110 lp 88",
     {"SKRINING_PTM"}, {"SKRINING_PTM"}),
    ("SKILAS", ("Nenek Rai", "F", date(1950, 2, 2)), ["120/80", "-", "-", "press:Semua normal"], None, "nama Nenek td 120/80 skilas normal",
     {"SKILAS"}, {"SKILAS"}),
    ("SDIDTK", ("Made Ayu", "F", date(2025, 5, 23)), ["10,2 80", "-"], "SDIDTK", "nama Made sdidtk", {"SDIDTK"}, {"SDIDTK"}),
]


@pytest.mark.parametrize("path", ["guided", "catat"])
@pytest.mark.parametrize(("case", "member", "answers", "button", "line", "codes", "closed"), SERVICE_KINDS,
                         ids=[c[0] for c in SERVICE_KINDS])
async def test_every_service_kind_is_recorded_by_a_kader_and_closed(engine, demo_db, path, case, member, answers, button, line,
                                                                  codes, closed):
    members = [member] if member[0] != "Bayi Ayu" else [("Ni Luh Sari", "F", date(1995, 4, 2), NIFAS), member]
    family, ids = await family_with(demo_db, *members)
    person = ids[member[0]]
    assert closed <= await still_due(demo_db, person)
    chat = await kader(engine, demo_db)
    if path == "guided":
        await _guided(chat, family, member[0], answers, services=button)
    else:
        await chat.say(f"catat {family.code} {line}")
        assert "Tersimpan" in chat.text, chat.text
    found = await records_of(demo_db, person)
    assert codes <= set(found), (case, set(found))
    assert all(found[c].source == "kader" and found[c].visit_id is not None and found[c].done_on == TODAY for c in codes)
    assert not closed & await still_due(demo_db, person)
    if case.startswith("iron tablets, pregnant"):
        assert found["TTD_HAMIL"].detail == {"tablets": 30}


@pytest.mark.parametrize("code", ["HB0", "BCG", "OPV1", "OPV2", "OPV3", "OPV4", "DPT_HB_HIB1", "DPT_HB_HIB2", "DPT_HB_HIB3",
                                  "DPT_HB_HIB4", "PCV1", "PCV2", "PCV3", "RV1", "RV2", "RV3", "IPV1", "IPV2", "MR1", "MR2", "JE"])
async def test_every_dose_is_recorded_by_a_kader_and_given(engine, demo_db, code):
    """Each dose at its recommended age (the earlier ones of its series already recorded), by catat."""
    birth = date(2022, 12, 1)
    family, ids = await family_with(demo_db, ("Putu Gede", "M", birth))
    imm = load_schedule().immunization
    earlier = []
    rule = imm.by_code[code]
    while rule.after is not None:
        earlier.append(rule.after)
        rule = imm.by_code[rule.after]
    async with demo_db.write() as session:
        for before in earlier:
            session.add(CareRecord(person_id=ids["Putu Gede"], code=before, precision=UNKNOWN, source="family", created_at=DEFAULT_NOW,
                                   done_on=unknown_dose_date(before, birth, TODAY)))
    assert await dose_state(demo_db, ids["Putu Gede"], code) != GIVEN
    when = unknown_dose_date(code, birth, TODAY)
    word = {"DPT_HB_HIB": "dpt", "OPV": "opv", "PCV": "pcv", "RV": "rv", "IPV": "ipv", "MR": "mr"}
    typed = next((f"{w}{code[len(p):]}" for p, w in word.items() if code.startswith(p)), code.lower())
    chat = await kader(engine, demo_db)
    await chat.say(f"catat {family.code} anak1 imun {typed} {when.strftime('%d-%m-%Y')}")
    assert "Tersimpan" in chat.text and _label(DOSE_LABELS[code]) in chat.text, chat.text
    found = await records_of(demo_db, ids["Putu Gede"])
    assert (found[code].done_on, found[code].precision, found[code].source) == (when, DAY, "kader")
    assert await dose_state(demo_db, ids["Putu Gede"], code) == GIVEN


def _label(msgid: str) -> str:
    """The Indonesian text of a message id."""
    with use_locale("id"):
        return _(msgid)


# -- values refused, values confirmed -------------------------------------------------------------

ELEVEN_MONTHS = date(2025, 12, 20)


@pytest.mark.parametrize(("size", "catat", "said"), [
    ("82 71", "bb 82 tb 71", "82 kg? Mungkin 8,2 kg"),
    ("820 71", "bb 820 pb 71", "820 kg? Mungkin 8,2 kg"),
    ("8,2 710", "bb 8,2 pb 710", "710 cm? Mungkin 71 cm"),
    ("8,2 7,1", "bb 8,2 pb 7,1", "7,1 cm? Mungkin 71 cm"),
    ("82 710", "bb 82 pb 710", "Periksa keduanya"),
])
async def test_a_size_that_cannot_be_true_is_refused_with_the_likely_slip(engine, demo_db, size, catat, said):
    family, ids = await family_with(demo_db, ("Kadek Bayu", "M", ELEVEN_MONTHS))
    chat = await kader(engine, demo_db)
    await chat.say(f"catat {family.code} anak1 {catat}")
    assert "Belum tercatat" in chat.text and said in chat.text, chat.text
    assert "simpan" not in " ".join(chat.labels).lower()
    await open_visit(chat, family.code, "Kadek Bayu")
    await chat.say(size)
    assert said in chat.text and "Berat (kg) dan panjang" in chat.text, chat.text
    await chat.say("8,2 71")
    assert "Lingkar kepala" in chat.text
    assert await count(demo_db, Visit) == 0 and await count(demo_db, CareRecord) == 0


async def test_a_head_size_beyond_the_limits_still_asks(engine, demo_db):
    family, _ids = await family_with(demo_db, ("Kadek Bayu", "M", ELEVEN_MONTHS))
    chat = await kader(engine, demo_db)
    await chat.say(f"catat {family.code} anak1 bb 8,2 pb 71 lk 59")
    assert "tampak tidak mungkin" in chat.text and "lingkar kepala" in chat.text
    await chat.press("Ya, benar")
    assert "Tersimpan" in chat.text


async def test_a_shorter_length_and_an_adult_range_still_ask(engine, demo_db, clock):
    family, _ids = await family_with(demo_db, ("Kadek Bayu", "M", ELEVEN_MONTHS), ("Pak Wayan", "M", date(1986, 1, 1)))
    chat = await kader(engine, demo_db)
    clock.advance(days=-30)
    await chat.say(f"catat {family.code} anak1 bb 8 pb 71")
    clock.advance(days=30)
    await chat.say(f"catat {family.code} anak1 bb 8,2 pb 66")
    assert "panjang/tinggi lebih kecil dari sebelumnya" in chat.text and "Ya, benar, simpan" in chat.labels
    await chat.press("Batal")
    await chat.say(f"catat {family.code} nama Pak gd 900")
    assert "gula darah" in chat.text and "Ya, benar, simpan" in chat.labels
    await chat.press("Ya, benar")
    assert "Tersimpan" in chat.text and await count(demo_db, Visit) == 2


# -- doses named before they are saved ------------------------------------------------------------

@pytest.mark.parametrize(("record", "typed", "said"), [
    ({"DPT_HB_HIB1": TODAY}, "dpt2", "DPT-HB-Hib 2 ({today}): terlalu dekat dengan DPT-HB-Hib 1 ({today}); paling cepat {later}"),
    ({}, "pcv2", "PCV 2 (pneumokokus) ({today}): PCV 1 (pneumokokus) belum tercatat"),
    ({"DPT_HB_HIB1": date(2026, 10, 1)}, "dpt1", "DPT-HB-Hib 1 sudah tercatat tanggal {october}"),
    ({}, "rv1", "Rotavirus 1 ({today}): tidak diberikan lagi sejak"),
])
@pytest.mark.parametrize("path", ["guided", "catat"])
async def test_a_dose_against_the_schedule_is_named_and_saved_only_when_confirmed(engine, demo_db, record, typed, said, path):
    family, ids = await family_with(demo_db, ("Kadek Bayu", "M", date(2026, 3, 1)))
    async with demo_db.write() as session:
        for code, on in record.items():
            session.add(CareRecord(person_id=ids["Kadek Bayu"], code=code, done_on=on, precision=DAY, source="kader", created_at=DEFAULT_NOW))
    chat = await kader(engine, demo_db)
    if path == "guided":
        await open_visit(chat, family.code, "Kadek Bayu")
        await chat.say("8 68")
        await chat.say("-")
        if "Layanan yang diberikan" in chat.text:
            await chat.press("Tidak ada")
        await chat.say(typed)
    else:
        await chat.say(f"catat {family.code} anak1 imun {typed}")
    with use_locale("id"):
        expected = said.format(today=format_date(TODAY, "short"), later=format_date(TODAY + timedelta(days=28), "short"),
                               october=format_date(date(2026, 10, 1), "short"))
    assert expected in chat.text and "simpan hanya jika benar" in chat.text, chat.text
    assert "Ya, benar, simpan" in chat.labels
    before = await count(demo_db, CareRecord)
    await chat.press("Batal")
    assert await count(demo_db, CareRecord) == before
    if path == "catat":
        await chat.say(f"catat {family.code} anak1 imun {typed}")
    else:
        await child_visit_doses(chat, family.code, typed)
    await chat.press("Ya, benar")
    assert "Tersimpan" in chat.text
    assert await count(demo_db, CareRecord) > before


async def child_visit_doses(chat: ChatDriver, code: str, typed: str) -> None:
    """The guided visit of the first test child again, up to the confirmation of ``typed``."""
    await open_visit(chat, code, "Kadek Bayu")
    await chat.say("8 68")
    await chat.say("-")
    if "Layanan yang diberikan" in chat.text:
        await chat.press("Tidak ada")
    await chat.say(typed)


# -- one weighing a day ---------------------------------------------------------------------------

async def test_a_second_weighing_the_same_day_corrects_the_first(engine, demo_db, clock):
    family, ids = await family_with(demo_db, ("Kadek Bayu", "M", ELEVEN_MONTHS))
    chat = await kader(engine, demo_db)
    clock.advance(days=-30)
    await chat.say(f"catat {family.code} anak1 bb 8 pb 70")
    clock.advance(days=30)
    await chat.say(f"catat {family.code} anak1 bb 8,1 pb 71 lk 45")
    assert "Tidak naik (T)" in chat.text, chat.text
    clock.advance(minutes=20)
    await chat.say(f"catat {family.code} anak1 bb 8,4")
    assert "Kunjungan hari ini diperbarui; sebelumnya: BB 8,1 kg" in chat.text, chat.text
    assert "Naik (N)" in chat.text and "PB 71 cm" in chat.text and "Baru pertama kali" not in chat.text
    async with demo_db.read() as session:
        visits = list(await session.scalars(select(Visit).where(Visit.visited_on == TODAY)))
        weights = list(await session.scalars(select(Measurement.value).where(Measurement.visit_id == visits[0].id,
                                                                             Measurement.kind == "weight_kg")))
        corrected = await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "visit.corrected"))
    assert len(visits) == 1 and weights == [8.4] and corrected == 1
    assert await count(demo_db, CareRecord, CareRecord.code == "TIMBANG") == 2  # last month's and today's
    await open_visit(chat, family.code, "Kadek Bayu")
    await chat.say("8,3 71")
    await chat.say("-")
    if "Layanan yang diberikan" in chat.text:
        await chat.press("Tidak ada")
    await chat.press("Tidak ada")
    assert "Sudah ada kunjungan Kadek Bayu hari ini" in chat.text
    await chat.press("Simpan")
    assert "sebelumnya: BB 8,4 kg" in chat.text
    assert await count(demo_db, Visit, Visit.visited_on == TODAY) == 1


async def test_the_first_weighing_corrected_is_still_the_first(engine, demo_db):
    family, _ids = await family_with(demo_db, ("Kadek Bayu", "M", ELEVEN_MONTHS))
    chat = await kader(engine, demo_db)
    await chat.say(f"catat {family.code} anak1 bb 8 pb 70")
    await chat.say(f"catat {family.code} anak1 bb 8,2")
    assert "Baru pertama kali ditimbang (B)" in chat.text and "sebelumnya: BB 8 kg" in chat.text
    assert "perubahan berat" not in chat.text  # a correction is not a weight change


# -- referrals ------------------------------------------------------------------------------------

async def test_a_flag_opens_a_referral_and_the_family_is_told_by_chat(engine, demo_db):
    family, ids = await family_with(demo_db, ("Ni Made Sari", "F", date(1996, 3, 12), PREGNANT), identity_address="628111")
    chat = await kader(engine, demo_db)
    await chat.say(f"catat {family.code} ibu bb 52 td 160/110 lila 22")
    assert "Tekanan darah tinggi (160/110): rujuk ke puskesmas" in chat.text  # the flag lines stay
    assert "Rujukan dibuka: KEK (LILA < 23,5 cm), Tekanan darah tinggi." in chat.text
    assert "Keluarga sudah diberi tahu lewat chat" in chat.text
    async with demo_db.read() as session:
        referrals = {r.reason: r for r in await session.scalars(select(Referral))}
        visit = (await session.scalars(select(Visit))).one()
        notices = list(await session.scalars(select(Outbox).where(Outbox.kind == "referral")))
    assert set(referrals) == {"kek", "hypertension"}
    assert referrals["hypertension"].detail == {"sbp": 160, "dbp": 110} and referrals["kek"].detail == {"muac_cm": 22.0}
    assert {r.visit_id for r in referrals.values()} == {visit.id} and len(notices) == 1
    await chat.say(f"catat {family.code} ibu td 150/100")  # the same day: today's visit is updated
    assert "sebelumnya: TD 160/110" in chat.text
    assert "Rujukan yang masih terbuka: KEK (LILA < 23,5 cm), Tekanan darah tinggi." in chat.text
    assert await count(demo_db, Referral) == 2


async def test_a_childs_flags_open_referrals_the_family_is_told_in_person(engine, demo_db, clock):
    family, ids = await family_with(demo_db, ("Kadek Bayu", "M", ELEVEN_MONTHS))
    chat = await kader(engine, demo_db)
    clock.advance(days=-61)
    first = clock.now.date()
    await chat.say(f"catat {family.code} anak1 bb 7 pb 68")
    z = zscores(1, (first - ELEVEN_MONTHS).days, weight_kg=7, length_cm=68, measured="l")
    values = {"stunting": {"length_cm": 68, "measured": "l"}, "wasting": {"weight_kg": 7, "length_cm": 68, "measured": "l"},
              "underweight": {"weight_kg": 7}}
    low = {reason: {**values[reason], index: round(z[index], 2)}
           for index, reason in (("lhfa", "stunting"), ("wflh", "wasting"), ("wfa", "underweight")) if z[index] < -2}
    assert low
    with use_locale("id"):
        opened = ", ".join(_label(REASONS[r][0]) for r in low)
    assert f"Rujukan dibuka: {opened}. Keluarga tidak terhubung lewat chat" in chat.text, chat.text
    clock.advance(days=31)
    await chat.say(f"catat {family.code} anak1 bb 7 pb 68")
    clock.advance(days=30)
    await chat.say(f"catat {family.code} anak1 bb 7 pb 68")
    today = zscores(1, (TODAY - ELEVEN_MONTHS).days, weight_kg=7, length_cm=68, measured="l")
    flagged = [reason for index, reason in (("lhfa", "stunting"), ("wflh", "wasting"), ("wfa", "underweight")) if today[index] < -2]
    with use_locale("id"):
        still = ", ".join(_label(REASONS[r][0]) for r in flagged)
    assert "Rujukan dibuka: 2T (tidak naik dua kali)." in chat.text and f"Rujukan yang masih terbuka: {still}." in chat.text
    async with demo_db.read() as session:
        reasons = {r.reason: r.detail for r in await session.scalars(select(Referral))}
    assert set(reasons) == {"2T", *flagged} and reasons["2T"] == {"weight_kg": 7.0}
    assert all(reasons[r] == low[r] for r in low)  # opened at the first visit that found it, not again
    assert all(reasons[r][index] < -2 for index, r in (("lhfa", "stunting"), ("wflh", "wasting"), ("wfa", "underweight"))
               if r in flagged)


async def test_a_danger_sign_marked_at_the_confirmation(engine, demo_db):
    family, ids = await family_with(demo_db, ("Pak Wayan", "M", date(1986, 1, 1)), identity_address="628112")
    chat = await kader(engine, demo_db)
    await open_visit(chat, family.code, "Pak Wayan")
    for answer in ("120/80", "-", "-"):
        await chat.say(answer)
    await chat.press("Tanda bahaya")
    assert "Tanda bahaya apa yang terlihat" in chat.text
    await chat.say("sesak napas   berat sejak pagi")
    assert "Tanda bahaya (sesak napas berat sejak pagi): rujuk segera ke puskesmas." in chat.text
    await chat.press("Simpan")
    assert "Rujukan dibuka: Tanda bahaya." in chat.text
    async with demo_db.read() as session:
        referral = (await session.scalars(select(Referral))).one()
    assert (referral.reason, referral.detail) == ("danger", {"seen": "sesak napas berat sejak pagi"})


async def test_a_danger_sign_in_catat_and_undo_takes_the_referral_back(engine, demo_db):
    family, ids = await family_with(demo_db, ("Kadek Bayu", "M", ELEVEN_MONTHS), identity_address="628113")
    chat = await kader(engine, demo_db)
    await chat.say(f"catat {family.code} anak1 bb 8,2 bahaya kejang tadi malam, demam")
    assert "Tanda bahaya (kejang tadi malam, demam)" in chat.text and "Rujukan dibuka: Tanda bahaya." in chat.text
    assert await count(demo_db, Outbox, Outbox.kind == "referral", Outbox.state == "pending") == 1
    await chat.say("/urung")
    assert "dibatalkan" in chat.text
    assert await count(demo_db, Referral) == 0 and await count(demo_db, Visit) == 0
    assert await count(demo_db, Outbox, Outbox.kind == "referral", Outbox.state == "pending") == 0


async def test_nothing_flagged_opens_nothing(engine, demo_db):
    family, _ids = await family_with(demo_db, ("Kadek Bayu", "M", ELEVEN_MONTHS))
    chat = await kader(engine, demo_db)
    await chat.say(f"catat {family.code} anak1 bb 9 pb 74")
    assert "Tersimpan" in chat.text and "Rujukan" not in chat.text
    assert await count(demo_db, Referral) == 0


# -- bad input at every new step ------------------------------------------------------------------

async def _at_services(chat, family):
    await open_visit(chat, family.code, "Made Ayu")
    await chat.say("10,2 80")
    await chat.say("-")
    return "Layanan yang diberikan"


async def _at_doses(chat, family):
    await _at_services(chat, family)
    await chat.press("Tidak ada")
    return "Imunisasi yang diberikan"


async def _at_confirm(chat, family):
    await _at_doses(chat, family)
    await chat.say("pcv2")
    return "Periksa imunisasi ini"


async def _at_danger(chat, family):
    await _at_confirm(chat, family)
    await chat.press("Tanda bahaya")
    return "Tanda bahaya apa"


async def _at_size(chat, family):
    await open_visit(chat, family.code, "Made Ayu")
    return "Berat (kg) dan panjang"


@pytest.mark.parametrize("reach", [_at_size, _at_services, _at_doses, _at_confirm, _at_danger],
                         ids=["size", "services", "doses", "confirm with doubts", "danger sign"])
async def test_bad_input_at_every_new_step_loses_nothing(engine, demo_db, reach):
    family, _ids = await family_with(demo_db, ("Made Ayu", "F", date(2025, 5, 23)))
    chat = await kader(engine, demo_db)
    question = await reach(chat, family)
    assert question in chat.text
    asked = chat.replies
    await chat.media("photo")
    assert "belum bisa membaca foto" in chat.text and question in chat.text
    await chat.say("x" * 4000)
    assert "terlalu panjang" in chat.text and question in chat.text
    if chat.labels:
        await chat.press(chat.labels[-1], asked)  # a button of before the question was asked again
        assert "Tombol itu sudah tidak berlaku" in chat.text and question in chat.text
        current = chat.replies
        last = current[-1].choices[-1].label  # Tidak ada / Batal: acts once
        await chat.press(last, current)
        assert "Tombol itu sudah tidak berlaku" not in chat.text
        await chat.press(last, current)  # pressed twice
        assert "Tombol itu sudah tidak berlaku" in chat.text
    assert "Maaf, terjadi gangguan" not in "".join(r.text for r in chat.history)
    assert await count(demo_db, Visit) == 0


async def test_the_save_button_pressed_twice_saves_once(engine, demo_db):
    family, _ids = await family_with(demo_db, ("Made Ayu", "F", date(2025, 5, 23)))
    chat = await kader(engine, demo_db)
    await _at_confirm(chat, family)
    confirm = chat.replies
    await chat.press("Ya, benar", confirm)
    assert "Tersimpan" in chat.text
    await chat.press("Ya, benar", confirm)
    assert "Tombol itu sudah tidak berlaku" in chat.text
    assert await count(demo_db, Visit) == 1 and await count(demo_db, CareRecord, CareRecord.code == "PCV2") == 1


async def test_a_danger_sign_too_long_is_asked_again(engine, demo_db):
    family, _ids = await family_with(demo_db, ("Made Ayu", "F", date(2025, 5, 23)))
    chat = await kader(engine, demo_db)
    await _at_danger(chat, family)
    await chat.say("demam " * 60)
    assert "paling banyak 200 karakter" in chat.text and "Tanda bahaya apa" in chat.text
    await chat.say("-")
    assert "Periksa imunisasi ini" in chat.text and "Tanda bahaya (" not in chat.text


async def test_catat_names_what_does_not_fit_the_person(engine, demo_db):
    family, _ids = await family_with(demo_db, ("Pak Wayan", "M", date(1986, 1, 1)), ("Kadek Bayu", "M", date(2026, 9, 20)))
    chat = await kader(engine, demo_db)
    for line, said in ((f"catat {family.code} nama Pak ttd", "TTD dicatat untuk ibu hamil dan remaja putri"),
                       (f"catat {family.code} nama Pak vita", "Vitamin A dicatat untuk anak"),
                       (f"catat {family.code} anak1 vita", "Vitamin A dicatat untuk anak"),
                       (f"catat {family.code} anak1 kn1", "Kunjungan neonatal 1 tidak berlaku untuk Kadek Bayu"),
                       (f"catat {family.code} anak1 kf2", "Kunjungan nifas 2 tidak berlaku"),
                       (f"catat {family.code} anak1 oc", "Obat cacing tidak berlaku"),
                       (f"catat {family.code} nama Pak skilas normal", "Skrining lansia (SKILAS) tidak berlaku untuk Pak Wayan"),
                       (f"catat {family.code} anak1 imun dpt1 31-02-2026", "Tanggal imunisasi tidak terbaca"),
                       (f"catat {family.code} anak1 bb 5 bahaya " + "x" * 201, "paling banyak 200 karakter")):
        await chat.say(line)
        assert "Belum tercatat" in chat.text and said in chat.text, (line, chat.text)
    assert await count(demo_db, Visit) == 0 and await count(demo_db, CareRecord) == 0


async def test_pressing_a_stale_services_button_after_the_step_moved_on(engine, demo_db):
    family, ids = await family_with(demo_db, ("Made Ayu", "F", date(2025, 5, 23)))
    chat = await kader(engine, demo_db)
    await _at_services(chat, family)
    services = chat.replies
    await chat.press("Obat cacing", services)
    await chat.press("Semua", services)
    assert "Tombol itu sudah tidak berlaku" in chat.text and "Imunisasi yang diberikan" in chat.text
    await chat.press("Tidak ada")
    await chat.press("Simpan")
    assert set(await records_of(demo_db, ids["Made Ayu"])) == {"OBAT_CACING", "TIMBANG"}


async def test_measurements_are_read_as_kaders_write_them(engine, demo_db):
    """Units, labels and "not measured" in words; a refused value names the form with an example."""
    family, ids = await family_with(demo_db, ("Ni Luh Sari", "F", date(1995, 4, 2),
                                              {"hpht": TODAY - timedelta(weeks=20), "due_date": TODAY + timedelta(weeks=20)}))
    chat = await kader(engine, demo_db)
    await open_visit(chat, family.code, "Ni Luh Sari")
    await chat.say("berat 58,5 kg")
    await chat.say("TD 120 / 80 mmHg")
    await chat.say("tidak diukur")  # LILA
    await chat.say("tiga puluh")
    assert "Tulis bilangan bulat, misalnya 30." in chat.text
    await chat.say("30 tablet")
    await chat.say("ke-4,5")
    assert "Tulis bilangan bulat, misalnya 4." in chat.text
    await chat.say("K4")
    if "Layanan yang diberikan" in chat.text:
        await chat.say("tidak ada")
    await chat.say("ya")
    async with demo_db.read() as session:
        measures = {m.kind: m.value for m in await session.scalars(select(Measurement))}
    assert measures == {"weight_kg": 58.5, "sbp": 120.0, "dbp": 80.0}
    assert set(await records_of(demo_db, ids["Ni Luh Sari"])) >= {"ANC4", "TTD_HAMIL"}
