"""A stop (SIGTERM, as a service manager sends it) at any moment ends the real ``bot.py run`` with exit
code 0 and no traceback in its log: while it starts, while it polls, and with a webhook in flight (whose
answer still goes out: the web server stops taking requests and finishes the ones in hand before the
channels close)."""
from __future__ import annotations

import asyncio
import signal
import sys

import pytest
from sqlalchemy import func, select

from db.models import InboundMessage
from tests.channels.telegram_bot import ROOT, BotProcess
from tests.fakes.telegram_api import FakeTelegram

NOISE = ("Traceback", "Task exception was never retrieved", "was never awaited", "Task was destroyed")


def _noise(bot: BotProcess) -> list[str]:
    return [line for line in bot.log.read_text(errors="replace").splitlines() if any(word in line for word in NOISE)]


async def _spawn(bot: BotProcess) -> None:
    """Starts the process without waiting for it to poll (``BotProcess.start`` waits)."""
    bot._logfile = bot.log.open("ab")  # noqa: SLF001
    bot.process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), "run", cwd=str(ROOT), env=bot.env,
        stdin=asyncio.subprocess.DEVNULL, stdout=bot._logfile, stderr=bot._logfile,  # noqa: SLF001
    )


class SlowTelegram(FakeTelegram):
    """Answers every call after ``latency``; :attr:`asked` is set when the first call arrives."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.asked = asyncio.Event()

    async def _handle_method(self, request):
        self.asked.set()
        return await super()._handle_method(request)


@pytest.mark.parametrize("after", [0.0, 0.5, 1.0, 1.5])
async def test_a_stop_while_the_modules_load_ends_the_bot_quietly(demo_db, db_url, after):
    """Exit 0 once bot.py runs; before the interpreter reaches it, SIGTERM's default action (which
    service managers count as a clean stop) is all there is."""
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url)
        await _spawn(bot)
        await asyncio.sleep(after)  # the interpreter starts, bot.py imports its modules, reads its settings
        assert await bot.stop() in (0, -signal.SIGTERM), bot.log.read_text()
    assert _noise(bot) == [], bot.log.read_text()


async def test_a_stop_while_the_bot_starts_ends_it_cleanly(demo_db, db_url):
    """Telegram answers after 10 s: the stop comes while the bot waits for its first answer (getMe)."""
    async with SlowTelegram(latency=10.0) as fake:
        bot = BotProcess(fake, db_url)
        await _spawn(bot)
        await asyncio.wait_for(fake.asked.wait(), 20)
        assert await bot.stop() == 0, bot.log.read_text()
    assert _noise(bot) == [], bot.log.read_text()
    assert "stopped while starting" in bot.log.read_text()


async def test_a_stop_while_the_bot_polls_ends_it_cleanly(demo_db, db_url):
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url, ILPBOT_REMINDERS_ENABLED="true")
        await bot.start()
        fake.push_text(880101, "/start")
        await fake.wait_for(lambda: fake.texts_to(880101), timeout=20)
        assert await bot.stop() == 0, bot.log.read_text()
    assert _noise(bot) == [], bot.log.read_text()


async def test_a_stop_with_a_webhook_in_flight_finishes_it_and_ends_cleanly(demo_db, db_url):
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url, ILPBOT_TELEGRAM_MODE="webhook", ILPBOT_TELEGRAM_WEBHOOK_SECRET="rahasia")
        bot.env["ILPBOT_TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{bot.port}/telegram/webhook"
        await bot.start()
        fake.latency = 2.0  # the reply to the update takes 2 s to send
        delivery = asyncio.ensure_future(fake.deliver_webhook(fake.text_update(880201, "/start"), secret="rahasia"))

        async def stored() -> int:
            async with demo_db.read() as session:
                return await session.scalar(select(func.count()).select_from(InboundMessage))

        for _ in range(200):  # the turn committed: the webhook now waits for its reply to be sent
            if await stored() or delivery.done():
                break
            await asyncio.sleep(0.05)
        assert not delivery.done(), "the webhook was to be in flight"
        bot.terminate()
        assert await asyncio.wait_for(delivery, 20) == 200
        assert await bot.stop() == 0, bot.log.read_text()
        assert fake.texts_to(880201), "the reply in hand went out"
    assert _noise(bot) == [], bot.log.read_text()


async def test_a_stop_repeated_until_the_bot_has_ended_still_ends_it_cleanly(demo_db, db_url):
    """A service manager (or an impatient person) sends SIGTERM again and again while the bot stops:
    every phase of the stop, including the last one after the signal handlers are handed back, sees a
    repeat, and the bot still ends with exit code 0 and no traceback."""
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url, ILPBOT_REMINDERS_ENABLED="true")
        await bot.start()
        fake.push_text(880301, "/start")
        await fake.wait_for(lambda: fake.texts_to(880301), timeout=20)
        signals = 0
        while bot.process.returncode is None and signals < 2000:
            bot.terminate()
            signals += 1
            await asyncio.sleep(0.01)
        assert signals > 1, "the stop was to be repeated"
        assert await bot.stop() == 0, bot.log.read_text()
    assert _noise(bot) == [], bot.log.read_text()
