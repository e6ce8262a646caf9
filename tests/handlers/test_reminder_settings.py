"""``/pengingat`` (handlers/reminder_settings.py): an example of the coming reminder and the choice of
morning or afternoon delivery."""
from __future__ import annotations

from tests.helpers import ChatDriver, add_member, identity_of, register_household


async def _family(engine) -> ChatDriver:
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.press("Selesai")
    return chat


async def test_it_shows_the_slot_and_an_example_of_the_next_reminder(engine):
    chat = await _family(engine)
    await chat.say("/pengingat")
    assert "Pengingat dikirim pagi, pukul 07.00" in chat.text
    assert "Contoh pengingat berikutnya:" in chat.text and "Putu Ayu" in chat.text
    assert "/berhenti" in chat.text
    assert chat.labels == ["Pagi", "Sore", "Tidak diubah"]


async def test_afternoon_is_stored_and_said(engine, demo_db):
    chat = await _family(engine)
    await chat.say("/pengingat")
    await chat.press("Sore")
    assert "pengingat akan dikirim sore, pukul 15.00" in chat.text
    assert (await identity_of(demo_db, chat.address)).reminder_slot == "afternoon"
    await chat.say("/pengingat")
    assert "Pengingat dikirim sore, pukul 15.00" in chat.text


async def test_keeping_changes_nothing(engine, demo_db):
    chat = await _family(engine)
    await chat.say("/pengingat")
    await chat.press("Tidak diubah")
    assert "akan dikirim" not in chat.text
    assert (await identity_of(demo_db, chat.address)).reminder_slot == "morning"


async def test_an_unknown_answer_asks_again(engine, demo_db):
    chat = await _family(engine)
    await chat.say("/pengingat")
    await chat.say("malam")
    assert "Pilih Pagi atau Sore." in chat.text and chat.labels == ["Pagi", "Sore", "Tidak diubah"]
    assert (await identity_of(demo_db, chat.address)).reminder_slot == "morning"


async def test_a_stopped_family_is_told_how_to_resume(engine):
    chat = await _family(engine)
    await chat.say("/berhenti")
    await chat.say("/pengingat")
    assert "Ketik /mulai untuk mengaktifkannya lagi" in chat.text
