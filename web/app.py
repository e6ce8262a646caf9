"""HTTP side of the bot: the Telegram webhook (secret-token checked), the WhatsApp webhook
(X-Hub-Signature-256 checked), a health check, and (given the settings) the puskesmas web for staff
(``web.pages``, ``web.auth``) and ``/metrics`` for the operator (``web.monitoring``).

``/healthz`` answers within 2 s with the state of each part, 200 when all are well,
else 503 with ``"status": "error"``::

    {"status": "ok", "database": "ok",
     "disk": {"status": "ok", "free_bytes": 51234567890, "min_free_bytes": 209715200},
     "channels": {"telegram": "ok", "whatsapp": "ok"},
     "dispatcher": {"status": "ok", "lag_s": 0}}

* ``database``: ``SELECT 1`` answered (``"unavailable"`` when it failed, ``"timeout"`` when it did not
  answer within :data:`PROBE_S`).
* ``disk``: free space on the database's file system (SQLite) or the data directory, at least
  :data:`DISK_MIN_FREE_BYTES` (``"low"``); SQLite stops writing on a full disk.
* ``channels``: ``"ok"``, or what stops a channel from sending because of its configuration or account
  (its ``problem``), e.g. ``"WhatsApp error 190: the access token is invalid or expired: ..."``.
* ``dispatcher``: age of the oldest outbox row that is due and not sent; ``"lagging"`` past
  :data:`DISPATCH_LAG_MAX_S` (a big broadcast at Telegram's 30 messages a second takes minutes);
  ``"off"`` when reminders are switched off.

Each probe runs at the same time as the others, given up after :data:`PROBE_S`. A webhook body must be a
JSON object sent as ``application/json``, at most :data:`MAX_BODY` bytes (413); anything else, however
deep or broken, is refused with 400 and no traceback. A webhook whose message cannot be stored because
the database is unavailable answers 503 (Telegram: 500), so that the provider sends it again.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from metrics import METRICS, Metrics
from web import auth, monitoring, pages, render
from web.context import CLOCK, DB, SETTINGS, utcnow
from web.context import METRICS as METRICS_KEY

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"
MAX_BODY = 1024 * 1024
#: each probe of the health check; they run side by side, so the answer comes within 2 s
PROBE_S = 1.5
DISK_MIN_FREE_BYTES = 200 * 1024 * 1024
DISPATCH_LAG_MAX_S = 15 * 60
#: the errors of a database that is down or not answering (a webhook then answers 503)
DATABASE_DOWN = (TimeoutError, OSError, SQLAlchemyError)


def webhook_path(webhook_url: str) -> str:
    """The local path Telegram posts to, taken from the configured public URL."""
    path = urlparse(webhook_url).path if webhook_url else ""
    return path if path and path != "/" else DEFAULT_WEBHOOK_PATH


def build_app(
    *, db, telegram=None, telegram_config=None, whatsapp=None, channels: Mapping[str, Any] | None = None,
    dispatching: bool = True, disk_path: str | None = None, disk_usage: Callable = shutil.disk_usage,
    settings=None, metrics: Metrics | None = None, clock: Callable[[], datetime] = utcnow, accounts: Sequence[Any] = (),
) -> web.Application:
    """The aiohttp application with the routes of the channels that are configured.

    With ``settings``, also the puskesmas web (``web.pages``, signed in through ``web.auth``) and
    ``/metrics`` (``web.monitoring``) with ``metrics`` (default: the process's, ``metrics.METRICS``);
    ``clock`` is the time the pages and sessions read.

    ``channels`` (name -> channel) are the channels whose ``problem`` the health check reports; the
    WhatsApp channel and a webhook Telegram channel given here are among them. ``dispatching``: the
    dispatcher runs (reminders on), so its lag is checked. ``disk_path``: where free space is measured
    (default: the SQLite file's directory, else the working directory); ``disk_usage`` measures it.
    ``accounts``: the channels of the other accounts (``config.ChannelAccount``; a Telegram one only in webhook
    mode), each with its own webhook (``/telegram/<name>`` with its secret token, ``/whatsapp/<name>`` with its
    app secret's signature), watched by the health check as ``<channel>:<name>``.
    """
    app = web.Application(client_max_size=MAX_BODY)
    watched = {name: channel for name, channel in (channels or {}).items() if channel is not None}
    if whatsapp is not None:
        watched.setdefault("whatsapp", whatsapp)
    if telegram is not None:
        watched.setdefault("telegram", telegram)
    for channel in accounts:
        watched[f"{'whatsapp' if hasattr(channel, 'on_webhook') else 'telegram'}:{channel.account}"] = channel
    disk_path = disk_path or _data_directory(getattr(db, "url", ""))

    async def database() -> tuple[bool, Any]:
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
        return True, "ok"

    async def disk() -> tuple[bool, Any]:
        usage = await asyncio.to_thread(disk_usage, disk_path)
        ok = usage.free >= DISK_MIN_FREE_BYTES
        return ok, {"status": "ok" if ok else "low", "free_bytes": usage.free, "min_free_bytes": DISK_MIN_FREE_BYTES}

    async def dispatcher() -> tuple[bool, Any]:
        if not dispatching:
            return True, {"status": "off"}
        lag = await dispatch_lag(db, datetime.now(UTC))
        ok = lag <= DISPATCH_LAG_MAX_S
        return ok, {"status": "ok" if ok else "lagging", "lag_s": round(lag), "max_lag_s": DISPATCH_LAG_MAX_S}

    async def health(_request: web.Request) -> web.Response:
        probes = {"database": database, "disk": disk, "dispatcher": dispatcher}
        results = await asyncio.gather(*(_probe(name, probe) for name, probe in probes.items()))
        body: dict[str, Any] = {"status": "ok"}
        healthy = True
        for name, (ok, state) in zip(probes, results):
            body[name] = state
            healthy = healthy and ok
        body["channels"] = {name: getattr(channel, "problem", None) or "ok" for name, channel in watched.items()}
        healthy = healthy and all(state == "ok" for state in body["channels"].values())
        if not healthy:
            body["status"] = "error"
        return web.json_response(body, status=200 if healthy else 503)

    app.router.add_get("/healthz", health)
    if settings is not None:
        _staff_web(app, db=db, settings=settings, metrics=metrics or METRICS, clock=clock)
    if telegram is not None and telegram_config is not None:
        app.router.add_post(webhook_path(telegram_config.webhook_url), _telegram_webhook(telegram, telegram_config.webhook_secret))
    if whatsapp is not None:
        app.router.add_get(whatsapp.config.webhook_path, _whatsapp_verify(whatsapp.config.verify_token))
        app.router.add_post(whatsapp.config.webhook_path, _whatsapp_webhook(whatsapp))
    for channel in accounts:
        if hasattr(channel, "on_webhook"):  # WhatsApp
            app.router.add_get(channel.config.webhook_path, _whatsapp_verify(channel.config.verify_token))
            app.router.add_post(channel.config.webhook_path, _whatsapp_webhook(channel))
        else:
            app.router.add_post(webhook_path(channel.config.webhook_url), _telegram_webhook(channel, channel.config.webhook_secret))
    return app


def _staff_web(app: web.Application, *, db, settings, metrics: Metrics, clock: Callable[[], datetime]) -> None:
    """The puskesmas web and the operator's metrics."""
    app[DB], app[SETTINGS], app[CLOCK], app[METRICS_KEY] = db, settings, clock, metrics
    render.setup(app)
    auth.add_routes(app)
    pages.add_routes(app)
    scrape = monitoring.Scrape(metrics, settings.web.metrics_allow, os.environ.get(monitoring.MULTIPROC_DIR))
    app.router.add_get("/metrics", monitoring.handler(scrape, db, clock, dispatch_lag))


async def _probe(name: str, probe: Callable) -> tuple[bool, Any]:
    """One part of the health check: (healthy, its state), "timeout" past :data:`PROBE_S`, never raising.

    A probe still running then is cancelled and left to end on its own: the answer does not wait for
    the cancellation either (``asyncio.wait_for`` would, and dropping a PostgreSQL connection that does
    not answer takes SQLAlchemy two more seconds).
    """
    task = asyncio.ensure_future(probe())
    done, _ = await asyncio.wait({task}, timeout=PROBE_S)
    if not done:
        task.cancel()
        task.add_done_callback(_forget)
        log.warning("health check: %s did not answer within %g s", name, PROBE_S)
        return False, "timeout"
    try:
        return task.result()
    except Exception as exc:  # noqa: BLE001 - the health check reports, it does not fail
        log.warning("health check: %s unavailable: %s", name, type(exc).__name__)
        return False, "unavailable"


def _forget(task: asyncio.Task) -> None:
    """Collects the end of a probe given up on, so that it is not reported as never retrieved."""
    if not task.cancelled():
        task.exception()


async def dispatch_lag(db, now: datetime) -> float:
    """Seconds since the oldest outbox row that is due, unsent and not expired became due (0: none)."""
    from db.models import Outbox

    async with db.read() as session:
        oldest = await session.scalar(
            select(func.min(Outbox.not_before)).where(
                Outbox.waiting(), Outbox.state == "pending", Outbox.not_before <= now, or_(Outbox.expires_at.is_(None), Outbox.expires_at > now),
            )
        )
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def _data_directory(url: str) -> str:
    """The SQLite file's directory, else the working directory: where the bot's data grows."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            return os.path.dirname(os.path.abspath(path))
    return os.getcwd()


class BadBody(Exception):
    """A webhook body that is not a JSON object (the message says what it is instead)."""


def parse_json_object(raw: bytes, content_type: str) -> dict:
    """The webhook body as a dict; :class:`BadBody` for another content type, broken, non-object or
    too deeply nested JSON (a 200,000-deep array makes the parser give up with ``RecursionError``)."""
    if content_type != "application/json":
        raise BadBody("not application/json")
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadBody("bad json") from None
    except RecursionError:
        raise BadBody("json nested too deeply") from None
    if not isinstance(payload, dict):
        raise BadBody("not a json object")
    return payload


def _bad(error: BadBody) -> web.Response:
    return web.json_response({"ok": False, "error": str(error)}, status=400)


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
    from channels.messages import NotStored

    async def handler(request: web.Request) -> web.Response:
        raw = await request.read()
        if not verify_signature(whatsapp.config.app_secret, raw, request.headers.get("X-Hub-Signature-256")):
            return web.json_response({"ok": False, "error": "bad signature"}, status=401)
        try:
            payload = parse_json_object(raw, request.content_type)
        except BadBody as error:
            return _bad(error)
        try:
            await whatsapp.on_webhook(payload)
        except NotStored:
            return web.json_response({"ok": False, "error": "try again"}, status=503)
        except DATABASE_DOWN as exc:  # statuses not applied: Meta sends them again
            log.error("whatsapp webhook: database unavailable: %s", type(exc).__name__)
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
            payload = parse_json_object(await request.read(), request.content_type)
        except BadBody as error:
            return _bad(error)
        if "update_id" not in payload:
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        try:
            await telegram.process_webhook(payload)  # 500 when the update was not stored
        except DATABASE_DOWN as exc:
            log.error("telegram webhook: database unavailable: %s", type(exc).__name__)
            return web.json_response({"ok": False, "error": "try again"}, status=503)
        return web.json_response({"ok": True})

    return handler
