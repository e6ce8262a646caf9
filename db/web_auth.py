"""Sign-in to the puskesmas web without passwords: one-time links and sessions (tables ``web_link`` and
``web_session``).

A staff member types ``/web`` in the chat (``handlers.web_link``), or an administrator runs ``python bot.py
web link --puskesmas ID``: :func:`create_link` makes a link valid :data:`LINK_VALID` and good once. Opening
it (``web.auth``) calls :func:`redeem_link`, which starts a session: its token goes into an HttpOnly cookie
and only its hash into the database (as the link's), so that a copy of the database opens nothing and any
instance knows every session. :func:`session_of` finds the session of a cookie; a session ends at sign-out
(:func:`end_session`), after :data:`IDLE` without a request, or when its staff member is no longer staff of
that puskesmas.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from db.models import Identity, Puskesmas, WebLink, WebSession

#: a sign-in link works this long after it was made, once
LINK_VALID = timedelta(minutes=10)
#: a session ends after this long without a request
IDLE = timedelta(hours=12)
#: a session's ``last_seen_at`` is written at most this often (a page view is not a write each time)
TOUCH_EVERY = timedelta(minutes=1)
#: the path of a sign-in link, before its token (the web app serves it: ``web.auth``)
SIGN_IN_PATH = "/masuk/"

#: why a link opens no session: its token is not known, it is past its time, it was used, or the person it
#: was made for is no longer staff of its puskesmas
UNKNOWN, EXPIRED, USED, REFUSED = "unknown", "expired", "used", "refused"


def new_token() -> str:
    """A random token (256 bits) for a link, a session or a CSRF field."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256 (the tokens are random: no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in_url(base_url: str, token: str) -> str:
    """The link a staff member opens: ``web.base_url`` and the token."""
    return f"{base_url.rstrip('/')}{SIGN_IN_PATH}{token}"


async def create_link(session, *, puskesmas_id: int, identity_id: int | None, now: datetime) -> str:
    """Stores a new one-time link for a staff member (None: an administrator) of a puskesmas; its token."""
    token = new_token()
    session.add(WebLink(token_hash=token_hash(token), identity_id=identity_id, puskesmas_id=puskesmas_id,
                        created_at=now, expires_at=now + LINK_VALID))
    await session.flush()
    return token


async def _still_staff(session, identity_id: int | None, puskesmas_id: int) -> bool:
    """Whether the person is (still) staff of the puskesmas; an administrator's link or session (None) is."""
    if identity_id is None:
        return True
    identity = await session.get(Identity, identity_id)
    return identity is not None and identity.role == "staff" and identity.puskesmas_id == puskesmas_id


async def check_link(session, token: str, now: datetime) -> tuple[WebLink | None, str | None]:
    """The link of a token and why it opens no session (None: it would open one); changes nothing."""
    link = (await session.scalars(select(WebLink).where(WebLink.token_hash == token_hash(token)))).one_or_none()
    if link is None:
        return None, UNKNOWN
    if link.used_at is not None:
        return link, USED
    if link.expires_at <= now:
        return link, EXPIRED
    if not await _still_staff(session, link.identity_id, link.puskesmas_id):
        return link, REFUSED
    return link, None


@dataclass(frozen=True)
class Opened:
    """A session a link opened, and the token of its cookie (kept nowhere else)."""

    session: WebSession
    token: str


async def redeem_link(session, token: str, now: datetime, *, language: str) -> tuple[Opened | None, WebLink | None, str | None]:
    """Uses a link once: (the session it opened, the link, None), or (None, the link or None, why not).

    The link is marked used by one conditional update, so that two requests with the same link open one
    session between them. ``language`` is the session's when the link has no staff member (an
    administrator's); a staff member's session starts in their chat's language.
    """
    link, problem = await check_link(session, token, now)
    if problem is not None:
        return None, link, problem
    taken = await session.execute(update(WebLink).where(WebLink.id == link.id, WebLink.used_at.is_(None)).values(used_at=now))
    if taken.rowcount != 1:
        return None, link, USED
    if link.identity_id is not None:
        language = (await session.get(Identity, link.identity_id)).language or language
    cookie = new_token()
    opened = WebSession(token_hash=token_hash(cookie), identity_id=link.identity_id, puskesmas_id=link.puskesmas_id,
                        language=language, csrf=new_token(), created_at=now, last_seen_at=now)
    session.add(opened)
    await session.flush()
    return Opened(opened, cookie), link, None


async def session_of(session, token: str, now: datetime) -> WebSession | None:
    """The live session of a cookie's token, its ``last_seen_at`` moved to ``now`` (at most every
    :data:`TOUCH_EVERY`); None when there is none. A session idle for :data:`IDLE`, or whose staff member
    is no longer staff of its puskesmas, is ended here."""
    found = (await session.scalars(select(WebSession).where(WebSession.token_hash == token_hash(token)))).one_or_none()
    if found is None or found.ended_at is not None:
        return None
    if found.last_seen_at + IDLE <= now or not await _still_staff(session, found.identity_id, found.puskesmas_id):
        found.ended_at = now
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        found.last_seen_at = now
    return found


@dataclass(frozen=True)
class LiveSession:
    """A live session as a page needs it, with its puskesmas's name, code and stored time zone."""

    id: int
    identity_id: int | None
    puskesmas_id: int
    language: str
    csrf: str
    puskesmas_name: str
    puskesmas_code: str
    timezone: str


async def read_live(session, token: str, now: datetime) -> tuple[LiveSession | None, bool]:
    """:func:`session_of` without writing, for a read transaction, in one query (the session, its puskesmas
    and whether its staff member is still staff of it): ``(live, False)`` for a live session that needs
    nothing written, ``(None, False)`` for no live session, ``(None, True)`` when the session is to be
    touched or ended (the caller then calls :func:`session_of` in a write transaction). Most requests of a
    signed-in reader need no write: on SQLite they do not queue for the write lock."""
    row = (await session.execute(
        select(WebSession.id, WebSession.identity_id, WebSession.puskesmas_id, WebSession.language, WebSession.csrf,
               WebSession.last_seen_at, WebSession.ended_at, Puskesmas.name, Puskesmas.code, Puskesmas.timezone,
               Identity.id, Identity.role, Identity.puskesmas_id)
        .join(Puskesmas, Puskesmas.id == WebSession.puskesmas_id)
        .outerjoin(Identity, Identity.id == WebSession.identity_id)
        .where(WebSession.token_hash == token_hash(token)))).one_or_none()
    if row is None:
        return None, False
    (session_id, identity_id, puskesmas_id, language, csrf, last_seen_at, ended_at, name, code, timezone,
     found_identity, role, identity_puskesmas) = row
    if ended_at is not None:
        return None, False
    still_staff = identity_id is None or (found_identity is not None and role == "staff" and identity_puskesmas == puskesmas_id)
    if last_seen_at + IDLE <= now or now - last_seen_at >= TOUCH_EVERY or not still_staff:
        return None, True
    return LiveSession(session_id, identity_id, puskesmas_id, language, csrf, name, code, timezone), False


async def end_session(session, web_session: WebSession, now: datetime) -> None:
    """Signs a session out."""
    (await session.get(WebSession, web_session.id)).ended_at = now
