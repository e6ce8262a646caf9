"""In a real browser (headless Chromium), at desktop and phone widths: sign in through a link, read the
puskesmas page, switch to English and back, sign out. A screenshot of each page is kept in tests/artifacts/."""
from __future__ import annotations

from sqlalchemy import select

from db.models import Puskesmas
from tests.web.browser import needs_browser, shot
from tests.web.site import HOME

pytestmark = needs_browser


async def test_sign_in_read_the_puskesmas_switch_language_and_sign_out(signed_in, live_web, request):
    page = signed_in
    async with live_web.db.read() as session:
        name = await session.scalar(select(Puskesmas.name).where(Puskesmas.code == HOME))
    await page.get_by_role("heading", level=1, name=name).wait_for()
    assert await page.get_by_role("link", name="Posyandu Mawar").count() == 1
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]  # nothing wider than the screen, also on a phone
    await shot(page, request, "overview")

    await page.get_by_role("button", name="English").click()
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "en"
    await shot(page, request, "overview-en")

    await page.get_by_role("link", name="Posyandu Mawar").click()
    await page.get_by_role("heading", level=1, name="Posyandu Mawar").wait_for()
    await shot(page, request, "posyandu")

    await page.get_by_role("button", name="Bahasa Indonesia").click()
    await page.wait_for_load_state()
    assert await page.get_attribute("html", "lang") == "id"
    await page.get_by_role("button", name="Keluar").click()
    await page.wait_for_url(live_web.url + "/masuk")
    await shot(page, request, "signed-out")
    await page.goto(live_web.url + "/")
    assert page.url == live_web.url + "/masuk"  # the session is over
