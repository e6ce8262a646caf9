"""The per-chat inbound limit: a burst, then a sustained rate, one notice per flood, other chats unaffected."""
from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from channels.messages import Incoming
from db.models import InboundMessage
from handlers.engine import Engine
from handlers.inbound_limit import InboundLimit, Verdict

P, N, D = Verdict.PASS, Verdict.NOTICE, Verdict.DROP


@pytest.mark.parametrize(
    ("burst", "per_minute", "times", "expected"),
    [
        # a burst of 3 at once, then the rest of the flood: one notice, then silence
        (3, 60, [0, 0, 0, 0, 0, 0], [P, P, P, N, D, D]),
        # 60 a minute is one a second: one token comes back after 1 s, the notice is not repeated
        (3, 60, [0, 0, 0, 0, 0.5, 1.0, 1.0, 1.5, 2.0], [P, P, P, N, D, P, D, D, P]),
        # a sustained 1 a second passes for ever
        (2, 60, [0, 1, 2, 3, 4, 5], [P, P, P, P, P, P]),
        # 30 a minute: one every 2 s after the burst
        (1, 30, [0, 1, 2, 2.5, 4], [P, N, P, D, P]),
        # refilled (quiet for burst / rate = 3 s): a new flood gets a notice of its own
        (3, 60, [0, 0, 0, 0, 0, 3.0, 3.0, 3.0, 3.0], [P, P, P, N, D, P, P, P, N]),
        # not quite refilled: no second notice
        (3, 60, [0, 0, 0, 0, 2.9, 2.9, 2.9, 2.9], [P, P, P, N, P, P, D, D]),
        # 0 a minute: no limit
        (1, 0, [0, 0, 0, 0], [P, P, P, P]),
    ],
)
def test_bucket(burst, per_minute, times, expected):
    limit = InboundLimit(burst, per_minute)
    assert [limit.check(("telegram", "42"), now) for now in times] == expected


def test_other_chats_are_unaffected_by_a_flood():
    limit = InboundLimit(2, 60)
    flood = [limit.check(("telegram", "1"), 0.0) for _ in range(100)]
    assert flood[:3] == [P, P, N] and set(flood[3:]) == {D}
    assert [limit.check(("telegram", str(chat)), 0.0) for chat in range(2, 50)] == [P] * 48
    assert limit.check(("whatsapp", "1"), 0.0) is P  # the same address on another channel is another chat


def test_idle_buckets_are_forgotten_and_memory_is_bounded():
    limit = InboundLimit(2, 60, max_chats=100)
    for chat in range(50):
        limit.check(("telegram", str(chat)), 0.0)
    assert len(limit) == 50
    limit.check(("telegram", "late"), 10.0)  # the 50 have filled up again: the same as no bucket
    assert len(limit) == 1
    for chat in range(1000):
        limit.check(("telegram", f"x{chat}"), 20.0)
    assert len(limit) <= 100


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        InboundLimit(0, 30)
    with pytest.raises(ValueError):
        InboundLimit(10, -1)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _count_seen(db) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(InboundMessage))


async def test_a_flooding_chat_gets_one_notice_and_the_others_are_answered(demo_db, settings, clock, caplog):
    ticks = Ticks()
    engine = Engine(demo_db, replace(settings, inbound=replace(settings.inbound, burst=5, per_minute=30)),
                    clock=clock, monotonic=ticks)
    caplog.set_level(logging.WARNING, logger="handlers.engine")
    flood: list[list] = []
    for i in range(200):  # one chat: 200 messages and presses at once
        incoming = Incoming("telegram", "777001", message_id=f"f{i}", text="halo") if i % 2 else \
            Incoming("telegram", "777001", message_id=f"f{i}", choice="1.yes")
        flood.append(await engine.handle(incoming))
        if i % 20 == 0:  # while it floods, other families are answered
            other = await engine.handle(Incoming("telegram", f"77800{i}", message_id=f"o{i}", text="/start"))
            assert other and "setuju" in other[-1].text.lower()
    answered = [replies for replies in flood[:5]]
    assert all(answered)  # the burst is handled
    notices = [replies for replies in flood[5:] if replies]
    assert len(notices) == 1 and "terlalu cepat" in notices[0][0].text and "Bapak/Ibu" in notices[0][0].text
    assert flood[5] == notices[0]  # the first message over the limit gets it
    assert await _count_seen(demo_db) == 5 + 10  # dropped messages are not stored (5 of the flood, 10 others)
    floods = [r for r in caplog.records if "inbound flood" in r.getMessage()]
    assert len(floods) == 1 and "777001" not in floods[0].getMessage()

    ticks.now += 2.0  # 30 a minute: a message every 2 s passes again, without a second notice
    assert await engine.handle(Incoming("telegram", "777001", message_id="later", text="halo"))
    assert await engine.handle(Incoming("telegram", "777001", message_id="later2", text="halo")) == []
    ticks.now += 60.0  # refilled: a new flood is told again
    replies = [await engine.handle(Incoming("telegram", "777001", message_id=f"g{i}", text="halo")) for i in range(7)]
    assert all(replies[:5]) and "terlalu cepat" in replies[5][0].text and replies[6] == []


async def test_the_notice_is_in_the_language_of_the_client(demo_db, settings, clock):
    engine = Engine(demo_db, replace(settings, inbound=replace(settings.inbound, burst=1, per_minute=30)),
                    clock=clock, monotonic=Ticks())
    await engine.handle(Incoming("telegram", "5", message_id="a", text="hi", language_hint="en"))
    notice = await engine.handle(Incoming("telegram", "5", message_id="b", text="hi", language_hint="en"))
    assert notice and notice[0].language == "en"
