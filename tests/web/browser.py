"""Browser tests of the puskesmas web: headless Debian Chromium driven by Playwright for Python.

Fixtures (used by ``tests/web/test_browser.py``; a new page's browser test uses them too):

* ``live_web``: the whole app served on a real port of 127.0.0.1 over the test database (its ``url``,
  its ``db``, its ``clock``);
* ``browser_page``: a fresh browser page (one context per test), parametrised over :data:`WIDTHS`
  (``desktop`` 1280 px, ``phone`` 360 px);
* ``signed_in``: ``browser_page`` after signing in through a real one-time link of a staff member of the
  demo puskesmas (the link opened in the browser, its button pressed);
* :func:`shot`: a full-page screenshot kept under ``tests/artifacts/`` (gitignored), named by test and width.

Playwright cannot download its own browser here: the tests use ``/usr/bin/chromium``
(``apt-get install chromium``) and are skipped, with one line saying how to install both, when it or the
``playwright`` package is missing.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from metrics import Metrics
from tests.web.site import link_for, staff_member
from web.app import build_app

CHROMIUM = os.environ.get("ILPBOT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WIDTHS = {"desktop": (1280, 800), "phone": (360, 740)}
INSTALL = "browser tests need Chromium and Playwright: apt-get install chromium && pip install playwright"

try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    async_playwright = None


def browser_missing() -> str | None:
    """Why browser tests cannot run here (None: they can)."""
    if async_playwright is None or not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        return INSTALL
    return None


#: put on every browser test (or a module: ``pytestmark = needs_browser``)
needs_browser = pytest.mark.skipif(browser_missing() is not None, reason=INSTALL)


@dataclass
class LiveWeb:
    url: str
    db: object
    clock: object


@pytest.fixture
async def live_web(demo_db, settings, clock):
    """The app on a free port of 127.0.0.1 (sign-in links point at it)."""
    runner = web.AppRunner(build_app(db=demo_db, settings=settings, metrics=Metrics(), clock=clock, dispatching=False))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield LiveWeb(f"http://127.0.0.1:{port}", demo_db, clock)
    finally:
        await runner.cleanup()




@pytest.fixture(params=list(WIDTHS))
async def browser_page(request):
    """A page of headless Chromium at the parametrised width (``request.param``: desktop or phone)."""
    if browser_missing():
        pytest.skip(INSTALL)
    width, height = WIDTHS[request.param]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": width, "height": height}, locale="id-ID")
        page = await context.new_page()
        page.width_name = request.param
        try:
            yield page
        finally:
            await context.close()
            await browser.close()


@pytest.fixture
async def signed_in(browser_page, live_web, engine):
    """The browser signed in as a staff member of the demo puskesmas through a real link; at ``/``."""
    identity = await staff_member(engine, live_web.db)
    await browser_page.goto(live_web.url + await link_for(live_web.db, identity, now=live_web.clock.now))
    await browser_page.get_by_role("button", name="Masuk").click()
    await browser_page.wait_for_url(live_web.url + "/")
    return browser_page


async def shot(page, request, name: str = "") -> Path:
    """A full-page screenshot kept as a test artifact: ``tests/artifacts/<test>[-<name>]-<width>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.originalname or request.node.name)
    path = ARTIFACTS / f"{test}{'-' + name if name else ''}-{page.width_name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
