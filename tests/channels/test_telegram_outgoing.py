"""Golden table: each Reply in tests/fixtures/outgoing/telegram.json and the exact Bot API requests the
Telegram channel sends for it (method, path and body as the fake Bot API on 127.0.0.1 received them)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from channels.telegram import TelegramChannel
from config import TelegramConfig
from tests.channels.outgoing import JPEG, blob, compare, load, reply_of
from tests.fakes.telegram_api import JSON_FIELDS, FakeTelegram, StoredFile

CHAT = 42
CASES = load("telegram")


def request_of(wire: dict[str, Any], token: str) -> dict[str, Any]:
    """One request as the table writes it: JSON as sent; a form's values as sent, its JSON-typed fields
    (``reply_markup``, ``commands``, ``scope`` ...) read as JSON; files by name, type and blob."""
    request: dict[str, Any] = {"method": wire["method"], "path": wire["path"].replace(token, "<token>")}
    if wire["content_type"] == "application/json":
        request["json"] = wire["params"]
    else:
        request["form"] = {key: json.loads(value) if key in JSON_FIELDS and isinstance(value, str) else value
                           for key, value in wire["params"].items()}
        if wire["files"]:
            request["files"] = {key: {"filename": upload.filename, "content_type": upload.content_type,
                                      "data": blob(upload.data)} for key, upload in wire["files"].items()}
    if wire["status"] != 200:
        request["status"] = wire["status"]
    return request


def test_the_table_names_each_case_once():
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)) and len(names) >= 12


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
async def test_a_reply_becomes_exactly_these_bot_api_requests(case):
    async with FakeTelegram() as fake:
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channel = TelegramChannel(config, _no_handler, freeze_gc=False)
        await channel.initialize()
        try:
            fake.wire = []  # recorded from here on (not initialize's getMe)
            ref = case["reply"].get("image_ref")
            if ref and "image_channel" not in case["reply"]:  # a photo Telegram already has: the fake knows its file_id
                fake.files[ref] = StoredFile(ref, "AQADfake", "photos/file_1.jpg", JPEG)
            channel.media_sources = {"whatsapp": _whatsapp_photo}  # a photo sent on WhatsApp, fetched from there
            await channel.send_replies(CHAT, [reply_of(case["reply"])])
            sent = [request_of(wire, fake.token) for wire in fake.wire]
        finally:
            await channel.stop()
    compare(case["name"], sent, case["requests"])


async def _whatsapp_photo(media_id: str) -> tuple[bytes, str]:
    assert media_id == "1234567890123456"
    return JPEG, "image/jpeg"


async def _no_handler(incoming):
    raise AssertionError("no update is handled here")
