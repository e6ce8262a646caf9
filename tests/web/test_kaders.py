"""Kader on the web: each kader of the puskesmas with their posyandu, last activity and visits this month
(another puskesmas's kaders not shown); inviting a kader makes the chat's one-time code, audited, and the
code works in the chat; another puskesmas's posyandu and codes refused; CSRF."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from db.models import AuditLog, Identity, Invite, Person, Posyandu, Visit
from tests.helpers import DEFAULT_NOW, chat_as, make_family
from tests.web.site import csrf_of, sign_in, staff_member


async def _place(db, name: str) -> int:
    async with db.read() as session:
        return await session.scalar(select(Posyandu.id).where(Posyandu.name == name))


async def _visits(db, kader_id: int, posyandu_id: int, days: list[date]) -> None:
    family = await make_family(db)
    async with db.write() as session:
        person = await session.scalar(select(Person.id).where(Person.family_id == family.id).limit(1))
        for day in days:
            session.add(Visit(person_id=person, posyandu_id=posyandu_id, kader_id=kader_id, visited_on=day, place="posyandu",
                              created_at=DEFAULT_NOW))


async def test_the_kaders_of_the_puskesmas_with_last_activity_and_visits_this_month(client, engine, demo_db):
    await chat_as(engine, demo_db, "kader", "kader-mawar")
    mawar = await _place(demo_db, "Posyandu Mawar")
    anggrek = await _place(demo_db, "Posyandu Anggrek")
    async with demo_db.write() as session:
        kader = (await session.scalars(select(Identity).where(Identity.address == "kader-mawar"))).one()
        kader.phone, kader.last_inbound_at = "6281234567890", datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
        quiet = Identity(channel="whatsapp", address="628111", language="id", role="kader", posyandu_id=mawar,
                         consent="given", created_at=DEFAULT_NOW)
        other = Identity(channel="local", address="kader-anggrek", language="id", role="kader", posyandu_id=anggrek,
                         consent="given", created_at=DEFAULT_NOW)
        session.add_all([quiet, other])
        await session.flush()
        kader_id, quiet_id, other_id = kader.id, quiet.id, other.id
    # two visits this month (the last on 20 November), one in October
    await _visits(demo_db, kader_id, mawar, [date(2026, 10, 30), date(2026, 11, 3), date(2026, 11, 20)])
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    page = await client.get("/kader")
    html = await page.text()
    assert page.status == 200
    row = html[html.index(f"Kader #{kader_id}"):html.index(f"Kader #{quiet_id}")]
    assert "Posyandu Mawar" in row and "20 Nov 2026" in row and '<td class="num">2</td>' in row
    assert "&hellip;7890" in row and "6281234567890" not in html  # the last digits only
    quiet_row = html[html.index(f"Kader #{quiet_id}"):]
    assert "belum pernah" in quiet_row and '<td class="num">0</td>' in quiet_row
    assert f"Kader #{other_id}" not in html and "Posyandu Anggrek" not in html


async def test_invite_a_kader_the_code_is_audited_and_works_in_the_chat(client, engine, demo_db):
    html = await sign_in(client, demo_db, await staff_member(engine, demo_db))
    csrf = csrf_of(html)
    melati = await _place(demo_db, "Posyandu Melati")
    made = await client.post("/kader/undang", data={"csrf": csrf, "posyandu": str(melati)}, allow_redirects=False)
    assert made.status == 303
    async with demo_db.read() as session:
        invite = (await session.scalars(select(Invite))).one()
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "invite.created"))).one()
    assert made.headers["Location"] == f"/kader/undangan/{invite.id}"
    assert (invite.role, invite.posyandu_id) == ("kader", melati) and invite.created_by is not None
    assert audit.target_id == melati and audit.detail == {"via": "web", "role": "kader", "invite": invite.id}
    shown = await (await client.get(made.headers["Location"])).text()
    assert f"/kader {invite.code}" in shown and "sekali pakai" in shown
    assert invite.code in await (await client.get("/kader")).text()  # listed among the codes not used yet

    from tests.helpers import ChatDriver

    chat = ChatDriver(engine, address="new-kader")
    await chat.say(f"/kader {invite.code}")
    async with demo_db.read() as session:
        joined = (await session.scalars(select(Identity).where(Identity.address == "new-kader"))).one()
    assert (joined.role, joined.posyandu_id) == ("kader", melati)
    used = await (await client.get(made.headers["Location"])).text()
    assert "Kode ini sudah dipakai." in used and invite.code not in used


async def test_another_puskesmass_posyandu_and_codes_are_refused_and_the_form_needs_the_token(client, engine, demo_db):
    csrf = csrf_of(await sign_in(client, demo_db, await staff_member(engine, demo_db)))
    anggrek = await _place(demo_db, "Posyandu Anggrek")
    assert (await client.post("/kader/undang", data={"csrf": csrf, "posyandu": str(anggrek)})).status == 404
    assert (await client.post("/kader/undang", data={"csrf": csrf, "posyandu": "x"})).status == 404
    mawar = await _place(demo_db, "Posyandu Mawar")
    assert (await client.post("/kader/undang", data={"posyandu": str(mawar)})).status == 403
    async with demo_db.write() as session:
        assert (await session.scalars(select(Invite))).first() is None
        theirs = Invite(code="ABCDEFGH", role="kader", posyandu_id=anggrek, expires_at=datetime(2027, 1, 1, tzinfo=UTC),
                        created_at=DEFAULT_NOW)
        session.add(theirs)
        await session.flush()
        theirs_id = theirs.id
    refused = await client.get(f"/kader/undangan/{theirs_id}")
    assert refused.status == 404 and "ABCDEFGH" not in await refused.text()
    assert "ABCDEFGH" not in await (await client.get("/kader")).text()
