"""Telegram over python-telegram-bot 22: updates -> Incoming, Reply -> Bot API calls.

Polling and webhook both end in :meth:`TelegramChannel.on_update`; the webhook's HTTP side lives
in ``web/``. Choices become inline keyboards whose callback data is the choice's data; a pressed
keyboard is answered and removed so the same button cannot be pressed twice by accident.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from channels.errors import ChannelError, PermanentFailure, RateLimited, TemporaryFailure, Unreachable
from channels.messages import Incoming, Reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CAPTION = 1024
ALLOWED_UPDATES = ["message", "callback_query"]
Handler = Callable[[Incoming], Awaitable[list[Reply]]]


def map_error(exc: TelegramError) -> ChannelError:
    """The shared error class for a Bot API error."""
    if isinstance(exc, RetryAfter):
        retry = exc.retry_after
        seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)
        return RateLimited(seconds, "telegram: too many requests")
    if isinstance(exc, Forbidden):
        return Unreachable("telegram: blocked or deactivated")
    if isinstance(exc, (TimedOut, NetworkError)) and not isinstance(exc, BadRequest):
        return TemporaryFailure(f"telegram: {type(exc).__name__}")
    if isinstance(exc, (ChatMigrated, InvalidToken, BadRequest)):
        return PermanentFailure(f"telegram: {type(exc).__name__}")
    return TemporaryFailure(f"telegram: {type(exc).__name__}")


def to_incoming(update: Update) -> Incoming | None:
    """The channel-neutral message of an update (None for updates the bot ignores)."""
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message else None
        address = str(chat.id if chat else query.from_user.id)
        return Incoming(
            channel=CHANNEL, address=address, message_id=f"cb:{query.id}", choice=query.data or "",
            language_hint=query.from_user.language_code, at=datetime.now(UTC),
        )
    message = update.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return None
    common: dict[str, Any] = {
        "channel": CHANNEL,
        "address": str(message.chat.id),
        "message_id": f"{message.chat.id}:{message.message_id}",
        "language_hint": message.from_user.language_code if message.from_user else None,
        "at": message.date.astimezone(UTC) if message.date else datetime.now(UTC),
    }
    if message.text is not None:
        return Incoming(text=message.text, **common)
    if message.contact is not None:
        return Incoming(contact=message.contact.phone_number, media="contact", **common)
    if message.location is not None:
        return Incoming(location=(message.location.latitude, message.location.longitude), media="location", **common)
    kind = _media_kind(message)
    ref = message.photo[-1].file_id if kind == "photo" and message.photo else None
    return Incoming(media=kind, media_ref=ref, text=None, **common) if not message.caption else Incoming(
        media=kind, media_ref=ref, text=message.caption, **common)


def _media_kind(message) -> str:
    """What kind of non-text message this is."""
    for kind in ("photo", "sticker", "voice", "video", "audio", "document", "animation", "video_note"):
        if getattr(message, kind, None):
            return kind
    return "other"


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The inline keyboard of a reply: one button per row, two when the labels are short."""
    if not reply.choices:
        return None
    buttons = [InlineKeyboardButton(c.label[:64], callback_data=c.data[:64]) for c in reply.choices]
    if all(len(c.label) <= 14 for c in reply.choices) and len(buttons) > 2:
        rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    else:
        rows = [[b] for b in buttons]
    return InlineKeyboardMarkup(rows)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Text cut at line ends into pieces Telegram accepts (``limit`` in UTF-16 units)."""
    pieces: list[str] = []
    while utf16_len(text) > limit:
        end = limit
        while utf16_len(text[:end]) > limit:
            end -= (utf16_len(text[:end]) - limit + 1) // 2 or 1
        cut = text.rfind("\n", 0, end)
        cut = cut if cut > 0 else end
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces


class BotApiSender:
    """A lean ``sendMessage`` client for the outbox: one aiohttp session posting JSON to the Bot API.

    PTB's Bot costs several times more CPU per call (bench/dispatch.py: about 280 outbox messages per
    second on one core through PTB, about 1,800 through this). Errors map to the shared classes as
    :func:`map_error` maps PTB's.
    """

    def __init__(self, token: str, base_url: str, *, timeout: float = 20.0, connections: int = 100) -> None:
        self._url = f"{base_url}{token}/sendMessage"
        self._timeout = timeout
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                json_serialize=lambda data: json.dumps(data, ensure_ascii=False),
            )
        return self._session

    async def send(self, address: str, reply: Reply) -> str:
        """Sends one text reply (cut into pieces if long); returns the last piece's message id."""
        markup = keyboard(reply)
        pieces = split_text(reply.text)
        message_id = ""
        for i, piece in enumerate(pieces):
            payload: dict[str, Any] = {"chat_id": address, "text": piece}
            if markup is not None and i == len(pieces) - 1:
                payload["reply_markup"] = markup.to_dict()
            message_id = await self._post(payload)
        return message_id

    async def _post(self, payload: dict[str, Any]) -> str:
        try:
            async with self._client().post(self._url, json=payload) as response:
                status = response.status
                raw = await response.read()
        except asyncio.TimeoutError as exc:
            raise TemporaryFailure("telegram: TimedOut") from exc
        except aiohttp.ClientError as exc:
            raise TemporaryFailure("telegram: NetworkError") from exc
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if 200 <= status <= 299 and isinstance(data, dict) and data.get("ok"):
            return str((data.get("result") or {}).get("message_id", ""))
        raise api_error(status, data if isinstance(data, dict) else {})

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def api_error(status: int, data: dict[str, Any]) -> ChannelError:
    """The shared error class for a Bot API error answer (the same mapping as PTB + :func:`map_error`)."""
    parameters = data.get("parameters") or {}
    if parameters.get("migrate_to_chat_id"):
        return PermanentFailure("telegram: ChatMigrated")
    if parameters.get("retry_after"):
        return RateLimited(float(parameters["retry_after"]), "telegram: too many requests")
    if status == 403:
        return Unreachable("telegram: blocked or deactivated")
    if status in (401, 404):
        # a wrong token is the bot's problem, not the message's: retry until fixed or expired
        return TemporaryFailure("telegram: InvalidToken")
    if status == 400:
        return PermanentFailure("telegram: BadRequest")
    if status == 409:
        return TemporaryFailure("telegram: Conflict")
    return TemporaryFailure("telegram: NetworkError")


class TelegramChannel:
    """Owns the PTB Application; hands updates to the engine and sends its replies."""

    def __init__(self, config, handle: Handler, *, rate_limit: bool = True) -> None:
        self.config = config
        self.handle = handle
        builder = (
            ApplicationBuilder()
            .token(config.token)
            .base_url(config.base_url)
            .base_file_url(config.base_file_url)
        )
        if rate_limit:
            builder = builder.rate_limiter(AIORateLimiter())
        if config.mode == "webhook":
            builder = builder.updater(None)
        self.app: Application = builder.build()
        self.app.add_handler(CallbackQueryHandler(self.on_update))
        self.app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self.on_update))
        self.app.add_error_handler(self._on_error)
        self._api: BotApiSender | None = None  # the outbox's lean sender, made on first use

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE | None = None) -> None:
        """Handles one update: answers a button press, runs the engine, sends the replies."""
        incoming = to_incoming(update)
        if incoming is None:
            return
        query = update.callback_query
        if query is not None:
            # a press queued while the bot was down is "too old" to answer: handle it all the same
            try:
                await query.answer()
                if query.message is not None and getattr(query.message, "reply_markup", None):
                    await query.edit_message_reply_markup(reply_markup=None)
            except TelegramError as exc:
                log.warning("could not answer a button press: %s", type(exc).__name__)
        replies = await self.handle(incoming)
        await self.send_replies(int(incoming.address), replies)

    async def send_replies(self, chat_id: int, replies: list[Reply]) -> None:
        """Sends the answer to a message; waits out a 429 (twice at most) so the answer is not lost."""
        for attempt in range(3):
            try:
                await self.send(chat_id, replies)
                return
            except RateLimited as exc:
                if attempt == 2:
                    raise
                await asyncio.sleep(min(exc.retry_after, 30))
                sent = len(self._sent_in_turn)
                replies = replies[sent:]
            except Unreachable:
                log.info("a chat blocked the bot while it answered")
                return

    async def send(self, chat_id: int, replies: list[Reply]) -> list[int]:
        """Sends replies in order; returns the message ids; raises a shared ChannelError."""
        ids: list[int] = []
        self._sent_in_turn = ids
        try:
            for reply in replies:
                for name, data in reply.files:
                    sent = await self.app.bot.send_document(chat_id, document=InputFile(data, filename=name))
                    ids.append(sent.message_id)
                markup = keyboard(reply)
                if reply.image_ref is not None:
                    sent = await self.app.bot.send_photo(chat_id, photo=reply.image_ref, caption=reply.text[:MAX_CAPTION], reply_markup=markup)
                    ids.append(sent.message_id)
                    continue
                if reply.image is not None:
                    caption = reply.text[:MAX_CAPTION]
                    sent = await self.app.bot.send_photo(chat_id, photo=reply.image, caption=caption, reply_markup=markup)
                    ids.append(sent.message_id)
                    continue
                pieces = split_text(reply.text)
                for i, piece in enumerate(pieces):
                    last = i == len(pieces) - 1
                    sent = await self.app.bot.send_message(chat_id, piece, reply_markup=markup if last else None)
                    ids.append(sent.message_id)
        except TelegramError as exc:
            raise map_error(exc) from exc
        return ids

    async def send_one(self, address: str, reply: Reply) -> str:
        """Sends one outbox message to a chat; returns the provider message id as text.

        Text goes through the lean :class:`BotApiSender`; a reply with an image through PTB. Raises
        the shared ChannelError classes.
        """
        if reply.image is not None or reply.image_ref is not None:
            return str((await self.send(int(address), [reply]))[-1])
        if self._api is None:
            self._api = BotApiSender(self.config.token, self.config.base_url)
        return await self._api.send(address, reply)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Logs a failed update without its content."""
        log.error("telegram update failed: %s", type(context.error).__name__, exc_info=context.error)

    async def start(self) -> None:
        """Initialises the bot and starts polling, or registers the webhook."""
        await self.app.initialize()
        await self.app.start()
        if self.config.mode == "webhook":
            await self.app.bot.set_webhook(
                self.config.webhook_url, secret_token=self.config.webhook_secret, allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await self.app.bot.delete_webhook()
            await self.app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=10)

    async def stop(self) -> None:
        """Stops polling and shuts the application down."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        if self._api is not None:
            await self._api.close()

    async def process_webhook(self, payload: dict) -> None:
        """Handles one update delivered by the webhook, to completion."""
        update = Update.de_json(payload, self.app.bot)
        await self.app.process_update(update)
