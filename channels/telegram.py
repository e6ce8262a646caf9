"""Telegram: updates -> Incoming, Reply -> Bot API calls.

Polling is our own loop (:meth:`TelegramChannel.poll`): ``getUpdates``, handle the batch (its chats
concurrently, one chat's updates in order), and only then the next ``getUpdates``, whose offset confirms
the batch to Telegram. An update whose turn could not be committed (the engine raises :class:`NotStored`)
is tried again after a pause and is not confirmed before it is stored, so a crash or a database outage
loses no message; the apology it carries is sent once. The webhook's HTTP side lives in ``web/``; it
hands each update to :meth:`TelegramChannel.process_webhook`, which returns after the commit (the 200)
or answers 500 so that Telegram delivers the update again.

A 429 (too many requests) for one chat holds up no other chat: that chat's replies wait out ``retry_after``
in a lane of their own, in order, while the batch (or the webhook's answer) goes on.

Every Bot API call goes through one aiohttp session (:class:`BotApi`): updates are read as JSON, texts
and photos Telegram already has are posted as JSON, new photos and documents as multipart forms, and
every outcome (an HTTP answer, a timeout, a broken connection) becomes a shared error by one function,
:func:`api_error` (python-telegram-bot's objects cost several times more CPU per call; it is used by
the tests only). Choices become inline keyboards whose callback data is the choice's data; a pressed
keyboard is answered and removed so the same button cannot be pressed twice by accident.

Nothing is cut (``channels.fit``): a text longer than 4,096 UTF-16 units goes as several messages split
at line ends; a photo whose caption would pass 1,024 gets its first line as the caption and the rest
follows as text; a button label longer than 64 characters gets a short distinct one, its full label
written under the question (Bot API: sendMessage text 1-4096, sendPhoto caption 0-1024 characters after
entities parsing).

The command menu (Telegram's "/" button): :meth:`TelegramChannel.start` sets the default menu per
language with ``setMyCommands`` (``language_code`` "" for the default language, e.g. "en" for English;
the lists are passed in, channels know no handlers); a reply whose ``commands`` is not None sets that
chat's own menu (``BotCommandScopeChat``, which Telegram prefers to the default scope), an empty one
deletes it so the default applies again.

A refused bot token (401 Unauthorized, or 404 Not Found for a malformed one) stops the channel: it is
logged as an error, shown on ``/healthz`` (:attr:`TelegramChannel.problem`) and tried again every
``channels.errors.DOWN_PROBE`` seconds; nobody is marked unreachable for it.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import mimetypes
import time
from collections import OrderedDict, deque
from dataclasses import replace
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from channels.errors import ChannelDown, ChannelError, PermanentFailure, RateLimited, TemporaryFailure, Unreachable
from channels.fit import caption_parts, short_titles, with_legend
from channels.fit import split_text as fit_text
from channels.messages import Incoming, NotStored, Reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTON = 64  # a readable inline button label (the Bot API sets no limit; the screen does)
TOKEN_REFUSED = "the Telegram bot token was refused ({what}): set a valid TELEGRAM_BOT_TOKEN"
ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 10  # seconds one getUpdates long poll waits for news
POLL_LIMIT = 100  # updates per batch (Telegram's maximum)
#: pauses before trying a failed getUpdates again, or an update the database could not store
BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
STOP_GRACE = 15.0  # seconds a stop waits for the batch in hand before giving it up (it comes again)
MEDIA_KINDS = ("photo", "sticker", "voice", "video", "audio", "document", "animation", "video_note")
#: a chat's replies waiting out a 429 (:meth:`TelegramChannel._drain`): at most this many, each tried this
#: many times, a wait of at most this many seconds; on stop they get this long
LANE_MAX = 50
LANE_TRIES = 5
LANE_MAX_WAIT = 60.0
LANE_STOP_GRACE = 5.0
GC_YOUNG_THRESHOLD = 20_000  # new objects between collections of the youngest generation, once serving (see start)
Handler = Callable[[Incoming], Awaitable[list[Reply]]]


def incoming_from_update(update: Mapping[str, Any]) -> Incoming | None:
    """The channel-neutral message of an update as JSON (None for updates the bot ignores)."""
    query = update.get("callback_query")
    if query is not None:
        user = query.get("from") or {}
        chat = (query.get("message") or {}).get("chat") or {}
        return Incoming(
            channel=CHANNEL, address=str(chat.get("id") or user.get("id")), message_id=f"cb:{query['id']}",
            choice=query.get("data") or "", language_hint=user.get("language_code"), at=datetime.now(UTC),
        )
    message = update.get("message")
    if not message or (message.get("chat") or {}).get("type") != "private":
        return None
    chat_id = message["chat"]["id"]
    user = message.get("from")
    sent = message.get("date")
    common: dict[str, Any] = {
        "channel": CHANNEL,
        "address": str(chat_id),
        "message_id": f"{chat_id}:{message['message_id']}",
        "language_hint": user.get("language_code") if user else None,
        "at": datetime.fromtimestamp(sent, UTC) if sent else datetime.now(UTC),
    }
    if message.get("text") is not None:
        return Incoming(text=message["text"], **common)
    if message.get("contact"):
        contact = message["contact"]
        number = contact.get("phone_number")
        # Telegram fills user_id when the number belongs to a Telegram account: the sender's own id means the
        # sender's own number (the "send my number" button), which Telegram vouches for like WhatsApp's wa_id
        own = bool(user and contact.get("user_id") == user.get("id") and number)
        return Incoming(contact=number, phone=_own_phone(number) if own else None, media="contact", **common)
    if message.get("location"):
        where = message["location"]
        return Incoming(location=(where.get("latitude"), where.get("longitude")), media="location", **common)
    kind = next((k for k in MEDIA_KINDS if message.get(k)), "other")
    if kind == "document":  # a file sent as a file (a register to import): its id, name and size
        document = message["document"]
        return Incoming(media=kind, media_ref=document.get("file_id"), media_name=document.get("file_name"),
                        media_size=document.get("file_size"), text=message.get("caption") or None, **common)
    ref = message["photo"][-1].get("file_id") if kind == "photo" else None
    return Incoming(media=kind, media_ref=ref, text=message.get("caption") or None, **common)


def contact_keyboard(label: str) -> dict[str, Any]:
    """A one-time keyboard of one button that sends the person's own number (``request_contact``)."""
    return {"keyboard": [[{"text": label[:MAX_BUTTON], "request_contact": True}]], "one_time_keyboard": True,
            "resize_keyboard": True}


def _own_phone(number: str) -> str:
    """A number Telegram sends (``+62812...``, ``62812...``) as the digits the project stores (``62812...``)."""
    return "".join(c for c in number if c.isdigit())


def button_titles(reply: Reply) -> list[str]:
    """The labels of a reply's buttons, each readable on a phone (:data:`MAX_BUTTON`) and distinct."""
    return short_titles([c.label for c in reply.choices], MAX_BUTTON)


def shown_text(reply: Reply) -> str:
    """The text of a reply as sent: with the full labels of the buttons whose titles were shortened."""
    if not reply.choices:
        return reply.text
    return with_legend(reply.text, [c.label for c in reply.choices], button_titles(reply))


def keyboard_rows(reply: Reply) -> list[list[dict[str, str]]]:
    """The inline keyboard of a reply as JSON rows: one button per row, two when the labels are short."""
    titles = button_titles(reply)
    buttons = [{"text": title, "callback_data": c.data[:64]} for c, title in zip(reply.choices, titles)]
    if all(len(title) <= 14 for title in titles) and len(buttons) > 2:
        return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    return [[b] for b in buttons]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Text cut at line ends (a long line at a space) into pieces Telegram accepts (``limit`` in UTF-16 units)."""
    return fit_text(text, limit, utf16_len)


def photo_parts(reply: Reply) -> tuple[str, list[str]]:
    """(caption, texts after the photo): the whole text as the caption when it fits 1,024 UTF-16 units,
    else its first line, the rest (with the full button labels) in messages of at most 4,096."""
    caption, rest = caption_parts(shown_text(reply), MAX_CAPTION, utf16_len)
    return caption, [piece for piece in split_text(rest) if piece.strip()] if rest.strip() else []


def commands_payload(commands, *, language_code: str = "", chat_id: int | str | None = None) -> dict[str, Any]:
    """The setMyCommands body: (command, description) pairs for the default scope or one chat."""
    scope: dict[str, Any] = {"type": "chat", "chat_id": int(chat_id)} if chat_id is not None else {"type": "default"}
    payload: dict[str, Any] = {"commands": [{"command": c, "description": d} for c, d in commands], "scope": scope}
    if language_code:
        payload["language_code"] = language_code
    return payload


def image_file(data: bytes, mime: str | None = None) -> tuple[str, str]:
    """(file name, content type) of a photo uploaded from bytes: its type as given, else read from its
    first bytes (PNG or JPEG; a chart is a PNG)."""
    if mime is None:
        mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg" if data.startswith(b"\xff\xd8") else None
    extension = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(mime or "")
    return (f"photo.{extension}", mime) if extension and mime else ("photo", "application/octet-stream")


def document_type(name: str) -> str:
    """The content type of a document by its file name (``laporan.csv``: text/csv)."""
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def api_error(status: int, data: Mapping[str, Any]) -> ChannelError:
    """The shared error class for a Bot API answer other than ``ok`` (``status`` 0: no answer came, the
    request timed out or the connection failed; ``data`` then names which in ``description``)."""
    parameters = data.get("parameters") or {}
    if parameters.get("migrate_to_chat_id"):
        return PermanentFailure("telegram: ChatMigrated")
    if parameters.get("retry_after"):
        return RateLimited(float(parameters["retry_after"]), "telegram: too many requests")
    if status == 0:
        return TemporaryFailure(f"telegram: {data.get('description') or 'NetworkError'}")
    if status == 403:
        return Unreachable("telegram: blocked or deactivated")
    if status in (401, 404):
        # a wrong token is the bot's problem, not the message's: the channel stops until it is fixed
        return ChannelDown(TOKEN_REFUSED.format(what=f"HTTP {status} {'Unauthorized' if status == 401 else 'Not Found'}"))
    if status == 400:
        return PermanentFailure("telegram: BadRequest")
    if status == 409:
        return TemporaryFailure("telegram: Conflict")
    return TemporaryFailure("telegram: NetworkError")


class BotApi:
    """The Bot API client: one aiohttp session; JSON bodies, multipart forms for uploads; every outcome
    that is not a result raised as a shared ChannelError (:func:`api_error`).

    PTB's Bot costs several times more CPU per call (bench/dispatch.py: about 280 outbox messages per
    second on one core through PTB, about 1,800 through this).
    """

    def __init__(self, token: str, base_url: str, base_file_url: str = "https://api.telegram.org/file/bot", *,
                 timeout: float = 20.0, connections: int = 100) -> None:
        self._base = f"{base_url}{token}/"
        self._files = f"{base_file_url}{token}/"
        self._timeout = timeout
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                json_serialize=lambda data: json.dumps(data, ensure_ascii=False),
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets none
            )
        return self._session

    async def call(self, method: str, payload: Mapping[str, Any], *, timeout: float | None = None) -> Any:
        """Calls one Bot API method with a JSON body; returns its ``result`` or raises a shared ChannelError."""
        return await self._post(method, timeout, json=payload)

    async def upload(self, method: str, fields: Mapping[str, str], file_field: str, data: bytes,
                     filename: str, content_type: str) -> Any:
        """Calls one Bot API method with a multipart form: ``fields`` as text (a keyboard as its JSON)
        and one file part; returns its ``result`` or raises a shared ChannelError."""
        form = aiohttp.FormData(quote_fields=False)
        for key, value in fields.items():
            form.add_field(key, value)
        form.add_field(file_field, data, filename=filename, content_type=content_type)
        return await self._post(method, None, data=form)

    async def _post(self, method: str, timeout: float | None, **body: Any) -> Any:
        options = {"timeout": aiohttp.ClientTimeout(total=timeout)} if timeout is not None else {}
        status, raw = await self._request(self._base + method, body, options)
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if 200 <= status <= 299 and isinstance(data, dict) and data.get("ok"):
            return data.get("result")
        raise api_error(status, data if isinstance(data, dict) else {})

    async def _request(self, url: str, body: dict[str, Any], options: dict[str, Any], verb: str = "POST") -> tuple[int, bytes]:
        """(HTTP status, body) of one request; no answer is raised as :func:`api_error` maps status 0."""
        try:
            async with self._client().request(verb, url, **body, **options) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as exc:
            raise api_error(0, {"description": "TimedOut"}) from exc
        except aiohttp.ClientError as exc:
            raise api_error(0, {"description": "NetworkError"}) from exc

    async def download(self, file_id: str) -> bytes:
        """The bytes of a file Telegram keeps (``getFile``, then its ``file_path``)."""
        file = await self.call("getFile", {"file_id": file_id})
        status, raw = await self._request(self._files + str((file or {}).get("file_path") or ""), {}, {}, "GET")
        if 200 <= status <= 299:
            return raw
        if status == 404:  # the file, not the token (a refused token is 401 here)
            raise PermanentFailure("telegram: file not found")
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        raise api_error(status, data if isinstance(data, dict) else {})

    async def send_text(self, address: str, text: str, rows: list[list[dict[str, str]]] | None = None,
                        markup: dict[str, Any] | None = None) -> str:
        """Sends one message of at most 4,096 UTF-16 units (with inline ``rows``, or another ``markup``);
        returns its message id."""
        payload: dict[str, Any] = {"chat_id": address, "text": text}
        if rows:
            payload["reply_markup"] = {"inline_keyboard": rows}
        elif markup:
            payload["reply_markup"] = markup
        return _message_id(await self.call("sendMessage", payload))

    async def send(self, address: str, reply: Reply) -> str:
        """Sends one text reply (cut into pieces if long, the keyboard on the last); returns the last
        piece's message id."""
        rows = keyboard_rows(reply) if reply.choices else None
        markup = contact_keyboard(reply.contact_button) if reply.contact_button and not rows else None
        pieces = split_text(shown_text(reply))
        message_id = ""
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            message_id = await self.send_text(address, piece, rows if last else None, markup if last else None)
        return message_id

    async def send_photo(self, address: str, reply: Reply, photo: str | bytes, mime: str | None = None) -> tuple[str, Any]:
        """A photo (a file_id Telegram has, as JSON; bytes, uploaded) with its caption; a text too long
        for a caption follows the photo, the keyboard on its last piece. Returns the last message id and
        the photo's Message."""
        caption, rest = photo_parts(reply)
        rows = keyboard_rows(reply) if reply.choices else None
        markup = {"inline_keyboard": rows} if rows and not rest else None
        if isinstance(photo, str):
            payload: dict[str, Any] = {"chat_id": address, "photo": photo}
            if caption:
                payload["caption"] = caption
            if markup:
                payload["reply_markup"] = markup
            sent = await self.call("sendPhoto", payload)
        else:
            fields = {"chat_id": address}
            if caption:
                fields["caption"] = caption
            if markup:
                fields["reply_markup"] = json.dumps(markup, ensure_ascii=False)
            sent = await self.upload("sendPhoto", fields, "photo", photo, *image_file(photo, mime))
        message_id = _message_id(sent)
        for i, piece in enumerate(rest):
            message_id = await self.send_text(address, piece, rows if i == len(rest) - 1 else None)
        return message_id, sent

    async def send_document(self, address: str, name: str, data: bytes) -> str:
        """One document, uploaded with its file name; returns its message id."""
        return _message_id(await self.upload("sendDocument", {"chat_id": address}, "document", data, name, document_type(name)))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _message_id(result: Any) -> str:
    return str(result.get("message_id", "")) if isinstance(result, dict) else ""


class TelegramChannel:
    """Polls (or takes webhook updates), hands them to the engine and sends its replies.

    ``handle`` is the engine's durable entry point (``Engine.handle_durably``): it may raise
    :class:`NotStored`, and the update is then neither confirmed by polling nor answered 200 by the
    webhook.
    """

    def __init__(self, config, handle: Handler, *, concurrency: int = 16,
                 poll_timeout: int = POLL_TIMEOUT, freeze_gc: bool = True,
                 menus: Mapping[str, Sequence[tuple[str, str]]] | None = None, account: str = "default") -> None:
        self.config = config
        #: the account (bot) this channel is: its chats' messages carry it, so they are answered from it
        self.account = account
        #: the default command menu by language_code ("" for everyone whose language has no own list)
        self.menus = dict(menus or {})
        #: what stops the channel from sending (for the log and /healthz); None while it works
        self.problem: str | None = None
        self._down_until: float | None = None
        self.freeze_gc = freeze_gc
        self.handle = handle
        self.api = BotApi(config.token, config.base_url, config.base_file_url)
        #: the bot's own User (``getMe``), once :meth:`initialize` has asked
        self.me: dict[str, Any] | None = None
        self.poll_timeout = poll_timeout
        #: the first update id not yet confirmed to Telegram (None: nothing fetched yet)
        self.offset: int | None = None
        self._confirmed: int | None = None
        self._gate = asyncio.Semaphore(concurrency)
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task | None = None
        #: other channels' media by channel (``async ref -> (bytes, mime)``), for their staff's photos
        self.media_sources: dict[str, Callable[[str], Awaitable[tuple[bytes, str]]]] = {}
        self._foreign_photos: dict[tuple[str | None, str], str] = {}  # (channel, ref) -> our file_id
        #: updates whose turn failed to store once: their press is answered and apology sent already
        self._failed: OrderedDict[int, None] = OrderedDict()
        #: chats waiting out a 429 (by address): their replies, sent in order apart from everyone else's
        self._lanes: dict[str, _Lane] = {}

    # -- inbound

    async def process(self, update: Mapping[str, Any]) -> None:
        """Handles one update to completion: answers a press, runs the engine, sends the replies.

        Raises :class:`NotStored` when the turn could not be committed; its apology goes out the first
        time only, and a press is answered the first time only.
        """
        try:
            incoming = incoming_from_update(update)
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("telegram: an update of an unexpected shape was skipped")
            return
        if incoming is None:
            return
        if self.account != incoming.account:
            incoming = replace(incoming, account=self.account)
        update_id = update.get("update_id")
        again = update_id in self._failed
        query = update.get("callback_query")
        # the press is answered while the engine works; its keyboard is gone before the answer is sent
        pressed = asyncio.ensure_future(self._answer_press(query)) if query is not None and not again else None
        try:
            replies = await self.handle(incoming)
        except NotStored as exc:
            if pressed is not None:
                await pressed
            if not again:
                self._remember_failure(update_id)
                await self._deliver(incoming.address, exc.replies)
            raise
        except asyncio.CancelledError:
            if pressed is not None:
                pressed.cancel()
            raise
        except Exception:
            if pressed is not None:
                await pressed
            raise
        if pressed is not None:
            await pressed
        if again:
            self._failed.pop(update_id, None)
        await self._deliver(incoming.address, replies)

    def _remember_failure(self, update_id: int | None) -> None:
        if update_id is None:
            return
        self._failed[update_id] = None
        while len(self._failed) > 10_000:
            self._failed.popitem(last=False)

    async def _answer_press(self, query: Mapping[str, Any]) -> None:
        """Answers a button press and removes the pressed keyboard (a press queued while the bot was
        down is "too old" to answer: it is handled all the same)."""
        message = query.get("message") or {}
        calls = [self.api.call("answerCallbackQuery", {"callback_query_id": query["id"]})]
        if message.get("reply_markup") and message.get("message_id") and (message.get("chat") or {}).get("id"):
            calls.append(self.api.call("editMessageReplyMarkup", {"chat_id": message["chat"]["id"], "message_id": message["message_id"]}))
        for result in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(result, Exception):
                log.warning("could not answer a button press: %s", result)

    async def _deliver(self, address: str, replies: list[Reply]) -> None:
        """Sends a turn's replies; a reply that cannot be sent is logged (the turn is stored already).

        A 429 for this chat does not hold up anyone else: the chat's replies from there on wait in its own
        lane (:meth:`_drain`, ``retry_after`` honoured, in order), and this returns at once, so the polling
        batch (and a webhook's answer) goes on with the other chats.
        """
        if not replies:
            return
        if address in self._lanes:  # the chat waits out a 429: its replies queue behind the earlier ones
            self._queue(address, replies, 0.0)
            return
        sent = 0
        try:
            for reply in replies:
                await self._send_reply(address, reply)
                sent += 1
        except RateLimited as exc:
            self._queue(address, replies[sent:], exc.retry_after)
        except Unreachable:
            log.info("a chat blocked the bot while it answered")
        except ChannelError as exc:
            log.warning("telegram: a reply could not be sent: %s", exc)
        except Exception:
            log.exception("telegram: a reply could not be sent")

    async def _send_reply(self, address: str, reply: Reply) -> None:
        await self.send_one(address, reply)
        if reply.commands is not None:
            await self.set_chat_commands(address, reply.commands)

    def _queue(self, address: str, replies: list[Reply], wait: float) -> None:
        """Puts replies in the chat's lane (started, waiting ``wait`` seconds, when there is none); past
        :data:`LANE_MAX` waiting replies the newest are dropped, logged."""
        lane = self._lanes.get(address)
        if lane is None:
            lane = self._lanes[address] = _Lane(wait)
            lane.task = asyncio.create_task(self._drain(address, lane), name="telegram-chat-lane")
        room = max(0, LANE_MAX - len(lane.replies))
        if len(replies) > room:
            log.warning("telegram: a chat waiting out a 429 has %d replies waiting; %d more are dropped",
                        len(lane.replies), len(replies) - room)
        lane.replies.extend(replies[:room])

    async def _drain(self, address: str, lane: _Lane) -> None:
        """Sends a chat's waiting replies in order, each 429's ``retry_after`` waited out (a reply refused
        :data:`LANE_TRIES` times in a row is dropped, logged); ends when none is left."""
        try:
            tries = 0
            while lane.replies:
                await asyncio.sleep(min(lane.wait, LANE_MAX_WAIT))
                while lane.replies:
                    try:
                        await self._send_reply(address, lane.replies[0])
                    except RateLimited as exc:
                        tries += 1
                        if tries < LANE_TRIES:
                            lane.wait = exc.retry_after
                            break
                        log.warning("telegram: a reply was refused %d times for too many requests; dropped", tries)
                    except Unreachable:
                        log.info("a chat blocked the bot while it answered")
                        lane.replies.clear()
                        return
                    except ChannelError as exc:
                        log.warning("telegram: a reply could not be sent: %s", exc)
                    except Exception:
                        log.exception("telegram: a reply could not be sent")
                    lane.replies.popleft()
                    tries = 0
        finally:
            self._lanes.pop(address, None)

    async def _close_lanes(self) -> None:
        """On stop: the chats' waiting replies get :data:`LANE_STOP_GRACE` seconds, then are dropped, counted."""
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=LANE_STOP_GRACE)
        if pending:
            left = sum(len(lane.replies) for lane in self._lanes.values())
            log.warning("telegram: stopped with %d replies waiting out a 429 in %d chats; they are not sent", left, len(pending))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def process_webhook(self, payload: dict) -> None:
        """Handles one update delivered by the webhook, to completion; answers 500 when it was not
        stored, so that Telegram delivers it again."""
        try:
            await self.process(payload)
        except NotStored:
            raise web.HTTPInternalServerError(
                text=json.dumps({"ok": False, "error": "not stored, try again"}), content_type="application/json",
            ) from None

    # -- polling

    async def poll(self) -> None:
        """Fetches and handles updates until :meth:`stop`; a batch is confirmed only after it was handled."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await self._poll(stopping)
        finally:
            stopping.cancel()
        await self._confirm()

    async def _poll(self, stopping: asyncio.Future) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                updates = await self._fetch(stopping)
            except RateLimited as exc:
                log.warning("telegram getUpdates: too many requests; again in %.0f s", exc.retry_after)
                await self._pause(exc.retry_after)
                continue
            except ChannelDown as exc:
                self._went_down(exc)
                await self._pause(exc.retry_after)
                continue
            except ChannelError as exc:
                delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
                failures += 1
                log.warning("telegram getUpdates failed (%s); again in %.0f s", exc, delay)
                await self._pause(delay)
                continue
            failures = 0
            self._went_up()
            if updates:
                await self._handle_batch(updates)

    async def _fetch(self, stopping: asyncio.Future) -> list[dict[str, Any]]:
        """One long poll (confirming ``offset``); empty when ``stopping`` is done first."""
        payload: dict[str, Any] = {"timeout": self.poll_timeout, "limit": POLL_LIMIT, "allowed_updates": ALLOWED_UPDATES}
        if self.offset is not None:
            payload["offset"] = self.offset
        request = asyncio.ensure_future(self.api.call("getUpdates", payload, timeout=self.poll_timeout + 10))
        try:
            await asyncio.wait((request, stopping), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            request.cancel()
            raise
        if not request.done():
            request.cancel()
            with contextlib.suppress(asyncio.CancelledError, ChannelError):
                await request
            return []
        self._confirmed = self.offset
        return request.result() or []

    async def _handle_batch(self, updates: list[dict[str, Any]]) -> None:
        """Handles one batch: chats concurrently, each chat's updates in order; moves the offset past
        every update handled (all of them, unless a stop gave up on one not yet stored)."""
        chats: dict[str, list[dict[str, Any]]] = {}
        for update in updates:
            chats.setdefault(_chat_key(update), []).append(update)
        left = await asyncio.gather(*(self._handle_chat(chat_updates) for chat_updates in chats.values()))
        unfinished = [update_id for update_id in left if update_id is not None]
        self.offset = min(unfinished) if unfinished else max(int(u["update_id"]) for u in updates) + 1

    async def _handle_chat(self, updates: list[dict[str, Any]]) -> int | None:
        """One chat's updates in order; the id of the first one not stored when stopping, else None."""
        for update in updates:
            attempt = 0
            while True:
                try:
                    async with self._gate:
                        await self.process(update)
                    break
                except NotStored:
                    if not self._stopping.is_set():
                        delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
                        attempt += 1
                        log.warning("telegram: an update could not be stored; trying again in %.0f s", delay)
                        await self._pause(delay)
                    if self._stopping.is_set():
                        return int(update["update_id"])
                except Exception:
                    log.exception("telegram: an update failed and is skipped")
                    break
        return None

    async def _pause(self, seconds: float) -> None:
        """Sleeps ``seconds``, or less when the channel stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _confirm(self) -> None:
        """Tells Telegram about the handled updates not yet confirmed (on stop)."""
        if self.offset is None or self.offset == self._confirmed:
            return
        try:
            await self.api.call("getUpdates", {"offset": self.offset, "limit": 1, "timeout": 0}, timeout=5)
            self._confirmed = self.offset
        except ChannelError as exc:
            log.warning("telegram: could not confirm the last updates (%s); they will come again", exc)

    # -- outbound

    async def send_replies(self, chat_id: int, replies: list[Reply]) -> None:
        """Sends the answer to a message in order; waits out a 429 (twice at most) so the answer is not
        lost; a reply with ``commands`` then sets the chat's command menu."""
        address = str(chat_id)
        waits = 0
        for reply in replies:
            while True:
                try:
                    await self.send_one(address, reply)
                    break
                except RateLimited as exc:
                    if waits == 2:
                        raise
                    waits += 1
                    await asyncio.sleep(min(exc.retry_after, 30))
                except Unreachable:
                    log.info("a chat blocked the bot while it answered")
                    return
            if reply.commands is not None:
                await self.set_chat_commands(address, reply.commands)

    async def send_one(self, address: str, reply: Reply) -> str:
        """Sends one reply (or outbox message) to a chat; returns the provider message id as text.

        Documents go first, then the photo (with its caption) or the text. Raises the shared ChannelError
        classes; :class:`ChannelDown` (also at once, without calling Telegram, while the channel is
        stopped) when the bot token is refused.
        """
        self._refuse_while_down()
        try:
            for name, data in reply.files:
                await self.api.send_document(address, name, data)
            if reply.image_ref is not None and (reply.image_channel or CHANNEL) != CHANNEL:
                message_id = await self._send_foreign_photo(address, reply)
            elif reply.image_ref is not None or reply.image is not None:
                message_id, _sent = await self.api.send_photo(address, reply, reply.image_ref if reply.image_ref is not None else reply.image)
            else:
                message_id = await self.api.send(address, reply)
        except ChannelDown as exc:
            self._went_down(exc)
            raise
        self._went_up()
        return message_id

    async def _send_foreign_photo(self, address: str, reply: Reply) -> str:
        """A photo sent on another channel (a staff broadcast from WhatsApp): fetched once, then by file_id."""
        key = (reply.image_channel, reply.image_ref)
        if key in self._foreign_photos:
            return (await self.api.send_photo(address, reply, self._foreign_photos[key]))[0]
        fetch = self.media_sources.get(reply.image_channel)
        if fetch is None:
            raise PermanentFailure(f"telegram: cannot fetch a {reply.image_channel} photo")
        try:
            data, mime = await fetch(reply.image_ref)
        except ChannelDown as exc:  # the other channel's problem, not ours
            raise TemporaryFailure(f"telegram: the {reply.image_channel} photo cannot be fetched now") from exc
        message_id, sent = await self.api.send_photo(address, reply, data, mime)
        sizes = sent.get("photo") if isinstance(sent, dict) else None
        if sizes:
            self._foreign_photos[key] = sizes[-1]["file_id"]
        return message_id

    # -- the command menu

    async def set_chat_commands(self, address: str, commands: Sequence[tuple[str, str]]) -> None:
        """Sets one chat's command menu (an empty one is deleted: the default menu applies again)."""
        scope = {"scope": {"type": "chat", "chat_id": int(address)}}
        try:
            if commands:
                await self.api.call("setMyCommands", commands_payload(commands, chat_id=address))
            else:
                await self.api.call("deleteMyCommands", scope)
        except ChannelError as exc:
            log.warning("telegram: a chat's command menu could not be set: %s", exc.reason)

    async def set_default_commands(self) -> None:
        """Sets the default command menu for each language of :attr:`menus` (at start)."""
        for language_code, commands in self.menus.items():
            try:
                await self.api.call("setMyCommands", commands_payload(commands, language_code=language_code))
            except ChannelError as exc:
                log.warning("telegram: the command menu (%s) could not be set: %s", language_code or "default", exc.reason)

    # -- health

    def _went_down(self, exc: ChannelDown) -> None:
        """The channel stops sending until ``exc.retry_after`` has passed; said loudly when found (again)."""
        now = time.monotonic()
        known = exc.problem == self.problem and self._down_until is not None and now < self._down_until
        self.problem = exc.problem
        self._down_until = now + exc.retry_after
        if known:  # found again by a send that was already under way
            return
        log.error("telegram: STOPPED: %s (nobody is marked unreachable for it; trying again in %.0f s)",
                  exc.problem, exc.retry_after)

    def _went_up(self) -> None:
        if self.problem is not None:
            log.warning("telegram: working again (it had stopped: %s)", self.problem)
        self.problem = None
        self._down_until = None

    def _refuse_while_down(self) -> None:
        """Raises ChannelDown without calling Telegram while the channel is stopped and its next try is not due."""
        if self._down_until is not None:
            left = self._down_until - time.monotonic()
            if left > 0:
                raise ChannelDown(self.problem or "Telegram stopped", left)

    async def fetch_media(self, file_id: str) -> tuple[bytes, str]:
        """The bytes of a photo a person sent here (to send it on another channel), or of a document (a
        register to import: the MIME type is then not this one; the importer reads the bytes). A bot
        downloads files of at most 20 MB (Telegram's limit)."""
        return await self.api.download(file_id), "image/jpeg"

    # -- life cycle

    async def initialize(self) -> None:
        """Asks Telegram who the bot is (``getMe``), once: a refused token shows here, before serving."""
        if self.me is None:
            self.me = await self.api.call("getMe", {})

    async def start(self, *, register: bool = True) -> None:
        """Initialises the bot and starts polling, or registers the webhook. ``register=False``: a process
        of several sharing one webhook (``web.workers``) that leaves the webhook and the command menu to
        the one that registers them (it only answers the webhook's POSTs).

        With ``freeze_gc`` the objects the program holds once started (modules, classes, tables) leave
        the cyclic garbage collector's view (``gc.freeze``, after collecting the start-up's garbage): a
        full collection walking them all stalls every chat for 50-120 ms, which showed as the p99 of
        ``bench/chat_turns.py --e2e --think 2`` (140 -> 84 ms). The youngest generation is then collected
        after 20,000 new objects instead of 700 (a turn makes thousands): 3% less CPU per turn. It
        belongs where the process finishes starting (``bot.py``); here it runs once per process, when
        the bot starts serving.
        """
        await self.initialize()
        if register:
            await self.set_default_commands()
        if self.freeze_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        if self.config.mode == "webhook" and not register:
            return
        if self.config.mode == "webhook":
            webhook: dict[str, Any] = {"url": self.config.webhook_url, "allowed_updates": ALLOWED_UPDATES}
            if self.config.webhook_secret:
                webhook["secret_token"] = self.config.webhook_secret
            await self.api.call("setWebhook", webhook)
            return
        await self.api.call("deleteWebhook", {})
        self._stopping.clear()
        self._poller = asyncio.create_task(self.poll(), name="telegram-polling")

    async def stop(self) -> None:
        """Stops polling (the batch in hand is finished, or given up after a grace period and fetched
        again on the next start) and closes the Bot API session."""
        self._stopping.set()
        if self._poller is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._poller), STOP_GRACE)
            except TimeoutError:
                log.warning("telegram: stopped while updates were in hand; they will come again")
                self._poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._poller
            except Exception:
                log.exception("telegram polling ended with an error")
            self._poller = None
        await self._close_lanes()
        await self.api.close()


class _Lane:
    """One chat's replies waiting out a 429, and the task sending them."""

    __slots__ = ("replies", "wait", "task")

    def __init__(self, wait: float) -> None:
        self.replies: deque[Reply] = deque()
        self.wait = wait
        self.task: asyncio.Task | None = None


def _chat_key(update: Mapping[str, Any]) -> str:
    """The chat an update belongs to (its updates are handled in order); the update id when unknown."""
    try:
        query = update.get("callback_query")
        if query is not None:
            return str(((query.get("message") or {}).get("chat") or {}).get("id") or (query.get("from") or {}).get("id"))
        return str(update["message"]["chat"]["id"])
    except (KeyError, TypeError, AttributeError):
        return f"update:{update.get('update_id')}"
