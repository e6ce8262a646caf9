"""PostgreSQL stops answering: how soon the WhatsApp webhook and ``/healthz`` answer 503.

A scratch database ``ilpbot_hang_<pid>`` on the PostgreSQL at ``--pg`` is migrated and reached through
``tests/fakes/blackhole.py``, a TCP proxy that freezes (accepts, keeps connections, passes nothing: a
``SIGSTOP``-ed or unreachable server). With the default ``database.*_timeout_s`` settings, it prints
the answer and seconds of: a webhook and ``/healthz`` before the freeze, ``/healthz`` and ``--webhooks``
concurrent webhooks right after it, and one more of each once the first failures are known.

    python bench/db_not_answering.py [--pg postgresql://postgres@127.0.0.1:5432] [--webhooks 5]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from channels.whatsapp import WhatsAppChannel  # noqa: E402
from config import WhatsAppConfig, load_settings  # noqa: E402
from db.database import Database  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from handlers.engine import Engine  # noqa: E402
from tests.fakes.blackhole import Blackhole  # noqa: E402
from tests.fakes.whatsapp_api import meta_json, sign, text_message  # noqa: E402
from web.app import build_app  # noqa: E402

NUMBER_ID, SECRET = "1098765432", "bench-secret"


async def main(pg: str, webhooks: int) -> None:
    name = f"ilpbot_hang_{os.getpid()}"
    admin = await asyncpg.connect(f"{pg}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    host, port = pg.rsplit("@", 1)[-1].split(":")
    try:
        await asyncio.to_thread(upgrade, f"{pg.replace('postgresql://', 'postgresql+asyncpg://')}/{name}")
        async with Blackhole((host, int(port))) as hole:
            base = load_settings(env={})
            url = f"{pg.replace('postgresql://', 'postgresql+asyncpg://').rsplit('@', 1)[0]}@127.0.0.1:{hole.port}/{name}"
            settings = replace(base, database=replace(base.database, url=url))
            db = Database.from_config(settings.database)
            config = WhatsAppConfig(phone_number_id=NUMBER_ID, access_token="t", app_secret=SECRET, verify_token="v",
                                    graph_base_url="http://127.0.0.1:9/v26.0")
            whatsapp = WhatsAppChannel(config, Engine(db, settings).handle_durably)
            app = build_app(db=db, whatsapp=whatsapp, disk_usage=lambda _p: SimpleNamespace(free=2**40))
            async with TestClient(TestServer(app)) as client:
                async def post(i: int) -> tuple[int, float]:
                    raw = meta_json(text_message("6281234500123", "Halo", message_id=f"wamid.bench{i}", phone_number_id=NUMBER_ID))
                    started = time.monotonic()
                    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, SECRET)}
                    async with client.post("/whatsapp/webhook", data=raw, headers=headers) as response:
                        return response.status, round(time.monotonic() - started, 2)

                async def health() -> tuple[int, float]:
                    started = time.monotonic()
                    async with client.get("/healthz") as response:
                        return response.status, round(time.monotonic() - started, 2)

                d = settings.database
                print(f"timeouts: connect {d.connect_timeout_s:g} s, statement {d.statement_timeout_s:g} s, pool {d.pool_timeout_s:g} s")
                print("answering:     webhook", await post(0), " healthz", await health())
                hole.freeze()
                print("frozen:        healthz", await health())
                print(f"frozen:        {webhooks} webhooks at once", await asyncio.gather(*(post(i) for i in range(1, webhooks + 1))))
                print("frozen, after: webhook", await post(webhooks + 1), " healthz", await health())
            await whatsapp.close()
            await db.dispose()
    finally:
        admin = await asyncpg.connect(f"{pg}/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="the server, without a database")
    parser.add_argument("--webhooks", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.pg, args.webhooks))
