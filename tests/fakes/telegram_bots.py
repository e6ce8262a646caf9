"""Several bots on one fake Bot API: one HTTP server on 127.0.0.1, one :class:`FakeTelegram` per token, each
with its own chats, updates, flood control and recorded calls, as Telegram keeps each bot's to itself.

Usage::

    async with FakeTelegramBots(["111:AAA", "222:BBB"]) as bots:
        a, b = bots["111:AAA"], bots["222:BBB"]     # FakeTelegram: push_text, fail_next, texts_to, ...
        ... TelegramConfig(token="222:BBB", base_url=bots.base_url, base_file_url=bots.base_file_url) ...

It fails loudly on exit when a call came for a token nobody registered (``unknown``) or any bot was called
with a method nobody implemented (each bot's ``unexpected``).
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.telegram_api import MAX_BODY, FakeTelegram, _json_response, error_body


class FakeTelegramBots:
    """Several fake bots behind one address, told apart by the token in the path."""

    def __init__(self, tokens: list[str], *, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        if len(set(tokens)) != len(tokens):
            raise ValueError("each bot needs its own token")
        self.host, self.port = host, port
        self.bots = {token: FakeTelegram(token, host=host, **options) for token in tokens}
        #: (path, method) of every call for a token that is none of the bots'
        self.unknown: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None

    def __getitem__(self, token: str) -> FakeTelegram:
        return self.bots[token]

    async def start(self) -> FakeTelegramBots:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._file)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, backlog=1024).start()
        self.port = self._runner.addresses[0][1]
        for bot in self.bots.values():
            bot.port = self.port  # their url, base_url and file paths are this server's
        return self

    async def stop(self) -> None:
        for bot in self.bots.values():
            bot._closing = True  # noqa: SLF001 - wakes its long polls as FakeTelegram.stop does
            bot._wake_pollers()  # noqa: SLF001
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramBots:
        return await self.start()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        await self.stop()
        problems = [f"  a call for a token no bot has: {method} on {path}" for path, method in self.unknown[:20]]
        problems += [bot.unexpected_report() for bot in self.bots.values() if bot.unexpected]
        if not problems:
            return
        report = "FakeTelegramBots:\n" + "\n".join(problems)
        if exc is not None:
            exc.add_note(report)
            return
        raise AssertionError(report)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def _bot(self, request: web.Request) -> FakeTelegram | None:
        bot = self.bots.get(request.match_info["token"])
        if bot is None:
            self.unknown.append((request.path.split("/bot", 1)[0] + "/bot<token>/...", request.match_info.get("method", "file")))
        return bot

    async def _method(self, request: web.Request) -> web.Response:
        bot = self._bot(request)
        if bot is None:
            return _json_response(error_body(401, "Unauthorized"), 401)
        return await bot._handle_method(request)  # noqa: SLF001

    async def _file(self, request: web.Request) -> web.Response:
        bot = self._bot(request)
        if bot is None:
            return _json_response(error_body(401, "Unauthorized"), 401)
        return await bot._handle_file(request)  # noqa: SLF001

    async def _not_found(self, _request: web.Request) -> web.Response:
        return _json_response(error_body(404, "Not Found"), 404)
