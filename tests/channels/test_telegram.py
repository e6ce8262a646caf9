"""The Telegram adapter in-process against the fake Bot API: translation both ways and error mapping."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from telegram import Update

from channels.errors import ChannelDown, PermanentFailure, RateLimited, TemporaryFailure, Unreachable
from channels.messages import Choice, Incoming, Reply
from channels.telegram import (
    TelegramChannel,
    api_error,
    document_type,
    image_file,
    incoming_from_update,
    keyboard_rows,
    split_text,
)
from config import TelegramConfig
from tests.fakes.telegram_api import FakeTelegram

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _update(name: str) -> Update:
    return Update.de_json(json.loads((FIXTURES / name).read_text()), None)


def to_incoming(update: Update) -> Incoming | None:
    """The channel's reading of an update, given as python-telegram-bot parses it (the fixtures are
    Bot API JSON; PTB's round trip checks they are well-formed updates)."""
    return incoming_from_update(update.to_dict())


def test_text_update_becomes_incoming():
    incoming = to_incoming(_update("update_text_message.json"))
    assert incoming.channel == "telegram" and incoming.text
    assert incoming.message_id.endswith(":" + incoming.message_id.split(":")[1])
    assert incoming.at.tzinfo is not None


def test_callback_update_becomes_a_choice():
    update = _update("update_callback_query.json")
    incoming = to_incoming(update)
    assert incoming.choice == update.callback_query.data
    assert incoming.message_id == f"cb:{update.callback_query.id}"


@pytest.mark.parametrize(("name", "kind"), [("update_photo_message.json", "photo"), ("update_sticker_message.json", "sticker")])
def test_media_where_text_is_expected_is_marked(name, kind):
    update = _update(name)
    incoming = to_incoming(update)
    assert incoming.media == kind and incoming.text == update.message.caption
    if kind == "photo":
        assert incoming.media_ref == update.message.photo[-1].file_id


@pytest.mark.parametrize(("name", "own"), [("update_own_contact.json", "6281234567890"), ("update_other_contact.json", None)])
def test_a_shared_contact_vouches_for_the_number_only_when_it_is_the_senders_own(name, own):
    incoming = to_incoming(_update(name))
    assert incoming.media == "contact" and incoming.contact
    assert incoming.phone == own


def test_a_document_becomes_incoming_with_its_id_name_and_size():
    update = _update("update_document_message.json")
    incoming = to_incoming(update)
    document = update.message.document
    assert incoming.media == "document" and incoming.text == update.message.caption
    assert (incoming.media_ref, incoming.media_name, incoming.media_size) == (document.file_id, document.file_name, document.file_size)
    assert incoming.media_name == "sasaran Nagasepaha 2026.xlsx" and incoming.media_size == 48213


def test_keyboard_and_long_text():
    reply = Reply("x", (Choice("Ya", "3.yes"), Choice("Tidak", "3.no")))
    assert [[b["callback_data"] for b in row] for row in keyboard_rows(reply)] == [["3.yes"], ["3.no"]]
    pieces = split_text(("baris\n" * 1500).strip())
    assert all(len(p) <= 4096 for p in pieces) and "".join(pieces).count("baris") == 1500


async def _channel(fake: FakeTelegram, replies: list[Reply]):
    seen: list[Incoming] = []

    async def handle(incoming: Incoming) -> list[Reply]:
        seen.append(incoming)
        return replies

    config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
    channel = TelegramChannel(config, handle)
    await channel.initialize()
    return channel, seen


async def test_replies_are_sent_with_keyboards_and_photos():
    async with FakeTelegram() as fake:
        replies = [Reply("Grafik pertumbuhan", image=PNG), Reply("Pilih:", (Choice("Ya", "1.yes"),))]
        channel, seen = await _channel(fake, replies)
        try:
            await channel.process(fake.text_update(4242, "halo"))
            calls = fake.sent_to(4242)
            assert [c.method for c in calls] == ["sendPhoto", "sendMessage"]
            assert calls[0].files["photo"].data == PNG and calls[0].text == "Grafik pertumbuhan"
            assert calls[1].reply_markup == {"inline_keyboard": [[{"text": "Ya", "callback_data": "1.yes"}]]}
            assert seen[0].text == "halo"
            # a button press is answered and its keyboard removed before the reply goes out
            await channel.process(fake.callback_update(4242, "1.yes"))
            assert fake.answered_callbacks and seen[1].choice == "1.yes"
            assert any(c.method == "editMessageReplyMarkup" for c in fake.sent_to(4242))
        finally:
            await channel.stop()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_provider_errors_map_to_shared_classes():
    async with FakeTelegram() as fake:
        channel, _ = await _channel(fake, [])
        try:
            fake.fail_next("sendMessage", error_code=429, retry_after=7)
            with pytest.raises(RateLimited) as limited:
                await channel.send_one("5151", Reply("a"))
            assert limited.value.retry_after == 7 and limited.value.retryable
            fake.block(5151)
            with pytest.raises(Unreachable) as blocked:
                await channel.send_one("5151", Reply("b"))
            assert not blocked.value.retryable
            fake.unblock(5151)
            fake.fail_next("sendMessage", error_code=400, description="Bad Request: chat not found")
            with pytest.raises(PermanentFailure):
                await channel.send_one("5151", Reply("c"))
        finally:
            await channel.stop()


def test_split_counts_utf16_units():
    text = "\U0001F600" * 3000  # 6,000 UTF-16 units
    pieces = split_text(text)
    from channels.telegram import utf16_len

    assert all(utf16_len(p) <= 4096 for p in pieces) and "".join(pieces) == text


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_an_unanswerable_press_and_a_429_lose_no_reply():
    async with FakeTelegram() as fake:
        channel, seen = await _channel(fake, [Reply("Jawaban")])
        try:
            await channel.send_one("6161", Reply("Pilih:", (Choice("Ya", "1.yes"),)))
            fake.fail_next("answerCallbackQuery", error_code=400, description="Bad Request: query is too old")
            fake.fail_next("sendMessage", error_code=429, retry_after=1)
            await channel.process(fake.callback_update(6161, "1.yes"))
            assert seen and seen[0].choice == "1.yes"
            await fake.wait_for(lambda: fake.texts_to(6161)[-1] == "Jawaban")  # after the 429's retry_after
        finally:
            await channel.stop()


async def test_documents_are_sent_as_files():
    async with FakeTelegram() as fake:
        channel, _ = await _channel(fake, [])
        try:
            await channel.send_one("7171", Reply("Laporan", files=(("laporan.csv", b"\xef\xbb\xbfS,3\n"),)))
            calls = fake.sent_to(7171)
            assert [c.method for c in calls] == ["sendDocument", "sendMessage"]
            assert calls[0].files["document"].data.endswith(b"S,3\n") and calls[0].files["document"].filename == "laporan.csv"
        finally:
            await channel.stop()


async def test_a_caption_too_long_goes_as_a_short_caption_and_the_rest_as_text():
    report = "Posyandu Mawar, November 2026\n" + "\n".join(f"Baris {i}: {i} dari {i + 7} (50,0%)" for i in range(60))
    async with FakeTelegram() as fake:
        channel, _ = await _channel(fake, [])
        try:
            await channel.send_replies(8181, [Reply(report, (Choice("Selesai", "1.done"),), image=PNG)])
            calls = fake.sent_to(8181)
            assert [c.method for c in calls] == ["sendPhoto", "sendMessage"]
            assert calls[0].text == "Posyandu Mawar, November 2026" and calls[0].reply_markup is None
            assert calls[1].reply_markup == {"inline_keyboard": [[{"text": "Selesai", "callback_data": "1.done"}]]}
            assert "\n".join(c.text for c in calls) == report  # every line, in order
        finally:
            await channel.stop()


async def test_long_button_labels_are_shortened_and_written_out_under_the_question():
    long = "Ibu Ni Luh Putu Sari Dewi Anggraeni dari Banjar Kaja, Desa Nagasepaha, Kecamatan Buleleng (K-7QH)"
    async with FakeTelegram() as fake:
        channel, _ = await _channel(fake, [])
        try:
            await channel.send_replies(8282, [Reply("Siapa?", (Choice(long, "1.a"), Choice("Orang lain", "1.b")))])
            [call] = fake.sent_to(8282)
            titles = [b["text"] for row in call.reply_markup["inline_keyboard"] for b in row]
            assert titles == ["K-7QH", "Orang lain"]
            assert call.text == "Siapa?\n\nK-7QH: " + long.removesuffix(" (K-7QH)")
        finally:
            await channel.stop()


async def test_a_reply_with_commands_sets_the_chats_menu_and_an_empty_one_deletes_it():
    kader = (("kunjungan", "Catat kunjungan"), ("jadwal", "Jadwal posyandu"))
    async with FakeTelegram() as fake:
        channel, _ = await _channel(fake, [])
        channel.menus = {"": (("jadwal", "Jadwal posyandu dan layanan"),), "en": (("jadwal", "Schedule"),)}
        try:
            await channel.set_default_commands()
            assert fake.menu_for(8383, "en") == [{"command": "jadwal", "description": "Schedule"}]
            assert fake.menu_for(8383, "id") == [{"command": "jadwal", "description": "Jadwal posyandu dan layanan"}]
            await channel.send_replies(8383, [Reply("Bapak/Ibu sekarang kader."), Reply("Menu:", commands=kader)])
            assert fake.menu_for(8383, "en") == [{"command": c, "description": d} for c, d in kader]
            assert fake.menu_for(8484, "en") == [{"command": "jadwal", "description": "Schedule"}]  # other chats keep theirs
            assert fake.command_calls[-1]["scope"] == {"type": "chat", "chat_id": 8383}
            await channel.send_replies(8383, [Reply("Peran dilepas.", commands=())])
            assert fake.command_calls[-1] == {"commands": None, "scope": {"type": "chat", "chat_id": 8383}, "language_code": ""}
            assert fake.menu_for(8383, "id")[0]["description"] == "Jadwal posyandu dan layanan"
            assert not fake.rejected and not fake.unexpected
        finally:
            await channel.stop()


@pytest.mark.parametrize(("status", "cls"), [(401, ChannelDown), (404, ChannelDown), (403, Unreachable), (400, PermanentFailure), (409, TemporaryFailure), (502, TemporaryFailure)])
def test_bot_api_errors_map_to_the_shared_classes(status, cls):
    assert type(api_error(status, {"ok": False, "error_code": status, "description": "x"})) is cls
    assert type(api_error(429, {"ok": False, "parameters": {"retry_after": 5}})) is RateLimited


def test_no_answer_maps_to_a_temporary_failure_and_a_moved_group_to_a_permanent_one():
    assert type(api_error(0, {"description": "TimedOut"})) is TemporaryFailure
    assert api_error(0, {"description": "TimedOut"}).reason == "telegram: TimedOut"
    assert type(api_error(400, {"ok": False, "parameters": {"migrate_to_chat_id": -100123}})) is PermanentFailure


def test_uploads_are_named_and_typed():
    assert image_file(b"\x89PNG\r\n\x1a\n") == ("photo.png", "image/png")
    assert image_file(b"\xff\xd8\xff\xe0") == ("photo.jpg", "image/jpeg")
    assert image_file(b"RIFF", "image/webp") == ("photo.webp", "image/webp")
    assert image_file(b"????") == ("photo", "application/octet-stream")
    assert document_type("laporan.csv") == "text/csv"
    assert document_type("laporan") == "application/octet-stream"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_a_refused_token_stops_the_channel_loudly_instead_of_retrying(caplog):
    async with FakeTelegram() as fake:
        channel, _ = await _channel(fake, [])
        try:
            real = fake.token
            fake.token = "999:revoked"  # the bot's token no longer works (revoked with /revoke)
            with pytest.raises(ChannelDown) as down:
                await channel.send_one("9191", Reply("Pengingat"))
            assert "TELEGRAM_BOT_TOKEN" in down.value.problem and channel.problem == down.value.problem
            assert any(r.levelname == "ERROR" and "STOPPED" in r.getMessage() for r in caplog.records)
            refused = fake.unauthorized
            with pytest.raises(ChannelDown):  # refused at once, Telegram is not asked again before the next try is due
                await channel.send_one("9191", Reply("Pengingat"))
            assert fake.unauthorized == refused
            fake.token = real
            channel._down_until = 0.0  # the next try is due
            await channel.send_one("9191", Reply("Pengingat"))
            assert channel.problem is None and fake.texts_to(9191) == ["Pengingat"]
        finally:
            await channel.stop()


async def test_the_other_channels_problem_does_not_stop_telegram():
    async def whatsapp_down(ref: str):
        raise ChannelDown("WhatsApp error 190: the access token is invalid or expired: set a new WHATSAPP_ACCESS_TOKEN")

    async with FakeTelegram() as fake:
        channel, _ = await _channel(fake, [])
        channel.media_sources["whatsapp"] = whatsapp_down
        try:
            with pytest.raises(TemporaryFailure):
                await channel.send_one("9292", Reply("Pengumuman", image_ref="1044556677889900", image_channel="whatsapp"))
            assert channel.problem is None
            await channel.send_one("9292", Reply("Pengumuman"))
            assert fake.texts_to(9292) == ["Pengumuman"]
        finally:
            await channel.stop()


async def test_a_429_for_one_chat_holds_up_no_other_chat():
    """A chat told to wait (429 retry_after) gets its replies later, in order; the polling batch, and the
    other chats' replies, do not wait for it."""
    async with FakeTelegram() as fake:
        seen: list[Incoming] = []

        async def echo(incoming: Incoming) -> list[Reply]:
            seen.append(incoming)
            return [Reply(f"re: {incoming.text}")]

        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channel = TelegramChannel(config, echo)
        await channel.initialize()
        try:
            fake.fail_next("sendMessage", error_code=429, retry_after=2, chat_id=111)
            await channel._handle_batch([fake.text_update(111, "a1"), fake.text_update(222, "b1")])
            assert fake.texts_to(222) == ["re: b1"] and fake.texts_to(111) == []  # the batch did not wait for 111
            await channel._handle_batch([fake.text_update(111, "a2"), fake.text_update(222, "b2")])
            assert fake.texts_to(222) == ["re: b1", "re: b2"] and fake.texts_to(111) == []  # a2 waits behind a1
            await fake.wait_for(lambda: len(fake.texts_to(111)) == 2)
            assert fake.texts_to(111) == ["re: a1", "re: a2"]
            for _ in range(500):  # the lane ends when its replies are out
                if not channel._lanes:
                    break
                await asyncio.sleep(0.01)
            assert not channel._lanes
        finally:
            await channel.stop()
