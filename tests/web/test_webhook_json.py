"""Webhook bodies that are not a JSON object sent as application/json, with the right secret or
signature: 400, nothing handled or stored, and no traceback in the log, on both webhooks. A
200,000-deep array used to make the parser raise ``RecursionError``: a 500 with a traceback."""
from __future__ import annotations

import json
import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from channels.telegram import TelegramChannel
from channels.whatsapp import WhatsAppChannel
from config import TelegramConfig, WhatsAppConfig
from db.models import Identity, InboundMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.whatsapp_api import sign
from web.app import MAX_BODY, build_app

SECRET = "rahasia_webhook-1"
APP_SECRET = "whatsapp-app-secret"
DEEP = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECT = b'{"a":' * 150_000 + b"1" + b"}" * 150_000  # 900 kB: under the 1 MB limit
JSON = "application/json"

BODIES = [
    ("200,000-deep array", DEEP, JSON),
    ("150,000-deep object", DEEP_OBJECT, JSON),
    ("cut off", b'{"update_id": 1, "message": {"text": "hal', JSON),
    ("not JSON", b"update_id=1&text=/start", JSON),
    ("not UTF-8", b"\xff\xfe\x00{", JSON),
    ("empty", b"", JSON),
    ("NaN only", b"NaN", JSON),
    ("a list", b"[1, 2, 3]", JSON),
    ("a number", b"12345", JSON),
    ("null", b"null", JSON),
    ("an object as text/plain", json.dumps({"update_id": 1, "object": "whatsapp_business_account", "entry": []}).encode(), "text/plain"),
    ("an object as a form", json.dumps({"update_id": 1, "object": "whatsapp_business_account", "entry": []}).encode(),
     "application/x-www-form-urlencoded"),
]
IDS = [case[0] for case in BODIES]


def _tracebacks(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.exc_text or "Traceback" in r.getMessage()]


async def _stored(db) -> tuple[int, int]:
    async with db.read() as session:
        return (await session.scalar(select(func.count()).select_from(Identity)),
                await session.scalar(select(func.count()).select_from(InboundMessage)))


@pytest.mark.parametrize(("case", "body", "content_type"), BODIES, ids=IDS)
async def test_the_telegram_webhook_refuses_what_is_not_a_json_object(engine, demo_db, caplog, case, body, content_type):
    caplog.set_level(logging.INFO)
    async with FakeTelegram() as fake:
        config = TelegramConfig(token=fake.token, mode="webhook", base_url=fake.base_url, base_file_url=fake.base_file_url,
                                webhook_url="https://bot.example.org/telegram/webhook", webhook_secret=SECRET)
        channel = TelegramChannel(config, engine.handle_durably)
        await channel.initialize()
        try:
            async with TestClient(TestServer(build_app(db=demo_db, telegram=channel, telegram_config=config))) as client:
                headers = {"Content-Type": content_type, "X-Telegram-Bot-Api-Secret-Token": SECRET}
                async with client.post("/telegram/webhook", data=body, headers=headers) as response:
                    status, answer = response.status, await response.json()
        finally:
            await channel.stop()
        assert [c.method for c in fake.sent] == [], f"{case}: the bot answered"
    assert (status, answer["ok"]) == (400, False), case
    assert await _stored(demo_db) == (0, 0)
    assert _tracebacks(caplog) == []


@pytest.mark.parametrize(("case", "body", "content_type"), BODIES, ids=IDS)
async def test_the_whatsapp_webhook_refuses_what_is_not_a_json_object(engine, demo_db, caplog, case, body, content_type):
    caplog.set_level(logging.INFO)
    config = WhatsAppConfig(phone_number_id="1098765432", access_token="token", app_secret=APP_SECRET,
                            verify_token="verify", graph_base_url="http://127.0.0.1:9/v26.0")
    channel = WhatsAppChannel(config, engine.handle_durably)
    try:
        async with TestClient(TestServer(build_app(db=demo_db, whatsapp=channel))) as client:
            headers = {"Content-Type": content_type, "X-Hub-Signature-256": sign(body, APP_SECRET)}
            async with client.post("/whatsapp/webhook", data=body, headers=headers) as response:
                status, answer = response.status, await response.json()
    finally:
        await channel.close()
    assert (status, answer["ok"]) == (400, False), case
    assert await _stored(demo_db) == (0, 0)
    assert _tracebacks(caplog) == []


async def test_a_json_object_with_a_charset_is_still_json(engine, demo_db):
    """``application/json; charset=utf-8`` is JSON: the control case (answered, stored)."""
    async with FakeTelegram() as fake:
        config = TelegramConfig(token=fake.token, mode="webhook", base_url=fake.base_url, base_file_url=fake.base_file_url,
                                webhook_url="https://bot.example.org/telegram/webhook", webhook_secret=SECRET)
        channel = TelegramChannel(config, engine.handle_durably)
        await channel.initialize()
        try:
            async with TestClient(TestServer(build_app(db=demo_db, telegram=channel, telegram_config=config))) as client:
                update = fake.text_update(880001, "/start")
                headers = {"Content-Type": "application/json; charset=utf-8", "X-Telegram-Bot-Api-Secret-Token": SECRET}
                async with client.post("/telegram/webhook", data=json.dumps(update).encode(), headers=headers) as response:
                    assert response.status == 200
        finally:
            await channel.stop()
        assert fake.texts_to(880001)
    assert await _stored(demo_db) == (1, 1)


async def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(engine, demo_db, caplog):
    caplog.set_level(logging.INFO)
    config = WhatsAppConfig(phone_number_id="1098765432", access_token="token", app_secret=APP_SECRET,
                            verify_token="verify", graph_base_url="http://127.0.0.1:9/v26.0")
    channel = WhatsAppChannel(config, engine.handle_durably)
    body = json.dumps({"object": "whatsapp_business_account", "entry": [], "pad": "x" * (MAX_BODY + 10)}).encode()
    try:
        async with TestClient(TestServer(build_app(db=demo_db, whatsapp=channel))) as client:
            headers = {"Content-Type": JSON, "X-Hub-Signature-256": sign(body, APP_SECRET)}
            async with client.post("/whatsapp/webhook", data=body, headers=headers) as response:
                assert response.status == 413
    finally:
        await channel.close()
    assert await _stored(demo_db) == (0, 0)
    assert _tracebacks(caplog) == []
