"""Jadwal posyandu on the web: the month with its holidays; move, cancel or add a session with a reason, the
families' message and its count previewed (the chat's words and recipients), a Sunday or holiday warned
about, saved and audited only on confirm; another puskesmas's posyandu refused; CSRF; bad input answered."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from db.models import AuditLog, Outbox, Posyandu, PosyanduException
from tests.helpers import make_family
from tests.web.browser import needs_browser, shot
from tests.web.site import csrf_of, sign_in, staff_member

# the tests' today at the puskesmas (WITA) is Monday 23 November 2026; Posyandu Mawar meets on the 5th


async def _place(db, name: str) -> int:
    async with db.read() as session:
        return await session.scalar(select(Posyandu.id).where(Posyandu.name == name))


async def _signed_in(client, engine, db) -> str:
    return csrf_of(await sign_in(client, db, await staff_member(engine, db)))


async def _count(db, model) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_the_month_shows_each_posyandus_days_and_the_holidays(client, engine, demo_db):
    await _signed_in(client, engine, demo_db)
    html = await (await client.get("/jadwal?bulan=2026-12")).text()
    assert "Desember 2026" in html
    assert "Posyandu Mawar" in html and "Sabtu, 5 Desember" in html
    assert "Posyandu Melati" in html and "Selasa, 8 Desember" in html  # the second Tuesday
    assert "Kelahiran Yesus Kristus" in html and "Posyandu Anggrek" not in html
    mawar = await _place(demo_db, "Posyandu Mawar")
    assert f"/jadwal/ubah?posyandu={mawar}&amp;jenis=moved&amp;sesi=2026-12-05" in html
    # a month long past: shown, but nothing in it may be changed
    old = await (await client.get("/jadwal?bulan=2026-01")).text()
    assert "Januari 2026" in old and "jenis=moved" not in old
    assert (await client.get("/jadwal?bulan=rubbish")).status == 200


async def test_move_a_session_preview_then_save_and_the_families_are_told(client, engine, demo_db):
    await make_family(demo_db, identity_address="fam-mawar")
    await make_family(demo_db, village_code="51.08.06.2016", identity_address="fam-melati")
    csrf = await _signed_in(client, engine, demo_db)
    mawar = await _place(demo_db, "Posyandu Mawar")
    form_page = await client.get(f"/jadwal/ubah?posyandu={mawar}&jenis=moved&sesi=2026-12-05")
    assert form_page.status == 200 and 'name="baru"' in await form_page.text()
    form = {"csrf": csrf, "posyandu": str(mawar), "jenis": "moved", "sesi": "2026-12-05", "baru": "2026-12-07",
            "alasan": "bidan pelatihan"}

    preview = await client.post("/jadwal/pratinjau", data=form)
    html = await preview.text()
    assert preview.status == 200
    assert "Pesan ini akan dikirim ke 1 keluarga dan kader:" in html
    assert "Posyandu Mawar: jadwal Sabtu, 5 Desember dipindah ke Senin, 7 Desember. Alasan: bidan pelatihan" in html
    assert "biasanya libur" not in html
    assert await _count(demo_db, PosyanduException) == 0  # nothing saved by a preview

    saved = await client.post("/jadwal/simpan", data=form, allow_redirects=False)
    assert saved.status == 303 and saved.headers["Location"] == "/jadwal?bulan=2026-12&tersimpan=1"
    async with demo_db.read() as session:
        change = (await session.scalars(select(PosyanduException))).one()
        notices = list(await session.scalars(select(Outbox).where(Outbox.kind == "calendar")))
        audit = (await session.scalars(select(AuditLog).where(AuditLog.action == "posyandu.moved"))).one()
    assert (change.kind, change.original_date, change.new_date, change.reason) == ("moved", date(2026, 12, 5), date(2026, 12, 7), "bidan pelatihan")
    assert [n.address for n in notices] == ["fam-mawar"] and notices[0].key == f"calendar:{change.id}:{notices[0].identity_id}"
    assert "dipindah ke Senin, 7 Desember" in notices[0].body["text"]
    assert audit.target_id == mawar and audit.detail == {"via": "web", "change": change.id, "recipients": 1}
    html = await (await client.get(saved.headers["Location"])).text()
    assert "Tersimpan. 1 keluarga dan kader diberi tahu." in html and "Senin, 7 Desember" in html and "dipindah dari 5 Des" in html


async def test_a_sunday_or_holiday_is_warned_about_and_cancel_and_extra_work(client, engine, demo_db):
    csrf = await _signed_in(client, engine, demo_db)
    mawar = await _place(demo_db, "Posyandu Mawar")
    sunday = await client.post("/jadwal/pratinjau", data={"csrf": csrf, "posyandu": str(mawar), "jenis": "extra",
                                                          "baru": "2026-12-06", "alasan": "kejar imunisasi"})
    assert "Minggu, 6 Desember 2026 adalah hari Minggu. Posyandu biasanya libur pada hari itu." in await sunday.text()
    christmas = await client.post("/jadwal/pratinjau", data={"csrf": csrf, "posyandu": str(mawar), "jenis": "extra",
                                                             "baru": "25-12-2026", "alasan": "kejar imunisasi"})
    assert "hari libur nasional (Kelahiran Yesus Kristus)" in await christmas.text()

    form = {"csrf": csrf, "posyandu": str(mawar), "jenis": "cancelled", "sesi": "2026-12-05", "alasan": "banjir"}
    assert "jadwal Sabtu, 5 Desember dibatalkan. Alasan: banjir" in await (await client.post("/jadwal/pratinjau", data=form)).text()
    assert (await client.post("/jadwal/simpan", data=form, allow_redirects=False)).status == 303
    html = await (await client.get("/jadwal?bulan=2026-12")).text()
    assert "Sabtu, 5 Desember" not in html
    async with demo_db.read() as session:
        assert (await session.scalars(select(AuditLog.action).where(AuditLog.action.like("posyandu.%")))).all() == ["posyandu.cancelled"]


async def test_bad_changes_are_answered_on_the_form(client, engine, demo_db):
    csrf = await _signed_in(client, engine, demo_db)
    mawar = str(await _place(demo_db, "Posyandu Mawar"))
    base = {"csrf": csrf, "posyandu": mawar, "jenis": "moved", "sesi": "2026-12-05", "baru": "2026-12-07", "alasan": "bidan pelatihan"}
    cases = {
        "Pilih tanggal dari daftar.": {"sesi": "2026-12-04"},  # no session that day
        "Pilih tanggal dari hari ini sampai 90 hari ke depan.": {"baru": "2026-11-01"},
        "Itu tanggal sesi yang dipindah.": {"baru": "2026-12-05"},
        "Itu tanggal, bukan alasan.": {"alasan": "7-12"},
        "Tulis alasannya singkat": {"alasan": "x"},
        "Tulis tanggal barunya.": {"baru": ""},
        "Pilih dari daftar.": {"jenis": "pindah"},
    }
    for said, change in cases.items():
        response = await client.post("/jadwal/simpan", data={**base, **change})
        assert response.status == 400 and said in await response.text(), said
    assert await _count(demo_db, PosyanduException) == 0


async def test_another_puskesmass_posyandu_is_refused_and_forms_need_the_token(client, engine, demo_db):
    csrf = await _signed_in(client, engine, demo_db)
    anggrek = await _place(demo_db, "Posyandu Anggrek")
    assert (await client.get(f"/jadwal/ubah?posyandu={anggrek}&jenis=extra")).status == 404
    form = {"csrf": csrf, "posyandu": str(anggrek), "jenis": "extra", "baru": "2026-12-07", "alasan": "bidan pelatihan"}
    assert (await client.post("/jadwal/pratinjau", data=form)).status == 404
    assert (await client.post("/jadwal/simpan", data=form)).status == 404
    mawar = await _place(demo_db, "Posyandu Mawar")
    own = {**form, "posyandu": str(mawar)}
    for path in ("/jadwal/pratinjau", "/jadwal/simpan"):
        assert (await client.post(path, data={k: v for k, v in own.items() if k != "csrf"})).status == 403
    assert await _count(demo_db, PosyanduException) == 0


@needs_browser
async def test_in_a_browser_move_a_posyandu_day(signed_in, live_web, request):
    page = signed_in
    await make_family(live_web.db, identity_address="fam-mawar")
    await page.get_by_role("link", name="Jadwal posyandu").click()
    await page.get_by_role("heading", level=1, name="Jadwal posyandu").wait_for()
    assert await page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    await shot(page, request, "month")
    await page.get_by_role("link", name="Desember 2026").click()
    await page.get_by_role("heading", level=2, name="Desember 2026").wait_for()
    mawar = await _place(live_web.db, "Posyandu Mawar")
    await page.locator(f'a[href="/jadwal/ubah?posyandu={mawar}&jenis=moved&sesi=2026-12-05"]').click()
    await page.get_by_role("heading", level=1, name="Pindahkan sesi").wait_for()
    await page.get_by_label("Tanggal baru").fill("2026-12-07")
    await page.get_by_label("Alasan").fill("bidan pelatihan")
    await page.get_by_role("button", name="Pratinjau").click()
    await page.get_by_text("Pesan ini akan dikirim ke 1 keluarga dan kader:").wait_for()
    assert await page.get_by_text("dipindah ke Senin, 7 Desember. Alasan: bidan pelatihan").count() == 1
    await shot(page, request, "preview")
    await page.get_by_role("button", name="Simpan dan kirim").click()
    await page.get_by_text("Tersimpan. 1 keluarga dan kader diberi tahu.").wait_for()
    assert await page.get_by_text("dipindah dari 5 Des").count() == 1
    assert await page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    await shot(page, request, "moved")
    async with live_web.db.read() as session:
        assert (await session.scalars(select(PosyanduException.new_date))).all() == [date(2026, 12, 7)]
