"""Timeouts: a database that stops answering (rather than refusing) costs seconds, not a hang.

PostgreSQL is reached through :class:`tests.fakes.blackhole.Blackhole`, a TCP proxy that can freeze:
connections stay open and new ones are accepted, but no byte passes, as with a stopped (``SIGSTOP``)
or unreachable server. Queries then fail with ``TimeoutError`` within the configured timeouts, the
uses right after fail at once, a webhook answers 503 (Telegram: 500) so that the provider sends again,
and ``/healthz`` answers 503 within its two seconds. Each wait is guarded by a generous
``asyncio.wait_for``: the guard failing is the hang. SQLite has no server to stop; its bounded wait is
the turn to write.
"""
from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

import db.database as database
from channels.telegram import TelegramChannel
from channels.whatsapp import WhatsAppChannel
from config import TelegramConfig, WhatsAppConfig, load_settings
from db.database import Database, DatabaseNotAnswering, PoolTimeout
from handlers.engine import Engine
from tests.conftest import PG_URL
from tests.fakes.blackhole import Blackhole
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.whatsapp_api import meta_json, sign, text_message
from web.app import build_app

pg_only = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only")
FAST = {"connect_timeout_s": 0.5, "statement_timeout_s": 0.5, "pool_timeout_s": 0.5}
GUARD = 15  # seconds: far above what the timeouts allow; reaching it is a hang


async def within(awaitable, seconds: float = GUARD):
    """``awaitable``'s result or error; an AssertionError (not a TimeoutError, which is what the
    timeouts under test raise) when it has not ended after ``seconds``: a hang."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise AssertionError(f"no answer within {seconds:g} s: it hangs")
    return task.result()


def _server(url: str) -> tuple[str, int]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432


def _through(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


async def _select_one(db: Database) -> int:
    async with db.read() as session:
        return await session.scalar(text("SELECT 1"))


def test_the_timeouts_are_settings_with_defaults():
    settings = load_settings(env={})
    assert (settings.database.connect_timeout_s, settings.database.statement_timeout_s, settings.database.pool_timeout_s) == (5, 10, 5)
    settings = load_settings(env={"ILPBOT_DATABASE_STATEMENT_TIMEOUT_S": "2.5"})
    assert settings.database.statement_timeout_s == 2.5
    with pytest.raises(ValueError, match="database.connect_timeout_s"):
        load_settings(env={"ILPBOT_DATABASE_CONNECT_TIMEOUT_S": "0"})


async def test_sqlite_a_writer_waits_for_its_turn_a_bounded_time(db, monkeypatch):
    if not db.is_sqlite:
        pytest.skip("SQLite only")
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 200)
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with db.write():
            holding.set()
            await release.wait()

    holder = asyncio.ensure_future(hold())
    await holding.wait()
    try:
        with pytest.raises(PoolTimeout, match="database is busy"):
            await within(db.turn().__aenter__(), GUARD)
        with pytest.raises(TimeoutError):  # the engine counts it as "database unavailable"
            async with db.write():
                pass
    finally:
        release.set()
        await holder
    async with db.write() as session:  # the turn is free again
        assert await session.scalar(text("SELECT 1")) == 1


@pg_only
async def test_a_statement_past_the_statement_timeout_is_cancelled_by_the_server(db_url):
    db = Database(db_url, **FAST)
    try:
        with pytest.raises(DBAPIError, match="statement timeout"):
            async with db.read() as session:
                await within(session.execute(text("SELECT pg_sleep(5)")), GUARD)
        assert await _select_one(db) == 1  # a live server: nothing marked as not answering
    finally:
        await db.dispose()


@pg_only
async def test_waiting_for_a_pooled_connection_is_bounded(db_url):
    db = Database(db_url, **FAST)
    release = asyncio.Event()
    holding = 0

    async def hold() -> None:
        nonlocal holding
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
            holding += 1
            await release.wait()

    holders = [asyncio.ensure_future(hold()) for _ in range(24)]  # pool_size 16 + max_overflow 8
    try:
        while holding < 24:
            await asyncio.sleep(0.01)
        with pytest.raises(PoolTimeout):
            await within(_select_one(db), GUARD)
    finally:
        release.set()
        await asyncio.gather(*holders)
    assert await _select_one(db) == 1
    await db.dispose()


@pg_only
async def test_a_server_that_stops_answering_gives_a_timeout_not_a_hang(db_url, caplog):
    async with Blackhole(_server(db_url)) as hole:
        db = Database(_through(db_url, hole.port), **FAST)
        try:
            assert await _select_one(db) == 1
            hole.freeze()
            with pytest.raises(TimeoutError):
                await within(_select_one(db), GUARD)  # the pooled connection's ping
            with pytest.raises(DatabaseNotAnswering):  # right after: failing at once, not waiting again
                await within(_select_one(db), GUARD)

            async def mid_statement() -> None:
                async with db.write() as session:
                    await session.execute(text("SELECT 1"))
                    hole.freeze()
                    await session.execute(text("SELECT 2"))

            hole.thaw()
            await asyncio.sleep(FAST["connect_timeout_s"] + 0.1)
            assert await within(_select_one(db), GUARD) == 1  # back: served again
            with pytest.raises(TimeoutError):
                await within(mid_statement(), GUARD)  # a statement sent to a server gone quiet
            hole.thaw()
            await asyncio.sleep(FAST["connect_timeout_s"] + 0.1)
            assert await within(_select_one(db), GUARD) == 1
        finally:
            await db.dispose()
    assert not [r for r in caplog.records if r.exc_info]


@pg_only
async def test_connecting_to_a_server_that_never_answers_times_out(db_url):
    async with Blackhole() as hole:
        db = Database(_through(db_url, hole.port), **FAST)
        try:
            with pytest.raises(TimeoutError):
                await within(_select_one(db), GUARD)
            assert hole.accepted >= 1
        finally:
            await db.dispose()


@pg_only
async def test_webhooks_and_healthz_answer_while_the_server_does_not(db_url, settings, caplog):
    """WhatsApp answers 503, Telegram 500 (both: "send again"), /healthz 503 within its 2 s; and once
    the server answers again the same message is handled."""
    caplog.set_level(logging.INFO)
    async with Blackhole(_server(db_url)) as hole, FakeTelegram() as fake:
        db = Database(_through(db_url, hole.port), **FAST)
        engine = Engine(db, settings)
        wa_config = WhatsAppConfig(phone_number_id="1098765432", access_token="token", app_secret="app-secret",
                                   verify_token="verify", graph_base_url="http://127.0.0.1:9/v26.0")
        whatsapp = WhatsAppChannel(wa_config, engine.handle_durably)
        tg_config = TelegramConfig(token=fake.token, mode="webhook", base_url=fake.base_url, base_file_url=fake.base_file_url,
                                   webhook_url="https://bot.example.org/telegram/webhook", webhook_secret="rahasia")
        telegram = TelegramChannel(tg_config, engine.handle_durably)
        await telegram.initialize()
        app = build_app(db=db, telegram=telegram, telegram_config=tg_config, whatsapp=whatsapp,
                        disk_usage=lambda _path: SimpleNamespace(free=2**40))
        try:
            async with TestClient(TestServer(app)) as client:
                async def get(path: str) -> tuple[int, dict]:
                    async with client.get(path) as response:
                        return response.status, await response.json()

                async def post_whatsapp() -> int:
                    raw = meta_json(text_message("6281234500123", "Halo", message_id="wamid.timeout1", phone_number_id="1098765432"))
                    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, "app-secret")}
                    async with client.post("/whatsapp/webhook", data=raw, headers=headers) as response:
                        return response.status

                async def post_telegram() -> int:
                    update = fake.text_update(770001, "/start")
                    update["update_id"] = 990001
                    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "rahasia"}
                    async with client.post("/telegram/webhook", data=json.dumps(update), headers=headers) as response:
                        return response.status

                assert (await within(get("/healthz"), GUARD))[0] == 200
                hole.freeze()
                status, body = await within(get("/healthz"), 3)
                assert status == 503 and body["database"] in ("timeout", "unavailable")
                assert await within(post_whatsapp(), GUARD) == 503
                assert await within(post_telegram(), GUARD) == 500
                status, body = await within(get("/healthz"), 3)
                assert status == 503 and body["database"] in ("timeout", "unavailable")
                hole.thaw()
                await asyncio.sleep(FAST["connect_timeout_s"] + 0.1)
                assert await within(post_whatsapp(), GUARD) == 200
                assert await within(post_telegram(), GUARD) == 200
                assert (await within(get("/healthz"), GUARD))[0] == 200
        finally:
            await telegram.stop()
            await whatsapp.close()
            await db.dispose()
    assert not [r.getMessage() for r in caplog.records if r.exc_info or r.exc_text]
