"""``/jadwalposyandu`` (staff): the month's posyandu days of the puskesmas; move or cancel a session
with a reason, or add an extra one. The posyandu's families and kaders are told through the outbox,
once each (the outbox key names the change and the recipient).

Nothing is sent unseen: before anything is saved the staff member sees the message the families will
get and picks *Kirim*, *Ubah* (the session, the new day or the reason) or *Batal*. A new day on a
Sunday, a national holiday or a cuti bersama day (content/holidays.yaml through care.calendar) is
warned about before that; the example date offered is a working day after the session being moved
(or a week ahead for an extra session); a reason that is a date (a date typed one question too late)
is refused, not sent to families as the reason."""
from __future__ import annotations

import re
from datetime import date, timedelta

from care.calendar import holiday_list
from content.i18n import N_, _, format_date
from db.models import Posyandu, PosyanduException
from db.queries import posyandu_sessions
from handlers.family import date_hint
from handlers.flow import END, STAFF, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit
from handlers.parsing import ParseError, parse_date
from handlers.staff import STAFF_REFUSAL, own_posyandu, staff_opened
from reminders.announcements import change_text, posyandu_recipients, queue_change_notice

WINDOW_DAYS = 62
#: how far ahead a new day may be
AHEAD_DAYS = 90
#: an extra session's example day: a week from today
EXAMPLE_DAYS = 7
#: a reason made only of digits and date separators ("7-12", "12/12/2026") is a date, not a reason
_DATE_LIKE = re.compile(r"^[\d\s./-]+$")


async def _sessions(ctx: Ctx, posyandu: Posyandu, days: int = WINDOW_DAYS):
    """The posyandu's sessions from today on, with its changes and the holidays applied."""
    return await posyandu_sessions(ctx.session, posyandu, ctx.today, ctx.today + timedelta(days=days))


async def ask_start(ctx: Ctx) -> Question:
    lines = [_("Jadwal posyandu {start} sampai {end}:", start=format_date(ctx.today, "d MMM"),
               end=format_date(ctx.today + timedelta(days=31), "d MMM y"))]
    for posyandu in await own_posyandu(ctx):
        days = [s for s in await _sessions(ctx, posyandu, 31)]
        shown = ", ".join(format_date(s.day, "EEE d MMM") + ("*" if s.status != "regular" else "") for s in days) or _("tidak ada")
        lines.append(f"\u2022 {posyandu.name}: {shown}")
    lines.append(_("(* dipindah, tambahan, atau hari libur)"))
    return Question("\n".join(lines), ((_("Pindahkan"), "moved"), (_("Batalkan"), "cancelled"), (_("Tambah sesi"), "extra"), (_("Selesai"), "done")))


async def on_start(ctx: Ctx, answer: Answer) -> Next:
    """Stores what to change; asks which posyandu next."""
    if answer.choice == "done":
        return END
    if answer.choice not in ("moved", "cancelled", "extra"):
        raise Invalid(_("Pilih dari daftar."))
    ctx.data["kind"] = answer.choice
    return "posyandu"


async def ask_posyandu(ctx: Ctx) -> Question:
    return Question(_("Posyandu mana?"), tuple((f"{p.name} ({p.village_name})", str(p.id)) for p in await own_posyandu(ctx)))


async def on_posyandu(ctx: Ctx, answer: Answer) -> Next:
    """Stores the posyandu; asks the session (or the extra day) next."""
    own = {p.id for p in await own_posyandu(ctx)}
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in own):
        raise Invalid(_("Pilih posyandu dari daftar."))
    ctx.data["posyandu_id"] = int(answer.choice)
    return "new_date" if ctx.data["kind"] == "extra" else "session"


async def ask_session(ctx: Ctx) -> Question:
    posyandu = await ctx.session.get(Posyandu, ctx.data["posyandu_id"])
    # "Sabtu, 5 Des": a button title within 20 characters in every language; the sessions are the next two months
    return Question(_("Sesi tanggal berapa?"), tuple((format_date(s.day, "EEEE, d MMM"), s.day.isoformat()) for s in (await _sessions(ctx, posyandu))[:6]))


async def on_session(ctx: Ctx, answer: Answer) -> Next:
    """Stores the session to change (picked, or its date typed: ``05-12-2026``, ``5 Des``); asks the new
    day (move) or the reason (cancel) next."""
    posyandu = await ctx.session.get(Posyandu, ctx.data["posyandu_id"])
    days = {s.day.isoformat() for s in await _sessions(ctx, posyandu)}
    picked = answer.choice
    if picked is None and answer.text.strip():
        try:
            picked = read_day(answer.text, ctx.today).isoformat()
        except ParseError:
            picked = None
    if picked not in days:
        raise Invalid(_("Pilih tanggal dari daftar."))
    ctx.data["original"] = picked
    if ctx.data.get("editing") and ctx.data.get("new") != picked:
        return "preview"
    return "new_date" if ctx.data["kind"] == "moved" else "reason"


def day_off(day: date) -> str | None:
    """Why posyandu are usually closed on ``day`` (a national holiday, cuti bersama or Sunday), or None."""
    holiday = next((h for h in holiday_list() if h.day == day), None)
    if holiday is not None and holiday.kind == "libur_nasional":
        return _("hari libur nasional ({name})", name=holiday.name)
    if holiday is not None:
        return _("cuti bersama ({name})", name=holiday.name)
    if day.weekday() == 6:
        return _("hari Minggu")
    return None


def example_day(ctx: Ctx) -> date:
    """A real day to show as the example of a new date: the first working day after the session being
    moved (a week from today for an extra session), never in the past nor beyond the allowed range."""
    original = ctx.data.get("original")
    day = date.fromisoformat(original) + timedelta(days=1) if original else ctx.today + timedelta(days=EXAMPLE_DAYS)
    day = max(day, ctx.today)
    last = ctx.today + timedelta(days=AHEAD_DAYS)
    while day_off(day) is not None and day < last:
        day += timedelta(days=1)
    return day


def _example(ctx: Ctx) -> str:
    return format_date(example_day(ctx), "d-MM-y")


def read_day(text: str, today: date) -> date:
    """A typed day, the year optional (``7-12``, ``7 Des``: the next such day from today)."""
    try:
        return parse_date(text, today, prefer_future=True)
    except ParseError as exc:
        if exc.code != "format":
            raise
    t = text.strip()
    for year in (today.year, today.year + 1):
        for candidate in (f"{t}-{year}", f"{t} {year}"):
            try:
                day = parse_date(candidate, today)
            except ParseError as exc:
                if exc.code != "format":
                    raise
                continue
            if day >= today:
                return day
            break
    raise ParseError("format")


def looks_like_date(text: str, today: date) -> bool:
    """Whether ``text`` is a date (or a mistyped one) rather than words."""
    if _DATE_LIKE.match(text.strip()):
        return True
    try:
        read_day(text, today)
    except ParseError as exc:
        return exc.code != "format"
    return True


def new_day_problem(day: date, today: date, original: str | None, example: str) -> str | None:
    """What is wrong with a new day for a session (None: it may be used): in the past, more than
    :data:`AHEAD_DAYS` ahead, or the day of the session being moved (``original``, ISO)."""
    if day < today or day > today + timedelta(days=AHEAD_DAYS):
        return _("Pilih tanggal dari hari ini sampai 90 hari ke depan.")
    if day.isoformat() == original:
        return _("Itu tanggal sesi yang dipindah. Tulis tanggal barunya, misalnya: {example}", example=example)
    return None


async def ask_new_date(ctx: Ctx) -> Question:
    if ctx.data["kind"] == "moved":
        original = date.fromisoformat(ctx.data["original"])
        return Question(_("Sesi {day} dipindah ke tanggal berapa? Contoh: {example}",
                          day=format_date(original, "EEEE, d MMMM"), example=_example(ctx)))
    return Question(_("Tanggal barunya? Contoh: {example}", example=_example(ctx)))


async def on_new_date(ctx: Ctx, answer: Answer) -> Next:
    """Stores the new day (not in the past, within 90 days, not the session's own day); a Sunday or a
    holiday is asked about first; the reason (or, when editing, the preview) next."""
    try:
        day = read_day(answer.text, ctx.today)
    except ParseError as exc:
        raise Invalid(date_hint(exc.code, _example(ctx))) from None
    problem = new_day_problem(day, ctx.today, ctx.data.get("original"), _example(ctx))
    if problem:
        raise Invalid(problem)
    ctx.data["new"] = day.isoformat()
    if day_off(day) is not None:
        return "day_off"
    return "preview" if ctx.data.get("editing") else "reason"


async def ask_day_off(ctx: Ctx) -> Question:
    day = date.fromisoformat(ctx.data["new"])
    return Question(
        _("{day} adalah {why}. Posyandu biasanya libur pada hari itu. Tetap pakai tanggal ini?",
          day=format_date(day, "EEEE, d MMMM y"), why=day_off(day) or ""),
        ((_("Tetap tanggal ini"), "keep"), (_("Ganti tanggal"), "change")),
    )


async def on_day_off(ctx: Ctx, answer: Answer) -> Next:
    """Keeps the day (the reason or the preview next) or asks for another one."""
    if answer.choice == "change":
        return "new_date"
    if answer.choice != "keep":
        raise Invalid(_("Pilih Tetap tanggal ini atau Ganti tanggal."))
    return "preview" if ctx.data.get("editing") else "reason"


async def ask_reason(ctx: Ctx) -> Question:
    return Question(_("Alasannya? (dikirim ke keluarga dan kader)"))


def read_reason(text: str, today: date) -> tuple[str, str | None]:
    """A change's reason as it is kept (spaces tidied, 200 letters at most) and what is wrong with it
    (None: fine): too short, or a date rather than words."""
    reason = " ".join(text.split())[:200]
    if len(reason) < 3:
        return reason, _("Tulis alasannya singkat, misalnya: bidan pelatihan.")
    if looks_like_date(reason, today):
        return reason, _("Itu tanggal, bukan alasan. Tulis alasannya dengan kata-kata, misalnya: bidan pelatihan.")
    return reason, None


async def on_reason(ctx: Ctx, answer: Answer) -> Next:
    """Stores the reason (words, not a date); shows the preview next."""
    reason, problem = read_reason(answer.text, ctx.today)
    if problem:
        raise Invalid(problem)
    ctx.data["reason"] = reason
    return "preview"


def _change(ctx: Ctx, posyandu: Posyandu) -> PosyanduException:
    """The change being made, from the flow's data (not yet saved)."""
    original = date.fromisoformat(ctx.data["original"]) if ctx.data.get("original") else None
    new = date.fromisoformat(ctx.data["new"]) if ctx.data.get("new") else None
    return PosyanduException(posyandu_id=posyandu.id, kind=ctx.data["kind"], original_date=original, new_date=new,
                             reason=ctx.data["reason"], created_by=ctx.identity.id, created_at=ctx.now)


async def ask_preview(ctx: Ctx) -> Question:
    posyandu = await ctx.session.get(Posyandu, ctx.data["posyandu_id"])
    count = len(await _recipients(ctx, posyandu))
    return Question(
        _("Pesan ini akan dikirim ke {count} keluarga dan kader:", count=count) + "\n\n" + change_text(posyandu, _change(ctx, posyandu)),
        ((_("Kirim"), "send"), (_("Ubah"), "edit"), (_("Batal"), "cancel")),
    )


async def on_preview(ctx: Ctx, answer: Answer) -> Next:
    """*Kirim*: saves the change and tells the posyandu's families and kaders; *Ubah*: what to change;
    *Batal*: nothing is saved."""
    if answer.choice == "cancel":
        ctx.note(_("Jadwal tidak diubah. Tidak ada pesan yang dikirim."))
        return END
    if answer.choice == "edit":
        return "edit"
    if answer.choice != "send":
        raise Invalid(_("Pilih Kirim, Ubah, atau Batal."))
    posyandu = await ctx.session.get(Posyandu, ctx.data["posyandu_id"])
    change = _change(ctx, posyandu)
    ctx.session.add(change)
    await ctx.session.flush()
    count = await _tell(ctx, posyandu, change)
    audit(ctx, f"posyandu.{change.kind}", "posyandu", posyandu.id, change=change.id, recipients=count)
    ctx.note(_("Tersimpan. {count} keluarga dan kader diberi tahu.", count=count))
    return END


async def ask_edit(ctx: Ctx) -> Question:
    kind = ctx.data["kind"]
    choices = []
    if kind in ("moved", "cancelled"):
        choices.append((_("Sesi"), "session"))
    if kind in ("moved", "extra"):
        choices.append((_("Tanggal baru"), "new_date"))
    choices.append((_("Alasan"), "reason"))
    return Question(_("Apa yang ingin diubah?"), tuple(choices))


async def on_edit(ctx: Ctx, answer: Answer) -> Next:
    """Asks the chosen question again; the preview follows it."""
    allowed = {"reason"} | ({"session"} if ctx.data["kind"] in ("moved", "cancelled") else set()) \
        | ({"new_date"} if ctx.data["kind"] in ("moved", "extra") else set())
    if answer.choice not in allowed:
        raise Invalid(_("Pilih dari daftar."))
    ctx.data["editing"] = True
    return answer.choice


async def _recipients(ctx: Ctx, posyandu: Posyandu) -> list[tuple[int, str, str, str]]:
    """(identity, channel, address, language) of every reachable family chat and kader of the posyandu."""
    return await posyandu_recipients(ctx.session, posyandu)


async def _tell(ctx: Ctx, posyandu: Posyandu, change: PosyanduException) -> int:
    """Queues the notice for every reachable family chat and kader of the posyandu; returns how many."""
    return await queue_change_notice(ctx.session, ctx.settings, posyandu, change, ctx.now)


POSYANDU_DAYS = Flow(
    name="posyandu_days",
    first="start",
    enter=staff_opened,
    commands=("jadwalposyandu", "posyandudays"),
    roles=STAFF,
    refusal=STAFF_REFUSAL,
    home=("start",),
    menu_label=N_("Jadwal posyandu"),
    help_line=N_("Ubah jadwal posyandu"),
    steps={
        "start": Step(ask_start, on_start),
        "posyandu": Step(ask_posyandu, on_posyandu),
        "session": Step(ask_session, on_session),
        "new_date": Step(ask_new_date, on_new_date),
        "day_off": Step(ask_day_off, on_day_off),
        "reason": Step(ask_reason, on_reason),
        "preview": Step(ask_preview, on_preview),
        "edit": Step(ask_edit, on_edit),
    },
)
