"""The table of flows and instant commands (handlers/flows.py), as a family meets it: each of its
commands opens its flow; a command for kaders or staff is refused in words and leads back to the menu."""
from __future__ import annotations

import pytest

from handlers.flows import FLOWS, INSTANT
from tests.helpers import ChatDriver, add_member, register_household

MENU = "Apa yang ingin Bapak/Ibu lakukan?"


async def _family(engine) -> ChatDriver:
    chat = ChatDriver(engine)
    await register_household(chat)
    await add_member(chat, "Putu Ayu", "Perempuan", "1/2/2022")
    await chat.press("Selesai")
    return chat


def test_each_flow_is_filed_under_its_own_name():
    assert all(name == flow.name for name, flow in FLOWS.items())
    assert {"start", "menu", "register", "family", "erase", "language"} <= set(FLOWS)
    assert all(callable(action) for action in INSTANT.values())


@pytest.mark.parametrize(("command", "opens"), [
    ("/jadwal", "Putu Ayu"),
    ("/imunisasi", "Putu Ayu"),
    ("/keluarga", "Anggota keluarga"),
    ("/pengingat", "Kapan Bapak/Ibu ingin menerima pengingat?"),
    ("/hapus", "Lanjutkan?"),
    ("/bahasa", "Pilih bahasa:"),
])
async def test_a_familys_command_opens_its_flow(engine, command, opens):
    chat = await _family(engine)
    await chat.say(command)
    assert opens in chat.text and "gangguan" not in chat.text


@pytest.mark.parametrize(("command", "refusal"), [
    ("/kunjungan", "Hanya kader yang dapat mencatat kunjungan."),
    ("/sasaran", "Daftar sasaran hanya untuk kader."),
    ("/umumkan", "Perintah ini untuk petugas puskesmas."),
    ("/urung", "Perintah ini untuk kader."),
])
async def test_a_work_command_is_refused_to_a_family_in_words(engine, command, refusal):
    chat = await _family(engine)
    await chat.say(command)
    assert refusal in chat.text and MENU in chat.text


async def test_an_instant_command_with_nothing_waiting_says_so(engine):
    chat = await _family(engine)
    await chat.say("/izinkan")
    assert "Tidak ada permintaan yang menunggu jawaban Bapak/Ibu." in chat.text and MENU in chat.text
