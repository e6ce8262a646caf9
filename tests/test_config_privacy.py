"""privacy.retention_days: 30 days unless set; anything but a positive whole number stops the start, named."""
from __future__ import annotations

import pytest
import yaml

from config import DEFAULT_FILE, ConfigError, PrivacyConfig, load_settings


def test_the_retention_defaults_to_30_days_written_once():
    assert load_settings(env={}).privacy.retention_days == 30 == PrivacyConfig.retention_days
    # config.yaml only shows it, commented out (tests/test_config.py checks every default it shows)
    assert "\nprivacy:\n  # retention_days: 30 " in DEFAULT_FILE.read_text(encoding="utf-8")
    assert not yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))["privacy"]


def test_the_retention_is_set_in_the_file_or_the_environment(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("privacy:\n  retention_days: 90\n")
    assert load_settings(path, env={}).privacy.retention_days == 90
    assert load_settings(path, env={"ILPBOT_PRIVACY_RETENTION_DAYS": "7"}).privacy.retention_days == 7
    path.write_text("web: {}\n")  # a file without the section: the default
    assert load_settings(path, env={}).privacy.retention_days == 30


@pytest.mark.parametrize("value", ["0", "-5", "thirty", "2.5", "", "99999"])
def test_a_retention_that_is_not_a_positive_number_of_days_names_the_key(value):
    with pytest.raises(ConfigError) as info:
        load_settings(env={"ILPBOT_PRIVACY_RETENTION_DAYS": value})
    assert str(info.value).startswith("privacy.retention_days:") and "ILPBOT_PRIVACY_RETENTION_DAYS" in str(info.value)


@pytest.mark.parametrize("text", ["privacy:\n  retention_days: [30]\n", "privacy:\n  retention_days: true\n", "privacy: 30\n"])
def test_a_wrong_retention_in_the_file_names_the_key(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"^privacy(\.retention_days)?:"):
        load_settings(path, env={})


def test_the_outbox_keep_days_default_to_400_and_are_at_least_the_retention(tmp_path):
    """privacy.outbox_keep_days (reminders.retention deletes finished rows after it): a row goes only after its text."""
    assert load_settings(env={}).privacy.outbox_keep_days == 400 == PrivacyConfig.outbox_keep_days
    assert "\n  # outbox_keep_days: 400 " in DEFAULT_FILE.read_text(encoding="utf-8")
    assert load_settings(env={"ILPBOT_PRIVACY_OUTBOX_KEEP_DAYS": "30"}).privacy.outbox_keep_days == 30  # = retention
    path = tmp_path / "config.yaml"
    path.write_text("privacy:\n  retention_days: 90\n  outbox_keep_days: 60\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert str(info.value).startswith("privacy.outbox_keep_days: expected at least retention_days (90)")
    assert "ILPBOT_PRIVACY_OUTBOX_KEEP_DAYS" in str(info.value)


@pytest.mark.parametrize("value", ["0", "-1", "a year", "36501"])
def test_outbox_keep_days_that_are_not_a_number_of_days_name_the_key(value):
    with pytest.raises(ConfigError, match=r"^privacy\.outbox_keep_days:"):
        load_settings(env={"ILPBOT_PRIVACY_OUTBOX_KEEP_DAYS": value})
