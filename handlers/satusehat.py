"""``/satusehat``: staff see what of their own puskesmas went to SATUSEHAT: the items counted by state, then
the first refused, held and waiting ones with the person's name, what it is and why (SATUSEHAT's own words
for a refusal; satusehat.overview), and send the refused ones again once their cause is fixed (audited, as
``bot.py satusehat retry --state refused`` is). Names are shown in the chat only; nothing here is logged."""
from __future__ import annotations

from content.i18n import N_, _
from handlers.flow import END, STAFF, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit
from handlers.staff import STAFF_REFUSAL, staff_opened
from satusehat.overview import LISTED, STATE_LABELS, Overview, overview, retry_refused
from satusehat.queue import REFUSED

#: items listed of each state in the chat (the web lists more)
SHOWN = 5


def overview_text(view: Overview, *, enabled: bool) -> str:
    """The counts, then each listed state's first items with their reason."""
    lines = [_("Pengiriman ke SATUSEHAT:")]
    if not enabled:
        lines.append(_("Pengiriman ke SATUSEHAT belum diaktifkan (satusehat.enabled)."))
    if not view.total:
        lines.append(_("Belum ada data yang diantrekan untuk SATUSEHAT."))
        return "\n".join(lines)
    lines.append(", ".join(f"{_(STATE_LABELS[state])} {count}" for state, count in view.counts.items()))
    for state in LISTED:
        count, entries = view.counts[state], view.entries[state]
        if not count:
            continue
        lines += ["", f"{_(STATE_LABELS[state])} {count}:"] + [f"\u2022 {entry.line()}" for entry in entries]
        if count > len(entries):
            lines.append(_("... dan {count} lainnya", count=count - len(entries)))
    return "\n".join(lines)


async def ask_satusehat(ctx: Ctx) -> Question:
    view = await overview(ctx.session, ctx.identity.puskesmas_id, limit=SHOWN)
    choices = ((_("Kirim ulang yang ditolak ({count})", count=view.counts[REFUSED]), "retry"),) if view.counts[REFUSED] else ()
    return Question(overview_text(view, enabled=ctx.settings.satusehat.enabled), (*choices, (_("Selesai"), "done")))


async def on_satusehat(ctx: Ctx, answer: Answer) -> Next:
    """Sends the refused items of the staff member's puskesmas again at the next pass; ends."""
    if answer.choice == "done":
        return END
    if answer.choice != "retry":
        raise Invalid(_("Pilih dari daftar."))
    count = await retry_refused(ctx.session, ctx.identity.puskesmas_id, ctx.now)
    audit(ctx, "satusehat.retry", "puskesmas", ctx.identity.puskesmas_id, by="chat", states=[REFUSED], items=count)
    ctx.note(_("{count} data yang ditolak akan dikirim lagi ke SATUSEHAT pada pengiriman berikutnya.", count=count))
    return END


#: no menu button: a staff member's menu (with their family's buttons) already fills a WhatsApp list's 10
#: rows; like /impor and /web it is a command with its help line
SATUSEHAT = Flow(name="satusehat", first="start", enter=staff_opened, steps={"start": Step(ask_satusehat, on_satusehat)},
                 commands=("satusehat",), roles=STAFF, refusal=STAFF_REFUSAL, home=("start",),
                 help_line=N_("Pengiriman data ke SATUSEHAT"))
