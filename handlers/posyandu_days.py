"""``/jadwalposyandu`` (staff): the month's posyandu days of the puskesmas; move or cancel a session
with a reason, or add an extra one. The posyandu's families and kaders are told through the outbox,
once each (the outbox key names the change and the recipient)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from care.calendar import sessions_between
from content.i18n import _, format_date
from db.models import Family, Identity, Outbox, Posyandu, PosyanduException, Puskesmas
from db.queries import posyandu_changes
from handlers.family import date_hint
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit
from handlers.parsing import ParseError, parse_date
from handlers.staff import _own_posyandu, staff_only
from reminders.planner import zone_of

WINDOW_DAYS = 62
NOTICE_DAYS = 7


async def _sessions(ctx: Ctx, posyandu: Posyandu, days: int = WINDOW_DAYS):
    """The posyandu's sessions from today on, with its changes and the holidays applied."""
    changes = (await posyandu_changes(ctx.session, [posyandu.id]))[posyandu.id]
    if not posyandu.schedule:
        return []
    return sessions_between(posyandu.schedule, ctx.today, ctx.today + timedelta(days=days), changes=changes,
                            policy=posyandu.holiday_policy or "after")


async def ask_start(ctx: Ctx) -> Question:
    lines = [_("Jadwal posyandu {start} sampai {end}:", start=format_date(ctx.today, "d MMM"),
               end=format_date(ctx.today + timedelta(days=31), "d MMM y"))]
    for posyandu in await _own_posyandu(ctx):
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
    return Question(_("Posyandu mana?"), tuple((f"{p.name} ({p.village_name})", str(p.id)) for p in await _own_posyandu(ctx)))


async def on_posyandu(ctx: Ctx, answer: Answer) -> Next:
    """Stores the posyandu; asks the session (or the extra day) next."""
    own = {p.id for p in await _own_posyandu(ctx)}
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in own):
        raise Invalid(_("Pilih posyandu dari daftar."))
    ctx.data["posyandu_id"] = int(answer.choice)
    return "new_date" if ctx.data["kind"] == "extra" else "session"


async def ask_session(ctx: Ctx) -> Question:
    posyandu = await ctx.session.get(Posyandu, ctx.data["posyandu_id"])
    return Question(_("Sesi tanggal berapa?"), tuple((format_date(s.day, "EEEE, d MMMM y"), s.day.isoformat()) for s in (await _sessions(ctx, posyandu))[:6]))


async def on_session(ctx: Ctx, answer: Answer) -> Next:
    """Stores the session to change; asks the new day (move) or the reason (cancel) next."""
    posyandu = await ctx.session.get(Posyandu, ctx.data["posyandu_id"])
    days = {s.day.isoformat() for s in await _sessions(ctx, posyandu)}
    if answer.choice not in days:
        raise Invalid(_("Pilih tanggal dari daftar."))
    ctx.data["original"] = answer.choice
    return "new_date" if ctx.data["kind"] == "moved" else "reason"


async def ask_new_date(ctx: Ctx) -> Question:
    return Question(_("Tanggal barunya? Contoh: {example}", example=format_date(ctx.today + timedelta(days=7), "d-MM-y")))


async def on_new_date(ctx: Ctx, answer: Answer) -> Next:
    """Stores the new day (not in the past, within 90 days); asks the reason next."""
    try:
        day = parse_date(answer.text, ctx.today, prefer_future=True)
    except ParseError as exc:
        raise Invalid(date_hint(exc.code, format_date(ctx.today + timedelta(days=7), "d-MM-y"))) from None
    if day < ctx.today or day > ctx.today + timedelta(days=90):
        raise Invalid(_("Pilih tanggal dari hari ini sampai 90 hari ke depan."))
    ctx.data["new"] = day.isoformat()
    return "reason"


async def ask_reason(ctx: Ctx) -> Question:
    return Question(_("Alasannya? (dikirim ke keluarga dan kader)"))


async def on_reason(ctx: Ctx, answer: Answer) -> Next:
    """Saves the change and tells the posyandu's families and kaders; ends."""
    from datetime import date

    reason = " ".join(answer.text.split())[:200]
    if len(reason) < 3:
        raise Invalid(_("Tulis alasannya singkat, misalnya: bidan pelatihan."))
    posyandu = await ctx.session.get(Posyandu, ctx.data["posyandu_id"])
    original = date.fromisoformat(ctx.data["original"]) if ctx.data.get("original") else None
    new = date.fromisoformat(ctx.data["new"]) if ctx.data.get("new") else None
    change = PosyanduException(posyandu_id=posyandu.id, kind=ctx.data["kind"], original_date=original, new_date=new,
                               reason=reason, created_by=ctx.identity.id, created_at=ctx.now)
    ctx.session.add(change)
    await ctx.session.flush()
    count = await _tell(ctx, posyandu, change)
    audit(ctx, f"posyandu.{change.kind}", "posyandu", posyandu.id, change=change.id, recipients=count)
    ctx.note(_("Tersimpan. {count} keluarga dan kader diberi tahu.", count=count))
    return END


def change_text(posyandu: Posyandu, change: PosyanduException) -> str:
    """The notice of a change, in the current language."""
    if change.kind == "moved":
        return _("{posyandu}: jadwal {old} dipindah ke {new}. Alasan: {reason}", posyandu=posyandu.name,
                 old=format_date(change.original_date, "EEEE, d MMMM"), new=format_date(change.new_date, "EEEE, d MMMM"), reason=change.reason)
    if change.kind == "cancelled":
        return _("{posyandu}: jadwal {old} dibatalkan. Alasan: {reason}", posyandu=posyandu.name,
                 old=format_date(change.original_date, "EEEE, d MMMM"), reason=change.reason)
    return _("{posyandu}: ada sesi tambahan {new}. {reason}", posyandu=posyandu.name,
             new=format_date(change.new_date, "EEEE, d MMMM"), reason=change.reason)


async def _tell(ctx: Ctx, posyandu: Posyandu, change: PosyanduException) -> int:
    """Queues the notice for every reachable family chat and kader of the posyandu; returns how many."""
    from content.i18n import use_locale

    families = select(Family.id).where(Family.posyandu_id == posyandu.id, Family.registered_at.is_not(None))
    rows = (await ctx.session.execute(select(Identity.id, Identity.channel, Identity.address, Identity.language).where(
        (Identity.family_id.in_(families)) | ((Identity.role == "kader") & (Identity.posyandu_id == posyandu.id)),
        Identity.consent == "given", Identity.opted_out_at.is_(None), Identity.unreachable_at.is_(None)))).all()
    puskesmas = await ctx.session.get(Puskesmas, posyandu.puskesmas_id)
    zone = zone_of(ctx.settings, puskesmas.code, puskesmas.timezone)
    for identity_id, channel, address, lang in rows:
        with use_locale(lang):
            text = change_text(posyandu, change)
        ctx.session.add(Outbox(
            key=f"calendar:{change.id}:{identity_id}", identity_id=identity_id, channel=channel, address=address,
            kind="calendar", body={"text": text, "lang": lang}, timezone=zone, state="pending", not_before=ctx.now,
            expires_at=ctx.now + timedelta(days=NOTICE_DAYS), attempts=0, created_at=ctx.now,
        ))
    return len(rows)


POSYANDU_DAYS = Flow(
    name="posyandu_days",
    first="start",
    enter=staff_only,
    steps={
        "start": Step(ask_start, on_start),
        "posyandu": Step(ask_posyandu, on_posyandu),
        "session": Step(ask_session, on_session),
        "new_date": Step(ask_new_date, on_new_date),
        "reason": Step(ask_reason, on_reason),
    },
)
