"""Tests of the fake Telegram Bot API server, over raw HTTP and through python-telegram-bot."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, FormData, web
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from .telegram_api import FakeTelegram, TelegramAPIError, WaitTimeout, plain_text

TOKEN = "123:ABC"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"
Fake = FakeTelegram
Http = ClientSession


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """A running fake; teardown fails if the bot called unimplemented methods."""
    async with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    """A plain aiohttp client for raw protocol checks."""
    async with ClientSession() as session:
        yield session


def load_fixture(name: str) -> dict[str, Any]:
    """Read a JSON payload sample from tests/fixtures/telegram."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


async def call(http: Http, fake: Fake, method: str, **params: Any) -> tuple[int, Any]:
    """POST a JSON body to a Bot API method; return (status, decoded body)."""
    async with http.post(f"{fake.base_url}{fake.token}/{method}", json=params) as response:
        return response.status, await response.json()


def seconds(value: int | dtm.timedelta) -> float:
    """retry_after as seconds, whichever type this PTB version returns."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def key_paths(obj: Any, prefix: str = "") -> set[str]:
    """All key paths of a JSON object (list items share the path of their list)."""
    if isinstance(obj, dict):
        paths = set()
        for key, value in obj.items():
            paths.add(prefix + key)
            paths |= key_paths(value, f"{prefix}{key}.")
        return paths
    if isinstance(obj, list):
        return set().union(*(key_paths(item, prefix) for item in obj)) if obj else set()
    return set()


# ---------------------------------------------------------------------- raw protocol


async def test_get_updates_offset_confirms_and_drops(fake: Fake, http: Http) -> None:
    """Updates below the offset are confirmed and never returned again."""
    first = fake.push_text(42, "satu")
    second = fake.push_text(42, "dua")
    fake.push_text(42, "tiga")
    status, body = await call(http, fake, "getUpdates")
    assert status == 200 and body["ok"] is True
    assert [u["message"]["text"] for u in body["result"]] == ["satu", "dua", "tiga"]
    assert len(fake.pending_updates) == 3  # returned but not confirmed yet

    _, body = await call(http, fake, "getUpdates", offset=second["update_id"])
    assert [u["update_id"] for u in body["result"]][0] == second["update_id"]
    assert fake.confirmed_offset == second["update_id"]
    assert first["update_id"] not in [u["update_id"] for u in fake.pending_updates]

    _, body = await call(http, fake, "getUpdates", offset=second["update_id"] + 2, limit=5)
    assert body["result"] == [] and fake.pending_updates == []


async def test_get_updates_negative_offset_keeps_last(fake: Fake, http: Http) -> None:
    """A negative offset keeps only the last -offset updates."""
    for text in ("a", "b", "c"):
        fake.push_text(1, text)
    _, body = await call(http, fake, "getUpdates", offset=-1)
    assert [u["message"]["text"] for u in body["result"]] == ["c"]


async def test_long_poll_wakes_on_push(fake: Fake, http: Http) -> None:
    """A waiting getUpdates returns as soon as an update is pushed, not at its timeout."""
    poll = asyncio.create_task(call(http, fake, "getUpdates", timeout=30, allowed_updates=[]))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    fake.push_text(7, "halo")
    status, body = await asyncio.wait_for(poll, 5)
    assert status == 200 and body["result"][0]["message"]["text"] == "halo"
    assert time.monotonic() - started < 1.0


async def test_long_poll_times_out_empty(fake: Fake, http: Http) -> None:
    """With nothing to deliver, getUpdates answers an empty list after its timeout."""
    started = time.monotonic()
    _, body = await call(http, fake, "getUpdates", timeout=0.3)
    assert body == {"ok": True, "result": []}
    assert 0.25 < time.monotonic() - started < 3


async def test_newer_get_updates_terminates_older(fake: Fake, http: Http) -> None:
    """Two concurrent long polls: the older one gets Telegram's 409 Conflict."""
    older = asyncio.create_task(call(http, fake, "getUpdates", timeout=30))
    await asyncio.sleep(0.05)
    newer = asyncio.create_task(call(http, fake, "getUpdates", timeout=30))
    status, body = await asyncio.wait_for(older, 5)
    assert status == 409 and body["description"].startswith("Conflict: terminated by other")
    fake.push_text(3, "x")
    status, body = await asyncio.wait_for(newer, 5)
    assert status == 200 and len(body["result"]) == 1


async def test_wrong_token_and_unknown_path(fake: Fake, http: Http) -> None:
    """Wrong tokens answer 401 and other paths 404, with Telegram's bodies."""
    async with http.post(f"{fake.url}/bot999:WRONG/getMe") as response:
        assert response.status == 401
        unauthorized = {"ok": False, "error_code": 401, "description": "Unauthorized"}
        assert await response.json() == unauthorized
    async with http.get(f"{fake.url}/nope") as response:
        assert response.status == 404
        assert (await response.json())["description"] == "Not Found"
    assert fake.unauthorized == 1


async def test_parameters_json_form_multipart_and_query(fake: Fake, http: Http) -> None:
    """JSON, urlencoded, multipart and query-string parameters all decode to typed values."""
    markup = {"inline_keyboard": [[{"text": "Ya", "callback_data": "ya"}]]}
    base = f"{fake.base_url}{fake.token}"
    await call(http, fake, "sendMessage", chat_id=5, text="json", reply_markup=markup)
    form = {"chat_id": "5", "text": "form", "reply_markup": json.dumps(markup),
            "disable_notification": "false"}
    async with http.post(f"{base}/sendMessage", data=form) as response:
        assert response.status == 200
    multipart = FormData()
    multipart.add_field("chat_id", "5")
    multipart.add_field("text", "multipart")
    multipart.add_field("dummy", b"x", filename="x.bin")  # forces multipart/form-data
    async with http.post(f"{base}/sendMessage", data=multipart) as response:
        assert response.status == 200
    query = {"chat_id": "5", "text": "query"}
    async with http.get(f"{base}/sendMessage", params=query) as response:
        assert response.status == 200
    calls = fake.sent_to(5)
    assert [c.text for c in calls] == ["json", "form", "multipart", "query"]
    assert all(c.chat_id == 5 for c in calls)
    assert calls[0].reply_markup == markup and calls[1].reply_markup == markup
    assert calls[1].params["disable_notification"] is False


async def test_method_names_are_case_insensitive(fake: Fake, http: Http) -> None:
    """The Bot API treats method names case-insensitively."""
    status, body = await call(http, fake, "GETME")
    assert status == 200 and body["result"]["is_bot"] is True
    assert fake.calls["getMe"] == 1


async def test_validation_errors(fake: Fake, http: Http) -> None:
    """Empty text, bad HTML and edits that change nothing fail like on Telegram."""
    status, body = await call(http, fake, "sendMessage", chat_id=1, text="")
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    status, body = await call(http, fake, "sendMessage", chat_id=1, text="a<br>b",
                              parse_mode="HTML")
    assert status == 400 and "can't parse entities" in body["description"]
    status, body = await call(http, fake, "sendMessage", chat_id=1, text="Harga 5.000",
                              parse_mode="MarkdownV2")
    assert status == 400 and "reserved" in body["description"]
    _, body = await call(http, fake, "sendMessage", chat_id=1, text="<b>Halo</b> &amp; selamat",
                         parse_mode="HTML")
    message = body["result"]
    assert message["text"] == "Halo & selamat"
    status, body = await call(http, fake, "editMessageText", chat_id=1,
                              message_id=message["message_id"], text="<b>Halo</b> &amp; selamat",
                              parse_mode="HTML")
    assert status == 400 and "message is not modified" in body["description"]
    assert len(fake.rejected) == 4


@pytest.mark.parametrize(
    ("text", "mode", "shown"),
    [
        ("<b>Jadwal</b> &amp; <i>lokasi</i>", "HTML", "Jadwal & lokasi"),
        ('<a href="https://x.id">tautan</a>', "HTML", "tautan"),
        ("*Tebal* \\- Rp 5\\.000", "MarkdownV2", "Tebal - Rp 5.000"),
        ("[situs](https://x.id) `a.b`", "MarkdownV2", "situs a.b"),
        ("*Halo* _ibu_", "Markdown", "Halo ibu"),
        ("apa saja <b> . *", None, "apa saja <b> . *"),
    ],
)
def test_parse_modes_accept_valid_markup(text: str, mode: str | None, shown: str) -> None:
    """Valid markup is accepted and the visible text has the markup removed."""
    assert plain_text(text, mode) == shown


@pytest.mark.parametrize(
    ("text", "mode"),
    [("a<br>b", "HTML"), ("<b>a", "HTML"), ("<b><i>x</b></i>", "HTML"), ("1 < 2", "HTML"),
     ("Rp 5.000", "MarkdownV2"), ("*tebal", "MarkdownV2"), ("(catatan)", "MarkdownV2"),
     ("*tebal", "Markdown"), ("teks", "Textile")],
)
def test_parse_modes_reject_invalid_markup(text: str, mode: str) -> None:
    """Markup Telegram would refuse raises a 400 "can't parse entities"-style error."""
    with pytest.raises(TelegramAPIError) as caught:
        plain_text(text, mode)
    assert caught.value.error_code == 400


# ---------------------------------------------------------------------- through PTB


async def test_ptb_bot_round_trip(fake: FakeTelegram) -> None:
    """telegram.Bot: get_me, send_message with a keyboard, send_photo, callbacks, get_file."""
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Jadwal", callback_data="menu:jadwal"),
          InlineKeyboardButton("Imunisasi", callback_data="menu:imunisasi")]]
    )
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        me = await bot.get_me()
        assert me.is_bot and me.username == fake.bot_user["username"]

        fake.push_text(501, "/start")
        sent = await bot.send_message(501, "<b>Pilih</b> layanan:", parse_mode=ParseMode.HTML,
                                      reply_markup=keyboard)
        assert sent.text == "Pilih layanan:" and sent.chat.first_name == "Ibu Made"
        assert sent.reply_markup == keyboard
        call_ = fake.sent_to(501)[-1]
        assert call_.method == "sendMessage" and call_.parse_mode == "HTML"
        assert call_.reply_markup == {"inline_keyboard": [[
            {"text": "Jadwal", "callback_data": "menu:jadwal"},
            {"text": "Imunisasi", "callback_data": "menu:imunisasi"}]]}

        photo = b"\xff\xd8\xff\xe0 fake jpeg bytes \xff\xd9"
        photo_message = await bot.send_photo(501, photo=photo, caption="Grafik KMS")
        upload = fake.sent_to(501)[-1].files["photo"]
        assert upload.data == photo
        assert photo_message.caption == "Grafik KMS"
        file = await bot.get_file(photo_message.photo[-1].file_id)
        downloaded = await file.download_as_bytearray()
        assert bytes(downloaded) == photo

        update = fake.push_callback(501, "menu:jadwal", message_id=sent.message_id)
        query_id = update["callback_query"]["id"]
        assert await bot.answer_callback_query(query_id, text="Oke")
        assert fake.answered_callbacks[0]["callback_query_id"] == query_id
        assert fake.answered_callbacks[0]["text"] == "Oke"
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query(query_id)

        edited = await bot.edit_message_text("Jadwal: Senin", chat_id=501,
                                             message_id=sent.message_id)
        assert edited.text == "Jadwal: Senin" and edited.reply_markup is None
        assert await bot.send_chat_action(501, "typing")
        assert [c.text for c in await fake.wait_for_messages(501, 3)] == [
            "<b>Pilih</b> layanan:", "Grafik KMS", "Jadwal: Senin"]


async def test_user_photo_can_be_downloaded(fake: FakeTelegram) -> None:
    """A pushed photo's largest size is downloadable through getFile and the file route."""
    update = fake.push_photo(77, "Foto KMS", data=b"jpeg-bytes")
    file_id = update["message"]["photo"][-1]["file_id"]
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        data = await (await bot.get_file(file_id)).download_as_bytearray()
    assert bytes(data) == b"jpeg-bytes"


async def test_unexpected_method_fails_aexit() -> None:
    """A method nobody implemented answers 404 and makes __aexit__ raise."""
    with pytest.raises(AssertionError, match="sendVenue"):
        async with FakeTelegram(token=TOKEN) as fake:
            async with Bot(TOKEN, base_url=fake.base_url) as bot:
                with pytest.raises(InvalidToken, match="Not Found"):
                    await bot.send_venue(1, latitude=-8.1, longitude=115.1, title="Posyandu", address="Nagasepaha")
    async with FakeTelegram(token=TOKEN) as fake:
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            with pytest.raises(InvalidToken):
                await bot.send_dice(1)
        assert [c.method for c in fake.unexpected] == ["sendDice"]
        fake.unexpected.clear()  # a test that expected it clears the record


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fault_injection_seen_by_ptb(fake: FakeTelegram) -> None:
    """429 becomes RetryAfter with retry_after, 403 blocked becomes Forbidden."""
    fake.fail_next("sendMessage", retry_after=3)
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(9, "pengingat")
        assert seconds(caught.value.retry_after) == 3
        await bot.send_message(9, "pengingat")  # only the next call failed

        fake.block(9)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(9, "pengingat")
        fake.unblock(9)

        fake.fail_next("*", error_code=502, chat_id=10)
        await bot.send_message(9, "lain")  # other chat is unaffected
        with pytest.raises(Exception, match="Bad Gateway"):
            await bot.send_message(10, "gagal")
    assert [c.error_code for c in fake.rejected] == [429, 403, 502]
    assert fake.texts_to(9) == ["pengingat", "lain"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_enforcement(fake: FakeTelegram) -> None:
    """With enforce_rate on, a second message to a chat within a second gets 429."""
    fake.enforce_rate(per_chat_per_second=1.0, global_per_second=30.0)
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        await bot.send_message(1, "a")
        await bot.send_message(2, "b")
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "c")
    assert fake.rate_violations == 1 and fake.rate_violations_by_chat[1] == 1


async def test_duplicates_and_count_texts(fake: Fake, http: Http) -> None:
    """Repeated (chat_id, text) pairs are counted as duplicates."""
    for text in ("halo", "halo", "apa kabar"):
        await call(http, fake, "sendMessage", chat_id=3, text=text)
    await call(http, fake, "sendMessage", chat_id=4, text="halo")
    assert fake.duplicates == 1
    assert fake.count_texts()[(3, "halo")] == 2
    assert [pair for pair, n in fake.count_texts().items() if n > 1] == [(3, "halo")]


async def test_wait_for_times_out_with_report(fake: FakeTelegram) -> None:
    """wait_for_messages fails with an explanation when the bot stays silent."""
    fake.push_text(11, "halo")
    with pytest.raises(WaitTimeout, match="expected 1 messages to chat 11, got 0"):
        await fake.wait_for_messages(11, 1, timeout=0.2)


async def test_webhook_set_info_deliver_and_delete(fake: FakeTelegram) -> None:
    """setWebhook records url/secret; deliver_webhook POSTs with the secret header."""
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def receive(request: web.Request) -> web.Response:
        """Capture the secret header and the update."""
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            fake.push_text(1, "lama")
            assert await bot.set_webhook(hook_url, secret_token="rahasia_123",
                                         drop_pending_updates=True)
            assert (fake.webhook_url, fake.webhook_secret) == (hook_url, "rahasia_123")
            assert fake.pending_updates == []
            info = await bot.get_webhook_info()
            assert info.url == hook_url and info.pending_update_count == 0
            update = fake.text_update(1, "/start")
            assert await fake.deliver_webhook(update) == 200
            assert received == [("rahasia_123", update)]
            assert await fake.deliver_webhook(update, secret="salah") == 200
            assert received[-1][0] == "salah"
            assert await bot.delete_webhook()
            assert fake.webhook_url == ""
    finally:
        await runner.cleanup()


async def test_get_updates_conflicts_with_webhook(fake: Fake, http: Http) -> None:
    """getUpdates while a webhook is set answers 409 like Telegram."""
    await call(http, fake, "setWebhook", url="https://example.invalid/hook")
    status, body = await call(http, fake, "getUpdates")
    assert status == 409 and "webhook is active" in body["description"]


async def test_my_commands_round_trip(fake: FakeTelegram) -> None:
    """setMyCommands / getMyCommands / deleteMyCommands per language; invalid names refused."""
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        commands = [BotCommand("start", "Mulai"), BotCommand("jadwal", "Jadwal posyandu")]
        assert await bot.set_my_commands(commands, language_code="id")
        assert await bot.get_my_commands(language_code="id") == tuple(commands)
        assert await bot.get_my_commands() == ()
        with pytest.raises(BadRequest):
            await bot.set_my_commands([BotCommand("Jadwal", "huruf besar")])
        assert await bot.delete_my_commands(language_code="id")
        assert await bot.get_my_commands(language_code="id") == ()
        assert await bot.close() and await bot.log_out()
    assert fake.closed and fake.logged_out


async def test_my_commands_scopes_and_languages_as_documented(fake: Fake, http: Http) -> None:
    """Chat scopes and language codes are checked and stored; the menu a user sees follows Telegram's order."""
    family = [{"command": "jadwal", "description": "Jadwal posyandu"}]
    english = [{"command": "jadwal", "description": "Schedule"}]
    kader = [{"command": "kunjungan", "description": "Catat kunjungan"}]
    assert (await call(http, fake, "setMyCommands", commands=family))[0] == 200
    assert (await call(http, fake, "setMyCommands", commands=english, language_code="en"))[0] == 200
    assert (await call(http, fake, "setMyCommands", commands=kader, scope={"type": "chat", "chat_id": 42}))[0] == 200
    assert fake.menu_for(42, "en") == kader and fake.menu_for(43, "en") == english and fake.menu_for(43, "id") == family
    assert (await call(http, fake, "deleteMyCommands", scope={"type": "chat", "chat_id": "42"}))[0] == 200
    assert fake.menu_for(42, "en") == english
    assert [c["scope"]["type"] for c in fake.command_calls] == ["default", "default", "chat", "chat"]
    for params, error in (
        ({"commands": family, "scope": {"type": "chat"}}, "BOT_COMMAND_SCOPE_INVALID"),
        ({"commands": family, "scope": {"type": "everyone"}}, "BOT_COMMAND_SCOPE_INVALID"),
        ({"commands": family, "language_code": "ind"}, "LANGUAGE_CODE_INVALID"),
        ({"commands": family * 101}, "BOT_COMMANDS_TOO_MUCH"),
        ({"commands": [{"command": "jadwal", "description": ""}]}, "BOT_COMMAND_DESCRIPTION_INVALID"),
    ):
        status, body = await call(http, fake, "setMyCommands", **params)
        assert status == 400 and error in body["description"], params
    assert not fake.unexpected


async def test_an_unknown_my_commands_parameter_fails_loudly() -> None:
    with pytest.raises(AssertionError, match="unknown parameters"):
        async with FakeTelegram(token=TOKEN) as fake, ClientSession() as http:
            await call(http, fake, "setMyCommands", commands=[], chat_id=42)


async def test_application_polling_echo(fake: FakeTelegram) -> None:
    """A real PTB Application in polling mode echoes a pushed text and answers a button."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Reply with the same text and a button."""
        button = InlineKeyboardButton("Lagi", callback_data="lagi")
        await update.message.reply_text(f"echo: {update.message.text}",
                                        reply_markup=InlineKeyboardMarkup([[button]]))

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer the button press and edit the message."""
        await update.callback_query.answer("Sip")
        await update.callback_query.edit_message_text("sudah ditekan")

    app = (ApplicationBuilder().token(TOKEN).base_url(fake.base_url)
           .base_file_url(fake.base_file_url).build())
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=10))
        fake.push_text(4242, "halo bidan")
        first = await fake.wait_for_messages(4242, 1)
        fake.push_callback(4242, "lagi")
        both = await fake.wait_for_messages(4242, 2)
        await app.updater.stop()
        await app.stop()
    assert first[0].text == "echo: halo bidan"
    assert both[1].method == "editMessageText" and both[1].text == "sudah ditekan"
    assert fake.answered_callbacks[0]["text"] == "Sip"
    assert fake.pending_updates == []  # the final getUpdates confirmed everything
    assert fake.calls["deleteWebhook"] == 1


async def test_many_concurrent_requests_are_all_recorded(fake: Fake, http: Http) -> None:
    """A burst of concurrent sends is recorded completely, with per-chat indexes."""
    url = f"{fake.base_url}{fake.token}/sendMessage"

    async def send(i: int) -> None:
        """One urlencoded sendMessage."""
        async with http.post(url, data={"chat_id": str(i % 10), "text": f"m{i}"}) as response:
            assert response.status == 200

    await asyncio.gather(*(send(i) for i in range(500)))
    assert len(fake.sent) == 500
    assert all(len(fake.sent_to(chat)) == 50 for chat in range(10))
    await fake.wait_for_messages(3, 50, timeout=1)


async def test_application_receives_photo_and_sticker(fake: Fake) -> None:
    """Pushed photos and stickers reach PTB filters and the photo downloads through the app."""
    seen: list[str] = []

    async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Download the largest size and confirm."""
        file = await update.message.photo[-1].get_file()
        data = await file.download_as_bytearray()
        seen.append(f"photo:{bytes(data)!r}:{update.message.caption}")
        await update.message.reply_text("Foto diterima")

    async def on_sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Confirm a sticker."""
        seen.append(f"sticker:{update.message.sticker.emoji}")
        await update.message.reply_text("Stiker diterima")

    app = (ApplicationBuilder().token(TOKEN).base_url(fake.base_url)
           .base_file_url(fake.base_file_url).build())
    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    app.add_handler(MessageHandler(filters.Sticker.ALL, on_sticker))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, drop_pending_updates=True)
        fake.push_photo(8, "KMS", data=b"img")
        fake.push_sticker(8, emoji="🙏")
        await fake.wait_for_messages(8, 2)
        await app.updater.stop()
        await app.stop()
    assert seen == ["photo:b'img':KMS", "sticker:🙏"]


async def test_user_names_are_remembered_per_chat(fake: Fake) -> None:
    """A user's first_name carries over to later updates and to the Chat of bot messages."""
    fake.push_text(21, "/start", first_name="Pak Budi", username="budi")
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        sent = await bot.send_message(21, "Halo", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("OK", callback_data="ok")]]))
    assert sent.chat.first_name == "Pak Budi" and sent.chat.username == "budi"
    update = fake.push_callback(21, "ok")
    assert update["callback_query"]["from"]["first_name"] == "Pak Budi"
    assert update["callback_query"]["message"]["message_id"] == sent.message_id
    assert fake.push_text(22, "hai")["message"]["from"]["first_name"] == "Ibu Made"


async def test_allowed_updates_filters_later_pushes(fake: Fake, http: Http) -> None:
    """Once getUpdates set allowed_updates, other update types are never queued."""
    await call(http, fake, "getUpdates", allowed_updates=["message"])
    await call(http, fake, "sendMessage", chat_id=5, text="pilih",
               reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
    fake.push_callback(5, "a")
    fake.push_text(5, "teks")
    assert [_kind(u) for u in fake.pending_updates] == ["message"]
    assert [_kind(u) for u in fake.dropped_updates] == ["callback_query"]


def _kind(update: dict[str, Any]) -> str:
    """The update type key."""
    return next(key for key in update if key != "update_id")


async def test_wait_for_generic_predicate(fake: Fake, http: Http) -> None:
    """wait_for re-checks its predicate on every API call and returns its value."""

    async def later() -> None:
        """Send after a short delay."""
        await asyncio.sleep(0.05)
        await call(http, fake, "sendMessage", chat_id=6, text="nanti")

    task = asyncio.create_task(later())
    found = await fake.wait_for(lambda: [c for c in fake.sent if c.text == "nanti"], timeout=5)
    await task
    assert found[0].chat_id == 6


async def test_strict_chats_refuses_unknown_chat(http: Http) -> None:
    """With strict_chats, the bot can only write to chats whose user wrote first."""
    async with FakeTelegram(token=TOKEN, strict_chats=True) as fake:
        status, body = await call(http, fake, "sendMessage", chat_id=99, text="halo")
        assert (status, body["description"]) == (400, "Bad Request: chat not found")
        fake.push_text(99, "/start")
        status, _ = await call(http, fake, "sendMessage", chat_id=99, text="halo")
        assert status == 200


# ---------------------------------------------------------------------- payload samples


@pytest.mark.parametrize(
    ("fixture", "build"),
    [
        ("update_text_message", lambda f: f.text_update(5012345678, "Kapan jadwal posyandu?")),
        ("update_start_command", lambda f: f.text_update(5012345678, "/start")),
        ("update_photo_message", lambda f: f.photo_update(5012345678, "Foto buku KIA")),
        ("update_sticker_message", lambda f: f.sticker_update(5012345678)),
    ],
)
async def test_fake_updates_have_documented_shape(fake: Fake, fixture: str, build: Any) -> None:
    """Updates built by the fake use only keys present in the real payload samples."""
    sample = load_fixture(fixture)
    built = build(fake)
    assert key_paths(built) <= key_paths(sample), key_paths(built) - key_paths(sample)
    for payload in (sample, built):
        update = Update.de_json(payload, None)
        assert update.effective_message is not None and update.effective_user is not None
    if fixture == "update_start_command":
        assert built["message"]["entities"] == sample["message"]["entities"]


async def test_callback_and_send_message_shapes(fake: Fake, http: Http) -> None:
    """sendMessage responses and callback queries match the real samples' shapes."""
    response_sample = load_fixture("response_send_message")
    markup = response_sample["result"]["reply_markup"]
    _, body = await call(http, fake, "sendMessage", chat_id=5012345678, text="Pilih layanan:",
                         reply_markup=markup)
    assert key_paths(body) <= key_paths(response_sample)
    assert body["result"]["reply_markup"] == markup
    built = fake.callback_update(5012345678, "menu:jadwal")
    sample = load_fixture("update_callback_query")
    assert key_paths(built) <= key_paths(sample)
    assert Update.de_json(built, None).callback_query.data == "menu:jadwal"
    with pytest.raises(AssertionError, match="no button"):
        fake.callback_update(5012345678, "menu:tidak-ada")


async def test_error_samples_match_fault_injection(fake: Fake, http: Http) -> None:
    """Injected 429 and 403 bodies equal the documented error samples."""
    fake.fail_next("sendMessage", retry_after=3)
    status, body = await call(http, fake, "sendMessage", chat_id=1, text="x")
    assert (status, body) == (429, load_fixture("error_429_retry_after"))
    fake.block(1)
    status, body = await call(http, fake, "sendMessage", chat_id=1, text="x")
    assert (status, body) == (403, load_fixture("error_403_blocked"))
