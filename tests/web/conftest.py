"""Fixtures of the puskesmas web: the app on the test database with a clock moved by hand and metrics of
its own, a test client, and staff members with sign-in links (``tests.web.site``)."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from metrics import Metrics
from web.app import build_app


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def web_app(demo_db, settings, clock, metrics):
    """The whole web app (webhooks off) with the staff pages and /metrics."""
    return build_app(db=demo_db, settings=settings, metrics=metrics, clock=clock, dispatching=False)


@pytest.fixture
async def client(web_app):
    async with TestClient(TestServer(web_app)) as client:
        yield client


# the browser fixtures (tests/web/browser.py): a live server, a Chromium page per width, a signed-in page
from tests.web.browser import browser_page, live_web, signed_in  # noqa: E402,F401
