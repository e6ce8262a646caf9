"""The sasaran page of the puskesmas web: the chat's list for every posyandu of the puskesmas, its filters,
the CSV and XLSX of exactly the filtered rows, another puskesmas's posyandu refused, each view audited."""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select, update

from content.i18n import use_locale
from db.models import AuditLog, Family, Person, Posyandu, Referral
from handlers.targets import reasons_text
from reminders.targets import KIND_IMMUNISATION, KIND_PREGNANCY, Reason, kind_of, status_of
from tests.helpers import DEFAULT_NOW, chat_as, invited_chat, make_family
from tests.web.browser import needs_browser, shot
from tests.web.site import sign_in, staff_member
from web.targets import SCHEDULE

MAWAR, MELATI, ANGGREK = "51.08.06.2014", "51.08.06.2016", "18.10.01.2011"  # Anggrek: another puskesmas
TODAY = DEFAULT_NOW.date()  # 23 November 2026; Posyandu Mawar meets on the 5th


async def family_at(db, *, dusun: str, rt: str, village: str = MAWAR, name: str = "Keluarga",
                    members=(("Bayi", "M", date(2026, 9, 20)),)) -> Family:
    family = await make_family(db, village_code=village, name=name, members=members)
    async with db.write() as session:
        await session.execute(update(Family).where(Family.id == family.id).values(dusun=dusun, rt=rt))
    return family


async def posyandu_id(db, village: str) -> int:
    async with db.read() as session:
        return await session.scalar(select(Posyandu.id).where(Posyandu.village_code == village))


async def a_month_of_targets(db) -> None:
    """Families of two posyandu of the puskesmas and one of another: babies, a pregnant woman, a referral."""
    await family_at(db, dusun="Banjar Kaja", rt="002", name="Kaja",
                    members=(("Ayu Bayi", "F", date(2026, 9, 20)), ("Citra Ibu", "F", date(1995, 4, 2))))
    await family_at(db, dusun="Banjar Kelod", rt="001", name="Kelod", members=(("Eka Hamil", "F", date(1995, 4, 2)),))
    await family_at(db, dusun="Banjar Kaja", rt="10", name="Sepuluh", members=(("Dewi Dirujuk", "F", date(2025, 9, 1)),))
    await family_at(db, dusun="Banjar Tengah", rt="003", village=MELATI, name="Melati", members=(("Fajar Melati", "M", date(2026, 9, 20)),))
    await family_at(db, dusun="Banjar Kaja", rt="002", village=ANGGREK, name="Lampung", members=(("Gede Lampung", "M", date(2026, 9, 20)),))
    async with db.write() as session:
        await session.execute(update(Person).where(Person.name == "Eka Hamil").values(hpht=date(2026, 7, 1), due_date=date(2027, 4, 7)))
        dewi = (await session.scalars(select(Person).where(Person.name == "Dewi Dirujuk"))).one()
        family = await session.get(Family, dewi.family_id)
        session.add(Referral(person_id=dewi.id, posyandu_id=family.posyandu_id, reason="stunting", status="open",
                             opened_on=date(2026, 11, 2), created_at=DEFAULT_NOW))


def rows_of(html: str) -> list[str]:
    """The names on the page, in order."""
    return re.findall(r"<tr(?: class=\"home\")?>\s*<td>([^<]+?)(?: <span| *</td>)", html)


async def test_the_web_list_of_a_posyandu_is_the_chats_list(client, engine, demo_db, web_app):
    await a_month_of_targets(demo_db)
    mawar = await posyandu_id(demo_db, MAWAR)
    kader = await invited_chat(engine, demo_db, role="kader", address="kader-1", posyandu_id=mawar)
    await kader.say("/sasaran")
    chat_lines = [line[2:] for line in kader.text.splitlines() if line[:1] in ("\u2022", "\U0001f3e0")]
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    response = await client.get(f"/sasaran?posyandu={mawar}&format=csv")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig")), delimiter=";"))
    assert table[0][:6] == ["Posyandu", "Kader", "Dusun", "RT", "Nama", "Kode keluarga"]
    web_lines = [f"{row[4]} ({row[5]}): {row[7]}" for row in table[1:]]
    assert web_lines == chat_lines and len(web_lines) == 4  # the same people, order and reasons
    assert {row[0] for row in table[1:]} == {"Posyandu Mawar"}
    assert all(row[1] != "belum ada kader" for row in table[1:])  # the posyandu's kader is named


async def test_the_page_lists_every_posyandu_of_the_puskesmas_with_its_kaders_and_no_other(client, engine, demo_db):
    await a_month_of_targets(demo_db)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    response = await client.get("/sasaran")
    html = await response.text()
    assert response.status == 200
    assert "Fajar Melati" in html and "Ayu Bayi" in html and "Gede Lampung" not in html
    assert "Posyandu Mawar · Banjar Kaja, RT 002" in html and "Kader: belum ada kader" in html
    assert 'name="posyandu"' in html and 'href="/sasaran?format=csv"' in html


async def test_filters_narrow_the_list_and_the_download_holds_exactly_the_rows_shown(client, engine, demo_db):
    await a_month_of_targets(demo_db)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    mawar = await posyandu_id(demo_db, MAWAR)
    query = f"posyandu={mawar}&dusun=banjar+kaja&rt=2&status=overdue"
    html = await (await client.get(f"/sasaran?{query}")).text()
    shown = rows_of(html)
    # Ayu Bayi (RT 002) is due or missed only; Eka Hamil (Kelod), Dewi Dirujuk (RT 10), Fajar Melati (Melati) are elsewhere
    assert shown == ["Citra Ibu"]
    data = (await (await client.get(f"/sasaran?{query}&format=csv")).read()).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(data), delimiter=";"))[1:]
    assert [row[4] for row in table] == shown
    assert all(row[2] == "Banjar Kaja" and row[3] == "002" for row in table)
    assert all("terlambat" in row[7] for row in table)  # only overdue reasons stay on a row
    book = load_workbook(io.BytesIO(await (await client.get(f"/sasaran?{query}&format=xlsx")).read()))
    sheet = book.worksheets[0]
    assert [row[4] for row in sheet.iter_rows(min_row=2, values_only=True)] == shown


async def test_the_missed_filter_and_the_kind_filter(client, engine, demo_db, web_app):
    await a_month_of_targets(demo_db)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    missed = rows_of(await (await client.get("/sasaran?status=missed")).text())
    assert "Eka Hamil" in missed and "Ayu Bayi" in missed and "Citra Ibu" not in missed  # a woman not pregnant: no target
    data = (await (await client.get("/sasaran?kind=imunisasi&format=csv")).read()).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(data), delimiter=";"))[1:]
    assert [row[4] for row in table] == ["Ayu Bayi", "Dewi Dirujuk", "Fajar Melati"]  # Eka Hamil has no dose due
    assert table[1][6] == "ya"  # Dewi needs a home visit (her referral), whatever the filter shows
    assert all("tidak datang" not in row[7] and "belum ditimbang" not in row[7] for row in table)
    schedule = web_app[SCHEDULE]
    assert kind_of(Reason("due", "BCG"), schedule) == KIND_IMMUNISATION
    assert kind_of(Reason("due", "ANC2"), schedule) == KIND_PREGNANCY
    assert kind_of(Reason("birth", on=TODAY), schedule) == KIND_PREGNANCY
    assert status_of(Reason("late", "SKILAS")) == "overdue" and status_of(Reason("missed", on=TODAY)) == "missed"


async def test_another_puskesmass_posyandu_and_unknown_filters_are_refused(client, engine, demo_db):
    await a_month_of_targets(demo_db)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    other = await posyandu_id(demo_db, ANGGREK)
    refused = await client.get(f"/sasaran?posyandu={other}")
    assert refused.status == 404 and "Gede Lampung" not in await refused.text()
    download = await client.get(f"/sasaran?posyandu={other}&format=csv")
    assert download.status == 404 and "Gede Lampung" not in await download.text()
    for bad in ("status=soon", "kind=x", "posyandu=abc", "format=pdf"):
        response = await client.get(f"/sasaran?{bad}")
        assert response.status == 400, bad
        assert "Traceback" not in await response.text()


async def test_each_view_and_download_is_audited_with_its_filters(client, engine, demo_db):
    await a_month_of_targets(demo_db)
    staff = await staff_member(engine, demo_db)
    await sign_in(client, demo_db, staff)
    await client.get("/sasaran?status=due")
    await client.get("/sasaran?status=due&format=xlsx")
    async with demo_db.read() as session:
        rows = (await session.scalars(select(AuditLog).where(AuditLog.action.in_(("targets.viewed", "targets.downloaded")))
                                      .order_by(AuditLog.id))).all()
    assert [r.action for r in rows] == ["targets.viewed", "targets.downloaded"]
    assert all(r.actor_id == staff and r.detail["via"] == "web" and r.detail["status"] == "due" for r in rows)
    assert rows[1].detail["format"] == "xlsx"


def test_reasons_are_worded_as_in_the_chat():
    with use_locale("id"):
        assert reasons_text((Reason("missed", on=date(2026, 11, 5)),), TODAY) == "tidak datang ke posyandu 5 Nov"


# -- in a browser, at desktop and phone widths ----------------------------------------------------------

@needs_browser
async def test_in_a_browser_filter_the_list_and_download_it(signed_in, live_web, request):
    page = signed_in
    await a_month_of_targets(live_web.db)
    await page.get_by_role("link", name="Sasaran").click()
    await page.get_by_role("heading", level=1, name="Sasaran November 2026").wait_for()
    assert await page.get_by_text("Gede Lampung").count() == 0  # another puskesmas
    await shot(page, request, "all")
    await page.get_by_label("Status").select_option(label="Tidak datang ke posyandu")
    await page.get_by_label("Posyandu").select_option(label="Posyandu Mawar")
    await page.get_by_role("button", name="Saring").click()
    await page.wait_for_url("**/sasaran?*status=missed*")
    shown = [name.strip() for name in await page.locator("table.targets tbody tr td:first-child").all_inner_texts()]
    shown = [name.replace("kunjungan rumah", "").strip() for name in shown]
    assert shown == ["Ayu Bayi", "Dewi Dirujuk", "Eka Hamil"]  # Fajar Melati is of another posyandu
    assert await page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    await shot(page, request, "missed")
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="CSV").click()
    download = await waiting.value
    assert download.suggested_filename == "sasaran-2026-11.csv"
    text = Path(await download.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert [row[4] for row in table[1:]] == shown
    assert all(row[7] == "tidak datang ke posyandu 5 Nov" for row in table[1:])


async def test_the_list_is_computed_once_and_read_afresh_when_the_data_changes(client, engine, demo_db, monkeypatch):
    """Computing the list of 8,000 families takes seconds: it is kept per puskesmas and day, and a new
    referral or a dose given (db.coverage.targets_version) makes the next reading compute it again."""
    import web.targets as page

    computed = []
    real = page.targets_of

    async def counting(*args, **kwargs):
        computed.append(1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(page, "targets_of", counting)
    await a_month_of_targets(demo_db)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    first = rows_of(await (await client.get("/sasaran")).text())
    mawar = await posyandu_id(demo_db, MAWAR)
    assert rows_of(await (await client.get(f"/sasaran?posyandu={mawar}")).text()) == [n for n in first if n != "Fajar Melati"]
    assert len(computed) == 1  # the second reading, filtered, came from the kept list
    await family_at(demo_db, dusun="Banjar Kaja", rt="004", name="Baru", members=(("Hana Baru", "F", date(2026, 10, 1)),))
    client.app[page.CACHE].fresh = client.app[page.LISTINGS].fresh = 0.0  # the version is read at every reading from now on
    assert "Hana Baru" in rows_of(await (await client.get("/sasaran")).text()) and len(computed) == 2
    async with demo_db.write() as session:
        fajar = (await session.scalars(select(Person).where(Person.name == "Fajar Melati"))).one()
        family = await session.get(Family, fajar.family_id)
        session.add(Referral(person_id=fajar.id, posyandu_id=family.posyandu_id, reason="wasting", status="open",
                             opened_on=date(2026, 11, 20), created_at=DEFAULT_NOW))
    await client.get("/sasaran")
    assert len(computed) == 3


async def test_a_long_list_comes_in_pages_and_the_download_holds_it_all(client, engine, demo_db, monkeypatch):
    import web.targets as page

    monkeypatch.setattr(page, "PAGE_ROWS", 2)
    await a_month_of_targets(demo_db)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    table = list(csv.reader(io.StringIO((await (await client.get("/sasaran?format=csv")).read()).decode("utf-8-sig")), delimiter=";"))
    names = [row[4] for row in table[1:]]
    assert len(names) == 5
    first = await (await client.get("/sasaran")).text()
    assert rows_of(first) == names[:2] and "Halaman 1 dari 3" in first and "halaman=2" in first and 'rel="prev"' not in first
    last = await (await client.get("/sasaran?halaman=3")).text()
    assert rows_of(last) == names[4:] and 'rel="prev"' in last and 'rel="next"' not in last
    assert rows_of(await (await client.get("/sasaran?halaman=99")).text()) == names[4:]  # past the end: the last page
    assert rows_of(await (await client.get("/sasaran?halaman=x")).text()) == names[:2]


async def test_a_reload_is_audited_once_in_ten_minutes_and_other_filters_at_once(client, engine, demo_db, clock):
    """A view is audited once per session and filters in web.auth.VIEW_AUDIT_EVERY (a reload writes
    nothing); other filters, a download, and the same view ten minutes later are audited at once."""
    from web.auth import VIEW_AUDIT_EVERY

    await a_month_of_targets(demo_db)
    staff = await staff_member(engine, demo_db)
    await sign_in(client, demo_db, staff)

    async def audited() -> list[tuple[str, str | None, str | None]]:
        async with demo_db.read() as session:
            rows = (await session.scalars(select(AuditLog).where(AuditLog.action.in_(("targets.viewed", "targets.downloaded")))
                                          .order_by(AuditLog.id))).all()
        return [(r.action, r.detail.get("status"), r.detail.get("format")) for r in rows]

    for _ in range(3):
        assert (await client.get("/sasaran?status=due")).status == 200
    assert await audited() == [("targets.viewed", "due", None)]
    await client.get("/sasaran?status=missed")
    await client.get("/sasaran?status=due&format=csv")
    await client.get("/sasaran?status=due&format=csv")
    assert await audited() == [("targets.viewed", "due", None), ("targets.viewed", "missed", None),
                               ("targets.downloaded", "due", "csv"), ("targets.downloaded", "due", "csv")]
    clock.advance(seconds=VIEW_AUDIT_EVERY.total_seconds() - 1)
    await client.get("/sasaran?status=due")
    assert len(await audited()) == 4
    clock.advance(seconds=1)
    await client.get("/sasaran?status=due")
    assert (await audited())[4:] == [("targets.viewed", "due", None)]


async def test_a_renamed_posyandu_a_new_kader_and_new_data_show_on_a_filtered_page(client, engine, demo_db):
    """The posyandu and kaders are kept (read again at most every 2 s) and so is a filtered list (kept
    with the whole list it was filtered from): each shows what changed once read again."""
    import web.targets as page

    await a_month_of_targets(demo_db)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    mawar = await posyandu_id(demo_db, MAWAR)
    before = await (await client.get("/sasaran?status=missed&dusun=Banjar+Kaja")).text()
    assert "Posyandu Mawar ·" in before and "Kader: belum ada kader" in before and "Hana Baru" not in rows_of(before)
    async with demo_db.write() as session:
        (await session.get(Posyandu, mawar)).name = "Posyandu Mawar Sari"
    await chat_as(engine, demo_db, "kader", "kader-mawar")
    await family_at(demo_db, dusun="Banjar Kaja", rt="004", name="Baru", members=(("Hana Baru", "F", date(2026, 9, 1)),))
    client.app[page.DIRECTORIES].fresh = client.app[page.CACHE].fresh = 0.0  # read again at every reading from now on
    after = await (await client.get("/sasaran?status=missed&dusun=Banjar+Kaja")).text()
    assert "Posyandu Mawar Sari ·" in after and "Kader: kader #" in after and "belum ada kader" not in after
    assert "Hana Baru" in rows_of(after)
