"""Roles: joining with an invite code as a kader (``/kader <kode>``) or as puskesmas staff (``/staf <kode>``),
the scope of a kader (one posyandu), linking a phone to a family a kader registered (``/gabung <kode>``),
and the audit log."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from content.i18n import _
from db.models import AuditLog, Family, Invite, Posyandu, Puskesmas
from handlers.flow import END, Ctx, Next

INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_LENGTH = 8
INVITE_DAYS = 7
FAMILY_CODE_RE = re.compile(r"^K-?([23456789A-HJ-NP-Z]{6})$")


def new_invite_code() -> str:
    """A one-time code that is hard to guess, e.g. ``7QX2MA4K``."""
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


async def create_invite(session, *, role: str, posyandu_id: int | None = None, puskesmas_id: int | None = None,
                        created_by: int | None = None, now: datetime, days: int = INVITE_DAYS) -> Invite:
    """A new invite for a role in an area, valid for ``days``."""
    invite = Invite(code=new_invite_code(), role=role, posyandu_id=posyandu_id, puskesmas_id=puskesmas_id,
                    created_by=created_by, expires_at=now + timedelta(days=days), created_at=now)
    session.add(invite)
    await session.flush()
    return invite


def audit(ctx: Ctx, action: str, target_type: str | None = None, target_id: int | None = None, **detail) -> None:
    """Writes who did what to which record (no names, phone numbers or NIK in ``detail``)."""
    ctx.session.add(AuditLog(at=ctx.now, actor_id=ctx.identity.id, action=action, target_type=target_type,
                             target_id=target_id, detail=detail))


def is_kader(ctx: Ctx) -> bool:
    """Whether the person is a kader with a posyandu."""
    return ctx.identity.role == "kader" and ctx.identity.posyandu_id is not None


def normal_family_code(text: str) -> str | None:
    """``K-7QX2MA`` from ``k7qx2ma`` / ``K-7QX2MA``; None when it cannot be a family code."""
    match = FAMILY_CODE_RE.match(text.strip().upper())
    return f"K-{match[1]}" if match else None


async def family_named(ctx: Ctx, args: str, *, via: str, not_kader: str) -> Family | None:
    """The family a kader names after a command (``/keluarga K-XXXXXX``), audited as opened; None, with a
    note saying why, when it is not a family of their posyandu (``not_kader``: the note for a non-kader)."""
    family = await family_in_scope(ctx, args.split()[0]) if args.split() else None
    if family is None:
        ctx.note(_("Tidak ada keluarga dengan kode itu di posyandu Anda.") if is_kader(ctx) else not_kader)
        return None
    audit(ctx, "family.opened", "family", family.id, via=via)
    return family


async def family_in_scope(ctx: Ctx, code: str) -> Family | None:
    """A family of the kader's own posyandu by its code; None for any other (no hint that it exists)."""
    normal = normal_family_code(code)
    if normal is None or not is_kader(ctx):
        return None
    family = (await ctx.session.scalars(select(Family).where(Family.code == normal))).one_or_none()
    if family is None or family.posyandu_id != ctx.identity.posyandu_id:
        return None
    return family


async def use_invite(ctx: Ctx, args: str, role: str, usage: str) -> Invite | None:
    """The unused, unexpired invite for ``role`` with the typed code, now marked used; None (with a hint) otherwise."""
    code = args.strip().upper()
    if not code:
        ctx.note(usage)
        return None
    invite = (await ctx.session.scalars(select(Invite).where(Invite.code == code).with_for_update())).one_or_none()
    if invite is None or invite.role != role or invite.used_at is not None or invite.expires_at < ctx.now:
        audit(ctx, f"{role}.invite_refused")
        ctx.note(_("Kode undangan itu tidak berlaku. Mintalah kode baru ke bidan atau puskesmas."))
        return None
    invite.used_by, invite.used_at = ctx.identity.id, ctx.now
    return invite


async def join_as_kader(ctx: Ctx, args: str) -> Next | None:
    """``/kader <kode>``: a valid invite makes this chat a kader of the invite's posyandu."""
    invite = await use_invite(ctx, args, "kader", _("Ketik /kader diikuti kode undangan dari puskesmas, misalnya: /kader 7QX2MA4K"))
    if invite is None:
        return None
    ctx.identity.role = "kader"
    ctx.identity.posyandu_id = invite.posyandu_id
    posyandu = await ctx.session.get(Posyandu, invite.posyandu_id)
    audit(ctx, "kader.joined", "posyandu", invite.posyandu_id, invite=invite.id)
    ctx.note(_("Selamat bergabung! Anda sekarang kader {posyandu} (Desa {village}).\n"
               "Catat kunjungan: /kunjungan, atau satu baris: catat K-XXXXXX anak1 bb 8,2 tb 71\n"
               "Batalkan catatan terakhir (30 menit): /urung",
               posyandu=posyandu.name, village=posyandu.village_name))
    return END


async def join_family(ctx: Ctx, args: str) -> Next | None:
    """``/gabung <kode keluarga>``: links this chat to a family a kader registered."""
    code = normal_family_code(args)
    if ctx.identity.family_id is not None:
        ctx.note(_("Nomor ini sudah terhubung ke sebuah keluarga."))
        return
    family = None
    if code:
        family = (await ctx.session.scalars(select(Family).where(Family.code == code))).one_or_none()
    if family is None:
        ctx.note(_("Kode keluarga itu tidak ditemukan. Periksa kode dari kader, misalnya: /gabung K-7QX2MA"))
        return
    ctx.identity.family_id = family.id
    audit(ctx, "family.linked", "family", family.id)
    ctx.note(_("Nomor ini sekarang terhubung ke keluarga {name}. Pengingat akan dikirim ke sini.", name=family.name))
    return END


async def join_as_staff(ctx: Ctx, args: str) -> Next | None:
    """``/staf <kode>``: a valid invite makes this chat staff of the invite's puskesmas."""
    invite = await use_invite(ctx, args, "staff", _("Ketik /staf diikuti kode undangan, misalnya: /staf 7QX2MA4K"))
    if invite is None:
        return None
    ctx.identity.role = "staff"
    ctx.identity.puskesmas_id = invite.puskesmas_id
    puskesmas = await ctx.session.get(Puskesmas, invite.puskesmas_id)
    audit(ctx, "staff.joined", "puskesmas", invite.puskesmas_id, invite=invite.id)
    ctx.note(_("Selamat bergabung! Anda sekarang petugas {puskesmas}.\nUmumkan: /umumkan, status siaran: /status, undang kader: /undang",
               puskesmas=puskesmas.name))
    return END
