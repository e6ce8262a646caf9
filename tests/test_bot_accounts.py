"""``bot.py run`` with two bots (``telegram.accounts``): one polling loop per token, each chat answered by the
bot it wrote to and recorded with it; an account naming a puskesmas the database does not have stops the start."""
from __future__ import annotations

import asyncio
import sys

from sqlalchemy import select

from db.database import Database
from db.models import Identity, Puskesmas
from tests.channels.telegram_bot import ROOT, BotProcess
from tests.fakes.telegram_bots import FakeTelegramBots

TOKEN_A = "111111111:AAFakeTokenOfBotA_abcdefghijklmnop"
TOKEN_B = "222222222:AAFakeTokenOfBotB_abcdefghijklmnop"


async def _config(tmp_path, demo_db: Database, code: str | None = None) -> str:
    async with demo_db.read() as session:
        code = code or await session.scalar(select(Puskesmas.code).limit(1))
    path = tmp_path / "config.yaml"
    path.write_text(f"telegram:\n  accounts:\n    - {{name: kota, token_env: TG_TOKEN_KOTA, puskesmas: [{code}]}}\n")
    return str(path)


async def test_two_bots_poll_and_each_chat_is_answered_by_the_bot_it_wrote_to(demo_db, db_url, tmp_path):
    async with FakeTelegramBots([TOKEN_A, TOKEN_B]) as bots:
        a, b = bots[TOKEN_A], bots[TOKEN_B]
        bot = BotProcess(a, db_url, TELEGRAM_BOT_TOKEN=TOKEN_A, TG_TOKEN_KOTA=TOKEN_B, ILPBOT_TELEGRAM_BASE_URL=bots.base_url,
                         ILPBOT_TELEGRAM_BASE_FILE_URL=bots.base_file_url, ILPBOT_CONFIG=await _config(tmp_path, demo_db))
        await bot.start()
        try:
            await b.wait_for(lambda: b.calls["getUpdates"] > 0, timeout=30)  # bot B polls too
            b.push_text(880201, "/start")
            a.push_text(880202, "/start")
            await b.wait_for(lambda: b.texts_to(880201), timeout=20)
            await a.wait_for(lambda: a.texts_to(880202), timeout=20)
            await asyncio.sleep(0)
            assert a.texts_to(880201) == [] and b.texts_to(880202) == []
            async with demo_db.read() as session:
                accounts = dict((await session.execute(select(Identity.address, Identity.account)
                                                       .where(Identity.address.in_(["880201", "880202"])))).all())
            assert accounts == {"880201": "kota", "880202": "default"}
        finally:
            assert await bot.stop() == 0, bot.log.read_text()


async def test_an_account_naming_a_puskesmas_not_in_the_database_stops_the_start(demo_db, db_url, tmp_path):
    async with FakeTelegramBots([TOKEN_A, TOKEN_B]) as bots:
        bot = BotProcess(bots[TOKEN_A], db_url, TELEGRAM_BOT_TOKEN=TOKEN_A, TG_TOKEN_KOTA=TOKEN_B,
                         ILPBOT_TELEGRAM_BASE_URL=bots.base_url, ILPBOT_TELEGRAM_BASE_FILE_URL=bots.base_file_url,
                         ILPBOT_CONFIG=await _config(tmp_path, demo_db, "P0000000000"))
        bot._logfile = bot.log.open("ab")  # noqa: SLF001 - started by hand: it must end, not poll
        bot.process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "bot.py"), "run", cwd=str(ROOT),
            env=bot.env, stdin=asyncio.subprocess.DEVNULL, stdout=bot._logfile, stderr=bot._logfile)  # noqa: SLF001
        code = await asyncio.wait_for(bot.process.wait(), 30)
        bot._logfile.close()  # noqa: SLF001
        log = bot.log.read_text()
        assert code == 2 and "configuration error: telegram.accounts[0].puskesmas: no puskesmas with the code 'P0000000000'" in log, log
        assert bots[TOKEN_B].calls["getUpdates"] == 0
