"""``web.workers: 2``: the real ``bot.py run`` in webhook mode starts two workers sharing the web port; both
answer Telegram's webhooks (each worker's chat turns counted in its own file of the metrics directory), a
killed worker is started again and serves, ``/metrics`` counts every worker's turns, and SIGTERM ends them
all with exit code 0."""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from pathlib import Path

import aiohttp
from prometheus_client.multiprocess import MultiProcessCollector

from tests.channels.telegram_bot import BotProcess
from tests.web.test_stop import _spawn
from tests.fakes.telegram_api import FakeTelegram
from workers import port_taken

SECRET = "rahasia"
WORKER_LINE = re.compile(r"worker (\d+) of 2, pid (\d+)")


def _workers(bot: BotProcess) -> dict[int, int]:
    """Worker index -> the pid of its latest start, from the log."""
    return {int(index): int(pid) for index, pid in WORKER_LINE.findall(bot.log.read_text(errors="replace"))}


async def _until(predicate, timeout: float) -> None:
    """Waits until ``predicate()`` holds (it reads the log: no API call wakes ``fake.wait_for``)."""
    for _ in range(int(timeout / 0.1)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


def _turns_of(metrics_dir: Path, pid: int) -> float:
    """The chat turns worker ``pid`` took, from its own counter file."""
    path = metrics_dir / f"counter_{pid}.db"
    if not path.exists():
        return 0.0
    return sum(sample.value for metric in MultiProcessCollector.merge([str(path)]) for sample in metric.samples
               if sample.name == "ilpbot_chat_turns_total")


async def _deliver(bot: BotProcess, fake: FakeTelegram, chats: range) -> None:
    """Telegram's POSTs of ``/start`` from each chat, each on a connection of its own (so that the kernel
    picks a worker for each), all answered 200."""
    url = f"http://127.0.0.1:{bot.port}/telegram/webhook"
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:

        async def one(chat: int) -> int:
            async with http.post(url, data=json.dumps(fake.text_update(chat, "/start")), headers=headers) as response:
                return response.status

        statuses = await asyncio.gather(*(one(chat) for chat in chats))
    assert statuses == [200] * len(chats)
    await fake.wait_for(lambda: all(fake.texts_to(chat) for chat in chats), timeout=30)


async def test_two_workers_share_the_port_a_killed_one_is_replaced_and_sigterm_stops_all(demo_db, db_url, tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url, ILPBOT_TELEGRAM_MODE="webhook", ILPBOT_TELEGRAM_WEBHOOK_SECRET=SECRET,
                         ILPBOT_WEB_WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
        bot.env["ILPBOT_TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{bot.port}/telegram/webhook"
        try:
            await _spawn(bot)  # two bots start side by side: slower than one on a busy machine
            await _until(lambda: len(_workers(bot)) == 2 or bot.process.returncode is not None, 180)
            first = _workers(bot)
            assert fake.calls["setWebhook"] == 1 and fake.calls["getUpdates"] == 0  # one registers, none polls

            await _deliver(bot, fake, range(990_100, 990_140))
            assert all(_turns_of(metrics_dir, pid) > 0 for pid in first.values()), (first, os.listdir(metrics_dir))

            os.kill(first[1], signal.SIGKILL)
            await _until(lambda: _workers(bot).get(1) not in (None, first[1]), 180)
            replaced = _workers(bot)[1]
            await _deliver(bot, fake, range(990_200, 990_240))
            assert _turns_of(metrics_dir, replaced) > 0
            assert "worker 1 (pid %d) ended with signal SIGKILL" % first[1] in bot.log.read_text()

            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{bot.port}/metrics") as response:
                scraped = await response.text()
            turns = sum(float(line.rsplit(" ", 1)[1]) for line in scraped.splitlines()
                        if line.startswith("ilpbot_chat_turns_total{"))
            assert turns == 80  # every worker's, the killed one's included
            assert "ilpbot_outbox_depth" in scraped
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{bot.port}/healthz") as response:
                assert response.status == 200
        finally:
            code = await bot.stop()
        assert code == 0, bot.log.read_text()
        for pid in (first[0], replaced):
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        assert "workers stopped" in bot.log.read_text()
        assert "Traceback" not in bot.log.read_text()


async def test_workers_stop_when_their_parent_is_killed(demo_db, db_url):
    """The parent killed (SIGKILL: no chance to stop them): each worker gets SIGTERM and ends."""
    async with FakeTelegram() as fake:
        bot = BotProcess(fake, db_url, ILPBOT_TELEGRAM_MODE="webhook", ILPBOT_TELEGRAM_WEBHOOK_SECRET=SECRET,
                         ILPBOT_WEB_WORKERS="2")
        bot.env["ILPBOT_TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{bot.port}/telegram/webhook"
        await _spawn(bot)
        try:
            await _until(lambda: len(_workers(bot)) == 2 or bot.process.returncode is not None, 180)
            pids = list(_workers(bot).values())
        finally:
            await bot.kill()
        await _until(lambda: not any(_running(pid) for pid in pids), 60)
        assert port_taken("127.0.0.1", bot.port) is None


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (an ended worker of a killed parent is reaped by init, or is a zombie)."""
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def test_a_port_in_use_is_named_and_a_free_one_is_not(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        assert port_taken("127.0.0.1", port)
    assert port_taken("127.0.0.1", port) is None
