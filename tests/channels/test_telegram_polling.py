"""The polling loop in-process against the fake Bot API: an update is confirmed only after its turn was
stored; chats run concurrently, one chat in order; NotStored is retried with one apology; getUpdates
errors are waited out; the webhook answers 500 for an update that was not stored."""
from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from aiohttp import web

import channels.telegram as telegram_module
from channels.messages import Choice, Incoming, Reply
from channels.telegram import TelegramChannel
from config import TelegramConfig
from channels.messages import NotStored
from tests.fakes.telegram_api import FakeTelegram
from web.app import build_app

APOLOGY = "Maaf, terjadi gangguan."


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch):
    monkeypatch.setattr(telegram_module, "BACKOFF", (0.05, 0.1))


class Script:
    """A stand-in engine: answers "ok: <text>", can hold a message or fail to store it a few times."""

    def __init__(self) -> None:
        self.seen: list[Incoming] = []
        self.hold: dict[str, asyncio.Event] = {}
        self.entered: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.unstored: dict[str, int] = {}
        self.active = 0
        self.most_active = 0

    async def __call__(self, incoming: Incoming) -> list[Reply]:
        key = incoming.text or incoming.choice or ""
        self.seen.append(incoming)
        self.entered[key].set()
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            if key in self.hold:
                await self.hold[key].wait()
            if self.unstored.get(key):
                self.unstored[key] -= 1
                raise NotStored([Reply(APOLOGY)])
            return [Reply(f"ok: {key}", (Choice("Lagi", "1.again"),))]
        finally:
            self.active -= 1


async def _running(fake: FakeTelegram, script: Script) -> TelegramChannel:
    config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
    channel = TelegramChannel(config, script, poll_timeout=2, freeze_gc=False)
    await channel.start()
    return channel


async def test_an_update_is_confirmed_only_after_its_turn():
    async with FakeTelegram() as fake:
        script = Script()
        script.hold["slow"] = asyncio.Event()
        channel = await _running(fake, script)
        try:
            update = fake.push_text(101, "slow")
            await asyncio.wait_for(script.entered["slow"].wait(), 5)
            await asyncio.sleep(0.3)  # the loop would have asked for more by now if it did not wait
            assert fake.confirmed_offset <= update["update_id"]
            assert [u["update_id"] for u in fake.pending_updates] == [update["update_id"]]
            script.hold["slow"].set()
            await fake.wait_for(lambda: fake.texts_to(101) == ["ok: slow"])
            await fake.wait_for(lambda: fake.confirmed_offset == update["update_id"] + 1)
            assert not fake.pending_updates
        finally:
            await channel.stop()


async def test_chats_run_side_by_side_and_one_chat_in_order():
    async with FakeTelegram() as fake:
        script = Script()
        script.hold["a1"] = asyncio.Event()
        pushed = [fake.push_text(201, "a1"), fake.push_text(201, "a2"), fake.push_text(202, "b1")]
        channel = await _running(fake, script)
        try:
            await fake.wait_for(lambda: fake.texts_to(202) == ["ok: b1"])
            assert [i.text for i in script.seen if i.address == "201"] == ["a1"], "a2 waits for a1"
            script.hold["a1"].set()
            await fake.wait_for(lambda: fake.texts_to(201) == ["ok: a1", "ok: a2"])
            assert script.most_active == 2
        finally:
            await channel.stop()
        assert fake.confirmed_offset == pushed[-1]["update_id"] + 1


async def test_an_update_not_stored_is_tried_again_with_one_apology():
    async with FakeTelegram() as fake:
        script = Script()
        channel = await _running(fake, script)
        try:
            fake.push_text(301, "start")
            await fake.wait_for(lambda: fake.texts_to(301) == ["ok: start"])
            script.unstored["1.again"] = 3
            press = fake.push_callback(301, "1.again")
            await fake.wait_for(lambda: "ok: 1.again" in fake.texts_to(301), timeout=5)
            assert fake.texts_to(301) == ["ok: start", APOLOGY, "ok: 1.again"]
            assert len(fake.answered_callbacks) == 1, "the press is answered once"
            assert [i.choice for i in script.seen].count("1.again") == 4
            await fake.wait_for(lambda: fake.confirmed_offset == press["update_id"] + 1)
        finally:
            await channel.stop()


async def test_a_stop_gives_up_an_update_not_stored_without_confirming_it():
    async with FakeTelegram() as fake:
        script = Script()
        script.unstored["later"] = 1000
        channel = await _running(fake, script)
        update = fake.push_text(401, "later")
        await fake.wait_for(lambda: fake.texts_to(401) == [APOLOGY])
        await asyncio.wait_for(channel.stop(), 5)
        assert [u["update_id"] for u in fake.pending_updates] == [update["update_id"]]
        assert fake.confirmed_offset <= update["update_id"]

        # the next start handles it (once the database stores again) with no second apology
        script2 = Script()
        channel = await _running(fake, script2)
        try:
            await fake.wait_for(lambda: fake.texts_to(401) == [APOLOGY, "ok: later"])
        finally:
            await channel.stop()
        assert not fake.pending_updates


@pytest.mark.parametrize(("code", "retry_after"), [(409, None), (429, 1), (502, None)])
async def test_get_updates_errors_are_waited_out(code, retry_after):
    async with FakeTelegram() as fake:
        script = Script()
        fake.fail_next("getUpdates", error_code=code, retry_after=retry_after or 3, times=2)
        fake.push_text(501, "halo")
        channel = await _running(fake, script)
        try:
            await fake.wait_for(lambda: fake.texts_to(501) == ["ok: halo"], timeout=10)
            assert sum(1 for c in fake.rejected if c.method == "getUpdates") == 2
        finally:
            await channel.stop()


async def test_a_refused_token_stops_polling_loudly_and_it_resumes_when_the_token_works(monkeypatch, caplog):
    async with FakeTelegram() as fake:
        script = Script()
        channel = await _running(fake, script)
        try:
            real = fake.token
            fake.token = "999:revoked"
            async with asyncio.timeout(10):  # a refused call does not wake fake.wait_for
                while channel.problem is None:
                    await asyncio.sleep(0.02)
            assert "401" in channel.problem and "TELEGRAM_BOT_TOKEN" in channel.problem
            assert any(r.levelname == "ERROR" and "STOPPED" in r.getMessage() for r in caplog.records)
            tries = fake.unauthorized
            await asyncio.sleep(0.3)
            assert fake.unauthorized == tries  # not a retry loop: the next try after the pause (600 s)
            fake.token = real
            channel._stopping.set()  # ends the pause at once; polling is started again below
            await channel.stop()
            fake.push_text(502, "halo")
            channel = await _running(fake, script)
            await fake.wait_for(lambda: fake.texts_to(502) == ["ok: halo"], timeout=10)
            assert channel.problem is None
        finally:
            await channel.stop()


async def test_a_stop_during_a_long_poll_is_prompt_and_confirms_what_was_handled():
    async with FakeTelegram() as fake:
        script = Script()
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channel = TelegramChannel(config, script, poll_timeout=30, freeze_gc=False)
        await channel.start()
        update = fake.push_text(601, "halo")
        await fake.wait_for(lambda: fake.texts_to(601) == ["ok: halo"])
        await asyncio.sleep(0.1)  # the loop is in its next 30 s long poll
        started = asyncio.get_running_loop().time()
        await channel.stop()
        assert asyncio.get_running_loop().time() - started < 2
        assert fake.confirmed_offset == update["update_id"] + 1 and not fake.pending_updates


async def test_the_webhook_answers_500_until_the_update_is_stored(db):
    async with FakeTelegram() as fake:
        script = Script()
        script.unstored["halo"] = 1
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url,
                                mode="webhook", webhook_url="http://127.0.0.1/telegram/webhook", webhook_secret="rahasia")
        channel = TelegramChannel(config, script, freeze_gc=False)
        runner = web.AppRunner(build_app(db=db, telegram=channel, telegram_config=config))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        try:
            update = fake.text_update(701, "halo")
            assert await fake.deliver_webhook(update, url=url, secret="rahasia") == 500
            assert fake.texts_to(701) == [APOLOGY]
            assert await fake.deliver_webhook(update, url=url, secret="rahasia") == 200
            assert fake.texts_to(701) == [APOLOGY, "ok: halo"], "the apology goes once"
        finally:
            await runner.cleanup()
            await channel.stop()
