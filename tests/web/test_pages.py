"""The pages of the puskesmas web: the overview of one's own puskesmas, a posyandu of it, another
puskesmas's records refused, the language switch."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from db.models import AuditLog, Posyandu, Puskesmas
from tests.helpers import make_family
from tests.web.site import HOME, csrf_of, sign_in, staff_member


async def _other_posyandu(db) -> int:
    """A posyandu of a second puskesmas."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with db.write() as session:
        other = Puskesmas(code="P9999", name="Puskesmas Lain", district_code="99.99", district_name="Lain",
                          timezone="Asia/Jakarta", created_at=now)
        session.add(other)
        await session.flush()
        place = Posyandu(puskesmas_id=other.id, code="PY-9999", name="Posyandu Jauh", village_code="99.99.99.9999",
                         village_name="Jauh", schedule={"monthly_day": 5}, created_at=now)
        session.add(place)
        await session.flush()
        return place.id


async def test_the_overview_shows_the_puskesmas_its_posyandu_and_their_families(client, engine, demo_db):
    await make_family(demo_db)
    await make_family(demo_db)
    html = await sign_in(client, demo_db, await staff_member(engine, demo_db))
    async with demo_db.read() as session:
        name = await session.scalar(select(Puskesmas.name).where(Puskesmas.code == HOME))
        places = (await session.execute(select(Posyandu.id, Posyandu.name).join(Puskesmas).where(Puskesmas.code == HOME))).all()
    assert name in html and "2 keluarga terdaftar" in html
    for place_id, place_name in places:
        assert f'href="/posyandu/{place_id}"' in html and place_name in html
    assert 'action="/keluar"' in html and 'value="en"' in html


async def test_a_posyandu_of_ones_own_puskesmas_shows_and_another_puskesmass_is_not_found(client, engine, demo_db):
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    async with demo_db.read() as session:
        own = await session.scalar(select(Posyandu).join(Puskesmas).where(Puskesmas.code == HOME).limit(1))
    response = await client.get(f"/posyandu/{own.id}")
    assert response.status == 200 and own.name in await response.text()
    other = await _other_posyandu(demo_db)
    refused = await client.get(f"/posyandu/{other}")
    assert refused.status == 404
    assert "Posyandu Jauh" not in await refused.text()
    assert (await client.get("/posyandu/999999")).status == 404
    assert (await client.get("/posyandu/abc")).status == 404


async def test_a_page_without_a_session_sends_to_the_sign_in_help(client):
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/masuk"
    help_page = await client.get("/masuk")
    assert help_page.status == 200 and "/web" in await help_page.text()


async def test_the_language_switch_keeps_the_page_and_is_audited(client, engine, demo_db):
    identity = await staff_member(engine, demo_db)
    html = await sign_in(client, demo_db, identity)
    response = await client.post("/bahasa", data={"csrf": csrf_of(html), "lang": "en", "next": "/"})
    assert response.status == 200 and response.url.path == "/"
    english = await response.text()
    assert '<html lang="en">' in english
    back = await client.post("/bahasa", data={"csrf": csrf_of(english), "lang": "id", "next": "https://evil.example/"})
    assert back.url.path == "/" and back.url.host == "127.0.0.1"  # no redirect to another site
    assert '<html lang="id">' in await back.text()
    bad = await client.post("/bahasa", data={"csrf": csrf_of(html), "lang": "xx"})
    assert bad.status == 400
    async with demo_db.read() as session:
        changes = (await session.execute(select(AuditLog.detail).where(AuditLog.action == "web.language", AuditLog.actor_id == identity)
                                         .order_by(AuditLog.id))).scalars().all()
    assert [d["language"] for d in changes] == ["en", "id"]


async def test_pages_are_drawn_from_the_session_language_with_numbers_in_its_locale(client, engine, demo_db):
    for _ in range(3):
        await make_family(demo_db)
    html = await sign_in(client, demo_db, await staff_member(engine, demo_db))
    assert "3 keluarga terdaftar" in html
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "web.signed_in")) == 1
