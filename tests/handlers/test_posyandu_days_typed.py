"""``/jadwalposyandu``: the session to move or cancel may be typed as its date (``05-12-2026``, ``5 des``),
as the bot asks dates everywhere else; a date that is no session is still refused."""
from __future__ import annotations

import pytest

from tests.helpers import ChatDriver, chat_as


async def _at_session(engine, db) -> ChatDriver:
    chat = await chat_as(engine, db, "staff", "staff-typed-session")
    await chat.say("/jadwalposyandu")
    await chat.press("Pindahkan")
    await chat.say("mawar")
    assert "Sesi tanggal berapa?" in chat.text and "Sabtu, 5 Des" in chat.labels, (chat.text, chat.labels)
    return chat


@pytest.mark.parametrize("typed", ["05-12-2026", "5-12-2026", "5 des", "5 Desember 2026", "1"])
async def test_the_session_is_picked_by_its_typed_date(engine, demo_db, typed):
    chat = await _at_session(engine, demo_db)
    await chat.say(typed)
    assert "Sesi Sabtu, 5 Desember dipindah ke tanggal berapa?" in chat.text, chat.text


@pytest.mark.parametrize("typed", ["12-12-2026", "besok"])
async def test_a_date_that_is_no_session_is_refused(engine, demo_db, typed):
    chat = await _at_session(engine, demo_db)
    await chat.say(typed)
    assert "Pilih tanggal dari daftar." in chat.text and "Sesi tanggal berapa?" in chat.text, chat.text
