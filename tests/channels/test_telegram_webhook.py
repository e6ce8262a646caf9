"""Webhook mode: the real bot registers its webhook; a wrong secret is refused, the right one answered."""
from __future__ import annotations

from db.demo import load_demo
from tests.channels.telegram_bot import BotProcess
from tests.fakes.telegram_api import FakeTelegram

CHAT = 880001
SECRET = "s3cret-token_for-tests"


async def test_webhook_checks_the_secret_and_answers_after_handling(db, db_url):
    await load_demo(db)
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url, ILPBOT_TELEGRAM_MODE="webhook", ILPBOT_TELEGRAM_WEBHOOK_SECRET=SECRET)
        bot.env["ILPBOT_TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{bot.port}/telegram/webhook"
        await bot.start()
        try:
            assert fake.webhook_url == f"http://127.0.0.1:{bot.port}/telegram/webhook"
            assert fake.webhook_secret == SECRET
            update = fake.text_update(CHAT, "/start")
            assert await fake.deliver_webhook(update, secret="wrong-secret") == 403
            assert await fake.deliver_webhook(update, secret="") == 403
            assert fake.messages_to(CHAT) == []
            assert await fake.deliver_webhook(update) == 200
            # the 200 came after the update was handled: the answer is already there
            assert any("Apakah Bapak/Ibu setuju" in (m.text or "") for m in fake.messages_to(CHAT))
            # Telegram retrying the same update gets 200 and no second answer
            assert await fake.deliver_webhook(update) == 200
            assert sum("Apakah Bapak/Ibu setuju" in (m.text or "") for m in fake.messages_to(CHAT)) == 1
        finally:
            assert await bot.stop() == 0
