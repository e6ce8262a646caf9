"""A kader logs a visit (``/kunjungan``): family, member, place, then only the questions that fit the
member's stage; a confirmation with the z-scores, the Permenkes labels, the N/T/2T judgement and the
flags that need a referral; then it is saved. ``catat`` (``handlers.fast_entry``) logs the same
visit in one line. ``/urung`` removes the kader's last visit within 30 minutes.

What a visit records (care records through ``db.history.record``, source ``kader``, tied to the
visit): the doses given (today, or on an earlier date: a day, a month, or "sudah" when nobody
remembers; read with the one dose vocabulary, ``care.vocabulary``), the month's weighing of a
child, ANC contacts, iron tablets, the SKILAS result, an adult's PTM screening, and the services
picked at the services question: the ones due or late for the member today that have no
question of their own (KN, KF, vitamin A, deworming, SDIDTK, a girl's weekly iron tablet). That
question is asked only when something is due.

Checks before saving (``care.plausibility``): a child's weight or length beyond the WHO flag
limits is refused at once with the likely slip named ("82 kg? Mungkin 8,2 kg"); values that are
only unusual, and doses given too early, too soon after the previous one, out of order or again,
are shown at the confirmation and saved only when the kader confirms. A second entry for the same
person on the same day updates that day's visit (one weighing per day), and the N/T judgement
compares with earlier days only.

After saving, each flag (stunting, wasting, underweight, 2T, KEK, high blood pressure, SKILAS
positive, a danger sign marked at the confirmation or with ``bahaya`` in ``catat``) opens a
referral (``handlers.referrals.open_referrals``); the kader reads which ones and whether the family
was told by chat or must be told in person.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import delete, select, update

from care.dates import age_months as completed_months
from care.growth import (
    CATEGORY_LABELS,
    WEIGHT_GAIN_LABELS,
    age_in_days,
    category,
    weight_gain_status,
    zscores,
)
from care.history import DAY, MONTH, UNKNOWN, TTD_HAMIL, PersonHistory, anc_code, month_date, unknown_dose_date
from care.immunization import CATCH_UP, DUE, INVALID, dose_states
from care.plausibility import Concern, Refusal, check_adult, check_child, check_doses, impossible_size
from care.labels import DOSE_LABELS, SERVICE_LABELS, SERVICE_STATE_LABELS
from care.rules_file import load_schedule
from care.services import DUE as SERVICE_DUE
from care.services import OVERDUE, services_due
from care.stages import NEWBORN_DAYS, NIFAS_DAYS, add_months, age_months, is_pregnant
from care.vocabulary import resolve
from content.i18n import N_, _, format_date, format_number
from db.history import history, record
from db.models import CareRecord, Family, Measurement, Outbox, Person, Referral, Visit
from db.queries import family_members
from handlers.chart_view import say_chart
from handlers.describe import age_text, sex_label
from handlers.fast_entry import DANGER_MAX, IRON, VITAMIN_A, FastEntryError, ServiceWordError, parse_fast_entry, read_services
from handlers.flow import END, KADER, Answer, Ctx, Flow, Goto, Invalid, Next, Question, Step
from handlers.kader import audit, family_in_scope, is_kader, normal_family_code
from handlers.parsing import (
    SKIP_WORDS,
    DoseTextError,
    ParseError,
    Slot,
    dose_entries,
    normalize,
    parse_blood_pressure,
    parse_lot,
    parse_when,
    read_values,
)
from handlers.referrals import OPEN, open_referrals, reason_label

UNDO_MINUTES = 30
CHILD_MONTHS = 60
MEASURE_KINDS = ("weight_kg", "length_cm", "head_cm", "muac_cm", "sbp", "dbp", "glucose", "waist_cm")
PTM_MEASURES = ("sbp", "glucose", "waist_cm")
NOTE_MAX = 500
_NUMBER = re.compile(r"^\d{1,3}([.,]\d{1,2})?$")

#: Services offered at the services question, with their button labels (at most 20 characters);
#: the weighing, ANC, pregnancy iron tablets, PTM screening and SKILAS have questions of their own.
SERVICE_BUTTONS: dict[str, str] = {
    "KN1": N_("Kunjungan neonatal 1"), "KN2": N_("Kunjungan neonatal 2"), "KN3": N_("Kunjungan neonatal 3"),
    "KF1": N_("Kunjungan nifas 1"), "KF2": N_("Kunjungan nifas 2"), "KF3": N_("Kunjungan nifas 3"),
    "KF4": N_("Kunjungan nifas 4"),
    "VITA_NIFAS1": N_("Vitamin A nifas 1"), "VITA_NIFAS2": N_("Vitamin A nifas 2"),
    "VITA_BIRU": N_("Vitamin A biru"), "VITA_MERAH": N_("Vitamin A merah"),
    "OBAT_CACING": N_("Obat cacing"), "SDIDTK": N_("SDIDTK"), "TTD_REMAJA": N_("TTD remaja"),
}
#: How a service picked or typed is shown in the visit's summary (the offered ones, and TTD_HAMIL).
SERVICE_SHORT: dict[str, str] = {**SERVICE_BUTTONS, TTD_HAMIL: N_("TTD ibu hamil")}
VITAMIN_A_CODES = ("VITA_BIRU", "VITA_MERAH", "VITA_NIFAS1", "VITA_NIFAS2")


class Refused(Exception):
    """Something typed cannot be recorded; ``hint`` says why (translated)."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


# -- what kind of member, and which questions ---------------------------------------------------------

def in_nifas(person: Person, on: date) -> bool:
    """Whether a woman gave birth 0-42 days before ``on``."""
    return person.delivered_on is not None and 0 <= (on - person.delivered_on).days <= NIFAS_DAYS


def member_kind(person: Person, on: date) -> str:
    """``child`` (under five), ``pregnant``, ``nifas`` (0-42 days after a birth), ``elderly`` (60+) or
    ``adult``, for the questions to ask."""
    if person.birth_date and age_months(person.birth_date, on) < CHILD_MONTHS:
        return "child"
    if is_pregnant(person.hpht, on, person.delivered_on):
        return "pregnant"
    if in_nifas(person, on):
        return "nifas"
    if person.birth_date and age_months(person.birth_date, on) >= 60 * 12:
        return "elderly"
    return "adult"


#: The questions per kind of member; ``services`` is skipped when nothing is due; a note and a
#: danger sign can be added at the confirmation.
QUESTIONS = {
    "child": ("size", "head_arm", "services", "doses", "lot"),
    "pregnant": ("weight", "bp", "muac", "iron", "anc", "services"),
    "nifas": ("bp", "services"),
    "adult": ("bp", "glucose", "waist", "services"),
    "elderly": ("bp", "glucose", "waist", "skilas", "services"),
}


def parse_number(text: str, low: float, high: float) -> float:
    """A number typed with a decimal comma or point, within [low, high]; Invalid otherwise."""
    t = text.strip().replace(" ", "")
    if not _NUMBER.match(t):
        raise Invalid(_("Tulis angka saja, misalnya 7,2 atau 7.2"))
    return in_range(float(t.replace(",", ".")), low, high)


def in_range(value: float, low: float, high: float) -> float:
    """``value`` when it lies within [low, high]; Invalid otherwise."""
    if not low <= value <= high:
        raise Invalid(_("Angka itu di luar batas ({low} sampai {high}). Periksa lagi.", low=format_number(low), high=format_number(high)))
    return value


_KG = (("kg", 1.0), ("kilo", 1.0), ("kilogram", 1.0), ("g", 0.001), ("gr", 0.001), ("gram", 0.001))
_CM = (("cm", 1.0),)
#: How each measurement may be typed: the words that name it before the number, its units after it
#: (``bb 8,9 kg``, ``lila 23,5 cm``, ``gds 140 mg/dL``, ``30 tablet``, ``anc ke-4``, ``K4``).
SLOTS = {
    "weight_kg": Slot("weight_kg", frozenset({"bb", "berat", "b", "weight", "wt"}), _KG),
    "length_cm": Slot("length_cm", frozenset({"tb", "pb", "tinggi", "panjang", "t", "p", "length", "height"}), _CM),
    "head_cm": Slot("head_cm", frozenset({"lk", "kepala", "head", "hc"}), _CM),
    "muac_cm": Slot("muac_cm", frozenset({"lila", "lla", "lengan", "muac", "arm"}), _CM),
    "glucose": Slot("glucose", frozenset({"gd", "gds", "gdp", "gula", "glukosa", "glucose", "sugar"}),
                    (("mg", 1.0), ("dl", 1.0), ("mgdl", 1.0))),
    "waist_cm": Slot("waist_cm", frozenset({"lp", "perut", "pinggang", "waist"}), _CM),
    "iron_tablets": Slot("iron_tablets", frozenset({"ttd", "fe", "tablet"}),
                         (("tablet", 1.0), ("tablets", 1.0), ("tab", 1.0), ("butir", 1.0), ("biji", 1.0), ("pil", 1.0))),
    "anc_contact": Slot("anc_contact", frozenset({"anc", "k", "ke", "kunjungan", "pemeriksaan"}), ()),
}
#: Words around the numbers that say nothing more ("lingkar lengan atas 23,5 cm", "gula darah 110").
MEASURE_FILLERS = frozenset({"lingkar", "atas", "badan", "darah", "sewaktu", "kehamilan", "hamil", "periksa", "yang", "ke",
                             "diberikan", "diberi", "sebanyak", "ada", "sudah", "dan", "and", "nya"})
#: The marks of how a child's length was measured.
SIZE_MARKS = {"l": "l", "berbaring": "l", "baring": "l", "terlentang": "l", "telentang": "l", "tidur": "l",
              "h": "h", "berdiri": "h", "tegak": "h"}
#: Whole numbers: tablets and the check-up's number.
WHOLE = frozenset({"iron_tablets", "anc_contact"})
#: An example of each measurement as a hint shows it.
EXAMPLES = {"weight_kg": (58.5, "kg"), "muac_cm": (23.5, "cm"), "iron_tablets": (30, ""),
            "anc_contact": (4, ""), "glucose": (110, "mg/dL"), "waist_cm": (80, "cm")}


def _example(key: str) -> str:
    number, unit = EXAMPLES[key]
    return f"{format_number(number)} {unit}".strip()


def read_measure(text: str, key: str, low: float, high: float) -> float:
    """One measurement typed with or without its label and unit (``58,5``, ``58,5 kg``, ``bb 58,5``,
    ``lila 23,5 cm``, ``K4``), within [low, high]; Invalid with an example otherwise."""
    try:
        found = read_values(text, (SLOTS[key],), fillers=MEASURE_FILLERS)
    except ParseError:
        found = None
    value = found.values.get(key) if found else None
    if value is None or (key in WHOLE and not float(value).is_integer()):
        if key in WHOLE:
            raise Invalid(_("Tulis bilangan bulat, misalnya {example}.", example=_example(key)))
        raise Invalid(_("Tulis angkanya, misalnya {example}.", example=_example(key)))
    return in_range(value, low, high)


# -- finding the family and the member --------------------------------------------------------------

TODAY_LIST = 8


async def todays_families(ctx: Ctx) -> list[Family]:
    """Families of the posyandu with a child under five or a pregnancy, not yet visited today."""
    visited = select(Person.family_id).join(Visit, Visit.person_id == Person.id).where(Visit.visited_on == ctx.today)
    young = add_months(ctx.today, -CHILD_MONTHS)
    targets = select(Person.family_id).where((Person.birth_date > young) | (Person.hpht.is_not(None) & Person.delivered_on.is_(None)))
    return list(await ctx.session.scalars(
        select(Family).where(Family.posyandu_id == ctx.identity.posyandu_id, Family.id.in_(targets), Family.id.not_in(visited))
        .order_by(Family.dusun, Family.name).limit(TODAY_LIST)
    ))


async def ask_family(ctx: Ctx) -> Question:
    choices = tuple((f"{f.name} ({f.code})", str(f.id)) for f in await todays_families(ctx))
    return Question(_("Keluarga mana? Ketik kode keluarga (K-XXXXXX) atau nama kepala keluarga, atau pilih dari sasaran hari ini:"), choices)


async def on_family(ctx: Ctx, answer: Answer) -> Next:
    """Stores the family found in the kader's own posyandu; asks which member next."""
    text = answer.text.strip()
    if answer.choice and answer.choice.isdecimal():
        family = await ctx.session.get(Family, int(answer.choice))
        if family is None or family.posyandu_id != ctx.identity.posyandu_id:
            raise Invalid(_("Pilih keluarga dari daftar."))
    elif normal_family_code(text):
        family = await family_in_scope(ctx, text)
        if family is None:
            raise Invalid(_("Tidak ada keluarga dengan kode itu di posyandu Bapak/Ibu."))
    else:
        name = re.sub(r"^(?:keluarga|kel\.?|family|bapak|bpk\.?|pak|ibu|bu)\s+", "", normalize(text))
        if len(name) < 3:
            raise Invalid(_("Ketik kode keluarga atau paling sedikit 3 huruf nama."))
        pattern = "%" + name.replace("%", "").replace("_", "") + "%"
        rows = list(await ctx.session.scalars(
            select(Family).where(Family.posyandu_id == ctx.identity.posyandu_id, Family.name.ilike(pattern)).order_by(Family.name).limit(9)
        ))
        if not rows:
            raise Invalid(_("Tidak ada keluarga bernama \u201c{text}\u201d di posyandu Bapak/Ibu.", text=text[:40]))
        if len(rows) > 1:
            ctx.data["family_matches"] = [f.id for f in rows]
            return "family_pick"
        family = rows[0]
    ctx.data["v"] = {"family_id": family.id}
    audit(ctx, "family.opened", "family", family.id)
    return "member"


async def ask_family_pick(ctx: Ctx) -> Question:
    rows = list(await ctx.session.scalars(select(Family).where(Family.id.in_(ctx.data.get("family_matches", [])))))
    return Question(_("Pilih keluarga:"), tuple((f"{f.name} ({f.code})", str(f.id)) for f in rows))


async def on_family_pick(ctx: Ctx, answer: Answer) -> Next:
    """Stores the picked family; asks which member next."""
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in ctx.data.get("family_matches", [])):
        raise Invalid(_("Pilih keluarga dari daftar."))
    ctx.data["v"] = {"family_id": int(answer.choice)}
    audit(ctx, "family.opened", "family", int(answer.choice))
    return "member"


async def _member(ctx: Ctx) -> Person:
    person = await ctx.session.get(Person, ctx.data["v"]["person_id"])
    if person is None or person.family_id != ctx.data["v"]["family_id"]:
        raise Invalid(_("Anggota tidak ditemukan. Ketik batal lalu mulai lagi."))
    return person


async def ask_member(ctx: Ctx) -> Question:
    members = await family_members(ctx.session, ctx.data["v"]["family_id"])
    return Question(
        _("Siapa yang dikunjungi?"),
        tuple((f"{m.name} ({age_text(m.birth_date, ctx.today, m.birth_precision)})" if m.birth_date else m.name, str(m.id)) for m in members),
    )


async def on_member(ctx: Ctx, answer: Answer) -> Next:
    """Stores the member; asks the place next."""
    members = {m.id: m for m in await family_members(ctx.session, ctx.data["v"]["family_id"])}
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in members):
        raise Invalid(_("Pilih anggota dari daftar."))
    person = members[int(answer.choice)]
    ctx.data["v"].update(person_id=person.id, kind=member_kind(person, ctx.today))
    return "place"


async def ask_place(ctx: Ctx) -> Question:
    return Question(_("Di mana kunjungannya?"), ((_("Posyandu"), "posyandu"), (_("Kunjungan rumah"), "home")))


async def on_place(ctx: Ctx, answer: Answer) -> Next:
    """Stores the place; asks the first measurement that fits the member next."""
    if answer.choice not in ("posyandu", "home"):
        raise Invalid(_("Pilih Posyandu atau Kunjungan rumah."))
    ctx.data["v"]["place"] = answer.choice
    return await _next(ctx, None)


async def _next(ctx: Ctx, step: str | None) -> str:
    """The next question for this member after ``step`` (the first one for None); the services
    question only when something is due (what is offered is kept with the draft)."""
    v = ctx.data["v"]
    order = QUESTIONS[v["kind"]]
    index = -1 if step is None else order.index(step)
    for name in order[index + 1:]:
        if name == "services":
            person = await _member(ctx)
            v["offer"] = await offered_services(ctx, person, v["kind"], await history(ctx.session, person.id))
            if not v["offer"]:
                continue
        if name == "lot" and (not ctx.settings.satusehat.enabled or _lot_pending(v) is None):
            continue
        return name
    return "confirm"


# -- measurements ---------------------------------------------------------------------------------

STEP_OF_KEY = {"weight_kg": "weight", "muac_cm": "muac", "glucose": "glucose",
               "waist_cm": "waist", "iron_tablets": "iron", "anc_contact": "anc"}


def _measure(key: str, low: float, high: float, question: str, *, optional: bool = False):
    """A step that stores one number (``-`` skips an optional one)."""

    async def ask(ctx: Ctx) -> Question:
        return Question(_(question) + ("\n" + _("Ketik - jika tidak diukur.") if optional else ""))

    async def answer(ctx: Ctx, reply: Answer) -> Next:
        if optional and normalize(reply.text).strip(" .!") in SKIP_WORDS:
            ctx.data["v"][key] = None
        else:
            ctx.data["v"][key] = read_measure(reply.text, key, low, high)
        return await _next(ctx, STEP_OF_KEY[key])

    answer.__doc__ = f"Stores {key}; asks the next question that fits the member."
    return Step(ask, answer)


def _sex(person: Person) -> int:
    """The WHO sex code: 1 boy, 2 girl."""
    return 1 if person.sex == "M" else 2


def refusal_text(person: Person, refusal: Refusal, on: date) -> str:
    """Why a child's size cannot be true, naming the likely value meant."""
    age = age_text(person.birth_date, on, person.birth_precision)
    if refusal.measure == "weight_kg" and refusal.suggestion is not None:
        return _("{value} kg? Mungkin {suggestion} kg. Berat itu tidak mungkin untuk umur {age}; periksa dan tulis lagi.",
                 value=format_number(refusal.value, 2), suggestion=format_number(refusal.suggestion, 2), age=age)
    if refusal.measure == "length_cm" and refusal.suggestion is not None:
        return _("{value} cm? Mungkin {suggestion} cm. Panjang/tinggi itu tidak mungkin untuk umur {age}; periksa dan tulis lagi.",
                 value=format_number(refusal.value, 1), suggestion=format_number(refusal.suggestion, 1), age=age)
    if refusal.measure == "weight_kg":
        return _("Berat {value} kg tidak mungkin untuk umur {age}. Periksa timbangan dan tulis lagi.",
                 value=format_number(refusal.value, 2), age=age)
    if refusal.measure == "length_cm":
        return _("Panjang/tinggi {value} cm tidak mungkin untuk umur {age}. Ukur ulang dan tulis lagi.",
                 value=format_number(refusal.value, 1), age=age)
    return _("Berat dan panjang/tinggi itu tidak mungkin untuk umur {age}. Periksa keduanya dan tulis lagi.", age=age)


def size_refusal(person: Person, v: dict, on: date) -> str | None:
    """Why the weight or length of a child's draft cannot be true, or None (``care.plausibility``)."""
    if v.get("kind") != "child" or not person.birth_date or (v.get("weight_kg") is None and v.get("length_cm") is None):
        return None
    refusal = impossible_size(_sex(person), person.birth_date, on, weight_kg=v.get("weight_kg"),
                              length_cm=v.get("length_cm"), measured=v.get("measured"))
    return refusal_text(person, refusal, on) if refusal else None


#: The shortest length or height a child's visit takes (cm): a lone number below it can only be a weight.
MIN_LENGTH_CM = 40


def _only_a_weight(values: dict) -> bool:
    """Whether a lone unlabelled number (``7,2``: the length was not measured) can only be the weight."""
    return set(values) == {"weight_kg"} and values["weight_kg"] is not None and values["weight_kg"] < MIN_LENGTH_CM


async def ask_size(ctx: Ctx) -> Question:
    person = await _member(ctx)
    lying = person.birth_date is None or age_months(person.birth_date, ctx.today) < 24
    how = _("berbaring (panjang badan)") if lying else _("berdiri (tinggi badan)")
    return Question(_("Berat (kg) dan panjang/tinggi (cm)? Contoh: 8,2 71. Diukur {how}; tambahkan l (berbaring) "
                      "atau h (berdiri) jika lain. Ketik - untuk yang tidak diukur.", how=how))


async def on_size(ctx: Ctx, answer: Answer) -> Next:
    """Stores weight, length or height and how it was measured (refusing what cannot be true);
    asks the next question. ``8,2 71``, ``8,9 kg 72,5 cm``, ``bb 8,9 tb 72,5``, ``72,5 cm 8,9 kg``,
    ``8,2 71 l``; one value when its label or unit says which (``bb 8,2``, ``8,2 kg``), or when it can only
    be a weight (``7,2``: below the shortest length)."""
    two = _("Tulis dua angka: berat lalu panjang/tinggi, misalnya 8,2 71 atau 8,2 kg 71 cm (atau - untuk yang tidak diukur).")
    if normalize(answer.text).strip(" .!") in SKIP_WORDS:
        raise Invalid(two)
    try:
        found = read_values(answer.text, (SLOTS["weight_kg"], SLOTS["length_cm"]), marks=SIZE_MARKS, fillers=MEASURE_FILLERS)
    except ParseError:
        raise Invalid(two) from None
    if len(found.values) < 2 and not found.named_by and not _only_a_weight(found.values):
        raise Invalid(two)
    weight, length = found.values.get("weight_kg"), found.values.get("length_cm")
    if weight is None and length is None:
        raise Invalid(two)
    if weight is not None:
        in_range(weight, 0.01, 999)
    if length is not None:
        in_range(length, 0.1, 999)
    named = {"pb": "l", "p": "l", "panjang": "l", "length": "l", "tb": "h", "t": "h", "tinggi": "h", "height": "h"}
    measured = found.marks[-1] if found.marks else named.get(found.named_by.get("length_cm", ""))
    person = await _member(ctx)
    default = "l" if person.birth_date is None or age_months(person.birth_date, ctx.today) < 24 else "h"
    size = {"kind": "child", "weight_kg": weight, "length_cm": length, "measured": (measured or default) if length else None}
    if (why := size_refusal(person, size, ctx.today)) is not None:
        raise Invalid(why)
    if weight is not None:
        in_range(weight, 0.5, 60)
    if length is not None:
        in_range(length, MIN_LENGTH_CM, 130)
    ctx.data["v"].update(weight_kg=weight, length_cm=length, measured=size["measured"])
    return await _next(ctx, "size")


async def ask_head_arm(ctx: Ctx) -> Question:
    return Question(_("Lingkar kepala dan LILA (cm)? Contoh: 42 14. Ketik - untuk yang tidak diukur."))


async def on_head_arm(ctx: Ctx, answer: Answer) -> Next:
    """Stores head circumference and MUAC (either may be -); asks the next question. ``42 14``,
    ``42 cm 14 cm``, ``lk 42 lila 14``, ``lila 14`` (head not measured), ``42`` (the head only)."""
    if normalize(answer.text).strip(" .!") in SKIP_WORDS:
        ctx.data["v"].update(head_cm=None, muac_cm=None)
        return await _next(ctx, "head_arm")
    try:
        found = read_values(answer.text, (SLOTS["head_cm"], SLOTS["muac_cm"]), fillers=MEASURE_FILLERS)
    except ParseError:
        raise Invalid(_("Tulis dua angka: lingkar kepala lalu LILA, misalnya 42 14 (atau -).")) from None
    head, arm = found.values.get("head_cm"), found.values.get("muac_cm")
    ctx.data["v"].update(head_cm=None if head is None else in_range(head, 25, 60),
                         muac_cm=None if arm is None else in_range(arm, 8, 30))
    return await _next(ctx, "head_arm")


async def ask_bp(ctx: Ctx) -> Question:
    return Question(_("Tekanan darah? Contoh: 120/80. Ketik - jika tidak diukur."))


async def on_bp(ctx: Ctx, answer: Answer) -> Next:
    """Stores the blood pressure (``120/80``, ``120 / 80 mmHg``, ``td 120/80``, ``120-80``); asks the next question."""
    if normalize(answer.text).strip(" .!") in SKIP_WORDS:
        ctx.data["v"].update(sbp=None, dbp=None)
        return await _next(ctx, "bp")
    try:
        sbp, dbp = parse_blood_pressure(answer.text)
    except ParseError:
        raise Invalid(_("Tulis tekanan darah seperti 120/80.")) from None
    if not (60 <= sbp <= 260 and 30 <= dbp <= 160 and dbp < sbp):
        raise Invalid(_("Tekanan darah {sbp}/{dbp} tidak mungkin. Periksa lagi.", sbp=sbp, dbp=dbp))
    ctx.data["v"].update(sbp=sbp, dbp=dbp)
    return await _next(ctx, "bp")


async def ask_skilas(ctx: Ctx) -> Question:
    return Question(
        _("Skrining lansia (SKILAS): ingatan, gerak (5 kali berdiri dari kursi dalam 14 detik), gizi (berat turun "
          "lebih dari 3 kg dalam 3 bulan atau LILA < 21 cm), penglihatan, pendengaran, suasana hati. Hasilnya?"),
        ((_("Semua normal"), "normal"), (_("Ada yang positif"), "positive"), (_("Tidak diperiksa"), "skip")),
    )


async def on_skilas(ctx: Ctx, answer: Answer) -> Next:
    """Stores the SKILAS result; asks the next question."""
    if answer.choice not in ("normal", "positive", "skip"):
        raise Invalid(_("Pilih Semua normal, Ada yang positif, atau Tidak diperiksa."))
    ctx.data["v"]["skilas_positive"] = None if answer.choice == "skip" else float(answer.choice == "positive")
    return await _next(ctx, "skilas")


# -- services ---------------------------------------------------------------------------------------

async def offered_services(ctx: Ctx, person: Person, kind: str, record: PersonHistory) -> list[list[str]]:
    """[code, state] of the services due or late for the member today that the services question
    offers (``SERVICE_BUTTONS``), in the order of ``care.services.services_due``."""
    due = services_due(ctx.today, sex=person.sex, birth=person.birth_date, hpht=person.hpht,
                       delivered_on=person.delivered_on, history=record.services, schedule=ctx.schedule)
    return [[s.code, s.state] for s in due
            if s.state in (SERVICE_DUE, OVERDUE) and s.code in SERVICE_BUTTONS
            and not (s.code == "TTD_REMAJA" and kind == "pregnant")]


async def ask_services(ctx: Ctx) -> Question:
    offer = ctx.data["v"].get("offer") or []
    lines = [f"{n}. {_(SERVICE_LABELS[code])} \u2013 {_(SERVICE_STATE_LABELS[state])}" for n, (code, state) in enumerate(offer, 1)]
    return Question(
        _("Layanan yang diberikan hari ini? Pilih satu, atau ketik nomornya jika lebih dari satu (misalnya 1 2):")
        + "\n" + "\n".join(lines),
        tuple((_(SERVICE_BUTTONS[code]), code) for code, _state in offer) + ((_("Semua"), "all"), (_("Tidak ada"), "none")),
    )


def _picked_services(text: str, offer: list[str]) -> list[str]:
    """The offered services named in ``text`` by their numbers (``1 3``) or words (``oc sdidtk``)."""
    words = [w for w in re.split(r"[\s,;+.]+", text.strip()) if w]
    if words and all(w.isdecimal() for w in words):
        picked = []
        for word in words:
            if not 1 <= int(word) <= len(offer):
                raise Invalid(_("Nomor {number} tidak ada dalam daftar.", number=word[:4]))
            picked.append(offer[int(word) - 1])
        return picked
    try:
        codes = read_services(text)
    except ServiceWordError as err:
        raise Invalid(f"\u201c{err.word}\u201d: " + _("Pilih dari daftar, atau ketik nomornya (misalnya 1 2).")) from None
    picked = []
    for code in codes:
        if code == VITAMIN_A:
            code = next((c for c in offer if c in VITAMIN_A_CODES), code)
        elif code == IRON:
            code = "TTD_REMAJA"
        if code not in offer:
            name = _(SERVICE_SHORT[code]) if code in SERVICE_SHORT else _("vitamin A")
            raise Invalid(_("{service} tidak ada dalam daftar hari ini.", service=name))
        picked.append(code)
    return picked


async def on_services(ctx: Ctx, answer: Answer) -> Next:
    """Stores the services given; asks the next question."""
    v = ctx.data["v"]
    offer = [code for code, _state in v.get("offer") or []]
    if answer.choice == "none":
        picked = []
    elif answer.choice == "all":
        picked = offer
    elif answer.choice is not None:
        if answer.choice not in offer:
            raise Invalid(_("Pilih dari daftar, atau ketik nomornya (misalnya 1 2)."))
        picked = [answer.choice]
    else:
        picked = _picked_services(answer.text, offer)
    v["services"] = [code for code in offer if code in picked]
    return await _next(ctx, "services")


# -- doses ------------------------------------------------------------------------------------------

async def _due_doses(ctx: Ctx, person: Person) -> list[str]:
    """The doses due or late for a child today, in schedule order."""
    record = await history(ctx.session, person.id)
    states = dose_states(person.birth_date, record.given, ctx.today, je=ctx.settings.care.je, schedule=ctx.schedule,
                         approximate=record.approximate)
    return [code for code, s in states.items() if s.state in (DUE, CATCH_UP, INVALID)]


def when_given(code: str, when: str, person: Person, today: date, schedule) -> tuple[date, str]:
    """(date, precision) of a dose given ``when`` (as typed; ``""`` is today); Refused for a date
    that cannot be read, lies in the future or before the birth."""
    dose = _(DOSE_LABELS[code])
    birth = person.birth_date
    if not when:
        return today, DAY
    try:
        precision, day = parse_when(when, today)
    except ParseError:
        raise Refused(f"\u201c{when[:30]}\u201d: " + _(FAST_ERRORS["dose_date"])) from None
    if precision == UNKNOWN:
        if birth is None:
            return today, UNKNOWN
        return unknown_dose_date(code, birth, today, schedule), UNKNOWN
    if precision == MONTH:
        shown = format_date(day, "MMMM y")
        try:
            return month_date(day.year, day.month, today, birth), MONTH
        except ValueError as err:
            if str(err) == "future":
                raise Refused(_("{dose}: {date} belum lewat. Tulis tanggal yang sudah lewat.", dose=dose, date=shown)) from None
            raise Refused(_("{dose}: {date} sebelum {name} lahir ({birth}).", dose=dose, date=shown, name=person.name,
                            birth=format_date(birth, "short"))) from None
    if day > today:
        raise Refused(_("{dose}: {date} belum lewat. Tulis tanggal yang sudah lewat.", dose=dose, date=format_date(day, "short")))
    if birth is not None and day < birth:
        raise Refused(_("{dose}: {date} sebelum {name} lahir ({birth}).", dose=dose, date=format_date(day, "short"),
                        name=person.name, birth=format_date(birth, "short")))
    return day, DAY


def dated_doses(groups: list[tuple[tuple[str, ...], str]], person: Person, record: PersonHistory, today: date,
                schedule) -> tuple[list[str], dict[str, list[str]]]:
    """The doses of some groups (``handlers.parsing.dose_entries``) resolved against the person's
    record (``pcv`` is the next PCV not recorded), and the dates of those not given today:
    (codes in schedule order, {code: [ISO date, precision]})."""
    taken = set(record.given)
    codes: list[str] = []
    dates: dict[str, list[str]] = {}
    for group, when in groups:
        for code in resolve(group, taken | set(codes)):
            if code in codes:
                continue
            day, precision = when_given(code, when, person, today, schedule)
            codes.append(code)
            if (day, precision) != (today, DAY):
                dates[code] = [day.isoformat(), precision]
    order = list(DOSE_LABELS)
    return sorted(codes, key=order.index), dates


async def ask_doses(ctx: Ctx) -> Question:
    person = await _member(ctx)
    due = await _due_doses(ctx, person)
    earlier = _("Diberikan di hari lain? Tulis tanggalnya setelah kodenya: dpt1 12-10-2026, pcv1 okt 2026, bcg sudah.")
    if due:
        names = ", ".join(_(DOSE_LABELS[c]) for c in due)
        return Question(
            _("Imunisasi yang diberikan hari ini? Sudah waktunya: {due}.\nKetik kodenya (misalnya dpt1 pcv1), atau pilih:", due=names)
            + "\n" + earlier,
            ((_("Semua yang waktunya"), "all"), (_("Tidak ada"), "none")),
        )
    return Question(_("Imunisasi yang diberikan hari ini? Ketik kodenya (misalnya mr1), atau pilih:") + "\n" + earlier,
                    ((_("Tidak ada"), "none"),))


def _dose_text_hint(err: DoseTextError) -> str:
    """The hint for dose text that could not be read."""
    if err.code == "dose_date":
        return f"\u201c{err.part}\u201d: " + _(FAST_ERRORS["dose_date"])
    return _("Imunisasi \u201c{word}\u201d tidak dikenal. Contoh: dpt1 pcv1 opv2 rv1 mr1 bcg", word=err.part[:20])


async def on_doses(ctx: Ctx, answer: Answer) -> Next:
    """Stores the doses given today or on the dates typed; asks the next question."""
    person = await _member(ctx)
    dates: dict[str, list[str]] = {}
    if answer.choice == "none":
        doses = []
    elif answer.choice == "all":
        doses = await _due_doses(ctx, person)
    elif answer.choice is not None:
        raise Invalid(_("Ketik kode imunisasi, atau pilih dari daftar."))
    else:
        try:
            groups = dose_entries(answer.text)
            doses, dates = dated_doses(groups, person, await history(ctx.session, person.id), ctx.today, ctx.schedule)
        except DoseTextError as err:
            raise Invalid(_dose_text_hint(err)) from None
        except Refused as err:
            raise Invalid(err.hint) from None
    ctx.data["v"]["doses"] = doses
    ctx.data["v"]["dose_dates"] = dates
    return await _next(ctx, "doses")


# -- a vaccine's lot number and expiry (SATUSEHAT) ---------------------------------------------------
# With SATUSEHAT on, each dose given today at the visit is sent as given by a health worker (primarySource
# true), which needs the vial's lot number and expiry: asked once per dose, optional ("lewati": the dose is
# then held back with its reason, satusehat.rules "no_lot", and shown to staff on /satusehat).

LOT_HINTS = {
    "lot": N_("Tulis nomor batch lalu tanggal kedaluwarsa, misalnya: B1234 06-2027. Atau ketik lewati."),
    "expiry": N_("Tanggal kedaluwarsa tidak terbaca. Contoh: B1234 30-06-2027 atau B1234 06-2027."),
    "expired": N_("Tanggal kedaluwarsa itu sudah lewat. Periksa lagi tulisan di vial, atau ketik lewati."),
}


def _lot_pending(v: dict) -> str | None:
    """The first dose given today (not dated earlier) whose lot was not asked yet."""
    dates, lots = v.get("dose_dates") or {}, v.get("lots") or {}
    return next((code for code in v.get("doses") or () if code not in dates and code not in lots), None)


async def ask_lot(ctx: Ctx) -> Question:
    code = _lot_pending(ctx.data["v"]) or ""
    return Question(_("Nomor batch dan tanggal kedaluwarsa vaksin {dose}? (untuk SATUSEHAT)\n"
                      "Contoh: B1234 06-2027. Ketik lewati bila tidak ada.", dose=_(DOSE_LABELS.get(code, code))),
                    ((_("Lewati"), "skip"),))


async def on_lot(ctx: Ctx, answer: Answer) -> Next:
    """Keeps the dose's lot and expiry (or that it was skipped); asks the next dose's, then goes on."""
    v = ctx.data["v"]
    code = _lot_pending(v)
    if code is None:
        return await _next(ctx, "lot")
    if answer.choice == "skip" or normalize(answer.text) in SKIP_WORDS:
        found = None
    elif answer.choice is not None:
        raise Invalid(_(LOT_HINTS["lot"]))
    else:
        try:
            lot, expiry = parse_lot(answer.text, ctx.today)
        except ParseError as err:
            raise Invalid(_(LOT_HINTS.get(err.code, LOT_HINTS["lot"]))) from None
        found = {"lot": lot, "expiry": expiry.isoformat()}
    v["lots"] = {**(v.get("lots") or {}), code: found}
    return "lot" if _lot_pending(v) is not None else await _next(ctx, "lot")


# -- confirmation, saving, undo ---------------------------------------------------------------------

def _child_scores(person: Person, v: dict, on: date) -> dict | None:
    """The z-scores of a child's draft, None for another member."""
    if v.get("kind") != "child" or not person.birth_date:
        return None
    return zscores(_sex(person), age_in_days(person.birth_date, on), weight_kg=v.get("weight_kg"), length_cm=v.get("length_cm"),
                   measured=v.get("measured"), head_cm=v.get("head_cm"), muac_cm=v.get("muac_cm"))


def _gain(person: Person, v: dict, on: date, weighings: list[tuple[date, float]]) -> str | None:
    """N / T / O / B / 2T of a child's weighing against earlier days' weighings."""
    if v.get("kind") != "child" or not person.birth_date or v.get("weight_kg") is None:
        return None
    return weight_gain_status(_sex(person), person.birth_date, [*weighings, (on, v["weight_kg"])], on)


def _high_bp(v: dict) -> bool:
    return bool(v.get("sbp")) and (v["sbp"] >= 140 or v["dbp"] >= 90)


def assessment(person: Person, v: dict, on: date, weighings: list[tuple[date, float]]) -> tuple[list[str], list[str]]:
    """Lines of results and lines of flags (each with its referral advice) for a visit; ``weighings``
    are the earlier days' (date, kg)."""
    lines, flags = [], []
    z = _child_scores(person, v, on)
    if z is not None:
        names = {"wfa": _("BB/U"), "lhfa": _("PB/U") if v.get("measured") == "l" else _("TB/U"), "wflh": _("BB/PB") if v.get("measured") == "l" else _("BB/TB"),
                 "bfa": _("IMT/U"), "hcfa": _("LK/U"), "acfa": _("LILA/U")}
        for index in ("wfa", "lhfa", "wflh", "bfa", "hcfa", "acfa"):
            value = z.get(index)
            if value is None:
                continue
            code = category(index, value) if index in ("wfa", "lhfa", "wflh", "bfa") else None
            label = f" ({_(CATEGORY_LABELS[code])})" if code else ""
            lines.append(f"{names[index]}: {format_number(value, 2, fixed=True)}{label}")
        if z["flags"]:
            flags.append(_("Nilai tidak wajar ({indexes}): periksa ulang pengukuran.", indexes=", ".join(names[i] for i in sorted(z["flags"]))))
        if z.get("lhfa") is not None and z["lhfa"] < -2:
            flags.append(_("Stunting (pendek): rujuk ke puskesmas."))
        if z.get("wflh") is not None and z["wflh"] < -2:
            flags.append(_("Wasting (gizi kurang/buruk): rujuk ke puskesmas."))
        if z.get("wfa") is not None and z["wfa"] < -2:
            flags.append(_("Berat badan kurang: rujuk ke puskesmas."))
        gain = _gain(person, v, on, weighings)
        if gain:
            lines.append(_("Penimbangan: {gain} ({code})", gain=_(WEIGHT_GAIN_LABELS[gain]), code=gain))
            if gain == "2T":
                flags.append(_("2T (tidak naik dua kali): rujuk ke puskesmas."))
    if v.get("kind") == "pregnant" and v.get("muac_cm") is not None and v["muac_cm"] < 23.5:
        flags.append(_("KEK (LILA < 23,5 cm): beri makanan tambahan dan rujuk ke puskesmas."))
    if v.get("skilas_positive"):
        flags.append(_("SKILAS positif: rujuk ke puskesmas."))
    if _high_bp(v):
        flags.append(_("Tekanan darah tinggi ({sbp}/{dbp}): rujuk ke puskesmas.", sbp=v["sbp"], dbp=v["dbp"]))
    if v.get("danger"):
        flags.append(_("Tanda bahaya ({seen}): rujuk segera ke puskesmas.", seen=v["danger"]))
    return lines, flags


def referral_reasons(person: Person, v: dict, on: date, weighings: list[tuple[date, float]]) -> list[tuple[str, dict | None]]:
    """(reason, detail) of each flag of a visit that opens a referral (``handlers.referrals.REASONS``)."""
    reasons: list[tuple[str, dict | None]] = []
    z = _child_scores(person, v, on)
    if z is not None:
        # the detail names the values as handlers.referrals.detail_text reads them
        size = {"weight_kg": v.get("weight_kg"), "length_cm": v.get("length_cm"), "measured": v.get("measured")}
        for index, reason, keys in (("lhfa", "stunting", ("length_cm", "measured")),
                                    ("wflh", "wasting", ("weight_kg", "length_cm", "measured")),
                                    ("wfa", "underweight", ("weight_kg",))):
            if z.get(index) is not None and z[index] < -2:
                detail = {key: size[key] for key in keys if size[key] is not None}
                reasons.append((reason, {**detail, index: round(z[index], 2)}))
        if _gain(person, v, on, weighings) == "2T":
            reasons.append(("2T", {"weight_kg": v["weight_kg"]}))
    if v.get("kind") == "pregnant" and v.get("muac_cm") is not None and v["muac_cm"] < 23.5:
        reasons.append(("kek", {"muac_cm": v["muac_cm"]}))
    if _high_bp(v):
        reasons.append(("hypertension", {"sbp": v["sbp"], "dbp": v["dbp"]}))
    if v.get("skilas_positive"):
        reasons.append(("skilas", None))
    if v.get("danger"):
        reasons.append(("danger", {"seen": v["danger"]}))
    return reasons


def _doses_text(v: dict) -> str:
    """The doses of a draft, each with its date when it was not given today."""
    out = []
    for code in v.get("doses") or ():
        name = _(DOSE_LABELS[code])
        when = (v.get("dose_dates") or {}).get(code)
        if when is None:
            out.append(name)
        elif when[1] == UNKNOWN:
            out.append(_("{dose} (tanggal tidak diketahui)", dose=name))
        else:
            out.append(f"{name} ({format_date(date.fromisoformat(when[0]), 'MMM y' if when[1] == MONTH else 'short')})")
    return ", ".join(out)


def visit_text(person: Person, v: dict, on: date, weighings: list[tuple[date, float]]) -> str:
    """The visit as the kader reads it back: values, results, flags."""
    place = _("posyandu") if v.get("place") == "posyandu" else _("kunjungan rumah")
    head = f"{person.name} ({sex_label(person.sex)}, {age_text(person.birth_date, on, person.birth_precision) if person.birth_date else '-'}), {format_date(on, 'short')}, {place}"
    values = []
    if v.get("weight_kg") is not None:
        values.append(_("BB {value} kg", value=format_number(v["weight_kg"], 2)))
    if v.get("length_cm") is not None:
        values.append(_("PB {value} cm", value=format_number(v["length_cm"], 1)) if v.get("measured") == "l" else _("TB {value} cm", value=format_number(v["length_cm"], 1)))
    if v.get("head_cm") is not None:
        values.append(_("LK {value} cm", value=format_number(v["head_cm"], 1)))
    if v.get("muac_cm") is not None:
        values.append(_("LILA {value} cm", value=format_number(v["muac_cm"], 1)))
    if v.get("sbp"):
        values.append(_("TD {sbp}/{dbp}", sbp=v["sbp"], dbp=v["dbp"]))
    if v.get("glucose") is not None:
        values.append(_("GD {value} mg/dL", value=format_number(v["glucose"], 0)))
    if v.get("waist_cm") is not None:
        values.append(_("LP {value} cm", value=format_number(v["waist_cm"], 1)))
    if v.get("iron_tablets") is not None:
        values.append(_("TTD {n} tablet", n=int(v["iron_tablets"])))
    if v.get("anc_contact") is not None:
        values.append(_("ANC ke-{n}", n=int(v["anc_contact"])))
    values += [_(SERVICE_SHORT[code]) for code in v.get("services") or () if code in SERVICE_SHORT]
    if v.get("doses"):
        values.append(_("imunisasi {doses}", doses=_doses_text(v)))
    lines, flags = assessment(person, v, on, weighings)
    parts = [head, " \u00b7 ".join(values) if values else _("(tanpa pengukuran)")]
    parts += lines
    parts += ["\u26a0 " + flag for flag in flags]
    if v.get("note"):
        parts.append(_("Catatan: {note}", note=v["note"]))
    return "\n".join(parts)


async def _measured(ctx: Ctx, person_id: int, kind: str, before: date) -> list[tuple[date, float]]:
    """Earlier (date, value) of one measurement of a member, days before ``before`` only."""
    rows = await ctx.session.execute(
        select(Visit.visited_on, Measurement.value).join(Measurement, Measurement.visit_id == Visit.id)
        .where(Visit.person_id == person_id, Measurement.kind == kind, Visit.visited_on < before).order_by(Visit.visited_on)
    )
    return [(day, value) for day, value in rows.all()]


async def weighings_of(ctx: Ctx, person_id: int) -> list[tuple[date, float]]:
    """Weights of a member on the days before today: (date, kg); today's is the one being corrected."""
    return await _measured(ctx, person_id, "weight_kg", ctx.today)


async def todays_visit(ctx: Ctx, person_id: int) -> tuple[Visit | None, dict[str, Measurement]]:
    """The member's visit of today, if any, and its measurements by kind."""
    visit = (await ctx.session.scalars(
        select(Visit).where(Visit.person_id == person_id, Visit.visited_on == ctx.today).order_by(Visit.id.desc()).limit(1)
    )).first()
    if visit is None:
        return None, {}
    rows = await ctx.session.scalars(select(Measurement).where(Measurement.visit_id == visit.id).order_by(Measurement.id))
    return visit, {m.kind: m for m in rows}


def with_today(v: dict, today: dict[str, Measurement]) -> dict:
    """The draft completed with what today's visit measured and the draft did not: the day's visit."""
    shown = dict(v)
    for kind, row in today.items():
        if kind in MEASURE_KINDS and shown.get(kind) is None and not (kind == "dbp" and shown.get("sbp") is not None):
            shown[kind] = row.value
            if kind == "length_cm":
                shown["measured"] = row.detail
    return shown


def _replaced(v: dict, today: dict[str, Measurement]) -> list[str]:
    """The earlier values of today's visit the draft changes, as the kader reads them."""
    old = {kind: row.value for kind, row in today.items() if v.get(kind) is not None and row.value != v[kind]}
    if not old:
        return []
    earlier = {kind: row.value for kind, row in today.items()}
    if "length_cm" in old:
        earlier["measured"] = today["length_cm"].detail
    shown = []
    if "weight_kg" in old:
        shown.append(_("BB {value} kg", value=format_number(old["weight_kg"], 2)))
    if "length_cm" in old:
        shown.append(_("PB {value} cm", value=format_number(old["length_cm"], 1)) if earlier.get("measured") == "l"
                     else _("TB {value} cm", value=format_number(old["length_cm"], 1)))
    if "head_cm" in old:
        shown.append(_("LK {value} cm", value=format_number(old["head_cm"], 1)))
    if "muac_cm" in old:
        shown.append(_("LILA {value} cm", value=format_number(old["muac_cm"], 1)))
    if "sbp" in old or "dbp" in old:
        shown.append(_("TD {sbp}/{dbp}", sbp=int(earlier.get("sbp", 0)), dbp=int(earlier.get("dbp", 0))))
    if "glucose" in old:
        shown.append(_("GD {value} mg/dL", value=format_number(old["glucose"], 0)))
    if "waist_cm" in old:
        shown.append(_("LP {value} cm", value=format_number(old["waist_cm"], 1)))
    return shown


CONCERN_LABELS = {
    "implausible_wfa": N_("berat menurut umur"), "implausible_lhfa": N_("panjang/tinggi menurut umur"),
    "implausible_wflh": N_("berat menurut panjang/tinggi"), "implausible_bfa": N_("IMT menurut umur"),
    "implausible_hcfa": N_("lingkar kepala"), "implausible_acfa": N_("LILA"),
    "weight_jump": N_("perubahan berat sejak kunjungan lalu"), "length_shrink": N_("panjang/tinggi lebih kecil dari sebelumnya"),
    "implausible_bp": N_("tekanan darah"), "implausible_glucose": N_("gula darah"), "implausible_waist": N_("lingkar perut"),
    "implausible_muac": N_("LILA"), "implausible_weight": N_("berat badan"),
}


async def measurement_concerns(ctx: Ctx, person: Person, shown: dict) -> list[Concern]:
    """The doubtful values of a visit (``care.plausibility``) against the days before today."""
    if shown.get("kind") == "child" and person.birth_date:
        return check_child(_sex(person), person.birth_date, ctx.today, weight_kg=shown.get("weight_kg"),
                           length_cm=shown.get("length_cm"), measured=shown.get("measured"), head_cm=shown.get("head_cm"),
                           muac_cm=shown.get("muac_cm"), previous=await weighings_of(ctx, person.id),
                           previous_lengths=await _measured(ctx, person.id, "length_cm", ctx.today))
    return check_adult(sbp=shown.get("sbp"), dbp=shown.get("dbp"), glucose=shown.get("glucose"), waist_cm=shown.get("waist_cm"),
                       muac_cm=shown.get("muac_cm"), weight_kg=shown.get("weight_kg"))


def dose_concerns(person: Person, v: dict, record: PersonHistory, today: date, schedule) -> list[Concern]:
    """Doses of a draft given too early, too soon, out of order, too late or again (``care.plausibility``)."""
    if not person.birth_date or not v.get("doses"):
        return []
    dates = v.get("dose_dates") or {}
    new = {code: date.fromisoformat(dates[code][0]) if code in dates else today for code in v["doses"]}
    rough = {code for code in v["doses"] if code in dates and dates[code][1] != DAY}
    return check_doses(person.birth_date, record.given, new, approximate=set(record.approximate) | rough,
                       schedule=schedule)


def dose_concern_text(concern: Concern) -> str:
    """One doubtful dose as the kader reads it: which dose, why, the dates."""
    d = concern.detail
    dose = _(DOSE_LABELS[d["dose"]])
    when = format_date(d["on"], "short")
    if concern.code == "dose_too_soon":
        return _("{dose} ({date}): terlalu dekat dengan {previous} ({previous_date}); paling cepat {earliest}.",
                 dose=dose, date=when, previous=_(DOSE_LABELS[d["previous"]]), previous_date=format_date(d["previous_on"], "short"),
                 earliest=format_date(d["earliest"], "short"))
    if concern.code == "dose_too_early":
        return _("{dose} ({date}): umurnya belum cukup; paling cepat {earliest}.", dose=dose, date=when,
                 earliest=format_date(d["earliest"], "short"))
    if concern.code == "dose_out_of_order":
        return _("{dose} ({date}): {previous} belum tercatat.", dose=dose, date=when, previous=_(DOSE_LABELS[d["previous"]]))
    if concern.code == "dose_too_old":
        return _("{dose} ({date}): tidak diberikan lagi sejak {limit}.", dose=dose, date=when, limit=format_date(d["limit"], "short"))
    return _("{dose} sudah tercatat tanggal {previous_date}.", dose=dose, previous_date=format_date(d["previous_on"], "short"))


async def _doubts(ctx: Ctx, person: Person, v: dict, shown: dict) -> tuple[list[Concern], list[Concern]]:
    """(measurement concerns, dose concerns) of a draft."""
    record = await history(ctx.session, person.id)
    return await measurement_concerns(ctx, person, shown), dose_concerns(person, v, record, ctx.today, ctx.schedule)


async def ask_confirm(ctx: Ctx) -> Question:
    person = await _member(ctx)
    v = ctx.data["v"]
    today, measures = await todays_visit(ctx, person.id)
    shown = with_today(v, measures)
    measured, doses = await _doubts(ctx, person, v, shown)
    parts = []
    if measured:
        doubts = ", ".join(dict.fromkeys(_(CONCERN_LABELS.get(c.code, c.code)) for c in measured))
        parts.append(_("Nilai ini tampak tidak mungkin: {doubts}. Periksa ulang; simpan hanya jika benar.", doubts=doubts))
    if doses:
        parts.append(_("Periksa imunisasi ini; simpan hanya jika benar:") + "\n"
                     + "\n".join("\u26a0 " + dose_concern_text(c) for c in doses))
    if not parts:
        parts.append(_("Periksa sebelum disimpan (ketik catatan untuk menambahkannya):"))
    if today is not None:
        parts.append(_("Sudah ada kunjungan {name} hari ini: data ini memperbaruinya (satu penimbangan per hari).", name=person.name))
    parts.append(visit_text(person, shown, ctx.today, await weighings_of(ctx, person.id)))
    save = _("Ya, benar, simpan") if measured or doses else _("Simpan")
    return Question("\n".join(parts), ((save, "save"), (_("Tanda bahaya"), "danger"), (_("Batal"), "cancel")))


async def on_confirm(ctx: Ctx, answer: Answer) -> Next:
    """Saves the visit when confirmed (ends with the result and the referrals opened); a typed text
    is a note; the danger-sign button asks what was seen."""
    if answer.choice == "cancel":
        ctx.note(_("Kunjungan tidak disimpan."))
        return END
    if answer.choice == "danger":
        return "danger"
    if answer.choice is None and answer.text.strip():
        ctx.data["v"]["note"] = " ".join(answer.text.split())[:NOTE_MAX]
        return "confirm"
    if answer.choice != "save":
        raise Invalid(_("Pilih Simpan atau Batal."))
    person = await _member(ctx)
    await finish(ctx, person, ctx.data["v"])
    return "after" if ctx.data["v"].get("kind") == "child" else END


async def ask_danger(ctx: Ctx) -> Question:
    return Question(_("Tanda bahaya apa yang terlihat? Tulis singkat, misalnya: kejang, sesak napas, perdarahan. "
                      "Ketik - jika tidak ada."))


async def on_danger(ctx: Ctx, answer: Answer) -> Next:
    """Stores the danger sign seen (``-`` removes it); back to the confirmation."""
    text = " ".join(answer.text.split())
    if answer.choice is not None or not text:
        raise Invalid(_("Tulis tanda bahaya yang terlihat, atau - jika tidak ada."))
    if text == "-" or normalize(text).strip(" .!") in SKIP_WORDS:
        ctx.data["v"].pop("danger", None)
        return "confirm"
    if len(text) > DANGER_MAX:
        raise Invalid(_(FAST_ERRORS["too_long"], count=DANGER_MAX))
    ctx.data["v"]["danger"] = text
    return "confirm"


async def ask_after(ctx: Ctx) -> Question:
    return Question(_("Lihat grafik pertumbuhan?"), ((_("Grafik pertumbuhan"), "chart"), (_("Selesai"), "done")))


async def on_after(ctx: Ctx, answer: Answer) -> Next:
    """Sends the child's growth chart when asked; ends."""
    if answer.choice == "chart":
        await say_chart(ctx, await _member(ctx))
        return END
    if answer.choice == "done":
        return END
    raise Invalid(_("Pilih Grafik pertumbuhan atau Selesai."))


class Done(NamedTuple):
    """One dose or service a visit records: its code, date, precision and detail."""

    code: str
    on: date
    precision: str
    detail: dict | None


def is_teen_girl(person: Person, on: date) -> bool:
    """A girl of 12-18 years (the weekly iron tablet)."""
    return person.sex == "F" and person.birth_date is not None and 12 * 12 <= age_months(person.birth_date, on) < 19 * 12


def visit_records(person: Person, v: dict, on: date) -> list[Done]:
    """The doses and services a visit draft records (care.history codes), each with its date.

    Doses are given on ``on`` unless the draft dates them (``dose_dates``); a child's weighing is
    the month's TIMBANG; "ANC ke-N" is the N-th pregnancy check-up; iron tablets are TTD_HAMIL for
    a pregnant woman and TTD_REMAJA for a girl of 12-18; the SKILAS result of an older person, an
    adult's blood pressure, sugar or waist (the PTM screening) and the services picked (KN, KF,
    vitamin A, deworming, SDIDTK) are services too.
    """
    dates = v.get("dose_dates") or {}
    lots = v.get("lots") or {}
    out = [Done(code, date.fromisoformat(dates[code][0]), dates[code][1], None) if code in dates
           else Done(code, on, DAY, lots.get(code) or None) for code in v.get("doses") or ()]
    kind = v.get("kind")
    months = age_months(person.birth_date, on) if person.birth_date else None
    if kind == "child" and v.get("weight_kg") is not None:
        out.append(Done("TIMBANG", on, DAY, None))
    if v.get("anc_contact") is not None:
        out.append(Done(anc_code(int(v["anc_contact"])), on, DAY, None))
    if v.get("iron_tablets") is not None and kind == "pregnant":
        out.append(Done(TTD_HAMIL, on, DAY, {"tablets": int(v["iron_tablets"])}))
    if v.get("iron_tablets") is not None and kind != "pregnant" and is_teen_girl(person, on):
        out.append(Done("TTD_REMAJA", on, DAY, {"tablets": int(v["iron_tablets"])}))
    if v.get("skilas_positive") is not None:
        out.append(Done("SKILAS", on, DAY, {"result": "positive" if v["skilas_positive"] else "normal"}))
    if kind == "adult" and months is not None and 15 * 12 <= months < 60 * 12 and any(v.get(k) is not None for k in PTM_MEASURES):
        out.append(Done("SKRINING_PTM", on, DAY, None))
    seen = {d.code for d in out if d.on == on}
    out += [Done(code, on, DAY, None) for code in v.get("services") or () if code not in seen]
    return out


async def save_visit(ctx: Ctx, person: Person, v: dict) -> tuple[Visit, list[str]]:
    """Writes the visit (or updates today's visit of the person: one per day), its measurements,
    the doses and services it recorded, and the audit entry; returns the visit and the earlier
    values of today's visit that were replaced (as the kader reads them)."""
    visit, today = await todays_visit(ctx, person.id)
    replaced = _replaced(v, today)
    if visit is None:
        visit = Visit(person_id=person.id, posyandu_id=ctx.identity.posyandu_id, kader_id=ctx.identity.id,
                      visited_on=ctx.today, place=v.get("place") or "posyandu", notes=v.get("note"), created_at=ctx.now)
        ctx.session.add(visit)
        await ctx.session.flush()
        action = "visit.logged"
    else:
        if v.get("note"):
            visit.notes = f"{visit.notes}; {v['note']}" if visit.notes else v["note"]
        action = "visit.corrected"
    for kind in MEASURE_KINDS:
        if v.get(kind) is None:
            continue
        detail = v.get("measured") if kind == "length_cm" else None
        if kind in today:
            today[kind].value, today[kind].detail = float(v[kind]), detail
        else:
            ctx.session.add(Measurement(visit_id=visit.id, kind=kind, value=float(v[kind]), detail=detail))
    done = visit_records(person, v, ctx.today)
    for item in done:
        await record(ctx.session, person_id=person.id, code=item.code, on=item.on, now=ctx.now, source="kader",
                     precision=item.precision, visit_id=visit.id, detail=item.detail, by=ctx.identity.id)
    audit(ctx, action, "visit", visit.id, person=person.id, records=[item.code for item in done])
    return visit, replaced


async def finish(ctx: Ctx, person: Person, v: dict) -> Visit:
    """Saves the visit, opens a referral for each flag, and tells the kader what was saved and opened."""
    weighings = await weighings_of(ctx, person.id)
    _visit, today = await todays_visit(ctx, person.id)
    shown = with_today(v, today)
    visit, replaced = await save_visit(ctx, person, v)
    parts = [_("Tersimpan.")]
    if replaced:
        parts.append(_("Kunjungan hari ini diperbarui; sebelumnya: {values}.", values=", ".join(replaced)))
    parts.append(visit_text(person, shown, ctx.today, weighings))
    reasons = referral_reasons(person, shown, ctx.today, weighings)
    if reasons:
        opened, told = await open_referrals(ctx, person, reasons, visit_id=visit.id)
        new = [r.reason for r in opened]
        if new:
            parts.append(_("Rujukan dibuka: {reasons}.", reasons=", ".join(reason_label(r) for r in new)) + " "
                         + (_("Keluarga sudah diberi tahu lewat chat.") if told else
                            _("Keluarga tidak terhubung lewat chat: mohon sampaikan langsung ke mana dan mengapa harus berobat.")))
        still = [reason for reason, _detail in reasons if reason not in new]
        if still:
            parts.append(_("Rujukan yang masih terbuka: {reasons}.", reasons=", ".join(reason_label(r) for r in still)))
    ctx.note("\n".join(parts))
    return visit


async def undo_last_visit(ctx: Ctx, args: str = "") -> None:
    """``/urung``: removes this kader's last visit when it was logged in the last 30 minutes, with
    its records and the referrals it opened that are still open (their pending notices cancelled)."""
    if not is_kader(ctx):
        ctx.note(_("Perintah ini untuk kader."))
        return
    visit = (await ctx.session.scalars(
        select(Visit).where(Visit.kader_id == ctx.identity.id).order_by(Visit.created_at.desc(), Visit.id.desc()).limit(1)
    )).first()
    if visit is None or visit.created_at < ctx.now - timedelta(minutes=UNDO_MINUTES):
        ctx.note(_("Tidak ada kunjungan dalam {minutes} menit terakhir yang bisa dibatalkan.", minutes=UNDO_MINUTES))
        return
    person = await ctx.session.get(Person, visit.person_id)
    referrals = list(await ctx.session.scalars(select(Referral).where(Referral.visit_id == visit.id, Referral.status == OPEN)))
    for referral in referrals:
        await ctx.session.execute(update(Outbox).where(Outbox.key.like(f"referral:{referral.id}:%"), Outbox.state == "pending")
                                  .values(state="cancelled").execution_options(synchronize_session=False))
        await ctx.session.delete(referral)
    await ctx.session.execute(delete(CareRecord).where(CareRecord.visit_id == visit.id))
    await ctx.session.execute(delete(Measurement).where(Measurement.visit_id == visit.id))
    await ctx.session.delete(visit)
    audit(ctx, "visit.undone", "visit", visit.id, person=visit.person_id, referrals=len(referrals))
    ctx.note(_("Kunjungan {name} tanggal {date} dibatalkan.", name=person.name if person else "-", date=format_date(visit.visited_on, "short")))


VISIT = Flow(  # only a kader logs visits
    name="visit",
    first="family",
    commands=("kunjungan", "visit"),
    roles=KADER,
    refusal=N_("Hanya kader yang dapat mencatat kunjungan. Kader bergabung dengan /kader <kode undangan>."),
    home=("family", "after"),
    menu_label=N_("Catat kunjungan"),
    help_line=N_("Catat kunjungan, langkah demi langkah"),
    steps={
        "family": Step(ask_family, on_family),
        "family_pick": Step(ask_family_pick, on_family_pick),
        "member": Step(ask_member, on_member),
        "place": Step(ask_place, on_place),
        "size": Step(ask_size, on_size),
        "head_arm": Step(ask_head_arm, on_head_arm),
        "weight": _measure("weight_kg", 0.5, 150, N_("Berat badan (kg)?")),
        "muac": _measure("muac_cm", 8, 50, N_("Lingkar lengan atas / LILA (cm)?"), optional=True),
        "services": Step(ask_services, on_services),
        "doses": Step(ask_doses, on_doses),
        "lot": Step(ask_lot, on_lot),
        "bp": Step(ask_bp, on_bp),
        "iron": _measure("iron_tablets", 0, 200, N_("Berapa tablet tambah darah yang diberikan?"), optional=True),
        "anc": _measure("anc_contact", 1, 12, N_("Pemeriksaan kehamilan (ANC) ke berapa?"), optional=True),
        "glucose": _measure("glucose", 20, 800, N_("Gula darah sewaktu (mg/dL)?"), optional=True),
        "waist": _measure("waist_cm", 40, 200, N_("Lingkar perut (cm)?"), optional=True),
        "skilas": Step(ask_skilas, on_skilas),
        "confirm": Step(ask_confirm, on_confirm),
        "danger": Step(ask_danger, on_danger),
        "after": Step(ask_after, on_after),
    },
)

__all__ = ["VISIT", "undo_last_visit", "save_visit", "visit_text", "assessment", "member_kind", "fast_entry"]


# -- fast entry: one line, the same confirmation --------------------------------------------------

FAST_ERRORS = {
    "command": N_("Mulai dengan kata catat."),
    "family_code": N_("Kode keluarga tidak terbaca (contoh K-7QX2MA)."),
    "missing_value": N_("Nilainya belum ditulis."),
    "number": N_("Bukan angka yang benar (contoh 8,2)."),
    "whole_number": N_("Harus bilangan bulat."),
    "bp": N_("Tulis tekanan darah seperti 120/80."),
    "dose": N_("Kode imunisasi tidak dikenal (contoh dpt2 pcv2 opv3)."),
    "dose_date": N_("Tanggal imunisasi tidak terbaca (contoh dpt1 12-10-2026, pcv1 okt 2026, bcg sudah)."),
    "name": N_("Nama anggota tidak terbaca."),
    "duplicate": N_("Ditulis dua kali."),
    "too_long": N_("Mohon lebih singkat: paling banyak {count} karakter."),
    "unknown": N_("Tidak dimengerti."),
    "member": N_("Siapa yang dikunjungi? Tambahkan anak1, anak2, ibu, atau nama."),
    "empty": N_("Tidak ada yang dicatat."),
}


def _fast_values(entry) -> dict:
    """The visit draft of a parsed fast entry (services and doses still to be resolved)."""
    return {
        "place": "posyandu", "weight_kg": entry.weight_kg, "length_cm": entry.length_cm, "measured": entry.measured,
        "head_cm": entry.head_cm, "muac_cm": entry.muac_cm, "glucose": entry.glucose, "waist_cm": entry.waist_cm,
        "sbp": entry.bp[0] if entry.bp else None, "dbp": entry.bp[1] if entry.bp else None,
        "iron_tablets": entry.iron_tablets, "anc_contact": entry.anc_contact, "note": entry.note, "danger": entry.danger,
        "skilas_positive": None if entry.skilas_positive is None else float(entry.skilas_positive),
    }


def _pick_member(members: list[Person], ref, on: date) -> Person | None:
    """The member a fast entry names: the n-th child (oldest first), the mother, or a first name."""
    if ref.kind == "child_index":
        children = sorted((m for m in members if m.birth_date and age_months(m.birth_date, on) < 18 * 12), key=lambda m: m.birth_date)
        return children[ref.value - 1] if 0 < ref.value <= len(children) else None
    if ref.kind == "mother":
        women = [m for m in members if m.sex == "F" and m.birth_date and age_months(m.birth_date, on) >= 15 * 12]
        pregnant = [m for m in women if is_pregnant(m.hpht, on, m.delivered_on) or m.delivered_on]
        return (pregnant or women or [None])[0]
    wanted = normalize(str(ref.value))
    found = [m for m in members if normalize(m.name).split()[:1] == [wanted] or normalize(m.name) == wanted]
    return found[0] if len(found) == 1 else None


def service_applies(code: str, person: Person, on: date, schedule) -> bool:
    """Whether a service of ``care.services`` can be given to the person on ``on``: KN to a newborn
    (0-28 days), KF and the nifas capsules in nifas (0-42 days), the others in their rule's ages."""
    rule = (schedule or load_schedule()).services.by_code.get(code)
    if rule is None or (rule.sex is not None and person.sex != rule.sex):
        return False
    if rule.event == "delivery":
        return in_nifas(person, on)
    if person.birth_date is None or person.birth_date > on:
        return False
    if rule.event == "birth":
        return (on - person.birth_date).days <= NEWBORN_DAYS
    months = completed_months(person.birth_date, on)
    if rule.kind == "ages":
        return months < rule.ages_months[-1] + rule.last_window_months
    return rule.min_months <= months and (rule.end_months is None or months < rule.end_months)


def typed_services(codes: list[str], person: Person, kind: str, record: PersonHistory, on: date, schedule) -> list[str]:
    """The service codes of ``catat`` for this person: ``vita`` is the capsule that fits (blue at
    6-11 months, red at 12-59, the first or second of nifas), ``ttd`` the pregnancy's or a girl's
    iron tablets; Refused for a service that does not fit the person today."""
    out = []
    for code in codes:
        if code == VITAMIN_A:
            if kind != "child" and in_nifas(person, on):
                first = any(person.delivered_on <= d <= on for d in record.services.get("VITA_NIFAS1", ()))
                code = "VITA_NIFAS2" if first else "VITA_NIFAS1"
            else:
                code = next((c for c in ("VITA_BIRU", "VITA_MERAH") if service_applies(c, person, on, schedule)), "")
            if not code:
                raise Refused(_("Vitamin A dicatat untuk anak umur 6-59 bulan dan ibu nifas."))
        elif code == IRON:
            if kind == "pregnant":
                code = TTD_HAMIL
            elif is_teen_girl(person, on):
                code = "TTD_REMAJA"
            else:
                raise Refused(_("TTD dicatat untuk ibu hamil dan remaja putri umur 12-18 tahun."))
        elif not service_applies(code, person, on, schedule):
            raise Refused(_("{service} tidak berlaku untuk {name} hari ini.", service=_(SERVICE_SHORT.get(code, code)), name=person.name))
        if code not in out:
            out.append(code)
    return out


async def fast_entry(ctx: Ctx, text: str) -> Next | None:
    """``catat K-XXXXXX anak2 bb 8,2 ...``: saved at once with the result; a value that cannot be true
    is refused (nothing saved); a doubtful value or dose asks at the visit's confirmation first."""
    if not is_kader(ctx):
        ctx.note(_("Hanya kader yang dapat mencatat kunjungan. Kader bergabung dengan /kader <kode undangan>."))
        return None
    try:
        entry = parse_fast_entry(text)
    except FastEntryError as err:
        part = f"\u201c{err.part[:40]}\u201d: " if err.part else ""
        why = _(FAST_ERRORS.get(err.code, FAST_ERRORS["unknown"]), count=DANGER_MAX)
        ctx.note(_("Belum tercatat. {part}{why}", part=part, why=why))
        return None
    family = await family_in_scope(ctx, entry.family_code)
    if family is None:
        ctx.note(_("Belum tercatat. Tidak ada keluarga dengan kode {code} di posyandu Bapak/Ibu.",
                   code=entry.family_code[:12]))
        return None
    members = await family_members(ctx.session, family.id)
    person = _pick_member(members, entry.member, ctx.today)
    if person is None:
        ctx.note(_("Belum tercatat. Anggota itu tidak ditemukan di keluarga {name}.", name=family.name))
        return None
    v = {"family_id": family.id, "person_id": person.id, "kind": member_kind(person, ctx.today), **_fast_values(entry)}
    if v["kind"] == "child" and v["length_cm"] is not None and v["measured"] is None:
        v["measured"] = "l" if age_months(person.birth_date, ctx.today) < 24 else "h"
    record_now = await history(ctx.session, person.id)
    try:
        if (why := size_refusal(person, v, ctx.today)) is not None:
            raise Refused(why)
        if entry.skilas_positive is not None and not service_applies("SKILAS", person, ctx.today, ctx.schedule):
            raise Refused(_("{service} tidak berlaku untuk {name} hari ini.", service=_(SERVICE_LABELS["SKILAS"]), name=person.name))
        services = list(entry.services) + ([VITAMIN_A] if entry.vitamin_a else [])
        v["services"] = typed_services(services, person, v["kind"], record_now, ctx.today, ctx.schedule)
        when = dict(entry.dose_dates)
        groups = [((code,), when.get(code, "")) for code in entry.doses]
        v["doses"], v["dose_dates"] = dated_doses(groups, person, record_now, ctx.today, ctx.schedule)
    except Refused as refused:
        ctx.note(_("Belum tercatat. {part}{why}", part="", why=refused.hint))
        return None
    _today, measures = await todays_visit(ctx, person.id)
    measured, doses = await _doubts(ctx, person, v, with_today(v, measures))
    if measured or doses:
        return Goto("visit", "confirm", {"v": v})
    await finish(ctx, person, v)
    return None
