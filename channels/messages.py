"""The channel-neutral messages that flow between channels and the handlers; :class:`NotStored`, the
one thing a channel needs to know of a turn that failed (the engine raises it; channels and web catch it);
and :class:`Channel`, what the rest of the bot uses of a transport."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Incoming:
    """One inbound message or button press, whatever the channel."""

    channel: str  # "telegram" | "whatsapp" | "local"
    address: str  # chat id, WhatsApp id, local user name
    message_id: str | None = None  # provider id; a message id seen twice is answered once
    text: str | None = None
    choice: str | None = None  # the data of a pressed button
    contact: str | None = None  # a shared phone number
    location: tuple[float, float] | None = None
    media: str | None = None  # kind of non-text content: photo, sticker, voice, video, document
    media_ref: str | None = None  # the provider's id of that media (a photo's or document's file_id), to fetch it
    media_name: str | None = None  # a document's file name as sent ("sasaran.xlsx")
    media_size: int | None = None  # a document's size in bytes, when the channel says it (Telegram does)
    language_hint: str | None = None  # the client's language, e.g. Telegram's language_code
    phone: str | None = None  # the sender's own number when the channel vouches for it (WhatsApp's wa_id)
    account: str = "default"  # the channel account (bot, WhatsApp number) it came to: the replies go out through it
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Choice:
    """A button: what the person sees and the data that comes back when pressed."""

    label: str
    data: str


@dataclass(frozen=True)
class Reply:
    """One outbound message: text, optional choices, optional PNG image."""

    text: str
    choices: tuple[Choice, ...] = ()
    image: bytes | None = None
    files: tuple[tuple[str, bytes], ...] = ()  # documents: (file name, bytes)
    image_ref: str | None = None  # a photo a provider already has (e.g. a Telegram file_id)
    image_channel: str | None = None  # the channel image_ref belongs to (None: the sending channel)
    #: for outbox messages: what the message is (reminder, broadcast, calendar, reply) and when the
    #: person last wrote, so a channel with a reply window (WhatsApp) can choose text or a template
    kind: str | None = None
    last_inbound_at: datetime | None = None
    template_only: bool = False
    language: str | None = None  # the language the text is in (for words a channel adds, e.g. a list's button)
    #: the label of a button that sends the person's own number (Telegram's ``request_contact``), shown when the
    #: reply has no choices; a channel without one ignores it (WhatsApp already vouches for the sender's number)
    contact_button: str | None = None
    #: the person's command menu changed (a role was joined or left): (command, description) pairs for a
    #: channel with a per-chat menu (Telegram's setMyCommands); None when nothing changed
    commands: tuple[tuple[str, str], ...] | None = None


class NotStored(Exception):
    """The message could not be committed (database locked or down): do not acknowledge it."""

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__("message not stored")
        self.replies = replies


@runtime_checkable
class Channel(Protocol):
    """A transport as the outbox dispatcher and ``bot.py`` see it (Telegram, WhatsApp, the local chat).

    Inbound, a channel turns its provider's payload into :class:`Incoming` and calls the engine's handle
    (raising :class:`NotStored` on to its provider when the turn was not committed); outbound it has one
    send path for a :class:`Reply`, whose failures are the shared classes of ``channels.errors``.
    """

    async def send_one(self, address: str, reply: Reply) -> str:
        """Sends one reply to ``address``; returns the provider's message id."""
        ...
