"""Recording a birth (``/lahir``): the pregnancy closes, the mother enters nifas, the baby joins."""
from __future__ import annotations

from datetime import date, timedelta

from care.stages import is_pregnant
from content.i18n import _, format_date
from db.models import Person
from db.queries import family_members
from handlers.describe import person_line
from handlers.family import MAX_MEMBERS, date_hint
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.parsing import ParseError, clean_name, normalize, parse_date

EARLIEST_WEEKS = 20
TODAY_WORDS = {"hari ini": 0, "today": 0, "kemarin": 1, "yesterday": 1}


async def _pregnant(ctx: Ctx) -> list[Person]:
    """Members pregnant today (or whose due date passed without a recorded birth)."""
    members = await family_members(ctx.session, ctx.identity.family_id)
    return [m for m in members if m.hpht and is_pregnant(m.hpht, ctx.today, m.delivered_on)]


async def enter(ctx: Ctx) -> Next:
    """Picks the mother when there is one pregnancy; sends away when there is none."""
    if len(await family_members(ctx.session, ctx.identity.family_id)) >= MAX_MEMBERS:
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


async def _mother(ctx: Ctx) -> Person:
    person = await ctx.session.get(Person, ctx.data["mother_id"])
    if person is None or person.family_id != ctx.identity.family_id:
        raise Invalid(_("Data ibu tidak ditemukan. Ketik batal lalu coba lagi."))
    return person


async def ask_birth_date(ctx: Ctx) -> Question:
    mother = await _mother(ctx)
    return Question(
        _("Selamat! Kapan bayi {mother} lahir? Ketik tanggalnya, misalnya {example}", mother=mother.name, example=format_date(ctx.today, "d-MM-y")),
        ((_("Hari ini"), "today"), (_("Kemarin"), "yesterday")),
    )


async def on_birth_date(ctx: Ctx, answer: Answer) -> Next:
    """Stores the birth date; asks the baby's sex next."""
    mother = await _mother(ctx)
    word = answer.choice or normalize(answer.text)
    if word in TODAY_WORDS:
        born = ctx.today - timedelta(days=TODAY_WORDS[word])
    else:
        try:
            born = parse_date(answer.text, ctx.today)
        except ParseError as exc:
            raise Invalid(date_hint(exc.code, format_date(ctx.today, "d-MM-y"))) from None
    if born > ctx.today:
        raise Invalid(_("Tanggal lahir tidak boleh setelah hari ini ({today}).", today=format_date(ctx.today)))
    if mother.hpht and born < mother.hpht + timedelta(weeks=EARLIEST_WEEKS):
        raise Invalid(_("Tanggal itu kurang dari {weeks} minggu setelah HPHT ({hpht}). Periksa lagi.", weeks=EARLIEST_WEEKS, hpht=format_date(mother.hpht)))
    ctx.data["born"] = born.isoformat()
    return "baby_sex"


async def ask_baby_sex(ctx: Ctx) -> Question:
    return Question(_("Jenis kelamin bayi?"), ((_("Laki-laki"), "M"), (_("Perempuan"), "F")))


async def on_baby_sex(ctx: Ctx, answer: Answer) -> Next:
    """Stores the baby's sex; asks the baby's name next."""
    if answer.choice not in ("M", "F"):
        raise Invalid(_("Pilih Laki-laki atau Perempuan."))
    ctx.data["sex"] = answer.choice
    return "baby_name"


async def ask_baby_name(ctx: Ctx) -> Question:
    return Question(_("Nama bayi? Ketik - jika belum diberi nama."))


async def on_baby_name(ctx: Ctx, answer: Answer) -> Next:
    """Stores the baby and closes the pregnancy; ends with the new stages."""
    mother = await _mother(ctx)
    if answer.text.strip() == "-":
        name = _("Bayi {mother}", mother=mother.name)[:60]
    else:
        try:
            name = clean_name(answer.text)
        except ParseError:
            raise Invalid(_("Ketik nama dengan huruf, atau - jika belum ada nama.")) from None
    born = date.fromisoformat(ctx.data["born"])
    mother.delivered_on = born
    mother.updated_at = ctx.now
    baby = Person(family_id=mother.family_id, name=name, sex=ctx.data["sex"], birth_date=born, created_at=ctx.now, updated_at=ctx.now)
    ctx.session.add(baby)
    await ctx.session.flush()
    ctx.note(
        _("Kelahiran tercatat. Semoga ibu dan bayi sehat!") + "\n"
        + person_line(mother, ctx.today) + "\n" + person_line(baby, ctx.today) + "\n"
        + _("Kunjungan nifas dan neonatal akan kami ingatkan.")
    )
    return END


BIRTH = Flow(
    name="birth",
    first="birth_date",
    enter=enter,
    needs_family=True,
    steps={
        "mother": Step(ask_mother, on_mother),
        "birth_date": Step(ask_birth_date, on_birth_date),
        "baby_sex": Step(ask_baby_sex, on_baby_sex),
        "baby_name": Step(ask_baby_name, on_baby_name),
    },
)
