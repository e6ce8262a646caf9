"""The outbox dispatcher: claims due rows, sends them at each channel's rate, records what happened.

One round (:meth:`Dispatcher.run_once`):

1. **Claim**, in one short write transaction: rows past ``expires_at`` are expired (never sent late);
   due rows (``pending`` with ``not_before <= now``, or ``sending`` whose lease lapsed because a
   dispatcher died) are locked (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the transaction
   began ``IMMEDIATE``) and sorted out: rows of opted-out identities are cancelled, of unreachable
   identities blocked, rows whose recipient is inside quiet hours move to the end of the quiet hours
   (or expire if that is past their expiry), and the rest become ``sending`` with a lease and
   ``attempts + 1``. The transaction commits before anything is sent.
2. **Send** the claimed rows concurrently: one task per chat (its rows one after another, at least
   ``per_chat_interval`` seconds from the end of one send to the start of the next), a token bucket
   per channel, at most ``concurrency`` requests in flight. Just before each send the row is checked
   again: past expiry -> expired; quiet hours began meanwhile -> moved to the morning; channel
   paused by a 429 or lease running out -> handed back unsent.
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
"""
from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from channels.errors import ChannelDown, ChannelError, RateLimited, Unreachable
from channels.messages import Choice, Reply
from db.database import Database
from db.models import Identity, Outbox
from db.types import UTCDateTime
from reminders.rate import ChatSpacer, TokenBucket

log = logging.getLogger(__name__)

Sender = Callable[[str, Reply], Awaitable[str]]
Clock = Callable[[], datetime]

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
BLOCKED = "blocked"
CANCELLED = "cancelled"
FAILED = "failed"
EXPIRED = "expired"
FINAL_STATES = frozenset({SENT, BLOCKED, CANCELLED, FAILED, EXPIRED})

DEFAULT_RATES: Mapping[str, float | None] = MappingProxyType({"telegram": 30.0})
BASE_BACKOFF = 5.0
FALLBACK_ZONE = "Asia/Jakarta"

_LONG_NUMBER = re.compile(r"\d{7,}")  # a chat id or phone number a channel put in its error text (6-digit error codes stay)
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


# ------------------------------------------------------------------ quiet hours


def in_quiet_hours(hour: int, quiet: tuple[int, int]) -> bool:
    """Whether a local hour falls in quiet hours ``(start, end)``, which may wrap midnight."""
    start, end = quiet
    if start == end:
        return False
    return start <= hour or hour < end if start > end else start <= hour < end


def quiet_until(now: datetime, zone: ZoneInfo, quiet: tuple[int, int]) -> datetime | None:
    """The UTC end of the quiet hours ``now`` falls in at ``zone``, or None outside quiet hours."""
    local = now.astimezone(zone)
    if not in_quiet_hours(local.hour, quiet):
        return None
    end = quiet[1]
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, dtime(end), tzinfo=zone).astimezone(UTC)


@functools.lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The time zone of a row; an unknown name falls back to WIB (logged once)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("outbox: unknown time zone %r, using %s for quiet hours", name, FALLBACK_ZONE)
        return ZoneInfo(FALLBACK_ZONE)


def reply_of(body: Mapping[str, Any], kind: str | None = None, last_inbound_at: datetime | None = None) -> Reply:
    """The channel-neutral reply of an outbox body ``{"text", "lang", "choices": [[label, data], ...], "photo"}``."""
    choices = tuple(Choice(str(label), str(data)) for label, data in body.get("choices") or ())
    return Reply(
        text=str(body.get("text") or ""), choices=choices, image_ref=body.get("photo"), image_channel=body.get("photo_channel"),
        kind=kind, last_inbound_at=last_inbound_at, template_only=bool(body.get("template")), language=body.get("lang"),
    )


def describe(exc: BaseException, reason: str | None = None) -> str:
    """The ``error`` column: the exception class and a short reason, nothing personal."""
    if reason is None:
        reason = _LONG_NUMBER.sub("#", exc.reason) if isinstance(exc, ChannelError) else ""
    text = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
    return text[:200]


# ------------------------------------------------------------------ the dispatcher


class Dispatcher:
    """Sends due outbox rows through ``senders`` (channel -> ``async (address, reply) -> message id``).

    Channels without a sender are not touched. ``rates`` are messages per second per channel (None,
    0 or a missing channel: unlimited). Pacing (rates, per-chat interval, 429 pauses) is per process;
    claiming is safe across processes and several instances on one PostgreSQL.
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
        batch: int = 200,
        quiet_hours: tuple[int, int] = (20, 6),
        max_backoff: float = 3600,
        max_attempts: int = 25,
        concurrency: int = 64,
        idle_seconds: float = 1.0,
        sweep_seconds: float = 30.0,
        flush_size: int = 100,
        flush_seconds: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if lease_seconds <= 0 or batch <= 0 or concurrency <= 0:
            raise ValueError("lease_seconds, batch and concurrency must be positive")
        self.db = db
        self.senders = dict(senders)
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
        #: a send may take this long before it counts as a temporary failure
        self.send_timeout = self.lease_seconds / 4
        #: a row is handed back unsent when less than this is left of its lease
        self.lease_margin = self.lease_seconds / 3
        self.buckets = {channel: TokenBucket(rates.get(channel), monotonic=monotonic) for channel in self.senders}
        self.spacer = ChatSpacer(per_chat_interval, monotonic=monotonic)
        self.totals = DispatchStats()
        self._monotonic = monotonic
        self._paused_until: dict[str, datetime] = {}
        self._semaphore = asyncio.Semaphore(concurrency)
        self._round = asyncio.Lock()
        self._last_sweep: float | None = None

    # -------------------------------------------------------------- public API

    async def run_once(self) -> DispatchStats:
        """Claims one batch, sends it at the allowed rate, records the outcomes; returns the counts."""
        async with self._round:
            stats = DispatchStats()
            rows = await self._claim(stats)
            if rows:
                await self._send_all(rows, stats)
            self.spacer.prune()
            self.totals.add(stats)
            return stats

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatches until ``stop`` is set; sleeps ``idle_seconds`` when nothing was due (or on an error)."""
        while not stop.is_set():
            busy = False
            try:
                stats = await self.run_once()
                # rows were taken or sorted out: more may be due right behind them
                busy = bool(stats.claimed or stats.deferred_quiet or stats.expired or stats.blocked or stats.cancelled)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database outage must not end the loop; no SQL parameters in logs
                log.error("outbox dispatch round failed: %s", _error_name(exc))
            if busy:
                continue
            try:
                await asyncio.wait_for(stop.wait(), self.idle_seconds)
            except TimeoutError:
                pass

    async def claim(self) -> list[Claimed]:
        """Only the claim step (expiry, quiet hours, blocked and cancelled rows included)."""
        async with self._round:
            stats = DispatchStats()
            rows = await self._claim(stats)
            self.totals.add(stats)
            return rows

    def paused_until(self, channel: str) -> datetime | None:
        """When a channel paused by a 429 may send again (None: not paused)."""
        until = self._paused_until.get(channel)
        return until if until is not None and until > self.clock() else None

    # -------------------------------------------------------------- claiming

    def _claim_limit(self, channels: list[str]) -> int:
        """At most ``batch`` rows, and no more than half a lease's worth at the slowest rate."""
        limit = self.batch
        for channel in channels:
            rate = self.buckets[channel].rate
            if rate is not None:
                limit = min(limit, max(1, int(rate * self.lease_seconds / 2)))
        return limit

    def _per_chat_limit(self) -> int:
        """Rows to one chat in one batch: their spacing must fit comfortably in the lease."""
        if self.per_chat_interval <= 0:
            return self.batch
        return max(1, int(self.lease_seconds / 2 / self.per_chat_interval))

    async def _claim(self, stats: DispatchStats) -> list[Claimed]:
        now = self.clock()
        channels = [c for c in self.senders if self.paused_until(c) is None]
        if not channels:
            return []
        sweep = self._last_sweep is None or self._monotonic() - self._last_sweep >= self.sweep_seconds
        per_chat_limit = self._per_chat_limit()
        lease_until = now + timedelta(seconds=self.lease_seconds)
        claimed: list[Claimed] = []
        async with self.db.write() as session:
            if sweep:
                stats.expired += await self._expire(session, now, channels)
            due = or_(
                and_(Outbox.state == PENDING, Outbox.not_before <= now),
                and_(Outbox.state == SENDING, Outbox.lease_until < now),
            )
            query = (
                select(
                    Outbox.id, Outbox.identity_id, Outbox.channel, Outbox.address, Outbox.body, Outbox.timezone,
                    Outbox.not_before, Outbox.expires_at, Outbox.attempts, Outbox.kind,
                    Identity.unreachable_at, Identity.opted_out_at, Identity.last_inbound_at,
                )
                .join(Identity, Identity.id == Outbox.identity_id)
                .where(Outbox.channel.in_(channels), due)
                .order_by(Outbox.not_before, Outbox.id)
                .limit(self._claim_limit(channels))
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(of=Outbox, skip_locked=True)
            rows = (await session.execute(query)).all()

            expired: list[int] = []
            cancelled: list[int] = []
            blocked: list[int] = []
            deferred: list[dict[str, Any]] = []
            per_chat: Counter[tuple[str, str]] = Counter()
            for r in rows:
                if r.expires_at is not None and r.expires_at <= now:
                    expired.append(r.id)
                elif r.opted_out_at is not None:
                    cancelled.append(r.id)
                elif r.unreachable_at is not None:
                    blocked.append(r.id)
                elif (until := quiet_until(now, zone(r.timezone), self.quiet_hours)) is not None:
                    if r.expires_at is not None and until >= r.expires_at:
                        expired.append(r.id)
                    else:
                        deferred.append({"o_id": r.id, "o_not_before": until})
                elif per_chat[(r.channel, r.address)] < per_chat_limit:
                    per_chat[(r.channel, r.address)] += 1
                    claimed.append(
                        Claimed(r.id, r.identity_id, r.channel, r.address, r.body or {}, r.timezone,
                                r.not_before, r.expires_at, r.attempts + 1, lease_until, r.kind, r.last_inbound_at)
                    )
            if claimed:
                await session.execute(
                    update(_OUT)
                    .where(_OUT.c.id.in_([c.id for c in claimed]))
                    .values(state=SENDING, lease_until=lease_until, attempts=_OUT.c.attempts + 1)
                )
            for ids, state, error in (
                (expired, EXPIRED, "Expired: past expires_at before sending"),
                (cancelled, CANCELLED, "Cancelled: recipient opted out"),
                (blocked, BLOCKED, "Unreachable: recipient marked unreachable"),
            ):
                if ids:
                    await session.execute(
                        update(_OUT).where(_OUT.c.id.in_(ids)).values(state=state, lease_until=None, error=error)
                    )
            if deferred:
                await session.execute(_DEFER, deferred)
        if sweep:
            self._last_sweep = self._monotonic()
        stats.claimed += len(claimed)
        stats.expired += len(expired)
        stats.cancelled += len(cancelled)
        stats.blocked += len(blocked)
        stats.deferred_quiet += len(deferred)
        return claimed

    async def _expire(self, session, now: datetime, channels: list[str]) -> int:
        """Marks every unsent row of these channels that is past its expiry (not only the due ones)."""
        stale = select(_OUT.c.id).where(
            _OUT.c.channel.in_(channels),
            _OUT.c.expires_at <= now,
            or_(_OUT.c.state == PENDING, and_(_OUT.c.state == SENDING, _OUT.c.lease_until < now)),
        )
        if not self.db.is_sqlite:
            stale = stale.with_for_update(skip_locked=True)
        result = await session.execute(
            update(_OUT)
            .where(_OUT.c.id.in_(stale))
            .values(state=EXPIRED, lease_until=None, error="Expired: past expires_at before sending")
        )
        return max(0, result.rowcount or 0)

    # -------------------------------------------------------------- sending

    async def _send_all(self, rows: list[Claimed], stats: DispatchStats) -> None:
        groups: dict[tuple[str, str], list[Claimed]] = {}
        for row in rows:
            groups.setdefault((row.channel, row.address), []).append(row)
        recorder = _Recorder(self, stats)
        unreachable: set[int] = set()

        async def chat(key: tuple[str, str], chat_rows: list[Claimed]) -> None:
            for row in chat_rows:
                await self._send_row(key, row, recorder, unreachable)

        try:
            await asyncio.gather(*(chat(key, chat_rows) for key, chat_rows in groups.items()))
        finally:
            await recorder.close()

    async def _send_row(self, key: tuple[str, str], row: Claimed, recorder: _Recorder, unreachable: set[int]) -> None:
        await self.spacer.wait(key)
        attempted = False
        try:
            await self.buckets[row.channel].acquire()
            skip = self._skip(row, unreachable)
            if skip is not None:
                recorder.add(skip)
                return
            async with self._semaphore:
                await recorder.sends_recorded()  # no new send while an accepted one is unrecorded
                skip = self._skip(row, unreachable)  # the waits for a free slot and the record may have been long
                if skip is not None:
                    recorder.add(skip)
                    return
                attempted = True
                outcome = await self._attempt(row, unreachable)
            recorder.add(outcome)
        finally:
            if attempted:
                self.spacer.end(key)
            else:
                self.spacer.release(key)

    def _skip(self, row: Claimed, unreachable: set[int]) -> _Outcome | None:
        """Why a claimed row must not be sent now, as its outcome (None: send it)."""
        now = self.clock()
        if row.identity_id in unreachable:
            return _Outcome(row, "blocked", BLOCKED, error="Unreachable: recipient marked unreachable")
        if row.expires_at is not None and now >= row.expires_at:
            return _Outcome(row, "expired", EXPIRED, error="Expired: past expires_at before sending")
        until = quiet_until(now, zone(row.timezone), self.quiet_hours)  # claimed just before quiet hours
        if until is not None:
            if row.expires_at is not None and until >= row.expires_at:
                return _Outcome(row, "expired", EXPIRED, error="Expired: past expires_at before sending")
            return _Outcome(row, "deferred_quiet", PENDING, not_before=until, attempts=row.attempts - 1)
        paused = self.paused_until(row.channel)
        if paused is not None:
            return _Outcome(row, "released", PENDING, not_before=paused, attempts=row.attempts - 1)
        if now >= row.lease_until - timedelta(seconds=self.lease_margin):
            return _Outcome(row, "released", PENDING, not_before=now, attempts=row.attempts - 1)
        return None

    async def _attempt(self, row: Claimed, unreachable: set[int]) -> _Outcome:
        """Calls the channel's sender once and turns the result into an outcome."""
        sender = self.senders[row.channel]
        try:
            async with asyncio.timeout(self.send_timeout):
                message_id = await sender(row.address, reply_of(row.body, row.kind, row.last_inbound_at))
        except RateLimited as exc:
            retry = max(0.0, float(exc.retry_after))
            now = self.clock()
            until = now + timedelta(seconds=retry)
            if exc.per_chat:  # only this chat had too many: it waits, the channel goes on
                return _Outcome(row, "rate_limited", PENDING, not_before=until, attempts=row.attempts - 1,
                                error=describe(exc, f"chat retry after {retry:g} s"))
            if until > self._paused_until.get(row.channel, now):
                self._paused_until[row.channel] = until
            log.warning("outbox: %s asked to slow down; pausing it for %.0f s", row.channel, retry)
            return _Outcome(row, "rate_limited", PENDING, not_before=until, attempts=row.attempts - 1,
                            error=describe(exc, f"retry after {retry:g} s"))
        except ChannelDown as exc:
            retry = max(1.0, float(exc.retry_after))
            now = self.clock()
            until = now + timedelta(seconds=retry)
            if until > self._paused_until.get(row.channel, now):
                if self.paused_until(row.channel) is None:
                    log.error("outbox: %s cannot send (%s); paused for %.0f s", row.channel, exc.problem, retry)
                self._paused_until[row.channel] = until
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
        error = error or describe(exc)
        if row.attempts >= self.max_attempts:
            return _Outcome(row, "failed", FAILED, error=describe(exc, f"gave up after {row.attempts} attempts"))
        delay = min(self.max_backoff, BASE_BACKOFF * 2 ** max(0, row.attempts - 1))
        at = self.clock() + timedelta(seconds=delay)
        if row.expires_at is not None and at >= row.expires_at:
            return _Outcome(row, "expired", EXPIRED, error=describe(exc, "expires before the next try"))
        return _Outcome(row, "retried", PENDING, not_before=at, error=error)

    # -------------------------------------------------------------- recording

    async def _write(self, outcomes: list[_Outcome]) -> int:
        """Records outcomes in one transaction; returns how many other rows were blocked."""
        params = [o.params() for o in outcomes]
        gone = sorted({o.row.identity_id for o in outcomes if o.unreachable})
        for attempt in range(4):
            try:
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
                            .values(state=BLOCKED, lease_until=None, error="Unreachable: recipient marked unreachable")
                        )
                        blocked = max(0, result.rowcount or 0)
                return blocked
            except (DBAPIError, SQLAlchemyError) as exc:
                if attempt == 3:
                    log.error("outbox: could not record %d outcomes (%s); their leases will lapse",
                              len(outcomes), _error_name(exc))
                    return 0
                log.warning("outbox: recording outcomes failed (%s), trying again", _error_name(exc))
                await asyncio.sleep(0.1 * 2**attempt)
        return 0


class _Recorder:
    """Buffers outcomes and writes them in batches: a sent one at once (group commit with whatever
    else waits), the others every ``flush_size`` or ``flush_seconds``."""

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
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        async with self._lock:
            outcomes, self._buffer = self._buffer, []
            try:
                if outcomes:
                    self._stats.blocked += await self._dispatcher._write(outcomes)
            finally:
                self._unrecorded -= sum(1 for o in outcomes if o.state == SENT)
                if not self._unrecorded:
                    self._recorded.set()

    async def sends_recorded(self) -> None:
        """Waits until the outcome of every accepted send so far is written (or its write given up)."""
        await self._recorded.wait()

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await asyncio.shield(self.flush())


def _error_name(exc: BaseException) -> str:
    """An exception's class (and its driver error's class), without its message or SQL parameters."""
    orig = getattr(exc, "orig", None)
    return f"{type(exc).__name__}/{type(orig).__name__}" if orig is not None else type(exc).__name__


__all__ = [
    "BLOCKED", "CANCELLED", "Claimed", "DispatchStats", "Dispatcher", "EXPIRED", "FAILED", "FINAL_STATES",
    "PENDING", "SENDING", "SENT", "Sender", "in_quiet_hours", "quiet_until", "reply_of",
]
