"""Configuration: the file's defaults, environment overrides, and errors that name the key."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields as dataclass_fields

import pytest
import yaml

from config import ConfigError, load_settings


def test_defaults_from_config_yaml():
    settings = load_settings(env={})
    assert settings.database.url.startswith("sqlite+aiosqlite:///") and settings.database.url.endswith("var/ilpbot.sqlite3")
    assert settings.locale.default == "id"
    assert settings.telegram.mode == "polling" and settings.telegram.token is None
    assert settings.web.port == 8080


def test_environment_overrides_every_section():
    settings = load_settings(
        env={
            "ILPBOT_DATABASE_URL": "postgresql://bot@db.example/ilp",
            "ILPBOT_TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
            "ILPBOT_LOCALE_DEFAULT": "en",
            "ILPBOT_WEB_PORT": "9000",
            "ILPBOT_TIMEZONE_DEFAULT": "Asia/Jayapura",
            "ILPBOT_CARE_JE": "true",
            "TELEGRAM_BOT_TOKEN": "123:abc",
        }
    )
    assert settings.database.url == "postgresql+asyncpg://bot@db.example/ilp"
    assert settings.telegram.base_url == "http://127.0.0.1:8081/bot"
    assert settings.locale.default == "en"
    assert settings.web.port == 9000
    assert settings.timezone.default == "Asia/Jayapura"
    assert settings.care.je is True
    assert settings.telegram.token == "123:abc"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ILPBOT_TELEGRAM_MODE": "poll"}, "telegram.mode"),
        ({"ILPBOT_WEB_PORT": "eighty"}, "web.port"),
        ({"ILPBOT_WEB_PORT": "70000"}, "web.port"),
        ({"ILPBOT_WEB_WORKERS": "two"}, "web.workers"),
        ({"ILPBOT_WEB_WORKERS": "0"}, "web.workers"),
        ({"ILPBOT_WEB_WORKERS": "65"}, "web.workers"),
        ({"ILPBOT_DATABASE_URL": "mysql://x/y"}, "database.url"),
        ({"ILPBOT_LOCALE_DEFAULT": "fr"}, "locale.default"),
        ({"ILPBOT_TIMEZONE_DEFAULT": "Mars/Olympus"}, "timezone.default"),
        ({"ILPBOT_CARE_JE": "maybe"}, "care.je"),
        ({"ILPBOT_TELEGRAM_MODE": "webhook", "TELEGRAM_BOT_TOKEN": "1:a", "ILPBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example/tg"}, "telegram.webhook_secret"),
        ({"ILPBOT_TELEGRAM_MODE": "webhook", "TELEGRAM_BOT_TOKEN": "1:a", "ILPBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret"}, "telegram.webhook_url"),
    ],
)
def test_a_bad_value_names_its_key(env, named):
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    assert str(info.value).startswith(named)
    if any(k.startswith("ILPBOT_") and named.split(".")[1].upper() in k for k in env):
        assert "ILPBOT_" in str(info.value)


def test_a_bad_file_is_reported(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("database: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(path, env={})
    path.write_text("web:\n  port: 0\n")
    with pytest.raises(ConfigError, match="web.port"):
        load_settings(path, env={})


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ILPBOT_DATABSE_URL": "sqlite:///x"}, "ILPBOT_DATABSE_URL"),
        ({"ILPBOT_TIMEZONE_PUSKESMAS": "x"}, "ILPBOT_TIMEZONE_PUSKESMAS"),
        ({"ILPBOT_TELEGRAM_BASE_FILE_URL": "nope"}, "telegram.base_file_url"),
        ({"ILPBOT_WEB_HOST": ""}, "web.host"),
        ({"ILPBOT_REMINDERS_MORNING_HOUR": "21"}, "reminders.morning_hour"),
        ({"ILPBOT_REMINDERS_POSYANDU_DAYS_BEFORE": "1,x"}, "reminders.posyandu_days_before"),
    ],
)
def test_more_bad_values_name_their_key(env, named):
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    assert str(info.value).startswith(named)


def test_care_overrides_are_checked_at_start(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("care:\n  overrides:\n    doses:\n      MR2: {recommended_monthz: 18}\n")
    with pytest.raises(ConfigError, match="care.overrides.doses.MR2"):
        load_settings(path, env={})
    path.write_text("care:\n  je: true\n  overrides:\n    doses:\n      MR2: {recommended_months: 19}\n")
    assert load_settings(path, env={}).care.je is True


def test_whatsapp_needs_its_secrets_from_the_environment_and_names_the_missing_one():
    from config import ConfigError, load_settings

    assert not load_settings(env={}).whatsapp.enabled
    with pytest.raises(ConfigError, match="WHATSAPP_ACCESS_TOKEN"):
        load_settings(env={"WHATSAPP_PHONE_NUMBER_ID": "109876543210987"})
    with pytest.raises(ConfigError, match="WHATSAPP_APP_SECRET"):
        load_settings(env={"WHATSAPP_PHONE_NUMBER_ID": "109876543210987", "WHATSAPP_ACCESS_TOKEN": "EAAG"})
    with pytest.raises(ConfigError, match="whatsapp.graph_base_url"):
        load_settings(env={"ILPBOT_WHATSAPP_GRAPH_BASE_URL": "ftp://x"})
    with pytest.raises(ConfigError, match="whatsapp.rate"):
        load_settings(env={"ILPBOT_WHATSAPP_RATE": "fast"})
    ok = load_settings(env={"WHATSAPP_PHONE_NUMBER_ID": "109876543210987", "WHATSAPP_ACCESS_TOKEN": "EAAG",
                            "WHATSAPP_APP_SECRET": "s", "ILPBOT_WHATSAPP_GRAPH_BASE_URL": "http://127.0.0.1:9/v21.0/"})
    assert ok.whatsapp.enabled and ok.whatsapp.graph_base_url == "http://127.0.0.1:9/v21.0"
    assert ok.whatsapp.templates["reminder"] == "ilp_pengingat"


@pytest.mark.parametrize(
    ("env", "url", "version"),
    [
        ({}, "https://graph.facebook.com/{default}", "{default}"),
        ({"ILPBOT_WHATSAPP_GRAPH_VERSION": "v25.0"}, "https://graph.facebook.com/v25.0", "v25.0"),
        ({"ILPBOT_WHATSAPP_GRAPH_BASE_URL": "http://127.0.0.1:9/"}, "http://127.0.0.1:9/{default}", "{default}"),
        ({"ILPBOT_WHATSAPP_GRAPH_BASE_URL": "http://127.0.0.1:9/v24.0"}, "http://127.0.0.1:9/v24.0", "v24.0"),
        ({"ILPBOT_WHATSAPP_GRAPH_BASE_URL": "http://127.0.0.1:9/v24.0", "ILPBOT_WHATSAPP_GRAPH_VERSION": "v24.0"},
         "http://127.0.0.1:9/v24.0", "v24.0"),
    ],
)
def test_the_graph_version_is_current_and_configurable(env, url, version):
    from config import GRAPH_VERSION, load_settings

    whatsapp = load_settings(env=env).whatsapp
    assert (whatsapp.graph_base_url, whatsapp.graph_version) == (url.format(default=GRAPH_VERSION), version.format(default=GRAPH_VERSION))


def test_the_default_graph_version_is_written_once_and_is_not_past_its_end():
    from config import GRAPH_VERSION, ROOT

    assert GRAPH_VERSION not in (ROOT / "config.yaml").read_text()  # config.yaml does not repeat it
    assert tuple(int(n) for n in GRAPH_VERSION[1:].split(".")) > (21, 0)  # v21.0 ends 21 January 2027


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ILPBOT_WHATSAPP_GRAPH_VERSION": "25"}, "whatsapp.graph_version: expected a Graph API version"),
        ({"ILPBOT_WHATSAPP_GRAPH_BASE_URL": "http://x/v21.0", "ILPBOT_WHATSAPP_GRAPH_VERSION": "v25.0"}, "differs from the version in graph_base_url"),
    ],
)
def test_a_wrong_graph_version_is_named(env, message):
    from config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def _reminders(**values) -> dict[str, str]:
    return {f"ILPBOT_REMINDERS_{key.upper()}": str(value) for key, value in values.items()}


@pytest.mark.parametrize(
    ("values", "keys"),
    [
        # quiet hours 0-0 once made all 1,521 daily reminders expire before their 07:00 slot
        ({"quiet_start": 0, "quiet_end": 0}, ("quiet_start", "quiet_end")),
        ({"quiet_start": 22, "quiet_end": 22}, ("quiet_start", "quiet_end")),
        # the day's reminders expire when quiet hours start: before a slot, none could be sent
        ({"quiet_start": 1, "quiet_end": 5}, ("morning_hour", "afternoon_hour", "quiet_start")),
        ({"quiet_start": 12, "quiet_end": 13}, ("afternoon_hour", "quiet_start")),
        ({"quiet_start": 15, "quiet_end": 6}, ("afternoon_hour", "quiet_start", "quiet_end")),  # the slot is quiet
        # slots inside quiet hours
        ({"morning_hour": 5}, ("morning_hour", "quiet_start", "quiet_end")),
        ({"afternoon_hour": 21}, ("afternoon_hour", "quiet_start", "quiet_end")),
        # slots out of order
        ({"morning_hour": 16}, ("morning_hour", "afternoon_hour")),
        ({"morning_hour": 15}, ("morning_hour", "afternoon_hour")),
        # planning at or after the morning slot, or inside quiet hours
        ({"plan_hour": 7}, ("plan_hour", "morning_hour")),
        ({"plan_hour": 9}, ("plan_hour", "morning_hour")),
        ({"plan_hour": 3}, ("plan_hour", "quiet_start", "quiet_end")),
        # posyandu days: negative, out of range, listed twice
        ({"posyandu_days_before": "1,-1"}, ("posyandu_days_before",)),
        ({"posyandu_days_before": "15"}, ("posyandu_days_before",)),
        ({"posyandu_days_before": "1,0,1"}, ("posyandu_days_before",)),
    ],
)
def test_reminder_settings_that_contradict_each_other_stop_the_start_naming_the_keys(values, keys):
    with pytest.raises(ConfigError) as info:
        load_settings(env=_reminders(**values))
    message = str(info.value)
    named = message.split(":", 1)[0]
    assert named == ", ".join(f"reminders.{key}" for key in keys), message
    assert all(f"ILPBOT_REMINDERS_{key.upper()}" in message for key in values if key in keys)  # where they came from


@pytest.mark.parametrize(
    "values",
    [
        {},  # the defaults: plan 06, slots 07 and 15, quiet 20-06
        {"plan_hour": 5, "morning_hour": 8, "afternoon_hour": 16, "quiet_start": 21, "quiet_end": 5},
        {"quiet_start": 16, "quiet_end": 6},  # quiet right after the afternoon slot
        {"quiet_start": 21, "quiet_end": 23},  # quiet hours that do not wrap midnight
        {"plan_hour": 0, "quiet_start": 22, "quiet_end": 0},
        {"posyandu_days_before": "3,1,0"},
    ],
)
def test_reminder_settings_that_fit_together_are_accepted(values):
    reminders = load_settings(env=_reminders(**values)).reminders
    for key, value in values.items():
        got = getattr(reminders, key)
        assert got == (tuple(int(d) for d in value.split(",")) if isinstance(value, str) else value)


def test_inbound_limit_settings():
    inbound = load_settings(env={}).inbound
    assert (inbound.burst, inbound.per_minute) == (10, 30)
    assert load_settings(env={"ILPBOT_INBOUND_PER_MINUTE": "0"}).inbound.per_minute == 0  # no limit
    for env, key in (({"ILPBOT_INBOUND_BURST": "0"}, "inbound.burst"), ({"ILPBOT_INBOUND_PER_MINUTE": "-1"}, "inbound.per_minute"),
                     ({"ILPBOT_INBOUND_BURST": "many"}, "inbound.burst")):
        with pytest.raises(ConfigError) as info:
            load_settings(env=env)
        assert str(info.value).startswith(key) and "ILPBOT_INBOUND_" in str(info.value)


# ---------------------------------------------------------------- each default once, config.yaml shows them

#: a default shown in config.yaml: two spaces, ``# key: value``, under its section
_SHOWN = re.compile(r"^  # ([a-z_]+):(.*)$")


def _shown_defaults() -> tuple[dict[str, dict], str]:
    """The keys config.yaml shows commented out, with their values, and the file with them uncommented."""
    from config import DEFAULT_FILE

    lines = [(_SHOWN.sub(r"  \1:\2", line)) for line in DEFAULT_FILE.read_text(encoding="utf-8").splitlines()]
    text = "\n".join(lines) + "\n"
    return yaml.safe_load(text), text


def _plain(value):
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def test_config_yaml_sets_nothing_it_only_shows_the_defaults(tmp_path):
    from config import DEFAULT_FILE

    data = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    assert all(not values for values in data.values()), "config.yaml restates a default: comment it out"
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_settings(env={}) == load_settings(empty, env={})


def test_every_default_config_yaml_shows_is_the_codes():
    from config import ENV_KEYS, GRAPH_HOST, SECTIONS, default_of

    shown, _text = _shown_defaults()
    assert set(shown) == set(SECTIONS)
    for section, values in shown.items():
        fields = {f.name for f in dataclass_fields(SECTIONS[section])}
        assert set(values) <= fields, f"{section}: config.yaml shows keys the code does not have"
        for key, value in values.items():
            code = GRAPH_HOST if (section, key) == ("whatsapp", "graph_base_url") else default_of(section, key)
            assert _plain(value) == _plain(code), f"{section}.{key}: config.yaml shows {value!r}, the code's default is {code!r}"
        # every key the environment can set is shown (graph_version only by name: it changes with Meta's versions)
        missing = set(ENV_KEYS.get(section, ())) - set(values) - {"graph_version"}
        assert not missing, f"{section}: config.yaml does not show {sorted(missing)}"


def test_the_defaults_config_yaml_shows_load_as_the_defaults(tmp_path):
    _shown, text = _shown_defaults()
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert load_settings(path, env={}) == load_settings(env={})


def test_a_key_not_given_takes_its_dataclass_default(tmp_path):
    from config import RemindersConfig, Settings, WhatsAppConfig

    path = tmp_path / "config.yaml"
    path.write_text("web:\n  port: 9000\n")
    settings = load_settings(path, env={})
    assert settings.web.port == 9000 and settings.web.host == "127.0.0.1"
    assert settings.reminders == RemindersConfig()
    assert settings.whatsapp == WhatsAppConfig()
    assert settings.database.url.endswith("var/ilpbot.sqlite3") and Settings().web.port == 8080


@pytest.mark.parametrize(
    ("file", "env", "message"),
    [
        ("web:\n  port: 0\n", {}, "web.port: expected 1 to 65535, got 0 (or set ILPBOT_WEB_PORT)"),
        ("", {"ILPBOT_WEB_PORT": "0"}, "web.port: expected 1 to 65535, got 0 (from ILPBOT_WEB_PORT)"),
        ("reminders:\n  max_times: many\n", {}, "reminders.max_times: expected a whole number, got 'many' (or set ILPBOT_REMINDERS_MAX_TIMES)"),
        ("whatsapp:\n  templates: {reply: Bad-Name}\n", {}, "whatsapp.templates.reply: expected a template name"),
    ],
)
def test_an_error_names_the_key_and_its_environment_variable(tmp_path, file, env, message):
    path = tmp_path / "config.yaml"
    path.write_text(file)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env=env)
    assert str(info.value).startswith(message)


# ---------------------------------------------------------------- one language list


def test_the_languages_are_content_i18ns():
    from config import SUPPORTED_LOCALES, LocaleConfig
    from content.i18n import LANGUAGES, LOCALES_DIR, SOURCE_LANGUAGE

    assert SUPPORTED_LOCALES == tuple(LANGUAGES) and LocaleConfig().available == tuple(LANGUAGES)
    assert load_settings(env={}).locale.available == tuple(LANGUAGES)
    assert load_settings(env={}).whatsapp.template_languages == {lang: lang for lang in LANGUAGES}
    for lang in LANGUAGES:  # each language but the source one has its catalogue
        assert lang == SOURCE_LANGUAGE or (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").exists(), lang
    with pytest.raises(ConfigError, match=r"locale.available: unsupported language 'fr' \(have id, en\)"):
        load_settings(env={"ILPBOT_LOCALE_AVAILABLE": "id,fr"})
    assert load_settings(env={"ILPBOT_LOCALE_AVAILABLE": "id"}).locale.available == ("id",)


def test_pws_targets_take_the_given_keys_over_the_defaults_and_refuse_unknown_ones(tmp_path):
    from config import PWS_TARGETS

    assert load_settings(env={}).pws.targets == PWS_TARGETS
    path = tmp_path / "config.yaml"
    path.write_text("pws:\n  targets: {IDL: 95, MR1: 97.5}\n")
    targets = load_settings(path, env={}).pws.targets
    assert targets["IDL"] == 95 and targets["MR1"] == 97.5 and targets["K6"] == PWS_TARGETS["K6"]
    for text, named in (("{IDL: 120}", "pws.targets.IDL: expected 0 to 100"), ("{XYZ: 5}", "pws.targets.XYZ: unknown indicator"),
                        ("{K4: many}", "pws.targets.K4: expected a percent"), ("[1, 2]", "pws.targets: expected a mapping")):
        path.write_text(f"pws:\n  targets: {text}\n")
        with pytest.raises(ConfigError, match=re.escape(named)):
            load_settings(path, env={})


def test_satusehat_is_off_by_default_and_reads_its_section(tmp_path):
    assert load_settings(env={}).satusehat.enabled is False
    file = tmp_path / "c.yaml"
    file.write_text("satusehat:\n  organization_id: '10000004'\n  locations: {PSY-01: ef011065-38c9-46f8-9c35-d1fe68966a3e}\n")
    env = {"ILPBOT_SATUSEHAT_ENABLED": "true", "ILPBOT_SATUSEHAT_CLIENT_ID": "cid", "ILPBOT_SATUSEHAT_CLIENT_SECRET": "s3cret"}
    s = load_settings(file, env=env).satusehat
    assert (s.enabled, s.organization_id, s.client_id, s.client_secret) == (True, "10000004", "cid", "s3cret")
    assert s.locations == {"PSY-01": "ef011065-38c9-46f8-9c35-d1fe68966a3e"}
    assert "s3cret" not in repr(s) and "cid" not in repr(load_settings(file, env=env))


@pytest.mark.parametrize(("file", "env", "message"), [
    ("", {"ILPBOT_SATUSEHAT_ENABLED": "1"}, "satusehat.organization_id: SATUSEHAT is enabled"),
    ("satusehat: {organization_id: '1'}", {"ILPBOT_SATUSEHAT_ENABLED": "1"}, "ILPBOT_SATUSEHAT_CLIENT_ID: SATUSEHAT is enabled"),
    ("satusehat: {organization_id: '1'}", {"ILPBOT_SATUSEHAT_ENABLED": "1", "ILPBOT_SATUSEHAT_CLIENT_ID": "c"},
     "ILPBOT_SATUSEHAT_CLIENT_SECRET: SATUSEHAT is enabled"),
    ("satusehat: {client_secret: x}", {}, "satusehat.client_secret: the SATUSEHAT credentials are read from the environment only"),
    ("satusehat: {base_url: 'ftp://x'}", {}, "satusehat.base_url: expected an https URL"),
    ("", {"ILPBOT_SATUSEHAT_AUTH_URL": "http://example.com"}, "satusehat.auth_url: expected an https URL"),
    ("satusehat: {organization_id: 'a b'}", {}, "satusehat.organization_id: expected"),
    ("satusehat: {locations: {PSY-01: 'x/y'}}", {}, "satusehat.locations.PSY-01: expected"),
])
def test_satusehat_settings_are_checked_at_start(tmp_path, file, env, message):
    path = tmp_path / "c.yaml"
    path.write_text(file)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(path, env=env)


# ------------------------------------------------------------------ several channel accounts (issue 20)

_ACCOUNTS = """
telegram:
  accounts:
    - {name: kota, token_env: TG_KOTA, puskesmas: [P5108060201]}
    - {name: utara, token_env: TG_UTARA, districts: ["5108"], rate: 20}
whatsapp:
  accounts:
    - {name: kota, phone_number_id: "222", token_env: WA_KOTA, app_secret_env: WA_KOTA_SECRET, puskesmas: [P5108060201]}
"""
_ACCOUNT_ENV = {"TELEGRAM_BOT_TOKEN": "1:default", "TG_KOTA": "2:kota", "TG_UTARA": "3:utara",
                "WA_KOTA": "wa-token-kota", "WA_KOTA_SECRET": "wa-secret-kota", "WHATSAPP_VERIFY_TOKEN": "verify"}


def test_several_accounts_per_channel_beside_the_default_one(tmp_path):
    from config import account_settings

    path = tmp_path / "config.yaml"
    path.write_text(_ACCOUNTS + "  webhook_path: /wa\n")
    settings = load_settings(path, env={**_ACCOUNT_ENV, "ILPBOT_TELEGRAM_MODE": "webhook",
                                        "ILPBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example/tg/hook",
                                        "ILPBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret"})
    kota, utara = settings.telegram.accounts
    assert (kota.name, kota.token, kota.puskesmas, utara.districts, utara.rate) == ("kota", "2:kota", ("P5108060201",), ("5108",), 20.0)
    telegram = account_settings(settings, "telegram")
    assert list(telegram) == ["default", "kota", "utara"]
    assert telegram["default"] is settings.telegram  # the single-account settings, as they were
    assert (telegram["kota"].token, telegram["kota"].webhook_url, telegram["kota"].webhook_secret) == (
        "2:kota", "https://bot.example/telegram/kota", "s3cret")
    whatsapp = account_settings(settings, "whatsapp")
    assert list(whatsapp) == ["kota"]  # no WHATSAPP_PHONE_NUMBER_ID: no default number
    assert (whatsapp["kota"].phone_number_id, whatsapp["kota"].access_token, whatsapp["kota"].app_secret,
            whatsapp["kota"].verify_token, whatsapp["kota"].webhook_path) == ("222", "wa-token-kota", "wa-secret-kota", "verify", "/whatsapp/kota")


def test_without_accounts_the_single_account_settings_are_the_default_account():
    from config import account_settings

    settings = load_settings(env={"TELEGRAM_BOT_TOKEN": "1:a"})
    assert settings.telegram.accounts == () and settings.whatsapp.accounts == ()
    assert account_settings(settings, "telegram") == {"default": settings.telegram}
    assert account_settings(settings, "whatsapp") == {}


@pytest.mark.parametrize(
    ("accounts", "env", "message"),
    [
        ("telegram:\n  accounts: {name: kota}\n", {}, "telegram.accounts: expected a list of accounts"),
        ("telegram:\n  accounts:\n    - {name: kota, token_env: TG_KOTA}\n", {"TG_KOTA": "2:b"},
         "telegram.accounts[0].puskesmas: expected the puskesmas (or districts: the districts) this account serves"),
        ("telegram:\n  accounts:\n    - {name: kota, token_env: TG_KOTA, puskesmas: [P1]}\n", {},
         "telegram.accounts[0].token_env: the environment variable TG_KOTA is not set"),
        ("telegram:\n  accounts:\n    - {name: kota, token: '2:b', puskesmas: [P1]}\n", {},
         "telegram.accounts[0].token: unknown key"),
        ("telegram:\n  accounts:\n    - {name: default, token_env: TG_KOTA, puskesmas: [P1]}\n", {"TG_KOTA": "2:b"},
         "telegram.accounts[0].name: expected a name of 1-32 a-z 0-9 _ - other than 'default'"),
        ("telegram:\n  accounts:\n    - {name: kota, token_env: TG_KOTA, puskesmas: [P1]}\n", {"TG_KOTA": "1:a", "TELEGRAM_BOT_TOKEN": "1:a"},
         "telegram.accounts[0].token_env: the same token as TELEGRAM_BOT_TOKEN (the account default): each account needs its own"),
        ("telegram:\n  accounts:\n    - {name: kota, token_env: TG_KOTA, puskesmas: [P1]}\n    - {name: kota2, token_env: TG_KOTA2, puskesmas: [P2]}\n",
         {"TG_KOTA": "2:b", "TG_KOTA2": "2:b"}, "telegram.accounts[1].token_env: the same token as telegram.accounts[0]"),
        ("telegram:\n  accounts:\n    - {name: kota, token_env: TG_KOTA, puskesmas: [P1]}\n    - {name: kota, token_env: TG_KOTA2, puskesmas: [P2]}\n",
         {"TG_KOTA": "2:b", "TG_KOTA2": "3:c"}, "telegram.accounts[1].name: the account 'kota' is listed twice"),
        ("telegram:\n  accounts:\n    - {name: kota, token_env: TG_KOTA, puskesmas: [P1]}\n    - {name: utara, token_env: TG_KOTA2, puskesmas: [P1]}\n",
         {"TG_KOTA": "2:b", "TG_KOTA2": "3:c"}, "telegram.accounts[1].puskesmas: P1 is served by telegram.accounts[0] (kota) already"),
        ("telegram:\n  accounts:\n    - {name: kota, token_env: TG_KOTA, puskesmas: [P1], rate: fast}\n", {"TG_KOTA": "2:b"},
         "telegram.accounts[0].rate: expected a number, got 'fast'"),
        ("whatsapp:\n  accounts:\n    - {name: kota, phone_number_id: abc, token_env: WA, app_secret_env: WS, puskesmas: [P1]}\n",
         {"WA": "t", "WS": "s"}, "whatsapp.accounts[0].phone_number_id: expected the number's id (digits)"),
        ("whatsapp:\n  accounts:\n    - {name: kota, phone_number_id: '222', token_env: WA, puskesmas: [P1]}\n",
         {"WA": "t"}, "whatsapp.accounts[0].app_secret_env: expected the name of the environment variable that holds it"),
        ("whatsapp:\n  accounts:\n    - {name: kota, phone_number_id: '111', token_env: WA, app_secret_env: WS, puskesmas: [P1]}\n",
         {"WA": "t", "WS": "s", "WHATSAPP_PHONE_NUMBER_ID": "111", "WHATSAPP_ACCESS_TOKEN": "x", "WHATSAPP_APP_SECRET": "y"},
         "whatsapp.accounts[0].phone_number_id: the same number as WHATSAPP_PHONE_NUMBER_ID (the account default)"),
    ],
)
def test_a_bad_account_stops_the_start_naming_its_key(tmp_path, accounts, env, message):
    path = tmp_path / "config.yaml"
    path.write_text(accounts)
    with pytest.raises(ConfigError) as error:
        load_settings(path, env=env)
    assert str(error.value).startswith(message), str(error.value)


def test_several_workers_need_telegram_webhooks_not_polling():
    """Only one process may poll a bot token: web.workers > 1 with Telegram polling is refused, naming both keys;
    webhook mode, or no Telegram at all (WhatsApp's webhooks), is taken."""
    with pytest.raises(ConfigError) as info:
        load_settings(env={"ILPBOT_WEB_WORKERS": "2", "TELEGRAM_BOT_TOKEN": "1:a"})
    assert str(info.value).startswith("web.workers: 2 processes need telegram.mode: webhook")
    assert "ILPBOT_WEB_WORKERS" in str(info.value)
    webhook = {"ILPBOT_TELEGRAM_MODE": "webhook", "ILPBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example/tg",
               "ILPBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret", "TELEGRAM_BOT_TOKEN": "1:a"}
    assert load_settings(env={**webhook, "ILPBOT_WEB_WORKERS": "4"}).web.workers == 4
    assert load_settings(env={"ILPBOT_WEB_WORKERS": "3"}).web.workers == 3
    assert load_settings(env={}).web.workers == 1
