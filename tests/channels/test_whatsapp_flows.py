"""The same flows over WhatsApp: signed webhooks in, Graph API calls out, against the fake on 127.0.0.1."""
from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from db.models import Family, Identity, Outbox, Person, Visit
from reminders.delivery import reconcile
from reminders.dispatcher import Dispatcher
from reminders.planner import Planner
from tests.channels.whatsapp_world import VERIFY_TOKEN, WaChat, whatsapp_bot
from tests.fakes import whatsapp_api as meta
from tests.helpers import DEFAULT_NOW, add_member, guided_child_visit, make_family, register_household

MOTHER = "6281234500001"


async def test_a_family_registers_on_whatsapp(demo_db, settings, clock):
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        chat = WaChat(bot, MOTHER, clock)
        await chat.say("halo")
        consent = chat.messages[-1]
        assert consent["type"] == "interactive" and consent["interactive"]["type"] == "button"
        assert [b["reply"]["title"] for b in consent["interactive"]["action"]["buttons"]] == ["Ya, saya setuju", "Tidak", "English"]
        await register_household(chat)
        await add_member(chat, "Ni Luh Sari", "Perempuan", "2-4-1995", pregnant="20 minggu")
        await chat.press("Tambah")
        await add_member(chat, "Putu Adi", "Laki-laki", "14-9-2025")
        await chat.press("Selesai")
        assert "Pendaftaran selesai" in chat.text
        await chat.say("/jadwal")
        assert "Putu Adi" in chat.text
    async with demo_db.read() as session:
        identity = (await session.scalars(select(Identity).where(Identity.address == MOTHER))).one()
        family = await session.get(Family, identity.family_id)
        names = (await session.scalars(select(Person.name).where(Person.family_id == family.id).order_by(Person.id))).all()
    assert identity.channel == "whatsapp" and identity.phone == MOTHER and identity.consent == "given"
    assert identity.last_inbound_at == DEFAULT_NOW and family.registered_at is not None
    assert names == ["Ni Luh Sari", "Putu Adi"]
    assert not bot.graph.rejected and not bot.graph.unexpected


async def test_choices_become_buttons_lists_or_numbers_by_count(demo_db, settings, clock):
    await _whatsapp_family(demo_db, MOTHER, wrote_at=DEFAULT_NOW)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        chat = WaChat(bot, MOTHER, clock)
        await chat.say("/menu")
        menu = chat.messages[-1]["interactive"]
        assert menu["type"] == "list" and 4 <= len(menu["action"]["sections"][0]["rows"]) <= 10
        assert all(len(row["title"]) <= 24 for row in menu["action"]["sections"][0]["rows"])
        assert menu["action"]["button"] == "Pilih"
        await chat.say("/bahasa en")
        await chat.say("/menu")
        assert chat.messages[-1]["interactive"]["action"]["button"] == "Choose"


async def test_a_kader_logs_a_visit_on_whatsapp(demo_db, settings, clock):
    from handlers.kader import create_invite

    family = await make_family(demo_db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2026, 7, 1))))
    async with demo_db.write() as session:
        invite = await create_invite(session, role="kader", posyandu_id=family.posyandu_id, now=DEFAULT_NOW)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        kader = WaChat(bot, "6281399900002", clock, name="Kader Wayan")
        await kader.join("kader", invite.code)
        assert "Bapak/Ibu sekarang kader" in kader.text
        await guided_child_visit(kader, family.code, "Kadek Bayu")
        assert "tersimpan" in kader.text.lower()
        await kader.press("Grafik")
        assert any(m["type"] == "image" for m in kader.messages), "the growth chart goes as an uploaded image"
        image = next(m for m in kader.messages if m["type"] == "image")
        assert image["image"]["id"] in bot.graph.uploads
    async with demo_db.read() as session:
        visits = (await session.scalars(select(Visit).join(Person, Person.id == Visit.person_id).where(Person.family_id == family.id))).all()
    assert len(visits) == 1


async def _whatsapp_family(db, address: str, *, wrote_at: datetime | None) -> Family:
    family = await make_family(
        db, identity_address=address, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2026, 10, 1))),
    )
    async with db.write() as session:
        await session.execute(
            update(Identity).where(Identity.address == address).values(channel="whatsapp", phone=address, last_inbound_at=wrote_at)
        )
    return family


async def test_a_reminder_goes_as_text_inside_the_window_and_as_a_template_outside(demo_db, settings, clock):
    send_at = datetime(2026, 12, 3, 23, 5, tzinfo=UTC)  # 07:05 WITA on the 4th, the morning slot
    inside, outside = "6281234500011", "6281234500012"
    await _whatsapp_family(demo_db, inside, wrote_at=send_at - timedelta(hours=20))
    await _whatsapp_family(demo_db, outside, wrote_at=send_at - timedelta(hours=30))
    await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        bot.graph.set_last_inbound(inside, send_at - timedelta(hours=20))
        bot.graph.set_last_inbound(outside, send_at - timedelta(hours=30))
        clock.now = send_at
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        stats = await dispatcher.run_once()
        assert stats.sent == 2
        (text,) = bot.graph.messages_to(inside)
        (template,) = bot.graph.messages_to(outside)
    assert text["type"] == "text" and "Kadek Bayu" in text["text"]["body"]
    assert template["type"] == "template" and template["template"]["name"] == "ilp_pengingat"
    assert template["template"]["language"] == {"code": "id"}
    (parameter,) = template["template"]["components"][0]["parameters"]
    assert "Kadek Bayu" in parameter["text"] and "\n" not in parameter["text"]
    async with demo_db.read() as session:
        rows = (await session.execute(select(Outbox.address, Outbox.state, Outbox.provider_message_id))).all()
    assert {(a, s) for a, s, _ in rows} == {(inside, "sent"), (outside, "sent")}
    assert all(m.startswith("wamid.") for _a, _s, m in rows)


async def test_error_131047_and_a_failed_status_131047_switch_to_the_template(demo_db, settings, clock):
    send_at = datetime(2026, 12, 3, 23, 5, tzinfo=UTC)
    sync_addr, async_addr = "6281234500021", "6281234500022"
    # the bot believes both wrote recently; Meta's side disagrees (the window is Meta's to judge)
    await _whatsapp_family(demo_db, sync_addr, wrote_at=send_at - timedelta(hours=1))
    await _whatsapp_family(demo_db, async_addr, wrote_at=send_at - timedelta(hours=1))
    await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))
    clock.now = send_at
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        await _only(demo_db, sync_addr)
        assert (await dispatcher.run_once()).sent == 1
        assert [m["type"] for m in bot.graph.messages_to(sync_addr)] == ["template"]  # 131047 at once -> template
    async with whatsapp_bot(demo_db, settings, clock, window_mode="async") as bot:
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        await _only(demo_db, async_addr)
        assert (await dispatcher.run_once()).sent == 1
        await bot.graph.wait_for(lambda: any(d["status"] == 200 and "statuses" in json.dumps(d["payload"]) for d in bot.graph.webhook_deliveries))
        async with demo_db.read() as session:
            row = (await session.execute(select(Outbox.state, Outbox.body, Outbox.error).where(Outbox.address == async_addr))).one()
        assert row.state == "pending" and row.body["template"] is True and "131047" in row.error
        assert (await dispatcher.run_once()).sent == 1
        kinds = [m["type"] for m in bot.graph.messages_to(async_addr, include_failed=True)]
        assert kinds == ["text", "template"]


async def _only(db, address: str) -> None:
    """Holds back every pending row except those to ``address``."""
    async with db.write() as session:
        await session.execute(update(Outbox).where(Outbox.address != address, Outbox.state == "pending").values(not_before=datetime(2030, 1, 1, tzinfo=UTC)))
        await session.execute(update(Outbox).where(Outbox.address == address).values(not_before=datetime(2020, 1, 1, tzinfo=UTC)))


async def test_statuses_in_any_order_end_in_the_furthest_state(demo_db, settings, clock):
    send_at = datetime(2026, 12, 3, 23, 5, tzinfo=UTC)
    addresses = [f"62812345001{n:02d}" for n in range(6)]
    for address in addresses:
        await _whatsapp_family(demo_db, address, wrote_at=send_at - timedelta(hours=2))
    await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))
    clock.now = send_at
    rng = random.Random(7)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        for address in addresses:
            bot.graph.set_last_inbound(address, send_at - timedelta(hours=2))
        # a status may come before the dispatcher has recorded the message id: it waits, then applies
        early = meta.status("wamid.early-1", "delivered", addresses[0])
        assert (await bot.graph.post_webhook(bot.url, early))[0] == 200
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        assert (await dispatcher.run_once()).sent == len(addresses)
        async with demo_db.read() as session:
            ids = dict((await session.execute(select(Outbox.address, Outbox.provider_message_id))).all())
        final = {addresses[0]: "read", addresses[1]: "read", addresses[2]: "delivered", addresses[3]: "sent", addresses[4]: "delivered", addresses[5]: "read"}
        chain = ["sent", "delivered", "read"]
        events = []
        for address, last in final.items():
            events += [meta.status(ids[address], s, address) for s in chain[: chain.index(last) + 1]]
        events.append(meta.status(ids[addresses[4]], "failed", addresses[4], errors=[131026]))  # a late "failed" after delivered
        rng.shuffle(events)
        for envelope in (meta.batch(*events[:5]), *events[5:]):
            assert (await bot.graph.post_webhook(bot.url, envelope))[0] == 200
        # the early status of a message recorded later
        async with demo_db.write() as session:
            await session.execute(update(Outbox).where(Outbox.address == addresses[3]).values(provider_message_id="wamid.early-1"))
        assert await reconcile(demo_db, clock()) == 1
    async with demo_db.read() as session:
        got = dict((await session.execute(select(Outbox.address, Outbox.delivery))).all())
    assert got == {**final, addresses[3]: "delivered"}


async def test_a_staff_broadcast_reaches_whatsapp_families_as_text_or_template(demo_db, settings, clock):
    from handlers.kader import create_invite

    inside, outside = "6281234500031", "6281234500032"
    await _whatsapp_family(demo_db, inside, wrote_at=DEFAULT_NOW - timedelta(hours=3))
    await _whatsapp_family(demo_db, outside, wrote_at=DEFAULT_NOW - timedelta(days=3))
    async with demo_db.read() as session:
        family = (await session.scalars(select(Family).limit(1))).one()
        from db.models import Posyandu

        posyandu = await session.get(Posyandu, family.posyandu_id)
    async with demo_db.write() as session:
        invite = await create_invite(session, role="staff", puskesmas_id=posyandu.puskesmas_id, now=DEFAULT_NOW)
    clock.now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 WITA
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        bot.graph.set_last_inbound(inside, DEFAULT_NOW - timedelta(hours=3))
        bot.graph.set_last_inbound(outside, DEFAULT_NOW - timedelta(days=3))
        staff = WaChat(bot, "6281399900009", clock, name="Bidan Ayu")
        await staff.join("staf", invite.code)
        await staff.say("/umumkan")
        await staff.press("Semua keluarga")
        await staff.press("Seluruh puskesmas")
        bot.graph.add_inbound_media("1044556677889900", b"\x89PNG-poster", "image/png")
        await staff.post(meta.image(staff.wa_id, "1044556677889900", "Posyandu Desember pindah ke balai banjar.\nBawa buku KIA.", timestamp=clock()))
        await staff.press("Kirim")
        assert "2" in staff.text
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        assert (await dispatcher.run_once()).sent == 2
        (text,) = bot.graph.messages_to(inside)
        (template,) = bot.graph.messages_to(outside)
        for envelope in (meta.status(text["_wamid"], "read", inside), meta.status(template["_wamid"], "delivered", outside)):
            assert (await bot.graph.post_webhook(bot.url, envelope))[0] == 200
        await staff.say("/status")
        assert "terkirim 2" in staff.text and "WhatsApp: sampai 2, dibaca 1" in staff.text
    assert text["type"] == "image" and "balai banjar" in text["image"]["caption"]
    assert bot.graph.uploads[text["image"]["id"]][0] == b"\x89PNG-poster"  # downloaded, uploaded once
    assert template["template"]["name"] == "ilp_pengumuman"
    assert "balai banjar" in template["template"]["components"][0]["parameters"][0]["text"]


async def test_a_forged_signature_is_refused_and_nothing_is_stored(demo_db, settings, clock):
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        payload = meta.text_message(MOTHER, "halo")
        raw = meta.meta_json(payload)
        for signature in ("sha256=" + "0" * 64, meta.sign(raw, "another-secret"), "sha1=abc", ""):
            status, _ = await bot.graph.post_webhook(bot.url, payload, signature=signature or None, secret=None if signature else "wrong")
            assert status == 401
        assert await bot.graph.verify_webhook(bot.url, VERIFY_TOKEN) == (200, "1158201444")
        assert (await bot.graph.verify_webhook(bot.url, "guess"))[0] == 403
        assert bot.graph.sent == []
    async with demo_db.read() as session:
        assert (await session.scalars(select(Identity))).all() == []


async def test_a_redelivered_webhook_is_answered_once_and_rate_limits_wait(demo_db, settings, clock):
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        chat = WaChat(bot, MOTHER, clock)
        envelope = meta.text_message(MOTHER, "halo", timestamp=clock())
        first = await chat.post(envelope)
        assert await chat.post(envelope) == []  # Meta retries when it did not see our 200 in time
        assert len(bot.graph.messages_to(MOTHER)) == 1
        chat.messages = first
        bot.graph.fail_next(130429)  # throughput limit: waited out (2 s), then sent
        await chat.press("Ya")
        assert "bahasa" in chat.text.lower()
        bot.graph.fail_next(131056, to=MOTHER)  # pair rate limit: the answer waits in the outbox
        await chat.press("Bahasa Indonesia")
        assert chat.messages == []
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        assert (await dispatcher.run_once()).sent == 1
        assert "desa/kelurahan" in bot.graph.texts_to(MOTHER)[-1]


async def test_a_reply_that_cannot_be_sent_now_waits_in_the_outbox(demo_db, settings, clock):
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        chat = WaChat(bot, MOTHER, clock)
        bot.graph.fail_next(131000, to=MOTHER)
        await chat.say("halo")
        assert chat.messages == []
        dispatcher = Dispatcher(demo_db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        clock.now = clock.now.replace(hour=3)  # 11:00 WITA / 10:00 WIB
        assert (await dispatcher.run_once()).sent == 1
        (late,) = bot.graph.messages_to(MOTHER)
    assert late["type"] == "interactive" and "setuju" in late["interactive"]["body"]["text"]


async def test_staff_get_the_report_chart_and_the_export_files_on_whatsapp(demo_db, settings, clock):
    from handlers.kader import create_invite

    family = await _whatsapp_family(demo_db, "6281234500041", wrote_at=DEFAULT_NOW)
    async with demo_db.read() as session:
        from db.models import Posyandu

        posyandu = await session.get(Posyandu, family.posyandu_id)
    async with demo_db.write() as session:
        invite = await create_invite(session, role="staff", puskesmas_id=posyandu.puskesmas_id, now=DEFAULT_NOW)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        staff = WaChat(bot, "6281399900019", clock, name="Bidan Ayu")
        await staff.join("staf", invite.code)
        await staff.say("/laporan")
        await staff.press(posyandu.name)
        await staff.press("November 2026")
        assert any(m["type"] == "image" for m in staff.messages)
        await staff.say("/ekspor")
        await staff.press(posyandu.name)
        await staff.press("November 2026")
        documents = [m["document"] for m in staff.messages if m["type"] == "document"]
        assert {d["filename"].rsplit(".", 1)[1] for d in documents} == {"csv", "xlsx"}
        assert any(d["filename"].startswith("register-") for d in documents)
        assert all(bot.graph.uploads[d["id"]][0] for d in documents)


async def test_a_message_that_could_not_be_stored_gets_503_so_meta_sends_it_again(demo_db, settings, clock):
    from channels.messages import NotStored

    async with whatsapp_bot(demo_db, settings, clock) as bot:
        real = bot.channel.handle

        async def database_down(incoming):
            raise NotStored([])

        bot.channel.handle = database_down
        envelope = meta.text_message(MOTHER, "halo", timestamp=clock())
        status, _ = await bot.graph.post_webhook(bot.url, envelope)
        assert status == 503 and bot.graph.messages_to(MOTHER) == []
        bot.channel.handle = real  # the database is back: Meta's redelivery is handled
        status, _ = await bot.graph.post_webhook(bot.url, envelope)
        assert status == 200 and "setuju" in bot.graph.texts_to(MOTHER)[-1]


async def test_a_staff_photo_crosses_channels_once_each_way(demo_db, settings, clock):
    """A broadcast photo from WhatsApp reaches Telegram families, and one from Telegram WhatsApp families."""
    from channels.messages import Reply
    from channels.telegram import TelegramChannel
    from config import TelegramConfig
    from tests.fakes.telegram_api import FakeTelegram

    async with whatsapp_bot(demo_db, settings, clock) as bot, FakeTelegram() as fake:
        telegram = TelegramChannel(TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url),
                                   handle=None)
        await telegram.initialize()
        try:
            telegram.media_sources["whatsapp"] = bot.channel.fetch_media
            bot.channel.media_sources["telegram"] = telegram.fetch_media
            bot.graph.add_inbound_media("1044556677889911", b"\x89PNG-from-whatsapp", "image/png")
            from_whatsapp = Reply("Pengumuman: posyandu pindah", image_ref="1044556677889911", image_channel="whatsapp")
            for chat in (7_700_001, 7_700_002):
                assert await telegram.send_one(str(chat), from_whatsapp)
            photos = [c for c in fake.sent if c.method == "sendPhoto"]
            assert len(photos) == 2 and photos[0].files["photo"].data == b"\x89PNG-from-whatsapp"
            assert not photos[1].files  # the second goes by the file_id Telegram gave the first
            update = fake.photo_update(7_700_003, "poster", data=b"\xff\xd8jpeg-from-telegram")
            file_id = update["message"]["photo"][-1]["file_id"]
            from_telegram = Reply("Pengumuman: imunisasi", image_ref=file_id, image_channel="telegram",
                                  kind="broadcast", last_inbound_at=clock())
            for wa_id in ("6281234500051", "6281234500052"):
                bot.graph.set_last_inbound(wa_id, clock())
                assert await bot.channel.send_one(wa_id, from_telegram)
            images = [m for m in bot.graph.sent if m["type"] == "image"]
            assert len(images) == 2 and images[0]["image"]["id"] == images[1]["image"]["id"]
            assert bot.graph.uploads[images[0]["image"]["id"]][0] == b"\xff\xd8jpeg-from-telegram"
        finally:
            await telegram.api.close()
