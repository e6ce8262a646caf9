"""Registering a household: posyandu by village, household name, dusun and RT/RW, then members.

A village is found with a small misspelling too (``db.queries.find_posyandu``); one with no posyandu on
the list is no dead end: the villages with a posyandu in its kecamatan (or those spelt most like it)
are offered, with the advice to ask the kader or bidan desa, and any other village may be typed.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from content.i18n import N_, _
from db.models import Family, Identity, Posyandu, Puskesmas
from db.queries import find_posyandu, new_family_code, village_suggestions
from handlers.flow import END, KADER, Answer, Ctx, Flow, Goto, Invalid, Next, Question, Step, has_no_family
from handlers.link import link_now
from handlers.parsing import ParseError, clean_name, normalize, parse_phone, parse_rt_rw

MAX_PLACE = 60
#: "there is none" for the dusun and the phone
NONE_WORDS = frozenset({"-", "tidak ada", "tdk ada", "gak ada", "ga ada", "nggak ada", "enggak ada", "tidak", "tdk", "gak",
                        "tidak punya", "tdk punya", "gak punya", "ga punya", "belum ada", "kosong", "none", "no", "nothing"})


async def enter(ctx: Ctx) -> Next:
    """A family already registered goes to its member list instead."""
    if ctx.identity.family_id is not None:
        ctx.note(_("Keluarga Bapak/Ibu sudah terdaftar."))
        return Goto("family")
    if await linked_by_phone(ctx):
        return Goto("family")
    return "village"


async def linked_by_phone(ctx: Ctx) -> bool:
    """Links the chat to the one family registered with its own number (by a kader or a register import)
    and tells it so; False when there is none."""
    family = await family_of_phone(ctx)
    if family is None:
        return False
    await link_now(ctx, family, by="phone", old_code=False)
    ctx.note(_("Kader posyandu sudah mendaftarkan keluarga {name} dengan nomor ini. "
               "Chat ini sekarang terhubung, dan pengingat akan dikirim ke sini.", name=family.name))
    return True


def plain_digits(number: str | None) -> str:
    """The digits of a number as a channel gives it (``+62 812-...``: ``62812...``)."""
    return "".join(c for c in number or "" if c.isdigit())


async def own_number(ctx: Ctx, phone: str) -> Next:
    """The chat sent its own number (Telegram's "send my number"; the channel vouches for it): it is kept on
    the chat, and a chat without a family is linked to the one family registered with that number (by a
    kader or a register import); otherwise the question it was at is asked again."""
    ctx.identity.phone = phone
    if ctx.identity.family_id is None and ctx.identity.role != "staff":
        if await linked_by_phone(ctx):
            return Goto("family")
        if ctx.state.flow == "register":
            ctx.note(_("Belum ada keluarga yang didaftarkan dengan nomor ini. Mari daftar sekarang."))
    else:
        ctx.note(_("Nomor Bapak/Ibu tersimpan."))
    return ctx.state.step or END


async def family_of_phone(ctx: Ctx) -> Family | None:
    """The one family a kader registered with this chat's own number (WhatsApp vouches for it)."""
    if not ctx.identity.phone:
        return None
    found = (await ctx.session.scalars(select(Family).where(Family.phone == ctx.identity.phone).limit(2))).all()
    if len(found) != 1:
        return None  # none, or a number shared by two households: the family code decides (/gabung)
    linked = await ctx.session.scalar(
        select(Identity.id).where(Identity.family_id == found[0].id, Identity.channel == ctx.identity.channel).limit(1)
    )
    return None if linked else found[0]


async def enter_for_other(ctx: Ctx) -> Next:
    """A kader registers a family of their own posyandu (many have no phone; the engine lets only kaders in)."""
    ctx.data.update(posyandu_id=ctx.identity.posyandu_id, for_other=True)
    ctx.note(_("Mendaftarkan keluarga baru di posyandu Bapak/Ibu."))
    return "household"


async def ask_village(ctx: Ctx) -> Question:
    text = _("Di desa/kelurahan mana Bapak/Ibu tinggal? Ketik namanya, misalnya: Nagasepaha")
    if ctx.identity.channel == "telegram" and not ctx.identity.phone and not ctx.data.get("for_other"):
        # Telegram does not tell a chat's number: the family a kader registered (or a register import
        # brought in) with it is found once the person sends it
        text += "\n\n" + _("Keluarga Bapak/Ibu sudah didaftarkan kader dengan nomor HP? "
                             "Tekan \u201cKirim nomor saya\u201d agar chat ini langsung terhubung.")
        return Question(text, contact_button=_("Kirim nomor saya"))
    return Question(text)


#: Words before a village's name that are not part of it: "Desa Nagasepaha", "di kel. Jineng".
_VILLAGE_PREFIX = re.compile(r"^(?:(?:saya|tinggal|di|dari|desa|ds|kelurahan|kel|village|in|at)\b\.?\s*)+")


def village_query(text: str) -> str:
    """The village's name as typed, without case, accents, punctuation or "desa" / "kel." in front."""
    words = re.sub(r"[^\w%\s]", " ", normalize(text))
    return " ".join(_VILLAGE_PREFIX.sub("", " ".join(words.split())).split())


async def on_village(ctx: Ctx, answer: Answer) -> Next:
    """Stores the posyandu found for the typed village and asks to pick one next; a village with no
    posyandu on the list gets the way on (nearby villages, ask the kader or bidan desa)."""
    query = village_query(answer.text) or normalize(answer.text)
    if len(query) < 3 or len(query) > MAX_PLACE:
        raise Invalid(_("Ketik nama desa, 3 sampai {max} huruf.", max=MAX_PLACE))
    found = await find_posyandu(ctx.session, query)
    if not found:
        area, nearby = await village_suggestions(ctx.session, query)
        ctx.data.update(missing=answer.text.strip()[:40], area=area, nearby=nearby)
        return "village_help"
    ctx.data["matches"] = [posyandu.id for posyandu, _pkm in found]
    return "posyandu"


async def ask_village_help(ctx: Ctx) -> Question:
    nearby = ctx.data.get("nearby") or []
    lines = [_("Desa \u201c{query}\u201d belum ada di daftar posyandu kami.", query=ctx.data.get("missing", ""))]
    if nearby and ctx.data.get("area"):
        lines.append(_("Posyandu di Kecamatan {area} ada di desa berikut. Pilih desa terdekat, atau ketik nama desa lain.",
                       area=ctx.data["area"]))
    elif nearby:
        lines.append(_("Mungkin maksud Bapak/Ibu salah satu desa ini? Pilih, atau ketik nama desa lain."))
    else:
        lines.append(_("Ketik nama desa lain."))
    lines.append(_("Belum tahu posyandu Bapak/Ibu? Tanyakan kepada kader posyandu atau bidan desa, lalu ketik nama desanya di sini."))
    return Question("\n".join(lines), tuple((name, f"v{i}") for i, name in enumerate(nearby)))


async def on_village_help(ctx: Ctx, answer: Answer) -> Next:
    """A nearby village picked: its posyandu next; a typed village is searched as at the first question."""
    nearby = ctx.data.get("nearby") or []
    if answer.choice and answer.choice[:1] == "v" and answer.choice[1:].isdecimal() and int(answer.choice[1:]) < len(nearby):
        found = await find_posyandu(ctx.session, nearby[int(answer.choice[1:])].lower())
        if found:
            ctx.data["matches"] = [posyandu.id for posyandu, _pkm in found]
            return "posyandu"
    if answer.choice is not None:
        raise Invalid(_("Pilih desa dari daftar, atau ketik nama desa Bapak/Ibu."))
    return await on_village(ctx, answer)


async def ask_posyandu(ctx: Ctx) -> Question:
    rows = await ctx.session.execute(
        select(Posyandu, Puskesmas)
        .join(Puskesmas, Posyandu.puskesmas_id == Puskesmas.id)
        .where(Posyandu.id.in_(ctx.data.get("matches", [])))
        .order_by(Posyandu.village_name, Posyandu.name)
    )
    choices = tuple((f"{p.name} ({p.village_name})", str(p.id)) for p, _k in rows.all())
    return Question(_("Pilih posyandu Bapak/Ibu:"), choices + ((_("Cari desa lain"), "again"),))


async def on_posyandu(ctx: Ctx, answer: Answer) -> Next:
    """Stores the chosen posyandu; asks the household name next."""
    if answer.choice == "again":
        return "village"
    if answer.choice is None or not answer.choice.isdecimal() or int(answer.choice) not in ctx.data.get("matches", []):
        raise Invalid(_("Mohon pilih posyandu dari daftar."))
    ctx.data["posyandu_id"] = int(answer.choice)
    return "household"


async def ask_household(ctx: Ctx) -> Question:
    return Question(_("Nama kepala keluarga? Misalnya: Wayan Sudarma"))


async def on_household(ctx: Ctx, answer: Answer) -> Next:
    """Stores the household name; asks the dusun next."""
    text = re.sub(r"^(?:keluarga|kel\.|family|kk|kepala keluarga|nama kk|nama)\s*:?\s+", "", answer.text.strip(), flags=re.IGNORECASE)
    try:
        ctx.data["family_name"] = clean_name(text, max_len=MAX_PLACE)
    except ParseError:
        raise Invalid(_("Ketik nama dengan huruf saja (2 sampai {max} huruf).", max=MAX_PLACE)) from None
    return "dusun"


async def ask_dusun(ctx: Ctx) -> Question:
    return Question(_("Nama dusun atau banjar? Ketik - jika tidak ada."))


async def on_dusun(ctx: Ctx, answer: Answer) -> Next:
    """Stores the dusun (or none); asks RT/RW next."""
    text = " ".join(answer.text.split())
    if text in ("-", "") or normalize(text).strip(" .!") in NONE_WORDS:
        ctx.data["dusun"] = None
    elif len(text) > MAX_PLACE or not any(ch.isalpha() for ch in text):
        raise Invalid(_("Ketik nama dusun (paling banyak {max} huruf), atau - jika tidak ada.", max=MAX_PLACE))
    else:
        ctx.data["dusun"] = text
    return "rt_rw"


async def ask_rt_rw(ctx: Ctx) -> Question:
    return Question(_("RT/RW? Contoh: 003/002. Ketik - jika tidak tahu."))


async def on_rt_rw(ctx: Ctx, answer: Answer) -> Next:
    """Stores RT/RW; asks the family's phone next (a kader), or creates the family and asks for the first member."""
    try:
        rt, rw = parse_rt_rw(answer.text)
    except ParseError:
        raise Invalid(_("Tulis RT/RW seperti 003/002 atau RT 3 RW 2, atau - jika tidak tahu.")) from None
    ctx.data.update(rt=rt, rw=rw)
    if ctx.data.get("for_other"):
        return "phone"
    return await _create_family(ctx)


async def ask_phone(ctx: Ctx) -> Question:
    return Question(_("Nomor HP/WhatsApp keluarga ini? Contoh: 0812 3456 7890. Ketik - jika tidak ada.\n"
                      "Dengan nomor ini keluarga bisa langsung terhubung saat menghubungi bot lewat WhatsApp."))


async def on_phone(ctx: Ctx, answer: Answer) -> Next:
    """Stores the family's phone (or none) and creates the family; asks for the first member next."""
    text = answer.text.strip()
    if text in ("-", "") or normalize(text).strip(" .!") in NONE_WORDS:
        ctx.data["phone"] = None
    else:
        try:
            ctx.data["phone"] = parse_phone(text)
        except ParseError:
            raise Invalid(_("Tulis nomor HP seperti 0812 3456 7890 atau +62 812 3456 7890, atau - jika tidak ada.")) from None
    return await _create_family(ctx)


async def _create_family(ctx: Ctx) -> Next:
    """Creates the family from the answers so far; the member list comes next."""
    rt, rw = ctx.data.get("rt"), ctx.data.get("rw")
    family = Family(
        posyandu_id=ctx.data["posyandu_id"],
        code=await new_family_code(ctx.session),
        name=ctx.data["family_name"],
        dusun=ctx.data.get("dusun"),
        rt=rt,
        rw=rw,
        phone=ctx.data.get("phone"),
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    ctx.session.add(family)
    await ctx.session.flush()
    ctx.note(_("Keluarga {name} dibuat. Sekarang kita catat anggotanya satu per satu.", name=family.name))
    if ctx.data.get("for_other"):
        return Goto("family", "member_name", {"mode": "register", "family_id": family.id})
    ctx.identity.family_id = family.id
    return Goto("family", "member_name", {"mode": "register"})


def _steps(for_other: bool = False) -> dict:
    """The registration table; a kader registering another family starts at the household (their
    own posyandu: no village question)."""
    village = {} if for_other else {
        "village": Step(ask_village, on_village),
        "village_help": Step(ask_village_help, on_village_help),
        "posyandu": Step(ask_posyandu, on_posyandu),
    }
    return {
        **village,
        "household": Step(ask_household, on_household),
        "dusun": Step(ask_dusun, on_dusun),
        "rt_rw": Step(ask_rt_rw, on_rt_rw),
        "phone": Step(ask_phone, on_phone),
    }


REGISTER_OTHER = Flow(name="register_other", first="household", enter=enter_for_other, steps=_steps(for_other=True),
                      commands=("daftarkan", "newfamily"), roles=KADER,
                      refusal=N_("Hanya kader yang dapat mendaftarkan keluarga lain."),
                      menu_label=N_("Tambah keluarga"), help_line=N_("Daftarkan keluarga lain"))

REGISTER = Flow(name="register", first="village", enter=enter, steps=_steps(), commands=("daftar", "register"),
                home=("village", "village_help"), menu_when=has_no_family,
                # a kader's own family is "Keluarga saya", apart from the families they add
                menu_label={"family": N_("Daftarkan keluarga"), "kader": N_("Keluarga saya"),
                            "staff": N_("Daftarkan keluarga")})
