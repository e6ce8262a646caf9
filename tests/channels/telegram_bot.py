"""Runs the real bot (``python bot.py run``) as a subprocess against the fake Bot API."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]


def awake_hours(now: datetime | None = None) -> dict[str, str]:
    """Reminder settings whose one quiet hour is far from now in western and central Indonesia (for the next
    two hours), so that the dispatcher sends at once whenever the test runs: plan at 0:00, slots at 1:00 and
    2:00, quiet hours 22-23 (or 10-11 when 22:00 is near). Quiet hours cannot be switched off (0 to 0 would
    be quiet all day: config refuses it)."""
    now = now or datetime.now(UTC)
    near = {(now.astimezone(ZoneInfo(zone)).hour + ahead) % 24 for zone in ("Asia/Jakarta", "Asia/Makassar") for ahead in (0, 1, 2)}
    quiet = 22 if not near & {22} else 10
    return {"ILPBOT_REMINDERS_PLAN_HOUR": "0", "ILPBOT_REMINDERS_MORNING_HOUR": "1", "ILPBOT_REMINDERS_AFTERNOON_HOUR": "2",
            "ILPBOT_REMINDERS_QUIET_START": str(quiet), "ILPBOT_REMINDERS_QUIET_END": str(quiet + 1)}


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
            # scripted users type faster than people: an inbound limit they do not reach (not what is tested)
            "ILPBOT_INBOUND_BURST": "100000",
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

    def terminate(self) -> None:
        """SIGTERM by ``os.kill``: ``Process.send_signal`` polls first (``subprocess.Popen.send_signal``), and a
        poll that reaps a process just ended leaves asyncio's child watcher without its exit code (it then
        reports 255, "Unknown child process pid"). A signal to an ended, not yet reaped process is harmless."""
        assert self.process is not None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)

    async def stop(self) -> int:
        """Stops the bot as a service manager would (SIGTERM) and returns its exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.terminate()
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
