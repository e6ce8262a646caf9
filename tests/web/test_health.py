"""The web app's health check: ok while the database answers and every channel can send; a failing
status naming the problem when a channel stopped because of its configuration or account."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp.test_utils import TestClient, TestServer

from web.app import build_app


@dataclass
class StubChannel:
    problem: str | None = None


async def _health(app) -> tuple[int, dict]:
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        return response.status, await response.json()


async def test_healthz_is_ok_while_the_database_answers_and_the_channels_can_send(db):
    channels = {"telegram": StubChannel(), "whatsapp": StubChannel(), "local": None}
    assert await _health(build_app(db=db, channels=channels)) == (200, {"status": "ok"})


async def test_healthz_fails_naming_the_channel_that_stopped(db):
    problem = "WhatsApp error 133010: the business phone number is not registered with the Cloud API: register it"
    app = build_app(db=db, channels={"telegram": StubChannel(), "whatsapp": StubChannel(problem)})
    assert await _health(app) == (503, {"status": "error", "channels": {"whatsapp": problem}})


async def test_healthz_fails_when_the_database_does_not_answer():
    class Broken:
        def read(self):
            raise ConnectionError("database down")

    status, body = await _health(build_app(db=Broken()))
    assert status == 503 and body == {"status": "error", "database": "unavailable"}
