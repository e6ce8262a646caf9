"""The pages of the puskesmas web. A page is a handler wrapped in ``web.auth.staff_page`` that reads its
numbers from a module of its own (``web.pws`` for the overview) and answers with ``web.render.render``;
``add_routes`` lists them.

* ``GET /`` and ``/pws/<indicator>``: the PWS (``web.pws_page``).
* ``GET /posyandu/<id>``: one posyandu of the puskesmas (another puskesmas's is not found: 404).
"""
from __future__ import annotations

from aiohttp import web

from web import broadcasts, imports, kaders, pws, pws_page, referrals, satusehat, schedule, targets
from web.auth import staff_page
from web.context import DB, staff_of
from web.render import not_found, record_id, render  # noqa: F401 (not_found and record_id: the pages' helpers, here as before)


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
    pws_page.add_routes(app)  # GET / (the PWS overview) and /pws/<indicator>
    app.router.add_get("/posyandu/{id}", posyandu, name="posyandu")
    for page in (targets, referrals, broadcasts, schedule, kaders, imports, satusehat):  # the work pages, each with its own routes
        page.add_routes(app)
