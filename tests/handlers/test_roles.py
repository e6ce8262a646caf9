"""Roles (handlers.kader): joining as a kader or staff at the first message, what a join tells and records,
holding a family and a work role together, and role changes said out loud."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from content.i18n import _, use_locale
from db.models import AuditLog, ConsentRecord, Identity, Invite
from handlers.help import command_menu
from handlers.kader import ROLE_CONSENT_VERSIONS, role_data_text
from handlers.start import CONSENT_VERSION
from tests.helpers import (DEFAULT_NOW, ChatDriver, consent, identity_of, kader_of, link_through_kader, make_family, make_invite,
                           notices_to, press_notice)

CONSENT_QUESTION = "Apakah Bapak/Ibu setuju"


async def _consents(db, address: str) -> list[tuple[str, str]]:
    """(decision, version) of a chat's consent records, in order."""
    identity = await identity_of(db, address)
    async with db.read() as session:
        rows = await session.execute(select(ConsentRecord.decision, ConsentRecord.version)
                                     .where(ConsentRecord.identity_id == identity.id).order_by(ConsentRecord.id))
        return [tuple(row) for row in rows]


async def _invite(db, code: str) -> Invite:
    async with db.read() as session:
        return (await session.scalars(select(Invite).where(Invite.code == code))).one()


async def _actions(db) -> list[str]:
    async with db.read() as session:
        return list(await session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


@pytest.mark.parametrize("command, role, welcome, menu_label", [
    ("/kader", "kader", "Bapak/Ibu sekarang kader Posyandu Mawar", "Catat kunjungan"),
    ("/staf", "staff", "Bapak/Ibu sekarang petugas Puskesmas Buleleng III", "Laporan"),
])
async def test_a_join_works_as_the_first_message_of_a_new_chat(engine, demo_db, command, role, welcome, menu_label):
    code = await make_invite(demo_db, role)
    chat = ChatDriver(engine, address="new-1")
    await chat.say(f"{command} {code}")
    assert welcome in chat.text and CONSENT_QUESTION not in chat.text
    assert role_data_text() in chat.text  # what is stored, and that what they do is recorded in their name
    assert menu_label in chat.labels  # the role's menu at once
    with use_locale("id"):
        assert chat.replies[-1].commands == command_menu(role)  # the channel updates this chat's command menu
    identity = await identity_of(demo_db, "new-1")
    assert (identity.role, identity.consent, identity.consent_version) == (role, "given", ROLE_CONSENT_VERSIONS[role])
    assert identity.family_id is None
    assert await _consents(demo_db, "new-1") == [("given", ROLE_CONSENT_VERSIONS[role])]
    invite = await _invite(demo_db, code)
    assert invite.used_by == identity.id and invite.used_at is not None
    assert f"{role}.joined" in await _actions(demo_db)
    await chat.say("halo")  # served as a kader or staff member from now on, never sent to the family consent
    assert CONSENT_QUESTION not in chat.text and menu_label in chat.labels


async def test_a_join_in_english_tells_the_role_in_english(engine, demo_db):
    async with demo_db.write() as session:  # a new chat whose client speaks English
        session.add(Identity(channel="local", address="en-1", language="en", role="family", created_at=DEFAULT_NOW))
    code = await make_invite(demo_db, "kader")
    chat = ChatDriver(engine, address="en-1")
    await chat.say(f"/kader {code}")
    with use_locale("en"):
        assert role_data_text() in chat.text
        assert _("Selamat bergabung! Bapak/Ibu sekarang kader {posyandu} (Desa {village}). Sebagai kader, "
                 "Bapak/Ibu mendaftarkan keluarga, mencatat kunjungan dan rujukan, dan melihat sasaran posyandu ini.",
                 posyandu="Posyandu Mawar", village="Nagasepaha") in chat.text
        assert _("Catat kunjungan") in chat.labels
        assert chat.replies[-1].commands == command_menu("kader")
    assert await _consents(demo_db, "en-1") == [("given", ROLE_CONSENT_VERSIONS["kader"])]


@pytest.mark.parametrize("text, hint", [
    ("/kader NOSUCHCD", "Kode undangan itu tidak berlaku. Mintalah kode baru ke bidan atau puskesmas."),
    ("/staf 2345ABCD", "Kode undangan itu tidak berlaku. Mintalah kode baru ke bidan atau puskesmas."),
    ("/kader", "Ketik /kader diikuti kode undangan dari puskesmas, misalnya: /kader 7QX2MA4K"),
    ("/gabung K-ZZZZZZ", "Kode keluarga itu tidak ditemukan. Periksa kode dari kader, misalnya: /gabung K-7QX2MA4KPZ"),
])
async def test_a_wrong_code_as_the_first_message_says_so_and_how_to_get_one(engine, demo_db, text, hint):
    chat = ChatDriver(engine, address="wrong-1")
    await chat.say(text)
    with use_locale("id"):
        assert chat.text == _(hint)  # the hint alone: no family consent text in front of a volunteer
    identity = await identity_of(demo_db, "wrong-1")
    assert identity.consent is None and identity.role == "family"
    await chat.say("halo")  # anything else is the first contact, as before
    assert CONSENT_QUESTION in chat.text


async def test_a_join_at_the_family_consent_question_leaves_it(engine, demo_db):
    code = await make_invite(demo_db, "kader")
    chat = ChatDriver(engine, address="new-2")
    await chat.say("halo")
    assert CONSENT_QUESTION in chat.text
    await chat.say(f"/kader {code}")
    assert "Bapak/Ibu sekarang kader Posyandu Mawar" in chat.text
    assert CONSENT_QUESTION not in chat.text and "Catat kunjungan" in chat.labels


async def test_a_code_sent_with_the_other_command_is_kept_for_the_right_one(engine, demo_db):
    code = await make_invite(demo_db, "staff")
    chat = ChatDriver(engine, address="new-3")
    await chat.say(f"/kader {code}")
    assert f"Kirim: /staf {code}" in chat.text
    assert (await _invite(demo_db, code)).used_at is None
    await chat.say(f"/staf {code}")
    assert "Bapak/Ibu sekarang petugas Puskesmas Buleleng III" in chat.text


async def test_an_invite_is_used_once(engine, demo_db):
    code = await make_invite(demo_db, "kader")
    first, second = ChatDriver(engine, address="a-1"), ChatDriver(engine, address="b-1")
    await first.say(f"/kader {code}")
    await second.say(f"/kader {code}")
    assert "Bapak/Ibu sekarang kader" in first.text and "tidak berlaku" in second.text
    assert (await identity_of(demo_db, "b-1")).role == "family"


async def test_a_kader_with_a_family_keeps_both(engine, demo_db):
    family = await make_family(demo_db, identity_address="both-1")
    code = await make_invite(demo_db, "kader")
    chat = ChatDriver(engine, address="both-1")
    await chat.say(f"/kader {code}")
    assert "Bapak/Ibu sekarang kader Posyandu Mawar" in chat.text
    assert "Keluarga Bapak/Ibu tetap terhubung ke nomor ini" in chat.text
    identity = await identity_of(demo_db, "both-1")
    assert (identity.role, identity.family_id, identity.consent_version) == ("kader", family.id, CONSENT_VERSION)
    assert {"Catat kunjungan", "Jadwal", "Keluarga saya"} <= set(chat.labels)
    await chat.say("/jadwal")
    assert "Putu Adi" in chat.text  # the family's own schedule still works
    assert await _consents(demo_db, "both-1") == [("given", ROLE_CONSENT_VERSIONS["kader"])]  # the family consent stays as it was


async def test_a_kader_becoming_staff_is_told_and_asked_nothing(engine, demo_db):
    chat = ChatDriver(engine, address="change-1")
    await chat.say(f"/kader {await make_invite(demo_db, 'kader')}")
    await chat.say(f"/staf {await make_invite(demo_db, 'staff')}")
    assert "Bapak/Ibu tidak lagi kader Posyandu Mawar. Untuk kembali, mintalah kode baru ke puskesmas." in chat.text
    assert "Bapak/Ibu sekarang petugas Puskesmas Buleleng III" in chat.text
    assert "Laporan" in chat.labels and "Catat kunjungan" not in chat.labels
    with use_locale("id"):
        assert chat.replies[-1].commands == command_menu("staff")
    identity = await identity_of(demo_db, "change-1")
    assert (identity.role, identity.posyandu_id, identity.puskesmas_id is not None) == ("staff", None, True)
    await chat.say("/kunjungan")
    assert "Hanya kader" in chat.text or "hanya untuk kader" in chat.text
    assert await _consents(demo_db, "change-1") == [("given", ROLE_CONSENT_VERSIONS["kader"]), ("given", ROLE_CONSENT_VERSIONS["staff"])]
    assert [a for a in await _actions(demo_db) if a.endswith(".joined")] == ["kader.joined", "staff.joined"]


async def test_staff_becoming_a_kader_is_told(engine, demo_db):
    chat = ChatDriver(engine, address="change-2")
    await chat.say(f"/staf {await make_invite(demo_db, 'staff')}")
    await chat.say(f"/kader {await make_invite(demo_db, 'kader', village_code='51.08.06.2016')}")
    assert "Bapak/Ibu tidak lagi petugas Puskesmas Buleleng III." in chat.text
    assert "Bapak/Ibu sekarang kader Posyandu Melati" in chat.text
    identity = await identity_of(demo_db, "change-2")
    assert (identity.role, identity.puskesmas_id, identity.posyandu_id is not None) == ("kader", None, True)
    await chat.say("/laporan")
    assert "Perintah ini untuk petugas puskesmas." in chat.text


async def test_a_kader_moving_to_another_posyandu_is_told(engine, demo_db):
    chat = ChatDriver(engine, address="move-1")
    await chat.say(f"/kader {await make_invite(demo_db, 'kader')}")
    await chat.say(f"/kader {await make_invite(demo_db, 'kader', village_code='51.08.06.2018')}")
    assert "Bapak/Ibu tidak lagi kader Posyandu Mawar." in chat.text and "Bapak/Ibu sekarang kader Posyandu Kenanga" in chat.text


async def test_a_code_for_the_role_already_held_changes_nothing(engine, demo_db):
    chat = ChatDriver(engine, address="same-1")
    await chat.say(f"/kader {await make_invite(demo_db, 'kader')}")
    again = await make_invite(demo_db, "kader")
    await chat.say(f"/kader {again}")
    assert "Bapak/Ibu sudah kader Posyandu Mawar. Tidak ada yang berubah." in chat.text
    assert chat.replies[-1].commands is None  # the menu did not change
    assert (await _invite(demo_db, again)).used_at is None  # still good for another kader of that posyandu
    assert len(await _consents(demo_db, "same-1")) == 1


async def test_a_kader_registering_their_own_family_is_asked_the_family_consent_first(engine, demo_db):
    chat = ChatDriver(engine, address="own-1")
    await chat.say(f"/kader {await make_invite(demo_db, 'kader')}")
    await chat.press("Keluarga saya")  # their own (not "Tambah keluarga": another family of their posyandu)
    assert "Sebelum mendaftarkan keluarga Bapak/Ibu sendiri" in chat.text and CONSENT_QUESTION in chat.text
    await chat.press("Ya")
    assert "Di desa/kelurahan mana Bapak/Ibu tinggal" in chat.text and "Pilih bahasa" not in chat.text
    identity = await identity_of(demo_db, "own-1")
    assert (identity.role, identity.consent, identity.consent_version) == ("kader", "given", CONSENT_VERSION)
    assert await _consents(demo_db, "own-1") == [("given", ROLE_CONSENT_VERSIONS["kader"]), ("given", CONSENT_VERSION)]


async def test_a_kader_saying_no_to_the_family_consent_stays_a_kader(engine, demo_db):
    chat = ChatDriver(engine, address="own-2")
    await chat.say(f"/kader {await make_invite(demo_db, 'kader')}")
    await chat.say("/jadwal")  # a family command without a family: registering, so the family consent first
    assert CONSENT_QUESTION in chat.text
    await chat.press("Tidak")
    assert "peran Bapak/Ibu tetap seperti sebelumnya" in chat.text and "Catat kunjungan" in chat.labels
    identity = await identity_of(demo_db, "own-2")
    assert (identity.role, identity.consent, identity.consent_version) == ("kader", "given", ROLE_CONSENT_VERSIONS["kader"])
    assert await _consents(demo_db, "own-2") == [("given", ROLE_CONSENT_VERSIONS["kader"]), ("refused", CONSENT_VERSION)]
    await chat.say("/sasaran")
    assert "Sasaran" in chat.text or "sasaran" in chat.text


async def test_a_family_that_joins_as_staff_keeps_the_family_consent(engine, demo_db):
    chat = ChatDriver(engine, address="fam-staff")
    await consent(chat)
    await chat.say(f"/staf {await make_invite(demo_db, 'staff')}")
    identity = await identity_of(demo_db, "fam-staff")
    assert (identity.role, identity.consent_version) == ("staff", CONSENT_VERSION)
    await chat.press("Daftarkan keluarga")  # their family consent holds: straight to the registration
    assert "Di desa/kelurahan mana Bapak/Ibu tinggal" in chat.text and CONSENT_QUESTION not in chat.text


# -- /gabung: linking a chat to a family a kader registered -------------------------------------------


async def test_gabung_as_the_first_message_keeps_the_code_through_the_consent(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan")
    kader = await kader_of(engine, demo_db)
    chat = ChatDriver(engine, address="link-1")
    await chat.say(f"/gabung {family.code.lower().replace('-', '')}")
    assert f"Kode keluarga {family.code} diterima" in chat.text and CONSENT_QUESTION in chat.text
    assert "Komang Ariawan" not in chat.text  # the family is named only after the yes of its kader
    assert (await identity_of(demo_db, "link-1")).family_id is None
    await chat.say("apa ini?")  # an answer that is no choice: the question again, the code still kept
    await chat.press("Ya")
    await chat.press("Bahasa Indonesia")
    assert "Permintaan Bapak/Ibu sudah dikirim" in chat.text and "Komang Ariawan" not in chat.text
    assert "Di desa/kelurahan" not in chat.text
    await press_notice(kader, demo_db, "Izinkan")
    (told,) = [row for row in await notices_to(demo_db, "link-1") if "mengizinkan" in row.body["text"]]
    assert "Nomor ini sekarang terhubung" in told.body["text"] and "Komang Ariawan" in told.body["text"]
    assert "Jadwal" in [label for label, _data in told.body["choices"]]  # the menu with it
    identity = await identity_of(demo_db, "link-1")
    assert (identity.family_id, identity.consent, identity.consent_version) == (family.id, "given", CONSENT_VERSION)
    assert "family.linked" in await _actions(demo_db)


async def test_gabung_in_english_asks_right_after_the_consent(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan")
    kader = await kader_of(engine, demo_db)
    chat = ChatDriver(engine, address="link-2")
    await chat.say(f"/gabung {family.code}")
    await chat.press("English")
    with use_locale("en"):
        assert _("Ya, saya setuju") in chat.labels
        await chat.press(_("Ya, saya setuju"))
        assert _("Pilih bahasa:") not in chat.text
    await press_notice(kader, demo_db, "Izinkan")
    assert (await identity_of(demo_db, "link-2")).family_id == family.id
    (told,) = [row for row in await notices_to(demo_db, "link-2") if row.body.get("choices")]
    assert told.body["lang"] == "en"


async def test_gabung_then_no_links_nothing(engine, demo_db):
    family = await make_family(demo_db)
    chat = ChatDriver(engine, address="link-3")
    await chat.say(f"/gabung {family.code}")
    await chat.press("Tidak")
    identity = await identity_of(demo_db, "link-3")
    assert (identity.family_id, identity.consent) == (None, "refused")


async def test_gabung_sent_at_the_consent_question_is_kept_too(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan")
    kader = await kader_of(engine, demo_db)
    chat = ChatDriver(engine, address="link-4")
    await chat.say("halo")
    await chat.press("English")
    await chat.say(f"/gabung {family.code}")
    await chat.press("Yes")
    assert "Komang Ariawan" not in chat.text
    await press_notice(kader, demo_db, "Izinkan")
    assert (await identity_of(demo_db, "link-4")).family_id == family.id


async def test_a_kader_linking_to_a_family_gives_the_family_consent_first(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan", identity_address="link-5-wife")
    wife = ChatDriver(engine, address="link-5-wife")
    chat = ChatDriver(engine, address="link-5")
    await chat.say(f"/kader {await make_invite(demo_db, 'kader')}")
    await chat.say(f"/gabung {family.code}")
    assert CONSENT_QUESTION in chat.text
    await chat.press("Ya")
    assert "Permintaan Bapak/Ibu sudah dikirim" in chat.text
    await press_notice(wife, demo_db, "Izinkan")  # the family's chat says yes (not the kader themselves)
    assert "sekarang terhubung ke keluarga Komang Ariawan" in wife.text
    identity = await identity_of(demo_db, "link-5")
    assert (identity.role, identity.family_id, identity.consent_version) == ("kader", family.id, CONSENT_VERSION)


async def test_a_family_gabung_waits_and_links_only_once(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan")
    chat = ChatDriver(engine, address="link-6")
    await consent(chat)
    await link_through_kader(chat, demo_db, family.code)
    await chat.say(f"/gabung {family.code}")
    assert "Nomor ini sudah terhubung ke sebuah keluarga." in chat.text


@pytest.mark.parametrize("between", ["/start", "/bahasa", "/menu"])
async def test_a_kept_family_code_survives_a_command_before_the_consent(engine, demo_db, between):
    family = await make_family(demo_db, name="Komang Ariawan")
    kader = await kader_of(engine, demo_db)
    chat = ChatDriver(engine, address=f"keep-{between[1:]}")
    await chat.say(f"/gabung {family.code}")
    await chat.say(between)
    assert CONSENT_QUESTION in chat.text
    await chat.press("English")
    await chat.press("Yes")
    await press_notice(kader, demo_db, "Izinkan")
    assert (await identity_of(demo_db, f"keep-{between[1:]}")).family_id == family.id
