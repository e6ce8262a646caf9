"""Several channel accounts (``telegram.accounts``, ``whatsapp.accounts``): what the settings name checked
against the database at start, each account's sending rate, and the send path of a chat by the account it
wrote to (``identity.account``) for what is sent outside the outbox (a register import's report).

The outbox dispatcher routes by itself (:class:`reminders.dispatcher.Dispatcher` reads the account with the
row); this module serves ``bot.py``'s wiring.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy import select

from channels.errors import ChannelError
from channels.messages import Reply
from config import DEFAULT_ACCOUNT, ConfigError, Settings
from db.database import Database
from db.models import Identity, Puskesmas
from reminders.dispatcher import Lane

Send = Callable[[str, Reply], Awaitable[str]]


async def check_areas(db: Database, settings: Settings) -> None:
    """Every puskesmas and district an account lists exists: else a :class:`ConfigError` naming the key."""
    named = [(channel, i, account) for channel in ("telegram", "whatsapp")
             for i, account in enumerate(getattr(settings, channel).accounts)]
    if not named:
        return
    async with db.read() as session:
        rows = (await session.execute(select(Puskesmas.code, Puskesmas.district_code))).all()
    codes, districts = {code for code, _ in rows}, {district for _, district in rows}
    for channel, i, account in named:
        for key, known in (("puskesmas", codes), ("districts", districts)):
            for code in getattr(account, key):
                if code not in known:
                    raise ConfigError(f"{channel}.accounts[{i}].{key}: no {'puskesmas' if key == 'puskesmas' else 'district'} "
                                      f"with the code {code!r} in the database (account {account.name})")


def account_rates(settings: Settings) -> dict[str | Lane, float | None]:
    """Messages per second of each channel account: the channel's (``reminders.telegram_rate``,
    ``whatsapp.rate``; 0: unlimited), or the account's own ``rate``."""
    rates: dict[str | Lane, float | None] = {
        "telegram": settings.reminders.telegram_rate or None, "whatsapp": settings.whatsapp.rate or None,
    }
    for channel in ("telegram", "whatsapp"):
        for account in getattr(settings, channel).accounts:
            rates[(channel, account.name)] = (account.rate or None) if account.rate is not None else rates[channel]
    return rates


async def account_of(db: Database, channel: str, address: str) -> str:
    """The account a chat last wrote to (``default`` for a chat not known)."""
    async with db.read() as session:
        found = await session.scalar(select(Identity.account).where(Identity.channel == channel, Identity.address == address))
    return found or DEFAULT_ACCOUNT


def routed(db: Database, channel: str, senders: Mapping[str, Send]) -> Send:
    """One send path for ``channel`` that sends through the account the chat wrote to (``senders``: account
    -> its send path), or the default account's when that account does not run."""

    async def send(address: str, reply: Reply) -> str:
        account = await account_of(db, channel, address) if len(senders) > 1 else DEFAULT_ACCOUNT
        sender = senders.get(account) or senders.get(DEFAULT_ACCOUNT) or next(iter(senders.values()))
        return await sender(address, reply)

    return send


def first_found(fetchers: list[Callable[[str], Awaitable[tuple[bytes, str]]]]) -> Callable[[str], Awaitable[tuple[bytes, str]]]:
    """A channel's media source over several accounts: a file id is an account's own (a Telegram file_id
    belongs to one bot), so each account is asked in turn; the last one's error when none has it."""
    if len(fetchers) == 1:
        return fetchers[0]

    async def fetch(ref: str) -> tuple[bytes, str]:
        for fetcher in fetchers[:-1]:
            try:
                return await fetcher(ref)
            except ChannelError:
                continue
        return await fetchers[-1](ref)

    return fetch
