"""Pengumuman: staff compose an announcement (text, and a photo if they like; audience and place as
``/umumkan`` offers), see how many it reaches and the exact message before it goes, follow it per channel,
and cancel what still waits.

* ``GET /pengumuman``: the form (``multipart/form-data``: the photo, JPEG or PNG by its first bytes, at most
  ``reminders.announcements.PHOTO_MAX_BYTES``) and the puskesmas's last announcements.
* ``POST /pengumuman/pratinjau``: the preview: the count of recipients and the message as families read it,
  with its photo. Only the photo is stored (``reminders.announcements.store_photo``; shown from
  ``GET /pengumuman/foto/<id>``, the puskesmas's own only). Its form carries what was composed (the photo
  by its id) to
* ``POST /pengumuman/ubah``: back to the form with it (the preview's *Ubah*).
* ``POST /pengumuman/kirim``: queues it (``reminders.announcements.queue_broadcast``, the chat's own; a photo
  as ``{"photo": "<id>", "photo_channel": "web"}``, which each channel fetches through its media source
  "web"), audited ``broadcast.queued``; to the announcement's page.
* ``GET /pengumuman/<id>``: per channel: queued, sent, delivered, read, failed, cancelled (the outbox rows
  of the announcement and their WhatsApp delivery state).
* ``POST /pengumuman/<id>/batal``: the waiting rows cancelled (``reminders.announcements.cancel_broadcast``),
  audited ``broadcast.cancelled``.

An announcement of another puskesmas is not found (404).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content.i18n import _
from db.models import Broadcast, Outbox
from db.queries import posyandu_of
from reminders.announcements import (AUDIENCES, MAX_BROADCAST, PHOTO_MAX_BYTES, audience_labels, broadcast_recipients,
                                     cancel_broadcast, photo_mime, photo_of, queue_broadcast, store_photo, usable_photo)
from web.auth import audit, see_other, staff_page
from web.context import CLOCK, DB, SETTINGS, staff_of
from web.local_day import local_today
from web.render import not_found, record_id, render
from web.uploads import Upload, form_of


#: how many of the last announcements the page lists
RECENT = 10
#: the columns of the progress table, in order
PROGRESS = ("queued", "sent", "delivered", "read", "failed", "cancelled")
#: outbox states counted as failed (a blocked chat, an expired message: it did not arrive)
_FAILED_STATES = frozenset({"failed", "expired", "blocked"})
#: the form field of a new photo, and of the photo already stored with a draft (its id)
PHOTO_FIELD = "foto"
PHOTO_ID_FIELD = "photo"
#: the channel name of a photo stored here (outbox bodies' ``photo_channel``; each channel's media source)
PHOTO_CHANNEL = "web"


# -- the numbers ----------------------------------------------------------------------------------------

@dataclass
class Progress:
    """An announcement's messages per channel and in all (``counts[channel][column]``)."""

    broadcast: Broadcast
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def total(self) -> dict[str, int]:
        return {column: sum(c[column] for c in self.counts.values()) for column in PROGRESS}

    @property
    def waiting(self) -> int:
        return self.total["queued"]


def column_of(state: str, delivery: str | None) -> str | None:
    """The progress column of an outbox row: its delivery receipt counts once sent (read is also delivered)."""
    if state in ("pending", "sending"):
        return "queued"
    if state in _FAILED_STATES or delivery == "failed":
        return "failed"
    if state == "cancelled":
        return "cancelled"
    if state == "sent":
        return {"read": "read", "delivered": "delivered"}.get(delivery or "", "sent")
    return None


async def progress(session: AsyncSession, puskesmas_id: int, broadcast_id: int) -> Progress | None:
    """The progress of an announcement of the puskesmas (None: not one of its own)."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.puskesmas_id != puskesmas_id:
        return None
    rows = await session.execute(select(Outbox.channel, Outbox.state, Outbox.delivery, func.count())
                                 .where(Outbox.broadcast_id == broadcast.id).group_by(Outbox.channel, Outbox.state, Outbox.delivery))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(PROGRESS, 0))
    for channel, state, delivery, count in rows.all():
        column = column_of(state, delivery)
        if column is not None:
            counts[channel][column] += count
            if column == "read":  # a message read was delivered too
                counts[channel]["delivered"] += count
    return Progress(broadcast, dict(sorted(counts.items())))


async def recent(session: AsyncSession, puskesmas_id: int, limit: int = RECENT) -> list[Progress]:
    """The puskesmas's last announcements, newest first, with their progress."""
    ids = await session.scalars(select(Broadcast.id).where(Broadcast.puskesmas_id == puskesmas_id)
                                .order_by(Broadcast.id.desc()).limit(limit))
    return [await progress(session, puskesmas_id, i) for i in list(ids)]


# -- the form -------------------------------------------------------------------------------------------

@dataclass
class Draft:
    """What the form says, read and checked (``problems`` empty: it may be previewed and sent)."""

    kind: str = "all"
    posyandu_ids: list[int] = field(default_factory=list)
    text: str = ""
    problems: list[str] = field(default_factory=list)
    photo_id: int | None = None  # a stored photo (``broadcast_photo``) the announcement carries

    @property
    def audience(self) -> dict:
        return {"kind": self.kind, "posyandu_ids": self.posyandu_ids}

    @property
    def photo(self) -> dict | None:
        """The outbox body's photo reference (None: text only)."""
        return {"photo": str(self.photo_id), "photo_channel": PHOTO_CHANNEL} if self.photo_id is not None else None


def read_draft(form, own_posyandu_ids: set[int]) -> Draft:
    """The draft of a posted form; posyandu of another puskesmas are refused, as an unknown audience is."""
    draft = Draft(kind=str(form.get("audience", "")), text=str(form.get("text", "")).strip())
    if draft.kind not in AUDIENCES:
        draft.problems.append(_("Pilih penerima dari daftar."))
    chosen = [str(v) for v in form.getall("posyandu", [])]
    if any(not (v.isdecimal() and int(v) in own_posyandu_ids) for v in chosen):
        draft.problems.append(_("Pilih posyandu dari daftar."))
    draft.posyandu_ids = sorted({int(v) for v in chosen if v.isdecimal() and int(v) in own_posyandu_ids})
    if len(draft.text) < 5:
        draft.problems.append(_("Pengumuman terlalu pendek."))
    elif len(draft.text) > MAX_BROADCAST:
        draft.problems.append(_("Pengumuman terlalu panjang ({count} huruf, paling banyak {max}).", count=len(draft.text), max=MAX_BROADCAST))
    return draft


def photo_problem(upload: Upload) -> str | None:
    """Why a photo is refused (one sentence); None when it is a JPEG or PNG of at most 5 MB."""
    if upload.too_big:
        return _("Foto terlalu besar (paling besar {max} MB).", max=PHOTO_MAX_BYTES // 1024 // 1024)
    if photo_mime(upload.data) is None:
        return _("Foto harus berupa file JPEG atau PNG.")
    return None


def heading(puskesmas_name: str) -> str:
    """The first line every recipient reads (as ``queue_broadcast`` writes it, in the reader's language)."""
    return _("Pengumuman {puskesmas}:", puskesmas=puskesmas_name)


# -- the routes -----------------------------------------------------------------------------------------

async def _compose(request: web.Request, draft: Draft, status: int = 200) -> web.Response:
    staff = staff_of(request)
    async with request.app[DB].read() as session:
        places = await posyandu_of(session, staff.puskesmas_id)
        last = await recent(session, staff.puskesmas_id)
    return render(request, "broadcasts.html", {"draft": draft, "places": places, "audiences": audience_labels(),
                                               "recent": last, "max_length": MAX_BROADCAST,
                                               "photo_max_mb": PHOTO_MAX_BYTES // 1024 // 1024}, status=status)


@staff_page
async def compose(request: web.Request) -> web.Response:
    return await _compose(request, Draft())


async def _posted_draft(request: web.Request, *, store: bool = False) -> Draft:
    """The posted draft with its photo: a new one (the preview's form, ``store``: stored when the draft is
    fine), else the one the draft carries by id, if it is the puskesmas's and may still be sent; none when
    "Tanpa foto" is ticked."""
    staff = staff_of(request)
    form = form_of(request) or await request.post()
    now = request.app[CLOCK]()
    new = form.files.get(PHOTO_FIELD) if store and hasattr(form, "files") else None
    if new is not None and not new.data and not new.too_big:
        new = None  # the file field left empty
    carried = str(form.get(PHOTO_ID_FIELD, ""))
    async with request.app[DB].read() as session:
        own = {p.id for p in await posyandu_of(session, staff.puskesmas_id)}
        draft = read_draft(form, own)
        if form.get("no_photo"):
            return draft
        if new is None and carried:
            if carried.isdecimal() and len(carried) < 12 and await usable_photo(session, int(carried), staff.puskesmas_id, now):
                draft.photo_id = int(carried)
            else:
                draft.problems.append(_("Foto itu sudah tidak tersimpan. Pilih fotonya lagi."))
    if new is None:
        return draft
    problem = photo_problem(new)
    if problem is not None:
        draft.problems.append(problem)
    elif not draft.problems:
        async with request.app[DB].write() as session:
            draft.photo_id = await store_photo(session, puskesmas_id=staff.puskesmas_id, data=new.data,
                                               mime=photo_mime(new.data), now=now)
    return draft


@staff_page(upload=PHOTO_MAX_BYTES)
async def preview(request: web.Request) -> web.Response:
    staff = staff_of(request)
    draft = await _posted_draft(request, store=True)
    if draft.problems:
        return await _compose(request, draft, status=400)
    async with request.app[DB].read() as session:
        count = len(await broadcast_recipients(session, staff.puskesmas_id, draft.audience, await local_today(request, session, staff.puskesmas_id)))
        names = [p.name for p in await posyandu_of(session, staff.puskesmas_id) if p.id in draft.posyandu_ids]
    labels = dict((kind, label) for label, kind in audience_labels())
    return render(request, "broadcast_preview.html", {"draft": draft, "count": count, "heading": heading(staff.puskesmas_name),
                                                      "audience_label": labels[draft.kind], "places": names})


@staff_page
async def edit(request: web.Request) -> web.Response:
    """Back to the form with what was composed (the preview's *Ubah*)."""
    draft = await _posted_draft(request)
    return await _compose(request, draft, status=400 if draft.problems else 200)


@staff_page
async def send(request: web.Request) -> web.Response:
    staff = staff_of(request)
    draft = await _posted_draft(request)
    if draft.problems:
        return await _compose(request, draft, status=400)
    now = request.app[CLOCK]()
    async with request.app[DB].write() as session:
        broadcast, count = await queue_broadcast(session, request.app[SETTINGS], puskesmas_id=staff.puskesmas_id,
                                                 author_id=staff.identity_id, audience=draft.audience, text=draft.text,
                                                 photo=draft.photo, now=now, today=await local_today(request, session, staff.puskesmas_id))
        audit(session, staff, "broadcast.queued", "broadcast", broadcast.id, now, audience=draft.audience, recipients=count,
              photo=draft.photo_id)
    return see_other(f"/pengumuman/{broadcast.id}")


@staff_page
async def show(request: web.Request) -> web.Response:
    staff = staff_of(request)
    wanted = record_id(request)
    async with request.app[DB].read() as session:
        found = await progress(session, staff.puskesmas_id, wanted) if wanted is not None else None
        names = []
        if found is not None and found.broadcast.audience.get("posyandu_ids"):
            names = [p.name for p in await posyandu_of(session, staff.puskesmas_id)
                     if p.id in found.broadcast.audience["posyandu_ids"]]
    if found is None:
        return not_found(request)
    labels = dict((kind, label) for label, kind in audience_labels())
    return render(request, "broadcast.html", {"progress": found, "columns": PROGRESS, "places": names,
                                              "audience_label": labels.get(found.broadcast.audience.get("kind"), "")})


@staff_page
async def photo(request: web.Request) -> web.Response:
    """A stored photo of the puskesmas (the preview's)."""
    staff = staff_of(request)
    wanted = record_id(request)
    async with request.app[DB].read() as session:
        found = await photo_of(session, wanted, staff.puskesmas_id) if wanted is not None else None
    if found is None:
        return not_found(request)
    data, mime = found
    return web.Response(body=data, content_type=mime, headers={"Cache-Control": "private, max-age=3600",
                                                               "X-Content-Type-Options": "nosniff"})


@staff_page
async def cancel(request: web.Request) -> web.Response:
    staff = staff_of(request)
    wanted = record_id(request)
    now = request.app[CLOCK]()
    async with request.app[DB].write() as session:
        broadcast = await session.get(Broadcast, wanted) if wanted is not None else None
        if broadcast is None or broadcast.puskesmas_id != staff.puskesmas_id:
            return not_found(request)
        rows = await cancel_broadcast(session, broadcast)
        audit(session, staff, "broadcast.cancelled", "broadcast", broadcast.id, now, rows=rows)
    return see_other(f"/pengumuman/{wanted}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/pengumuman", compose, name="broadcasts")
    app.router.add_post("/pengumuman/pratinjau", preview)
    app.router.add_post("/pengumuman/ubah", edit)
    app.router.add_post("/pengumuman/kirim", send)
    app.router.add_get("/pengumuman/foto/{id}", photo)
    app.router.add_get("/pengumuman/{id}", show)
    app.router.add_post("/pengumuman/{id}/batal", cancel)

