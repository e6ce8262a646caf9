"""Issue 15, point 1: a family code is no password. A chat with a family's code is linked only after a yes of
the family's chat (or, for a family with none, of its kader), or by the number the kader recorded on
WhatsApp; codes carry a check character; wrong codes are limited per chat and hour and audited; every chat
of the family is told of a new link (handlers.link)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from channels.messages import Incoming
from db.models import AuditLog, Family, Identity, LinkRequest
from content.family_codes import family_code_of, read_family_code
from reminders.dispatcher import Dispatcher
from tests.channels.whatsapp_world import WaChat, whatsapp_bot
from tests.helpers import (ChatDriver, consent, identity_of, kader_of, make_family, notices_to, press_notice)

MEMBERS = (("Ni Luh Sari", "F", date(1995, 4, 2)), ("Putu Adi", "M", date(2025, 9, 14)))


async def _audit(db, action: str) -> list[AuditLog]:
    async with db.read() as session:
        return list((await session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))).all())


async def _family(db, family_id: int) -> Family:
    async with db.read() as session:
        return await session.get(Family, family_id)


async def _requests(db) -> list[LinkRequest]:
    async with db.read() as session:
        return list((await session.scalars(select(LinkRequest).order_by(LinkRequest.id))).all())


async def _stranger_asks(engine, family, address: str = "stranger") -> ChatDriver:
    """A second chat, consented, sends the family's code."""
    stranger = ChatDriver(engine, address=address)
    await consent(stranger)
    await stranger.say(f"/gabung {family.code}")
    return stranger


# -- a family with a chat decides ---------------------------------------------------------------------


async def test_a_second_chat_with_the_code_of_a_registered_family_gets_no_data_and_the_family_is_asked(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan", members=MEMBERS, identity_address="mother")
    stranger = await _stranger_asks(engine, family)
    assert "Permintaan Bapak/Ibu sudah dikirim" in stranger.text
    for secret in ("Komang Ariawan", "Ni Luh Sari", "Putu Adi", "Banjar Kelod"):
        assert secret not in stranger.text
    assert (await identity_of(demo_db, "stranger")).family_id is None
    await stranger.say("/keluarga")  # nothing to show: no family of their own
    assert "Ni Luh Sari" not in stranger.text and "Putu Adi" not in stranger.text
    (asked,) = await notices_to(demo_db, "mother")
    assert "Komang Ariawan" in asked.body["text"] and [label for label, _ in asked.body["choices"]] == ["Izinkan", "Tolak"]
    assert asked.expires_at is not None and asked.state == "pending"
    (request,) = await _requests(demo_db)
    assert (request.state, request.asked, request.family_id) == ("pending", "family", family.id)
    assert await _audit(demo_db, "family.link_requested")


async def test_the_family_refuses_and_the_requester_is_told_without_details(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan", members=MEMBERS, identity_address="mother")
    await _stranger_asks(engine, family)
    mother = ChatDriver(engine, address="mother")
    await press_notice(mother, demo_db, "Tolak")
    assert "ditolak" in mother.text
    assert (await identity_of(demo_db, "stranger")).family_id is None
    (told,) = await notices_to(demo_db, "stranger")
    assert "tidak diizinkan" in told.body["text"]
    assert "Komang Ariawan" not in told.body["text"] and "Ni Luh Sari" not in told.body["text"]
    await press_notice(mother, demo_db, "Izinkan")  # a second press on the decided request
    assert "Permintaan ini sudah dijawab: ditolak." in mother.text
    assert (await identity_of(demo_db, "stranger")).family_id is None
    assert [r.state for r in await _requests(demo_db)] == ["refused"]
    assert await _audit(demo_db, "family.link_refused")


async def test_the_family_approves_the_requester_is_linked_with_the_menu_and_every_chat_is_told(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan", members=MEMBERS, identity_address="mother")
    async with demo_db.write() as session:  # the father's phone is linked too
        session.add(Identity(channel="local", address="father", language="id", role="family", family_id=family.id,
                             consent="given", consent_version="2026-11", created_at=family.created_at))
    stranger = await _stranger_asks(engine, family, "grandmother")
    assert len(await notices_to(demo_db, "father")) == 1  # every chat of the family is asked
    mother, father = ChatDriver(engine, address="mother"), ChatDriver(engine, address="father")
    await press_notice(mother, demo_db, "Izinkan")
    assert "sekarang terhubung ke keluarga Komang Ariawan" in mother.text
    assert (await identity_of(demo_db, "grandmother")).family_id == family.id
    (told,) = await notices_to(demo_db, "grandmother")
    assert "Keluarga Komang Ariawan mengizinkan" in told.body["text"]
    await stranger.press("Keluarga saya", [_reply(told)])  # the menu that came with it works as it is
    assert "Ni Luh Sari" in stranger.text and "Putu Adi" in stranger.text
    father_notices = await notices_to(demo_db, "father")
    assert any("Nomor baru terhubung ke keluarga Bapak/Ibu" in n.body["text"] for n in father_notices)
    await press_notice(father, demo_db, "Tolak")  # the father answers later: the first answer decided
    assert "Permintaan ini sudah dijawab: diizinkan." in father.text
    assert (await identity_of(demo_db, "grandmother")).family_id == family.id
    linked = await _audit(demo_db, "family.linked")
    assert linked and linked[-1].detail["by"] == "approval"


def _reply(row):
    """An outbox notice as the chat received it (its buttons)."""
    from reminders.dispatcher import reply_of

    return reply_of(row.body)


async def test_a_request_lapses_after_48_hours(engine, demo_db, clock):
    family = await make_family(demo_db, members=MEMBERS, identity_address="mother")
    await _stranger_asks(engine, family)
    (asked,) = await notices_to(demo_db, "mother")
    assert (asked.expires_at - clock.now).total_seconds() == 48 * 3600  # never sent after the request lapsed
    clock.advance(hours=49)
    mother = ChatDriver(engine, address="mother")
    await press_notice(mother, demo_db, "Izinkan")
    assert "Permintaan ini sudah tidak berlaku." in mother.text
    assert (await identity_of(demo_db, "stranger")).family_id is None
    assert [r.state for r in await _requests(demo_db)] == ["expired"]


async def test_a_chat_not_of_the_family_cannot_decide(engine, demo_db):
    family = await make_family(demo_db, members=MEMBERS, identity_address="mother")
    await _stranger_asks(engine, family)
    (request,) = await _requests(demo_db)
    accomplice = ChatDriver(engine, address="accomplice")
    await consent(accomplice)
    await accomplice.say(f"/izinkan {request.id}")
    assert "Tidak ada permintaan itu untuk Bapak/Ibu." in accomplice.text
    assert (await identity_of(demo_db, "stranger")).family_id is None
    assert await _audit(demo_db, "family.link_decision_refused")


async def test_asking_again_while_waiting_does_not_ask_the_family_twice(engine, demo_db):
    family = await make_family(demo_db, members=MEMBERS, identity_address="mother")
    stranger = await _stranger_asks(engine, family)
    await stranger.say(f"/gabung {family.code}")
    assert "masih menunggu jawaban" in stranger.text
    assert len(await notices_to(demo_db, "mother")) == 1


# -- a family with no chat: its kader decides -----------------------------------------------------------


async def test_a_family_a_kader_registered_is_linked_after_the_kaders_yes(engine, demo_db):
    family = await make_family(demo_db, name="Komang Wirata", members=MEMBERS)
    kader = await kader_of(engine, demo_db)
    mother = await _stranger_asks(engine, family, "mother")
    assert "Komang Wirata" not in mother.text and (await identity_of(demo_db, "mother")).family_id is None
    (asked,) = await notices_to(demo_db, "kader-link")
    assert "Komang Wirata" in asked.body["text"] and family.code in asked.body["text"]
    assert "belum punya nomor" in asked.body["text"]
    outsider = await kader_of(engine, demo_db, "kader-other", village_code="51.08.06.2011")  # another posyandu's kader
    await outsider.say("/izinkan")
    assert "Tidak ada permintaan yang menunggu jawaban Bapak/Ibu." in outsider.text
    await press_notice(kader, demo_db, "Izinkan")
    assert "sekarang terhubung ke keluarga Komang Wirata" in kader.text
    assert (await identity_of(demo_db, "mother")).family_id == family.id
    (request,) = await _requests(demo_db)
    assert (request.asked, request.state, request.decided_by) == ("kader", "approved", (await identity_of(demo_db, "kader-link")).id)


async def test_a_family_with_no_chat_and_no_kader_on_the_bot_waits_for_nobody(engine, demo_db):
    family = await make_family(demo_db, members=MEMBERS)
    chat = await _stranger_asks(engine, family, "mother")
    assert "Silakan datang ke posyandu atau hubungi kader posyandu" in chat.text
    assert (await identity_of(demo_db, "mother")).family_id is None and not await _requests(demo_db)


# -- the number the kader recorded (WhatsApp vouches for it) ------------------------------------------


async def test_the_recorded_number_on_whatsapp_links_at_once_and_the_family_is_told(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan", members=MEMBERS, identity_address="mother")
    async with demo_db.write() as session:
        (await session.get(Family, family.id)).phone = "6281234567890"
    father = ChatDriver(engine, address="6281234567890", channel="whatsapp", phone="6281234567890")
    await consent(father)  # the number writes: linked after the consent, no code needed (handlers.register)
    assert "Kader posyandu sudah mendaftarkan keluarga Komang Ariawan dengan nomor ini" in father.text
    assert (await identity_of(demo_db, "6281234567890", "whatsapp")).family_id == family.id
    (told,) = await notices_to(demo_db, "mother")
    assert "Nomor baru terhubung ke keluarga Bapak/Ibu" in told.body["text"] and "berakhiran 7890" in told.body["text"]
    assert "6281234567890" not in told.body["text"]
    linked = await _audit(demo_db, "family.linked")
    assert linked[-1].detail["by"] == "phone"


async def test_the_recorded_number_with_the_code_links_at_once(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan", members=MEMBERS, identity_address="mother")
    async with demo_db.write() as session:
        (await session.get(Family, family.id)).phone = "6281234567890"
    father = ChatDriver(engine, address="6281234567890", channel="whatsapp", phone="6281234567890")
    await father.say(f"/gabung {family.code}")  # the code first: kept through the consent
    await father.press("Ya")
    await father.press("Bahasa Indonesia")
    assert "Nomor ini sekarang terhubung ke keluarga Komang Ariawan" in father.text
    assert (await identity_of(demo_db, "6281234567890", "whatsapp")).family_id == family.id
    assert len(await notices_to(demo_db, "mother")) == 1 and not await _requests(demo_db)


async def test_another_number_on_whatsapp_is_asked_like_any_other(engine, demo_db):
    family = await make_family(demo_db, members=MEMBERS, identity_address="mother")
    async with demo_db.write() as session:
        (await session.get(Family, family.id)).phone = "6281234567890"
    other = ChatDriver(engine, address="6289999999999", channel="whatsapp", phone="6289999999999")
    await consent(other)
    await other.say(f"/gabung {family.code}")
    assert "Permintaan Bapak/Ibu sudah dikirim" in other.text
    assert (await identity_of(demo_db, "6289999999999", "whatsapp")).family_id is None


async def test_over_whatsapp_the_family_answers_with_the_button_the_dispatcher_sent(demo_db, settings, clock):
    family = await make_family(demo_db, name="Komang Ariawan", members=MEMBERS)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        mother = WaChat(bot, "6281234500201", clock)
        async with demo_db.write() as session:
            session.add(Identity(channel="whatsapp", address=mother.wa_id, phone=mother.wa_id, language="id", role="family",
                                 family_id=family.id, consent="given", consent_version="2026-11", created_at=clock.now))
        await mother.say("/jadwal")  # the family wrote today: its reply window is open
        father = WaChat(bot, "6281234500202", clock)
        await father.say("/start")
        await father.press("Ya")
        await father.press("Bahasa Indonesia")
        await father.say(f"/gabung {family.code.lower()}")
        assert "Permintaan Bapak/Ibu sudah dikirim" in father.text and "Komang Ariawan" not in father.text
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None},
                                per_chat_interval=0)
        assert (await dispatcher.run_once()).sent == 1
        mother.messages = bot.graph.messages_to(mother.wa_id)[-1:]
        assert "Komang Ariawan" in mother.text and mother.labels == ["Izinkan", "Tolak"]
        await mother.press("Izinkan")
        assert "sekarang terhubung" in mother.text
        assert (await dispatcher.run_once()).sent == 1
        father.messages = bot.graph.messages_to(father.wa_id)[-1:]
        assert "Keluarga Komang Ariawan mengizinkan" in father.text and "Jadwal" in father.labels
        assert not bot.graph.unexpected
    assert (await identity_of(demo_db, "6281234500202", "whatsapp")).family_id == family.id


# -- codes ----------------------------------------------------------------------------------------------


async def test_a_typo_is_told_apart_from_an_unknown_code(engine, demo_db):
    family = await make_family(demo_db, members=MEMBERS, identity_address="mother")
    chat = ChatDriver(engine, address="typo")
    await consent(chat)
    body = family.code[2:]
    slip = body[:3] + ("2" if body[3] != "2" else "3") + body[4:]
    await chat.say(f"/gabung K-{slip}")
    assert "Kode itu salah ketik: periksa lagi" in chat.text
    unknown = family_code_of("ZZZZZZZZZ")
    await chat.say(f"/gabung {unknown}")
    assert "Kode keluarga itu tidak ditemukan" in chat.text
    spaced = f"k {body[:4].lower()} {body[4:8].lower()}-{body[8:].lower()}"  # lowercase, spaces and dashes
    await chat.say(f"/gabung {spaced}")
    assert "Permintaan Bapak/Ibu sudah dikirim" in chat.text


async def test_five_wrong_codes_an_hour_then_a_refusal_until_the_hour_has_passed_all_audited(engine, demo_db, clock):
    family = await make_family(demo_db, members=MEMBERS, identity_address="mother")
    chat = ChatDriver(engine, address="guesser")
    await consent(chat)
    guesses = [family_code_of(f"{'ABCDEFGHJ'[i]}2345678A") for i in range(5)]
    for guess in guesses:
        await chat.say(f"/gabung {guess}")
        assert "tidak ditemukan" in chat.text
    clock.advance(minutes=10)
    await chat.say(f"/gabung {family.code}")  # even the right code: no lookup during the hour
    assert "Terlalu banyak kode yang salah" in chat.text and "51 menit" in chat.text
    assert not await notices_to(demo_db, "mother")
    refused = await _audit(demo_db, "family.link_refused_code")
    guesser = (await identity_of(demo_db, "guesser")).id
    assert len(refused) == 5 and {r.actor_id for r in refused} == {guesser}
    assert all(g not in str(r.detail) and g[2:] not in str(r.detail) for r in refused for g in guesses)  # no code kept
    assert len(await _audit(demo_db, "family.link_limited")) == 1
    await chat.say(f"/gabung {family.code}")
    assert len(await _audit(demo_db, "family.link_limited")) == 1  # said again, audited once
    clock.advance(minutes=51)
    await chat.say(f"/gabung {family.code}")
    assert "Permintaan Bapak/Ibu sudah dikirim" in chat.text


async def test_an_old_short_code_works_once_then_the_family_has_a_new_long_code(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan", members=MEMBERS, identity_address="mother", code="K-7QX2MA")
    await _stranger_asks(engine, family, "father")
    mother = ChatDriver(engine, address="mother")
    await press_notice(mother, demo_db, "Izinkan")
    assert (await identity_of(demo_db, "father")).family_id == family.id
    renewed = (await _family(demo_db, family.id)).code
    assert renewed != "K-7QX2MA" and read_family_code(renewed) == ("new", renewed)
    late = ChatDriver(engine, address="late")
    await consent(late)
    await late.say("/gabung K-7QX2MA")
    assert "Kode keluarga itu tidak ditemukan" in late.text
    await late.say(f"/gabung {renewed}")
    assert "Permintaan Bapak/Ibu sudah dikirim" in late.text
    assert await _audit(demo_db, "family.code_renewed")


# -- the number the kader recorded, sent on Telegram with "Kirim nomor saya" ----------------------------


async def test_on_telegram_the_recorded_number_sent_with_its_button_links_the_chat(engine, demo_db):
    family = await make_family(demo_db, name="Komang Ariawan", members=MEMBERS, identity_address="mother")
    async with demo_db.write() as session:
        (await session.get(Family, family.id)).phone = "6281234567890"
    father = ChatDriver(engine, address="5012345678", channel="telegram")
    await consent(father)
    (question,) = [r for r in father.replies if r.contact_button]
    assert question.contact_button == "Kirim nomor saya" and "Di desa/kelurahan mana" in question.text
    await father.send(Incoming("telegram", "5012345678", message_id="tg-contact", contact="+6281234567890",
                               phone="6281234567890", media="contact"))
    assert "Kader posyandu sudah mendaftarkan keluarga Komang Ariawan dengan nomor ini" in father.text
    identity = await identity_of(demo_db, "5012345678", "telegram")
    assert identity.family_id == family.id and identity.phone == "6281234567890"
    assert (await _audit(demo_db, "family.linked"))[-1].detail["by"] == "phone"


async def test_on_telegram_an_unknown_own_number_keeps_the_registration_going(engine, demo_db):
    chat = ChatDriver(engine, address="5012345679", channel="telegram")
    await consent(chat)
    await chat.send(Incoming("telegram", "5012345679", message_id="tg-contact-2", contact="6281200000001",
                             phone="6281200000001", media="contact"))
    assert "Belum ada keluarga yang didaftarkan dengan nomor ini" in chat.text and "Di desa/kelurahan mana" in chat.text
    assert (await identity_of(demo_db, "5012345679", "telegram")).family_id is None


async def test_another_persons_contact_card_is_not_taken_for_the_chats_own_number(engine, demo_db):
    family = await make_family(demo_db, members=MEMBERS)
    async with demo_db.write() as session:
        (await session.get(Family, family.id)).phone = "6281234567890"
    chat = ChatDriver(engine, address="6289999999999", channel="whatsapp", phone="6289999999999")
    await consent(chat)
    await chat.send(Incoming("whatsapp", "6289999999999", message_id="wa-card", contact="6281234567890",
                             phone="6289999999999", media="contact"))
    assert (await identity_of(demo_db, "6289999999999", "whatsapp")).family_id is None
    assert "Kader posyandu sudah mendaftarkan" not in chat.text
