"""How people, stages, ages and posyandu days are put into words (handlers/describe.py)."""
from __future__ import annotations

from sqlalchemy import update

from db.models import Posyandu
from tests.helpers import ChatDriver, add_member, register_household


async def test_a_posyandu_without_a_day_says_so(engine, demo_db):
    async with demo_db.write() as session:
        await session.execute(update(Posyandu).values(schedule={}))
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.press("Selesai")
    assert "belum ditentukan" in chat.text
    await chat.say("/jadwal")
    assert "belum ditentukan" in chat.text and "Maaf" not in chat.text
