"""The engine's promises: global words in every step, bad input answered, nothing lost, no trace."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update

from content.i18n import _, use_locale
from db.models import ConversationState, ErasureTally, Family, Identity, Person
from handlers.engine import match_choice
from handlers.flow import Question
from tests.helpers import (
    ChatDriver,
    add_member,
    consent,
    make_family,
    register_household,
)


async def _registered(engine) -> ChatDriver:
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Ni Made Sari", "Perempuan", "12-03-1996", pregnant="38 minggu")
    await chat.press("Tambah anggota")
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.press("Selesai")
    return chat


async def test_a_button_pressed_twice_is_answered_without_acting_twice(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    menu = chat.replies
    await chat.press("Tambah anggota", replies=menu)
    assert "Nama anggota keluarga" in chat.text
    await chat.press("Selesai", replies=menu)  # a stale button from the earlier message
    assert "tidak berlaku" in chat.text and "Nama anggota keluarga" in chat.text
    assert not any("Pendaftaran selesai" in reply.text for reply in chat.history)  # the stale Selesai did nothing


async def test_forged_button_data_is_treated_as_stale(engine):
    chat = ChatDriver(engine)
    await chat.say("/start")
    from channels.messages import Incoming

    await chat.send(Incoming("local", chat.address, message_id="x1", choice="garbage-without-version"))
    assert "tidak berlaku" in chat.text and "setuju" in chat.text


async def test_global_words_work_in_every_step(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.say("bantuan")
    assert "batal" in chat.text and "Jenis kelamin Ni Made Sari" in chat.text
    await chat.say("STOP")
    assert "Pengingat dihentikan" in chat.text and "Jenis kelamin Ni Made Sari" in chat.text
    async with demo_db.read() as session:
        assert (await session.scalar(select(Identity.opted_out_at))) is not None
    await chat.say("/mulai")
    assert "aktif kembali" in chat.text
    await chat.say("batal")
    assert "Dibatalkan" in chat.text and "Apa yang ingin Bapak/Ibu lakukan" in chat.text


async def test_language_switch_mid_flow_returns_to_the_same_question(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.say("/bahasa")
    await chat.press("English")
    assert "Jenis kelamin" not in chat.text
    assert chat.labels == ["Male", "Female"]
    await chat.say("/bahasa id")
    assert chat.labels == ["Laki-laki", "Perempuan"]


async def test_bad_input_gets_a_hint_and_the_question_again(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.media("photo")
    assert "foto" in chat.text and "Jenis kelamin" in chat.text
    await chat.media("sticker")
    assert "Jenis kelamin" in chat.text
    await chat.say("x" * 4000)
    assert "terlalu panjang" in chat.text and "Jenis kelamin" in chat.text
    await chat.say("/terbang")
    assert "/terbang tidak dikenal" in chat.text and "Jenis kelamin" in chat.text
    await chat.say("mungkin")
    assert "Pilih Laki-laki atau Perempuan" in chat.text
    await chat.say("/keluarga")
    assert "Selesaikan dulu" in chat.text
    await chat.press("Perempuan")
    assert "Tanggal lahir Ni Made Sari" in chat.text


async def test_every_reply_is_non_empty_for_odd_inputs(engine):
    chat = ChatDriver(engine)
    for text in ["", "   ", "🙂", "/", "/start@IlpBot", "1", "99", "<b>hi</b>", "'; DROP TABLE family; --"]:
        replies = await chat.say(text)
        assert replies and all(r.text.strip() for r in replies), text


async def test_birth_turns_pregnancy_into_nifas_and_a_baby(engine, demo_db, clock):
    chat = await _registered(engine)
    await chat.press("Catat kelahiran")
    await chat.press("Kemarin")
    await chat.press("Satu")
    await chat.press("Laki-laki")
    await chat.say("Gede Wira")
    await chat.say("3,1 kg")
    assert "Kelahiran tercatat" in chat.text
    assert "Ibu nifas hari ke-1" in chat.text
    assert "Gede Wira (Laki-laki, 1 hari): Bayi baru lahir\n" in chat.text + "\n"
    async with demo_db.read() as session:
        mother = (await session.scalars(select(Person).where(Person.name == "Ni Made Sari"))).one()
        baby = (await session.scalars(select(Person).where(Person.name == "Gede Wira"))).one()
    assert mother.delivered_on == date(2026, 11, 22) and baby.birth_date == date(2026, 11, 22)


async def test_birth_without_pregnancy_says_so(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.press("Selesai")
    await chat.say("/lahir")
    assert "tidak ada anggota keluarga yang tercatat sedang hamil" in chat.text.lower()


async def test_erase_leaves_only_anonymous_counts(engine, demo_db):
    chat = await _registered(engine)
    await chat.say("/hapus")
    assert "dihapus permanen" in chat.text
    await chat.press("Tidak")
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 2
    await chat.say("/hapus")
    await chat.press("Ya, hapus")
    assert "sudah dihapus" in chat.text
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 0
        assert await session.scalar(select(func.count()).select_from(Family)) == 0
        assert await session.scalar(select(func.count()).select_from(Identity)) == 0
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0
        tally = (await session.scalars(select(ErasureTally))).one()
    assert tally.members == 2 and tally.stages == {"ibu_hamil": 1, "dewasa": 1, "balita": 1}
    await chat.say("halo")
    assert "Apakah Bapak/Ibu setuju" in chat.text


async def test_family_menu_lists_members_with_stage(engine, demo_db):
    await make_family(demo_db, identity_address="628111")
    chat = ChatDriver(engine, address="628111")
    await chat.say("/keluarga")
    assert "Ni Luh Sari (Perempuan, 31 tahun): Usia dewasa" in chat.text
    assert "Putu Adi (Laki-laki, 1 thn 2 bln): Balita" in chat.text


async def test_a_family_cannot_touch_another_familys_member(engine, demo_db):
    other = await make_family(demo_db, name="Other Family")
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.press("Hapus anggota")
    async with demo_db.read() as session:
        stranger = (await session.scalars(select(Person).where(Person.family_id == other.id))).first()
    version = chat.button("Putu Ayu").split(".")[0]
    from channels.messages import Incoming

    await chat.send(Incoming("local", chat.address, message_id="forge1", choice=f"{version}.{stranger.id}"))
    assert "Pilih nama dari daftar" in chat.text
    async with demo_db.read() as session:
        assert await session.get(Person, stranger.id) is not None


async def test_today_is_the_puskesmas_local_date(demo_db, settings, clock):
    """At 23:30 WIB it is already tomorrow in Bali (WITA): ages follow the family's puskesmas."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from handlers.engine import Engine

    clock.now = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)  # 23:30 WIB, 00:30 WITA on the 24th
    await make_family(demo_db, identity_address="bali", members=(("Bayi Bali", "M", date(2026, 10, 24)),))
    await make_family(
        demo_db, village_code="18.10.01.2011", identity_address="lampung", members=(("Bayi Lampung", "M", date(2026, 10, 24)),)
    )
    engine = Engine(demo_db, settings, clock=clock)
    bali, lampung = ChatDriver(engine, address="bali"), ChatDriver(engine, address="lampung")
    await bali.say("/keluarga")
    await lampung.say("/keluarga")
    assert "Bayi Bali (Laki-laki, 1 bulan)" in bali.text
    assert "Bayi Lampung (Laki-laki, 30 hari)" in lampung.text
    # the configuration can move a puskesmas to another zone
    moved = replace(settings, timezone=replace(settings.timezone, puskesmas={"P1810010101": "Asia/Makassar"}))
    lampung = ChatDriver(Engine(demo_db, moved, clock=clock), address="lampung")
    await lampung.say("/keluarga")
    assert "Bayi Lampung (Laki-laki, 1 bulan)" in lampung.text


async def test_a_choice_can_be_typed_by_the_start_of_its_label(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.say("tambah")
    assert "Nama anggota keluarga" in chat.text


# -- answers as people write them (handlers.engine.match_choice) -------------------------------------

SEX = Question("Jenis kelamin?", (("Laki-laki", "M"), ("Perempuan", "F")))
CONSENT = Question("Setuju?", (("Ya, saya setuju", "yes"), ("Tidak", "no"), ("English", "lang_en")))
KIND = Question("Kehamilan?", (("Hari pertama haid terakhir (HPHT)", "hpht"), ("Perkiraan tanggal lahir (HPL)", "due"),
                              ("Usia kehamilan", "weeks")))
POSYANDU = Question("Posyandu?", (("Posyandu Mawar (Nagasepaha)", "1"), ("Posyandu Melati (Alasangker)", "2"),
                                  ("Cari desa lain", "again")))
CONFIRM = Question("Simpan?", (("Simpan", "save"), ("Tanda bahaya", "danger"), ("Batal", "cancel")))
SERVICES = Question("Layanan?", (("Kunjungan neonatal 2", "KN2"), ("Kunjungan nifas 2", "KF2"), ("Semua", "all"),
                                 ("Tidak ada", "none")))
PLACE = Question("Di mana?", (("Posyandu", "posyandu"), ("Kunjungan rumah", "home")))
DOSES = Question("Imunisasi?", (("DPT 1", "DPT_HB_HIB1"), ("DPT 2", "DPT_HB_HIB2"), ("Tidak ada", "none")))
FAMILIES = Question("Keluarga?", (("Wayan Sudarma (K-7QX2MA)", "7"), ("Komang Ariawan (K-7QX2MB)", "8")))


@pytest.mark.parametrize(("question", "typed", "value"), [
    (SEX, "P", "F"), (SEX, "l", "M"), (SEX, "perempuan", "F"), (SEX, "PEREMPUAN!", "F"), (SEX, "Laki laki", "M"),
    (SEX, "lakilaki", "M"), (SEX, "2", "F"), (SEX, "2.", "F"), (SEX, "nomor 2", "F"), (SEX, "yang kedua", "F"),
    (SEX, "prempuan", "F"), (SEX, "wanita", "F"), (SEX, "cowok", "M"), (SEX, "2 perempuan", "F"),
    (SEX, "  Perémpuan  ", "F"), (SEX, "female", "F"),
    (CONSENT, "ya", "yes"), (CONSENT, "Ya", "yes"), (CONSENT, "iya", "yes"), (CONSENT, "Iya.", "yes"), (CONSENT, "y", "yes"),
    (CONSENT, "ok", "yes"), (CONSENT, "oke deh", "yes"), (CONSENT, "setuju", "yes"), (CONSENT, "ya saya setuju", "yes"),
    (CONSENT, "yes", "yes"), (CONSENT, "tidak", "no"), (CONSENT, "gak", "no"), (CONSENT, "nggak", "no"),
    (CONSENT, "enggak", "no"), (CONSENT, "tidak setuju", "no"), (CONSENT, "no", "no"), (CONSENT, "n", "no"),
    (CONSENT, "english", "lang_en"),
    (KIND, "hpht", "hpht"), (KIND, "HPHT", "hpht"), (KIND, "HPL", "due"), (KIND, "hpl", "due"), (KIND, "usia", "weeks"),
    (KIND, "3", "weeks"), (KIND, "perkiraan", "due"),
    (POSYANDU, "mawar", "1"), (POSYANDU, "Mawar", "1"), (POSYANDU, "melati", "2"), (POSYANDU, "alasangker", "2"),
    (POSYANDU, "nagasepha", "1"), (POSYANDU, "posyandu mawar", "1"), (POSYANDU, "mawar saja", "1"), (POSYANDU, "cari", "again"),
    (CONFIRM, "ya", "save"), (CONFIRM, "iya", "save"), (CONFIRM, "ok", "save"), (CONFIRM, "ya simpan", "save"),
    (CONFIRM, "simpan", "save"), (CONFIRM, "tidak", "cancel"), (CONFIRM, "tanda bahaya", "danger"), (CONFIRM, "bahaya", "danger"),
    (SERVICES, "nifas", "KF2"), (SERVICES, "neonatal", "KN2"), (SERVICES, "-", "none"), (SERVICES, "tidak", "none"),
    (SERVICES, "semua", "all"),
    (PLACE, "rumah", "home"), (PLACE, "P", "posyandu"), (PLACE, "K", "home"),
    (DOSES, "dpt1", "DPT_HB_HIB1"), (DOSES, "DPT 2", "DPT_HB_HIB2"),
    (FAMILIES, "sudarma", "7"), (FAMILIES, "K-7QX2MA", "7"),
])
def test_a_choice_is_picked_as_people_type_it(question, typed, value):
    assert match_choice(question, typed) == value


@pytest.mark.parametrize(("question", "typed"), [
    (CONFIRM, "tidak ada keluhan"),  # a note at the visit's confirmation, not "no"
    (CONFIRM, "anak demam sejak kemarin"),
    (CONFIRM, "ya tapi timbangan rusak"),
    (SERVICES, "1 2"),  # two numbers: the step reads them
    (SERVICES, "8,2"),
    (SERVICES, "2 semua"),
    (SEX, "mungkin"),
    (SEX, "\u1369"),  # a digit of another script
    (SEX, ""),
    (POSYANDU, "posyandu"),  # two posyandu
    (KIND, "20 minggu"),  # the age itself: the step reads it
    (FAMILIES, "K-7QX2MC"),  # a family code one letter off is another family
    (FAMILIES, "komang wayan"),
])
def test_text_that_names_no_choice_stays_the_steps_own(question, typed):
    assert match_choice(question, typed) is None


async def test_ya_iya_and_ok_give_consent(engine, demo_db):
    for n, word in enumerate(("ya", "Iya", "OK!")):
        chat = ChatDriver(engine, address=f"consent-{n}")
        await chat.say("/start")
        await chat.say(word)
        assert "Pilih bahasa" in chat.text, chat.text
        async with demo_db.read() as session:
            assert await session.scalar(select(Identity.consent).where(Identity.address == chat.address)) == "given"


async def test_a_refused_answer_at_a_choice_shows_what_is_accepted(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.say("mungkin")
    assert "ketik L atau P" in chat.text and "misalnya 1 untuk \u201cLaki-laki\u201d" in chat.text
    await chat.say("p")
    assert "Tanggal lahir Ni Made Sari" in chat.text


async def test_a_step_that_reads_typed_answers_keeps_its_own_hint(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.say("P")
    await chat.say("12-03-1996")
    await chat.say("iya")
    await chat.say("20 minggu")  # straight away, without pressing "Usia kehamilan"
    assert "Sudah berapa kali Ni Made Sari memeriksakan kehamilan" in chat.text
    await chat.say("banyak")
    assert "Ketik berapa kali" in chat.text and "nomor pilihannya" not in chat.text


async def test_the_hint_for_a_choice_in_english(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.say("/bahasa en")
    await chat.say("maybe")
    with use_locale("en"):
        expected = (_("Pilih Laki-laki atau Perempuan, atau ketik L atau P.") + "\n"
                    + _("Atau ketik nomor pilihannya, misalnya 1 untuk \u201c{label}\u201d.", label=_("Laki-laki")))
    assert expected in chat.text
    await chat.say("P")
    with use_locale("en"):
        assert _("Tanggal lahir {name}? Contoh: 12-03-2024 atau 12 Maret 2024", name="Ni Made Sari") in chat.text


async def test_control_characters_are_dropped(engine):
    chat = ChatDriver(engine)
    await consent(chat)
    await chat.say("Naga\x00sepaha")
    assert "Pilih posyandu" in chat.text
    await chat.press("Posyandu")
    await chat.say("Wayan")
    await chat.say("Banjar\x00Kaja")
    await chat.say("3/2")
    assert "Maaf" not in chat.text and "anggota keluarga pertama" in chat.text


async def test_a_step_removed_by_a_release_falls_back_to_the_menu(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    from db.models import ConversationState

    async with demo_db.write() as session:
        await session.execute(update(ConversationState).values(flow="family", step="no_such_step"))
    await chat.say("halo")
    assert "gangguan" not in chat.text and chat.labels
    async with demo_db.read() as session:
        assert await session.scalar(select(Person.name)) == "Putu Ayu"
