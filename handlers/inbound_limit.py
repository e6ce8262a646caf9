"""A per-chat inbound limit: a token bucket per (channel, address), so that one chat sending faster than a
person can type costs the other chats nothing.

Each chat may send ``burst`` messages at once, then ``per_minute`` a minute. A message over the limit is
dropped before any database work (:meth:`InboundLimit.check` answers ``DROP``); the first one dropped in a
flood answers ``NOTICE`` instead, so the chat is told once. The next notice comes only after the chat's
bucket has filled up again while it sent nothing at all (quiet for ``burst / per_minute`` minutes), however
long the flood lasts. Button presses count like messages.

Pure: the caller passes ``now`` (seconds of a monotonic clock). Memory stays bounded: the bucket of a
chat quiet that long is the same as no bucket and is forgotten; past ``max_chats`` buckets the longest idle is
forgotten too (that chat starts with a full bucket again, the lenient side).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from enum import Enum

#: how many chats' buckets are kept at most (about 100 bytes each)
MAX_CHATS = 100_000


class Verdict(Enum):
    PASS = "pass"  # handle the message
    NOTICE = "notice"  # drop it and tell the chat once that it sends too fast (a flood starts)
    DROP = "drop"  # drop it silently (the chat was told already)


class _Bucket:
    __slots__ = ("tokens", "stamp", "noticed")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp
        self.noticed = False


class InboundLimit:
    """Token buckets keyed by chat: ``burst`` at once, then ``per_minute`` a minute (0: no limit)."""

    def __init__(self, burst: int, per_minute: float, *, max_chats: int = MAX_CHATS) -> None:
        if burst < 1 or per_minute < 0 or max_chats < 1:
            raise ValueError("burst and max_chats must be at least 1, per_minute at least 0")
        self.burst = float(burst)
        self.rate = per_minute / 60.0  # tokens a second
        self.max_chats = max_chats
        #: the time an empty bucket takes to fill up again: idle that long, a bucket is forgotten
        self.refill_s = self.burst / self.rate if self.rate else 0.0
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()  # least recently used first

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, key: Hashable, now: float) -> Verdict:
        """Takes one token from ``key``'s bucket: PASS, or NOTICE / DROP when it is empty."""
        if not self.rate:
            return Verdict.PASS
        self._forget_idle(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            self._buckets.move_to_end(key)
            quiet = max(0.0, now - bucket.stamp)
            if quiet >= self.refill_s:  # refilled while the chat sent nothing: a new flood gets a notice of its own
                bucket.noticed = False
            bucket.tokens = min(self.burst, bucket.tokens + quiet * self.rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.PASS
        if bucket.noticed:
            return Verdict.DROP
        bucket.noticed = True
        return Verdict.NOTICE

    def _forget_idle(self, now: float) -> None:
        """Forgets the buckets of chats quiet long enough for a full bucket (oldest first): the same as no
        bucket; and the oldest beyond ``max_chats``."""
        buckets = self._buckets
        while buckets:
            key, bucket = next(iter(buckets.items()))
            if now - bucket.stamp < self.refill_s and len(buckets) < self.max_chats:
                break
            del buckets[key]
