"""``/status``: staff follow their puskesmas's last announcements (queued, sent, failed, blocked, and
WhatsApp's delivered and read) and cancel what is still waiting. Messages WhatsApp refused because of
their template (not approved in the language, paused, disabled: errors 132xxx) are counted with the
template and the code, for each announcement and for the other messages of the last 7 days, so that
staff can ask for the template to be fixed."""
from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, or_, select

from content.i18n import N_, _, format_date, n_
from db.models import Broadcast, Family, Identity, Outbox, Posyandu
from handlers.flow import END, STAFF, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit
from handlers.staff import STAFF_REFUSAL, staff_opened
from reminders.announcements import cancel_broadcast


#: how a template refusal is kept in ``outbox.error``: by the dispatcher (``channels.errors.TemplateRejected``)
#: or by a failed delivery status (``reminders.delivery``)
_REJECTED = re.compile(r"template (?P<name>[a-z0-9_?]+) rejected \((?P<code>\d+)\)")
_FAILED = re.compile(r"failed: (?P<code>132\d{3})\b")
_TEMPLATE_ERRORS = or_(Outbox.error.like("TemplateRejected:%"), Outbox.error.like("failed: 132%"))
RECENT_DAYS = 7


def template_failures(errors: list[tuple[str | None, int]]) -> list[str]:
    """Lines ``3 pesan gagal: template ilp_pengumuman ditolak (132001)`` for (outbox.error, count) pairs."""
    counts: Counter[tuple[str, str]] = Counter()
    for error, count in errors:
        found = _REJECTED.search(error or "") or _FAILED.search(error or "")
        if found:
            name = found.groupdict().get("name") or "?"
            counts[(name if name != "?" else "WhatsApp", found.group("code"))] += count
    return [n_("{count} pesan gagal: template {template} ditolak ({code})",
               "{count} pesan gagal: template {template} ditolak ({code})", count,
               count=count, template=name, code=code) for (name, code), count in sorted(counts.items())]


async def _other_failures(ctx: Ctx) -> list[str]:
    """Template refusals of the last days among the messages to the puskesmas's families (not announcements)."""
    families = select(Family.id).join(Posyandu, Posyandu.id == Family.posyandu_id).where(
        Posyandu.puskesmas_id == ctx.identity.puskesmas_id)
    rows = await ctx.session.execute(
        select(Outbox.error, func.count()).join(Identity, Identity.id == Outbox.identity_id)
        .where(Identity.family_id.in_(families), Outbox.broadcast_id.is_(None), _TEMPLATE_ERRORS,
               Outbox.not_before >= ctx.now - timedelta(days=RECENT_DAYS))  # due in the last days
        .group_by(Outbox.error))
    return template_failures([tuple(r) for r in rows.all()])


async def _recent(ctx: Ctx) -> list[Broadcast]:
    return list(await ctx.session.scalars(
        select(Broadcast).where(Broadcast.puskesmas_id == ctx.identity.puskesmas_id).order_by(Broadcast.id.desc()).limit(5)))


async def ask_status(ctx: Ctx) -> Question:
    broadcasts = await _recent(ctx)
    others = await _other_failures(ctx)
    tail = ("\n\n" + _("Pesan lain ({days} hari terakhir):", days=RECENT_DAYS) + "\n" + "\n".join(others)) if others else ""
    if not broadcasts:
        return Question(_("Belum ada pengumuman.") + tail, ((_("Selesai"), "done"),))
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
        refused = await ctx.session.execute(
            select(Outbox.error, func.count()).where(Outbox.broadcast_id == b.id, _TEMPLATE_ERRORS).group_by(Outbox.error))
        lines += ["   " + line for line in template_failures([tuple(r) for r in refused.all()])]
        if pending:
            choices.append((_("Batalkan #{id}", id=b.id), f"cancel:{b.id}"))
    return Question(_("Pengumuman terakhir:") + "\n" + "\n".join(lines) + tail, (*choices, (_("Selesai"), "done")))


async def on_status(ctx: Ctx, answer: Answer) -> Next:
    """Cancels what is still pending of a broadcast when asked; ends."""
    if answer.choice == "done":
        return END
    if not (answer.choice and answer.choice.startswith("cancel:") and answer.choice[7:].isdecimal()):
        raise Invalid(_("Pilih dari daftar."))
    broadcast = await ctx.session.get(Broadcast, int(answer.choice[7:]))
    if broadcast is None or broadcast.puskesmas_id != ctx.identity.puskesmas_id:
        raise Invalid(_("Pilih dari daftar."))
    rows = await cancel_broadcast(ctx.session, broadcast)
    audit(ctx, "broadcast.cancelled", "broadcast", broadcast.id, rows=rows)
    ctx.note(_("Pengumuman #{id} dibatalkan: {count} pesan tidak akan dikirim.", id=broadcast.id, count=rows))
    return END


STATUS = Flow(name="status", first="start", enter=staff_opened, steps={"start": Step(ask_status, on_status)},
              commands=("status",), roles=STAFF, refusal=STAFF_REFUSAL, home=("start",),
              menu_label=N_("Status pengumuman"), help_line=N_("Status pengumuman"))
