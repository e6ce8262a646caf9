"""Send pacing: the token bucket and the per-chat spacer, on a hand-moved monotonic clock."""
from __future__ import annotations

import math

import pytest

from channels.rate import ChatSpacer, TokenBucket


class Ticks:
    """A monotonic clock and a sleep that only moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_spaces_reservations_at_the_rate():
    ticks = Ticks()
    bucket = TokenBucket(10.0, monotonic=ticks)
    delays = [bucket.reserve() for _ in range(4)]
    assert delays == pytest.approx([0.0, 0.1, 0.2, 0.3])
    ticks.now += 1.0  # the debt is paid and one token is back (burst 1)
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.1)


def test_bucket_burst_then_rate():
    ticks = Ticks()
    bucket = TokenBucket(30.0, burst=3, monotonic=ticks)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(1 / 30)


@pytest.mark.parametrize("rate", [None, 0, 0.0])
def test_bucket_unlimited(rate):
    bucket = TokenBucket(rate, monotonic=Ticks())
    assert bucket.unlimited
    assert all(bucket.reserve() == 0.0 for _ in range(1000))


async def test_bucket_acquire_sleeps_its_delay():
    ticks = Ticks()
    bucket = TokenBucket(4.0, monotonic=ticks, sleep=ticks.sleep)
    for _ in range(3):
        await bucket.acquire()
    assert ticks.slept == pytest.approx([0.25, 0.25])


async def test_spacer_counts_from_the_end_of_a_send():
    ticks = Ticks()
    spacer = ChatSpacer(1.0, monotonic=ticks, sleep=ticks.sleep)
    await spacer.wait("42")
    assert math.isinf(spacer.delay("42"))  # busy while the send runs
    assert spacer.delay("43") == 0.0  # other chats are free
    ticks.now += 0.3  # the send took 0.3 s
    spacer.end("42")
    assert spacer.delay("42") == pytest.approx(1.0)
    await spacer.wait("42")
    assert ticks.slept == pytest.approx([1.0])


async def test_spacer_release_and_prune():
    ticks = Ticks()
    spacer = ChatSpacer(1.0, monotonic=ticks, sleep=ticks.sleep)
    await spacer.wait("a")
    spacer.release("a")  # nothing was sent: free at once
    assert spacer.delay("a") == 0.0 and len(spacer) == 0
    await spacer.wait("b")
    spacer.end("b")
    ticks.now += 1.0
    spacer.prune()
    assert len(spacer) == 0
