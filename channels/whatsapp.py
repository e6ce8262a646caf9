"""WhatsApp over Meta's Cloud API: webhook payloads -> Incoming, Reply -> Graph API calls.

Only translation lives here (as in courier's ``handlers/whatsapp``): :func:`parse_webhook` turns a
webhook body into messages and statuses, :func:`message_payloads` turns a reply into the JSON bodies
of ``POST /{phone-number-id}/messages``, and :class:`GraphClient` posts them and maps Graph errors to
the shared classes. Choices become reply buttons (at most 3, titles of at most 20 characters) or a
list (at most 10 rows); more than 10 are numbered in the text, which the engine accepts as answers.

The customer-service window: free-form messages reach a person only within 24 hours of their last
message. :meth:`WhatsAppChannel.send_one` (the outbox sender) looks at ``Reply.last_inbound_at`` and
sends the template configured for the message's kind when the window is closed, or when the
provider says so (error 131047).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from channels.errors import ChannelError, PermanentFailure, RateLimited, TemporaryFailure, Unreachable
from channels.messages import Incoming, Reply
from content.i18n import _, use_locale

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WINDOW = timedelta(hours=24)
#: a message planned this close to the end of the window goes as a template: it may arrive after it
WINDOW_MARGIN = timedelta(minutes=10)
MAX_TEXT = 4096
MAX_BUTTON_BODY = 1024
MAX_LIST_BODY = 4096
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_LIST_BUTTON = 20
MAX_CAPTION = 1024
MAX_PARAMETER = 900
MAX_INLINE_WAIT = 2.0  # seconds a webhook may wait out a rate limit before the reply goes to the outbox
MEDIA_KINDS = {"image": "photo", "sticker": "sticker", "audio": "voice", "voice": "voice", "video": "video", "document": "document"}

#: outbox kind -> the key of its template in ``whatsapp.templates`` (the others are the same word)
TEMPLATE_KINDS = {"daily": "reminder"}

MediaFetcher = Callable[[str], Awaitable[tuple[bytes, str]]]


# ------------------------------------------------------------------ errors


class WindowClosed(PermanentFailure):
    """Error 131047: more than 24 hours since the person's last message; only a template may go."""


#: Graph error codes -> (shared class, seconds to wait for the rate limits)
_RATE_CODES = {4: 60.0, 80007: 60.0, 130429: 2.0, 131048: 600.0}
_PAIR_RATE_CODES = {131056: 6.0}  # too many messages to this one person: slow down for them only
_UNREACHABLE_CODES = {131026, 131021, 131030, 133010}
_TEMPORARY_CODES = {1, 2, 131000, 131016, 133004, 0, 190, 10, 200, 131031, 131005, 368}


def graph_error(status: int, data: Mapping[str, Any]) -> ChannelError:
    """The shared error class for a Graph API error answer; ``code`` is kept on the exception."""
    error = data.get("error") if isinstance(data.get("error"), Mapping) else {}
    code = error.get("code")
    code = int(code) if isinstance(code, (int, str)) and str(code).isdigit() else None
    exc: ChannelError
    if code == 131047:
        exc = WindowClosed("whatsapp: 131047 re-engagement window closed")
    elif code in _PAIR_RATE_CODES:
        exc = RateLimited(_PAIR_RATE_CODES[code], f"whatsapp: {code} pair rate limit", per_chat=True)
    elif code in _RATE_CODES:
        exc = RateLimited(_RATE_CODES[code], f"whatsapp: {code} rate limit")
    elif code in _UNREACHABLE_CODES:
        exc = Unreachable(f"whatsapp: {code} undeliverable")
    elif code in _TEMPORARY_CODES or status >= 500 or status == 429:
        # a wrong token or a locked account is the bot's problem, not the message's: retry
        exc = TemporaryFailure(f"whatsapp: {code if code is not None else status}")
    else:
        exc = PermanentFailure(f"whatsapp: {code if code is not None else status}")
    exc.code = code
    return exc


# ------------------------------------------------------------------ inbound


@dataclass(frozen=True)
class Status:
    """A delivery status of a message the bot sent."""

    message_id: str
    status: str  # sent | delivered | read | failed
    at: datetime
    error_code: int | None = None


def verify_signature(app_secret: str, raw: bytes, header: str | None) -> bool:
    """Whether ``X-Hub-Signature-256`` is the HMAC-SHA256 of the raw body with the app secret."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256="):].strip().lower(), expected)


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def _digits(value: Any) -> str:
    return re.sub(r"\D", "", str(value or ""))


def parse_webhook(payload: Mapping[str, Any], phone_number_id: str | None = None) -> tuple[list[Incoming], list[Status]]:
    """The messages and statuses in a webhook body (changes for another number are skipped)."""
    messages: list[Incoming] = []
    statuses: list[Status] = []
    if not isinstance(payload, Mapping) or payload.get("object") != "whatsapp_business_account":
        return messages, statuses
    for entry in payload.get("entry") or ():
        for change in (entry or {}).get("changes") or ():
            value = (change or {}).get("value") or {}
            if (change or {}).get("field") != "messages" or not isinstance(value, Mapping):
                continue
            number = str((value.get("metadata") or {}).get("phone_number_id") or "")
            if phone_number_id and number and number != phone_number_id:
                continue
            for message in value.get("messages") or ():
                incoming = to_incoming(message)
                if incoming is not None:
                    messages.append(incoming)
            for status in value.get("statuses") or ():
                if isinstance(status, Mapping) and status.get("id") and status.get("status"):
                    errors = status.get("errors") or [{}]
                    code = (errors[0] or {}).get("code") if isinstance(errors, list) and errors else None
                    statuses.append(Status(str(status["id"]), str(status["status"]), _timestamp(status.get("timestamp")),
                                           int(code) if isinstance(code, int) else None))
    return messages, statuses


def to_incoming(message: Mapping[str, Any]) -> Incoming | None:
    """The channel-neutral form of one webhook message (None for reactions and system notices)."""
    if not isinstance(message, Mapping) or not message.get("from") or not message.get("id"):
        return None
    sender = _digits(message["from"])
    if not sender:
        return None
    kind = message.get("type")
    common: dict[str, Any] = {
        "channel": CHANNEL, "address": sender, "message_id": str(message["id"]), "phone": sender,
        "at": _timestamp(message.get("timestamp")),
    }
    body = message.get(kind) if isinstance(message.get(kind), Mapping) else {}
    if kind == "text":
        return Incoming(text=str(body.get("body") or ""), **common)
    if kind == "interactive":
        reply = body.get(body.get("type")) if isinstance(body.get(body.get("type")), Mapping) else {}
        if body.get("type") in ("button_reply", "list_reply") and reply.get("id"):
            return Incoming(choice=str(reply["id"]), **common)
        return Incoming(media="other", **common)
    if kind == "button":  # a quick-reply button of a template: its payload is a word the engine knows
        return Incoming(text=str(body.get("payload") or body.get("text") or ""), **common)
    if kind == "location":
        try:
            point = (float(body["latitude"]), float(body["longitude"]))
        except (KeyError, TypeError, ValueError):
            return Incoming(media="other", **common)
        return Incoming(location=point, media="location", **common)
    if kind == "contacts":
        phones = [p.get("wa_id") or p.get("phone") for c in message.get("contacts") or () for p in (c or {}).get("phones") or ()]
        return Incoming(contact=_digits(phones[0]) if phones else None, media="contact", **common)
    if kind in MEDIA_KINDS:
        ref = str(body.get("id")) if kind == "image" and body.get("id") else None
        caption = body.get("caption")
        return Incoming(media=MEDIA_KINDS[kind], media_ref=ref, text=str(caption) if caption else None, **common)
    if kind in ("reaction", "system", "order", "request_welcome"):
        return None
    return Incoming(media="other", **common)


# ------------------------------------------------------------------ outbound


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Text cut at line ends into messages WhatsApp accepts."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces


def one_line(text: str, limit: int = MAX_PARAMETER) -> str:
    """Text as a template parameter: no new lines or tabs, no runs of spaces, not too long."""
    lines = [re.sub(r"\s+", " ", line).strip(" \u2022-") for line in text.splitlines()]
    flat = " \u00b7 ".join(line for line in lines if line)
    return _cut(flat, limit) or "-"


def _text(to: str, body: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"preview_url": False, "body": body}}


def _interactive(to: str, interactive: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "interactive",
            "interactive": interactive}


def choice_payload(to: str, text: str, reply: Reply) -> tuple[list[dict[str, Any]], str]:
    """The messages for a question with choices, and the form used: buttons, list or numbered."""
    choices = reply.choices
    titles = [_cut(c.label, MAX_BUTTON_TITLE) for c in choices]
    if len(choices) <= MAX_BUTTONS and len(set(titles)) == len(titles):
        head = split_text(text, MAX_BUTTON_BODY)
        buttons = [{"type": "reply", "reply": {"id": c.data[:256], "title": t}} for c, t in zip(choices, titles)]
        last = _interactive(to, {"type": "button", "body": {"text": head[-1]}, "action": {"buttons": buttons}})
        return [_text(to, piece) for piece in head[:-1]] + [last], "buttons"
    if len(choices) <= MAX_ROWS:
        head = split_text(text, MAX_LIST_BODY)
        rows = []
        for c in choices:
            row: dict[str, Any] = {"id": c.data[:200], "title": _cut(c.label, MAX_ROW_TITLE)}
            if len(c.label) > MAX_ROW_TITLE:
                row["description"] = _cut(c.label, MAX_ROW_DESCRIPTION)
            rows.append(row)
        with use_locale(reply.language or "id"):
            button, section = _cut(_("Pilih"), MAX_LIST_BUTTON), _cut(_("Pilihan"), MAX_ROW_TITLE)
        action = {"button": button, "sections": [{"title": section, "rows": rows}]}
        last = _interactive(to, {"type": "list", "body": {"text": head[-1]}, "action": action})
        return [_text(to, piece) for piece in head[:-1]] + [last], "list"
    with use_locale(reply.language or "id"):
        hint = _("Balas dengan nomor pilihan Anda.")
    numbered = "\n".join(f"{i}. {c.label}" for i, c in enumerate(choices, 1))
    return [_text(to, piece) for piece in split_text(f"{text}\n\n{numbered}\n\n{hint}")], "numbered"


def text_payloads(to: str, reply: Reply) -> list[dict[str, Any]]:
    """The messages for the text of a reply (with its choices), without media."""
    if reply.choices:
        return choice_payload(to, reply.text, reply)[0]
    return [_text(to, piece) for piece in split_text(reply.text) if piece.strip()]


def media_payload(to: str, kind: str, media_id: str, caption: str | None = None, filename: str | None = None) -> dict[str, Any]:
    """An image or document message by media id."""
    media: dict[str, Any] = {"id": media_id}
    if caption:
        media["caption"] = _cut(caption, MAX_CAPTION)
    if filename:
        media["filename"] = filename
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: media}


def template_payload(to: str, name: str, language: str, text: str) -> dict[str, Any]:
    """A template message whose one body parameter is the text on one line."""
    return {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
        "template": {
            "name": name, "language": {"code": language},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": one_line(text)}]}],
        },
    }


class GraphClient:
    """Posts to the Graph API with one aiohttp session; errors become the shared classes."""

    def __init__(self, base_url: str, phone_number_id: str, token: str, *, timeout: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=self._timeout),
                json_serialize=lambda data: json.dumps(data, ensure_ascii=False),
            )
        return self._session

    async def _call(self, method: str, url: str, **kwargs: Any) -> tuple[int, bytes]:
        try:
            async with self._client().request(method, url, **kwargs) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as exc:
            raise TemporaryFailure("whatsapp: timed out") from exc
        except aiohttp.ClientError as exc:
            raise TemporaryFailure(f"whatsapp: {type(exc).__name__}") from exc

    async def _json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        status, raw = await self._call(method, url, **kwargs)
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        if not 200 <= status <= 299 or "error" in data:
            raise graph_error(status, data)
        return data

    async def send(self, payload: dict[str, Any]) -> str:
        """Posts one message; returns its wamid."""
        data = await self._json("POST", f"{self.base_url}/{self.phone_number_id}/messages", json=payload)
        messages = data.get("messages") or [{}]
        return str(messages[0].get("id") or "")

    async def upload(self, data: bytes, mime: str, filename: str) -> str:
        """Uploads media for sending; returns its media id."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime)
        form.add_field("file", data, filename=filename, content_type=mime)
        answer = await self._json("POST", f"{self.base_url}/{self.phone_number_id}/media", data=form)
        return str(answer.get("id") or "")

    async def download(self, media_id: str) -> tuple[bytes, str]:
        """The bytes and MIME type of media a person sent."""
        info = await self._json("GET", f"{self.base_url}/{media_id}")
        url = str(info.get("url") or "")
        if not url.startswith(("http://", "https://")):
            raise PermanentFailure("whatsapp: media has no URL")
        status, raw = await self._call("GET", url)
        if not 200 <= status <= 299:
            raise graph_error(status, {})
        return raw, str(info.get("mime_type") or "application/octet-stream")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# ------------------------------------------------------------------ the channel


class WhatsAppChannel:
    """Hands webhook messages to the engine, sends its replies, and is the outbox's WhatsApp sender."""

    def __init__(
        self,
        config,
        handle: Callable[[Incoming], Awaitable[list[Reply]]],
        *,
        on_statuses: Callable[[list[Status]], Awaitable[None]] | None = None,
        on_undelivered: Callable[[str, list[Reply]], Awaitable[None]] | None = None,
        media_sources: Mapping[str, MediaFetcher] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        default_language: str = "id",
        client: GraphClient | None = None,
    ) -> None:
        from reminders.rate import TokenBucket

        self.config = config
        self.handle = handle
        self.on_statuses = on_statuses
        self.on_undelivered = on_undelivered
        self.media_sources = dict(media_sources or {})
        self.clock = clock
        self.default_language = default_language
        self.client = client or GraphClient(config.graph_base_url, config.phone_number_id, config.access_token)
        self.bucket = TokenBucket(config.rate or None)
        self._uploaded: dict[tuple[str, str], str] = {}  # (source channel, ref) -> our media id
        self._chat_locks: dict[str, list] = {}  # address -> [lock, users]

    # -- inbound

    async def on_webhook(self, payload: Mapping[str, Any]) -> None:
        """Handles one verified webhook body to completion (raises NotStored if it cannot be stored)."""
        messages, statuses = parse_webhook(payload, self.config.phone_number_id)
        if statuses and self.on_statuses is not None:
            await self.on_statuses(statuses)
        for incoming in messages:
            entry = self._chat_locks.setdefault(incoming.address, [asyncio.Lock(), 0])
            entry[1] += 1
            try:
                async with entry[0]:  # one chat's messages are handled and answered in order
                    replies = await self.handle(incoming)
                    try:
                        await self.send_replies(incoming.address, replies, incoming.at)
                    except Exception:  # the message is stored: answer 200, do not make Meta send it again
                        log.exception("whatsapp: sending a reply failed")
            finally:
                entry[1] -= 1
                if entry[1] == 0:
                    self._chat_locks.pop(incoming.address, None)

    async def send_replies(self, address: str, replies: list[Reply], inbound_at: datetime | None = None) -> None:
        """Sends the answer to a message; what cannot be sent now goes to the outbox for later."""
        for i, reply in enumerate(replies):
            if inbound_at is not None and reply.last_inbound_at is None:
                reply = _with(reply, kind=reply.kind or "reply", last_inbound_at=inbound_at)
            for attempt in range(2):
                try:
                    await self.send_one(address, reply)
                    break
                except RateLimited as exc:
                    if attempt == 1 or exc.retry_after > MAX_INLINE_WAIT:
                        await self._undelivered(address, replies[i:])  # the outbox waits, not the webhook
                        return
                    await asyncio.sleep(exc.retry_after)
                except Unreachable:
                    log.info("whatsapp: a person cannot be reached")
                    return
                except ChannelError as exc:
                    if exc.retryable:
                        await self._undelivered(address, replies[i:])
                    else:
                        log.warning("whatsapp: a reply was refused: %s", exc)
                    return

    async def _undelivered(self, address: str, replies: list[Reply]) -> None:
        if self.on_undelivered is not None:
            await self.on_undelivered(address, replies)

    # -- outbound

    def window_open(self, reply: Reply) -> bool:
        """Whether free-form messages may go: the person wrote within the last 24 hours."""
        if reply.template_only or reply.last_inbound_at is None:
            return False
        return self.clock() - reply.last_inbound_at < WINDOW - WINDOW_MARGIN

    async def send_one(self, address: str, reply: Reply) -> str:
        """Sends one reply (free form inside the window, else its kind's template); returns the last wamid."""
        if reply.last_inbound_at is not None or reply.template_only or reply.kind is not None:
            if not self.window_open(reply):
                return await self._template(address, reply)
        try:
            return await self._free_form(address, reply)
        except WindowClosed:
            return await self._template(address, reply)

    async def _post(self, payload: dict[str, Any]) -> str:
        await self.bucket.acquire()
        return await self.client.send(payload)

    async def _free_form(self, to: str, reply: Reply) -> str:
        wamid = ""
        for name, data in reply.files:
            media_id = await self.client.upload(data, _mime(name), name)
            wamid = await self._post(media_payload(to, "document", media_id, filename=name))
        media_id = await self._image_id(reply)
        text_reply = reply
        if media_id is not None:
            caption_fits = len(reply.text) <= MAX_CAPTION and not reply.choices
            wamid = await self._post(media_payload(to, "image", media_id, caption=reply.text if caption_fits else None))
            if caption_fits:
                return wamid
        for payload in text_payloads(to, text_reply):
            wamid = await self._post(payload)
        return wamid

    async def _image_id(self, reply: Reply) -> str | None:
        """Our media id for the reply's image: uploaded bytes, our own id, or another channel's fetched."""
        if reply.image is not None:
            return await self.client.upload(reply.image, "image/png", "grafik.png")
        if reply.image_ref is None:
            return None
        source = reply.image_channel or CHANNEL
        key = (source, reply.image_ref)
        if key not in self._uploaded:
            # a photo someone sent (here or on another channel) is fetched and uploaded once
            fetch = self.fetch_media if source == CHANNEL else self.media_sources.get(source)
            if fetch is None:
                raise PermanentFailure(f"whatsapp: cannot fetch a {source} photo")
            data, mime = await fetch(reply.image_ref)
            self._uploaded[key] = await self.client.upload(data, mime, "foto.jpg")
        return self._uploaded[key]

    async def _template(self, to: str, reply: Reply) -> str:
        kind = TEMPLATE_KINDS.get(reply.kind or "reply", reply.kind or "reply")
        name = self.config.templates.get(kind) or self.config.templates.get("reply")
        if not name:
            raise PermanentFailure(f"whatsapp: no template for {kind} messages")
        lang = reply.language or self.default_language
        code = self.config.template_languages.get(lang) or self.config.template_languages.get(self.default_language, "id")
        return await self._post(template_payload(to, name, code, reply.text))

    async def fetch_media(self, media_id: str) -> tuple[bytes, str]:
        """The bytes of a photo a person sent on WhatsApp (for sending it on another channel)."""
        return await self.client.download(media_id)

    async def close(self) -> None:
        await self.client.close()


def _with(reply: Reply, **changes: Any) -> Reply:
    from dataclasses import replace

    return replace(reply, **changes)


def _mime(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".csv"):
        return "text/plain"  # WhatsApp's document types have no text/csv
    if lower.endswith(".xlsx"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if lower.endswith(".png"):
        return "image/png"
    if lower.endswith(".pdf"):
        return "application/pdf"
    return "application/octet-stream"
