"""The PWS pages: the overview (``/``) and the people behind each of its numbers (``/pws/<indicator>``).

* ``GET /?bulan=2026-11``: the puskesmas's coverage against the district's targets for the month (default:
  this month in the puskesmas's time zone) and the year to date, per posyandu and village, with a trend
  chart per indicator (``web.pws`` computes, ``web.charts`` draws).
* ``GET /pws/<indicator>?posyandu=<id>&bulan=2026-11[&tahun=1]``: who is in the total of that number and
  who is counted (no ``posyandu``: the whole puskesmas; ``tahun``: the year to date). Another puskesmas's
  posyandu, or an indicator that is not one, is not found (404); a month that is not one gets 400.
"""
from __future__ import annotations

from datetime import date

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from care.coverage import month_bounds
from care.history import label
from care.rules_file import apply_overrides
from content.i18n import N_, _, format_date, format_number, use_locale
from db import coverage
from handlers.describe import age_text
from web import charts, pws
from web.auth import staff_page
from web.context import DB, SETTINGS, Staff, staff_of
from web.local_day import staff_today
from web.render import language_of, message_page, not_found, render, render_kept

#: the district's schedule (content/care with care.overrides), compiled once per app
SCHEDULE = web.AppKey("pws_schedule", object)
#: the PWS overviews computed and drawn, by puskesmas, month and language (``web.pws.Cache``), one per app
CACHE = web.AppKey("pws_cache", pws.Cache)

#: short names of the indicators (the chat's /laporan names them in full: handlers.report.LABELS)
NAMES = {
    "IDL": N_("IDL"), "D/S": N_("D/S"), "N/D": N_("N/D"), "K1": N_("K1"), "K4": N_("K4"), "K6": N_("K6"),
    "KN1": N_("KN1"), "KN_COMPLETE": N_("KN lengkap"), "VITA_BIRU": N_("Vit. A biru"), "VITA_MERAH": N_("Vit. A merah"),
    "STUNTED": N_("Stunting"), "WASTED": N_("Wasting"),
}
#: what a summary indicator counts, for the header's title and the list's heading
MEANINGS = {
    "IDL": N_("imunisasi dasar lengkap pada usia 1 tahun"), "D/S": N_("balita ditimbang, dari semua balita"),
    "N/D": N_("naik berat badan, dari yang ditimbang"), "K1": N_("ibu hamil periksa minimal 1 kali"),
    "K4": N_("ibu hamil periksa 4 kali (1-1-2)"), "K6": N_("ibu hamil periksa 6 kali (1-2-3)"),
    "KN1": N_("kunjungan neonatal pertama"), "KN_COMPLETE": N_("3 kunjungan neonatal"),
    "VITA_BIRU": N_("vitamin A biru (6-11 bulan)"), "VITA_MERAH": N_("vitamin A merah (12-59 bulan)"),
    "STUNTED": N_("balita pendek, dari yang diukur"), "WASTED": N_("gizi kurang/buruk, dari yang diukur"),
}
#: (counted, not counted) words in the lists
STATUS = {
    "D/S": (N_("ditimbang"), N_("belum ditimbang")), "N/D": (N_("naik"), N_("tidak naik")),
    "STUNTED": (N_("pendek"), N_("tidak pendek")), "WASTED": (N_("gizi kurang/buruk"), N_("tidak")),
}
DEFAULT_STATUS = (N_("sudah"), N_("belum"))
#: the light of a cell in words and a shape (colour is never the only sign)
LIGHTS = {pws.GOOD: ("\u25cf", N_("tercapai")), pws.NEAR: ("\u25b2", N_("hampir")), pws.BEHIND: ("\u25a0", N_("di bawah target"))}
CEILING_LIGHTS = {pws.GOOD: ("\u25cf", N_("di bawah batas")), pws.NEAR: ("\u25b2", N_("hampir batas")), pws.BEHIND: ("\u25a0", N_("melewati batas"))}


def slug(code: str) -> str:
    """An indicator's part of a path (``D/S`` -> ``d-s``)."""
    return code.lower().replace("/", "-")


def code_of(value: str, je: bool) -> str | None:
    return {slug(code): code for code in pws.indicator_codes(je)}.get(value)


def name_of(code: str) -> str:
    if code in NAMES:
        return _(NAMES[code])
    return _(label(code))


def light_of(code: str, light: str | None) -> tuple[str, str] | None:
    """(shape, words) of a light."""
    if light is None:
        return None
    shape, words = (CEILING_LIGHTS if code in pws.CEILINGS else LIGHTS)[light]
    return shape, _(words)


def _schedule(app: web.Application):
    return app[SCHEDULE]


async def _this_month(request: web.Request, session, staff: Staff) -> date:
    """The first day of this month in the puskesmas's time zone."""
    return (await staff_today(request, session, staff)).replace(day=1)


def _month(value: str | None, this: date) -> date | None:
    """The month asked for (``2026-11``), default this one; None when it is not a month up to this one."""
    if not value:
        return this
    parts = value.strip().split("-")
    if len(parts) != 2 or not all(p.isdecimal() for p in parts) or len(parts[0]) != 4:
        return None
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12 or year < 2000:
        return None
    first = date(year, month, 1)
    return first if first <= this else None


def _bad_month(request: web.Request) -> web.Response:
    return message_page(request, 400, _("Bulan tidak dikenali"),
                        _("Pilih bulan sampai bulan ini, ditulis seperti {example}.", example="2026-11"))


def _tables(request: web.Request, data: pws.Pws, first: date) -> Markup:
    """The tables and trend charts of the overview (``pws_tables.html``) in the reader's language: what
    the cache keeps besides the numbers, since drawing them costs as much as a reading from memory."""
    def percent_text(value):
        return "-" if value is None else format_number(value, 1, fixed=True) + "%"

    with use_locale(language_of(request)):
        chart_list = []
        for code in data.summary:
            target = data.targets[code]
            title = _("{indicator}: tren {year}", indicator=name_of(code), year=first.year)
            points = [(month, cell.percent) for month, cell in data.trend[code]]
            described = "; ".join(f"{format_date(m, 'MMM')}: {percent_text(v)}" for m, v in points)
            target_text = "" if target is None else _("target {percent}", percent=percent_text(target))
            chart_list.append((code, charts.trend(
                f"tren-{slug(code)}", title, points, month_label=lambda m: format_date(m, "MMM"),
                value_label=lambda v: format_number(v, 0), target=target, target_label=target_text,
                axis_label=_("% per bulan"), description=f"{described}. {target_text}")))
        return Markup(aiohttp_jinja2.get_env(request.app).get_template("pws_tables.html").render({
            "pws": data, "month_value": f"{first:%Y-%m}", "charts": chart_list, "name_of": name_of,
            "meaning_of": lambda code: _(MEANINGS[code]) if code in MEANINGS else "", "light_of": light_of, "slug": slug,
            "percent_text": percent_text}))


@staff_page
async def overview(request: web.Request) -> web.Response:
    staff = staff_of(request)
    settings = request.app[SETTINGS]
    async with request.app[DB].read() as session:
        this = await _this_month(request, session, staff)
        first = _month(request.query.get("bulan"), this)
        if first is None:
            return _bad_month(request)

        async def compute() -> tuple[pws.Pws, Markup]:
            data = await pws.pws(session, staff.puskesmas_id, first, je=settings.care.je, schedule=_schedule(request.app),
                                 targets=settings.pws.targets)
            return data, _tables(request, data, first)
        data, tables = await request.app[CACHE].get((staff.puskesmas_id, first, language_of(request)),
                                                    lambda: coverage.data_version(session), compute)
    # the same for every reader of the puskesmas but for the CSRF token: drawn once per kept tables and month
    return render_kept(request, "overview.html", {
        "pws": data, "tables": tables, "month_value": f"{first:%Y-%m}", "max_month": f"{this:%Y-%m}",
        "lights": LIGHTS, "near_points": format_number(pws.NEAR_POINTS, 0)}, key=(staff.puskesmas_id, tables, first, this))


@staff_page
async def people(request: web.Request) -> web.Response:
    staff = staff_of(request)
    settings = request.app[SETTINGS]
    code = code_of(request.match_info.get("indicator", ""), settings.care.je)
    wanted = request.query.get("posyandu")
    if code is None or (wanted and not (wanted.isdecimal() and len(wanted) < 12)):
        return not_found(request)
    year = request.query.get("tahun") == "1"
    async with request.app[DB].read() as session:
        this = await _this_month(request, session, staff)
        first = _month(request.query.get("bulan"), this)
        if first is None:
            return _bad_month(request)
        found = await pws.people_behind(session, staff.puskesmas_id, code, int(wanted) if wanted else None, first,
                                        year=year, je=settings.care.je, schedule=_schedule(request.app))
    if found is None:
        return not_found(request)
    yes, no = STATUS.get(code, DEFAULT_STATUS)
    counted = sum(b.counted for b in found)
    place = found[0].posyandu_name if wanted and found else None
    return render(request, "pws_people.html", {
        "code": code, "name": name_of(code), "meaning": _(MEANINGS[code]) if code in MEANINGS else "",
        "found": found, "counted": counted, "first": first, "year": year, "place": place,
        "yes": _(yes), "no": _(no), "month_value": f"{first:%Y-%m}",
        "age": lambda b: age_text(b.person.birth_date, month_bounds(b.month.year, b.month.month)[1], b.person.birth_precision)
        if b.person.birth_date else "-"})


def add_routes(app: web.Application) -> None:
    """The routes, and the district's schedule compiled once (``app[SETTINGS]`` is set before)."""
    settings = app[SETTINGS]
    app[SCHEDULE] = apply_overrides({"je": settings.care.je, **settings.care.overrides})
    app[CACHE] = pws.Cache()
    app.router.add_get("/", overview, name="overview")
    app.router.add_get("/pws/{indicator}", people, name="pws_people")
