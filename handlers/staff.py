"""Puskesmas staff (who join with ``/staf <kode>``, handlers.kader): inviting kaders of their own posyandu
(``/undang``) and broadcasting to a chosen audience through the outbox (``/umumkan``; ``/status`` follows a
broadcast, in handlers.status). Staff see and act on their own puskesmas only; everything is audited."""
from __future__ import annotations

from content.i18n import N_, _, format_date
from db.models import Posyandu
from db.queries import posyandu_of
from handlers.flow import END, STAFF, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit, create_invite
from reminders.announcements import AUDIENCES, MAX_BROADCAST, audience_labels, broadcast_recipients, queue_broadcast



def is_staff(ctx: Ctx) -> bool:
    """Whether the person is staff of a puskesmas."""
    return ctx.identity.role == "staff" and ctx.identity.puskesmas_id is not None


#: What a person who is not staff is told when they open a staff flow (the engine checks ``roles``).
STAFF_REFUSAL = N_("Perintah ini untuk petugas puskesmas.")


async def staff_opened(ctx: Ctx) -> Next:
    """Staff (the engine lets only staff in) go on to the flow's first step; the opening is audited."""
    audit(ctx, "staff.opened", None, None, flow=ctx.state.flow)
    return "start"


async def own_posyandu(ctx: Ctx) -> list[Posyandu]:
    """The posyandu of the staff member's own puskesmas, by name (the choices of /undang, /umumkan,
    /laporan, /ekspor and /jadwalposyandu)."""
    return await posyandu_of(ctx.session, ctx.identity.puskesmas_id)


# -- inviting kaders --------------------------------------------------------------------------------

async def ask_invite_posyandu(ctx: Ctx) -> Question:
    return Question(_("Undang kader untuk posyandu mana?"), tuple((f"{p.name} ({p.village_name})", str(p.id)) for p in await own_posyandu(ctx)))


async def on_invite_posyandu(ctx: Ctx, answer: Answer) -> Next:
    """Creates a one-time kader code for a posyandu of this puskesmas; ends with the code."""
    own = {p.id: p for p in await own_posyandu(ctx)}
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in own):
        raise Invalid(_("Pilih posyandu dari daftar."))
    posyandu = own[int(answer.choice)]
    invite = await create_invite(ctx.session, role="kader", posyandu_id=posyandu.id, created_by=ctx.identity.id, now=ctx.now)
    audit(ctx, "invite.created", "posyandu", posyandu.id, role="kader", invite=invite.id)
    ctx.note(_("Kode untuk kader {posyandu}: /kader {code}\nBerlaku sampai {date}, sekali pakai.",
               posyandu=posyandu.name, code=invite.code, date=format_date(invite.expires_at.date(), "short")))
    return END


INVITE = Flow(name="invite", first="start", enter=staff_opened, steps={"start": Step(ask_invite_posyandu, on_invite_posyandu)},
              commands=("undang", "invite"), roles=STAFF, refusal=STAFF_REFUSAL, home=("start",),
              menu_label=N_("Undang kader"), help_line=N_("Undang kader"))


# -- broadcasts -------------------------------------------------------------------------------------

async def ask_audience(ctx: Ctx) -> Question:
    return Question(_("Umumkan kepada siapa?"), audience_labels())


async def on_audience(ctx: Ctx, answer: Answer) -> Next:
    """Stores who the announcement is for; asks where next."""
    if answer.choice not in AUDIENCES:
        raise Invalid(_("Pilih penerima dari daftar."))
    ctx.data["audience"] = {"kind": answer.choice, "posyandu_ids": []}
    return "where"


async def ask_where(ctx: Ctx) -> Question:
    chosen = set(ctx.data["audience"].get("posyandu_ids", []))
    choices = [(_("Seluruh puskesmas"), "all")] if not chosen else [(_("Lanjut"), "next")]
    choices += [(("✓ " if p.id in chosen else "") + f"{p.name} ({p.village_name})", str(p.id)) for p in await own_posyandu(ctx)]
    return Question(_("Di mana? Pilih seluruh puskesmas, atau satu atau beberapa posyandu lalu Lanjut."), tuple(choices))


async def on_where(ctx: Ctx, answer: Answer) -> Next:
    """Stores the posyandu chosen (a second press removes one); asks for the text when done."""
    audience = ctx.data["audience"]
    if answer.choice == "all":
        audience["posyandu_ids"] = []
        return "text"
    if answer.choice == "next" and audience["posyandu_ids"]:
        return "text"
    own = {p.id for p in await own_posyandu(ctx)}
    if not (answer.choice and answer.choice.isdecimal() and int(answer.choice) in own):
        raise Invalid(_("Pilih posyandu dari daftar."))
    chosen = set(audience["posyandu_ids"]) ^ {int(answer.choice)}
    audience["posyandu_ids"] = sorted(chosen)
    return "where"


async def ask_text(ctx: Ctx) -> Question:
    return Question(_("Tulis pengumumannya (paling banyak {max} huruf), atau kirim foto dengan keterangan:", max=MAX_BROADCAST))


async def on_text(ctx: Ctx, answer: Answer) -> Next:
    """Stores the announcement (text, or a photo with its caption); shows the preview next."""
    ctx.data["photo"] = answer.media_ref if answer.media == "photo" else None
    text = answer.text.strip()
    if len(text) < 5:
        raise Invalid(_("Pengumuman terlalu pendek."))
    if len(text) > MAX_BROADCAST:
        raise Invalid(_("Pengumuman terlalu panjang ({count} huruf, paling banyak {max}).", count=len(text), max=MAX_BROADCAST))
    ctx.data["text"] = text
    return "preview"


async def recipients(ctx: Ctx, audience: dict) -> list[tuple[int, str, str, str]]:
    """(identity id, channel, address, language) of everyone the audience reaches who may be messaged."""
    return await broadcast_recipients(ctx.session, ctx.identity.puskesmas_id, audience, ctx.today)


async def ask_preview(ctx: Ctx) -> Question:
    count = len(await recipients(ctx, ctx.data["audience"]))
    photo = ("\n" + _("(dengan foto)")) if ctx.data.get("photo") else ""
    return Question(
        _("Pratinjau (akan dikirim ke {count} penerima):", count=count) + "\n\n" + ctx.data["text"] + photo,
        ((_("Kirim"), "send"), (_("Batal"), "cancel")),
    )


async def on_preview(ctx: Ctx, answer: Answer) -> Next:
    """Queues the broadcast in the outbox when confirmed; ends."""
    if answer.choice == "cancel":
        ctx.note(_("Pengumuman tidak dikirim."))
        return END
    if answer.choice != "send":
        raise Invalid(_("Pilih Kirim atau Batal."))
    photo = {"photo": ctx.data["photo"], "photo_channel": ctx.identity.channel} if ctx.data.get("photo") else None
    broadcast, count = await queue_broadcast(ctx.session, ctx.settings, puskesmas_id=ctx.identity.puskesmas_id,
                                             author_id=ctx.identity.id, audience=ctx.data["audience"], text=ctx.data["text"],
                                             photo=photo, now=ctx.now, today=ctx.today)
    audit(ctx, "broadcast.queued", "broadcast", broadcast.id, audience=ctx.data["audience"], recipients=count)
    ctx.note(_("Pengumuman masuk antrean untuk {count} penerima. Lihat perkembangannya dengan /status.", count=count))
    return END


BROADCAST = Flow(
    name="broadcast",
    first="start",
    enter=staff_opened,
    commands=("umumkan", "broadcast"),
    roles=STAFF,
    refusal=STAFF_REFUSAL,
    home=("start",),
    menu_label=N_("Umumkan"),
    help_line=N_("Kirim pengumuman"),
    steps={
        "start": Step(ask_audience, on_audience),
        "where": Step(ask_where, on_where),
        "text": Step(ask_text, on_text, accepts_media=frozenset({"photo"})),
        "preview": Step(ask_preview, on_preview),
    },
)
