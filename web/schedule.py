"""Jadwal posyandu: the month's posyandu days of the puskesmas with the holidays of
``content/holidays.yaml``; a session moved or cancelled, or an extra one added, with a reason, the message
the families and kaders get previewed with their count before anything is saved (as ``/jadwalposyandu``
does in the chat, with its checks, its words and its queuing).

* ``GET /jadwal?bulan=2026-12``: the month (default: this month at the puskesmas).
* ``GET /jadwal/ubah?posyandu=<id>&jenis=moved|cancelled|extra&sesi=<day>``: the form of one change
  (``baru`` and ``alasan`` fill it again after *Ubah*).
* ``POST /jadwal/pratinjau``: the preview: the count, the message, a warning for a Sunday or a holiday.
* ``POST /jadwal/simpan``: saves the change (a ``posyandu_exception`` row), queues the notices
  (``reminders.announcements.queue_change_notice``), audited ``posyandu.<kind>`` as in the chat; back to
  the month.

A posyandu of another puskesmas is not found (404).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from care.calendar import Holiday, Session, holiday_list
from care.dates import add_months
from content.i18n import _, format_date
from db.models import Posyandu, PosyanduException
from db.queries import posyandu_changes, posyandu_of, posyandu_sessions
from handlers.parsing import ParseError
from handlers.posyandu_days import WINDOW_DAYS, day_off, new_day_problem, read_day, read_reason
from reminders.announcements import change_text, posyandu_recipients, queue_change_notice
from web.auth import audit, see_other, staff_page
from web.context import CLOCK, DB, SETTINGS, staff_of
from web.local_day import local_today
from web.render import not_found, render

KINDS = ("moved", "cancelled", "extra")


# -- the numbers ----------------------------------------------------------------------------------------

@dataclass
class Row:
    """A posyandu's sessions in the month, and the upcoming ones that may be changed."""

    posyandu: Posyandu
    sessions: list[Session]
    changeable: set[date]


@dataclass
class Month:
    first: date
    rows: list[Row]
    holidays: list[Holiday]
    today: date

    @property
    def previous(self) -> date:
        return add_months(self.first, -1)

    @property
    def next(self) -> date:
        return add_months(self.first, 1)


def month_of(value: str | None, today: date) -> date:
    """The first day of the month ``2026-12`` (this month for anything else)."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1) if 1900 < year < 2200 else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


def holidays_in(first: date, last: date) -> list[Holiday]:
    """The national holidays and cuti bersama from ``first`` to ``last``."""
    return [h for h in holiday_list() if first <= h.day <= last]


async def month(session: AsyncSession, puskesmas_id: int, first: date, today: date) -> Month:
    """The month's sessions of every posyandu of the puskesmas, the holidays, and which sessions may change."""
    last = add_months(first, 1) - timedelta(days=1)
    places = await posyandu_of(session, puskesmas_id)
    changes = await posyandu_changes(session, [p.id for p in places])
    rows = []
    for place in places:
        days = await posyandu_sessions(session, place, first, last, changes[place.id])
        upcoming = await upcoming_sessions(session, place, today, changes[place.id])
        rows.append(Row(place, days, {s.day for s in upcoming}))
    return Month(first, rows, holidays_in(first, last), today)


async def upcoming_sessions(session: AsyncSession, place: Posyandu, today: date, changes=None) -> list[Session]:
    """The sessions a change may touch: from today for the chat's window (``WINDOW_DAYS``)."""
    return await posyandu_sessions(session, place, today, today + timedelta(days=WINDOW_DAYS), changes)


# -- one change -----------------------------------------------------------------------------------------

@dataclass
class Draft:
    """A change as the form says it (``problems`` empty: it may be previewed and saved)."""

    posyandu: Posyandu | None = None
    kind: str = ""
    original: date | None = None
    new: date | None = None
    reason: str = ""
    new_text: str = ""
    problems: list[str] = field(default_factory=list)

    def change(self, created_by: int | None, now) -> PosyanduException:
        return PosyanduException(posyandu_id=self.posyandu.id, kind=self.kind, original_date=self.original,
                                 new_date=self.new, reason=self.reason, created_by=created_by, created_at=now)

    def query(self) -> str:
        """The form's address with this draft filled in (the preview's *Ubah*)."""
        values = {"posyandu": self.posyandu.id, "jenis": self.kind}
        if self.original:
            values["sesi"] = self.original.isoformat()
        if self.new_text:
            values["baru"] = self.new_text
        if self.reason:
            values["alasan"] = self.reason
        return "/jadwal/ubah?" + urlencode(values)


def _day(value: str, today: date) -> date | None:
    """A day from the form: ``2026-12-07`` (a date field), or typed as in the chat (``7-12``, ``7 Des``)."""
    value = value.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return read_day(value, today)
    except ParseError:
        return None


async def read_draft(session: AsyncSession, puskesmas_id: int, values, today: date, *, complete: bool) -> Draft | None:
    """The change a form (or the form's address) describes, checked as the chat checks it; None when its
    posyandu is not one of the puskesmas's. ``complete``: the new day and the reason are required."""
    own = {str(p.id): p for p in await posyandu_of(session, puskesmas_id)}
    place = own.get(str(values.get("posyandu", "")))
    if place is None:
        return None
    draft = Draft(posyandu=place, kind=str(values.get("jenis", "")), reason=" ".join(str(values.get("alasan", "")).split()),
                  new_text=str(values.get("baru", "")).strip())
    if draft.kind not in KINDS:
        draft.problems.append(_("Pilih dari daftar."))
        return draft
    if draft.kind != "extra":
        sessions = {s.day for s in await upcoming_sessions(session, place, today)}
        original = _day(str(values.get("sesi", "")), today)
        if original not in sessions:
            draft.problems.append(_("Pilih tanggal dari daftar."))
        draft.original = original
    if draft.kind != "cancelled" and (complete or draft.new_text):
        draft.new = _day(draft.new_text, today) if draft.new_text else None
        problem = (_("Tulis tanggal barunya.") if draft.new is None else
                   new_day_problem(draft.new, today, draft.original.isoformat() if draft.original else None,
                                   format_date(today + timedelta(days=7), "d-MM-y")))
        if problem:
            draft.problems.append(problem)
    if complete or draft.reason:
        draft.reason, problem = read_reason(draft.reason, today)
        if problem:
            draft.problems.append(problem)
    return draft


# -- the routes -----------------------------------------------------------------------------------------

@staff_page
async def calendar(request: web.Request) -> web.Response:
    staff = staff_of(request)
    async with request.app[DB].read() as session:
        today = await local_today(request, session, staff.puskesmas_id)
        data = await month(session, staff.puskesmas_id, month_of(request.query.get("bulan"), today), today)
    saved = request.query.get("tersimpan", "")
    return render(request, "schedule.html", {"month": data, "window": WINDOW_DAYS,
                                             "saved": int(saved) if saved.isdecimal() and len(saved) < 7 else None})


def _form(request: web.Request, draft: Draft, status: int = 200) -> web.Response:
    return render(request, "schedule_change.html", {"draft": draft}, status=status)


@staff_page
async def change_form(request: web.Request) -> web.Response:
    staff = staff_of(request)
    async with request.app[DB].read() as session:
        today = await local_today(request, session, staff.puskesmas_id)
        draft = await read_draft(session, staff.puskesmas_id, request.query, today, complete=False)
    if draft is None:
        return not_found(request)
    return _form(request, draft, 400 if draft.problems else 200)


async def _posted(request: web.Request, session: AsyncSession) -> tuple[Draft | None, date]:
    staff = staff_of(request)
    today = await local_today(request, session, staff.puskesmas_id)
    return await read_draft(session, staff.puskesmas_id, await request.post(), today, complete=True), today


@staff_page
async def preview(request: web.Request) -> web.Response:
    staff = staff_of(request)
    async with request.app[DB].read() as session:
        draft, _today = await _posted(request, session)
        if draft is None:
            return not_found(request)
        if draft.problems:
            return _form(request, draft, 400)
        count = len(await posyandu_recipients(session, draft.posyandu))
    return render(request, "schedule_preview.html", {
        "draft": draft, "count": count, "message": change_text(draft.posyandu, draft.change(staff.identity_id, None)),
        "day_off": day_off(draft.new) if draft.new else None})


@staff_page
async def save(request: web.Request) -> web.Response:
    staff = staff_of(request)
    now = request.app[CLOCK]()
    async with request.app[DB].write() as session:
        draft, _today = await _posted(request, session)
        if draft is None:
            return not_found(request)
        if draft.problems:
            return _form(request, draft, 400)
        change = draft.change(staff.identity_id, now)
        session.add(change)
        await session.flush()
        count = await queue_change_notice(session, request.app[SETTINGS], draft.posyandu, change, now)
        audit(session, staff, f"posyandu.{change.kind}", "posyandu", draft.posyandu.id, now, change=change.id, recipients=count)
    shown = draft.new or draft.original
    return see_other(f"/jadwal?bulan={shown:%Y-%m}&tersimpan={count}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/jadwal", calendar, name="schedule")
    app.router.add_get("/jadwal/ubah", change_form)
    app.router.add_post("/jadwal/pratinjau", preview)
    app.router.add_post("/jadwal/simpan", save)
