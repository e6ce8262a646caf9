"""The pages of the puskesmas web. A page is a handler wrapped in ``web.auth.staff_page`` that reads its
numbers from a module of its own (``web.pws`` for the overview) and answers with ``web.render.render``;
``add_routes`` lists them.

* ``GET /``: the puskesmas, its posyandu with their registered families and kaders.
* ``GET /posyandu/<id>``: one posyandu of the puskesmas (another puskesmas's is not found: 404).
"""
from __future__ import annotations

from aiohttp import web

from content.i18n import _
from web import pws
from web import referrals, targets  # the work pages Sasaran and Rujukan
from web.auth import staff_page
from web.context import DB, staff_of
from web.render import message_page, render


def not_found(request: web.Request) -> web.Response:
    """The 404 page (also for another puskesmas's records: they are not there for this reader)."""
    return message_page(request, 404, _("Tidak ditemukan"), _("Halaman atau data ini tidak ada di puskesmas Anda."))


def record_id(request: web.Request, name: str = "id") -> int | None:
    """A route's number (None when it is not one)."""
    value = request.match_info.get(name, "")
    return int(value) if value.isdecimal() and len(value) < 12 else None


@staff_page
async def overview(request: web.Request) -> web.Response:
    staff = staff_of(request)
    async with request.app[DB].read() as session:
        data = await pws.overview(session, staff.puskesmas_id)
    return render(request, "overview.html", {"overview": data})


@staff_page
async def posyandu(request: web.Request) -> web.Response:
    staff = staff_of(request)
    wanted = record_id(request)
    async with request.app[DB].read() as session:
        row = await pws.own_posyandu(session, staff.puskesmas_id, wanted) if wanted is not None else None
    if row is None:
        return not_found(request)
    return render(request, "posyandu.html", {"posyandu": row})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", overview, name="overview")
    app.router.add_get("/posyandu/{id}", posyandu, name="posyandu")
    targets.add_routes(app), referrals.add_routes(app)
