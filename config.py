"""Configuration: the defaults below, ``config.yaml``, and the environment over both.

Each default is written once, in the dataclasses below; the reader takes it from there (``config.yaml``
only shows the keys with their defaults, commented out, and a test checks it shows them right). The
languages are ``content.i18n.LANGUAGES``. ``ILPBOT_<SECTION>_<KEY>`` overrides ``section.key`` (for
example ``ILPBOT_DATABASE_URL``; :data:`ENV_KEYS` lists them); the Telegram token is read from
``TELEGRAM_BOT_TOKEN``. A bad value stops the start with a :class:`ConfigError` naming the key and its
environment variable, as starlette's ``config.py`` does.
"""
from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from content.i18n import LANGUAGES, SOURCE_LANGUAGE
from content.quiet import in_quiet_hours

ROOT = Path(__file__).resolve().parent
DEFAULT_FILE = ROOT / "config.yaml"
ENV_PREFIX = "ILPBOT_"
#: the languages the bot has words in: those of content.i18n, which holds their catalogues
SUPPORTED_LOCALES = tuple(LANGUAGES)
#: the most processes ``web.workers`` may start (each holds its own database connections)
MAX_WORKERS = 64
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the key."""


@dataclass(frozen=True)
class DatabaseConfig:
    #: embedded SQLite (a relative path is under the project); postgresql+asyncpg://user@host/db for a district
    url: str = "sqlite+aiosqlite:///var/ilpbot.sqlite3"
    echo: bool = False
    #: PostgreSQL: seconds to open a connection (and for the pool's ping before each use) before giving up
    connect_timeout_s: float = 5.0
    #: PostgreSQL: seconds one statement may run (the server's ``statement_timeout``; the client gives up a
    #: second later when the server does not answer at all)
    statement_timeout_s: float = 10.0
    #: PostgreSQL: seconds to wait for a free pooled connection when every one is in use
    pool_timeout_s: float = 5.0

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


@dataclass(frozen=True)
class LocaleConfig:
    default: str = SOURCE_LANGUAGE
    available: tuple[str, ...] = SUPPORTED_LOCALES


@dataclass(frozen=True)
class TimezoneConfig:
    default: str = "Asia/Jakarta"
    puskesmas: Mapping[str, str] = field(default_factory=dict)


#: the name of the account the single-account settings make (TELEGRAM_BOT_TOKEN, WHATSAPP_*): every chat
#: row written before several accounts existed belongs to it
DEFAULT_ACCOUNT = "default"
_ACCOUNT_NAME_RE = re.compile(r"^[a-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class ChannelAccount:
    """One more bot token (``telegram.accounts``) or WhatsApp number (``whatsapp.accounts``) beside the
    default one, serving the puskesmas it lists (or every puskesmas of the districts it lists). Its secrets
    come from the environment variables it names; a chat is always answered from the account it wrote to."""

    name: str
    token: str = field(default="", repr=False)  # Telegram: the bot token; WhatsApp: the access token
    puskesmas: tuple[str, ...] = ()  # puskesmas codes
    districts: tuple[str, ...] = ()  # district codes (puskesmas.district_code)
    secret: str = field(default="", repr=False)  # Telegram: the webhook secret_token; WhatsApp: the app secret
    phone_number_id: str = ""  # WhatsApp
    verify_token: str = field(default="", repr=False)  # WhatsApp: answers Meta's verification
    rate: float | None = None  # messages per second; None: the channel's (reminders.telegram_rate, whatsapp.rate)


@dataclass(frozen=True)
class TelegramConfig:
    token: str | None = None
    mode: str = "polling"
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str = ""
    webhook_secret: str = ""
    #: more bots beside TELEGRAM_BOT_TOKEN's (the account "default"), each with its webhook /telegram/<name>
    accounts: tuple[ChannelAccount, ...] = ()


DEFAULT_TEMPLATES = {
    "reminder": "ilp_pengingat", "broadcast": "ilp_pengumuman", "calendar": "ilp_jadwal_posyandu", "referral": "ilp_rujukan",
    "reply": "ilp_pesan_baru",
}


#: The Graph API version the WhatsApp channel calls: the current one in Meta's "Graph API changelog:
#: versions" (v26.0, released 29 July 2026, available at least two years; v21.0 ends 21 January 2027).
#: Change it here or with ``whatsapp.graph_version``; ``whatsapp.graph_base_url`` may carry its own.
GRAPH_VERSION = "v26.0"
GRAPH_HOST = "https://graph.facebook.com"
_GRAPH_VERSION_RE = re.compile(r"^v\d+\.\d+$")
_VERSION_IN_URL_RE = re.compile(r"/(v\d+\.\d+)$")


@dataclass(frozen=True)
class WhatsAppConfig:
    """The WhatsApp Cloud API channel; on when the phone number id and the access token are set."""

    phone_number_id: str | None = None  # WHATSAPP_PHONE_NUMBER_ID
    access_token: str | None = None  # WHATSAPP_ACCESS_TOKEN
    app_secret: str = ""  # WHATSAPP_APP_SECRET: checks X-Hub-Signature-256 of the webhook
    verify_token: str = ""  # WHATSAPP_VERIFY_TOKEN: answers Meta's GET verification
    #: where the channel posts: the Graph host (or a proxy, or a fake) with the version, e.g.
    #: https://graph.facebook.com/v26.0 (from ``graph_base_url`` and ``graph_version``)
    graph_base_url: str = f"{GRAPH_HOST}/{GRAPH_VERSION}"
    graph_version: str = GRAPH_VERSION
    webhook_path: str = "/whatsapp/webhook"
    rate: float = 80.0  # messages per second per business number
    #: outbox kind -> approved template whose one body parameter {{1}} is the message text
    templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    #: the bot's language -> the template language code registered at Meta
    template_languages: Mapping[str, str] = field(default_factory=lambda: {lang: lang for lang in LANGUAGES})
    #: more numbers beside WHATSAPP_PHONE_NUMBER_ID's (the account "default"), each with its webhook /whatsapp/<name>
    accounts: tuple[ChannelAccount, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.phone_number_id and self.access_token)


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    #: where staff open the puskesmas web: the start of the one-time sign-in links (``/web`` in the chat)
    base_url: str = "http://127.0.0.1:8080"
    #: the addresses (or CIDR networks) that may read ``/metrics``; anyone else gets 403
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")
    #: processes ``bot.py run`` serves chat turns with, sharing ``port`` (webhook mode; README "Several
    #: processes"); one of them also runs the reminders, the SATUSEHAT sync and the register imports
    workers: int = 1


@dataclass(frozen=True)
class CareConfig:
    je: bool = False
    #: the district's changes to content/care/*.yaml, e.g. {"doses": {"MR2": {"recommended_months": 18}}}
    overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RemindersConfig:
    enabled: bool = True  # plan and send reminders in `run` / `chat`
    plan_hour: int = 6  # local hour at which each time zone's day is planned
    morning_hour: int = 7  # delivery slot "morning", local
    afternoon_hour: int = 15  # delivery slot "afternoon", local
    posyandu_days_before: tuple[int, ...] = (1, 0)  # remind the day before and the morning of
    repeat_days: int = 7  # an overdue item is repeated at most every N days
    max_times: int = 3  # ... and at most M times
    quiet_start: int = 20  # no message from this local hour
    quiet_end: int = 6  # ... until this one
    telegram_rate: float = 30.0  # messages per second per bot (0 = unlimited)
    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    dispatch_every: float = 2.0  # seconds between dispatcher runs


@dataclass(frozen=True)
class InboundConfig:
    """The per-chat inbound limit (handlers.inbound_limit): ``burst`` messages at once, then ``per_minute``."""

    burst: int = 10
    per_minute: int = 30  # 0: no limit


@dataclass(frozen=True)
class PrivacyConfig:
    #: days the text of a message stays in the outbox after it was queued; then only counts remain
    retention_days: int = 30
    #: days a finished outbox row (and a reminder item long past) is kept at all; then it is deleted
    #: (reminders.retention). At least ``retention_days``; 400 keeps a year of monthly reports whole.
    outbox_keep_days: int = 400


#: the PWS targets: percent per indicator of the web's overview (``doses``: each dose without a line of
#: its own); stunting and wasting are ceilings (at most), the others floors (at least)
PWS_TARGETS: Mapping[str, float] = {
    "IDL": 90, "doses": 90, "D/S": 80, "N/D": 80, "K1": 100, "K4": 95, "K6": 80, "KN1": 95, "KN_COMPLETE": 90,
    "VITA_BIRU": 90, "VITA_MERAH": 90, "STUNTED": 14, "WASTED": 7,
}


@dataclass(frozen=True)
class PwsConfig:
    #: the district's targets, indicator -> percent (a key given replaces that key's default)
    targets: Mapping[str, float] = field(default_factory=lambda: dict(PWS_TARGETS))


#: SATUSEHAT's staging host (the sandbox); production differs only by these URLs (``satusehat.auth_url``,
#: ``satusehat.base_url``), given by the Ministry with the credentials
SATUSEHAT_STAGING = "https://api-satusehat-stg.dto.kemkes.go.id"
#: the environment variables of the SATUSEHAT credentials: read from the environment only, never logged
SATUSEHAT_SECRETS = {"client_id": "ILPBOT_SATUSEHAT_CLIENT_ID", "client_secret": "ILPBOT_SATUSEHAT_CLIENT_SECRET"}
_SATUSEHAT_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class SatusehatConfig:
    """Sending to SATUSEHAT (satusehat/): off until ``enabled``; the credentials come from the environment."""

    enabled: bool = False
    #: OAuth2 client credentials: a form POST to {auth_url}/accesstoken?grant_type=client_credentials
    auth_url: str = f"{SATUSEHAT_STAGING}/oauth2/v1"
    #: the FHIR base: {base_url}/Encounter, {base_url}/Patient?identifier=...
    base_url: str = f"{SATUSEHAT_STAGING}/fhir-r4/v1"
    #: the organization (IHS) id the credentials belong to: every business identifier carries it
    organization_id: str = ""
    #: posyandu code -> the id of its SATUSEHAT Location (a visit of a posyandu without one is held back)
    locations: Mapping[str, str] = field(default_factory=dict)
    #: minutes between two passes of the sync inside the bot (``bot.py run``; one pass at a time)
    every_minutes: int = 5
    client_id: str = field(default="", repr=False)  # ILPBOT_SATUSEHAT_CLIENT_ID
    client_secret: str = field(default="", repr=False)  # ILPBOT_SATUSEHAT_CLIENT_SECRET


@dataclass(frozen=True)
class Settings:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    locale: LocaleConfig = field(default_factory=LocaleConfig)
    timezone: TimezoneConfig = field(default_factory=TimezoneConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    web: WebConfig = field(default_factory=WebConfig)
    care: CareConfig = field(default_factory=CareConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    whatsapp: WhatsAppConfig = field(default_factory=WhatsAppConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    inbound: InboundConfig = field(default_factory=InboundConfig)
    pws: PwsConfig = field(default_factory=PwsConfig)
    satusehat: SatusehatConfig = field(default_factory=SatusehatConfig)


#: the keys of each section that an environment variable ILPBOT_<SECTION>_<KEY> sets (the others, such as
#: timezone.puskesmas or whatsapp.templates, are set in the file only)
ENV_KEYS: dict[str, tuple[str, ...]] = {
    "database": ("url", "echo", "connect_timeout_s", "statement_timeout_s", "pool_timeout_s"),
    "locale": ("default", "available"),
    "timezone": ("default",),
    "telegram": ("mode", "base_url", "base_file_url", "webhook_url", "webhook_secret"),
    "web": ("host", "port", "base_url", "metrics_allow", "workers"),
    "care": ("je",),
    "reminders": tuple(f.name for f in fields(RemindersConfig)),
    "privacy": ("retention_days", "outbox_keep_days"),
    "inbound": ("burst", "per_minute"),
    "whatsapp": ("graph_base_url", "graph_version", "webhook_path", "rate"),
    "satusehat": ("enabled", "auth_url", "base_url", "organization_id", "every_minutes"),
}
#: each section's dataclass: the one place of its defaults
SECTIONS: dict[str, type] = {f.name: f.default_factory for f in fields(Settings)}  # type: ignore[misc]


def env_name(section: str, key: str) -> str:
    """The environment variable that sets ``section.key``, e.g. ``ILPBOT_WEB_PORT``."""
    return f"{ENV_PREFIX}{section.upper()}_{key.upper()}"


def default_of(section: str, key: str) -> Any:
    """The default of ``section.key``: its dataclass field's."""
    for f in fields(SECTIONS[section]):
        if f.name == key:
            return f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
    raise KeyError(f"{section}.{key}")


def zone_of(settings: Settings, code: str, stored: str) -> str:
    """A puskesmas's time zone: the configuration's override, else the stored one."""
    return settings.timezone.puskesmas.get(code, stored)


def _read_file(path: Path) -> dict[str, Any]:
    """The YAML file as a dict of sections."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping of sections")
    return data


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    """One section of the file, checked to be a mapping."""
    value = data.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: must be a mapping of keys")
    return dict(value)


def _apply_env(section: str, values: dict[str, Any], env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Values of one section with ``ILPBOT_<SECTION>_<KEY>`` overrides applied, and which keys came from
    which variable."""
    out, sources = dict(values), {}
    for key in ENV_KEYS.get(section, ()):
        name = env_name(section, key)
        if name in env:
            out[key] = env[name]
            sources[key] = name
    return out, sources


_NO_DEFAULT: Any = object()


class _Reader:
    """Reads typed values from one section, naming ``section.key`` and its environment variable on error.
    A key not given gets its dataclass field's default (:func:`default_of`)."""

    def __init__(self, section: str, values: dict[str, Any], sources: Mapping[str, str]) -> None:
        self.section = section
        self.values = values
        self.sources = dict(sources)

    def where(self, key: str) -> str:
        """`` (from ILPBOT_…)`` for a value from the environment; for one from the file, the variable that
        would override it."""
        if key in self.sources:
            return f" (from {self.sources[key]})"
        if key in ENV_KEYS.get(self.section, ()):
            return f" (or set {env_name(self.section, key)})"
        return ""

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.section}.{key}: {problem}{self.where(key)}")

    def get(self, key: str, default: Any = _NO_DEFAULT) -> Any:
        """The raw value of ``key``: given, else ``default``, else the dataclass's default."""
        if key in self.values:
            return self.values[key]
        return default_of(self.section, key) if default is _NO_DEFAULT else default

    def str(self, key: str, default: Any = _NO_DEFAULT) -> str:
        value = self.get(key, default)
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)):
            raise self.fail(key, f"expected text, got {value!r}")
        return str(value).strip()

    def bool(self, key: str) -> bool:
        value = self.get(key)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise self.fail(key, f"expected true or false, got {value!r}")

    def int(self, key: str, low: int, high: int) -> int:
        value = self.get(key)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise self.fail(key, f"expected a whole number, got {value!r}") from None
        if not low <= number <= high:
            raise self.fail(key, f"expected {low} to {high}, got {number}")
        return number

    def float(self, key: str, low: float, high: float) -> float:
        value = self.get(key)
        try:
            number = float(str(value).strip())
        except ValueError:
            raise self.fail(key, f"expected a number, got {value!r}") from None
        if not low <= number <= high:
            raise self.fail(key, f"expected {low:g} to {high:g}, got {number:g}")
        return number

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.str(key)
        if value not in options:
            raise self.fail(key, f"expected one of {', '.join(options)}, got {value!r}")
        return value

    def list(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)) or not value:
            raise self.fail(key, f"expected a non-empty list, got {value!r}")
        return tuple(str(v) for v in value)

    def mapping(self, key: str) -> dict[str, str]:
        """The default mapping with the given one's keys over it."""
        value = self.values.get(key) or {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping, got {value!r}")
        return {**default_of(self.section, key), **{str(k): str(v) for k, v in value.items()}}

    def zone(self, key: str, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(key, f"unknown time zone {value!r}") from None
        return value


def _database_url(reader: _Reader) -> str:
    """The database URL, normalised to an async driver."""
    url = reader.str("url")
    if url.startswith("sqlite:///"):
        url = "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    elif url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    if not url.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://")):
        raise reader.fail("url", "expected sqlite+aiosqlite:///<file> or postgresql+asyncpg://<host>/<db>")
    if url.startswith("sqlite+aiosqlite:///"):
        path = url[len("sqlite+aiosqlite:///"):]
        if path and path != ":memory:" and not path.startswith("/"):
            url = f"sqlite+aiosqlite:///{ROOT / path}"
    return url


def _check_care(care: CareConfig) -> None:
    """Applies the care overrides once so that a wrong key stops the start, named."""
    from care.rules_file import apply_overrides

    try:
        apply_overrides({"je": care.je, **care.overrides})
    except ValueError as exc:
        raise ConfigError(f"care.overrides.{exc}") from None


def load_settings(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``path`` (default ``config.yaml``) with the environment's overrides."""
    env = os.environ if env is None else env
    data = _read_file(Path(env.get("ILPBOT_CONFIG", path or DEFAULT_FILE)))
    known = ({"ILPBOT_CONFIG"} | {env_name(name, key) for name, keys in ENV_KEYS.items() for key in keys}
             | set(SATUSEHAT_SECRETS.values()))
    unknown = sorted(name for name in env if name.startswith(ENV_PREFIX) and name not in known)

    def reader(name: str) -> _Reader:
        return _Reader(name, *_apply_env(name, _section(data, name), env))

    db = reader("database")
    database = DatabaseConfig(
        url=_database_url(db), echo=db.bool("echo"),
        **{key: db.float(key, 0.1, 3600.0) for key in ("connect_timeout_s", "statement_timeout_s", "pool_timeout_s")},
    )

    loc = reader("locale")
    available = loc.list("available")
    for lang in available:
        if lang not in SUPPORTED_LOCALES:
            raise loc.fail("available", f"unsupported language {lang!r} (have {', '.join(SUPPORTED_LOCALES)})")
    locale = LocaleConfig(default=loc.choice("default", available), available=available)

    tz = reader("timezone")
    zones = tz.mapping("puskesmas")
    for code, zone in zones.items():
        tz.zone(f"puskesmas.{code}", zone)
    timezone = TimezoneConfig(default=tz.zone("default", tz.str("default")), puskesmas=zones)

    tg = reader("telegram")
    telegram = TelegramConfig(
        token=(env.get("TELEGRAM_BOT_TOKEN") or "").strip() or None,
        mode=tg.choice("mode", ("polling", "webhook")),
        base_url=tg.str("base_url").rstrip("/"),
        base_file_url=tg.str("base_file_url").rstrip("/"),
        webhook_url=tg.str("webhook_url"),
        webhook_secret=tg.str("webhook_secret"),
        accounts=_accounts(tg, env, "telegram"),
    )
    for key in ("base_url", "base_file_url"):
        if not getattr(telegram, key).startswith(("http://", "https://")):
            raise tg.fail(key, "expected an http(s) URL")
    if telegram.mode == "webhook" and (telegram.token or telegram.accounts):
        if not telegram.webhook_url.startswith("https://") and not telegram.webhook_url.startswith("http://127."):
            raise tg.fail("webhook_url", "webhook mode needs a public https URL")
        if not _SECRET_RE.match(telegram.webhook_secret):
            raise tg.fail("webhook_secret", "webhook mode needs a secret of 1-256 characters A-Z a-z 0-9 _ -")

    whatsapp = _whatsapp(reader("whatsapp"), env, locale)

    web_reader = reader("web")
    web = WebConfig(host=web_reader.str("host"), port=web_reader.int("port", 1, 65535),
                    base_url=web_reader.str("base_url").rstrip("/"), metrics_allow=web_reader.list("metrics_allow"),
                    workers=web_reader.int("workers", 1, MAX_WORKERS))
    if not web.host:
        raise web_reader.fail("host", "expected an address to listen on, e.g. 127.0.0.1 or 0.0.0.0")
    if not re.match(r"^https?://[^/\s]+", web.base_url):
        raise web_reader.fail("base_url", f"expected the http(s) address staff open, e.g. https://pkm.example.id, got {web.base_url!r}")
    for network in web.metrics_allow:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise web_reader.fail("metrics_allow", f"expected addresses or networks such as 127.0.0.1 or 10.0.0.0/8, got {network!r}") from None

    if web.workers > 1 and (telegram.token or telegram.accounts) and telegram.mode == "polling":
        raise web_reader.fail("workers", f"{web.workers} processes need telegram.mode: webhook (only one process may poll a "
                                         "bot token; Telegram refuses a second getUpdates): set telegram.mode to webhook, "
                                         "or workers to 1")
    care_reader = reader("care")
    overrides = care_reader.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise care_reader.fail("overrides", "expected a mapping")
    care = CareConfig(je=care_reader.bool("je"), overrides=overrides)
    _check_care(care)
    rem = reader("reminders")
    days = rem.list("posyandu_days_before")
    try:
        numbers = [int(d) for d in days]
    except ValueError:
        raise rem.fail("posyandu_days_before", f"expected whole numbers, got {days!r}") from None
    if any(not 0 <= d <= 14 for d in numbers):
        raise rem.fail("posyandu_days_before", f"expected days from 0 to 14, got {numbers}")
    if len(set(numbers)) != len(numbers):
        twice = sorted({d for d in numbers if numbers.count(d) > 1})
        raise rem.fail("posyandu_days_before", f"a day is listed twice ({', '.join(map(str, twice))}): list each day once")
    reminders = RemindersConfig(
        enabled=rem.bool("enabled"),
        plan_hour=rem.int("plan_hour", 0, 23),
        morning_hour=rem.int("morning_hour", 0, 23),
        afternoon_hour=rem.int("afternoon_hour", 0, 23),
        posyandu_days_before=tuple(sorted(numbers, reverse=True)),
        repeat_days=rem.int("repeat_days", 1, 365),
        max_times=rem.int("max_times", 1, 100),
        quiet_start=rem.int("quiet_start", 0, 23),
        quiet_end=rem.int("quiet_end", 0, 23),
        telegram_rate=rem.float("telegram_rate", 0.0, 10_000.0),
        per_chat_interval=rem.float("per_chat_interval", 0.0, 3600.0),
        dispatch_every=rem.float("dispatch_every", 0.1, 3600.0),
    )
    priv = reader("privacy")
    privacy = PrivacyConfig(retention_days=priv.int("retention_days", 1, 3650),
                            outbox_keep_days=priv.int("outbox_keep_days", 1, 36500))
    if privacy.outbox_keep_days < privacy.retention_days:
        raise priv.fail("outbox_keep_days", f"expected at least retention_days ({privacy.retention_days}): a row "
                                            f"is deleted only after its text, got {privacy.outbox_keep_days}")
    inb = reader("inbound")
    inbound = InboundConfig(burst=inb.int("burst", 1, 100_000), per_minute=inb.int("per_minute", 0, 1_000_000))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown setting (environment variables can set {', '.join(sorted(known))})")
    _check_reminders(rem, reminders)
    pws = PwsConfig(targets=_pws_targets(reader("pws")))
    satusehat = _satusehat(reader("satusehat"), env)
    return Settings(
        database=database, locale=locale, timezone=timezone, telegram=telegram, web=web, care=care, reminders=reminders,
        whatsapp=whatsapp, privacy=privacy, inbound=inbound, pws=pws, satusehat=satusehat,
    )


#: the keys of one entry of ``telegram.accounts`` / ``whatsapp.accounts``
_ACCOUNT_KEYS = {
    "telegram": {"name", "token_env", "webhook_secret_env", "puskesmas", "districts", "rate"},
    "whatsapp": {"name", "phone_number_id", "token_env", "app_secret_env", "verify_token_env", "puskesmas", "districts", "rate"},
}
#: the default account's secrets (channel -> ChannelAccount field -> its environment variable)
_DEFAULT_SECRETS = {
    "telegram": {"token": "TELEGRAM_BOT_TOKEN"},
    "whatsapp": {"token": "WHATSAPP_ACCESS_TOKEN", "secret": "WHATSAPP_APP_SECRET", "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID"},
}


def _accounts(reader: _Reader, env: Mapping[str, str], channel: str) -> tuple[ChannelAccount, ...]:
    """``<channel>.accounts``: a list of ``{name, token_env, puskesmas: [...] | districts: [...], ...}``. Each
    name once (``default`` is the single-account settings' own), each token and number once (the default's
    included), a puskesmas or district served by one account only; a secret named but not set in the
    environment stops the start, naming the key and the variable."""
    given = reader.values.get("accounts") or []
    if not isinstance(given, list):
        raise reader.fail("accounts", f"expected a list of accounts ({{name, token_env, puskesmas: [...]}}), got {given!r}")
    accounts: list[ChannelAccount] = []
    seen_tokens = {(env.get(name) or "").strip(): f"{name} (the account {DEFAULT_ACCOUNT})"
                   for key, name in _DEFAULT_SECRETS[channel].items() if key in ("token", "phone_number_id")}
    seen_tokens.pop("", None)
    served: dict[str, str] = {}
    for i, entry in enumerate(given):
        where = f"accounts[{i}]"
        if not isinstance(entry, dict):
            raise reader.fail(where, f"expected a mapping such as {{name: kota, token_env: ..., puskesmas: [...]}}, got {entry!r}")
        unknown = sorted(set(map(str, entry)) - _ACCOUNT_KEYS[channel])
        if unknown:
            raise reader.fail(f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(_ACCOUNT_KEYS[channel]))})")
        name = str(entry.get("name") or "").strip()
        if not _ACCOUNT_NAME_RE.match(name) or name == DEFAULT_ACCOUNT:
            raise reader.fail(f"{where}.name", f"expected a name of 1-32 a-z 0-9 _ - other than {DEFAULT_ACCOUNT!r}, got {name!r}")
        if any(a.name == name for a in accounts):
            raise reader.fail(f"{where}.name", f"the account {name!r} is listed twice")

        def secret(key: str, required: bool, fallback: str = "") -> str:
            variable = str(entry.get(key) or "").strip()
            if not variable:
                if required:
                    raise reader.fail(f"{where}.{key}", "expected the name of the environment variable that holds it")
                return fallback
            if not re.match(r"^[A-Z][A-Z0-9_]*$", variable):
                raise reader.fail(f"{where}.{key}", f"expected an environment variable's name such as TELEGRAM_BOT_TOKEN_KOTA, got {variable!r}")
            value = (env.get(variable) or "").strip()
            if not value:
                raise reader.fail(f"{where}.{key}", f"the environment variable {variable} is not set")
            return value

        token = secret("token_env", True)
        number = str(entry.get("phone_number_id") or "").strip()
        if channel == "whatsapp" and not number.isdigit():
            raise reader.fail(f"{where}.phone_number_id", f"expected the number's id (digits) from Meta's app dashboard, got {number!r}")
        for value, label in ((token, "token"), (number, "number")):
            if value and value in seen_tokens:
                raise reader.fail(f"{where}.{'token_env' if label == 'token' else 'phone_number_id'}",
                                  f"the same {label} as {seen_tokens[value]}: each account needs its own")
            if value:
                seen_tokens[value] = f"{channel}.{where}"
        if channel == "telegram":
            extra = {"secret": secret("webhook_secret_env", False, str(reader.values.get("webhook_secret") or ""))}
        else:
            extra = {"secret": secret("app_secret_env", True), "phone_number_id": number,
                     "verify_token": secret("verify_token_env", False, (env.get("WHATSAPP_VERIFY_TOKEN") or "").strip())}
        areas = {}
        for key in ("puskesmas", "districts"):
            value = entry.get(key) or []
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list):
                raise reader.fail(f"{where}.{key}", f"expected a list of codes, got {value!r}")
            areas[key] = tuple(str(code).strip() for code in value)
            for code in areas[key]:
                label = f"{key}:{code}"
                if label in served:
                    raise reader.fail(f"{where}.{key}", f"{code} is served by {served[label]} already: list it in one account")
                served[label] = f"{channel}.{where} ({name})"
        if not areas["puskesmas"] and not areas["districts"]:
            raise reader.fail(f"{where}.puskesmas", "expected the puskesmas (or districts: the districts) this account serves")
        rate = None
        if entry.get("rate") is not None:
            rate = _Reader(f"{reader.section}.{where}", {"rate": entry["rate"]}, {}).float("rate", 0.0, 10_000.0)
        accounts.append(ChannelAccount(name=name, token=token, rate=rate, **areas, **extra))
    return tuple(accounts)


def account_settings(settings: Settings, channel: str) -> dict[str, Any]:
    """Each account of ``channel`` ("telegram" or "whatsapp") that can run -> its section's settings as that
    account's channel takes them: the default account (when its token is set) as configured, each other with its
    token, secrets and webhook (``/telegram/<name>`` on the host of ``telegram.webhook_url``; ``/whatsapp/<name>``)."""
    from dataclasses import replace

    out: dict[str, Any] = {}
    if channel == "telegram":
        tg = settings.telegram
        if tg.token:
            out[DEFAULT_ACCOUNT] = tg
        base = re.match(r"^[a-z]+://[^/]+", tg.webhook_url)
        for a in tg.accounts:
            url = f"{base.group(0)}/telegram/{a.name}" if base else ""
            out[a.name] = replace(tg, token=a.token, webhook_url=url, webhook_secret=a.secret, accounts=())
        return out
    wa = settings.whatsapp
    if wa.enabled:
        out[DEFAULT_ACCOUNT] = wa
    for a in wa.accounts:
        out[a.name] = replace(wa, phone_number_id=a.phone_number_id, access_token=a.token, app_secret=a.secret,
                              verify_token=a.verify_token, webhook_path=f"/whatsapp/{a.name}",
                              rate=wa.rate if a.rate is None else a.rate, accounts=())
    return out


def _satusehat(reader: _Reader, env: Mapping[str, str]) -> SatusehatConfig:
    """The SATUSEHAT section; the client id and secret from the environment only (a file that names them
    is refused: secrets are not kept in config.yaml)."""
    for key, name in SATUSEHAT_SECRETS.items():
        if key in reader.values:
            raise reader.fail(key, f"the SATUSEHAT credentials are read from the environment only: set {name}, "
                                   "and remove it from the file")
    urls = {}
    for key in ("auth_url", "base_url"):
        urls[key] = reader.str(key).rstrip("/")
        if not urls[key].startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise reader.fail(key, f"expected an https URL, e.g. {default_of('satusehat', key)}, got {urls[key]!r}")
    organization = reader.str("organization_id")
    if organization and not _SATUSEHAT_ID_RE.match(organization):
        raise reader.fail("organization_id", f"expected the organization's SATUSEHAT id (letters, digits, -), got {organization!r}")
    locations = reader.mapping("locations")
    for code, location in locations.items():
        if not _SATUSEHAT_ID_RE.match(location):
            raise reader.fail(f"locations.{code}", f"expected a SATUSEHAT Location id (letters, digits, -), got {location!r}")
    secrets = {key: (env.get(name) or "").strip() for key, name in SATUSEHAT_SECRETS.items()}
    config = SatusehatConfig(enabled=reader.bool("enabled"), organization_id=organization, locations=locations,
                             every_minutes=reader.int("every_minutes", 1, 24 * 60), **urls, **secrets)
    if config.enabled:
        if not organization:
            raise reader.fail("organization_id", "SATUSEHAT is enabled: give the organization id its credentials belong to")
        missing = [name for key, name in SATUSEHAT_SECRETS.items() if not secrets[key]]
        if missing:
            raise ConfigError(f"{missing[0]}: SATUSEHAT is enabled (satusehat.enabled) and needs "
                              f"{' and '.join(SATUSEHAT_SECRETS.values())} in the environment")
    return config


def _pws_targets(reader: _Reader) -> dict[str, float]:
    """The default targets with the given ones over them; each a known indicator and a percent."""
    from care.coverage import MEMBER_CODES, dose_codes

    given = reader.values.get("targets") or {}
    if not isinstance(given, dict):
        raise reader.fail("targets", f"expected a mapping of indicator: percent, got {given!r}")
    known = {*MEMBER_CODES, *dose_codes(je=True), "doses"}
    targets = dict(default_of("pws", "targets"))
    for key, value in given.items():
        if str(key) not in known:
            raise reader.fail(f"targets.{key}", f"unknown indicator (known: {', '.join(sorted(known))})")
        try:
            number = float(str(value).strip())
        except ValueError:
            raise reader.fail(f"targets.{key}", f"expected a percent, got {value!r}") from None
        if not 0 <= number <= 100:
            raise reader.fail(f"targets.{key}", f"expected 0 to 100, got {number:g}")
        targets[str(key)] = number
    return targets


_TEMPLATE_RE = re.compile(r"^[a-z0-9_]{1,512}$")
_LANGUAGE_CODE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")


def _whatsapp(reader: _Reader, env: Mapping[str, str], locale: LocaleConfig) -> WhatsAppConfig:
    """The WhatsApp section; the number id and secrets come from WHATSAPP_* environment variables."""
    secret = {key: (env.get(f"WHATSAPP_{key.upper()}") or "").strip() for key in ("phone_number_id", "access_token", "app_secret", "verify_token")}
    templates = reader.mapping("templates")
    for kind, name in templates.items():
        if not _TEMPLATE_RE.match(name):
            raise reader.fail(f"templates.{kind}", f"expected a template name of a-z 0-9 _, got {name!r}")
    languages = reader.mapping("template_languages")
    for lang in locale.available:
        if not _LANGUAGE_CODE_RE.match(languages.get(lang, "")):
            raise reader.fail(f"template_languages.{lang}", f"expected a WhatsApp language code such as id or en_US, got {languages.get(lang)!r}")
    base_url, version = _graph_url(reader)
    config = WhatsAppConfig(
        phone_number_id=secret["phone_number_id"] or None,
        access_token=secret["access_token"] or None,
        app_secret=secret["app_secret"],
        verify_token=secret["verify_token"],
        graph_base_url=base_url,
        graph_version=version,
        webhook_path=reader.str("webhook_path"),
        rate=reader.float("rate", 0.0, 1000.0),
        templates=templates,
        template_languages=languages,
        accounts=_accounts(reader, env, "whatsapp"),
    )
    if not config.webhook_path.startswith("/"):
        raise reader.fail("webhook_path", "expected a path starting with /")
    if bool(config.phone_number_id) != bool(config.access_token):
        missing = "WHATSAPP_ACCESS_TOKEN" if config.phone_number_id else "WHATSAPP_PHONE_NUMBER_ID"
        raise ConfigError(f"{missing}: WhatsApp needs both WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN")
    if config.enabled and not config.app_secret:
        raise ConfigError("WHATSAPP_APP_SECRET: needed to check the signature of WhatsApp webhooks")
    if config.enabled and not config.phone_number_id.isdigit():
        raise ConfigError("WHATSAPP_PHONE_NUMBER_ID: expected the number's id (digits) from Meta's app dashboard")
    return config


def _graph_url(reader: _Reader) -> tuple[str, str]:
    """(the Graph URL with its version, the version): ``graph_base_url`` plus ``graph_version``, unless the
    URL ends with a version of its own (then a different ``graph_version`` set beside it is an error)."""
    url = reader.str("graph_base_url", GRAPH_HOST).rstrip("/")  # the field's default is this plus the version
    if not url.startswith(("http://", "https://")):
        raise reader.fail("graph_base_url", f"expected an http(s) URL, e.g. {GRAPH_HOST}")
    version = reader.str("graph_version")
    if not _GRAPH_VERSION_RE.match(version):
        raise reader.fail("graph_version", f"expected a Graph API version such as {GRAPH_VERSION}, got {version!r}")
    in_url = _VERSION_IN_URL_RE.search(url)
    if in_url is None:
        return f"{url}/{version}", version
    if "graph_version" in reader.values and version != in_url.group(1):
        raise reader.fail("graph_version", f"{version} differs from the version in graph_base_url ({in_url.group(1)}): give it once")
    return url, in_url.group(1)


def _check_reminders(rem: _Reader, r: RemindersConfig) -> None:
    """Refuses reminder settings that contradict each other, naming every key involved: settings under
    which reminders would silently never be sent (quiet hours 0-0 once made every daily reminder expire
    before its 07:00 slot).

    A day's reminders are planned at ``plan_hour``, sent at the family's slot (``morning_hour`` or
    ``afternoon_hour``) and expire when that day's quiet hours start (``quiet_start``). So: quiet hours
    that start and end at the same hour are refused (they would be quiet all day); the morning slot comes
    before the afternoon one; neither slot is inside quiet hours; both come before ``quiet_start`` on their
    day; planning comes before the morning slot and outside quiet hours.
    """

    def refuse(keys: tuple[str, ...], problem: str) -> ConfigError:
        sources = [rem.sources[key] for key in keys if key in rem.sources]
        where = f" (from {', '.join(sources)})" if sources else ""
        return ConfigError(f"{', '.join(f'reminders.{key}' for key in keys)}: {problem}{where}")

    quiet = f"{r.quiet_start}:00-{r.quiet_end}:00"
    if r.quiet_start == r.quiet_end:
        raise refuse(("quiet_start", "quiet_end"), f"quiet hours from {r.quiet_start}:00 to {r.quiet_end}:00 would last "
                     "all day and no reminder could be sent; set the hour quiet hours start (e.g. 20) and the hour they end (e.g. 6)")
    if r.morning_hour >= r.afternoon_hour:
        raise refuse(("morning_hour", "afternoon_hour"),
                     f"the morning slot ({r.morning_hour}:00) must come before the afternoon slot ({r.afternoon_hour}:00)")
    for key in ("morning_hour", "afternoon_hour"):
        hour = getattr(r, key)
        if in_quiet_hours(hour, (r.quiet_start, r.quiet_end)):
            raise refuse((key, "quiet_start", "quiet_end"), f"{hour}:00 is inside the quiet hours {quiet}")
    late = tuple(key for key in ("morning_hour", "afternoon_hour") if getattr(r, key) >= r.quiet_start)
    if late:
        raise refuse(late + ("quiet_start",), f"a day's reminders expire when its quiet hours start ({r.quiet_start}:00), "
                     f"before the slot at {getattr(r, late[0])}:00: every reminder for it would expire unsent; "
                     "quiet hours must start after the afternoon slot")
    if r.plan_hour >= r.morning_hour:
        raise refuse(("plan_hour", "morning_hour"),
                     f"the day is planned at {r.plan_hour}:00, not before the morning slot ({r.morning_hour}:00): "
                     "planning must come before the morning slot")
    if in_quiet_hours(r.plan_hour, (r.quiet_start, r.quiet_end)):
        raise refuse(("plan_hour", "quiet_start", "quiet_end"),
                     f"the day is planned at {r.plan_hour}:00, inside the quiet hours {quiet}: plan at the end of quiet hours or later")
