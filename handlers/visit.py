"""A kader logs a visit (``/kunjungan``): family, member, place, then only the questions that fit the
member's stage; a confirmation with the z-scores, the Permenkes labels, the N/T/2T judgement and the
flags that need a referral; then it is saved. ``/urung`` removes the kader's last visit within 30 minutes.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import delete, select

from care.growth import (
    CATEGORY_LABELS,
    WEIGHT_GAIN_LABELS,
    age_in_days,
    category,
    weight_gain_status,
    zscores,
)
from care.immunization import CATCH_UP, DUE, INVALID, dose_states
from care.schedule import DOSE_LABELS
from care.stages import add_months, age_months, is_pregnant
from content.i18n import N_, _, format_date, format_number
from care.history import TTD_HAMIL, anc_code
from db.history import history, record
from db.models import CareRecord, Family, Measurement, Person, Visit
from db.queries import family_members
from handlers.chart_view import say_chart
from handlers.describe import age_text, sex_label
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit, family_in_scope, is_kader, normal_family_code
from handlers.parsing import normalize

UNDO_MINUTES = 30
CHILD_MONTHS = 60
MEASURE_KINDS = ("weight_kg", "length_cm", "head_cm", "muac_cm", "sbp", "dbp", "glucose", "waist_cm")
PTM_MEASURES = ("sbp", "glucose", "waist_cm")
_NUMBER = re.compile(r"^\d{1,3}([.,]\d{1,2})?$")
DOSE_WORDS = {
    "hb0": "HB0", "bcg": "BCG", "je": "JE",
    **{f"opv{n}": f"OPV{n}" for n in range(1, 5)}, **{f"polio{n}": f"OPV{n}" for n in range(1, 5)},
    **{f"dpt{n}": f"DPT_HB_HIB{n}" for n in range(1, 5)}, **{f"pcv{n}": f"PCV{n}" for n in range(1, 4)},
    **{f"rv{n}": f"RV{n}" for n in range(1, 4)}, **{f"ipv{n}": f"IPV{n}" for n in range(1, 3)},
    **{f"mr{n}": f"MR{n}" for n in range(1, 3)}, **{f"campak{n}": f"MR{n}" for n in range(1, 3)},
}


# -- what kind of member, and which questions ---------------------------------------------------------

def member_kind(person: Person, on: date) -> str:
    """``child`` (under five), ``pregnant``, ``elderly`` (60+) or ``adult`` for the questions to ask."""
    if person.birth_date and age_months(person.birth_date, on) < CHILD_MONTHS:
        return "child"
    if is_pregnant(person.hpht, on, person.delivered_on):
        return "pregnant"
    if person.birth_date and age_months(person.birth_date, on) >= 60 * 12:
        return "elderly"
    return "adult"


#: The questions per kind of member; a note can be typed at the confirmation.
QUESTIONS = {
    "child": ("size", "head_arm", "vita", "doses"),
    "pregnant": ("weight", "bp", "muac", "iron", "anc"),
    "adult": ("bp", "glucose", "waist"),
    "elderly": ("bp", "glucose", "waist", "skilas"),
}


def parse_number(text: str, low: float, high: float) -> float:
    """A number typed with a decimal comma or point, within [low, high]; Invalid otherwise."""
    t = text.strip().replace(" ", "")
    if not _NUMBER.match(t):
        raise Invalid(_("Tulis angka saja, misalnya 7,2 atau 7.2"))
    value = float(t.replace(",", "."))
    if not low <= value <= high:
        raise Invalid(_("Angka itu di luar batas ({low} sampai {high}). Periksa lagi.", low=format_number(low), high=format_number(high)))
    return value


def parse_doses(text: str) -> list[str]:
    """Dose codes from words like ``dpt2 pcv2 opv3``; Invalid names the word not understood."""
    codes = []
    for word in normalize(text).replace(",", " ").split():
        code = DOSE_WORDS.get(word.replace("-", ""))
        if code is None:
            raise Invalid(_("Imunisasi \u201c{word}\u201d tidak dikenal. Contoh: dpt1 pcv1 opv2 rv1 mr1 bcg", word=word[:20]))
        codes.append(code)
    return codes


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
            raise Invalid(_("Tidak ada keluarga dengan kode itu di posyandu Anda."))
    else:
        if len(text) < 3:
            raise Invalid(_("Ketik kode keluarga atau paling sedikit 3 huruf nama."))
        pattern = "%" + normalize(text).replace("%", "").replace("_", "") + "%"
        rows = list(await ctx.session.scalars(
            select(Family).where(Family.posyandu_id == ctx.identity.posyandu_id, Family.name.ilike(pattern)).order_by(Family.name).limit(9)
        ))
        if not rows:
            raise Invalid(_("Tidak ada keluarga bernama \u201c{text}\u201d di posyandu Anda.", text=text[:40]))
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
        tuple((f"{m.name} ({age_text(m.birth_date, ctx.today)})" if m.birth_date else m.name, str(m.id)) for m in members),
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
    return _after(ctx, None)


def _after(ctx: Ctx, step: str | None) -> str:
    """The next question for this member after ``step`` (the first one for None)."""
    order = QUESTIONS[ctx.data["v"]["kind"]]
    index = -1 if step is None else order.index(step)
    return order[index + 1] if index + 1 < len(order) else "confirm"


# -- measurements ---------------------------------------------------------------------------------

def _measure(key: str, low: float, high: float, question: str, *, optional: bool = False):
    """A step that stores one number (``-`` skips an optional one)."""

    async def ask(ctx: Ctx) -> Question:
        return Question(_(question) + ("\n" + _("Ketik - jika tidak diukur.") if optional else ""))

    async def answer(ctx: Ctx, reply: Answer) -> Next:
        if optional and reply.text.strip() == "-":
            ctx.data["v"][key] = None
        else:
            ctx.data["v"][key] = parse_number(reply.text, low, high)
        return _after(ctx, STEP_OF_KEY[key])

    answer.__doc__ = f"Stores {key}; asks the next question that fits the member."
    return Step(ask, answer)


STEP_OF_KEY = {"weight_kg": "weight", "muac_cm": "muac", "glucose": "glucose",
               "waist_cm": "waist", "iron_tablets": "iron", "anc_contact": "anc"}


async def ask_size(ctx: Ctx) -> Question:
    person = await _member(ctx)
    lying = person.birth_date is None or age_months(person.birth_date, ctx.today) < 24
    how = _("berbaring (panjang badan)") if lying else _("berdiri (tinggi badan)")
    return Question(_("Berat (kg) dan panjang/tinggi (cm)? Contoh: 8,2 71. Diukur {how}; tambahkan l (berbaring) "
                      "atau h (berdiri) jika lain. Ketik - untuk yang tidak diukur.", how=how))


async def on_size(ctx: Ctx, answer: Answer) -> Next:
    """Stores weight, length or height and how it was measured; asks head and arm next."""
    words = normalize(answer.text).split()
    measured = None
    if words and words[-1] in ("l", "h"):
        measured = words.pop()
    elif words and words[-1][-1:] in ("l", "h") and words[-1][:-1].replace(",", "").replace(".", "").isdecimal():
        measured, words[-1] = words[-1][-1], words[-1][:-1]
    if len(words) != 2:
        raise Invalid(_("Tulis dua angka: berat lalu panjang/tinggi, misalnya 8,2 71 (atau - untuk yang tidak diukur)."))
    weight = None if words[0] == "-" else parse_number(words[0], 0.5, 60)
    length = None if words[1] == "-" else parse_number(words[1], 40, 130)
    person = await _member(ctx)
    default = "l" if person.birth_date is None or age_months(person.birth_date, ctx.today) < 24 else "h"
    ctx.data["v"].update(weight_kg=weight, length_cm=length, measured=(measured or default) if length else None)
    return _after(ctx, "size")


async def ask_head_arm(ctx: Ctx) -> Question:
    return Question(_("Lingkar kepala dan LILA (cm)? Contoh: 42 14. Ketik - untuk yang tidak diukur."))


async def on_head_arm(ctx: Ctx, answer: Answer) -> Next:
    """Stores head circumference and MUAC (either may be -); asks about vitamin A next."""
    words = normalize(answer.text).split()
    if words == ["-"]:
        words = ["-", "-"]
    if len(words) == 1:
        words.append("-")
    if len(words) != 2:
        raise Invalid(_("Tulis dua angka: lingkar kepala lalu LILA, misalnya 42 14 (atau -)."))
    head = None if words[0] == "-" else parse_number(words[0], 25, 60)
    arm = None if words[1] == "-" else parse_number(words[1], 8, 30)
    ctx.data["v"].update(head_cm=head, muac_cm=arm)
    return _after(ctx, "head_arm")


async def ask_bp(ctx: Ctx) -> Question:
    return Question(_("Tekanan darah? Contoh: 120/80. Ketik - jika tidak diukur."))


async def on_bp(ctx: Ctx, answer: Answer) -> Next:
    """Stores the blood pressure; asks the next question."""
    text = answer.text.strip()
    if text == "-":
        ctx.data["v"].update(sbp=None, dbp=None)
        return _after(ctx, "bp")
    match = re.match(r"^(\d{2,3})\s*/\s*(\d{2,3})$", text)
    if not match:
        raise Invalid(_("Tulis tekanan darah seperti 120/80."))
    sbp, dbp = int(match[1]), int(match[2])
    if not (60 <= sbp <= 260 and 30 <= dbp <= 160 and dbp < sbp):
        raise Invalid(_("Tekanan darah {sbp}/{dbp} tidak mungkin. Periksa lagi.", sbp=sbp, dbp=dbp))
    ctx.data["v"].update(sbp=sbp, dbp=dbp)
    return _after(ctx, "bp")


async def ask_vita(ctx: Ctx) -> Question:
    return Question(_("Diberi vitamin A hari ini?"), ((_("Ya"), "yes"), (_("Tidak"), "no")))


async def on_vita(ctx: Ctx, answer: Answer) -> Next:
    """Stores whether vitamin A was given; asks the immunisations next."""
    if answer.choice not in ("yes", "no"):
        raise Invalid(_("Pilih Ya atau Tidak."))
    ctx.data["v"]["vitamin_a"] = answer.choice == "yes"
    return _after(ctx, "vita")


async def _due_doses(ctx: Ctx, person: Person) -> list[str]:
    """The doses due or late for a child today, in schedule order."""
    record = await history(ctx.session, person.id)
    states = dose_states(person.birth_date, record.given, ctx.today, je=ctx.settings.care.je, schedule=ctx.schedule,
                         approximate=record.approximate)
    return [code for code, s in states.items() if s.state in (DUE, CATCH_UP, INVALID)]


async def ask_doses(ctx: Ctx) -> Question:
    person = await _member(ctx)
    due = await _due_doses(ctx, person)
    if due:
        names = ", ".join(_(DOSE_LABELS[c]) for c in due)
        return Question(
            _("Imunisasi yang diberikan hari ini? Jatuh tempo: {due}.\nKetik kodenya (misalnya dpt1 pcv1), atau pilih:", due=names),
            ((_("Semua yang jatuh tempo"), "all"), (_("Tidak ada"), "none")),
        )
    return Question(_("Imunisasi yang diberikan hari ini? Ketik kodenya (misalnya mr1), atau pilih:"), ((_("Tidak ada"), "none"),))


async def on_doses(ctx: Ctx, answer: Answer) -> Next:
    """Stores the doses given today; asks for a note next."""
    if answer.choice == "none":
        doses = []
    elif answer.choice == "all":
        doses = await _due_doses(ctx, await _member(ctx))
    else:
        doses = parse_doses(answer.text)
    ctx.data["v"]["doses"] = sorted(set(doses), key=list(DOSE_LABELS).index)
    return _after(ctx, "doses")


async def ask_skilas(ctx: Ctx) -> Question:
    return Question(
        _("Skrining lansia (SKILAS): ingatan, gerak (5 kali berdiri dari kursi dalam 14 detik), gizi (berat turun "
          "lebih dari 3 kg dalam 3 bulan atau LILA < 21 cm), penglihatan, pendengaran, suasana hati. Hasilnya?"),
        ((_("Semua normal"), "normal"), (_("Ada yang positif"), "positive"), (_("Tidak diperiksa"), "skip")),
    )


async def on_skilas(ctx: Ctx, answer: Answer) -> Next:
    """Stores the SKILAS result; asks for a note next."""
    if answer.choice not in ("normal", "positive", "skip"):
        raise Invalid(_("Pilih Semua normal, Ada yang positif, atau Tidak diperiksa."))
    ctx.data["v"]["skilas_positive"] = None if answer.choice == "skip" else float(answer.choice == "positive")
    return _after(ctx, "skilas")


# -- confirmation, saving, undo ---------------------------------------------------------------------

def assessment(person: Person, v: dict, on: date, weighings: list[tuple[date, float]]) -> tuple[list[str], list[str]]:
    """Lines of results and lines of flags (each with its referral advice) for a visit."""
    lines, flags = [], []
    if v.get("kind") == "child" and person.birth_date:
        sex = 1 if person.sex == "M" else 2
        z = zscores(sex, age_in_days(person.birth_date, on), weight_kg=v.get("weight_kg"), length_cm=v.get("length_cm"),
                    measured=v.get("measured"), head_cm=v.get("head_cm"), muac_cm=v.get("muac_cm"))
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
        if v.get("weight_kg") is not None:
            gain = weight_gain_status(sex, person.birth_date, [*weighings, (on, v["weight_kg"])], on)
            if gain:
                lines.append(_("Penimbangan: {gain} ({code})", gain=_(WEIGHT_GAIN_LABELS[gain]), code=gain))
                if gain == "2T":
                    flags.append(_("2T (tidak naik dua kali): rujuk ke puskesmas."))
    if v.get("kind") == "pregnant" and v.get("muac_cm") is not None and v["muac_cm"] < 23.5:
        flags.append(_("KEK (LILA < 23,5 cm): beri makanan tambahan dan rujuk ke puskesmas."))
    if v.get("skilas_positive"):
        flags.append(_("SKILAS positif: rujuk ke puskesmas."))
    if v.get("sbp") and (v["sbp"] >= 140 or v["dbp"] >= 90):
        flags.append(_("Tekanan darah tinggi ({sbp}/{dbp}): rujuk ke puskesmas.", sbp=v["sbp"], dbp=v["dbp"]))
    return lines, flags


def visit_text(person: Person, v: dict, on: date, weighings: list[tuple[date, float]]) -> str:
    """The visit as the kader reads it back: values, results, flags."""
    place = _("posyandu") if v.get("place") == "posyandu" else _("kunjungan rumah")
    head = f"{person.name} ({sex_label(person.sex)}, {age_text(person.birth_date, on) if person.birth_date else '-'}), {format_date(on, 'short')}, {place}"
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
    if v.get("vitamin_a"):
        values.append(_("vitamin A"))
    if v.get("doses"):
        values.append(_("imunisasi {doses}", doses=", ".join(_(DOSE_LABELS[c]) for c in v["doses"])))
    lines, flags = assessment(person, v, on, weighings)
    parts = [head, " \u00b7 ".join(values) if values else _("(tanpa pengukuran)")]
    parts += lines
    parts += ["\u26a0 " + flag for flag in flags]
    if v.get("note"):
        parts.append(_("Catatan: {note}", note=v["note"]))
    return "\n".join(parts)


async def weighings_of(ctx: Ctx, person_id: int) -> list[tuple[date, float]]:
    """Earlier weights of a member: (date, kg)."""
    rows = await ctx.session.execute(
        select(Visit.visited_on, Measurement.value).join(Measurement, Measurement.visit_id == Visit.id)
        .where(Visit.person_id == person_id, Measurement.kind == "weight_kg").order_by(Visit.visited_on)
    )
    return [(day, value) for day, value in rows.all()]


async def ask_confirm(ctx: Ctx) -> Question:
    person = await _member(ctx)
    v = ctx.data["v"]
    weighings = await weighings_of(ctx, person.id)
    if "concerns" not in v:
        v["concerns"] = [c.code for c in _concerns(person, v, ctx.today, weighings)]
    text = visit_text(person, v, ctx.today, weighings)
    if v["concerns"]:
        doubts = ", ".join(_(CONCERN_LABELS.get(code.split(":")[0], code)) for code in v["concerns"])
        return Question(
            _("Nilai ini tampak tidak mungkin: {doubts}. Periksa ulang; simpan hanya jika benar.", doubts=doubts) + "\n" + text,
            ((_("Ya, data benar, simpan"), "save"), (_("Batal"), "cancel")),
        )
    return Question(_("Periksa sebelum disimpan (ketik catatan untuk menambahkannya):") + "\n" + text,
                    ((_("Simpan"), "save"), (_("Batal"), "cancel")))


CONCERN_LABELS = {
    "implausible_wfa": N_("berat menurut umur"), "implausible_lhfa": N_("panjang/tinggi menurut umur"),
    "implausible_wflh": N_("berat menurut panjang/tinggi"), "implausible_bfa": N_("IMT menurut umur"),
    "implausible_hcfa": N_("lingkar kepala"), "implausible_acfa": N_("LILA"),
    "weight_jump": N_("perubahan berat sejak kunjungan lalu"), "length_shrink": N_("panjang/tinggi lebih kecil dari sebelumnya"),
    "implausible_bp": N_("tekanan darah"), "implausible_glucose": N_("gula darah"), "implausible_waist": N_("lingkar perut"),
    "implausible_muac": N_("LILA"), "implausible_weight": N_("berat badan"),
}


def _concerns(person: Person, v: dict, on: date, weighings: list) -> list:
    """The doubtful values of a visit draft (care.plausibility)."""
    from care.plausibility import check_adult, check_child

    if v.get("kind") == "child" and person.birth_date:
        return check_child(1 if person.sex == "M" else 2, person.birth_date, on, weight_kg=v.get("weight_kg"),
                           length_cm=v.get("length_cm"), measured=v.get("measured"), head_cm=v.get("head_cm"),
                           muac_cm=v.get("muac_cm"), previous=weighings)
    return check_adult(sbp=v.get("sbp"), dbp=v.get("dbp"), glucose=v.get("glucose"), waist_cm=v.get("waist_cm"),
                       muac_cm=v.get("muac_cm"), weight_kg=v.get("weight_kg"))


async def on_confirm(ctx: Ctx, answer: Answer) -> Next:
    """Saves the visit when confirmed; ends with the result (and the chart button for a child)."""
    if answer.choice == "cancel":
        ctx.note(_("Kunjungan tidak disimpan."))
        return END
    if answer.choice is None and answer.text.strip():
        ctx.data["v"]["note"] = " ".join(answer.text.split())[:500]
        return "confirm"
    if answer.choice != "save":
        raise Invalid(_("Pilih Simpan atau Batal."))
    person = await _member(ctx)
    weighings = await weighings_of(ctx, person.id)
    await save_visit(ctx, person, ctx.data["v"])
    ctx.note(_("Tersimpan.") + "\n" + visit_text(person, ctx.data["v"], ctx.today, weighings))
    return "after" if ctx.data["v"].get("kind") == "child" else END


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


def visit_records(person: Person, v: dict, on: date) -> list[tuple[str, dict | None]]:
    """The doses and services a visit draft records (care.history codes), each with its detail.

    A child's weighing is the month's TIMBANG; vitamin A is the blue capsule before 12 months and the
    red one after; "ANC ke-N" is the N-th pregnancy check-up; iron tablets given to a pregnant woman,
    the SKILAS result of an older person, and an adult's blood pressure, sugar or waist (the PTM
    screening) are services too.
    """
    out: list[tuple[str, dict | None]] = [(dose, None) for dose in v.get("doses") or ()]
    kind = v.get("kind")
    months = age_months(person.birth_date, on) if person.birth_date else None
    if kind == "child" and v.get("weight_kg") is not None:
        out.append(("TIMBANG", None))
    if v.get("vitamin_a"):
        out.append(("VITA_BIRU" if months is not None and months < 12 else "VITA_MERAH", None))
    if v.get("anc_contact") is not None:
        out.append((anc_code(int(v["anc_contact"])), None))
    if v.get("iron_tablets") is not None and kind == "pregnant":
        out.append((TTD_HAMIL, {"tablets": int(v["iron_tablets"])}))
    if v.get("skilas_positive") is not None:
        out.append(("SKILAS", {"result": "positive" if v["skilas_positive"] else "normal"}))
    if kind == "adult" and months is not None and 15 * 12 <= months < 60 * 12 and any(v.get(k) is not None for k in PTM_MEASURES):
        out.append(("SKRINING_PTM", None))
    return out


async def save_visit(ctx: Ctx, person: Person, v: dict) -> Visit:
    """Writes the visit, its measurements, the doses and services it recorded, and the audit entry."""
    visit = Visit(person_id=person.id, posyandu_id=ctx.identity.posyandu_id, kader_id=ctx.identity.id,
                  visited_on=ctx.today, place=v.get("place") or "posyandu", notes=v.get("note"), created_at=ctx.now)
    ctx.session.add(visit)
    await ctx.session.flush()
    for kind in MEASURE_KINDS:
        if v.get(kind) is not None:
            detail = v.get("measured") if kind == "length_cm" else None
            ctx.session.add(Measurement(visit_id=visit.id, kind=kind, value=float(v[kind]), detail=detail))
    done = visit_records(person, v, ctx.today)
    for code, detail in done:
        await record(ctx.session, person_id=person.id, code=code, on=ctx.today, now=ctx.now, source="kader",
                     visit_id=visit.id, detail=detail, by=ctx.identity.id)
    audit(ctx, "visit.logged", "visit", visit.id, person=person.id, records=[code for code, _d in done])
    return visit


async def undo_last_visit(ctx: Ctx, args: str = "") -> None:
    """``/urung``: removes this kader's last visit when it was logged in the last 30 minutes."""
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
    await ctx.session.execute(delete(CareRecord).where(CareRecord.visit_id == visit.id))
    await ctx.session.execute(delete(Measurement).where(Measurement.visit_id == visit.id))
    await ctx.session.delete(visit)
    audit(ctx, "visit.undone", "visit", visit.id, person=visit.person_id)
    ctx.note(_("Kunjungan {name} tanggal {date} dibatalkan.", name=person.name if person else "-", date=format_date(visit.visited_on, "short")))


async def enter(ctx: Ctx) -> Next:
    """Only a kader logs visits."""
    if not is_kader(ctx):
        ctx.note(_("Hanya kader yang dapat mencatat kunjungan. Kader bergabung dengan /kader <kode undangan>."))
        return END
    return "family"


VISIT = Flow(
    name="visit",
    first="family",
    enter=enter,
    steps={
        "family": Step(ask_family, on_family),
        "family_pick": Step(ask_family_pick, on_family_pick),
        "member": Step(ask_member, on_member),
        "place": Step(ask_place, on_place),
        "size": Step(ask_size, on_size),
        "head_arm": Step(ask_head_arm, on_head_arm),
        "weight": _measure("weight_kg", 0.5, 150, N_("Berat badan (kg)?")),
        "muac": _measure("muac_cm", 8, 50, N_("Lingkar lengan atas / LILA (cm)?"), optional=True),
        "vita": Step(ask_vita, on_vita),
        "doses": Step(ask_doses, on_doses),
        "bp": Step(ask_bp, on_bp),
        "iron": _measure("iron_tablets", 0, 200, N_("Berapa tablet tambah darah yang diberikan?"), optional=True),
        "anc": _measure("anc_contact", 1, 12, N_("Pemeriksaan kehamilan (ANC) ke berapa?"), optional=True),
        "glucose": _measure("glucose", 20, 800, N_("Gula darah sewaktu (mg/dL)?"), optional=True),
        "waist": _measure("waist_cm", 40, 200, N_("Lingkar perut (cm)?"), optional=True),
        "skilas": Step(ask_skilas, on_skilas),
        "confirm": Step(ask_confirm, on_confirm),
        "after": Step(ask_after, on_after),
    },
)

__all__ = ["VISIT", "undo_last_visit", "save_visit", "visit_text", "assessment", "member_kind"]


# -- fast entry: one line, the same confirmation --------------------------------------------------

FAST_ERRORS = {
    "command": N_("Mulai dengan kata catat."),
    "family_code": N_("Kode keluarga tidak terbaca (contoh K-7QX2MA)."),
    "missing_value": N_("Nilainya belum ditulis."),
    "number": N_("Bukan angka yang benar (contoh 8,2)."),
    "whole_number": N_("Harus bilangan bulat."),
    "bp": N_("Tulis tekanan darah seperti 120/80."),
    "dose": N_("Kode imunisasi tidak dikenal (contoh dpt2 pcv2 opv3)."),
    "name": N_("Nama anggota tidak terbaca."),
    "duplicate": N_("Ditulis dua kali."),
    "unknown": N_("Tidak dimengerti."),
    "member": N_("Siapa yang dikunjungi? Tambahkan anak1, anak2, ibu, atau nama."),
    "empty": N_("Tidak ada yang dicatat."),
}


def _fast_values(entry) -> dict:
    """The visit draft of a parsed fast entry."""
    return {
        "place": "posyandu", "weight_kg": entry.weight_kg, "length_cm": entry.length_cm, "measured": entry.measured,
        "head_cm": entry.head_cm, "muac_cm": entry.muac_cm, "glucose": entry.glucose, "waist_cm": entry.waist_cm,
        "sbp": entry.bp[0] if entry.bp else None, "dbp": entry.bp[1] if entry.bp else None,
        "doses": list(entry.doses), "vitamin_a": entry.vitamin_a, "iron_tablets": entry.iron_tablets,
        "anc_contact": entry.anc_contact, "note": entry.note,
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


async def fast_entry(ctx: Ctx, text: str) -> Next | None:
    """``catat K-XXXXXX anak2 bb 8,2 ...``: saved at once with the confirmation; a doubtful value asks first."""
    from care.plausibility import check_adult, check_child
    from handlers.fast_entry import FastEntryError, parse_fast_entry

    if not is_kader(ctx):
        ctx.note(_("Hanya kader yang dapat mencatat kunjungan. Kader bergabung dengan /kader <kode undangan>."))
        return None
    try:
        entry = parse_fast_entry(text)
    except FastEntryError as err:
        part = f"\u201c{err.part[:40]}\u201d: " if err.part else ""
        ctx.note(_("Belum tercatat. {part}{why}", part=part, why=_(FAST_ERRORS.get(err.code, FAST_ERRORS["unknown"]))))
        return None
    family = await family_in_scope(ctx, entry.family_code)
    if family is None:
        ctx.note(_("Belum tercatat. Tidak ada keluarga dengan kode {code} di posyandu Anda.", code=entry.family_code[:12]))
        return None
    members = await family_members(ctx.session, family.id)
    person = _pick_member(members, entry.member, ctx.today)
    if person is None:
        ctx.note(_("Belum tercatat. Anggota itu tidak ditemukan di keluarga {name}.", name=family.name))
        return None
    v = {"family_id": family.id, "person_id": person.id, "kind": member_kind(person, ctx.today), **_fast_values(entry)}
    if v["kind"] == "child" and v["length_cm"] is not None and v["measured"] is None:
        v["measured"] = "l" if age_months(person.birth_date, ctx.today) < 24 else "h"
    weighings = await weighings_of(ctx, person.id)
    if v["kind"] == "child":
        concerns = check_child(1 if person.sex == "M" else 2, person.birth_date, ctx.today, weight_kg=v["weight_kg"],
                               length_cm=v["length_cm"], measured=v["measured"], head_cm=v["head_cm"], muac_cm=v["muac_cm"],
                               previous=weighings)
    else:
        concerns = check_adult(sbp=v["sbp"], dbp=v["dbp"], glucose=v["glucose"], waist_cm=v["waist_cm"],
                               muac_cm=v["muac_cm"], weight_kg=v["weight_kg"])
    if concerns:
        v["concerns"] = [c.code for c in concerns]
        from handlers.flow import Goto

        return Goto("visit", "confirm", {"v": v})
    await save_visit(ctx, person, v)
    ctx.note(_("Tersimpan.") + "\n" + visit_text(person, v, ctx.today, weighings))
    return None
