"""Runs the real bot (``python bot.py run``) as a subprocess against the fake Bot API."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path

from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BotProcess:
    """``python bot.py run`` with the environment pointing it at the fake and the test database."""

    def __init__(self, fake: FakeTelegram, db_url: str, **env: str) -> None:
        self.fake = fake
        self.port = free_port()
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "ILPBOT_TELEGRAM_BASE_URL": fake.base_url,
            "ILPBOT_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
            "ILPBOT_DATABASE_URL": db_url,
            "ILPBOT_WEB_PORT": str(self.port),
            # reminders run on the real clock; the conversation tests keep the chat to themselves
            "ILPBOT_REMINDERS_ENABLED": "false",
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None
        self.log = Path(tempfile.gettempdir()) / f"ilpbot-test-{os.getpid()}-{self.port}.log"

    async def start(self) -> None:
        """Starts the bot and waits until it polls (or registered its webhook)."""
        self._logfile = self.log.open("ab")
        polls_before = self._calls("getUpdates") + self._calls("setWebhook")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "bot.py"), "run", cwd=str(ROOT), env=self.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=self._logfile, stderr=self._logfile,
        )
        await self.fake.wait_for(
            lambda: self._calls("getUpdates") + self._calls("setWebhook") > polls_before or self.process.returncode is not None,
            timeout=30,
        )
        assert self.process.returncode is None, self.log.read_text()

    async def kill(self) -> None:
        """Kills the bot at once (SIGKILL), as a crash or the OOM killer would."""
        assert self.process is not None
        self.process.kill()
        await self.process.wait()
        self._logfile.close()

    def _calls(self, method: str) -> int:
        return self.fake.calls[method]

    async def stop(self) -> int:
        """Stops the bot as a service manager would (SIGTERM) and returns its exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._logfile.close()
        return self.process.returncode


def buttons(fake: FakeTelegram, chat_id: int) -> dict[str, str]:
    """Label -> callback data of the inline keyboard of the last message to a chat."""
    message = fake.last_message(chat_id) or {}
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


def press(fake: FakeTelegram, chat_id: int, label: str) -> None:
    """Presses the button whose label starts with ``label`` on the last message."""
    for text, data in buttons(fake, chat_id).items():
        if text.lower().startswith(label.lower()):
            fake.push_callback(chat_id, data)
            return
    raise AssertionError(f"no button {label!r} on the last message: {list(buttons(fake, chat_id))}")


async def turn(fake: FakeTelegram, chat_id: int, action, expect: str, timeout: float = 20) -> str:
    """Does one user action and waits for a bot message containing ``expect``; returns the new texts."""
    before = len(fake.messages_to(chat_id))
    action()
    await fake.wait_for(lambda: any(expect in (m.text or "") for m in fake.messages_to(chat_id)[before:]), timeout=timeout)
    return "\n".join(m.text or "" for m in fake.messages_to(chat_id)[before:])
