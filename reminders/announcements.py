"""Announcements staff send to families and kaders through the outbox: who an announcement reaches, its
queuing and its cancelling (``/umumkan`` and ``/status`` in the chat, ``/pengumuman`` on the web), and the
notice of a changed posyandu day (``/jadwalposyandu``, ``/jadwal`` on the web). One implementation for the
chat and the web: each takes an open session and writes rows; the caller audits and commits.

Only people who consented, did not opt out and can be reached are counted and queued; each gets one outbox
row (its key names the announcement or change and the recipient), in their own language.

A photo attached on the web is held in ``broadcast_photo`` (:func:`store_photo`) and named in the outbox
bodies as ``{"photo": "<id>", "photo_channel": "web"}``; each channel fetches it through its media source
"web" (``bot.py``: :func:`photo_of`). A photo is kept :data:`PHOTO_DAYS` (pruned when another is stored); an
announcement takes only one stored less than ``PHOTO_DAYS - BROADCAST_DAYS`` days ago, so none is pruned
while a message may still send it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.stages import Stage, stages_on
from config import zone_of
from content.i18n import _, format_date, use_locale
from db.models import Broadcast, BroadcastPhoto, Family, Identity, Outbox, Person, Posyandu, PosyanduException, Puskesmas
from db.queries import posyandu_of

#: the longest announcement (letters)
MAX_BROADCAST = 1000
#: how long an announcement may wait in the outbox before it expires
BROADCAST_DAYS = 3
#: the largest photo of an announcement (bytes)
PHOTO_MAX_BYTES = 5 * 1024 * 1024
#: how long a photo of an announcement is kept (days)
PHOTO_DAYS = 14
#: the photo formats taken, by their first bytes
PHOTO_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
#: how long a changed posyandu day's notice may wait
NOTICE_DAYS = 7
#: who an announcement is for: every registered family, the families with someone in a stage, or the kaders
AUDIENCES = {
    "all": Ellipsis, "pregnant": Stage.PREGNANT, "toddler": (Stage.INFANT, Stage.TODDLER),
    "elderly": Stage.ELDERLY, "kaders": Ellipsis,
}

#: (identity id, channel, address, language)
Recipient = tuple[int, str, str, str]

_REACHABLE = (Identity.consent == "given", Identity.opted_out_at.is_(None), Identity.unreachable_at.is_(None))


def audience_labels() -> tuple[tuple[str, str], ...]:
    """(label, kind) of each audience in the current language, in the order they are offered."""
    return ((_("Semua keluarga"), "all"), (_("Ibu hamil"), "pregnant"), (_("Keluarga dengan balita"), "toddler"),
            (_("Lansia"), "elderly"), (_("Kader saja"), "kaders"))


async def broadcast_recipients(session: AsyncSession, puskesmas_id: int, audience: dict, today: date) -> list[Recipient]:
    """Everyone an audience (``{"kind", "posyandu_ids"}``: none = the whole puskesmas) of a puskesmas reaches
    who may be messaged; posyandu of another puskesmas are ignored."""
    posyandu_ids = [p.id for p in await posyandu_of(session, puskesmas_id)]
    if audience.get("posyandu_ids"):
        posyandu_ids = [pid for pid in posyandu_ids if pid in audience["posyandu_ids"]]
    if audience["kind"] == "kaders":
        rows = await session.execute(select(Identity.id, Identity.channel, Identity.address, Identity.language).where(
            Identity.role == "kader", Identity.posyandu_id.in_(posyandu_ids), *_REACHABLE))
        return [tuple(r) for r in rows.all()]
    families = select(Family.id).where(Family.posyandu_id.in_(posyandu_ids), Family.registered_at.is_not(None))
    wanted = AUDIENCES[audience["kind"]]
    if wanted is not Ellipsis:
        stages = set(wanted) if isinstance(wanted, tuple) else {wanted}
        people = (await session.execute(select(Person.family_id, Person.birth_date, Person.hpht, Person.delivered_on)
                                        .where(Person.family_id.in_(families)))).all()
        ids = {fid for fid, birth, hpht, delivered in people
               if stages & set(stages_on(today, birth=birth, hpht=hpht, delivered_on=delivered))}
        families = list(ids) or [0]
    rows = await session.execute(select(Identity.id, Identity.channel, Identity.address, Identity.language)
                                 .where(Identity.family_id.in_(families), *_REACHABLE))
    return [tuple(r) for r in rows.all()]


async def queue_broadcast(session: AsyncSession, settings, *, puskesmas_id: int, author_id: int | None, audience: dict,
                          text: str, photo: dict | None, now: datetime, today: date) -> tuple[Broadcast, int]:
    """A new broadcast and one pending outbox row per recipient (headed "Pengumuman <puskesmas>:" in each
    one's language; ``photo``: ``{"photo": ref, "photo_channel": channel}`` or None); (broadcast, count)."""
    people = await broadcast_recipients(session, puskesmas_id, audience, today)
    puskesmas = await session.get(Puskesmas, puskesmas_id)
    zone = zone_of(settings, puskesmas.code, puskesmas.timezone)
    broadcast = Broadcast(puskesmas_id=puskesmas.id, author_id=author_id, audience=audience, text=text, state="queued",
                          created_at=now)
    session.add(broadcast)
    await session.flush()
    heading: dict[str, str] = {}
    for identity_id, channel, address, lang in people:
        if lang not in heading:
            with use_locale(lang):
                heading[lang] = _("Pengumuman {puskesmas}:", puskesmas=puskesmas.name)
        session.add(Outbox(
            key=f"broadcast:{broadcast.id}:{identity_id}", identity_id=identity_id, channel=channel, address=address,
            kind="broadcast", body={"text": heading[lang] + "\n" + text, "lang": lang, **(photo or {})},
            timezone=zone, state="pending", not_before=now, expires_at=now + timedelta(days=BROADCAST_DAYS), attempts=0,
            broadcast_id=broadcast.id, created_at=now,
        ))
    return broadcast, len(people)


def photo_mime(data: bytes) -> str | None:
    """The type of a photo by its first bytes (JPEG or PNG); None for anything else."""
    return next((mime for magic, mime in PHOTO_MAGIC if data.startswith(magic)), None)


async def store_photo(session: AsyncSession, *, puskesmas_id: int, data: bytes, mime: str, now: datetime) -> int:
    """Holds a photo for the puskesmas's announcements (pruning those past :data:`PHOTO_DAYS`); its id."""
    await session.execute(delete(BroadcastPhoto).where(BroadcastPhoto.created_at < now - timedelta(days=PHOTO_DAYS)))
    photo = BroadcastPhoto(puskesmas_id=puskesmas_id, data=data, mime=mime, created_at=now)
    session.add(photo)
    await session.flush()
    return photo.id


async def usable_photo(session: AsyncSession, photo_id: int, puskesmas_id: int, now: datetime) -> bool:
    """Whether an announcement queued now may carry the photo: the puskesmas's own, and young enough to be
    kept until every message of it has expired."""
    created = await session.scalar(select(BroadcastPhoto.created_at).where(BroadcastPhoto.id == photo_id,
                                                                          BroadcastPhoto.puskesmas_id == puskesmas_id))
    return created is not None and created > now - timedelta(days=PHOTO_DAYS - BROADCAST_DAYS)


async def photo_of(session: AsyncSession, photo_id: int, puskesmas_id: int | None = None) -> tuple[bytes, str] | None:
    """A held photo's (bytes, mime), of the puskesmas when given; None when there is none."""
    query = select(BroadcastPhoto.data, BroadcastPhoto.mime).where(BroadcastPhoto.id == photo_id)
    if puskesmas_id is not None:
        query = query.where(BroadcastPhoto.puskesmas_id == puskesmas_id)
    row = (await session.execute(query)).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def cancel_broadcast(session: AsyncSession, broadcast: Broadcast) -> int:
    """Cancels what of a broadcast is still waiting in the outbox; how many messages will not go."""
    result = await session.execute(update(Outbox).where(Outbox.broadcast_id == broadcast.id, Outbox.state == "pending")
                                   .values(state="cancelled"))
    broadcast.state = "cancelled"
    return result.rowcount


# -- a changed posyandu day ---------------------------------------------------------------------------

def change_text(posyandu: Posyandu, change: PosyanduException) -> str:
    """The notice of a change, in the current language."""
    if change.kind == "moved":
        return _("{posyandu}: jadwal {old} dipindah ke {new}. Alasan: {reason}", posyandu=posyandu.name,
                 old=format_date(change.original_date, "EEEE, d MMMM"), new=format_date(change.new_date, "EEEE, d MMMM"), reason=change.reason)
    if change.kind == "cancelled":
        return _("{posyandu}: jadwal {old} dibatalkan. Alasan: {reason}", posyandu=posyandu.name,
                 old=format_date(change.original_date, "EEEE, d MMMM"), reason=change.reason)
    return _("{posyandu}: ada sesi tambahan {new}. {reason}", posyandu=posyandu.name,
             new=format_date(change.new_date, "EEEE, d MMMM"), reason=change.reason)


async def posyandu_recipients(session: AsyncSession, posyandu: Posyandu) -> list[Recipient]:
    """Every reachable family chat and kader of the posyandu."""
    families = select(Family.id).where(Family.posyandu_id == posyandu.id, Family.registered_at.is_not(None))
    rows = await session.execute(select(Identity.id, Identity.channel, Identity.address, Identity.language).where(
        (Identity.family_id.in_(families)) | ((Identity.role == "kader") & (Identity.posyandu_id == posyandu.id)),
        *_REACHABLE))
    return [tuple(r) for r in rows.all()]


async def queue_change_notice(session: AsyncSession, settings, posyandu: Posyandu, change: PosyanduException,
                              now: datetime, recipients: Sequence[Recipient] | None = None) -> int:
    """Queues the notice of a saved change (its id set) for every reachable family chat and kader of the
    posyandu; returns how many."""
    rows = await posyandu_recipients(session, posyandu) if recipients is None else recipients
    puskesmas = await session.get(Puskesmas, posyandu.puskesmas_id)
    zone = zone_of(settings, puskesmas.code, puskesmas.timezone)
    for identity_id, channel, address, lang in rows:
        with use_locale(lang):
            text = change_text(posyandu, change)
        session.add(Outbox(
            key=f"calendar:{change.id}:{identity_id}", identity_id=identity_id, channel=channel, address=address,
            kind="calendar", body={"text": text, "lang": lang}, timezone=zone, state="pending", not_before=now,
            expires_at=now + timedelta(days=NOTICE_DAYS), attempts=0, created_at=now,
        ))
    return len(rows)
