"""Quiet hours: the local hours in which no reminder is sent, the one definition of them.

Quiet hours are ``(start, end)``, local hours 0-23: from ``start`` o'clock up to (not including) ``end``
o'clock, wrapping midnight when ``start > end`` (``(20, 6)``: 20:00-05:59). ``start == end`` means no
quiet hours here; the configuration refuses it (it reads as "quiet all day"), so only a caller that
builds its own pair (a test, a benchmark) meets it.

Dependency-free (the standard library only), so that ``config.py`` (which checks its reminder hours
against quiet hours) and ``reminders`` (which defers a send to their end) share it without an upward
import.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from datetime import time as dtime


def in_quiet_hours(hour: int, quiet: tuple[int, int]) -> bool:
    """Whether a local hour falls in quiet hours ``(start, end)``, which may wrap midnight."""
    start, end = quiet
    if start == end:
        return False
    return start <= hour or hour < end if start > end else start <= hour < end


def quiet_until(now: datetime, zone: tzinfo, quiet: tuple[int, int]) -> datetime | None:
    """The UTC end of the quiet hours ``now`` falls in at ``zone``, or None outside quiet hours."""
    local = now.astimezone(zone)
    if not in_quiet_hours(local.hour, quiet):
        return None
    end = quiet[1]
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, dtime(end), tzinfo=zone).astimezone(UTC)


__all__ = ["in_quiet_hours", "quiet_until"]
