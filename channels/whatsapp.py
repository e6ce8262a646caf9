"""WhatsApp over Meta's Cloud API: webhook payloads -> Incoming, Reply -> Graph API calls.

Only translation lives here (as in courier's ``handlers/whatsapp``): :func:`parse_webhook` turns a
webhook body into messages and statuses, :func:`text_payloads` turns a reply into the JSON bodies
of ``POST /{phone-number-id}/messages``, and :class:`GraphClient` posts them; :func:`graph_error` maps
every Graph error to the shared classes of ``channels.errors``. Choices become reply buttons (at most 3,
titles of at most 20 characters) or a list (at most 10 rows, titles of 24); more than 10 are numbered
in the text, which the engine accepts as answers. Nothing is cut (``channels.fit``): long texts go as
several messages, a title too long becomes a short distinct one with the full label in the text or the
row's description, a photo whose caption is too long gets a short one and the rest follows as text.

Limits, from Meta's Cloud API reference (messages, interactive reply buttons and list messages): text
body 4,096 characters; reply-button body 1,024, at most 3 buttons, title 20; list body 4,096, button
text 20, at most 10 rows, row title 24, row description 72; media caption 1,024.

The customer-service window: free-form messages reach a person only within 24 hours of their last
message. :meth:`WhatsAppChannel.send_one` (the outbox sender) looks at ``Reply.last_inbound_at`` and
sends the template configured for the message's kind when the window is closed, or when the
provider says so (error 131047). A template's one body parameter keeps the text's first and last lines
(a reminder's last line is the ``/berhenti`` opt-out) and drops lines from the middle when it is too long.

When Meta answers that the configuration or the account is wrong (a bad token, a number not registered,
a locked or blocked account, a permission removed), the channel stops sending, logs it as an error,
shows it on ``/healthz`` (:attr:`WhatsAppChannel.problem`) and tries one message again every
``channels.errors.DOWN_PROBE`` seconds; nobody is marked unreachable for it.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from channels.errors import (
    ChannelDown, ChannelError, PermanentFailure, RateLimited, TemplateRejected, TemporaryFailure, Unreachable,
)
from channels.fit import ELLIPSIS, caption_parts, first_words, short_titles, shorten_middle, with_legend
from channels.fit import split_text as fit_text
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
#: a template's body parameter: the body of an approved template is at most 1,024 characters with its own
#: words, so the text that fills {{1}} keeps to 900
MAX_PARAMETER = 900
MAX_INLINE_WAIT = 2.0  # seconds a webhook may wait out a rate limit before the reply goes to the outbox
MEDIA_KINDS = {"image": "photo", "sticker": "sticker", "audio": "voice", "voice": "voice", "video": "video", "document": "document"}

#: outbox kind -> the key of its template in ``whatsapp.templates`` (the others are the same word)
TEMPLATE_KINDS = {"daily": "reminder"}

MediaFetcher = Callable[[str], Awaitable[tuple[bytes, str]]]


# ------------------------------------------------------------------ errors


class WindowClosed(PermanentFailure):
    """Error 131047: more than 24 hours since the person's last message; only a template may go."""


# Meta's error codes (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/,
# "Updated: Jun 18, 2026"): Meta advises handling by ``code`` (and ``error_data.details``), not by title.

#: the configuration's or the account's problem, not the message's: every send would fail alike, so the
#: channel stops and says what to fix (authorization 0, 3, 10, 190, 200-299; integrity 368, 131031;
#: registration 133010; and the account-wide send errors 131005, 131037, 131042, 131045, 131057)
CHANNEL_DOWN_CODES: dict[int, str] = {
    0: "authentication failed (AuthException): check WHATSAPP_ACCESS_TOKEN",
    3: "the app lacks the capability or permission for this API method",
    10: "permission denied: the access token lacks the whatsapp_business_messaging permission",
    190: "the access token is invalid or expired: set a new WHATSAPP_ACCESS_TOKEN",
    368: "the WhatsApp Business Account is temporarily blocked for policy violations",
    131005: "access denied: a permission was not granted or was removed",
    131031: "the WhatsApp Business Account is locked (a policy violation, or a wrong two-step PIN)",
    131037: "the business number needs an approved display name before it can send",
    131042: "a payment problem on the WhatsApp Business Account",
    131045: "the business number's registration (certificate) is wrong: register the number again",
    131057: "the WhatsApp Business Account is in maintenance mode",
    133010: "the business phone number is not registered with the Cloud API: register it (POST /<phone-number-id>/register)",
}
_API_PERMISSION = range(200, 300)  # "API Permission: permission is either not granted or has been removed"
#: Graph API 100 with subcode 33: the object (our phone number id) does not exist or this token cannot see it
_UNKNOWN_OBJECT = 33
#: rate limits of the whole account or number -> seconds to pause the channel (4 app calls, 80007 WABA,
#: 130429 throughput, 131048 spam rate limit)
_RATE_CODES = {4: 60.0, 80007: 60.0, 130429: 2.0, 131048: 600.0}
_PAIR_RATE_CODES = {131056: 6.0}  # too many messages to this one person: slow down for them only
#: the person cannot get WhatsApp messages from us (131026 undeliverable, 131021 recipient is the sender,
#: 131030 not among a test number's allowed recipients)
_UNREACHABLE_CODES = {131026, 131021, 131030}
#: Meta's side is down for a moment (1 unknown, 2 service, 131000 something went wrong, 131016 service
#: unavailable, 133004 server temporarily unavailable)
_TEMPORARY_CODES = {1, 2, 131000, 131016, 133004}
#: template errors: 132000 parameter count, 132001 not in this language / not approved, 132005 hydrated text
#: too long, 132007 content policy, 132008/132012 parameter format, 132015 paused, 132016 disabled,
#: 132018 parameter has new lines or tabs, 132068/132069 flows
_TEMPLATE_CODES = range(132000, 133000)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else None


def graph_error(status: int, data: Mapping[str, Any], *, sending: bool = True) -> ChannelError:
    """The shared error class for a Graph API answer (``status`` and its JSON body); ``code`` is kept.

    ``sending`` is False for media look-ups, where an unknown object is that media, not our number.
    """
    error = data.get("error") if isinstance(data.get("error"), Mapping) else {}
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    exc: ChannelError
    if code == 131047:
        exc = WindowClosed("whatsapp 131047: re-engagement window closed")
    elif code in _PAIR_RATE_CODES:
        exc = RateLimited(_PAIR_RATE_CODES[code], f"whatsapp {code}: pair rate limit", per_chat=True)
    elif code in _RATE_CODES:
        exc = RateLimited(_RATE_CODES[code], f"whatsapp {code}: rate limit")
    elif code in CHANNEL_DOWN_CODES:
        exc = ChannelDown(f"WhatsApp error {code}: {CHANNEL_DOWN_CODES[code]}", code=code)
    elif code in _API_PERMISSION:
        exc = ChannelDown(f"WhatsApp error {code}: an API permission was not granted or was removed", code=code)
    elif sending and code == 100 and (subcode == _UNKNOWN_OBJECT or status == 404):
        exc = ChannelDown("WhatsApp error 100/33: the phone number id does not exist or the token cannot use it: "
                          "check WHATSAPP_PHONE_NUMBER_ID, graph_base_url and graph_version", code=code)
    elif code is None and sending and status in (401, 403, 404):
        exc = ChannelDown(f"the Graph API answered HTTP {status}: check WHATSAPP_ACCESS_TOKEN, graph_base_url and graph_version")
    elif code in _UNREACHABLE_CODES:
        exc = Unreachable(f"whatsapp {code}: undeliverable")
    elif code in _TEMPLATE_CODES:
        exc = TemplateRejected(code)
    elif code is None and status == 429:
        exc = RateLimited(60.0, "whatsapp: HTTP 429")
    elif code in _TEMPORARY_CODES or status >= 500:
        exc = TemporaryFailure(f"whatsapp {code if code is not None else status}")
    else:
        exc = PermanentFailure(f"whatsapp {code if code is not None else status}")
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
    error_title: str | None = None


@dataclass(frozen=True)
class WebhookError:
    """An error Meta reports in a webhook (``value.errors``, a status's or a message's ``errors``)."""

    code: int | None
    title: str
    where: str  # "value" | "status" | "message"


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
    messages, statuses, _errors = read_webhook(payload, phone_number_id)
    return messages, statuses


def read_webhook(payload: Mapping[str, Any], phone_number_id: str | None = None) -> tuple[list[Incoming], list[Status], list[WebhookError]]:
    """:func:`parse_webhook` and the errors the webhook reports (``entry.changes.value.errors``, each failed
    status's and each message's ``errors``), as Meta's error-codes page lists the places."""
    messages: list[Incoming] = []
    statuses: list[Status] = []
    errors: list[WebhookError] = []
    if not isinstance(payload, Mapping) or payload.get("object") != "whatsapp_business_account":
        return messages, statuses, errors
    for entry in payload.get("entry") or ():
        for change in (entry or {}).get("changes") or ():
            value = (change or {}).get("value") or {}
            if (change or {}).get("field") != "messages" or not isinstance(value, Mapping):
                continue
            number = str((value.get("metadata") or {}).get("phone_number_id") or "")
            if phone_number_id and number and number != phone_number_id:
                continue
            errors += _errors(value.get("errors"), "value")
            for message in value.get("messages") or ():
                incoming = to_incoming(message)
                if incoming is not None:
                    messages.append(incoming)
                if isinstance(message, Mapping):
                    errors += _errors(message.get("errors"), "message")
            for status in value.get("statuses") or ():
                if isinstance(status, Mapping) and status.get("id") and status.get("status"):
                    found = _errors(status.get("errors"), "status")
                    errors += found
                    first = found[0] if found else None
                    statuses.append(Status(str(status["id"]), str(status["status"]), _timestamp(status.get("timestamp")),
                                           first.code if first else None, first.title if first else None))
    return messages, statuses, errors


def _errors(items: Any, where: str) -> list[WebhookError]:
    """The error objects of a webhook list (code and title; a title has no numbers of people in it)."""
    if not isinstance(items, list):
        return []
    found = []
    for item in items:
        if isinstance(item, Mapping):
            title = str(item.get("title") or item.get("message") or "")[:120]
            found.append(WebhookError(_int(item.get("code")), _LONG_NUMBER.sub("#", title), where))
    return found


_LONG_NUMBER = re.compile(r"\+?\d{8,}")  # a phone number in an error text is not logged


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
        ref = str(body.get("id")) if kind in ("image", "document") and body.get("id") else None
        caption = body.get("caption")
        name = str(body.get("filename")) if kind == "document" and body.get("filename") else None
        return Incoming(media=MEDIA_KINDS[kind], media_ref=ref, media_name=name, text=str(caption) if caption else None,
                        **common)
    if kind in ("reaction", "system", "order", "request_welcome"):
        return None
    return Incoming(media="other", **common)


# ------------------------------------------------------------------ outbound


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Text cut at line ends (a long line at a space) into messages WhatsApp accepts."""
    return fit_text(text, limit)


def template_text(text: str, limit: int = MAX_PARAMETER, marker: str = ELLIPSIS) -> str:
    """Text as a template parameter: one line (Meta refuses new lines, tabs and runs of spaces in a
    parameter: 132018), lines joined by " · ", at most ``limit`` characters; when too long, the first
    and the last lines are kept (a reminder's last line is the /berhenti opt-out) and ``marker`` stands
    for the lines left out of the middle."""
    lines = [re.sub(r"\s+", " ", line).strip(" \u2022-") for line in text.splitlines()]
    return shorten_middle([line for line in lines if line], limit, marker) or "-"


def one_line(text: str, limit: int = MAX_PARAMETER) -> str:
    """:func:`template_text` with a bare ellipsis as the marker."""
    return template_text(text, limit)


def _text(to: str, body: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"preview_url": False, "body": body}}


def _interactive(to: str, interactive: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "interactive",
            "interactive": interactive}


def _texts(to: str, text: str) -> list[dict[str, Any]]:
    return [_text(to, piece) for piece in split_text(text, MAX_TEXT) if piece.strip()]


def choice_payload(to: str, text: str, reply: Reply) -> tuple[list[dict[str, Any]], str]:
    """The messages for a question with choices, and the form used: buttons, list or numbered.

    A label too long for a title gets a short distinct title; its full label goes into the row's
    description (a list) or after the question (buttons), so nothing is lost.
    """
    choices = reply.choices
    labels = [c.label for c in choices]
    if len(choices) <= MAX_BUTTONS:
        titles = short_titles(labels, MAX_BUTTON_TITLE)
        head = split_text(with_legend(text, labels, titles), MAX_BUTTON_BODY)
        buttons = [{"type": "reply", "reply": {"id": c.data[:256], "title": t}} for c, t in zip(choices, titles)]
        last = _interactive(to, {"type": "button", "body": {"text": head[-1]}, "action": {"buttons": buttons}})
        return [_text(to, piece) for piece in head[:-1]] + [last], "buttons"
    if len(choices) <= MAX_ROWS:
        titles = short_titles(labels, MAX_ROW_TITLE)
        rows, untold = [], []
        for c, title in zip(choices, titles):
            row: dict[str, Any] = {"id": c.data[:200], "title": title}
            if title != c.label:
                if len(c.label) <= MAX_ROW_DESCRIPTION:
                    row["description"] = c.label
                else:
                    untold.append((c.label, title))
            rows.append(row)
        head = split_text(with_legend(text, [u[0] for u in untold], [u[1] for u in untold]), MAX_LIST_BODY)
        with use_locale(reply.language or "id"):
            button, section = first_words(_("Pilih"), MAX_LIST_BUTTON), first_words(_("Pilihan"), MAX_ROW_TITLE)
        action = {"button": button, "sections": [{"title": section, "rows": rows}]}
        last = _interactive(to, {"type": "list", "body": {"text": head[-1]}, "action": action})
        return [_text(to, piece) for piece in head[:-1]] + [last], "list"
    with use_locale(reply.language or "id"):
        hint = _("Balas dengan nomor pilihan Bapak/Ibu.")
    numbered = "\n".join(f"{i}. {c.label}" for i, c in enumerate(choices, 1))
    return _texts(to, f"{text}\n\n{numbered}\n\n{hint}"), "numbered"


def text_payloads(to: str, reply: Reply) -> list[dict[str, Any]]:
    """The messages for the text of a reply (with its choices), without media."""
    if reply.choices:
        return choice_payload(to, reply.text, reply)[0]
    return _texts(to, reply.text)


def media_payload(to: str, kind: str, media_id: str, caption: str | None = None, filename: str | None = None) -> dict[str, Any]:
    """An image or document message by media id (``caption`` must fit ``MAX_CAPTION``: see :func:`caption_parts`)."""
    media: dict[str, Any] = {"id": media_id}
    if caption:
        media["caption"] = caption
    if filename:
        media["filename"] = filename
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind, kind: media}


def template_payload(to: str, name: str, language: str, text: str, marker: str = ELLIPSIS) -> dict[str, Any]:
    """A template message whose one body parameter is the text on one line (:func:`template_text`)."""
    return {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
        "template": {
            "name": name, "language": {"code": language},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": template_text(text, MAX_PARAMETER, marker)}]}],
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

    async def _json(self, method: str, url: str, *, sending: bool = True, **kwargs: Any) -> dict[str, Any]:
        status, raw = await self._call(method, url, **kwargs)
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        if not 200 <= status <= 299 or "error" in data:
            raise graph_error(status, data, sending=sending)
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
        info = await self._json("GET", f"{self.base_url}/{media_id}", sending=False)
        url = str(info.get("url") or "")
        if not url.startswith(("http://", "https://")):
            raise PermanentFailure("whatsapp: media has no URL")
        status, raw = await self._call("GET", url)
        if not 200 <= status <= 299:
            raise graph_error(status, {}, sending=False)
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
        account: str = "default",
    ) -> None:
        from channels.rate import TokenBucket

        self.config = config
        #: the account (WhatsApp number) this channel is: its chats' messages carry it, so they are answered from it
        self.account = account
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
        #: what stops the channel from sending (for the log and /healthz); None while it works
        self.problem: str | None = None
        self._down_until: datetime | None = None

    # -- inbound

    async def on_webhook(self, payload: Mapping[str, Any]) -> None:
        """Handles one verified webhook body to completion (raises NotStored if it cannot be stored)."""
        messages, statuses, errors = read_webhook(payload, self.config.phone_number_id)
        if errors:
            self._log_webhook_errors(errors)
        if statuses and self.on_statuses is not None:
            await self.on_statuses(statuses)
        for incoming in messages:
            if self.account != incoming.account:
                incoming = replace(incoming, account=self.account)
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

    def _log_webhook_errors(self, errors: list[WebhookError]) -> None:
        """Logs the errors a webhook reports, counted by code (no phone numbers); an account error stops the channel."""
        counts: dict[tuple[int | None, str, str], int] = {}
        for error in errors:
            key = (error.code, error.title, error.where)
            counts[key] = counts.get(key, 0) + 1
        for (code, title, where), count in counts.items():
            if code is not None and (code in CHANNEL_DOWN_CODES or code in _API_PERMISSION):
                self._went_down(ChannelDown(f"WhatsApp error {code}: {CHANNEL_DOWN_CODES.get(code, title)}", code=code))
            elif where == "message" or code == 131047:  # an unsupported message; a window closed (sent again as a template)
                log.info("whatsapp webhook: %d %s error(s) %s (%s)", count, where, code, title)
            else:
                log.warning("whatsapp webhook: %d %s error(s) %s (%s)", count, where, code, title)

    # -- health

    def _went_down(self, exc: ChannelDown) -> None:
        """The channel stops sending until ``exc.retry_after`` has passed; said loudly when found (again)."""
        now = self.clock()
        known = exc.problem == self.problem and self._down_until is not None and now < self._down_until
        self.problem = exc.problem
        self._down_until = now + timedelta(seconds=exc.retry_after)
        if known:  # found again by a send that was already under way
            return
        log.error("whatsapp: STOPPED SENDING: %s (nobody is marked unreachable for it; trying again in %.0f s)",
                  exc.problem, exc.retry_after)

    def _went_up(self) -> None:
        if self.problem is not None:
            log.warning("whatsapp: sending works again (it had stopped: %s)", self.problem)
        self.problem = None
        self._down_until = None

    def _refuse_while_down(self) -> None:
        """Raises ChannelDown without calling Meta while the channel is stopped and its next try is not due."""
        if self._down_until is not None:
            left = (self._down_until - self.clock()).total_seconds()
            if left > 0:
                raise ChannelDown(self.problem or "WhatsApp stopped sending", left)

    # -- outbound

    def window_open(self, reply: Reply) -> bool:
        """Whether free-form messages may go: the person wrote within the last 24 hours."""
        if reply.template_only or reply.last_inbound_at is None:
            return False
        return self.clock() - reply.last_inbound_at < WINDOW - WINDOW_MARGIN

    async def send_one(self, address: str, reply: Reply) -> str:
        """Sends one reply (free form inside the window, else its kind's template); returns the last wamid.

        Raises the shared ChannelError classes; :class:`ChannelDown` (also at once, without calling Meta,
        while the channel is stopped) when the account or the configuration is the problem.
        """
        self._refuse_while_down()
        try:
            wamid = await self._send(address, reply)
        except ChannelDown as exc:
            self._went_down(exc)
            raise
        self._went_up()
        return wamid

    async def _send(self, address: str, reply: Reply) -> str:
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
            # a question's buttons follow the photo with the whole text; else the photo carries the
            # text as its caption, or a short caption (the first line) with the rest after it
            caption, rest = (None, reply.text) if reply.choices else caption_parts(reply.text, MAX_CAPTION)
            wamid = await self._post(media_payload(to, "image", media_id, caption=caption or None))
            if not rest.strip() and not reply.choices:
                return wamid
            text_reply = _with(reply, text=rest)
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
            try:
                data, mime = await fetch(reply.image_ref)
            except ChannelDown as exc:
                if source == CHANNEL:
                    raise
                # the other channel's problem, not ours: this message waits, the channel goes on
                raise TemporaryFailure(f"whatsapp: the {source} photo cannot be fetched now") from exc
            self._uploaded[key] = await self.client.upload(data, mime, "foto.jpg")
        return self._uploaded[key]

    async def _template(self, to: str, reply: Reply) -> str:
        kind = TEMPLATE_KINDS.get(reply.kind or "reply", reply.kind or "reply")
        name = self.config.templates.get(kind) or self.config.templates.get("reply")
        if not name:
            raise PermanentFailure(f"whatsapp: no template for {kind} messages")
        lang = reply.language or self.default_language
        code = self.config.template_languages.get(lang) or self.config.template_languages.get(self.default_language, "id")
        with use_locale(lang):
            # what stands for the lines left out of a long message: a reminder's details are in /jadwal
            marker = _("\u2026 (selengkapnya: /jadwal)") if kind == "reminder" else _("\u2026 (pesan dipersingkat)")
        try:
            return await self._post(template_payload(to, name, code, reply.text, marker))
        except TemplateRejected as exc:
            exc.template = name
            raise

    async def fetch_media(self, media_id: str) -> tuple[bytes, str]:
        """The bytes of a photo a person sent on WhatsApp (for sending it on another channel), or of a
        document (a register to import). The media id of a webhook stays valid for 7 days (Meta)."""
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
