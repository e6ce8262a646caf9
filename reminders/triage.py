"""The dispatcher's decisions as pure functions of an outbox row and the time: no database, no clock.

The dispatcher (:mod:`reminders.dispatcher`) does the I/O: it reads the due rows, asks these
functions what to do with each, and writes the answers. Three moments decide:

* :func:`triage` - at the claim, for every due row read (with its identity's ``opted_out_at`` and
  ``unreachable_at``): past expiry -> ``expire``; opted out -> ``cancel``; unreachable -> ``block``;
  inside the recipient's quiet hours -> ``defer`` to their end (``expire`` if that is past expiry);
  otherwise ``send`` (claimed), or ``leave`` (untouched, due again next round) once its chat already
  has ``per_chat_limit`` rows claimed in this batch. The first that applies wins, in that order.
* :func:`recheck` - just before a claimed row is sent: the stop was asked -> ``release`` (handed back
  as it was); its identity turned unreachable in this round -> ``block``; past expiry -> ``expire``;
  quiet hours began -> ``defer`` (or ``expire``); its channel is paused -> ``release`` until the
  pause ends; too little left of the lease -> ``release`` now; otherwise None: send it.
* :func:`after_failure` - a retryable failure: ``fail`` after ``max_attempts`` tries; else ``retry``
  after ``5 s * 2^(attempts-1)`` (capped at ``max_backoff``), or ``expire`` if that falls past expiry.

Which rows are due at all (``pending`` and ``not_before <= now``, or ``sending`` with a lapsed lease
when take-over is allowed) is the claim query's ``WHERE``: it has to be, to lock only those rows.

Quiet hours come from :mod:`content.quiet`, the one definition shared with the configuration.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Container, Iterable
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from content.quiet import quiet_until

log = logging.getLogger(__name__)

FALLBACK_ZONE = "Asia/Jakarta"
BASE_BACKOFF = 5.0

# what to do with a row
SEND = "send"  # claim it (sending, a lease, attempts + 1) / (recheck: None) send it now
LEAVE = "leave"  # not now and not touched: its chat has enough rows in this batch; due again next round
EXPIRE = "expire"  # final: past (or would be past) its expiry
CANCEL = "cancel"  # final: the recipient opted out
BLOCK = "block"  # final: the recipient is unreachable
DEFER = "defer"  # back to pending until ``until``, the end of the recipient's quiet hours
RELEASE = "release"  # a claimed row handed back unsent, due again at ``until``
RETRY = "retry"  # a retryable failure: pending again at ``until``
FAIL = "fail"  # final: too many retryable failures


class Decision(NamedTuple):
    action: str
    until: datetime | None = None  # DEFER, RELEASE, RETRY: the row's new not_before


_SEND = Decision(SEND)
_LEAVE = Decision(LEAVE)
_EXPIRE = Decision(EXPIRE)
_CANCEL = Decision(CANCEL)
_BLOCK = Decision(BLOCK)


class DueRow(Protocol):
    """A due outbox row as the claim reads it, with its identity's opt-out and unreachable times."""

    channel: str
    address: str
    timezone: str
    expires_at: datetime | None
    opted_out_at: datetime | None
    unreachable_at: datetime | None


class ClaimedRow(Protocol):
    """A row this dispatcher holds the lease of."""

    identity_id: int
    timezone: str
    not_before: datetime
    expires_at: datetime | None
    lease_until: datetime


R = TypeVar("R", bound=DueRow)


@functools.lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The time zone of a row; an unknown name falls back to WIB (logged once)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("outbox: unknown time zone %r, using %s for quiet hours", name, FALLBACK_ZONE)
        return ZoneInfo(FALLBACK_ZONE)


def _quiet(until: datetime | None, expires_at: datetime | None) -> Decision | None:
    """Inside quiet hours that end at ``until`` (None: outside them): defer to their end, or expire if
    that is past expiry."""
    if until is None:
        return None
    if expires_at is not None and until >= expires_at:
        return _EXPIRE
    return Decision(DEFER, until)


def _decide(row: DueRow, now: datetime, until: datetime | None) -> Decision:
    if row.expires_at is not None and row.expires_at <= now:
        return _EXPIRE
    if row.opted_out_at is not None:
        return _CANCEL
    if row.unreachable_at is not None:
        return _BLOCK
    return _quiet(until, row.expires_at) or _SEND


def decide(row: DueRow, now: datetime, quiet: tuple[int, int]) -> Decision:
    """What the claim does with one due row, before the per-chat limit: ``send`` or a reason not to."""
    return _decide(row, now, quiet_until(now, zone(row.timezone), quiet))


def triage(rows: Iterable[R], now: datetime, *, quiet: tuple[int, int], per_chat_limit: int) -> list[tuple[R, Decision]]:
    """Every due row (in claim order) with its decision (:func:`decide`); at most ``per_chat_limit``
    sends per chat, the chat's other rows ``leave``."""
    ends: dict[str, datetime | None] = {}  # time zone -> end of its quiet hours now: once per zone, not per row
    per_chat: dict[tuple[str, str], int] = {}
    out: list[tuple[R, Decision]] = []
    for row in rows:
        timezone = row.timezone
        if timezone in ends:
            until = ends[timezone]
        else:
            until = ends[timezone] = quiet_until(now, zone(timezone), quiet)
        decision = _decide(row, now, until)
        if decision.action == SEND:
            key = (row.channel, row.address)
            taken = per_chat.get(key, 0)
            if taken >= per_chat_limit:
                decision = _LEAVE
            else:
                per_chat[key] = taken + 1
        out.append((row, decision))
    return out


def recheck(
    row: ClaimedRow,
    now: datetime,
    *,
    quiet: tuple[int, int],
    stopping: bool = False,
    unreachable: Container[int] = (),
    paused_until: datetime | None = None,
    lease_margin: float = 0.0,
) -> Decision | None:
    """Why a claimed row must not be sent now (None: send it).

    ``unreachable``: identities found unreachable in this round; ``paused_until``: the end of its
    channel's pause (None: not paused); ``lease_margin``: seconds of lease that must be left.
    """
    if stopping:  # handed back at once: the next start or another instance sends it without waiting
        return Decision(RELEASE, row.not_before)
    if row.identity_id in unreachable:
        return _BLOCK
    if row.expires_at is not None and now >= row.expires_at:
        return _EXPIRE
    quiet_decision = _quiet(quiet_until(now, zone(row.timezone), quiet), row.expires_at)  # claimed just before quiet hours
    if quiet_decision is not None:
        return quiet_decision
    if paused_until is not None:
        return Decision(RELEASE, paused_until)
    if now >= row.lease_until - timedelta(seconds=lease_margin):
        return Decision(RELEASE, now)
    return None


def after_failure(
    attempts: int, now: datetime, expires_at: datetime | None, *, max_attempts: int, max_backoff: float,
) -> Decision:
    """A retryable failure of the ``attempts``-th try: ``fail``, ``expire`` or ``retry`` after a backoff."""
    if attempts >= max_attempts:
        return Decision(FAIL)
    delay = min(max_backoff, BASE_BACKOFF * 2 ** max(0, attempts - 1))
    at = now + timedelta(seconds=delay)
    if expires_at is not None and at >= expires_at:
        return _EXPIRE
    return Decision(RETRY, at)


__all__ = [
    "BASE_BACKOFF", "BLOCK", "CANCEL", "DEFER", "Decision", "EXPIRE", "FAIL", "LEAVE", "RELEASE", "RETRY", "SEND",
    "after_failure", "decide", "recheck", "triage", "zone",
]
