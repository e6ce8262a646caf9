"""Pages drawn from Jinja2 templates (``web/templates``) in the reader's language.

:func:`render` is the one way a handler answers with a page: the template sees ``_`` and ``n_`` (the
catalogues of ``content.i18n``: Indonesian source text, with named placeholders, extracted by ``make
extract``), ``format_date`` and ``format_number`` in the reader's locale, ``staff`` (None before sign-in),
``csrf`` (the field every form carries: ``{{ csrf_field() }}``), ``lang`` and ``languages``. Autoescaping is
on. The stylesheet is ``web/static/web.css`` (no script is needed by any page; no CDN).
"""
from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from content.i18n import LANGUAGES, _, format_date, format_number, n_, use_locale
from web.context import STAFF
from web.nav import PAGES
from web.context import SETTINGS as SETTINGS_KEY

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
#: the name of the form field that carries the CSRF token (``web.auth`` checks it on every POST)
CSRF_FIELD = "csrf"
#: what stands for the session's CSRF token in a page kept drawn (:func:`render_kept`): hex, so escaping
#: leaves it as it is, as it leaves a token (``secrets.token_urlsafe``)
_STAND_IN = "csrf" + secrets.token_hex(16)
#: pages kept drawn (:func:`render_kept`), the least recently read dropped first
KEPT_PAGES = web.AppKey("kept_pages", OrderedDict)
KEPT_SIZE = 16


def setup(app: web.Application) -> None:
    """Templates for the app, and the stylesheet under ``/static/``."""
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"]),
                               undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(_=_, n_=n_, format_date=format_date, format_number=format_number, languages=LANGUAGES)
    app.router.add_static("/static/", STATIC, name="static")
    app[KEPT_PAGES] = OrderedDict()


def language_of(request: web.Request) -> str:
    """The reader's language: the session's, else the browser's first available one, else the default."""
    staff = request.get(STAFF)
    if staff is not None:
        return staff.language
    settings = request.app[SETTINGS_KEY]
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in settings.locale.available:
            return code
    return settings.locale.default


def render(request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
           csrf: str | None = None) -> web.Response:
    """The page ``template`` with ``context`` in the reader's language (``csrf``: the token its forms carry,
    by default the session's)."""
    staff = request.get(STAFF)
    lang = language_of(request)
    if csrf is None:
        csrf = staff.csrf if staff is not None else ""
    routes = request.app.router.named_resources()
    nav = [(str(routes[name].url_for()), label) for name, label in PAGES if name in routes] if staff is not None else []
    values = {"staff": staff, "csrf": csrf, "lang": lang, "path": request.path, "nav": nav,
              "csrf_field": lambda: Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf)}">'),
              **(context or {})}
    with use_locale(lang):
        response = aiohttp_jinja2.render_template(template, request, values, status=status)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def render_kept(request: web.Request, template: str, context: dict[str, Any], key: Hashable) -> web.Response:
    """:func:`render` of a page that differs between the readers of a puskesmas only by their session's CSRF
    token (the PWS overview: 565 KB of tables, whose drawing and encoding cost more than the rest of a
    reading): drawn once per ``key``, which must tell apart every ``context`` that draws differently (the
    template, language, path, puskesmas name and whether one is signed in are added), and kept as bytes; each
    reading gets them with its session's token put in."""
    staff = request.get(STAFF)
    kept = request.app[KEPT_PAGES]
    full = (template, key, language_of(request), request.path, staff.puskesmas_name if staff is not None else None)
    body = kept.get(full)
    if body is None:
        body = kept[full] = render(request, template, context, csrf=_STAND_IN).body
        while len(kept) > KEPT_SIZE:
            kept.popitem(last=False)
    kept.move_to_end(full)
    csrf = staff.csrf if staff is not None else ""
    response = web.Response(body=body.replace(_STAND_IN.encode(), str(escape(csrf)).encode()), content_type="text/html",
                            charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def message_page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    """A page that only says something (an expired link, a refused form): ``title`` and ``message`` are
    already translated."""
    return render(request, "message.html", {"title": title, "message": message}, status=status)


def not_found(request: web.Request) -> web.Response:
    """The 404 page (also for another puskesmas's records: they are not there for this reader)."""
    return message_page(request, 404, _("Tidak ditemukan"), _("Halaman atau data ini tidak ada di puskesmas Anda."))


def record_id(request: web.Request, name: str = "id") -> int | None:
    """A route's number (None when it is not one)."""
    value = request.match_info.get(name, "")
    return int(value) if value.isdecimal() and len(value) < 12 else None
