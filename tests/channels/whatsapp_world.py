"""The bot's WhatsApp side in-process, over real HTTP on 127.0.0.1, against the fake Graph API.

``whatsapp_bot(db, settings, clock)`` starts the fake Graph API, the WhatsApp channel, the engine
and the aiohttp web app with the webhook route; Meta's side (the fake) posts signed webhooks to it.
:class:`WaChat` talks as one WhatsApp user with the same interface as ``tests.helpers.ChatDriver``
(``say``, ``press``, ``text``, ``labels``), so the shared conversation helpers work unchanged.
"""
from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

from channels.whatsapp import WhatsAppChannel
from config import DEFAULT_TEMPLATES
from handlers.engine import Engine
from reminders.delivery import apply_statuses, enqueue_replies
from tests.fakes import whatsapp_api as meta
from tests.fakes.whatsapp_api import FakeGraph
from web.app import build_app

#: every configured template registered at the fake in both languages, each with one body parameter
TEMPLATES = {(name, lang): 1 for name in DEFAULT_TEMPLATES.values() for lang in ("id", "en")}
VERIFY_TOKEN = "verify-me-7f3a"
_ids = itertools.count(1)


@dataclass
class WaBot:
    graph: FakeGraph
    channel: WhatsAppChannel
    engine: Engine
    url: str
    config: Any


@asynccontextmanager
async def whatsapp_bot(db, settings, clock, *, templates=None, window_mode: str = "sync") -> AsyncIterator[WaBot]:
    """The fake Graph API and the bot's WhatsApp webhook, both on 127.0.0.1."""
    async with FakeGraph(templates=TEMPLATES if templates is None else templates, clock=clock, window_mode=window_mode) as graph:
        config = replace(
            settings.whatsapp, phone_number_id=graph.phone_number_id, access_token=graph.token,
            app_secret=graph.app_secret, verify_token=VERIFY_TOKEN, graph_base_url=graph.base_url,
        )
        engine = Engine(db, settings, clock=clock)
        channel = WhatsAppChannel(
            config, engine.handle_durably, clock=clock,
            on_statuses=lambda statuses: apply_statuses(db, "whatsapp", statuses, clock()),
            on_undelivered=lambda address, replies: enqueue_replies(db, "whatsapp", address, replies, clock(), default_zone="Asia/Jakarta"),
        )
        runner = web.AppRunner(build_app(db=db, whatsapp=channel), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}{config.webhook_path}"
        graph.webhook_url = url
        try:
            yield WaBot(graph, channel, engine, url, config)
        finally:
            await runner.cleanup()
            await channel.close()


@dataclass
class WaChat:
    """One WhatsApp user: each message is a signed webhook; the bot's answers are what the fake received."""

    bot: WaBot
    wa_id: str = "6281234500001"
    clock: Any = None
    name: str = "Ibu Made"
    messages: list[dict] = field(default_factory=list)  # the bot's messages to this user after the last input
    statuses: list[int] = field(default_factory=list)

    async def post(self, envelope: dict) -> list[dict]:
        before = len(self.bot.graph.messages_to(self.wa_id))
        status, body = await self.bot.graph.post_webhook(self.bot.url, envelope)
        assert status == 200, body
        self.statuses.append(status)
        self.messages = self.bot.graph.messages_to(self.wa_id)[before:]
        return self.messages

    def _at(self) -> dict:
        return {"timestamp": self.clock()} if self.clock is not None else {}

    async def say(self, text: str) -> list[dict]:
        return await self.post(meta.text_message(self.wa_id, text, name=self.name, **self._at()))

    async def join(self, command: str, code: str) -> list[dict]:
        """Consents in Indonesian, then joins with an invite: ``/kader <code>`` or ``/staf <code>``."""
        await self.say("/start")
        await self.press("Ya")
        await self.press("Bahasa Indonesia")
        return await self.say(f"/{command} {code}")

    async def press(self, label: str) -> list[dict]:
        """Presses the reply button or list row whose title (or full label: a row's description, or the
        line ``title: label`` under a question whose titles were shortened) starts with ``label``."""
        shortened = dict(reversed(line.split(": ", 1)) for line in self.text.splitlines() if ": " in line)
        for full, title in shortened.items():
            if full.lower().startswith(label.lower()) and any(t == title for _k, _i, t, _d in self.options()):
                label = title
                break
        for kind, id_, title, description in self.options():
            if title.lower().startswith(label.lower()) or (description or "").lower().startswith(label.lower()):
                if kind == "button":
                    return await self.post(meta.button_reply(self.wa_id, id_, title, **self._at()))
                return await self.post(meta.list_reply(self.wa_id, id_, title, description, **self._at()))
        for number, line in self.numbered():
            if line.lower().startswith(label.lower()):
                return await self.say(str(number))
        raise AssertionError(f"no option {label!r} in {self.labels}")

    def options(self) -> list[tuple[str, str, str, str | None]]:
        """(button|row, id, title, description) of the interactive messages in the last answer."""
        found = []
        for message in self.messages:
            interactive = message.get("interactive") or {}
            action = interactive.get("action") or {}
            for button in action.get("buttons") or ():
                found.append(("button", button["reply"]["id"], button["reply"]["title"], None))
            for section in action.get("sections") or ():
                for row in section.get("rows") or ():
                    found.append(("row", row["id"], row["title"], row.get("description")))
        return found

    def numbered(self) -> list[tuple[int, str]]:
        """Numbered choices written in the text (more than ten choices)."""
        out = []
        for line in self.text.splitlines():
            head, dot, rest = line.partition(". ")
            if dot and head.isdigit():
                out.append((int(head), rest))
        return out

    @property
    def text(self) -> str:
        parts = []
        for message in self.messages:
            kind = message["type"]
            if kind == "text":
                parts.append(message["text"]["body"])
            elif kind == "interactive":
                parts.append(message["interactive"]["body"]["text"])
            elif kind in ("image", "document"):
                parts.append(message[kind].get("caption") or f"[{kind}]")
            elif kind == "template":
                params = message["template"]["components"][0]["parameters"]
                parts.append(f"[template {message['template']['name']}] " + " ".join(p["text"] for p in params))
        return "\n\n".join(parts)

    @property
    def labels(self) -> list[str]:
        return [title for _kind, _id, title, _d in self.options()] + [line for _n, line in self.numbered()]
