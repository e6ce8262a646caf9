"""``/satusehat`` on the puskesmas web: what of the staff member's own puskesmas went to SATUSEHAT, the same
view as ``/satusehat`` in chat (``satusehat.overview``): the items counted by state, the first refused, held and
waiting ones with the person's name, what and why (SATUSEHAT's own words for a refusal).

* ``GET /satusehat``: the page (``?dikirim=<n>`` after a retry says how many go again).
* ``POST /satusehat/kirim-ulang``: the puskesmas's refused items go again at the next pass (after their cause
  was fixed), audited as ``satusehat.retry`` like the chat's and ``bot.py satusehat retry``; CSRF as every form.

Another puskesmas's items are never read: every query takes the staff member's ``puskesmas_id``.
"""
from __future__ import annotations

from aiohttp import web

from satusehat.overview import LISTED, STATE_LABELS, overview, retry_refused
from satusehat.queue import REFUSED
from web.auth import audit, see_other, staff_page
from web.context import CLOCK, DB, SETTINGS, staff_of
from web.render import render

#: items listed of each state (the chat lists 5)
SHOWN = 20


@staff_page
async def page(request: web.Request) -> web.Response:
    staff = staff_of(request)
    async with request.app[DB].read() as session:
        view = await overview(session, staff.puskesmas_id, limit=SHOWN)
    retried = request.query.get("dikirim", "")
    return render(request, "satusehat.html", {
        "view": view, "labels": STATE_LABELS, "listed": LISTED, "refused": REFUSED,
        "enabled": request.app[SETTINGS].satusehat.enabled,
        "retried": int(retried) if retried.isdecimal() and len(retried) < 9 else None,
    })


@staff_page
async def retry(request: web.Request) -> web.Response:
    staff = staff_of(request)
    now = request.app[CLOCK]()
    async with request.app[DB].write() as session:
        count = await retry_refused(session, staff.puskesmas_id, now)
        audit(session, staff, "satusehat.retry", "puskesmas", staff.puskesmas_id, now, states=[REFUSED], items=count)
    return see_other(f"/satusehat?dikirim={count}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/satusehat", page, name="satusehat")
    app.router.add_post("/satusehat/kirim-ulang", retry)
