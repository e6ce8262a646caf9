"""What the pages of the puskesmas web share: the application's keys (database, settings, clock, metrics)
and the signed-in staff member (:class:`Staff`, set on the request by ``web.auth.staff_page``)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from metrics import Metrics

DB = web.AppKey("db", Any)
SETTINGS = web.AppKey("settings", Any)
#: the time now (UTC, aware); tests move it by hand
CLOCK = web.AppKey("clock", Callable[[], datetime])
METRICS = web.AppKey("metrics", Metrics)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of a request: every page reads and changes their puskesmas only.

    ``identity_id`` is None for a session an administrator's link opened (``bot.py web link``).
    ``csrf`` is the token every form of the session carries (``web.render`` puts it in each page as
    ``csrf``)."""

    identity_id: int | None
    puskesmas_id: int
    puskesmas_name: str
    language: str
    session_id: int
    csrf: str
    #: the puskesmas's code and stored time zone (``config.zone_of`` gives its zone); None when not read
    puskesmas_code: str | None = None
    timezone: str | None = None


#: where ``web.auth.staff_page`` puts the signed-in staff member of a request
STAFF = web.RequestKey("staff", Staff)


def staff_of(request: web.Request) -> Staff:
    """The signed-in staff member of a request made to a page wrapped in ``web.auth.staff_page``."""
    return request[STAFF]


def now(request: web.Request) -> datetime:
    """The app's time now (its clock)."""
    return request.app[CLOCK]()
