"""Recording a birth (``/lahir``): the pregnancy closes, the mother enters nifas, the babies join.

Asks the day, how many babies (twins, triplets), then for each baby the sex, the name and the birth
weight (``3,2 kg``, ``3200``, ``3.2``, ``3200 gram``). A baby under 2,500 g is BBLR: a referral is
opened (``handlers.referrals.open_referrals``) and the family is told. A birth before 37 weeks
(counted from HPHT) is noted as preterm. The mother gets a ``LifeEvent`` ``birth`` with
``{"weeks", "babies", "preterm"}``; each baby its ``birth_weight_g``.

Also reached from the member list (*Kehamilan* -> *Sudah melahirkan*), where a kader may be working
on a family of their posyandu (``family_id`` in the flow data).
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from care.stages import is_pregnant
from content.i18n import N_, _, format_date, format_number
from db.models import LifeEvent, Person
from db.queries import family_members
from handlers.describe import person_line
from handlers.family import MAX_MEMBERS, date_hint
from handlers.flow import END, Answer, Ctx, Flow, Goto, Invalid, Next, Question, Step
from handlers.kader import audit
from handlers.parsing import ParseError, clean_name, normalize, parse_birth_weight, parse_count, parse_when
from handlers.referrals import open_referrals

EARLIEST_WEEKS = 20
#: Born before this many completed weeks: preterm.
TERM_WEEKS = 37
#: Below this weight (grams): BBLR (berat badan lahir rendah).
LOW_BIRTH_WEIGHT_G = 2500
#: Birth weights outside this range (grams) are refused as a typing mistake.
BIRTH_WEIGHT_RANGE = (400, 6500)
MAX_BABIES = 3
TODAY_WORDS = {"hari ini": 0, "today": 0, "tadi": 0, "kemarin": 1, "kemaren": 1, "yesterday": 1}
#: How many babies, in words: "kembar" alone is twins.
BABY_WORDS = {"kembar": 2, "twins": 2, "twin": 2, "kembar 2": 2, "kembar 3": 3, "triplets": 3, "tunggal": 1, "single": 1}
#: "no name yet" for a baby
NO_NAME_WORDS = frozenset({"belum", "belum ada", "belum ada nama", "belum diberi nama", "belum punya nama", "tidak ada",
                           "tidak ada nama", "blm", "not yet", "none", "no name"})


def _family_id(ctx: Ctx) -> int | None:
    """The family: one a kader works on (set by the member list), else the chat's own."""
    return ctx.data.get("family_id") or ctx.identity.family_id


async def _pregnant(ctx: Ctx) -> list[Person]:
    """Members pregnant today (or whose due date passed without a recorded birth)."""
    members = await family_members(ctx.session, _family_id(ctx))
    return [m for m in members if m.hpht and is_pregnant(m.hpht, ctx.today, m.delivered_on)]


async def enter(ctx: Ctx) -> Next:
    """Picks the mother when there is one pregnancy; sends away when there is none."""
    if _family_id(ctx) is None:
        ctx.note(_("Bapak/Ibu belum mendaftarkan keluarga."))
        return Goto("register")
    if len(await family_members(ctx.session, _family_id(ctx))) >= MAX_MEMBERS:
        ctx.note(_("Satu keluarga paling banyak {max} anggota.", max=MAX_MEMBERS))
        return END
    mothers = await _pregnant(ctx)
    if not mothers:
        ctx.note(_("Tidak ada anggota keluarga yang tercatat sedang hamil. Tambahkan kehamilan lewat /keluarga."))
        return END
    if len(mothers) == 1:
        ctx.data["mother_id"] = mothers[0].id
        return "birth_date"
    return "mother"


async def ask_mother(ctx: Ctx) -> Question:
    return Question(_("Siapa yang melahirkan?"), tuple((m.name, str(m.id)) for m in await _pregnant(ctx)))


async def on_mother(ctx: Ctx, answer: Answer) -> Next:
    """Stores the mother; asks the baby's birth date next."""
    ids = {m.id for m in await _pregnant(ctx)}
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in ids):
        raise Invalid(_("Pilih nama dari daftar."))
    ctx.data["mother_id"] = int(answer.choice)
    return "birth_date"


async def _mother(ctx: Ctx) -> Person | None:
    """The mother, if she is still a member of the family being worked on."""
    person = await ctx.session.get(Person, ctx.data.get("mother_id") or 0)
    if person is None or person.family_id != _family_id(ctx):
        return None
    return person


GONE = N_("Data ibu tidak ditemukan. Ketik batal lalu coba lagi.")


async def ask_birth_date(ctx: Ctx) -> Question:
    mother = await _mother(ctx)
    if mother is None:
        return Question(_(GONE))
    return Question(
        _("Selamat! Kapan bayi {mother} lahir? Ketik tanggalnya, misalnya {example}", mother=mother.name, example=format_date(ctx.today, "d-MM-y")),
        ((_("Hari ini"), "today"), (_("Kemarin"), "yesterday")),
    )


async def on_birth_date(ctx: Ctx, answer: Answer) -> Next:
    """Stores the birth date; asks how many babies next."""
    mother = await _mother(ctx)
    if mother is None:
        return END
    word = answer.choice or normalize(answer.text).strip(" .!")
    if word in TODAY_WORDS:
        born = ctx.today - timedelta(days=TODAY_WORDS[word])
    else:
        try:  # "12-11-2026", "tgl 12 November", "3 hari lalu"
            precision, born = parse_when(answer.text, ctx.today)
        except ParseError as exc:
            raise Invalid(date_hint(exc.code, format_date(ctx.today, "d-MM-y"))) from None
        if precision != "day":
            raise Invalid(_("Tulis tanggalnya, misalnya {example}, atau pilih Hari ini atau Kemarin.",
                            example=format_date(ctx.today, "d-MM-y")))
    if born > ctx.today:
        raise Invalid(_("Tanggal lahir tidak boleh setelah hari ini ({today}).", today=format_date(ctx.today)))
    if mother.hpht and born < mother.hpht + timedelta(weeks=EARLIEST_WEEKS):
        raise Invalid(_("Tanggal itu kurang dari {weeks} minggu setelah HPHT ({hpht}). Periksa lagi.", weeks=EARLIEST_WEEKS, hpht=format_date(mother.hpht)))
    ctx.data["born"] = born.isoformat()
    return "babies"


async def ask_babies(ctx: Ctx) -> Question:
    return Question(_("Berapa bayi yang lahir?"), ((_("Satu"), "1"), (_("Kembar dua"), "2"), (_("Kembar tiga"), "3")))


async def on_babies(ctx: Ctx, answer: Answer) -> Next:
    """Stores how many babies; asks the first baby's sex next."""
    count = int(answer.choice) if answer.choice in ("1", "2", "3") else None
    if count is None:
        words = normalize(answer.text).strip(" .!")
        if words in BABY_WORDS:
            count = BABY_WORDS[words]
        else:
            try:
                count = parse_count(re.sub(r"\b(?:kembar|bayi|anak|orang|babies|baby)\b", " ", words))
            except ParseError:
                count = None
    if count is None or not 1 <= count <= MAX_BABIES:
        raise Invalid(_("Pilih Satu, Kembar dua atau Kembar tiga."))
    members = await family_members(ctx.session, _family_id(ctx))
    if len(members) + count > MAX_MEMBERS:
        raise Invalid(_("Satu keluarga paling banyak {max} anggota.", max=MAX_MEMBERS))
    ctx.data.update(count=count, babies=[], b={})
    return "baby_sex"


def _nth(ctx: Ctx) -> int | None:
    """Which baby is asked about: None for a single baby, else 1, 2, 3."""
    if int(ctx.data.get("count") or 1) == 1:
        return None
    return len(ctx.data.get("babies", [])) + 1


async def ask_baby_sex(ctx: Ctx) -> Question:
    choices = ((_("Laki-laki"), "M"), (_("Perempuan"), "F"))
    n = _nth(ctx)
    if n is None:
        return Question(_("Jenis kelamin bayi?"), choices)
    return Question(_("Bayi ke-{n}: laki-laki atau perempuan?", n=n), choices)


async def on_baby_sex(ctx: Ctx, answer: Answer) -> Next:
    """Stores the baby's sex; asks the baby's name next."""
    if answer.choice not in ("M", "F"):
        raise Invalid(_("Pilih Laki-laki atau Perempuan."))
    ctx.data["b"] = {"sex": answer.choice}
    return "baby_name"


async def ask_baby_name(ctx: Ctx) -> Question:
    n = _nth(ctx)
    if n is None:
        return Question(_("Nama bayi? Ketik - jika belum diberi nama."))
    return Question(_("Nama bayi ke-{n}? Ketik - jika belum diberi nama.", n=n))


async def on_baby_name(ctx: Ctx, answer: Answer) -> Next:
    """Stores the baby's name; asks the birth weight next."""
    mother = await _mother(ctx)
    if mother is None:
        return END
    if answer.text.strip() == "-" or normalize(answer.text).strip(" .!") in NO_NAME_WORDS:
        count, n = int(ctx.data.get("count") or 1), len(ctx.data.get("babies", [])) + 1
        name = (_("Bayi {mother}", mother=mother.name) if count == 1 else _("Bayi {n} {mother}", n=n, mother=mother.name))[:60]
    else:
        try:
            name = clean_name(answer.text)
        except ParseError:
            raise Invalid(_("Ketik nama dengan huruf, atau - jika belum ada nama.")) from None
    ctx.data.setdefault("b", {})["name"] = name
    return "baby_weight"


async def ask_baby_weight(ctx: Ctx) -> Question:
    return Question(_("Berat lahir {name}? Contoh: 3,2 kg atau 3200 gram (lihat Buku KIA).", name=ctx.data.get("b", {}).get("name", "")),
                    ((_("Tidak tahu"), "unknown"),))


async def on_baby_weight(ctx: Ctx, answer: Answer) -> Next:
    """Stores the baby's weight; the next baby, or everything saved."""
    if answer.choice == "unknown":
        grams = None
    else:
        try:
            grams = parse_birth_weight(answer.text)
        except ParseError as exc:
            number = re.match(r"\d+(?:[.,]\d+)?", normalize(answer.text))
            if exc.code == "unit" and number:
                value = float(number[0].replace(",", ".")) / 10
                raise Invalid(_("Maksudnya {value} kg? Tulis berat lahir dengan satuannya, misalnya 3,2 kg atau 3200 gram.",
                                value=format_number(value))) from None
            raise Invalid(_("Tulis berat lahir seperti 3,2 kg atau 3200 gram.")) from None
        low, high = BIRTH_WEIGHT_RANGE
        if not low <= grams <= high:
            raise Invalid(_("Berat lahir {grams} gram jauh di luar yang wajar. Periksa angkanya, tulis seperti 3,2 kg atau 3200 gram.",
                            grams=format_number(grams, 0)))
    babies = list(ctx.data.get("babies", []))
    babies.append({**ctx.data.get("b", {}), "weight_g": grams})
    ctx.data.update(babies=babies, b={})
    if len(babies) < int(ctx.data.get("count") or 1):
        return "baby_sex"
    return await _save(ctx)


async def _save(ctx: Ctx) -> Next:
    """Closes the pregnancy, adds the babies, records the birth and opens a referral for a BBLR baby."""
    mother = await _mother(ctx)
    if mother is None:
        return END
    born = date.fromisoformat(ctx.data["born"])
    weeks = (born - mother.hpht).days // 7 if mother.hpht else None
    preterm = weeks is not None and weeks < TERM_WEEKS
    mother.delivered_on = born
    mother.updated_at = ctx.now
    babies = []
    for draft in ctx.data.get("babies", []):
        baby = Person(family_id=mother.family_id, name=draft["name"], sex=draft["sex"], birth_date=born,
                      birth_weight_g=draft.get("weight_g"), created_at=ctx.now, updated_at=ctx.now)
        ctx.session.add(baby)
        babies.append(baby)
    ctx.session.add(LifeEvent(person_id=mother.id, kind="birth", on_date=born, recorded_by=ctx.identity.id, created_at=ctx.now,
                              detail={"weeks": weeks, "babies": len(babies), "preterm": preterm if weeks is not None else None}))
    await ctx.session.flush()
    if ctx.data.get("family_id") and ctx.data["family_id"] != ctx.identity.family_id:
        audit(ctx, "life_event.recorded", "person", mother.id, kind="birth", babies=len(babies))
    lines = [_("Kelahiran tercatat. Semoga ibu dan bayi sehat!"), person_line(mother, ctx.today)]
    lines += [person_line(baby, ctx.today) for baby in babies]
    if preterm:
        lines.append(_("Bayi lahir kurang bulan (usia kehamilan {weeks} minggu). Jaga bayi tetap hangat, "
                       "dan periksakan ke bidan atau puskesmas.", weeks=weeks))
    for baby in babies:
        if baby.birth_weight_g is not None and baby.birth_weight_g < LOW_BIRTH_WEIGHT_G:
            await open_referrals(ctx, baby, [("lbw", {"birth_weight_g": baby.birth_weight_g})])
            lines.append(_("Berat lahir {name} {grams} gram, di bawah 2.500 gram (BBLR). {name} perlu diperiksa di "
                           "puskesmas dalam 7 hari; bawa Buku KIA. Kader posyandu akan menanyakan kabarnya.",
                           name=baby.name, grams=format_number(baby.birth_weight_g, 0)))
    lines.append(_("Kunjungan nifas dan neonatal akan kami ingatkan."))
    ctx.note("\n".join(lines))
    return END


async def _expecting(ctx: Ctx) -> bool:
    """The menu offers the birth while a member of the family is pregnant today (not to staff, who use commands)."""
    if ctx.identity.family_id is None or ctx.identity.role == "staff":
        return False
    members = await family_members(ctx.session, ctx.identity.family_id)
    return any(is_pregnant(m.hpht, ctx.today, m.delivered_on) for m in members)


BIRTH = Flow(
    name="birth",
    first="birth_date",
    enter=enter,
    commands=("lahir", "birth", "kelahiran"),
    menu_label=N_("Catat kelahiran"),
    menu_when=_expecting,
    help_line=N_("Catat kelahiran"),
    steps={
        "mother": Step(ask_mother, on_mother),
        "birth_date": Step(ask_birth_date, on_birth_date),
        "babies": Step(ask_babies, on_babies),
        "baby_sex": Step(ask_baby_sex, on_baby_sex),
        "baby_name": Step(ask_baby_name, on_baby_name),
        "baby_weight": Step(ask_baby_weight, on_baby_weight),
    },
)
