"""A fake Telegram Bot API server speaking the real HTTP protocol on 127.0.0.1.

Usage::

    async with FakeTelegram(token="123:ABC") as fake:
        app = (ApplicationBuilder().token(fake.token)
               .base_url(fake.base_url).base_file_url(fake.base_file_url).build())
        ...
        fake.push_text(42, "/start")
        await fake.wait_for_messages(42, 1)

Run ``python -m tests.fakes.telegram_api --bench 5000`` for a throughput figure.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import itertools
import json
import math
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import ClientSession, ClientTimeout, web

JSONDict = dict[str, Any]
ChatId = int | str

DEFAULT_TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
UPDATE_ID_START = 815_196_401
DEFAULT_FIRST_NAME = "Ibu Made"
GROUP_USER_ID = 5_000_000_001
MAX_BODY = 50 * 1024 * 1024

# Methods whose successful calls are not recorded in ``fake.sent`` (read-only or polling).
READ_ONLY_METHODS = frozenset({"getUpdates", "getMe", "getWebhookInfo", "getMyCommands", "getFile"})
#: the largest file a bot may download with getFile (20 MB): a larger one is refused "Bad Request: file is too big"
BOT_DOWNLOAD_LIMIT = 20 * 1024 * 1024
# Methods that put a message in a chat (counted by ``wait_for_messages``).
MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "editMessageText"})
# Methods subject to the optional flood-control check.
RATE_LIMITED_METHODS = frozenset({"sendMessage", "sendPhoto"})
# Methods refused for a blocked chat.
CHAT_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendChatAction", "editMessageText", "editMessageReplyMarkup"}
)

# Field types used to decode form/query values (which are always strings on the wire).
JSON_FIELDS = frozenset(
    {
        "reply_markup", "allowed_updates", "entities", "caption_entities", "commands", "scope",
        "link_preview_options", "reply_parameters", "media", "message_ids",
    }
)
INT_FIELDS = frozenset(
    {
        "chat_id", "message_id", "offset", "limit", "reply_to_message_id", "cache_time",
        "max_connections", "message_thread_id", "user_id", "from_chat_id",
    }
)
FLOAT_FIELDS = frozenset({"timeout"})
BOOL_FIELDS = frozenset(
    {
        "disable_notification", "protect_content", "show_alert", "drop_pending_updates",
        "disable_web_page_preview", "allow_sending_without_reply", "has_spoiler",
        "show_caption_above_media", "allow_paid_broadcast",
    }
)

HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
        "code", "pre", "blockquote", "tg-emoji",
    }
)
_ANGLE_RE = re.compile(r"<[^<>]*>|<")
_TAG_NAME_RE = re.compile(r"</?\s*([a-zA-Z][\w-]*)")
_COMMAND_RE = re.compile(r"\A/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,64})?")
_BOT_COMMAND_RE = re.compile(r"\A[a-z0-9_]{1,32}\Z")
_SECRET_RE = re.compile(r"\A[A-Za-z0-9_-]{1,256}\Z")
_MDV2_ALWAYS_ESCAPE = frozenset("#+-={}.!>)]")
_MDV2_LINK_RE = re.compile(r"\[((?:[^\]\\]|\\.)*)\]\(((?:[^)\\]|\\.)*)\)", re.S)
_MDV2_MARKS = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}
_FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


class TelegramAPIError(Exception):
    """An API error answered with Telegram's error shape."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None):
        """Keep the error code, description and optional retry_after."""
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after


class WaitTimeout(AssertionError):
    """Raised by ``wait_for`` when the predicate stayed false until the timeout."""


@dataclass(slots=True)
class Upload:
    """A file uploaded by the bot in a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(slots=True)
class StoredFile:
    """A file the fake can serve on ``/file/bot<token>/<path>``."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes


@dataclass(slots=True)
class SentCall:
    """One API call made by the bot (successful in ``sent``, refused in ``rejected``)."""

    method: str
    chat_id: ChatId | None
    text: str | None
    reply_markup: Any
    params: JSONDict
    at: float
    message_id: int | None = None
    parse_mode: str | None = None
    files: dict[str, Upload] = field(default_factory=dict)
    result: Any = None
    error_code: int | None = None
    description: str | None = None


@dataclass(slots=True)
class _Fault:
    """An injected failure waiting to be served."""

    method: str
    error_code: int
    description: str
    retry_after: int | None
    times: int
    chat_id: ChatId | None


class _Bucket:
    """A token bucket used for the optional flood-control check."""

    __slots__ = ("rate", "capacity", "tokens", "stamp")

    def __init__(self, rate: float, capacity: float, now: float):
        """Start full."""
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def wait_time(self, now: float) -> float:
        """Refill and return seconds until one token is available (0 if available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        """Consume one token."""
        self.tokens -= 1.0


@dataclass(slots=True)
class _Described:
    """A successful result that also carries Telegram's optional ``description``."""

    result: Any
    description: str


def norm_chat_id(value: Any) -> ChatId | None:
    """Return chat ids as int when numeric (Telegram accepts both "42" and 42)."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return text


def _bad(description: str) -> TelegramAPIError:
    """Build a 400 Bad Request error."""
    return TelegramAPIError(400, f"Bad Request: {description}")


def _coerce_value(key: str, value: Any) -> Any:
    """Decode one string parameter according to its Bot API type."""
    if not isinstance(value, str):
        return value
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            if key == "reply_markup":
                raise _bad("can't parse reply keyboard markup JSON object") from None
            raise _bad(f"can't parse {key} JSON object") from None
    if key in INT_FIELDS:
        return norm_chat_id(value)
    if key in FLOAT_FIELDS:
        try:
            number = float(value)
        except ValueError:
            raise _bad(f"invalid {key} specified") from None
        return int(number) if number.is_integer() else number
    if key in BOOL_FIELDS:
        return value.strip().lower() in ("true", "1")
    return value


def coerce_params(params: JSONDict) -> JSONDict:
    """Decode form/query/JSON parameters into typed values."""
    return {key: _coerce_value(key, value) for key, value in params.items()}


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, as Telegram counts entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[JSONDict]:
    """Return the bot_command entity for a text starting with a command."""
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"offset": 0, "length": utf16_len(match.group()), "type": "bot_command"}]


def _byte_offset(text: str, pos: int) -> int:
    """UTF-8 byte offset of character position ``pos``."""
    return len(text[:pos].encode())


def parse_html(text: str) -> str:
    """Validate Telegram HTML and return the plain text (tags removed, entities decoded)."""
    out: list[str] = []
    stack: list[str] = []
    last = 0
    for match in _ANGLE_RE.finditer(text):
        out.append(html.unescape(text[last : match.start()]))
        last = match.end()
        _html_tag(text, match, stack)
    out.append(html.unescape(text[last:]))
    if stack:
        raise _bad(
            f'can\'t parse entities: Can\'t find end tag corresponding to start tag "{stack[-1]}"'
        )
    return "".join(out)


def _html_tag(text: str, match: re.Match[str], stack: list[str]) -> None:
    """Check one HTML tag against Telegram's supported set and the open-tag stack."""
    tag, offset = match.group(), _byte_offset(text, match.start())
    if tag == "<":
        raise _bad(f"can't parse entities: Unclosed start tag at byte offset {offset}")
    name_match = _TAG_NAME_RE.match(tag)
    name = name_match.group(1).lower() if name_match else ""
    if name not in HTML_TAGS:
        raise _bad(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}')
    if not tag.startswith("</"):
        if not tag.endswith("/>"):
            stack.append(name)
        return
    if not stack:
        raise _bad(f"can't parse entities: Unexpected end tag at byte offset {offset}")
    if stack[-1] != name:
        raise _bad(
            f"can't parse entities: Unmatched end tag at byte offset {offset}, "
            f'expected "</{stack[-1]}>", found "</{name}>"'
        )
    stack.pop()


def parse_markdown_v2(text: str) -> str:
    """Validate MarkdownV2 escaping (approximately as Telegram does) and return plain text."""
    out: list[str] = []
    open_marks: dict[str, int] = {}
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
        elif char == "`":
            i = _mdv2_code(text, i, out)
        elif char == "[":
            i = _mdv2_link(text, i, out)
        elif char in "*_~|":
            i = _mdv2_mark(text, i, open_marks)
        elif char in _MDV2_ALWAYS_ESCAPE or char == "(":
            if char == ">" and (i == 0 or text[i - 1] == "\n"):
                i += 1
                continue
            raise _bad(
                f"can't parse entities: Character '{char}' is reserved and must be escaped "
                "with the preceding '\\'"
            )
        else:
            out.append(char)
            i += 1
    if open_marks:
        mark, start = min(open_marks.items(), key=lambda item: item[1])
        raise _bad(
            f"can't parse entities: Can't find end of {_MDV2_MARKS[mark]} entity at byte offset "
            f"{_byte_offset(text, start)}"
        )
    return "".join(out)


def _mdv2_code(text: str, i: int, out: list[str]) -> int:
    """Consume an inline or block code span starting at ``i``; return the next index."""
    fence = "```" if text.startswith("```", i) else "`"
    end = text.find(fence, i + len(fence))
    if end < 0:
        kind = "Pre" if fence == "```" else "Code"
        raise _bad(f"can't parse entities: Can't find end of {kind} entity at byte offset "
                   f"{_byte_offset(text, i)}")
    body = text[i + len(fence) : end]
    out.append(re.sub(r"\\(.)", r"\1", body))
    return end + len(fence)


def _mdv2_link(text: str, i: int, out: list[str]) -> int:
    """Consume an inline link ``[text](url)`` starting at ``i``; return the next index."""
    match = _MDV2_LINK_RE.match(text, i)
    if not match:
        raise _bad("can't parse entities: Character '[' is reserved and must be escaped with "
                   "the preceding '\\'")
    out.append(parse_markdown_v2(match.group(1)))
    return match.end()


def _mdv2_mark(text: str, i: int, open_marks: dict[str, int]) -> int:
    """Toggle a bold/italic/underline/strike/spoiler mark at ``i``; return the next index."""
    mark = text[i : i + 2] if text.startswith(("__", "||"), i) else text[i]
    if mark == "|":
        raise _bad("can't parse entities: Character '|' is reserved and must be escaped with "
                   "the preceding '\\'")
    if mark in open_marks:
        del open_marks[mark]
    else:
        open_marks[mark] = i
    return i + len(mark)


def parse_markdown(text: str) -> str:
    """Validate legacy Markdown (every entity closed, no nesting) and return plain text."""
    out: list[str] = []
    opened: tuple[str, int] | None = None  # (closing character, start index)
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in ("*", "_", "`", "["):
            out.append(text[i + 1])
            i += 1
        elif opened is None and char in "*_`[":
            opened = ("]" if char == "[" else char, i)
        elif opened is not None and char == opened[0]:
            if char == "]" and text.startswith("(", i + 1):
                i = max(i, text.find(")", i + 1))  # skip the link URL
            opened = None
        else:
            out.append(char)
        i += 1
    if opened is not None:
        raise _bad("can't parse entities: Can't find end of the entity starting at byte offset "
                   f"{_byte_offset(text, opened[1])}")
    return "".join(out)


def plain_text(text: str, parse_mode: str | None) -> str:
    """Validate ``text`` for ``parse_mode`` and return what the user sees."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    if mode:
        raise _bad("unsupported parse_mode")
    return text


def error_body(error_code: int, description: str, retry_after: int | None = None) -> JSONDict:
    """Telegram's error response object."""
    body: JSONDict = {"ok": False, "error_code": error_code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body


def _default_description(error_code: int, retry_after: int) -> str:
    """Telegram's usual description for an error code."""
    return {
        400: "Bad Request: chat not found",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running",
        429: f"Too Many Requests: retry after {retry_after}",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(error_code, "Internal Server Error")


def _json_response(body: JSONDict, status: int = 200) -> web.Response:
    """Serialize a response body as Telegram does (application/json)."""
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
    )


class FakeTelegram:
    """An in-process fake of the Telegram Bot API, for tests and benchmarks."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_first_name: str = "Posyandu ILP",
        bot_username: str = "posyandu_ilp_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        strict_chats: bool = False,
    ):
        """Configure the fake; the server starts in ``start()`` / ``__aenter__``."""
        self.token = token
        self.host, self.port = host, port
        self.latency = latency
        self.strict_chats = strict_chats
        bot_id = norm_chat_id(token.split(":", 1)[0])
        self.bot_user: JSONDict = {
            "id": bot_id if isinstance(bot_id, int) else 123456789,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None
        self._closing = False
        self._methods = self._method_table()
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def reset(self) -> None:
        """Forget every recorded call, update, fault and setting."""
        self.sent: list[SentCall] = []
        #: set to a list to record every request to ``/bot<token>/<method>`` as it came over the wire, in
        #: order: ``method`` (HTTP), ``path``, ``content_type``, ``params`` (before any decoding: JSON as sent,
        #: form values as strings), ``files`` ({field: Upload}) and the ``status`` answered (None: not recorded)
        self.wire: list[JSONDict] | None = None
        self.rejected: list[SentCall] = []
        self.unexpected: list[SentCall] = []
        self.answered_callbacks: list[JSONDict] = []
        self.calls: Counter[str] = Counter()
        self.confirmed_offset = 0
        self.allowed_updates: list[str] | None = None
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_params: JSONDict = {}
        self.webhook_deliveries: list[tuple[int | None, int]] = []
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.command_calls: list[JSONDict] = []  # every accepted setMyCommands / deleteMyCommands, in order
        self.files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self.blocked: set[ChatId] = set()
        self.duplicates = 0
        self.dedupe_key: Callable[[SentCall], Hashable] = lambda call: (call.chat_id, call.text)
        self.rate_violations = 0
        self.rate_violations_by_chat: Counter[ChatId] = Counter()
        self.unauthorized = 0
        self.closed = False
        self.logged_out = False
        self._updates: deque[JSONDict] = deque()
        self._next_update_id = UPDATE_ID_START
        self._by_chat: defaultdict[ChatId, list[SentCall]] = defaultdict(list)
        self._message_count: Counter[ChatId] = Counter()
        self._texts: Counter[tuple[ChatId | None, str | None]] = Counter()
        self._dedupe_seen: set[Hashable] = set()
        self._bot_messages: dict[tuple[ChatId, int], JSONDict] = {}
        self._last_bot_message: dict[ChatId, int] = {}
        self._message_ids: Counter[ChatId] = Counter()
        self._users: dict[ChatId, JSONDict] = {}
        self._known_chats: set[ChatId] = set()
        self.dropped_updates: list[JSONDict] = []
        self._callbacks: dict[str, ChatId] = {}
        self._answered_ids: set[str] = set()
        self._callback_ids = itertools.count(4_382_100_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._faults: list[_Fault] = []
        self._chat_buckets: dict[ChatId, _Bucket] = {}
        self._global_bucket: _Bucket | None = None
        self._rate: tuple[float, float, float, float] | None = None
        self._poll_generation = 0
        if hasattr(self, "_update_event"):
            self._update_event.set()
        self._update_event = asyncio.Event()
        self._changed = asyncio.Event()
        self._watchers = 0

    async def start(self) -> FakeTelegram:
        """Start the HTTP server on a free port."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._closing = False
        return self

    async def stop(self) -> None:
        """Wake pending long polls and stop the server."""
        self._closing = True
        self._wake_pollers()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        """Start the server."""
        return await self.start()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        """Stop the server and fail loudly if the bot called methods nobody implemented."""
        await self.stop()
        if not self.unexpected:
            return
        report = self.unexpected_report()
        if exc is not None:
            exc.add_note(report)
            return
        raise AssertionError(report)

    def unexpected_report(self) -> str:
        """Describe the unimplemented methods the bot called."""
        lines = [f"  {call.method}({call.params})" for call in self.unexpected[:20]]
        header = "FakeTelegram: unexpected Bot API calls (not implemented, or a fake error):"
        return "\n".join([header, *lines])

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for PTB's ``base_url`` (the token is appended by PTB)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for PTB's ``base_file_url``."""
        return f"{self.url}/file/bot"

    # ------------------------------------------------------------------ simulated users

    def push_text(
        self,
        chat_id: int,
        text: str,
        *,
        first_name: str | None = None,
        language_code: str | None = "id",
        user_id: int | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """Queue a text message from a user (commands get a bot_command entity)."""
        return self.push_update(
            self.text_update(
                chat_id, text, first_name=first_name, language_code=language_code,
                user_id=user_id, username=username,
            )
        )

    def push_callback(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int | None = None,
        first_name: str | None = None,
        language_code: str | None = "id",
        check_button: bool = True,
    ) -> JSONDict:
        """Queue a button press on a bot message (default: the last one sent to the chat)."""
        return self.push_update(
            self.callback_update(
                chat_id, data, message_id=message_id, first_name=first_name,
                language_code=language_code, check_button=check_button,
            )
        )

    def push_photo(
        self,
        chat_id: int,
        caption: str | None = None,
        *,
        data: bytes | None = None,
        first_name: str | None = None,
        language_code: str | None = "id",
    ) -> JSONDict:
        """Queue a photo message from a user; its bytes can be downloaded via getFile."""
        return self.push_update(
            self.photo_update(
                chat_id, caption, data=data, first_name=first_name, language_code=language_code
            )
        )

    def push_document(
        self,
        chat_id: int,
        file_name: str,
        data: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        first_name: str | None = None,
        language_code: str | None = "id",
    ) -> JSONDict:
        """Queue a file sent as a document; its bytes can be downloaded via getFile."""
        return self.push_update(
            self.document_update(chat_id, file_name, data, caption=caption, mime_type=mime_type, first_name=first_name,
                                 language_code=language_code)
        )

    def push_sticker(
        self,
        chat_id: int,
        *,
        emoji: str = "👍",
        first_name: str | None = None,
        language_code: str | None = "id",
    ) -> JSONDict:
        """Queue a sticker message from a user."""
        return self.push_update(
            self.sticker_update(chat_id, emoji=emoji, first_name=first_name,
                                language_code=language_code)
        )

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw Update dict (an update_id is assigned when missing)."""
        if "update_id" not in update:
            update = {"update_id": self._new_update_id(), **update}
        else:
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        self._register_update(update)
        if self.allowed_updates and _update_kind(update) not in self.allowed_updates:
            self.dropped_updates.append(update)  # Telegram never queues unwanted types
            return update
        self._updates.append(update)
        self._wake_pollers()
        self._notify()
        return update

    # Builders: the same shapes without queueing (for webhooks or custom pushes).

    def text_update(
        self,
        chat_id: int,
        text: str,
        *,
        first_name: str | None = None,
        language_code: str | None = "id",
        user_id: int | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """Build (without queueing) a text message update."""
        user = self._user(chat_id, first_name, language_code, user_id, username)
        message = self._user_message(chat_id, user, text=text)
        entities = command_entities(text)
        if entities:
            message["entities"] = entities
        return {"update_id": self._new_update_id(), "message": message}

    def callback_update(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int | None = None,
        first_name: str | None = None,
        language_code: str | None = "id",
        check_button: bool = True,
    ) -> JSONDict:
        """Build (without queueing) a callback_query update on a bot message."""
        chat_id = norm_chat_id(chat_id)
        message = self._bot_message_for_callback(chat_id, message_id)
        if check_button:
            _check_button(message, data)
        user = self._user(chat_id, first_name, language_code, None, None)
        query_id = str(next(self._callback_ids))
        self._callbacks[query_id] = chat_id
        query = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(-(7_000_000_000_000_000_000 + abs(hash(chat_id)) % 10**18)),
            "data": data,
        }
        return {"update_id": self._new_update_id(), "callback_query": query}

    def photo_update(
        self,
        chat_id: int,
        caption: str | None = None,
        *,
        data: bytes | None = None,
        first_name: str | None = None,
        language_code: str | None = "id",
    ) -> JSONDict:
        """Build (without queueing) a photo message update."""
        user = self._user(chat_id, first_name, language_code, None, None)
        payload = data if data is not None else _FAKE_JPEG + next(self._file_ids).to_bytes(4, "big")
        message = self._user_message(chat_id, user, photo=self._photo_sizes(payload))
        if caption is not None:
            message["caption"] = caption
        return {"update_id": self._new_update_id(), "message": message}

    def document_update(
        self,
        chat_id: int,
        file_name: str,
        data: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        first_name: str | None = None,
        language_code: str | None = "id",
    ) -> JSONDict:
        """Build (without queueing) a document message update (Telegram's Document: name, type, id, size)."""
        user = self._user(chat_id, first_name, language_code, None, None)
        stored = self._store_file(data, "documents", file_name.rpartition(".")[2] or "bin", "BQACAgUAAxkBAAI")
        document = {"file_name": file_name, "mime_type": mime_type, "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id, "file_size": len(data)}
        message = self._user_message(chat_id, user, document=document)
        if caption is not None:
            message["caption"] = caption
        return {"update_id": self._new_update_id(), "message": message}

    def sticker_update(
        self,
        chat_id: int,
        *,
        emoji: str = "👍",
        first_name: str | None = None,
        language_code: str | None = "id",
    ) -> JSONDict:
        """Build (without queueing) a sticker message update."""
        user = self._user(chat_id, first_name, language_code, None, None)
        webp = b"RIFF\x00\x00\x00\x00WEBPVP8 "
        stored = self._store_file(webp, "stickers", "webp", "CAACAgIAAxkBAAI")
        thumb = self._store_file(_FAKE_JPEG, "thumbnails", "jpg", "AAMCAgADGQEAAI")
        sticker = {
            "width": 512,
            "height": 512,
            "emoji": emoji,
            "set_name": "PosyanduSehat",
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "thumbnail": _photo_size(thumb, 128, 128),
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        message = self._user_message(chat_id, user, sticker=sticker)
        return {"update_id": self._new_update_id(), "message": message}

    # ------------------------------------------------------------------ inspection

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates pushed but not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    def sent_to(self, chat_id: ChatId) -> list[SentCall]:
        """Successful calls addressed to a chat, in order."""
        return list(self._by_chat.get(norm_chat_id(chat_id), ()))

    def messages_to(self, chat_id: ChatId) -> list[SentCall]:
        """Successful sendMessage/sendPhoto/editMessageText calls to a chat."""
        calls = self._by_chat.get(norm_chat_id(chat_id), ())
        return [call for call in calls if call.method in MESSAGE_METHODS]

    def texts_to(self, chat_id: ChatId) -> list[str | None]:
        """Texts (or captions) of the messages the bot sent or edited in a chat."""
        return [call.text for call in self.messages_to(chat_id)]

    def last_message(self, chat_id: ChatId) -> JSONDict | None:
        """The current state (after edits) of the last message the bot sent to a chat."""
        chat_id = norm_chat_id(chat_id)
        message_id = self._last_bot_message.get(chat_id)
        return None if message_id is None else self._bot_messages[(chat_id, message_id)]

    def bot_message(self, chat_id: ChatId, message_id: int) -> JSONDict | None:
        """The current state of one bot message."""
        return self._bot_messages.get((norm_chat_id(chat_id), message_id))

    def count_texts(self) -> Counter[tuple[ChatId | None, str | None]]:
        """How many successful sendMessage calls each (chat_id, text) pair got."""
        return Counter(self._texts)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every API call) and return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeout(self._timeout_report(f"wait_for timed out after {timeout}s"))
            await self._wait_change(remaining)

    async def wait_for_messages(
        self, chat_id: ChatId, count: int, timeout: float = 10.0
    ) -> list[SentCall]:
        """Wait until the bot sent/edited at least ``count`` messages in a chat; return them."""
        chat_id = norm_chat_id(chat_id)
        try:
            await self.wait_for(lambda: self._message_count[chat_id] >= count, timeout)
        except WaitTimeout:
            got = self._message_count[chat_id]
            raise WaitTimeout(
                self._timeout_report(f"expected {count} messages to chat {chat_id}, got {got}",
                                     chat_id)
            ) from None
        return self.messages_to(chat_id)

    async def _wait_change(self, remaining: float) -> None:
        """Sleep until the next recorded change or ``remaining`` seconds."""
        event = self._changed
        self._watchers += 1
        try:
            async with asyncio.timeout(remaining):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            self._watchers -= 1

    def _timeout_report(self, headline: str, chat_id: ChatId | None = None) -> str:
        """Explain a wait timeout with what the fake saw."""
        calls = self.sent_to(chat_id) if chat_id is not None else self.sent
        lines = [headline, f"  pending updates: {len(self._updates)}",
                 f"  calls: {dict(self.calls)}"]
        lines += [f"  sent {c.method} chat={c.chat_id} text={c.text!r}" for c in calls[-10:]]
        lines += [f"  rejected {c.method} chat={c.chat_id} {c.error_code} {c.description}"
                  for c in self.rejected[-5:]]
        if self.unexpected:
            lines.append(self.unexpected_report())
        return "\n".join(lines)

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int = 3,
        times: int = 1,
        chat_id: ChatId | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" = any) with an API error."""
        self._faults.append(
            _Fault(
                method="*" if method == "*" else method.lower(),
                error_code=error_code,
                description=description or _default_description(error_code, retry_after),
                retry_after=retry_after if error_code == 429 else None,
                times=times,
                chat_id=norm_chat_id(chat_id),
            )
        )

    def block(self, chat_id: ChatId) -> None:
        """Make every send to ``chat_id`` answer 403 "bot was blocked by the user"."""
        self.blocked.add(norm_chat_id(chat_id))

    def unblock(self, chat_id: ChatId) -> None:
        """Undo ``block``."""
        self.blocked.discard(norm_chat_id(chat_id))

    def enforce_rate(
        self,
        per_chat_per_second: float = 1.0,
        global_per_second: float = 30.0,
        *,
        per_chat_burst: float | None = None,
        global_burst: float | None = None,
    ) -> None:
        """Answer 429 (and count ``rate_violations``) when sends exceed these token buckets."""
        self._rate = (
            per_chat_per_second,
            per_chat_burst if per_chat_burst is not None else max(1.0, per_chat_per_second),
            global_per_second,
            global_burst if global_burst is not None else max(1.0, global_per_second),
        )
        self._chat_buckets.clear()
        self._global_bucket = None

    def relax_rate(self) -> None:
        """Switch the flood-control check off again."""
        self._rate = None

    # ------------------------------------------------------------------ webhooks

    async def deliver_webhook(
        self, update: JSONDict, url: str | None = None, secret: str | None = None
    ) -> int:
        """POST an update to the webhook like Telegram does; return the HTTP status."""
        target = url or self.webhook_url
        if not target:
            raise AssertionError("FakeTelegram: no webhook URL (call setWebhook or pass url=)")
        token = self.webhook_secret if secret is None else secret
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        self._register_update(update)
        if self._http is None:
            self._http = ClientSession(timeout=ClientTimeout(total=30))
        async with self._http.post(target, data=json.dumps(update), headers=headers) as response:
            await response.read()
            status = response.status
        self.webhook_deliveries.append((update.get("update_id"), status))
        return status

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_method(self, request: web.Request) -> web.Response:
        """Serve ``/bot<token>/<method>``."""
        if request.match_info["token"] != self.token:
            self.unauthorized += 1
            return _json_response(error_body(401, "Unauthorized"), 401)
        if self.latency:
            await asyncio.sleep(self.latency)
        name = request.match_info["method"]
        entry = self._methods.get(name.lower())
        wire: JSONDict | None = None
        if self.wire is not None:
            wire = {"method": request.method, "path": request.path, "content_type": request.content_type,
                    "params": {}, "files": {}, "status": None}
            self.wire.append(wire)
        try:
            params, files = await self._read_params(request, wire)
        except TelegramAPIError as err:
            if wire is not None:
                wire["status"] = err.error_code
            return _json_response(error_body(err.error_code, err.description), err.error_code)
        self.calls[entry[0] if entry else name] += 1
        if entry is None:
            response = self._unexpected(name, params, files)
        else:
            response = await self._dispatch(entry[0], entry[1], params, files)
        if wire is not None:
            wire["status"] = response.status
        return response

    async def _dispatch(
        self, method: str, handler: Callable[..., Any], params: JSONDict, files: dict[str, Upload]
    ) -> web.Response:
        """Run fault checks and the method handler, record the call, build the response."""
        chat_id = norm_chat_id(params.get("chat_id"))
        try:
            self._check_faults(method, chat_id)
            result = handler(params, files)
            if asyncio.iscoroutine(result):
                result = await result
        except TelegramAPIError as err:
            self._record_rejection(method, chat_id, params, files, err)
            self._notify()
            return _json_response(
                error_body(err.error_code, err.description, err.retry_after), err.error_code
            )
        except Exception as err:  # a bug in the fake itself must fail the test loudly
            self.unexpected.append(self._call(f"{method} -> {err!r}", chat_id, params, files))
            self._notify()
            return _json_response(error_body(500, "Internal Server Error"), 500)
        if isinstance(result, _Described):
            body: JSONDict = {"ok": True, "result": result.result,
                              "description": result.description}
            result = result.result
        else:
            body = {"ok": True, "result": result}
        if method not in READ_ONLY_METHODS:
            self._record(method, chat_id, params, files, result)
        self._notify()
        return _json_response(body)

    def _unexpected(self, name: str, params: JSONDict, files: dict[str, Upload]) -> web.Response:
        """Record a call to a method nobody implemented and answer 404 like Telegram."""
        self.unexpected.append(self._call(name, norm_chat_id(params.get("chat_id")), params, files))
        self._notify()
        return _json_response(error_body(404, "Not Found"), 404)

    async def _handle_file(self, request: web.Request) -> web.Response:
        """Serve ``/file/bot<token>/<path>`` downloads."""
        if request.match_info["token"] != self.token:
            self.unauthorized += 1
            return _json_response(error_body(401, "Unauthorized"), 401)
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return _json_response(error_body(404, "Not Found"), 404)
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        """Answer any other path with Telegram's 404."""
        return _json_response(error_body(404, "Not Found"), 404)

    async def _read_params(self, request: web.Request, wire: JSONDict | None = None) -> tuple[JSONDict, dict[str, Upload]]:
        """Read parameters from the query string and a JSON, urlencoded or multipart body (kept as sent
        in ``wire`` when given)."""
        params: JSONDict = dict(request.query) if request.query_string else {}
        files: dict[str, Upload] = {}
        if request.body_exists:
            content_type = request.content_type
            if content_type == "application/json":
                params.update(await _read_json(request))
            elif content_type == "application/x-www-form-urlencoded":
                params.update(parse_qsl((await request.read()).decode(), keep_blank_values=True))
            elif content_type == "multipart/form-data":
                try:
                    form = await request.post()
                except ValueError as err:
                    raise _bad(f"can't parse request body: {err}") from None
                _split_form(form, params, files)
        if wire is not None:
            wire["params"], wire["files"] = dict(params), dict(files)
        params = coerce_params(params)
        _resolve_attachments(params, files)
        return params, files

    # ------------------------------------------------------------------ checks and records

    def _check_faults(self, method: str, chat_id: ChatId | None) -> None:
        """Raise an injected fault, a block or a flood-control error if one applies."""
        if self._faults:
            self._take_fault(method, chat_id)
        if chat_id is not None and chat_id in self.blocked and method in CHAT_METHODS:
            raise TelegramAPIError(403, "Forbidden: bot was blocked by the user")
        if self._rate is not None and method in RATE_LIMITED_METHODS:
            self._check_rate(chat_id)

    def _take_fault(self, method: str, chat_id: ChatId | None) -> None:
        """Serve the first matching injected fault."""
        lower = method.lower()
        for fault in self._faults:
            if fault.method not in ("*", lower):
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            raise TelegramAPIError(fault.error_code, fault.description, fault.retry_after)

    def _check_rate(self, chat_id: ChatId | None) -> None:
        """Apply the per-chat and global token buckets."""
        assert self._rate is not None
        chat_rate, chat_burst, global_rate, global_burst = self._rate
        now = time.monotonic()
        if self._global_bucket is None:
            self._global_bucket = _Bucket(global_rate, global_burst, now)
        bucket = self._chat_buckets.get(chat_id)
        if bucket is None:
            bucket = self._chat_buckets[chat_id] = _Bucket(chat_rate, chat_burst, now)
        wait = max(bucket.wait_time(now), self._global_bucket.wait_time(now))
        if wait > 0:
            self.rate_violations += 1
            self.rate_violations_by_chat[chat_id] += 1
            retry_after = max(1, math.ceil(wait))
            description = f"Too Many Requests: retry after {retry_after}"
            raise TelegramAPIError(429, description, retry_after)
        bucket.take()
        self._global_bucket.take()

    def _call(
        self, method: str, chat_id: ChatId | None, params: JSONDict, files: dict[str, Upload]
    ) -> SentCall:
        """Build a SentCall from request parameters."""
        text = params.get("text", params.get("caption"))
        return SentCall(
            method=method,
            chat_id=chat_id,
            text=text,
            reply_markup=params.get("reply_markup"),
            params=params,
            at=time.monotonic(),
            message_id=params.get("message_id"),
            parse_mode=params.get("parse_mode"),
            files=files,
        )

    def _record(
        self,
        method: str,
        chat_id: ChatId | None,
        params: JSONDict,
        files: dict[str, Upload],
        result: Any,
    ) -> None:
        """Record a successful outgoing call and update the per-chat indexes."""
        if chat_id is None and "callback_query_id" in params:
            chat_id = self._callbacks.get(str(params["callback_query_id"]))
        call = self._call(method, chat_id, params, files)
        call.result = result
        if isinstance(result, dict) and "message_id" in result:
            call.message_id = result["message_id"]
        self.sent.append(call)
        if chat_id is not None:
            self._by_chat[chat_id].append(call)
            if method in MESSAGE_METHODS:
                self._message_count[chat_id] += 1
        if method == "sendMessage":
            self._count_text(call)

    def _count_text(self, call: SentCall) -> None:
        """Update the (chat_id, text) counter and the duplicate count."""
        self._texts[(call.chat_id, call.text)] += 1
        key = self.dedupe_key(call)
        if key in self._dedupe_seen:
            self.duplicates += 1
        else:
            self._dedupe_seen.add(key)

    def _record_rejection(
        self,
        method: str,
        chat_id: ChatId | None,
        params: JSONDict,
        files: dict[str, Upload],
        err: TelegramAPIError,
    ) -> None:
        """Record a call answered with an error."""
        call = self._call(method, chat_id, params, files)
        call.error_code, call.description = err.error_code, err.description
        self.rejected.append(call)

    def _notify(self) -> None:
        """Wake ``wait_for`` callers."""
        if self._watchers:
            self._changed.set()
            self._changed = asyncio.Event()

    def _wake_pollers(self) -> None:
        """Wake getUpdates long polls."""
        self._update_event.set()
        self._update_event = asyncio.Event()

    # ------------------------------------------------------------------ state helpers

    def _new_update_id(self) -> int:
        """Next sequential update_id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        return update_id

    def _new_message_id(self, chat_id: ChatId) -> int:
        """Next message_id in a chat (shared by user and bot messages, as in private chats)."""
        self._message_ids[chat_id] += 1
        return self._message_ids[chat_id]

    def _user(
        self,
        chat_id: ChatId,
        first_name: str | None,
        language_code: str | None,
        user_id: int | None,
        username: str | None,
    ) -> JSONDict:
        """Build a User (default name: the one this user used before, else "Ibu Made")."""
        chat_id = norm_chat_id(chat_id)
        self._known_chats.add(chat_id)
        private = isinstance(chat_id, int) and chat_id > 0
        uid = user_id if user_id is not None else (chat_id if private else GROUP_USER_ID)
        known = self._users.get(uid)
        if first_name is None:
            first_name = known["first_name"] if known else DEFAULT_FIRST_NAME
        if username is None and known:
            username = known.get("username")
        user: JSONDict = {"id": uid, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[uid] = user
        return user

    def _chat(self, chat_id: ChatId) -> JSONDict:
        """Build the Chat object for a chat id."""
        if isinstance(chat_id, int) and chat_id < 0:
            kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
            return {"id": chat_id, "title": f"Grup {abs(chat_id)}", "type": kind}
        if isinstance(chat_id, str):
            name = chat_id.lstrip("@")
            return {"id": -1001000000001, "title": name, "username": name, "type": "channel"}
        user = self._users.get(chat_id)
        chat: JSONDict = {"id": chat_id, "first_name": user["first_name"] if user else "Pengguna"}
        if user and "username" in user:
            chat["username"] = user["username"]
        chat["type"] = "private"
        return chat

    def _user_message(self, chat_id: ChatId, user: JSONDict, **content: Any) -> JSONDict:
        """Build a Message sent by a user."""
        chat_id = norm_chat_id(chat_id)
        return {
            "message_id": self._new_message_id(chat_id),
            "from": user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }

    def _new_bot_message(self, chat_id: ChatId, **content: Any) -> JSONDict:
        """Build and store a Message sent by the bot."""
        if self.strict_chats and chat_id not in self._known_chats:
            raise _bad("chat not found")
        message = {
            "message_id": self._new_message_id(chat_id),
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **{key: value for key, value in content.items() if value is not None},
        }
        self._bot_messages[(chat_id, message["message_id"])] = message
        self._last_bot_message[chat_id] = message["message_id"]
        return message

    def _bot_message_for_callback(self, chat_id: ChatId, message_id: int | None) -> JSONDict:
        """The bot message a simulated user presses a button on."""
        if message_id is None:
            message_id = self._last_bot_message.get(chat_id)
        message = self._bot_messages.get((chat_id, message_id)) if message_id else None
        if message is None:
            raise AssertionError(
                f"FakeTelegram: no bot message {message_id or ''} in chat {chat_id} to press a "
                "button on"
            )
        return message

    def _register_update(self, update: JSONDict) -> None:
        """Remember callback query ids so answerCallbackQuery can validate them."""
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            chat = (query.get("message") or {}).get("chat") or {}
            self._callbacks.setdefault(str(query["id"]), norm_chat_id(chat.get("id")))

    def _store_file(self, data: bytes, folder: str, ext: str, prefix: str) -> StoredFile:
        """Store bytes under a new file_id and file_path."""
        number = next(self._file_ids)
        stored = StoredFile(
            file_id=f"{prefix}{number:06d}{self.port:05d}xYz_FakeFile",
            file_unique_id=f"AQAD{number:06d}",
            file_path=f"{folder}/file_{number}.{ext}",
            data=data,
        )
        self.files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(self, data: bytes) -> list[JSONDict]:
        """Store a photo and describe it as Telegram's list of PhotoSize (small to large)."""
        small = self._store_file(data, "photos", "jpg", "AgACAgUAAxkBAAI")
        large = self._store_file(data, "photos", "jpg", "AgACAgUAAxkBAAI")
        return [_photo_size(small, 90, 68), _photo_size(large, 1280, 960)]

    # ------------------------------------------------------------------ Bot API methods

    def _method_table(self) -> dict[str, tuple[str, Callable[..., Any]]]:
        """Map lower-cased method names (the Bot API is case-insensitive) to handlers."""
        table = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "getFile": self._get_file,
            "close": self._close,
            "logOut": self._log_out,
        }
        return {name.lower(): (name, handler) for name, handler in table.items()}

    def _get_me(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        """getMe: the bot's User object."""
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSONDict, files: dict[str, Upload]) -> list[JSONDict]:
        """getUpdates: confirm by offset, then long-poll until an update arrives or timeout."""
        if self.webhook_url:
            raise TelegramAPIError(
                409, "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        self._confirm(params.get("offset"))
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"])
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = float(params.get("timeout") or 0)
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()  # a newer getUpdates terminates an older waiting one
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._updates and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            event = self._update_event
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                break
            if generation != self._poll_generation:
                raise TelegramAPIError(409, _default_description(409, 0))
        return list(itertools.islice(self._updates, limit))

    def _confirm(self, offset: Any) -> None:
        """Drop updates confirmed by ``offset`` (negative: keep only the last -offset)."""
        if offset is None:
            return
        offset = int(offset)
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        self.confirmed_offset = max(self.confirmed_offset, offset)
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()

    def _send_message(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        """sendMessage: validate and return the sent Message."""
        chat_id = _require_chat(params)
        text = params.get("text")
        if text is None or not str(text).strip():
            raise _bad("message text is empty")
        text = str(text)
        shown = plain_text(text, params.get("parse_mode"))
        if utf16_len(shown) > 4096:
            raise _bad("message is too long")
        return self._new_bot_message(
            chat_id, text=shown, reply_markup=_inline_markup(params.get("reply_markup"))
        )

    def _send_photo(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        """sendPhoto: keep uploaded bytes (or resolve a file_id) and return the Message."""
        chat_id = _require_chat(params)
        sizes = self._photo_from_request(params, files)
        caption = params.get("caption")
        shown = plain_text(str(caption), params.get("parse_mode")) if caption else None
        if shown is not None and utf16_len(shown) > 1024:
            raise _bad("message caption is too long")
        return self._new_bot_message(
            chat_id, photo=sizes, caption=shown,
            reply_markup=_inline_markup(params.get("reply_markup")),
        )

    def _send_document(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        """sendDocument: keep the uploaded file and return the Message with its Document."""
        chat_id = _require_chat(params)
        upload = files.get("document")
        if upload is None:
            raise _bad("there is no document in the request")
        name = upload.filename or "file"
        stored = self._store_file(upload.data, "documents", name.rsplit(".", 1)[-1] if "." in name else "bin", "BQACAgUAAxkBAAI")
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_name": name,
                    "mime_type": upload.content_type or "application/octet-stream", "file_size": len(upload.data)}
        caption = params.get("caption")
        return self._new_bot_message(chat_id, document=document, caption=str(caption) if caption else None)

    def _photo_from_request(self, params: JSONDict, files: dict[str, Upload]) -> list[JSONDict]:
        """PhotoSizes for an uploaded file, a known file_id or an HTTP URL."""
        if "photo" in files:
            return self._photo_sizes(files["photo"].data)
        photo = params.get("photo")
        if not photo:
            raise _bad("there is no photo in the request")
        stored = self.files.get(str(photo))
        if stored is not None:
            return [_photo_size(stored, 1280, 960)]
        if str(photo).startswith(("http://", "https://")):
            return self._photo_sizes(_FAKE_JPEG)
        raise _bad("wrong file identifier/HTTP URL specified")

    def _edit_message_text(self, params: JSONDict, files: dict[str, Upload]) -> Any:
        """editMessageText: change a bot message's text (and markup)."""
        if params.get("inline_message_id"):
            return True
        chat_id, message = self._message_to_edit(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text = params.get("text")
        if text is None or not str(text).strip():
            raise _bad("message text is empty")
        shown = plain_text(str(text), params.get("parse_mode"))
        markup = _inline_markup(params.get("reply_markup"))
        if shown == message.get("text") and markup == message.get("reply_markup"):
            raise _not_modified()
        return self._replace_message(chat_id, message, text=shown, reply_markup=markup)

    def _edit_message_reply_markup(self, params: JSONDict, files: dict[str, Upload]) -> Any:
        """editMessageReplyMarkup: change (or remove) a bot message's inline keyboard."""
        if params.get("inline_message_id"):
            return True
        chat_id, message = self._message_to_edit(params)
        markup = _inline_markup(params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise _not_modified()
        return self._replace_message(chat_id, message, reply_markup=markup)

    def _message_to_edit(self, params: JSONDict) -> tuple[ChatId, JSONDict]:
        """Find the bot message addressed by chat_id and message_id."""
        chat_id = _require_chat(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = self._bot_messages.get((chat_id, message_id))
        if message is None:
            raise _bad("message to edit not found")
        return chat_id, message

    def _replace_message(self, chat_id: ChatId, message: JSONDict, **changes: Any) -> JSONDict:
        """Store an edited copy of a bot message and return it."""
        edited = {**message, **changes, "edit_date": int(time.time())}
        if edited.get("reply_markup") is None:
            edited.pop("reply_markup", None)
        self._bot_messages[(chat_id, message["message_id"])] = edited
        return edited

    def _answer_callback_query(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        """answerCallbackQuery: accept each pushed query id once."""
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callbacks or query_id in self._answered_ids:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._answered_ids.add(query_id)
        self.answered_callbacks.append({**params, "callback_query_id": query_id,
                                        "at": time.monotonic()})
        return True

    def _send_chat_action(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        """sendChatAction: accept a typing/upload action."""
        _require_chat(params)
        if not params.get("action"):
            raise _bad("wrong parameter action in request")
        return True

    def _set_webhook(self, params: JSONDict, files: dict[str, Upload]) -> _Described:
        """setWebhook: record url, secret_token and options (empty url removes it)."""
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.match(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if not url:
            return self._remove_webhook()
        self.webhook_url, self.webhook_secret = url, secret
        self.webhook_params = {k: v for k, v in params.items() if k not in ("url", "secret_token")}
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"])
        self._wake_pollers()
        return _Described(True, "Webhook was set")

    def _delete_webhook(self, params: JSONDict, files: dict[str, Upload]) -> _Described:
        """deleteWebhook: forget the webhook; drop pending updates if asked."""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return self._remove_webhook()

    def _remove_webhook(self) -> _Described:
        """Clear the webhook settings with Telegram's description."""
        existed = bool(self.webhook_url)
        self.webhook_url, self.webhook_secret, self.webhook_params = "", None, {}
        return _Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    def _get_webhook_info(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        """getWebhookInfo: the WebhookInfo object."""
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = self.webhook_params.get("max_connections", 40)
            if self.webhook_params.get("ip_address"):
                info["ip_address"] = self.webhook_params["ip_address"]
            if self.allowed_updates:
                info["allowed_updates"] = self.allowed_updates
        return info

    def _set_my_commands(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        """setMyCommands: validate and store the command list for a scope and language.

        As the Bot API documents it: at most 100 BotCommands (command 1-32 of a-z 0-9 _, description
        1-256 characters), an optional BotCommandScope and a two-letter ISO 639-1 ``language_code`` (or
        empty). A parameter the method does not have is recorded in ``unexpected`` (the test fails).
        """
        self._only_params("setMyCommands", params, {"commands", "scope", "language_code"})
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("parameter \"commands\" is required")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            _check_command(command)
        key = _commands_key(params)
        self.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        self.command_calls.append({"commands": self.commands[key], "scope": json.loads(key[0]), "language_code": key[1]})
        return True

    def _delete_my_commands(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        """deleteMyCommands: remove the list for a scope and language."""
        self._only_params("deleteMyCommands", params, {"scope", "language_code"})
        key = _commands_key(params)
        self.commands.pop(key, None)
        self.command_calls.append({"commands": None, "scope": json.loads(key[0]), "language_code": key[1]})
        return True

    def _get_my_commands(self, params: JSONDict, files: dict[str, Upload]) -> list[JSONDict]:
        """getMyCommands: the list for a scope and language (empty if unset)."""
        return self.commands.get(_commands_key(params), [])

    def menu_for(self, chat_id: ChatId, language_code: str = "") -> list[JSONDict]:
        """The command menu a user of ``language_code`` sees in the private chat ``chat_id``, found as
        Telegram documents it: chat + language, chat, all private chats + language, all private
        chats, default + language, default."""
        chat = {"type": "chat", "chat_id": norm_chat_id(chat_id)}
        for scope in (chat, {"type": "all_private_chats"}, {"type": "default"}):
            for language in dict.fromkeys((language_code, "")):
                found = self.commands.get((json.dumps(scope, sort_keys=True), language))
                if found is not None:
                    return found
        return []

    def _only_params(self, method: str, params: JSONDict, allowed: set[str]) -> None:
        """Record (and so fail the test for) a parameter ``method`` does not have."""
        extra = sorted(set(params) - allowed)
        if extra:
            self.unexpected.append(self._call(f"{method} with unknown parameters {extra}", None, params, {}))

    def _get_file(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        """getFile: the File object whose file_path serves the stored bytes."""
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > BOT_DOWNLOAD_LIMIT:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _close(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        """close: acknowledge (the real server then refuses calls for 10 minutes)."""
        self.closed = True
        return True

    def _log_out(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        """logOut: acknowledge."""
        self.logged_out = True
        return True


# ---------------------------------------------------------------------- module helpers


async def _read_json(request: web.Request) -> JSONDict:
    """Read a JSON object body (empty body = no parameters)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise _bad("can't parse JSON object") from None
    if not isinstance(data, dict):
        raise _bad("JSON object expected")
    return data


def _split_form(form: Any, params: JSONDict, files: dict[str, Upload]) -> None:
    """Split an aiohttp form into string parameters and uploaded files."""
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = Upload(key, value.filename, value.content_type, value.file.read())
        else:
            params[key] = value


def _resolve_attachments(params: JSONDict, files: dict[str, Upload]) -> None:
    """Map ``attach://name`` parameter values to the uploaded part ``name``."""
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            part = files.get(value[len("attach://") :])
            if part is None:
                raise _bad("wrong HTTP URL specified")
            files[key] = part


def _require_chat(params: JSONDict) -> ChatId:
    """The chat_id parameter, or Telegram's error when it is missing."""
    chat_id = norm_chat_id(params.get("chat_id"))
    if chat_id is None or chat_id == "":
        raise _bad("chat_id is empty")
    return chat_id


def _inline_markup(markup: Any) -> JSONDict | None:
    """Messages echo only inline keyboards back (reply keyboards are not returned)."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an "
                       "Object")
        return {"inline_keyboard": rows}
    return None


def _not_modified() -> TelegramAPIError:
    """Telegram's error for an edit that changes nothing."""
    return _bad(
        "message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )


def _check_command(command: Any) -> None:
    """Validate one BotCommand as Telegram does."""
    if not isinstance(command, dict):
        raise _bad("BOT_COMMANDS_INVALID")
    name, description = str(command.get("command", "")), str(command.get("description", ""))
    if not _BOT_COMMAND_RE.match(name):
        raise _bad("BOT_COMMAND_INVALID")
    if not 1 <= len(description) <= 256:
        raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")


_SCOPES = {
    "default": set(), "all_private_chats": set(), "all_group_chats": set(), "all_chat_administrators": set(),
    "chat": {"chat_id"}, "chat_administrators": {"chat_id"}, "chat_member": {"chat_id", "user_id"},
}
_LANGUAGE_RE = re.compile(r"\A[a-z]{2}\Z")


def _commands_key(params: JSONDict) -> tuple[str, str]:
    """Storage key of a command list: (scope JSON, language_code), both checked as Telegram does."""
    scope = params.get("scope") or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise _bad("BOT_COMMAND_SCOPE_INVALID: unsupported scope type")
    needed = _SCOPES[scope["type"]]
    if set(scope) != {"type", *needed}:
        raise _bad(f"BOT_COMMAND_SCOPE_INVALID: scope {scope['type']} needs exactly {sorted(needed) or 'no fields'}")
    if "chat_id" in scope:
        scope = {**scope, "chat_id": norm_chat_id(scope["chat_id"])}
    language = str(params.get("language_code") or "")
    if language and not _LANGUAGE_RE.match(language):
        raise _bad("LANGUAGE_CODE_INVALID: a two-letter ISO 639-1 language code, or empty")
    return json.dumps(scope, sort_keys=True), language


def _check_button(message: JSONDict, data: str) -> None:
    """Fail when a simulated user presses a callback button the message does not have."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    available = [button.get("callback_data") for row in rows for button in row]
    if data not in available:
        raise AssertionError(
            f"FakeTelegram: message {message['message_id']} in chat {message['chat']['id']} has "
            f"no button with callback_data={data!r}; available: {available} "
            "(pass check_button=False to press it anyway)"
        )


def _photo_size(stored: StoredFile, width: int, height: int) -> JSONDict:
    """A PhotoSize object for a stored file."""
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "width": width,
        "height": height,
    }


def _update_kind(update: JSONDict) -> str | None:
    """The update type key (message, callback_query, ...)."""
    return next((key for key in update if key != "update_id"), None)


# ---------------------------------------------------------------------- benchmark


async def _bench(count: int, concurrency: int, client: str, target: str | None) -> None:
    """Measure how many sendMessage calls per second the fake absorbs."""
    if target:  # a fake started elsewhere with --serve (client and server in two processes)
        await _bench_run(target, DEFAULT_TOKEN, count, concurrency, client)
        return
    async with FakeTelegram() as fake:
        await _bench_run(fake.url, fake.token, count, concurrency, client)
        assert len(fake.sent) == count, (len(fake.sent), count)


async def _bench_run(url: str, token: str, count: int, concurrency: int, client: str) -> None:
    """Time ``count`` sendMessage calls and print the rate."""
    started = time.perf_counter()
    if client == "ptb":
        await _bench_ptb(url, token, count, concurrency)
    else:
        await _bench_raw(url, token, count, concurrency)
    elapsed = time.perf_counter() - started
    print(f"{client}: {count} sendMessage in {elapsed:.2f}s = {count / elapsed:.0f} req/s "
          f"(concurrency {concurrency})")


async def _bench_ptb(url: str, token: str, count: int, concurrency: int) -> None:
    """Push ``count`` sendMessage calls through one PTB Bot."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(connection_pool_size=concurrency)
    async with Bot(token, base_url=f"{url}/bot", request=request) as bot:
        await _run_batches(count, concurrency,
                           lambda i: bot.send_message(1000 + i % 500, f"pesan {i}"))


async def _bench_raw(url: str, token: str, count: int, concurrency: int) -> None:
    """Push ``count`` sendMessage calls through one aiohttp client (server-side capacity)."""
    url = f"{url}/bot{token}/sendMessage"
    async with ClientSession() as session:

        async def send(i: int) -> None:
            """One urlencoded sendMessage, as PTB sends it."""
            data = {"chat_id": str(1000 + i % 500), "text": f"pesan {i}"}
            async with session.post(url, data=data) as response:
                await response.read()

        await _run_batches(count, concurrency, send)


async def _run_batches(count: int, concurrency: int, make: Callable[[int], Any]) -> None:
    """Run ``count`` coroutines with at most ``concurrency`` in flight."""
    queue: Iterable[int] = iter(range(count))

    async def worker() -> None:
        """Take indexes until none are left."""
        for i in queue:
            await make(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _serve(port: int) -> None:
    """Run the fake standalone until interrupted."""
    async with FakeTelegram(port=port) as fake:
        print(f"FakeTelegram on {fake.url} token={fake.token}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    """Command line: ``--bench N`` to measure throughput or ``--serve`` to run standalone."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=int, metavar="N")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--client", choices=("ptb", "raw"), default="ptb")
    parser.add_argument("--target", metavar="URL", help="bench a fake started with --serve")
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.port))
    else:
        asyncio.run(_bench(args.bench or 5000, args.concurrency, args.client, args.target))


if __name__ == "__main__":
    main()
