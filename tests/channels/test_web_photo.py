"""A photo of an announcement composed on the web (``broadcast_photo``): the outbox body names it as
``{"photo": "<id>", "photo_channel": "web"}`` and each channel fetches it through its media source "web"
(``bot.web_photos``), uploads it to its provider once and reuses the provider's id for the next recipient."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import bot
from channels.errors import PermanentFailure
from channels.telegram import TelegramChannel
from channels.whatsapp import WhatsAppChannel
from config import TelegramConfig, WhatsAppConfig
from db.models import Puskesmas
from reminders.announcements import store_photo
from reminders.dispatcher import reply_of
from tests.channels.outgoing import JPEG, NOW
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.whatsapp_api import FakeGraph


async def _stored(db) -> str:
    async with db.write() as session:
        puskesmas = await session.scalar(select(Puskesmas.id).limit(1))
        return str(await store_photo(session, puskesmas_id=puskesmas, data=JPEG, mime="image/jpeg", now=NOW))


def _body(ref: str) -> dict:
    return {"text": "Pengumuman Puskesmas Buleleng III:\nPosyandu besok jam 08.00.", "lang": "id", "photo": ref,
            "photo_channel": "web"}


async def _no_handler(incoming):
    raise AssertionError("nothing is handled here")


async def test_telegram_uploads_a_web_photo_once_then_sends_its_file_id(demo_db):
    ref = await _stored(demo_db)
    async with FakeTelegram() as fake:
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channel = TelegramChannel(config, _no_handler, freeze_gc=False)
        channel.media_sources["web"] = bot.web_photos(demo_db)
        await channel.initialize()
        try:
            await channel.send_one("42", reply_of(_body(ref), kind="broadcast"))
            await channel.send_one("43", reply_of(_body(ref), kind="broadcast"))
        finally:
            await channel.stop()
        first, second = fake.messages_to(42)[0], fake.messages_to(43)[0]
    assert first.method == "sendPhoto" and first.files["photo"].data == JPEG
    assert first.text.startswith("Pengumuman Puskesmas Buleleng III:")
    assert second.method == "sendPhoto" and not second.files  # the file_id Telegram gave the first time
    assert second.params["photo"] == first.result["photo"][-1]["file_id"]


async def test_whatsapp_uploads_a_web_photo_once_then_sends_its_media_id(demo_db):
    ref = await _stored(demo_db)
    async with FakeGraph(clock=lambda: NOW) as graph:
        graph.wire = []  # the requests, recorded
        for to in ("6281234500001", "6281234500002"):
            graph.set_last_inbound(to, NOW - timedelta(hours=1))
        config = WhatsAppConfig(phone_number_id=graph.phone_number_id, access_token=graph.token,
                                graph_base_url=graph.base_url, rate=0.0)
        channel = WhatsAppChannel(config, _no_handler, clock=lambda: NOW, media_sources={"web": bot.web_photos(demo_db)})
        try:
            await channel.send_one("6281234500001", reply_of(_body(ref), "broadcast", NOW - timedelta(hours=1)))
            await channel.send_one("6281234500002", reply_of(_body(ref), "broadcast", NOW - timedelta(hours=1)))
        finally:
            await channel.close()
        (media_id, (data, mime, _name)), = graph.uploads.items()
        images = [w["json"] for w in graph.wire if w["method"] == "POST" and w.get("json", {}).get("type") == "image"]
    assert data == JPEG and mime == "image/jpeg"
    assert [image["image"]["id"] for image in images] == [media_id, media_id]
    assert images[0]["image"]["caption"].startswith("Pengumuman Puskesmas Buleleng III:")


async def test_a_photo_no_longer_held_is_a_permanent_failure(demo_db):
    with pytest.raises(PermanentFailure):
        await bot.web_photos(demo_db)("999999")
