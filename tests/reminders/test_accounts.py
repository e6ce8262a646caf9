"""reminders/accounts.py: the settings' areas checked against the database, each account's rate, a chat's
send path by the account it wrote to, a media source over several accounts."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from channels.errors import PermanentFailure
from channels.messages import Reply
from config import ChannelAccount, ConfigError
from db.models import Identity, Puskesmas
from reminders.accounts import account_rates, check_areas, first_found, routed
from tests.reminders.test_dispatcher import add_identity


def _with_accounts(settings, *accounts: ChannelAccount):
    from dataclasses import replace

    return replace(settings, telegram=replace(settings.telegram, accounts=accounts))


async def test_the_areas_an_account_lists_must_exist(demo_db, settings):
    async with demo_db.read() as session:
        code, district = (await session.execute(select(Puskesmas.code, Puskesmas.district_code))).first()
    await check_areas(demo_db, _with_accounts(settings, ChannelAccount("kota", puskesmas=(code,)),
                                              ChannelAccount("utara", districts=(district,))))
    with pytest.raises(ConfigError, match=r"telegram.accounts\[1\].puskesmas: no puskesmas with the code 'P0000000000'"):
        await check_areas(demo_db, _with_accounts(settings, ChannelAccount("kota", puskesmas=(code,)),
                                                  ChannelAccount("utara", puskesmas=("P0000000000",))))
    with pytest.raises(ConfigError, match=r"telegram.accounts\[0\].districts: no district with the code '9999'"):
        await check_areas(demo_db, _with_accounts(settings, ChannelAccount("kota", districts=("9999",))))


def test_each_account_sends_at_the_channels_rate_unless_it_has_its_own(settings):
    rates = account_rates(_with_accounts(settings, ChannelAccount("kota", rate=10.0), ChannelAccount("utara")))
    assert rates[("telegram", "kota")] == 10.0 and rates[("telegram", "utara")] == rates["telegram"] == 30.0


async def test_a_report_goes_out_through_the_account_the_chat_wrote_to(db):
    from sqlalchemy import update

    identity = await add_identity(db)
    async with db.write() as session:
        await session.execute(update(Identity).where(Identity.id == identity[0]).values(account="kota"))
    sent: list[tuple[str, str]] = []

    def sender(account: str):
        async def send(address: str, reply: Reply) -> str:
            sent.append((account, address))
            return "1"
        return send

    send = routed(db, "telegram", {"default": sender("default"), "kota": sender("kota")})
    await send(identity[1], Reply("laporan"))
    await send("999", Reply("laporan"))  # a chat not known: the default account
    assert sent == [("kota", identity[1]), ("default", "999")]


async def test_a_file_is_asked_of_each_account_until_one_has_it():
    async def none_of_mine(ref: str):
        raise PermanentFailure("telegram: wrong file identifier")

    async def mine(ref: str):
        return b"xlsx", "application/octet-stream"

    assert await first_found([none_of_mine, mine])("file-1") == (b"xlsx", "application/octet-stream")
    with pytest.raises(PermanentFailure):
        await first_found([mine, none_of_mine][::-1][:1] + [none_of_mine])("file-1")
