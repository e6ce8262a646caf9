"""Referrals: opening them and the family's notice (who is told, in which words, sent by the dispatcher),
the values in words, and /rujukan for staff and kaders: the list, the outcome, scope, bad input, English."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from channels.messages import Incoming, Reply
from content.i18n import _, format_number, n_, use_locale
from db.models import AuditLog, Family, Identity, Outbox, Person, Posyandu, Puskesmas, Referral
from handlers.flow import Ctx
from handlers.referrals import (
    FOLLOW_UP_DAYS, MAX_NOTE, OUTCOME_LABELS, PAGE, REASONS, detail_text, family_notice, open_referrals, reason_label,
    uses_kia,
)
from reminders.dispatcher import Dispatcher
from tests.helpers import DEFAULT_NOW, ChatDriver, invited_chat, make_family

TODAY = date(2026, 11, 23)
MAWAR, MELATI, ANGGREK = "51.08.06.2014", "51.08.06.2016", "18.10.01.2011"
BULELENG, PRINGSEWU = "P5108060201", "P1810010101"


# -- factories --------------------------------------------------------------------------------------

async def add_identity(db, family_id: int | None, address: str, *, channel: str = "local", language: str = "id",
                       role: str = "family", consent: str | None = "given", opted_out: bool = False,
                       unreachable: bool = False, posyandu_id: int | None = None) -> int:
    async with db.write() as session:
        identity = Identity(
            channel=channel, address=address, language=language, role=role, family_id=family_id, posyandu_id=posyandu_id,
            consent=consent, consent_version="2026-11" if consent else None, consent_at=DEFAULT_NOW if consent else None,
            opted_out_at=DEFAULT_NOW - timedelta(days=2) if opted_out else None,
            unreachable_at=DEFAULT_NOW - timedelta(days=2) if unreachable else None, created_at=DEFAULT_NOW,
        )
        session.add(identity)
        await session.flush()
        return identity.id


async def posyandu_id(db, village: str) -> int:
    async with db.read() as session:
        return await session.scalar(select(Posyandu.id).where(Posyandu.village_code == village))


async def puskesmas_id(db, code: str) -> int:
    async with db.read() as session:
        return await session.scalar(select(Puskesmas.id).where(Puskesmas.code == code))


async def open_for(db, settings, name: str, reasons, *, by: str, today: date = TODAY) -> tuple[list[int], int]:
    """Opens referrals for the person called ``name`` as the chat ``by`` records them on ``today``."""
    async with db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == name))).one()
        identity = (await session.scalars(select(Identity).where(Identity.address == by))).one()
        ctx = Ctx(session=session, identity=identity, state=None, now=DEFAULT_NOW, today=today, settings=settings, data={})
        new, told = await open_referrals(ctx, person, reasons)
        return [r.id for r in new], told


async def referred_family(db, settings, *, village: str = MAWAR, name: str = "Komang Ariawan", child: str = "Putu Adi",
                          reason: str = "2T", opened: date = date(2026, 11, 9), detail=None) -> Family:
    """A family whose child was referred by a kader of its posyandu on ``opened``."""
    family = await make_family(db, village_code=village, name=name,
                               members=(("Ni Luh " + child, "F", date(1995, 4, 2)), (child, "M", date(2025, 9, 14))))
    kader = f"kader-of-{village}"
    async with db.read() as session:
        exists = await session.scalar(select(func.count()).select_from(Identity).where(Identity.address == kader))
    if not exists:
        await add_identity(db, None, kader, role="kader", posyandu_id=family.posyandu_id)
    await open_for(db, settings, child, [(reason, detail if detail is not None else {"weight_kg": 8.2})], by=kader, today=opened)
    return family


async def staff_chat(engine, db, *, code: str = BULELENG, address: str = "staf-1") -> ChatDriver:
    chat = await invited_chat(engine, db, role="staff", address=address, puskesmas_id=await puskesmas_id(db, code))
    assert "petugas" in chat.text
    return chat


async def kader_chat(engine, db, *, village: str = MAWAR, address: str = "kader-1") -> ChatDriver:
    chat = await invited_chat(engine, db, role="kader", address=address, posyandu_id=await posyandu_id(db, village))
    assert "Bapak/Ibu sekarang kader" in chat.text
    return chat


# -- opening and the family's notice ------------------------------------------------------------------

async def _id_of(db, address: str) -> int:
    async with db.read() as session:
        return await session.scalar(select(Identity.id).where(Identity.address == address))


async def test_the_family_is_told_on_every_chat_that_may_be_reached_but_the_one_recording(demo_db, settings):
    family = await make_family(demo_db, identity_address="ibu-1", members=(
        ("Ni Luh Sari", "F", date(1995, 4, 2)), ("Putu Adi", "M", date(2025, 9, 14)), ("Kadek Kecil", "F", date(2026, 11, 20))))
    mother = await _id_of(demo_db, "ibu-1")
    father = await add_identity(demo_db, family.id, "6281200000001", channel="whatsapp", language="en")
    grandmother = await add_identity(demo_db, family.id, "555001", channel="telegram")
    await add_identity(demo_db, family.id, "555002", channel="telegram", opted_out=True)
    await add_identity(demo_db, family.id, "555003", channel="telegram", unreachable=True)
    await add_identity(demo_db, family.id, "555004", channel="telegram", consent=None)
    await add_identity(demo_db, None, "kader-x", role="kader", posyandu_id=family.posyandu_id)
    await make_family(demo_db, identity_address="tetangga", name="Tetangga", members=(("Made Tetangga", "M", date(1990, 1, 1)),))
    new, told = await open_for(demo_db, settings, "Putu Adi", [("stunting", {"lhfa": -3.1}), ("underweight", None)], by="kader-x")
    assert len(new) == 2 and told == 3
    # a birth the family records itself (BBLR): the chat recording it is not sent the notice
    new_lbw, told_lbw = await open_for(demo_db, settings, "Kadek Kecil", [("lbw", {"birth_weight_g": 2300})], by="ibu-1")
    assert len(new_lbw) == 1 and told_lbw == 2
    async with demo_db.read() as session:
        rows = (await session.scalars(select(Outbox).order_by(Outbox.id))).all()
        puskesmas = (await session.scalars(select(Puskesmas).where(Puskesmas.code == BULELENG))).one()
        referrals = (await session.scalars(select(Referral).order_by(Referral.id))).all()
        opened = (await session.scalars(select(AuditLog).where(AuditLog.action == "referral.opened"))).all()
    first = [r for r in rows if r.key.startswith(f"referral:{new[0]}:")]
    second = [r for r in rows if r.key.startswith(f"referral:{new_lbw[0]}:")]
    assert len(rows) == 5 and {r.identity_id for r in first} == {mother, father, grandmother}
    assert {r.identity_id for r in second} == {father, grandmother}
    assert {r.kind for r in rows} == {"referral"} and {r.state for r in rows} == {"pending"}
    assert all(r.timezone == "Asia/Makassar" and r.expires_at == DEFAULT_NOW + timedelta(days=3) for r in rows)
    body = {r.identity_id: r.body for r in first}
    assert body[father]["lang"] == "en" and body[mother]["lang"] == "id"
    for row in rows:
        assert puskesmas.name in row.body["text"] and "{" not in row.body["text"]
    assert "Putu Adi" in body[mother]["text"] and "pendek" in body[mother]["text"]
    assert [(r.reason, r.status, r.opened_on, r.posyandu_id) for r in referrals] == [
        ("stunting", "open", TODAY, family.posyandu_id), ("underweight", "open", TODAY, family.posyandu_id),
        ("lbw", "open", TODAY, family.posyandu_id)]
    assert referrals[0].detail == {"lhfa": -3.1} and referrals[1].detail is None
    assert len(opened) == 3 and all(set(a.detail) == {"person", "reason"} for a in opened)


async def test_a_reason_still_followed_is_not_opened_twice(demo_db, settings):
    await referred_family(demo_db, settings, reason="2T")
    kader = "kader-of-" + MAWAR
    async with demo_db.write() as session:
        await session.execute(update(Referral).values(status="not_found"))
    assert await open_for(demo_db, settings, "Putu Adi", [("2T", None)], by=kader) == ([], 0)
    new, _told = await open_for(demo_db, settings, "Putu Adi", [("2T", None), ("wasting", None), ("wasting", None)], by=kader)
    assert len(new) == 1
    async with demo_db.write() as session:
        await session.execute(update(Referral).where(Referral.reason == "2T").values(status="treated"))
    new, _told = await open_for(demo_db, settings, "Putu Adi", [("2T", None)], by=kader)
    assert len(new) == 1  # treated, and 2T again later: a new referral
    with pytest.raises(ValueError):
        await open_for(demo_db, settings, "Putu Adi", [("flu", None)], by=kader)


PUSKESMAS = Puskesmas(name="Puskesmas Buleleng III")


def _person(**kw) -> Person:
    return Person(name=kw.pop("name", "Putu Adi"), sex=kw.pop("sex", "M"), **kw)


def _referrals(*reasons: str) -> list[Referral]:
    return [Referral(reason=r) for r in reasons]


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_the_notice_names_who_why_where_and_how_soon_in_plain_words(reason):
    with use_locale("id"):
        text = family_notice(_person(birth_date=date(2025, 9, 14)), PUSKESMAS, _referrals(reason), TODAY)
        plain = _(REASONS[reason][1])
    assert text.startswith("Bapak/Ibu,") and "Putu Adi" in text and "Puskesmas Buleleng III" in text and plain in text
    assert ("hari ini juga" in text) == (reason == "danger")
    assert (f"dalam {FOLLOW_UP_DAYS} hari" in text) == (reason != "danger")
    assert "{" not in text and "rujuk" not in text.lower()  # no jargon: where to go and why
    assert "Terima kasih" in text


@pytest.mark.parametrize(("person", "reason", "kia"), [
    (_person(birth_date=date(2025, 9, 14)), "danger", True),  # a child
    (_person(sex="F", birth_date=date(1995, 4, 2), hpht=date(2026, 6, 1)), "hypertension", True),  # pregnant
    (_person(sex="F", birth_date=date(1995, 4, 2), hpht=date(2026, 1, 1), delivered_on=date(2026, 11, 1)), "danger", True),  # nifas
    (_person(sex="F", birth_date=date(1995, 4, 2)), "kek", True),  # KEK is a mother's reason
    (_person(sex="M", birth_date=date(1960, 1, 1)), "hypertension", False),
    (_person(sex="F", birth_date=date(1950, 1, 1)), "skilas", False),
    (_person(sex="M", birth_date=date(2019, 1, 1)), "danger", False),  # seven years old
])
def test_the_buku_kia_is_asked_for_only_for_mothers_and_children(person, reason, kia):
    assert uses_kia(person, _referrals(reason), TODAY) is kia
    with use_locale("id"):
        text = family_notice(person, PUSKESMAS, _referrals(reason), TODAY)
    assert ("Buku KIA" in text) is kia and "BPJS Kesehatan/KIS" in text


def test_the_notice_in_english_is_the_catalogues_text():
    referrals = _referrals("stunting", "danger")
    with use_locale("en"):
        text = family_notice(_person(birth_date=date(2025, 9, 14)), PUSKESMAS, referrals, TODAY)
        expected = _(
            "Bapak/Ibu, dari pemeriksaan {name}: {why}.\n"
            "{name} perlu diperiksa lebih lanjut di {puskesmas}. {when} {bring}\n"
            "Kader posyandu akan menanyakan kabarnya. Terima kasih.",
            name="Putu Adi", why="; ".join(_(REASONS[r][1]) for r in ("stunting", "danger")), puskesmas=PUSKESMAS.name,
            when=_("Mohon segera, hari ini juga."), bring=_("Bawa Buku KIA dan kartu BPJS Kesehatan/KIS bila ada."))
    assert text == expected


async def test_the_dispatcher_sends_the_notice_as_a_referral_message(demo_db, settings, clock):
    family = await make_family(demo_db, identity_address="ibu-1")
    await add_identity(demo_db, None, "kader-x", role="kader", posyandu_id=family.posyandu_id)
    await open_for(demo_db, settings, "Putu Adi", [("2T", {"weight_kg": 8.2})], by="kader-x")
    sent: list[tuple[str, Reply]] = []

    async def local(address: str, reply: Reply) -> str:
        sent.append((address, reply))
        return f"local-{len(sent)}"

    stats = await Dispatcher(demo_db, {"local": local}, clock=clock, rates={"local": None}, per_chat_interval=0).run_once()
    assert stats.sent == 1
    ((address, reply),) = sent
    assert address == "ibu-1" and reply.kind == "referral" and reply.language == "id"
    assert "Putu Adi" in reply.text and "Puskesmas Buleleng III" in reply.text
    async with demo_db.read() as session:
        assert (await session.scalars(select(Outbox.state))).all() == ["sent"]


@pytest.mark.parametrize(("detail", "words"), [
    (None, ""),
    ({}, ""),
    ({"weight_kg": 8.2}, "BB 8,2 kg"),
    ({"weight_kg": 8.25, "length_cm": 71.0, "measured": "l", "lhfa": -3.126}, "BB 8,25 kg \u00b7 PB 71 cm \u00b7 PB/U -3,13"),
    ({"length_cm": 95.5, "measured": "h", "wflh": -2.5}, "TB 95,5 cm \u00b7 BB/TB -2,50"),
    ({"muac_cm": 22}, "LILA 22 cm"),
    ({"sbp": 160, "dbp": 110}, "TD 160/110"),
    ({"birth_weight_g": 2300, "weeks": 35}, "berat lahir 2.300 g \u00b7 35 minggu"),
    ({"signs": ["demam tinggi", "kejang"]}, "signs demam tinggi, kejang"),
    ({"sbp": 160}, ""),  # half a blood pressure is not shown as one
    ({"weight_kg": True}, ""),  # not a number
])
def test_the_values_behind_a_referral_in_words(detail, words):
    with use_locale("id"):
        assert detail_text(detail) == words


def test_the_values_in_english_use_english_numbers():
    with use_locale("en"):
        assert "8.2" in detail_text({"weight_kg": 8.2}) and "BB/TB -2.50" not in detail_text({"wflh": -2.5, "measured": "l"})


# -- /rujukan --------------------------------------------------------------------------------------

async def test_staff_see_their_puskesmas_oldest_first_and_record_what_happened(engine, demo_db, settings):
    await referred_family(demo_db, settings, village=MELATI, name="Melati", child="Bayu Melati", opened=date(2026, 11, 2))
    await referred_family(demo_db, settings, village=MAWAR, name="Mawar", child="Adi Mawar", opened=date(2026, 11, 9),
                          reason="stunting", detail={"length_cm": 70.1, "measured": "l", "lhfa": -3.2})
    await referred_family(demo_db, settings, village=ANGGREK, name="Lampung", child="Gede Lampung", opened=date(2026, 10, 1))
    chat = await staff_chat(engine, demo_db)
    await chat.say("/rujukan")
    assert "Gede Lampung" not in chat.text and not any("Gede" in label for label in chat.labels)
    assert chat.text.index("Bayu Melati") < chat.text.index("Adi Mawar")  # oldest first
    assert chat.labels == ["1. Bayu Melati", "2. Adi Mawar", "Selesai"]
    line = next(line for line in chat.text.splitlines() if "Adi Mawar" in line)
    assert "Banjar Kelod, RT 001" in line and "Posyandu Mawar" in line and "Stunting (pendek): PB 70,1 cm" in line
    assert "PB/U -3,20" in line and line.endswith("dirujuk 14 hari lalu")
    await chat.press("2. Adi Mawar")
    assert "Alasan: Stunting (pendek)" in chat.text and "Dirujuk: 9 Nov 2026 (14 hari lalu)" in chat.text
    assert "Keluarga Mawar (K-" in chat.text
    assert chat.labels == ["Datang", "Ditangani", "Dirujuk lanjut", "Tidak ditemukan", "Kembali"]
    await chat.press("Ditangani")
    assert "catatan singkat" in chat.text
    await chat.say("Diberi PMT dan   konseling gizi  ")
    assert "Tersimpan: Adi Mawar, Stunting (pendek): Ditangani." in chat.text
    assert "Adi Mawar" not in chat.text.split("Rujukan yang belum selesai")[1] and chat.labels == ["1. Bayu Melati", "Selesai"]
    async with demo_db.read() as session:
        referral = (await session.scalars(select(Referral).where(Referral.reason == "stunting"))).one()
        staff = await session.scalar(select(Identity.id).where(Identity.address == "staf-1"))
        audits = (await session.scalars(select(AuditLog).where(AuditLog.action == "referral.outcome"))).all()
        viewed = (await session.scalars(select(AuditLog).where(AuditLog.action == "referrals.viewed"))).all()
    assert (referral.status, referral.outcome_by, referral.outcome_at) == ("treated", staff, DEFAULT_NOW)
    assert referral.outcome_note == "Diberi PMT dan konseling gizi"
    assert len(audits) == 1 and audits[0].target_id == referral.id and audits[0].actor_id == staff
    assert audits[0].detail == {"outcome": "treated", "reason": "stunting", "days": 14, "note": True}
    assert [(v.target_type, v.actor_id) for v in viewed] == [("puskesmas", staff)]


async def test_a_kader_sees_only_their_posyandu_and_not_found_stays_on_the_home_visit_list(engine, demo_db, settings):
    await referred_family(demo_db, settings, village=MELATI, name="Melati", child="Bayu Melati", opened=date(2026, 11, 2))
    await referred_family(demo_db, settings, village=MAWAR, name="Mawar", child="Adi Mawar", opened=date(2026, 11, 20))
    chat = await kader_chat(engine, demo_db)
    await chat.say("/rujukan")
    assert "Bayu Melati" not in chat.text and "Adi Mawar" in chat.text and "Posyandu Mawar" not in chat.text
    await chat.say("1")
    await chat.press("Tidak ditemukan")
    await chat.press("Tanpa catatan")
    assert "Tersimpan: Adi Mawar" in chat.text and "/sasaran" in chat.text
    line = next(line for line in chat.text.splitlines() if line.startswith("1. Adi Mawar"))
    assert line.endswith("tidak ditemukan")  # still followed, now marked
    await chat.say("/sasaran")
    assert "dirujuk karena 2T (tidak naik dua kali) sejak 20 Nov, tidak ditemukan" in chat.text
    await chat.say("/rujukan")
    await chat.press("1.")
    assert "Kabar terakhir: tidak ditemukan" in chat.text
    await chat.press("Datang")
    await chat.say("datang ke pustu 25/11")
    async with demo_db.read() as session:
        referral = (await session.scalars(select(Referral).join(Person).where(Person.name == "Adi Mawar"))).one()
        outcomes = (await session.scalars(select(AuditLog.detail).where(AuditLog.action == "referral.outcome").order_by(AuditLog.id))).all()
    assert referral.status == "came" and referral.outcome_note == "datang ke pustu 25/11"
    assert [o["outcome"] for o in outcomes] == ["not_found", "came"]
    await chat.say("/sasaran")
    assert "dirujuk" not in chat.text


async def test_a_referral_of_another_posyandu_cannot_be_opened_by_a_forged_button(engine, demo_db, settings):
    await referred_family(demo_db, settings, village=MELATI, name="Melati", child="Bayu Melati")
    async with demo_db.read() as session:
        other = await session.scalar(select(Referral.id))
    chat = await kader_chat(engine, demo_db)
    await chat.say("/rujukan")
    assert "Tidak ada rujukan" in chat.text
    version = chat.button("Selesai").split(".")[0]
    await chat.send(Incoming(chat.channel, chat.address, message_id="forged-1", choice=f"{version}.r{other}"))
    assert "Pilih nomor rujukan dari daftar" in chat.text and "Bayu Melati" not in chat.text


@pytest.mark.parametrize("role", ["family", "anon", "kader-without-posyandu"])
async def test_rujukan_is_for_staff_and_kaders(engine, demo_db, settings, role):
    await referred_family(demo_db, settings)
    chat = ChatDriver(engine, address=f"{role}-1")
    if role == "family":
        await make_family(demo_db, identity_address=chat.address, name="Lain")
    elif role == "kader-without-posyandu":
        await add_identity(demo_db, None, chat.address, role="kader")
    await chat.say("/rujukan")
    assert "Putu Adi" not in chat.text
    expected = "Apakah Bapak/Ibu setuju" if role == "anon" else "hanya untuk kader dan petugas puskesmas"
    assert expected in chat.text


async def test_bad_input_is_answered_and_loses_nothing(engine, demo_db, settings):
    await referred_family(demo_db, settings)
    chat = await kader_chat(engine, demo_db)
    await chat.say("/rujukan")
    await chat.say("siapa ya")
    assert "Pilih nomor rujukan dari daftar, atau Selesai." in chat.text and "1. Putu Adi" in chat.labels
    await chat.media("photo")
    assert "belum bisa membaca foto" in chat.text and "1. Putu Adi" in chat.labels
    await chat.say("putu")  # a word of the label
    assert "Alasan: 2T" in chat.text
    await chat.say("sembuh")
    assert "Pilih Datang, Ditangani, Dirujuk lanjut atau Tidak ditemukan." in chat.text and "Ditangani" in chat.labels
    await chat.say("dirujuk lanjut")
    assert "Dirujuk lanjut." in chat.text
    await chat.media("voice")
    assert "belum bisa membaca foto" in chat.text and "catatan singkat" in chat.text
    await chat.say("x" * 4000)
    assert "terlalu panjang (4000 karakter)" in chat.text and "catatan singkat" in chat.text
    await chat.say("y" * (MAX_NOTE + 1))
    assert f"Catatan terlalu panjang ({MAX_NOTE + 1} huruf, paling banyak {MAX_NOTE})." in chat.text
    async with demo_db.read() as session:
        assert await session.scalar(select(Referral.status)) == "open"  # nothing saved yet
    await chat.say("ke RSUD Buleleng")
    async with demo_db.read() as session:
        assert (await session.execute(select(Referral.status, Referral.outcome_note))).one() == ("referred_on", "ke RSUD Buleleng")


async def test_a_button_pressed_twice_records_once(engine, demo_db, settings):
    await referred_family(demo_db, settings)
    chat = await kader_chat(engine, demo_db)
    await chat.say("/rujukan")
    await chat.press("1.")
    outcome = chat.button("Datang")
    await chat.press("Datang")
    none = chat.button("Tanpa catatan")
    await chat.press("Tanpa catatan")
    for data in (outcome, none):
        await chat.send(Incoming(chat.channel, chat.address, message_id=f"again-{data}", choice=data))
        assert "Tombol itu sudah tidak berlaku" in chat.text and "Tidak ada rujukan" in chat.text
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "referral.outcome")) == 1
        assert await session.scalar(select(Referral.status)) == "came"


async def test_an_outcome_recorded_meanwhile_by_someone_else_is_not_overwritten(engine, demo_db, settings):
    await referred_family(demo_db, settings)
    kader = await kader_chat(engine, demo_db)
    staff = await staff_chat(engine, demo_db)
    for chat, outcome in ((kader, "Datang"), (staff, "Ditangani")):
        await chat.say("/rujukan")
        await chat.press("1.")
        await chat.press(outcome)
    await staff.press("Tanpa catatan")
    await kader.say("sudah datang kemarin")
    assert "Hasil rujukan Putu Adi sudah dicatat: Ditangani." in kader.text
    async with demo_db.read() as session:
        assert (await session.execute(select(Referral.status, Referral.outcome_note))).one() == ("treated", None)


async def test_the_list_is_paged(engine, demo_db, settings):
    for n in range(PAGE + 2):
        await referred_family(demo_db, settings, name=f"K{n}", child=f"Anak {n:02d}", opened=date(2026, 11, 1) + timedelta(days=n))
    chat = await staff_chat(engine, demo_db)
    await chat.say("/rujukan")
    assert "halaman 1 dari 2" in chat.text and len([label for label in chat.labels if label[0].isdigit()]) == PAGE
    assert "Sebelumnya" not in chat.labels and all(len(label) <= 20 for label in chat.labels)
    await chat.press("Berikutnya")
    assert "halaman 2 dari 2" in chat.text and chat.labels[:2] == [f"1. Anak {PAGE:02d}", f"2. Anak {PAGE + 1:02d}"]
    await chat.say("2")  # numbers are of this page
    assert f"Anak {PAGE + 1:02d} (" in chat.text and "Alasan" in chat.text
    await chat.press("Kembali")
    assert "halaman 2 dari 2" in chat.text
    await chat.press("Sebelumnya")
    assert "halaman 1 dari 2" in chat.text
    await chat.press("Selesai")
    assert "Apa yang ingin Bapak/Ibu lakukan" in chat.text


async def test_rujukan_in_english(engine, demo_db, settings):
    await referred_family(demo_db, settings, detail={"weight_kg": 8.2})
    chat = await staff_chat(engine, demo_db)
    await chat.say("/bahasa en")
    await chat.say("/rujukan")
    with use_locale("en"):
        heading = _("Rujukan yang belum selesai ({count}, terlama dulu), halaman {page} dari {pages}:", count=1, page=1, pages=1)
        why = reason_label("2T") + ": " + _("BB {value} kg", value=format_number(8.2, 2))
        days = n_("{n} hari", "{n} hari", 14)
        outcomes = [_(label) for label in OUTCOME_LABELS.values()]
    assert heading in chat.text and why in chat.text and "8.2" in chat.text and days in chat.text
    await chat.press("1.")
    assert chat.labels[:4] == outcomes
