"""Signing in and out of the puskesmas web, the session of each page, CSRF, and the audit of web changes.

* ``GET /masuk``: how to get a link (``/web`` in the chat).
* ``GET /masuk/<token>``: a page with one button that signs in (a link preview fetching the URL, as chat
  apps do, does not use the link up); an expired, used or unknown link, or one of a person who is no longer
  staff, gets a page saying so, and no session.
* ``POST /masuk/<token>``: uses the link (``db.web_auth.redeem_link``), sets the session cookie (HttpOnly,
  SameSite=Lax, Secure when the request came over https) and goes to ``/``.
* ``POST /keluar``: signs out. ``POST /bahasa``: the session's language (``id``/``en``).

A page is a handler wrapped in :func:`staff_page`: it runs only for a live session (else the reader is
sent to ``/masuk``), with ``request[web.context.STAFF]`` set (``web.context.staff_of``); a POST without the
session's CSRF token gets a 403 page. A page that takes a file is wrapped in ``staff_page(upload=N)``: its
``multipart/form-data`` form is read as a stream with a limit (``web.uploads``). Every change a page makes
is audited with :func:`audit`; a page that only shows may audit its views with :func:`audit_view`, which
writes one row per session, page and what was asked per :data:`VIEW_AUDIT_EVERY` (a reload is not
written again; a change or a download is always audited, at once, with :func:`audit`).
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime, timedelta
from functools import wraps

from aiohttp import web

from content.i18n import LANGUAGES, _, n_
from db.models import AuditLog, Puskesmas, WebSession
from db.web_auth import EXPIRED, LINK_VALID, REFUSED, SIGN_IN_PATH, USED, check_link, end_session, read_live, redeem_link, session_of
from web.context import CLOCK, DB, METRICS, SETTINGS, STAFF, Staff, staff_of
from web.render import CSRF_FIELD, message_page, render
from web.uploads import FORM, BadForm, read_form

log = logging.getLogger(__name__)

COOKIE = "ilp_session"
#: proxies whose X-Forwarded-Proto is believed (the bot listens behind a proxy on the same host)
TRUSTED_PROXIES = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: a view of the same page with the same filters by the same session is audited once in this time
VIEW_AUDIT_EVERY = timedelta(minutes=10)


def audit(session, staff: Staff, action: str, target_type: str | None, target_id: int | None, now, **detail) -> None:
    """Writes who did what to which record from the web (as ``handlers.kader.audit`` does for the chat);
    an administrator's session is recorded with no actor and ``by: administrator``."""
    extra = {"via": "web"} if staff.identity_id is not None else {"via": "web", "by": "administrator"}
    session.add(AuditLog(at=now, actor_id=staff.identity_id, action=action, target_type=target_type, target_id=target_id,
                         detail={**extra, **detail}))


class AuditedViews:
    """When each (session, action, what was asked) last had its view audited, by the app's clock; at most
    ``size`` kept (the oldest forgotten first: it is then audited again)."""

    def __init__(self, every: timedelta = VIEW_AUDIT_EVERY, size: int = 20_000) -> None:
        self.every, self.size = every, size
        self._last: OrderedDict[Hashable, datetime] = OrderedDict()

    def due(self, key: Hashable, now: datetime) -> bool:
        """Whether a view of ``key`` at ``now`` is to be written (none written in the last :attr:`every`)."""
        last = self._last.get(key)
        return last is None or not (now - self.every < last <= now)

    def written(self, key: Hashable, now: datetime) -> None:
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self.size:
            self._last.popitem(last=False)


#: the app's :class:`AuditedViews`
VIEWS = web.AppKey("audited_views", AuditedViews)


async def audit_view(request: web.Request, staff: Staff, action: str, target_type: str | None, target_id: int | None,
                     now, *, key: Hashable, **detail) -> bool:
    """Audits a view (:func:`audit` in a transaction of its own) unless the same session's view of ``action``
    with the same ``key`` (the filters asked for) was audited within :data:`VIEW_AUDIT_EVERY`; whether a row
    was written. A view needs no write transaction on each reload (on SQLite they queue for its one writer)."""
    views = request.app[VIEWS]
    seen = (staff.session_id, action, target_type, target_id, key)
    if not views.due(seen, now):
        return False
    async with request.app[DB].write() as session:
        audit(session, staff, action, target_type, target_id, now, **detail)
    views.written(seen, now)
    return True


def over_https(request: web.Request) -> bool:
    """Whether the reader's browser talks https: to this server, or to a proxy on this host that says so."""
    if request.secure:
        return True
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return forwarded == "https" and _address(request.remote) is not None and any(
        _address(request.remote) in net for net in TRUSTED_PROXIES)


def _address(remote: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((remote or "").split("%")[0])
    except ValueError:
        return None


def _staff(web_session, puskesmas_name: str, code: str | None = None, timezone: str | None = None) -> Staff:
    return Staff(identity_id=web_session.identity_id, puskesmas_id=web_session.puskesmas_id, puskesmas_name=puskesmas_name,
                 language=web_session.language, session_id=web_session.id, csrf=web_session.csrf, puskesmas_code=code,
                 timezone=timezone)


async def current_staff(request: web.Request) -> Staff | None:
    """The staff member of the request's session cookie (None: no live session)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    now = request.app[CLOCK]()
    async with request.app[DB].read() as session:  # one query: the session, its puskesmas, still staff
        live, write = await read_live(session, token, now)
    if live is not None:
        return _staff(live, live.puskesmas_name, live.puskesmas_code, live.timezone)
    if not write:
        return None
    async with request.app[DB].write() as session:  # to be touched, or ended
        found = await session_of(session, token, now)
        if found is None:
            return None
        puskesmas = await session.get(Puskesmas, found.puskesmas_id)
        return _staff(found, puskesmas.name, puskesmas.code, puskesmas.timezone)


def csrf_ok(staff: Staff, given: str | None) -> bool:
    """Whether a form's token is the session's."""
    return bool(given) and hmac.compare_digest(given.encode(), staff.csrf.encode())


def refused_form(request: web.Request) -> web.Response:
    """The 403 page of a form without its session's token (an old tab, another site's form)."""
    return message_page(request, 403, _("Formulir ditolak"),
                        _("Formulir ini sudah kedaluwarsa atau tidak berasal dari halaman ini. Muat ulang halaman lalu coba lagi."))


def staff_page(handler: Handler | None = None, *, upload: int | None = None):
    """Wraps a page: only for a signed-in staff member (``request[web.context.STAFF]``); a POST must carry the
    session's CSRF token (form field ``csrf`` or header ``X-CSRF-Token``). With ``upload`` (bytes), a
    ``multipart/form-data`` POST is read by ``web.uploads.read_form`` with files up to that size and put on
    the request (``web.uploads.form_of``)."""
    if handler is None:
        return lambda wrapped: staff_page(wrapped, upload=upload)

    @wraps(handler)
    async def page(request: web.Request) -> web.StreamResponse:
        staff = await current_staff(request)
        if staff is None:
            if request.method == "GET":
                raise web.HTTPSeeOther("/masuk")
            return message_page(request, 403, _("Sesi berakhir"), _("Silakan masuk lagi dengan tautan dari chat (/web)."))
        request[STAFF] = staff
        if request.method not in ("GET", "HEAD"):
            given = request.headers.get("X-CSRF-Token")
            if upload is not None and request.content_type == "multipart/form-data":
                try:
                    form = await read_form(request, upload)
                except BadForm:
                    return message_page(request, 400, _("Formulir tidak terbaca"),
                                        _("Formulir ini tidak terkirim dengan utuh. Muat ulang halaman lalu coba lagi."))
                request[FORM] = form
                given = form.get(CSRF_FIELD) if given is None else given
            elif given is None:
                given = (await request.post()).get(CSRF_FIELD)
            if not csrf_ok(staff, given if isinstance(given, str) else None):
                return refused_form(request)
        return await handler(request)

    return page


def see_other(path: str) -> web.Response:
    """A redirect after a form (303: the browser GETs ``path``) that can still carry cookies."""
    return web.Response(status=303, headers={"Location": path})


def local_path(target: str | None) -> str:
    """A path on this site to go back to (``/`` for anything else: no redirect to another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# -- the routes ---------------------------------------------------------------------------------------

async def sign_in_help(request: web.Request) -> web.Response:
    return render(request, "sign_in_help.html")


def link_problem_page(request: web.Request, problem: str) -> web.Response:
    """Why a link opens no session, on a page of its own (no session is started)."""
    if problem == EXPIRED:
        minutes = int(LINK_VALID.total_seconds() // 60)
        return message_page(request, 410, _("Tautan sudah kedaluwarsa"),
                            n_("Tautan masuk berlaku {n} menit. Ketik /web di chat untuk tautan baru.",
                               "Tautan masuk berlaku {n} menit. Ketik /web di chat untuk tautan baru.", minutes))
    if problem == USED:
        return message_page(request, 410, _("Tautan sudah dipakai"),
                            _("Setiap tautan masuk hanya bisa dipakai sekali. Ketik /web di chat untuk tautan baru."))
    if problem == REFUSED:
        return message_page(request, 403, _("Tautan tidak berlaku"),
                            _("Tautan ini dibuat untuk petugas yang sekarang bukan lagi petugas puskesmas ini."))
    return message_page(request, 404, _("Tautan tidak dikenal"), _("Periksa tautannya, atau ketik /web di chat untuk tautan baru."))


async def sign_in_page(request: web.Request) -> web.Response:
    """The page a link opens: one button that signs in, or why the link does not work."""
    async with request.app[DB].read() as session:
        _link, problem = await check_link(session, request.match_info["token"], request.app[CLOCK]())
    if problem is not None:
        return link_problem_page(request, problem)
    return render(request, "sign_in.html", {"action": request.path})


async def sign_in(request: web.Request) -> web.StreamResponse:
    """Uses the link: a session, its cookie, and the overview."""
    app = request.app
    now = app[CLOCK]()
    async with app[DB].write() as session:
        opened, link, problem = await redeem_link(session, request.match_info["token"], now, language=app[SETTINGS].locale.default)
        if opened is not None:
            staff = _staff(opened.session, "")
            audit(session, staff, "web.signed_in", "web_session", opened.session.id, now)
    app[METRICS].signins.labels(problem or "ok").inc()
    if opened is None:
        log.info("web sign-in refused: %s link", problem)
        return link_problem_page(request, problem)
    response = see_other("/")
    response.set_cookie(COOKIE, opened.token, httponly=True, samesite="Lax", secure=over_https(request), path="/")
    return response


@staff_page
async def sign_out(request: web.Request) -> web.StreamResponse:
    """Ends the session; back to the sign-in help."""
    staff = staff_of(request)
    now = request.app[CLOCK]()
    async with request.app[DB].write() as session:
        await end_session(session, await session.get(WebSession, staff.session_id), now)
        audit(session, staff, "web.signed_out", "web_session", staff.session_id, now)
    response = see_other("/masuk")
    response.del_cookie(COOKIE, path="/")
    return response


@staff_page
async def switch_language(request: web.Request) -> web.StreamResponse:
    """The session's language (a form's ``lang``); back to the page it came from (``next``)."""
    staff = staff_of(request)
    form = await request.post()
    lang = form.get("lang")
    if lang not in LANGUAGES or lang not in request.app[SETTINGS].locale.available:
        return message_page(request, 400, _("Bahasa tidak tersedia"), _("Pilih Bahasa Indonesia atau English."))
    now = request.app[CLOCK]()
    async with request.app[DB].write() as session:
        (await session.get(WebSession, staff.session_id)).language = lang
        audit(session, staff, "web.language", "web_session", staff.session_id, now, language=lang)
    raise web.HTTPSeeOther(local_path(form.get("next") if isinstance(form.get("next"), str) else None))


def add_routes(app: web.Application) -> None:
    """The sign-in, sign-out and language routes."""
    app[VIEWS] = AuditedViews()
    app.router.add_get("/masuk", sign_in_help)
    app.router.add_get(SIGN_IN_PATH + "{token}", sign_in_page)
    app.router.add_post(SIGN_IN_PATH + "{token}", sign_in)
    app.router.add_post("/keluar", sign_out)
    app.router.add_post("/bahasa", switch_language)
