"""The outbox dispatcher: claims due rows, sends them at each channel's rate, records what happened.

One round (:meth:`Dispatcher.run_once`), for each channel account (a bot token, a WhatsApp number: the
account the recipient last wrote to, ``identity.account``) side by side, each with its own claims, rate and
429 pauses (:meth:`Dispatcher.run` runs one loop per account):

1. **Claim**, in one short write transaction: rows past ``expires_at`` are expired (never sent late);
   due rows (``pending`` with ``not_before <= now``, or ``sending`` whose lease lapsed because a
   dispatcher died) are locked (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the transaction
   began ``IMMEDIATE``) and sorted out by :func:`reminders.triage.triage`, a pure function of the
   rows and the time: rows of opted-out identities are cancelled, of unreachable identities blocked,
   rows whose recipient is inside quiet hours move to the end of the quiet hours (or expire if that
   is past their expiry), and the rest become ``sending`` with a lease and ``attempts + 1``. The
   transaction commits before anything is sent.
2. **Send** the claimed rows concurrently: one task per chat (its rows one after another, at least
   ``per_chat_interval`` seconds from the end of one send to the start of the next), a token bucket
   per channel account, at most ``concurrency`` requests in flight (a send held up more than
   ``RESPACE_AFTER`` by the write of the sends before it takes a new slot). Just before each send the row is checked
   again (:func:`reminders.triage.recheck`): past expiry -> expired; quiet hours began meanwhile ->
   moved to the morning; account paused by a 429 or lease running out -> handed back unsent.
3. **Record** outcomes in batched short transactions (a sent message's at once, together with
   whatever else is waiting; others every ``flush_size`` outcomes or ``flush_seconds``); no send
   starts while an accepted one is unrecorded. Each write is guarded by the claim's ``attempts``
   value so that a dispatcher whose lease lapsed cannot overwrite the row's newer claim.

States and transitions of an outbox row::

    pending  -> sending     claimed (lease_until = now + lease, attempts + 1)
    sending  -> sent        accepted by the provider (sent_at, provider_message_id)
    sending  -> pending     RateLimited: channel paused, not_before = now + retry_after, attempt given back
                            ChannelDown (a refused token, an unregistered or locked account): the channel
                            is paused for retry_after and it is logged as an error; attempt given back
                            TemporaryFailure / unexpected error: not_before = now + 5 s * 2^(attempts-1)
                            (capped at max_backoff); handed back unsent (paused channel, lease running out)
    sending  -> blocked     Unreachable: identity.unreachable_at set, its other pending rows blocked too
    sending  -> failed      PermanentFailure, or max_attempts retryable failures
    sending  -> expired     a retry would fall past expires_at, or expiry reached before the send
    pending  -> expired     past expires_at (also when quiet hours would push it past expiry)
    pending  -> pending     inside the recipient's quiet hours: not_before = next end of quiet hours
    pending  -> blocked     the identity is unreachable (``unreachable_at`` set)
    pending  -> cancelled   the identity opted out (``opted_out_at`` set)
    sending  -> sending     lease lapsed (the dispatcher died): claimed again by any dispatcher

``sent``, ``blocked``, ``cancelled``, ``failed`` and ``expired`` are final. Delivery is at least once
only across a crash between the provider accepting a message and its outcome being recorded (only
the sends in flight at the crash; at 30/s with a fast provider, one): the row is sent again after
its lease. ``error`` holds only the exception class and a short reason, never message text or
addresses.

Exactly once through a database outage (a restart, a failover, a cut network):

* **"Send started" is durable before the send.** The claim commits ``sending`` with ``attempts + 1``
  before anything is sent, so a row whose outcome was never recorded is always ``sending`` with a
  lease in the database: nothing is sent that the database does not show as possibly sent.
* **No new send starts while an outcome is unrecorded.** A send accepted by the provider is recorded
  at once; until that write has committed, every other send of the dispatcher (all chats) waits.
  Outcome writes are retried with backoff (0.1 s doubling to ``RECORD_RETRY_MAX``) for as long as the
  error is one of a lost or refused connection of any kind (``OSError`` and its connection errors,
  ``TimeoutError``, asyncpg's and sqlite3's errors, SQLAlchemy's ``DBAPIError``/``SQLAlchemyError``);
  anything else (a bug) is given up after ``GIVE_UP_AFTER`` tries and logged, and the rows are sent
  again after their lease. A round does not end, and so nothing new is claimed, until every outcome of
  it is written. During an outage a dispatcher therefore holds at most the sends that were in flight
  at the cut (at most ``concurrency``; at 30/s with a fast provider, one).
* **The lease and the outcomes held in memory.** A row still unsent when the database returns is
  checked against its lease again before its send: with less than a third of the lease left it is
  handed back unsent, so this dispatcher never sends a row another may already have taken over. The
  rows it *did* send stay ``sending`` in the database until their outcome is written, and their lease
  may lapse during a long outage. Every dispatcher that saw the database fail therefore takes over
  lapsed leases only after it has had the database back for ``takeover_grace`` seconds (default
  ``TAKEOVER_GRACE``, five times the longest wait between two tries of an outcome write): time for the
  dispatcher that holds those outcomes (and is retrying the write) to record them first. Its write is
  guarded by the claim's ``attempts``, so a record that came too late changes nothing. When only one
  instance lost the database (a partition) the others see no outage and take its rows over when their
  lease lapses: then only its sends in flight at the cut are repeated, as after a crash. A row whose
  outcome is unknown after a restart (the process died holding it) is sent again after its lease, the
  at-least-once of a crash above: at most the sends in flight when it died.
* **A stop** (``run``'s ``stop`` event) hands claimed rows back unsent at once (they go out at the
  next start or from another instance without waiting for the lease), lets sends in flight finish and
  records their outcomes; a cancellation at any moment ends the loop without a traceback.
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.exc import (
    ArgumentError, CompileError, DataError, IntegrityError, NotSupportedError, ProgrammingError, SQLAlchemyError,
)

from channels.errors import ChannelDown, ChannelError, RateLimited, Unreachable, describe
from channels.messages import Choice, Reply
from db.database import Database
from db.models import Identity, Outbox
from db.types import UTCDateTime
from channels.rate import ChatSpacer, TokenBucket
from reminders import triage
from reminders.triage import Decision
from metrics import METRICS, Metrics

log = logging.getLogger(__name__)

Sender = Callable[[str, Reply], Awaitable[str]]
Clock = Callable[[], datetime]
#: a channel account: (channel, account name); a sender given by channel alone is its "default" account's
Lane = tuple[str, str]
DEFAULT_ACCOUNT = "default"


def lane_of(key: str | Lane) -> Lane:
    """``"telegram"`` -> ``("telegram", "default")``; a (channel, account) pair as it is."""
    return (key, DEFAULT_ACCOUNT) if isinstance(key, str) else (str(key[0]), str(key[1]))

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
BLOCKED = "blocked"
CANCELLED = "cancelled"
FAILED = "failed"
EXPIRED = "expired"
FINAL_STATES = frozenset({SENT, BLOCKED, CANCELLED, FAILED, EXPIRED})

DEFAULT_RATES: Mapping[str, float | None] = MappingProxyType({"telegram": 30.0})
#: outcome writes: first retry after this many seconds, doubling up to RECORD_RETRY_MAX
RECORD_RETRY_FIRST = 0.1
RECORD_RETRY_MAX = 2.0
#: an outcome write failing with an error that is not a lost connection (a bug) is given up after this many tries
GIVE_UP_AFTER = 5
#: after the database failed, lapsed leases are taken over only once it has worked again for this long
TAKEOVER_GRACE = 5 * RECORD_RETRY_MAX
#: a send held up this long (seconds) by the write of the sends before it takes a new slot of its account's rate
#: (a write slowed by a busy disk would otherwise release every send held up behind it at once: a 429)
RESPACE_AFTER = 0.25
#: a failure that goes on is logged again at most this often (seconds), not at every try
REPEAT_LOG_SECONDS = 60.0

_OUT = Outbox.__table__
_IDENTITY = Identity.__table__

#: one outcome per row, guarded by the claim (state still "sending", attempts unchanged since the claim)
_RECORD = (
    update(_OUT)
    .where(_OUT.c.id == bindparam("o_id"), _OUT.c.attempts == bindparam("o_fence"), _OUT.c.state == SENDING)
    .values(
        state=bindparam("o_state"),
        attempts=bindparam("o_attempts"),
        not_before=bindparam("o_not_before", type_=UTCDateTime()),
        lease_until=None,
        sent_at=bindparam("o_sent_at", type_=UTCDateTime()),
        provider_message_id=bindparam("o_message_id"),
        error=bindparam("o_error"),
    )
)
_DEFER = (
    update(_OUT)
    .where(_OUT.c.id == bindparam("o_id"))
    .values(state=PENDING, not_before=bindparam("o_not_before", type_=UTCDateTime()), lease_until=None)
)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DispatchStats:
    """What one round (or several, added up) did, in rows."""

    claimed: int = 0  # taken for sending (state -> sending)
    sent: int = 0
    retried: int = 0  # temporary failure: back to pending with a backoff
    rate_limited: int = 0  # answered 429: back to pending after retry_after
    stopped: int = 0  # the channel cannot send at all (ChannelDown): back to pending, the channel paused
    blocked: int = 0  # the recipient is unreachable (this row and the identity's other pending rows)
    failed: int = 0
    expired: int = 0
    deferred_quiet: int = 0  # inside quiet hours: moved to the morning
    cancelled: int = 0  # the recipient opted out
    released: int = 0  # claimed but handed back unsent (channel paused, lease running out)

    def add(self, other: DispatchStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class Claimed:
    """An outbox row this dispatcher holds the lease of; ``attempts`` is the value after the claim."""

    id: int
    identity_id: int
    channel: str
    address: str
    body: dict[str, Any]
    timezone: str
    not_before: datetime
    expires_at: datetime | None
    attempts: int
    lease_until: datetime
    kind: str | None = None
    last_inbound_at: datetime | None = None  # when the recipient last wrote (WhatsApp's 24-hour window)
    account: str = DEFAULT_ACCOUNT  # the channel account it goes out through (the one the recipient wrote to)

    @property
    def lane(self) -> Lane:
        return (self.channel, self.account)


@dataclass(slots=True)
class _Outcome:
    row: Claimed
    stat: str  # the DispatchStats field it counts in
    state: str
    not_before: datetime | None = None  # None: unchanged
    attempts: int | None = None  # None: unchanged
    sent_at: datetime | None = None
    message_id: str | None = None
    error: str | None = None
    unreachable: bool = False

    def params(self) -> dict[str, Any]:
        row = self.row
        return {
            "o_id": row.id,
            "o_fence": row.attempts,
            "o_state": self.state,
            "o_attempts": row.attempts if self.attempts is None else self.attempts,
            "o_not_before": row.not_before if self.not_before is None else self.not_before,
            "o_sent_at": self.sent_at,
            "o_message_id": self.message_id,
            "o_error": self.error,
        }


# ------------------------------------------------------------------ helpers

_EXPIRED_ERROR = "Expired: past expires_at before sending"
_UNREACHABLE_ERROR = "Unreachable: recipient marked unreachable"
#: a final decision of the claim's triage -> the row's state and error
_FINAL = {
    triage.EXPIRE: (EXPIRED, _EXPIRED_ERROR),
    triage.CANCEL: (CANCELLED, "Cancelled: recipient opted out"),
    triage.BLOCK: (BLOCKED, _UNREACHABLE_ERROR),
}


def _unsent(row: Claimed, decision: Decision) -> _Outcome:
    """The outcome of a claimed row that :func:`triage.recheck` holds back (a deferral or release gives
    the attempt back)."""
    action = decision.action
    if action == triage.EXPIRE:
        return _Outcome(row, "expired", EXPIRED, error=_EXPIRED_ERROR)
    if action == triage.BLOCK:
        return _Outcome(row, "blocked", BLOCKED, error=_UNREACHABLE_ERROR)
    stat = "deferred_quiet" if action == triage.DEFER else "released"
    return _Outcome(row, stat, PENDING, not_before=decision.until, attempts=row.attempts - 1)


def reply_of(body: Mapping[str, Any], kind: str | None = None, last_inbound_at: datetime | None = None) -> Reply:
    """The channel-neutral reply of an outbox body ``{"text", "lang", "choices": [[label, data], ...], "photo"}``."""
    choices = tuple(Choice(str(label), str(data)) for label, data in body.get("choices") or ())
    return Reply(
        text=str(body.get("text") or ""), choices=choices, image_ref=body.get("photo"), image_channel=body.get("photo_channel"),
        kind=kind, last_inbound_at=last_inbound_at, template_only=bool(body.get("template")), language=body.get("lang"),
    )


# ------------------------------------------------------------------ the dispatcher


class Dispatcher:
    """Sends due outbox rows through ``senders`` (channel, or (channel, account) -> ``async (address, reply) ->
    message id``).

    A row goes out through the account its recipient last wrote to (``identity.account``); a row of an account
    without a sender goes through its channel's "default" account (an account since removed from the settings).
    Channels without a sender are not touched. ``rates`` are messages per second per channel or per
    (channel, account) (None, 0 or a missing one: unlimited). Each account is a lane of its own: its own
    claims, token bucket and 429 pauses, sending beside the others (three bots, three times the rate).
    Pacing (rates, per-chat interval, 429 pauses) is per process; claiming is safe across processes and
    several instances on one PostgreSQL.
    """

    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        *,
        clock: Clock = utcnow,
        rates: Mapping[str, float | None] = DEFAULT_RATES,
        per_chat_interval: float = 1.0,
        lease_seconds: float = 60,
        batch: int = 600,  # a round of 20 s at 30/s: the step between two rounds (record, claim) costs little of the rate
        quiet_hours: tuple[int, int] = (20, 6),
        max_backoff: float = 3600,
        max_attempts: int = 25,
        concurrency: int = 64,
        idle_seconds: float = 1.0,
        sweep_seconds: float = 30.0,
        flush_size: int = 100,
        flush_seconds: float = 0.25,
        takeover_grace: float = TAKEOVER_GRACE,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics = METRICS,
    ) -> None:
        if lease_seconds <= 0 or batch <= 0 or concurrency <= 0:
            raise ValueError("lease_seconds, batch and concurrency must be positive")
        self.db = db
        self.senders: dict[Lane, Sender] = {lane_of(key): sender for key, sender in senders.items()}
        #: the named (not default) accounts of each channel that have a sender
        self._named: dict[str, list[str]] = {}
        for channel, account in self.senders:
            if account != DEFAULT_ACCOUNT:
                self._named.setdefault(channel, []).append(account)
        self.clock = clock
        self.per_chat_interval = per_chat_interval
        self.lease_seconds = float(lease_seconds)
        self.batch = batch
        self.quiet_hours = quiet_hours
        self.max_backoff = max_backoff
        self.max_attempts = max_attempts
        self.idle_seconds = idle_seconds
        self.sweep_seconds = sweep_seconds
        self.flush_size = flush_size
        self.flush_seconds = flush_seconds
        self.takeover_grace = takeover_grace
        #: a send may take this long before it counts as a temporary failure
        self.send_timeout = self.lease_seconds / 4
        #: a row is handed back unsent when less than this is left of its lease
        self.lease_margin = self.lease_seconds / 3
        given_rates = {lane_of(key): rate for key, rate in rates.items()}
        self.buckets = {lane: TokenBucket(given_rates.get(lane, rates.get(lane[0])), monotonic=monotonic)
                        for lane in self.senders}
        self.spacer = ChatSpacer(per_chat_interval, monotonic=monotonic)
        self.totals = DispatchStats()
        #: sends by outcome, 429s and pauses (``/metrics``)
        self.metrics = metrics
        self._monotonic = monotonic
        self._paused_until: dict[Lane, datetime] = {}
        self._semaphore = asyncio.Semaphore(concurrency)
        self._round = asyncio.Lock()  # claim(): every lane at once
        self._rounds = {lane: asyncio.Lock() for lane in self.senders}
        self._last_sweep: float | None = None
        #: since when (monotonic) the database has worked without a failure; None: it is failing now.
        #: A new dispatcher has seen no outage: it may take lapsed leases over at once.
        self._db_ok_since: float | None = -math.inf
        self._stop: asyncio.Event | None = None  # run()'s stop event
        #: sends the provider accepted whose outcome is not written yet (all rounds)
        self.unrecorded = 0

    # -------------------------------------------------------------- public API

    async def run_once(self) -> DispatchStats:
        """Claims one batch per account, sends them at each account's rate side by side, records the
        outcomes; returns the counts, added up."""
        stats = DispatchStats()
        for lane_stats in await asyncio.gather(*(self._lane_once(lane) for lane in self.senders)):
            stats.add(lane_stats)
        return stats

    async def _lane_once(self, lane: Lane) -> DispatchStats:
        """One round of one account: claim its batch, send it, record the outcomes."""
        async with self._rounds[lane]:
            stats = DispatchStats()
            rows = await self._claim(stats, [lane])
            if rows:
                await self._send_all(rows, stats)
            self.spacer.prune()
            self.totals.add(stats)
            return stats

    async def run(self, stop: asyncio.Event, *, idle_seconds: float | None = None) -> None:
        """Dispatches until ``stop`` is set, one loop per account; each sleeps ``idle_seconds`` when nothing of
        it was due (or on an error).

        When ``stop`` is set, claimed rows not yet sent are handed back, sends in flight finish and
        their outcomes are recorded, then it returns. A failing database is logged when it starts
        failing, at most every ``REPEAT_LOG_SECONDS`` while it goes on, and when it works again.
        """
        self._stop = stop
        try:
            await asyncio.gather(*(self._run_lane(lane, stop, idle_seconds) for lane in self.senders))
        except asyncio.CancelledError:
            if self.unrecorded:
                log.warning("outbox: stopped with %d sent messages unrecorded; they are sent again after their lease",
                            self.unrecorded)
            raise
        finally:
            self._stop = None

    async def _run_lane(self, lane: Lane, stop: asyncio.Event, idle_seconds: float | None) -> None:
        """The loop of one account (see :meth:`run`)."""
        idle = self.idle_seconds if idle_seconds is None else idle_seconds
        failing_since: float | None = None
        logged_at = 0.0
        failures = 0
        while not stop.is_set():
            busy = False
            try:
                stats = await self._lane_once(lane)
                # rows were taken or sorted out: more may be due right behind them
                busy = bool(stats.claimed or stats.deferred_quiet or stats.expired or stats.blocked or stats.cancelled)
                if failing_since is not None:
                    log.warning("outbox dispatch works again after %.0f s (%d rounds failed)",
                                self._monotonic() - failing_since, failures)
                    failing_since = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database outage must not end the loop; no SQL parameters in logs
                now = self._monotonic()
                failures = failures + 1 if failing_since is not None else 1
                if failing_since is None:
                    failing_since = logged_at = now
                    log.error("outbox dispatch round failed: %s", _error_name(exc))
                elif now - logged_at >= REPEAT_LOG_SECONDS:
                    logged_at = now
                    log.error("outbox dispatch still failing after %.0f s (%d rounds): %s",
                              now - failing_since, failures, _error_name(exc))
            if busy:
                continue
            try:
                await asyncio.wait_for(stop.wait(), idle)
            except TimeoutError:
                pass

    @property
    def _stopping(self) -> bool:
        """Whether ``run``'s stop event is set (checked in the middle of a round too)."""
        return self._stop is not None and self._stop.is_set()

    async def claim(self) -> list[Claimed]:
        """Only the claim step (expiry, quiet hours, blocked and cancelled rows included)."""
        async with self._round:
            stats = DispatchStats()
            rows = await self._claim(stats, list(self.senders))
            self.totals.add(stats)
            return rows

    def _db_ok(self) -> None:
        if self._db_ok_since is None:
            self._db_ok_since = self._monotonic()

    def _db_failed(self) -> None:
        self._db_ok_since = None

    def _may_take_over(self) -> bool:
        """Whether lapsed leases may be claimed: only once the database has worked for ``takeover_grace``
        seconds since this dispatcher last saw it fail (see the module doc)."""
        return self._db_ok_since is not None and self._monotonic() - self._db_ok_since >= self.takeover_grace

    def paused_until(self, channel: str | Lane) -> datetime | None:
        """When a channel account paused by a 429 may send again (None: not paused); a channel alone is its
        default account."""
        until = self._paused_until.get(lane_of(channel))
        return until if until is not None and until > self.clock() else None

    # -------------------------------------------------------------- claiming

    def _claim_limit(self, lanes: list[Lane]) -> int:
        """At most ``batch`` rows, and no more than half a lease's worth at the slowest rate."""
        limit = self.batch
        for lane in lanes:
            rate = self.buckets[lane].rate
            if rate is not None:
                limit = min(limit, max(1, int(rate * self.lease_seconds / 2)))
        return limit

    def _per_chat_limit(self) -> int:
        """Rows to one chat in one batch: their spacing must fit comfortably in the lease."""
        if self.per_chat_interval <= 0:
            return self.batch
        return max(1, int(self.lease_seconds / 2 / self.per_chat_interval))

    async def _claim(self, stats: DispatchStats, lanes: list[Lane]) -> list[Claimed]:
        if self._stopping:
            return []
        try:
            claimed = await self._claim_rows(stats, lanes, take_over=self._may_take_over())
        except Exception:
            self._db_failed()
            raise
        self._db_ok()
        return claimed

    async def _claim_rows(self, stats: DispatchStats, lanes: list[Lane], *, take_over: bool) -> list[Claimed]:
        """One claim transaction: read the due rows (locked), triage them (pure), write the decisions."""
        now = self.clock()
        lanes = [lane for lane in lanes if self.paused_until(lane) is None]
        if not lanes:
            return []
        sweep = self._last_sweep is None or self._monotonic() - self._last_sweep >= self.sweep_seconds
        if sweep:
            self._last_sweep = self._monotonic()  # one lane sweeps at a time
        async with self.db.write() as session:
            if sweep:
                channels = sorted({channel for channel, _account in self.senders})
                stats.expired += await self._expire(session, now, channels, take_over=take_over)
            rows = (await session.execute(self._due(now, lanes, take_over=take_over))).all()
            decided = triage.triage(rows, now, quiet=self.quiet_hours, per_chat_limit=self._per_chat_limit())
            counts, claimed = await self._write_claim(session, decided, now + timedelta(seconds=self.lease_seconds))
        for stat, n in counts.items():  # counted once committed
            setattr(stats, stat, getattr(stats, stat) + n)
        return claimed

    def _accounts_of(self, lanes: list[Lane]):
        """The condition that picks the rows of these lanes: a channel's named accounts by the recipient's
        account, its default account every other recipient (a channel with no named account: all its rows)."""
        plain = [channel for channel, account in lanes if account == DEFAULT_ACCOUNT and not self._named.get(channel)]
        if len(plain) == len(lanes):
            return Outbox.channel.in_(plain)
        conditions = []
        for channel, account in lanes:
            if account != DEFAULT_ACCOUNT:
                conditions.append(and_(Outbox.channel == channel, Identity.account == account))
            elif self._named.get(channel):
                conditions.append(and_(Outbox.channel == channel, Identity.account.not_in(self._named[channel])))
            else:
                conditions.append(Outbox.channel == channel)
        return conditions[0] if len(conditions) == 1 else or_(*conditions)

    def _due(self, now: datetime, lanes: list[str | Lane], *, take_over: bool):
        """The due rows of these channel accounts (a channel alone: its default account) with what the
        triage needs, oldest first, locked for the claim
        (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the write transaction began ``IMMEDIATE``).

        ``Outbox.waiting()`` names the partial index ``ix_outbox_waiting`` (not_before, id): both databases
        read the due rows from it in the claim's order, and it holds only the queue, not the year of
        finished rows (tests/reminders/test_growth_bounds.py checks the plan)."""
        lanes = [lane_of(lane) for lane in lanes]
        due = and_(Outbox.state == PENDING, Outbox.not_before <= now)
        if take_over:  # a lapsed lease: its dispatcher died (or, after an outage, had its time to record)
            due = or_(due, and_(Outbox.state == SENDING, Outbox.lease_until < now))
        query = (
            select(
                Outbox.id, Outbox.identity_id, Outbox.channel, Outbox.address, Outbox.body, Outbox.timezone,
                Outbox.not_before, Outbox.expires_at, Outbox.attempts, Outbox.kind,
                Identity.unreachable_at, Identity.opted_out_at, Identity.last_inbound_at, Identity.account,
            )
            .join(Identity, Identity.id == Outbox.identity_id)
            .where(Outbox.waiting(), self._accounts_of(lanes), due)
            .order_by(Outbox.not_before, Outbox.id)
            .limit(self._claim_limit(lanes))
        )
        if not self.db.is_sqlite:
            query = query.with_for_update(of=Outbox, skip_locked=True)
        return query

    async def _write_claim(self, session, decided, lease_until: datetime) -> tuple[dict[str, int], list[Claimed]]:
        """Writes the triage's decisions; returns the counts per stat and the claimed rows."""
        claimed: list[Claimed] = []
        final: dict[str, list[int]] = {triage.EXPIRE: [], triage.CANCEL: [], triage.BLOCK: []}
        deferred: list[dict[str, Any]] = []
        for r, decision in decided:
            action = decision.action
            if action == triage.SEND:
                claimed.append(
                    Claimed(r.id, r.identity_id, r.channel, r.address, r.body or {}, r.timezone,
                            r.not_before, r.expires_at, r.attempts + 1, lease_until, r.kind, r.last_inbound_at,
                            self._lane_of_row(r.channel, r.account)[1])
                )
            elif action == triage.DEFER:
                deferred.append({"o_id": r.id, "o_not_before": decision.until})
            elif action in final:
                final[action].append(r.id)
            # LEAVE: untouched, due again next round
        if claimed:
            await session.execute(
                update(_OUT)
                .where(_OUT.c.id.in_([c.id for c in claimed]))
                .values(state=SENDING, lease_until=lease_until, attempts=_OUT.c.attempts + 1)
            )
        for action, (state, error) in _FINAL.items():
            if final[action]:
                await session.execute(
                    update(_OUT).where(_OUT.c.id.in_(final[action])).values(state=state, lease_until=None, error=error)
                )
        if deferred:
            await session.execute(_DEFER, deferred)
        counts = {
            "claimed": len(claimed), "expired": len(final[triage.EXPIRE]), "cancelled": len(final[triage.CANCEL]),
            "blocked": len(final[triage.BLOCK]), "deferred_quiet": len(deferred),
        }
        return counts, claimed

    def _lane_of_row(self, channel: str, account: str | None) -> Lane:
        """The lane a row goes out through: its recipient's account when it has a sender, else the default."""
        lane = (channel, account or DEFAULT_ACCOUNT)
        return lane if lane in self.senders else (channel, DEFAULT_ACCOUNT)

    async def _expire(self, session, now: datetime, channels: list[str], *, take_over: bool = True) -> int:
        """Marks every unsent row of these channels that is past its expiry (not only the due ones)."""
        unsent = _OUT.c.state == PENDING
        if take_over:
            unsent = or_(unsent, and_(_OUT.c.state == SENDING, _OUT.c.lease_until < now))
        stale = select(_OUT.c.id).where(Outbox.waiting(), _OUT.c.channel.in_(channels), _OUT.c.expires_at <= now, unsent)
        if not self.db.is_sqlite:
            stale = stale.with_for_update(skip_locked=True)
        result = await session.execute(
            update(_OUT)
            .where(_OUT.c.id.in_(stale))
            .values(state=EXPIRED, lease_until=None, error=_EXPIRED_ERROR)
        )
        return max(0, result.rowcount or 0)

    # -------------------------------------------------------------- sending

    async def _send_all(self, rows: list[Claimed], stats: DispatchStats) -> None:
        groups: dict[tuple[str, str, str], list[Claimed]] = {}
        for row in rows:  # a chat is a chat of one account: each bot has its own 1 message a second per chat
            groups.setdefault((row.channel, row.account, row.address), []).append(row)
        recorder = _Recorder(self, stats)
        unreachable: set[int] = set()

        async def chat(key: tuple[str, str, str], chat_rows: list[Claimed]) -> None:
            for row in chat_rows:
                await self._send_row(key, row, recorder, unreachable)

        try:
            await asyncio.gather(*(chat(key, chat_rows) for key, chat_rows in groups.items()))
        finally:
            await recorder.close()

    async def _send_row(self, key: tuple[str, str, str], row: Claimed, recorder: _Recorder, unreachable: set[int]) -> None:
        await self.spacer.wait(key)
        attempted = False
        try:
            await self.buckets[row.lane].acquire()
            skip = self._skip(row, unreachable)
            if skip is not None:
                recorder.add(skip)
                return
            async with self._semaphore:
                waited = self._monotonic()
                await recorder.sends_recorded()  # no new send while an accepted one is unrecorded
                if self._monotonic() - waited > RESPACE_AFTER:  # the sends held up by a slow write take new
                    await self.buckets[row.lane].acquire()  # slots: they do not all go out at once after it
                skip = self._skip(row, unreachable)  # the waits for a free slot and the record may have been long
                if skip is not None:
                    recorder.add(skip)
                    return
                attempted = True
                outcome = await self._attempt(row, unreachable)
                self.metrics.sends.labels(row.channel, outcome.stat).inc()
            recorder.add(outcome)
        finally:
            if attempted:
                self.spacer.end(key)
            else:
                self.spacer.release(key)

    def _skip(self, row: Claimed, unreachable: set[int]) -> _Outcome | None:
        """Why a claimed row must not be sent now, as its outcome (None: send it); see :func:`triage.recheck`."""
        decision = triage.recheck(
            row, self.clock(), quiet=self.quiet_hours, stopping=self._stopping, unreachable=unreachable,
            paused_until=self.paused_until(row.lane), lease_margin=self.lease_margin,
        )
        return None if decision is None else _unsent(row, decision)

    async def _attempt(self, row: Claimed, unreachable: set[int]) -> _Outcome:
        """Calls the channel's sender once and turns the result into an outcome."""
        sender = self.senders[row.lane]
        try:
            async with asyncio.timeout(self.send_timeout):
                message_id = await sender(row.address, reply_of(row.body, row.kind, row.last_inbound_at))
        except RateLimited as exc:
            self.metrics.rate_limited.labels(row.channel).inc()
            retry = max(0.0, float(exc.retry_after))
            now = self.clock()
            until = now + timedelta(seconds=retry)
            if exc.per_chat:  # only this chat had too many: it waits, the channel goes on
                return _Outcome(row, "rate_limited", PENDING, not_before=until, attempts=row.attempts - 1,
                                error=describe(exc, f"chat retry after {retry:g} s"))
            if until > self._paused_until.get(row.lane, now):
                if self.paused_until(row.lane) is None:
                    self.metrics.pauses.labels(row.channel, "rate_limited").inc()
                self._paused_until[row.lane] = until
            log.warning("outbox: %s account %s asked to slow down; pausing it for %.0f s", row.channel, row.account, retry)
            return _Outcome(row, "rate_limited", PENDING, not_before=until, attempts=row.attempts - 1,
                            error=describe(exc, f"retry after {retry:g} s"))
        except ChannelDown as exc:
            retry = max(1.0, float(exc.retry_after))
            now = self.clock()
            until = now + timedelta(seconds=retry)
            if until > self._paused_until.get(row.lane, now):
                if self.paused_until(row.lane) is None:
                    self.metrics.pauses.labels(row.channel, "down").inc()
                    log.error("outbox: %s account %s cannot send (%s); paused for %.0f s", row.channel, row.account,
                              exc.problem, retry)
                self._paused_until[row.lane] = until
            return _Outcome(row, "stopped", PENDING, not_before=until, attempts=row.attempts - 1, error=describe(exc))
        except Unreachable as exc:
            unreachable.add(row.identity_id)
            return _Outcome(row, "blocked", BLOCKED, error=describe(exc), unreachable=True)
        except ChannelError as exc:
            if exc.retryable:
                return self._retry(row, exc)
            return _Outcome(row, "failed", FAILED, error=describe(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or a timeout: temporary; the text is not logged
            log.warning("outbox row %s: %s from the %s sender, will retry", row.id, type(exc).__name__, row.channel)
            return self._retry(row, exc, describe(exc, "unexpected error"))
        return _Outcome(row, "sent", SENT, sent_at=self.clock(), message_id=str(message_id)[:64])

    def _retry(self, row: Claimed, exc: BaseException, error: str | None = None) -> _Outcome:
        """Back to pending after an exponential backoff, unless that is past expiry or too many tries."""
        decision = triage.after_failure(row.attempts, self.clock(), row.expires_at,
                                        max_attempts=self.max_attempts, max_backoff=self.max_backoff)
        if decision.action == triage.FAIL:
            return _Outcome(row, "failed", FAILED, error=describe(exc, f"gave up after {row.attempts} attempts"))
        if decision.action == triage.EXPIRE:
            return _Outcome(row, "expired", EXPIRED, error=describe(exc, "expires before the next try"))
        return _Outcome(row, "retried", PENDING, not_before=decision.until, error=error or describe(exc))

    # -------------------------------------------------------------- recording

    async def _write(self, outcomes: list[_Outcome]) -> int:
        """Records outcomes in one transaction; returns how many other rows were blocked.

        A lost or refused connection (of any kind, see :func:`_transient`) is retried with backoff until
        the write commits; the write is idempotent (guarded by the claim), so a commit whose answer was
        lost is harmless to repeat. Any other error is given up after ``GIVE_UP_AFTER`` tries: the rows'
        leases lapse and they are sent again.
        """
        params = [o.params() for o in outcomes]
        gone = sorted({o.row.identity_id for o in outcomes if o.unreachable})
        sent = sum(1 for o in outcomes if o.state == SENT)
        delay = RECORD_RETRY_FIRST
        tries = 0
        first_failure: float | None = None
        logged_at = 0.0
        while True:
            tries += 1
            try:
                blocked = await self._write_once(params, gone)
            except Exception as exc:  # noqa: BLE001 - classified below; never escapes into a task
                self._db_failed()
                now = self._monotonic()
                transient = _transient(exc)
                if not transient and tries >= GIVE_UP_AFTER:
                    log.error("outbox: could not record %d outcomes (%s); their leases will lapse",
                              len(outcomes), _error_name(exc))
                    return 0
                if first_failure is None:
                    first_failure = logged_at = now
                    log.warning("outbox: recording %d outcomes (%d sent) failed (%s), trying again%s",
                                len(outcomes), sent, _error_name(exc), "; no new sends until they are written" if sent else "")
                elif now - logged_at >= REPEAT_LOG_SECONDS:
                    logged_at = now
                    log.error("outbox: %d outcomes (%d sent) still unrecorded after %.0f s (%s), trying again",
                              len(outcomes), sent, now - first_failure, _error_name(exc))
                await asyncio.sleep(delay)
                delay = min(RECORD_RETRY_MAX, delay * 2)
                continue
            self._db_ok()
            if first_failure is not None:
                log.warning("outbox: recorded %d outcomes after %.1f s and %d tries",
                            len(outcomes), self._monotonic() - first_failure, tries)
            return blocked

    async def _write_once(self, params: list[dict[str, Any]], gone: list[int]) -> int:
        blocked = 0
        async with self.db.write() as session:
            await session.execute(_RECORD, params)
            if gone:
                now = self.clock()
                await session.execute(
                    update(_IDENTITY)
                    .where(_IDENTITY.c.id.in_(gone), _IDENTITY.c.unreachable_at.is_(None))
                    .values(unreachable_at=now)
                )
                result = await session.execute(
                    update(_OUT)
                    .where(_OUT.c.identity_id.in_(gone), _OUT.c.state == PENDING)
                    .values(state=BLOCKED, lease_until=None, error=_UNREACHABLE_ERROR)
                )
                blocked = max(0, result.rowcount or 0)
        return blocked


class _Recorder:
    """Buffers outcomes and writes them in batches: a sent one at once (group commit with whatever
    else waits), the others every ``flush_size`` or ``flush_seconds``. Writes are retried until they
    commit (:meth:`Dispatcher._write`); until then no new send starts."""

    def __init__(self, dispatcher: Dispatcher, stats: DispatchStats) -> None:
        self._dispatcher = dispatcher
        self._stats = stats
        self._buffer: list[_Outcome] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()
        self._unrecorded = 0  # sends the provider accepted whose outcome is not written yet
        self._recorded = asyncio.Event()
        self._recorded.set()

    def add(self, outcome: _Outcome) -> None:
        setattr(self._stats, outcome.stat, getattr(self._stats, outcome.stat) + 1)
        self._buffer.append(outcome)
        if outcome.state == SENT:  # written at once (with whatever else is waiting): a crash repeats only sends in flight
            self._unrecorded += 1
            self._dispatcher.unrecorded += 1
            self._recorded.clear()
            self._spawn()
        elif len(self._buffer) >= self._dispatcher.flush_size:
            self._spawn()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._dispatcher.flush_seconds, self._spawn)

    def _spawn(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        task = asyncio.create_task(self.flush())
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:  # retrieved here: never "never retrieved"
            log.error("outbox: recording outcomes failed: %s", _error_name(task.exception()))

    async def flush(self) -> None:
        async with self._lock:
            outcomes, self._buffer = self._buffer, []
            if not outcomes:
                return
            sent = sum(1 for o in outcomes if o.state == SENT)
            try:
                self._stats.blocked += await self._dispatcher._write(outcomes)
            finally:  # written, given up, or cancelled (the process stops)
                self._unrecorded -= sent
                self._dispatcher.unrecorded -= sent
                if not self._unrecorded:
                    self._recorded.set()

    async def sends_recorded(self) -> None:
        """Waits until the outcome of every accepted send so far is written (or its write given up)."""
        await self._recorded.wait()

    async def close(self) -> None:
        """Writes whatever is left and waits for every write of the round to finish."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await asyncio.shield(self.flush())


def _transient(exc: BaseException | None) -> bool:
    """Whether an error is a lost, refused or timed-out connection (or a busy database): worth waiting out.

    Covers ``OSError`` (``ConnectionRefusedError``, ``ConnectionResetError``, ...), ``TimeoutError``,
    SQLAlchemy's errors (``DBAPIError`` wraps the driver's; not those that say the statement itself is
    wrong: integrity, programming, data), and the drivers' own errors (asyncpg's, sqlite3's) when they
    come unwrapped, also as the cause of another exception.
    """
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, _STATEMENT_ERRORS) and not getattr(exc, "connection_invalidated", False):
            return False
        if isinstance(exc, (OSError, TimeoutError, SQLAlchemyError)):
            return True
        if (type(exc).__module__ or "").startswith(("asyncpg", "sqlite3", "aiosqlite")):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


_STATEMENT_ERRORS = (IntegrityError, ProgrammingError, DataError, NotSupportedError, CompileError, ArgumentError)


def _error_name(exc: BaseException) -> str:
    """An exception's class (and its driver error's class), without its message or SQL parameters."""
    orig = getattr(exc, "orig", None)
    return f"{type(exc).__name__}/{type(orig).__name__}" if orig is not None else type(exc).__name__


__all__ = [
    "BLOCKED", "CANCELLED", "Claimed", "DEFAULT_ACCOUNT", "Lane", "lane_of", "DispatchStats", "Dispatcher", "EXPIRED", "FAILED", "FINAL_STATES",
    "PENDING", "SENDING", "SENT", "Sender", "reply_of",
]
