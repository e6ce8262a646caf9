"""Helpers of the web tests: staff members of the demo puskesmas and their sign-in links, signing in
through a link with a test client, and the CSRF token of a page."""
from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import select

from db.models import Identity, Puskesmas
from db.web_auth import create_link, sign_in_url
from tests.helpers import DEFAULT_NOW, chat_as

#: the demo's puskesmas (tests.helpers.chat_as makes its staff)
HOME = "P5108060201"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def staff_member(engine, db, address: str = "staff-web") -> int:
    """The identity id of a consented staff member of Puskesmas Buleleng III."""
    await chat_as(engine, db, "staff", address)
    async with db.read() as session:
        return await session.scalar(select(Identity.id).where(Identity.address == address))


async def puskesmas_id(db, code: str = HOME) -> int:
    async with db.read() as session:
        return await session.scalar(select(Puskesmas.id).where(Puskesmas.code == code))


async def link_for(db, identity_id: int | None, *, code: str = HOME, now: datetime = DEFAULT_NOW) -> str:
    """The path of a fresh sign-in link (``/masuk/<token>``) of a staff member (None: an administrator)."""
    async with db.write() as session:
        token = await create_link(session, puskesmas_id=await puskesmas_id(db, code), identity_id=identity_id, now=now)
    return urlparse(sign_in_url("http://x", token)).path


async def sign_in(client, db, identity_id: int | None, **link) -> str:
    """Signs the test client in through a link (its page, then its button); the overview's HTML."""
    path = await link_for(db, identity_id, **link)
    assert (await client.get(path)).status == 200
    response = await client.post(path)
    assert response.status == 200 and response.url.path == "/", (response.status, await response.text())
    return await response.text()


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms."""
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)
