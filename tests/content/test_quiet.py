"""Quiet hours, the one definition the configuration and the dispatcher share."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

import config
from content.quiet import in_quiet_hours, quiet_until
from tests.helpers import DEFAULT_NOW

WITA = ZoneInfo("Asia/Makassar")


@pytest.mark.parametrize(("hour", "quiet"), [(20, True), (23, True), (0, True), (5, True), (6, False), (12, False), (19, False)])
def test_quiet_hours_wrap_midnight(hour, quiet):
    assert in_quiet_hours(hour, (20, 6)) is quiet


@pytest.mark.parametrize(("hour", "quiet"), [(12, False), (13, True), (14, True), (15, False), (0, False)])
def test_quiet_hours_within_one_day(hour, quiet):
    assert in_quiet_hours(hour, (13, 15)) is quiet


@pytest.mark.parametrize("hour", range(24))
def test_start_equal_to_end_is_no_quiet_hours(hour):
    assert in_quiet_hours(hour, (22, 22)) is False


def test_quiet_until_is_the_next_local_morning():
    evening = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 21:00 WITA
    assert quiet_until(evening, WITA, (20, 6)) == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 06:00 WITA on the 24th
    night = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 03:00 WITA on the 24th
    assert quiet_until(night, WITA, (20, 6)) == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert quiet_until(DEFAULT_NOW, WITA, (20, 6)) is None  # 10:00 WITA
    assert quiet_until(evening, WITA, (22, 22)) is None  # no quiet hours


def test_the_configuration_checks_its_hours_with_the_same_function():
    assert config.in_quiet_hours is in_quiet_hours
    assert not hasattr(config, "_in_quiet")
