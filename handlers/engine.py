"""One message in, replies out: identity and state from the database, one step, one transaction.

``Engine.handle(incoming)`` loads the identity and its conversation state, runs one step of the
current flow (or a global word or command), writes the domain rows and the new state in the same
transaction and returns the replies. A message id seen before is answered with nothing. Buttons
carry the state version they were drawn for, so a stale or doubled press is recognised.

Typed text at a question with choices is the choice it names, as people write it (``match_choice``:
the number, the label, yes and no words, short codes such as ``P`` / ``HPL``, a word of one label);
otherwise the step reads the text itself. A typed answer refused at a question of choices gets the
step's hint and an example of typing a choice's number (not at TYPED_ANSWERS, where typed text is
an answer of its own).
"""
from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from care.rules_file import apply_overrides
from channels.messages import Choice, Incoming, NotStored, Reply
from content.i18n import LANGUAGES, _, current_language, n_, use_locale
from db.database import Database
from db.errors import is_database_error, is_transient
from db.turns import Sender, TurnStart, turn_store
from handlers import flows
from handlers import help as help_texts
from handlers.flow import END, Answer, Ctx, Flow, Goto, Invalid, Next, Question, _End, may_use
from handlers.fast_entry import looks_like_fast_entry
from handlers.inbound_limit import InboundLimit, Verdict
from handlers.language import switch_language
from handlers.parsing import FILLER_WORDS, normalize, plain_words, yes_no
from handlers.register import own_number, plain_digits
from handlers.start import hinted_language
from handlers.visit import fast_entry
from handlers.words import global_word, split_command
from metrics import METRICS, Metrics

log = logging.getLogger(__name__)

MAX_TEXT = 1000
MAX_ARGS = 60
#: Control characters (NUL and friends) that no answer needs; newlines and tabs stay.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MENU = Goto("menu")
IDLE_FLOWS = {None, "menu"}
#: Commands that work before consent: joining with a code (each join decides what consent it needs).
PRE_CONSENT = frozenset({"kader_join", "staff_join", "family_join"})

#: Steps with choices where typed text is an answer of its own (a date, a count, doses, a note, a
#: name): a refused answer there gets the step's own hint only, not the hint to type a choice's number.
TYPED_ANSWERS = frozenset({
    ("family", "pregnancy_kind"), ("family", "loss_when"),
    ("birth", "birth_date"), ("birth", "babies"), ("birth", "baby_weight"),
    ("visit", "family"), ("visit", "services"), ("visit", "doses"), ("visit", "confirm"),
    ("history", "imm"), ("history", "imm_except"), ("history", "imm_lines"), ("history", "imm_remove"),
    ("history", "vita"), ("history", "worm"), ("history", "anc_count"), ("history", "anc_when"), ("history", "ptm"),
    ("history", "skilas"), ("history", "mark_when"),
    ("referrals", "start"), ("referrals", "note"),
    ("register", "village_help"),
})


def _now() -> datetime:
    return datetime.now(UTC)


def message_key(incoming: Incoming) -> str:
    """The stored form of a message id: a hash, so the table keeps no chat id after an erasure. A message id
    is unique per account only (two bots number their chats' messages alike): the account is part of the key,
    except the default's (whose keys were stored before there were accounts)."""
    account = "" if incoming.account == "default" else f"{incoming.account}|"
    return hashlib.blake2b(f"{account}{incoming.address}|{incoming.message_id}".encode(), digest_size=16).hexdigest()


#: What a choice's value means wherever it appears (the rule for yes and no): a typed yes
#: (``handlers.parsing.YES_WORDS``: ya, iya, ok, setuju, yes ...) picks the choice whose value is
#: in YES_VALUES, a typed no (tidak, gak, nggak, no ...) the one in NO_VALUES. A question has at
#: most one of each; a question without them takes yes and no words as any other words.
YES_VALUES = frozenset({"yes", "save", "send"})
NO_VALUES = frozenset({"no", "cancel"})
#: Words that name a choice by its value in any language: the short codes and everyday words a
#: question's labels do not show (``P`` for Perempuan in English too, ``HPL`` for "Due date").
VALUE_WORDS: dict[str, frozenset[str]] = {
    "M": frozenset({"l", "lk", "laki", "laki laki", "lakilaki", "pria", "cowok", "putra", "m", "male", "boy", "man"}),
    "F": frozenset({"p", "pr", "perempuan", "wanita", "cewek", "putri", "f", "female", "girl", "woman"}),
    "hpht": frozenset({"hpht", "lmp", "haid", "haid terakhir", "mens", "menstruasi"}),
    "due": frozenset({"hpl", "edd", "due", "due date", "tp", "taksiran persalinan", "perkiraan lahir"}),
    "weeks": frozenset({"usia", "umur", "usia kehamilan", "umur kehamilan", "minggu", "bulan", "weeks", "months"}),
    "later": frozenset({"nanti", "nanti saja", "lain kali", "later", "skip", "lewati", "lewat"}),
    "none": frozenset({"-", "tidak ada", "tdk ada", "gak ada", "ga ada", "nggak ada", "enggak ada", "belum", "none",
                       "nothing", "no one"}),
    "today": frozenset({"hari ini", "today", "tadi"}),
    "yesterday": frozenset({"kemarin", "kemaren", "yesterday"}),
    "morning": frozenset({"pagi", "morning"}),
    "afternoon": frozenset({"sore", "afternoon", "evening"}),
}
#: Words before a choice's number: "nomor 2", "no. 2", "pilihan 2", "yang ke-2".
NUMBER_WORDS = frozenset({"nomor", "nomer", "no", "nr", "pilihan", "pilih", "angka", "yang", "yg", "ke", "number", "option"})
#: Ordinals said for a choice's number after "yang" / "nomor" ("yang kedua").
ORDINALS = {"pertama": 1, "kedua": 2, "ketiga": 3, "keempat": 4, "kelima": 5, "keenam": 6, "ketujuh": 7,
            "kedelapan": 8, "kesembilan": 9, "kesepuluh": 10, "first": 1, "second": 2, "third": 3, "fourth": 4,
            "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10}


def match_choice(question: Question, text: str) -> str | None:
    """The value of the choice ``text`` names, or None. Case, accents, punctuation and extra spaces
    do not matter. In this order:

    1. the full label (``"perempuan"``, ``"YA, SAYA SETUJU!"``), also without its spaces (``"dpt1"`` for "DPT 1");
    2. the choice's number (``"2"``, ``"2."``, ``"nomor 2"``, ``"yang kedua"``), or the number with
       words of its label (``"2 perempuan"``);
    3. yes or no (``handlers.parsing.yes_no``) at a question with a yes or a no choice (YES_VALUES, NO_VALUES);
    4. a word of VALUE_WORDS (``P``, ``L``, ``HPHT``, ``HPL``, ``-`` for "none", ``nanti`` for "later");
    5. words that belong to one choice's label only (``"mawar"`` for "Posyandu Mawar (Nagasepaha)",
       ``"hpht"``, ``"tanda bahaya"``): every typed word is a word of that label, the start of one
       (3 letters or more) or, from 5 letters, one with a letter wrong, missing or extra
       (``"prempuan"``); words such as "saja", "yang" are left out when that decides;
    6. a single letter that starts one label only (``"P"``, ``"L"``, ``"K"`` for "Kunjungan rumah").

    Typed text that is more than that (a note "tidak ada keluhan" at a visit's confirmation) picks
    nothing and stays the step's own answer.
    """
    choices = question.choices
    if not choices or not text or not text.strip():
        return None
    labels = [plain_words(label) for label, _value in choices]
    words = plain_words(text)
    if not words and text.strip() not in ("-",):
        return None
    compact = "".join(words)
    found = [value for (_label, value), plain in zip(choices, labels, strict=True) if "".join(plain) == compact]
    if len(found) == 1:
        return found[0]
    number = _choice_number(words, labels)
    if number is not None:
        return choices[number - 1][1]
    values = [value for _label, value in choices]
    said = yes_no(text)
    for meaning, wanted in (("yes", YES_VALUES), ("no", NO_VALUES)):
        which = [i for i, v in enumerate(values) if v in wanted]
        if len(which) == 1:  # "ya", "tidak setuju", and "ya simpan": the yes with words of its own label
            own = [w for w in words if w not in labels[which[0]]]
            if said == meaning or (said is None and own and yes_no(" ".join(own)) == meaning):
                return values[which[0]]
    light = normalize(text).strip(" .,!?")
    light = " ".join(light.replace("-", " ").split()) if light != "-" else light
    named = [v for v in values if light in VALUE_WORDS.get(v, ())]
    if len(named) == 1:
        return named[0]
    for typed in (words, [w for w in words if w not in FILLER_WORDS]):
        if not typed or (len(typed) == 1 and len(typed[0]) == 1):  # one letter is a code: rule 6
            continue
        fits = [i for i, plain in enumerate(labels) if all(any(_fits(w, lw) for lw in plain) for w in typed)]
        if len(fits) > 1:  # "mawar" fits "Mawar" exactly and "Mawarsari" by its start: the exact one
            fits = [i for i in fits if all(w in labels[i] for w in typed)] or fits
        if len(fits) == 1:
            return choices[fits[0]][1]
    if len(words) == 1 and len(words[0]) == 1 and words[0].isalpha():
        starts = [value for (label, value), plain in zip(choices, labels, strict=True) if plain and plain[0][0] == words[0]]
        if len(starts) == 1:
            return starts[0]
    return None


def _choice_number(words: list[str], labels: list[list[str]]) -> int | None:
    """The choice number typed (1-based), alone or with words before it or of its label; None otherwise."""
    rest = list(words)
    while rest and rest[0] in NUMBER_WORDS and len(rest) > 1:
        rest = rest[1:]
    if not rest:
        return None
    head = rest[0]
    number = int(head) if head.isdecimal() and len(head) <= 3 else ORDINALS.get(head) if len(rest) < len(words) else None
    if number is None or not 1 <= number <= len(labels):
        return None
    tail = rest[1:]
    if any(w.isdecimal() for w in tail):  # "1 2": two numbers, not a choice
        return None
    if tail and not all(any(_fits(w, lw) for lw in labels[number - 1]) for w in tail if w not in FILLER_WORDS):
        return None
    return number


def _fits(typed: str, word: str) -> bool:
    """Whether a typed word names a word of a label: the word, its start (3+ letters), or from 5
    letters the word with one letter wrong, missing or extra (letters only: a code such as a
    family code ``7QX2MA`` must be typed as it is)."""
    if typed == word:
        return True
    if len(typed) >= 3 and word.startswith(typed) and not typed.isdecimal():
        return True
    return len(typed) >= 5 and len(word) >= 5 and typed.isalpha() and word.isalpha() and _one_edit(typed, word)


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by at most one letter changed, added, removed or two swapped."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) <= 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1:]


class Engine:
    """Runs the flows for incoming messages; built once and shared by every channel."""

    def __init__(
        self,
        db: Database,
        settings,
        *,
        clock: Callable[[], datetime] = _now,
        flow_table: Mapping[str, Flow] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics = METRICS,
    ) -> None:
        self.db = db
        #: chat turns by channel and outcome, and their latency (``/metrics``)
        self.metrics = metrics
        self._counted: dict[tuple[str, str], tuple] = {}
        #: the start and the save of a turn (db.turns): the engine holds no SQL
        self.turns = turn_store(db)
        self.settings = settings
        self.clock = clock
        #: the per-chat inbound limit (``inbound.burst``, ``inbound.per_minute``), read on a monotonic clock
        self.inbound = InboundLimit(settings.inbound.burst, settings.inbound.per_minute)
        self.monotonic = monotonic
        self.flows = dict(flow_table or flows.FLOWS)
        #: the flows a command opens (``Flow.commands``), and the steps where a command may interrupt (``Flow.home``)
        self.flow_commands = frozenset(name for name, flow in self.flows.items() if flow.commands)
        self.schedule = apply_overrides({"je": settings.care.je, **settings.care.overrides})

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """The replies to one incoming message (empty for a message seen before); never raises."""
        try:
            return await self.handle_durably(incoming)
        except NotStored as exc:
            return exc.replies

    async def handle_durably(self, incoming: Incoming) -> list[Reply]:
        """Like :meth:`handle`, but raises :class:`NotStored` when the message could not be committed.

        A channel acknowledges a message to its provider (webhook 200, polling offset) only after this
        returns. A message that makes a step fail is recorded as seen and answered with an apology, so
        that a provider's redelivery does not repeat the failure forever.

        A chat over its inbound limit (``handlers.inbound_limit``) is answered before any database work:
        the message is dropped (neither handled nor stored), the first one of a flood with a notice.

        Every message a channel hands over passes here once: it is counted by channel and outcome
        (``metrics.chat_turns``) and timed (``metrics.chat_turn_seconds``).
        """
        started = time.perf_counter()
        outcome = "not_stored"
        try:
            replies, outcome = await self._turn(incoming)
            return replies
        finally:
            counted = self._counted.get((incoming.channel, outcome))
            if counted is None:  # prometheus' labels() looks the child up by its labels: once per pair here
                counted = self._counted[(incoming.channel, outcome)] = (
                    self.metrics.chat_turns.labels(incoming.channel, outcome),
                    self.metrics.chat_turn_seconds.labels(incoming.channel))
            counted[0].inc()
            counted[1].observe(time.perf_counter() - started)

    async def _turn(self, incoming: Incoming) -> tuple[list[Reply], str]:
        """The replies to one message and its outcome (``ok``, ``dropped``, ``failed``); raises NotStored."""
        verdict = self.inbound.check((incoming.channel, incoming.address), self.monotonic())
        if verdict is not Verdict.PASS:
            return self._flooding(incoming, verdict), "dropped"
        for attempt in range(3):
            try:
                return await self._handle_once(incoming), "ok"
            except NotStored:
                raise
            except Exception as exc:
                if is_transient(exc):  # db.errors: by the error's type and code
                    if attempt < 2:
                        continue
                    log.error("database unavailable for a %s message: %s", incoming.channel, type(exc).__name__)
                    raise NotStored(self._apology()) from None
                if is_database_error(exc):
                    log.exception("database error on %s message", incoming.channel)
                else:
                    log.exception("step failed on %s message", incoming.channel)
                break
        await self._remember(incoming)
        return self._apology(), "failed"

    def _flooding(self, incoming: Incoming, verdict: Verdict) -> list[Reply]:
        """The answer to a message over the chat's inbound limit: one notice when the flood starts, then none."""
        if verdict is not Verdict.NOTICE:
            return []
        chat = hashlib.blake2b(incoming.address.encode(), digest_size=4).hexdigest()  # no chat id in the log
        log.warning("inbound flood from %s chat %s: its messages over %d at once and %d a minute are dropped",
                    incoming.channel, chat, self.settings.inbound.burst, self.settings.inbound.per_minute)
        seconds = max(1, math.ceil(60 / self.settings.inbound.per_minute))
        language = hinted_language(incoming.language_hint, self.settings.locale.available) or self.settings.locale.default
        with use_locale(language):
            text = n_("Mohon tunggu sebentar: pesan Bapak/Ibu datang terlalu cepat, jadi pesan terakhir belum kami baca. "
                      "Silakan kirim lagi setelah {n} detik.",
                      "Mohon tunggu sebentar: pesan Bapak/Ibu datang terlalu cepat, jadi pesan terakhir belum kami baca. "
                      "Silakan kirim lagi setelah {n} detik.", seconds)
            return [Reply(text, language=language)]

    def _apology(self) -> list[Reply]:
        with use_locale(self.settings.locale.default):
            return [Reply(_("Maaf, terjadi gangguan. Silakan coba lagi sebentar lagi."))]

    async def _remember(self, incoming: Incoming) -> None:
        """Records a message whose step failed as seen (its redelivery is not handled again)."""
        if incoming.message_id is None:
            return
        try:
            await self.turns.remember(incoming.channel, message_key(incoming), incoming.at)
        except Exception as exc:
            log.error("could not record a failed %s message: %s", incoming.channel, type(exc).__name__)
            raise NotStored(self._apology()) from None

    async def _handle_once(self, incoming: Incoming) -> list[Reply]:
        """One attempt at handling a message inside one write transaction."""
        async with self.turns.transaction() as session:
            key = message_key(incoming) if incoming.message_id is not None else None
            sender = Sender(incoming.channel, incoming.address, incoming.at, key)
            start = await self.turns.begin(session, sender, lambda: self._new_identity(incoming))
            if start is None:  # a message seen before
                return []
            identity, state = start.identity, start.state
            if identity.account != incoming.account:  # it wrote to another account: reached from that one now
                identity.account = incoming.account
            now = self.clock()
            ctx = Ctx(
                session=session,
                identity=identity,
                state=state,
                now=now,
                today=now.astimezone(self._zone(start)).date(),
                settings=self.settings,
                data=state.data,
                schedule=self.schedule,
            )
            with use_locale(identity.language):
                await self._dispatch(ctx, incoming)
                replies = self._finish(ctx)
            if not ctx.erased:  # nothing to save after an erasure
                await self.turns.save(session, ctx.identity, ctx.state, incoming.at, ctx.now)
            return replies

    def _new_identity(self, incoming: Incoming) -> dict:
        """The columns of the sender's identity on first contact (besides channel and address)."""
        return {
            "language": hinted_language(incoming.language_hint, self.settings.locale.available) or self.settings.locale.default,
            "role": "family",
            "phone": incoming.phone,
            "account": incoming.account,
            "created_at": self.clock(),
        }

    def _zone(self, start: TurnStart) -> ZoneInfo:
        """The time zone of the sender's puskesmas (``timezone.puskesmas`` overrides it), else the default."""
        zone = self.settings.timezone.default
        if start.identity.family_id is not None and start.puskesmas_zone:
            zone = self.settings.timezone.puskesmas.get(start.puskesmas_code, start.puskesmas_zone)
        return ZoneInfo(zone)

    def _finish(self, ctx: Ctx) -> list[Reply]:
        """Moves the state to its next version and renders the queued messages with versioned buttons."""
        ctx.flush_notes()
        state = ctx.state
        if ctx.erased:
            version = 0
        else:
            state.version = (state.version or 0) + 1
            state.data = ctx.data
            version = state.version
        replies = [
            Reply(text=text, choices=tuple(Choice(label, f"{version}.{value}") for label, value in choices), image=image, files=files,
                  language=current_language(), contact_button=contact_button)
            for text, choices, image, files, contact_button in ctx.outgoing
        ]
        if ctx.commands is not None and replies:  # the channel updates the person's command menu with the last reply
            replies[-1] = replace(replies[-1], commands=ctx.commands)
        return replies

    # -- dispatch -----------------------------------------------------------------------------

    async def _dispatch(self, ctx: Ctx, incoming: Incoming) -> None:
        """Routes one message: a button, a global word or command, or an answer to the step.

        A person inside a flow their role no longer allows (``Flow.roles``) is told so and is back at the menu.
        """
        current = self.flows.get(ctx.state.flow or "")
        if current is not None and ctx.state.step is not None and not may_use(ctx.identity, current):
            ctx.note(_(current.refusal))
            await self._go(ctx, END)
            return
        if incoming.choice is not None and incoming.choice.startswith("/"):  # a notice's button (handlers.link): a command
            incoming = replace(incoming, text=incoming.choice, choice=None)
        if incoming.choice is not None:
            version, _sep, value = incoming.choice.partition(".")
            if version != str(ctx.state.version):
                ctx.note(_("Tombol itu sudah tidak berlaku. Silakan jawab pertanyaan terakhir ini:"))
                await self._ask(ctx)
                return
            await self._answer(ctx, Answer(choice=value))
            return
        if (incoming.media == "contact" and incoming.phone and ctx.identity.consent == "given"
                and plain_digits(incoming.contact) == incoming.phone):
            # the chat's own number, vouched for by the channel (another person's contact card is an answer)
            await self._go(ctx, await own_number(ctx, incoming.phone))
            return
        if incoming.media is not None:
            caption = CONTROL_CHARS.sub("", incoming.text or "").strip()[:MAX_TEXT]
            await self._answer(ctx, Answer(text=caption, media=incoming.media, media_ref=incoming.media_ref,
                                           media_name=incoming.media_name, media_size=incoming.media_size))
            return
        if incoming.text is None:
            await self._answer(ctx, Answer(media="other"))
            return
        text = CONTROL_CHARS.sub("", incoming.text).strip()
        if len(text) > MAX_TEXT:
            ctx.note(_("Pesan Bapak/Ibu terlalu panjang ({count} karakter). Mohon kirim jawaban singkat.", count=len(text)))
            await self._ask(ctx)
            return
        if not text:
            await self._ask(ctx)
            return
        if looks_like_fast_entry(text):
            nxt = await fast_entry(ctx, text)
            busy = ctx.state.flow not in IDLE_FLOWS and ctx.state.step is not None
            if nxt is not None and (not busy or self._at_home(ctx)):
                await self._go(ctx, nxt)
            else:
                if nxt is not None:
                    ctx.note(_("Selesaikan dulu langkah ini, atau ketik batal untuk membatalkannya."))
                await self._ask(ctx)
            return
        command, args = split_command(text)
        action = command or global_word(text)
        if action:
            await self._action(ctx, action, args)
            return
        await self._answer(ctx, Answer(text=text))

    def _at_home(self, ctx: Ctx) -> bool:
        """Whether the person is at a step where opening another flow loses nothing typed (``Flow.home``)."""
        flow = self.flows.get(ctx.state.flow or "")
        return flow is not None and ctx.state.step in flow.home

    def _flow(self, ctx: Ctx) -> Flow:
        """The current flow: the start flow before consent, the menu when idle."""
        flow = self.flows.get(ctx.state.flow or "")
        if flow is not None and ctx.state.step in flow.steps:
            return flow
        name = "menu" if ctx.identity.consent == "given" else "start"
        ctx.state.flow, ctx.state.step = name, self.flows[name].first
        return self.flows[name]

    async def _ask(self, ctx: Ctx) -> None:
        """Asks the current step's question again (or for the first time)."""
        if ctx.identity.consent != "given" and ctx.state.flow != "start":
            ctx.state.flow, ctx.state.step = "start", self.flows["start"].first
        flow = self._flow(ctx)
        question = await flow.steps[ctx.state.step].ask(ctx)
        ctx.say(question.text, question.choices, contact_button=question.contact_button)

    async def _answer(self, ctx: Ctx, answer: Answer) -> None:
        """Gives the answer to the current step and moves on, or asks again with a hint."""
        if ctx.identity.consent != "given" and ctx.state.flow != "start":
            await self._go(ctx, Goto("start"))
            return
        flow = self._flow(ctx)
        step = flow.steps[ctx.state.step]
        if answer.media is not None and not (answer.media in step.accepts_media and answer.media_ref):
            ctx.note(_(step.media_hint) if step.media_hint else
                     _("Maaf, saya belum bisa membaca foto, stiker atau suara di sini. Mohon ketik jawabannya."))
            await self._ask(ctx)
            return
        unmatched = None  # a typed answer at a step with choices that named none of them
        if answer.choice is None:
            question = await step.ask(ctx)
            picked = match_choice(question, answer.text)
            if picked is not None:
                answer = Answer(text=answer.text, choice=picked)
            elif question.choices and answer.media is None and (flow.name, ctx.state.step) not in TYPED_ANSWERS:
                unmatched = question
        try:
            nxt = await step.answer(ctx, answer)
        except Invalid as invalid:
            hint = invalid.hint
            if unmatched is not None:
                hint += "\n" + _("Atau ketik nomor pilihannya, misalnya 1 untuk \u201c{label}\u201d.",
                                  label=unmatched.choices[0][0])
            ctx.note(hint)
            await self._ask(ctx)
            return
        await self._go(ctx, nxt)

    async def _go(self, ctx: Ctx, nxt: Next) -> None:
        """Moves to the next step, flow or the end, then asks what comes next."""
        for _hop in range(10):
            if ctx.erased:
                return
            if isinstance(nxt, _End):
                back = ctx.data.get("_return")
                if back:
                    ctx.state.flow, ctx.state.step, ctx.data = back["flow"], back["step"], dict(back["data"])
                    await self._ask(ctx)
                    return
                ctx.data = {}
                if ctx.identity.consent != "given":
                    ctx.state.flow = ctx.state.step = None
                    return
                nxt = MENU
            if isinstance(nxt, Goto):
                flow = self.flows[nxt.flow]
                if flow.needs_family and ctx.identity.family_id is None:
                    ctx.note(_("Bapak/Ibu belum mendaftarkan keluarga."))
                    flow, nxt = self.flows["register"], Goto("register")
                ctx.state.flow, ctx.data = flow.name, dict(nxt.data)
                if not may_use(ctx.identity, flow):  # a command, a button or another flow's Goto alike
                    ctx.state.step = flow.first
                    ctx.note(_(flow.refusal))
                    nxt = END
                    continue
                if nxt.step is not None:
                    nxt = nxt.step
                elif flow.enter is not None:
                    ctx.state.step = flow.first
                    nxt = await flow.enter(ctx)
                    continue
                else:
                    nxt = flow.first
            ctx.state.step = nxt
            await self._ask(ctx)
            return
        raise RuntimeError("flow redirected too many times")

    # -- global words and commands -----------------------------------------------------------

    async def _action(self, ctx: Ctx, action: str, args: str) -> None:
        """Carries out a global word or a command, keeping the current step where it can."""
        identity = ctx.identity
        busy = ctx.state.flow not in IDLE_FLOWS and ctx.state.step is not None
        if action == "help":
            ctx.note(help_texts.help_text(ctx))
            await self._ask(ctx)
        elif action == "language":
            await self._language(ctx, args)
        elif identity.consent != "given" and action not in PRE_CONSENT:
            if action == "stop":
                ctx.note(_("Tidak ada data Bapak/Ibu yang kami simpan, jadi tidak ada pengingat yang dikirim."))
            if ctx.state.flow == "start":  # keeps what the consent question holds (a picked language, a /gabung code)
                await self._ask(ctx)
            else:
                await self._go(ctx, Goto("start"))
        elif action == "cancel":
            if busy:
                ctx.note(help_texts.cancelled_text(ctx))
            else:
                ctx.note(_("Tidak ada yang sedang berjalan."))
            await self._go(ctx, END)
        elif action == "stop":
            identity.opted_out_at = identity.opted_out_at or ctx.now
            ctx.note(_("Pengingat dihentikan. Data Bapak/Ibu tetap tersimpan. Ketik /mulai untuk menerima pengingat lagi, atau /hapus untuk menghapus data."))
            await self._ask(ctx)
        elif action == "resume":
            if identity.opted_out_at is not None:
                identity.opted_out_at = None
                ctx.note(_("Pengingat aktif kembali. Terima kasih!"))
            else:
                ctx.note(_("Pengingat Bapak/Ibu sudah aktif."))
            await self._ask(ctx)
        elif action in ("start", "menu"):
            if busy:
                ctx.note(_("Kita lanjutkan. Ketik batal untuk kembali ke menu."))
            await self._ask(ctx)
        elif action in flows.INSTANT:
            nxt = await flows.INSTANT[action](ctx, args)
            if nxt is not None and (not busy or self._at_home(ctx)):
                await self._go(ctx, nxt)
            else:
                await self._ask(ctx)
        elif action in self.flow_commands:
            if busy and not self._at_home(ctx):
                ctx.note(_("Selesaikan dulu langkah ini, atau ketik batal untuk membatalkannya."))
                await self._ask(ctx)
            else:  # what follows the command (``/riwayat K-7QX2MA``) is the flow's ``args``
                await self._go(ctx, Goto(action, data={"args": args[:MAX_ARGS]} if args else {}))
        else:
            word = action.split(":", 1)[-1]
            ctx.note(_("Perintah /{word} tidak dikenal.", word=word[:30]) + "\n" + help_texts.commands_text(ctx))
            await self._ask(ctx)

    async def _language(self, ctx: Ctx, args: str) -> None:
        """Switches language at once (``/bahasa en``) or asks which one, then continues."""
        lang = flows.language_from_text(args, ctx.settings.locale.available)
        if lang:
            switch_language(ctx, lang)
            ctx.note(_("Bahasa diganti ke {language}.", language=LANGUAGES[lang]))
            await self._ask(ctx)
            return
        if ctx.state.flow == "language" or ctx.identity.consent != "given":  # the consent question offers the languages
            await self._ask(ctx)
            return
        back = None
        if ctx.identity.consent == "given" and ctx.state.flow not in IDLE_FLOWS and ctx.state.step:
            back = {"flow": ctx.state.flow, "step": ctx.state.step, "data": ctx.data}
        await self._go(ctx, Goto("language", data={"_return": back} if back else {}))


__all__ = ["Engine", "NotStored", "match_choice", "current_language"]
