"""The SATUSEHAT page of the puskesmas web: its own puskesmas's items by state with name, what and why; the
refused ones sent again by a POST with CSRF (audited); another puskesmas's items never shown nor touched."""
from __future__ import annotations

from sqlalchemy import select

from db.models import AuditLog, SatusehatItem
from tests.helpers import queue_satusehat_dose
from tests.web.browser import needs_browser, shot
from tests.web.site import csrf_of, sign_in, staff_member

ANGGREK = "18.10.01.2011"  # a posyandu of another puskesmas


async def _queue(db) -> dict[str, int]:
    return {
        "refused": await queue_satusehat_dose(db, child="Putu Adi", reason="Patient.identifier tidak sesuai organisasi"),
        "waiting": await queue_satusehat_dose(db, child="Komang Budi", state="waiting", problem="no_nik", reason=None),
        "other": await queue_satusehat_dose(db, child="Gede Lampung", village_code=ANGGREK, reason="Lampung's refusal"),
    }


async def _states(db) -> dict[int, str]:
    async with db.read() as session:
        return dict((await session.execute(select(SatusehatItem.id, SatusehatItem.state))).all())


async def test_the_page_shows_its_own_puskesmass_counts_and_reasons_only(client, engine, demo_db):
    await _queue(demo_db)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    html = await (await client.get("/satusehat")).text()
    assert 'href="/satusehat"' in html  # in the page menu
    assert "Putu Adi, imunisasi BCG 12 Mar 2026: Patient.identifier tidak sesuai organisasi" in html
    assert "Komang Budi, imunisasi BCG 12 Mar 2026: Belum ada NIK" in html
    assert "Gede Lampung" not in html and "Lampung&#39;s refusal" not in html and "Lampung's refusal" not in html
    refused_row = html.split('id="jumlah-refused"')[1].split("</tr>")[0]
    assert "Ditolak" in refused_row and "<td>1</td>" in refused_row
    assert "Kirim ulang yang ditolak (1)" in html and "belum diaktifkan" in html


async def test_retrying_sends_own_refused_items_again_audited(client, engine, demo_db):
    items = await _queue(demo_db)
    staff = await staff_member(engine, demo_db)
    csrf = csrf_of(await sign_in(client, demo_db, staff))
    response = await client.post("/satusehat/kirim-ulang", data={"csrf": csrf}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/satusehat?dikirim=1"
    page = await (await client.get(response.headers["Location"])).text()
    assert "1 data yang ditolak akan dikirim lagi ke SATUSEHAT" in page and "Kirim ulang yang ditolak" not in page
    states = await _states(demo_db)
    assert (states[items["refused"]], states[items["waiting"]], states[items["other"]]) == ("pending", "waiting", "refused")
    async with demo_db.read() as session:
        (audited,) = (await session.scalars(select(AuditLog).where(AuditLog.action == "satusehat.retry"))).all()
    assert audited.actor_id == staff and audited.target_type == "puskesmas"
    assert audited.detail == {"via": "web", "states": ["refused"], "items": 1}


async def test_a_retry_without_or_with_a_wrong_csrf_token_is_refused(client, engine, demo_db):
    items = await _queue(demo_db)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    assert (await client.post("/satusehat/kirim-ulang", data={"csrf": "not-the-token"})).status == 403
    assert (await client.post("/satusehat/kirim-ulang", data={})).status == 403
    assert (await _states(demo_db))[items["refused"]] == "refused"
    async with demo_db.read() as session:
        assert not (await session.scalars(select(AuditLog).where(AuditLog.action == "satusehat.retry"))).all()


async def test_signed_out_the_page_asks_to_sign_in(client, demo_db):
    await _queue(demo_db)
    response = await client.get("/satusehat", allow_redirects=False)
    assert response.status in (302, 303, 401) and "Putu Adi" not in await response.text()


@needs_browser
async def test_in_a_browser_the_satusehat_page(signed_in, live_web, request):
    page = signed_in
    await queue_satusehat_dose(live_web.db, child="Putu Adi", reason="Patient.identifier tidak sesuai organisasi")
    await page.get_by_role("link", name="SATUSEHAT").click()
    await page.get_by_role("heading", level=1, name="SATUSEHAT").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    await shot(page, request, "list")
    await page.get_by_role("button", name="Kirim ulang yang ditolak (1)").click()
    await page.wait_for_url("**/satusehat?dikirim=1")
    await page.get_by_role("status").get_by_text("1 data yang ditolak akan dikirim lagi").wait_for()
