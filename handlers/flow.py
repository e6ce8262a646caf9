"""The building blocks of a conversation: steps, flows, the per-message context.

A flow is one readable table ``{step name: Step(ask, answer)}``. ``ask`` renders the step's
question (it has no side effects and may run more than once); ``answer`` stores what the person
said and returns the name of the next step, a :class:`Goto` into another flow, or :data:`END`.
An answer it cannot use raises :class:`Invalid` with a short hint; the engine then asks again.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from db.models import Identity
from db.turns import TurnSession, TurnState


@dataclass(frozen=True)
class Question:
    """What a step asks: text and optional choices as (label, value) pairs."""

    text: str
    choices: tuple[tuple[str, str], ...] = ()
    contact_button: str | None = None  # a button that sends the person's own number (Telegram)


@dataclass(frozen=True)
class Answer:
    """What the person answered: the picked choice value, or typed text, or a media kind."""

    text: str = ""
    choice: str | None = None
    media: str | None = None
    media_ref: str | None = None
    media_name: str | None = None  # a document's file name
    media_size: int | None = None  # a document's size in bytes, when the channel says it


class Invalid(Exception):
    """The answer cannot be used; ``hint`` tells the person what is expected."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


@dataclass(frozen=True)
class Goto:
    """Continue in another flow at ``step`` (its first step when None), with fresh flow data."""

    flow: str
    step: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


class _End:
    def __repr__(self) -> str:
        return "END"


#: Returned by an answer when its flow is finished: the person is back at the main menu.
END = _End()

Next = str | Goto | _End
AskFn = Callable[["Ctx"], Awaitable[Question]]
AnswerFn = Callable[["Ctx", Answer], Awaitable[Next]]


@dataclass(frozen=True)
class Step:
    """One question of a flow and what to do with its answer."""

    ask: AskFn
    answer: AnswerFn
    #: the media kinds (``photo``, ``document``, ...) that are an answer here (with the caption as text), not a
    #: mistake: the step's answer then reads them (and refuses the kinds it cannot use with its own hint)
    accepts_media: frozenset[str] = frozenset()
    #: what is said of any other media here (msgid, N_); the engine's general "please type" when empty
    media_hint: str = ""


EnterFn = Callable[["Ctx"], Awaitable[Next]]

#: Who may use a flow: ``family`` is anyone (everyone may act for a family of their own), ``kader`` a
#: kader with a posyandu, ``staff`` puskesmas staff with a puskesmas.
ANYONE = frozenset({"family", "kader", "staff"})
KADER = frozenset({"kader"})
STAFF = frozenset({"staff"})


@dataclass(frozen=True)
class Flow:
    """A named table of steps; the conversation starts at ``first``, or where ``enter`` says.

    A flow declares the facts the rest of the bot derives from it: the words after "/" that open it
    (``commands``, Indonesian and English; the command table of ``handlers.words``), the roles that may
    use it (``roles``, checked by the engine on every turn, with ``refusal`` told to anyone else), the
    steps where another flow may interrupt it (``home``), its main-menu button (``menu_label``) and its
    line in a channel's command menu (``help_line``, by role when the roles read it differently).
    """

    name: str
    first: str
    steps: Mapping[str, Step]
    enter: EnterFn | None = None
    #: the flow works on the person's family: without one, the person registers first
    needs_family: bool = False
    commands: tuple[str, ...] = ()
    roles: frozenset[str] = ANYONE
    refusal: str = ""  # msgid (N_)
    home: tuple[str, ...] = ()
    menu_label: str | Mapping[str, str] = ""  # msgid (N_), or {role: msgid}
    #: whether the main menu shows the button now (always when None)
    menu_when: Callable[["Ctx"], Awaitable[bool]] | None = None
    help_line: str | Mapping[str, str] = ""  # msgid (N_), or {role: msgid}


async def has_family(ctx: Ctx) -> bool:
    """Whether the person has a family of their own (the menu's family buttons)."""
    return ctx.identity.family_id is not None


async def has_no_family(ctx: Ctx) -> bool:
    """Whether the person has no family of their own yet (the menu's button to register one)."""
    return ctx.identity.family_id is None


async def family_views(ctx: Ctx) -> bool:
    """Whether the menu shows a family's views: a family of one's own, and not staff (who use commands)."""
    return ctx.identity.family_id is not None and ctx.identity.role != "staff"


def for_role(text: str | Mapping[str, str], role: str | None) -> str:
    """The msgid of a label or help line as the person's role reads it ("" when it has none)."""
    if isinstance(text, str):
        return text
    return text.get(role or "family", text.get("family", ""))


#: Every flow by name (filled by ``handlers.flows``), in the order of the main menu and command menus:
#: the command table, the menus and the help are derived from it.
REGISTRY: dict[str, Flow] = {}


def register(*flows: Flow) -> None:
    """Adds flows to :data:`REGISTRY` (after those there)."""
    for flow in flows:
        REGISTRY[flow.name] = flow


def may_use(identity: Identity, flow: Flow) -> bool:
    """Whether the person holds one of the roles the flow allows."""
    if "family" in flow.roles:
        return True
    if identity.role == "kader":
        return "kader" in flow.roles and identity.posyandu_id is not None
    if identity.role == "staff":
        return "staff" in flow.roles and identity.puskesmas_id is not None
    return False


@dataclass
class Ctx:
    """Everything one step may use while handling one message."""

    session: TurnSession  # SQLite's LoopSession or PostgreSQL's AsyncSession, awaited alike
    identity: Identity
    state: TurnState  # flow, step, data, version
    now: datetime
    today: date
    settings: Any
    data: dict[str, Any]
    schedule: Any = None  # the care schedule with the district's overrides (care.rules.Schedule)
    erased: bool = False
    outgoing: list[tuple] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the person's command menu, when this turn changed it (handlers.help.command_menu)
    commands: tuple[tuple[str, str], ...] | None = None

    def note(self, text: str) -> None:
        """Text to put before the next message sent in this turn."""
        self.notes.append(text)

    def say(self, text: str, choices: tuple[tuple[str, str], ...] = (), image: bytes | None = None,
            files: tuple[tuple[str, bytes], ...] = (), contact_button: str | None = None) -> None:
        """Queues a message (with any notes in front of it), optionally with an image or documents, or a
        button that sends the person's own number."""
        if self.notes:
            text = "\n\n".join([*self.notes, text])
            self.notes.clear()
        self.outgoing.append((text, tuple(choices), image, tuple(files), contact_button))

    def flush_notes(self) -> None:
        """Sends pending notes as a message of their own."""
        if self.notes:
            self.outgoing.append(("\n\n".join(self.notes), (), None, (), None))
            self.notes.clear()
