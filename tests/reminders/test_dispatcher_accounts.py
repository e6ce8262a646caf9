"""Several channel accounts in one dispatcher: each chat reached from the account it wrote to, each account
with its own claims, rate and 429 pauses (issue 20, item 4)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from channels.telegram import TelegramChannel
from config import TelegramConfig
from db.models import Identity
from reminders.dispatcher import Dispatcher
from tests.fakes.telegram_bots import FakeTelegramBots
from tests.reminders.test_dispatcher import _no_handler, add_identity, add_row, row_of

TOKEN_A = "111111111:AAFakeTokenOfBotA_abcdefghijklmnop"
TOKEN_B = "222222222:AAFakeTokenOfBotB_abcdefghijklmnop"


@pytest.fixture
async def bots() -> AsyncIterator[FakeTelegramBots]:
    async with FakeTelegramBots([TOKEN_A, TOKEN_B]) as server:
        yield server


@pytest.fixture
async def channels(bots) -> AsyncIterator[dict[str, TelegramChannel]]:
    made = {}
    for name, token in (("default", TOKEN_A), ("kota", TOKEN_B)):
        config = TelegramConfig(token=token, base_url=bots.base_url, base_file_url=bots.base_file_url)
        made[name] = TelegramChannel(config, _no_handler, account=name)
    yield made
    for channel in made.values():
        await channel.stop()


@pytest.fixture
def dispatcher(db, channels, clock) -> Dispatcher:
    senders = {("telegram", name): channel.send_one for name, channel in channels.items()}
    return Dispatcher(db, senders, clock=clock, rates={"telegram": None}, per_chat_interval=0.0)


async def on_account(db, account: str) -> tuple[int, str]:
    """A family's chat that wrote to ``account``."""
    identity = await add_identity(db)
    async with db.write() as session:
        await session.execute(update(Identity).where(Identity.id == identity[0]).values(account=account))
    return identity


async def test_a_family_on_bot_b_gets_its_reminder_from_bot_b_never_from_a(db, bots, dispatcher):
    on_a, on_b = await on_account(db, "default"), await on_account(db, "kota")
    row_a, row_b = await add_row(db, on_a, text="untuk A"), await add_row(db, on_b, text="untuk B")

    stats = await dispatcher.run_once()

    assert stats.sent == 2
    assert bots[TOKEN_B].texts_to(int(on_b[1])) == ["untuk B"] and bots[TOKEN_A].texts_to(int(on_b[1])) == []
    assert bots[TOKEN_A].texts_to(int(on_a[1])) == ["untuk A"] and bots[TOKEN_B].texts_to(int(on_a[1])) == []
    assert (await row_of(db, row_a)).state == (await row_of(db, row_b)).state == "sent"


async def test_a_chat_of_an_account_no_longer_configured_goes_through_the_default_one(db, bots, dispatcher):
    gone = await on_account(db, "removed")
    await add_row(db, gone, text="akun lama")

    assert (await dispatcher.run_once()).sent == 1
    assert bots[TOKEN_A].texts_to(int(gone[1])) == ["akun lama"]


async def test_a_429_on_bot_a_pauses_only_bot_a(db, bots, dispatcher, clock):
    bots[TOKEN_A].fail_next("sendMessage", 429, retry_after=30)
    on_a, on_b = await on_account(db, "default"), await on_account(db, "kota")
    row_a = await add_row(db, on_a, text="A pertama")
    await add_row(db, on_b, text="B pertama")

    stats = await dispatcher.run_once()

    assert (stats.rate_limited, stats.sent) == (1, 1)
    assert dispatcher.paused_until(("telegram", "default")) == clock.now + timedelta(seconds=30)
    assert dispatcher.paused_until(("telegram", "kota")) is None
    later_a, later_b = await add_row(db, on_a, text="A kedua"), await add_row(db, on_b, text="B kedua")
    stats = await dispatcher.run_once()  # bot B goes on; bot A waits out its pause
    assert (stats.claimed, stats.sent) == (1, 1)
    assert bots[TOKEN_B].texts_to(int(on_b[1])) == ["B pertama", "B kedua"]
    assert (await row_of(db, later_a)).state == "pending" and (await row_of(db, row_a)).state == "pending"
    assert (await row_of(db, later_b)).state == "sent"

    clock.advance(seconds=30)
    assert (await dispatcher.run_once()).sent == 2
    assert sorted(bots[TOKEN_A].texts_to(int(on_a[1]))) == ["A kedua", "A pertama"]
    assert len(bots[TOKEN_A].rejected) == 1 and bots[TOKEN_B].rejected == []


async def test_each_account_has_its_own_rate_and_claims_a_lease_worth_of_its_own(db, channels, clock):
    senders = {("telegram", name): channel.send_one for name, channel in channels.items()}
    dispatcher = Dispatcher(db, senders, clock=clock, rates={"telegram": 30.0, ("telegram", "kota"): 2.0},
                            lease_seconds=4, per_chat_interval=0.0)
    assert dispatcher.buckets[("telegram", "kota")].rate == 2.0 and dispatcher.buckets[("telegram", "default")].rate == 30.0
    assert dispatcher._claim_limit([("telegram", "kota")]) == 4 and dispatcher._claim_limit([("telegram", "default")]) == 60
    on_b = [await on_account(db, "kota") for _ in range(3)]
    on_a = await on_account(db, "default")
    for identity in (*on_b, on_a):
        await add_row(db, identity)

    claimed = await dispatcher.claim()

    assert sorted(row.account for row in claimed) == ["default", "kota", "kota", "kota"]
    assert {row.address: row.account for row in claimed}[on_a[1]] == "default"


async def test_a_call_for_a_token_no_bot_has_fails_the_fake_loudly():
    fake = FakeTelegramBots([TOKEN_A])
    with pytest.raises(AssertionError, match="a call for a token no bot has"):
        async with fake:
            config = TelegramConfig(token=TOKEN_B, base_url=fake.base_url, base_file_url=fake.base_file_url)
            channel = TelegramChannel(config, _no_handler)
            try:
                with pytest.raises(Exception):  # noqa: B017 - the fake answers 401: a refused token
                    await channel.initialize()
            finally:
                await channel.stop()
