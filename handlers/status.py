"""``/status``: staff follow their puskesmas's last announcements (queued, sent, failed, blocked, and
WhatsApp's delivered and read) and cancel what is still waiting."""
from __future__ import annotations

from sqlalchemy import func, select, update

from content.i18n import _, format_date
from db.models import Broadcast, Outbox
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit
from handlers.staff import staff_only


async def _recent(ctx: Ctx) -> list[Broadcast]:
    return list(await ctx.session.scalars(
        select(Broadcast).where(Broadcast.puskesmas_id == ctx.identity.puskesmas_id).order_by(Broadcast.id.desc()).limit(5)))


async def ask_status(ctx: Ctx) -> Question:
    broadcasts = await _recent(ctx)
    if not broadcasts:
        return Question(_("Belum ada pengumuman."), ((_("Selesai"), "done"),))
    lines, choices = [], []
    for b in broadcasts:
        counts = dict((await ctx.session.execute(
            select(Outbox.state, func.count()).where(Outbox.broadcast_id == b.id).group_by(Outbox.state))).all())
        sent, pending = counts.get("sent", 0), counts.get("pending", 0) + counts.get("sending", 0)
        lines.append(_("#{id} {date}: terkirim {sent}, menunggu {pending}, gagal {failed}, diblokir {blocked}, dibatalkan {cancelled}\n   {text}",
                       id=b.id, date=format_date(b.created_at.date(), "short"), sent=sent, pending=pending,
                       failed=counts.get("failed", 0) + counts.get("expired", 0), blocked=counts.get("blocked", 0),
                       cancelled=counts.get("cancelled", 0), text=b.text[:60]))
        receipts = dict((await ctx.session.execute(
            select(Outbox.delivery, func.count()).where(Outbox.broadcast_id == b.id, Outbox.delivery.is_not(None)).group_by(Outbox.delivery))).all())
        if receipts:  # WhatsApp tells when a message arrived and was read
            lines.append("   " + _("WhatsApp: sampai {delivered}, dibaca {read}",
                                    delivered=receipts.get("delivered", 0) + receipts.get("read", 0), read=receipts.get("read", 0)))
        if pending:
            choices.append((_("Batalkan #{id}", id=b.id), f"cancel:{b.id}"))
    return Question(_("Pengumuman terakhir:") + "\n" + "\n".join(lines), (*choices, (_("Selesai"), "done")))


async def on_status(ctx: Ctx, answer: Answer) -> Next:
    """Cancels what is still pending of a broadcast when asked; ends."""
    if answer.choice == "done":
        return END
    if not (answer.choice and answer.choice.startswith("cancel:") and answer.choice[7:].isdecimal()):
        raise Invalid(_("Pilih dari daftar."))
    broadcast = await ctx.session.get(Broadcast, int(answer.choice[7:]))
    if broadcast is None or broadcast.puskesmas_id != ctx.identity.puskesmas_id:
        raise Invalid(_("Pilih dari daftar."))
    result = await ctx.session.execute(update(Outbox).where(Outbox.broadcast_id == broadcast.id, Outbox.state == "pending")
                                       .values(state="cancelled"))
    broadcast.state = "cancelled"
    audit(ctx, "broadcast.cancelled", "broadcast", broadcast.id, rows=result.rowcount)
    ctx.note(_("Pengumuman #{id} dibatalkan: {count} pesan tidak akan dikirim.", id=broadcast.id, count=result.rowcount))
    return END


STATUS = Flow(name="status", first="start", enter=staff_only, steps={"start": Step(ask_status, on_status)})
