"""Signing in to the puskesmas web with one-time links, the session cookie, idle expiry, sign-out, CSRF,
and the link a staff member gets with /web in the chat."""
from __future__ import annotations

from sqlalchemy import select

from db.models import AuditLog, Identity, WebLink, WebSession
from db.web_auth import IDLE, LINK_VALID, token_hash
from tests.helpers import ChatDriver, chat_as, consent
from tests.web.site import csrf_of, link_for, sign_in, staff_member


async def test_a_link_opens_a_page_with_a_button_and_the_button_opens_a_session(client, engine, demo_db, metrics):
    identity = await staff_member(engine, demo_db)
    path = await link_for(demo_db, identity)
    page = await client.get(path)
    assert page.status == 200 and f'action="{path}"' in await page.text()
    async with demo_db.read() as session:  # looking at the link does not use it up (chat apps fetch previews)
        assert (await session.scalars(select(WebLink))).one().used_at is None
    response = await client.post(path, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.cookies["ilp_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]  # plain http here
    async with demo_db.read() as session:
        stored = (await session.scalars(select(WebSession))).one()
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "web.signed_in"))).one()
    assert stored.token_hash == token_hash(cookie.value) and cookie.value not in stored.token_hash
    assert stored.identity_id == identity and audit.actor_id == identity
    assert metrics.signins.labels("ok")._value.get() == 1


async def test_the_cookie_is_secure_behind_an_https_proxy_on_this_host(client, engine, demo_db):
    path = await link_for(demo_db, await staff_member(engine, demo_db))
    response = await client.post(path, allow_redirects=False, headers={"X-Forwarded-Proto": "https"})
    assert response.cookies["ilp_session"]["secure"]


async def test_a_used_link_opens_nothing_the_second_time(client, engine, demo_db, metrics):
    identity = await staff_member(engine, demo_db)
    path = await link_for(demo_db, identity)
    assert (await client.post(path, allow_redirects=False)).status == 303
    client.session.cookie_jar.clear()
    for again in (await client.get(path), await client.post(path, allow_redirects=False)):
        assert again.status == 410 and "sudah dipakai" in await again.text()
        assert "ilp_session" not in again.cookies
    assert (await client.get("/", allow_redirects=False)).status == 303
    assert metrics.signins.labels("used")._value.get() == 1


async def test_an_expired_link_opens_nothing(client, engine, demo_db, clock):
    path = await link_for(demo_db, await staff_member(engine, demo_db), now=clock.now)
    clock.advance(seconds=LINK_VALID.total_seconds())
    for response in (await client.get(path), await client.post(path, allow_redirects=False)):
        assert response.status == 410 and "kedaluwarsa" in await response.text()
        assert "ilp_session" not in response.cookies


async def test_an_unknown_link_opens_nothing(client):
    response = await client.post("/masuk/not-a-token", allow_redirects=False)
    assert response.status == 404 and "ilp_session" not in response.cookies


async def test_the_link_of_a_person_no_longer_staff_opens_nothing_and_their_session_ends(client, engine, demo_db):
    identity = await staff_member(engine, demo_db)
    await sign_in(client, demo_db, identity)
    path = await link_for(demo_db, identity)
    async with demo_db.write() as session:
        person = await session.get(Identity, identity)
        person.role, person.puskesmas_id = "family", None
    refused = await client.post(path, allow_redirects=False)
    assert refused.status == 403 and "bukan lagi petugas" in await refused.text()
    assert (await client.get("/", allow_redirects=False)).status == 303  # the open session ended too
    async with demo_db.read() as session:
        assert (await session.scalars(select(WebSession))).one().ended_at is not None


async def test_a_session_ends_after_twelve_hours_without_a_request(client, engine, demo_db, clock):
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    clock.advance(hours=11)
    assert (await client.get("/", allow_redirects=False)).status == 200  # a request keeps it alive
    clock.advance(seconds=IDLE.total_seconds() - 1)
    assert (await client.get("/", allow_redirects=False)).status == 200
    clock.advance(seconds=IDLE.total_seconds())
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_sign_out_ends_the_session_and_is_audited(client, engine, demo_db):
    identity = await staff_member(engine, demo_db)
    html = await sign_in(client, demo_db, identity)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["ilp_session"].value
    response = await client.post("/keluar", data={"csrf": csrf_of(html)}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/masuk"
    client.session.cookie_jar.update_cookies({"ilp_session": cookie})  # the old cookie, kept by someone
    assert (await client.get("/", allow_redirects=False)).status == 303
    async with demo_db.read() as session:
        actions = (await session.scalars(select(AuditLog.action).where(AuditLog.actor_id == identity).order_by(AuditLog.id))).all()
    assert actions[-2:] == ["web.signed_in", "web.signed_out"]


async def test_a_form_without_the_sessions_csrf_token_is_refused(client, engine, demo_db):
    identity = await staff_member(engine, demo_db)
    html = await sign_in(client, demo_db, identity)
    for data in ({}, {"csrf": "wrong"}, {"csrf": ""}):
        response = await client.post("/keluar", data=data, allow_redirects=False)
        assert response.status == 403 and "Formulir ditolak" in await response.text()
    response = await client.post("/bahasa", data={"lang": "en"}, allow_redirects=False)
    assert response.status == 403
    # the token of another session does not do either
    other = await staff_member(engine, demo_db, "staff-web-2")
    async with demo_db.read() as session:
        mine = (await session.scalars(select(WebSession).where(WebSession.identity_id == identity))).one()
    assert csrf_of(html) == mine.csrf
    client.session.cookie_jar.clear()
    await sign_in(client, demo_db, other)
    assert (await client.post("/keluar", data={"csrf": mine.csrf}, allow_redirects=False)).status == 403
    assert (await client.get("/", allow_redirects=False)).status == 200  # still signed in


async def test_a_post_without_a_session_is_refused(client):
    response = await client.post("/keluar", data={"csrf": "x"}, allow_redirects=False)
    assert response.status == 403


async def test_an_administrators_link_opens_a_session_without_a_person(client, demo_db):
    html = await sign_in(client, demo_db, None)
    assert "Posyandu" in html
    async with demo_db.read() as session:
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "web.signed_in"))).one()
    assert audit.actor_id is None and audit.detail["by"] == "administrator"


async def test_staff_get_a_link_with_slash_web_in_the_chat_and_it_signs_them_in(client, engine, demo_db, settings):
    chat = await chat_as(engine, demo_db, "staff", "staff-chat")
    await chat.say("/web")
    assert settings.web.base_url + "/masuk/" in chat.text and "10 menit" in chat.text
    path = "/masuk/" + chat.text.split("/masuk/")[1].split()[0]
    assert (await client.post(path, allow_redirects=False)).status == 303
    async with demo_db.read() as session:
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "web.link_created"))).one()
        assert path.rsplit("/", 1)[1] not in str(audit.detail)


async def test_a_family_gets_no_link(engine, demo_db):
    chat = ChatDriver(engine, address="family-web")
    await consent(chat)
    await chat.say("/web")
    assert "/masuk/" not in chat.text and "petugas puskesmas" in chat.text
    async with demo_db.read() as session:
        assert (await session.scalars(select(WebLink))).all() == []
