"""``/pengingat``: the family's coming reminders and the choice of morning or afternoon delivery."""
from __future__ import annotations

from datetime import timedelta

from content.i18n import N_, _
from db.history import histories
from db.models import Family, Posyandu
from db.queries import family_members, next_posyandu_session
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step
from reminders.messages import daily_text
from reminders.rules import Item, member_items, member_of, policy_from


def _slot_label(ctx: Ctx, slot: str) -> str:
    r = ctx.settings.reminders
    if slot == "afternoon":
        return _("sore, pukul {hour}.00", hour=f"{r.afternoon_hour:02d}")
    return _("pagi, pukul {hour}.00", hour=f"{r.morning_hour:02d}")


async def _coming(ctx: Ctx) -> str:
    """What the next reminders will say: the posyandu day and the items due now."""
    family = await ctx.session.get(Family, ctx.identity.family_id)
    posyandu = await ctx.session.get(Posyandu, family.posyandu_id)
    people = await family_members(ctx.session, family.id)
    records = await histories(ctx.session, [p.id for p in people])
    policy = policy_from(ctx.settings)
    session = await next_posyandu_session(ctx.session, posyandu, ctx.today + timedelta(days=1))
    session_day = session.day if session else ctx.today + timedelta(days=1)
    items = [Item("posyandu", "before:1", session.day)] if session else []
    for p in people:
        items += member_items(ctx.today, member_of(p, records[p.id]), policy, ctx.schedule)
    return daily_text(family.name, posyandu.name, items, session_day - timedelta(days=1), ctx.identity.language)


async def ask_slot(ctx: Ctx) -> Question:
    lines = []
    if ctx.identity.opted_out_at is not None:
        lines.append(_("Pengingat sedang dihentikan. Ketik /mulai untuk mengaktifkannya lagi."))
    lines.append(_("Pengingat dikirim {slot}, paling banyak satu pesan sehari untuk seluruh keluarga.", slot=_slot_label(ctx, ctx.identity.reminder_slot)))
    lines.append("")
    lines.append(_("Contoh pengingat berikutnya:"))
    lines.append(await _coming(ctx))
    lines.append("")
    lines.append(_("Kapan Bapak/Ibu ingin menerima pengingat?"))
    return Question(
        "\n".join(lines),
        ((_("Pagi"), "morning"), (_("Sore"), "afternoon"), (_("Tidak diubah"), "keep")),
    )


async def on_slot(ctx: Ctx, answer: Answer) -> Next:
    """Stores the delivery slot; ends."""
    if answer.choice == "keep":
        return END
    if answer.choice not in ("morning", "afternoon"):
        raise Invalid(_("Pilih Pagi atau Sore."))
    ctx.identity.reminder_slot = answer.choice
    ctx.note(_("Baik, pengingat akan dikirim {slot}.", slot=_slot_label(ctx, answer.choice)))
    return END


REMINDER_SETTINGS = Flow(name="reminders", first="slot", needs_family=True, steps={"slot": Step(ask_slot, on_slot)},
                         commands=("pengingat", "reminders", "reminder"), home=("slot",),
                         help_line=N_("Pengingat: contoh dan jam kirim"))
