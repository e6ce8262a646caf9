"""``/bahasa`` (handlers/language.py): switching language from anywhere, the interrupted step going on."""
from __future__ import annotations

from channels.messages import Incoming
from tests.helpers import ChatDriver, register_household


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
