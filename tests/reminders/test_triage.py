"""The dispatcher's triage, table-first: an outbox row and the time in, a decision out (no database).

Times are UTC; the comments give the recipient's local time. Quiet hours are the default 20:00-06:00.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from reminders.triage import (
    BLOCK, CANCEL, DEFER, EXPIRE, FAIL, LEAVE, RELEASE, RETRY, SEND, Decision, after_failure, decide, recheck, triage,
)

QUIET = (20, 6)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 WITA, 09:00 WIB, 11:00 WIT
EVENING = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 21:00 WITA
SIX_WITA = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 06:00 WITA on the 24th
SIX_WIT = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)  # 06:00 WIT on the 24th
SIX_WIB = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 06:00 WIB on the 24th
TONIGHT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 20:00 WITA: a daily reminder's expiry
S = timedelta(seconds=1)
H = timedelta(hours=1)


@dataclass
class Row:
    """An outbox row as the dispatcher reads it (claim: with its identity; recheck: once claimed)."""

    id: int = 1
    identity_id: int = 10
    channel: str = "telegram"
    address: str = "5123000001"
    timezone: str = "Asia/Makassar"
    not_before: datetime = NOW - timedelta(minutes=1)
    expires_at: datetime | None = TONIGHT
    attempts: int = 1
    lease_until: datetime = NOW + timedelta(seconds=60)
    opted_out_at: datetime | None = None
    unreachable_at: datetime | None = None


GONE = NOW - timedelta(days=1)

# ------------------------------------------------------------------ the claim: one due row

CLAIM = [
    # (case, row, now, decision)
    ("due, nothing in the way", Row(), NOW, Decision(SEND)),
    ("no expiry", Row(expires_at=None), NOW, Decision(SEND)),
    ("expires a second from now", Row(expires_at=NOW + S), NOW, Decision(SEND)),
    ("expires now", Row(expires_at=NOW), NOW, Decision(EXPIRE)),
    ("expired an hour ago", Row(expires_at=NOW - H), NOW, Decision(EXPIRE)),
    ("opted out", Row(opted_out_at=GONE), NOW, Decision(CANCEL)),
    ("unreachable", Row(unreachable_at=GONE), NOW, Decision(BLOCK)),
    ("opted out and unreachable: cancelled", Row(opted_out_at=GONE, unreachable_at=GONE), NOW, Decision(CANCEL)),
    ("expired and opted out: expired", Row(expires_at=NOW - H, opted_out_at=GONE), NOW, Decision(EXPIRE)),
    ("unreachable, inside quiet hours: blocked", Row(unreachable_at=GONE, expires_at=None), EVENING, Decision(BLOCK)),
    ("21:00 WITA, no expiry: to 06:00", Row(expires_at=None), EVENING, Decision(DEFER, SIX_WITA)),
    ("21:00 WITA, expires 23:00: expired", Row(expires_at=EVENING + 2 * H), EVENING, Decision(EXPIRE)),
    ("21:00 WITA, expires at 06:00 exactly: expired", Row(expires_at=SIX_WITA), EVENING, Decision(EXPIRE)),
    ("21:00 WITA, expires 06:00:01: to 06:00", Row(expires_at=SIX_WITA + S), EVENING, Decision(DEFER, SIX_WITA)),
    ("03:00 WITA: to 06:00 the same morning", Row(expires_at=None), SIX_WITA - 3 * H, Decision(DEFER, SIX_WITA)),
    ("05:59:59 WITA: to 06:00", Row(expires_at=None), SIX_WITA - S, Decision(DEFER, SIX_WITA)),
    ("06:00 WITA: sent", Row(expires_at=None), SIX_WITA, Decision(SEND)),
    ("19:59:59 WITA: sent", Row(expires_at=None), TONIGHT - S, Decision(SEND)),
    ("20:00 WITA, expiring then: expired", Row(), TONIGHT, Decision(EXPIRE)),
    ("20:00 WITA, no expiry: to 06:00", Row(expires_at=None), TONIGHT, Decision(DEFER, SIX_WITA)),
    ("20:30 WITA is 19:30 WIB: sent", Row(timezone="Asia/Jakarta", expires_at=None), TONIGHT + H / 2, Decision(SEND)),
    ("20:30 WITA", Row(timezone="Asia/Makassar", expires_at=None), TONIGHT + H / 2, Decision(DEFER, SIX_WITA)),
    ("20:30 WITA is 21:30 WIT", Row(timezone="Asia/Jayapura", expires_at=None), TONIGHT + H / 2, Decision(DEFER, SIX_WIT)),
    ("an unknown zone counts as WIB: 19:00 WIB", Row(timezone="Mars/Olympus", expires_at=None), TONIGHT, Decision(SEND)),
    ("an unknown zone counts as WIB: 20:00 WIB", Row(timezone="Mars/Olympus", expires_at=None), TONIGHT + H,
     Decision(DEFER, SIX_WIB)),
]


@pytest.mark.parametrize(("row", "now", "decision"), [c[1:] for c in CLAIM], ids=[c[0] for c in CLAIM])
def test_claim(row, now, decision):
    assert decide(row, now, QUIET) == decision


def test_no_quiet_hours_when_they_start_and_end_at_the_same_hour():
    assert decide(Row(expires_at=None), EVENING, (22, 22)) == Decision(SEND)


# ------------------------------------------------------------------ the claim: a batch


def _triaged(rows, now=NOW, limit=2):
    return [(row.id, decision) for row, decision in triage(rows, now, quiet=QUIET, per_chat_limit=limit)]


def test_at_most_per_chat_limit_sends_to_one_chat_the_rest_left_for_the_next_round():
    rows = [Row(id=1), Row(id=2), Row(id=3), Row(id=4, address="5123000002")]
    assert _triaged(rows) == [(1, Decision(SEND)), (2, Decision(SEND)), (3, Decision(LEAVE)), (4, Decision(SEND))]


def test_rows_not_sent_do_not_count_towards_the_per_chat_limit():
    rows = [Row(id=1, expires_at=NOW), Row(id=2, opted_out_at=GONE), Row(id=3), Row(id=4), Row(id=5)]
    assert _triaged(rows) == [(1, Decision(EXPIRE)), (2, Decision(CANCEL)), (3, Decision(SEND)), (4, Decision(SEND)),
                              (5, Decision(LEAVE))]


def test_a_chat_is_its_channel_and_address():
    rows = [Row(id=1), Row(id=2, channel="whatsapp"), Row(id=3)]
    assert _triaged(rows, limit=1) == [(1, Decision(SEND)), (2, Decision(SEND)), (3, Decision(LEAVE))]


def test_a_limit_only_ever_leaves_rows_that_would_be_sent():
    rows = [Row(id=1, expires_at=None), Row(id=2, expires_at=None)]
    assert _triaged(rows, now=EVENING, limit=1) == [(1, Decision(DEFER, SIX_WITA)), (2, Decision(DEFER, SIX_WITA))]


def test_each_row_has_the_quiet_hours_of_its_own_zone():
    zones = ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Makassar", "Asia/Jakarta"]
    rows = [Row(id=i, address=str(i), timezone=tz, expires_at=None) for i, tz in enumerate(zones)]
    at = TONIGHT + H / 2  # 19:30 WIB, 20:30 WITA, 21:30 WIT
    assert _triaged(rows, now=at) == [(0, Decision(SEND)), (1, Decision(DEFER, SIX_WITA)), (2, Decision(DEFER, SIX_WIT)),
                                      (3, Decision(DEFER, SIX_WITA)), (4, Decision(SEND))]
    assert [d for _, d in _triaged(rows, now=at)] == [decide(row, at, QUIET) for row in rows]


def test_an_empty_batch():
    assert _triaged([]) == []


# ------------------------------------------------------------------ just before the send

LEASE = NOW + timedelta(seconds=60)
PAUSED = NOW + timedelta(seconds=30)
MARGIN = 20.0
CLAIMED = Row(lease_until=LEASE)

RECHECK = [
    # (case, row, now, options, decision or None: send it)
    ("nothing in the way", CLAIMED, NOW, {}, None),
    ("the stop was asked: handed back as it was", CLAIMED, NOW, {"stopping": True}, Decision(RELEASE, CLAIMED.not_before)),
    ("the stop wins over expiry", replace(CLAIMED, expires_at=NOW), NOW, {"stopping": True},
     Decision(RELEASE, CLAIMED.not_before)),
    ("found unreachable in this round", CLAIMED, NOW, {"unreachable": {10}}, Decision(BLOCK)),
    ("another identity unreachable", CLAIMED, NOW, {"unreachable": {11}}, None),
    ("expired meanwhile", replace(CLAIMED, expires_at=NOW), NOW, {}, Decision(EXPIRE)),
    ("expiry wins over a pause", replace(CLAIMED, expires_at=NOW), NOW, {"paused_until": PAUSED}, Decision(EXPIRE)),
    ("quiet hours began meanwhile", replace(CLAIMED, expires_at=None, lease_until=EVENING + H), EVENING, {},
     Decision(DEFER, SIX_WITA)),
    ("quiet hours began, past expiry by their end", replace(CLAIMED, lease_until=EVENING + H, expires_at=EVENING + H),
     EVENING, {}, Decision(EXPIRE)),
    ("quiet hours win over a pause", replace(CLAIMED, expires_at=None, lease_until=EVENING + H), EVENING,
     {"paused_until": EVENING + S}, Decision(DEFER, SIX_WITA)),
    ("the channel is paused", CLAIMED, NOW, {"paused_until": PAUSED}, Decision(RELEASE, PAUSED)),
    ("a pause wins over a short lease", CLAIMED, LEASE - S, {"paused_until": PAUSED + H, "lease_margin": MARGIN},
     Decision(RELEASE, PAUSED + H)),
    ("more than the margin of lease left", CLAIMED, LEASE - timedelta(seconds=MARGIN) - S, {"lease_margin": MARGIN}, None),
    ("just the margin left: handed back now", CLAIMED, LEASE - timedelta(seconds=MARGIN), {"lease_margin": MARGIN},
     Decision(RELEASE, LEASE - timedelta(seconds=MARGIN))),
    ("the lease lapsed", CLAIMED, LEASE + S, {}, Decision(RELEASE, LEASE + S)),
]


@pytest.mark.parametrize(("row", "now", "options", "decision"), [c[1:] for c in RECHECK], ids=[c[0] for c in RECHECK])
def test_recheck(row, now, options, decision):
    assert recheck(row, now, quiet=QUIET, **options) == decision


# ------------------------------------------------------------------ after a retryable failure

FAILURES = [
    # (case, attempts, expires_at, decision)
    ("first try failed: 5 s", 1, None, Decision(RETRY, NOW + 5 * S)),
    ("second: 10 s", 2, None, Decision(RETRY, NOW + 10 * S)),
    ("fourth: 40 s", 4, None, Decision(RETRY, NOW + 40 * S)),
    ("a taken-over row never counted: 5 s", 0, None, Decision(RETRY, NOW + 5 * S)),
    ("the twelfth: capped at max_backoff", 12, None, Decision(RETRY, NOW + H)),
    ("the last allowed: failed", 25, None, Decision(FAIL)),
    ("more than allowed: failed", 26, None, Decision(FAIL)),
    ("failed wins over expiry", 25, NOW + S, Decision(FAIL)),
    ("expires before the next try", 3, NOW + 19 * S, Decision(EXPIRE)),
    ("expires at the next try", 3, NOW + 20 * S, Decision(EXPIRE)),
    ("expires after the next try", 3, NOW + 21 * S, Decision(RETRY, NOW + 20 * S)),
]


@pytest.mark.parametrize(("attempts", "expires_at", "decision"), [c[1:] for c in FAILURES], ids=[c[0] for c in FAILURES])
def test_after_failure(attempts, expires_at, decision):
    assert after_failure(attempts, NOW, expires_at, max_attempts=25, max_backoff=3600) == decision
