"""``/hapus`` (handlers/erase.py): after a confirmation only anonymous counts remain."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from db.models import ErasureTally, Family, Person
from tests.helpers import ChatDriver, add_member, make_family, register_household


async def test_buttons_from_before_an_erasure_do_not_work_after_it(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    old_menu = chat.replies
    await chat.say("/hapus")
    await chat.say("1")  # confirms by typing; the old keyboards stay on screen
    assert "sudah dihapus" in chat.text
    await register_household(chat)
    await add_member(chat, "Made", "Laki-laki", "1/2/2020")
    await chat.press("Hapus anggota", replies=old_menu)
    assert "tidak berlaku" in chat.text


async def test_erasing_asks_first_and_says_what_goes(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.say("/hapus")
    assert "akan dihapus permanen" in chat.text and "1 anggota" in chat.text
    assert chat.labels == ["Ya, hapus semua data", "Tidak, batalkan"]


async def test_saying_no_erases_nothing(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.say("/hapus")
    await chat.press("Tidak")
    assert "Tidak ada yang dihapus" in chat.text
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 1
        assert await session.scalar(select(func.count()).select_from(Family)) == 1


async def test_saying_yes_leaves_no_family_and_no_member(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.say("/hapus")
    await chat.press("Ya, hapus")
    assert "sudah dihapus" in chat.text
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 0
        assert await session.scalar(select(func.count()).select_from(Family)) == 0
        assert await session.scalar(select(func.count()).select_from(ErasureTally)) >= 1


async def test_a_typed_no_keeps_the_data_and_a_later_yes_erases_it(engine, demo_db):
    await make_family(demo_db, identity_address="628998", members=(("Ni Luh", "F", date(1995, 4, 2)),))
    chat = ChatDriver(engine, address="628998")
    await chat.say("/hapus")
    await chat.say("tidak")
    assert "Tidak ada yang dihapus" in chat.text
    await chat.say("/hapus")
    await chat.press("Ya")
    async with demo_db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 0
