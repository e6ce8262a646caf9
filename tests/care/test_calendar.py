"""Posyandu days from recurring rules, with month ends."""
from __future__ import annotations

from datetime import date
from itertools import islice

import pytest

from care.calendar import next_session, session_in_month, sessions_from


@pytest.mark.parametrize(
    ("rule", "year", "month", "expected"),
    [
        ({"monthly_day": 12}, 2026, 11, date(2026, 11, 12)),
        ({"monthly_day": 31}, 2027, 2, date(2027, 2, 28)),
        ({"monthly_day": 30}, 2028, 2, date(2028, 2, 29)),
        ({"nth": 2, "weekday": "tuesday"}, 2026, 12, date(2026, 12, 8)),
        ({"nth": 1, "weekday": "wednesday"}, 2026, 12, date(2026, 12, 2)),
        ({"nth": 3, "weekday": "thursday"}, 2027, 1, date(2027, 1, 21)),
        ({"nth": -1, "weekday": "friday"}, 2026, 11, date(2026, 11, 27)),
        ({"nth": -1, "weekday": "monday"}, 2026, 11, date(2026, 11, 30)),
        ({"nth": 1, "weekday": "sunday"}, 2026, 11, date(2026, 11, 1)),
    ],
)
def test_session_in_month(rule, year, month, expected):
    assert session_in_month(rule, year, month) == expected


def test_next_session_is_today_when_today_is_the_day():
    assert next_session({"monthly_day": 23}, date(2026, 11, 23)) == date(2026, 11, 23)
    assert next_session({"monthly_day": 22}, date(2026, 11, 23)) == date(2026, 12, 22)


def test_sessions_cross_the_year():
    days = list(islice(sessions_from({"monthly_day": 5}, date(2026, 11, 23)), 3))
    assert days == [date(2026, 12, 5), date(2027, 1, 5), date(2027, 2, 5)]
