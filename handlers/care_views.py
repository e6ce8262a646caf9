"""What a family sees of the care rules: ``/jadwal`` (what is due now, the rest one button away)
and ``/imunisasi`` (each child's doses: given, due, catch-up, missed, next).

``/jadwal`` leads with the next posyandu day and one line per member with something due now
(:func:`brief_text`); its buttons are *Lihat semua* (each member's items due now and those coming in
the next 60 days, with their dates: :func:`full_text`), *Tandai sudah* (mark an item shown as due or
late as done: ``handlers.history.open_mark``) and *Menu utama*. After *Lihat semua* the main menu
offers *Tandai sudah* in place of *Jadwal*; after ``/imunisasi`` it offers *Isi/ubah imunisasi*
(enter doses from the Buku KIA, correct them, remove one entered by mistake; ``handlers.history``)."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import bindparam, select

from care.immunization import child_summary
from care.labels import DOSE_LABELS
from care.stages import age_months
from content.i18n import N_, _, format_date, grouped, n_
from care.history import DAY, MONTH, UNKNOWN, PersonHistory, Record
from db.history import histories
from db.models import Family, Person, Posyandu
from db.queries import family_members, next_posyandu_session
from handlers.describe import age_text, schedule_text, session_text
from handlers.due import HORIZON_DAYS, IMMUNIZATION_AGE_MONTHS, due_items, short_date
from handlers.flow import END, Answer, Ctx, Flow, Goto, Invalid, Next, Question, Step, family_views
from handlers.history import open_mark

_EXACT = Record("", date.min)
#: A label's own closing bracket (``PCV 1 (pneumokokus)``, ``Obat cacing (12-59 bulan)``): left out of
#: the one-line summary, where the name alone is enough.
_QUALIFIER = re.compile(r"\s*\([^()]*\)$")
#: Services whose name is long even without a bracket: the short names the *Tandai sudah* buttons use.
BRIEF_SERVICE = {"TIMBANG": N_("Penimbangan"), "TTD_REMAJA": N_("Tablet tambah darah")}


def window(earliest: date | None, latest: date | None, today: date) -> str:
    """A date window in words: ``sampai 5 Jan``, ``mulai 5 Des``, ``5 Des sampai 5 Jan``."""
    if earliest is not None and earliest > today:
        if latest is None:
            return _("mulai {start}", start=short_date(earliest, today))
        return _("{start} sampai {end}", start=short_date(earliest, today), end=short_date(latest, today))
    if latest is not None:
        return _("sampai {end}", end=short_date(latest, today))
    return _("sekarang")


def brief_label(code: str, label: str) -> str:
    """The name of an item in /jadwal's one-line summary: the translated ``label`` without its bracketed
    qualifier (``PCV 1``, ``Obat cacing``), or a short name (:data:`BRIEF_SERVICE`)."""
    if code in BRIEF_SERVICE:
        return _(BRIEF_SERVICE[code])
    return _QUALIFIER.sub("", label) or label


_FAMILY_AND_POSYANDU = (
    select(Family, Posyandu).join(Posyandu, Posyandu.id == Family.posyandu_id).where(Family.id == bindparam("family_id"))
)


async def _schedule_view(ctx: Ctx) -> tuple[str, list[tuple[Person, list[tuple[str, str, str]], list[tuple[str, str, str]]]]]:
    """The posyandu line and each member with their items due now and coming (``due_items``)."""
    family, posyandu = (await ctx.session.execute(_FAMILY_AND_POSYANDU, {"family_id": ctx.identity.family_id})).one()
    members = await family_members(ctx.session, family.id)
    records = await histories(ctx.session, [m.id for m in members])
    head = _("Posyandu berikutnya: {day} di {posyandu} ({schedule}).",
             day=session_text(await next_posyandu_session(ctx.session, posyandu, ctx.today)),
             posyandu=posyandu.name, schedule=schedule_text(posyandu.schedule))
    return head, [(person, *due_items(ctx, person, records[person.id])) for person in members]


def brief_text(head: str, members) -> str:
    """The first screen of /jadwal: the posyandu day, then one line per member with something due now
    (plain names, late ones said so), and how many more items come in the next 60 days."""
    lines = [head, ""]
    due = [(person, now) for person, now, _soon in members if now]
    if due:
        lines.append(_("Sudah waktunya:"))
        for person, now in due:
            items = grouped([(brief_label(code, label), when) for code, label, when in now])
            lines.append(f"\u2022 {person.name}: {items}")
    else:
        lines.append(_("Sekarang tidak ada yang perlu dilakukan."))
    coming = sum(len(soon) for _person, _now, soon in members)
    if coming:
        lines.append("")
        lines.append(n_("Dalam {days} hari ke depan ada {n} imunisasi atau layanan lagi: pilih Lihat semua.",
                        "Dalam {days} hari ke depan ada {n} imunisasi atau layanan lagi: pilih Lihat semua.",
                        coming, days=HORIZON_DAYS))
    return "\n".join(lines)


def full_text(head: str, members) -> str:
    """Everything /jadwal knows: each member's items due now and coming, with their dates."""
    lines = [head]
    for person, now, soon in members:
        if not now and not soon:
            continue
        lines.append("")
        lines.append(f"{person.name}:")
        if now:
            lines.append("  " + _("Sekarang: {items}", items=grouped([(label, when) for _code, label, when in now])))
        if soon:
            lines.append("  " + _("Segera: {items}", items=grouped([(label, when) for _code, label, when in soon])))
    lines.append("")
    lines.append(_("Detail imunisasi anak: /imunisasi"))
    return "\n".join(lines)


async def enter_schedule(ctx: Ctx) -> Next:
    """Shows the next posyandu day and what each member is due for now; the rest is one button away."""
    head, members = await _schedule_view(ctx)
    if not any(now or soon for _person, now, soon in members):
        ctx.note(head + "\n\n" + _("Dalam {days} hari ke depan belum ada layanan yang waktunya tiba. Tetap datang ke posyandu setiap bulan.",
                                   days=HORIZON_DAYS))
        return END
    ctx.note(brief_text(head, members))
    ctx.data["due_now"] = any(now for _person, now, _soon in members)
    return "more"


async def ask_more(ctx: Ctx) -> Question:
    choices = [(_("Lihat semua"), "all")]
    if ctx.data.get("due_now", True):  # handlers.history.open_mark says so when nothing is due any more
        choices.append((_("Tandai sudah"), "mark"))
    choices.append((_("Menu utama"), "menu"))
    return Question(_("Apa yang ingin Bapak/Ibu lakukan?"), tuple(choices))


async def on_more(ctx: Ctx, answer: Answer) -> Next:
    """*Lihat semua*: the whole schedule, then the main menu (offering *Tandai sudah*); *Tandai sudah*:
    handlers.history; *Menu utama*: the main menu."""
    if answer.choice == "all":
        head, members = await _schedule_view(ctx)
        ctx.note(full_text(head, members))
        if any(now for _person, now, _soon in members):  # the menu offers "Tandai sudah" (handlers.history.open_mark)
            return Goto("menu", "main", {"offer": "mark"})
        return END
    if answer.choice == "mark":
        return await open_mark(ctx)
    if answer.choice == "menu":
        return END
    raise Invalid(_("Pilih dari daftar."))


async def young_children(ctx: Ctx) -> list:
    """The family's children of an age whose immunisation card is shown (up to 6 years)."""
    members = await family_members(ctx.session, ctx.identity.family_id)
    return [p for p in members if p.birth_date and 0 <= age_months(p.birth_date, ctx.today) <= IMMUNIZATION_AGE_MONTHS]


async def immunization_in_menu(ctx: Ctx) -> bool:
    """The family menu offers "Imunisasi anak" only to a household with a child of that age."""
    return await family_views(ctx) and bool(await young_children(ctx))


async def enter_immunization(ctx: Ctx) -> Next:
    """Shows each child's immunisation card: given, due now, catch-up, missed, next."""
    children = await young_children(ctx)
    if not children:
        ctx.note(_("Tidak ada anak balita di keluarga ini. Imunisasi anak ditampilkan sampai usia 6 tahun."))
        return END
    records = await histories(ctx.session, [c.id for c in children])
    ctx.note("\n\n".join(child_card(ctx, child, records[child.id]) for child in children))
    # the menu offers "Isi/ubah imunisasi" (handlers.history.open_immunization)
    return Goto("menu", "main", {"offer": "immunization"})


def given_text(code: str, history: PersonHistory, given_on: date, today: date) -> str:
    """A dose given, with its date as well as it is known: ``BCG 5 Mar``, ``BCG Mar 2025``, ``BCG (tanggal tidak diketahui)``."""
    record = history.latest(code)
    precision = record.precision if record is not None else DAY
    if precision == UNKNOWN:
        return _("{dose} (tanggal tidak diketahui)", dose=_(DOSE_LABELS[code]))
    if precision == MONTH:
        return f"{_(DOSE_LABELS[code])} {format_date(given_on, 'MMM y')}"
    return f"{_(DOSE_LABELS[code])} {short_date(given_on, today)}"


def child_card(ctx: Ctx, child: Person, history: PersonHistory) -> str:
    """A short immunisation card for one child."""
    today = ctx.today
    summary = child_summary(child.birth_date, history.given, today, je=ctx.settings.care.je, schedule=ctx.schedule,
                            approximate=history.approximate)

    def names(items, with_window: bool = True) -> str:
        return grouped(
            [(_(DOSE_LABELS[code]), window(state.earliest, state.latest, today) if with_window else "") for code, state in items]
        )

    lines = [_("{name} ({age})", name=child.name, age=age_text(child.birth_date, today))]
    if summary.given:
        unknown = {c for c, _s in summary.given if (history.latest(c) or _EXACT).precision == UNKNOWN}
        known = [given_text(c, history, s.given_on, today) for c, s in summary.given if s.given_on and c not in unknown]
        if known:
            lines.append(_("\u2713 Sudah: {doses}", doses=", ".join(known)))
        if unknown:  # doses from the Buku KIA history whose day nobody remembers: one line, not one note each
            lines.append(_("\u2713 Sudah, tanggal tidak diketahui: {doses}",
                           doses=", ".join(_(DOSE_LABELS[c]) for c, _s in summary.given if c in unknown)))
    if summary.due:
        lines.append(_("\u25cf Waktunya sekarang: {doses}", doses=names(summary.due)))
    if summary.invalid:
        lines.append(_("! Perlu diulang: {doses}", doses=names(summary.invalid)))
    if summary.catch_up:
        lines.append(_("\u25cb Terlambat, masih bisa dikejar: {doses}", doses=names(summary.catch_up)))
    if summary.missed:
        lines.append(_("\u2717 Terlewat: {doses}", doses=names(summary.missed, with_window=False)))
    if summary.next_upcoming:
        lines.append(_("\u2192 Berikutnya: {doses}", doses=names(summary.next_upcoming)))
    if len(lines) == 1:
        lines.append(_("Imunisasi dasar dan lanjutan sudah lengkap."))
    return "\n".join(lines)


SCHEDULE = Flow(name="schedule", first="more", steps={"more": Step(ask_more, on_more)}, enter=enter_schedule, needs_family=True,
                commands=("jadwal", "schedule"), home=("more",), menu_label=N_("Jadwal"), menu_when=family_views,
                help_line=N_("Jadwal posyandu dan layanan"))
IMMUNIZATION = Flow(name="immunization", first="show", steps={}, enter=enter_immunization, needs_family=True,
                    commands=("imunisasi", "imunization", "immunization", "immunisation", "vaksin", "vaccines"),
                    menu_label=N_("Imunisasi anak"), menu_when=immunization_in_menu, help_line=N_("Imunisasi anak"))
