"""A minimal python-telegram-bot echo bot with default settings: the yardstick of ``bench/chat_turns.py --e2e``.

It echoes every text message and answers every button press, polling the Bot API given by
``TELEGRAM_BOT_TOKEN`` and ``ILPBOT_TELEGRAM_BASE_URL`` (the fake on 127.0.0.1 in the benchmark).
SIGTERM stops it cleanly (PTB's ``run_polling``).
"""
from __future__ import annotations

import logging
import os

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    app = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ.get("ILPBOT_TELEGRAM_BASE_URL", "https://api.telegram.org/bot"))
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(answer))
    app.run_polling(allowed_updates=["message", "callback_query"])


if __name__ == "__main__":
    main()
