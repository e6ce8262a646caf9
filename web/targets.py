"""``/sasaran`` on the puskesmas web: who is due, overdue or missed the posyandu day this month, by
posyandu (with its kaders), dusun and RT, with filters and a CSV or XLSX download of the filtered list.

The list is the chat's ``/sasaran`` (``reminders.targets.targets_of``, worded by ``handlers.targets``),
for every posyandu of the staff member's puskesmas. The filters are a plain GET form: ``posyandu`` (an
id of the puskesmas's: another one is not found), ``status`` (due, overdue, missed), ``kind``
(``reminders.targets.KINDS``), ``dusun`` and ``rt``; ``format=csv`` or ``format=xlsx`` downloads exactly
the rows shown. A person stays on the filtered list with the reasons that match.

:func:`target_list` computes the page's rows (no handler SQL); :func:`page` draws them; each download is
audited (``targets.downloaded``), and a view once per session and filters in ``web.auth.VIEW_AUDIT_EVERY``
(``targets.viewed`` with ``via: web``, as the chat audits its view; a reload within that time writes nothing).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup
from sqlalchemy import select

from care.rules_file import apply_overrides
from config import zone_of
from content.i18n import N_, _, format_date, use_locale
from db.coverage import targets_version
from db.models import Family, Identity, Posyandu, Puskesmas
from db.queries import posyandu_of
from handlers.targets import place_of, reason_text
from registers.sheets import csv_bytes, xlsx_bytes
from reminders.rules import policy_from
from reminders.targets import KINDS, STATUSES, Target, kind_of, status_of, targets_of
from web.auth import audit, audit_view, staff_page
from web.context import CLOCK, DB, SETTINGS, staff_of
from web.local_day import staff_today
from web.pws import Cache
from web.render import language_of, message_page, not_found, render

#: the care schedule with the district's overrides, built once per app (as the chat's engine builds it)
SCHEDULE = web.AppKey("targets_schedule", Any)
#: the puskesmas's whole list per day, by the version of the data it was computed on
CACHE = web.AppKey("targets_cache", Cache)
#: the drawn list of a page (per filters, page, language and kaders), kept with the list it was drawn from
LISTINGS = web.AppKey("targets_listings", Cache)
#: the people that match a reader's filters, kept with the list they were filtered from
MATCHES = web.AppKey("targets_matches", Cache)
#: the puskesmas's posyandu and their kaders (:class:`Directory`), read again at most every 2 s
DIRECTORIES = web.AppKey("targets_directories", Cache)

STATUS_LABELS = {"due": N_("Jatuh tempo bulan ini"), "overdue": N_("Terlambat"), "missed": N_("Tidak datang ke posyandu")}
KIND_LABELS = {"imunisasi": N_("Imunisasi anak"), "kehamilan": N_("Kehamilan dan nifas"), "layanan": N_("Layanan lain"),
               "rujukan": N_("Rujukan"), "posyandu": N_("Hari posyandu")}
FORMATS = ("csv", "xlsx")
#: people on one page (a puskesmas of 8,000 families has some 19,000 on its list; the download holds them all)
PAGE_ROWS = 200


@dataclass(frozen=True)
class Filters:
    """What the reader asked to see (None: everything)."""

    posyandu_id: int | None = None
    status: str | None = None
    kind: str | None = None
    dusun: str | None = None
    rt: str | None = None

    def query(self) -> dict[str, str]:
        """The filters as the form's query (empty ones left out)."""
        pairs = {"posyandu": self.posyandu_id, "status": self.status, "kind": self.kind, "dusun": self.dusun, "rt": self.rt}
        return {k: str(v) for k, v in pairs.items() if v not in (None, "")}


class BadFilter(ValueError):
    """A filter value that is not one of the form's."""


def _text(query, name: str) -> str | None:
    value = " ".join(str(query.get(name, "")).split())[:60]
    return value or None


def filters_of(query) -> Filters:
    """The filters of a request's query; raises :class:`BadFilter` for a value no form gives."""
    posyandu = _text(query, "posyandu")
    if posyandu is not None and not (posyandu.isdecimal() and len(posyandu) < 12):
        raise BadFilter("posyandu")
    status, kind = _text(query, "status"), _text(query, "kind")
    if status is not None and status not in STATUSES:
        raise BadFilter("status")
    if kind is not None and kind not in KINDS:
        raise BadFilter("kind")
    return Filters(int(posyandu) if posyandu else None, status, kind, _text(query, "dusun"), _text(query, "rt"))


def _same_rt(a: str | None, b: str) -> bool:
    return a is not None and (a.strip().lstrip("0") or "0") == (b.strip().lstrip("0") or "0")


class Row(NamedTuple):
    """One person on the page: their posyandu, place and the reasons that match the filters."""

    posyandu: str
    kaders: str
    target: Target
    reasons: tuple


class Rows(Sequence):
    """The people that match, each made a :class:`Row` only when read (a page shows 200 of a list that
    may hold 19,000)."""

    def __init__(self, matched: list[tuple[Target, tuple]], names: dict[int, str], kaders: dict[int, str],
                 homes: int | None = None) -> None:
        self._matched, self._names, self._kaders, self._homes = matched, names, kaders, homes
        self.kaders = kaders

    def _row(self, target: Target, reasons: tuple) -> Row:
        return Row(self._names[target.posyandu_id], self._kaders[target.posyandu_id], target, reasons)

    def __len__(self) -> int:
        return len(self._matched)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._row(*pair) for pair in self._matched[index]]
        return self._row(*self._matched[index])

    def __iter__(self) -> Iterator[Row]:
        return (self._row(*pair) for pair in self._matched)

    @property
    def home_visits(self) -> int:
        if self._homes is None:
            self._homes = sum(1 for target, _reasons in self._matched if target.home)
        return self._homes


_stamps = itertools.count(1)


@dataclass(frozen=True)
class Everyone:
    """The puskesmas's whole list of a day (what the cache keeps): the targets with all their reasons, in
    all and per posyandu, how many need a home visit, and the dusun and RT on it. ``stamp`` tells one
    computation from another: what is kept derived from it (filtered, drawn) is kept by its stamp."""

    targets: list[Target]
    pairs: dict[int | None, list[tuple[Target, tuple]]]  # None: every posyandu
    homes: dict[int | None, int]
    dusun: tuple[str, ...]
    rts: tuple[str, ...]
    stamp: int = field(default_factory=lambda: next(_stamps), compare=False)

    async def version(self) -> tuple:
        """The version of what is derived from this list (for :class:`web.pws.Cache`): its stamp."""
        return (self.stamp,)


@dataclass(frozen=True)
class Directory:
    """A puskesmas's posyandu (by name) and the kaders of each (identity id, family name)."""

    places: tuple[Posyandu, ...]
    kaders: dict[int, tuple[tuple[int, str | None], ...]]

    def key(self) -> tuple:
        """What the page shows or computes from: a changed posyandu or kader gives another key."""
        columns = [c.key for c in Posyandu.__table__.columns]
        return (tuple(tuple(getattr(p, c) for c in columns) for p in self.places), tuple(sorted(self.kaders.items())))


async def directory_of(session, puskesmas_id: int) -> Directory:
    """The puskesmas's posyandu and their kaders, read (two queries)."""
    places = await posyandu_of(session, puskesmas_id)
    kaders: dict[int, list] = {p.id: [] for p in places}
    for identity_id, posyandu_id, name in (await session.execute(
            select(Identity.id, Identity.posyandu_id, Family.name).outerjoin(Family, Family.id == Identity.family_id)
            .where(Identity.role == "kader", Identity.posyandu_id.in_([p.id for p in places] or [0]))
            .order_by(Identity.id))).all():
        kaders[posyandu_id].append((identity_id, name))
    return Directory(tuple(places), {pid: tuple(found) for pid, found in kaders.items()})


async def kept_directory(session, puskesmas_id: int, cache: Cache | None) -> Directory:
    """:func:`directory_of`, through ``cache`` when given: read at most every ``cache.fresh`` seconds (2 s),
    the kept one served while it reads the same (so that what is drawn from it stays kept)."""
    if cache is None:
        return await directory_of(session, puskesmas_id)
    read: list[Directory] = []

    async def version() -> tuple:
        read.append(await directory_of(session, puskesmas_id))
        return read[-1].key()

    async def compute() -> Directory:
        return read[-1]
    return await cache.get(puskesmas_id, version, compute)


async def everyone_of(session, places: list[Posyandu], today: date, settings, schedule) -> Everyone:
    found = await targets_of(session, places, today, policy_from(settings), schedule)
    pairs: dict[int | None, list] = {None: [(t, t.reasons) for t in found if t.reasons]}
    homes: dict[int | None, int] = {None: sum(1 for t, _r in pairs[None] if t.home)}
    for target, reasons in pairs[None]:
        pairs.setdefault(target.posyandu_id, []).append((target, reasons))
        homes[target.posyandu_id] = homes.get(target.posyandu_id, 0) + (1 if target.home else 0)
    return Everyone(found, pairs, homes, tuple(sorted({t.dusun for t in found if t.dusun}, key=str.casefold)),
                    tuple(sorted({t.rt for t in found if t.rt}, key=lambda rt: rt.zfill(4) if rt.isdecimal() else rt)))


@dataclass(frozen=True)
class TargetList:
    today: date
    rows: Rows
    places: tuple[Posyandu, ...]  # the puskesmas's posyandu, for the form
    dusun: tuple[str, ...] = field(default=())  # the dusun on the unfiltered list, for the form
    rts: tuple[str, ...] = field(default=())
    stamp: int = 0  # the stamp of the whole list it was filtered from (``Everyone.stamp``)

    async def version(self) -> tuple:
        """The version of what is drawn from it (for :class:`web.pws.Cache`): the whole list's stamp."""
        return (self.stamp,)

    @property
    def home_visits(self) -> int:
        return self.rows.home_visits


def kader_names(kaders: list[tuple[int, str | None]]) -> str:
    """The kaders of a posyandu in words: their family's name, else their number."""
    if not kaders:
        return _("belum ada kader")
    return ", ".join(name or _("kader #{id}", id=identity_id) for identity_id, name in kaders)


async def today_of(session, puskesmas_id: int, settings, now) -> date:
    """Today in the puskesmas's time zone."""
    puskesmas = await session.get(Puskesmas, puskesmas_id)
    return now.astimezone(ZoneInfo(zone_of(settings, puskesmas.code, puskesmas.timezone))).date()



async def target_list(session, puskesmas_id: int, today: date, settings, schedule, filters: Filters,
                      cache: Cache | None = None, *, directories: Cache | None = None,
                      matches: Cache | None = None) -> TargetList | None:
    """This month's list of the puskesmas's posyandu, filtered; None when the filter names a posyandu
    that is not the puskesmas's. With ``cache``, the whole list of the puskesmas on ``today`` is computed
    once per version of the data it reads (``db.coverage.targets_version``; computing it for 8,000 families
    takes seconds) and each reading filters it; with ``matches`` too, a filtering is kept with the list it
    filtered; with ``directories``, the posyandu and kaders are read at most every 2 s
    (:func:`kept_directory`)."""
    directory = await kept_directory(session, puskesmas_id, directories)
    places = list(directory.places)
    if filters.posyandu_id is not None and not any(p.id == filters.posyandu_id for p in places):
        return None
    if cache is None:
        whole = await everyone_of(session, [p for p in places if filters.posyandu_id in (None, p.id)], today, settings, schedule)
    else:
        whole = await cache.get((puskesmas_id, today), lambda: targets_version(session),
                                lambda: everyone_of(session, places, today, settings, schedule))
    place = filters.posyandu_id
    names = {p.id: p.name for p in places}
    kader_text = {pid: kader_names(k) for pid, k in directory.kaders.items()}
    if filters.status is None and filters.kind is None and filters.dusun is None and filters.rt is None:  # the page as it opens
        return TargetList(today, Rows(whole.pairs.get(place, []), names, kader_text, whole.homes.get(place, 0)), tuple(places),
                          whole.dusun, whole.rts, whole.stamp)
    if matches is None:
        matched, homes = _matching(whole, filters, schedule)
    else:
        matched, homes = await matches.get((puskesmas_id, today, filters), whole.version,
                                           lambda: _async(_matching, whole, filters, schedule))
    return TargetList(today, Rows(matched, names, kader_text, homes), tuple(places), whole.dusun, whole.rts, whole.stamp)


def _matching(whole: Everyone, filters: Filters, schedule) -> tuple[list[tuple[Target, tuple]], int]:
    """The people of the whole list that match the filters, each with the reasons that match, and how many
    of them need a home visit."""
    status, kind, dusun, rt, place = filters.status, filters.kind, filters.dusun, filters.rt, filters.posyandu_id
    dusun = dusun.casefold() if dusun is not None else None
    matched: list[tuple[Target, tuple]] = []
    for target, _reasons in whole.pairs.get(place, []):
        if dusun is not None and (target.dusun or "").casefold() != dusun:
            continue
        if rt is not None and not _same_rt(target.rt, rt):
            continue
        if status is None and kind is None:
            reasons = target.reasons
        else:
            reasons = tuple(r for r in target.reasons
                            if (status is None or status_of(r) == status) and (kind is None or kind_of(r, schedule) == kind))
        if reasons:
            matched.append((target, reasons))
    return matched, sum(1 for target, _reasons in matched if target.home)


def sheet(data: TargetList) -> list[list]:
    """The filtered list as a sheet: a header row, then one row per person."""
    header = [_("Posyandu"), _("Kader"), _("Dusun"), _("RT"), _("Nama"), _("Kode keluarga"), _("Kunjungan rumah"), _("Alasan")]
    return [header] + [[row.posyandu, row.kaders, row.target.dusun or "", row.target.rt or "", row.target.name,
                        row.target.family_code, _("ya") if row.target.home else _("tidak"),
                        "; ".join(reason_text(r, data.today) for r in row.reasons)] for row in data.rows]


@staff_page
async def page(request: web.Request) -> web.StreamResponse:
    staff = staff_of(request)
    try:
        filters = filters_of(request.query)
    except BadFilter:
        return message_page(request, 400, _("Saringan tidak dikenal"), _("Pilih saringan dari formulir di halaman Sasaran."))
    wanted = request.query.get("format")
    if wanted is not None and wanted not in FORMATS:
        return message_page(request, 400, _("Format tidak dikenal"), _("Unduhan tersedia sebagai CSV atau XLSX."))
    app = request.app
    now = app[CLOCK]()
    async with app[DB].read() as session:
        today = await staff_today(request, session, staff)
        data = await target_list(session, staff.puskesmas_id, today, app[SETTINGS], app[SCHEDULE], filters, app[CACHE],
                                 directories=app[DIRECTORIES], matches=app[MATCHES])
    if data is None:  # another puskesmas's posyandu: not there for this reader
        return not_found(request)
    if wanted is None:
        pages = max(1, -(-len(data.rows) // PAGE_ROWS))
        number = _page_number(request.query.get("halaman"), pages)
        # drawn once per list, page, language and kaders (their names are on it), while the list is the same
        key = (staff.puskesmas_id, today, language_of(request), tuple(sorted(filters.query().items())), number,
               tuple(sorted(data.rows.kaders.items())))
        listing = await app[LISTINGS].get(key, data.version, lambda: _async(_listing, request, data, filters, number, pages))
        # a view is audited once per session and filters in web.auth.VIEW_AUDIT_EVERY (a reload is not written again)
        await audit_view(request, staff, "targets.viewed", "puskesmas", staff.puskesmas_id, now, key=filters,
                         rows=len(data.rows), **filters.query())
    else:
        async with app[DB].write() as session:  # each download is audited
            audit(session, staff, "targets.downloaded", "puskesmas", staff.puskesmas_id, now,
                  rows=len(data.rows), **filters.query(), format=wanted)
    if wanted is not None:
        stem = f"sasaran-{today:%Y-%m}"
        if wanted == "csv":
            body, mime = csv_bytes(sheet(data)), "text/csv; charset=utf-8"
        else:
            body = xlsx_bytes({_("Sasaran"): sheet(data)})
            mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return web.Response(body=body, headers={"Content-Type": mime, "Cache-Control": "no-store",
                                                "Content-Disposition": f'attachment; filename="{stem}.{wanted}"'})
    return render(request, "targets.html", {
        "data": data, "filters": filters, "listing": listing, "month": format_date(today, "MMMM y"),
        "statuses": STATUS_LABELS, "kinds": KIND_LABELS, "query": filters.query(),
    })


def _listing(request: web.Request, data: TargetList, filters: Filters, number: int, pages: int) -> Markup:
    """The people of one page grouped by posyandu and place (``targets_list.html``) in the reader's language."""
    groups: list[tuple[str, str, str, list[Row]]] = []
    for row in data.rows[(number - 1) * PAGE_ROWS:number * PAGE_ROWS]:
        place = place_of(row.target.dusun, row.target.rt)
        if not groups or groups[-1][0] != row.posyandu or groups[-1][2] != place:
            groups.append((row.posyandu, row.kaders, place, []))
        groups[-1][3].append(row)
    with use_locale(language_of(request)):
        return Markup(aiohttp_jinja2.render_string("targets_list.html", request, {
            "data": data, "groups": groups, "query": filters.query(), "reason_text": reason_text, "page": number,
            "pages": pages}))


async def _async(function, *args):
    return function(*args)


def _page_number(text: str | None, pages: int) -> int:
    """The page asked for (``halaman``), within 1..pages; anything else is the first."""
    if text and text.isdecimal() and len(text) < 6:
        return min(max(int(text), 1), pages)
    return 1


def add_routes(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[SCHEDULE] = apply_overrides({"je": settings.care.je, **settings.care.overrides})
    app[CACHE] = Cache()
    # what is derived from the list is checked against the list's stamp at every reading (free: no query)
    app[LISTINGS] = Cache(size=256, fresh=0.0)
    app[MATCHES] = Cache(size=16, fresh=0.0)  # a filtered list of 19,000 people holds a few MB
    app[DIRECTORIES] = Cache(size=64)
    app.router.add_get("/sasaran", page, name="targets")
