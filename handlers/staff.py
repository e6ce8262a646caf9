"""Puskesmas staff (who join with ``/staf <kode>``, handlers.kader): inviting kaders of their own posyandu
(``/undang``) and broadcasting to a chosen audience through the outbox (``/umumkan``; ``/status`` follows a
broadcast, in handlers.status). Staff see and act on their own puskesmas only; everything is audited."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from care.stages import Stage, stages_on
from config import zone_of
from content.i18n import N_, _, format_date, use_locale
from db.models import Broadcast, Family, Identity, Outbox, Person, Posyandu, Puskesmas
from db.queries import posyandu_of
from handlers.flow import END, STAFF, Answer, Ctx, Flow, Invalid, Next, Question, Step
from handlers.kader import audit, create_invite

MAX_BROADCAST = 1000
BROADCAST_DAYS = 3
AUDIENCES = {
    "all": Ellipsis, "pregnant": Stage.PREGNANT, "toddler": (Stage.INFANT, Stage.TODDLER),
    "elderly": Stage.ELDERLY, "kaders": Ellipsis,
}


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
    return Question(
        _("Umumkan kepada siapa?"),
        (
            (_("Semua keluarga"), "all"), (_("Ibu hamil"), "pregnant"), (_("Keluarga dengan balita"), "toddler"),
            (_("Lansia"), "elderly"), (_("Kader saja"), "kaders"),
        ),
    )


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
    posyandu_ids = [p.id for p in await own_posyandu(ctx)]
    if audience.get("posyandu_ids"):
        posyandu_ids = [pid for pid in posyandu_ids if pid in audience["posyandu_ids"]]
    reachable = (Identity.consent == "given", Identity.opted_out_at.is_(None), Identity.unreachable_at.is_(None))
    if audience["kind"] == "kaders":
        rows = await ctx.session.execute(select(Identity.id, Identity.channel, Identity.address, Identity.language).where(
            Identity.role == "kader", Identity.posyandu_id.in_(posyandu_ids), *reachable))
        return [tuple(r) for r in rows.all()]
    families = select(Family.id).where(Family.posyandu_id.in_(posyandu_ids), Family.registered_at.is_not(None))
    wanted = AUDIENCES[audience["kind"]]
    if wanted is not Ellipsis:
        stages = set(wanted) if isinstance(wanted, tuple) else {wanted}
        people = (await ctx.session.execute(select(Person.family_id, Person.birth_date, Person.hpht, Person.delivered_on)
                                            .where(Person.family_id.in_(families)))).all()
        ids = {fid for fid, birth, hpht, delivered in people
               if stages & set(stages_on(ctx.today, birth=birth, hpht=hpht, delivered_on=delivered))}
        families = list(ids) or [0]
    rows = await ctx.session.execute(select(Identity.id, Identity.channel, Identity.address, Identity.language)
                                     .where(Identity.family_id.in_(families), *reachable))
    return [tuple(r) for r in rows.all()]


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
    people = await recipients(ctx, ctx.data["audience"])
    puskesmas = await ctx.session.get(Puskesmas, ctx.identity.puskesmas_id)
    zone = zone_of(ctx.settings, puskesmas.code, puskesmas.timezone)
    broadcast = Broadcast(puskesmas_id=puskesmas.id, author_id=ctx.identity.id, audience=ctx.data["audience"],
                          text=ctx.data["text"], state="queued", created_at=ctx.now)
    ctx.session.add(broadcast)
    await ctx.session.flush()
    heading: dict[str, str] = {}
    photo = {"photo": ctx.data["photo"], "photo_channel": ctx.identity.channel} if ctx.data.get("photo") else {}
    for identity_id, channel, address, lang in people:
        if lang not in heading:
            with use_locale(lang):
                heading[lang] = _("Pengumuman {puskesmas}:", puskesmas=puskesmas.name)
        body_text = heading[lang] + "\n" + ctx.data["text"]
        ctx.session.add(Outbox(
            key=f"broadcast:{broadcast.id}:{identity_id}", identity_id=identity_id, channel=channel, address=address,
            kind="broadcast", body={"text": body_text, "lang": lang, **photo},
            timezone=zone, state="pending",
            not_before=ctx.now, expires_at=ctx.now + timedelta(days=BROADCAST_DAYS), attempts=0,
            broadcast_id=broadcast.id, created_at=ctx.now,
        ))
    audit(ctx, "broadcast.queued", "broadcast", broadcast.id, audience=ctx.data["audience"], recipients=len(people))
    ctx.note(_("Pengumuman masuk antrean untuk {count} penerima. Lihat perkembangannya dengan /status.", count=len(people)))
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
