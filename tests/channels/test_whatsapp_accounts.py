"""Two WhatsApp numbers in one deployment: each with its own webhook (and app secret), its own 24-hour
windows; a chat is always reached from the number it wrote to last (issue 20, item 4)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select

from channels.whatsapp import WhatsAppChannel
from db.models import Identity, Outbox
from handlers.engine import Engine
from reminders.dispatcher import Dispatcher
from tests.channels.whatsapp_world import TEMPLATES
from tests.fakes import whatsapp_api as meta
from tests.fakes.whatsapp_api import FakeGraph
from tests.reminders.test_dispatcher import add_row
from web.app import build_app

WA_ID = "6281234500077"


async def _identity(db) -> tuple[int, str, str]:
    async with db.read() as session:
        row = (await session.execute(select(Identity.id, Identity.address, Identity.account)
                                     .where(Identity.channel == "whatsapp", Identity.address == WA_ID))).one()
    return row[0], row[1], row[2]


async def test_each_number_has_its_webhook_and_its_windows_and_a_chat_is_reached_from_the_one_it_wrote_to(
        demo_db, settings, clock):
    async with FakeGraph(templates=TEMPLATES, clock=clock) as first, \
            FakeGraph(templates=TEMPLATES, clock=clock, token="other-token", phone_number_id="2220002220",
                      app_secret="other-app-secret") as second:
        engine = Engine(demo_db, settings, clock=clock)
        channels = {}
        for name, graph, path in (("default", first, settings.whatsapp.webhook_path), ("kota", second, "/whatsapp/kota")):
            config = replace(settings.whatsapp, phone_number_id=graph.phone_number_id, access_token=graph.token,
                             app_secret=graph.app_secret, verify_token="v", graph_base_url=graph.base_url, webhook_path=path)
            channels[name] = WhatsAppChannel(config, engine.handle_durably, clock=clock, account=name)
        runner = web.AppRunner(build_app(db=demo_db, whatsapp=channels["default"], accounts=[channels["kota"]]), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        dispatcher = Dispatcher(demo_db, {("whatsapp", name): c.send_one for name, c in channels.items()},
                                clock=clock, rates={"whatsapp": None}, per_chat_interval=0)
        try:
            # signed with the other number's app secret: refused
            status, _ = await first.post_webhook(f"{base}/whatsapp/kota", meta.text_message(WA_ID, "halo", phone_number_id="2220002220", timestamp=clock.now))
            assert status == 401
            status, _ = await second.post_webhook(f"{base}/whatsapp/kota", meta.text_message(WA_ID, "halo", phone_number_id="2220002220", timestamp=clock.now))
            assert status == 200 and second.messages_to(WA_ID) and not first.messages_to(WA_ID)  # answered from "kota"
            identity_id, address, account = await _identity(demo_db)
            assert account == "kota"

            await add_row(demo_db, (identity_id, address), text="Pengingat satu", channel="whatsapp", kind="daily",
                          expires_at=clock.now + timedelta(days=1))
            assert (await dispatcher.run_once()).sent == 1
            sent = second.messages_to(WA_ID)[-1]
            assert sent["type"] == "text"  # inside the window the chat opened with this number
            assert first.messages_to(WA_ID) == [] and first.refused == []

            clock.advance(hours=25)  # the window with "kota" has closed: a template, from "kota" still
            await add_row(demo_db, (identity_id, address), text="Pengingat dua", channel="whatsapp", kind="daily",
                          not_before=clock.now - timedelta(minutes=1), expires_at=clock.now + timedelta(days=1))
            assert (await dispatcher.run_once()).sent == 1
            assert second.messages_to(WA_ID)[-1]["type"] == "template" and first.messages_to(WA_ID) == []

            status, _ = await first.post_webhook(f"{base}{settings.whatsapp.webhook_path}", meta.text_message(WA_ID, "halo lagi", timestamp=clock.now))
            assert status == 200 and (await _identity(demo_db))[2] == "default"  # it wrote to the other number now
            await add_row(demo_db, (identity_id, address), text="Pengingat tiga", channel="whatsapp", kind="daily",
                          not_before=clock.now - timedelta(minutes=1), expires_at=clock.now + timedelta(days=1))
            before = len(second.messages_to(WA_ID))
            assert (await dispatcher.run_once()).sent == 1
            assert first.messages_to(WA_ID)[-1]["type"] == "text" and len(second.messages_to(WA_ID)) == before
            async with demo_db.read() as session:
                assert set((await session.scalars(select(Outbox.state))).all()) == {"sent"}
        finally:
            await runner.cleanup()
            for channel in channels.values():
                await channel.close()
