"""Linking a chat to a family (``/gabung <kode>``): the family says yes, or its kader does.

A family code is no password. A chat that sends a family's code is linked only:

- at once, when the chat's own number is the number the kader recorded for the family (WhatsApp vouches
  for the sender's number; ``handlers.register.family_of_phone`` links such a number even without a code);
- after a yes of a chat already linked to the family: each of them gets "Izinkan / Tolak" (outbox rows of
  kind ``link`` whose buttons carry ``/izinkan <id>`` / ``/tolak <id>``, typed the same way where the buttons
  do not arrive, e.g. in a WhatsApp template);
- for a family with no reachable chat, after a yes of a kader of the family's posyandu, asked the same way
  (with no kader on the bot yet, of the staff of its puskesmas; with neither, the requester is told to see
  the kader, and nothing waits).

The first answer decides (a request is a ``LinkRequest`` row, locked while it is decided); a second press
or an answer to a decided or lapsed request gets a short answer saying so. A request lapses after
:data:`REQUEST_HOURS`. The requester sees no name nor any data of the family before the yes; a no is told
without any. Every chat of the family is told of a new link.

Codes (``content.family_codes.read_family_code``): a new code has 10 characters and a check character, so a slip
("Kode itu salah ketik") is told apart from a code no family has. A 6-character code made before works
for one more link: once a link through it is made, the family gets a new code (the kader's lists show
it). Wrong codes are audited (``family.link_refused_code``, without the code) and counted per chat: after
:data:`WRONG_CODES_PER_HOUR` in an hour the chat gets a short refusal until the hour has passed, and no
code is looked up.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from config import zone_of
from content.i18n import _, n_, use_locale
from db.models import AuditLog, ConversationState, Family, Identity, LinkRequest, Outbox, Posyandu, Puskesmas
from content.family_codes import is_old_family_code, read_family_code
from db.queries import new_family_code
from handlers.flow import END, Ctx, Goto, Next
from handlers.kader import audit, has_family_consent, is_kader
from handlers.menu import ask_main

#: how long a request waits for an answer
REQUEST_HOURS = 48
#: wrong codes one chat may send in an hour
WRONG_CODES_PER_HOUR = 5
WRONG_CODE_WINDOW = timedelta(hours=1)
#: the example of a code in the hints (its check character fits)
EXAMPLE_CODE = "K-7QX2MA4KPZ"
REFUSED_CODE = "family.link_refused_code"
LIMITED = "family.link_limited"


def _usage() -> str:
    return _("Ketik /gabung diikuti kode keluarga dari kader, misalnya: /gabung {code}", code=EXAMPLE_CODE)


def _not_found() -> str:
    return _("Kode keluarga itu tidak ditemukan. Periksa kode dari kader, misalnya: /gabung {code}", code=EXAMPLE_CODE)


def _refused(ctx: Ctx) -> Next | None:
    """After a refused code: a person who consented to nothing yet gets only the hint (END); anyone else
    the question they were at (None)."""
    return END if ctx.identity.consent != "given" else None


# -- /gabung -----------------------------------------------------------------------------------------


async def join_family(ctx: Ctx, args: str) -> Next | None:
    """``/gabung <kode keluarga>``: checks the code (limited per chat and hour); before the family consent the
    code is kept and the consent asked (``handlers.start.after_consent`` goes on with :func:`start_link`)."""
    if ctx.identity.family_id is not None:
        ctx.note(_("Nomor ini sudah terhubung ke sebuah keluarga."))
        return None
    if not args.strip():
        ctx.note(_usage())
        return _refused(ctx)
    if await _limited(ctx):
        return _refused(ctx)
    kind, code = read_family_code(args[:40])
    family = None
    if code is not None:
        family = (await ctx.session.scalars(select(Family).where(Family.code == code))).one_or_none()
    if family is None:
        audit(ctx, REFUSED_CODE, reason="typo" if kind == "typo" else "unknown")
        if kind == "typo":
            ctx.note(_("Kode itu salah ketik: periksa lagi. Kode keluarga adalah K- dengan 10 huruf dan angka, "
                       "misalnya: /gabung {code}", code=EXAMPLE_CODE))
        else:
            ctx.note(_not_found())
        return _refused(ctx)
    if has_family_consent(ctx.identity):
        return await start_link(ctx, family)
    if ctx.identity.consent == "given" and ctx.state.flow not in (None, "menu", "start") and ctx.state.step is not None:
        ctx.note(_("Selesaikan dulu langkah ini, atau ketik batal, lalu kirim lagi: /gabung {code}", code=family.code))
        return None
    ctx.data["family_code"] = family.code  # kept while the consent is asked (also when it is asked already)
    ctx.note(_("Kode keluarga {code} diterima. Setelah Bapak/Ibu setuju, kami lanjutkan menghubungkan nomor ini "
               "ke keluarga itu.", code=family.code))
    return Goto("start", data={**ctx.data} if ctx.state.flow == "start" else {"family_code": family.code})


async def _limited(ctx: Ctx) -> bool:
    """Whether this chat sent :data:`WRONG_CODES_PER_HOUR` wrong codes in the last hour (then told how long
    to wait; audited once an hour)."""
    since = ctx.now - WRONG_CODE_WINDOW
    count, first = (await ctx.session.execute(
        select(func.count(), func.min(AuditLog.at)).where(
            AuditLog.actor_id == ctx.identity.id, AuditLog.action == REFUSED_CODE, AuditLog.at > since)
    )).one()
    if count < WRONG_CODES_PER_HOUR:
        return False
    minutes = max(1, int((first + WRONG_CODE_WINDOW - ctx.now).total_seconds() // 60) + 1)
    ctx.note(n_("Terlalu banyak kode yang salah dari chat ini. Coba lagi {n} menit lagi.",
                "Terlalu banyak kode yang salah dari chat ini. Coba lagi {n} menit lagi.", minutes))
    told = await ctx.session.scalar(select(AuditLog.id).where(
        AuditLog.actor_id == ctx.identity.id, AuditLog.action == LIMITED, AuditLog.at > since).limit(1))
    if told is None:
        audit(ctx, LIMITED, wrong=count)
    return True


async def start_link(ctx: Ctx, family: Family) -> Next:
    """The family consent given and the code right: links at once by the recorded phone, else asks the
    family's chats (or its kader) and tells the requester it waits; the menu next."""
    identity = ctx.identity
    old_code = is_old_family_code(family.code)
    if identity.phone and family.phone and identity.phone == family.phone:
        await link_now(ctx, family, by="phone", old_code=old_code)
        ctx.note(_("Nomor ini sekarang terhubung ke keluarga {name}. Pengingat akan dikirim ke sini.", name=family.name))
        return END
    mine = (await ctx.session.scalars(select(LinkRequest).where(
        LinkRequest.requester_id == identity.id, LinkRequest.state == "pending"))).all()
    for request in mine:
        if request.family_id == family.id and request.expires_at > ctx.now:
            ctx.note(_("Permintaan Bapak/Ibu sudah dikirim dan masih menunggu jawaban. "
                       "Bapak/Ibu akan diberi tahu di sini."))
            return END
        request.state = "expired"  # lapsed, or replaced by this one
    asked, approvers = "family", await _family_chats(ctx, family.id, without=(identity.id,))
    posyandu = await ctx.session.get(Posyandu, family.posyandu_id)
    if not approvers:
        asked, approvers = "kader", await _workers(ctx, Identity.role == "kader", Identity.posyandu_id == posyandu.id)
    if not approvers:
        asked, approvers = "staff", await _workers(ctx, Identity.role == "staff", Identity.puskesmas_id == posyandu.puskesmas_id)
    if not approvers:
        audit(ctx, "family.link_unasked", "family", family.id)
        ctx.note(_("Permintaan Bapak/Ibu belum bisa diteruskan: belum ada kader atau petugas yang bisa "
                   "mengizinkannya lewat chat. Silakan datang ke posyandu atau hubungi kader posyandu."))
        return END
    request = LinkRequest(family_id=family.id, requester_id=identity.id, asked=asked, old_code=old_code, state="pending",
                          created_at=ctx.now, expires_at=ctx.now + timedelta(hours=REQUEST_HOURS))
    ctx.session.add(request)
    await ctx.session.flush()
    zone = await _zone(ctx, family)
    who = _who(identity)
    for approver in approvers:
        with use_locale(approver.language):
            text = _ask_family(family, who(), request) if asked == "family" else _ask_worker(family, posyandu, who(), request)
            choices = [[_("Izinkan"), f"/izinkan {request.id}"], [_("Tolak"), f"/tolak {request.id}"]]
        _queue(ctx, approver, f"link:{request.id}:ask:{approver.id}", {"text": text, "choices": choices}, zone,
               expires=request.expires_at)
    audit(ctx, "family.link_requested", "family", family.id, request=request.id, asked=asked, chats=len(approvers))
    ctx.note(n_("Permintaan Bapak/Ibu sudah dikirim. Setelah diizinkan, nomor ini terhubung ke keluarga itu "
                "dan Bapak/Ibu diberi tahu di sini. Permintaan berlaku {n} jam.",
                "Permintaan Bapak/Ibu sudah dikirim. Setelah diizinkan, nomor ini terhubung ke keluarga itu "
                "dan Bapak/Ibu diberi tahu di sini. Permintaan berlaku {n} jam.", REQUEST_HOURS))
    return END


def _ask_family(family: Family, who: str, request: LinkRequest) -> str:
    return n_(
        "Ada yang meminta agar {who} terhubung ke keluarga {name} di layanan posyandu ini. Jika itu anggota keluarga "
        "Bapak/Ibu, pilih Izinkan: nomor itu akan melihat data keluarga dan menerima pengingat. Jika Bapak/Ibu tidak "
        "mengenalnya, pilih Tolak.\nPermintaan berlaku {n} jam. Tanpa tombol, ketik /izinkan {id} atau /tolak {id}.",
        "Ada yang meminta agar {who} terhubung ke keluarga {name} di layanan posyandu ini. Jika itu anggota keluarga "
        "Bapak/Ibu, pilih Izinkan: nomor itu akan melihat data keluarga dan menerima pengingat. Jika Bapak/Ibu tidak "
        "mengenalnya, pilih Tolak.\nPermintaan berlaku {n} jam. Tanpa tombol, ketik /izinkan {id} atau /tolak {id}.",
        REQUEST_HOURS, who=who, name=family.name, id=request.id)


def _ask_worker(family: Family, posyandu: Posyandu, who: str, request: LinkRequest) -> str:
    return n_(
        "{who} meminta terhubung ke keluarga {name} ({code}), {posyandu}. Keluarga ini belum punya nomor yang "
        "terhubung. Izinkan hanya bila Bapak/Ibu sudah memastikannya dengan keluarga itu (bertemu atau menelepon).\n"
        "Permintaan berlaku {n} jam. Tanpa tombol, ketik /izinkan {id} atau /tolak {id}.",
        "{who} meminta terhubung ke keluarga {name} ({code}), {posyandu}. Keluarga ini belum punya nomor yang "
        "terhubung. Izinkan hanya bila Bapak/Ibu sudah memastikannya dengan keluarga itu (bertemu atau menelepon).\n"
        "Permintaan berlaku {n} jam. Tanpa tombol, ketik /izinkan {id} atau /tolak {id}.",
        REQUEST_HOURS, who=who[:1].upper() + who[1:], name=family.name, code=family.code, posyandu=posyandu.name,
        id=request.id)


def _who(identity: Identity):
    """How the requesting chat is named to the family or kader, without its number in full (a function: it
    is said in each recipient's language)."""
    def said() -> str:
        if identity.channel == "whatsapp" and identity.phone:
            return _("nomor WhatsApp berakhiran {digits}", digits=identity.phone[-4:])
        if identity.channel == "telegram":
            return _("sebuah akun Telegram")
        return _("sebuah chat baru")
    return said


# -- /izinkan, /tolak --------------------------------------------------------------------------------


async def allow(ctx: Ctx, args: str) -> Next | None:
    """``/izinkan <id>`` (the notice's button): links the requester."""
    return await _decide(ctx, args, yes=True)


async def refuse(ctx: Ctx, args: str) -> Next | None:
    """``/tolak <id>`` (the notice's button): the requester is told, politely and without details."""
    return await _decide(ctx, args, yes=False)


async def _decide(ctx: Ctx, args: str, *, yes: bool) -> Next | None:
    request = await _request_to_decide(ctx, args)
    if request is None:
        return None
    family = await ctx.session.get(Family, request.family_id)
    requester = await ctx.session.get(Identity, request.requester_id)
    if request.state == "pending" and request.expires_at <= ctx.now:
        request.state = "expired"
    if request.state != "pending":
        ctx.note({
            "approved": _("Permintaan ini sudah dijawab: diizinkan."),
            "refused": _("Permintaan ini sudah dijawab: ditolak."),
        }.get(request.state, _("Permintaan ini sudah tidak berlaku.")))
        return None
    request.decided_by, request.decided_at = ctx.identity.id, ctx.now
    if requester is None or requester.family_id is not None or not has_family_consent(requester):
        request.state = "expired"  # linked elsewhere meanwhile, or withdrew their consent
        ctx.note(_("Permintaan ini sudah tidak berlaku."))
        return None
    await _forget_asks(ctx, request)
    zone = await _zone(ctx, family)
    if not yes:
        request.state = "refused"
        audit(ctx, "family.link_refused", "family", family.id, request=request.id, identity=requester.id)
        with use_locale(requester.language):
            text = _("Maaf, permintaan Bapak/Ibu untuk terhubung ke keluarga itu tidak diizinkan. "
                     "Jika ini keliru, hubungi kader posyandu.")
        _queue(ctx, requester, f"link:{request.id}:refused", {"text": text}, zone)
        ctx.note(_("Baik, permintaan itu ditolak. Nomor itu tidak terhubung ke keluarga {name}.", name=family.name))
        return None
    request.state = "approved"
    await link_now(ctx, family, by="approval", old_code=request.old_code, new=requester, request=request.id)
    await _tell_requester(ctx, requester, family, request, zone)
    ctx.note(_("Terima kasih. Nomor itu sekarang terhubung ke keluarga {name}.", name=family.name))
    return None


async def _request_to_decide(ctx: Ctx, args: str) -> LinkRequest | None:
    """The request named (or the one open request) that this chat may decide, locked; None with a note."""
    word = args.strip().split()[0] if args.strip() else ""
    mine = _decidable(ctx)
    if word.isdecimal() and len(word) <= 12:
        query = select(LinkRequest).where(LinkRequest.id == int(word))
    elif not word:
        open_ = (await ctx.session.scalars(select(LinkRequest.id).where(
            mine, LinkRequest.state == "pending", LinkRequest.expires_at > ctx.now).limit(2))).all()
        if len(open_) != 1:
            ctx.note(_("Tidak ada permintaan yang menunggu jawaban Bapak/Ibu.") if not open_
                     else _("Ada beberapa permintaan. Pakai tombol Izinkan atau Tolak pada pesannya."))
            return None
        query = select(LinkRequest).where(LinkRequest.id == open_[0])
    else:
        ctx.note(_("Tidak ada permintaan yang menunggu jawaban Bapak/Ibu."))
        return None
    if ctx.session.bind is not None and ctx.session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    request = (await ctx.session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if request is None or not (await ctx.session.scalar(select(func.count()).where(LinkRequest.id == request.id, mine))):
        audit(ctx, "family.link_decision_refused", "link_request", int(word) if word.isdecimal() else None)
        ctx.note(_("Tidak ada permintaan itu untuk Bapak/Ibu."))
        return None
    return request


def _decidable(ctx: Ctx):
    """Which requests this chat may decide: its own family's asked of the family; as a kader (staff), those of
    the families of their posyandu (puskesmas) asked of the kaders (staff)."""
    identity = ctx.identity
    clauses = []
    if identity.family_id is not None and has_family_consent(identity):
        clauses.append((LinkRequest.family_id == identity.family_id) & (LinkRequest.asked == "family"))
    if is_kader(ctx):
        families = select(Family.id).where(Family.posyandu_id == identity.posyandu_id)
        clauses.append(LinkRequest.family_id.in_(families) & (LinkRequest.asked == "kader"))
    if identity.role == "staff" and identity.puskesmas_id is not None:
        families = select(Family.id).join(Posyandu, Posyandu.id == Family.posyandu_id).where(
            Posyandu.puskesmas_id == identity.puskesmas_id)
        clauses.append(LinkRequest.family_id.in_(families) & (LinkRequest.asked == "staff"))
    if not clauses:
        return LinkRequest.id.is_(None)  # nothing
    condition = clauses[0]
    for clause in clauses[1:]:
        condition = condition | clause
    return condition


async def _forget_asks(ctx: Ctx, request: LinkRequest) -> None:
    """The request's notices not sent yet (quiet hours) are not sent any more."""
    await ctx.session.execute(update(Outbox).where(
        Outbox.key.like(f"link:{request.id}:ask:%"), Outbox.state == "pending",
    ).values(state="cancelled", error="Cancelled: the link request was decided").execution_options(synchronize_session=False))


# -- linking -----------------------------------------------------------------------------------------


async def link_now(ctx: Ctx, family: Family, *, by: str, old_code: bool = False, new: Identity | None = None,
                   request: int | None = None) -> None:
    """Links ``new`` (this chat by default) to ``family``, audited; tells the family's other chats; an old
    code used for it is replaced by a new one; the new chat's other waiting requests lapse."""
    identity = new or ctx.identity
    identity.family_id = family.id
    audit(ctx, "family.linked", "family", family.id, by=by,
          **({"identity": identity.id} if identity is not ctx.identity else {}), **({"request": request} if request else {}))
    if old_code:
        family.code = await new_family_code(ctx.session)
        audit(ctx, "family.code_renewed", "family", family.id)
    await ctx.session.execute(update(LinkRequest).where(
        LinkRequest.requester_id == identity.id, LinkRequest.state == "pending",
        *((LinkRequest.id != request,) if request else ()),
    ).values(state="expired").execution_options(synchronize_session=False))
    await tell_new_link(ctx, family, identity)


async def tell_new_link(ctx: Ctx, family: Family, new: Identity) -> int:
    """Tells every reachable chat of the family (except the new one and the one deciding) that a chat was
    linked; returns how many."""
    chats = await _family_chats(ctx, family.id, without=(new.id, ctx.identity.id))
    zone = await _zone(ctx, family)
    who = _who(new)
    for chat in chats:
        with use_locale(chat.language):
            text = _("Nomor baru terhubung ke keluarga Bapak/Ibu: {who}. Nomor itu sekarang melihat data keluarga "
                     "dan menerima pengingat. Jika Bapak/Ibu tidak mengenalnya, segera hubungi kader posyandu.",
                     who=who())
        _queue(ctx, chat, f"link:new:{new.id}:{family.id}:{chat.id}:{ctx.now.timestamp():.0f}", {"text": text}, zone)
    return len(chats)


async def _tell_requester(ctx: Ctx, requester: Identity, family: Family, request: LinkRequest, zone: str) -> None:
    """The requester's "you are linked", with their menu under it when they are at the menu (their state moves
    to a new version, whose buttons these are)."""
    state = await ctx.session.get(ConversationState, requester.id)
    body: dict = {}
    with use_locale(requester.language):
        text = _("Keluarga {name} mengizinkan. Nomor ini sekarang terhubung, dan pengingat akan dikirim ke sini.",
                 name=family.name)
        if state is not None and state.flow in (None, "menu"):
            theirs = Ctx(session=ctx.session, identity=requester, state=state, now=ctx.now, today=ctx.today,
                             settings=ctx.settings, data={}, schedule=ctx.schedule)
            question = await ask_main(theirs)
            state.flow, state.step, state.data, state.version = "menu", "main", {}, (state.version or 0) + 1
            state.updated_at = ctx.now
            text = f"{text}\n\n{question.text}"
            body["choices"] = [[label, f"{state.version}.{value}"] for label, value in question.choices]
        else:
            text = f"{text}\n\n" + _("Ketik menu untuk melihat pilihan.")
    body["text"] = text
    _queue(ctx, requester, f"link:{request.id}:approved", body, zone)


# -- who is told -------------------------------------------------------------------------------------


def _reachable():
    return (Identity.consent == "given", Identity.opted_out_at.is_(None), Identity.unreachable_at.is_(None))


async def _family_chats(ctx: Ctx, family_id: int, *, without: tuple[int, ...]) -> list[Identity]:
    """The family's linked chats that consented and can be reached (a kader's or staff member's own family too)."""
    return list((await ctx.session.scalars(select(Identity).where(
        Identity.family_id == family_id, Identity.id.not_in(without), *_reachable()).order_by(Identity.id))).all())


async def _workers(ctx: Ctx, *where) -> list[Identity]:
    """The reachable kaders of a posyandu, or staff of a puskesmas (``where``), other than this chat."""
    return list((await ctx.session.scalars(select(Identity).where(
        *where, Identity.id != ctx.identity.id, *_reachable()).order_by(Identity.id))).all())


async def _zone(ctx: Ctx, family: Family) -> str:
    posyandu = await ctx.session.get(Posyandu, family.posyandu_id)
    puskesmas = await ctx.session.get(Puskesmas, posyandu.puskesmas_id)
    return zone_of(ctx.settings, puskesmas.code, puskesmas.timezone)


def _queue(ctx: Ctx, to: Identity, key: str, body: dict, zone: str, *, expires=None) -> None:
    ctx.session.add(Outbox(
        key=key[:160], identity_id=to.id, channel=to.channel, address=to.address, kind="link",
        body={**body, "lang": to.language}, timezone=zone, state="pending", not_before=ctx.now,
        expires_at=expires or ctx.now + timedelta(hours=REQUEST_HOURS), attempts=0, created_at=ctx.now,
    ))
