"""``/hapus`` (handlers/erase.py): after a confirmation only anonymous counts remain."""
from __future__ import annotations

from tests.helpers import ChatDriver, add_member, register_household


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
