"""``/bahasa`` (handlers/language.py): switching language from anywhere, the interrupted step going on."""
from __future__ import annotations

from channels.messages import Incoming
from tests.helpers import ChatDriver, identity_of, register_household


async def test_language_inside_language_keeps_the_question(engine):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("Ni Made Sari")
    await chat.say("/bahasa")
    await chat.say("/bahasa")
    assert "Pilih bahasa" in chat.text
    await chat.say("1")
    assert "Jenis kelamin Ni Made Sari" in chat.text


async def test_refusing_after_a_language_switch_does_not_ask_again(engine):
    chat = ChatDriver(engine)
    await chat.say("/start")
    await chat.say("/bahasa")
    await chat.press("English")
    await chat.press("No")
    assert "We store no data except this refusal" in chat.text
    assert "Do you agree" not in chat.text


async def test_forged_language_button_is_refused(engine):
    chat = ChatDriver(engine)
    await chat.say("/start")
    version = chat.button("Ya").split(".")[0]
    await chat.send(Incoming("local", chat.address, message_id="forged-lang", choice=f"{version}.lang_zz"))
    assert "Ya, saya setuju" in chat.text and "Maaf" not in chat.text


async def test_a_typed_language_name_switches_and_is_kept(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("/bahasa")
    assert "Pilih bahasa" in chat.text and chat.labels == ["Bahasa Indonesia", "English"]
    await chat.say("english")
    assert "Language changed to English." in chat.text
    assert "Who is the first family member?" in chat.text  # the interrupted question, in English now
    assert (await identity_of(demo_db, chat.address)).language == "en"


async def test_back_to_indonesian_by_button(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("/language")
    await chat.press("English")
    await chat.say("/bahasa")
    await chat.press("Bahasa Indonesia")
    assert (await identity_of(demo_db, chat.address)).language == "id"
    assert "Siapa anggota keluarga pertama?" in chat.text


async def test_an_unknown_language_asks_again(engine, demo_db):
    chat = ChatDriver(engine)
    await register_household(chat)
    await chat.say("/bahasa")
    await chat.say("klingon")
    assert chat.labels == ["Bahasa Indonesia", "English"]
    assert (await identity_of(demo_db, chat.address)).language == "id"
