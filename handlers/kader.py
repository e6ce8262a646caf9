"""Roles: joining with an invite code as a kader (``/kader <kode>``) or as puskesmas staff (``/staf <kode>``),
the consent each of them records, the scope of a kader (one posyandu), and the audit log. Linking a chat to
a family (``/gabung <kode>``) is ``handlers.link``.

A person holds at most one work role (kader of one posyandu, or staff of one puskesmas) and, besides it, may
belong to a family (``Identity.family_id``): a kader with a family of their own keeps both. A join that changes
the work role says so (no confirmation: the one-time code was made for this person and this role by their
puskesmas; a mistaken change is undone with a new code).

Consent:

- A join is the consent for the role: the welcome says what the role is and what is stored (this chat, the
  role and its area, and what the person records or opens, audited in their name) and a ``ConsentRecord``
  with the role's own version (``ROLE_CONSENT_VERSIONS``) is written. A person who had not consented to
  anything before has ``Identity.consent`` "given" with the role's version, so the bot serves them at once.
- The family consent (``handlers.start.CONSENT_VERSION``) is separate: a person whose only consent is a
  role's (:func:`has_family_consent` is False) is asked it before registering their own family
  (``handlers.start.family_consent_first``) or linking to one (``/gabung``).
- ``/gabung <kode>`` before the family consent checks the code, keeps it while the consent is asked, and
  goes on after a yes (``handlers.start``, ``handlers.link``).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from content.i18n import _
from db.models import AuditLog, ConsentRecord, Family, Invite, Posyandu, Puskesmas
from content.family_codes import FAMILY_CODE_ALPHABET, read_family_code
from handlers.flow import END, Ctx, Next
from handlers.help import command_menu

#: the family codes' letters: no 0/O, 1/I/L, so a code read aloud or copied by hand stays right
INVITE_ALPHABET = FAMILY_CODE_ALPHABET
INVITE_LENGTH = 8
INVITE_DAYS = 7
#: The version of what a kader or staff member is told at their join (the role's consent).
ROLE_CONSENT_VERSIONS = {"kader": "kader-2026-11", "staff": "staf-2026-11"}
#: The join command of each role (for a code sent with the other one).
JOIN_COMMANDS = {"kader": "/kader", "staff": "/staf"}


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


def has_family_consent(identity) -> bool:
    """Whether the person agreed to the family consent (not only to a role's, at a join)."""
    return identity.consent == "given" and identity.consent_version not in ROLE_CONSENT_VERSIONS.values()


def normal_family_code(text: str) -> str | None:
    """``K-7QX2MA4KPZ`` from ``k7qx2ma4kpz`` / ``K-7QX2 MA4K PZ`` (an old ``K-7QX2MA`` too); None when it cannot
    be a family code (``content.family_codes.read_family_code``; here it starts with K, so that a name is not taken for one)."""
    return read_family_code(text)[1] if text.strip().upper().startswith("K") else None


async def family_named(ctx: Ctx, args: str, *, via: str, not_kader: str) -> Family | None:
    """The family a kader names after a command (``/keluarga K-XXXXXX``), audited as opened; None, with a
    note saying why, when it is not a family of their posyandu (``not_kader``: the note for a non-kader)."""
    family = await family_in_scope(ctx, args.split()[0]) if args.split() else None
    if family is None:
        ctx.note(_("Tidak ada keluarga dengan kode itu di posyandu Bapak/Ibu.") if is_kader(ctx) else not_kader)
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


# -- joining a role ---------------------------------------------------------------------------------


def _refused(ctx: Ctx) -> Next | None:
    """After a refused code: a person who consented to nothing yet gets only the hint (END); anyone else
    the question they were at (None)."""
    return END if ctx.identity.consent != "given" else None


async def find_invite(ctx: Ctx, args: str, role: str, usage: str) -> Invite | None:
    """The unused, unexpired invite for ``role`` with the typed code (locked; the join marks it used); None,
    with a hint saying why and how to get a code, otherwise."""
    code = args.strip().split()[0].upper() if args.strip() else ""
    if not code:
        ctx.note(usage)
        return None
    invite = (await ctx.session.scalars(select(Invite).where(Invite.code == code[:16]).with_for_update())).one_or_none()
    if invite is None or invite.used_at is not None or invite.expires_at < ctx.now:
        audit(ctx, f"{role}.invite_refused")
        ctx.note(_("Kode undangan itu tidak berlaku. Mintalah kode baru ke bidan atau puskesmas."))
        return None
    if invite.role != role:  # a valid code sent with the other command: kept for the right one
        audit(ctx, f"{role}.invite_refused", reason="other_role")
        ctx.note(_("Kode itu untuk bergabung sebagai {role}. Kirim: {command} {code}",
                   role=role_name(invite.role), command=JOIN_COMMANDS.get(invite.role, "/kader"), code=invite.code))
        return None
    return invite


def role_name(role: str) -> str:
    """What a role is called in a sentence ("kader", "petugas puskesmas")."""
    return _("petugas puskesmas") if role == "staff" else _("kader")


async def current_role(ctx: Ctx) -> tuple[str, int, str] | None:
    """(role, area id, how the role is said: "kader Posyandu Mawar") of the person's work role, if any."""
    identity = ctx.identity
    if identity.role == "kader" and identity.posyandu_id is not None:
        if (posyandu := await ctx.session.get(Posyandu, identity.posyandu_id)) is not None:
            return "kader", posyandu.id, _("kader {posyandu}", posyandu=posyandu.name)
    if identity.role == "staff" and identity.puskesmas_id is not None:
        if (puskesmas := await ctx.session.get(Puskesmas, identity.puskesmas_id)) is not None:
            return "staff", puskesmas.id, _("petugas {puskesmas}", puskesmas=puskesmas.name)
    return None


def _role_consent(ctx: Ctx, role: str) -> None:
    """Records the role's consent; a person who had agreed to nothing yet is served from now on."""
    identity, version = ctx.identity, ROLE_CONSENT_VERSIONS[role]
    ctx.session.add(ConsentRecord(identity_id=identity.id, decision="given", version=version,
                                  language=identity.language, at=ctx.now))
    if identity.consent != "given":
        identity.consent, identity.consent_version, identity.consent_at = "given", version, ctx.now
        if ctx.state.flow == "start" and not ctx.data.get("family_code"):
            # they were at the family consent: the role is what they came for (a family later: /daftar)
            ctx.state.flow = ctx.state.step = None
            ctx.data.clear()


def role_data_text() -> str:
    """What is stored about a kader or staff member (said at every join)."""
    return _("Yang disimpan tentang Bapak/Ibu: nomor chat ini, peran dan wilayah, serta semua yang Bapak/Ibu catat. "
             "Setiap catatan, pengumuman dan data keluarga yang dibuka tercatat atas nama Bapak/Ibu "
             "untuk pemeriksaan puskesmas.")


async def _join(ctx: Ctx, invite: Invite, role: str, area_id: int) -> bool:
    """Applies a used invite: the work role and its area, the role's consent, a said role change, the
    command menu; False (nothing changed) when the person already holds exactly this role."""
    before = await current_role(ctx)
    if before is not None and before[:2] == (role, area_id):
        ctx.note(_("Bapak/Ibu sudah {role}. Tidak ada yang berubah.", role=before[2]))
        return False
    if before is not None:
        ctx.note(_("Bapak/Ibu tidak lagi {role}. Untuk kembali, mintalah kode baru ke puskesmas.", role=before[2]))
    identity = ctx.identity
    identity.role = role
    identity.posyandu_id = area_id if role == "kader" else None
    identity.puskesmas_id = area_id if role == "staff" else None
    invite.used_by, invite.used_at = identity.id, ctx.now
    _role_consent(ctx, role)
    ctx.commands = command_menu(role)
    return True


def _after_join(ctx: Ctx) -> None:
    """What the join leaves as it was: the person's own family."""
    if ctx.identity.family_id is not None:
        ctx.note(_("Keluarga Bapak/Ibu tetap terhubung ke nomor ini, dengan pengingatnya."))


async def join_as_kader(ctx: Ctx, args: str) -> Next | None:
    """``/kader <kode>``: a valid invite makes this chat a kader of the invite's posyandu (at any point,
    also as the first message of a new chat)."""
    invite = await find_invite(ctx, args, "kader", _("Ketik /kader diikuti kode undangan dari puskesmas, misalnya: /kader 7QX2MA4K"))
    if invite is None:
        return _refused(ctx)
    posyandu = await ctx.session.get(Posyandu, invite.posyandu_id)
    if not await _join(ctx, invite, "kader", posyandu.id):
        return None
    audit(ctx, "kader.joined", "posyandu", posyandu.id, invite=invite.id)
    ctx.note(_("Selamat bergabung! Bapak/Ibu sekarang kader {posyandu} (Desa {village}). Sebagai kader, "
               "Bapak/Ibu mendaftarkan keluarga, mencatat kunjungan dan rujukan, dan melihat sasaran posyandu ini.",
               posyandu=posyandu.name, village=posyandu.village_name))
    ctx.note(role_data_text())
    _after_join(ctx)
    ctx.note(_("Catat kunjungan: /kunjungan, atau satu baris: catat K-XXXXXX anak1 bb 8,2 tb 71\n"
               "Batalkan catatan terakhir (30 menit): /urung\nSemua perintah: bantuan"))
    return END


async def join_as_staff(ctx: Ctx, args: str) -> Next | None:
    """``/staf <kode>``: a valid invite makes this chat staff of the invite's puskesmas (at any point,
    also as the first message of a new chat)."""
    invite = await find_invite(ctx, args, "staff", _("Ketik /staf diikuti kode undangan, misalnya: /staf 7QX2MA4K"))
    if invite is None:
        return _refused(ctx)
    puskesmas = await ctx.session.get(Puskesmas, invite.puskesmas_id)
    if not await _join(ctx, invite, "staff", puskesmas.id):
        return None
    audit(ctx, "staff.joined", "puskesmas", puskesmas.id, invite=invite.id)
    ctx.note(_("Selamat bergabung! Bapak/Ibu sekarang petugas {puskesmas}. Sebagai petugas, Bapak/Ibu melihat "
               "laporan dan rujukan, mengirim pengumuman, mengatur jadwal posyandu dan mengundang kader di wilayah puskesmas ini.",
               puskesmas=puskesmas.name))
    ctx.note(role_data_text())
    _after_join(ctx)
    ctx.note(_("Umumkan: /umumkan, status pengumuman: /status, undang kader: /undang\nSemua perintah: bantuan"))
    return END
