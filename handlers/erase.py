"""Erasing a family's data (``/hapus``): after a confirmation only anonymous counts remain.

Nothing that names or describes the family is left in any table: its rows go (the database cascades
from the family and its members), messages not sent yet go, texts already sent become counts
(reminders.retention), audit rows keep only the action, the time and who acted. The family's other chats
are unlinked and told, naming nobody.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select, true, update

from care.stages import stages_on
from config import zone_of
from content.i18n import _, n_, use_locale
from db.models import AuditLog, ConversationState, ErasureTally, Family, Identity, Outbox, Referral, Visit
from db.queries import family_members, family_timezone
from handlers.flow import END, Answer, Ctx, Flow, Invalid, Next, Question, Step
from reminders.retention import prune_rows

#: how long the notice to the family's other chats may wait in the outbox (quiet hours, a full queue)
NOTICE_KEEP = timedelta(days=7)


async def ask_confirm(ctx: Ctx) -> Question:
    members = await family_members(ctx.session, ctx.identity.family_id) if ctx.identity.family_id else []
    return Question(
        n_(
            "Semua data Bapak/Ibu akan dihapus permanen: keluarga, {n} anggota, jadwal dan pengingat. "
            "Yang tersisa hanya jumlah tanpa nama untuk laporan. Lanjutkan?",
            "Semua data Bapak/Ibu akan dihapus permanen: keluarga, {n} anggota, jadwal dan pengingat. "
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
    ctx.note(_("Data Bapak/Ibu sudah dihapus. Terima kasih telah menggunakan layanan posyandu. Ketik /start jika ingin mendaftar lagi."))
    return END


async def erase_family_data(ctx: Ctx) -> None:
    """Deletes the family, its members and (for a family identity) the identity itself."""
    session, identity = ctx.session, ctx.identity
    family_id = identity.family_id
    if family_id is not None:
        await erase_family(ctx, family_id)
    if identity.role == "family":
        session.add(AuditLog(at=ctx.now, actor_id=None, action="family.erased", target_type="family", target_id=None, detail={}))
        await session.execute(delete(ConversationState).where(ConversationState.identity_id == identity.id))
        await session.flush()
        await session.delete(identity)  # its outbox rows and consent records go with it
        await session.flush()
        ctx.erased = True
    else:
        identity.family_id = None


async def erase_family(ctx: Ctx, family_id: int) -> None:
    """Erases a family for good: its members and everything about them (visits, care records, referrals,
    reminders: the database cascades), the texts sent to its chats, what the audit log said of them and any
    conversation still holding them. Its other chats are unlinked and told. Only an :class:`ErasureTally`
    of anonymous counts is left."""
    session = ctx.session
    family = await session.get(Family, family_id)
    members = await family_members(session, family_id)
    person_ids = [m.id for m in members]
    stages = Counter(
        stage.value
        for m in members
        for stage in stages_on(ctx.today, birth=m.birth_date, hpht=m.hpht, delivered_on=m.delivered_on)
    )
    tally = ErasureTally(posyandu_id=family.posyandu_id, erased_on=ctx.today, members=len(members), stages=dict(stages))
    session.add(tally)
    await session.flush()
    chats = list(await session.scalars(select(Identity).where(Identity.family_id == family_id).order_by(Identity.id)))
    chat_ids = [chat.id for chat in chats]
    others = [chat for chat in chats if chat.id != ctx.identity.id]
    since = min([family.created_at, *(m.created_at for m in members)])
    words = [w for w in {family.name, *(m.name for m in members)} if w and len(w.strip()) >= 3]
    await _scrub_audit(ctx, family_id, person_ids, since)
    await _drop_messages(ctx, chat_ids, words, since)
    await _forget_conversations(ctx, family_id, person_ids, words, family.code, chat_ids)
    await session.execute(update(Identity).where(Identity.family_id == family_id).values(family_id=None))
    await _tell_others(ctx, family, others, tally.id)
    await session.delete(family)
    await session.flush()


async def _scrub_audit(ctx: Ctx, family_id: int, person_ids: list[int], since) -> None:
    """Keeps of each audit row about the family or its members only what, when and who acted."""
    session = ctx.session
    # members removed earlier are gone from ``person``; the audit rows of their adding or removal name them
    removed = await session.scalars(select(AuditLog.target_id).where(
        AuditLog.at >= since, AuditLog.target_type == "person", _detail_in(session, "family", [family_id])))
    person_ids = sorted({*person_ids, *(i for i in removed if i is not None)})
    visit_ids = list(await session.scalars(select(Visit.id).where(Visit.person_id.in_(person_ids)))) if person_ids else []
    referral_ids = list(await session.scalars(select(Referral.id).where(Referral.person_id.in_(person_ids)))) if person_ids else []
    about = [
        (AuditLog.target_type == "family") & (AuditLog.target_id == family_id),
        _detail_in(session, "family", [family_id]),
    ]
    if person_ids:
        about += [(AuditLog.target_type == "person") & AuditLog.target_id.in_(person_ids), _detail_in(session, "person", person_ids)]
    if visit_ids:
        about.append((AuditLog.target_type == "visit") & AuditLog.target_id.in_(visit_ids))
    if referral_ids:
        about.append((AuditLog.target_type == "referral") & AuditLog.target_id.in_(referral_ids))
    # every row about the family was written after it was created: the index on ``at`` bounds the scan
    await session.execute(
        update(AuditLog).where(AuditLog.at >= since, or_(*about)).values(target_id=None, detail={})
        .execution_options(synchronize_session=False)
    )


def _detail_in(session, key: str, ids: list[int]):
    """``detail[key]`` is one of ``ids``: compared as text on PostgreSQL, where a cast of some other value
    to a number would fail the statement; SQLite's ``json_extract`` gives the number itself."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    if dialect == "postgresql":
        return AuditLog.detail[key].as_string().in_([str(i) for i in ids])
    return AuditLog.detail[key].as_integer().in_(ids)


def _names(text: str, words: list[str]) -> bool:
    """Whether ``text`` holds one of the names as a whole word (any case)."""
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, re.IGNORECASE) for w in words)


async def _drop_messages(ctx: Ctx, chat_ids: list[int], words: list[str], since) -> None:
    """Removes every message not sent yet to the family's chats, and every queued reply to anyone else that
    names its members; the texts already sent (to them, or naming them) are replaced by counts."""
    session = ctx.session
    unsent = (Outbox.state == "pending") | (Outbox.state == "sending")  # a row being sent: see the dispatcher's fence
    if chat_ids:
        await session.execute(delete(Outbox).where(Outbox.identity_id.in_(chat_ids), unsent)
                              .execution_options(synchronize_session=False))
        sent = await session.execute(select(Outbox.id, Outbox.body).where(Outbox.identity_id.in_(chat_ids), Outbox.pruned_at.is_(None)))
        await prune_rows(session, sent.all(), ctx.now)
    if not words:
        return
    # replies queued for other chats (a kader's answers that could not go at once) may name the members
    rows = (await session.execute(select(Outbox.id, Outbox.state, Outbox.body).where(
        Outbox.kind == "reply", Outbox.created_at >= since, Outbox.pruned_at.is_(None),
        Outbox.identity_id.not_in(chat_ids) if chat_ids else true()))).all()
    naming = [(row.id, row.state, row.body) for row in rows if _names(str((row.body or {}).get("text") or ""), words)]
    gone = [row_id for row_id, state, _body in naming if state in ("pending", "sending")]
    if gone:
        await session.execute(delete(Outbox).where(Outbox.id.in_(gone)).execution_options(synchronize_session=False))
    await prune_rows(session, [(row_id, body) for row_id, state, body in naming if row_id not in gone], ctx.now)


_FAMILY_KEYS = frozenset({"family_id", "family"})
_PERSON_KEYS = frozenset({"person_id", "person", "pid", "mother_id"})


def _mentions(data: Any, family_id: int, person_ids: set[int], words: list[str], code: str) -> bool:
    """Whether a conversation's data refers to the family: its id or a member's under a known key, a list
    of family matches holding it, or a name or the family code in any text."""
    if isinstance(data, dict):
        for key, value in data.items():
            if type(value) is int and (key in _FAMILY_KEYS and value == family_id or key in _PERSON_KEYS and value in person_ids):
                return True
            if key == "family_matches" and isinstance(value, list) and family_id in value:
                return True
            if _mentions(value, family_id, person_ids, words, code):
                return True
        return False
    if isinstance(data, list):
        return any(_mentions(value, family_id, person_ids, words, code) for value in data)
    if isinstance(data, str):
        return code.lower() in data.lower() or _names(data, words)
    return False


async def _forget_conversations(ctx: Ctx, family_id: int, person_ids: list[int], words: list[str], code: str,
                                chat_ids: list[int]) -> None:
    """Ends the conversations of the family's other chats, and any kader's or staff member's under way
    about it (their old buttons stop working: the version moves on)."""
    session = ctx.session
    rows = (await session.execute(
        select(ConversationState.identity_id, ConversationState.data).join(Identity, Identity.id == ConversationState.identity_id)
        .where(ConversationState.identity_id != ctx.identity.id,
               Identity.id.in_(chat_ids) | ((Identity.role != "family") & ConversationState.flow.is_not(None)))
    )).all()
    members = set(person_ids)
    reset = [identity_id for identity_id, data in rows
             if identity_id in chat_ids or _mentions(data or {}, family_id, members, words, code)]
    if reset:
        await session.execute(
            update(ConversationState).where(ConversationState.identity_id.in_(reset))
            .values(flow=None, step=None, data={}, version=ConversationState.version + 1, updated_at=ctx.now)
            .execution_options(synchronize_session=False)
        )


async def _tell_others(ctx: Ctx, family: Family, others: list[Identity], tally_id: int) -> None:
    """Queues a short notice, naming nobody, for each other chat of the family that can be reached."""
    found = await family_timezone(ctx.session, family.id)
    zone = zone_of(ctx.settings, *found) if found else ctx.settings.timezone.default
    for chat in others:
        if chat.consent != "given" or chat.opted_out_at is not None or chat.unreachable_at is not None:
            continue
        with use_locale(chat.language):
            text = _("Bapak/Ibu, data keluarga yang terhubung dengan chat ini sudah dihapus atas permintaan dari chat "
                     "lain keluarga ini. Chat ini tidak lagi terhubung dan tidak akan menerima pengingat. "
                     "Ketik /start jika ingin mendaftar lagi.")
        ctx.session.add(Outbox(
            key=f"erased:{tally_id}:{chat.id}", identity_id=chat.id, channel=chat.channel, address=chat.address,
            kind="notice", body={"text": text, "lang": chat.language}, timezone=zone, state="pending", not_before=ctx.now,
            expires_at=ctx.now + NOTICE_KEEP, attempts=0, created_at=ctx.now,
        ))


ERASE = Flow(name="erase", first="confirm", steps={"confirm": Step(ask_confirm, on_confirm)}, commands=("hapus", "delete"))
