"""/sasaran: the kader's planned home-visit list: the reasons (table-first), grouping and order, paging,
scope, the posyandu day of the month, audit and English."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from care.history import DAY, MONTH
from content.i18n import _, format_date, use_locale
from db.history import record
from db.models import AuditLog, Family, Identity, Measurement, Person, Posyandu, PosyanduException, Referral, Visit
from handlers.referrals import reason_label
from handlers.targets import (
    BIRTH, DUE, GAIN, HOME_MARK, LATE, MISSED, OVERDUE, PAGE, REFERRAL, REFERRAL_NOT_FOUND, REFERRED, UNWEIGHED, Facts, Reason,
    reason_text, reasons, tier,
)
from reminders.rules import Item
from tests.helpers import DEFAULT_NOW, ChatDriver, invited_chat, make_family

TODAY = date(2026, 11, 23)
SESSION = date(2026, 11, 5)  # Posyandu Mawar: every 5th
CHILD = date(2025, 9, 14)  # 14 months old
MOTHER = date(1995, 4, 2)
MAWAR, MELATI, ANGGREK = "51.08.06.2014", "51.08.06.2016", "18.10.01.2011"


def child(**kw) -> Facts:
    return Facts(sex="M", birth=CHILD, weights=((TODAY - timedelta(days=2), 9.0),), **kw)


def adult(**kw) -> Facts:
    return Facts(sex="F", birth=MOTHER, **kw)


def overdue(code: str) -> Item:
    return Item("dose", code, CHILD, 1, "x", overdue=True)


def due(code: str) -> Item:
    return Item("service", code, TODAY, 1, "x", overdue=False)


# -- the rule, table-first ------------------------------------------------------------------------

CASES = [
    # (why, facts, session day, expected reasons)
    ("a child not seen since before the session missed it", child(last_seen=date(2026, 10, 5)), SESSION,
     [Reason(MISSED, on=SESSION)]),
    ("a child never seen missed it", child(), SESSION, [Reason(MISSED, on=SESSION)]),
    ("a child seen on the session day did not", child(last_seen=SESSION), SESSION, []),
    ("a child seen later (a home visit) did not", child(last_seen=date(2026, 11, 20)), SESSION, []),
    ("a session today has not passed", child(), TODAY, []),
    ("a session later this month has not passed", child(), date(2026, 11, 26), []),
    ("no session this month", child(), None, []),
    ("a pregnant woman not seen missed it", adult(hpht=date(2026, 6, 1)), SESSION, [Reason(MISSED, on=SESSION)]),
    ("a woman who is not pregnant is no posyandu target", adult(), SESSION, []),
    ("a child born after the session could not come", Facts(sex="F", birth=date(2026, 11, 10)), SESSION,
     [Reason(UNWEIGHED)]),
    ("a five-year-old is no longer a posyandu target",
     Facts(sex="M", birth=date(2021, 10, 1)), SESSION, []),
    ("a referral open 8 days needs a visit", adult(referrals=(("hypertension", "open", TODAY - timedelta(days=8)),)), None,
     [Reason(REFERRAL, "hypertension", TODAY - timedelta(days=8))]),
    ("a referral open 7 days can still wait", adult(referrals=(("hypertension", "open", TODAY - timedelta(days=7)),)), None,
     [Reason(REFERRED, "hypertension", TODAY - timedelta(days=7))]),
    ("a referral not found needs a visit at once", adult(referrals=(("skilas", "not_found", TODAY - timedelta(days=1)),)), None,
     [Reason(REFERRAL_NOT_FOUND, "skilas", TODAY - timedelta(days=1))]),
    ("a danger sign still open the next day needs a visit", adult(referrals=(("danger", "open", TODAY - timedelta(days=1)),)),
     None, [Reason(REFERRAL, "danger", TODAY - timedelta(days=1))]),
    ("a danger sign referred today", adult(referrals=(("danger", "open", TODAY),)), None, [Reason(REFERRED, "danger", TODAY)]),
    ("a closed referral is not followed", adult(referrals=(("kek", "treated", TODAY - timedelta(days=30)),)), None, []),
    ("an overdue dose needs a visit", child(items=(overdue("MR1"),)), None, [Reason(OVERDUE, "MR1")]),
    ("a dose due again (invalid) is named by its code", child(items=(Item("dose", "PCV2:again", CHILD, 1, "x", True),)), None,
     [Reason(OVERDUE, "PCV2")]),
    ("a service due is due this month", adult(items=(due("SKRINING_PTM"),)), None, [Reason(DUE, "SKRINING_PTM")]),
    ("an adult's screening overdue is late but no home visit", adult(items=(overdue("SKRINING_PTM"),)), None,
     [Reason(LATE, "SKRINING_PTM")]),
    ("a child not weighed this month", Facts(sex="M", birth=CHILD, weights=((date(2026, 10, 5), 9.0),)), None,
     [Reason(UNWEIGHED)]),
    ("a birth within two weeks", adult(hpht=date(2026, 2, 20), due_date=TODAY + timedelta(days=10)), None,
     [Reason(BIRTH, on=TODAY + timedelta(days=10))]),
    ("a birth further off", adult(hpht=date(2026, 3, 20), due_date=TODAY + timedelta(days=30)), None, []),
    ("everything at once: home-visit reasons first",
     child(items=(due("SDIDTK"), overdue("MR1")), referrals=(("2T", "open", TODAY - timedelta(days=3)),
                                                             ("stunting", "open", TODAY - timedelta(days=20)))), SESSION,
     [Reason(REFERRAL, "stunting", TODAY - timedelta(days=20)), Reason(MISSED, on=SESSION), Reason(OVERDUE, "MR1"),
      Reason(REFERRED, "2T", TODAY - timedelta(days=3)), Reason(DUE, "SDIDTK")]),
]


@pytest.mark.parametrize(("why", "facts", "session", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_reasons_for_the_list(why, facts, session, expected):
    assert reasons(TODAY, facts, session) == expected


def test_weights_that_did_not_go_up_are_named():
    weights = ((date(2026, 8, 5), 9.0), (date(2026, 9, 5), 9.0), (date(2026, 10, 5), 8.9), (TODAY, 9.0))
    found = reasons(TODAY, Facts(sex="M", birth=CHILD, weights=weights, last_seen=TODAY), SESSION)
    assert found == [Reason(GAIN, "2T")]


@pytest.mark.parametrize(("found", "expected_home"), [
    ([Reason(REFERRAL_NOT_FOUND, "kek", TODAY)], True),
    ([Reason(MISSED, on=SESSION)], True),
    ([Reason(OVERDUE, "MR1")], True),
    ([Reason(REFERRED, "kek", TODAY)], False),
    ([Reason(DUE, "SDIDTK")], False),
    ([Reason(UNWEIGHED)], False),
])
def test_which_reasons_call_for_a_home_visit(found, expected_home):
    assert found[0].home is expected_home


def test_people_with_a_referral_to_follow_come_before_those_who_missed_then_the_overdue_then_the_rest():
    ranked = sorted([[Reason(DUE, "SDIDTK")], [Reason(OVERDUE, "MR1")], [Reason(MISSED, on=SESSION)],
                     [Reason(REFERRAL, "kek", TODAY)], [Reason(REFERRAL_NOT_FOUND, "kek", TODAY)]], key=tier)
    assert [r[0].kind for r in ranked] == [REFERRAL_NOT_FOUND, REFERRAL, MISSED, OVERDUE, DUE]


@pytest.mark.parametrize(("reason", "words"), [
    (Reason(MISSED, on=SESSION), "tidak datang ke posyandu 5 Nov"),
    (Reason(REFERRAL, "2T", date(2026, 11, 2)), "dirujuk karena 2T (tidak naik dua kali) sejak 2 Nov, belum ada kabar"),
    (Reason(REFERRAL_NOT_FOUND, "kek", date(2025, 12, 30)), "dirujuk karena KEK (LILA < 23,5 cm) sejak 30 Des 2025, tidak ditemukan"),
    (Reason(OVERDUE, "MR1"), "Campak-Rubela 1 (MR) \u2013 terlambat"),
    (Reason(UNWEIGHED), "belum ditimbang bulan ini"),
])
def test_each_reason_says_why_in_words(reason, words):
    with use_locale("id"):
        assert words in reason_text(reason, TODAY)


# -- the list in the chat -------------------------------------------------------------------------

async def kader_chat(engine, db, *, village: str = MAWAR, address: str = "kader-1", language: str | None = None) -> ChatDriver:
    async with db.read() as session:
        posyandu_id = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == village))
    chat = await invited_chat(engine, db, role="kader", address=address, posyandu_id=posyandu_id)
    if language:
        await chat.say(f"/bahasa {language}")
    return chat


async def family_at(db, *, dusun: str | None, rt: str | None, village: str = MAWAR, name: str = "Keluarga",
                    members=(("Bayi", "M", date(2026, 9, 20)),)) -> Family:
    """A family (tests.helpers.make_family) moved to a dusun and RT."""
    family = await make_family(db, village_code=village, name=name, members=members)
    async with db.write() as session:
        await session.execute(update(Family).where(Family.id == family.id).values(dusun=dusun, rt=rt))
    return family


async def person_id(db, name: str) -> int:
    async with db.read() as session:
        return (await session.scalars(select(Person.id).where(Person.name == name))).one()


async def add_referral(db, name: str, reason: str, *, opened_on: date, status: str = "open", detail=None) -> int:
    """A referral written directly, as ``open_referrals`` writes it (the family's posyandu)."""
    async with db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == name))).one()
        family = await session.get(Family, person.family_id)
        row = Referral(person_id=person.id, posyandu_id=family.posyandu_id, reason=reason, detail=detail, status=status,
                       opened_on=opened_on, created_at=DEFAULT_NOW)
        session.add(row)
        await session.flush()
        return row.id


async def add_visit(db, name: str, on: date, *, weight: float | None = None) -> None:
    async with db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == name))).one()
        family = await session.get(Family, person.family_id)
        visit = Visit(person_id=person.id, posyandu_id=family.posyandu_id, visited_on=on, place="posyandu", created_at=DEFAULT_NOW)
        session.add(visit)
        await session.flush()
        if weight is not None:
            session.add(Measurement(visit_id=visit.id, kind="weight_kg", value=weight))


def line_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if f" {name} (" in line)


async def test_the_list_is_grouped_by_dusun_and_rt_with_home_visits_first_and_says_why(engine, demo_db):
    await family_at(demo_db, dusun="Banjar Kaja", rt="002", name="Kaja",
                    members=(("Ayu Sehat", "F", date(2026, 9, 20)), ("Bagus Dirujuk", "M", date(2026, 9, 20)),
                             ("Citra Ibu", "F", MOTHER)))
    await family_at(demo_db, dusun="Banjar Kaja", rt="10", name="Kaja Sepuluh", members=(("Dewi Hilang", "F", date(2025, 9, 1)),))
    await family_at(demo_db, dusun="Banjar Kelod", rt="001", name="Kelod", members=(("Eka Hamil", "F", MOTHER),))
    await family_at(demo_db, dusun="Banjar Kaja", rt="002", village=MELATI, name="Melati", members=(("Fajar Melati", "M", date(2026, 9, 20)),))
    await family_at(demo_db, dusun="Banjar Kaja", rt="002", village=ANGGREK, name="Lampung", members=(("Gede Lampung", "M", date(2026, 9, 20)),))
    async with demo_db.write() as session:
        await session.execute(update(Person).where(Person.name == "Eka Hamil").values(hpht=date(2026, 7, 1)))
    await add_visit(demo_db, "Ayu Sehat", SESSION, weight=5.1)
    await add_visit(demo_db, "Bagus Dirujuk", SESSION, weight=5.0)
    await add_referral(demo_db, "Bagus Dirujuk", "underweight", opened_on=SESSION)
    await add_referral(demo_db, "Dewi Hilang", "stunting", opened_on=date(2026, 11, 20), status="not_found")
    await add_referral(demo_db, "Fajar Melati", "2T", opened_on=date(2026, 10, 1))
    await add_referral(demo_db, "Gede Lampung", "2T", opened_on=date(2026, 10, 1))
    chat = await kader_chat(engine, demo_db)
    await chat.say("/sasaran")
    text = chat.text
    assert "Fajar Melati" not in text and "Gede Lampung" not in text  # another posyandu, another puskesmas
    groups = [line for line in text.splitlines() if line.startswith("[")]
    assert groups == ["[Banjar Kaja, RT 002]", "[Banjar Kaja, RT 10]", "[Banjar Kelod, RT 001]"]  # RT 002 before RT 10
    kaja = text.split("[Banjar Kaja, RT 002]")[1].split("[Banjar Kaja, RT 10]")[0]
    names = [n for n in ("Bagus Dirujuk", "Ayu Sehat", "Citra Ibu") if n in kaja]
    assert sorted(names, key=kaja.index) == ["Bagus Dirujuk", "Citra Ibu", "Ayu Sehat"]  # referral, overdue PTM, due only
    bagus = line_of(text, "Bagus Dirujuk")
    assert bagus.startswith(HOME_MARK) and "dirujuk karena Berat badan kurang sejak 5 Nov, belum ada kabar" in bagus
    assert "tidak datang" not in bagus  # seen at the session
    assert line_of(text, "Ayu Sehat").startswith("\u2022") and "tidak datang" not in line_of(text, "Ayu Sehat")
    dewi = line_of(text, "Dewi Hilang")
    assert dewi.startswith(HOME_MARK) and "tidak ditemukan" in dewi and "tidak datang ke posyandu 5 Nov" in dewi
    eka = line_of(text, "Eka Hamil")
    assert eka.startswith(HOME_MARK) and "tidak datang ke posyandu 5 Nov" in eka
    assert line_of(text, "Citra Ibu").startswith("\u2022")  # an overdue PTM screening is no home visit
    assert "5 orang, 3 perlu dikunjungi" in text
    async with demo_db.read() as session:
        audited = (await session.scalars(select(AuditLog).where(AuditLog.action == "targets.viewed"))).all()
    assert len(audited) == 1 and audited[0].target_type == "posyandu" and audited[0].detail == {}


async def test_a_care_record_since_the_session_counts_as_seen_and_an_approximate_one_does_not(engine, demo_db):
    await family_at(demo_db, dusun="Banjar Kaja", rt="001", members=(("Kadek Tercatat", "M", date(2026, 9, 20)),
                                                                    ("Komang Kira", "M", date(2026, 9, 20))))
    async with demo_db.write() as session:
        for name, precision in (("Kadek Tercatat", DAY), ("Komang Kira", MONTH)):
            pid = (await session.scalars(select(Person.id).where(Person.name == name))).one()
            await record(session, person_id=pid, code="BCG", on=date(2026, 11, 15), now=DEFAULT_NOW, source="family", precision=precision)
    chat = await kader_chat(engine, demo_db)
    await chat.say("/sasaran")
    assert "tidak datang" not in line_of(chat.text, "Kadek Tercatat")
    assert "tidak datang ke posyandu 5 Nov" in line_of(chat.text, "Komang Kira")


async def test_a_session_moved_past_today_is_not_missed_yet(engine, demo_db):
    await family_at(demo_db, dusun="Banjar Kaja", rt="001", members=(("Kadek Bayu", "M", date(2026, 9, 20)),))
    async with demo_db.write() as session:
        mawar = (await session.scalars(select(Posyandu).where(Posyandu.village_code == MAWAR))).one()
        session.add(PosyanduException(posyandu_id=mawar.id, kind="moved", original_date=SESSION, new_date=date(2026, 11, 26),
                                      reason="balai dipakai", created_at=DEFAULT_NOW))
    chat = await kader_chat(engine, demo_db)
    await chat.say("/sasaran")
    line = line_of(chat.text, "Kadek Bayu")
    assert "tidak datang" not in line and "belum ditimbang bulan ini" in line


async def test_before_this_months_session_nobody_has_missed_it(engine, demo_db, clock):
    clock.now = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # the 3rd; the session is on the 5th
    await family_at(demo_db, dusun="Banjar Kaja", rt="001", members=(("Kadek Bayu", "M", date(2026, 9, 20)),))
    chat = await kader_chat(engine, demo_db)
    await chat.say("/sasaran")
    assert "Kadek Bayu" in chat.text and "tidak datang" not in chat.text


async def test_the_list_is_paged_and_each_page_names_its_group(engine, demo_db):
    count = PAGE + 3
    for n in range(count):
        await family_at(demo_db, dusun="Banjar Kaja", rt="001", name=f"K{n}", members=((f"Bayi {n:02d}", "M", date(2026, 9, 20)),))
    chat = await kader_chat(engine, demo_db)
    await chat.say("/sasaran")
    assert "halaman 1 dari 2" in chat.text and chat.text.count("Bayi ") == PAGE
    assert "Sebelumnya" not in chat.labels
    await chat.press("Berikutnya")
    assert "halaman 2 dari 2" in chat.text and chat.text.count("Bayi ") == 3
    assert "[Banjar Kaja, RT 001]" in chat.text  # the group is named again on the new page
    assert "Berikutnya" not in chat.labels
    await chat.say("sebelumnya")
    assert "halaman 1 dari 2" in chat.text
    await chat.say("entah apa")
    assert "Pilih Berikutnya, Sebelumnya, atau Selesai." in chat.text and "halaman 1 dari 2" in chat.text
    await chat.media("photo")
    assert "belum bisa membaca foto" in chat.text and "halaman 1 dari 2" in chat.text
    await chat.say("x" * 4000)
    assert "terlalu panjang" in chat.text and "halaman 1 dari 2" in chat.text
    stale = chat.button("Berikutnya")
    await chat.press("Berikutnya")
    await chat.send(chat_incoming(chat, stale))
    assert "Tombol itu sudah tidak berlaku" in chat.text and "halaman 2 dari 2" in chat.text
    await chat.press("Selesai")
    assert "Apa yang ingin Bapak/Ibu lakukan" in chat.text


def chat_incoming(chat: ChatDriver, data: str):
    from channels.messages import Incoming

    return Incoming(chat.channel, chat.address, message_id=f"again-{data}-{chat.address}", choice=data)


async def test_only_kaders_have_a_list(engine, demo_db):
    await make_family(demo_db, identity_address="ibu-1")
    family = ChatDriver(engine, address="ibu-1")
    await family.say("/sasaran")
    assert "Daftar sasaran hanya untuk kader." in family.text
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "targets.viewed")) == 0


async def test_the_list_in_english(engine, demo_db):
    await family_at(demo_db, dusun="Banjar Kaja", rt="001", members=(("Kadek Bayu", "M", date(2026, 9, 20)),))
    await add_referral(demo_db, "Kadek Bayu", "2T", opened_on=date(2026, 11, 2))
    chat = await kader_chat(engine, demo_db, language="en")
    await chat.say("/sasaran")
    with use_locale("en"):
        heading = _("Rencana kunjungan rumah {month}: {count} orang, {visits} perlu dikunjungi ({mark}), halaman {page} dari {pages}:",
                    month=format_date(TODAY, "MMMM y"), count=1, visits=1, mark=HOME_MARK, page=1, pages=1)
        missed = _("tidak datang ke posyandu {date}", date=format_date(SESSION, "d MMM"))
        referral = _("dirujuk karena {reason} sejak {date}, belum ada kabar", date=format_date(date(2026, 11, 2), "d MMM"), reason=reason_label("2T"))
        done = _("Selesai")
    assert "November 2026" in heading  # the month in English
    assert heading in chat.text and missed in chat.text and referral in chat.text
    assert done in chat.labels


async def test_a_kader_without_a_posyandu_of_their_own_sees_nothing_of_others(engine, demo_db):
    await family_at(demo_db, dusun="Banjar Kaja", rt="001", members=(("Kadek Bayu", "M", date(2026, 9, 20)),))
    chat = await kader_chat(engine, demo_db, village=MELATI)
    await chat.say("/sasaran")
    assert "Kadek Bayu" not in chat.text and "Tidak ada sasaran" in chat.text
    async with demo_db.write() as session:  # a kader whose posyandu was taken away mid-list
        await session.execute(update(Identity).where(Identity.address == "kader-1").values(posyandu_id=None))
    await chat.say("/sasaran")
    assert "Daftar sasaran hanya untuk kader." in chat.text
