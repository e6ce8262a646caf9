"""Send pacing at a channel account's rate: a token bucket per channel and a spacer per chat (used by the
outbox dispatcher, and by a channel that answers inline, e.g. a WhatsApp webhook).

Both work on a monotonic clock (real seconds), never on the dispatcher's wall clock, and both are
per process: several dispatcher processes share the provider's limit only through the 429 answers.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Hashable

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, with bursts of at most ``burst``.

    ``rate`` None (or 0) means unlimited. Each :meth:`acquire` takes its token at once, running the
    bucket into debt if need be, and sleeps until that debt is paid: callers are served in call
    order and never wake together, so a burst of 1 spaces sends exactly ``1 / rate`` apart.
    """

    def __init__(
        self,
        rate: float | None,
        burst: float = 1.0,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate if rate and rate > 0 else None
        self.burst = max(1.0, burst)
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = monotonic()

    @property
    def unlimited(self) -> bool:
        return self.rate is None

    def reserve(self) -> float:
        """Takes one token; returns how many seconds the caller must wait before using it."""
        if self.rate is None:
            return 0.0
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0.0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        """Waits for one token."""
        delay = self.reserve()
        if delay > 0:
            await self._sleep(delay)


class ChatSpacer:
    """At most one send per ``interval`` seconds to each chat, measured from the END of one send to
    the start of the next (so the provider sees the gap even when a request is slow), and never two
    sends to one chat at the same time."""

    def __init__(self, interval: float, *, monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self.interval = max(0.0, interval)
        self._monotonic = monotonic
        self._sleep = sleep
        self._next: dict[Hashable, float] = {}  # chat -> earliest next start (inf while a send runs)

    def delay(self, key: Hashable) -> float:
        """Seconds until ``key`` may be sent to (inf while a send to it is in flight)."""
        at = self._next.get(key)
        return 0.0 if at is None else max(0.0, at - self._monotonic())

    async def wait(self, key: Hashable) -> None:
        """Waits until ``key`` may be sent to, then marks it busy until :meth:`end`."""
        while True:
            delay = self.delay(key)
            if delay <= 0:
                break
            await self._sleep(delay if math.isfinite(delay) else max(self.interval, 0.01))
        self._next[key] = math.inf

    def end(self, key: Hashable) -> None:
        """A send to ``key`` has finished: the next may start ``interval`` seconds from now."""
        self._next[key] = self._monotonic() + self.interval

    def release(self, key: Hashable) -> None:
        """Undoes :meth:`wait` without a send (the chat is free again at once)."""
        if self._next.get(key) == math.inf:
            del self._next[key]

    def prune(self) -> None:
        """Forgets chats whose interval has passed (keeps the map small)."""
        now = self._monotonic()
        for key in [k for k, at in self._next.items() if at <= now]:
            del self._next[key]

    def __len__(self) -> int:
        return len(self._next)
