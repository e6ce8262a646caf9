"""The table of flows and instant commands (handlers/flows.py), as a family meets it: each of its
commands opens its flow; a command for kaders or staff is refused in words and leads back to the menu.
A flow declares its commands, roles, home steps, menu label and help line; the rest is derived from them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from db.models import Identity
from handlers.engine import Engine
from handlers.flow import ANYONE, KADER, REGISTRY, Flow, Goto, Question, Step
from handlers.flows import FLOWS, INSTANT
from handlers.help import command_menu
from handlers.words import COMMANDS, flow_commands, split_command
from tests.helpers import ChatDriver, add_member, chat_as, register_household

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


# -- flows that declare themselves ---------------------------------------------------------------


def test_every_flow_declares_who_may_use_it_and_where_it_may_be_interrupted():
    for flow in FLOWS.values():
        assert flow.roles and flow.roles <= ANYONE, flow.name
        assert "family" in flow.roles or flow.refusal, f"{flow.name}: a work flow says whom it is for"
        assert set(flow.home) <= set(flow.steps), flow.name
        assert flow.menu_label or flow.menu_when is None, flow.name
        assert all(COMMANDS[word] == flow.name for word in flow.commands), flow.name


async def _ask_try(ctx) -> Question:
    return Question("Coba: lanjut?", (("Lanjut", "yes"),))


def _trying(goto: Goto, roles=ANYONE) -> Flow:
    """A flow a test registers: its one step answers with ``goto``."""
    async def on_try(ctx, answer):
        return goto

    return Flow(name="try", first="ask", steps={"ask": Step(_ask_try, on_try)}, commands=("coba", "try"), roles=roles,
                refusal="Coba hanya untuk kader.", home=("ask",), menu_label="Coba", help_line="Coba sesuatu")


async def test_a_flow_registered_is_in_the_commands_the_menu_and_the_help(monkeypatch, demo_db, settings, clock):
    monkeypatch.setitem(REGISTRY, "try", _trying(Goto("menu"), roles=KADER))
    assert COMMANDS["coba"] == COMMANDS["try"] == "try" and split_command("/coba lagi") == ("try", "lagi")
    assert "try" in flow_commands()
    assert ("coba", "Coba sesuatu") in command_menu("kader") and "coba" not in dict(command_menu("family"))
    engine = Engine(demo_db, settings, clock=clock)
    kader = await chat_as(engine, demo_db, "kader", "628100000501")
    await kader.say("/menu")
    assert "Coba" in kader.labels
    await kader.say("/coba")
    assert "Coba: lanjut?" in kader.text
    family = await chat_as(engine, demo_db, "family", "628100000502")
    await family.say("/menu")
    assert "Coba" not in family.labels
    await family.say("/coba")
    assert "Coba hanya untuk kader." in family.text and MENU in family.text


@pytest.mark.parametrize("goto", [Goto("visit", step="family"), Goto("visit"), Goto("targets", step="page")])
async def test_a_goto_into_a_kader_flow_is_refused_to_a_family(monkeypatch, demo_db, settings, clock, goto):
    monkeypatch.setitem(REGISTRY, "try", _trying(goto))
    engine = Engine(demo_db, settings, clock=clock)
    family = await chat_as(engine, demo_db, "family", "628100000503")
    await family.say("/coba")
    await family.press("Lanjut")
    refusal = FLOWS[goto.flow].refusal
    assert refusal in family.text and MENU in family.text  # as /kunjungan and /sasaran are refused


async def test_the_role_is_checked_on_every_turn(engine, demo_db):
    kader = await chat_as(engine, demo_db, "kader", "628100000504")
    await kader.say("/sasaran")
    async with demo_db.write() as session:  # the kader is no longer one (their role ended elsewhere)
        identity = await session.scalar(select(Identity).where(Identity.address == kader.address))
        identity.role, identity.posyandu_id = "family", None
    await kader.say("2")
    assert "Daftar sasaran hanya untuk kader." in kader.text and MENU in kader.text
