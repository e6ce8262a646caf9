"""HTTP side of the bot: the Telegram webhook (secret-token checked), the WhatsApp webhook
(X-Hub-Signature-256 checked) and a health check.

``/healthz`` answers 200 ``{"status": "ok"}`` when the database answers and every channel can send;
else 503 with ``"status": "error"`` and what is wrong: ``"database": "unavailable"``, or
``"channels": {"whatsapp": "WhatsApp error 190: the access token is invalid or expired: ..."}`` for a
channel that stopped sending because of its configuration or account (its ``problem``)."""
from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from sqlalchemy import text

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"
MAX_BODY = 1024 * 1024


def webhook_path(webhook_url: str) -> str:
    """The local path Telegram posts to, taken from the configured public URL."""
    path = urlparse(webhook_url).path if webhook_url else ""
    return path if path and path != "/" else DEFAULT_WEBHOOK_PATH


def build_app(*, db, telegram=None, telegram_config=None, whatsapp=None, channels: Mapping[str, Any] | None = None) -> web.Application:
    """The aiohttp application with the routes of the channels that are configured.

    ``channels`` (name -> channel) are the channels whose ``problem`` the health check reports; the
    WhatsApp channel and a webhook Telegram channel given here are among them.
    """
    app = web.Application(client_max_size=MAX_BODY)
    watched = {name: channel for name, channel in (channels or {}).items() if channel is not None}
    if whatsapp is not None:
        watched.setdefault("whatsapp", whatsapp)
    if telegram is not None:
        watched.setdefault("telegram", telegram)

    async def health(_request: web.Request) -> web.Response:
        try:
            async with db.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database unavailable")
            return web.json_response({"status": "error", "database": "unavailable"}, status=503)
        problems = {name: channel.problem for name, channel in watched.items() if getattr(channel, "problem", None)}
        if problems:
            return web.json_response({"status": "error", "channels": problems}, status=503)
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", health)
    if telegram is not None and telegram_config is not None:
        app.router.add_post(webhook_path(telegram_config.webhook_url), _telegram_webhook(telegram, telegram_config.webhook_secret))
    if whatsapp is not None:
        app.router.add_get(whatsapp.config.webhook_path, _whatsapp_verify(whatsapp.config.verify_token))
        app.router.add_post(whatsapp.config.webhook_path, _whatsapp_webhook(whatsapp))
    return app


def _whatsapp_verify(verify_token: str):
    """Meta's subscription check: echo ``hub.challenge`` when ``hub.verify_token`` is ours."""
    expected = verify_token.encode()

    async def handler(request: web.Request) -> web.Response:
        query = request.query
        given = query.get("hub.verify_token", "").encode()
        if query.get("hub.mode") != "subscribe" or not expected or not hmac.compare_digest(given, expected):
            return web.Response(status=403, text="forbidden")
        return web.Response(text=query.get("hub.challenge", "")[:200])

    return handler


def _whatsapp_webhook(whatsapp):
    """The handler for Meta's POSTs: 401 without a valid signature, 200 after the messages are stored."""
    from channels.whatsapp import verify_signature
    from handlers.engine import NotStored

    async def handler(request: web.Request) -> web.Response:
        raw = await request.read()
        if not verify_signature(whatsapp.config.app_secret, raw, request.headers.get("X-Hub-Signature-256")):
            return web.json_response({"ok": False, "error": "bad signature"}, status=401)
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"ok": False, "error": "bad json"}, status=400)
        if not isinstance(payload, dict):
            return web.json_response({"ok": False, "error": "not an event"}, status=400)
        try:
            await whatsapp.on_webhook(payload)
        except NotStored:
            return web.json_response({"ok": False, "error": "try again"}, status=503)
        return web.json_response({"ok": True})

    return handler


def _telegram_webhook(telegram, secret: str):
    """The handler for Telegram's POSTs: 403 without the secret, 200 after the update is handled."""
    expected = secret.encode()

    async def handler(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        try:
            payload = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"ok": False, "error": "bad json"}, status=400)
        if not isinstance(payload, dict) or "update_id" not in payload:
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        await telegram.process_webhook(payload)
        return web.json_response({"ok": True})

    return handler
