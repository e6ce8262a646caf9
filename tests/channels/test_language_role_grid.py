"""Issue 14's "done when", as a grid: a conversation in each language (Indonesian, English), each role
(family, kader, puskesmas staff) and over each channel (the Telegram and WhatsApp fakes), typed as people
write: "ya"/"yes", "iya", "P"/"L" or "F"/"M", "20 minggu"/"20 weeks", a word of a label ("mawar"),
"7,2"/"7.2" for a weight, "nanti"/"later", "selesai"/"done". Twelve conversations.

The engine and the channel run in-process (the channel against its fake on 127.0.0.1: the Bot API for
Telegram, the Graph API with signed webhooks for WhatsApp). Every turn of every conversation is checked:

* nothing is refused: no step raises :class:`handlers.flow.Invalid` (the engine's "asks again with a
  hint"), and no reply holds a refusal text of the catalogue (:data:`REFUSALS`: the not-understood menu
  answer, an unknown command, a stale button, "could not read the date", a ``catat`` line not recorded,
  the "or type the number" hint);
* every reply is in the conversation's language: no Indonesian-only catalogue text to an English speaker
  and no English-only one to an Indonesian speaker (the fragments of ``tests/handlers/test_fuzz.py``),
  in what the engine wrote and in what the channel sent (its own words too: the list button);
* nothing is cut: every line the engine wrote arrives, in order; every button label arrives whole (as
  the button, or a row's description, or in the text's legend of shortened titles); every message is
  within the channel's limits (Telegram: 4,096 UTF-16 units a text, 1,024 a caption; WhatsApp: 4,096 a
  text, 1,024 a button message's body and a caption, 20 a button title, 24 a row title, 72 a row
  description) and the fakes rejected nothing; no "..." the engine did not write.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from channels.fit import ELLIPSIS
from channels.messages import Incoming, Reply
from channels.telegram import TelegramChannel
from config import TelegramConfig
from content.i18n import use_locale
from db.models import Broadcast, Measurement, Person, PosyanduException, Visit
from handlers.engine import Engine
from handlers.flow import Invalid
from handlers.help import command_menu
from tests.channels.whatsapp_world import WaChat, whatsapp_bot
from tests.fakes.telegram_api import FakeTelegram
from tests.handlers.test_fuzz import ENGLISH_ONLY, INDONESIAN_ONLY
from tests.helpers import DEFAULT_NOW, make_invite

ROOT = Path(__file__).resolve().parents[2]

#: The refusals that are not an Invalid hint (those are caught where they are raised), by msgid.
REFUSAL_MSGIDS = (
    "Maaf, saya tidak mengerti. Pilih dari menu di bawah, atau ketik bantuan.",
    "Perintah /{word} tidak dikenal.",
    "Tombol itu sudah tidak berlaku. Silakan jawab pertanyaan terakhir ini:",
    "Maaf, saya belum bisa membaca foto, stiker atau suara di sini. Mohon ketik jawabannya.",
    "Maaf, tanggalnya tidak terbaca. Tulis seperti: {example}",
    "Belum tercatat. {part}{why}",
    "Atau ketik nomor pilihannya, misalnya 1 untuk \u201c{label}\u201d.",
)


def _refusal_marks() -> tuple[str, ...]:
    """The text of each refusal up to its first placeholder, in Indonesian and as the English catalogue has it."""
    with (ROOT / "content" / "locales" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="en")
    marks = []
    for msgid in REFUSAL_MSGIDS:
        message = catalog.get(msgid)
        assert message is not None and message.string, f"not in the catalogue: {msgid!r}"
        for text in (msgid, message.string):
            head = re.split(r"\{[^{}]*\}", text)[0].strip()
            assert len(head) >= 8, head
            marks.append(head)
    return tuple(marks)


REFUSALS = _refusal_marks()

# -- the channels' limits --------------------------------------------------------------------------------

TG_TEXT, TG_CAPTION = 4096, 1024
WA_TEXT, WA_BODY, WA_BUTTON, WA_ROW, WA_DESCRIPTION, WA_CAPTION = 4096, 1024, 20, 24, 72, 1024


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def lines_of(replies: list[Reply]) -> list[str]:
    return [line.strip() for reply in replies for line in reply.text.splitlines() if line.strip()]


def every_line_arrived(expected: list[str], received: str, what: str) -> None:
    at = 0
    for line in expected:
        found = received.find(line, at)
        assert found >= 0, f"{what}: line lost, cut or out of order: {line!r}\n--- received ---\n{received}"
        at = found + len(line)


_CODE = re.compile(r"^(.*\S)\s*\(([^()]+)\)$")


def arrived_whole(label: str, shown: str) -> bool:
    """The label arrived: as it is, or (a title made short as its bracketed code) its code and its words
    ("HPHT" and "HPHT: Hari pertama haid terakhir" for "Hari pertama haid terakhir (HPHT)")."""
    if label in shown:
        return True
    coded = _CODE.match(label)
    return bool(coded) and f"{coded.group(2)}: {coded.group(1)}" in shown


# -- one conversation, over either channel ----------------------------------------------------------------

@dataclass
class Turn:
    said: str
    replies: list[Reply]
    received: str  # all text that reached the person's screen (texts, captions, bodies)
    shown: list[str]  # button titles, row titles and descriptions, the list button


@dataclass
class Conversation:
    """One person over one channel: ``say`` types, ``press`` presses; every turn is checked."""

    channel: str
    language: str  # the conversation's language: checked from the turn :attr:`checking` is set
    invalids: list[str]
    checking: bool = False
    turns: list[Turn] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)

    @property
    def replies(self) -> list[Reply]:
        return self.turns[-1].replies if self.turns else []

    @property
    def text(self) -> str:
        return "\n\n".join(r.text for r in self.replies)

    @property
    def labels(self) -> list[str]:
        return [c.label for r in self.replies for c in r.choices]

    def __post_init__(self) -> None:
        # Indonesian is the default; Telegram tells the client's language: checked from the first message
        self.checking = self.language == "id" or self.channel == "telegram"

    async def say(self, text: str, expect: str | None = None) -> str:
        self.invalids.clear()
        turn = await self._say(text)
        self._check(turn, expect)
        return self.text

    async def press(self, label: str, expect: str | None = None) -> str:
        """Presses the button of the last reply whose full label starts with ``label``."""
        for reply in self.replies:
            for choice in reply.choices:
                if choice.label.lower().startswith(label.lower()):
                    self.invalids.clear()
                    turn = await self._press(choice)
                    self._check(turn, expect)
                    return self.text
        raise AssertionError(f"no button {label!r} in {self.labels}")

    def _check(self, turn: Turn, expect: str | None) -> None:
        self.turns.append(turn)
        what = f"{self.channel}/{self.language}: after {turn.said!r}"
        self.transcript.append(f">>> {turn.said}\n{turn.received}\n    [{' | '.join(turn.shown)}]")
        assert turn.replies, f"{what}: no reply"
        text = "\n".join(r.text for r in turn.replies)
        assert not self.invalids, f"{what}: refused with {self.invalids}: {text[:500]}"
        for mark in REFUSALS:
            assert mark not in text and mark not in turn.received, f"{what}: refused ({mark!r}): {text[:500]}"
        if self.checking:
            self.check_language(turn)
        for doubled in DOUBLED.finditer(turn.received):
            assert doubled is None, f"{what}: a word said twice, {doubled.group()!r}: {turn.received[:600]}"
        every_line_arrived(lines_of(turn.replies), turn.received, what)
        everything = "\n".join([turn.received, *turn.shown])
        for label in self.labels:
            assert arrived_whole(label, everything), f"{what}: the button label {label!r} did not arrive whole: {everything[:600]}"
        if ELLIPSIS not in text and "..." not in text:
            assert ELLIPSIS not in turn.received and "..." not in turn.received, f"{what}: cut: {turn.received[:600]}"
        if expect is not None:
            assert expect.lower() in text.lower(), f"{what}: expected {expect!r} in {text[:600]}"


    def check_language(self, turn: Turn) -> None:
        """Everything of the turn (the engine's texts and labels, what the channel showed) is in the
        conversation's language."""
        what = f"{self.channel}/{self.language}: after {turn.said!r}"
        shown = "\n".join([*(r.text for r in turn.replies), *(c.label for r in turn.replies for c in r.choices),
                           turn.received, *turn.shown])
        other = INDONESIAN_ONLY if self.language == "en" else ENGLISH_ONLY
        found = other.search(shown)
        assert found is None, f"{what}: {found and found.group()!r} is not {self.language}: {shown[:600]}"
        for reply in turn.replies:
            assert reply.language in (None, self.language), f"{what}: a reply in {reply.language!r}"


#: A word said twice in a row ("Bayi baru lahir, Bayi" is issue 14's kind of doubling; this finds the plainest).
DOUBLED = re.compile(r"\b([^\W\d_]{3,})\s+\1\b", re.IGNORECASE)


class Recorder:
    """The engine's durable entry point, keeping the replies of the last message."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.replies: list[Reply] = []

    async def __call__(self, incoming: Incoming) -> list[Reply]:
        self.replies = []
        self.replies = await self.handle(incoming)
        return self.replies


class TelegramConversation(Conversation):
    def __init__(self, fake: FakeTelegram, channel: TelegramChannel, recorder: Recorder, chat_id: int,
                 language: str, invalids: list[str], language_code: str) -> None:
        super().__init__("telegram", language, invalids)
        self.fake, self.tg, self.recorder, self.chat_id, self.language_code = fake, channel, recorder, chat_id, language_code

    async def _run(self, said: str, update: dict) -> Turn:
        before = len(self.fake.messages_to(self.chat_id))
        await self.tg.process(update)
        calls = self.fake.messages_to(self.chat_id)[before:]
        shown = []
        for call in calls:
            limit = TG_CAPTION if call.method == "sendPhoto" else TG_TEXT
            assert utf16(call.text or "") <= limit, f"telegram: a {call.method} of {utf16(call.text or '')} units"
            for row in (call.reply_markup or {}).get("inline_keyboard", []):
                shown.extend(button["text"] for button in row)
        assert not self.fake.rejected and not self.fake.unexpected, (self.fake.rejected, self.fake.unexpected)
        return Turn(said, list(self.recorder.replies), "\n".join(c.text or "" for c in calls), shown)

    async def _say(self, text: str) -> Turn:
        return await self._run(text, self.fake.text_update(self.chat_id, text, language_code=self.language_code))

    async def _press(self, choice) -> Turn:
        return await self._run(f"[{choice.label}]", self.fake.callback_update(self.chat_id, choice.data, language_code=self.language_code))


class WhatsAppConversation(Conversation):
    def __init__(self, chat: WaChat, recorder: Recorder, language: str, invalids: list[str]) -> None:
        super().__init__("whatsapp", language, invalids)
        self.chat, self.recorder = chat, recorder

    def _turn(self, said: str) -> Turn:
        shown = []
        for message in self.chat.messages:
            kind = message["type"]
            if kind == "text":
                assert len(message["text"]["body"]) <= WA_TEXT
            elif kind in ("image", "document"):
                assert len(message[kind].get("caption") or "") <= WA_CAPTION
            elif kind == "interactive":
                interactive = message["interactive"]
                action = interactive.get("action") or {}
                if interactive["type"] == "button":
                    assert len(interactive["body"]["text"]) <= WA_BODY
                for button in action.get("buttons") or ():
                    assert len(button["reply"]["title"]) <= WA_BUTTON, button
                    shown.append(button["reply"]["title"])
                if action.get("button"):
                    shown.append(action["button"])
                for section in action.get("sections") or ():
                    for row in section.get("rows") or ():
                        assert len(row["title"]) <= WA_ROW and len(row.get("description") or "") <= WA_DESCRIPTION, row
                        shown.extend([row["title"], row.get("description") or ""])
        graph = self.chat.bot.graph
        assert not graph.rejected and not graph.unexpected, (graph.rejected, graph.unexpected)
        if self.checking and self.language == "en":
            assert not any(title in ("Pilih", "Pilihan") for title in shown), f"whatsapp: Indonesian list words {shown}"
        return Turn(said, list(self.recorder.replies), self.chat.text, [s for s in shown if s])

    async def _say(self, text: str) -> Turn:
        await self.chat.say(text)
        return self._turn(text)

    async def _press(self, choice) -> Turn:
        await self.chat.press(choice.label)
        return self._turn(f"[{choice.label}]")


# -- the grid ---------------------------------------------------------------------------------------------

#: What a person types, by language.
WORDS = {
    "id": dict(
        hello="halo", yes="Ya", yes2="iya", no="tidak", later="nanti", add="tambah", done="selesai",
        female="P", male="L", weeks="20 minggu", age="67 tahun", weight="7,2", cancel="batal",
        schedule="/jadwal", immunization="/imunisasi", targets="/sasaran", report="/laporan",
        broadcast="/umumkan", days="/jadwalposyandu", visit="/kunjungan", register_other="/daftarkan",
        language="indonesia", home="posyandu", none="tidak ada", save="simpan", all="semua",
        move="pindah", reason="balai desa sedang diperbaiki",
        whole="seluruh", announcement="Posyandu bulan Desember pindah ke balai banjar Kaja. Bawa buku KIA.",
    ),
    "en": dict(
        hello="hello", yes="yes", yes2="Yes", no="no", later="later", add="add", done="done",
        female="F", male="M", weeks="20 weeks", age="67 years", weight="7.2", cancel="cancel",
        schedule="/schedule", immunization="/immunization", targets="/targets", report="/report",
        broadcast="/broadcast", days="/posyandudays", visit="/visit", register_other="/newfamily",
        language="english", home="posyandu", none="none", save="save", all="all",
        move="move", reason="the village hall is being repaired",
        whole="whole", announcement="December's posyandu moves to the Kaja banjar hall. Bring the Buku KIA.",
    ),
}


@dataclass
class World:
    db: Any
    settings: Any
    clock: Any
    invalids: list[str]


async def _family(chat: Conversation, w: dict, lang: str, world: World) -> None:
    """Consent, a household with a pregnant mother ("20 minggu") and a baby, /jadwal, /imunisasi."""
    await chat.say(w["hello"])
    if lang == "en" and "Yes, I agree" not in chat.labels:  # WhatsApp tells no language: the person names theirs
        assert chat.channel == "whatsapp"
        await chat.say(w["language"])
        chat.checking = True
        chat.check_language(chat.turns[-1])
    await chat.say(w["yes"])
    if _asks_language(chat):
        await chat.say(w["language"])
    await chat.say("nagasepaha", "posyandu")
    await chat.say("mawar")
    await chat.say("Wayan Sudarma")
    await chat.say("Banjar Kaja")
    await chat.say("rt 3 rw 2")
    await chat.say("Ni Made Sari")
    await chat.say(w["female"])
    await chat.say("12-03-1996")
    await chat.say(w["yes2"])  # pregnant
    await chat.say(w["weeks"])
    while _asks_history(chat):
        await chat.say(w["later"])
    await chat.say(w["add"])
    await chat.say("Kadek Bayu")
    await chat.say(w["male"])
    await chat.say("20-09-2026")
    while _asks_history(chat):
        await chat.say(w["later"])
    await chat.say(w["add"])
    await chat.say("Nenek Rai")
    await chat.say(w["female"])
    await chat.say(w["age"])  # "67 tahun": the age when the date is not known
    while _asks_history(chat):
        await chat.say(w["later"])
    await chat.say(w["done"])
    text = await chat.say(w["schedule"])
    assert "Kadek Bayu" in text, text
    text = await chat.say(w["immunization"])
    assert "Kadek Bayu" in text, text


def _asks_language(chat: Conversation) -> bool:
    return {"Bahasa Indonesia", "English"} <= set(chat.labels)


def _asks_history(chat: Conversation) -> bool:
    return any(label in ("Nanti saja", "Later") for label in chat.labels)


def _family_code(text: str) -> str:
    found = re.search(r"\bK-[0-9A-Z]{6,}\b", text)
    assert found, text
    return found.group()


async def _join(chat: Conversation, w: dict, lang: str, command: str, code: str) -> None:
    """``/kader <kode>`` or ``/staf <kode>`` as the very first message; an English speaker the bot cannot
    tell (WhatsApp gives no language) switches with ``/bahasa en`` after it."""
    await chat.say(f"/{command} {code}")
    if lang == "en" and chat.replies[-1].language != "en":
        assert chat.channel == "whatsapp"
        await chat.say("/bahasa en")
    chat.checking = True
    assert "en" not in lang or "English" in chat.text or "Welcome" in chat.text, chat.text


async def _kader(chat: Conversation, w: dict, lang: str, world: World) -> None:
    """Joins with an invite, registers a family, records a visit with a weight of 7,2 (guided, then in
    one ``catat`` line), looks at /sasaran."""
    await _join(chat, w, lang, "kader", await make_invite(world.db, "kader"))
    await chat.say(w["register_other"])
    await chat.say("Made Wirawan")
    await chat.say("Banjar Kelod")
    await chat.say("003/002")
    await chat.say("0812 3456 7891")  # the family's WhatsApp number
    await chat.say("Ni Luh Ayu")
    await chat.say(w["female"])
    await chat.say("02-04-1995")
    await chat.say(w["no"])  # not pregnant
    while _asks_history(chat):
        await chat.say(w["later"])
    await chat.say(w["add"])
    await chat.say("Komang Adi")
    await chat.say(w["male"])
    await chat.say("01-05-2026")
    while _asks_history(chat):
        await chat.say(w["later"])
    text = await chat.say(w["done"])
    code = _family_code(text)
    await chat.say(w["visit"])
    await chat.say(code)
    await chat.say("komang")
    await chat.say(w["home"])
    await chat.say(w["weight"])
    await chat.say("-")
    while not any(label.lower().startswith(w["save"]) for label in chat.labels):
        await chat.say(w["none"])
    await chat.say(w["yes"])
    await chat.say(f"catat {code} anak1 bb {w['weight']} pb 68")
    await chat.say(w["targets"])


async def _staff(chat: Conversation, w: dict, lang: str, world: World) -> None:
    """Joins with an invite, reads /laporan, previews an announcement and cancels it, previews a new
    posyandu day and cancels it."""
    await _join(chat, w, lang, "staf" if lang == "id" else "staff", await make_invite(world.db, "staff"))
    await chat.say(w["report"])
    await chat.say("mawar")
    await chat.say("november")
    await chat.say(w["broadcast"])
    await chat.say(w["all"])
    await chat.say(w["whole"])
    await chat.say(w["announcement"])
    await chat.say(w["cancel"])
    await chat.say(w["days"])
    await chat.say(w["move"])
    await chat.say("mawar")
    await chat.say("05-12-2026")  # the session: typed as a date
    await chat.say("12-12-2026")  # its new date
    await chat.say(w["reason"])
    await chat.say(w["cancel"])


SCRIPTS = {"family": _family, "kader": _kader, "staff": _staff}


async def _stored(world: World, role: str) -> None:
    """What the conversation stored is what was meant (a typed "ya" became no note, "20 minggu" a
    pregnancy, "67 tahun" an age, "7,2" a weight); what was previewed and cancelled was not sent."""
    async with world.db.read() as session:
        people = {p.name: p for p in await session.scalars(select(Person))}
        if role == "family":
            mother, baby, grandmother = people["Ni Made Sari"], people["Kadek Bayu"], people["Nenek Rai"]
            assert mother.sex == "F" and baby.sex == "M" and grandmother.sex == "F"
            assert mother.hpht == DEFAULT_NOW.date() - timedelta(weeks=20), mother.hpht
            assert grandmother.birth_precision == "age" and grandmother.birth_date.year == DEFAULT_NOW.year - 67
        elif role == "kader":
            assert people["Komang Adi"].sex == "M" and people["Ni Luh Ayu"].hpht is None
            (visit,) = await session.scalars(select(Visit))  # the catat line completes the day's visit
            sizes = {m.kind: m.value for m in await session.scalars(select(Measurement).where(Measurement.visit_id == visit.id))}
            assert visit.notes is None and sizes == {"weight_kg": 7.2, "length_cm": 68}, (visit.notes, sizes)
        else:
            assert not list(await session.scalars(select(Broadcast)))
            assert not list(await session.scalars(select(PosyanduException)))


def _menu(role: str, lang: str) -> list[dict]:
    with use_locale(lang):
        return [{"command": c, "description": d} for c, d in command_menu(role)]


@pytest.mark.parametrize("channel", ["telegram", "whatsapp"])
@pytest.mark.parametrize("role", ["family", "kader", "staff"])
@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_conversation_finds_no_refusal_no_other_language_and_nothing_cut(demo_db, settings, clock, monkeypatch, lang, role, channel):
    invalids: list[str] = []
    original = Invalid.__init__

    def recording(self, hint: str) -> None:
        invalids.append(hint)
        original(self, hint)

    monkeypatch.setattr(Invalid, "__init__", recording)  # every refusal of an answer, where it is raised
    world = World(demo_db, settings, clock, invalids)
    number = 10 * ("family", "kader", "staff").index(role) + ("id", "en").index(lang)
    chat: Conversation | None = None
    try:
        if channel == "telegram":
            recorder = Recorder(Engine(demo_db, settings, clock=clock).handle_durably)
            async with FakeTelegram() as fake:
                config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
                tg = TelegramChannel(config, recorder, freeze_gc=False)
                await tg.initialize()
                try:
                    chat = TelegramConversation(fake, tg, recorder, 7140000 + number, lang, invalids, lang)
                    await SCRIPTS[role](chat, WORDS[lang], lang, world)
                    if role != "family":  # the chat's own "/" menu: the role's commands, in the person's language
                        assert fake.menu_for(chat.chat_id, lang) == _menu(role, lang)
                finally:
                    await tg.stop()
        else:
            async with whatsapp_bot(demo_db, settings, clock) as bot:
                recorder = Recorder(bot.channel.handle)
                bot.channel.handle = recorder
                chat = WhatsAppConversation(WaChat(bot, f"628123457{number:04d}", clock), recorder, lang, invalids)
                await SCRIPTS[role](chat, WORDS[lang], lang, world)
    finally:
        if chat is not None:  # the transcript, shown when the conversation fails
            print("\n\n".join(chat.transcript))
    await _stored(world, role)
