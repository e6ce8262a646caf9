"""The real ``bot.py run`` process with only WhatsApp configured, against the fake Graph API."""
from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from sqlalchemy import select

from db.models import Family, Identity
from tests.channels.whatsapp_world import TEMPLATES, VERIFY_TOKEN, WaChat
from tests.fakes.whatsapp_api import FakeGraph
from tests.helpers import add_member, register_household

ROOT = Path(__file__).resolve().parents[2]
MOTHER = "6281234509999"


class _Bot:
    def __init__(self, graph: FakeGraph, url: str) -> None:
        self.graph, self.url = graph, url


async def _wait_healthy(port: int, process) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            assert process.returncode is None, "the bot exited"
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the bot did not start")


async def test_the_bot_process_serves_whatsapp_alone(demo_db, db_url):
    from tests.channels.telegram_bot import free_port

    async with FakeGraph(templates=TEMPLATES) as graph:
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("ILPBOT_", "TELEGRAM_", "WHATSAPP_"))},
            "WHATSAPP_PHONE_NUMBER_ID": graph.phone_number_id, "WHATSAPP_ACCESS_TOKEN": graph.token,
            "WHATSAPP_APP_SECRET": graph.app_secret, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "ILPBOT_WHATSAPP_GRAPH_BASE_URL": graph.base_url, "ILPBOT_DATABASE_URL": db_url,
            "ILPBOT_WEB_PORT": str(port), "ILPBOT_REMINDERS_ENABLED": "false",
            "ILPBOT_INBOUND_BURST": "100000",  # the scripted user types faster than the inbound limit allows
        }
        log = Path(tempfile.gettempdir()) / f"ilpbot-test-{os.getpid()}-{port}.log"
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "bot.py"), "run", cwd=str(ROOT), env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
            )
            try:
                await _wait_healthy(port, process)
                url = f"http://127.0.0.1:{port}/whatsapp/webhook"
                graph.webhook_url = url
                graph.auto_status = ("sent", "delivered", "read")
                assert await graph.verify_webhook(url, VERIFY_TOKEN, challenge="42") == (200, "42")
                chat = WaChat(_Bot(graph, url), MOTHER)
                await chat.say("Halo")
                assert "setuju" in chat.text
                await register_household(chat)
                await add_member(chat, "Ni Luh Sari", "Perempuan", "2-4-1995", pregnant="20 minggu")
                await chat.press("Selesai")
                assert "Pendaftaran selesai" in chat.text
                await graph.drain()
                assert all(d["status"] == 200 for d in graph.webhook_deliveries)
            finally:
                process.terminate()
                await asyncio.wait_for(process.wait(), 20)
    assert process.returncode == 0, log.read_text()
    async with demo_db.read() as session:
        identity = (await session.scalars(select(Identity).where(Identity.address == MOTHER))).one()
        family = await session.get(Family, identity.family_id)
    assert identity.channel == "whatsapp" and family.registered_at is not None
