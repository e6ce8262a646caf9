"""``/rujukan`` on the puskesmas web: the referrals of the puskesmas still followed (open, and those the
puskesmas did not find, which the kader follows at home), with their outcome recorded here or by chat.

* ``GET /rujukan``: the followed referrals of the staff member's puskesmas, oldest first
  (``db.referrals.followed``, the chat's own query), each with a form for its outcome.
* ``POST /rujukan/<id>``: records an outcome (``outcome``: one of ``db.referrals.OUTCOMES``, as the chat's
  buttons) with an optional ``note``, through ``db.referrals.record_outcome`` (the chat's own function),
  audited as ``referral.outcome``; another puskesmas's referral is not found (404); a referral whose
  outcome was recorded meanwhile (by chat or another tab) is not changed.

A referral closed by chat is no longer followed, so it leaves this page too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aiohttp import web

from content.i18n import _
from db.models import Family, Person, Posyandu, Referral
from db.referrals import (
    FOLLOW_UP_DAYS, FOLLOWED, MAX_NOTE, NOT_FOUND, OUTCOME_LABELS, OUTCOMES, URGENT, NoteTooLong, clean_note, days_open,
    followed, of_puskesmas, one_in, reason_label, record_outcome,
)
from handlers.referrals import detail_text
from web.auth import audit, see_other, staff_page
from web.context import CLOCK, DB, SETTINGS, staff_of
from web.render import message_page, render
from web.render import not_found as render_not_found
from web.targets import today_of


@dataclass(frozen=True)
class Line:
    """One followed referral on the page."""

    referral: Referral
    person: Person
    family: Family
    posyandu: Posyandu
    days: int

    @property
    def late(self) -> bool:
        """Whether it waits longer than it should (an urgent one a day, the others a week)."""
        return self.days > FOLLOW_UP_DAYS or (self.referral.reason in URGENT and self.days >= 1)

    @property
    def values(self) -> str:
        return detail_text(self.referral.detail)

    @property
    def reason(self) -> str:
        return reason_label(self.referral.reason)


async def followed_lines(session, puskesmas_id: int, today: date) -> tuple[list[Line], list[Line]]:
    """(open, not found) referrals of the puskesmas, oldest first."""
    rows = [Line(*row, days_open(row[0], today)) for row in await followed(session, of_puskesmas(puskesmas_id))]
    return [r for r in rows if r.referral.status != NOT_FOUND], [r for r in rows if r.referral.status == NOT_FOUND]


@staff_page
async def page(request: web.Request) -> web.Response:
    staff = staff_of(request)
    app = request.app
    async with app[DB].read() as session:
        today = await today_of(session, staff.puskesmas_id, app[SETTINGS], app[CLOCK]())
        waiting, not_found = await followed_lines(session, staff.puskesmas_id, today)
        saved = None
        wanted = request.query.get("tersimpan", "")
        if wanted.isdecimal() and len(wanted) < 12:
            saved = await one_in(session, of_puskesmas(staff.puskesmas_id), int(wanted))
    return render(request, "referrals.html", {
        "waiting": waiting, "not_found": not_found, "outcomes": [(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        "max_note": MAX_NOTE, "saved": saved, "outcome_labels": OUTCOME_LABELS, "reason_label": reason_label,
    })


@staff_page
async def record(request: web.Request) -> web.Response:
    staff = staff_of(request)
    wanted = request.match_info.get("id", "")
    if not (wanted.isdecimal() and len(wanted) < 12):
        return render_not_found(request)
    form = await request.post()
    outcome = form.get("outcome")
    if outcome not in OUTCOMES:
        return message_page(request, 400, _("Hasil belum dipilih"), _("Pilih Datang, Ditangani, Dirujuk lanjut atau Tidak ditemukan."))
    try:
        note = clean_note(form.get("note") if isinstance(form.get("note"), str) else None)
    except NoteTooLong as exc:
        return message_page(request, 400, _("Catatan terlalu panjang"),
                            _("Catatan terlalu panjang ({count} huruf, paling banyak {max}).", count=exc.count, max=MAX_NOTE))
    app = request.app
    now = app[CLOCK]()
    async with app[DB].write() as session:
        found = await one_in(session, of_puskesmas(staff.puskesmas_id), int(wanted), lock=True)
        if found is None:
            return render_not_found(request)
        referral, person = found[0], found[1]
        if referral.status not in FOLLOWED:
            return message_page(request, 409, _("Sudah dicatat"), _("Hasil rujukan {name} sudah dicatat: {outcome}.",
                                                                    name=person.name, outcome=_(OUTCOME_LABELS[referral.status])))
        today = await today_of(session, staff.puskesmas_id, app[SETTINGS], now)
        audit(session, staff, "referral.outcome", "referral", referral.id, now,
              **record_outcome(referral, outcome, note, staff.identity_id, now, today))
    return see_other(f"/rujukan?tersimpan={referral.id}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/rujukan", page, name="referrals")
    app.router.add_post("/rujukan/{id}", record)
