"""Erasing a family's data (``/hapus``): after a confirmation only anonymous counts remain."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, update

from care.stages import stages_on
from content.i18n import _, n_
from db.models import AuditLog, ConversationState, ErasureTally, Family, Identity
from db.queries import family_members
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step


async def ask_confirm(ctx: Ctx) -> Question:
    members = await family_members(ctx.session, ctx.identity.family_id) if ctx.identity.family_id else []
    return Question(
        n_(
            "Semua data Anda akan dihapus permanen: keluarga, {n} anggota, jadwal dan pengingat. "
            "Yang tersisa hanya jumlah tanpa nama untuk laporan. Lanjutkan?",
            "Semua data Anda akan dihapus permanen: keluarga, {n} anggota, jadwal dan pengingat. "
            "Yang tersisa hanya jumlah tanpa nama untuk laporan. Lanjutkan?",
            len(members),
        ),
        ((_("Ya, hapus semua data"), "yes"), (_("Tidak, batalkan"), "no")),
    )


async def on_confirm(ctx: Ctx, answer: Answer) -> Next:
    """Erases the family and this chat's data when confirmed; ends."""
    if answer.choice == "no":
        ctx.note(_("Tidak ada yang dihapus."))
        return END
    if answer.choice != "yes":
        raise Invalid(_("Pilih Ya, hapus semua data, atau Tidak."))
    await erase_family_data(ctx)
    ctx.note(_("Data Anda sudah dihapus. Terima kasih telah menggunakan layanan posyandu. Ketik /start jika ingin mendaftar lagi."))
    return END


async def erase_family_data(ctx: Ctx) -> None:
    """Deletes the family, its members and (for a family identity) the identity itself."""
    session, identity = ctx.session, ctx.identity
    family_id = identity.family_id
    if family_id is not None:
        family = await session.get(Family, family_id)
        members = await family_members(session, family_id)
        stages = Counter(
            stage.value
            for m in members
            for stage in stages_on(ctx.today, birth=m.birth_date, hpht=m.hpht, delivered_on=m.delivered_on)
        )
        session.add(ErasureTally(posyandu_id=family.posyandu_id, erased_on=ctx.today, members=len(members), stages=dict(stages)))
        await session.execute(update(Identity).where(Identity.family_id == family_id).values(family_id=None))
        await session.delete(family)
    if identity.role == "family":
        session.add(AuditLog(at=ctx.now, actor_id=None, action="family.erased", target_type="family", target_id=None, detail={}))
        await session.execute(delete(ConversationState).where(ConversationState.identity_id == identity.id))
        await session.flush()
        await session.delete(identity)
        await session.flush()
        ctx.erased = True
    else:
        identity.family_id = None


ERASE = Flow(name="erase", first="confirm", steps={"confirm": Step(ask_confirm, on_confirm)})
