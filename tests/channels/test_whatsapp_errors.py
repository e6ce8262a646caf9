"""WhatsApp errors as Meta documents them, against the fake Graph API: an account or configuration error
stops the channel (log, /healthz) without marking anyone unreachable; template errors fail the message
and are told to staff in /status; errors in webhooks are logged without phone numbers."""
from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import aiohttp
import pytest
from sqlalchemy import select, update

from db.models import Family, Identity, Outbox, Posyandu
from reminders.dispatcher import Dispatcher
from reminders.planner import Planner
from tests.channels.whatsapp_world import WaChat, whatsapp_bot
from tests.fakes import whatsapp_api as meta
from tests.helpers import DEFAULT_NOW, make_family

SEND_AT = datetime(2026, 12, 3, 23, 5, tzinfo=UTC)  # 07:05 WITA on the 4th, the morning slot
MOTHER = "6281234500061"


async def _family(db, address: str, *, wrote_at: datetime | None) -> Family:
    family = await make_family(db, identity_address=address, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Kadek Bayu", "M", date(2026, 10, 1))))
    async with db.write() as session:
        await session.execute(update(Identity).where(Identity.address == address).values(channel="whatsapp", phone=address, last_inbound_at=wrote_at))
    return family


def _dispatcher(db, bot, clock) -> Dispatcher:
    return Dispatcher(db, {"whatsapp": bot.channel.send_one}, clock=clock, rates={"whatsapp": None}, per_chat_interval=0)


async def _health(bot) -> tuple[int, dict]:
    url = bot.url.rsplit("/whatsapp", 1)[0] + "/healthz"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("code", [131031, 368, 133010, 190, 10])
async def test_an_account_error_stops_whatsapp_loudly_and_nobody_is_marked_unreachable(demo_db, settings, clock, caplog, code):
    await _family(demo_db, MOTHER, wrote_at=SEND_AT - timedelta(hours=2))
    await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))
    clock.now = SEND_AT
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        bot.graph.set_last_inbound(MOTHER, SEND_AT - timedelta(hours=2))
        bot.graph.break_account(code)
        dispatcher = _dispatcher(demo_db, bot, clock)
        stats = await dispatcher.run_once()
        assert (stats.stopped, stats.sent, stats.blocked, stats.retried) == (1, 0, 0, 0)
        assert dispatcher.paused_until("whatsapp") is not None
        status, body = await _health(bot)
        assert status == 503 and body["status"] == "error" and f"error {code}" in body["channels"]["whatsapp"]
        assert any(r.levelname == "ERROR" and f"error {code}" in r.getMessage() for r in caplog.records)
        async with demo_db.read() as session:
            row = (await session.execute(select(Outbox.state, Outbox.attempts, Outbox.error))).one()
            identity = (await session.scalars(select(Identity).where(Identity.address == MOTHER))).one()
        assert row.state == "pending" and row.attempts == 0 and row.error.startswith(f"ChannelDown: WhatsApp error {code}")
        assert identity.unreachable_at is None

        # the mother writes while the account is broken: her answer waits in the outbox, Meta is not called
        refused = len(bot.graph.refused)
        chat = WaChat(bot, MOTHER, clock)
        assert await chat.say("/jadwal") == []
        assert len(bot.graph.refused) == refused

        bot.graph.repair_account()
        clock.advance(minutes=11)  # the channel tries again after its pause (600 s)
        assert (await dispatcher.run_once()).sent == 2  # the reminder and the waiting answer
        status, body = await _health(bot)
        assert bot.channel.problem is None and (status, body["status"], body["channels"]) == (200, "ok", {"whatsapp": "ok"})
        assert "Kadek Bayu" in bot.graph.texts_to(MOTHER)[-1]


async def test_an_unknown_phone_number_id_stops_the_channel(demo_db, settings, clock):
    await _family(demo_db, MOTHER, wrote_at=SEND_AT - timedelta(hours=2))
    await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))
    clock.now = SEND_AT
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        bot.graph.fail_next(100, subcode=33)
        assert (await _dispatcher(demo_db, bot, clock).run_once()).stopped == 1
        assert "WHATSAPP_PHONE_NUMBER_ID" in bot.channel.problem


async def _staff_and_broadcast(demo_db, bot, clock, staff_address: str, text: str) -> WaChat:
    from handlers.kader import create_invite

    async with demo_db.read() as session:
        family = (await session.scalars(select(Family).limit(1))).one()
        posyandu = await session.get(Posyandu, family.posyandu_id)
    async with demo_db.write() as session:
        invite = await create_invite(session, role="staff", puskesmas_id=posyandu.puskesmas_id, now=DEFAULT_NOW)
    staff = WaChat(bot, staff_address, clock, name="Bidan Ayu")
    await staff.join("staf", invite.code)
    await staff.say("/umumkan")
    await staff.press("Semua keluarga")
    await staff.press("Seluruh puskesmas")
    await staff.say(text)
    await staff.press("Kirim")
    return staff


async def test_a_paused_template_fails_the_message_and_staff_see_why_in_status(demo_db, settings, clock):
    outside, later = "6281234500062", "6281234500063"
    await _family(demo_db, outside, wrote_at=DEFAULT_NOW - timedelta(days=3))
    await _family(demo_db, later, wrote_at=DEFAULT_NOW - timedelta(days=3))
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        bot.graph.template_status[("ilp_pengumuman", "id")] = "PAUSED"
        staff = await _staff_and_broadcast(demo_db, bot, clock, "6281399900061", "Posyandu Desember pindah ke balai banjar.")
        stats = await _dispatcher(demo_db, bot, clock).run_once()
        assert (stats.failed, stats.sent, stats.stopped) == (2, 0, 0)
        async with demo_db.read() as session:
            errors = set(await session.scalars(select(Outbox.error).where(Outbox.kind == "broadcast")))
        assert errors == {"TemplateRejected: template ilp_pengumuman rejected (132015)"}
        assert bot.channel.problem is None  # one template's problem does not stop the channel
        await staff.say("/status")
        assert "gagal 2" in staff.text and "2 pesan gagal: template ilp_pengumuman ditolak (132015)" in staff.text, staff.text


async def test_a_disabled_reminder_template_and_a_failed_status_are_told_in_status(demo_db, settings, clock):
    await _family(demo_db, MOTHER, wrote_at=SEND_AT - timedelta(days=3))
    other = "6281234500064"
    await _family(demo_db, other, wrote_at=SEND_AT - timedelta(days=3))
    await Planner(demo_db, settings, clock=clock).plan_day(date(2026, 12, 4))
    clock.now = SEND_AT
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        bot.graph.template_status[("ilp_pengingat", "id")] = "DISABLED"
        async with demo_db.write() as session:  # one reminder at a time
            await session.execute(update(Outbox).where(Outbox.address == other).values(not_before=SEND_AT + timedelta(hours=1)))
        assert (await _dispatcher(demo_db, bot, clock).run_once()).failed == 1
        bot.graph.template_status.clear()
        clock.advance(hours=1)
        assert (await _dispatcher(demo_db, bot, clock).run_once()).sent == 1
        (sent,) = bot.graph.messages_to(other)
        # Meta accepts it, then reports it failed: the template was paused meanwhile
        assert (await bot.graph.post_webhook(bot.url, meta.status(sent["_wamid"], "failed", other, errors=[132015])))[0] == 200
        from handlers.kader import create_invite

        async with demo_db.read() as session:
            posyandu = await session.get(Posyandu, (await session.scalars(select(Family.posyandu_id).limit(1))).one())
        async with demo_db.write() as session:
            invite = await create_invite(session, role="staff", puskesmas_id=posyandu.puskesmas_id, now=clock())
        staff = WaChat(bot, "6281399900062", clock, name="Bidan Ayu")
        await staff.join("staf", invite.code)
        await staff.say("/status")
        assert "1 pesan gagal: template ilp_pengingat ditolak (132016)" in staff.text, staff.text
        assert "1 pesan gagal: template WhatsApp ditolak (132015)" in staff.text, staff.text


async def test_webhook_errors_are_logged_without_phone_numbers_and_an_account_error_stops_the_channel(demo_db, settings, clock, caplog):
    caplog.set_level(logging.INFO)
    async with whatsapp_bot(demo_db, settings, clock) as bot:
        failed = meta.status("wamid.HBgN", "failed", MOTHER, errors=[131026])
        assert (await bot.graph.post_webhook(bot.url, meta.batch(failed, meta.unsupported(MOTHER, timestamp=clock()))))[0] == 200
        logged = [r.getMessage() for r in caplog.records if r.name == "channels.whatsapp"]
        assert any("131026" in m for m in logged) and any("131051" in m for m in logged)
        assert not any(MOTHER in m for m in logged)
        assert bot.channel.problem is None
        assert (await bot.graph.post_webhook(bot.url, meta.webhook_errors(131031)))[0] == 200
        assert "131031" in bot.channel.problem and (await _health(bot))[0] == 503


async def test_the_other_channels_problem_does_not_stop_whatsapp(demo_db, settings, clock):
    from channels.errors import ChannelDown, TemporaryFailure
    from channels.messages import Reply

    async def telegram_down(ref: str):
        raise ChannelDown("the Telegram bot token was refused (HTTP 401 Unauthorized): set a valid TELEGRAM_BOT_TOKEN")

    async with whatsapp_bot(demo_db, settings, clock) as bot:
        bot.channel.media_sources["telegram"] = telegram_down
        bot.graph.set_last_inbound(MOTHER, clock())
        photo = Reply("Posyandu pindah ke balai banjar.", image_ref="AgACAgUAAxkBAAI", image_channel="telegram",
                      kind="broadcast", last_inbound_at=clock())
        with pytest.raises(TemporaryFailure):
            await bot.channel.send_one(MOTHER, photo)
        assert bot.channel.problem is None
        assert await bot.channel.send_one(MOTHER, Reply("Pengumuman tanpa foto.", kind="broadcast", last_inbound_at=clock()))
