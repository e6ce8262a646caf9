"""What a family sees of the care rules: ``/jadwal`` (next posyandu day and the coming 60 days)
and ``/imunisasi`` (each child's doses: given, due, catch-up, missed, next).

Both end at the main menu with one more button (``handlers.history``): after ``/jadwal`` *Tandai
sudah* (mark an item shown as due or late as done), after ``/imunisasi`` *Isi/ubah imunisasi* (enter
doses from the Buku KIA, correct them, remove one entered by mistake)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, select

from care.immunization import child_summary
from care.schedule import DOSE_LABELS, SERVICE_LABELS
from care.services import OVERDUE, UPCOMING, services_due
from care.stages import age_months
from content.i18n import _, format_date, grouped
from care.history import DAY, MONTH, UNKNOWN, PersonHistory, Record
from db.history import histories
from db.models import Family, Person, Posyandu
from db.queries import family_members, next_posyandu_session
from handlers.describe import age_text, schedule_text, session_text
from handlers.flow import END, Ctx, Flow, Goto, Next

HORIZON_DAYS = 60
_EXACT = Record("", date.min)
#: Children up to this age (months) have an immunisation card.
IMMUNIZATION_AGE_MONTHS = 71


def short_date(day: date, today: date) -> str:
    """``5 Des`` this year, ``5 Des 2027`` otherwise."""
    return format_date(day, "d MMM" if day.year == today.year else "d MMM y")


def window(earliest: date | None, latest: date | None, today: date) -> str:
    """A date window in words: ``sampai 5 Jan``, ``mulai 5 Des``, ``5 Des - 5 Jan``."""
    if earliest is not None and earliest > today:
        if latest is None:
            return _("mulai {start}", start=short_date(earliest, today))
        return _("{start} - {end}", start=short_date(earliest, today), end=short_date(latest, today))
    if latest is not None:
        return _("sampai {end}", end=short_date(latest, today))
    return _("sekarang")


_FAMILY_AND_POSYANDU = (
    select(Family, Posyandu).join(Posyandu, Posyandu.id == Family.posyandu_id).where(Family.id == bindparam("family_id"))
)


async def enter_schedule(ctx: Ctx) -> Next:
    """Shows the next posyandu day and what each member is due for in the coming 60 days."""
    family, posyandu = (await ctx.session.execute(_FAMILY_AND_POSYANDU, {"family_id": ctx.identity.family_id})).one()
    members = await family_members(ctx.session, family.id)
    records = await histories(ctx.session, [m.id for m in members])
    lines = [
        _("Posyandu berikutnya: {day} di {posyandu} ({schedule}).",
          day=session_text(await next_posyandu_session(ctx.session, posyandu, ctx.today)),
          posyandu=posyandu.name, schedule=schedule_text(posyandu.schedule)),
    ]
    marks = False
    for person in members:
        now, soon = member_items(ctx, person, records[person.id])
        marks = marks or bool(now)
        if not now and not soon:
            continue
        lines.append("")
        lines.append(f"{person.name}:")
        if now:
            lines.append("  " + _("Sekarang: {items}", items=grouped(now)))
        if soon:
            lines.append("  " + _("Segera: {items}", items=grouped(soon)))
    if len(lines) == 1:
        lines.append(_("Dalam {days} hari ke depan tidak ada layanan yang jatuh tempo. Tetap datang ke posyandu setiap bulan.", days=HORIZON_DAYS))
    else:
        lines.append("")
        lines.append(_("Detail imunisasi anak: /imunisasi"))
    ctx.note("\n".join(lines))
    if marks:  # the menu offers "Tandai sudah" (handlers.history.open_mark)
        return Goto("menu", "main", {"offer": "mark"})
    return END


def member_items(ctx: Ctx, person: Person, history: PersonHistory) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """One member's items due now and within the horizon, as (label, window) pairs."""
    now, soon = due_items(ctx, person, history)
    return [(label, window) for _code, label, window in now], [(label, window) for _code, label, window in soon]


def due_items(ctx: Ctx, person: Person, history: PersonHistory) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """One member's items as (code, label, window): those due or late now (what *Tandai sudah* can
    mark as done), and those whose window opens within the horizon."""
    now: list[tuple[str, str, str]] = []
    soon: list[tuple[str, str, str]] = []
    horizon = ctx.today.toordinal() + HORIZON_DAYS
    if person.birth_date and 0 <= age_months(person.birth_date, ctx.today) <= IMMUNIZATION_AGE_MONTHS:
        summary = child_summary(person.birth_date, history.given, ctx.today, je=ctx.settings.care.je,
                                schedule=ctx.schedule, approximate=history.approximate)
        for code, _state in (*summary.due, *summary.invalid):
            now.append((code, _(DOSE_LABELS[code]), ""))
        for code, _state in summary.catch_up:
            now.append((code, _(DOSE_LABELS[code]), _("kejar")))
        for code, state in summary.next_upcoming:
            if state.earliest and state.earliest.toordinal() <= horizon:
                soon.append((code, _(DOSE_LABELS[code]), _("mulai {start}", start=short_date(state.earliest, ctx.today))))
    services = services_due(
        ctx.today, sex=person.sex, birth=person.birth_date, hpht=person.hpht, delivered_on=person.delivered_on,
        history=history.services, horizon_days=HORIZON_DAYS, schedule=ctx.schedule,
    )
    for service in services:
        label = _(SERVICE_LABELS.get(service.code, service.code))
        if service.state == OVERDUE:
            now.append((service.code, label, _("terlambat")))
        elif service.state == UPCOMING or (service.earliest and service.earliest > ctx.today):
            soon.append((service.code, label, _("mulai {start}", start=short_date(service.earliest, ctx.today))))
        else:
            now.append((service.code, label, ""))
    return now, soon


async def enter_immunization(ctx: Ctx) -> Next:
    """Shows each child's immunisation card: given, due now, catch-up, missed, next."""
    members = await family_members(ctx.session, ctx.identity.family_id)
    children = [
        p for p in members
        if p.birth_date and 0 <= age_months(p.birth_date, ctx.today) <= IMMUNIZATION_AGE_MONTHS
    ]
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


SCHEDULE = Flow(name="schedule", first="show", steps={}, enter=enter_schedule, needs_family=True)
IMMUNIZATION = Flow(name="immunization", first="show", steps={}, enter=enter_immunization, needs_family=True)
