"""The outbox dispatcher against the fake Bot API, with a fixed clock, on SQLite or PostgreSQL."""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from channels.errors import TemporaryFailure, Unreachable, describe
from channels.messages import Incoming, Reply
from channels.telegram import BotApi, TelegramChannel
from config import TelegramConfig
from db.database import Database
from db.models import Identity, Outbox
from reminders.dispatcher import Dispatcher, DispatchStats, _Outcome
from tests.conftest import PG_URL
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import DEFAULT_NOW

WITA = ZoneInfo("Asia/Makassar")
_chats = itertools.count(5_123_000_001)
_keys = itertools.count(1)


def text_for(name: str = "Putu Adi") -> str:
    n = next(_keys)
    return (f"Selamat pagi, Ibu. Besok Selasa 24 November ada posyandu di Posyandu Nagasepaha jam 08.00 WITA. "
            f"Bawa buku KIA {name}: imunisasi DPT-HB-Hib 2 sudah waktunya. (#{n})")


async def add_identity(db: Database, *, opted_out: bool = False, unreachable: bool = False, channel: str = "telegram") -> tuple[int, str]:
    """A consenting family member's Telegram chat: (identity id, address)."""
    address = str(next(_chats))
    async with db.write() as session:
        identity = Identity(
            channel=channel, address=address, language="id", role="family", consent="given", consent_version="2026-11",
            consent_at=DEFAULT_NOW - timedelta(days=30), created_at=DEFAULT_NOW - timedelta(days=30),
            opted_out_at=DEFAULT_NOW - timedelta(days=1) if opted_out else None,
            unreachable_at=DEFAULT_NOW - timedelta(days=1) if unreachable else None,
        )
        session.add(identity)
        await session.flush()
        return identity.id, address


async def add_row(
    db: Database,
    identity: tuple[int, str],
    *,
    text: str | None = None,
    choices: list[list[str]] | None = None,
    not_before: datetime | None = None,
    expires_at: datetime | None | str = "default",
    timezone: str = "Asia/Makassar",
    channel: str = "telegram",
    kind: str = "daily",
) -> int:
    """One outbox row as the planner writes it: due a minute ago, expiring at 20:00 WITA today."""
    identity_id, address = identity
    body: dict = {"text": text or text_for(), "lang": "id"}
    if choices:
        body["choices"] = choices
    async with db.write() as session:
        row = Outbox(
            key=f"{kind}:{identity_id}:2026-11-23:{next(_keys)}", identity_id=identity_id, channel=channel,
            address=address, kind=kind, body=body, timezone=timezone, state="pending",
            not_before=not_before or DEFAULT_NOW - timedelta(minutes=1),
            expires_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC) if expires_at == "default" else expires_at,
            attempts=0, created_at=DEFAULT_NOW - timedelta(hours=1),
        )
        session.add(row)
        await session.flush()
        return row.id


async def row_of(db: Database, row_id: int) -> Outbox:
    async with db.read() as session:
        return await session.get(Outbox, row_id)


async def states(db: Database) -> dict[str, int]:
    async with db.read() as session:
        rows = (await session.scalars(select(Outbox.state))).all()
    out: dict[str, int] = {}
    for state in rows:
        out[state] = out.get(state, 0) + 1
    return out


async def _no_handler(incoming: Incoming) -> list[Reply]:
    return []


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def telegram(fake: FakeTelegram) -> AsyncIterator[TelegramChannel]:
    config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
    channel = TelegramChannel(config, _no_handler)
    yield channel
    await channel.stop()


@pytest.fixture
def make(db, telegram, clock):
    """A dispatcher over the test database and the fake Bot API (unlimited rate unless given)."""

    def build(**options) -> Dispatcher:
        options.setdefault("rates", {"telegram": None})
        options.setdefault("per_chat_interval", 0.0)
        return Dispatcher(db, {"telegram": telegram.send_one}, clock=clock, **options)

    return build


# ------------------------------------------------------------------ pure helpers


def test_error_text_keeps_no_numbers_that_could_be_a_chat():
    assert describe(Unreachable("whatsapp: 6281234567890 is not on WhatsApp")) == "Unreachable: whatsapp: # is not on WhatsApp"
    assert describe(KeyError("Ibu Made"), "unexpected error") == "KeyError: unexpected error"


async def test_the_lean_sender_maps_a_network_error():
    sender = BotApi("123:ABC", "http://127.0.0.1:9/bot", timeout=2)
    try:
        with pytest.raises(TemporaryFailure, match="NetworkError"):
            await sender.send("5123000001", Reply("Halo"))
    finally:
        await sender.close()


# ------------------------------------------------------------------ delivery


async def test_happy_path_through_telegram(db, fake, make, clock):
    who = await add_identity(db)
    text = text_for()
    row_id = await add_row(db, who, text=text, choices=[["Sudah datang", "rem.done"], ["Ingatkan besok", "rem.later"]])

    stats = await make().run_once()

    assert (stats.claimed, stats.sent) == (1, 1)
    assert fake.texts_to(who[1]) == [text]
    message = fake.last_message(who[1])
    assert [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row] == ["rem.done", "rem.later"]
    row = await row_of(db, row_id)
    assert row.state == "sent" and row.sent_at == clock.now and row.attempts == 1
    assert row.provider_message_id == str(message["message_id"]) and row.lease_until is None and row.error is None
    assert (await make().run_once()) == DispatchStats()  # nothing left; sent once


async def test_rows_not_yet_due_and_other_channels_wait(db, fake, make, clock):
    who = await add_identity(db)
    later = await add_row(db, who, not_before=clock.now + timedelta(hours=1))
    local_id = await add_identity(db, channel="local")
    local = await add_row(db, local_id, channel="local")

    assert (await make().run_once()).claimed == 0
    assert (await row_of(db, later)).state == "pending" and (await row_of(db, local)).state == "pending"
    clock.advance(hours=1)
    assert (await make().run_once()).sent == 1
    assert (await row_of(db, local)).state == "pending"  # no sender for the local chat: left alone
    assert len(fake.sent) == 1


async def test_quiet_hours_hold_a_row_until_six_wita(db, fake, make, clock):
    clock.now = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 21:00 WITA
    who = await add_identity(db)
    row_id = await add_row(db, who, not_before=clock.now, expires_at=None)

    stats = await make().run_once()

    assert (stats.deferred_quiet, stats.claimed) == (1, 0) and not fake.sent
    row = await row_of(db, row_id)
    assert row.state == "pending" and row.attempts == 0
    assert row.not_before.astimezone(WITA) == datetime(2026, 11, 24, 6, 0, tzinfo=WITA)
    clock.now = row.not_before - timedelta(seconds=1)
    assert (await make().run_once()).claimed == 0
    clock.now = row.not_before
    assert (await make().run_once()).sent == 1
    assert len(fake.texts_to(who[1])) == 1


async def test_quiet_hours_follow_each_recipients_zone(db, fake, make, clock):
    clock.now = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)  # 20:30 WITA, 19:30 WIB, 21:30 WIT
    bali, java, papua = await add_identity(db), await add_identity(db), await add_identity(db)
    in_bali = await add_row(db, bali, timezone="Asia/Makassar", expires_at=None)
    in_java = await add_row(db, java, timezone="Asia/Jakarta", expires_at=None)
    in_papua = await add_row(db, papua, timezone="Asia/Jayapura", expires_at=None)

    stats = await make().run_once()

    assert (stats.sent, stats.deferred_quiet) == (1, 2)
    assert (await row_of(db, in_java)).state == "sent" and fake.texts_to(java[1])
    assert (await row_of(db, in_bali)).not_before == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # 06:00 WITA
    assert (await row_of(db, in_papua)).not_before == datetime(2026, 11, 23, 21, 0, tzinfo=UTC)  # 06:00 WIT
    assert not fake.texts_to(bali[1]) and not fake.texts_to(papua[1])


async def test_quiet_hours_starting_during_a_batch(db, clock):
    clock.now = datetime(2026, 11, 23, 11, 59, 59, tzinfo=UTC)  # 19:59:59 WITA
    first, second = await add_identity(db), await add_identity(db)
    early = await add_row(db, first, expires_at=None)
    late = await add_row(db, second, expires_at=None)
    sent: list[str] = []

    async def slow(address: str, reply: Reply) -> str:
        sent.append(address)
        clock.advance(seconds=2)  # the first send ends after 20:00
        return "1"

    stats = await Dispatcher(db, {"telegram": slow}, clock=clock, rates={"telegram": 10.0}).run_once()

    assert (stats.claimed, stats.sent, stats.deferred_quiet) == (2, 1, 1) and sent == [first[1]]
    assert (await row_of(db, early)).state == "sent"
    row = await row_of(db, late)
    assert (row.state, row.attempts, row.not_before) == ("pending", 0, datetime(2026, 11, 23, 22, 0, tzinfo=UTC))


async def test_quiet_hours_past_expiry_expire_the_row(db, fake, make, clock):
    clock.now = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 21:00 WITA
    who = await add_identity(db)
    row_id = await add_row(db, who, expires_at=datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # 23:00 WITA

    stats = await make().run_once()

    assert (stats.expired, stats.deferred_quiet) == (1, 0)
    assert (await row_of(db, row_id)).state == "expired" and not fake.sent


async def test_expired_rows_are_never_sent(db, fake, make, clock):
    who = await add_identity(db)
    due = await add_row(db, who, expires_at=clock.now - timedelta(seconds=1))
    # not due yet but already past its expiry (the sweep finds it too)
    odd = await add_row(db, who, not_before=clock.now + timedelta(hours=2), expires_at=clock.now - timedelta(minutes=5))
    fresh = await add_row(db, who)

    stats = await make().run_once()

    assert (stats.expired, stats.sent) == (2, 1)
    assert [(await row_of(db, i)).state for i in (due, odd, fresh)] == ["expired", "expired", "sent"]
    assert len(fake.texts_to(who[1])) == 1


async def test_a_429_pauses_the_channel_then_sends_once(db, fake, make, clock):
    fake.fail_next("sendMessage", 429, retry_after=1)
    first = await add_identity(db)
    first_row = await add_row(db, first)
    dispatcher = make()

    stats = await dispatcher.run_once()

    assert (stats.rate_limited, stats.sent) == (1, 0)
    row = await row_of(db, first_row)
    assert row.state == "pending" and row.attempts == 0 and row.not_before == clock.now + timedelta(seconds=1)
    assert row.error.startswith("RateLimited")
    assert dispatcher.paused_until("telegram") == clock.now + timedelta(seconds=1)

    second = await add_identity(db)
    second_row = await add_row(db, second)  # due now, but the channel is paused
    assert (await dispatcher.run_once()).claimed == 0
    assert (await row_of(db, second_row)).state == "pending"

    clock.advance(seconds=1)
    stats = await dispatcher.run_once()

    assert stats.sent == 2 and dispatcher.paused_until("telegram") is None
    assert len(fake.rejected) == 1 and fake.duplicates == 0
    assert all(n == 1 for n in fake.count_texts().values()) and len(fake.count_texts()) == 2
    assert (await row_of(db, first_row)).attempts == 1  # the rate-limited attempt was not held against it


async def test_sends_429s_and_pauses_are_counted_for_the_metrics(db, fake, make, clock):
    from metrics import Metrics

    metrics = Metrics()
    fake.fail_next("sendMessage", 429, retry_after=1)
    for _ in range(2):
        await add_row(db, await add_identity(db))
    dispatcher = make(metrics=metrics)
    await dispatcher.run_once()
    clock.advance(seconds=1)
    await dispatcher.run_once()

    assert metrics.sends.labels("telegram", "rate_limited")._value.get() == 1
    assert metrics.sends.labels("telegram", "sent")._value.get() == 2
    assert metrics.rate_limited.labels("telegram")._value.get() == 1
    assert metrics.pauses.labels("telegram", "rate_limited")._value.get() == 1


async def test_a_refused_token_stops_the_channel_without_blocking_or_using_up_attempts(db, fake, telegram, make, clock, caplog):
    people = [await add_identity(db) for _ in range(3)]
    rows = [await add_row(db, who) for who in people]
    real, fake.token = fake.token, "999:revoked"  # the bot's token was revoked
    dispatcher = make()

    stats = await dispatcher.run_once()

    # the sends under way find it (three chats go side by side); none is counted against its row
    assert stats.stopped >= 1 and stats.stopped + stats.released == 3 and (stats.sent, stats.blocked, stats.retried) == (0, 0, 0)
    for row_id in rows:
        row = await row_of(db, row_id)
        assert row.state == "pending" and row.attempts == 0
    assert (await row_of(db, rows[0])).error.startswith("ChannelDown: the Telegram bot token was refused (HTTP 401")
    async with db.read() as session:
        assert all(i.unreachable_at is None for i in await session.scalars(select(Identity)))
    assert fake.unauthorized == stats.stopped  # then nothing more is sent
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 2 and all("TELEGRAM_BOT_TOKEN" in e for e in errors)  # once by the channel, once by the outbox
    assert telegram.problem is not None and dispatcher.paused_until("telegram") == clock.now + timedelta(seconds=600)

    fake.token = real
    telegram._down_until = 0.0  # the channel's own pause is on the real clock: let its next try be due
    clock.advance(seconds=600)
    assert (await dispatcher.run_once()).sent == 3 and telegram.problem is None
    assert [(await row_of(db, i)).attempts for i in rows] == [1, 1, 1]


async def test_a_channel_down_error_is_described_for_the_operator_and_keeps_error_codes():
    from channels.errors import ChannelDown, TemplateRejected

    assert describe(ChannelDown("WhatsApp error 131031: the WhatsApp Business Account is locked")) == (
        "ChannelDown: WhatsApp error 131031: the WhatsApp Business Account is locked")
    assert describe(TemplateRejected(132001, "ilp_pengumuman")) == "TemplateRejected: template ilp_pengumuman rejected (132001)"
    assert describe(TemporaryFailure("chat 5123000001 unreachable")) == "TemporaryFailure: chat # unreachable"


async def test_a_429_mid_batch_hands_the_rest_back_unsent(db, fake, make, clock):
    fake.fail_next("sendMessage", 429, retry_after=2)
    people = [await add_identity(db) for _ in range(3)]
    for who in people:
        await add_row(db, who)
    dispatcher = make(rates={"telegram": 10.0})  # sends 100 ms apart: the 429 arrives before the second

    stats = await dispatcher.run_once()

    assert (stats.claimed, stats.rate_limited, stats.released, stats.sent) == (3, 1, 2, 0)
    assert len(fake.rejected) == 1 and not fake.sent
    async with db.read() as session:
        rows = (await session.scalars(select(Outbox))).all()
    assert {(r.state, r.attempts, r.not_before) for r in rows} == {("pending", 0, clock.now + timedelta(seconds=2))}

    clock.advance(seconds=2)
    assert (await dispatcher.run_once()).sent == 3
    assert fake.duplicates == 0 and len(fake.count_texts()) == 3


async def test_a_blocked_user_is_marked_unreachable(db, fake, make, clock):
    blocked, other = await add_identity(db), await add_identity(db)
    fake.block(blocked[1])
    due = await add_row(db, blocked)
    tomorrow = await add_row(db, blocked, not_before=clock.now + timedelta(days=1), expires_at=None)
    fine = await add_row(db, other)

    stats = await make().run_once()

    assert (stats.sent, stats.blocked) == (1, 2)
    assert not fake.texts_to(blocked[1]) and fake.texts_to(other[1])
    assert (await row_of(db, due)).state == "blocked" and (await row_of(db, due)).error.startswith("Unreachable")
    assert (await row_of(db, tomorrow)).state == "blocked"
    assert (await row_of(db, fine)).state == "sent"
    async with db.read() as session:
        identity = await session.get(Identity, blocked[0])
    assert identity.unreachable_at == clock.now

    later = await add_row(db, blocked)  # a row planned before the planner saw the flag
    stats = await make().run_once()
    assert stats.blocked == 1 and (await row_of(db, later)).state == "blocked"
    assert len(fake.rejected) == 1  # never tried again


async def test_opted_out_rows_are_cancelled(db, fake, make):
    gone = await add_identity(db, opted_out=True)
    row_id = await add_row(db, gone)

    stats = await make().run_once()

    assert (stats.cancelled, stats.claimed) == (1, 0) and not fake.sent
    assert (await row_of(db, row_id)).state == "cancelled"


async def test_a_temporary_failure_retries_with_backoff(db, fake, make, clock):
    fake.fail_next("sendMessage", 502, times=2)
    who = await add_identity(db)
    row_id = await add_row(db, who)
    dispatcher = make()

    assert (await dispatcher.run_once()).retried == 1
    row = await row_of(db, row_id)
    assert (row.state, row.attempts, row.not_before) == ("pending", 1, clock.now + timedelta(seconds=5))
    assert row.error == "TemporaryFailure: telegram: NetworkError"

    clock.advance(seconds=4)
    assert (await dispatcher.run_once()).claimed == 0  # still backing off
    clock.advance(seconds=1)
    assert (await dispatcher.run_once()).retried == 1
    row = await row_of(db, row_id)
    assert (row.attempts, row.not_before) == (2, clock.now + timedelta(seconds=10))

    clock.advance(seconds=10)
    assert (await dispatcher.run_once()).sent == 1
    row = await row_of(db, row_id)
    assert (row.state, row.attempts, row.error) == ("sent", 3, None)
    assert len(fake.texts_to(who[1])) == 1


async def test_retries_stop_at_expiry(db, fake, make, clock):
    fake.fail_next("sendMessage", 500)
    who = await add_identity(db)
    row_id = await add_row(db, who, expires_at=clock.now + timedelta(seconds=3))

    stats = await make().run_once()

    assert stats.expired == 1 and (await row_of(db, row_id)).state == "expired"


async def test_a_permanent_failure_is_recorded_without_personal_data(db, fake, make):
    fake.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    who = await add_identity(db)
    row_id = await add_row(db, who)

    assert (await make().run_once()).failed == 1
    row = await row_of(db, row_id)
    assert row.state == "failed" and row.error == "PermanentFailure: telegram: BadRequest"


async def test_an_unexpected_sender_error_is_temporary_and_not_logged_with_text(db, clock, caplog):
    who = await add_identity(db)
    text = text_for("Kadek Bayu")
    row_id = await add_row(db, who, text=text)

    async def broken(address: str, reply: Reply) -> str:
        raise ValueError(f"cannot send {reply.text!r} to {address}")

    caplog.set_level(logging.DEBUG, logger="reminders")
    stats = await Dispatcher(db, {"telegram": broken}, clock=clock).run_once()

    assert stats.retried == 1
    row = await row_of(db, row_id)
    assert row.state == "pending" and row.error == "ValueError: unexpected error"
    assert "ValueError" in caplog.text and "Kadek" not in caplog.text and who[1] not in caplog.text


async def test_a_crash_between_claim_and_send(db, fake, make, clock):
    who = await add_identity(db)
    row_id = await add_row(db, who)
    crashed = make(lease_seconds=60)

    held = await crashed.claim()  # the claim commits, then the process dies before sending
    assert [r.id for r in held] == [row_id]
    del crashed

    survivor = make(lease_seconds=60)
    assert (await survivor.run_once()).claimed == 0  # the lease still holds
    clock.advance(seconds=61)
    stats = await survivor.run_once()

    assert (stats.claimed, stats.sent) == (1, 1)
    row = await row_of(db, row_id)
    assert (row.state, row.attempts) == ("sent", 2)
    assert fake.count_texts() == {(int(who[1]), (await row_of(db, row_id)).body["text"]): 1}


async def test_a_lapsed_claim_cannot_overwrite_the_newer_one(db, fake, make, clock):
    who = await add_identity(db)
    row_id = await add_row(db, who)
    slow = make()
    [held] = await slow.claim()
    clock.advance(seconds=61)
    await make().run_once()  # another dispatcher claims again and sends

    # the slow one comes back and records a failure for its old claim: ignored
    await slow._write([_Outcome(held, "failed", "failed", error="PermanentFailure: late")])

    row = await row_of(db, row_id)
    assert (row.state, row.error) == ("sent", None)


async def test_one_message_per_chat_interval(db, fake, make, clock):
    who = await add_identity(db)
    first = await add_row(db, who, not_before=clock.now - timedelta(minutes=2))
    second = await add_row(db, who)

    stats = await make(per_chat_interval=0.2).run_once()

    assert stats.sent == 2
    calls = fake.messages_to(who[1])
    assert [c.text for c in calls] == [(await row_of(db, first)).body["text"], (await row_of(db, second)).body["text"]]
    assert calls[1].at - calls[0].at >= 0.2


async def test_the_rate_spaces_a_batch(db, fake, make):
    people = [await add_identity(db) for _ in range(5)]
    for who in people:
        await add_row(db, who)

    dispatcher = make(rates={"telegram": 20.0})
    start = time.monotonic()
    assert (await dispatcher.run_once()).sent == 5
    # 5 sends at 20/s wait for 4 tokens: at least 0.2 s (measured around the run, not at the fake server,
    # whose receive times a loaded machine can bunch up)
    assert time.monotonic() - start >= 4 / 20 - 0.01


async def test_four_dispatchers_send_each_message_once(db, db_url, fake, telegram, clock):
    count = 2000
    people = []
    async with db.write() as session:
        for i in range(500):
            people.append(Identity(
                channel="telegram", address=str(6_000_000_000 + i), language="id", role="family",
                consent="given", consent_at=DEFAULT_NOW, created_at=DEFAULT_NOW,
            ))
        session.add_all(people)
        await session.flush()
        session.add_all(
            Outbox(
                key=f"daily:{i}", identity_id=people[i % 500].id, channel="telegram", address=people[i % 500].address,
                kind="daily", body={"text": f"Pengingat posyandu nomor {i}", "lang": "id"}, timezone="Asia/Makassar",
                state="pending", not_before=DEFAULT_NOW - timedelta(minutes=1), expires_at=None, attempts=0,
                created_at=DEFAULT_NOW,
            )
            for i in range(count)
        )

    databases = [Database(db_url) for _ in range(4)]
    channels = []
    for _ in range(4):
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channels.append(TelegramChannel(config, _no_handler))
    dispatchers = [
        Dispatcher(database, {"telegram": channel.send_one}, clock=clock, rates={"telegram": None},
                   per_chat_interval=0.0, batch=50, idle_seconds=0.05)
        for database, channel in zip(databases, channels)
    ]
    stop = asyncio.Event()
    loops = [asyncio.create_task(d.run(stop)) for d in dispatchers]
    try:
        await fake.wait_for(lambda: len(fake.sent) >= count, timeout=60)
        await asyncio.sleep(0.3)  # anything sent twice would show up now
    finally:
        stop.set()
        await asyncio.gather(*loops)
        for channel in channels:
            await channel.stop()
        for database in databases:
            await database.dispose()

    texts = fake.count_texts()
    assert len(texts) == count and set(texts.values()) == {1} and fake.duplicates == 0
    assert await states(db) == {"sent": count}
    assert sum(d.totals.sent for d in dispatchers) == count
    assert sum(1 for d in dispatchers if d.totals.sent) >= (4 if PG_URL else 1)  # on PostgreSQL they share the work
