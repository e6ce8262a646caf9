"""The size question of a child's guided visit takes a lone number as the weight when it can only be one
(``7,2``: the length was not measured), as a kader writes it; a lone number that could be a length
(``45``) still asks for both."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from db.models import Measurement
from tests.helpers import ChatDriver, chat_as, make_family

REFUSED = ("Tulis dua angka", "Write two numbers")


async def _at_size(engine, db) -> ChatDriver:
    family = await make_family(db, members=(("Ni Luh Sari", "F", date(1995, 4, 2)), ("Komang Adi", "M", date(2026, 5, 1))))
    chat = await chat_as(engine, db, "kader", "kader-lone-weight")
    await chat.say("/kunjungan")
    await chat.say(family.code)
    await chat.press("Komang Adi")
    await chat.press("Posyandu")
    assert "Berat (kg) dan panjang" in chat.text, chat.text
    return chat


@pytest.mark.parametrize("typed", ["7,2", "7.2", "7,2 kg"])
async def test_a_lone_weight_is_the_weight_and_the_length_is_not_measured(engine, demo_db, typed):
    chat = await _at_size(engine, demo_db)
    await chat.say(typed)
    assert not any(mark in chat.text for mark in REFUSED), chat.text
    assert "Lingkar kepala" in chat.text, chat.text
    await chat.say("-")
    while "Tidak ada" in chat.labels:
        await chat.press("Tidak ada")
    assert "\nBB 7,2 kg\n" in chat.text, chat.text  # the weight alone, no length
    await chat.press("Simpan")
    async with demo_db.read() as session:
        kinds = {m.kind: m.value for m in await session.scalars(select(Measurement))}
    assert kinds.get("weight_kg") == 7.2 and "length_cm" not in kinds


@pytest.mark.parametrize("typed", ["45", "68"])
async def test_a_lone_number_that_could_be_a_length_asks_for_both(engine, demo_db, typed):
    chat = await _at_size(engine, demo_db)
    await chat.say(typed)
    assert "Tulis dua angka" in chat.text, chat.text


