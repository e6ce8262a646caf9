"""Answers as people write them: every question of every flow with the typed forms of its choices,
and the free-text steps with the forms people type.

The choice table: scripted conversations of a family, a kader and puskesmas staff run through the
engine with every step's ``ask`` wrapped to record the Question it renders. Every (flow, step) of
``handlers.flows.FLOWS`` that has choices must be reached (the test lists those it did not reach),
and each choice of each recorded question must be picked by its number, its label in other case
and punctuation, its short code, a word of its label only, and yes or no words where the choice
means yes or no (``handlers.engine.YES_VALUES`` / ``NO_VALUES``). It runs in Indonesian and English.

The free-text table: what people type at the steps that read text, and what it must become.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from channels.messages import Incoming
from content.i18n import current_language
from db.models import CareRecord, ConversationState, Family, Identity, Measurement, Person, Posyandu, Visit
from handlers.engine import NO_VALUES, VALUE_WORDS, YES_VALUES, Engine, match_choice
from handlers.flow import Question
from handlers.flows import FLOWS
from handlers.kader import create_invite
from handlers.parsing import plain_words
from tests.helpers import DEFAULT_NOW, ChatDriver, make_family, make_pregnant

TODAY = DEFAULT_NOW.date()  # Monday 23 November 2026
MAWAR = "51.08.06.2014"  # Nagasepaha
_ids = itertools.count(1)

#: Steps that never show choices: they read typed text (names, dates, numbers, notes).
FREE_TEXT = {
    ("register", "village"), ("register", "household"), ("register", "dusun"), ("register", "rt_rw"), ("register", "phone"),
    ("register_other", "household"), ("register_other", "dusun"), ("register_other", "rt_rw"), ("register_other", "phone"),
    ("family", "member_name"), ("family", "member_birth"), ("family", "member_age"), ("family", "pregnancy_value"),
    ("birth", "baby_name"),
    ("visit", "size"), ("visit", "head_arm"), ("visit", "weight"), ("visit", "muac"), ("visit", "bp"), ("visit", "iron"),
    ("visit", "anc"), ("visit", "glucose"), ("visit", "waist"), ("visit", "danger"),
    ("broadcast", "text"), ("posyandu_days", "new_date"), ("posyandu_days", "reason"),
    ("register_import", "start"),  # the file, as a document
}
YES_FORMS = ("ya", "Ya", "YA!", "iya", "Iya.", "y", "yes", "Yes", "ok", "oke", "setuju", "benar", "betul")
NO_FORMS = ("tidak", "Tidak", "tdk", "gak", "ga", "nggak", "enggak", "engga", "no", "No", "n", "bukan")
#: Words that act before a question sees them (handlers.words): not a choice's word to test here.
GLOBAL = {"batal", "cancel", "bantuan", "help", "tolong", "berhenti", "stop"}


# -- recording what the engine asks ----------------------------------------------------------------

def recording(recorded: dict[tuple[str, str], list[tuple[str, Question]]]) -> dict:
    """FLOWS with every step's ask wrapped to record (language, Question) under (flow, step)."""

    def wrap(flow: str, step: str, ask):
        async def recorded_ask(ctx):
            question = await ask(ctx)
            recorded.setdefault((flow, step), []).append((current_language(), question))
            return question

        return recorded_ask

    return {name: replace(flow, steps={step: replace(s, ask=wrap(name, step, s.ask)) for step, s in flow.steps.items()})
            for name, flow in FLOWS.items()}


# -- a chat that presses buttons by their value (the same in every language) -------------------------

class Chat(ChatDriver):
    async def pick(self, value: str) -> None:
        """Presses the button whose value is ``value``."""
        for reply in self.replies:
            for choice in reply.choices:
                if choice.data.split(".", 1)[1] == value:
                    await self.send(Incoming(self.channel, self.address, message_id=f"v{next(_ids)}", choice=choice.data))
                    return
        raise AssertionError(f"no button {value!r} in {[(c.label, c.data) for r in self.replies for c in r.choices]}: {self.text[:300]}")

    async def first(self) -> None:
        """Presses the first button."""
        data = self.replies[-1].choices[0].data
        await self.send(Incoming(self.channel, self.address, message_id=f"v{next(_ids)}", choice=data))


async def start(chat: Chat, lang: str) -> None:
    """Consents in ``lang`` (switching the consent text first for English; else picking the language after)."""
    await chat.say("/start")
    if lang == "en":
        await chat.pick("lang_en")  # picked on the consent screen: not asked again
    await chat.pick("yes")
    if lang == "id":
        await chat.pick(lang)


async def joined(engine, db, lang: str, role: str, address: str) -> Chat:
    """A chat that consented in ``lang`` and joined as kader (Nagasepaha) or staff (Buleleng III)."""
    async with db.write() as session:
        posyandu = (await session.scalars(select(Posyandu).where(Posyandu.village_code == MAWAR))).one()
        invite = await create_invite(session, role=role, posyandu_id=posyandu.id if role == "kader" else None,
                                     puskesmas_id=posyandu.puskesmas_id if role == "staff" else None, now=DEFAULT_NOW)
    chat = Chat(engine, address=address)
    await start(chat, lang)
    await chat.say(f"/{'kader' if role == 'kader' else 'staf'} {invite.code}")
    return chat


# -- the conversations -------------------------------------------------------------------------------

async def family_script(chat: Chat, lang: str) -> None:
    """A family registers four members (a pregnant mother, a toddler, a grandfather, a mother about to
    give birth), records the twins' birth and a loss, and opens every family command."""
    await start(chat, lang)
    await chat.say("Atlantis")  # no such village: the villages nearby
    await chat.say("nagasepha")  # one letter missing
    await chat.first()
    for text in ("Wayan Sudarma", "Banjar Kaja", "003/002"):
        await chat.say(text)
    await chat.say("Ni Made Sari")
    await chat.pick("F")
    await chat.say("12-03-1996")
    await chat.pick("yes")
    await chat.pick("weeks")
    await chat.say("20 minggu")
    await chat.say("2")  # ANC so far
    await chat.pick("unknown")
    await chat.pick("later")  # PTM screening
    await chat.pick("add")
    await chat.say("Putu Ayu")
    await chat.pick("F")
    await chat.say("23-05-2025")
    await chat.pick("all")
    await chat.pick("none")  # nothing missing
    await chat.pick("none")  # vitamin A
    await chat.pick("later")  # deworming
    await chat.pick("add")
    await chat.say("Kakek Rai")
    await chat.pick("M")
    await chat.say("1950")
    await chat.pick("later")  # SKILAS
    await chat.pick("add")
    await chat.say("Komang Dewi")
    await chat.pick("F")
    await chat.say("02-02-2000")
    await chat.pick("yes")
    await chat.pick("weeks")
    await chat.say("38 minggu")
    await chat.pick("later")  # ANC
    await chat.pick("done")
    await chat.say("/lahir")  # two pregnancies: who?
    await chat.press("Komang Dewi")
    await chat.pick("today")
    await chat.pick("2")
    for sex in ("M", "F"):
        await chat.pick(sex)
        await chat.say("-")
        await chat.say("3,2 kg")
    await chat.say("/keluarga")
    await chat.pick("edit")
    await chat.press("Ni Made Sari")
    await chat.pick("pregnancy")
    await chat.pick("no")  # no longer pregnant: what happened?
    await chat.pick("loss")
    await chat.pick("last_week")
    await chat.pick("remove")
    await chat.press("Kakek Rai")
    await chat.pick("no")
    await chat.pick("done")
    await chat.say("/jadwal")
    await chat.pick("mark")
    await chat.press("Putu Ayu")
    await chat.first()
    await chat.pick("today")
    await chat.say("/imunisasi")
    await chat.pick("immunization_edit")
    await chat.press("Putu Ayu")
    await chat.pick("remove")
    await chat.pick("back")
    await chat.pick("lines")
    await chat.say("bcg sudah")
    await chat.pick("done")
    await chat.say("/riwayat")
    await chat.say("batal")
    await chat.say("/pengingat")
    await chat.pick("keep")
    await chat.say("/grafik")
    await chat.say("batal")
    await chat.say("/bahasa")
    await chat.pick(lang)
    await chat.say("/hapus")
    await chat.pick("no")


async def kader_script(engine, db, lang: str) -> None:
    """A kader logs a child's visit (a family picked among two), an older person's with a danger sign,
    opens the home-visit list and records a referral's outcome."""
    await make_family(db, name="Komang Ariawan", members=(("Made Ayu", "F", date(2025, 5, 23)),))
    await make_family(db, name="Komang Sudana", members=(("Kadek Bayu", "M", date(2026, 9, 20)),))
    await make_family(db, name="Nyoman Rai", members=(("Nenek Rai", "F", date(1950, 2, 2)),))
    chat = await joined(engine, db, lang, "kader", f"kader-{lang}")
    await chat.say("/kunjungan")  # today's list
    await chat.say("Komang")  # two families
    await chat.press("Komang Ariawan")
    await chat.press("Made Ayu")
    await chat.pick("posyandu")
    await chat.say("10,2 80")
    await chat.say("-")
    await chat.pick("none")  # services
    await chat.pick("none")  # doses
    await chat.pick("save")
    await chat.pick("done")
    await chat.say("/kunjungan")  # a dose given today: its lot is asked (SATUSEHAT is on)
    await chat.say("Komang Sudana")
    await chat.press("Kadek Bayu")
    await chat.pick("posyandu")
    await chat.say("4,8 56")
    await chat.say("-")
    if {c.data.split(".", 1)[1] for r in chat.replies for c in r.choices} - {"all", "none"}:
        await chat.pick("none")  # services
    await chat.say("dpt1")
    await chat.pick("skip")  # the lot
    await chat.pick("save")
    await chat.pick("done")
    await chat.say("/kunjungan")
    await chat.say("Nyoman Rai")
    await chat.press("Nenek Rai")
    await chat.pick("home")
    for text in ("150/100", "-", "-"):
        await chat.say(text)
    await chat.pick("positive")
    if any(c.data.endswith(".none") for r in chat.replies for c in r.choices):
        await chat.pick("none")  # services
    await chat.pick("danger")
    await chat.say("sesak napas")
    await chat.pick("save")
    await chat.say("/sasaran")
    await chat.pick("done")
    await chat.say("/rujukan")
    await chat.first()
    await chat.pick("came")
    await chat.pick("none")


async def staff_script(engine, db, lang: str) -> None:
    """Puskesmas staff invite a kader, broadcast, follow it, look at the posyandu days and a report."""
    chat = await joined(engine, db, lang, "staff", f"staff-{lang}")
    await chat.say("/undang")
    await chat.first()
    await chat.say("/umumkan")
    await chat.pick("all")
    await chat.pick("all")
    await chat.say("Posyandu bulan ini tetap buka seperti biasa.")
    await chat.pick("send")
    await chat.say("/status")
    await chat.pick("done")
    await chat.say("/satusehat")
    await chat.pick("done")
    await chat.say("/jadwalposyandu")
    await chat.pick("moved")
    await chat.first()
    await chat.first()
    await chat.say("6-12-2026")  # a Sunday: warned about
    await chat.pick("keep")
    await chat.say("Bidan ikut pelatihan")
    await chat.pick("edit")  # the preview, then what to change
    await chat.pick("reason")
    await chat.say("Bidan ikut pelatihan kabupaten")
    await chat.pick("cancel")
    await chat.say("/laporan")
    await chat.first()
    await chat.first()
    await chat.say("/ekspor")
    await chat.first()
    await chat.first()
    await chat.say("/impor")
    await chat.document("sasaran.csv", f"file-{lang}")
    await chat.pick("cancel")  # while it is checked
    await chat.say("/rujukan")


# -- the forms of a choice ------------------------------------------------------------------------

def typed_forms(question: Question) -> list[tuple[str, str, str]]:
    """(what kind of form, typed text, the value it must pick) for every choice of a question."""
    labels = [plain_words(label) for label, _value in question.choices]
    initials = [words[0][0] if words else "" for words in labels]
    forms = []
    for i, (label, value) in enumerate(question.choices):
        forms.append(("number", str(i + 1), value))
        forms.append(("number", f"{i + 1}.", value))
        forms.append(("label", f"  {label.upper()}!! ", value))
        forms.append(("label", re.sub(r"[^\w\s]", " ", label.lower()), value))
        others = {w for j, words in enumerate(labels) if j != i for w in words}
        for bracket in re.findall(r"\(([^()]+)\)", label):
            words = plain_words(bracket)
            if words and not any(w in others for w in words):
                forms.append(("code", bracket, value))
        if initials.count(initials[i]) == 1 and initials[i].isalpha():
            forms.append(("code", initials[i].upper(), value))
        for word in VALUE_WORDS.get(value, ()):
            if len(word) <= 4 and not any(word in VALUE_WORDS.get(v, ()) for _l, v in question.choices if v != value):
                forms.append(("code", word.upper(), value))
        unique = [w for w in labels[i] if w.isalpha() and len(w) >= 3 and w not in others and w not in GLOBAL
                  and not any(o.startswith(w) for o in others)]
        for word in unique[:2]:
            forms.append(("word", word.capitalize(), value))
        if value in YES_VALUES:
            forms += [("yes", text, value) for text in YES_FORMS]
        if value in NO_VALUES:
            forms += [("no", text, value) for text in NO_FORMS]
    return forms


def expected_steps() -> set[tuple[str, str]]:
    """Every (flow, step) of FLOWS that shows choices."""
    return {(flow.name, step) for flow in FLOWS.values() for step in flow.steps} - FREE_TEXT


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_every_choice_of_every_question_is_picked_as_people_type_it(demo_db, settings, clock, lang):
    recorded: dict[tuple[str, str], list[tuple[str, Question]]] = {}
    settings = replace(settings, satusehat=replace(settings.satusehat, enabled=True))  # the visit asks a dose's lot
    engine = Engine(demo_db, settings, clock=clock, flow_table=recording(recorded))
    await family_script(Chat(engine, address=f"family-{lang}"), lang)
    await kader_script(engine, demo_db, lang)
    await staff_script(engine, demo_db, lang)

    with_choices = {key for key, questions in recorded.items() if any(q.choices for _lang, q in questions)}
    # English is picked on the consent screen, so the language question is (rightly) not asked again
    not_asked = {("start", "language")} if lang == "en" else set()
    missing = sorted(expected_steps() - with_choices - not_asked)
    assert not missing, f"questions with choices the scripts did not reach: {missing}"
    unexpected = sorted(with_choices & FREE_TEXT)
    assert not unexpected, f"steps listed as free text show choices: {unexpected}"

    refused, languages = [], []
    checked = 0
    for key in sorted(with_choices):
        seen = set()
        for language, question in recorded[key]:
            if not question.choices or question.choices in seen:
                continue
            seen.add(question.choices)
            languages.append(language)
            for kind, text, value in typed_forms(question):
                checked += 1
                picked = match_choice(question, text)
                if picked != value:
                    refused.append(f"{key[0]}.{key[1]} {kind} {text!r}: {picked!r}, not {value!r} "
                                   f"(choices {[label for label, _v in question.choices]})")
    assert not refused, "\n".join(refused)
    assert checked > 1000
    assert languages.count(lang) > 0.9 * len(languages)  # only the consent question comes before the language

# -- the free-text steps: what people type, and what it must become -------------------------------

async def _state(db, address: str) -> tuple[str | None, str | None, dict]:
    async with db.read() as session:
        row = (await session.execute(
            select(ConversationState.flow, ConversationState.step, ConversationState.data)
            .join(Identity, Identity.id == ConversationState.identity_id).where(Identity.address == address))).one()
    return row[0], row[1], row[2]


async def _at_member_sex(engine, db, address):
    chat = Chat(engine, address=address)
    await start(chat, "id")
    await chat.say("Nagasepaha")
    await chat.first()
    for text in ("Wayan Sudarma", "Banjar Kaja", "003/002", "Ni Made Sari"):
        await chat.say(text)
    return chat


async def _at_member_birth(engine, db, address):
    chat = await _at_member_sex(engine, db, address)
    await chat.pick("F")
    return chat


async def _at_pregnant(engine, db, address):
    chat = await _at_member_birth(engine, db, address)
    await chat.say("12-03-1996")
    return chat


async def _at_pregnancy_kind(engine, db, address):
    chat = await _at_pregnant(engine, db, address)
    await chat.pick("yes")
    return chat


async def _at_pregnancy_weeks(engine, db, address):
    chat = await _at_pregnancy_kind(engine, db, address)
    await chat.pick("weeks")
    return chat


async def _at_member_age(engine, db, address):
    chat = await _at_member_birth(engine, db, address)
    await chat.say("tidak tahu")
    return chat


async def _kader_visit(engine, db, address, member: tuple, *, place: str = "posyandu"):
    family = await make_family(db, name=f"Keluarga {address}", members=(member,))
    chat = await joined(engine, db, "id", "kader", address)
    await chat.say("/kunjungan")
    await chat.say(family.code)
    await chat.press(member[0])
    await chat.pick(place)
    return chat


async def _at_size(engine, db, address):
    return await _kader_visit(engine, db, address, ("Made Ayu", "F", date(2025, 5, 23)))


async def _at_head_arm(engine, db, address):
    chat = await _at_size(engine, db, address)
    await chat.say("10,2 80")
    return chat


async def _at_confirm(engine, db, address):
    chat = await _kader_visit(engine, db, address, ("Kadek Bayu", "M", date(2026, 9, 20)))
    await chat.say("6,2 62")
    await chat.say("-")
    if any(c.data.endswith(".none") for r in chat.replies for c in r.choices) and "Layanan" in chat.text:
        await chat.pick("none")
    await chat.pick("none")
    return chat


async def _at_pregnant_weight(engine, db, address):
    family = await make_family(db, name=f"Keluarga {address}", members=(("Ni Luh Sari", "F", date(1995, 4, 2)),))
    await make_pregnant(db, "Ni Luh Sari", 20)
    chat = await joined(engine, db, "id", "kader", address)
    await chat.say("/kunjungan")
    await chat.say(family.code)
    await chat.press("Ni Luh Sari")
    await chat.pick("posyandu")
    return chat


async def _at_bp(engine, db, address):
    chat = await _at_pregnant_weight(engine, db, address)
    await chat.say("58")
    return chat


async def _at_muac(engine, db, address):
    chat = await _at_bp(engine, db, address)
    await chat.say("110/70")
    return chat


async def _at_iron(engine, db, address):
    chat = await _at_muac(engine, db, address)
    await chat.say("25")
    return chat


async def _at_anc(engine, db, address):
    chat = await _at_iron(engine, db, address)
    await chat.say("30")
    return chat


async def _at_glucose(engine, db, address):
    chat = await _kader_visit(engine, db, address, ("Pak Wayan", "M", date(1980, 1, 1)))
    await chat.say("130/85")
    return chat


async def _at_waist(engine, db, address):
    chat = await _at_glucose(engine, db, address)
    await chat.say("100")
    return chat


async def _at_birth(engine, db, address, *, steps=()):
    family = await make_family(db, name=f"Keluarga {address}", members=(("Ni Luh Sari", "F", date(1995, 4, 2)),))
    await make_pregnant(db, "Ni Luh Sari", 39)
    async with db.write() as session:
        session.add(Identity(channel="local", address=address, language="id", role="family", family_id=family.id,
                             consent="given", consent_version="2026-11", consent_at=DEFAULT_NOW, created_at=DEFAULT_NOW))
    chat = Chat(engine, address=address)
    await chat.say("/lahir")
    for kind, value in steps:
        await (chat.pick(value) if kind == "pick" else chat.say(value))
    return chat


async def _at_babies(engine, db, address):
    return await _at_birth(engine, db, address, steps=(("pick", "today"),))


async def _at_baby_name(engine, db, address):
    return await _at_birth(engine, db, address, steps=(("pick", "today"), ("pick", "1"), ("pick", "F")))


async def _at_baby_weight(engine, db, address):
    return await _at_birth(engine, db, address, steps=(("pick", "today"), ("pick", "1"), ("pick", "F"), ("say", "Putu")))


async def _at_village(engine, db, address):
    chat = Chat(engine, address=address)
    await start(chat, "id")
    return chat


async def _at_dusun(engine, db, address):
    chat = await _at_village(engine, db, address)
    await chat.say("Nagasepaha")
    await chat.first()
    await chat.say("Wayan Sudarma")
    return chat


async def _at_rt_rw(engine, db, address):
    chat = await _at_dusun(engine, db, address)
    await chat.say("Banjar Kaja")
    return chat


async def _at_anc_count(engine, db, address):
    chat = await _at_pregnancy_weeks(engine, db, address)
    await chat.say("20 minggu")
    return chat


async def _at_anc_when(engine, db, address):
    chat = await _at_anc_count(engine, db, address)
    await chat.say("2")
    return chat


def _hpht(weeks: int, days: int = 0) -> str:
    return (TODAY - timedelta(weeks=weeks, days=days)).isoformat()


#: (step, how to get there, typed, what must follow: "step" is where the chat is next, a dotted path
#: into the conversation's data, or "person.<name>.<field>" / "measure.<kind>" from the database)
FREE_TEXT_FORMS = [
    ("member_sex", _at_member_sex, "P", {"data.m.sex": "F"}),
    ("member_sex", _at_member_sex, "l", {"data.m.sex": "M"}),
    ("member_sex", _at_member_sex, "Perempuan.", {"data.m.sex": "F"}),
    ("member_sex", _at_member_sex, "wanita", {"data.m.sex": "F"}),
    ("member_birth", _at_member_birth, "lahir 12 Maret 1996", {"data.m.birth": "1996-03-12"}),
    ("member_birth", _at_member_birth, "tgl 12-03-1996", {"data.m.birth": "1996-03-12"}),
    ("member_birth", _at_member_birth, "12031996", {"data.m.birth": "1996-03-12"}),
    ("member_birth", _at_member_birth, "67 tahun", {"person.Ni Made Sari.birth_precision": "age"}),
    ("member_age", _at_member_age, "sekitar 70-an", {"person.Ni Made Sari.birth_precision": "age",
                                                     "person.Ni Made Sari.birth_date": "1951-05-23"}),
    ("member_pregnant", _at_pregnant, "iya", {"step": "pregnancy_kind"}),
    ("member_pregnant", _at_pregnant, "Ya", {"step": "pregnancy_kind"}),
    ("member_pregnant", _at_pregnant, "gak", {"person.Ni Made Sari.hpht": None}),
    ("pregnancy_kind", _at_pregnancy_kind, "hpht", {"step": "pregnancy_value", "data.pregnancy_kind": "hpht"}),
    ("pregnancy_kind", _at_pregnancy_kind, "HPL", {"step": "pregnancy_value", "data.pregnancy_kind": "due"}),
    ("pregnancy_kind", _at_pregnancy_kind, "20 minggu", {"person.Ni Made Sari.hpht": _hpht(20)}),
    ("pregnancy_kind", _at_pregnancy_kind, "24", {"person.Ni Made Sari.hpht": _hpht(24)}),
    ("pregnancy_kind", _at_pregnancy_kind, "5-08-2026", {"person.Ni Made Sari.hpht": "2026-08-05"}),
    ("pregnancy_kind", _at_pregnancy_kind, "14 Mei 2027", {"person.Ni Made Sari.due_date": "2027-05-14"}),
    ("pregnancy_value", _at_pregnancy_weeks, "24", {"person.Ni Made Sari.hpht": _hpht(24)}),
    ("pregnancy_value", _at_pregnancy_weeks, "20 mgg", {"person.Ni Made Sari.hpht": _hpht(20)}),
    ("pregnancy_value", _at_pregnancy_weeks, "hamil 20 minggu 3 hari", {"person.Ni Made Sari.hpht": _hpht(20, 3)}),
    ("pregnancy_value", _at_pregnancy_weeks, "5 bulan", {"person.Ni Made Sari.hpht": (TODAY - timedelta(days=152)).isoformat()}),
    ("village", _at_village, "Desa Nagasepha", {"step": "posyandu"}),
    ("village", _at_village, "mawar", {"step": "posyandu"}),
    ("dusun", _at_dusun, "tidak ada", {"step": "rt_rw", "data.dusun": None}),
    ("rt_rw", _at_rt_rw, "RT 03 / RW 02", {"flow": "family", "family.rt": "003", "family.rw": "002"}),
    ("rt_rw", _at_rt_rw, "RT/RW 3/2", {"family.rt": "003", "family.rw": "002"}),
    ("size", _at_size, "8,9 kg 72,5 cm", {"data.v.weight_kg": 8.9, "data.v.length_cm": 72.5}),
    ("size", _at_size, "bb 8,9 tb 72,5", {"data.v.weight_kg": 8.9, "data.v.length_cm": 72.5, "data.v.measured": "h"}),
    ("size", _at_size, "72,5 cm 8,9 kg", {"data.v.weight_kg": 8.9, "data.v.length_cm": 72.5}),
    ("size", _at_size, "8.9kg/72.5cm l", {"data.v.weight_kg": 8.9, "data.v.measured": "l"}),
    ("size", _at_size, "8,9 kg", {"data.v.weight_kg": 8.9, "data.v.length_cm": None}),
    ("head_arm", _at_head_arm, "lk 46 lila 15", {"data.v.head_cm": 46.0, "data.v.muac_cm": 15.0}),
    ("head_arm", _at_head_arm, "46 cm, 15 cm", {"data.v.head_cm": 46.0, "data.v.muac_cm": 15.0}),
    ("head_arm", _at_head_arm, "tidak diukur", {"data.v.head_cm": None, "data.v.muac_cm": None}),
    ("weight", _at_pregnant_weight, "58,5 kg", {"data.v.weight_kg": 58.5}),
    ("weight", _at_pregnant_weight, "BB 58.5", {"data.v.weight_kg": 58.5}),
    ("bp", _at_bp, "120 / 80 mmHg", {"data.v.sbp": 120, "data.v.dbp": 80}),
    ("bp", _at_bp, "td 120-80", {"data.v.sbp": 120, "data.v.dbp": 80}),
    ("muac", _at_muac, "lila 23,5 cm", {"data.v.muac_cm": 23.5}),
    ("muac", _at_muac, "tidak diukur", {"data.v.muac_cm": None}),
    ("iron", _at_iron, "30 tablet", {"data.v.iron_tablets": 30.0}),
    ("anc", _at_anc, "K4", {"data.v.anc_contact": 4.0}),
    ("anc", _at_anc, "ke-4", {"data.v.anc_contact": 4.0}),
    ("glucose", _at_glucose, "110 mg/dL", {"data.v.glucose": 110.0}),
    ("waist", _at_waist, "80 cm", {"data.v.waist_cm": 80.0}),
    ("confirm", _at_confirm, "ya", {"measure.weight_kg": 6.2, "visit.notes": None}),
    ("confirm", _at_confirm, "Simpan", {"measure.weight_kg": 6.2}),
    ("confirm", _at_confirm, "anak rewel", {"step": "confirm", "data.v.note": "anak rewel"}),
    ("babies", _at_babies, "kembar", {"data.count": 2}),
    ("babies", _at_babies, "2 bayi", {"data.count": 2}),
    ("baby_name", _at_baby_name, "belum ada", {"data.b.name": "Bayi Ni Luh Sari"}),
    ("baby_weight", _at_baby_weight, "3,2 kg", {"person.Putu.birth_weight_g": 3200}),
    ("baby_weight", _at_baby_weight, "3 kg 200 gram", {"person.Putu.birth_weight_g": 3200}),
    ("baby_weight", _at_baby_weight, "berat lahir 3200 gr", {"person.Putu.birth_weight_g": 3200}),
    ("anc_count", _at_anc_count, "2 kali periksa", {"step": "anc_when", "data.anc_n": 2}),
    ("anc_count", _at_anc_count, "belum pernah", {"step": "ptm"}),
    ("anc_when", _at_anc_when, "2 minggu lalu", {"step": "ptm", "record.ANC2": (TODAY - timedelta(days=14)).isoformat()}),
]


async def _found(db, address: str, path: str):
    """The value at ``path`` after the typed answer (see FREE_TEXT_FORMS)."""
    flow, step, data = await _state(db, address)
    head, _sep, rest = path.partition(".")
    if head in ("step", "flow"):
        return {"step": step, "flow": flow}[head]
    if head == "data":
        value = data
        for part in rest.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value
    async with db.read() as session:
        if head == "person":
            name, field = rest.rsplit(".", 1)
            person = (await session.scalars(select(Person).where(Person.name == name))).one()
            value = getattr(person, field)
            return value.isoformat() if isinstance(value, date) else value
        if head == "family":
            family = (await session.scalars(select(Family).where(Family.name == "Wayan Sudarma"))).one()
            return getattr(family, rest)
        if head == "measure":
            return await session.scalar(select(Measurement.value).where(Measurement.kind == rest))
        if head == "visit":
            return await session.scalar(select(getattr(Visit, rest)))
        if head == "record":
            done = await session.scalar(select(CareRecord.done_on).where(CareRecord.code == rest))
            return done.isoformat() if done else None
    raise AssertionError(path)


@pytest.mark.parametrize(("step", "reach", "typed", "expected"), FREE_TEXT_FORMS,
                         ids=[f"{row[0]}: {row[2]}" for row in FREE_TEXT_FORMS])
async def test_free_text_as_people_type_it(engine, demo_db, step, reach, typed, expected):
    address = f"typed-{next(_ids)}"
    chat = await reach(engine, demo_db, address)
    _flow, at, _data = await _state(demo_db, address)
    assert at == step, f"the script reached {at}, not {step}: {chat.text[:300]}"
    await chat.say(typed)
    found = {path: await _found(demo_db, address, path) for path in expected}
    assert found == expected, chat.text[:400]
