"""A fake of Meta's WhatsApp Cloud API (the Graph API) speaking real HTTP on 127.0.0.1.

The fake plays both sides of Meta: it serves the Graph API the bot calls (send messages, upload and
download media) and it calls the bot's webhook the way Meta does (signed inbound messages and
message statuses). Payload shapes follow tests/fixtures/whatsapp (see its README).

Usage::

    async with FakeGraph(templates={("pengingat_imunisasi", "id"): 2}) as graph:
        settings.whatsapp.graph_base_url = graph.base_url       # http://127.0.0.1:PORT/v26.0
        graph.webhook_url = f"{bot_url}/whatsapp/webhook"
        graph.auto_status = ("sent", "delivered", "read")
        status, _ = await graph.post_webhook(graph.webhook_url, text_message(WA, "halo"))
        assert status == 200
        await graph.wait_for_messages(WA, 1)
        assert graph.texts_to(WA) == ["Halo Ibu Made, ..."]

Inbound messages posted with ``post_webhook`` open the 24-hour customer-service window for their
sender at the message's own timestamp (``set_last_inbound`` does it by hand); the builders stamp
messages with the real time unless given ``timestamp=``, so pass it when the fake has a ``clock``.

Requests the fake does not know are recorded in ``unexpected``; invalid requests are refused like
Meta does and recorded in ``rejected``; both make ``__aexit__`` fail unless ``expect_problems`` is
set. Deliberate failures (``fail_next``, the
window) are recorded in ``refused`` and never fail the test by themselves.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from config import GRAPH_VERSION

JSONDict = dict[str, Any]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "whatsapp"
DEFAULT_TOKEN = "EAAG-fake-token-for-tests"
PHONE_NUMBER_ID = "109876543210987"
DISPLAY_PHONE_NUMBER = "6281100001111"
WABA_ID = "102290129340398"
DEFAULT_NAME = "Ibu Made"
ERROR_CODES_URL = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
WINDOW = timedelta(hours=24)
MAX_BODY = 100 * 1024 * 1024
SEND_TYPES = ("text", "interactive", "image", "document", "template", "location", "reaction")
TOP_LEVEL_KEYS = frozenset(
    {"messaging_product", "recipient_type", "to", "type", "context", "biz_opaque_callback_data",
     *SEND_TYPES}
)
_TO_RE = re.compile(r"\A\+?\d{6,15}\Z")
_MEDIA_ID_RE = re.compile(r"\A\d{6,20}\Z")
_SPACES_RE = re.compile(r" {5,}")

# code -> (title, error_data.details, HTTP status), from Meta's "Error codes" page (WhatsApp Business
# Platform, updated Jun 18, 2026): authorization, throttling, integrity, messaging, template and
# registration errors.
ERRORS: dict[int, tuple[str, str, int]] = {
    0: ("AuthException", "We were unable to authenticate the app user.", 401),
    2: ("Service temporarily unavailable", "Service temporarily unavailable.", 503),
    3: ("API Method", "Capability or permissions issue.", 500),
    4: ("Application request limit reached", "Too many API calls.", 400),
    10: ("Permission Denied", "Permission is either not granted or has been removed.", 403),
    100: ("Invalid parameter", "Invalid parameter.", 400),
    190: ("Access token has expired", "", 401),
    200: ("API Permission", "Permission is either not granted or has been removed.", 403),
    368: ("Temporarily blocked for policies violations",
          "The WhatsApp Business Account associated with the app has been restricted or disabled for "
          "violating a platform policy.", 403),
    131005: ("Access denied", "Permission is either not granted or has been removed.", 403),
    131031: ("Account has been locked",
             "The WhatsApp Business Account associated with the app has been restricted or disabled "
             "for violating a platform policy, or we were unable to verify data included in the "
             "request against data set on the WhatsApp Business Account (e.g, the two-step pin "
             "included in the request is incorrect).", 403),
    131048: ("Spam rate limit hit",
             "Message failed to send because there are restrictions on how many messages can be sent "
             "from this phone number.", 400),
    131057: ("Account in maintenance mode", "Business Account is in maintenance mode.", 503),
    133010: ("Phone number not registered",
             "The phone number is not registered on the WhatsApp Business Platform.", 400),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit.", 400),
    130429: ("Rate limit hit", "Cloud API message throughput has been reached.", 400),
    131000: ("Something went wrong", "Message failed to send due to an unknown error.", 500),
    131008: ("Required parameter is missing", "The request is missing a required parameter.", 400),
    131009: ("Parameter value is not valid", "One or more parameter values are invalid.", 400),
    131026: ("Message undeliverable",
             "Unable to deliver message. Reasons can include: the recipient phone number is not a "
             "WhatsApp phone number, or the recipient has not accepted WhatsApp's latest Terms of "
             "Service.", 400),
    131047: ("Re-engagement message",
             "Message failed to send because more than 24 hours have passed since the customer "
             "last replied to this number.", 400),
    131051: ("Message type unknown", "Message type is currently not supported.", 400),
    131056: ("(Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this phone "
             "number to the same phone number in a short period of time.", 400),
    132000: ("Number of parameters does not match the expected number of params",
             "The number of parameters does not match the template.", 400),
    132001: ("Template name does not exist in the translation",
             "The template does not exist in the specified language.", 404),
    132005: ("Template Hydrated Text Too Long", "Translated text is too long.", 400),
    132007: ("Template Format Character Policy Violated",
             "Template content violates a WhatsApp policy.", 400),
    132012: ("Template Parameter Format Mismatch",
             "Variable parameter values formatted incorrectly.", 400),
    132015: ("Template is Paused",
             "Template is paused due to low quality so it cannot be sent in a template message.", 400),
    132016: ("Template is Disabled",
             "Template has been paused too many times due to low quality and is now permanently "
             "disabled.", 400),
    132018: ("There was an issue with the parameters in your template.",
             "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
             400),
}
_EXPIRED_TOKEN = ("Error validating access token: Session has expired on Wednesday, 01-Jan-25 "
                  "02:00:00 PST. The current time is Wednesday, 01-Jan-25 03:10:00 PST.")
_trace_ids = itertools.count(1)
_message_ids = itertools.count(1)


class WaitTimeout(AssertionError):
    """Raised by ``wait_for`` when the predicate stayed false until the timeout."""


class GraphError(Exception):
    """A Graph API error to answer (code, details, HTTP status)."""

    def __init__(self, code: int, details: str | None = None, *, http_status: int | None = None,
                 message: str | None = None, subcode: int | None = None):
        """Fill missing parts from ``ERRORS``."""
        title, default_details, default_status = ERRORS.get(code, (f"Error {code}", "", 400))
        self.code = code
        self.subcode = subcode
        self.details = default_details if details is None else details
        self.http_status = default_status if http_status is None else http_status
        self.message = message
        super().__init__(f"{code}: {self.details}")

    def body(self) -> JSONDict:
        """Meta's error response body."""
        return error_body(self.code, self.details, message=self.message, subcode=self.subcode)


def error_body(code: int, details: str | None = None, *, message: str | None = None,
               subcode: int | None = None) -> JSONDict:
    """``{"error": {...}}`` exactly as the Cloud API answers a failed request."""
    title, default_details, _ = ERRORS.get(code, (f"Error {code}", "", 400))
    digest = hashlib.sha1(str(next(_trace_ids)).encode()).digest()
    trace = "A" + base64.urlsafe_b64encode(digest).decode()[1:23]
    if code == 190:  # a Graph-level OAuth error: no error_data; subcode 463 = token expired
        error: JSONDict = {"message": message or _EXPIRED_TOKEN, "type": "OAuthException",
                           "code": 190, "error_subcode": 463, "fbtrace_id": trace}
        if message is not None:
            del error["error_subcode"]
        return {"error": error}
    if subcode is not None:  # a Graph-level error (e.g. 100/33: the object does not exist): no error_data
        return {"error": {"message": message or f"Unsupported post request. ({title})",
                          "type": "GraphMethodException", "code": code, "error_subcode": subcode,
                          "fbtrace_id": trace}}
    return {"error": {
        "message": message or f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp",
                       "details": default_details if details is None else details},
        "fbtrace_id": trace,
    }}


def status_error(code: int) -> JSONDict:
    """One ``errors[]`` item of a failed-status webhook."""
    title, details, _ = ERRORS.get(code, (f"Error {code}", "", 400))
    return {"code": code, "title": title, "message": title, "error_data": {"details": details},
            "href": ERROR_CODES_URL}


def new_wamid(wa_id: str, *, outbound: bool) -> str:
    """A fresh, well-formed message id (``wamid.`` + base64 of Meta's id structure)."""
    digits = wa_id.lstrip("+").encode()
    n = next(_message_ids)
    tail = b"\x11\x18\x12" + f"{n:018X}".encode() if outbound else (
        b"\x12\x18\x14" + f"3EB0{n:016X}".encode())
    raw = b"\x1c\x18" + bytes([len(digits)]) + digits + b"\x15\x02\x00" + tail + b"\x00"
    return "wamid." + base64.b64encode(raw).decode()


def meta_json(payload: JSONDict) -> bytes:
    """Serialize like Meta's webhooks: compact JSON, non-ASCII as ``\\uXXXX``, ``/`` as ``\\/``."""
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()


def sign(raw: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value for a raw webhook body."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------- webhook builders


@cache
def _fixture_text(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8")


def load_fixture(name: str) -> JSONDict:
    """A fresh copy of ``tests/fixtures/whatsapp/<name>.json``."""
    return json.loads(_fixture_text(name))


def _unix(when: datetime | None) -> str:
    return str(int((when or datetime.now(UTC)).timestamp()))


def _value(envelope: JSONDict) -> JSONDict:
    return envelope["entry"][0]["changes"][0]["value"]


def _inbound(fixture: str, wa_id: str, *, name: str, message_id: str | None,
             timestamp: datetime | None, phone_number_id: str,
             context_id: str | None = None) -> tuple[JSONDict, JSONDict]:
    """Deep copy of an inbound-message fixture with sender, id and time replaced."""
    envelope = load_fixture(fixture)
    value = _value(envelope)
    value["metadata"]["phone_number_id"] = phone_number_id
    value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
    message = value["messages"][0]
    message["from"] = wa_id
    message["id"] = message_id or new_wamid(wa_id, outbound=False)
    message["timestamp"] = _unix(timestamp)
    if "context" in message:
        message["context"]["id"] = context_id or new_wamid(wa_id, outbound=True)
    return envelope, message


def text_message(wa_id: str, text: str, *, name: str = DEFAULT_NAME, message_id: str | None = None,
                 timestamp: datetime | None = None,
                 phone_number_id: str = PHONE_NUMBER_ID) -> JSONDict:
    """A text message from a customer."""
    envelope, message = _inbound("webhook_text", wa_id, name=name, message_id=message_id,
                                 timestamp=timestamp, phone_number_id=phone_number_id)
    message["text"]["body"] = text
    return envelope


def button_reply(wa_id: str, id: str, title: str, *, context_id: str | None = None,
                 name: str = DEFAULT_NAME, message_id: str | None = None,
                 timestamp: datetime | None = None,
                 phone_number_id: str = PHONE_NUMBER_ID) -> JSONDict:
    """A tap on a reply button; ``context_id`` is the wamid of the bot's button message."""
    envelope, message = _inbound("webhook_button_reply", wa_id, name=name, message_id=message_id,
                                 timestamp=timestamp, phone_number_id=phone_number_id,
                                 context_id=context_id)
    message["interactive"]["button_reply"] = {"id": id, "title": title}
    return envelope


def list_reply(wa_id: str, id: str, title: str, description: str | None = None, *,
               context_id: str | None = None, name: str = DEFAULT_NAME,
               message_id: str | None = None, timestamp: datetime | None = None,
               phone_number_id: str = PHONE_NUMBER_ID) -> JSONDict:
    """A row picked in a list message (``description`` only if the row had one)."""
    envelope, message = _inbound("webhook_list_reply", wa_id, name=name, message_id=message_id,
                                 timestamp=timestamp, phone_number_id=phone_number_id,
                                 context_id=context_id)
    reply: JSONDict = {"id": id, "title": title}
    if description is not None:
        reply["description"] = description
    message["interactive"]["list_reply"] = reply
    return envelope


def template_button(wa_id: str, payload: str, text: str, *, context_id: str | None = None,
                    name: str = DEFAULT_NAME, message_id: str | None = None,
                    timestamp: datetime | None = None,
                    phone_number_id: str = PHONE_NUMBER_ID) -> JSONDict:
    """A tap on a template's quick-reply button."""
    envelope, message = _inbound("webhook_template_button", wa_id, name=name,
                                 message_id=message_id, timestamp=timestamp,
                                 phone_number_id=phone_number_id, context_id=context_id)
    message["button"] = {"payload": payload, "text": text}
    return envelope


def location(wa_id: str, latitude: float, longitude: float, *, place_name: str | None = None,
             address: str | None = None, url: str | None = None, name: str = DEFAULT_NAME,
             message_id: str | None = None, timestamp: datetime | None = None,
             phone_number_id: str = PHONE_NUMBER_ID) -> JSONDict:
    """A shared location (``place_name``/``address``/``url`` only for a shared place)."""
    envelope, message = _inbound("webhook_location", wa_id, name=name, message_id=message_id,
                                 timestamp=timestamp, phone_number_id=phone_number_id)
    place = {"address": address, "latitude": latitude, "longitude": longitude,
             "name": place_name, "url": url}
    message["location"] = {key: value for key, value in place.items() if value is not None}
    return envelope


def image(wa_id: str, media_id: str, caption: str | None = None, *, mime_type: str = "image/jpeg",
          sha256: str | None = None, url: str | None = None, name: str = DEFAULT_NAME,
          message_id: str | None = None, timestamp: datetime | None = None,
          phone_number_id: str = PHONE_NUMBER_ID) -> JSONDict:
    """A photo; ``url`` (newer webhooks) is left out unless given (use ``FakeGraph.media_url``)."""
    envelope, message = _inbound("webhook_image", wa_id, name=name, message_id=message_id,
                                 timestamp=timestamp, phone_number_id=phone_number_id)
    fields = {"caption": caption, "mime_type": mime_type,
              "sha256": sha256 or hashlib.sha256(media_id.encode()).hexdigest(),
              "id": media_id, "url": url}
    message["image"] = {key: value for key, value in fields.items() if value is not None}
    return envelope


def sticker(wa_id: str, media_id: str, *, animated: bool = False, sha256: str | None = None,
            name: str = DEFAULT_NAME, message_id: str | None = None,
            timestamp: datetime | None = None, phone_number_id: str = PHONE_NUMBER_ID) -> JSONDict:
    """A sticker."""
    envelope, message = _inbound("webhook_sticker", wa_id, name=name, message_id=message_id,
                                 timestamp=timestamp, phone_number_id=phone_number_id)
    message["sticker"].update(id=media_id, animated=animated,
                              sha256=sha256 or hashlib.sha256(media_id.encode()).hexdigest())
    return envelope


def unsupported(wa_id: str, unsupported_type: str = "poll_creation", *, name: str = DEFAULT_NAME,
                message_id: str | None = None, timestamp: datetime | None = None,
                phone_number_id: str = PHONE_NUMBER_ID) -> JSONDict:
    """A message type the Cloud API does not support (error 131051)."""
    envelope, message = _inbound("webhook_unsupported", wa_id, name=name, message_id=message_id,
                                 timestamp=timestamp, phone_number_id=phone_number_id)
    message["unsupported"]["type"] = unsupported_type
    return envelope


def status(wamid: str, status: str, recipient_id: str, *, timestamp: datetime | None = None,
           errors: Iterable[int | JSONDict] | None = None, category: str = "service",
           phone_number_id: str = PHONE_NUMBER_ID) -> JSONDict:
    """A status webhook (sent/delivered/read carry conversation/pricing as Meta shows them)."""
    fixture = "webhook_status_failed_131047" if status == "failed" else f"webhook_status_{status}"
    envelope = load_fixture(fixture if (FIXTURES / f"{fixture}.json").exists()
                            else "webhook_status_read")
    value = _value(envelope)
    value["metadata"]["phone_number_id"] = phone_number_id
    item = value["statuses"][0]
    item.update(id=wamid, status=status, timestamp=_unix(timestamp), recipient_id=recipient_id)
    if "pricing" in item:
        free = category == "service"
        item["pricing"].update(billable=not free, category=category,
                               type="free_customer_service" if free else "regular")
        item["conversation"]["origin"]["type"] = category
        item["conversation"]["id"] = hashlib.md5(f"{recipient_id}:{category}".encode()).hexdigest()
        if "expiration_timestamp" in item["conversation"]:
            item["conversation"]["expiration_timestamp"] = str(int(item["timestamp"]) + 86400)
    if errors is not None:
        item["errors"] = [status_error(e) if isinstance(e, int) else e for e in errors]
    return envelope


def webhook_errors(*codes: int, phone_number_id: str = PHONE_NUMBER_ID) -> JSONDict:
    """A webhook whose ``value.errors`` reports errors that belong to no message (e.g. an account problem)."""
    envelope = load_fixture("webhook_status_read")
    value = _value(envelope)
    value["metadata"]["phone_number_id"] = phone_number_id
    del value["statuses"]
    value["errors"] = [status_error(code) for code in codes]
    return envelope


def batch(*envelopes: JSONDict) -> JSONDict:
    """Several webhooks merged into one POST (one value with several messages/statuses)."""
    if not envelopes:
        raise ValueError("batch() needs at least one envelope")
    merged = copy.deepcopy(envelopes[0])
    value = _value(merged)
    for envelope in envelopes[1:]:
        other = _value(envelope)
        for key in ("contacts", "messages", "statuses"):
            for item in copy.deepcopy(other.get(key, [])):
                items = value.setdefault(key, [])
                if key != "contacts" or item not in items:
                    items.append(item)
    return merged


# ---------------------------------------------------------------------- the fake server


@dataclass(slots=True)
class _Fault:
    """An injected failure waiting for its sends."""

    error: GraphError
    times: int
    to: str | None


def _digits(value: str) -> str:
    return value.lstrip("+")


def _need(condition: bool, code: int, details: str) -> None:
    if not condition:
        raise GraphError(code, details)


def _text(obj: Any, label: str, low: int, high: int, code: int = 131009) -> str:
    """A string of ``low..high`` characters, else a Graph error naming ``label``."""
    _need(isinstance(obj, str), 100, f"Param {label} must be a string.")
    _need(len(obj) >= low, 131008 if not obj else code, f"Param {label} is required.")
    _need(len(obj) <= high, code, f"Param {label} must be at most {high} characters long.")
    return obj


def _only(obj: Any, label: str, allowed: Iterable[str]) -> JSONDict:
    _need(isinstance(obj, dict), 100, f"Param {label} must be a JSON object.")
    extra = sorted(set(obj) - set(allowed))
    _need(not extra, 100, f"Unexpected key {extra[0]!r} on param {label}." if extra else "")
    return obj


class FakeGraph:
    """An in-process fake of the WhatsApp Cloud API and of Meta's webhook deliveries."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, phone_number_id: str = PHONE_NUMBER_ID,
                 app_secret: str = "fake-app-secret", version: str = GRAPH_VERSION,
                 templates: dict[tuple[str, str], int] | None = None,
                 clock: Callable[[], datetime] | None = None, window_mode: str = "sync",
                 display_phone_number: str = DISPLAY_PHONE_NUMBER, host: str = "127.0.0.1"):
        """Configure the fake; the server starts in ``__aenter__``."""
        if window_mode not in ("sync", "async"):
            raise ValueError("window_mode must be 'sync' or 'async'")
        self.token, self.phone_number_id, self.app_secret = token, phone_number_id, app_secret
        self.version, self.window_mode, self.host = version, window_mode, host
        self.display_phone_number = display_phone_number
        self.templates: dict[tuple[str, str], int] = dict(templates or {})
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.port = 0
        self.sent: list[JSONDict] = []
        #: set to a list to record every Graph request the bot makes, in order, as it came over the wire:
        #: ``method``, ``path``, the ``json`` body or the ``form`` fields and ``files`` ({field: (file name,
        #: content type, bytes)}), and the ``status`` answered (None: not recorded)
        self.wire: list[JSONDict] | None = None
        self.rejected: list[JSONDict] = []
        self.unexpected: list[str] = []
        self.refused: list[JSONDict] = []
        self.read_marks: list[str] = []
        self.uploads: dict[str, tuple[bytes, str, str | None]] = {}
        self.webhook_deliveries: list[JSONDict] = []
        self.webhook_url: str | None = None
        self.auto_status: tuple[str, ...] = ()
        self.expect_problems = False
        #: an account-wide problem (e.g. 131031 locked, 368 blocked, 133010 not registered): every send gets it
        self.account_error: GraphError | None = None
        #: (template, language) -> "PAUSED" | "DISABLED": sends of it are refused with 132015 / 132016
        self.template_status: dict[tuple[str, str], str] = {}
        self._inbound_media: dict[str, tuple[bytes, str, str | None]] = {}
        self._last_inbound: dict[str, datetime] = {}
        self._faults: list[_Fault] = []
        self._media_ids = itertools.count(917_524_563_581_422)
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeGraph:
        """Start the HTTP server on a free port."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        """Stop; fail loudly on unexpected or rejected requests unless ``expect_problems``."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.expect_problems or not (self.unexpected or self.rejected):
            return
        if exc is not None:
            exc.add_note(self.problem_report())
            return
        raise AssertionError(self.problem_report())

    def problem_report(self) -> str:
        """Describe the unexpected and rejected requests."""
        lines = ["FakeGraph: requests nobody expected or Meta would refuse:"]
        lines += [f"  unexpected {item}" for item in self.unexpected[:20]]
        lines += [f"  rejected {r['method']} {r['path']} -> {r['code']}: {r['reason']} "
                  f"{json.dumps(r['payload'], ensure_ascii=False)[:300]}"
                  for r in self.rejected[:20]]
        return "\n".join(lines)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What the bot uses as its Graph base URL: ``http://127.0.0.1:PORT/<version>`` (the bot's default version)."""
        return f"{self.url}/{self.version}"

    def media_url(self, media_id: str) -> str:
        """Download URL the fake hands out for a media id (bearer token required)."""
        return f"{self.url}/download/{media_id}"

    # ------------------------------------------------------------------ inspection

    def messages_to(self, wa_id: str, *, include_failed: bool = False) -> list[JSONDict]:
        """Accepted sends to ``wa_id`` (not those that later failed, unless asked)."""
        digits = _digits(wa_id)
        return [m for m in self.sent if _digits(m["to"]) == digits
                and (include_failed or "_failed" not in m)]

    def texts_to(self, wa_id: str) -> list[str]:
        """What the customer reads: bodies, captions, ``template:<name>:<p1>|<p2>``."""
        return [render(message) for message in self.messages_to(wa_id)]

    def set_last_inbound(self, wa_id: str, when: datetime) -> None:
        """Set when ``wa_id`` last wrote (opens the 24-hour customer-service window)."""
        self._last_inbound[_digits(wa_id)] = when if when.tzinfo else when.replace(tzinfo=UTC)

    def in_window(self, wa_id: str) -> bool:
        """Whether a free-form message to ``wa_id`` is allowed now."""
        last = self._last_inbound.get(_digits(wa_id))
        return last is not None and self.clock() - last <= WINDOW

    def add_inbound_media(self, media_id: str, data: bytes, mime: str,
                          filename: str | None = None) -> None:
        """Make a customer's media (sent in a webhook) downloadable and re-sendable by id."""
        self._inbound_media[media_id] = (data, mime, filename)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every request) and return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeout(f"wait_for timed out after {timeout}s\n{self._summary()}")
            try:
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                pass
        return result

    async def wait_for_messages(self, wa_id: str, count: int,
                                timeout: float = 10) -> list[JSONDict]:
        """Wait until at least ``count`` messages reached ``wa_id``; return them all."""
        try:
            await self.wait_for(lambda: len(self.messages_to(wa_id)) >= count, timeout)
        except WaitTimeout:
            got = len(self.messages_to(wa_id))
            raise WaitTimeout(f"expected {count} messages to {wa_id}, got {got}\n"
                              f"{self._summary()}") from None
        return self.messages_to(wa_id)

    async def drain(self, timeout: float = 10) -> None:
        """Wait until every automatic status webhook has been delivered."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _summary(self) -> str:
        lines = [f"  sent to {m['to']}: {render(m)!r}" for m in self.sent[-10:]]
        lines += [f"  refused {r['to']}: {r['code']}" for r in self.refused[-5:]]
        lines += [f"  rejected {r['path']}: {r['code']} {r['reason']}" for r in self.rejected[-5:]]
        lines += [f"  unexpected {u}" for u in self.unexpected[-5:]]
        return "\n".join(lines) or "  (no requests)"

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ fault injection

    def fail_next(self, code: int, *, http_status: int | None = None, times: int = 1,
                  to: str | None = None, message: str | None = None,
                  details: str | None = None, subcode: int | None = None) -> None:
        """Answer the next ``times`` sends (to ``to`` only, if given) with Graph error ``code``.

        The HTTP status defaults to Meta's for that code (190 -> 401, 131000 -> 500, else 400).
        """
        error = GraphError(code, details, http_status=http_status, message=message, subcode=subcode)
        self._faults.append(_Fault(error, times, _digits(to) if to else None))

    def break_account(self, code: int, **kwargs: Any) -> None:
        """Answer every send with ``code`` (an account or configuration error) until :meth:`repair_account`."""
        self.account_error = GraphError(code, **kwargs)

    def repair_account(self) -> None:
        """Sends work again."""
        self.account_error = None

    def _take_fault(self, to: str) -> GraphError | None:
        if self.account_error is not None:
            return self.account_error
        for fault in self._faults:
            if fault.to in (None, to):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault.error
        return None

    # ------------------------------------------------------------------ webhook side

    def signature(self, raw: bytes, secret: str | None = None) -> str:
        """``X-Hub-Signature-256`` for ``raw`` with the app secret (or ``secret``)."""
        return sign(raw, self.app_secret if secret is None else secret)

    async def post_webhook(self, url: str, payload: JSONDict, *, secret: str | None = None,
                           signature: str | None = None) -> tuple[int, str]:
        """POST a webhook like Meta: raw bytes signed with ``X-Hub-Signature-256``.

        ``signature`` replaces the computed header (to forge one); ``secret`` signs with another
        secret. Inbound messages in the payload open their sender's 24-hour window.
        """
        for value in _values(payload):
            for message in value.get("messages", []):
                sent_at = datetime.fromtimestamp(int(message["timestamp"]), UTC)
                previous = self._last_inbound.get(message["from"])
                if previous is None or sent_at > previous:
                    self._last_inbound[message["from"]] = sent_at
        raw = meta_json(payload)
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": signature or self.signature(raw, secret)}
        async with self._session().post(url, data=raw, headers=headers) as response:
            text = await response.text()
        self.webhook_deliveries.append({"url": url, "payload": payload,
                                        "status": response.status, "body": text})
        self._notify()
        return response.status, text

    async def verify_webhook(self, url: str, verify_token: str, challenge: str = "1158201444",
                             mode: str = "subscribe") -> tuple[int, str]:
        """Meta's verification GET (``hub.mode``, ``hub.challenge``, ``hub.verify_token``)."""
        params = {"hub.mode": mode, "hub.challenge": challenge, "hub.verify_token": verify_token}
        async with self._session().get(url, params=params) as response:
            return response.status, await response.text()

    def _session(self) -> ClientSession:
        if self._http is None:
            self._http = ClientSession(timeout=ClientTimeout(total=30))
        return self._http

    def _post_later(self, envelopes: list[JSONDict]) -> None:
        """Deliver status webhooks in order, after the current response went out."""
        async def deliver() -> None:
            await asyncio.sleep(0)
            for envelope in envelopes:
                if self.webhook_url is None:
                    self.unexpected.append("status webhook due but webhook_url is not set")
                    return
                try:
                    await self.post_webhook(self.webhook_url, envelope)
                except Exception as err:  # recorded, not raised: the bot may be shutting down
                    self.webhook_deliveries.append({"url": self.webhook_url, "payload": envelope,
                                                    "status": None, "body": repr(err)})
                    self._notify()
                    return

        task = asyncio.get_running_loop().create_task(deliver())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle(self, request: web.Request) -> web.Response:
        """Route by hand so that auth failures and unknown routes are recorded uniformly."""
        parts = request.path.strip("/").split("/")
        handler = self._route(request.method, parts)
        if handler is None:
            self.unexpected.append(f"{request.method} {request.path_qs}")
            self._notify()
            return _json(error_body(100, message=f"Unsupported {request.method.lower()} request. "
                                    f"Object with ID '{parts[-1]}' does not exist, cannot be "
                                    "loaded due to missing permissions, or does not support "
                                    "this operation."), 404)
        payload: Any = None
        wire: JSONDict = {"method": request.method, "path": request.path, "status": None}
        if self.wire is not None:
            self.wire.append(wire)
            request[_WIRE] = wire
        try:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                raise GraphError(190, message="Invalid OAuth access token - Cannot parse "
                                 "access token")
            response = await handler(request, parts)
            wire["status"] = response.status
            return response
        except GraphError as err:
            if request.method == "POST" and request.content_type == "application/json":
                raw = await request.read()
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = raw.decode(errors="replace")
            self.rejected.append({"method": request.method, "path": request.path,
                                  "payload": payload, "code": err.code, "reason": err.details
                                  or err.body()["error"]["message"]})
            wire["status"] = err.http_status
            return _json(err.body(), err.http_status)
        except Exception as err:  # a bug in the fake must fail the test loudly
            self.unexpected.append(f"{request.method} {request.path} -> {err!r}")
            return _json(error_body(1, message="An unknown error occurred"), 500)
        finally:
            self._notify()

    def _route(self, method: str, parts: list[str]) -> Callable[..., Any] | None:
        if method == "GET" and len(parts) == 2 and parts[0] == "download":
            return self._download
        if len(parts) < 2 or parts[0] != self.version:
            return None
        if method == "POST" and parts[1:] == [self.phone_number_id, "messages"]:
            return self._messages
        if method == "POST" and parts[1:] == [self.phone_number_id, "media"]:
            return self._upload
        if method in ("GET", "DELETE") and len(parts) == 2 and _MEDIA_ID_RE.match(parts[1]):
            return self._media_info if method == "GET" else self._media_delete
        return None

    async def _messages(self, request: web.Request, parts: list[str]) -> web.Response:
        payload = await _read_json(request)
        if _WIRE in request:
            request[_WIRE]["json"] = copy.deepcopy(payload)
        _need(isinstance(payload, dict), 100, "The request body must be a JSON object.")
        if payload.get("status") == "read":
            _only(payload, "message", ("messaging_product", "status", "message_id",
                                       "typing_indicator"))
            _need(payload.get("messaging_product") == "whatsapp", 100,
                  "The parameter messaging_product is required.")
            _text(payload.get("message_id"), "message_id", 1, 128)
            self.read_marks.append(payload["message_id"])
            return _json({"success": True})
        self._validate(payload)
        to = _digits(payload["to"])
        mtype = payload.get("type", "text")
        fault = self._take_fault(to)
        if fault is None and mtype == "template":  # a template paused or disabled at Meta (set by the test)
            template = payload["template"]
            state = self.template_status.get((template["name"], template["language"]["code"]))
            fault = {"PAUSED": GraphError(132015), "DISABLED": GraphError(132016)}.get(state or "")
        if fault is None and mtype != "template" and not self.in_window(to):
            fault = GraphError(131047)
            if self.window_mode == "async":
                return self._accept(payload, failed=131047)
        if fault is not None:
            self.refused.append({"to": to, "payload": payload, "code": fault.code,
                                 "http_status": fault.http_status, "reason": fault.details})
            return _json(fault.body(), fault.http_status)
        return self._accept(payload)

    def _accept(self, payload: JSONDict, failed: int | None = None) -> web.Response:
        to = _digits(payload["to"])
        wamid = new_wamid(to, outbound=True)
        record = {**payload, "_wamid": wamid}
        template = payload.get("type") == "template"
        if failed is not None:
            record["_failed"] = failed
            self.refused.append({"to": to, "payload": payload, "code": failed,
                                 "http_status": 200, "reason": "failed status webhook"})
            self._post_later([status(wamid, "failed", to, timestamp=self.clock(), errors=[failed],
                                     phone_number_id=self.phone_number_id)])
        elif self.auto_status:
            category = "utility" if template else "service"
            self._post_later([status(wamid, s, to, timestamp=self.clock(), category=category,
                                     phone_number_id=self.phone_number_id)
                              for s in self.auto_status])
        self.sent.append(record)
        body: JSONDict = {"messaging_product": "whatsapp",
                          "contacts": [{"input": payload["to"], "wa_id": to}],
                          "messages": [{"id": wamid}]}
        if template:
            body["messages"][0]["message_status"] = "accepted"
        return _json(body)

    # ------------------------------------------------------------------ validation

    def _validate(self, payload: JSONDict) -> None:
        """Refuse what the Cloud API refuses (documented limits)."""
        _only(payload, "message", TOP_LEVEL_KEYS)
        _need(payload.get("messaging_product") == "whatsapp", 100,
              "The parameter messaging_product is required.")
        _need(payload.get("recipient_type", "individual") == "individual", 100,
              "Param recipient_type must be 'individual'.")
        to = payload.get("to")
        _need(isinstance(to, str) and bool(_TO_RE.match(to)), 100,
              "Param to must be a phone number with country code, digits only.")
        mtype = payload.get("type", "text")
        _need(mtype in SEND_TYPES, 100, f"Param type must be one of {set(SEND_TYPES)}.")
        _need(mtype in payload, 100, f"The parameter {mtype} is required.")
        others = sorted(set(SEND_TYPES) & set(payload) - {mtype})
        _need(not others, 100, f"Unexpected key {others[0]!r} for a {mtype} message."
              if others else "")
        if "context" in payload:
            _text(_only(payload["context"], "context", ("message_id",)).get("message_id"),
                  "context['message_id']", 1, 128)
        getattr(self, f"_check_{mtype}")(payload[mtype])

    def _check_text(self, text: Any) -> None:
        _only(text, "text", ("body", "preview_url"))
        _text(text.get("body"), "text['body']", 1, 4096, code=100)
        _need(isinstance(text.get("preview_url", False), bool), 100,
              "Param text['preview_url'] must be a boolean.")

    def _check_media(self, media: Any, label: str, allowed: tuple[str, ...]) -> None:
        _only(media, label, allowed)
        _need(("id" in media) != ("link" in media), 100,
              f"Param {label} must have exactly one of 'id' or 'link'.")
        if "id" in media:
            _need(media["id"] in self.uploads or media["id"] in self._inbound_media, 131009,
                  f"Param {label}['id'] is not a valid media id (not uploaded).")
        else:
            _need(str(media["link"]).startswith(("http://", "https://")), 131009,
                  f"Param {label}['link'] must be an http(s) URL.")
        if "caption" in media:
            _text(media["caption"], f"{label}['caption']", 1, 1024, code=100)
        if "filename" in media:
            _text(media["filename"], f"{label}['filename']", 1, 240)

    def _check_image(self, media: Any) -> None:
        self._check_media(media, "image", ("id", "link", "caption"))

    def _check_document(self, media: Any) -> None:
        self._check_media(media, "document", ("id", "link", "caption", "filename"))

    def _check_location(self, place: Any) -> None:
        _only(place, "location", ("latitude", "longitude", "name", "address"))
        for key, limit in (("latitude", 90), ("longitude", 180)):
            value = place.get(key)
            _need(isinstance(value, int | float) and not isinstance(value, bool)
                  and -limit <= value <= limit, 100, f"Param location['{key}'] is not valid.")

    def _check_reaction(self, reaction: Any) -> None:
        _only(reaction, "reaction", ("message_id", "emoji"))
        _text(reaction.get("message_id"), "reaction['message_id']", 1, 128)
        _need(isinstance(reaction.get("emoji"), str), 100, "Param reaction['emoji'] is required.")

    def _check_interactive(self, obj: Any) -> None:
        _only(obj, "interactive", ("type", "header", "body", "footer", "action"))
        kind = obj.get("type")
        _need(kind in ("button", "list"), 100,
              f"Interactive type {kind!r} is not modelled by FakeGraph (button, list).")
        body = _only(obj.get("body"), "interactive['body']", ("text",))
        limit = 1024 if kind == "button" else 4096
        _text(body.get("text"), "interactive['body']['text']", 1, limit)
        if "footer" in obj:
            footer = _only(obj["footer"], "interactive['footer']", ("text",))
            _text(footer.get("text"), "interactive['footer']['text']", 1, 60)
        if "header" in obj:
            header = obj["header"]
            kinds = ("text",) if kind == "list" else ("text", "image", "document", "video")
            _need(isinstance(header, dict) and header.get("type") in kinds, 131009,
                  f"Param interactive['header']['type'] must be one of {kinds}.")
            if header["type"] == "text":
                _text(header.get("text"), "interactive['header']['text']", 1, 60)
        action = obj.get("action")
        _need(isinstance(action, dict), 131008, "Param interactive['action'] is required.")
        if kind == "button":
            self._check_buttons(_only(action, "interactive['action']", ("buttons",)))
        else:
            self._check_list(_only(action, "interactive['action']", ("button", "sections")))

    def _check_buttons(self, action: JSONDict) -> None:
        buttons: Any = action.get("buttons")
        _need(isinstance(buttons, list) and 1 <= len(buttons) <= 3, 131009,
              "Param interactive['action']['buttons'] must have 1 to 3 buttons.")
        for i, button in enumerate(buttons):
            label = f"interactive['action']['buttons'][{i}]"
            _only(button, label, ("type", "reply"))
            _need(button.get("type") == "reply", 131009, f"Param {label}['type'] must be 'reply'.")
            reply = _only(button.get("reply"), f"{label}['reply']", ("id", "title"))
            _text(reply.get("id"), f"{label}['reply']['id']", 1, 256)
            _text(reply.get("title"), f"{label}['reply']['title']", 1, 20)
        titles = [b["reply"]["title"] for b in buttons]
        ids = [b["reply"]["id"] for b in buttons]
        _need(len(set(titles)) == len(titles), 131009, "Button titles must be unique.")
        _need(len(set(ids)) == len(ids), 131009, "Button ids must be unique.")

    def _check_list(self, action: JSONDict) -> None:
        _text(action.get("button"), "interactive['action']['button']", 1, 20)
        sections: Any = action.get("sections")
        _need(isinstance(sections, list) and 1 <= len(sections) <= 10, 131009,
              "Param interactive['action']['sections'] must have 1 to 10 sections.")
        ids: list[str] = []
        for i, section in enumerate(sections):
            label = f"interactive['action']['sections'][{i}]"
            _only(section, label, ("title", "rows"))
            if len(sections) > 1 or "title" in section:
                _text(section.get("title"), f"{label}['title']", 1, 24)
            rows: Any = section.get("rows")
            _need(isinstance(rows, list) and bool(rows), 131009,
                  f"Param {label}['rows'] is required.")
            for j, row in enumerate(rows):
                row_label = f"{label}['rows'][{j}]"
                _only(row, row_label, ("id", "title", "description"))
                ids.append(_text(row.get("id"), f"{row_label}['id']", 1, 200))
                _text(row.get("title"), f"{row_label}['title']", 1, 24)
                if "description" in row:
                    _text(row["description"], f"{row_label}['description']", 1, 72)
        _need(len(ids) <= 10, 131009, f"A list message has at most 10 rows, got {len(ids)}.")
        _need(len(set(ids)) == len(ids), 131009, "Row ids must be unique.")

    def _check_template(self, template: Any) -> None:
        _only(template, "template", ("name", "language", "components"))
        name = _text(template.get("name"), "template['name']", 1, 512)
        language = _only(template.get("language"), "template['language']", ("code", "policy"))
        code = _text(language.get("code"), "template['language']['code']", 1, 15)
        _need((name, code) in self.templates, 132001,
              f"template name ({name}) does not exist in {code}")

        components = template.get("components", [])
        _need(isinstance(components, list), 100, "Param template['components'] must be a list.")
        body_params: list[Any] = []
        for component in components:
            _need(isinstance(component, dict) and component.get("type") in
                  ("header", "body", "button"), 100,
                  "Param template['components'][]['type'] must be header, body or button.")
            if component["type"] == "body":
                body_params += component.get("parameters", [])
        expected = self.templates[(name, code)]
        _need(len(body_params) == expected, 132000,
              f"body: number of localizable_params ({len(body_params)}) does not match the "
              f"expected number of params ({expected})")
        for param in body_params:
            _need(isinstance(param, dict) and param.get("type") == "text", 100,
                  "FakeGraph models text body parameters only.")
            text = param.get("text")
            _need(isinstance(text, str) and text != "", 131008,
                  "Param template['components'][]['parameters'][]['text'] is required.")
            _need(not ("\n" in text or "\t" in text or _SPACES_RE.search(text)), 132018,
                  ERRORS[132018][1])
            # the approved body holds at most 1,024 characters with its own words (Meta's template limits)
            _need(len(text) <= 1024, 132005, ERRORS[132005][1])

    # ------------------------------------------------------------------ media

    async def _upload(self, request: web.Request, parts: list[str]) -> web.Response:
        _need(request.content_type == "multipart/form-data", 100,
              "Media upload must be multipart/form-data.")
        form = await request.post()
        if _WIRE in request:
            request[_WIRE]["form"] = {k: v for k, v in form.items() if not isinstance(v, web.FileField)}
            request[_WIRE]["files"] = {k: (v.filename, v.content_type, v.file.read()) for k, v in form.items()
                                        if isinstance(v, web.FileField)}
            for value in form.values():
                if isinstance(value, web.FileField):
                    value.file.seek(0)
        _need(form.get("messaging_product") == "whatsapp", 100,
              "The parameter messaging_product is required.")
        file = form.get("file")
        _need(isinstance(file, web.FileField), 131008, "The parameter file is required.")
        assert isinstance(file, web.FileField)
        mime = form.get("type")
        _need(isinstance(mime, str) and "/" in mime, 131008, "The parameter type is required.")
        media_id = str(next(self._media_ids))
        self.uploads[media_id] = (file.file.read(), str(mime), file.filename)
        return _json({"id": media_id})

    def _stored(self, media_id: str) -> tuple[bytes, str, str | None]:
        stored = self.uploads.get(media_id) or self._inbound_media.get(media_id)
        _need(stored is not None, 100, f"Unsupported get request. Object with ID '{media_id}' "
              "does not exist, cannot be loaded due to missing permissions, or does not support "
              "this operation.")
        assert stored is not None
        return stored

    async def _media_info(self, request: web.Request, parts: list[str]) -> web.Response:
        wanted = request.query.get("phone_number_id")
        _need(wanted in (None, self.phone_number_id), 100,
              "The media does not belong to this phone number.")
        data, mime, _ = self._stored(parts[1])
        return _json({"messaging_product": "whatsapp", "url": self.media_url(parts[1]),
                      "mime_type": mime, "sha256": hashlib.sha256(data).hexdigest(),
                      "file_size": len(data), "id": parts[1]})

    async def _media_delete(self, request: web.Request, parts: list[str]) -> web.Response:
        self._stored(parts[1])
        self.uploads.pop(parts[1], None)
        self._inbound_media.pop(parts[1], None)
        return _json({"success": True})

    async def _download(self, request: web.Request, parts: list[str]) -> web.Response:
        data, mime, _ = self._stored(parts[1])
        return web.Response(body=data, content_type=mime.split(";")[0])


def render(message: JSONDict) -> str:
    """One sent message as the customer reads it (see ``FakeGraph.texts_to``)."""
    kind = message.get("type", "text")
    content = message.get(kind, {})
    if kind == "text":
        return content["body"]
    if kind == "interactive":
        return content["body"]["text"]
    if kind in ("image", "document"):
        return content.get("caption", f"<{kind}>")
    if kind == "template":
        params = [p.get("text", "") for c in content.get("components", [])
                  if c.get("type") == "body" for p in c.get("parameters", [])]
        return f"template:{content['name']}:" + "|".join(params)
    if kind == "reaction":
        return f"<reaction:{content.get('emoji', '')}>"
    return f"<{kind}>"


def _values(payload: JSONDict) -> list[JSONDict]:
    return [change.get("value", {}) for entry in payload.get("entry", [])
            for change in entry.get("changes", [])]


async def _read_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read() or b"null")
    except ValueError:
        raise GraphError(100, "The request body is not valid JSON.") from None


_WIRE = web.RequestKey("wire", dict)  # the record of the request in ``FakeGraph.wire``


def _json(body: JSONDict, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)
