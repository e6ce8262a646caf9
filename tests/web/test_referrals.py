"""The rujukan page of the puskesmas web: the puskesmas's followed referrals, an outcome recorded here
(the chat's function, audited, CSRF), one recorded by chat leaving the page, another puskesmas's refused."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from db.models import AuditLog, Family, Person, Referral
from tests.helpers import DEFAULT_NOW, ChatDriver, make_family
from tests.web.browser import needs_browser, shot
from tests.web.site import csrf_of, sign_in, staff_member

MAWAR, ANGGREK = "51.08.06.2014", "18.10.01.2011"  # Anggrek: another puskesmas


async def referral_of(db, name: str, reason: str, *, village: str = MAWAR, opened_on: date = date(2026, 11, 20),
                      status: str = "open", detail=None) -> int:
    """A referral of a new family's child, written as ``open_referrals`` writes it."""
    await make_family(db, village_code=village, name=f"Keluarga {name}", members=((name, "M", date(2025, 3, 1)),))
    async with db.write() as session:
        person = (await session.scalars(select(Person).where(Person.name == name))).one()
        family = await session.get(Family, person.family_id)
        row = Referral(person_id=person.id, posyandu_id=family.posyandu_id, reason=reason, detail=detail, status=status,
                       opened_on=opened_on, created_at=DEFAULT_NOW)
        session.add(row)
        await session.flush()
        return row.id


async def test_the_page_shows_the_puskesmass_open_and_not_found_referrals_only(client, engine, demo_db):
    await referral_of(demo_db, "Putu Pendek", "stunting", detail={"length_cm": 70.5, "measured": "l", "lhfa": -3.12},
                      opened_on=date(2026, 11, 1))
    await referral_of(demo_db, "Kadek Hilang", "underweight", status="not_found")
    await referral_of(demo_db, "Komang Selesai", "2T", status="treated")
    await referral_of(demo_db, "Gede Lampung", "2T", village=ANGGREK)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    html = await (await client.get("/rujukan")).text()
    assert "Putu Pendek" in html and "Kadek Hilang" in html
    assert "Komang Selesai" not in html and "Gede Lampung" not in html
    assert "Stunting (pendek)" in html and "PB 70,5 cm" in html and "PB/U -3,12" in html
    assert "Posyandu Mawar" in html and "22 hari" in html and "perlu ditindaklanjuti" in html  # a week is long past
    waiting, rest = html.split("Tidak ditemukan: dikunjungi kader")
    assert "Putu Pendek" in waiting and "Kadek Hilang" in rest
    assert html.count('name="csrf"') >= 2 + 2  # the language and sign-out forms, then one per referral


async def test_an_outcome_recorded_here_closes_the_referral_audited(client, engine, demo_db):
    referral = await referral_of(demo_db, "Putu Pendek", "stunting")
    staff = await staff_member(engine, demo_db)
    csrf = csrf_of(await sign_in(client, demo_db, staff))
    response = await client.post(f"/rujukan/{referral}", data={"csrf": csrf, "outcome": "treated", "note": "  diberi   PMT  "},
                                 allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == f"/rujukan?tersimpan={referral}"
    page = await (await client.get(response.headers["Location"])).text()
    assert "Tersimpan: Putu Pendek, Stunting (pendek): Ditangani." in page
    assert f'id="rujukan-{referral}"' not in page  # no longer followed
    async with demo_db.read() as session:
        row = await session.get(Referral, referral)
        audited = (await session.scalars(select(AuditLog).where(AuditLog.action == "referral.outcome"))).all()
    assert (row.status, row.outcome_note, row.outcome_by, row.outcome_at) == ("treated", "diberi PMT", staff, DEFAULT_NOW)
    assert len(audited) == 1 and audited[0].actor_id == staff and audited[0].target_id == referral
    assert audited[0].detail == {"via": "web", "outcome": "treated", "reason": "stunting", "days": 3, "note": True}


async def test_not_found_keeps_it_followed_and_a_second_outcome_closes_it(client, engine, demo_db):
    referral = await referral_of(demo_db, "Kadek Hilang", "underweight")
    csrf = csrf_of(await sign_in(client, demo_db, await staff_member(engine, demo_db)))
    await client.post(f"/rujukan/{referral}", data={"csrf": csrf, "outcome": "not_found"})
    html = await (await client.get("/rujukan")).text()
    assert "Kadek Hilang" in html.split("Tidak ditemukan: dikunjungi kader")[1]
    await client.post(f"/rujukan/{referral}", data={"csrf": csrf, "outcome": "came"})
    async with demo_db.read() as session:
        assert (await session.get(Referral, referral)).status == "came"
        assert len((await session.scalars(select(AuditLog).where(AuditLog.action == "referral.outcome"))).all()) == 2


async def test_a_referral_closed_by_chat_leaves_the_page_and_cannot_be_recorded_again(client, engine, demo_db):
    referral = await referral_of(demo_db, "Putu Pendek", "stunting")
    csrf = csrf_of(await sign_in(client, demo_db, await staff_member(engine, demo_db)))
    assert f'id="rujukan-{referral}"' in await (await client.get("/rujukan")).text()
    chat = ChatDriver(engine, address="staff-web")  # the same staff member, in the chat
    await chat.say("/rujukan")
    await chat.press("1. Putu Pendek")
    await chat.press("Datang")
    await chat.press("Tanpa catatan")
    assert "Tersimpan: Putu Pendek" in chat.text
    assert f'id="rujukan-{referral}"' not in await (await client.get("/rujukan")).text()
    again = await client.post(f"/rujukan/{referral}", data={"csrf": csrf, "outcome": "treated"})
    assert again.status == 409 and "Hasil rujukan Putu Pendek sudah dicatat: Datang." in await again.text()
    async with demo_db.read() as session:
        assert (await session.get(Referral, referral)).status == "came"


async def test_another_puskesmass_referral_a_bad_outcome_a_long_note_and_no_csrf_are_refused(client, engine, demo_db):
    own = await referral_of(demo_db, "Putu Pendek", "stunting")
    other = await referral_of(demo_db, "Gede Lampung", "2T", village=ANGGREK)
    csrf = csrf_of(await sign_in(client, demo_db, await staff_member(engine, demo_db)))
    refused = await client.post(f"/rujukan/{other}", data={"csrf": csrf, "outcome": "came"})
    assert refused.status == 404 and "Gede Lampung" not in await refused.text()
    assert (await client.post("/rujukan/abc", data={"csrf": csrf, "outcome": "came"})).status == 404
    bad = await client.post(f"/rujukan/{own}", data={"csrf": csrf, "outcome": "sembuh"})
    assert bad.status == 400 and "Pilih Datang, Ditangani" in await bad.text()
    long = await client.post(f"/rujukan/{own}", data={"csrf": csrf, "outcome": "came", "note": "x" * 201})
    assert long.status == 400 and "Catatan terlalu panjang (201 huruf, paling banyak 200)." in await long.text()
    forged = await client.post(f"/rujukan/{own}", data={"csrf": "not-the-token", "outcome": "came"})
    assert forged.status == 403
    missing = await client.post(f"/rujukan/{own}", data={"outcome": "came"})
    assert missing.status == 403
    async with demo_db.read() as session:
        assert (await session.get(Referral, own)).status == "open" and (await session.get(Referral, other)).status == "open"
        assert not (await session.scalars(select(AuditLog).where(AuditLog.action == "referral.outcome"))).all()


@needs_browser
async def test_in_a_browser_record_a_referrals_outcome(signed_in, live_web, request):
    page = signed_in
    referral = await referral_of(live_web.db, "Putu Pendek", "stunting", detail={"length_cm": 70.5, "measured": "l"})
    await referral_of(live_web.db, "Kadek Hilang", "underweight", status="not_found")
    await page.get_by_role("link", name="Rujukan").click()
    await page.get_by_role("heading", level=1, name="Rujukan").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    await shot(page, request, "list")
    card = page.locator(f"#rujukan-{referral}")
    await card.get_by_label("Ditangani").check()
    await card.get_by_label("Catatan (boleh kosong)").fill("diberi PMT")
    await card.get_by_role("button", name="Simpan hasil").click()
    await page.wait_for_url(f"**/rujukan?tersimpan={referral}")
    await page.get_by_role("status").get_by_text("Tersimpan: Putu Pendek, Stunting (pendek): Ditangani.").wait_for()
    assert await page.locator(f"#rujukan-{referral}").count() == 0 and await page.locator("article.referral h3", has_text="Kadek Hilang").count() == 1
    await shot(page, request, "saved")
    async with live_web.db.read() as session:
        row = await session.get(Referral, referral)
    assert (row.status, row.outcome_note) == ("treated", "diberi PMT")
