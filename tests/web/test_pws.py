"""The PWS overview (``/``) and the people behind its numbers (``/pws/<indicator>``): the same numbers as the
chat's /laporan on a fixture of several posyandu, the month picker, the scope of the lists, and the traffic
light against the configured targets."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from care.coverage import report_table
from care.stages import add_months
from config import PwsConfig
from db.models import Identity, Measurement, Person, Posyandu, Visit
from handlers.flow import Ctx
from handlers.report import build_report
from tests.helpers import DEFAULT_NOW, make_family, record_care
from tests.web.browser import needs_browser, shot
from tests.web.site import sign_in, staff_member
from tests.web.test_pages import _other_posyandu
from web.app import build_app
from web.pws import SUMMARY
from web.pws_page import slug

MAWAR, MELATI, KENANGA = "51.08.06.2014", "51.08.06.2016", "51.08.06.2018"
IDL_AT = {"HB0": 0, "BCG": 0, "OPV1": 1, "DPT_HB_HIB1": 2, "OPV2": 2, "PCV1": 2, "RV1": 2, "DPT_HB_HIB2": 3, "OPV3": 3,
          "PCV2": 3, "RV2": 3, "DPT_HB_HIB3": 4, "OPV4": 4, "IPV1": 4, "RV3": 4, "MR1": 9, "IPV2": 9}
_CELL = re.compile(r'<a href="/pws/([^"?]+)\?bulan=(\d{4}-\d\d)&amp;posyandu=(\d+)">\s*<span class="pct">([^<]*)</span>'
                   r'.*?<span class="of">(\d+) dari (\d+)</span>', re.S)


async def _person(db, name: str) -> Person:
    async with db.read() as session:
        return (await session.scalars(select(Person).where(Person.name == name))).one()


async def _measured(db, name: str, village: str, *sizes: tuple[date, float, float | None]) -> None:
    """Visits with a weight (and a length) of a person at the posyandu."""
    person = await _person(db, name)
    async with db.write() as session:
        place = (await session.scalars(select(Posyandu).where(Posyandu.village_code == village))).one()
        for day, kg, cm in sizes:
            visit = Visit(person_id=person.id, posyandu_id=place.id, visited_on=day, place="posyandu", created_at=DEFAULT_NOW)
            session.add(visit)
            await session.flush()
            session.add(Measurement(visit_id=visit.id, kind="weight_kg", value=kg))
            if cm is not None:
                session.add(Measurement(visit_id=visit.id, kind="length_cm", value=cm, detail="h"))
    await record_care(db, person.id, *(("TIMBANG", day) for day, _kg, _cm in sizes), source="kader")


async def three_posyandu(db) -> None:
    """Children, weighings, doses and a pregnancy in three posyandu of the demo puskesmas (November 2026)."""
    await make_family(db, village_code=MAWAR, name="Keluarga Ayu", members=(("Made Ayu", "F", date(1996, 1, 2)),
                      ("Kadek Lengkap", "F", date(2025, 11, 10)), ("Komang Belum", "M", date(2025, 11, 20))))
    lengkap = await _person(db, "Kadek Lengkap")
    await record_care(db, lengkap.id, *((code, add_months(lengkap.birth_date, months)) for code, months in IDL_AT.items()))
    await record_care(db, (await _person(db, "Komang Belum")).id, ("HB0", date(2025, 11, 20)))
    await _measured(db, "Kadek Lengkap", MAWAR, (date(2026, 10, 5), 8.6, None), (date(2026, 11, 5), 9.1, 74.0))
    await _measured(db, "Komang Belum", MAWAR, (date(2026, 11, 5), 7.0, 66.0))
    await make_family(db, village_code=MELATI, name="Keluarga Sari", members=(("Ni Sari", "F", date(1998, 3, 3)),
                      ("Wayan Pendek", "M", date(2024, 5, 1)), ("Gede Baru", "M", date(2026, 9, 30))))
    await _measured(db, "Wayan Pendek", MELATI, (date(2026, 10, 10), 9.0, 76.0), (date(2026, 11, 10), 9.0, 76.5))
    await record_care(db, (await _person(db, "Gede Baru")).id, ("HB0", date(2026, 9, 30)), ("BCG", date(2026, 10, 20)),
                      ("KN1", date(2026, 10, 1)), ("KN2", date(2026, 10, 5)))
    async with db.write() as session:
        sari = (await session.scalars(select(Person).where(Person.name == "Ni Sari"))).one()
        sari.hpht = date(2026, 4, 1)
    await record_care(db, sari.id, ("ANC1", date(2026, 5, 20)), ("ANC", date(2026, 8, 1)), ("ANC", date(2026, 9, 1)),
                      ("ANC", date(2026, 10, 20)))
    await make_family(db, village_code=KENANGA, name="Keluarga Putra", members=(("Putu Putra", "M", date(2026, 3, 3)),))
    await record_care(db, (await _person(db, "Putu Putra")).id, ("HB0", date(2026, 3, 3)), ("BCG", date(2026, 4, 1)),
                      ("VITA_BIRU", date(2026, 11, 5)))


def _cells(html: str) -> dict[tuple[str, int], tuple[str, int, int]]:
    """(indicator slug, posyandu id) -> (percent, count, total) of the month's tables (the first of each)."""
    found: dict = {}
    for code, _month, place, pct, count, total in _CELL.findall(html):
        found.setdefault((code, int(place)), (pct.strip(), int(count), int(total)))
    return found


async def test_the_pws_shows_the_same_numbers_as_laporan_for_every_posyandu(client, engine, demo_db, settings, clock):
    await three_posyandu(demo_db)
    html = await sign_in(client, demo_db, await staff_member(engine, demo_db))
    cells = _cells(html)
    staff = await staff_member(engine, demo_db, "staff-laporan")
    compared = 0
    async with demo_db.read() as session:
        me = await session.get(Identity, staff)
        ctx = Ctx(session=session, identity=me, state=None, now=clock.now, today=clock.now.date(), settings=settings, data={})
        places = list(await session.scalars(select(Posyandu).where(Posyandu.village_code.in_((MAWAR, MELATI, KENANGA)))))
        for place in places:
            rows = {row.code: row for row in report_table(await build_report(ctx, place, 2026, 11))}
            for code in SUMMARY:
                pct, count, total = cells[slug(code), place.id]
                row = rows[code]
                assert (count, total) == (row.count, row.total), (place.name, code)
                assert pct == ("-" if row.percent is None else f"{row.percent:.1f}".replace(".", ",") + "%")
                compared += 1
            for code in ("HB0", "BCG", "MR1"):
                assert cells[slug(code), place.id][1:] == (rows[code].count, rows[code].total)
    assert compared == 3 * len(SUMMARY)
    mawar = next(p for p in places if p.village_code == MAWAR)
    assert cells["idl", mawar.id][1:] == (1, 2) and cells["d-s", mawar.id][1:] == (2, 2)  # the fixture counts something


async def test_the_month_picker_chooses_the_month_and_refuses_what_is_not_one(client, engine, demo_db):
    html = await sign_in(client, demo_db, await staff_member(engine, demo_db))
    assert 'type="month"' in html and 'value="2026-11"' in html and "November 2026" in html  # this month by default
    october = await client.get("/?bulan=2026-10")
    assert october.status == 200 and "Oktober 2026" in await october.text() and 'value="2026-10"' in await october.text()
    for bad in ("2026-13", "kemarin", "2027-01", "1999-12"):
        response = await client.get(f"/?bulan={bad}")
        assert response.status == 400 and "Bulan tidak dikenali" in await response.text()


async def test_the_people_behind_a_number_are_the_puskesmas_own_and_another_puskesmas_is_refused(client, engine, demo_db):
    await three_posyandu(demo_db)
    await sign_in(client, demo_db, await staff_member(engine, demo_db))
    async with demo_db.read() as session:
        mawar = (await session.scalars(select(Posyandu).where(Posyandu.village_code == MAWAR))).one()
    response = await client.get(f"/pws/idl?posyandu={mawar.id}&bulan=2026-11")
    html = await response.text()
    assert response.status == 200 and "1 dari 2" in html
    assert re.search(r"Kadek Lengkap</th>.*?Banjar Kelod / RT 001.*?12 bulan|Kadek Lengkap</th>.*?Banjar Kelod / RT 001.*?1 tahun", html, re.S)
    assert re.search(r"Kadek Lengkap</th>.*?status yes\">sudah", html, re.S) and re.search(r"Komang Belum</th>.*?status no\">belum", html, re.S)
    whole = await (await client.get("/pws/d-s?bulan=2026-11")).text()  # the whole puskesmas
    assert "Wayan Pendek" in whole and "Kadek Lengkap" in whole and "Seluruh puskesmas" in whole
    year = await (await client.get(f"/pws/d-s?bulan=2026-11&tahun=1&posyandu={mawar.id}")).text()
    assert "Okt 2026" in year and "Nov 2026" in year
    other = await _other_posyandu(demo_db)
    refused = await client.get(f"/pws/idl?posyandu={other}&bulan=2026-11")
    assert refused.status == 404 and "Posyandu Jauh" not in await refused.text()
    assert (await client.get("/pws/bukan-indikator?bulan=2026-11")).status == 404
    assert (await client.get("/pws/idl?posyandu=abc")).status == 404
    assert (await client.get("/pws/idl?bulan=2026-99")).status == 400


async def test_the_light_of_a_cell_follows_the_configured_target_in_colour_shape_and_words(engine, demo_db, settings, clock, metrics):
    await three_posyandu(demo_db)
    async with demo_db.read() as session:
        mawar = (await session.scalars(select(Posyandu).where(Posyandu.village_code == MAWAR))).one()
    staff = await staff_member(engine, demo_db)

    async def idl_cell(targets: dict) -> str:
        configured = replace(settings, pws=PwsConfig(targets={**settings.pws.targets, **targets}))
        async with TestClient(TestServer(build_app(db=demo_db, settings=configured, metrics=metrics, clock=clock,
                                                   dispatching=False))) as client:
            html = await sign_in(client, demo_db, staff)
        found = re.search(r'<td class="pws-cell (\w+)">\s*<a href="/pws/idl\?bulan=2026-11&amp;posyandu=%d">(.*?)</td>' % mawar.id, html, re.S)
        assert found, "no IDL cell of Posyandu Mawar"
        return found.group(1) + " " + found.group(2)

    good = await idl_cell({"IDL": 50})  # Mawar's IDL is 1 of 2: 50 %
    assert good.startswith("good") and "\u25cf" in good and "tercapai" in good
    near = await idl_cell({"IDL": 55})
    assert near.startswith("near") and "\u25b2" in near and "hampir" in near
    behind = await idl_cell({"IDL": 90})
    assert behind.startswith("behind") and "\u25a0" in behind and "di bawah target" in behind


@needs_browser
async def test_the_pws_reads_at_desktop_and_phone_width(signed_in, live_web, request):
    await three_posyandu(live_web.db)
    page = signed_in
    await page.goto(live_web.url + "/?bulan=2026-11")
    await page.get_by_role("heading", level=2, name="Bulan November 2026", exact=True).wait_for()
    assert await page.locator("table.pws").count() == 4 and await page.locator("svg.chart > title").count() == len(SUMMARY)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]  # the tables scroll inside their box, the page does not
    first = page.locator("table.pws").first.locator("tbody th").first
    assert await first.evaluate("e => getComputedStyle(e).position") == "sticky"  # the name column stays
    await shot(page, request, "pws")
    await page.get_by_label("Bulan", exact=True).fill("2026-10")
    await page.get_by_role("button", name="Tampilkan").click()
    await page.get_by_role("heading", level=2, name="Bulan Oktober 2026", exact=True).wait_for()
    await page.goto(live_web.url + "/?bulan=2026-11")
    async with live_web.db.read() as session:
        mawar = await session.scalar(select(Posyandu.id).where(Posyandu.village_code == MAWAR))
    await page.locator(f'a[href="/pws/idl?bulan=2026-11&posyandu={mawar}"]').first.click()
    await page.get_by_role("heading", level=1, name="IDL").wait_for()
    assert await page.get_by_role("rowheader", name="Kadek Lengkap").count() == 1
    await shot(page, request, "pws-people")


async def test_the_cache_computes_a_page_once_per_data_version_and_for_readers_at_once_only_once():
    import asyncio

    from web.pws import Cache

    now, version, computed = [0.0], [("v", 1)], []

    async def compute():
        computed.append(version[0])
        await asyncio.sleep(0)
        return f"page {len(computed)}"

    async def current():
        return version[0]

    cache = Cache(size=2, fresh=1.0, max_age=60.0, clock=lambda: now[0])
    assert await asyncio.gather(*(cache.get("a", current, compute) for _ in range(5))) == ["page 1"] * 5
    now[0] = 5.0
    assert await cache.get("a", current, compute) == "page 1"  # version read again: the same
    version[0] = ("v", 2)
    assert await cache.get("a", current, compute) == "page 1"  # read within `fresh` of the last check
    now[0] = 7.0
    assert await cache.get("a", current, compute) == "page 2"  # new data
    now[0] = 100.0
    assert await cache.get("a", current, compute) == "page 3"  # older than max_age
    await cache.get("b", current, compute)
    await cache.get("c", current, compute)  # size 2: "a" (least recently read) is dropped
    assert await cache.get("a", current, compute) == "page 6"
    assert computed == [("v", 1), ("v", 2), ("v", 2), ("v", 2), ("v", 2), ("v", 2)]


async def test_the_overview_shows_a_new_record_after_a_cached_reading(client, engine, demo_db):
    from web.pws_page import CACHE

    await three_posyandu(demo_db)
    client.server.app[CACHE].fresh = 0  # read the data version on every reading
    html = await sign_in(client, demo_db, await staff_member(engine, demo_db))
    async with demo_db.read() as session:
        putra = (await session.scalars(select(Posyandu).where(Posyandu.village_code == KENANGA))).one()
    before = _cells(html)["d-s", putra.id]
    async with client.get("/") as again:
        assert _cells(await again.text())["d-s", putra.id] == before  # served from the cache
    await _measured(demo_db, "Putu Putra", KENANGA, (date(2026, 11, 6), 7.5, None))
    async with client.get("/") as after:
        assert _cells(await after.text())["d-s", putra.id][1:] == (before[1] + 1, before[2])


async def test_the_cache_serves_the_kept_page_while_one_reader_reads_the_version():
    """Readers that come while one reader reads the version (a query of some 40 ms on a large database)
    get the kept page rather than queue; once the version is found changed, readers wait for the new page."""
    import asyncio

    from web.pws import Cache

    now, computed = [0.0], []
    reading, go = asyncio.Event(), asyncio.Event()

    async def compute():
        computed.append(1)
        return f"page {len(computed)}"

    async def same():
        return ("v", 1)

    async def slow_changed():
        reading.set()
        await go.wait()
        return ("v", 2)

    cache = Cache(fresh=1.0, clock=lambda: now[0])
    assert await cache.get("a", same, compute) == "page 1"
    now[0] = 5.0
    checking = asyncio.create_task(cache.get("a", slow_changed, compute))
    await reading.wait()
    assert await cache.get("a", same, compute) == "page 1"  # served the kept page at once
    go.set()
    assert await checking == "page 2"
    assert await cache.get("a", same, compute) == "page 2" and len(computed) == 2


async def test_the_overview_is_drawn_once_and_each_reader_gets_their_own_csrf_token(client, engine, demo_db, monkeypatch):
    """The overview is the same for every reader of the puskesmas but for the CSRF token of its forms: it
    is drawn once (web.render.render_kept) and each session's token put into it."""
    import web.render as render_module
    from db.models import WebSession
    from tests.web.site import csrf_of

    await three_posyandu(demo_db)
    drawn = []
    real = render_module.render

    def counting(*args, **kwargs):
        drawn.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(render_module, "render", counting)
    first, second = await staff_member(engine, demo_db), await staff_member(engine, demo_db, "staff-web-2")
    pages = {}
    for identity in (first, second):
        client.session.cookie_jar.clear()
        pages[identity] = await sign_in(client, demo_db, identity)
        assert (await client.get("/")).status == 200
    assert drawn.count("overview.html") == 1
    async with demo_db.read() as session:
        tokens = {s.identity_id: s.csrf for s in (await session.scalars(select(WebSession))).all()}
    assert {identity: csrf_of(html) for identity, html in pages.items()} == tokens and len(set(tokens.values())) == 2
    assert pages[first].replace(tokens[first], "") == pages[second].replace(tokens[second], "")
