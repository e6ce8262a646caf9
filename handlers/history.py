"""Entering what was done before (the Buku KIA history): doses and services with a date, a month, or
"done, date not remembered" (care.history), so that nothing is "late" merely because the bot was
not told.

Which questions fit a person (:func:`topics_for`):

* a child of 0-71 months: immunisation. Quick path first: *Semua sesuai umur* (every dose whose
  recommended age has been reached, date unknown) then *Ada yang belum?* (the exceptions, in dose
  words); or *Isi satu per satu* (``hb0 bcg 12-03-2025, dpt1 pcv1 mei 2025, mr1 sudah``);
  *Belum ada*; *Nanti saja*;
* a child of 6-59 months: the last vitamin A round (the recent February / August rounds in which
  the child was old enough, a typed month, or none); 12-59 months: the last deworming;
* a pregnant woman: how many check-ups so far and when the last was (``ANC{n}``, care.history.anc_code);
* 15-59 years: the last PTM screening; 60 and over: the last SKILAS screening.

Every question can be skipped: *Nanti saja* leaves the rest of that person's questions for later
(``/riwayat``). Dates after today or before the birth (for ANC: before HPHT) are refused.

Entry points, all into this one flow:

* right after a member is added (``handlers.family``): :func:`follow_up` gives the Goto, with
  ``_return`` so that the engine goes back to the member list at the end;
* ``/riwayat`` (and ``/riwayat K-XXXXXX`` for a kader, a family of their own posyandu, audited):
  pick a member at ``start``, then that member's questions;
* ``/imunisasi`` (``handlers.care_views``): the menu after the cards offers *Isi/ubah imunisasi*
  (:func:`open_immunization`: enter, correct, or remove a dose entered by mistake);
* ``/jadwal``: the menu after it offers *Tandai sudah* (:func:`open_mark`): pick an item shown as
  due or late, say when.

``start`` (pick a member) is the flow's home step (``Flow.home``).
Records are written through ``db.history.record`` with source ``family`` (``kader`` when a kader
does it for a family of their posyandu, audited) and ``by`` = the chat's identity.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from care.dates import add_months as months_after, month_days
from care.history import DAY, MONTH, UNKNOWN, PersonHistory, anc_code, month_date, unknown_dose_date, unknown_service_date
from care.labels import DOSE_LABELS, SERVICE_LABELS
from care.rules_file import load_schedule
from care.stages import age_months, age_years, is_pregnant
from care.vocabulary import DoseWordError, is_dose_word, read_doses, resolve
from content.i18n import N_, _, format_date
from db.history import forget, histories, history, record
from db.models import Family, Person
from db.queries import family_members
from handlers.describe import age_text
from handlers.due import due_items
from handlers.flow import END, Answer, Ctx, Flow, Goto, Invalid, Next, Question, Step
from handlers.kader import audit, family_named, is_kader
from handlers.parsing import DoseTextError, ParseError, dose_entries, normalize, parse_count, parse_when

IMMUNIZATION_MONTHS = (0, 71)
VITAMIN_A_MONTHS = (6, 59)
DEWORMING_MONTHS = (12, 59)
PTM_YEARS = (15, 59)
LANSIA_YEARS = 60
#: "Dalam 6 bln terakhir" / "Dalam setahun ini": the date used is the middle of that span.
RECENT_DEWORMING_MONTHS = 3
RECENT_SCREENING_MONTHS = 6
MAX_ANC = 20
ROUNDS_OFFERED = 2

#: topic -> its first step
TOPIC_STEPS = {"imm": "imm", "vita": "vita", "worm": "worm", "anc": "anc_count", "ptm": "ptm", "skilas": "skilas"}
#: the screening topics: (record code, question)
SCREENINGS = {
    "ptm": ("SKRINING_PTM", N_("Kapan {name} terakhir diperiksa tekanan darah dan gula darahnya (skrining PTM)? "
                               "Ketik tanggal atau bulannya, atau pilih:")),
    "skilas": ("SKILAS", N_("Kapan {name} terakhir ikut skrining lansia (SKILAS: daya ingat, gerak, gizi, penglihatan, "
                            "pendengaran)? Ketik tanggal atau bulannya, atau pilih:")),
}
#: words that read as "nothing is missing" / "none"
NONE_WORDS = frozenset({"tidak ada", "tidak", "tdk ada", "gak ada", "ga ada", "nggak ada", "enggak ada", "sudah semua",
                        "semua sudah", "lengkap", "none", "no", "nothing", "-"})
#: words around dose words that say nothing about the doses
FILLER = re.compile(r"\b(?:belum|blm|kecuali|dan|and|yang|yg|hanya|cuma|tinggal|imunisasi|not|yet|except)\b")

#: short labels (at most 20 characters) of the items a family can mark as done
SHORT_SERVICE = {
    "TIMBANG": N_("Penimbangan"), "VITA_BIRU": N_("Vitamin A biru"), "VITA_MERAH": N_("Vitamin A merah"),
    "OBAT_CACING": N_("Obat cacing"), "SDIDTK": N_("Cek perkembangan"), "TTD_REMAJA": N_("Tablet tambah darah"),
    "SKRINING_PTM": N_("Skrining PTM"), "SKILAS": N_("Skrining lansia"),
}


# --------------------------------------------------------------------------- who and what


def topics_for(person: Person, today: date, schedule: Any = None) -> list[str]:
    """The history questions that fit a person today, in the order they are asked."""
    topics: list[str] = []
    birth = person.birth_date
    if birth is not None and birth <= today:
        months = age_months(birth, today)
        if IMMUNIZATION_MONTHS[0] <= months <= IMMUNIZATION_MONTHS[1]:
            topics.append("imm")
        if VITAMIN_A_MONTHS[0] <= months <= VITAMIN_A_MONTHS[1] and recent_rounds(birth, today, schedule):
            topics.append("vita")
        if DEWORMING_MONTHS[0] <= months <= DEWORMING_MONTHS[1]:
            topics.append("worm")
    if person.sex == "F" and person.hpht and is_pregnant(person.hpht, today, person.delivered_on):
        topics.append("anc")
    if birth is not None and birth <= today:
        years = age_years(birth, today)
        if PTM_YEARS[0] <= years <= PTM_YEARS[1]:
            topics.append("ptm")
        elif years >= LANSIA_YEARS:
            topics.append("skilas")
    return topics


def _schedule(ctx_or_schedule: Any):
    schedule = getattr(ctx_or_schedule, "schedule", ctx_or_schedule)
    return schedule if schedule is not None else load_schedule()


def recent_rounds(birth: date, today: date, schedule: Any = None) -> list[tuple[int, int]]:
    """The last vitamin A rounds (year, month), newest first, in which the child was 6 months old."""
    rule = _schedule(schedule).services.by_code.get("VITA_MERAH")
    months = rule.months if rule is not None else (2, 8)
    six = months_after(birth, VITAMIN_A_MONTHS[0])
    out: list[tuple[int, int]] = []
    if six > today:
        return out
    year, month = today.year, today.month
    for _step in range(24):
        if month in months:
            if six > date(year, month, month_days(year, month)):
                break
            out.append((year, month))
            if len(out) == ROUNDS_OFFERED:
                break
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def quick_doses(ctx: Ctx, birth: date, done: PersonHistory) -> list[str]:
    """The doses of the schedule whose recommended age is reached today and that are not recorded."""
    imm = _schedule(ctx).immunization
    return [
        r.code for r in imm.plan(ctx.settings.care.je)
        if max(r.recommended.after(birth), r.earliest.after(birth)) <= ctx.today and r.code not in done.given
    ]


def short_dose(code: str) -> str:
    """A dose as kaders write it: ``DPT 1``, ``PCV 3``, ``HB0``, ``BCG``."""
    code = code.replace("DPT_HB_HIB", "DPT")
    m = re.fullmatch(r"([A-Z]+)(\d)", code)
    return f"{m[1]} {m[2]}" if m and code != "HB0" else code


def compact(codes: list[str]) -> str:
    """Doses in schedule order, runs of a series joined: ``HB0, BCG, OPV 1-4, DPT 1-3``."""
    order = {code: i for i, code in enumerate(DOSE_LABELS)}
    runs: list[tuple[str, int, int]] = []
    singles: list[str] = []
    out: list[str] = []
    for code in sorted(set(codes), key=lambda c: order.get(c, 99)):
        short = short_dose(code)
        m = re.fullmatch(r"(.+) (\d)", short)
        if m and runs and runs[-1][0] == m[1] and runs[-1][2] == int(m[2]) - 1:
            runs[-1] = (m[1], runs[-1][1], int(m[2]))
            out[-1] = ("run", len(runs) - 1)
            continue
        if m:
            runs.append((m[1], int(m[2]), int(m[2])))
            out.append(("run", len(runs) - 1))
        else:
            singles.append(short)
            out.append(("single", len(singles) - 1))
    parts = []
    for kind, i in out:
        if kind == "single":
            parts.append(singles[i])
        else:
            series, first, last = runs[i]
            parts.append(f"{series} {first}" if first == last else f"{series} {first}-{last}")
    return ", ".join(parts)


def when_text(on: date, precision: str) -> str:
    """A date as well as it is known: ``12 Mar 2025``, ``Maret 2025``, ``tanggal tidak diketahui``."""
    if precision == UNKNOWN:
        return _("tanggal tidak diketahui")
    if precision == MONTH:
        return format_date(on, "MMMM y")
    return format_date(on, "d MMM y")


def item_label(code: str) -> str:
    """A short label (at most 20 characters) for a dose or service, for buttons."""
    if code in DOSE_LABELS:
        return short_dose(code)
    if m := re.fullmatch(r"ANC(\d)", code):
        return _("Periksa hamil ke-{n}", n=m[1])
    if m := re.fullmatch(r"KF(\d)", code):
        return _("Kunjungan nifas {n}", n=m[1])
    if m := re.fullmatch(r"KN(\d)", code):
        return _("Kunjungan neonatal {n}", n=m[1])
    if m := re.fullmatch(r"VITA_NIFAS(\d)", code):
        return _("Vitamin A nifas {n}", n=m[1])
    if code in SHORT_SERVICE:
        return _(SHORT_SERVICE[code])
    return _(SERVICE_LABELS.get(code, code))[:20]


# --------------------------------------------------------------------------- entering the flow


def follow_up(ctx: Ctx, person: Person, *, family_id: int, source: str, back: dict,
              topics: list[str] | None = None) -> Goto | None:
    """The history questions right after a member was added (None when none fit); the engine
    returns to ``back`` (flow, step, data) at the end, as after a language change."""
    topics = topics_for(person, ctx.today, ctx.schedule) if topics is None else topics
    if not topics:
        return None
    data = {"fid": family_id, "source": source, "pid": person.id, "topics": topics[1:],
            "_return": back}
    return Goto("history", TOPIC_STEPS[topics[0]], data)


async def _in_scope(ctx: Ctx, family_id: int | None) -> bool:
    """Whether the chat may work on this family: its own, or one of a kader's posyandu."""
    if family_id is None:
        return False
    if family_id == ctx.identity.family_id:
        return True
    if not is_kader(ctx):
        return False
    family = await ctx.session.get(Family, family_id)
    return family is not None and family.posyandu_id == ctx.identity.posyandu_id


async def enter(ctx: Ctx) -> Next:
    """``/riwayat``: the person's own family, or (a kader) ``/riwayat K-XXXXXX`` of their posyandu."""
    args = str(ctx.data.pop("args", "") or "").strip()
    if args:
        family = await family_named(ctx, args, via="history", not_kader=_(
            "Hanya kader yang dapat membuka riwayat keluarga lain. Ketik /riwayat saja untuk keluarga Bapak/Ibu."))
        if family is None:
            return END
        ctx.data.update(fid=family.id, source="kader")
    elif ctx.identity.family_id is not None:
        ctx.data.update(fid=ctx.identity.family_id, source="family")
    elif is_kader(ctx):
        ctx.note(_("Ketik /riwayat diikuti kode keluarga, misalnya: /riwayat K-7QX2MA"))
        return END
    else:
        ctx.note(_("Bapak/Ibu belum mendaftarkan keluarga."))
        return Goto("register")
    if not await _members_with_topics(ctx):
        ctx.note(_("Belum ada riwayat yang perlu diisi untuk anggota keluarga ini."))
        return END
    return "start"


async def _members(ctx: Ctx, family_id: int | None = None) -> list[Person]:
    """The members of the family worked on (``fid``), or of ``family_id``."""
    return await family_members(ctx.session, family_id or ctx.data.get("fid"))


async def _members_with_topics(ctx: Ctx) -> list[Person]:
    return [m for m in await _members(ctx) if topics_for(m, ctx.today, ctx.schedule)]


async def _person(ctx: Ctx) -> Person | None:
    """The member being asked about, if still in the family and in the chat's scope."""
    pid = ctx.data.get("pid")
    if pid is None or not await _in_scope(ctx, ctx.data.get("fid")):
        return None
    person = await ctx.session.get(Person, pid)
    return person if person is not None and person.family_id == ctx.data.get("fid") else None


GONE = N_("Anggota keluarga itu tidak ditemukan lagi. Ketik batal untuk kembali ke menu.")


# --------------------------------------------------------------------------- /riwayat, /imunisasi, /jadwal


async def ask_start(ctx: Ctx) -> Question:
    members = await _members_with_topics(ctx) if await _in_scope(ctx, ctx.data.get("fid")) else []
    return Question(_("Riwayat siapa yang ingin diisi? Siapkan Buku KIA atau catatan pemeriksaannya."),
                    tuple((m.name, str(m.id)) for m in members))


async def on_start(ctx: Ctx, answer: Answer) -> Next:
    """Stores the member picked; asks that member's first question next."""
    if not await _in_scope(ctx, ctx.data.get("fid")):
        return END
    members = {m.id: m for m in await _members_with_topics(ctx)}
    pid = int(answer.choice) if answer.choice and answer.choice.isdecimal() else None
    if pid not in members:
        raise Invalid(_("Pilih nama dari daftar."))
    topics = topics_for(members[pid], ctx.today, ctx.schedule)
    ctx.data.update(pid=pid, topics=topics[1:])
    return TOPIC_STEPS[topics[0]]


async def open_immunization(ctx: Ctx) -> Next:
    """*Isi/ubah imunisasi* after /imunisasi: one child's doses entered, corrected or removed."""
    data = {"fid": ctx.identity.family_id, "source": "family", "topics": [], "mode": "edit",
            "then": "imm"}
    children = await _children(ctx, ctx.identity.family_id)
    if not children:
        ctx.note(_("Tidak ada anak di bawah 6 tahun di keluarga ini."))
        return END
    return Goto("history", _pick_or_go(data, children), data)


async def open_mark(ctx: Ctx) -> Next:
    """*Tandai sudah* after /jadwal: an item shown as due or late is marked as done."""
    data = {"fid": ctx.identity.family_id, "source": "family", "then": "mark_item"}
    people = [p for p, items in await _due_now(ctx, ctx.identity.family_id) if items]
    if not people:
        ctx.note(_("Tidak ada layanan yang sudah waktunya sekarang."))
        return END
    return Goto("history", _pick_or_go(data, people), data)


async def _children(ctx: Ctx, family_id: int | None = None) -> list[Person]:
    return [m for m in await _members(ctx, family_id) if m.birth_date and
            IMMUNIZATION_MONTHS[0] <= age_months(m.birth_date, ctx.today) <= IMMUNIZATION_MONTHS[1]]


async def _due_now(ctx: Ctx, family_id: int | None = None) -> list[tuple[Person, list[str]]]:
    """Each member with the codes shown as due or late on /jadwal (its "Sekarang" items)."""
    members = await _members(ctx, family_id)
    records = await histories(ctx.session, [m.id for m in members])
    return [(m, [code for code, _label, _window in due_items(ctx, m, records[m.id])[0]]) for m in members]


async def _due_codes(ctx: Ctx, person: Person) -> list[str]:
    return next((codes for m, codes in await _due_now(ctx) if m.id == person.id), [])


def _pick_or_go(data: dict, people: list[Person]) -> str:
    """With one person, straight to the step chosen (``then``); else ask who first."""
    if len(people) == 1:
        data["pid"] = people[0].id
        return data["then"]
    data["pick"] = [p.id for p in people]
    return "member"


async def ask_member(ctx: Ctx) -> Question:
    ids = ctx.data.get("pick", [])
    people = [m for m in await _members(ctx) if m.id in ids]
    return Question(_("Untuk siapa?"), tuple((m.name, str(m.id)) for m in people))


async def on_member(ctx: Ctx, answer: Answer) -> Next:
    """Stores the member picked; goes on to the step chosen before."""
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in ctx.data.get("pick", [])):
        raise Invalid(_("Pilih nama dari daftar."))
    ctx.data["pid"] = int(answer.choice)
    return ctx.data["then"]


# --------------------------------------------------------------------------- moving on


def _next(ctx: Ctx) -> Next:
    """The next topic's first step, or the end (back to where the flow was opened from)."""
    topics = list(ctx.data.get("topics") or [])
    if topics:
        ctx.data["topics"] = topics[1:]
        return TOPIC_STEPS[topics[0]]
    return END


def _later(ctx: Ctx) -> Next:
    """*Nanti saja*: the rest of this person's questions are left for later."""
    if ctx.data.get("mode") != "edit":
        ctx.note(_("Baik. Riwayat bisa diisi kapan saja lewat /riwayat."))
    return END


async def _write(ctx: Ctx, person: Person, entries: list[tuple[str, date, str]], *, replace: bool = False,
                 detail: dict | None = None) -> None:
    """Writes records (code, date, precision) for a person; ``replace`` forgets earlier records of the code."""
    source = ctx.data.get("source") or "family"
    for code, on, precision in entries:
        if replace:
            await forget(ctx.session, person.id, code)
        await record(ctx.session, person_id=person.id, code=code, on=on, now=ctx.now, source=source,
                     precision=precision, by=ctx.identity.id, detail=detail)
    if entries and source == "kader":
        audit(ctx, "history.recorded", "person", person.id, codes=sorted({code for code, _on, _p in entries}))


def _check_day(day: date, ctx: Ctx, since: date, since_text: str) -> None:
    """Refuses a day after today or before ``since`` (the birth, or HPHT)."""
    if day > ctx.today:
        raise Invalid(_("Tanggal {date} belum lewat. Tulis tanggal yang sudah lewat.", date=format_date(day)))
    if day < since:
        raise Invalid(since_text)


def _when(ctx: Ctx, text: str, since: date, since_text: str) -> tuple[str, date | None]:
    """(precision, date the rules use) of a typed day or month (None for "sudah / tidak ingat")."""
    try:
        kind, day = parse_when(text, ctx.today)
    except ParseError as exc:
        example = f"{format_date(ctx.today, 'd-MM-y')} / {format_date(ctx.today, 'MMMM y')}"
        if exc.code == "no_such_day":
            raise Invalid(_("Tanggal itu tidak ada di kalender. Periksa lagi, misalnya: {example}", example=example)) from None
        raise Invalid(_("Maaf, tanggalnya tidak terbaca. Tulis seperti: {example}", example=example)) from None
    if kind == UNKNOWN:
        return UNKNOWN, None
    if kind == MONTH:
        try:
            return MONTH, month_date(day.year, day.month, ctx.today, since)
        except ValueError as exc:
            if str(exc) == "future":
                raise Invalid(_("Bulan {month} belum lewat. Tulis bulan yang sudah lewat.",
                                month=format_date(day, "MMMM y"))) from None
            raise Invalid(since_text) from None
    _check_day(day, ctx, since, since_text)
    return DAY, day


def _before_birth(person: Person) -> str:
    return _("Tanggal itu sebelum {name} lahir ({birth}). Periksa lagi.", name=person.name,
             birth=format_date(person.birth_date))


# --------------------------------------------------------------------------- immunisation


async def ask_imm(ctx: Ctx) -> Question:
    person = await _person(ctx)
    if person is None:
        return Question(_(GONE))
    done = await history(ctx.session, person.id)
    text = _("Imunisasi apa saja yang sudah didapat {name} ({age})? Lihat Buku KIA, halaman imunisasi.",
             name=person.name, age=age_text(person.birth_date, ctx.today, person.birth_precision))
    if done.given:
        text += "\n" + _("Sudah tercatat: {doses}", doses=compact(list(done.given)))
    choices = [(_("Semua sesuai umur"), "all"), (_("Isi satu per satu"), "lines")]
    if done.given:
        choices.append((_("Hapus dosis salah"), "remove"))
    else:
        choices.append((_("Belum ada"), "none"))
    choices.append((_("Selesai"), "later") if ctx.data.get("mode") == "edit" else (_("Nanti saja"), "later"))
    return Question(text, tuple(choices))


async def on_imm(ctx: Ctx, answer: Answer) -> Next:
    """Stores nothing yet; asks for the exceptions, the typed doses or the dose to remove next."""
    person = await _person(ctx)
    if person is None:
        return END
    if answer.choice == "all":
        if not quick_doses(ctx, person.birth_date, await history(ctx.session, person.id)):
            ctx.note(_("Semua imunisasi sesuai umur {name} sudah tercatat.", name=person.name))
            return _next(ctx)
        return "imm_except"
    if answer.choice == "lines":
        ctx.data["typed"] = 0
        return "imm_lines"
    if answer.choice == "remove":
        return "imm_remove"
    if answer.choice == "none":
        ctx.note(_("Baik. Bawa {name} dan Buku KIA ke posyandu atau puskesmas untuk imunisasi.", name=person.name))
        return _next(ctx)
    if answer.choice == "later":
        return _later(ctx)
    if answer.text and any(is_dose_word(w) for w in answer.text.split()):
        ctx.data["typed"] = 0
        return await on_imm_lines(ctx, answer)  # the doses typed straight away
    raise Invalid(_("Pilih salah satu, atau ketik imunisasinya, misalnya: hb0 bcg 12-03-2025"))


async def ask_imm_except(ctx: Ctx) -> Question:
    person = await _person(ctx)
    if person is None:
        return Question(_(GONE))
    doses = quick_doses(ctx, person.birth_date, await history(ctx.session, person.id))
    return Question(
        _("Imunisasi sampai umur {name} sekarang: {doses}.\n"
          "Ada yang belum? Ketik namanya (misalnya: mr2, rota), atau pilih Tidak ada.",
          name=person.name, doses=compact(doses)),
        ((_("Tidak ada"), "none"), (_("Nanti saja"), "later")),
    )


def _dose_words(text: str) -> list[str]:
    """Dose codes in ``text`` with its filler words removed; placeholders (``PCV*``) kept."""
    plain = FILLER.sub(" ", normalize(text))
    try:
        return read_doses(plain)
    except DoseWordError as exc:
        raise Invalid(_("\u201c{word}\u201d bukan nama imunisasi yang kami kenal. Tulis seperti: hb0, bcg, polio 1, "
                        "dpt 2, pcv 1, rota 1, ipv 1, mr 1.", word=exc.word)) from None


async def on_imm_except(ctx: Ctx, answer: Answer) -> Next:
    """Records every dose due by age except those named; goes on to the next question."""
    person = await _person(ctx)
    if person is None:
        return END
    if answer.choice == "later":
        return _later(ctx)
    done = await history(ctx.session, person.id)
    doses = quick_doses(ctx, person.birth_date, done)
    missing: set[str] = set()
    if answer.choice != "none" and normalize(answer.text).strip(" .!") not in NONE_WORDS:
        for code in _dose_words(answer.text):
            if code.endswith("*"):  # a series named without a number: none of its doses
                missing.update(c for c in doses if c.rstrip("0123456789") == code[:-1])
            else:
                missing.add(code)
        if not missing:
            raise Invalid(_("Ketik nama imunisasi yang belum, misalnya: mr2, atau pilih Tidak ada."))
    given = [code for code in doses if code not in missing]
    birth = person.birth_date
    await _write(ctx, person, [(code, unknown_dose_date(code, birth, ctx.today, _schedule(ctx)), UNKNOWN) for code in given])
    text = _("Tercatat untuk {name}: {doses} ({when}).", name=person.name, doses=compact(given) or "-",
             when=_("tanggal tidak diketahui"))
    not_given = [code for code in doses if code in missing]
    if not_given:
        text += "\n" + _("Belum: {doses}. Lihat /imunisasi: masih bisa disusulkan.", doses=compact(not_given))
    ctx.note(text)
    return _next(ctx)


async def ask_imm_lines(ctx: Ctx) -> Question:
    if ctx.data.get("typed"):
        return Question(_("Ada lagi? Ketik imunisasi berikutnya, atau pilih Sudah semua."), ((_("Sudah semua"), "done"),))
    return Question(
        _("Ketik imunisasi dan tanggalnya dari Buku KIA, dipisah koma atau baris baru, misalnya:\n"
          "hb0 bcg 12-03-2025, dpt1 pcv1 mei 2025, mr1 sudah\n"
          "(sudah = tanggalnya tidak ingat)"),
        ((_("Nanti saja"), "later"),),
    )


async def on_imm_lines(ctx: Ctx, answer: Answer) -> Next:
    """Records the doses typed with their dates (replacing earlier records of the same doses); asks for more."""
    person = await _person(ctx)
    if person is None:
        return END
    if answer.choice == "done":
        return _next(ctx)
    if answer.choice == "later":
        return _next(ctx) if ctx.data.get("typed") else _later(ctx)
    entries = _read_lines(ctx, person, answer.text, await history(ctx.session, person.id))
    await _write(ctx, person, entries, replace=True)
    groups: dict[tuple[str, date | None], list[str]] = {}
    for code, on, precision in entries:
        groups.setdefault((precision, None if precision == UNKNOWN else on), []).append(code)
    shown = "; ".join(f"{compact(codes)} {when_text(on, precision) if on else _('(tanggal tidak diketahui)')}"
                      for (precision, on), codes in groups.items())
    ctx.note(_("Tercatat untuk {name}: {doses}", name=person.name, doses=shown))
    ctx.data["typed"] = int(ctx.data.get("typed") or 0) + 1
    return "imm_lines"


def _read_lines(ctx: Ctx, person: Person, text: str, done: PersonHistory) -> list[tuple[str, date, str]]:
    """(code, date, precision) of every dose in typed lines; Invalid naming the first problem."""
    try:
        parts = dose_entries(FILLER.sub(" ", normalize(text)))
    except DoseTextError as err:
        if err.code == "dose_date":  # a date that is not one: say why ("31-09-2026" is no day of the calendar)
            _when(ctx, err.part, person.birth_date, _before_birth(person))
            raise Invalid(_("Tulis seperti: hb0 bcg 12-03-2025, dpt1 mei 2025, mr1 sudah")) from None
        raise Invalid(_("\u201c{word}\u201d bukan nama imunisasi yang kami kenal. Tulis seperti: hb0, bcg, polio 1, "
                        "dpt 2, pcv 1, rota 1, ipv 1, mr 1.", word=err.part[:20])) from None
    birth = person.birth_date
    taken = set(done.given)
    entries: list[tuple[str, date, str]] = []
    for group, when in parts:
        codes = resolve(group, taken)
        precision, day = _when(ctx, when, birth, _before_birth(person)) if when else (UNKNOWN, None)
        for code in codes:
            on = day if day is not None else unknown_dose_date(code, birth, ctx.today, _schedule(ctx))
            entries.append((code, on, precision))
            taken.add(code)
    return entries


async def ask_imm_remove(ctx: Ctx) -> Question:
    person = await _person(ctx)
    if person is None:
        return Question(_(GONE))
    done = await history(ctx.session, person.id)
    return Question(
        _("Imunisasi mana yang salah catat? Ketik namanya, misalnya: dpt2.\nTercatat: {doses}", doses=compact(list(done.given))),
        ((_("Kembali"), "back"),),
    )


async def on_imm_remove(ctx: Ctx, answer: Answer) -> Next:
    """Removes the doses named from the person's record; back to the immunisation question."""
    person = await _person(ctx)
    if person is None:
        return END
    if answer.choice == "back":
        return "imm"
    done = await history(ctx.session, person.id)
    codes: list[str] = []
    for code in _dose_words(answer.text):
        if code.endswith("*"):
            series = [c for c in done.given if c[:-1] == code[:-1] or (c == code[:-1] + "0")]
            code = max(series, key=lambda c: done.given[c]) if series else code[:-1]
        if code not in done.given:
            raise Invalid(_("{dose} belum tercatat untuk {name}.", dose=short_dose(code.rstrip("*")), name=person.name))
        codes.append(code)
    if not codes:
        raise Invalid(_("Ketik nama imunisasi yang salah catat, misalnya: dpt2."))
    for code in codes:
        await forget(ctx.session, person.id, code)
    if ctx.data.get("source") == "kader":
        audit(ctx, "history.removed", "person", person.id, codes=sorted(codes))
    ctx.note(_("Dihapus dari catatan {name}: {doses}.", name=person.name, doses=compact(codes)))
    return "imm"


# --------------------------------------------------------------------------- vitamin A and deworming


async def ask_vita(ctx: Ctx) -> Question:
    person = await _person(ctx)
    if person is None:
        return Question(_(GONE))
    rounds = recent_rounds(person.birth_date, ctx.today, ctx.schedule)
    choices = tuple((format_date(date(y, m, 1), "MMMM y"), f"r{y:04d}-{m:02d}") for y, m in rounds)
    return Question(
        _("Kapan {name} terakhir mendapat vitamin A (kapsul biru atau merah)? Vitamin A dibagikan setiap Februari "
          "dan Agustus. Pilih, atau ketik bulannya:", name=person.name),
        choices + ((_("Belum/tidak tahu"), "none"), (_("Nanti saja"), "later")),
    )


async def on_vita(ctx: Ctx, answer: Answer) -> Next:
    """Records the last vitamin A capsule (blue before 12 months, red after); next question."""
    person = await _person(ctx)
    if person is None:
        return END
    if answer.choice == "none":
        return _next(ctx)
    if answer.choice == "later":
        return _later(ctx)
    birth = person.birth_date
    six = months_after(birth, VITAMIN_A_MONTHS[0])
    rounds = recent_rounds(birth, ctx.today, ctx.schedule)
    if answer.choice and answer.choice.startswith("r"):
        year, month = (int(x) for x in answer.choice[1:].split("-"))
        if (year, month) not in rounds:
            raise Invalid(_("Pilih salah satu dari daftar."))
        precision, day = MONTH, month_date(year, month, ctx.today, birth)
    else:
        precision, day = _when(ctx, answer.text, birth, _before_birth(person))
        if day is None:  # "sudah", not remembered when: the last round
            if not rounds:
                raise Invalid(_("Ketik bulannya, misalnya Agustus 2026, atau pilih Belum/tidak tahu."))
            year, month = rounds[0]
            day = month_date(year, month, ctx.today, birth)
        end = day if precision == DAY else date(day.year, day.month, month_days(day.year, day.month))
        if end < six:
            raise Invalid(_("Vitamin A diberikan mulai umur 6 bulan; saat itu {name} belum 6 bulan. Periksa lagi.",
                            name=person.name))
    day = max(day, six)
    code = "VITA_MERAH" if day >= months_after(birth, 12) else "VITA_BIRU"
    await _write(ctx, person, [(code, day, precision)])
    ctx.note(_("Tercatat: {what} untuk {name}, {when}.", what=_(SERVICE_LABELS[code]), name=person.name,
               when=when_text(day, precision)))
    return _next(ctx)


async def ask_worm(ctx: Ctx) -> Question:
    person = await _person(ctx)
    if person is None:
        return Question(_(GONE))
    return Question(
        _("Kapan {name} terakhir minum obat cacing? Ketik tanggal atau bulannya, atau pilih:", name=person.name),
        ((_("Dalam 6 bln terakhir"), "recent"), (_("Belum/tidak tahu"), "none"), (_("Nanti saja"), "later")),
    )


async def on_worm(ctx: Ctx, answer: Answer) -> Next:
    """Records the last deworming; next question."""
    person = await _person(ctx)
    if person is None:
        return END
    if answer.choice == "none":
        return _next(ctx)
    if answer.choice == "later":
        return _later(ctx)
    if answer.choice == "recent":
        precision, day = UNKNOWN, None
    else:
        precision, day = _when(ctx, answer.text, person.birth_date, _before_birth(person))
    if day is None:
        day = max(unknown_service_date(ctx.today, RECENT_DEWORMING_MONTHS),
                  months_after(person.birth_date, DEWORMING_MONTHS[0]))
        day = min(day, ctx.today)
        precision = UNKNOWN
    await _write(ctx, person, [("OBAT_CACING", day, precision)])
    shown = _("dalam 6 bulan terakhir") if precision == UNKNOWN else when_text(day, precision)
    ctx.note(_("Tercatat: {what} untuk {name}, {when}.", what=_(SERVICE_LABELS["OBAT_CACING"]), name=person.name, when=shown))
    return _next(ctx)


# --------------------------------------------------------------------------- pregnancy check-ups


async def ask_anc_count(ctx: Ctx) -> Question:
    person = await _person(ctx)
    if person is None:
        return Question(_(GONE))
    return Question(
        _("Sudah berapa kali {name} memeriksakan kehamilan ini (ke bidan, puskesmas atau dokter)? Ketik angkanya, "
          "misalnya 2.", name=person.name),
        ((_("Belum pernah"), "none"), (_("Nanti saja"), "later")),
    )


async def on_anc_count(ctx: Ctx, answer: Answer) -> Next:
    """Stores how many check-ups; asks when the last was next (none: the next question)."""
    person = await _person(ctx)
    if person is None:
        return END
    count = None
    if answer.text.strip():
        try:
            count = parse_count(answer.text)
        except ParseError:
            count = None
    if count is None:
        if answer.choice == "none":
            count = 0
        elif answer.choice == "later":
            return _later(ctx)
        else:
            raise Invalid(_("Ketik berapa kali, misalnya 2, atau pilih Belum pernah."))
    if count == 0:
        return _next(ctx)
    if count > MAX_ANC:
        raise Invalid(_("{n} kali? Ketik jumlah pemeriksaan kehamilan ini saja, misalnya 3.", n=count))
    ctx.data["anc_n"] = count
    return "anc_when"


async def ask_anc_when(ctx: Ctx) -> Question:
    person = await _person(ctx)
    if person is None:
        return Question(_(GONE))
    return Question(
        _("Kapan pemeriksaan terakhir {name}? Ketik tanggal atau bulannya, misalnya {day} atau {month}.",
          name=person.name, day=format_date(ctx.today - timedelta(days=14), "d-MM-y"),
          month=format_date(ctx.today, "MMMM y")),
        ((_("Tidak ingat"), "unknown"), (_("Nanti saja"), "later")),
    )


async def on_anc_when(ctx: Ctx, answer: Answer) -> Next:
    """Records the numbered check-up (it closes the ones before it); next question."""
    person = await _person(ctx)
    if person is None:
        return END
    if answer.choice == "later":
        return _later(ctx)
    hpht = person.hpht
    if hpht is None:
        return _next(ctx)
    if answer.choice == "unknown":
        precision, day = UNKNOWN, None
    else:
        before = _("Tanggal itu sebelum kehamilan ini dimulai (HPHT {hpht}). Periksa lagi.", hpht=format_date(hpht))
        precision, day = _when(ctx, answer.text, hpht, before)
    if day is None:
        precision, day = UNKNOWN, ctx.today
    n = int(ctx.data.get("anc_n") or 1)
    await _write(ctx, person, [(anc_code(n), day, precision)])
    ctx.note(_("Tercatat: pemeriksaan kehamilan ke-{n} untuk {name}, {when}.", n=n, name=person.name,
               when=when_text(day, precision)))
    return _next(ctx)


# --------------------------------------------------------------------------- screenings


def _ask_screening(topic: str):
    code, question = SCREENINGS[topic]

    async def ask(ctx: Ctx) -> Question:
        person = await _person(ctx)
        if person is None:
            return Question(_(GONE))
        return Question(_(question, name=person.name),
                        ((_("Dalam setahun ini"), "year"), (_("Lebih lama/belum"), "none"), (_("Nanti saja"), "later")))

    return ask


def _on_screening(topic: str):
    code, _question = SCREENINGS[topic]

    async def answer(ctx: Ctx, answer: Answer) -> Next:
        """Records the last screening (within the year: half a year ago, date unknown); next question."""
        person = await _person(ctx)
        if person is None:
            return END
        if answer.choice == "none":
            return _next(ctx)
        if answer.choice == "later":
            return _later(ctx)
        if answer.choice == "year":
            precision, day = UNKNOWN, None
        else:
            precision, day = _when(ctx, answer.text, person.birth_date, _before_birth(person))
        if day is None:
            precision = UNKNOWN
            day = max(unknown_service_date(ctx.today, RECENT_SCREENING_MONTHS), person.birth_date)
        await _write(ctx, person, [(code, day, precision)])
        shown = _("dalam setahun terakhir") if precision == UNKNOWN else when_text(day, precision)
        ctx.note(_("Tercatat: {what} untuk {name}, {when}.", what=_(SERVICE_LABELS[code]), name=person.name, when=shown))
        return _next(ctx)

    return answer


# --------------------------------------------------------------------------- /jadwal: mark as done


async def ask_mark_item(ctx: Ctx) -> Question:
    person = await _person(ctx)
    if person is None:
        return Question(_(GONE))
    codes = await _due_codes(ctx, person)
    return Question(_("Apa yang sudah dilakukan untuk {name}?", name=person.name),
                    tuple((item_label(code), code) for code in codes))


async def on_mark_item(ctx: Ctx, answer: Answer) -> Next:
    """Stores the item picked; asks when next."""
    person = await _person(ctx)
    if person is None:
        return END
    codes = await _due_codes(ctx, person)
    if answer.choice not in codes:
        raise Invalid(_("Pilih salah satu dari daftar."))
    ctx.data["mark"] = answer.choice
    return "mark_when"


def _mark_since(person: Person, code: str) -> tuple[date, str]:
    """The earliest day an item can have been done on, and the words refusing an earlier one."""
    if code.startswith("ANC") and person.hpht:
        return person.hpht, _("Tanggal itu sebelum kehamilan ini dimulai (HPHT {hpht}). Periksa lagi.",
                              hpht=format_date(person.hpht))
    if (code.startswith("KF") or code.startswith("VITA_NIFAS")) and person.delivered_on:
        return person.delivered_on, _("Tanggal itu sebelum persalinan ({date}). Periksa lagi.",
                                      date=format_date(person.delivered_on))
    return person.birth_date or date.min, _before_birth(person)


async def ask_mark_when(ctx: Ctx) -> Question:
    person = await _person(ctx)
    if person is None:
        return Question(_(GONE))
    return Question(
        _("Kapan {what} untuk {name}? Pilih, atau ketik tanggal atau bulannya:",
          what=item_label(ctx.data.get("mark", "")), name=person.name),
        ((_("Hari ini"), "today"), (_("Bulan ini"), "month"), (_("Tidak ingat"), "unknown")),
    )


async def on_mark_when(ctx: Ctx, answer: Answer) -> Next:
    """Records the item as done; the end (it is gone from /jadwal, /sasaran and the reminders)."""
    person = await _person(ctx)
    if person is None:
        return END
    code = ctx.data.get("mark", "")
    since, refused = _mark_since(person, code)
    if answer.choice == "today":
        precision, day = DAY, ctx.today
    elif answer.choice == "month":
        precision, day = MONTH, month_date(ctx.today.year, ctx.today.month, ctx.today, since if since > date.min else None)
    elif answer.choice == "unknown":
        precision, day = UNKNOWN, None
    else:
        precision, day = _when(ctx, answer.text, since, refused)
    if day is None:
        precision = UNKNOWN
        repeat = code in (await history(ctx.session, person.id)).given  # a dose to repeat: the repeat is the latest
        if code in DOSE_LABELS and person.birth_date and not repeat:
            day = unknown_dose_date(code, person.birth_date, ctx.today, _schedule(ctx))
        else:
            day = unknown_service_date(ctx.today)
    await _write(ctx, person, [(code, day, precision)])
    ctx.note(_("Tercatat: {what} untuk {name}, {when}.", what=item_label(code), name=person.name,
               when=when_text(day, precision)))
    return END


async def _in_family_menu(ctx: Ctx) -> bool:
    """A family's menu has a button for the Buku KIA; a kader has /riwayat (and /riwayat K-XXXXXX), their
    menu stays within a WhatsApp list's 10 rows; staff use commands."""
    return ctx.identity.family_id is not None and ctx.identity.role not in ("kader", "staff")


HISTORY = Flow(
    name="history",
    first="start",
    enter=enter,
    commands=("riwayat", "history"),
    home=("start",),
    menu_label=N_("Riwayat Buku KIA"),
    menu_when=_in_family_menu,
    help_line=N_("Catat yang sudah diterima (Buku KIA)"),
    steps={
        "start": Step(ask_start, on_start),
        "member": Step(ask_member, on_member),
        "imm": Step(ask_imm, on_imm),
        "imm_except": Step(ask_imm_except, on_imm_except),
        "imm_lines": Step(ask_imm_lines, on_imm_lines),
        "imm_remove": Step(ask_imm_remove, on_imm_remove),
        "vita": Step(ask_vita, on_vita),
        "worm": Step(ask_worm, on_worm),
        "anc_count": Step(ask_anc_count, on_anc_count),
        "anc_when": Step(ask_anc_when, on_anc_when),
        "ptm": Step(_ask_screening("ptm"), _on_screening("ptm")),
        "skilas": Step(_ask_screening("skilas"), _on_screening("skilas")),
        "mark_item": Step(ask_mark_item, on_mark_item),
        "mark_when": Step(ask_mark_when, on_mark_when),
    },
)
