"""The words and commands every step understands (handlers/words.py), as a person types them."""
from __future__ import annotations

from tests.helpers import ChatDriver, add_member, register_household


async def _family(engine) -> ChatDriver:
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    return chat


async def test_a_command_with_the_bots_name_is_that_command(engine):
    chat = await _family(engine)
    await chat.say("/keluarga@IlpBot")
    assert "Anggota keluarga" in chat.text and "Putu Ayu" in chat.text


async def test_english_and_indonesian_commands_are_the_same(engine):
    chat = await _family(engine)
    await chat.say("/family")
    english = chat.text
    await chat.say("/keluarga")
    assert chat.text == english and "Putu Ayu" in english


async def test_a_global_word_in_capitals_with_a_mark_cancels_the_step(engine):
    chat = await _family(engine)
    await chat.say("/pengingat")
    await chat.say("BATAL!")
    assert "Dibatalkan" in chat.text or "dibatalkan" in chat.text
    assert "Apa yang ingin Bapak/Ibu lakukan?" in chat.text


async def test_an_unknown_command_is_named_and_the_commands_listed(engine):
    chat = await _family(engine)
    await chat.say("/tidakada")
    assert "/tidakada" in chat.text and "/jadwal" in chat.text and "/hapus" in chat.text


async def test_help_then_catat_opens_its_cheat_sheet(engine):
    chat = await _family(engine)
    await chat.say("/bantuan")
    general = chat.text
    await chat.say("/bantuan catat")
    assert chat.text != general and "catat" in chat.text.lower()
