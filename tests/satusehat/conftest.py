import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from satusehat.client import Client
from tests.satusehat.common import ORG
from tests.satusehat.fake_server import CLIENT_ID, CLIENT_SECRET, FakeSatusehat


class NoSleep:
    """A clock that moves only when slept on: pacing and backoff are counted, not waited."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
async def fake():
    """The fake SATUSEHAT on 127.0.0.1; a call nobody expected fails the test."""
    server = FakeSatusehat(ORG)
    test_server = TestServer(server.app(), host="127.0.0.1")
    await test_server.start_server()
    server.url = str(test_server.make_url("")).rstrip("/")
    try:
        yield server
    finally:
        await test_server.close()
    assert server.unexpected == [], server.unexpected


@pytest.fixture
def time_():
    return NoSleep()


@pytest.fixture
async def client(fake, time_):
    async with aiohttp.ClientSession() as http:
        yield Client(http, auth_url=f"{fake.url}/oauth2/v1", base_url=f"{fake.url}/fhir-r4/v1", client_id=CLIENT_ID,
                     client_secret=CLIENT_SECRET, per_minute=300, clock=time_.clock, sleep=time_.sleep)
