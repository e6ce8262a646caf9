"""A kader's or staff member's own command menu (Telegram's "/" menu of their chat, set with the role)
follows a language switch: ``/bahasa en``, ``/bahasa`` then a pick, or a language picked on the consent
screen after a first-message join; a family keeps the default menu of each language (no chat menu)."""
from __future__ import annotations

import pytest

from channels.telegram import TelegramChannel
from config import TelegramConfig
from content.i18n import use_locale
from handlers.engine import Engine
from handlers.help import command_menu
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import ChatDriver, chat_as, make_invite


def _menu(role: str, language: str) -> tuple[tuple[str, str], ...]:
    with use_locale(language):
        return command_menu(role)


def _last_commands(chat: ChatDriver):
    return chat.replies[-1].commands if chat.replies else None


@pytest.mark.parametrize("role", ["kader", "staff"])
async def test_bahasa_with_the_language_resets_the_role_menu_in_it(engine, demo_db, role):
    chat = await chat_as(engine, demo_db, role, f"menu-{role}")
    await chat.say("/bahasa en")
    assert "English" in chat.text
    assert _last_commands(chat) == _menu(role, "en")
    assert _menu(role, "en") != _menu(role, "id")
    await chat.say("/bahasa id")
    assert _last_commands(chat) == _menu(role, "id")


@pytest.mark.parametrize("role", ["kader", "staff"])
async def test_bahasa_then_a_pick_resets_the_role_menu(engine, demo_db, role):
    chat = await chat_as(engine, demo_db, role, f"pick-{role}")
    await chat.say("/bahasa")
    assert _last_commands(chat) is None  # only asked: nothing changed yet
    await chat.press("English")
    assert _last_commands(chat) == _menu(role, "en")


@pytest.mark.parametrize("typed", [True, False])
async def test_a_family_keeps_the_default_menus(engine, demo_db, typed):
    chat = await chat_as(engine, demo_db, "family", f"family-{typed}")
    if typed:
        await chat.say("/bahasa en")
    else:
        await chat.say("/bahasa")
        await chat.press("English")
    assert all(reply.commands is None for reply in chat.replies)


async def test_the_same_language_again_sets_nothing(engine, demo_db):
    chat = await chat_as(engine, demo_db, "kader", "same-kader")
    await chat.say("/bahasa id")
    assert all(reply.commands is None for reply in chat.replies)


async def test_a_first_message_join_then_english_on_the_consent_screen_gets_the_english_menu(engine, demo_db):
    code = await make_invite(demo_db, "kader")
    chat = ChatDriver(engine, address="join-first")
    await chat.say(f"/kader {code}")
    assert _last_commands(chat) == _menu("kader", "id")
    await chat.press("Keluarga saya")  # the kader's own family: the family consent, which offers English
    assert "English" in chat.labels, chat.text
    await chat.press("English")
    assert _last_commands(chat) == _menu("kader", "en")


async def test_over_telegram_the_kaders_menu_is_in_english_after_bahasa_en(demo_db, settings, clock):
    chat_id = 4545401
    engine = Engine(demo_db, settings, clock=clock)
    code = await make_invite(demo_db, "kader")
    async with FakeTelegram() as fake:
        config = TelegramConfig(token=fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)
        channel = TelegramChannel(config, engine.handle_durably, freeze_gc=False)
        await channel.initialize()
        try:
            await channel.process(fake.text_update(chat_id, f"/kader {code}"))
            assert fake.menu_for(chat_id, "en") == [{"command": c, "description": d} for c, d in _menu("kader", "id")]
            await channel.process(fake.text_update(chat_id, "/bahasa en"))
            menu = fake.menu_for(chat_id, "en")
            assert menu == [{"command": c, "description": d} for c, d in _menu("kader", "en")]
            assert dict(_menu("kader", "en"))["kunjungan"] != dict(_menu("kader", "id"))["kunjungan"]  # translated
            assert not fake.rejected and not fake.unexpected
        finally:
            await channel.stop()

