"""Kader: each kader of the puskesmas with their posyandu, last activity (their last message to the bot or
the last visit they recorded, whichever is later) and the visits they recorded this month; a kader invited
with a one-time code to hand over (the chat's ``/undang``: ``handlers.kader.create_invite``).

* ``GET /kader``: the kaders, the invite form, the codes not used yet.
* ``POST /kader/undang``: a new code for a posyandu of the puskesmas, audited ``invite.created`` as in the
  chat; to its page.
* ``GET /kader/undangan/<id>``: the code to hand over (another puskesmas's: 404).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.dates import add_months
from db.models import Family, Identity, Invite, Posyandu, Visit
from db.queries import posyandu_of
from handlers.kader import create_invite
from web.auth import audit, see_other, staff_page
from web.context import CLOCK, DB, staff_of
from web.local_day import local_today, puskesmas_zone
from web.render import not_found, record_id, render


@dataclass(frozen=True)
class KaderRow:
    identity_id: int
    posyandu_name: str
    village_name: str
    channel: str
    phone_end: str | None  # the last 4 digits of the number, to tell kaders apart (never the whole number)
    family_name: str | None
    last_message: datetime | None
    last_visit: date | None
    visits_this_month: int
    reachable: bool

    @property
    def last_active(self) -> date | None:
        """The later of the last message (as a day) and the last visit recorded."""
        days = [d for d in (self.last_message.date() if self.last_message else None, self.last_visit) if d is not None]
        return max(days) if days else None


async def kaders(session: AsyncSession, puskesmas_id: int, today: date, zone=None) -> list[KaderRow]:
    """The kaders of the puskesmas's posyandu, by posyandu; visits counted in ``today``'s month."""
    places = {p.id: p for p in await posyandu_of(session, puskesmas_id)}
    first = today.replace(day=1)
    month_visits = (select(Visit.kader_id, func.count().label("n")).where(
        Visit.visited_on >= first, Visit.visited_on < add_months(first, 1)).group_by(Visit.kader_id).subquery())
    last_visits = select(Visit.kader_id, func.max(Visit.visited_on).label("day")).group_by(Visit.kader_id).subquery()
    rows = await session.execute(
        select(Identity, Family.name, month_visits.c.n, last_visits.c.day)
        .outerjoin(Family, Family.id == Identity.family_id)
        .outerjoin(month_visits, month_visits.c.kader_id == Identity.id)
        .outerjoin(last_visits, last_visits.c.kader_id == Identity.id)
        .where(Identity.role == "kader", Identity.posyandu_id.in_(list(places)))
        .order_by(Identity.posyandu_id, Identity.id))
    result = []
    for identity, family_name, visits, last_visit in rows.all():
        place = places[identity.posyandu_id]
        result.append(KaderRow(
            identity.id, place.name, place.village_name, identity.channel,
            identity.phone[-4:] if identity.phone and len(identity.phone) >= 4 else None, family_name,
            _local(identity.last_inbound_at, zone), last_visit, visits or 0,
            identity.consent == "given" and identity.opted_out_at is None and identity.unreachable_at is None))
    return sorted(result, key=lambda r: (r.posyandu_name, r.identity_id))


def _local(moment: datetime | None, zone) -> datetime | None:
    """A stored UTC time at the puskesmas (stored times may come back without their zone on SQLite)."""
    if moment is None or zone is None:
        return moment
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)


async def open_invites(session: AsyncSession, puskesmas_id: int, now: datetime) -> list[tuple[Invite, Posyandu]]:
    """The kader codes of the puskesmas's posyandu not used and not expired, newest first."""
    rows = await session.execute(
        select(Invite, Posyandu).join(Posyandu, Posyandu.id == Invite.posyandu_id)
        .where(Posyandu.puskesmas_id == puskesmas_id, Invite.role == "kader", Invite.used_by.is_(None), Invite.expires_at > now)
        .order_by(Invite.id.desc()))
    return [tuple(r) for r in rows.all()]


async def own_invite(session: AsyncSession, puskesmas_id: int, invite_id: int) -> tuple[Invite, Posyandu] | None:
    """A kader invite of a posyandu of the puskesmas (None: not one of its own)."""
    row = (await session.execute(select(Invite, Posyandu).join(Posyandu, Posyandu.id == Invite.posyandu_id)
                                 .where(Invite.id == invite_id, Posyandu.puskesmas_id == puskesmas_id))).first()
    return tuple(row) if row else None


# -- the routes -----------------------------------------------------------------------------------------

@staff_page
async def listing(request: web.Request) -> web.Response:
    staff = staff_of(request)
    now = request.app[CLOCK]()
    async with request.app[DB].read() as session:
        zone = await puskesmas_zone(request, session, staff.puskesmas_id)
        today = await local_today(request, session, staff.puskesmas_id)
        rows = await kaders(session, staff.puskesmas_id, today, zone)
        places = await posyandu_of(session, staff.puskesmas_id)
        invites = await open_invites(session, staff.puskesmas_id, now)
    return render(request, "kaders.html", {"kaders": rows, "places": places, "invites": invites, "month": today})


@staff_page
async def invite(request: web.Request) -> web.Response:
    staff = staff_of(request)
    form = await request.post()
    now = request.app[CLOCK]()
    async with request.app[DB].write() as session:
        own = {str(p.id): p for p in await posyandu_of(session, staff.puskesmas_id)}
        place = own.get(str(form.get("posyandu", "")))
        if place is None:
            return not_found(request)
        created = await create_invite(session, role="kader", posyandu_id=place.id, created_by=staff.identity_id, now=now)
        audit(session, staff, "invite.created", "posyandu", place.id, now, role="kader", invite=created.id)
    return see_other(f"/kader/undangan/{created.id}")


@staff_page
async def show_invite(request: web.Request) -> web.Response:
    staff = staff_of(request)
    wanted = record_id(request)
    async with request.app[DB].read() as session:
        found = await own_invite(session, staff.puskesmas_id, wanted) if wanted is not None else None
    if found is None:
        return not_found(request)
    code, place = found
    now = request.app[CLOCK]()
    expires = code.expires_at if code.expires_at.tzinfo else code.expires_at.replace(tzinfo=now.tzinfo)
    state = "used" if code.used_by is not None else "expired" if expires <= now else "open"
    return render(request, "kader_invite.html", {"invite": code, "posyandu": place, "state": state,
                                                 "command": f"/kader {code.code}"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/kader", listing, name="kaders")
    app.router.add_post("/kader/undang", invite)
    app.router.add_get("/kader/undangan/{id}", show_invite)
