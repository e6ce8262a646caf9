"""A household's members: the list, and adding, editing or removing one (``/keluarga``).

Registration ends here too (``mode: register``): members are added one by one and the family is
marked registered when the person picks *Selesai*. A kader works on a family of their own posyandu
the same way (``/keluarga K-XXXXXX``, or registering one with ``/daftarkan``): ``family_id`` in the
flow data, every change audited.

A birth date may be approximate (``1959``, ``Maret 1960``, ``67 tahun``; ``tidak tahu`` asks for an
age): Person.birth_precision says how it is known. A child who may be under 6 needs the exact day:
the immunisation schedule and growth are counted in months from it (it is in the Buku KIA).

Right after a member is added, the history questions that fit them follow (``handlers.history``),
then the list again. Ending a recorded pregnancy asks what happened: a birth (``/lahir``), a loss
(``LifeEvent`` ``pregnancy_loss``; from 20 weeks a stillbirth, with nifas care) or a mistake.
"""
from __future__ import annotations

from datetime import date, timedelta

from care.history import month_date
from care.stages import (
    add_months,
    age_months,
    age_years,
    due_date_from_hpht,
    gestational_age,
    hpht_from_due_date,
    is_pregnant,
)
from content.i18n import N_, _, format_date
from db.models import Family, LifeEvent, Person, Posyandu
from db.queries import family_members, next_posyandu_session
from handlers.describe import person_line, schedule_text, session_text
from handlers.history import follow_up
from handlers.kader import audit, family_named
from handlers.flow import END, Answer, Ctx, Flow, Goto, Invalid, Next, Question, Step, has_family
from handlers.parsing import (
    BirthGuess,
    ParseError,
    birth_from_age,
    clean_name,
    normalize,
    parse_age,
    parse_birth,
    parse_date,
    parse_gestation_days,
    parse_when,
)

MAX_MEMBERS = 20
MAX_AGE_YEARS = 120
PREGNANCY_AGE = (10, 55)
MAX_GESTATION_WEEKS = 44
MAX_DUE_MONTHS = 10
#: Below this age (months) the exact birth date is needed: the immunisation card runs to 71 months
#: and development screening to 72, both counted in months from the day of birth.
EXACT_BIRTH_MONTHS = 72
#: A pregnancy that ends from this week on is a stillbirth: the mother gets nifas care.
STILLBIRTH_WEEKS = 20


async def enter(ctx: Ctx) -> Next:
    """The person's own family; a kader's ``/keluarga K-XXXXXX`` (own posyandu, audited); without a
    family to work on, the person registers first."""
    args = str(ctx.data.pop("args", "") or "").strip()
    if args:
        family = await family_named(ctx, args, via="family", not_kader=_(
            "Hanya kader yang dapat membuka data keluarga lain. Ketik /keluarga saja untuk keluarga Bapak/Ibu."))
        if family is None:
            return END
        ctx.data["family_id"] = family.id
        return "menu"
    if family_id_of(ctx) is None:
        ctx.note(_("Bapak/Ibu belum mendaftarkan keluarga."))
        return Goto("register")
    return "menu"


def family_id_of(ctx: Ctx) -> int | None:
    """The family being worked on: one a kader registers for others (set by the flow), else the person's own."""
    return ctx.data.get("family_id") or ctx.identity.family_id


def _for_other(ctx: Ctx) -> bool:
    """Whether a kader is working on a family of their posyandu (records say "kader"; changes are audited)."""
    return bool(ctx.data.get("family_id")) and ctx.data.get("family_id") != ctx.identity.family_id


def date_hint(code: str, example: str) -> str:
    """Why a typed date was not understood, with an example."""
    if code == "no_such_day":
        return _("Tanggal itu tidak ada di kalender. Periksa lagi, misalnya: {example}", example=example)
    return _("Maaf, tanggalnya tidak terbaca. Tulis seperti: {example}", example=example)


async def _members(ctx: Ctx) -> list[Person]:
    return await family_members(ctx.session, family_id_of(ctx))


async def _person(ctx: Ctx, person_id: int | None) -> Person | None:
    """A member of the person's own family by id (never another family's)."""
    if person_id is None:
        return None
    person = await ctx.session.get(Person, person_id)
    return person if person is not None and person.family_id == family_id_of(ctx) else None


def _member_choices(members: list[Person]) -> tuple[tuple[str, str], ...]:
    return tuple((m.name, str(m.id)) for m in members)


# -- the list ---------------------------------------------------------------------------------

async def ask_menu(ctx: Ctx) -> Question:
    members = await _members(ctx)
    family = await ctx.session.get(Family, family_id_of(ctx))
    if members:
        lines = [f"{i}. {person_line(m, ctx.today)}" for i, m in enumerate(members, 1)]
        text = _("Anggota keluarga {name}:", name=family.name) + "\n" + "\n".join(lines)
    else:
        text = _("Keluarga {name} belum punya anggota.", name=family.name)
    choices = [(_("Tambah anggota"), "add")]
    if members:
        choices += [(_("Ubah anggota"), "edit"), (_("Hapus anggota"), "remove")]
    choices.append((_("Selesai"), "done"))
    return Question(text, tuple(choices))


async def on_menu(ctx: Ctx, answer: Answer) -> Next:
    """Stores nothing; asks about the member to add, edit or remove, or finishes."""
    members = await _members(ctx)
    if answer.choice == "add":
        if len(members) >= MAX_MEMBERS:
            raise Invalid(_("Satu keluarga paling banyak {max} anggota.", max=MAX_MEMBERS))
        ctx.data.update(m={}, person_id=None, single=None)
        return "member_name"
    if answer.choice in ("edit", "remove") and members:
        return "pick_edit" if answer.choice == "edit" else "pick_remove"
    if answer.choice == "done":
        return await _finish(ctx, members)
    raise Invalid(_("Pilih salah satu: tambah, ubah, hapus anggota, atau selesai."))


async def _finish(ctx: Ctx, members: list[Person]) -> Next:
    """Marks a new family registered and shows the summary; ends the flow."""
    if not members:
        raise Invalid(_("Tambahkan paling sedikit satu anggota keluarga dulu."))
    family = await ctx.session.get(Family, family_id_of(ctx))
    if ctx.data.get("mode") == "register" or family.registered_at is None:
        family.registered_at = ctx.now
        posyandu = await ctx.session.get(Posyandu, family.posyandu_id)
        if ctx.data.get("family_id"):
            audit(ctx, "family.registered_for", "family", family.id, members=len(members))
            ctx.note(_("Kader: berikan kode keluarga ini kepada keluarga. Dengan HP mereka, ketik /gabung {code} untuk menerima pengingat.", code=family.code))
        lines = "\n".join(f"{i}. {person_line(m, ctx.today)}" for i, m in enumerate(members, 1))
        ctx.note(
            _(
                "Pendaftaran selesai! Keluarga {name}, {posyandu} (Desa {village}), jadwal posyandu {schedule}; "
                "berikutnya {next}.\n"
                "Kode keluarga: {code}\n{members}\n\n"
                "Kami akan mengingatkan jadwal posyandu dan imunisasi setiap anggota.",
                name=family.name, posyandu=posyandu.name, village=posyandu.village_name,
                schedule=schedule_text(posyandu.schedule), code=family.code, members=lines,
                next=session_text(await next_posyandu_session(ctx.session, posyandu, ctx.today)),
            )
        )
    else:
        ctx.note(_("Data keluarga tersimpan."))
    family.updated_at = ctx.now
    return END


# -- one member, question by question ---------------------------------------------------------

async def ask_member_name(ctx: Ctx) -> Question:
    if ctx.data.get("mode") == "register" and not await _members(ctx):
        return Question(_("Siapa anggota keluarga pertama? Ketik namanya, misalnya nama ibu."))
    return Question(_("Nama anggota keluarga?"))


async def on_member_name(ctx: Ctx, answer: Answer) -> Next:
    """Stores the member's name; asks the sex next."""
    try:
        name = clean_name(answer.text)
    except ParseError as exc:
        if exc.code == "too_long":
            raise Invalid(_("Nama terlalu panjang, paling banyak {max} huruf.", max=60)) from None
        raise Invalid(_("Ketik nama dengan huruf, misalnya: Ni Made Sari")) from None
    ctx.data.setdefault("m", {})["name"] = name
    return await _next_or_save(ctx, "member_sex")


async def ask_member_sex(ctx: Ctx) -> Question:
    return Question(
        _("Jenis kelamin {name}?", name=ctx.data["m"].get("name", "")),
        ((_("Laki-laki"), "M"), (_("Perempuan"), "F")),
    )


async def on_member_sex(ctx: Ctx, answer: Answer) -> Next:
    """Stores the sex; asks the birth date next."""
    if answer.choice not in ("M", "F"):
        raise Invalid(_("Pilih Laki-laki atau Perempuan, atau ketik L atau P."))
    ctx.data["m"]["sex"] = answer.choice
    return await _next_or_save(ctx, "member_birth")


async def ask_member_birth(ctx: Ctx) -> Question:
    return Question(_("Tanggal lahir {name}? Contoh: 12-03-2024 atau 12 Maret 2024", name=ctx.data["m"].get("name", ""))
                    + "\n" + _("Jika tanggalnya tidak tahu, tulis tahunnya atau umurnya, misalnya 1959 atau 67 tahun."))


async def on_member_birth(ctx: Ctx, answer: Answer) -> Next:
    """Stores the birth date (or an estimate of it); asks the age when it is not known, about a
    pregnancy next (women 10-55), else saves."""
    try:
        guess = parse_birth(answer.text, ctx.today)
    except ParseError as exc:
        if exc.code == "unknown":
            return "member_age"
        if exc.code == "future":
            raise Invalid(_("Tanggal lahir tidak boleh setelah hari ini ({today}).", today=format_date(ctx.today))) from None
        raise Invalid(date_hint(exc.code, "12-03-2024") + "\n" + _("Atau tulis tahunnya atau umurnya: 1959, 67 tahun.")) from None
    return await _store_birth(ctx, guess)


async def ask_member_age(ctx: Ctx) -> Question:
    return Question(_("Kira-kira berapa umur {name}? Contoh: 67 tahun atau sekitar 70.", name=ctx.data["m"].get("name", "")))


async def on_member_age(ctx: Ctx, answer: Answer) -> Next:
    """Stores the birth date estimated from an age; goes on as after a birth date."""
    try:
        months, in_years = parse_age(answer.text)
    except ParseError:
        try:  # a year or a date typed here is fine too
            guess = parse_birth(answer.text, ctx.today)
        except ParseError:
            raise Invalid(_("Tulis umurnya dengan angka, misalnya 67 tahun. Perkiraan saja cukup.")) from None
        return await _store_birth(ctx, guess)
    return await _store_birth(ctx, birth_from_age(months, in_years, ctx.today))


async def _store_birth(ctx: Ctx, guess: BirthGuess) -> Next:
    """Checks and stores a birth date into the draft; the next question, or saves."""
    birth = guess.on
    if birth > ctx.today:
        raise Invalid(_("Tanggal lahir tidak boleh setelah hari ini ({today}).", today=format_date(ctx.today)))
    if age_years(birth, ctx.today) > MAX_AGE_YEARS:
        raise Invalid(_("Umur lebih dari {max} tahun tidak mungkin. Periksa tahunnya.", max=MAX_AGE_YEARS))
    if guess.precision is not None and age_months(guess.latest, ctx.today) < EXACT_BIRTH_MONTHS:
        raise Invalid(_("Untuk anak di bawah 6 tahun kami perlu tanggal lahir yang tepat, karena jadwal imunisasi dan "
                        "pertumbuhannya dihitung dari tanggal itu. Lihat di Buku KIA atau akta kelahiran, lalu tulis "
                        "seperti 12-03-2024."))
    ctx.data["m"]["birth"] = birth.isoformat()
    ctx.data["m"]["birth_precision"] = guess.precision
    sex = ctx.data["m"].get("sex")
    if ctx.data.get("single") or sex != "F" or not PREGNANCY_AGE[0] <= age_years(birth, ctx.today) <= PREGNANCY_AGE[1]:
        return await _save(ctx)
    return "member_pregnant"


async def ask_member_pregnant(ctx: Ctx) -> Question:
    return Question(_("Apakah {name} sedang hamil?", name=ctx.data["m"].get("name", "")), ((_("Ya"), "yes"), (_("Tidak"), "no")))


async def on_member_pregnant(ctx: Ctx, answer: Answer) -> Next:
    """Stores whether she is pregnant; asks how the pregnancy is dated next, what happened to a
    recorded pregnancy that is no more, or saves."""
    if answer.choice == "no":
        person = await _person(ctx, ctx.data.get("person_id"))
        if person is not None and person.hpht and is_pregnant(person.hpht, ctx.today, person.delivered_on):
            return "pregnancy_end"
        ctx.data["m"].update(hpht=None, due=None)
        return await _save(ctx)
    if answer.choice == "yes":
        return "pregnancy_kind"
    raise Invalid(_("Jawab ya atau tidak."))


async def ask_pregnancy_kind(ctx: Ctx) -> Question:
    return Question(
        _("Apa yang Bapak/Ibu ketahui tentang kehamilannya?"),
        (
            (_("Hari pertama haid terakhir (HPHT)"), "hpht"),
            (_("Perkiraan tanggal lahir (HPL)"), "due"),
            (_("Usia kehamilan"), "weeks"),
        ),
    )


async def on_pregnancy_kind(ctx: Ctx, answer: Answer) -> Next:
    """Stores how the pregnancy will be dated; asks for that date or age next. The age or the date
    typed straight away goes on at once: ``20 minggu`` / ``24`` is the age, a date that has passed
    the HPHT, one still ahead the HPL."""
    if answer.choice in ("hpht", "due", "weeks"):
        ctx.data["pregnancy_kind"] = answer.choice
        return "pregnancy_value"
    if answer.choice is None and answer.text.strip():
        try:
            parse_gestation_days(answer.text)
            ctx.data["pregnancy_kind"] = "weeks"
        except ParseError as exc:
            if exc.code == "unit":
                raise Invalid(_unit_hint(answer.text)) from None
            try:
                typed = parse_date(answer.text, ctx.today, prefer_future=True)
            except ParseError:
                typed = None
            if typed is None:
                raise Invalid(_("Pilih HPHT, HPL, atau usia kehamilan; atau ketik usia kehamilannya, misalnya 20 minggu.")) from None
            ctx.data["pregnancy_kind"] = "hpht" if typed <= ctx.today else "due"
        return await on_pregnancy_value(ctx, answer)
    raise Invalid(_("Pilih HPHT, HPL, atau usia kehamilan; atau ketik usia kehamilannya, misalnya 20 minggu."))


def _unit_hint(text: str) -> str:
    """The question back for a bare small number of a pregnancy's age (``5``: weeks or months?)."""
    number = "".join(ch for ch in text if ch.isdigit())[:2] or "5"
    return _("{n} minggu atau {n} bulan? Tulis dengan satuannya, misalnya {n} bulan.", n=number)


async def ask_pregnancy_value(ctx: Ctx) -> Question:
    kind = ctx.data.get("pregnancy_kind")
    if kind == "hpht":
        return Question(_("Tanggal hari pertama haid terakhir (HPHT)? Contoh: 5-08-2026"))
    if kind == "due":
        return Question(_("Perkiraan tanggal lahir (HPL)? Contoh: 14-05-2027"))
    return Question(_("Berapa usia kehamilannya? Contoh: 20 minggu atau 5 bulan"))


async def on_pregnancy_value(ctx: Ctx, answer: Answer) -> Next:
    """Stores HPHT and HPL computed from what was typed; saves the member."""
    kind = ctx.data.get("pregnancy_kind")
    days = None
    if kind != "weeks":  # a date; an age typed here ("20 minggu") is fine too
        try:
            typed = parse_date(answer.text, ctx.today, prefer_future=kind == "due")
        except ParseError as exc:
            try:
                days = parse_gestation_days(answer.text)
            except ParseError:
                raise Invalid(date_hint(exc.code, "14-05-2027" if kind == "due" else "5-08-2026")) from None
    if kind == "weeks" or days is not None:
        if days is None:
            try:
                days = parse_gestation_days(answer.text)
            except ParseError as exc:
                if exc.code == "unit":
                    raise Invalid(_unit_hint(answer.text)) from None
                raise Invalid(_("Tulis usia kehamilan seperti 20 minggu, 24 atau 5 bulan.")) from None
        if not 7 <= days <= MAX_GESTATION_WEEKS * 7:
            raise Invalid(_("Usia kehamilan harus antara 1 dan {max} minggu.", max=MAX_GESTATION_WEEKS))
        hpht = ctx.today - timedelta(days=days)
    else:
        hpht = typed if kind == "hpht" else hpht_from_due_date(typed)
        if kind == "hpht" and typed > ctx.today:
            raise Invalid(_("HPHT tidak boleh setelah hari ini."))
        if kind == "due" and typed < ctx.today:
            raise Invalid(_("HPL itu sudah lewat. Jika bayinya sudah lahir, selesaikan dulu lalu pakai /lahir."))
        if kind == "due" and typed > add_months(ctx.today, MAX_DUE_MONTHS):
            raise Invalid(_("HPL lebih dari {months} bulan lagi tidak mungkin. Periksa tanggalnya.", months=MAX_DUE_MONTHS))
    if hpht > ctx.today:
        raise Invalid(_("HPL itu lebih dari 40 minggu lagi, jadi kehamilannya belum dimulai. Periksa tanggalnya."))
    weeks, _days = gestational_age(hpht, ctx.today)
    if weeks > MAX_GESTATION_WEEKS:
        raise Invalid(_("Itu berarti hamil lebih dari {max} minggu. Jika bayinya sudah lahir, pakai /lahir.", max=MAX_GESTATION_WEEKS))
    ctx.data["m"].update(hpht=hpht.isoformat(), due=due_date_from_hpht(hpht).isoformat())
    return await _save(ctx)


async def _next_or_save(ctx: Ctx, nxt: str) -> Next:
    """In a one-field edit the member is saved now; otherwise the next question follows."""
    if ctx.data.get("single"):
        return await _save(ctx)
    return nxt


async def _save(ctx: Ctx) -> Next:
    """Writes the member from the draft (a new one, or the one being edited); back to the list."""
    draft = ctx.data.get("m", {})
    person = await _person(ctx, ctx.data.get("person_id"))
    new = person is None
    if person is None:
        person = Person(family_id=family_id_of(ctx), created_at=ctx.now)
        ctx.session.add(person)
    person.name = draft["name"]
    person.sex = draft["sex"]
    if person.sex == "M" or not _can_be_pregnant(draft, ctx.today):
        draft.update(hpht=None, due=None)
    if person.sex == "M":
        person.delivered_on = None
    person.birth_date = date.fromisoformat(draft["birth"]) if draft.get("birth") else None
    person.birth_precision = draft.get("birth_precision") if person.birth_date else None
    was_pregnant = bool(person.hpht and is_pregnant(person.hpht, ctx.today, person.delivered_on))
    if "hpht" in draft:
        person.hpht = date.fromisoformat(draft["hpht"]) if draft["hpht"] else None
        person.due_date = date.fromisoformat(draft["due"]) if draft.get("due") else None
    person.updated_at = ctx.now
    family = await ctx.session.get(Family, person.family_id)
    if family.registered_at is None:
        family.registered_at = ctx.now  # a family with a member gets reminders even if "Selesai" is never pressed
    await ctx.session.flush()
    if _for_other(ctx):
        audit(ctx, "person.added" if new else "person.updated", "person", person.id, family=person.family_id)
    ctx.note(_("Tersimpan: {line}", line=person_line(person, ctx.today)))
    _reset(ctx)
    topics = None
    if not new:  # an edit: only a pregnancy just recorded brings its check-ups question
        pregnant = bool(person.hpht and is_pregnant(person.hpht, ctx.today, person.delivered_on))
        topics = ["anc"] if pregnant and not was_pregnant else []
    back = {"flow": "family", "step": "menu", "data": dict(ctx.data)}
    source = "kader" if _for_other(ctx) else "family"
    return follow_up(ctx, person, family_id=person.family_id, source=source, back=back, topics=topics) or "menu"


def _reset(ctx: Ctx) -> None:
    """Forgets the member being worked on (the family and the mode stay)."""
    ctx.data.update(m={}, person_id=None, single=None, pregnancy_kind=None)


# -- edit and remove --------------------------------------------------------------------------

async def ask_pick_edit(ctx: Ctx) -> Question:
    return Question(_("Anggota mana yang ingin diubah?"), _member_choices(await _members(ctx)))


async def on_pick_edit(ctx: Ctx, answer: Answer) -> Next:
    """Stores the member to edit (as a draft); asks which detail next."""
    person = await _person(ctx, int(answer.choice) if answer.choice and answer.choice.isdecimal() else None)
    if person is None:
        raise Invalid(_("Pilih nama dari daftar."))
    ctx.data.update(
        person_id=person.id,
        m={
            "name": person.name, "sex": person.sex,
            "birth": person.birth_date.isoformat() if person.birth_date else None,
            "birth_precision": person.birth_precision,
        },
    )
    return "edit_field"


async def ask_edit_field(ctx: Ctx) -> Question:
    draft = ctx.data.get("m", {})
    choices = [(_("Nama"), "name"), (_("Jenis kelamin"), "sex"), (_("Tanggal lahir"), "birth")]
    if _can_be_pregnant(draft, ctx.today):
        choices.append((_("Kehamilan"), "pregnancy"))
    return Question(_("Apa yang ingin diubah dari {name}?", name=draft.get("name", "")), tuple(choices))


async def on_edit_field(ctx: Ctx, answer: Answer) -> Next:
    """Stores which detail is edited; asks for its new value next."""
    steps = {"name": "member_name", "sex": "member_sex", "birth": "member_birth", "pregnancy": "member_pregnant"}
    if answer.choice not in steps or (answer.choice == "pregnancy" and not _can_be_pregnant(ctx.data["m"], ctx.today)):
        raise Invalid(_("Pilih salah satu dari daftar."))
    ctx.data["single"] = answer.choice != "pregnancy"
    return steps[answer.choice]


def _can_be_pregnant(draft: dict, today: date) -> bool:
    """A woman of 10-55 years (or of unknown age) can have a pregnancy recorded."""
    if draft.get("sex") != "F":
        return False
    if not draft.get("birth"):
        return True
    return PREGNANCY_AGE[0] <= age_years(date.fromisoformat(draft["birth"]), today) <= PREGNANCY_AGE[1]


async def ask_pick_remove(ctx: Ctx) -> Question:
    return Question(_("Anggota mana yang ingin dihapus?"), _member_choices(await _members(ctx)))


async def on_pick_remove(ctx: Ctx, answer: Answer) -> Next:
    """Stores the member to remove; asks for confirmation next."""
    person = await _person(ctx, int(answer.choice) if answer.choice and answer.choice.isdecimal() else None)
    if person is None:
        raise Invalid(_("Pilih nama dari daftar."))
    ctx.data["person_id"] = person.id
    return "confirm_remove"


async def ask_confirm_remove(ctx: Ctx) -> Question:
    person = await _person(ctx, ctx.data.get("person_id"))
    name = person.name if person else ""
    return Question(_("Hapus {name} dari keluarga? Datanya akan hilang.", name=name), ((_("Ya, hapus"), "yes"), (_("Tidak"), "no")))


async def on_confirm_remove(ctx: Ctx, answer: Answer) -> Next:
    """Deletes the member when confirmed; back to the list."""
    if answer.choice not in ("yes", "no"):
        raise Invalid(_("Jawab ya untuk menghapus, atau tidak."))
    person = await _person(ctx, ctx.data.get("person_id"))
    if answer.choice == "yes" and person is not None:
        if _for_other(ctx):
            audit(ctx, "person.removed", "person", person.id, family=person.family_id)
        await ctx.session.delete(person)
        await ctx.session.flush()
        ctx.note(_("{name} sudah dihapus.", name=person.name))
    ctx.data["person_id"] = None
    return "menu"


# -- a pregnancy that ends ----------------------------------------------------------------------

async def ask_pregnancy_end(ctx: Ctx) -> Question:
    return Question(
        _("Kehamilan {name} tidak berlanjut? Apa yang terjadi?", name=ctx.data["m"].get("name", "")),
        ((_("Sudah melahirkan"), "birth"), (_("Keguguran"), "loss"), (_("Salah catat"), "mistake")),
    )


async def on_pregnancy_end(ctx: Ctx, answer: Answer) -> Next:
    """A birth goes on in /lahir for her; a loss asks when next; a mistake clears the pregnancy."""
    person = await _person(ctx, ctx.data.get("person_id"))
    if person is None:
        _reset(ctx)
        return "menu"
    if answer.choice == "birth":
        _reset(ctx)
        data = {"mother_id": person.id, "_return": {"flow": "family", "step": "menu", "data": dict(ctx.data)}}
        if _for_other(ctx):
            data["family_id"] = person.family_id
        return Goto("birth", "birth_date", data)
    if answer.choice == "loss":
        return "loss_when"
    if answer.choice == "mistake":
        ctx.data["m"].update(hpht=None, due=None)
        return await _save(ctx)
    raise Invalid(_("Pilih salah satu dari daftar."))


async def ask_loss_when(ctx: Ctx) -> Question:
    return Question(
        _("Kami turut prihatin. Kapan kejadiannya? Ketik tanggalnya, misalnya {example}, atau bulannya.",
          example=format_date(ctx.today - timedelta(days=3), "d-MM-y")),
        ((_("Hari ini"), "today"), (_("Minggu lalu"), "last_week")),
    )


async def on_loss_when(ctx: Ctx, answer: Answer) -> Next:
    """Records the loss (a LifeEvent); the pregnancy's reminders stop; from 20 weeks nifas care applies."""
    person = await _person(ctx, ctx.data.get("person_id"))
    if person is None or person.hpht is None:
        _reset(ctx)
        return "menu"
    precision = None
    if answer.choice == "today":
        day = ctx.today
    elif answer.choice == "last_week" or normalize(answer.text) in ("minggu lalu", "seminggu lalu", "last week"):
        day = ctx.today - timedelta(days=7)
    else:
        try:
            kind, day = parse_when(answer.text, ctx.today)
        except ParseError as exc:
            raise Invalid(date_hint(exc.code, format_date(ctx.today - timedelta(days=3), "d-MM-y"))) from None
        if day is None:
            raise Invalid(_("Perkiraan saja cukup: ketik tanggal atau bulannya, misalnya {month}.",
                            month=format_date(ctx.today, "MMMM y")))
        if kind == "month":
            try:
                day = month_date(day.year, day.month, ctx.today, person.hpht)
            except ValueError:
                raise Invalid(_("Bulan itu di luar kehamilan ini (HPHT {hpht}). Periksa lagi.", hpht=format_date(person.hpht))) from None
            precision = "month"
    if day > ctx.today:
        raise Invalid(_("Tanggal {date} belum lewat. Tulis tanggal yang sudah lewat.", date=format_date(day)))
    if day < person.hpht:
        raise Invalid(_("Tanggal itu sebelum kehamilan ini dimulai (HPHT {hpht}). Periksa lagi.", hpht=format_date(person.hpht)))
    weeks = (day - person.hpht).days // 7
    detail = {"weeks": weeks}
    if precision:
        detail["precision"] = precision
    ctx.session.add(LifeEvent(person_id=person.id, kind="pregnancy_loss", on_date=day, detail=detail,
                              recorded_by=ctx.identity.id, created_at=ctx.now))
    if weeks >= STILLBIRTH_WEEKS:
        person.delivered_on = day  # nifas care (KF, vitamin A nifas) follows
        text = _("Tercatat. Kami turut berduka cita. Semoga Ibu {name} diberi kekuatan. Mohon Ibu tetap diperiksa "
                 "bidan: kunjungan nifas penting untuk kesehatan Ibu, dan akan kami ingatkan.", name=person.name)
    else:
        person.hpht = person.due_date = None
        text = _("Tercatat. Kami turut prihatin, semoga Ibu {name} lekas pulih. Mohon periksakan diri ke bidan atau "
                 "puskesmas, segera bila ada perdarahan, demam atau nyeri perut. Pengingat kehamilan dihentikan.",
                 name=person.name)
    person.updated_at = ctx.now
    if _for_other(ctx):
        audit(ctx, "life_event.recorded", "person", person.id, kind="pregnancy_loss", weeks=weeks)
    ctx.note(text)
    _reset(ctx)
    return "menu"


FAMILY = Flow(
    name="family",
    first="menu",
    enter=enter,
    commands=("keluarga", "family"),
    home=("menu",),
    menu_label=N_("Keluarga saya"),
    menu_when=has_family,
    help_line=N_("Anggota keluarga"),
    steps={
        "menu": Step(ask_menu, on_menu),
        "member_name": Step(ask_member_name, on_member_name),
        "member_sex": Step(ask_member_sex, on_member_sex),
        "member_birth": Step(ask_member_birth, on_member_birth),
        "member_age": Step(ask_member_age, on_member_age),
        "member_pregnant": Step(ask_member_pregnant, on_member_pregnant),
        "pregnancy_kind": Step(ask_pregnancy_kind, on_pregnancy_kind),
        "pregnancy_value": Step(ask_pregnancy_value, on_pregnancy_value),
        "pregnancy_end": Step(ask_pregnancy_end, on_pregnancy_end),
        "loss_when": Step(ask_loss_when, on_loss_when),
        "pick_edit": Step(ask_pick_edit, on_pick_edit),
        "edit_field": Step(ask_edit_field, on_edit_field),
        "pick_remove": Step(ask_pick_remove, on_pick_remove),
        "confirm_remove": Step(ask_confirm_remove, on_confirm_remove),
    },
)
